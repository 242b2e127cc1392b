"""PostgreSQL full-text search: search tables, unaccent and fuzzystrmatch, agora_* configurations

The tables (search_document, search_lexeme, search_spelling) exist on every database
so that one schema serves both (on SQLite they stay empty: the tsvector columns are
TEXT there). What only PostgreSQL has (the unaccent and fuzzystrmatch extensions, the
text search configurations agora_nl, agora_fr and agora_simple, GIN indexes) is
created only when the dialect is postgresql; on SQLite those steps do nothing. Both
parts are idempotent, so this revision also runs cleanly after a base revision
regenerated from the models that already created the tables.
It also widens search_outbox.object_type to 20 characters ("organisation" did not fit
in 10, which SQLite never enforced and PostgreSQL does), and on PostgreSQL adds the
thread -> accepted post foreign key: it is a use_alter constraint (thread and post
refer to each other), which op.create_table leaves out on PostgreSQL while SQLite
gets it inline.

Revision ID: 5c1e0a7d2f3b
Revises: 9501f540cb26
Create Date: 2026-11-23 06:10:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '5c1e0a7d2f3b'
down_revision = '9501f540cb26'
branch_labels = None
depends_on = None

CONFIGURATIONS = (("agora_nl", "dutch", "dutch_stem"), ("agora_fr", "french", "french_stem"),
                  ("agora_simple", "simple", "simple"))
TSVECTOR = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")
TAGS = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Trusted extensions: the database owner may create them.
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
        for name, template, stem in CONFIGURATIONS:
            op.execute(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '%(name)s' "
                "AND cfgnamespace = current_schema()::regnamespace) THEN "
                "CREATE TEXT SEARCH CONFIGURATION %(name)s (COPY = %(template)s); END IF; END $$"
                % {"name": name, "template": template})
            op.execute("ALTER TEXT SEARCH CONFIGURATION %s ALTER MAPPING FOR hword, hword_part, word "
                       "WITH unaccent, %s" % (name, stem))
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.alter_column('object_type', existing_type=sa.String(length=10), type_=sa.String(length=20),
                              existing_nullable=False)
    inspector = sa.inspect(bind)
    if bind.dialect.name == "postgresql" and "fk_thread_accepted_post_id_post" not in {
            fk["name"] for fk in inspector.get_foreign_keys("thread")}:
        op.create_foreign_key(op.f('fk_thread_accepted_post_id_post'), 'thread', 'post', ['accepted_post_id'],
                              ['id'], ondelete='SET NULL')
    if not inspector.has_table("search_lexeme"):
        op.create_table('search_lexeme',
        sa.Column('lexeme', sa.Text(), nullable=False),
        sa.Column('ndoc', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('lexeme', name=op.f('pk_search_lexeme'))
        )
        op.create_index('ix_search_lexeme_prefix', 'search_lexeme', ['lexeme'], unique=False,
                        postgresql_ops={'lexeme': 'text_pattern_ops'})
    if not inspector.has_table("search_spelling"):
        op.create_table('search_spelling',
        sa.Column('word', sa.Text(), nullable=False),
        sa.Column('ndoc', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('word', name=op.f('pk_search_spelling'))
        )
    if inspector.has_table("search_document"):
        return
    op.create_table('search_document',
    sa.Column('post_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('author_org_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('municipality', sa.String(length=120), nullable=True),
    sa.Column('province', sa.String(length=120), nullable=True),
    sa.Column('solved', sa.String(length=3), nullable=True),
    sa.Column('tags', TAGS, nullable=True),
    sa.Column('tsv_nl', TSVECTOR, nullable=False),
    sa.Column('tsv_fr', TSVECTOR, nullable=False),
    sa.Column('tsv_spell', TSVECTOR, nullable=True),
    sa.PrimaryKeyConstraint('post_id', name=op.f('pk_search_document'))
    )
    for column in ('author_id', 'author_org_id', 'organisation_id', 'theme_id', 'thread_id'):
        op.create_index(op.f(f'ix_search_document_{column}'), 'search_document', [column], unique=False)
    op.create_index('ix_search_document_tsv_nl', 'search_document', ['tsv_nl'], unique=False,
                    postgresql_using='gin')
    op.create_index('ix_search_document_tsv_fr', 'search_document', ['tsv_fr'], unique=False,
                    postgresql_using='gin')


def downgrade():
    # The tables and the wider column belong to the base revision now (it was regenerated
    # from the models); only what is PostgreSQL's own goes.
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f('fk_thread_accepted_post_id_post'), 'thread', type_='foreignkey')
        for name, _template, _stem in CONFIGURATIONS:
            op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS %s" % name)
