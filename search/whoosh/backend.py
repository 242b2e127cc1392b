"""WhooshBackend: the SearchBackend of the Whoosh engine (layout, searcher, the two passes).

Layout under SEARCH_INDEX_PATH:
    CURRENT          the name of the live index folder, replaced atomically (os.replace)
    index-<n>/       whoosh index generations; the previous one is kept for open readers
    REBUILD          present while `search reindex` builds the next generation
    rebuild.journal  objects indexed into the live index meanwhile, replayed before the swap
"""
import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q

from .. import analysis
from .. import tuning
from ..backend import Hit, SearchBackend, SearchResult
from ..spelling import Dictionary, best_correction
from ..tuning import ANALYSIS_VERSION
from .facets import Facets
from .matching import Deadline, Matching
from .schema import make_schema
from .scoring import Scoring
from .segments import Leaf, PostingCache, SegmentData, segment_key
from .translate import Translate
from .writing import Writing, read_common

# The fields whose frequent words a worker reads before its first request (warm).
WARM_FIELDS = ("text_nl", "text_fr", "title_nl", "title_fr")

# Search results kept per worker for the current index (the oldest goes first).
RESULTS_KEPT = 200

log = logging.getLogger(__name__)


class WhooshBackend(Translate, Matching, Scoring, Facets, Writing, SearchBackend):
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
        self._postings = PostingCache()
        self._compounds = {}
        self._glossary_dictionary = None
        self._reader = None
        self._common = {}  # generation name -> {language: frequent terms}
        self._results = {}  # repr(SearchRequest) -> SearchResult of the current searcher
        self._searchers = 0  # searchers opened: part of state()
        self.results_kept = RESULTS_KEPT  # 0: none (bench/search.py measures every query)

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
            elif self._analysis_version() != ANALYSIS_VERSION:
                log.error("the search index %s was written by an older analysis (no lemmas, no compound "
                          "parts) and misses words: run `flask --app wsgi search reindex` once", name)
            self._changed()
        elif not self._searcher.up_to_date():
            # A new searcher rather than refresh(): refresh() fails when the old
            # reader was empty; segment data and posting sets are cached by segment id.
            old, self._searcher = self._searcher, self._ix.searcher()
            old.close()
            self._changed()
        return self._searcher

    def _analysis_version(self):
        """ANALYSIS_VERSION of the live index's analysers (pickled in its schema); 0: no text fields."""
        schema = self._ix.schema
        return getattr(schema["text_nl"].analyzer, "version", 1) if "text_nl" in schema else 0

    def common_terms(self, name):
        """The frequent terms whose pairs generation `name` indexes."""
        found = self._common.get(name)
        if found is None:
            found = self._common[name] = read_common(self.path / name)
        return found

    def state(self):
        """(generation, searcher number): a new searcher (any change to the index, written
        by any process) gives a new value; the same searcher answers the same request alike."""
        if self.results_kept <= 0:
            return None
        with self._lock:
            try:
                self._current_searcher()
            except Exception:  # no readable index: the query says so, nothing is kept
                log.warning("search index not readable", exc_info=True)
                return None
            return self._name, self._searchers

    def _changed(self):
        self._searchers += 1
        self._leaves = None
        self._results.clear()
        self._compounds.clear()
        live = set()
        for reader, _offset in self._searcher.reader().leaf_readers():
            live.add(segment_key(reader))
        for old in [k for k in self._segments if k not in live]:
            del self._segments[old]

    def _segment(self, reader):
        key = segment_key(reader)
        data = self._segments.get(key)
        if data is None:
            data = self._segments[key] = SegmentData(key, reader)
        return data

    def _leaf_list(self, searcher):
        if self._leaves is None:
            self._leaves = [Leaf(sub, offset, self._segment(sub.reader()))
                            for sub, offset in searcher.leaf_searchers()]
        return self._leaves

    def warm(self):
        """Read the most frequent words' postings of the big segments into the posting
        cache's compact store, up to POSTING_WARM postings: reading a word in most posts
        from whoosh's blocks costs 40-80 ms at 100,000 posts, the first time in each worker
        (forum/warmup.py calls this before the first request). Returns the postings read."""
        if not self.pointer.exists():
            return 0
        with self._lock:
            leaves = [leaf for leaf in self._leaf_list(self._current_searcher())
                      if leaf.seg.doc_count > tuning.TERM_SET_DOCS]
            frequent = []
            for leaf in leaves:
                for fieldname in WARM_FIELDS:
                    if fieldname in leaf.reader.schema:
                        frequent += [(info.doc_frequency(), leaf, fieldname, text)
                                     for text, info in leaf.reader.iter_field(fieldname)]
            frequent.sort(key=lambda item: item[0], reverse=True)
            read = 0
            for df, leaf, fieldname, text in frequent:
                if read + df > tuning.POSTING_WARM:
                    break
                text = text.decode("utf-8") if isinstance(text, bytes) else text
                read += self._postings.keep_compact(
                    (leaf.seg.key, fieldname, text), self._read_postings(leaf, fieldname, text))
            return read

    # -- searching -----------------------------------------------------------------------

    def query(self, request):
        """Run a search; the same request on an unchanged index is answered from memory.

        The index changes at most once per drain (AGORA_SEARCH_DRAIN_INTERVAL under a burst);
        in between, members asking the same thing (a newsletter's topic) get the result of
        the first. Kept per searcher: a new searcher (any change, from any process) starts
        empty. Permission scope and filters are part of the request, hence of the key."""
        with self._lock:
            self._current_searcher()  # a changed index empties self._results first
            key = repr(request)
            result = self._results.get(key)
            if result is None:
                result = self._query(request)
                if result.timed_out or self.results_kept <= 0:
                    return result
                if len(self._results) >= self.results_kept:
                    self._results.pop(next(iter(self._results)))
                self._results[key] = result
            return replace(result, notices=list(result.notices))

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
        except Deadline:
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
        if covering is not None or sum(len(docs) for _leaf, docs in matched.values()) <= tuning.OWN_SCORING_DOCS:
            result.hits = self._own_page(q, searcher, matched.values(), start, needed, covering)
            return result
        # The collector keeps to pass one's documents when a filter narrowed them, and when
        # the query excludes words: whoosh's AndNot matcher lets some documents holding an
        # excluded word through, depending on their order (tests/test_search_whoosh.py).
        restricted = bool(terms) or days != (None, None) or isinstance(q, Q.AndNot)
        try:
            ranked = self._collector_page(q, searcher, leaves, matched, restricted, needed, deadline)
        except Deadline:
            result.timed_out = True
            notices.append("timed_out")
            return result
        result.hits = [Hit(thread_id=t, post_id=p, score=score) for t, p, score in ranked[start:needed]]
        return result

    # -- spelling ------------------------------------------------------------------------

    def suggest(self, words, visibilities=("public",)):
        """Corrections for words no text field knows, from titles, tags and the glossary."""
        from ..query import glossary_words

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
                "analysis": self._analysis_version(),
                "stale": self._analysis_version() != ANALYSIS_VERSION or self._old_pairs(),
            }

    def _old_pairs(self):
        """Whether the live generation indexes pairs of frequent terms without compound parts
        (written before "part_pairs"): its phrases then go through positions, correct but
        slower, until `search reindex` (which `reindex --if-stale` does)."""
        common = self.common_terms(self._name)
        return any(common.get(lang) for lang in analysis.LANGUAGES) and not common.get("part_pairs")

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
