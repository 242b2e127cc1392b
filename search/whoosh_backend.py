"""The Whoosh engine (whoosh-reloaded): schema, query building, grouped faceted search, rebuild.

Layout under SEARCH_INDEX_PATH:
    CURRENT          the name of the live index folder, replaced atomically (os.replace)
    index-<n>/       whoosh index generations; the previous one is kept for open readers
    REBUILD          present while `search reindex` builds the next generation
    rebuild.journal  objects indexed into the live index meanwhile, replayed before the swap

Searching runs two passes. The first walks every matching document unscored (cheap)
to count threads and facets from per-segment arrays, which are built once per segment
and cached (segments are immutable). The second is whoosh's own top-N scored search
(with its block-quality skipping) over just enough documents to fill the requested
page of threads. Permission filters are part of the query itself, so counts, facets and
snippets only ever see documents the reader may read.
"""
import fcntl
import logging
import os
import shutil
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.collectors import TopCollector
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.index import LockError

from . import analysis
from .backend import IndexBusy, RebuildRunning, SearchBackend, SearchResult, Hit
from .spelling import Dictionary, best_correction

log = logging.getLogger(__name__)

# Query-time weights. Titles count more than bodies; tags, places and organisation names
# a little more than body words; compound parts and glossary translations rank below
# exact, same-language matches by construction.
TITLE_BOOST = 2.0
META_BOOST = 1.5
COMPOUND_BOOST = 0.3
EXPANSION_BOOST = 0.25
MAX_PREFIX_TERMS = 50
MIN_COMPOUND_HEAD = 4
COMPOUND_TERMS = 4
COMPOUND_SCAN = 200
FACET_LIMIT = 12

TEXT_FIELDS = ("body_nl", "body_fr", "title_nl", "title_fr", "meta")


def make_schema():
    nl, fr = analysis.analyzer("nl"), analysis.analyzer("fr")
    return Schema(
        post_id=ID(stored=True, unique=True),
        thread_id=ID(stored=True),
        theme_id=ID,
        author_id=ID,
        organisation_id=ID,
        author_org_id=ID,
        pnum=NUMERIC(int, bits=64, sortable=True),
        tnum=NUMERIC(int, bits=64, sortable=True),
        day=NUMERIC(int, sortable=True),
        kind=ID,
        language=ID,
        visibility=ID,
        municipality=ID,
        province=ID,
        solved=ID,
        tags=KEYWORD(commas=True, scorable=False),
        title_nl=TEXT(analyzer=nl),
        title_fr=TEXT(analyzer=fr),
        body_nl=TEXT(analyzer=nl),
        body_fr=TEXT(analyzer=fr),
        meta=TEXT(analyzer=analysis.analyzer("fold")),
        spell=TEXT(analyzer=analysis.analyzer("fold"), phrase=False),
    )


# Facet name -> index field holding one value per document (tags: several).
FACET_FIELDS = {
    "visibility": "visibility", "kind": "kind", "theme": "theme_id", "language": "language", "tag": "tags",
    "province": "province", "municipality": "municipality", "organisation": "organisation_id",
    "solved": "solved",
}


class _SegmentData:
    """Per-document values of one immutable segment, for grouping, facets and sorting."""

    def __init__(self, reader):
        n = reader.doc_count_all()
        self.tnum = list(reader.column_reader("tnum")) if n else []
        self.pnum = list(reader.column_reader("pnum")) if n else []
        self.day = list(reader.column_reader("day")) if n else []
        self.values = {}
        for facet, fieldname in FACET_FIELDS.items():
            multi = facet == "tag"
            arr = [() if multi else None] * n
            for term in reader.field_terms(fieldname) if n else ():
                for docnum in reader.postings(fieldname, term).all_ids():
                    arr[docnum] = arr[docnum] + (term,) if multi else term
            self.values[facet] = arr
        self._dictionary = None
        self._reader = reader

    def dictionary(self):
        if self._dictionary is None:
            freqs = {}
            reader = self._reader
            if "spell" in reader.indexed_field_names():
                for text, info in reader.iter_field("spell"):
                    word = text.decode("utf-8") if isinstance(text, bytes) else text
                    if len(word) > 2 and not word.isdigit():
                        freqs[word] = info.doc_frequency()
            self._dictionary = Dictionary(freqs)
            self._reader = None
        return self._dictionary


class _Deadline(Exception):
    pass


class _DeadlineTopCollector(TopCollector):
    """whoosh's TopCollector, restricted to the documents pass 1 allowed, with a deadline."""

    def __init__(self, limit, deadline, allowed=None):
        super().__init__(limit)
        self.deadline = deadline
        self.allowed = allowed

    def collect_matches(self):
        collect = self.collect
        deadline = self.deadline
        allowed = self.allowed
        offset = self.offset
        for i, sub_docnum in enumerate(self.matches()):
            if not i & 1023 and time.monotonic() > deadline:
                raise _Deadline
            if allowed is None or offset + sub_docnum in allowed:
                collect(sub_docnum)


class _Batch:
    """One writer transaction: deletions first, then additions, committed together."""

    def __init__(self, writer, journal=None):
        self.writer = writer
        self.journal = journal
        self.recorded = []
        self.deletes = []
        self.docs = []
        self.touched = False

    def delete(self, fieldname, value):
        self.deletes.append((fieldname, str(value)))

    def add(self, doc):
        self.docs.append(doc)

    def record(self, object_type, object_id):
        self.recorded.append(f"{object_type}:{object_id}")

    def flush(self):
        writer = self.writer
        self.touched = self.touched or bool(self.deletes or self.docs)
        for fieldname, value in dict.fromkeys(self.deletes):
            writer.delete_by_term(fieldname, value)
        for doc in self.docs:
            writer.add_document(**{k: v for k, v in doc.items() if v is not None and v != ""})
        self.deletes, self.docs = [], []
        if self.journal is not None and self.recorded:
            with open(self.journal, "a", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in self.recorded))
        self.recorded = []


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
        self._segments = {}
        self._glossary_dictionary = None
        self._reader = None

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
        """The searcher of the live generation, reopened when the pointer or index changed."""
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
            self._segments.clear()
        elif not self._searcher.up_to_date():
            # A new searcher rather than refresh(): refresh() fails when the old
            # reader was empty, and segments we keep are cached by their id anyway.
            old, self._searcher = self._searcher, self._ix.searcher()
            old.close()
        return self._searcher

    def _segment(self, reader):
        key = reader.segment().segment_id() if hasattr(reader, "segment") and reader.segment() else id(reader)
        data = self._segments.get(key)
        if data is None:
            data = self._segments[key] = _SegmentData(reader)
            if len(self._segments) > 64:
                live = {r.segment().segment_id() for r, _o in self._searcher.reader().leaf_readers()}
                for old in [k for k in self._segments if k not in live]:
                    del self._segments[old]
        return data

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
            subs.append(self._seq(f"body_{lang}", toks, 1.0))
            subs.append(self._seq(f"title_{lang}", toks, TITLE_BOOST))
        ftoks = analysis.terms("fold", word)
        subs.append(self._seq("meta", ftoks, META_BOOST))
        if not phrase:
            subs.extend(self._compound_terms(ftoks, COMPOUND_BOOST))
        subs = [s for s in subs if s is not None]
        return Q.Or(subs) if subs else None

    def _compound_terms(self, ftoks, boost):
        """Dutch compounds that start with the word: schuld -> schuldhulpverlening.

        Why query-time prefixes and not an n-gram field: Dutch writes compounds as one
        word, so neither the term nor its stem equals the compound. An index-time field
        of word prefixes did the job but multiplied the postings of Dutch text about
        fourfold, which in pure-Python whoosh halved bulk indexing speed and grew the
        index. The term dictionary is sorted, so the compounds a word heads are one
        range scan away; we take the most frequent few (COMPOUND_TERMS) and weight them
        well below the word itself, so exact matches rank first.
        """
        if len(ftoks) != 1 or len(ftoks[0]) < MIN_COMPOUND_HEAD or self._reader is None:
            return []
        heads = {ftoks[0]}
        stem = analysis.terms("nl", ftoks[0])
        if len(stem) == 1 and len(stem[0]) >= MIN_COMPOUND_HEAD:
            heads.add(stem[0])
        subs = []
        for fieldname, field_boost in (("body_nl", 1.0), ("title_nl", TITLE_BOOST)):
            found = {}
            for head in heads:
                for i, term in enumerate(self._reader.expand_prefix(fieldname, head)):
                    if i >= COMPOUND_SCAN:
                        break
                    text = term.decode("utf-8") if isinstance(term, bytes) else term
                    if len(text) >= len(head) + 3 and text not in heads:
                        found[text] = self._reader.doc_frequency(fieldname, text)
            best = sorted(found, key=lambda t: -found[t])[:COMPOUND_TERMS]
            subs.extend(Q.Term(fieldname, t, boost=boost * field_boost) for t in sorted(best))
        return subs

    def _prefix_query(self, prefix, searcher, notices):
        reader = searcher.reader()
        subs = []
        budget = MAX_PREFIX_TERMS
        for fieldname in TEXT_FIELDS:
            boost = TITLE_BOOST if fieldname.startswith("title") else 1.0
            for term in reader.expand_prefix(fieldname, prefix):
                if budget <= 0:
                    if "wildcard_capped" not in notices:
                        notices.append("wildcard_capped")
                    break
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                subs.append(Q.Term(fieldname, text, boost=boost))
                budget -= 1
        return Q.Or(subs) if subs else Q.NullQuery

    def _clause_query(self, clause, searcher, notices):
        if clause.kind == "prefix":
            return self._prefix_query(clause.text, searcher, notices)
        return self._word_query(clause.text, phrase=clause.kind == "phrase")

    def _expansion_query(self, expansion):
        subs = []
        for lang, text in expansion.targets:
            toks = analysis.terms(lang, text)
            subs.append(self._seq(f"body_{lang}", toks, EXPANSION_BOOST))
            subs.append(self._seq(f"title_{lang}", toks, EXPANSION_BOOST))
            if lang == "nl":
                subs.extend(self._compound_terms(analysis.terms("fold", text), EXPANSION_BOOST * COMPOUND_BOOST))
        subs = [s for s in subs if s is not None]
        return Q.Or(subs) if subs else None

    def build_query(self, parsed, searcher, notices):
        """The engine query for a ParsedQuery (None when nothing searchable is left)."""
        self._reader = searcher.reader()
        groups = []
        for group in parsed.groups:
            alts = [q for q in (self._clause_query(c, searcher, notices) for c in group) if q is not None]
            groups.append(Q.Or(alts) if len(alts) > 1 else (alts[0] if alts else None))
        # Non-overlapping expansions, longest first at each start; same span merged.
        spans = {}
        for e in parsed.expansions:
            spans.setdefault((e.start, e.end), []).append(e)
        chosen = {}
        covered = set()
        for (start, end) in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
            if any(i in covered for i in range(start, end + 1)):
                continue
            covered.update(range(start, end + 1))
            chosen[start] = (end, spans[(start, end)])
        nodes = []
        i = 0
        while i < len(groups):
            if i in chosen:
                end, expansions = chosen[i]
                run = [g for g in groups[i:end + 1] if g is not None]
                alts = [q for q in (self._expansion_query(e) for e in expansions) if q is not None]
                same = Q.And(run) if len(run) > 1 else (run[0] if run else None)
                options = ([same] if same is not None else []) + alts
                if options:
                    nodes.append(Q.Or(options) if len(options) > 1 else options[0])
                i = end + 1
                continue
            if groups[i] is not None:
                nodes.append(groups[i])
            i += 1
        if not nodes:
            return None
        q = Q.And(nodes) if len(nodes) > 1 else nodes[0]
        negs = [x for x in (self._clause_query(c, searcher, notices) for c in parsed.negatives) if x is not None]
        if negs:
            q = Q.AndNot(q, Q.Or(negs) if len(negs) > 1 else negs[0])
        return q

    @staticmethod
    def filter_checks(request):
        """[(facet, allowed values)] and a day range: the permission scope and the filters.

        They are applied to every matching document before it is counted, grouped or
        scored, from per-segment arrays (cheaper in whoosh than intersecting with
        posting lists that cover most of the index, such as visibility:public).
        """
        checks = []
        vis = frozenset(request.visibilities)
        if vis != {"public", "members"}:
            checks.append(("visibility", vis))
        for facet in FACET_FIELDS:
            value = request.filters.get(facet)
            if value not in (None, ""):
                checks.append((facet, str(value)))
        low = high = None
        if request.filters.get("date_from"):
            low = _day(request.filters["date_from"])
        if request.filters.get("date_to"):
            high = _day(request.filters["date_to"])
        if request.filters.get("period") in PERIODS:
            since = _day(date.today() - timedelta(days=PERIODS[request.filters["period"]]))
            low = max(low or 0, since)
        return checks, (low, high)

    @staticmethod
    def _predicate(seg, checks, days):
        """A function docnum -> bool for one segment, or None when nothing is filtered."""
        tests = []
        for facet, wanted in checks:
            arr = seg.values[facet]
            if facet == "tag":
                tests.append(lambda d, arr=arr, w=wanted: w in arr[d])
            elif isinstance(wanted, frozenset):
                tests.append(lambda d, arr=arr, w=wanted: arr[d] in w)
            else:
                tests.append(lambda d, arr=arr, w=wanted: arr[d] == w)
        low, high = days
        if low or high:
            day = seg.day
            low, high = low or 0, high or 99999999
            tests.append(lambda d: low <= day[d] <= high)
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        return lambda d: all(t(d) for t in tests)

    # -- searching -----------------------------------------------------------------------

    def query(self, request):
        with self._lock:
            return self._query(request)

    def _query(self, request):
        parsed = request.parsed
        notices = list(parsed.notices)
        result = SearchResult(page=request.page, notices=notices)
        searcher = self._current_searcher()
        q = self.build_query(parsed, searcher, notices)
        if q is None:
            return result
        checks, days = self.filter_checks(request)
        deadline = time.monotonic() + request.time_limit

        # Pass 1: every match, unscored -> allowed documents, threads, facets, newest.
        first = {}  # thread -> (segment data, docnum): one document per thread for facets
        newest = {}  # thread -> post id of its newest match
        allowed = set() if (checks or days != (None, None)) else None
        want_newest = request.sort == "newest"
        matched_docs = 0
        bctx = searcher.boolean_context()
        try:
            for sub, offset in searcher.leaf_searchers():
                seg = self._segment(sub.reader())
                tnum, pnum = seg.tnum, seg.pnum
                ok = self._predicate(seg, checks, days)
                matcher = q.matcher(sub, bctx)
                for i, docnum in enumerate(matcher.all_ids()):
                    if not i & 2047 and time.monotonic() > deadline:
                        raise _Deadline
                    if ok is not None:
                        if not ok(docnum):
                            continue
                        allowed.add(offset + docnum)
                    t = tnum[docnum]
                    if t not in first:
                        first[t] = (seg, docnum)
                    if want_newest:
                        p = pnum[docnum]
                        if p > newest.get(t, -1):
                            newest[t] = p
                    matched_docs += 1
        except _Deadline:
            result.timed_out = True
            notices.append("timed_out")
            return result

        total = len(first)
        result.total = total
        result.pages = (total + request.per_page - 1) // request.per_page
        if request.facets and total:
            result.facets = self._facets(first.values())
        start = (request.page - 1) * request.per_page
        if start >= total:
            return result

        # Pass 2: the page of threads.
        if want_newest:
            ordered = sorted(newest.items(), key=lambda kv: -kv[1])[start:start + request.per_page]
            result.hits = [Hit(thread_id=t, post_id=p, score=0.0) for t, p in ordered]
            return result
        needed = start + request.per_page
        limit = min(max(needed * 6, 60), matched_docs)
        while True:
            collector = _DeadlineTopCollector(limit, deadline, allowed)
            try:
                searcher.search_with_collector(q, collector)
            except _Deadline:
                result.timed_out = True
                notices.append("timed_out")
                return result
            best = {}
            for score, docnum in collector.results().top_n:
                t, p = self._thread_post(searcher, docnum)
                if t not in best:
                    best[t] = Hit(thread_id=t, post_id=p, score=score)
            if len(best) >= needed or limit >= matched_docs:
                break
            limit = min(limit * 4, matched_docs)
        result.hits = list(best.values())[start:start + request.per_page]
        return result

    def _thread_post(self, searcher, docnum):
        for reader, offset in searcher.reader().leaf_readers():
            if offset <= docnum < offset + reader.doc_count_all():
                seg = self._segment(reader)
                return seg.tnum[docnum - offset], seg.pnum[docnum - offset]
        raise KeyError(docnum)

    def _facets(self, firsts):
        counters = {facet: Counter() for facet in FACET_FIELDS if facet != "visibility"}
        period = Counter()
        today = date.today()
        bounds = {name: _day(today - timedelta(days=days)) for name, days in PERIODS.items()}
        firsts = list(firsts)
        for facet, counter in counters.items():
            if facet == "tag":
                for seg, docnum in firsts:
                    counter.update(seg.values["tag"][docnum])
            else:
                counter.update(seg.values[facet][docnum] for seg, docnum in firsts)
            counter.pop(None, None)
        for seg, docnum in firsts:
            d = seg.day[docnum]
            for name, bound in bounds.items():
                if d >= bound:
                    period[name] += 1
        facets = {facet: counter.most_common(FACET_LIMIT) for facet, counter in counters.items()}
        facets["period"] = [(name, period[name]) for name in PERIODS if period[name]]
        return facets

    # -- spelling ------------------------------------------------------------------------

    def suggest(self, words, visibilities=("public",)):
        """Corrections for words no text field knows, from titles, tags and the glossary."""
        from .query import glossary_words

        with self._lock:
            searcher = self._current_searcher()
            reader = searcher.reader()
            if self._glossary_dictionary is None:
                self._glossary_dictionary = Dictionary({w: 1 for w in glossary_words()})
            dictionaries = [self._segment(r).dictionary() for r, _o in reader.leaf_readers()]
            dictionaries.append(self._glossary_dictionary)
            out = {}
            for word in words:
                folded = analysis.fold(word)
                if len(folded) < 4 or folded.isdigit() or self._known(reader, word):
                    continue
                better = best_correction(folded, dictionaries)
                if better and better != folded:
                    out[word] = better
            return out

    @staticmethod
    def _known(reader, word):
        for lang in analysis.LANGUAGES:
            for tok in analysis.terms(lang, word):
                if reader.doc_frequency(f"body_{lang}", tok) or reader.doc_frequency(f"title_{lang}", tok):
                    return True
        return any(reader.doc_frequency("meta", tok) for tok in analysis.terms("fold", word))

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def batch(self, wait=0.5):
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
        journal = self.journal if self.marker.exists() else None
        batch = _Batch(writer, journal)
        try:
            yield batch
            batch.flush()
        except BaseException:
            writer.cancel()
            raise
        if batch.touched:
            writer.commit()
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
                writer = ix.writer(limitmb=256)
                batch = _Batch(writer)
                try:
                    fill(batch)
                    batch.flush()
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
                        batch = _Batch(writer)
                        replay(batch, keys)
                        batch.flush()
                        writer.commit()
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
            self._segments.clear()

    def bare_searcher(self):
        """The underlying whoosh searcher (bench/search.py compares against it)."""
        with self._lock:
            return self._current_searcher()


PERIODS = {"week": 7, "month": 31, "year": 366}


def _day(d):
    return d.year * 10000 + d.month * 100 + d.day
