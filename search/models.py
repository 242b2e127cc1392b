"""The PostgreSQL search backend's document table, and the text search setup it needs.

One row per indexed post, written by the same outbox drain that feeds Whoosh (the
document dict of search/indexing.py post_document becomes a row). The table is part of
the application's metadata on every database, so that one schema and one set of
migrations serve SQLite and PostgreSQL alike; on SQLite it simply stays empty (its
tsvector columns fall back to TEXT there and nothing ever writes to them).

What only PostgreSQL has lives in POSTGRES_SETUP: the unaccent and fuzzystrmatch
extensions (both trusted: the database owner may create them) and three
text search configurations that unaccent before stemming (agora_nl = dutch, agora_fr =
french, agora_simple = no stemming, for the "did you mean" words). They are
created by the migration 5c1e0a7d2f3b and, for create_all() (tests, benchmarks), just
before this table is created.
"""
from sqlalchemy import DDL, Index, event
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR

from forum.extensions import db

from .tuning import ANALYSIS_VERSION

ANALYSIS_MARK = "agora search analysis "  # search_document's comment: this, then the analysis version

_TSVECTOR = db.Text().with_variant(TSVECTOR(), "postgresql")
_TAGS = db.JSON().with_variant(ARRAY(db.Text()), "postgresql")

# (configuration, template, stemming dictionary)
CONFIGURATIONS = (("agora_nl", "dutch", "dutch_stem"), ("agora_fr", "french", "french_stem"),
                  ("agora_simple", "simple", "simple"))


def postgres_setup_statements():
    """Idempotent DDL: the unaccent extension and the agora_* text search configurations."""
    statements = ["CREATE EXTENSION IF NOT EXISTS unaccent", "CREATE EXTENSION IF NOT EXISTS fuzzystrmatch"]
    for name, template, stem in CONFIGURATIONS:
        # No CREATE ... IF NOT EXISTS for configurations; look in the schema we create in.
        statements.append(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '%(name)s' "
            "AND cfgnamespace = current_schema()::regnamespace) THEN "
            "CREATE TEXT SEARCH CONFIGURATION %(name)s (COPY = %(template)s); END IF; END $$"
            % {"name": name, "template": template})
        # Only the token types that can carry accents need unaccent; ASCII words go
        # straight to the stemmer as in the template.
        statements.append(
            "ALTER TEXT SEARCH CONFIGURATION %s ALTER MAPPING FOR hword, hword_part, word "
            "WITH unaccent, %s" % (name, stem))
    return statements


POSTGRES_SETUP = postgres_setup_statements()


class SearchDocument(db.Model):
    """The search document of one visible post (thread-level fields repeated in each)."""

    __tablename__ = "search_document"

    post_id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    thread_id = db.Column(db.Integer, nullable=False, index=True)
    theme_id = db.Column(db.Integer, nullable=False, index=True)
    author_id = db.Column(db.Integer, index=True)
    organisation_id = db.Column(db.Integer, index=True)
    author_org_id = db.Column(db.Integer, index=True)
    day = db.Column(db.Integer, nullable=False)  # YYYYMMDD of the post
    kind = db.Column(db.String(20), nullable=False)
    language = db.Column(db.String(2), nullable=False)  # the thread's
    visibility = db.Column(db.String(10), nullable=False)
    municipality = db.Column(db.String(120))
    province = db.Column(db.String(120))
    solved = db.Column(db.String(3))
    tags = db.Column(_TAGS)
    # The text of the post in each language it is written in (a reply in the other
    # language than its thread has both): the title with tags, places and organisation
    # names as weight A, the body (kind-specific fields and attachments included) as B.
    tsv_nl = db.Column(_TSVECTOR, nullable=False)
    tsv_fr = db.Column(_TSVECTOR, nullable=False)
    tsv_spell = db.Column(_TSVECTOR)  # first posts: title and tag words, for "did you mean"

    __table_args__ = (
        Index("ix_search_document_tsv_nl", "tsv_nl", postgresql_using="gin"),
        Index("ix_search_document_tsv_fr", "tsv_fr", postgresql_using="gin"),
        # The analysis version that wrote the rows (search/tuning.py ANALYSIS_VERSION): a
        # new table is current; a reindex sets it again; a table without it is stale.
        {"comment": ANALYSIS_MARK + str(ANALYSIS_VERSION)},
    )


class SearchLexeme(db.Model):
    """The Dutch term dictionary of search_document: each lexeme of tsv_nl with the number
    of times a document containing it was indexed. Compound lookups scan it by prefix
    (schuld -> schuldhulpverlen), as the Whoosh engine scans its own term dictionary."""

    __tablename__ = "search_lexeme"

    lexeme = db.Column(db.Text, primary_key=True)
    ndoc = db.Column(db.Integer, nullable=False, default=0)

    __table_args__ = (
        # LIKE 'prefix%' needs a pattern index whatever the database's collation.
        Index("ix_search_lexeme_prefix", "lexeme", postgresql_ops={"lexeme": "text_pattern_ops"}),
    )


class SearchSpelling(db.Model):
    """The words of titles and tags (folded, not stemmed) with the number of times a first
    post containing them was indexed: the "did you mean" dictionary."""

    __tablename__ = "search_spelling"

    word = db.Column(db.Text, primary_key=True)
    ndoc = db.Column(db.Integer, nullable=False, default=0)


for _statement in POSTGRES_SETUP:
    event.listen(SearchDocument.__table__, "before_create", DDL(_statement).execute_if(dialect="postgresql"))
