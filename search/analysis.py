"""Dutch and French text analysis: folding, elisions, stop words and stemming.

Every post is analysed in its own language (body_nl or body_fr); a query is analysed
with both chains so that one search box serves both languages. The chains are built
from whoosh's filters plus one of our own (elisions); they are pickled into the index
schema, so the classes here must stay importable under these names. Dutch compounds are
matched at query time (see WhooshBackend._compound_terms).
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
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | ElisionFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=_folded_stoplist("nl") | _folded_stoplist("fr"), minsize=2)
    )


@lru_cache(maxsize=None)
def analyzer(name):
    """Shared analyser instances: 'nl', 'fr' or 'fold'."""
    if name in LANGUAGES:
        return language_analyzer(name)
    if name == "fold":
        return folding_analyzer()
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
