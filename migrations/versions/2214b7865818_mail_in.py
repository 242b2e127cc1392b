"""mail-in: reply-key generations and the incoming mail log

Revision ID: 2214b7865818
Revises: 189aef3dea02
Create Date: 2026-12-03 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2214b7865818'
down_revision = '189aef3dea02'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_key',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('rotated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_mail_key_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_mail_key'))
    )
    op.create_table('incoming_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], name=op.f('fk_incoming_mail_post_id_post'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['thread_id'], ['thread.id'], name=op.f('fk_incoming_mail_thread_id_thread'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_incoming_mail_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incoming_mail')),
    sa.UniqueConstraint('message_id', name=op.f('uq_incoming_mail_message_id'))
    )
    with op.batch_alter_table('incoming_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incoming_mail_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incoming_mail_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_incoming_mail_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('incoming_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incoming_mail_user_id'))
        batch_op.drop_index(batch_op.f('ix_incoming_mail_status'))
        batch_op.drop_index(batch_op.f('ix_incoming_mail_received_at'))
    op.drop_table('incoming_mail')
    op.drop_table('mail_key')
