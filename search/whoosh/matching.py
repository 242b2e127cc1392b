"""Pass one: the documents of each segment that match a query, as sets of document numbers.

Each term's postings are read a block at a time into a set (with the term's weight per
document) cached per immutable segment; the query tree becomes set unions, intersections
and differences in C, and the permission scope and filters are cached sets too. Phrases:
the intersection of their words' sets (or, for frequent words, one term of pairs_<lang>),
then positions read for those candidates only (whoosh's phrase matcher walks the postings
of every word with a Python call per posting).
"""
import time
from datetime import date, timedelta

from whoosh import query as Q

from .. import tuning
from ..tuning import PERIODS
from . import internals
from .schema import FACET_FIELDS, PAIRS_FIELD, TEXT_OF, TITLE_PAIR, day_number
from .segments import NO_POSTINGS, PhraseDocs, from_compact, read_postings


class Deadline(Exception):
    pass


def phrase_key(q):
    return ("phrase", q.slop) + tuple(q.words)


class Matching:
    """Pass one, mixed into WhooshBackend (needs self.schema, self._postings, self.common_terms)."""

    def _term_postings(self, leaf, fieldname, text):
        key = (leaf.seg.key, fieldname, text)
        found = self._postings.get(key)
        if found is None:
            if leaf.seg.lacks(leaf.reader, fieldname, text):
                return NO_POSTINGS
            compact = self._postings.get_compact(key)
            if compact is None:
                compact = self._read_postings(leaf, fieldname, text)
            found = from_compact(compact, leaf.seg.ints)
            self._postings.put(key, found)
        return found

    def _read_postings(self, leaf, fieldname, text):
        """(ids, weights or None) of a term in one segment, from whoosh's blocks."""
        scorable = fieldname in self.schema and self.schema[fieldname].scorable
        return read_postings(leaf.reader, fieldname, text, scorable)

    def _term_docs(self, leaf, fieldname, text):
        return self._term_postings(leaf, fieldname, text).docs

    def _phrase_docs(self, q, leaf, deadline):
        """The documents holding the phrase (cached per segment)."""
        key = (leaf.seg.key, q.fieldname, phrase_key(q))
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
        # Pairs are used only where they hold every pair the positions hold: with the
        # compound parts and hyphen joins (written since "part_pairs"), else a phrase of
        # part words would find fewer documents in a big index than in a small one.
        common = known.get(q.fieldname[-2:], ()) if pairs_field and known.get("part_pairs") else ()
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
                        return PhraseDocs(frozenset())
            if len(words) == 2 and candidates is not None:
                return PhraseDocs(candidates)
        if q.slop == 1 and title_of is not None:
            # A title phrase is also a phrase of the text (which holds the title): check
            # the text phrase's documents only.
            docs = self._phrase_docs(Q.Phrase(title_of, words), leaf, deadline)
            candidates = docs if candidates is None else candidates & docs
        direct = tuning.PHRASE_CHECK_DIRECT
        if candidates is None or len(candidates) > direct:
            # Narrow by the words' own documents (frequent words' sets are big to read,
            # so the rarest first, and not at all once few candidates are left).
            for word in sorted(words, key=lambda w: leaf.reader.doc_frequency(q.fieldname, w)):
                if candidates is not None and len(candidates) <= direct:
                    break
                docs = self._term_docs(leaf, q.fieldname, word)
                candidates = docs if candidates is None else candidates & docs
        if not candidates:
            return PhraseDocs(frozenset())
        ordered = sorted(candidates)
        postings = [internals.doc_postings(leaf.reader, q.fieldname, word, ordered) for word in words]
        decode = self.schema[q.fieldname].format.decode_positions
        ints = leaf.seg.ints
        slop = q.slop
        matched = []
        for n, d in enumerate(ordered):
            if not n & 255 and time.monotonic() > deadline:
                raise Deadline
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
        return PhraseDocs(frozenset(matched))

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
            low = day_number(request.filters["date_from"])
        if request.filters.get("date_to"):
            high = day_number(request.filters["date_to"])
        if request.filters.get("period") in PERIODS:
            since = day_number(date.today() - timedelta(days=PERIODS[request.filters["period"]]))
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
