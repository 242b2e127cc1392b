"""What is cached per immutable segment: column arrays, field lengths, facet values, and the
posting sets of terms and phrases (least recently used out first)."""
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict

from .. import tuning
from ..spelling import Dictionary
from ..tuning import POSTING_CACHE_COMPACT, POSTING_CACHE_IDS
from . import internals
from .schema import FACET_FIELDS


class SegmentData:
    """Per-document values of one immutable segment, for grouping, facets and sorting.

    Built lazily, each part on first use, from whichever reader of the segment is
    current then (readers close when the searcher is replaced, the segment stays).
    """

    def __init__(self, key, reader):
        n = reader.doc_count_all()
        self.key = key
        self.doc_count = n
        self.ints = list(range(n))  # shared int objects: cached sets hold references, not copies
        self.tnum = internals.numeric_column(reader, "tnum").tolist()
        self.pnum = internals.numeric_column(reader, "pnum").tolist()
        self.day_values = None
        self.lengths = {}
        self.norm_cache = {}
        self.value_cache = {}
        self.since_cache = {}
        self.spelling = None
        self.term_sets = {}

    def lacks(self, reader, fieldname, text):
        """True when this segment is small and does not hold the term. About half of a
        query's term look-ups are in the small segments drains write, which hold few of its
        words; whoosh answers a missing term with an exception (~20 µs), a set in 0.1."""
        if self.doc_count > tuning.TERM_SET_DOCS:  # read here, as warm() does (tests lower it)
            return False
        terms = self.term_sets.get(fieldname)
        if terms is None:
            terms = self.term_sets[fieldname] = frozenset(
                t.decode("utf-8") for t in reader.lexicon(fieldname)) if fieldname in reader.schema else frozenset()
        return text not in terms

    def day(self, reader):
        if self.day_values is None:
            self.day_values = internals.numeric_column(reader, "day").tolist()
        return self.day_values

    def norms(self, fieldname, reader, B, K1, avgfl):
        """K1 * ((1 - B) + B * length / avgfl) per document: BM25F's length normalisation
        (the average length changes with every commit; the last one is kept)."""
        key = (fieldname, B, K1, avgfl)
        found = self.norm_cache.get(fieldname)
        if found is None or found[0] != key:
            lengths = self.lengths.get(fieldname)
            if lengths is None:
                lengths = self.lengths[fieldname] = internals.field_lengths(reader, fieldname, self.doc_count)
            found = self.norm_cache[fieldname] = (key, [K1 * ((1 - B) + B * n / avgfl) for n in lengths])
        return found[1]

    def values(self, facet, reader):
        """The facet's value per document (a tuple of tags for "tag")."""
        arr = self.value_cache.get(facet)
        if arr is None:
            multi = facet == "tag"
            fieldname = FACET_FIELDS[facet]
            arr = [() if multi else None] * self.doc_count
            for term in reader.field_terms(fieldname) if self.doc_count else ():
                for docnum in internals.posting_ids(reader, fieldname, term):
                    arr[docnum] = arr[docnum] + (term,) if multi else term
            self.value_cache[facet] = arr
        return arr

    def since(self, day, reader):
        """The documents dated `day` or later (periods, date filters)."""
        found = self.since_cache.get(day)
        if found is None:
            if len(self.since_cache) > 16:
                self.since_cache.clear()
            found = self.since_cache[day] = frozenset(d for d, v in enumerate(self.day(reader)) if v >= day)
        return found

    def dictionary(self, reader):
        if self.spelling is None:
            freqs = {}
            if "spell" in reader.indexed_field_names():
                for text, info in reader.iter_field("spell"):
                    word = text.decode("utf-8") if isinstance(text, bytes) else text
                    if len(word) > 2 and not word.isdigit():
                        freqs[word] = info.doc_frequency()
            self.spelling = Dictionary(freqs)
        return self.spelling


class Postings:
    """A term's documents in one segment; for text fields also its weight in each."""

    __slots__ = ("docs", "ids", "weights")

    def __init__(self, docs, ids=None, weights=None):
        self.docs = docs
        self.ids = ids  # sorted docnums (aligned with weights when there are weights)
        self.weights = weights

    def __len__(self):
        return len(self.docs) * (2 if self.weights is not None else 1)

    def weight(self, docnum):
        return self.weights[bisect_left(self.ids, docnum)]


def read_postings(reader, fieldname, text, with_weights):
    """(ids, weights): a term's sorted document numbers in one segment and, for scored
    fields, its weight in each (None for the others)."""
    if not with_weights:
        return array("i", internals.posting_ids(reader, fieldname, text)), None
    return internals.posting_weights(reader, fieldname, text)


NO_POSTINGS = Postings(frozenset(), array("i"), array("f"))


def from_compact(compact, ints):
    """Postings again from what PostingCache kept of them (ids and weights, no set)."""
    ids, weights = compact
    return Postings(frozenset(map(ints.__getitem__, ids)), ids, weights)


class PhraseDocs:
    """The documents of one segment holding a phrase."""

    __slots__ = ("docs",)

    def __init__(self, docs):
        self.docs = docs

    def __len__(self):
        return len(self.docs)


class PostingCache:
    """Posting sets per (segment, field, term), least recently used out first.

    A set costs about 40 bytes a document; a term's sorted ids and weights (arrays) 8. A
    term whose set goes out keeps its arrays in a second, larger store, so that reading it
    again builds the set from memory (3 ms for 70,000 documents) instead of decoding
    whoosh's blocks (50 ms): frequent words stay cheap although their sets do not all fit."""

    def __init__(self, budget=POSTING_CACHE_IDS, compact_budget=POSTING_CACHE_COMPACT):
        self.budget = budget
        self.size = 0
        self.lock = threading.Lock()
        self.sets = OrderedDict()
        self.compact_budget = compact_budget
        self.compact_size = 0
        self.compact = OrderedDict()  # key -> (ids, weights or None)

    def get(self, key):
        with self.lock:
            found = self.sets.get(key)
            if found is not None:
                self.sets.move_to_end(key)
            return found

    def get_compact(self, key):
        """(ids, weights) of postings whose set went out, or None."""
        with self.lock:
            found = self.compact.pop(key, None)
            if found is not None:
                self.compact_size -= len(found[0]) + 1
            return found

    def put(self, key, value):
        with self.lock:
            if key in self.sets:
                return
            self.sets[key] = value
            self.size += len(value) + 1
            while self.size > self.budget and len(self.sets) > 1:
                old_key, old = self.sets.popitem(last=False)
                self.size -= len(old) + 1
                if isinstance(old, Postings) and old.ids is not None and self.compact_budget:
                    self._keep_compact(old_key, (old.ids, old.weights))

    def keep_compact(self, key, compact):
        """Keep (ids, weights) in the compact store; returns the number of ids kept."""
        with self.lock:
            return self._keep_compact(key, compact)

    def _keep_compact(self, key, compact):
        if key in self.compact:
            return 0
        self.compact[key] = compact
        self.compact_size += len(compact[0]) + 1
        while self.compact_size > self.compact_budget and self.compact:
            _k, old = self.compact.popitem(last=False)
            self.compact_size -= len(old[0]) + 1
        return len(compact[0])

    def clear(self):
        with self.lock:
            self.sets.clear()
            self.size = 0
            self.compact.clear()
            self.compact_size = 0


class Leaf:
    """One segment of the current searcher: its reader, offset, data and deletions."""

    __slots__ = ("searcher", "reader", "offset", "seg", "deleted")

    def __init__(self, searcher, offset, seg):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.offset = offset
        self.seg = seg
        self.deleted = self.reader.deleted_docs_set if self.reader.has_deletions() else frozenset()


def segment_key(reader):
    segment = reader.segment() if hasattr(reader, "segment") else None
    return segment.segment_id() if segment is not None else id(reader)
