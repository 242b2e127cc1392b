"""The migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from forum import create_app
from forum.extensions import db
from tests.conftest import sqlite_only


def test_upgrade_on_empty_database_matches_models(other_site_config):
    # An empty database of the run's kind: SQLite, or a spare PostgreSQL database.
    app = create_app(other_site_config())
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert differences == []


@sqlite_only("PRAGMAs; PostgreSQL needs no tuning of its own")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
