"""Online backups of the SQLite database: `flask --app wsgi backup create|restore|check`.

SQLite's online backup API copies a consistent snapshot while the site keeps writing, so a
backup never needs downtime. The search index and rendered badges are derived data and are
rebuilt after a restore (`search reindex`). For PostgreSQL use pg_dump/pg_restore.
"""
import sqlite3
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .extensions import db

backup_cli = AppGroup("backup", help="Back up and restore the SQLite database.")


class BackupError(click.ClickException):
    """Shown to the operator as a one-line error, exit code 1."""


def sqlite_path():
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        raise BackupError("Backups here are for SQLite; use pg_dump/pg_restore for PostgreSQL.")
    return Path(url.database)


def integrity(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def create_backup(target=None):
    """Copy a consistent snapshot of the live database to `target`; returns its path."""
    source = sqlite_path()
    if target is None:
        folder = Path(current_app.instance_path) / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"agora-{time.strftime('%Y%m%d-%H%M%S')}.db"
    target = Path(target)
    partial = target.with_suffix(target.suffix + ".partial")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        # Copy in steps so writers are not blocked for the whole copy.
        src.backup(dst, pages=256, sleep=0.005)
    finally:
        dst.close()
        src.close()
    if integrity(partial) != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError("The backup failed its integrity check; nothing was written.")
    partial.replace(target)
    return target


def restore_backup(source):
    """Replace the live database's content with a backup (after checking the backup)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"No backup at {source}.")
    if integrity(source) != "ok":
        raise BackupError("That backup is damaged (integrity check failed); the database was not touched.")
    live = sqlite_path()
    db.session.remove()
    db.engine.dispose()
    src = sqlite3.connect(source)
    dst = sqlite3.connect(live, timeout=30)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    result = integrity(live)
    if result != "ok":
        raise BackupError(f"Integrity check after restore: {result}")
    return live


@backup_cli.command("create")
@click.argument("target", required=False, type=click.Path(dir_okay=False))
def create_command(target):
    """Write a backup (default: instance/backups/agora-<time>.db)."""
    path = create_backup(target)
    click.echo(f"Backup written to {path}")


@backup_cli.command("restore")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(source, yes):
    """Restore a backup into the live database, then rebuild the search index."""
    if not yes:
        click.confirm("This replaces everything in the database with the backup. Continue?", abort=True)
    live = restore_backup(source)
    click.echo(f"Restored {source} into {live}; integrity check ok.")
    from search.indexing import rebuild_index

    rebuild_index()
    click.echo("Search index rebuilt.")


@backup_cli.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def check_command(path):
    """Run PRAGMA integrity_check on the live database or on a backup file."""
    result = integrity(Path(path) if path else sqlite_path())
    click.echo(result)
    if result != "ok":
        raise SystemExit(1)


def init_app(app):
    app.cli.add_command(backup_cli)
