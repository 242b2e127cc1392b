"""The PostgreSQL full-text engine: tsvector documents, GIN indexes, ts_rank_cd, ts_headline.

Selected with AGORA_SEARCH_BACKEND=postgres (the database must then be PostgreSQL too).
It answers the same SearchRequest as the Whoosh engine with the same rules, so that
one test suite runs against both (tests/test_search*.py):

- Documents are rows of search_document (search/models.py), written by the same outbox
  drain (search/indexing.py) through batch(); the drain's read-after-lock order is kept
  with a PostgreSQL advisory lock instead of Whoosh's writer lock.
- Each post's text is analysed in the language it was written in (agora_nl /
  agora_fr: unaccent, then the Dutch or French Snowball stemmer and stop words): the
  title with tags, places and organisation names as weight A (Whoosh's boosted
  title_<lang> field), the body as weight B (text_<lang>). PostgreSQL is handed the
  words the Whoosh analyser keeps, folded, in order (pg_text: elisions stripped,
  apostrophe words joined, stop words dropped without a gap), so that both engines
  stem the same words at the same positions and phrases match alike.
- A word is looked for in both languages' columns; the Dutch compounds it heads
  (schuld -> schuldhulpverlen) are looked for too, ranked well below the word itself;
  glossary translations are alternatives for the span of words they translate,
  ranked below same-language matches. Stop words of either language are left out of
  the query, as with Whoosh.
- Permission scope (theme visibility) and filters are part of the WHERE clause, so
  counts, facets and snippets only ever see documents the reader may read.
- Dutch compounds are chosen from a term dictionary, search_lexeme (lexeme, document
  count), kept by the same writes, as Whoosh chooses them from its own; "did you mean"
  looks in search_spelling (title and tag words) with fuzzystrmatch.
- A reindex fills side tables, replays what drains changed meanwhile and swaps them in
  by renaming, in one transaction (readers see the old or the new tables, never half).

Where it behaves differently from Whoosh (documented in tests/test_search.py):
ranking numbers (ts_rank_cd rather than BM25F, same order of boosts), compound
frequencies are counted per indexing (not decremented when a post goes), and a word*
wildcard is not capped at 50 terms (the statement timeout bounds it instead, so there is no
"wildcard_capped" notice); snippets are ts_headline's choice of fragment.
"""
import logging
import re
import time
from contextlib import contextmanager
from functools import lru_cache
from datetime import date, timedelta

from markupsafe import Markup, escape
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from forum.extensions import db

from . import analysis
from . import query as query_plan
from .backend import Hit, IndexBusy, RebuildRunning, SearchBackend, SearchResult
from .models import ANALYSIS_MARK, SearchDocument, SearchLexeme, SearchSpelling
from .spelling import Dictionary, best_correction
from .tuning import (
    COMPOUND_BOOST, COMPOUND_SKIP_DOCS, COMPOUND_SKIP_SHARE, COMPOUND_TERMS, EXPANSION_BOOST, FACET_LIMIT,
    JOIN_BOOST, MIN_COMPOUND_HEAD, PART_WEIGHT, PERIODS, RANK_NORMALIZATION, RANK_WEIGHTS, SPLIT_BOOST,
)
from .tuning import ANALYSIS_VERSION

log = logging.getLogger(__name__)

TABLE = SearchDocument.__tablename__
BUILD_TABLE = "search_document_build"
LEXICON_TABLE = SearchLexeme.__tablename__
LEXICON_BUILD_TABLE = "search_lexeme_build"
SPELLING_TABLE = SearchSpelling.__tablename__
SPELLING_BUILD_TABLE = "search_spelling_build"
JOURNAL_TABLE = "search_rebuild_journal"
CONFIG = {"nl": "agora_nl", "fr": "agora_fr", "spell": "agora_simple"}

# pg_advisory locks: (class, id). The drain lock serialises index writers as Whoosh's
# writer lock does; the rebuild lock allows one reindex at a time.
LOCK_CLASS = 0x41474F52  # "AGOR"
DRAIN_LOCK = 1
REBUILD_LOCK = 2

# Private-use characters mark highlights inside ts_headline's output until the text is
# escaped; they are removed from the input first so nobody can forge a mark.
START, STOP, LT, GT = "\ue000", "\ue001", "\ue002", "\ue003"
_PRIVATE = re.compile("[\ue000-\ue003\x00]")

_TOKEN = re.compile(analysis.TOKEN_PATTERN)


@lru_cache(maxsize=200_000)
def _surface(word, name):
    """What PostgreSQL should see of one token in analyser `name` ('' = nothing): the
    token as the Whoosh analyser reads it before stemming (lower case, elision
    stripped, apostrophes joined, lemma, accents folded), or nothing for a stop word or
    a single letter. PostgreSQL's configurations then stem it (and unaccent whatever
    folding left), so both engines stem the same words at the same positions."""
    return analysis.surface(name, word)


def pg_text(value, name):
    """Text for to_tsvector/phraseto_tsquery in analyser `name` (nl, fr or fold): the
    words the Whoosh analyser keeps, in order, separated by spaces. Stop words leave no
    gap, as with Whoosh (a phrase "a b" matches "a de b" in both engines), and nothing is
    left for the PostgreSQL parser to read as an e-mail, a URL or an HTML tag."""
    if not value:
        return ""
    out = []
    for word in _TOKEN.findall(value):
        kept = _surface(word, name)
        if kept:
            out.append(kept)
    return " ".join(out)


def _like_prefix(word):
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _quote_lexeme(word):
    return "'" + word.replace("\\", "").replace("'", "") + "'"


class _Sql:
    """A growing list of bind parameters for one statement."""

    def __init__(self):
        self.params = {}

    def bind(self, value):
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def phrase(self, lang, words):
        return f"phraseto_tsquery('{CONFIG[lang]}', {self.bind(pg_text(words, lang))})"

    def all_words(self, lang, words):
        return f"plainto_tsquery('{CONFIG[lang]}', {self.bind(pg_text(words, lang))})"

    def raw_prefix(self, folded):
        """A wildcard as typed (already folded): not stemmed, as Whoosh's expand_prefix."""
        return f"to_tsquery('simple', {self.bind(_quote_lexeme(folded) + ':*')})"


def _or(parts, op=" OR "):
    parts = [p for p in parts if p]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + op.join(parts) + ")"


def _tsq_or(parts):
    return _or(parts, " || ")


class _Query:
    """A ParsedQuery as SQL: a WHERE condition, a rank expression and highlight queries."""

    def __init__(self, parsed, sql, lexicon=LEXICON_TABLE):
        self.sql = sql
        self.lexicon = lexicon
        self.rank = {"nl": [], "fr": [], "compound": [], "exp_nl": [], "exp_fr": [], "exp_compound": [],
                     "prefix": [], "join_nl": [], "join_fr": [], "split_nl": [], "split_fr": [],
                     "exp_nl_weak": [], "exp_fr_weak": [],
                     "exp_compound_weak": []}
        self.covering = None
        self.condition = self._build(parsed)

    def _clause(self, clause, rank=True):
        """SQL conditions of which any matches the clause (None: nothing to look for)."""
        sql = self.sql
        if clause.kind == "prefix":
            q = sql.raw_prefix(clause.text)
            if rank:
                self.rank["prefix"].append(q)
            return [f"d.tsv_{lang} @@ {q}" for lang in analysis.LANGUAGES]
        phrase = clause.kind == "phrase"
        word = clause.text
        per_language = {lang: analysis.terms(lang, word) for lang in analysis.LANGUAGES}
        if not phrase and not all(per_language.values()):
            # A stop word in either language is left out (see WhooshBackend._word_query).
            return None
        out = []
        for lang in analysis.LANGUAGES:
            if per_language[lang]:
                q = sql.phrase(lang, word)
                out.append(f"d.tsv_{lang} @@ {q}")
                if rank:
                    self.rank[lang].append(q)
        if not phrase:
            compound = self._compound(word)
            if compound:
                q, condition = compound
                out.append(condition)
                if rank:
                    self.rank["compound"].append(q)
        return out or None

    def _compound(self, word):
        """Dutch compounds the word heads, chosen as WhooshBackend._compound_terms chooses
        them: from the term dictionary (search_lexeme), lexemes that start with the word
        or its stem and are at least three letters longer, the COMPOUND_TERMS most
        frequent, none for a word that is itself common. The choice is a sub-select evaluated once per statement (no round
        trip, never stale); the documents are then found through the GIN index.
        Returns (tsquery, condition)."""
        ftoks = analysis.terms("fold", word)
        if len(ftoks) != 1 or len(ftoks[0]) < MIN_COMPOUND_HEAD:
            return None
        heads = {ftoks[0]}
        stem = analysis.terms("nl", ftoks[0])
        if len(stem) == 1 and len(stem[0]) >= MIN_COMPOUND_HEAD:
            heads.add(stem[0])
        sql = self.sql
        lexicon = self.lexicon
        choices = " UNION ".join(
            f"SELECT lexeme, ndoc FROM {lexicon} WHERE lexeme LIKE {sql.bind(_like_prefix(h))} "
            f"AND length(lexeme) >= {len(h) + 3} AND strpos(lexeme, '-') = 0"
            for h in sorted(heads))
        heads_sql = ", ".join(sql.bind(h) for h in sorted(heads))
        # As Whoosh: no compounds for a word already in a large share of the documents
        # (they would rank below all of those and only cost postings to read).
        common = ""
        if stem:
            common = (f" AND NOT EXISTS (SELECT 1 FROM {lexicon} WHERE lexeme = {sql.bind(stem[0])} AND ndoc >= "
                      f"greatest({COMPOUND_SKIP_DOCS}, {COMPOUND_SKIP_SHARE} * (SELECT reltuples FROM pg_class "
                      f"WHERE oid = to_regclass('{TABLE}'))))")
        q = (f"(SELECT coalesce(string_agg(quote_literal(c.lexeme), ' | '), '')::tsquery FROM "
             f"(SELECT lexeme FROM ({choices}) AS x WHERE lexeme NOT IN ({heads_sql}){common} "
             f"ORDER BY ndoc DESC, lexeme LIMIT {COMPOUND_TERMS}) AS c)")
        return q, f"d.tsv_nl @@ {q}"

    def _group(self, group):
        conditions = []
        for clause in group:
            conditions += self._clause(clause) or []
        return _or(conditions)

    def _expansion(self, expansion):
        parts = []
        for lang, word in expansion.targets:
            if not analysis.terms(lang, word):
                continue
            if expansion.kind == "split":
                # A compound's parts anywhere in the text, ranked below the compound itself,
                # each part on its own (as Whoosh sums its parts' scores: ts_rank_cd of
                # "a & b" would only count the stretches holding both).
                parts.append(f"d.tsv_{lang} @@ {self.sql.all_words(lang, word)}")
                self.rank[f"split_{lang}"] += [self.sql.all_words(lang, part) for part in word.split()]
                continue
            q = self.sql.phrase(lang, word)
            parts.append(f"d.tsv_{lang} @@ {q}")
            if expansion.kind == "join":
                # Two query words written as one compound: ranked below the words apart.
                self.rank[f"join_{lang}"].append(q)
                continue
            weak = "_weak" if expansion.weight < 1 else ""
            self.rank[f"exp_{lang}{weak}"].append(q)
            if lang == "nl":
                compound = self._compound(word)
                if compound:
                    self.rank[f"exp_compound{weak}"].append(compound[0])
                    parts.append(compound[1])
        return _or(parts)

    def _concept(self, concept, groups):
        """A concept of the plan (search/query.py): its words, or any of its expansions."""
        if concept.parts:
            run = [self._concept(p, groups) for p in concept.parts]
        else:
            run = groups[concept.start:concept.end + 1]
        same = _or([g for g in run if g], " AND ")
        return _or([same] + [self._expansion(e) for e in concept.expansions])

    def _build(self, parsed):
        groups = [self._group(g) for g in parsed.groups]
        if parsed.mode == "most":
            must_index = query_plan.required(parsed)
            covering = []
            for i, expansions in enumerate(query_plan.covers(parsed)):
                if groups[i]:
                    covering.append((i, _or([groups[i]] + [self._expansion(e) for e in expansions])))
            must = [n for i, n in covering if i in must_index]
            may = [n for i, n in covering if i not in must_index]
            nodes = must + ([_or(may)] if may else [])
            self.covering = [n for _i, n in covering]
        else:
            nodes = [n for n in (self._concept(c, groups) for c in query_plan.concepts(parsed)) if n]
        if not nodes:
            return None
        condition = _or(nodes, " AND ")
        negatives = [_or(self._clause(c, rank=False) or []) for c in parsed.negatives]
        negatives = [n for n in negatives if n]
        if negatives:
            condition = f"{condition} AND NOT {_or(negatives)}"
        return condition

    def coverage(self):
        """"most" mode: a bit mask of the per-word conditions a document meets (else None)."""
        if self.covering is None:
            return None
        return " + ".join(f"(CASE WHEN {c} THEN {1 << i} ELSE 0 END)" for i, c in enumerate(self.covering)) or "0"

    def score(self):
        """The rank expression: ts_rank_cd per column, boosted like the Whoosh fields."""
        terms = []

        def rank(column, queries, boost):
            q = _tsq_or(queries)
            if q:
                expr = f"ts_rank_cd('{RANK_WEIGHTS}', d.tsv_{column}, {q}, {RANK_NORMALIZATION})"
                terms.append(expr if boost == 1 else f"{boost} * {expr}")

        r = self.rank
        rank("nl", r["nl"] + r["prefix"], 1)
        rank("fr", r["fr"] + r["prefix"], 1)
        rank("nl", r["compound"], COMPOUND_BOOST)
        rank("nl", r["exp_nl"], EXPANSION_BOOST)
        rank("fr", r["exp_fr"], EXPANSION_BOOST)
        rank("nl", r["exp_compound"], EXPANSION_BOOST * COMPOUND_BOOST)
        rank("nl", r["join_nl"], JOIN_BOOST)
        rank("fr", r["join_fr"], JOIN_BOOST)
        rank("nl", r["exp_nl_weak"], EXPANSION_BOOST * PART_WEIGHT)
        rank("fr", r["exp_fr_weak"], EXPANSION_BOOST * PART_WEIGHT)
        rank("nl", r["exp_compound_weak"], EXPANSION_BOOST * PART_WEIGHT * COMPOUND_BOOST)
        rank("nl", r["split_nl"], SPLIT_BOOST)
        rank("fr", r["split_fr"], SPLIT_BOOST)
        return " + ".join(terms) if terms else "0"

    def highlight_query(self, lang):
        """One tsquery with everything that should be marked in a text of `lang`."""
        r = self.rank
        compounds = r["compound"] + r["exp_compound"] + r["exp_compound_weak"] if lang == "nl" else []
        return _tsq_or(r[lang] + r["prefix"] + r[f"exp_{lang}"] + r[f"exp_{lang}_weak"] + compounds
                       + r[f"join_{lang}"] + r[f"split_{lang}"])


def _day(d):
    return d.year * 10000 + d.month * 100 + d.day


def _filters(request, sql):
    """WHERE conditions for the permission scope and the reader's filters."""
    where = ["d.visibility = ANY(%s)" % sql.bind(list(request.visibilities))]
    f = request.filters
    for name, column in (("kind", "kind"), ("language", "language"), ("province", "province"),
                         ("municipality", "municipality"), ("solved", "solved")):
        if f.get(name) not in (None, ""):
            where.append(f"d.{column} = {sql.bind(str(f[name]))}")
    for name, column in (("theme", "theme_id"), ("organisation", "organisation_id")):
        value = f.get(name)
        if value not in (None, ""):
            value = str(value)
            where.append(f"d.{column} = {sql.bind(int(value))}" if value.isdigit() else "FALSE")
    if f.get("tag") not in (None, ""):
        where.append(f"{sql.bind(str(f['tag']))} = ANY(d.tags)")
    low = _day(f["date_from"]) if f.get("date_from") else None
    high = _day(f["date_to"]) if f.get("date_to") else None
    if f.get("period") in PERIODS:
        since = _day(date.today() - timedelta(days=PERIODS[f["period"]]))
        low = max(low or 0, since)
    if low:
        where.append(f"d.day >= {sql.bind(low)}")
    if high:
        where.append(f"d.day <= {sql.bind(high)}")
    return where


def _row(doc):
    """A search_document row (bind parameters) from an indexing document dict."""
    def integer(name):
        value = doc.get(name)
        return int(value) if value not in (None, "") else None

    return {
        "post_id": int(doc["post_id"]), "thread_id": int(doc["thread_id"]),
        "theme_id": int(doc["theme_id"]), "author_id": integer("author_id"),
        "organisation_id": integer("organisation_id"), "author_org_id": integer("author_org_id"),
        "day": int(doc["day"]), "kind": doc["kind"], "language": doc["language"],
        "visibility": doc["visibility"], "municipality": doc.get("municipality") or None,
        "province": doc.get("province") or None, "solved": doc.get("solved") or None,
        "tags": [t for t in (doc.get("tags") or "").split(",") if t],
        **{key: pg_text(value, key[-2:]) for key, value in _texts(doc).items()},
        **{f"extra_{lang}": " ".join(analysis.extra_surfaces(
            lang, " ".join(filter(None, (doc.get(f"title_{lang}"), doc.get(f"text_{lang}"))))))
           for lang in analysis.LANGUAGES},
        "spell": pg_text(doc["spell"], "fold") if doc.get("spell") else None,
    }


def _texts(doc):
    """title_<lang> (weight A) and body_<lang> (weight B) from the document's fields.

    The indexer puts the title with tags, places and names into title_<lang> and, for
    Whoosh's benefit, once more at the start of text_<lang>; here each word is stored
    once, with the weight of where it stands."""
    out = {}
    for lang in analysis.LANGUAGES:
        title = doc.get(f"title_{lang}") or ""
        body = doc.get(f"text_{lang}") or ""
        if title and body.startswith(title):
            body = body[len(title):]
        out[f"title_{lang}"], out[f"body_{lang}"] = title, body
    return out


_COLUMNS = ("post_id", "thread_id", "theme_id", "author_id", "organisation_id", "author_org_id", "day",
            "kind", "language", "visibility", "municipality", "province", "solved", "tags",
            "tsv_nl", "tsv_fr", "tsv_spell")
_VALUES = (
    ":post_id, :thread_id, :theme_id, :author_id, :organisation_id, :author_org_id, :day, :kind, "
    ":language, :visibility, :municipality, :province, :solved, :tags, "
    "setweight(to_tsvector('agora_nl', :title_nl), 'A') || setweight(to_tsvector('agora_nl', :body_nl), 'B') "
    "|| setweight(to_tsvector('agora_nl', :extra_nl), 'C'), "
    "setweight(to_tsvector('agora_fr', :title_fr), 'A') || setweight(to_tsvector('agora_fr', :body_fr), 'B') "
    "|| setweight(to_tsvector('agora_fr', :extra_fr), 'C'), "
    "to_tsvector('agora_simple', :spell)"
)


def _insert_sql(table):
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "post_id")
    return text(f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({_VALUES}) "
                f"ON CONFLICT (post_id) DO UPDATE SET {updates}")


SCOPE_COLUMNS = {"post_id", "thread_id", "theme_id", "author_id", "organisation_id", "author_org_id"}


class _Batch:
    """Deletions, then additions (upserts), on one connection; see SearchBackend.batch."""

    def __init__(self, conn, table=TABLE, lexicon=LEXICON_TABLE, spelling=SPELLING_TABLE, journal=False,
                 commit_each_flush=False):
        self.conn = conn
        self.table = table
        # None: the caller counts lexemes and spelling words itself (a rebuild's fill).
        self.lexicon = lexicon
        self.spelling = spelling
        self.journal = journal
        self.commit_each_flush = commit_each_flush
        self.deletes = {}
        self.rows = []
        self.recorded = []
        self.insert = _insert_sql(table)

    def delete(self, fieldname, value):
        if fieldname not in SCOPE_COLUMNS:
            raise KeyError(fieldname)
        self.deletes.setdefault(fieldname, set()).add(int(value))

    def add(self, doc):
        self.rows.append(_row(doc))

    def record(self, object_type, object_id):
        self.recorded.append({"object_type": object_type, "object_id": int(object_id)})

    def flush(self):
        conn = self.conn
        for fieldname, values in self.deletes.items():
            conn.execute(text(f"DELETE FROM {self.table} WHERE {fieldname} = ANY(:ids)"), {"ids": sorted(values)})
        if self.rows:
            conn.execute(self.insert, self.rows)
            # Counted per indexing, not decremented on removal: the counts only rank
            # compound and spelling candidates, and a reindex counts afresh.
            ids = {"ids": [r["post_id"] for r in self.rows]}
            for counts, key, column in ((self.lexicon, "lexeme", "tsv_nl"), (self.spelling, "word", "tsv_spell")):
                if counts:
                    conn.execute(text(
                        f"INSERT INTO {counts} AS l ({key}, ndoc) SELECT u.lexeme, count(*) "
                        f"FROM {self.table} AS d, unnest(d.{column}) AS u WHERE d.post_id = ANY(:ids) "
                        f"GROUP BY u.lexeme ON CONFLICT ({key}) DO UPDATE SET ndoc = l.ndoc + EXCLUDED.ndoc"), ids)
        if self.journal and self.recorded:
            conn.execute(text(f"INSERT INTO {JOURNAL_TABLE} (object_type, object_id) "
                              "VALUES (:object_type, :object_id)"), self.recorded)
        self.deletes, self.rows, self.recorded = {}, [], []
        if self.commit_each_flush:
            conn.commit()


def _lock(conn, lock_id, wait):
    """Take a transaction-level advisory lock within `wait` seconds, or raise IndexBusy."""
    deadline = time.monotonic() + wait
    while not conn.execute(text("SELECT pg_try_advisory_xact_lock(:c, :i)"),
                           {"c": LOCK_CLASS, "i": lock_id}).scalar():
        if time.monotonic() >= deadline:
            raise IndexBusy("search_document")
        time.sleep(0.02)


class PostgresBackend(SearchBackend):
    key = None

    def __init__(self):
        self._glossary = None

    @staticmethod
    def _engine():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            raise RuntimeError("SEARCH_BACKEND=postgres needs a PostgreSQL database (AGORA_DATABASE_URL)")
        return engine

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def batch(self, wait=0.5):
        with self._engine().connect() as conn:
            try:
                _lock(conn, DRAIN_LOCK, wait)
                journal = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": JOURNAL_TABLE}).scalar()
                batch = _Batch(conn, journal=journal)
                yield batch
                batch.flush()
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def rebuild(self, fill, replay, wait=60.0):
        """Fill a side table, replay what drains changed meanwhile, swap it in by rename."""
        engine = self._engine()
        with engine.connect() as guard:
            if not guard.execute(text("SELECT pg_try_advisory_lock(:c, :i)"),
                                 {"c": LOCK_CLASS, "i": REBUILD_LOCK}).scalar():
                raise RebuildRunning()
            guard.commit()
            try:
                return self._rebuild(engine, fill, replay, wait)
            finally:
                guard.execute(text("SELECT pg_advisory_unlock(:c, :i)"), {"c": LOCK_CLASS, "i": REBUILD_LOCK})
                guard.commit()

    def _rebuild(self, engine, fill, replay, wait):
        pairs = ((SearchDocument.__table__, BUILD_TABLE), (SearchLexeme.__table__, LEXICON_BUILD_TABLE),
                 (SearchSpelling.__table__, SPELLING_BUILD_TABLE))
        builds = ", ".join(build for _table, build in pairs)
        swapped = False
        try:
            # Under the drain lock, so that every drain from now on journals its work.
            with engine.connect() as conn:
                _lock(conn, DRAIN_LOCK, wait)
                conn.execute(text(f"DROP TABLE IF EXISTS {builds}, {JOURNAL_TABLE}"))
                for table, build in pairs:
                    conn.execute(text(f"CREATE TABLE {build} (LIKE {table.name} INCLUDING DEFAULTS)"))
                    key = ", ".join(c.name for c in table.primary_key.columns)
                    conn.execute(text(f"ALTER TABLE {build} ADD CONSTRAINT pk_{build} PRIMARY KEY ({key})"))
                conn.execute(text(f"CREATE TABLE {JOURNAL_TABLE} (object_type varchar(20) NOT NULL, "
                                  "object_id integer NOT NULL)"))
                conn.commit()
            with engine.connect() as conn:
                batch = _Batch(conn, table=BUILD_TABLE, lexicon=None, spelling=None, commit_each_flush=True)
                fill(batch)
                batch.flush()
                conn.execute(text(f"INSERT INTO {LEXICON_BUILD_TABLE} (lexeme, ndoc) SELECT word, ndoc "
                                  f"FROM ts_stat('SELECT tsv_nl FROM {BUILD_TABLE}')"))
                conn.execute(text(f"INSERT INTO {SPELLING_BUILD_TABLE} (word, ndoc) SELECT word, ndoc "
                                  f"FROM ts_stat('SELECT tsv_spell FROM {BUILD_TABLE} WHERE tsv_spell IS NOT NULL')"))
                # Bulk-built indexes are faster and smaller than ones grown row by row.
                for table, build in pairs:
                    for index in table.indexes:
                        using = index.dialect_options["postgresql"].get("using") or "btree"
                        ops = index.dialect_options["postgresql"].get("ops") or {}
                        columns = ", ".join(f"{c.name} {ops.get(c.name, '')}".strip() for c in index.columns)
                        conn.execute(text(f"CREATE INDEX {index.name}__build ON {build} USING {using} ({columns})"))
                    conn.execute(text(f"ANALYZE {build}"))
                conn.commit()
            with engine.connect() as conn:
                _lock(conn, DRAIN_LOCK, wait)
                keys = [f"{t}:{i}" for t, i in conn.execute(text(
                    f"SELECT DISTINCT object_type, object_id FROM {JOURNAL_TABLE} ORDER BY 1, 2"))]
                if keys:
                    batch = _Batch(conn, table=BUILD_TABLE, lexicon=LEXICON_BUILD_TABLE,
                                   spelling=SPELLING_BUILD_TABLE)
                    replay(batch, keys)
                    batch.flush()
                # Marks the analysis that wrote the rows (status()["stale"]); kept by the rename.
                conn.execute(text(f"COMMENT ON TABLE {BUILD_TABLE} IS '{ANALYSIS_MARK}{ANALYSIS_VERSION}'"))
                # The swap: readers block for a moment, then see the new tables.
                for table, build in pairs:
                    conn.execute(text(f"DROP TABLE {table.name}"))
                    conn.execute(text(f"ALTER TABLE {build} RENAME TO {table.name}"))
                    conn.execute(text(f"ALTER TABLE {table.name} RENAME CONSTRAINT pk_{build} TO pk_{table.name}"))
                    for index in table.indexes:
                        conn.execute(text(f"ALTER INDEX {index.name}__build RENAME TO {index.name}"))
                conn.execute(text(f"DROP TABLE {JOURNAL_TABLE}"))
                conn.commit()
                swapped = True
        finally:
            if not swapped:
                with engine.connect() as conn:
                    conn.execute(text(f"DROP TABLE IF EXISTS {builds}, {JOURNAL_TABLE}"))
                    conn.commit()
        return TABLE

    # -- searching -----------------------------------------------------------------------

    def query(self, request):
        parsed = request.parsed
        notices = list(parsed.notices)
        result = SearchResult(page=request.page, notices=notices)
        sql = _Sql()
        q = _Query(parsed, sql)
        if q.condition is None:
            return result
        where = " AND ".join([q.condition] + _filters(request, sql))
        newest = request.sort == "newest"
        score = "0::float8" if newest else q.score()
        start = (request.page - 1) * request.per_page
        order = "newest DESC" if newest else "score DESC, thread_id DESC"
        hit_post = "newest" if newest else "post_id"
        parts = [
            "SELECT 'total' AS part, NULL AS name, NULL AS value, count(*) AS n, NULL::int AS post, "
            "NULL::float8 AS score FROM t",
            f"(SELECT 'hit', NULL, thread_id::text, NULL, {hit_post}, score FROM t ORDER BY {order} "
            f"LIMIT {int(request.per_page)} OFFSET {int(start)})",
        ]
        today = date.today()
        if request.facets:
            grouped = ("kind", "theme_id", "language", "province", "municipality", "organisation_id", "solved")
            names = {"theme_id": "theme", "organisation_id": "organisation"}
            parts += [
                # One pass over the threads for every single-valued facet.
                "SELECT 'facet', CASE " + " ".join(
                    f"WHEN GROUPING({c}) = 0 THEN '{names.get(c, c)}'" for c in grouped)
                + " END, coalesce(" + ", ".join(f"{c}::text" for c in grouped) + "), count(*), NULL, NULL "
                "FROM t GROUP BY GROUPING SETS (" + ", ".join(f"({c})" for c in grouped) + ") "
                "HAVING coalesce(" + ", ".join(f"{c}::text" for c in grouped) + ") IS NOT NULL",
                "SELECT 'facet', 'tag', tag, count(*), NULL, NULL FROM t, unnest(t.tags) AS tag GROUP BY tag",
                "SELECT 'facet', 'period', p.name, p.n, NULL, NULL FROM t_periods, LATERAL (VALUES "
                + ", ".join(f"('{name}', t_periods.{name})" for name in PERIODS)
                + ") AS p(name, n) WHERE p.n > 0",
            ]
        # "most" mode: threads rank by how many words some post of theirs covers, then by
        # score, as query.most_score computes it.
        coverage = q.coverage()
        cov_column, thread_score = "", "max(score)"
        if coverage is not None and not newest:
            cov_column = f", ({coverage})::int AS cov"
            thread_score = ("(bit_count(bit_or(cov)::bit(32)) + greatest(max(score), 0) / "
                            "(1 + greatest(max(score), 0)))")
        # Threads in one hash aggregation, no sort of the matches: thread-level values are
        # the same in each of a thread's documents; the best post is the highest score,
        # the lowest post id among equals (max of [score, -post id]).
        statement = (
            "WITH m AS MATERIALIZED (SELECT d.post_id, d.thread_id, d.day, d.kind, d.theme_id, d.language, "
            "d.tags, d.province, d.municipality, d.organisation_id, d.solved, "
            f"({score})::float8 AS score{cov_column} FROM {TABLE} AS d WHERE {where}), "
            f"t AS MATERIALIZED (SELECT thread_id, {thread_score} AS score, "
            "-(max(ARRAY[score, -post_id::float8]))[2]::int AS post_id, max(post_id) AS newest, "
            "max(day) AS day, min(kind) AS kind, min(theme_id) AS theme_id, min(language) AS language, "
            "min(tags::text)::text[] AS tags, min(province) AS province, min(municipality) AS municipality, "
            "min(organisation_id) AS organisation_id, min(solved) AS solved FROM m GROUP BY thread_id)"
        )
        if request.facets:
            statement += ", t_periods AS (SELECT " + ", ".join(
                f"count(*) FILTER (WHERE day >= {_day(today - timedelta(days=days))}) AS {name}"
                for name, days in PERIODS.items()) + " FROM t)"
        statement += " " + " UNION ALL ".join(parts)
        try:
            rows = self._run(statement, sql.params, request.time_limit)
        except _TimedOut:
            result.timed_out = True
            notices.append("timed_out")
            return result
        facets = {}
        for part, name, value, n, post, score_value in rows:
            if part == "total":
                result.total = n
            elif part == "hit":
                result.hits.append(Hit(thread_id=int(value), post_id=post, score=float(score_value or 0)))
            else:
                facets.setdefault(name, []).append((value, n))
        # UNION ALL keeps no order across parts: put the page back in rank order.
        if newest:
            result.hits.sort(key=lambda h: -h.post_id)
        else:
            result.hits.sort(key=lambda h: (-h.score, -h.thread_id))
        result.pages = (result.total + request.per_page - 1) // request.per_page
        if request.facets and result.total:
            for name, values in facets.items():
                if name == "period":
                    order = list(PERIODS)
                    facets[name] = sorted(values, key=lambda v: order.index(v[0]))
                else:
                    facets[name] = sorted(values, key=lambda v: (-v[1], v[0]))[:FACET_LIMIT]
            for name in ("kind", "theme", "language", "tag", "province", "municipality", "organisation",
                         "solved", "period"):
                facets.setdefault(name, [])
            result.facets = facets
        return result

    def _run(self, statement, params, time_limit):
        with self._engine().connect() as conn:
            try:
                # Local to this transaction: the bound of what one search may cost.
                conn.execute(text(f"SET LOCAL statement_timeout = {max(1, int(time_limit * 1000))}"))
                rows = conn.execute(text(statement), params).all()
            except sa_exc.OperationalError as error:
                conn.rollback()
                if getattr(error.orig, "sqlstate", None) == "57014":  # query_canceled
                    raise _TimedOut() from None
                raise
            conn.rollback()
            return rows

    def top_posts(self, parsed, limit=10):
        """The bare engine (bench/search.py): the same condition and rank as query(), the
        best `limit` posts, no permission scope, grouping, facets or snippets."""
        sql = _Sql()
        q = _Query(parsed, sql)
        if q.condition is None:
            return []
        with self._engine().connect() as conn:
            rows = conn.execute(text(
                f"SELECT d.post_id, {q.score()} AS score FROM {TABLE} AS d WHERE {q.condition} "
                f"ORDER BY score DESC LIMIT {int(limit)}"), sql.params).all()
            conn.rollback()
        return rows

    # -- snippets ------------------------------------------------------------------------

    def highlight(self, parsed, pieces):
        """ts_headline snippets, escaped, for [(text, language, length)] (see the interface).

        One statement: the query of each language is built once (a CTE), the texts come
        in as arrays; texts in a language with nothing to mark are returned as they are."""
        if not pieces:
            return []
        sql = _Sql()
        q = _Query(parsed, sql)
        queries = {lang: q.highlight_query(lang) for lang in analysis.LANGUAGES}
        texts, configs, options, indexes = [], [], [], []
        rows = {}
        for i, (value, lang, length) in enumerate(pieces):
            lang = lang if lang in queries else "nl"
            value = _PRIVATE.sub("", value or "")
            if not queries[lang]:
                rows[i] = value
                continue
            words = max(5, length // 7)
            whole = "true" if len(value) <= length else "false"
            texts.append(value.replace("<", LT).replace(">", GT))
            configs.append(lang)
            options.append(f"StartSel={START}, StopSel={STOP}, HighlightAll={whole}, MaxWords={words}, "
                           f"MinWords={max(3, words // 2)}, ShortWord=2, MaxFragments=0")
            indexes.append(i)
        if texts:
            langs = [lang for lang in analysis.LANGUAGES if queries[lang]]
            statement = (
                # Every word of the query is marked wherever it stands, as search/highlight.py
                # does: phrase and AND operators become OR for the snippet.
                "WITH q AS MATERIALIZED (SELECT " + ", ".join(
                    f"regexp_replace(({queries[lang]})::text, '<[0-9]*-?>|&', '|', 'g')::tsquery AS {lang}"
                    for lang in langs)
                + ") SELECT p.i, ts_headline(CASE p.lang " + " ".join(
                    f"WHEN '{lang}' THEN '{CONFIG[lang]}'::regconfig" for lang in langs)
                + " END, p.txt, CASE p.lang " + " ".join(f"WHEN '{lang}' THEN q.{lang}" for lang in langs)
                + f" END, p.opts) FROM q, unnest(CAST({sql.bind(indexes)} AS int[]), "
                f"CAST({sql.bind(texts)} AS text[]), CAST({sql.bind(configs)} AS text[]), "
                f"CAST({sql.bind(options)} AS text[])) AS p(i, txt, lang, opts)")
            with self._engine().connect() as conn:
                rows.update(dict(conn.execute(text(statement), sql.params).all()))
                conn.rollback()
        out = []
        for i, (value, _lang, _length) in enumerate(pieces):
            value = _PRIVATE.sub("", value or "")
            out.append(_marked(value, rows.get(i) or "") if i in indexes else Markup(escape(value)))
        return out

    # -- spelling ------------------------------------------------------------------------

    def suggest(self, words, visibilities=("public",)):
        """Corrections for words no document knows, from titles, tags and the glossary.

        The same rule as the Whoosh engine (search/spelling.py: the closest, then most
        frequent word within one or two edits), over search_spelling: fuzzystrmatch's
        levenshtein_less_equal picks the few candidates in the database, Python ranks
        them. Like Whoosh's dictionary it holds every title's words; the service only
        shows a suggestion whose own search finds something the reader may read."""
        from .query import glossary_words

        candidates = []
        for word in words:
            folded = analysis.fold(word)
            if len(folded) >= 4 and not folded.isdigit():
                candidates.append((word, folded))
        if not candidates:
            return {}
        if self._glossary is None:
            self._glossary = Dictionary({w: 1 for w in glossary_words()})
        out = {}
        with self._engine().connect() as conn:
            for word, folded in candidates:
                if self._known(conn, word):
                    continue
                near = dict(conn.execute(text(
                    f"SELECT word, ndoc FROM {SPELLING_TABLE} WHERE length(word) BETWEEN :low AND :high "
                    "AND levenshtein_less_equal(word, :word, 3) <= 3"),
                    {"word": folded, "low": len(folded) - 2, "high": len(folded) + 2}).all())
                better = best_correction(folded, [Dictionary(near), self._glossary])
                if better and better != folded:
                    out[word] = better
            conn.rollback()
        return out

    @staticmethod
    def _known(conn, word):
        sql = _Sql()
        tests = []
        for lang in analysis.LANGUAGES:
            if analysis.terms(lang, word):
                tests.append(f"d.tsv_{lang} @@ {sql.phrase(lang, word)}")
        if not tests:
            return False
        # count(*) rather than EXISTS: with EXISTS the planner hopes to stop early and scans
        # the table; for a misspelt word there is nothing to find, and the GIN index says so.
        return bool(conn.execute(text(f"SELECT count(*) FROM {TABLE} AS d WHERE {' OR '.join(tests)}"),
                                 sql.params).scalar())

    # -- status --------------------------------------------------------------------------

    def status(self):
        with self._engine().connect() as conn:
            row = conn.execute(text(
                f"SELECT (SELECT count(*) FROM {TABLE}), pg_total_relation_size('{TABLE}'), "
                f"'{TABLE}'::regclass::oid, to_regclass('{JOURNAL_TABLE}') IS NOT NULL, "
                f"obj_description('{TABLE}'::regclass, 'pg_class')")).one()
            conn.rollback()
        mark = row[4] or ""
        # Rows written before the mark existed are version 1; an empty table has nothing stale.
        version = int(mark[len(ANALYSIS_MARK):]) if mark.startswith(ANALYSIS_MARK) else 1
        return {
            "documents": row[0], "size_bytes": row[1], "path": f"PostgreSQL table {TABLE}",
            "generation": f"{TABLE} (oid {row[2]})", "segments": 1, "rebuilding": row[3],
            "analysis": version, "stale": bool(row[0]) and version != ANALYSIS_VERSION,
        }


class _TimedOut(Exception):
    pass


def _marked(original, headline):
    """Escape ts_headline's output and turn its private markers into <mark> elements."""
    plain = headline.replace(START, "").replace(STOP, "").replace(LT, "<").replace(GT, ">")
    body = str(escape(headline.replace(LT, "<").replace(GT, ">")))
    body = body.replace(START, "<mark>").replace(STOP, "</mark>")
    stripped = plain.strip()
    lead = "" if not stripped or original.lstrip().startswith(stripped) else "…"
    tail = "" if not stripped or original.rstrip().endswith(stripped) else "…"
    return Markup(lead + body.strip() + tail)
