"""Facet counts of pass one's threads, from per-segment column arrays."""
from collections import Counter
from datetime import date, timedelta
from itertools import chain

from ..tuning import FACET_LIMIT, PERIODS
from .schema import FACET_FIELDS, day_number


class Facets:
    """Mixed into WhooshBackend."""

    @staticmethod
    def _facets(firsts, matched):
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
            bound = day_number(today - timedelta(days=days))
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
