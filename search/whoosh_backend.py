"""The Whoosh engine (whoosh-reloaded): schema, query building, grouped faceted search, rebuild.

Layout under SEARCH_INDEX_PATH:
    CURRENT          the name of the live index folder, replaced atomically (os.replace)
    index-<n>/       whoosh index generations; the previous one is kept for open readers
    REBUILD          present while `search reindex` builds the next generation
    rebuild.journal  objects indexed into the live index meanwhile, replayed before the swap

A document is one visible post. Its text goes into one field per language (text_nl,
text_fr: title, body, kind-specific fields, tags, places and organisation names), and
the title with tags, places and names once more into a small title_<lang> field that
only gives those words their boost; so a query word costs four posting lists, not ten.
Adjacent pairs of frequent terms go into pairs_<lang> (see COMMON_SAMPLE), so that a
phrase of common words is one term rather than positions to check in half the index.

Searching runs two passes over one long-lived searcher (reopened only when the index
changed). The first works on sets of document numbers: each term's postings are read a
block at a time into a set (with the term's weight per document) cached per immutable
segment; the query tree becomes set unions, intersections and differences in C, and the
permission scope and filters are cached sets too. Threads and facets are counted from
that set with per-segment column arrays. The second pass scores those documents itself,
with whoosh's BM25F arithmetic and the index's statistics (the same scores whoosh gives,
checked in development against its collector), keeps the best post per thread and
returns the requested page; whoosh's own top-N collector (_ThreadCollector) remains for
result sets larger than OWN_SCORING_DOCS.

Why not whoosh alone: it is pure Python per posting. Its phrase matcher reads positions
for every document holding all the words, its Or/And matchers make several calls per
posting, and grouping per thread defeats much of its block skipping; sets in C, cached
weights and pairs do the same work in a fraction of the time (bench/search.py).
"""
import fcntl
import heapq
import json
import logging
import os
import shutil
import threading
import time
from array import array
from bisect import bisect_left
from collections import Counter, OrderedDict
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import accumulate, chain
from operator import itemgetter
from pathlib import Path
from sys import byteorder

from flask import has_request_context
from whoosh import columns
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.codec import whoosh3
from whoosh.collectors import TopCollector
from whoosh.fields import COLUMN, ID, KEYWORD, TEXT, Schema
from whoosh.index import LockError
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.util.numeric import byte_to_length

from . import analysis
from . import query as query_plan
from .backend import Hit, IndexBusy, RebuildRunning, SearchBackend, SearchResult
from .spelling import Dictionary, best_correction
from .tuning import (
    COMMON_MAX, COMMON_SAMPLE, COMMON_SHARE, COMPOUND_BOOST, COMPOUND_SCAN, COMPOUND_SKIP_DOCS,
    COMPOUND_SKIP_SHARE, COMPOUND_TERMS, DRAIN_MERGE_DOCS, EXPANSION_BOOST, FACET_LIMIT, MAX_PREFIX_TERMS,
    MERGE_TIER_SEGMENTS, MIN_COMPOUND_HEAD, OWN_SCORING_DOCS, OWN_TOP_CANDIDATES, PERIODS,
    JOIN_BOOST, PHRASE_CHECK_DIRECT, POSTING_CACHE_IDS, SMALL_SEGMENT_DOCS, SPLIT_BOOST, TITLE_BOOST,
)

log = logging.getLogger(__name__)

TEXT_FIELDS = ("text_nl", "text_fr")
TITLE_FIELD = {"text_nl": "title_nl", "text_fr": "title_fr"}
PAIRS_FIELD = {"text_nl": "pairs_nl", "text_fr": "pairs_fr", "title_nl": "pairs_nl", "title_fr": "pairs_fr"}
TITLE_PAIR = "t:"  # pairs of the title field carry this mark in pairs_<lang>


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
        # Adjacent pairs of frequent terms of text_<lang> (phrases, see _find_phrase).
        pairs_nl=KEYWORD(commas=True, scorable=False),
        pairs_fr=KEYWORD(commas=True, scorable=False),
        spell=TEXT(analyzer=analysis.analyzer("fold"), phrase=False),
    )


# Facet name -> index field holding one value per document (tags: several).
FACET_FIELDS = {
    "visibility": "visibility", "kind": "kind", "theme": "theme_id", "language": "language", "tag": "tags",
    "province": "province", "municipality": "municipality", "organisation": "organisation_id",
    "solved": "solved",
}


def _cached_reader(self, fieldname, column):
    # whoosh's version forgets that a field has no length column and stats the file
    # again for every posting of every commit (half of bulk indexing time); remember.
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


whoosh3.W3PerDocReader._cached_reader = _cached_reader


def _merge_tiers(max_docs):
    """A merge policy for drains: segments are grouped in tiers by size (1-5 documents,
    6-35, 36-215, ...) and a tier is merged into one segment once it holds
    MERGE_TIER_SEGMENTS of them, so each document is rewritten a few times in its life,
    not at every drain. Merges that would write more than `max_docs` documents wait for
    a drain allowed bigger ones (`search sync`); the big segment of a rebuild is never
    rewritten here (`search reindex` does that)."""

    def policy(writer, segments, dry_run=False):
        tiers = {}
        for seg in segments:
            n = seg.doc_count_all()
            if n < SMALL_SEGMENT_DOCS:
                tier = 0
                while n >= MERGE_TIER_SEGMENTS:
                    n //= MERGE_TIER_SEGMENTS
                    tier += 1
                tiers.setdefault(tier, []).append(seg)
        merge = []
        for tier in sorted(tiers):
            group = tiers[tier]
            if len(group) >= MERGE_TIER_SEGMENTS and sum(s.doc_count_all() for s in group) <= max_docs:
                merge.extend(group)
        if not merge:
            return segments
        if dry_run:
            return [s for s in segments if s not in merge]
        for seg in merge:
            reader = SegmentReader(writer.storage, writer.schema, seg)
            writer.add_reader(reader)
            reader.close()
        return [s for s in segments if s not in merge]

    return policy


def _numeric_column(reader, fieldname):
    """A segment's numeric column as an array, read in one go."""
    n = reader.doc_count_all()
    if not n:
        return array("q")
    creader = reader.column_reader(fieldname, translate=False)
    if isinstance(creader, columns.NumericColumn.Reader) and not creader._reverse:
        raw = creader._dbfile.get(creader._basepos, n * creader._fixedlen)
        out = array(creader._typecode)
        out.frombytes(raw)
        if byteorder == "little":
            out.byteswap()  # columns are stored big-endian
        return out
    return array("q", creader)


class _SegmentData:
    """Per-document values of one immutable segment, for grouping, facets and sorting.

    Built lazily, each part on first use, from whichever reader of the segment is
    current then (readers close when the searcher is replaced, the segment stays).
    """

    def __init__(self, key, reader):
        n = reader.doc_count_all()
        self.key = key
        self.doc_count = n
        self.ints = list(range(n))  # shared int objects: cached sets hold references, not copies
        self.tnum = _numeric_column(reader, "tnum").tolist()
        self.pnum = _numeric_column(reader, "pnum").tolist()
        self._day = None
        self._lengths = {}
        self._norms = {}
        self._values = {}
        self._since = {}
        self._dictionary = None

    def day(self, reader):
        if self._day is None:
            self._day = _numeric_column(reader, "day").tolist()
        return self._day

    def norms(self, fieldname, reader, B, K1, avgfl):
        """K1 * ((1 - B) + B * length / avgfl) per document: BM25F's length normalisation
        (the average length changes with every commit; the last one is kept)."""
        key = (fieldname, B, K1, avgfl)
        found = self._norms.get(fieldname)
        if found is None or found[0] != key:
            lengths = self._lengths.get(fieldname)
            if lengths is None:
                lengths = self._lengths[fieldname] = _field_lengths(reader, fieldname, self.doc_count)
            found = self._norms[fieldname] = (key, [K1 * ((1 - B) + B * n / avgfl) for n in lengths])
        return found[1]

    def values(self, facet, reader):
        """The facet's value per document (a tuple of tags for "tag")."""
        arr = self._values.get(facet)
        if arr is None:
            multi = facet == "tag"
            fieldname = FACET_FIELDS[facet]
            arr = [() if multi else None] * self.doc_count
            for term in reader.field_terms(fieldname) if self.doc_count else ():
                for docnum in _posting_ids(reader, fieldname, term):
                    arr[docnum] = arr[docnum] + (term,) if multi else term
            self._values[facet] = arr
        return arr

    def since(self, day, reader):
        """The documents dated `day` or later (periods, date filters)."""
        found = self._since.get(day)
        if found is None:
            if len(self._since) > 16:
                self._since.clear()
            found = self._since[day] = frozenset(d for d, v in enumerate(self.day(reader)) if v >= day)
        return found

    def dictionary(self, reader):
        if self._dictionary is None:
            freqs = {}
            if "spell" in reader.indexed_field_names():
                for text, info in reader.iter_field("spell"):
                    word = text.decode("utf-8") if isinstance(text, bytes) else text
                    if len(word) > 2 and not word.isdigit():
                        freqs[word] = info.doc_frequency()
            self._dictionary = Dictionary(freqs)
        return self._dictionary


_LENGTH_OF_BYTE = [byte_to_length(b) for b in range(256)]


def _field_lengths(reader, fieldname, n):
    perdoc = getattr(reader, "_perdoc", None)
    creader = perdoc._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN) if perdoc else None
    if creader is None or not n:
        return [1] * n
    if isinstance(creader, columns.NumericColumn.Reader):
        raw = creader._dbfile.get(creader._basepos, n * creader._fixedlen)
    else:
        raw = bytes(creader[d] for d in range(n))
    table = _LENGTH_OF_BYTE
    return [table[b] for b in raw]


class _Postings:
    """A term's documents in one segment; for text fields also its weight in each."""

    __slots__ = ("docs", "ids", "weights")

    def __init__(self, docs, ids=None, weights=None):
        self.docs = docs
        self.ids = ids  # sorted docnums, aligned with weights
        self.weights = weights

    def __len__(self):
        return len(self.docs) * (2 if self.weights is not None else 1)

    def weight(self, docnum):
        return self.weights[bisect_left(self.ids, docnum)]


def _read_postings(reader, fieldname, text, ints, with_weights):
    m = _leaf_matcher(reader, fieldname, text)
    if m is None:
        try:
            ids = sorted(reader.postings(fieldname, text).all_ids())
        except TermNotFound:
            ids = []
        return _Postings(frozenset(map(ints.__getitem__, ids)))
    ids = array("i")
    weights = array("f") if with_weights else None
    while not m._atend and m._i < m._blocklength:
        if m._data is None:
            m._read_data()
        block = m._data[0]
        ids.extend(block if m._byteids else accumulate(block))
        if with_weights:
            w = m._data[1]
            if w is None or isinstance(w, float):
                weights.extend([1.0 if w is None else w] * m._blocklength)
            else:
                weights.extend(w)
        m._next_block()
    return _Postings(frozenset(map(ints.__getitem__, ids)), ids if with_weights else None, weights)


def _posting_ids(reader, fieldname, text):
    """Every document number in a term's postings, deleted ones included, read a block at a
    time (whoosh's all_ids() would cost several Python calls per posting)."""
    m = _leaf_matcher(reader, fieldname, text)
    if m is None:
        try:
            return list(reader.postings(fieldname, text).all_ids())
        except TermNotFound:
            return []
    out = []
    extend = out.extend
    while not m._atend and m._i < m._blocklength:
        if m._data is None:
            m._read_data()
        ids = m._data[0]
        extend(ids if m._byteids else accumulate(ids))
        m._next_block()
    return out


def _leaf_matcher(reader, fieldname, text):
    """The raw on-disk postings of a term (deleted documents included), or None."""
    try:
        m = reader.postings(fieldname, text)
    except TermNotFound:
        return None
    if isinstance(m, FilterMatcher):
        m = m.child
    return m if isinstance(m, whoosh3.W3LeafMatcher) else None


def _doc_postings(reader, fieldname, text, docs, values=True):
    """{docnum: (weight, encoded value or None)} of a term's postings for the given sorted
    docnums, decoding only the blocks that hold them."""
    m = _leaf_matcher(reader, fieldname, text)
    out = {}
    if m is None:
        return out
    want_values = values and not (m._fixedsize is not None and m._fixedsize >= 0)
    it = iter(docs)
    target = next(it, None)
    while target is not None and not m._atend and m._i < m._blocklength:
        maxid = m._maxid
        if maxid < target:
            m._next_block()
            continue
        if m._data is None:
            m._read_data()
        ids, weights, block_values = m._data[0], m._data[1], m._data[2]
        if not m._byteids:
            ids = list(accumulate(ids))
        index = {d: i for i, d in enumerate(ids)}
        while target is not None and target <= maxid:
            i = index.get(target)
            if i is not None:
                w = 1.0 if weights is None else (weights if isinstance(weights, float) else weights[i])
                out[target] = (w, block_values[i] if want_values else None)
            target = next(it, None)
        m._next_block()
    return out


class _PhraseDocs:
    """The documents of one segment holding a phrase."""

    __slots__ = ("docs",)

    def __init__(self, docs):
        self.docs = docs

    def __len__(self):
        return len(self.docs)


class _PostingCache:
    """Posting sets per (segment, field, term), least recently used out first."""

    def __init__(self, budget=POSTING_CACHE_IDS):
        self.budget = budget
        self.size = 0
        self.lock = threading.Lock()
        self._sets = OrderedDict()

    def get(self, key):
        with self.lock:
            found = self._sets.get(key)
            if found is not None:
                self._sets.move_to_end(key)
            return found

    def put(self, key, value):
        with self.lock:
            if key in self._sets:
                return
            self._sets[key] = value
            self.size += len(value) + 1
            while self.size > self.budget and len(self._sets) > 1:
                _k, old = self._sets.popitem(last=False)
                self.size -= len(old) + 1

    def clear(self):
        with self.lock:
            self._sets.clear()
            self.size = 0


class _Leaf:
    """One segment of the current searcher: its reader, offset, data and deletions."""

    __slots__ = ("searcher", "reader", "offset", "seg", "deleted")

    def __init__(self, searcher, offset, seg):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.offset = offset
        self.seg = seg
        self.deleted = self.reader.deleted_docs_set if self.reader.has_deletions() else frozenset()


class _Deadline(Exception):
    pass


class _ThreadCollector(TopCollector):
    """whoosh's scored top-N with block-quality skipping, kept per thread: the best `limit`
    threads by their best post, restricted to the documents pass one allowed."""

    def __init__(self, limit, deadline, allowed, tnums, pnums):
        super().__init__(limit)
        self.deadline = deadline
        self.allowed = allowed  # offset -> set of docnums, or None for no restriction
        self.tnums = tnums  # offset -> thread id per docnum
        self.pnums = pnums
        self.best = {}  # thread -> (score, -global docnum, post id)

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self.best = {}

    def collect_matches(self):
        offset = self.offset
        allowed = None
        if self.allowed is not None:
            allowed = self.allowed.get(offset)
            if not allowed:
                return
        tnum, pnum = self.tnums[offset], self.pnums[offset]
        best = self.best
        limit = self.limit
        deadline = self.deadline
        for i, sub in enumerate(self.matches()):
            if not i & 1023 and time.monotonic() > deadline:
                raise _Deadline
            if allowed is not None and sub not in allowed:
                continue
            score = self.matcher.score()
            t = tnum[sub]
            old = best.get(t)
            if old is not None:
                if score > old[0]:
                    best[t] = (score, -(offset + sub), pnum[sub])
                    if len(best) >= limit:
                        self.minscore = min(v[0] for v in best.values())
                continue
            if len(best) < limit:
                best[t] = (score, -(offset + sub), pnum[sub])
                if len(best) == limit:
                    self.minscore = min(v[0] for v in best.values())
            elif score > self.minscore:
                weakest = min(best, key=best.__getitem__)
                del best[weakest]
                best[t] = (score, -(offset + sub), pnum[sub])
                self.minscore = min(v[0] for v in best.values())

    def ranked(self):
        """[(thread, post, score)], best first; ties keep the lower document number first."""
        items = sorted(self.best.items(), key=lambda kv: (kv[1][0], kv[1][1]), reverse=True)
        return [(t, v[2], v[0]) for t, v in items]


TEXT_OF = {title: text for text, title in TITLE_FIELD.items()}


def _phrase_key(q):
    return ("phrase", q.slop) + tuple(q.words)


class _CheckedPhrase(Q.Phrase):
    """A phrase whose documents pass one found already: scored as whoosh scores a phrase
    (the sum of its words' scores), without reading positions again."""

    def __init__(self, phrase, postings):
        super().__init__(phrase.fieldname, phrase.words, slop=phrase.slop, boost=phrase.boost)
        self.postings = postings

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        found = self.postings.get((WhooshBackend._segment_key(reader), self.fieldname, _phrase_key(self)))
        weighting = context.weighting if context is not None else searcher.weighting
        if not isinstance(found, _PhraseDocs) or weighting is None:
            return super().matcher(searcher, context)
        deleted = reader.deleted_docs_set if reader.has_deletions() else ()
        ids = sorted(d for d in found.docs if d not in deleted)
        if not ids:
            return NullMatcher()
        scorers = [weighting.scorer(searcher, self.fieldname, w) for w in self.words]
        if not all(hasattr(sc, "_score") and hasattr(sc, "dfl") for sc in scorers):
            return super().matcher(searcher, context)
        scores = [0.0] * len(ids)
        for word, sc in zip(self.words, scorers):
            postings = _doc_postings(reader, self.fieldname, word, ids)
            for i, d in enumerate(ids):
                scores[i] += sc._score(postings[d][0], sc.dfl(d))
        return ListMatcher(ids, weights=[v * self.boost for v in scores])


def _checked_phrases(q, postings):
    """`q` with every phrase replaced by a _CheckedPhrase."""
    if isinstance(q, Q.Phrase):
        return _CheckedPhrase(q, postings)
    if isinstance(q, (Q.Or, Q.And)):
        return q.__class__([_checked_phrases(s, postings) for s in q.subqueries], boost=q.boost)
    if isinstance(q, Q.AndNot):
        return Q.AndNot(_checked_phrases(q.a, postings), _checked_phrases(q.b, postings))
    return q


class _Or(Q.Or):
    """Or as a tree of union matchers always. whoosh otherwise preloads every match and
    score of a segment of up to 5,000 documents into arrays, clearing 2,048 slots per
    Or per segment in Python: milliseconds per query once drains leave small segments."""

    matcher_type = Q.Or.DEFAULT_MATCHER


def _or(subs):
    """Or of the distinct queries (a glossary can name one translation twice), or None."""
    subs = list({repr(s): s for s in subs if s is not None}.values())
    if not subs:
        return None
    return _Or(subs) if len(subs) > 1 else subs[0]


class _Batch:
    """One writer transaction: deletions first, then additions, committed together.

    With `folder` and no common terms yet (a rebuild), the first COMMON_SAMPLE documents
    are held back to choose the frequent terms whose pairs are indexed (COMMON.json)."""

    def __init__(self, writer, journal=None, common=None, folder=None):
        self.writer = writer
        self.journal = journal
        self.recorded = []
        self.deletes = []
        self.docs = []
        self.touched = False
        self.common = common  # language -> frozenset of terms, or None
        self.folder = folder
        self.pairs = all(f"pairs_{lang}" in writer.schema for lang in analysis.LANGUAGES)

    def delete(self, fieldname, value):
        self.deletes.append((fieldname, str(value)))

    def add(self, doc):
        self.docs.append(doc)

    def record(self, object_type, object_id):
        self.recorded.append(f"{object_type}:{object_id}")

    def flush(self, final=False):
        if self.common is None and self.folder is not None:
            if len(self.docs) < COMMON_SAMPLE and not final:
                return  # still sampling
            self.common = choose_common(self.docs)
            write_common(self.folder, self.common)
        writer = self.writer
        self.touched = self.touched or bool(self.deletes or self.docs)
        for fieldname, value in dict.fromkeys(self.deletes):
            writer.delete_by_term(fieldname, value)
        common = self.common if self.pairs else None
        for doc in self.docs:
            fields = {k: v for k, v in doc.items() if v is not None and v != ""}
            if common:
                for lang in analysis.LANGUAGES:
                    if not common.get(lang):
                        continue
                    found = []
                    for fieldname, mark in ((f"text_{lang}", ""), (f"title_{lang}", TITLE_PAIR)):
                        if fields.get(fieldname):
                            found += [mark + p for p in analysis.common_pairs(lang, fields[fieldname], common[lang])]
                    if found:
                        fields[f"pairs_{lang}"] = ",".join(dict.fromkeys(found))
            writer.add_document(**fields)
        self.deletes, self.docs = [], []
        if self.journal is not None and self.recorded:
            with open(self.journal, "a", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in self.recorded))
        self.recorded = []


def choose_common(docs):
    """{language: frequent terms} from sample documents (none for a small sample)."""
    out = {}
    for lang in analysis.LANGUAGES:
        texts = [d.get(f"text_{lang}") for d in docs if d.get(f"text_{lang}")]
        if len(texts) < 200:
            out[lang] = frozenset()
            continue
        df = Counter()
        for text in texts:
            df.update(set(analysis.terms(lang, text)))
        least = COMMON_SHARE * len(texts)
        out[lang] = frozenset(t for t, n in df.most_common(COMMON_MAX) if n >= least)
    return out


def write_common(folder, common):
    path = Path(folder) / "COMMON.json"
    tmp = path.with_suffix(".tmp")
    data = {lang: sorted(words) for lang, words in common.items()}
    data["title_pairs"] = True  # titles' pairs are indexed too (marked TITLE_PAIR)
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def read_common(folder):
    try:
        data = json.loads((Path(folder) / "COMMON.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    out = {lang: frozenset(data.get(lang, ())) for lang in analysis.LANGUAGES}
    out["title_pairs"] = bool(data.get("title_pairs"))
    return out


class WhooshBackend(SearchBackend):
    key = None

    def __init__(self, path):
        self.path = Path(path)
        self.schema = make_schema()
        self._lock = threading.RLock()
        self._pointer_sig = None
        self._name = None
        self._ix = None
        self._searcher = None
        self._leaves = None
        self._segments = {}
        self._postings = _PostingCache()
        self._compounds = {}
        self._glossary_dictionary = None
        self._reader = None
        self._common = {}  # generation name -> {language: frequent terms}

    # -- layout ------------------------------------------------------------------------

    @property
    def pointer(self):
        return self.path / "CURRENT"

    @property
    def marker(self):
        return self.path / "REBUILD"

    @property
    def journal(self):
        return self.path / "rebuild.journal"

    @contextmanager
    def _file_lock(self, name, blocking=True):
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / name, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                raise RebuildRunning() from None
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _read_pointer(self):
        try:
            name = self.pointer.read_text().strip()
        except FileNotFoundError:
            name = ""
        if not name:
            self.ensure()
            name = self.pointer.read_text().strip()
        return name

    def _write_pointer(self, name):
        tmp = self.path / f".CURRENT.{os.getpid()}.tmp"
        tmp.write_text(name + "\n")
        os.replace(tmp, self.pointer)

    def _generations(self):
        out = []
        for p in self.path.glob("index-*"):
            try:
                out.append(int(p.name.split("-", 1)[1]))
            except ValueError:
                continue
        return sorted(out)

    def ensure(self):
        """Create the first, empty index generation if there is none (safe across workers)."""
        if self.pointer.exists():
            return
        with self._file_lock(".init.lock"):
            if self.pointer.exists():
                return
            name = f"index-{(self._generations() or [0])[-1] + 1}"
            folder = self.path / name
            folder.mkdir(parents=True, exist_ok=True)
            whoosh_index.create_in(str(folder), self.schema)
            self._write_pointer(name)

    # -- reading -------------------------------------------------------------------------

    def _current_searcher(self):
        """The searcher of the live generation, reopened only when the pointer or index changed."""
        try:
            st = self.pointer.stat()
            sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            sig = None
        if sig is None or sig != self._pointer_sig or self._searcher is None:
            name = self._read_pointer()
            st = self.pointer.stat()
            sig = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self._searcher is not None:
                self._searcher.close()
            self._ix = whoosh_index.open_dir(str(self.path / name))
            self._searcher = self._ix.searcher()
            self._name, self._pointer_sig = name, sig
            if "text_nl" not in self._ix.schema:
                log.error("the search index %s was built by an older version of Agora and finds "
                          "nothing: run `flask --app wsgi search reindex` once", name)
            self._changed()
        elif not self._searcher.up_to_date():
            # A new searcher rather than refresh(): refresh() fails when the old
            # reader was empty; segment data and posting sets are cached by segment id.
            old, self._searcher = self._searcher, self._ix.searcher()
            old.close()
            self._changed()
        return self._searcher

    def common_terms(self, name):
        """The frequent terms whose pairs generation `name` indexes."""
        found = self._common.get(name)
        if found is None:
            found = self._common[name] = read_common(self.path / name)
        return found

    def _changed(self):
        self._leaves = None
        self._compounds.clear()
        live = set()
        for reader, _offset in self._searcher.reader().leaf_readers():
            live.add(self._segment_key(reader))
        for old in [k for k in self._segments if k not in live]:
            del self._segments[old]

    @staticmethod
    def _segment_key(reader):
        segment = reader.segment() if hasattr(reader, "segment") else None
        return segment.segment_id() if segment is not None else id(reader)

    def _segment(self, reader):
        key = self._segment_key(reader)
        data = self._segments.get(key)
        if data is None:
            data = self._segments[key] = _SegmentData(key, reader)
        return data

    def _leaf_list(self, searcher):
        if self._leaves is None:
            self._leaves = [_Leaf(sub, offset, self._segment(sub.reader()))
                            for sub, offset in searcher.leaf_searchers()]
        return self._leaves

    # -- query building ------------------------------------------------------------------

    @staticmethod
    def _seq(fieldname, toks, boost):
        if not toks:
            return None
        if len(toks) == 1:
            return Q.Term(fieldname, toks[0], boost=boost)
        return Q.Phrase(fieldname, toks, boost=boost)

    def _word_query(self, word, phrase=False):
        per_language = {lang: analysis.terms(lang, word) for lang in analysis.LANGUAGES}
        if not phrase and not all(per_language.values()):
            # A stop word in either language (des, die, van ...) is left out, or every
            # French query with "des" would require a Dutch word "des", and vice versa.
            return None
        subs = []
        for lang in analysis.LANGUAGES:
            toks = per_language[lang]
            subs.append(self._seq(f"text_{lang}", toks, 1.0))
            subs.append(self._seq(f"title_{lang}", toks, TITLE_BOOST))
        if not phrase:
            subs.extend(self._compound_terms(analysis.terms("fold", word), COMPOUND_BOOST))
        subs = [s for s in subs if s is not None]
        return _or(subs)

    def _compound_terms(self, ftoks, boost):
        """Dutch compounds that start with the word: schuld -> schuldhulpverlening.

        Why query-time prefixes and not an n-gram field: Dutch writes compounds as one
        word, so neither the term nor its stem equals the compound. An index-time field
        of word prefixes did the job but multiplied the postings of Dutch text about
        fourfold, which in pure-Python whoosh halved bulk indexing speed and grew the
        index. The term dictionary is sorted, so the compounds a word heads are one
        range scan away; we take the most frequent few (COMPOUND_TERMS) and weight them
        well below the word itself, so exact matches rank first. The choice is cached
        until the index changes.
        """
        if len(ftoks) != 1 or len(ftoks[0]) < MIN_COMPOUND_HEAD or self._reader is None:
            return []
        reader = self._reader
        stem = analysis.terms("nl", ftoks[0])
        if stem and reader.doc_frequency("text_nl", stem[0]) >= max(
                COMPOUND_SKIP_DOCS, COMPOUND_SKIP_SHARE * reader.doc_count()):
            # The word alone already finds a large share of the index: its compounds
            # would rank below all of that and only cost reading their postings.
            return []
        best = self._compounds.get(ftoks[0])
        if best is None:
            best = self._compounds[ftoks[0]] = self._find_compounds(ftoks[0])
        return [Q.Term("text_nl", t, boost=boost) for t in best]

    def _find_compounds(self, word):
        heads = {word}
        stem = analysis.terms("nl", word)
        if len(stem) == 1 and len(stem[0]) >= MIN_COMPOUND_HEAD:
            heads.add(stem[0])
        found = {}
        reader = self._reader
        for head in heads:
            for i, term in enumerate(reader.expand_prefix("text_nl", head)):
                if i >= COMPOUND_SCAN:
                    break
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                if len(text) >= len(head) + 3 and text not in heads:
                    found[text] = reader.doc_frequency("text_nl", text)
        if len(self._compounds) > 5000:
            self._compounds.clear()
        return tuple(sorted(sorted(found, key=lambda t: -found[t])[:COMPOUND_TERMS]))

    def _prefix_query(self, prefix, searcher, notices):
        reader = searcher.reader()
        subs = []
        budget = MAX_PREFIX_TERMS
        for fieldname in TEXT_FIELDS:
            for term in reader.expand_prefix(fieldname, prefix):
                if budget <= 0:
                    if "wildcard_capped" not in notices:
                        notices.append("wildcard_capped")
                    break
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                subs.append(Q.Term(fieldname, text))
                subs.append(Q.Term(TITLE_FIELD[fieldname], text, boost=TITLE_BOOST))
                budget -= 1
        return _Or(subs) if subs else Q.NullQuery

    def _clause_query(self, clause, searcher, notices):
        if clause.kind == "prefix":
            return self._prefix_query(clause.text, searcher, notices)
        return self._word_query(clause.text, phrase=clause.kind == "phrase")

    def _expansion_query(self, expansion):
        subs = []
        for lang, text in expansion.targets:
            toks = analysis.terms(lang, text)
            if expansion.kind == "split":
                # A compound's parts anywhere in the text, ranked below the compound itself.
                parts = [Q.Term(f"text_{lang}", t, boost=SPLIT_BOOST) for t in toks]
                subs.append(Q.And(parts) if len(parts) > 1 else (parts[0] if parts else None))
                continue
            if expansion.kind == "join":
                # Two query words written as one compound: ranked below the words apart.
                subs.append(self._seq(f"text_{lang}", toks, JOIN_BOOST))
                subs.append(self._seq(f"title_{lang}", toks, JOIN_BOOST))
                continue
            # A phrase scores the sum of its words: a translation counts as one word.
            boost = EXPANSION_BOOST * expansion.weight / max(1, len(toks))
            subs.append(self._seq(f"text_{lang}", toks, boost))
            subs.append(self._seq(f"title_{lang}", toks, boost))
            if lang == "nl":
                subs.extend(self._compound_terms(analysis.terms("fold", text),
                                                 EXPANSION_BOOST * expansion.weight * COMPOUND_BOOST))
        return _or(subs)

    def _concept_query(self, concept, groups):
        """A concept of the plan (search/query.py): its words, or any of its expansions."""
        if concept.parts:
            run = [self._concept_query(p, groups) for p in concept.parts]
        else:
            run = groups[concept.start:concept.end + 1]
        run = [g for g in run if g is not None]
        same = Q.And(run) if len(run) > 1 else (run[0] if run else None)
        alts = [self._expansion_query(e) for e in concept.expansions]
        return _or(([same] if same is not None else []) + alts)

    def build_query(self, parsed, searcher, notices):
        """The engine query for a ParsedQuery (None when nothing searchable is left), and
        in "most" mode the per-word queries whose matches are counted (else None)."""
        self._reader = searcher.reader()
        groups = []
        for group in parsed.groups:
            alts = [q for q in (self._clause_query(c, searcher, notices) for c in group) if q is not None]
            groups.append(_or(alts))
        covering = None
        if parsed.mode == "most":
            covering = []
            for i, expansions in enumerate(query_plan.covers(parsed)):
                if groups[i] is not None:
                    node = _or([groups[i]] + [self._expansion_query(e) for e in expansions])
                    covering.append((i, node))
            must = [n for i, n in covering if i in query_plan.required(parsed)]
            may = [n for i, n in covering if i not in query_plan.required(parsed)]
            nodes = must + ([_or(may)] if may else [])
            covering = [n for _i, n in covering]
        else:
            nodes = [q for q in (self._concept_query(c, groups) for c in query_plan.concepts(parsed))
                     if q is not None]
        if not nodes:
            return None, None
        q = Q.And(nodes) if len(nodes) > 1 else nodes[0]
        negs = [x for x in (self._clause_query(c, searcher, notices) for c in parsed.negatives) if x is not None]
        if negs:
            q = Q.AndNot(q, _or(negs))
        return q, covering

    # -- pass one: sets of document numbers ----------------------------------------------

    def _term_postings(self, leaf, fieldname, text):
        key = (leaf.seg.key, fieldname, text)
        found = self._postings.get(key)
        if found is None:
            scorable = fieldname in self.schema and self.schema[fieldname].scorable
            found = _read_postings(leaf.reader, fieldname, text, leaf.seg.ints, scorable)
            self._postings.put(key, found)
        return found

    def _term_docs(self, leaf, fieldname, text):
        return self._term_postings(leaf, fieldname, text).docs

    def _phrase_docs(self, q, leaf, deadline):
        """The documents holding the phrase: the intersection of its words' cached sets,
        then positions read for those candidates only (whoosh's phrase matcher walks the
        postings of every word with a Python call per posting)."""
        key = (leaf.seg.key, q.fieldname, _phrase_key(q))
        found = self._postings.get(key)
        if found is None:
            found = self._find_phrase(q, leaf, deadline)
            self._postings.put(key, found)
        return found.docs

    def _find_phrase(self, q, leaf, deadline):
        words = list(q.words)
        candidates = None
        pairs_field = PAIRS_FIELD.get(q.fieldname)
        title_of = TEXT_OF.get(q.fieldname)
        known = self.common_terms(self._name)
        common = known.get(q.fieldname[-2:], ()) if pairs_field else ()
        if title_of is not None and not known.get("title_pairs"):
            common = ()
        if q.slop == 1 and common and pairs_field in leaf.reader.schema:
            # Documents holding an adjacent pair of frequent words: for a phrase of two
            # such words exactly its documents; otherwise candidates to check below.
            mark = TITLE_PAIR if title_of is not None else ""
            for a, b in zip(words, words[1:]):
                if a in common and b in common:
                    docs = self._term_docs(leaf, pairs_field, mark + a + " " + b)
                    candidates = docs if candidates is None else candidates & docs
                    if not candidates:
                        return _PhraseDocs(frozenset())
            if len(words) == 2 and candidates is not None:
                return _PhraseDocs(candidates)
        if q.slop == 1 and title_of is not None:
            # A title phrase is also a phrase of the text (which holds the title): check
            # the text phrase's documents only.
            docs = self._phrase_docs(Q.Phrase(title_of, words), leaf, deadline)
            candidates = docs if candidates is None else candidates & docs
        if candidates is None or len(candidates) > PHRASE_CHECK_DIRECT:
            # Narrow by the words' own documents (frequent words' sets are big to read,
            # so the rarest first, and not at all once few candidates are left).
            for word in sorted(words, key=lambda w: leaf.reader.doc_frequency(q.fieldname, w)):
                if candidates is not None and len(candidates) <= PHRASE_CHECK_DIRECT:
                    break
                docs = self._term_docs(leaf, q.fieldname, word)
                candidates = docs if candidates is None else candidates & docs
        if not candidates:
            return _PhraseDocs(frozenset())
        ordered = sorted(candidates)
        postings = [_doc_postings(leaf.reader, q.fieldname, word, ordered) for word in words]
        decode = self.schema[q.fieldname].format.decode_positions
        ints = leaf.seg.ints
        slop = q.slop
        matched = []
        for n, d in enumerate(ordered):
            if not n & 255 and time.monotonic() > deadline:
                raise _Deadline
            entries = [p.get(d) for p in postings]
            if None in entries:
                continue
            chains = decode(entries[0][1])
            for entry in entries[1:]:
                nxt = decode(entry[1])
                # Ordered, each word 1..slop positions after the previous one (SpanNear2).
                if slop == 1:
                    have = set(nxt)
                    chains = [p + 1 for p in chains if p + 1 in have]
                else:
                    chains = sorted({b for a in chains for b in nxt if 1 <= b - a <= slop})
                if not chains:
                    break
            if chains:
                matched.append(ints[d])
        return _PhraseDocs(frozenset(matched))

    def _docs(self, q, leaf, deadline):
        """The documents of one segment matching `q` (deleted ones may be included)."""
        if isinstance(q, Q.Term):
            return self._term_docs(leaf, q.fieldname, q.text)
        if isinstance(q, Q.Phrase):
            return self._phrase_docs(q, leaf, deadline)
        if isinstance(q, Q.Or):
            subs = q.subqueries
            # title_<lang> holds a subset of text_<lang>: its terms add nothing to a union.
            # (Title phrases are still worked out: pass two scores them from these sets.)
            texts = {(s.fieldname, s.text) for s in subs if isinstance(s, Q.Term)}
            sets = []
            for s in subs:
                if isinstance(s, Q.Term) and (TEXT_OF.get(s.fieldname), s.text) in texts:
                    continue
                found = self._docs(s, leaf, deadline)
                if found:
                    sets.append(found)
            if not sets:
                return frozenset()
            if len(sets) == 1:
                return sets[0]
            sets.sort(key=len)
            return sets[-1].union(*sets[:-1])
        if isinstance(q, Q.And):
            result = None
            for s in q.subqueries:
                found = self._docs(s, leaf, deadline)
                result = found if result is None else result & found
                if not result:
                    return frozenset()
            return result
        if isinstance(q, Q.AndNot):
            found = self._docs(q.a, leaf, deadline)
            return found - self._docs(q.b, leaf, deadline) if found else found
        if q is Q.NullQuery:
            return frozenset()
        raise TypeError(f"no set evaluation for {q!r}")

    def _own_scores(self, q, leaf, docs, weighting, mult=1.0):
        """{docnum: score} of the documents of `docs` that match `q`, worked out as whoosh
        scores them (BM25F per term, sums over Or, And and phrases, boosts multiplied
        down), from the cached postings: no matcher walks any posting list."""
        if isinstance(q, Q.Term):
            postings = self._term_postings(leaf, q.fieldname, q.text)
            hit = docs & postings.docs
            if not hit or postings.weights is None:
                return {}
            factor, norm = self._bm25_parts(leaf, q.fieldname, q.text, weighting)
            factor *= mult * q.boost
            # BM25F as whoosh.scoring.bm25 computes it: idf * tf * (K1 + 1) / (tf + norm).
            if len(hit) * 4 > len(postings.docs):
                return {d: factor * w / (w + norm[d]) for d, w in zip(postings.ids, postings.weights) if d in hit}
            weight = postings.weight
            return {d: factor * w / (w + norm[d]) for d, w in ((d, weight(d)) for d in hit)}
        if isinstance(q, Q.Phrase):
            hit = docs & self._phrase_docs(q, leaf, float("inf"))
            if not hit:
                return {}
            out = dict.fromkeys(hit, 0.0)
            ordered = None
            for word in q.words:
                factor, norm = self._bm25_parts(leaf, q.fieldname, word, weighting)
                postings = self._postings.get((leaf.seg.key, q.fieldname, word))
                if postings is None and len(hit) > PHRASE_CHECK_DIRECT // 10:
                    postings = self._term_postings(leaf, q.fieldname, word)
                if postings is not None:
                    weight = postings.weight
                else:  # not read whole: just the blocks holding these documents
                    ordered = ordered or sorted(hit)
                    found = _doc_postings(leaf.reader, q.fieldname, word, ordered, values=False)
                    weight = lambda d, found=found: found[d][0]  # noqa: E731
                for d in hit:
                    w = weight(d)
                    out[d] += factor * w / (w + norm[d])
            m = mult * q.boost
            return {d: v * m for d, v in out.items()}
        if isinstance(q, Q.Or):
            parts = [self._own_scores(sub, leaf, docs, weighting, mult * q.boost) for sub in q.subqueries]
            parts = sorted((p for p in parts if p), key=len, reverse=True)
            if not parts:
                return {}
            out = dict(parts[0])
            get = out.get
            for part in parts[1:]:
                for d, v in part.items():
                    out[d] = get(d, 0.0) + v
            return out
        if isinstance(q, Q.And):
            parts = [self._own_scores(sub, leaf, docs, weighting, mult * q.boost) for sub in q.subqueries]
            common = set(parts[0]).intersection(*parts[1:]) if parts else set()
            return {d: sum(p[d] for p in parts) for d in common}
        if isinstance(q, Q.AndNot):
            out = self._own_scores(q.a, leaf, docs, weighting, mult)
            if out:
                excluded = self._docs(q.b, leaf, float("inf"))
                out = {d: v for d, v in out.items() if d not in excluded}
            return out
        return {}

    def _bm25_parts(self, leaf, fieldname, text, weighting):
        """(idf * (K1 + 1), K1 * (1 - B + B * length / average length) per document): whoosh's
        BM25F with the index's current statistics, split so a document costs one division."""
        scorer = weighting.scorer(leaf.searcher, fieldname, text)
        norm = leaf.seg.norms(fieldname, leaf.reader, scorer.B, scorer.K1, scorer.avgfl)
        return scorer.idf * (scorer.K1 + 1), norm

    def _any_docs(self, leaf, fieldname, values):
        if len(values) == 1:
            return self._term_docs(leaf, fieldname, values[0])
        sets = [self._term_docs(leaf, fieldname, v) for v in values]
        return sets[0].union(*sets[1:])

    @staticmethod
    def scope(request):
        """([(field, allowed values)], (first day, last day)): the permission scope and the
        filters, applied to every matching document before it is counted or scored."""
        terms = []
        vis = frozenset(request.visibilities)
        if vis != {"public", "members"}:
            terms.append(("visibility", tuple(sorted(vis))))
        for facet, fieldname in FACET_FIELDS.items():
            value = request.filters.get(facet)
            if value not in (None, ""):
                terms.append((fieldname, (str(value),)))
        low = high = None
        if request.filters.get("date_from"):
            low = _day(request.filters["date_from"])
        if request.filters.get("date_to"):
            high = _day(request.filters["date_to"])
        if request.filters.get("period") in PERIODS:
            since = _day(date.today() - timedelta(days=PERIODS[request.filters["period"]]))
            low = max(low or 0, since)
        return terms, (low, high)

    def _restrict(self, docs, leaf, terms, days):
        for fieldname, values in terms:
            docs = docs & self._any_docs(leaf, fieldname, values)
            if not docs:
                return docs
        if leaf.deleted:
            docs = docs - leaf.deleted
        low, high = days
        if low:
            docs = docs & leaf.seg.since(low, leaf.reader)
        if high and docs:
            docs = docs - leaf.seg.since(high + 1, leaf.reader)
        return docs

    # -- searching -----------------------------------------------------------------------

    def query(self, request):
        with self._lock:
            return self._query(request)

    def _query(self, request):
        parsed = request.parsed
        notices = list(parsed.notices)
        result = SearchResult(page=request.page, notices=notices)
        searcher = self._current_searcher()
        q, covering = self.build_query(parsed, searcher, notices)
        if q is None:
            return result
        terms, days = self.scope(request)
        deadline = time.monotonic() + request.time_limit
        leaves = self._leaf_list(searcher)

        # Pass 1: the matching documents of each segment, permission scope and filters applied.
        matched = {}
        try:
            for leaf in leaves:
                docs = self._docs(q, leaf, deadline)
                if docs:
                    docs = self._restrict(docs, leaf, terms, days)
                if docs:
                    matched[leaf.offset] = (leaf, docs)
        except _Deadline:
            result.timed_out = True
            notices.append("timed_out")
            return result

        threads = set()
        firsts = []  # (leaf, {thread: one matching docnum}) for threads not seen before
        for leaf, docs in matched.values():
            tnum = leaf.seg.tnum
            if request.facets:
                first = dict(zip(map(tnum.__getitem__, docs), docs))
                if threads:
                    for t in first.keys() & threads:
                        del first[t]
                threads.update(first)
                firsts.append((leaf, first))
            else:
                threads.update(map(tnum.__getitem__, docs))
        total = len(threads)
        result.total = total
        result.pages = (total + request.per_page - 1) // request.per_page
        if request.facets and total:
            result.facets = self._facets(firsts, matched.values())
        start = (request.page - 1) * request.per_page
        if start >= total:
            return result
        needed = start + request.per_page

        # Pass 2: the page of threads.
        if request.sort == "newest":
            result.hits = [Hit(thread_id=t, post_id=p, score=0.0)
                           for t, p in self._newest(matched.values(), needed)[start:]]
            return result
        if covering is not None or sum(len(docs) for _leaf, docs in matched.values()) <= OWN_SCORING_DOCS:
            result.hits = self._own_page(q, searcher, matched.values(), start, needed, covering)
            return result
        restricted = bool(terms) or days != (None, None)
        allowed = {offset: docs for offset, (_leaf, docs) in matched.items()} if restricted else None
        collector = _ThreadCollector(
            needed, deadline, allowed,
            {leaf.offset: leaf.seg.tnum for leaf in leaves}, {leaf.offset: leaf.seg.pnum for leaf in leaves})
        try:
            searcher.search_with_collector(_checked_phrases(q, self._postings), collector)
        except _Deadline:
            result.timed_out = True
            notices.append("timed_out")
            return result
        result.hits = [Hit(thread_id=t, post_id=p, score=score) for t, p, score in collector.ranked()[start:needed]]
        return result

    def _own_page(self, q, searcher, matched, start, needed, covering=None):
        """The page of threads from scores worked out for pass one's documents. With
        `covering` ("most" mode), threads rank by how many of those queries some post of
        theirs matches, then by score (query.most_score)."""
        weighting = searcher.weighting
        best = {}  # thread -> (score, -global docnum, post id)
        cover = {}  # thread -> bit mask of the covering queries matched
        for leaf, docs in matched:
            for bit, node in enumerate(covering or ()):
                tnum = leaf.seg.tnum
                for d in self._docs(node, leaf, float("inf")) & docs:
                    t = tnum[d]
                    cover[t] = cover.get(t, 0) | (1 << bit)
        for leaf, docs in matched:
            tnum, pnum = leaf.seg.tnum, leaf.seg.pnum
            offset = leaf.offset
            scores = self._own_scores(q, leaf, docs, weighting)
            if len(scores) > 4 * OWN_TOP_CANDIDATES:
                # Only the best documents can hold a page's threads: take the top few
                # (heapq in C); widen to all when they cover too few threads.
                top = heapq.nlargest(OWN_TOP_CANDIDATES, scores.items(), key=itemgetter(1))
                if len({tnum[d] for d, _v in top}) >= needed:
                    cutoff = top[-1][1]
                    scores = {d: v for d, v in scores.items() if v >= cutoff}
            for d, score in scores.items():
                key = (score, -(offset + d))
                t = tnum[d]
                old = best.get(t)
                if old is None or key > old[:2]:
                    best[t] = key + (pnum[d],)
        if covering is not None:
            best = {t: (query_plan.most_score(bin(cover.get(t, 0)).count("1"), v[0]),) + v[1:]
                    for t, v in best.items()}
        ranked = sorted(best.items(), key=lambda kv: kv[1][:2], reverse=True)[start:needed]
        return [Hit(thread_id=t, post_id=v[2], score=v[0]) for t, v in ranked]

    @staticmethod
    def _newest(matched, needed):
        """[(thread, its newest matching post)], newest first, at most `needed`."""
        newest = {}
        for leaf, docs in matched:
            tnum, pnum = leaf.seg.tnum, leaf.seg.pnum
            ordered = sorted(docs, key=pnum.__getitem__)
            for t, p in dict(zip(map(tnum.__getitem__, ordered), map(pnum.__getitem__, ordered))).items():
                if p > newest.get(t, -1):
                    newest[t] = p
        return sorted(newest.items(), key=lambda kv: -kv[1])[:needed]

    def _facets(self, firsts, matched):
        facets = {}
        for facet in FACET_FIELDS:
            if facet == "visibility":
                continue
            counter = Counter()
            for leaf, first in firsts:
                values = map(leaf.seg.values(facet, leaf.reader).__getitem__, first.values())
                counter.update(chain.from_iterable(values) if facet == "tag" else values)
            counter.pop(None, None)
            facets[facet] = counter.most_common(FACET_LIMIT)
        # Periods: threads with a matching post that recent (widest period first, each
        # narrower one only looks at what the wider one kept).
        today = date.today()
        counts = {}
        narrowing = [(leaf, docs) for leaf, docs in matched]
        for name, days in sorted(PERIODS.items(), key=lambda kv: -kv[1]):
            bound = _day(today - timedelta(days=days))
            found = set()
            kept = []
            for leaf, docs in narrowing:
                docs = docs & leaf.seg.since(bound, leaf.reader)
                if docs:
                    found.update(map(leaf.seg.tnum.__getitem__, docs))
                    kept.append((leaf, docs))
            counts[name] = len(found)
            narrowing = kept
        facets["period"] = [(name, counts[name]) for name in PERIODS if counts.get(name)]
        return facets

    # -- spelling ------------------------------------------------------------------------

    def suggest(self, words, visibilities=("public",)):
        """Corrections for words no text field knows, from titles, tags and the glossary."""
        from .query import glossary_words

        with self._lock:
            searcher = self._current_searcher()
            reader = searcher.reader()
            dictionaries = None
            out = {}
            for word in words:
                folded = analysis.fold(word)
                if len(folded) < 4 or folded.isdigit() or self._known(reader, word):
                    continue
                if dictionaries is None:  # only for a word the index does not know
                    if self._glossary_dictionary is None:
                        self._glossary_dictionary = Dictionary({w: 1 for w in glossary_words()})
                    dictionaries = [self._segment(r).dictionary(r) for r, _o in reader.leaf_readers()]
                    dictionaries.append(self._glossary_dictionary)
                better = best_correction(folded, dictionaries)
                if better and better != folded:
                    out[word] = better
            return out

    @staticmethod
    def _known(reader, word):
        for lang in analysis.LANGUAGES:
            for tok in analysis.terms(lang, word):
                if reader.doc_frequency(f"text_{lang}", tok):
                    return True
        return False

    # -- writing -------------------------------------------------------------------------

    @staticmethod
    def _merge_budget():
        # A web request's drain keeps merges small; the job process and the CLI may
        # take on the bigger ones.
        return DRAIN_MERGE_DOCS if has_request_context() else SMALL_SEGMENT_DOCS

    def compact(self, wait=0.5):
        """Merge the tiers of small segments that request drains left for us (cheap when
        there is nothing to merge: no writer is opened then). Returns True if it merged."""
        ix = whoosh_index.open_dir(str(self.path / self._read_pointer()))
        policy = _merge_tiers(self._merge_budget())
        segments = ix._segments()
        if len(policy(None, segments, dry_run=True)) == len(segments):
            return False
        try:
            writer = ix.writer(timeout=wait, delay=0.05)
        except LockError:
            return False
        writer.commit(mergetype=policy)
        return True

    @contextmanager
    def batch(self, wait=0.5, merge_docs=None):
        deadline = time.monotonic() + wait
        while True:
            name = self._read_pointer()
            ix = whoosh_index.open_dir(str(self.path / name))
            try:
                writer = ix.writer(timeout=max(0.0, deadline - time.monotonic()), delay=0.05)
            except LockError:
                raise IndexBusy(name) from None
            # A reindex may have swapped generations while we waited for the lock.
            if self._read_pointer() == name:
                break
            writer.cancel()
        if "text_nl" not in writer.schema:
            writer.cancel()
            raise RuntimeError("the search index was built by an older version of Agora: "
                               "run `flask --app wsgi search reindex` once")
        journal = self.journal if self.marker.exists() else None
        batch = _Batch(writer, journal, common=self.common_terms(name))
        try:
            yield batch
            batch.flush()
        except BaseException:
            writer.cancel()
            raise
        if batch.touched:
            writer.commit(mergetype=_merge_tiers(merge_docs or self._merge_budget()))
        else:
            writer.cancel()

    def rebuild(self, fill, replay, wait=60.0):
        """Build generation n+1 beside the live one and swap it in; see the module doc."""
        with self._file_lock("rebuild.lock", blocking=False):
            self.ensure()
            old = self._read_pointer()
            name = f"index-{(self._generations() or [0])[-1] + 1}"
            folder = self.path / name
            folder.mkdir(parents=True)
            try:
                self.journal.write_text("")
                self.marker.write_text(name + "\n")
                ix = whoosh_index.create_in(str(folder), self.schema)
                # Plain files, not one compound file: whoosh reads a compound segment
                # through BytesIO copies of its parts, made again by every reader that
                # opens it (after each commit): ~100 ms per drain at 100,000 posts.
                writer = ix.writer(limitmb=256, compound=False)
                batch = _Batch(writer, folder=folder)
                try:
                    fill(batch)
                    batch.flush(final=True)
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
                # Hold the live index's writer lock so no drain writes there while we
                # replay what drains wrote during the build, then swap.
                old_ix = whoosh_index.open_dir(str(self.path / old))
                lock = old_ix.lock("WRITELOCK")
                started = time.monotonic()
                while not lock.acquire(False):
                    if time.monotonic() - started > wait:
                        raise IndexBusy(old)
                    time.sleep(0.05)
                try:
                    keys = list(dict.fromkeys(self.journal.read_text().split()))
                    if keys:
                        writer = ix.writer()
                        batch = _Batch(writer, common=read_common(folder))
                        replay(batch, keys)
                        batch.flush()
                        writer.commit(mergetype=_merge_tiers(DRAIN_MERGE_DOCS))
                    self._write_pointer(name)
                finally:
                    lock.release()
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            finally:
                self.marker.unlink(missing_ok=True)
                self.journal.unlink(missing_ok=True)
            for n in self._generations()[:-2]:
                shutil.rmtree(self.path / f"index-{n}", ignore_errors=True)
            return name

    # -- status --------------------------------------------------------------------------

    def status(self):
        with self._lock:
            searcher = self._current_searcher()
            folder = self.path / self._name
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            return {
                "documents": searcher.doc_count(),
                "size_bytes": size,
                "path": str(folder),
                "generation": self._name,
                "segments": len(list(searcher.reader().leaf_readers())),
                "rebuilding": self.marker.exists(),
            }

    def close(self):
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._ix = None
            self._pointer_sig = None
            self._leaves = None
            self._segments.clear()
            self._postings.clear()
            self._compounds.clear()

    def bare_searcher(self):
        """The underlying whoosh searcher (bench/search.py compares against it)."""
        with self._lock:
            return self._current_searcher()


def _day(d):
    return d.year * 10000 + d.month * 100 + d.day
