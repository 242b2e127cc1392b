"""`flask --app wsgi search reindex|sync|status`: the index's maintenance commands."""
import time

import click
from flask.cli import AppGroup

search_cli = AppGroup("search", help="Full-text search index: reindex, sync, status.")


@search_cli.command("reindex")
def reindex():
    """Rebuild the index from the database into a new folder and swap it in atomically."""
    from .backend import IndexBusy, RebuildRunning
    from .indexing import rebuild

    started = time.monotonic()

    def progress(n):
        if n % 10000 == 0:
            click.echo(f"  {n} posts indexed")

    try:
        count = rebuild(progress=progress)
    except RebuildRunning:
        raise click.ClickException("another reindex is running for this index") from None
    except IndexBusy:
        raise click.ClickException("the live index stayed locked; nothing was swapped, try again") from None
    elapsed = time.monotonic() - started
    click.echo(f"Reindexed {count} posts in {elapsed:.1f} s ({count / elapsed if elapsed else 0:.0f} posts/s).")


@search_cli.command("sync")
@click.option("--wait", default=10.0, show_default=True, help="Seconds to wait for the index writer lock.")
def sync(wait):
    """Index everything waiting in the outbox (safe to run at any time, from cron too)."""
    from .indexing import sync_outbox

    total, left = sync_outbox(wait=wait)
    click.echo(f"Indexed {total} outbox rows; {left} left.")
    if left and not total:
        raise click.ClickException("the index writer stayed busy; the rows stay for the next sync")


@search_cli.command("status")
def status():
    """Documents indexed, outbox backlog and index size."""
    from .backend import get_backend
    from .indexing import backlog

    info = get_backend().status()
    click.echo(f"Index:     {info['path']}")
    click.echo(f"Documents: {info['documents']}")
    click.echo(f"Segments:  {info['segments']}")
    click.echo(f"Size:      {info['size_bytes'] / 1024 / 1024:.1f} MiB")
    click.echo(f"Backlog:   {backlog()} outbox rows")
    if info["rebuilding"]:
        click.echo("A reindex is running.")
