"""Backups taken while the forum writes restore into a working, consistent site."""
import sqlite3
import threading

from forum import create_app
from forum.extensions import db
from forum.models import RateLimitEvent, Theme
from tests.conftest import sqlite_only

# `forum backup` copies the SQLite file with SQLite's online backup API; a PostgreSQL
# site is backed up with pg_dump instead (see README).
pytestmark = sqlite_only("the backup command copies the SQLite file (PostgreSQL: pg_dump)")


def _writer(app, stop, written):
    with app.app_context():
        while not stop.is_set():
            with app.test_request_context("/nl/x", method="POST"):
                db.session.add(RateLimitEvent(key=f"w{written[0]}"))
                db.session.commit()
                db.session.remove()
            written[0] += 1


def test_backup_during_writes_then_restore(app, runner, tmp_path, app_config, make_theme):
    make_theme(slug="werk", name_nl="Werk en inkomen", name_fr="Travail et revenus")
    stop, written = threading.Event(), [0]
    thread = threading.Thread(target=_writer, args=(app, stop, written))
    thread.start()
    try:
        while written[0] < 50:  # make sure writes are under way when the backup starts
            pass
        target = tmp_path / "backup.db"
        result = runner.invoke(args=["backup", "create", str(target)])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        in_backup = conn.execute("SELECT count(*) FROM rate_limit_event").fetchone()[0]
    assert 50 <= in_backup <= written[0]

    # Restore into a wholly separate, empty site.
    other = create_app(dict(app_config, INSTANCE_PATH=str(tmp_path / "other")))
    with other.app_context():
        db.create_all()
    restored = other.test_cli_runner().invoke(args=["backup", "restore", "--yes", str(target)])
    assert restored.exit_code == 0, restored.output
    assert "integrity check ok" in restored.output
    with other.app_context():
        assert db.session.scalar(db.select(db.func.count(RateLimitEvent.id))) == in_backup
        assert db.session.scalar(db.select(Theme.name_fr).where(Theme.slug == "werk")) == "Travail et revenus"
    assert other.test_client().get("/nl/").status_code == 200
    check = other.test_cli_runner().invoke(args=["backup", "check"])
    assert check.output.strip() == "ok"


def test_restore_refuses_a_damaged_backup(app, runner, tmp_path, make_theme):
    make_theme(slug="blijft")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100 + b"garbage" * 500)
    result = runner.invoke(args=["backup", "restore", "--yes", str(bad)])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(db.select(Theme.id).where(Theme.slug == "blijft")) is not None


def test_restore_of_missing_file_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(args=["backup", "restore", "--yes", str(tmp_path / "nope.db")])
    assert result.exit_code != 0
    assert "No backup at" in result.output
