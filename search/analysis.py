"""Dutch and French text analysis: folding, elisions, stop words, lemmas, stems and compound parts.

Every post is analysed in its own language (text_nl or text_fr); a query is analysed
with both chains so that one search box serves both languages. The index uses
FastAnalyzer: the terms and positions of the whoosh filter chain (language_analyzer)
with a lemma before the stem and extra terms (below), worked out once per distinct
surface word and then looked up,
since words repeat: most tokens cost one dict lookup instead of six generator hops and
a snowball run. Analysers are pickled into the index schema, so the classes here must
stay importable under these names.

Before stemming, a word is replaced by its lemma (simplemma's Dutch and French
dictionaries): Snowball alone leaves subsidies/subsidie, leden/lid, steden/stad and
travaux/travail apart. Dutch compounds in posts are split into their parts
(search/compounds.py), which are indexed as extra, lighter terms at the compound's
position (woningaanpassing also as woning and aanpassing), and hyphenated words also as
written together (sans-abri as sansabri); a query word is never split here, so an exact
match ranks above a part match. Compounds a query word heads are matched at query time
(see WhooshBackend._compound_terms).
"""
import re
from functools import lru_cache

from whoosh.analysis import Analyzer, CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.analysis.acore import Token
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

from . import compounds
from .tuning import ANALYSIS_VERSION, COMPOUND_MIN_WORD, COMPOUND_PART_WEIGHT

LANGUAGES = ("nl", "fr")
SNOWBALL = {"nl": "dutch", "fr": "french"}

# Words keep inner apostrophes (l'initiative, auto's, aujourd'hui) so that the elision
# filter sees them whole; hyphens split (Saint-Gilles, schuld-hulpverlening).
TOKEN_PATTERN = r"\w+(?:['’]\w+)*"
APOSTROPHES = "'’"

# French elided articles and pronouns, also written with the typographic apostrophe.
ELISIONS = ("l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu", "quoiqu")
_ELISION = re.compile(r"^(?:%s)['’]" % "|".join(ELISIONS))


# accent_map keeps ligatures: œuvre must meet oeuvre, as members type it.
_FOLD_MAP = {**accent_map, ord("œ"): "oe", ord("æ"): "ae"}


def fold(text):
    """Lower-case and strip accents: coöperatie -> cooperatie, pauvreté -> pauvrete, œuvre -> oeuvre."""
    return text.lower().translate(_FOLD_MAP)


# Where simplemma's dictionary picks a reading members rarely mean: leden as a form of
# lijden ("to suffer") rather than the plural of lid; gegeven as the participle of geven
# rather than the singular of gegevens (data); oudere as a form of oud, while its plural
# ouderen (the elderly) is given as oudere.
LEMMA_FIXES = {"nl": {"leden": "lid", "gegeven": "gegeven", "oudere": "oudere", "ouder": "ouder"}, "fr": {}}
_LEMMA_CACHE_LIMIT = 500_000
_lemma_cache = {"nl": {}, "fr": {}}


def lemma(lang, word):
    """The dictionary form of a lower-case word (accents kept), or the word itself:
    subsidies -> subsidie, steden -> stad, travaux -> travail, aînés -> aîné."""
    cache = _lemma_cache[lang]
    found = cache.get(word)
    if found is None:
        if len(cache) > _LEMMA_CACHE_LIMIT:
            cache.clear()
        found = LEMMA_FIXES[lang].get(word)
        if found is None:
            import simplemma  # its dictionaries load on first use (about a second per language)

            found = simplemma.lemmatize(word, lang=lang).lower()
            # Once more: the dictionary's entries chain (maatjes -> maatje -> maat).
            found = LEMMA_FIXES[lang].get(found) or simplemma.lemmatize(found, lang=lang).lower()
        cache[word] = found
    return found


def base(lang, text):
    """What the stemmer is given for one token (lower case, elision stripped): its
    lemma, folded, unless the lemma would be a stop word or a single letter. A Dutch
    compound the dictionary does not know takes the lemma of its last part
    (buurtinitiatieven -> buurtinitiatief, taalmaatjes -> taalmaatje)."""
    if not text.isalpha():
        return fold(text)
    found = lemma(lang, text)
    if found == text and lang == "nl" and len(text) >= COMPOUND_MIN_WORD:
        found = compounds.lemmatise_last(fold(text), lambda word: lemma(lang, word))
    folded = fold(found)
    if len(folded) < 2 or folded in _STOP_SCORE[lang]:
        return fold(text)
    return folded


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
HYPHEN_CHAIN = 3  # porte-à-porte is joined, longer hyphenated runs only up to three words


def unelide(word):
    """A token in lower case, its elision stripped and apostrophes joined (l'aide -> aide, auto's -> autos)."""
    text = word.lower()
    if "'" in text or "’" in text:
        text = _ELISION.sub("", text).replace("'", "").replace("’", "")
    return text


def surface(name, word):
    """What PostgreSQL is given of one token (it stems it itself): the base the Whoosh
    analyser stems, the folded word for 'fold', '' for a stop word or a single letter."""
    if not analyzer(name).term(word):
        return ""
    text = unelide(word)
    return fold(text) if name == "fold" else base(name, text)


def part_bases(lang, word):
    """The bases (see base()) of a Dutch compound token's parts, or ()."""
    if lang != "nl" or len(word) < COMPOUND_MIN_WORD:
        return ()
    folded = fold(unelide(word))
    out = []
    for part in compounds.split(folded):
        b = base(lang, part)
        if b not in _STOP_SCORE[lang]:
            out.append(b)
    return tuple(out)


def extra_surfaces(name, value):
    """The extra words of a text as PostgreSQL is given them (see pg_text): each Dutch
    compound's part bases, next to each other, and each hyphenated run written
    together; the Whoosh analyser indexes the same words' stems at the compound's
    position."""
    if not value or name == "fold":
        return []
    out = []
    chain, chain_end = [], -2
    for m in _TOKEN_RE.finditer(value):
        word = m.group()
        joined = None
        if m.start() == chain_end + 1 and value[chain_end] == "-" and len(chain) < HYPHEN_CHAIN:
            chain.append(word)
            joined = "".join(chain)
        else:
            chain = [word]
        chain_end = m.end()
        own = surface(name, word)
        if not own:
            continue
        if joined is not None and joined.isalpha():
            joined_surface = surface(name, joined)
            if joined_surface and joined_surface != own:
                out.append(joined_surface)
        if name == "nl":
            out += part_bases(name, word)
    return out


class FastAnalyzer(Analyzer):
    """language_analyzer(lang) or folding_analyzer() in one pass, cached per surface word.

    Same positions (stop words are dropped and the rest renumbered, as whoosh's
    StopFilter(renumber=True) does), so phrases and highlights agree with it; the terms
    are stems of lemmas, and the index also gets compound parts and hyphen joins at the
    same positions (not at query time, mode "query").
    """

    def __init__(self, name):
        if name not in LANGUAGES and name != "fold":
            raise KeyError(name)
        self.name = name
        self.version = ANALYSIS_VERSION
        self._cache = {}
        self._parts = {}

    def __getstate__(self):
        # Pickled into the index schema: the name is the whole configuration, the
        # version tells an index written by other analysis code (see ANALYSIS_VERSION).
        return {"name": self.name, "version": self.version}

    def __setstate__(self, state):
        self.name = state["name"]
        self.version = state.get("version", 1)
        self._cache = {}
        self._parts = {}

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

    def parts(self, word):
        """The extra terms of a Dutch compound token (its parts' terms), or ()."""
        found = self._parts.get(word)
        if found is None:
            if len(self._parts) > _CACHE_LIMIT:
                self._parts.clear()
            own = self.term(word)
            found = self._parts[word] = tuple(dict.fromkeys(
                t for t in (stem(self.name, p) for p in part_bases(self.name, word)) if t != own))
        return found

    def _analyse(self, word):
        text = unelide(word)
        folded = fold(text)
        stops = _FOLD_STOPS if self.name == "fold" else _STOP_SCORE[self.name]
        if len(folded) < 2 or folded in stops:
            return ""
        return folded if self.name == "fold" else stem(self.name, base(self.name, text))

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        matches = _TOKEN_RE.finditer(value) if tokenize else [_WholeValue(value)]
        term_for = self.term
        # Compound parts and hyphen joins only where the index is written, not for
        # whoosh's own query parsing or highlighting (mode "query").
        extras = tokenize and mode != "query" and self.name != "fold"
        parts_for = self.parts if self.name == "nl" else None
        pos = None
        chain, chain_end = [], -2  # the words of a hyphenated run (sans-abri) so far
        for i, m in enumerate(matches):
            word = m.group()
            joined = None
            if extras:
                start = m.start()
                if start == chain_end + 1 and value[chain_end] == "-" and len(chain) < HYPHEN_CHAIN:
                    chain.append(word)
                    joined = "".join(chain)
                else:
                    chain = [word]
                chain_end = m.end()
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
            if not extras:
                continue
            if joined is not None and joined.isalpha():
                joined_term = term_for(joined)
                if joined_term and joined_term != term:
                    t.text = joined_term
                    yield t
            if parts_for is not None and len(word) >= COMPOUND_MIN_WORD:
                # Same position as the compound, lighter: woning aanpassing finds
                # woningaanpassing below a post that writes both words.
                for part in parts_for(word):
                    t.text = part
                    t.boost = COMPOUND_PART_WEIGHT
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
