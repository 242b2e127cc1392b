"""Search tuning constants: the one place to change how either engine weighs, bounds and caches."""

# -- Queries (engine-neutral parsing, search/query.py) -------------------------------------
# Everything that could make a query expensive is bounded while parsing.
MAX_QUERY_CHARS = 200
MAX_CLAUSES = 12
MIN_PREFIX = 3  # shortest stem a wildcard may have
SUGGEST_BELOW = 3  # "did you mean" only when a query finds fewer threads than this
# The query plan (search/query.py, search/service.py): all words first, then a correction
# of unknown words, then compound parts, then "most words".
MOST_BELOW = 3  # fewer threads than this with all words: rank by most concepts instead
CORRECT_BELOW = 3  # fewer threads than this and a word the index does not know: correct it
CORRECT_MAX_WORD = 40  # longer words are not mended as misspelt compounds (search/spelling.py)
JOIN_BOOST = 0.5  # two query words found as one Dutch compound, relative to the words apart
JOIN_LINKS = ("", "s", "en")  # linking morphemes tried between the parts (vervoer+s+kosten)
MIN_JOIN_PART = 3  # shorter words are not joined into compounds
MAX_JOIN_PAIRS = 4  # adjacent word pairs tried as compounds per query
SPLIT_BOOST = 0.4  # a Dutch compound found as its parts written apart, relative to the compound
MIN_SPLIT_WORD = 9  # shorter words are not split at query time
MIN_SPLIT_PART = 4  # nor into parts shorter than this (kinder|armoede, week|endopvang)
MAX_SPLIT_WORDS = 3  # words of one query tried as split compounds
PART_WEIGHT = 0.5  # translations of a compound's parts, relative to those of the whole word
WORD_WEIGHT = 0.5  # the words of a multiword lexicon match translated one by one, relative to the match
FRENCH_SPLIT_ZIPF = 3.5  # a query word is tried as two French words when both are this frequent (wordfreq)
FRENCH_SPLIT_PART = 4  # ... and of at least this many letters (micro|credit, sans|abri)

# -- Both engines: weights, compounds, facets ----------------------------------------------
# Query-time weights. Titles (with tags, places and organisation names) count more than
# bodies; compound parts and glossary translations rank below exact, same-language
# matches by construction. The PostgreSQL engine turns them into ts_rank_cd weights in
# the same proportions, so both engines order results alike.
TITLE_BOOST = 2.0
COMPOUND_BOOST = 0.3
EXPANSION_BOOST = 0.25
# Index time: Dutch compounds in posts are split into parts that are indexed as extra terms at the
# compound's position (woningaanpassing -> woning, aanpassing; search/compounds.py), with this weight against
# the compound's own term (1.0), so that an exact match ranks above a part match
# (PostgreSQL: the parts are weight C, see RANK_WEIGHTS).
COMPOUND_PART_WEIGHT = 0.3
# Dutch compounds: a word of at least MIN_COMPOUND_HEAD letters also finds the
# COMPOUND_TERMS most frequent longer words that start with it...
MIN_COMPOUND_HEAD = 4
COMPOUND_TERMS = 4
COMPOUND_SKIP_DOCS = 500  # ... unless it is itself in at least this many documents
COMPOUND_SKIP_SHARE = 0.02  # ... and this share of the index (PostgreSQL: of the table's row estimate)
FACET_LIMIT = 12  # values shown per facet
PERIODS = {"week": 7, "month": 31, "year": 366}  # the period facet, in days

# -- Whoosh engine only (search/whoosh/) -----------------------------------------------------
MAX_PREFIX_TERMS = 50  # words a wildcard expands to
COMPOUND_SCAN = 200  # index words read when looking for a head's compounds
# Cached posting sets, counted in document numbers over all entries (~40 bytes each).
POSTING_CACHE_IDS = 2_000_000
# A term's set that went out keeps its ids and weights (8 bytes a document) up to this many
# documents, so the set is built again from memory instead of from the index's blocks.
POSTING_CACHE_COMPACT = 8_000_000
# A web worker reads the most frequent words' postings (text and title fields) into that
# store before its first request, up to this many (16 MB; 1.4 s of CPU at 100,000 posts).
POSTING_WARM = 2_000_000
# Segments of at most this many documents (those drains write) answer "is this term here?"
# from a set of their terms, built once per segment and field.
TERM_SET_DOCS = 2000
# Pass two scores the documents of pass one itself, from the cached weights, when they
# are at most this many. Measured at 100,000 posts it beats whoosh's top-N (with block
# skipping, but collapsing per thread) at every size up to the whole index; whoosh's
# collector stays for anything bigger.
OWN_SCORING_DOCS = 100_000
OWN_TOP_CANDIDATES = 500
# Phrase candidates up to this many have their positions read directly, without first
# reading the sets of the phrase's (possibly frequent) words.
PHRASE_CHECK_DIRECT = 2000
# Frequent terms (in at least COMMON_SHARE of a sample of the first COMMON_SAMPLE
# documents of a rebuild, at most COMMON_MAX per language) also get their adjacent pairs
# indexed: a phrase of two of them is one term instead of positions to check for a large
# share of the index. Kept per index generation in COMMON.json.
COMMON_SAMPLE = 2000
COMMON_SHARE = 0.02
COMMON_MAX = 400
COMMON_MIN_TEXTS = 200  # a language with fewer texts in the sample gets no pairs
# Drains merge only the small segments they leave behind, tier by tier (writing.merge_tiers),
# so that a commit stays cheap; a request's drain merges at most DRAIN_MERGE_DOCS
# documents, `search sync` up to SMALL_SEGMENT_DOCS, and the big segment of a rebuild is
# merged again by the next `search reindex`.
SMALL_SEGMENT_DOCS = 20000
MERGE_TIER_SEGMENTS = 6
DRAIN_MERGE_DOCS = 400

# -- PostgreSQL engine only (search/postgres_backend.py) -----------------------------------
# ts_rank_cd weights for labels {D, C, B, A}: titles (with tags and places) A, bodies B,
# compound parts and hyphen joins C (COMPOUND_PART_WEIGHT of a body word).
RANK_WEIGHTS = "{0.1, %.2f, %.2f, %.2f}" % (COMPOUND_PART_WEIGHT / TITLE_BOOST, 1.0 / TITLE_BOOST, 1.0)
# 1: divide by 1 + log(document length), the counterpart of BM25's length norm.
RANK_NORMALIZATION = 1

# -- Index-time analysis (search/analysis.py, search/compounds.py) -------------------------
# Bumped whenever the terms the analysers write change: an index (Whoosh) or a
# search_document table (PostgreSQL) written with another version needs `search reindex`.
ANALYSIS_VERSION = 2
# A part must be a Dutch word at least this frequent on wordfreq's Zipf scale
# (3 = once per million words; wordfreq's 50,000th Dutch word is at 2.6: verlening is 2.9) ...
COMPOUND_PART_ZIPF = 2.8
COMPOUND_MIN_PART = 3  # ... of at least this many letters (the head: 4, or 3 outside PREFIXES)
COMPOUND_SHORT_PART_ZIPF = 4.3  # ... and a part of three letters this frequent (bus, wet, lid; not com)
COMPOUND_MIN_WORD = 7  # words shorter than this are never split
COMPOUND_SPLIT_PARTS_BELOW = 4.0  # a part as frequent as this is a word of its own: not split again
