"""Dutch and French text analysis: folding, elisions, stop words, stemming and compounds.

Every post is analysed in its own language (body_nl or body_fr); a query is analysed
with both chains so that one search box serves both languages. The chains are built
from whoosh's filters plus two of our own (elisions, compound parts). They are pickled
into the index schema, so the classes here must stay importable under these names.
"""
import re
from functools import lru_cache

from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

LANGUAGES = ("nl", "fr")
SNOWBALL = {"nl": "dutch", "fr": "french"}

# Words keep inner apostrophes (l'initiative, auto's, aujourd'hui) so that the elision
# filter sees them whole; hyphens split (Saint-Gilles, schuld-hulpverlening).
TOKEN_PATTERN = r"\w+(?:['’]\w+)*"
APOSTROPHES = "'’"

# French elided articles and pronouns, also written with the typographic apostrophe.
ELISIONS = ("l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu", "quoiqu")
_ELISION = re.compile(r"^(?:%s)['’]" % "|".join(ELISIONS))


def fold(text):
    """Lower-case and strip accents: coöperatie -> cooperatie, pauvreté -> pauvrete."""
    return text.lower().translate(accent_map)


def _folded_stoplist(lang):
    # Folding runs before the stop filter, so the list must be folded too (même -> meme).
    return frozenset(fold(w) for w in stopwords_for_language(lang))


class ElisionFilter(Filter):
    """Strips French elisions (l'initiative -> initiative) and joins what the apostrophe split.

    Applied in both languages: French quotes appear in Dutch posts and vice versa, and
    Dutch plurals with an apostrophe (auto's -> autos) stem correctly once joined.
    """

    def __call__(self, tokens):
        for t in tokens:
            text = t.text
            if "'" in text or "’" in text:
                text = _ELISION.sub("", text)
                t.text = text.replace("'", "").replace("’", "")
            yield t


# Heads and tails of Dutch compounds in this field. The prefix filter below covers heads
# generally; tails can't be found by prefixes, so known ones are split off explicitly
# (schuldhulpverlening -> hulpverlening). Extended with the glossary's one-word terms.
COMPOUND_TAILS = frozenset("""
beleid hulp hulpverlening verlening zorg zorgen raad raden ondersteuning regeling regelingen
uitkering uitkeringen toeslag toeslagen woning woningen huis huizen werk werker werkers
plan plannen fonds wet wetten gemeente gemeenten schuld schulden armoede bijstand
participatie vrijwilliger vrijwilligers vrijwilligerswerk initiatief initiatieven
coöperatie cooperatie budget loket advies adviezen netwerk vergadering overleg
team teams centrum centra dienst diensten project projecten organisatie organisaties
voorziening voorzieningen jeugd jongeren ouderen kinderen mantelzorg mantelzorger
mantelzorgers aanpak preventie cliënt cliënten client clienten vervoer taxi pas
""".split())


class CompoundPartsFilter(Filter):
    """Emits the heads (prefixes) and known tails of long Dutch words.

    Why prefixes: Dutch writes compounds as one word, so "schuld" never equals the
    term "schuldhulpverlening" and stemming does not help. A dictionary splitter would
    only know the compounds we listed; indexing the word's prefixes (at least four
    letters, leaving at least three for the tail) lets any head find any compound it
    starts, in a separate field that the query weights well below exact matches. The
    price is a few extra terms per long word, only for words of eight letters or more,
    which is where compounds are.
    """

    def __init__(self, minsize=4, minword=8, tails=COMPOUND_TAILS):
        self.minsize = minsize
        self.minword = minword
        self.tails = frozenset(fold(w) for w in tails)

    def __call__(self, tokens):
        minsize, minword, tails = self.minsize, self.minword, self.tails
        for t in tokens:
            text = t.text
            n = len(text)
            if n < minword:
                continue
            emitted = set()
            for k in range(minsize, n - 2):
                emitted.add(text[:k])
            for k in range(2, n - minsize + 1):
                tail = text[k:]
                if tail in tails:
                    emitted.add(tail)
            for part in sorted(emitted):
                t.text = part
                yield t


def language_analyzer(lang):
    """The full chain for one language: words, case, elisions, accents, stop words, stems."""
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | ElisionFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=_folded_stoplist(lang), minsize=2)
        | StemFilter(lang=SNOWBALL[lang])
    )


def folding_analyzer():
    """Language-neutral: tags, place and organisation names, spelling words."""
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | ElisionFilter() | CharsetFilter(accent_map)


def compound_analyzer():
    """Dutch compound heads and tails, unstemmed; the query looks whole words up in it."""
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | ElisionFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=_folded_stoplist("nl"), minsize=2)
        | CompoundPartsFilter()
    )


@lru_cache(maxsize=None)
def analyzer(name):
    """Shared analyser instances: 'nl', 'fr', 'fold' or 'compound'."""
    if name in LANGUAGES:
        return language_analyzer(name)
    if name == "fold":
        return folding_analyzer()
    if name == "compound":
        return compound_analyzer()
    raise KeyError(name)


def terms(name, text):
    """The analysed terms of `text`, in order (query side)."""
    return [t.text for t in analyzer(name)(text, mode="query")]


_STOP_SCORE = {lang: _folded_stoplist(lang) for lang in LANGUAGES}
_WORD = re.compile(r"\w+", re.UNICODE)


def detect_language(text, default="nl"):
    """Dutch or French by counting each language's stop words; ties keep `default`.

    Posts carry no language of their own: a reply usually follows its thread, but
    Belgian threads often get answers in the other language, and analysing those with
    the wrong stemmer would make them unfindable.
    """
    words = [fold(w) for w in _WORD.findall(text[:3000])]
    if not words:
        return default
    nl = sum(1 for w in words if w in _STOP_SCORE["nl"] and w not in _STOP_SCORE["fr"])
    fr = sum(1 for w in words if w in _STOP_SCORE["fr"] and w not in _STOP_SCORE["nl"])
    if nl == fr or max(nl, fr) < 2:
        return default
    return "nl" if nl > fr else "fr"


@lru_cache(maxsize=None)
def _stemmer(lang):
    return lru_cache(maxsize=20000)(stemmer_for_language(SNOWBALL[lang]))


def stem(lang, folded_word):
    """The stem of one already folded word, as the language analyser would index it."""
    return _stemmer(lang)(folded_word)


def stopwords(lang):
    return _STOP_SCORE[lang]
