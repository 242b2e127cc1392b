"""The index's fields: one text field per language, a small title field per language for
the title boost, pairs of frequent terms per language, and per-document columns."""
from whoosh import columns
from whoosh.fields import COLUMN, ID, KEYWORD, TEXT, Schema

from .. import analysis

TEXT_FIELDS = ("text_nl", "text_fr")
TITLE_FIELD = {"text_nl": "title_nl", "text_fr": "title_fr"}
TEXT_OF = {title: text for text, title in TITLE_FIELD.items()}
PAIRS_FIELD = {"text_nl": "pairs_nl", "text_fr": "pairs_fr", "title_nl": "pairs_nl", "title_fr": "pairs_fr"}
TITLE_PAIR = "t:"  # pairs of the title field carry this mark in pairs_<lang>

# Facet name -> index field holding one value per document (tags: several).
FACET_FIELDS = {
    "visibility": "visibility", "kind": "kind", "theme": "theme_id", "language": "language", "tag": "tags",
    "province": "province", "municipality": "municipality", "organisation": "organisation_id",
    "solved": "solved",
}


def make_schema():
    nl, fr = analysis.analyzer("nl"), analysis.analyzer("fr")
    return Schema(
        post_id=ID(unique=True),
        thread_id=ID,
        theme_id=ID,
        author_id=ID,
        organisation_id=ID,
        author_org_id=ID,
        # Per-document values for grouping, sorting and dates: columns only, no terms.
        pnum=COLUMN(columns.NumericColumn("q")),
        tnum=COLUMN(columns.NumericColumn("q")),
        day=COLUMN(columns.NumericColumn("i")),
        kind=ID,
        language=ID,
        visibility=ID,
        municipality=ID,
        province=ID,
        solved=ID,
        tags=KEYWORD(commas=True, scorable=False),
        text_nl=TEXT(analyzer=nl),
        text_fr=TEXT(analyzer=fr),
        title_nl=TEXT(analyzer=nl),
        title_fr=TEXT(analyzer=fr),
        # Adjacent pairs of frequent terms of text_<lang> (phrases, see matching.py).
        pairs_nl=KEYWORD(commas=True, scorable=False),
        pairs_fr=KEYWORD(commas=True, scorable=False),
        spell=TEXT(analyzer=analysis.analyzer("fold"), phrase=False),
    )


def day_number(d):
    return d.year * 10000 + d.month * 100 + d.day
