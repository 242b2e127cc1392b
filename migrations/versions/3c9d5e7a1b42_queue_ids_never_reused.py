"""Queue tables never give an id twice: search_outbox and account_mail use AUTOINCREMENT on SQLite

SQLite gives a new row the highest rowid + 1, so an id freed by deleting the newest row is
given again. A search drain deletes the outbox rows it read by id after its index commit;
when another drain had deleted them meanwhile and a new post's row took the freed id, that
row was deleted unindexed and the post never reached the index (seen once in a load test:
one post in 700). PostgreSQL's sequences never go back: nothing to do there.

Revision ID: 3c9d5e7a1b42
Revises: 55adb5456300
Create Date: 2026-12-03 09:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3c9d5e7a1b42'
down_revision = '55adb5456300'
branch_labels = None
depends_on = None

TABLES = ("search_outbox", "account_mail")


def _recreate(autoincrement):
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        # SQLite cannot add AUTOINCREMENT to a table: batch mode copies it into a new one.
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}) as batch:
            pass


def upgrade():
    _recreate(True)


def downgrade():
    _recreate(False)
