"""Snippets with <mark>ed matches: the text is escaped first, only our own <mark> is markup.

Engine-neutral on purpose: it re-analyses the post text with the same chains as the
index (search/analysis.py), so a match found through a stem (schulden ~ schuld), a
compound head (schuld in schuldhulpverlening) or a glossary translation is marked too.
"""
import re

from markupsafe import Markup, escape

from . import analysis

_TOKEN = re.compile(analysis.TOKEN_PATTERN)


class Matcher:
    """Decides, token by token, whether a word of a text matches the query.

    A token is looked up through the analysers' own per-word caches (the same terms the
    index holds), and each distinct token is decided once per query.
    """

    def __init__(self, parsed, languages=analysis.LANGUAGES):
        self.stems = {lang: set() for lang in analysis.LANGUAGES}
        self.heads = set()  # Dutch compound heads, folded
        self.prefixes = set()
        self._cache = {lang: {} for lang in analysis.LANGUAGES}
        self._terms = {lang: analysis.analyzer(lang).term for lang in analysis.LANGUAGES}
        self._fold = analysis.analyzer("fold").term
        self._parts = analysis.analyzer("nl").parts
        texts = []
        for group in parsed.groups:
            for clause in group:
                if clause.kind == "prefix":
                    self.prefixes.add(clause.text)
                else:
                    texts.append(clause.text)
        for text in texts:
            for lang in analysis.LANGUAGES:
                self.stems[lang].update(analysis.terms(lang, text))
            for word in analysis.terms("fold", text):
                if len(word) >= 4:
                    self.heads.add(word)
        for expansion in parsed.expansions:
            for lang, text in expansion.targets:
                self.stems[lang].update(analysis.terms(lang, text))
                self.heads.update(w for w in analysis.terms("fold", text) if len(w) >= 4)
        self.heads.update(s for s in self.stems["nl"] if len(s) >= 4)
        self._others = {lang: tuple(x for x in analysis.LANGUAGES if x != lang) for lang in analysis.LANGUAGES}
        # Cheap tests before the costly analyses of a token (a snippet's words are mostly new
        # to a worker, and analysing each in both languages, with its compound parts, was most
        # of a search's time): a word of the other language begins as its stem does (its first
        # two letters), and a compound part's stem begins somewhere inside the word. What they
        # miss: an irregular form of the other language inside a text (yeux for oeil) and a
        # compound whose last part is irregular in its first two letters (oudleden for lid) go
        # unmarked; the search finds those posts all the same.
        self._begins = {lang: frozenset(s[:2] for s in self.stems[lang]) for lang in analysis.LANGUAGES}
        inside = sorted({s[:2] for s in self.stems["nl"]})
        self._part_inside = re.compile("|".join(map(re.escape, inside))).search if inside else None
        # A compound headed by a query word: the head and at least three more letters (one
        # regular expression instead of a test per head and token).
        heads = sorted(self.heads, key=len, reverse=True)
        self._headed = re.compile("(?:%s)..." % "|".join(map(re.escape, heads))).match if heads else None
        self._prefixes = tuple(self.prefixes)

    def __bool__(self):
        return any(self.stems.values()) or bool(self.prefixes)

    def matches(self, token, lang):
        cache = self._cache[lang]
        found = cache.get(token)
        if found is None:
            found = cache[token] = self._matches(token, lang)
        return found

    def _matches(self, token, lang):
        own = self._terms[lang](token)
        if not own:
            return False  # a stop word in the text's language (or a single letter)
        if own in self.stems[lang]:
            return True
        folded = self._fold(token)  # folded, elisions off; '' for a stop word of either language
        if not folded:
            return False
        for code in self._others[lang]:
            if folded[:2] in self._begins[code] and self._terms[code](token) in self.stems[code]:
                return True
        if lang == "nl" and self._part_inside is not None and self._part_inside(folded) \
                and not self.stems["nl"].isdisjoint(self._parts(token)):
            return True  # found through a compound part the index holds (woning in woningaanpassing)
        if self._prefixes and (folded.startswith(self._prefixes) or own.startswith(self._prefixes)):
            return True
        return lang == "nl" and self._headed is not None and self._headed(folded) is not None


def spans(text, matcher, lang):
    """(start, end) of each matching word."""
    matches = matcher.matches
    return [m.span() for m in _TOKEN.finditer(text) if matches(m.group(), lang)]


def mark(text, found):
    """Escape `text` and wrap the given spans in <mark>."""
    out = []
    pos = 0
    for start, end in found:
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def snippet(text, matcher, lang, length=240):
    """The window of `text` with the most matches, escaped and marked, with ellipses."""
    text = text or ""
    found = spans(text, matcher, lang) if matcher else []
    if len(text) <= length:
        return mark(text, found)
    start = 0
    if found:
        best, best_count = 0, -1
        j = 0
        for i, (s, _e) in enumerate(found):
            while j < len(found) and found[j][1] <= s + length:
                j += 1
            if j - i > best_count:
                best, best_count = i, j - i
        start = max(0, found[best][0] - length // 4)
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < found[best][0] else start
    end = min(len(text), start + length)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + length // 2 else end
    window = [(s - start, e - start) for s, e in found if s >= start and e <= end]
    body = mark(text[start:end], window)
    return (Markup("…") if start else Markup("")) + body + (Markup("…") if end < len(text) else Markup(""))
