"""Dutch compound splitting for the index, decided by a lexicon of Dutch words (wordfreq)."""
from functools import lru_cache

import wordfreq

from .tuning import (
    CORRECT_MAX_WORD, FRENCH_SPLIT_PART, COMPOUND_MIN_PART, COMPOUND_MIN_WORD, COMPOUND_PART_ZIPF, COMPOUND_SHORT_PART_ZIPF,
    COMPOUND_SPLIT_PARTS_BELOW,
)

# Linking morphemes between the parts: gezondheid-s-zorg, kind-er-opvang, pannenkoek
# (pann-en-koek is written as huizen-markt: the plural is a word of its own), and the
# linking -e- of older spellings (paardebloem).
LINKS = ("s", "en", "er", "e")
# Prefixes and particles that are words of their own but make derivations, not
# compounds (ver-lening, aan-passing, be-taling, uit-kering): never a head of three letters.
PREFIXES = frozenset(("aan", "bij", "her", "ont", "uit", "ver", "toe", "mee", "weg", "ook", "wel", "der",
                      "pro", "ter", "per", "con", "com", "non", "oud"))
# Endings that happen to be words (ING the bank, "tie", "ist"): never a part.
NOT_PARTS = frozenset(("ing", "ist", "tie", "ers", "ens", "eer", "end", "ten", "den", "nen", "sen", "heid", "lijk",
                       "isch", "baar", "loos", "tjes", "ling", "ren", "schap", "nis", "dom",
                       "ere", "ste", "tje", "tjes"))


@lru_cache(maxsize=1)
def lexicon():
    """Folded Dutch word -> Zipf frequency, for the words frequent enough to be a part.

    wordfreq ships its lists inside the wheel, so this works offline; read once per
    process (a quarter of a second)."""
    from .analysis import fold, stopwords

    stops = stopwords("nl") | stopwords("fr")
    words = {}
    # Bucket i holds the words of frequency 10^(-i/100), i.e. Zipf 9 - i/100.
    buckets = wordfreq.get_frequency_list("nl")
    for i in range(min(len(buckets), int(round((9 - COMPOUND_PART_ZIPF) * 100)) + 1)):
        zipf = 9 - i / 100
        for word in buckets[i]:
            if len(word) < COMPOUND_MIN_PART or not word.isalpha():
                continue
            folded = fold(word)
            if folded not in words and folded not in stops and folded not in NOT_PARTS:
                words[folded] = zipf
    return words


@lru_cache(maxsize=1)
def french_words():
    """Folded French word -> Zipf frequency, for the words of at least FRENCH_SPLIT_PART letters."""
    from .analysis import fold

    words = {}
    for i, bucket in enumerate(wordfreq.get_frequency_list("fr")):
        zipf = 9 - i / 100
        if zipf < 3.0:
            break
        for word in bucket:
            if len(word) >= FRENCH_SPLIT_PART and word.isalpha():
                words.setdefault(fold(word), zipf)
    return words


def french_split(word, min_zipf):
    """Two common French words a folded word is made of, written together (microcredit ->
    ('micro', 'credit'), sansabri -> ('sans', 'abri')), or () when it is one word or none."""
    words = french_words()
    if word in words or len(word) < 2 * FRENCH_SPLIT_PART:
        return ()
    best, best_zipf = (), min_zipf
    for cut in range(FRENCH_SPLIT_PART, len(word) - FRENCH_SPLIT_PART + 1):
        head, tail = word[:cut], word[cut:]
        zipf = min(words.get(head, 0.0), words.get(tail, 0.0))
        if zipf >= best_zipf:
            best, best_zipf = (head, tail), zipf
    return best


def split(word):
    """The parts of a folded Dutch compound, outer split first and then the parts' own
    parts ('schuldhulpverlening' -> ('schuld', 'hulpverlening', 'hulp', 'verlening')),
    or () when it is not a compound of known words."""
    return _parts(word, False)


def zipf(word):
    """How Dutch a folded word is: its Zipf frequency (wordfreq), a compound's (the score of
    its likeliest split, a point lower), or None for no Dutch word."""
    known = _known(word, True)
    if known is None:
        best = _best(word)
        known = best[2] - 1.0 if best else None
    return known


def corrected(word):
    """A misspelt Dutch compound corrected through its parts (search/spelling.py), or None."""
    from .spelling import compound_correction

    return compound_correction(word, zipf, lambda part: _known(part, True), COMPOUND_MIN_WORD + 2,
                               CORRECT_MAX_WORD, COMPOUND_MIN_PART + 1)


def lemmatise_last(word, lemma):
    """A folded compound with its last part replaced by that part's lemma
    (buurtinitiatieven -> buurtinitiatief), or the word itself."""
    best = _best(word)
    if best is None:
        return word
    right = best[1]
    return word[:len(word) - len(right)] + lemma(right)


def _parts(word, nested):
    best = _best(word, nested)
    if best is None:
        return ()
    out = []
    for part in best[:2]:
        out.append(part)
        if (_known(part, True) or 0.0) < COMPOUND_SPLIT_PARTS_BELOW:
            out += _parts(part, True)
    return tuple(dict.fromkeys(out))


def _known(word, plural=False):
    """Zipf frequency of a part: its own or (plural=True) its singular's
    (achterstanden -> achterstand)."""
    words = lexicon()
    zipf = words.get(word)
    if zipf is not None or not plural:
        return zipf
    for ending in ("en", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            zipf = words.get(word[:-len(ending)])
            if zipf is not None:
                return zipf
    return None


@lru_cache(maxsize=200_000)
def _best(word, nested=False):
    """(head, right, score) of the likeliest split, or None. Nested (a part of a
    compound, or its head): parts of four letters at least, no linking morpheme, and
    no deeper."""
    n = len(word)
    if n < COMPOUND_MIN_WORD or not word.isalpha():
        return None
    best, best_score = None, 0.0
    for i in range(COMPOUND_MIN_PART, n - COMPOUND_MIN_PART + 1):
        right = word[i:]
        right_zipf = _known(right, plural=True)
        if right_zipf is None or (len(right) == 3 and (nested or right in PREFIXES
                                                         or right_zipf < COMPOUND_SHORT_PART_ZIPF)):
            continue
        left = word[:i]
        for link in ("",) if nested else ("",) + LINKS:
            if link and not left.endswith(link):
                continue
            head = left[:len(left) - len(link)]
            if len(head) < COMPOUND_MIN_PART or (len(head) == 3 and (nested or head in PREFIXES)):
                continue
            head_zipf = _known(head)
            if len(head) == 3 and (head_zipf or 0.0) < COMPOUND_SHORT_PART_ZIPF:
                continue
            if head_zipf is None and not nested:
                inner = _best(head, True)  # loonkosten-subsidie, of longer parts only
                head_zipf = inner[2] - 1.0 if inner else None
            if head_zipf is None:
                continue
            # The split whose rarer part is most frequent is the likeliest reading; short
            # parts count a point less (huur-toeslag, not huurtoes-lag).
            score = min(head_zipf - (len(head) == 3), right_zipf - (len(right) == 3))
            if score > best_score:
                best, best_score = (head, right), score
    return None if best is None else best + (best_score,)
