"""Page cache: a thread's cache revision and the site's page generation counters

Revision ID: 5f1a9c3e7b20
Revises: 8e2f4a6c0d13
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f1a9c3e7b20'
down_revision = '8e2f4a6c0d13'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("thread") as batch:
        batch.add_column(sa.Column("cache_revision", sa.Integer(), nullable=False, server_default="0"))
    table = op.create_table(
        "page_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lists", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "site": 0, "lists": 0}])


def downgrade():
    op.drop_table("page_generation")
    with op.batch_alter_table("thread") as batch:
        batch.drop_column("cache_revision")
