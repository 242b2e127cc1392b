""""Did you mean": a small dictionary (titles, tags, glossary) with symmetric-delete lookup.

The stock whoosh corrector walks every term of the body field (~380 ms at 100,000
posts). Here the dictionary is only the words people put in titles and tags plus the
glossary, and lookups use symmetric deletes: each dictionary word is stored under its
one-letter deletions, so a query word finds its candidates with a handful of dict
lookups (one substitution, insertion, deletion or transposition, or two deletions on
either side) instead of an edit-distance scan.
"""


def _deletes(word):
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def distance(a, b, limit=3):
    """Damerau-Levenshtein distance (optimal string alignment), early exit above `limit`."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2 = None
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


class Dictionary:
    """Words with frequencies, indexed by their deletions."""

    def __init__(self, frequencies):
        self.freq = dict(frequencies)
        self.by_delete = {}
        for word in self.freq:
            if len(word) < 3:
                continue
            for d in _deletes(word):
                self.by_delete.setdefault(d, []).append(word)

    def __contains__(self, word):
        return word in self.freq

    def candidates(self, word):
        """(distance, -frequency, word) for dictionary words near `word`."""
        keys = {word} | _deletes(word)
        found = set(self.by_delete.get(word, ()))
        for key in keys:
            if key in self.freq:
                found.add(key)
            found.update(self.by_delete.get(key, ()))
        maxdist = 1 if len(word) <= 4 else 2
        out = []
        for cand in found:
            if cand == word:
                continue
            dist = distance(word, cand, maxdist)
            if dist <= maxdist:
                out.append((dist, -self.freq[cand], cand))
        return out


def best_correction(word, dictionaries):
    """The closest, most frequent word over several dictionaries (index segments), or None."""
    best = None
    merged = {}
    for dictionary in dictionaries:
        for dist, negfreq, cand in dictionary.candidates(word):
            old = merged.get(cand)
            merged[cand] = (dist, (old[1] if old else 0) + negfreq)
    for cand, (dist, negfreq) in merged.items():
        key = (dist, negfreq, cand)
        if best is None or key < best:
            best = key
    return best[2] if best else None


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _edits(word):
    """Every string one edit away: a letter deleted, swapped with the next, replaced or added."""
    out = set()
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            out.add(head + tail[1:])
            if len(tail) > 1:
                out.add(head + tail[1] + tail[0] + tail[2:])
            out.update(head + c + tail[1:] for c in _LETTERS if c != tail[0])
        out.update(head + c + tail for c in _LETTERS)
    out.discard(word)
    return out


def compound_correction(word, zipf_of, known_of, min_word, max_word, min_part):
    """A misspelt long Dutch compound corrected through its parts (keukentafelgsprek ->
    keukentafelgesprek): one part as typed is a Dutch word or compound (`zipf_of`, which may
    split it), the other one edit away from a Dutch word (`known_of`, a dictionary lookup:
    search/compounds.py, wordfreq's Dutch list). The likeliest reading wins: the one whose
    rarer part is most frequent (then the one whose mended part is). None when the word reads as it is, is too short or too long
    (the edits of a part grow with its length), or no reading exists."""
    if not min_word <= len(word) <= max_word or not word.isalpha() or zipf_of(word) is not None:
        return None
    best, best_score = None, (0.0, 0.0)
    for cut in range(min_part, len(word) - min_part + 1):
        head, tail = word[:cut], word[cut:]
        head_zipf, tail_zipf = zipf_of(head), zipf_of(tail)
        if head_zipf is not None and tail_zipf is not None:
            return None  # a compound of known words, not a typo
        for zipf, wrong, mend in ((head_zipf, tail, lambda fixed: head + fixed),
                                  (tail_zipf, head, lambda fixed: fixed + tail)):
            if zipf is None:
                continue
            for fixed in _edits(wrong):
                known = (known_of(fixed) or 0.0) if len(fixed) >= min_part else 0.0
                score = (min(zipf, known), known)  # ties: the more frequent mended part
                if score > best_score:
                    best, best_score = mend(fixed), score
    return best
