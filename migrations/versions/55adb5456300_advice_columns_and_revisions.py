"""Advice register: indexed column copies of the advice fields, and the advice's revisions

The register filtered, sorted and counted on JSON values of `thread.fields`; at 10,000
advices that took most of a page's time. Four columns copy them (NULL on every other
kind), written through forum.models.advice_columns, and `register_changed_at` (when a
counted column last changed); partial indexes (advice rows only, `sent_on IS NOT NULL`)
serve the sort, the status and year filters and the counts' stamp.
Existing advice rows are filled from their JSON here. `advice_revision` keeps an advice's
fields as they were before each edit or recorded answer.

Revision ID: 55adb5456300
Revises: 7b82ccb1dde1
Create Date: 2026-12-03 06:15:00

"""
from datetime import date

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '55adb5456300'
down_revision = '7b82ccb1dde1'
branch_labels = None
depends_on = None

ADVICE_ONLY = "sent_on IS NOT NULL"
INDEXES = (
    ("ix_thread_advice_sent", ["status", "sent_on", "id"]),
    ("ix_thread_advice_status", ["answer_status", "status", "sent_on", "id"]),
    ("ix_thread_advice_year", ["sent_year", "status", "sent_on", "id"]),
    ("ix_thread_advice_changed", ["register_changed_at"]),
    ("ix_thread_advice_id", ["id"]),
)


def _columns(fields):
    """forum.models.advice_columns as of this revision (a migration does not import the app)."""
    fields = fields or {}
    try:
        sent = date.fromisoformat(str(fields.get("sent_on") or "")[:10])
    except ValueError:
        return None
    requested = fields.get("requested")
    if isinstance(requested, str):
        requested = requested.strip().lower() in ("1", "true", "yes", "on", "requested")
    return {"sent_on": sent, "sent_year": sent.year,
            "answer_status": str(fields.get("answer_status") or "awaiting")[:12], "requested": bool(requested)}


def upgrade():
    with op.batch_alter_table("thread") as batch:
        batch.add_column(sa.Column("sent_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("sent_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("answer_status", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("requested", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("register_changed_at", sa.DateTime(), nullable=True))
    for name, columns in INDEXES:
        op.create_index(name, "thread", columns, sqlite_where=sa.text(ADVICE_ONLY),
                        postgresql_where=sa.text(ADVICE_ONLY))
    op.create_table(
        "advice_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=True),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["thread.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["editor_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_advice_revision_thread_id", "advice_revision", ["thread_id"])

    thread = sa.table("thread", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                      sa.column("fields", sa.JSON), sa.column("sent_on", sa.Date),
                      sa.column("sent_year", sa.Integer), sa.column("answer_status", sa.String),
                      sa.column("requested", sa.Boolean), sa.column("updated_at", sa.DateTime),
                      sa.column("register_changed_at", sa.DateTime))
    conn = op.get_bind()
    for thread_id, fields, updated in conn.execute(
            sa.select(thread.c.id, thread.c.fields, thread.c.updated_at).where(thread.c.kind == "advice")):
        values = _columns(fields)
        if values:
            conn.execute(thread.update().where(thread.c.id == thread_id).values(register_changed_at=updated, **values))


def downgrade():
    op.drop_index("ix_advice_revision_thread_id", table_name="advice_revision")
    op.drop_table("advice_revision")
    for name, _columns_ in INDEXES:
        op.drop_index(name, table_name="thread")
    with op.batch_alter_table("thread") as batch:
        batch.drop_column("register_changed_at")
        batch.drop_column("requested")
        batch.drop_column("answer_status")
        batch.drop_column("sent_year")
        batch.drop_column("sent_on")
