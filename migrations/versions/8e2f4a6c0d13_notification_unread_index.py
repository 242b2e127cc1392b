"""Header count of unread notifications: a partial index on the unread ones per member

Revision ID: 8e2f4a6c0d13
Revises: 3c9d5e7a1b42
Create Date: 2026-12-03 09:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e2f4a6c0d13'
down_revision = '3c9d5e7a1b42'
branch_labels = None
depends_on = None

UNREAD = sa.text("read_at IS NULL")


def upgrade():
    op.create_index("ix_notification_user_unread", "notification", ["user_id"],
                    sqlite_where=UNREAD, postgresql_where=UNREAD)


def downgrade():
    op.drop_index("ix_notification_user_unread", table_name="notification")
