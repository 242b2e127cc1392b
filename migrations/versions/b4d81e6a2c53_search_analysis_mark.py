"""Search analysis version 2 (lemmas, compound parts): mark an empty search_document as current

The rows of search_document are written by the Python analyser (search/analysis.py);
version 2 adds lemmas and Dutch compound parts, so rows written before it need
`flask --app wsgi search reindex`. A reindex leaves the table comment
"agora search analysis <version>", which `search status` and `search reindex --if-stale`
(run by `make run`) read. This revision only marks a table that is still empty (a new
site) as current; a filled one keeps no mark and so reads as stale until reindexed.
Nothing happens on SQLite (the Whoosh engine keeps its version in the index itself).

Revision ID: b4d81e6a2c53
Revises: 1e285eaa5617
Create Date: 2026-12-02 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4d81e6a2c53'
down_revision = '1e285eaa5617'
branch_labels = None
depends_on = None

MARK = "agora search analysis 2"  # search/postgres_backend.py ANALYSIS_MARK + ANALYSIS_VERSION


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.execute(sa.text("SELECT NOT EXISTS (SELECT 1 FROM search_document)")).scalar():
        op.execute(f"COMMENT ON TABLE search_document IS '{MARK}'")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("COMMENT ON TABLE search_document IS NULL")
