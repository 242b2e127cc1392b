"""The migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

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


def test_migration_stores_organisation_provinces_as_codes(other_site_config):
    # Before this revision organisations stored the province's name as an admin typed it.
    stored = {"a": ("Friesland", "NL"), "b": ("Liège", "BE"), "c": ("limburg", "BE"), "d": ("Limburg", "NL"),
              "e": ("Westhoek", "BE"), "f": ("", "NL"), "g": ("Luik", "NL"), "h": ("NL-UT", "NL")}
    app = create_app(other_site_config())
    with app.app_context():
        upgrade(revision="5c1e0a7d2f3b")
        with db.engine.begin() as connection:
            for slug, (province, country) in stored.items():
                connection.execute(text(
                    "INSERT INTO organisation (name, slug, kind, municipality, province, country, language, website, "
                    "membership_status, badge_version, created_at, updated_at) VALUES (:slug, :slug, 'adviesraad', "
                    "'', :province, :country, 'nl', '', 'active', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"slug": slug, "province": province, "country": country})

        def provinces():
            with db.engine.connect() as connection:
                return dict(connection.execute(text("SELECT slug, province FROM organisation")).all())

        upgrade()
        # Unknown values (and a province of the other country) stay as they were: nothing is lost.
        assert provinces() == {"a": "NL-FR", "b": "BE-WLG", "c": "BE-VLI", "d": "NL-LI", "e": "Westhoek",
                               "f": "", "g": "Luik", "h": "NL-UT"}
        downgrade(revision="5c1e0a7d2f3b")
        assert provinces() == {"a": "Fryslân", "b": "Luik", "c": "Limburg", "d": "Limburg", "e": "Westhoek",
                               "f": "", "g": "Luik", "h": "Utrecht"}
        db.engine.dispose()


@sqlite_only("PRAGMAs; PostgreSQL needs no tuning of its own")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@sqlite_only("AUTOINCREMENT is SQLite's; PostgreSQL's sequences never go back")
def test_migrated_queue_tables_never_give_an_id_twice(other_site_config):
    # compare_metadata does not see AUTOINCREMENT: read the tables' SQL as migrated.
    app = create_app(other_site_config())
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            for table in ("search_outbox", "account_mail"):
                sql = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
                assert "AUTOINCREMENT" in sql, sql
        db.engine.dispose()
