"""account_mail: account mails queued in the request, sent after the response

Revision ID: 7d3f2a9c1b64
Revises: 7a3f2c9d1e40
Create Date: 2026-12-02 18:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3f2a9c1b64'
down_revision = '7a3f2c9d1e40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_mail'))
    )


def downgrade():
    op.drop_table('account_mail')
