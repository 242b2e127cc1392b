"""events: province audiences, held (pre-moderated) events, repeating events, discussion threads, themes, import refs, personal calendar tokens

Revision ID: 7b82ccb1dde1
Revises: 2214b7865818
Create Date: 2026-12-03 06:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b82ccb1dde1'
down_revision = '2214b7865818'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_token',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_calendar_token_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_token_token_hash'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience_provinces', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('held', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_event_held'), ['held'], unique=False)
        batch_op.add_column(sa.Column('repeat', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('repeat_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('repeat_skip', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('last_ends_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('thread_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('import_ref', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('theme_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_event_theme_id_theme'), 'theme', ['theme_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_event_theme_id'), ['theme_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_event_import_ref'), ['import_ref'])
        batch_op.create_foreign_key(batch_op.f('fk_event_thread_id_thread'), 'thread', ['thread_id'], ['id'],
                                    ondelete='SET NULL')
    op.execute("UPDATE event SET last_ends_at = ends_at")
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.alter_column('last_ends_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index(batch_op.f('ix_event_last_ends_at'), ['last_ends_at'], unique=False)
        batch_op.alter_column('audience_provinces', server_default=None)
        batch_op.alter_column('held', server_default=None)
        batch_op.alter_column('repeat', server_default=None)
        batch_op.alter_column('repeat_skip', server_default=None)


def downgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_last_ends_at'))
        batch_op.drop_index(batch_op.f('ix_event_theme_id'))
        batch_op.drop_constraint(batch_op.f('fk_event_theme_id_theme'), type_='foreignkey')
        batch_op.drop_column('theme_id')
        batch_op.drop_constraint(batch_op.f('uq_event_import_ref'), type_='unique')
        batch_op.drop_column('import_ref')
        batch_op.drop_constraint(batch_op.f('fk_event_thread_id_thread'), type_='foreignkey')
        batch_op.drop_column('thread_id')
        batch_op.drop_column('last_ends_at')
        batch_op.drop_column('repeat_skip')
        batch_op.drop_column('repeat_until')
        batch_op.drop_column('repeat')
        batch_op.drop_index(batch_op.f('ix_event_held'))
        batch_op.drop_column('held')
        batch_op.drop_column('audience_provinces')
    op.drop_table('calendar_token')
