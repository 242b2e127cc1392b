"""The Whoosh engine (whoosh-reloaded): schema, query building, grouped faceted search, rebuild.

A document is one visible post. Its text goes into one field per language (text_nl,
text_fr: title, body, kind-specific fields, tags, places and organisation names), and
the title with tags, places and names once more into a small title_<lang> field that
only gives those words their boost; so a query word costs four posting lists, not ten.
Adjacent pairs of frequent terms go into pairs_<lang> (see COMMON_SAMPLE), so that a
phrase of common words is one term rather than positions to check in half the index.

Searching runs two passes over one long-lived searcher (reopened only when the index
changed). The first (matching.py) works on sets of document numbers: each term's postings
are read a block at a time into a set (with the term's weight per document) cached per
immutable segment (segments.py); the query tree (translate.py) becomes set unions,
intersections and differences in C, and the permission scope and filters are cached sets
too. Threads and facets (facets.py) are counted from that set with per-segment column
arrays. The second (scoring.py) scores those documents itself, with whoosh's BM25F
arithmetic and the index's statistics, keeps the best post per thread and returns the
requested page; whoosh's own top-N collector remains for result sets larger than
OWN_SCORING_DOCS. tests/test_search_whoosh.py forces every such path on a small index and
compares the rankings with whoosh's stock collector.

Why not whoosh alone: it is pure Python per posting. Its phrase matcher reads positions
for every document holding all the words, its Or/And matchers make several calls per
posting, and grouping per thread defeats much of its block skipping; sets in C, cached
weights and pairs do the same work in a fraction of the time (bench/search.py).

Modules:
    backend     WhooshBackend, the SearchBackend: layout, searcher, the two passes
    translate   the query plan (search/query.py) as a whoosh query tree
    matching    pass one: documents per segment as sets; phrases; scope and filters
    scoring     pass two: own BM25F scoring, whoosh's collector for big result sets
    facets      facet and period counts
    segments    per-segment caches: columns, lengths, facet values, posting sets
    writing     batches, merge policy, rebuild, frequent-term pairs (COMMON.json)
    schema      the index's fields
    internals   every use of whoosh's private structures, checked against the
                installed whoosh version at import (fails loudly on an unknown one)
"""
from .internals import check_version  # first: checks the installed whoosh at import
from .backend import WhooshBackend

__all__ = ["WhooshBackend", "check_version"]
