"""Dutch and French text analysis: folding, elisions, stop words and stemming.

Every post is analysed in its own language (text_nl or text_fr); a query is analysed
with both chains so that one search box serves both languages. The index uses
FastAnalyzer: exactly the terms and positions of the whoosh filter chain
(language_analyzer), but worked out once per distinct surface word and then looked up,
since words repeat: most tokens cost one dict lookup instead of six generator hops and
a snowball run. Analysers are pickled into the index schema, so the classes here must
stay importable under these names. Dutch compounds are matched at query time (see
WhooshBackend._compound_terms).
"""
import re
from functools import lru_cache

from whoosh.analysis import Analyzer, CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.analysis.acore import Token
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


_STOP_SCORE = {lang: _folded_stoplist(lang) for lang in LANGUAGES}
_FOLD_STOPS = _STOP_SCORE["nl"] | _STOP_SCORE["fr"]


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


_TOKEN_RE = re.compile(TOKEN_PATTERN)
_CACHE_LIMIT = 500_000


class FastAnalyzer(Analyzer):
    """language_analyzer(lang) or folding_analyzer() in one pass, cached per surface word.

    Same terms, same positions (stop words are dropped and the rest renumbered, as
    whoosh's StopFilter(renumber=True) does), so phrases and highlights agree with it.
    """

    def __init__(self, name):
        if name not in LANGUAGES and name != "fold":
            raise KeyError(name)
        self.name = name
        self._cache = {}

    def __getstate__(self):
        # Pickled into the index schema: the name is the whole configuration.
        return {"name": self.name}

    def __setstate__(self, state):
        self.name = state["name"]
        self._cache = {}

    def __eq__(self, other):
        return isinstance(other, FastAnalyzer) and other.name == self.name

    def __hash__(self):
        return hash(("FastAnalyzer", self.name))

    def __repr__(self):
        return f"FastAnalyzer({self.name!r})"

    def term(self, word):
        """The indexed term of one token as the tokenizer found it ('' when dropped)."""
        cache = self._cache
        term = cache.get(word)
        if term is None:
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            term = cache[word] = self._analyse(word)
        return term

    def _analyse(self, word):
        text = word.lower()
        if "'" in text or "’" in text:
            text = _ELISION.sub("", text).replace("'", "").replace("’", "")
        text = text.translate(accent_map)
        stops = _FOLD_STOPS if self.name == "fold" else _STOP_SCORE[self.name]
        if len(text) < 2 or text in stops:
            return ""
        return text if self.name == "fold" else stem(self.name, text)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        matches = _TOKEN_RE.finditer(value) if tokenize else [_WholeValue(value)]
        term_for = self.term
        pos = None
        for i, m in enumerate(matches):
            word = m.group()
            term = term_for(word)
            if not term:
                continue
            t.text = term
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = word
            if positions:
                pos = start_pos + i if pos is None else pos + 1
                t.pos = pos
            if chars:
                t.startchar = start_char + m.start()
                t.endchar = start_char + m.end()
            yield t


def common_pairs(lang, text, common):
    """Adjacent term pairs of `text` ("schuld hulp") whose terms are both in `common`: the
    pairs_<lang> fields, which turn a phrase of two frequent words into one term."""
    found = terms(lang, text)
    return [a + " " + b for a, b in zip(found, found[1:]) if a in common and b in common]


class _WholeValue:
    """Quacks like a regex match over the whole value (tokenize=False)."""

    def __init__(self, value):
        self.value = value

    def group(self):
        return self.value

    def start(self):
        return 0

    def end(self):
        return len(self.value)


@lru_cache(maxsize=None)
def analyzer(name):
    """Shared analyser instances: 'nl', 'fr' or 'fold'."""
    return FastAnalyzer(name)


def terms(name, text):
    """The analysed terms of `text`, in order (query side)."""
    term = analyzer(name).term
    return [x for x in map(term, _TOKEN_RE.findall(text)) if x]


_WORD = re.compile(r"\w+", re.UNICODE)


def detect_language(text, default="nl"):
    """Dutch or French by counting each language's stop words; ties keep `default`.

    Posts carry no language of their own: a reply usually follows its thread, but
    Belgian threads often get answers in the other language, and analysing those with
    the wrong stemmer would make them unfindable.
    """
    words = _WORD.findall(fold(text[:3000]))  # folding the text folds each word
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
