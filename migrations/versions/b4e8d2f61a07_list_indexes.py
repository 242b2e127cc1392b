"""List indexes: one per thread list filter and sort; notifications by member and date

Each thread list (latest, theme, kind lists; activity, newest, thanks) gets an index that
ends in its ORDER BY columns, so a page is read in index order instead of sorting every
thread. They start with theme_id, kind and status, which makes the single-column indexes
on those columns redundant; those are dropped. ix_thread_pinned is partial (pinned
threads only) on both SQLite and PostgreSQL.

Revision ID: b4e8d2f61a07
Revises: 7d3f2a9c1b64
Create Date: 2026-12-02 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4e8d2f61a07'
down_revision = '7d3f2a9c1b64'
branch_labels = None
depends_on = None

THREAD_INDEXES = (
    ("ix_thread_status_activity", ["status", "last_post_at", "id"]),
    ("ix_thread_status_created", ["status", "created_at", "id"]),
    ("ix_thread_status_thanks", ["status", "thanks_count", "last_post_at", "id"]),
    ("ix_thread_theme_activity", ["theme_id", "status", "last_post_at", "id"]),
    ("ix_thread_theme_created", ["theme_id", "status", "created_at", "id"]),
    ("ix_thread_theme_thanks", ["theme_id", "status", "thanks_count", "last_post_at", "id"]),
    ("ix_thread_kind_activity", ["kind", "status", "last_post_at", "id"]),
    ("ix_thread_kind_created", ["kind", "status", "created_at", "id"]),
    ("ix_thread_kind_thanks", ["kind", "status", "thanks_count", "last_post_at", "id"]),
    ("ix_thread_author_created", ["author_id", "status", "created_at", "id"]),
)
REPLACED = (("ix_thread_theme_id", "theme_id"), ("ix_thread_kind", "kind"), ("ix_thread_status", "status"))


def upgrade():
    for name, columns in THREAD_INDEXES:
        op.create_index(name, "thread", columns)
    op.create_index("ix_thread_pinned", "thread", ["pinned"], sqlite_where=sa.text("pinned != ''"),
                    postgresql_where=sa.text("pinned != ''"))
    for name, _column in REPLACED:
        op.drop_index(name, table_name="thread")
    op.create_index("ix_notification_user_created", "notification", ["user_id", "created_at", "id"])


def downgrade():
    op.drop_index("ix_notification_user_created", table_name="notification")
    for name, column in REPLACED:
        op.create_index(name, "thread", [column])
    op.drop_index("ix_thread_pinned", table_name="thread")
    for name, _columns in THREAD_INDEXES:
        op.drop_index(name, table_name="thread")
