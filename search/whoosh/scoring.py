"""Pass two: the page of threads, best post per thread.

For up to OWN_SCORING_DOCS documents of pass one, the scores are worked out here, with
whoosh's BM25F arithmetic and the index's statistics from the cached postings (the same
scores whoosh gives: tests/test_search_whoosh.py compares the rankings with whoosh's own
collector). Bigger result sets go through whoosh's top-N collector with block-quality
skipping (ThreadCollector), with the phrases pass one found already scored without
reading positions again (CheckedPhrase).
"""
import heapq
import time
from collections import Counter
from itertools import chain, compress

from whoosh import query as Q
from whoosh.collectors import TopCollector
from whoosh.matching import ListMatcher, NullMatcher

from .. import query as query_plan
from .. import tuning
from ..backend import Hit
from . import internals
from .matching import Deadline, phrase_key
from .segments import PhraseDocs, segment_key


class ThreadCollector(TopCollector):
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
                raise Deadline
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


class CheckedPhrase(Q.Phrase):
    """A phrase whose documents pass one found already: scored as whoosh scores a phrase
    (the sum of its words' scores), without reading positions again."""

    def __init__(self, phrase, postings):
        super().__init__(phrase.fieldname, phrase.words, slop=phrase.slop, boost=phrase.boost)
        self.postings = postings

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        found = self.postings.get((segment_key(reader), self.fieldname, phrase_key(self)))
        weighting = context.weighting if context is not None else searcher.weighting
        if not isinstance(found, PhraseDocs) or weighting is None:
            return super().matcher(searcher, context)
        deleted = reader.deleted_docs_set if reader.has_deletions() else ()
        ids = sorted(d for d in found.docs if d not in deleted)
        if not ids:
            return NullMatcher()
        scorers = [internals.term_scorer(weighting.scorer(searcher, self.fieldname, w)) for w in self.words]
        if None in scorers:
            return super().matcher(searcher, context)
        scores = [0.0] * len(ids)
        for word, score in zip(self.words, scorers):
            postings = internals.doc_postings(reader, self.fieldname, word, ids)
            for i, d in enumerate(ids):
                scores[i] += score(postings[d][0], d)
        return ListMatcher(ids, weights=[v * self.boost for v in scores])


def checked_phrases(q, postings):
    """`q` with every phrase replaced by a CheckedPhrase."""
    if isinstance(q, Q.Phrase):
        return CheckedPhrase(q, postings)
    if isinstance(q, (Q.Or, Q.And)):
        return q.__class__([checked_phrases(s, postings) for s in q.subqueries], boost=q.boost)
    if isinstance(q, Q.AndNot):
        return Q.AndNot(checked_phrases(q.a, postings), checked_phrases(q.b, postings))
    return q


class Scoring:
    """Pass two, mixed into WhooshBackend (after Matching)."""

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
                if postings is None and len(hit) > tuning.PHRASE_CHECK_DIRECT // 10:
                    postings = self._term_postings(leaf, q.fieldname, word)
                if postings is not None:
                    weight = postings.weight
                else:  # not read whole: just the blocks holding these documents
                    ordered = ordered or sorted(hit)
                    found = internals.doc_postings(leaf.reader, q.fieldname, word, ordered, values=False)
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

    @staticmethod
    def _bm25_parts(leaf, fieldname, text, weighting):
        """(idf * (K1 + 1), K1 * (1 - B + B * length / average length) per document): whoosh's
        BM25F with the index's current statistics, split so a document costs one division."""
        scorer = weighting.scorer(leaf.searcher, fieldname, text)
        norm = leaf.seg.norms(fieldname, leaf.reader, scorer.B, scorer.K1, scorer.avgfl)
        return scorer.idf * (scorer.K1 + 1), norm

    def _own_page(self, q, searcher, matched, start, needed, covering=None):
        """The page of threads from scores worked out for pass one's documents. With
        `covering` ("most" mode), threads rank by how many of those queries some post of
        theirs matches, then by score (query.most_score); only the threads covering enough
        of them to reach the page are scored (the rest would rank below it whatever their
        score)."""
        weighting = searcher.weighting
        counts = None
        if covering is not None:
            counts = self._cover_counts(covering, matched)
            matched = self._most_covered(matched, counts, needed)
        best = {}  # thread -> (score, -global docnum, post id)
        candidates = tuning.OWN_TOP_CANDIDATES
        for leaf, docs in matched:
            tnum, pnum = leaf.seg.tnum, leaf.seg.pnum
            offset = leaf.offset
            scores = self._own_scores(q, leaf, docs, weighting)
            if len(scores) > 4 * candidates:
                # Only the best documents can hold a page's threads: take the top few
                # (heapq in C); widen to all when they cover too few threads. In "most"
                # mode the best are those of the threads covering most words, then by
                # score, as the page is ranked (by score alone, a thread covering more
                # words but scoring lower would be cut before it is ranked).
                if counts is None:
                    top = heapq.nlargest(candidates, scores.items(), key=lambda item: item[1])
                    if len({tnum[d] for d, _v in top}) >= needed:
                        cutoff = top[-1][1]
                        scores = {d: v for d, v in scores.items() if v >= cutoff}
                else:
                    def rank(item, tnum=tnum):
                        return counts[tnum[item[0]]], item[1]
                    top = heapq.nlargest(candidates, scores.items(), key=rank)
                    if len({tnum[d] for d, _v in top}) >= needed:
                        cutoff = rank(top[-1])
                        scores = {d: v for d, v in scores.items() if rank((d, v)) >= cutoff}
            for d, score in scores.items():
                key = (score, -(offset + d))
                t = tnum[d]
                old = best.get(t)
                if old is None or key > old[:2]:
                    best[t] = key + (pnum[d],)
        if counts is not None:
            best = {t: (query_plan.most_score(counts[t], v[0]),) + v[1:] for t, v in best.items()}
        ranked = sorted(best.items(), key=lambda kv: kv[1][:2], reverse=True)[start:needed]
        return [Hit(thread_id=t, post_id=v[2], score=v[0]) for t, v in ranked]

    def _cover_counts(self, covering, matched):
        """Counter: thread -> how many of the covering queries some post of it matches
        (every thread of pass one matches at least one)."""
        per_query = []
        for node in covering:
            threads = set()
            for leaf, docs in matched:
                hit = self._docs(node, leaf, float("inf")) & docs
                if hit:
                    threads.update(map(leaf.seg.tnum.__getitem__, hit))
            per_query.append(threads)
        return Counter(chain.from_iterable(per_query))

    @staticmethod
    def _most_covered(matched, counts, needed):
        """Pass one's documents of the threads covering at least as many queries as the
        `needed`-th thread does: a thread covering fewer ranks below the page."""
        threads_at = Counter(counts.values())
        have, level = 0, 0
        for level in sorted(threads_at, reverse=True):
            have += threads_at[level]
            if have >= needed:
                break
        if level <= min(threads_at, default=0):
            return matched
        keep = {t for t, n in counts.items() if n >= level}
        narrowed = []
        for leaf, docs in matched:
            docs = list(docs)
            docs = set(compress(docs, map(keep.__contains__, map(leaf.seg.tnum.__getitem__, docs))))
            if docs:
                narrowed.append((leaf, docs))
        return narrowed

    def _collector_page(self, q, searcher, leaves, matched, restricted, needed, deadline):
        """[(thread, post, score)] of the best `needed` threads through whoosh's collector."""
        allowed = {offset: docs for offset, (_leaf, docs) in matched.items()} if restricted else None
        collector = ThreadCollector(
            needed, deadline, allowed,
            {leaf.offset: leaf.seg.tnum for leaf in leaves}, {leaf.offset: leaf.seg.pnum for leaf in leaves})
        searcher.search_with_collector(checked_phrases(q, self._postings), collector)
        return collector.ranked()

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
