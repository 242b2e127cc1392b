"""The query language for people: words, "phrases", -word, OR, word*; plus glossary expansion.

Parsing is engine-neutral: it yields a ParsedQuery that a backend turns into its own
query objects. Everything that could make a query expensive is bounded here: the length
of the text, the number of clauses, and the shortest prefix a wildcard may have (the
backend also caps how many words a prefix expands to). Anything that is not one of the
supported operators is read as plain words, so no input is a syntax error.
"""
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .analysis import LANGUAGES, fold, terms
from .tuning import MAX_CLAUSES, MAX_QUERY_CHARS, MIN_PREFIX

GLOSSARY_PATH = Path(__file__).with_name("glossary.tsv")

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_NOT_WORD = re.compile(r"[^\w'’*-]+")


@dataclass
class Clause:
    kind: str  # word, phrase or prefix
    text: str


@dataclass
class Expansion:
    """Groups start..end (inclusive) also match these texts in the other language."""

    start: int
    end: int
    source_language: str
    targets: list  # [(language, text)]


@dataclass
class ParsedQuery:
    text: str = ""
    groups: list = field(default_factory=list)  # AND of groups; a group is an OR of clauses
    negatives: list = field(default_factory=list)
    expansions: list = field(default_factory=list)
    notices: list = field(default_factory=list)

    @property
    def is_empty(self):
        return not self.groups

    def words(self):
        """Plain positive words in order (for "did you mean")."""
        return [c.text for g in self.groups for c in g if c.kind == "word"]

    def chosen_expansions(self):
        """The glossary expansions both engines apply: non-overlapping, longest first at
        each start, those of one span together. {start group: (end group, [expansions])}."""
        spans = {}
        for e in self.expansions:
            spans.setdefault((e.start, e.end), []).append(e)
        chosen, covered = {}, set()
        for (start, end) in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
            if any(i in covered for i in range(start, end + 1)):
                continue
            covered.update(range(start, end + 1))
            chosen[start] = (end, spans[(start, end)])
        return chosen


def _split_words(raw):
    return [w for w in _NOT_WORD.sub(" ", raw).split() if w.strip("-'’*")]


def _clause_for(word, notices):
    word = word.strip("-'’")
    if "*" in word:
        stem = word.replace("*", "")
        if word.endswith("*") and "*" not in word[:-1] and len(fold(stem)) >= MIN_PREFIX:
            return Clause("prefix", fold(stem))
        if "short_wildcard" not in notices:
            notices.append("short_wildcard")
        word = stem
    return Clause("word", word) if word else None


def parse(text, cross_language=True, languages=LANGUAGES):
    """Parse a search box text into a ParsedQuery (never raises on user input)."""
    notices = []
    text = (text or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS]
        text = cut.rsplit(" ", 1)[0] if " " in cut else cut
        notices.append("shortened")
    parsed = ParsedQuery(text=text, notices=notices)
    pending_or = False
    clauses = 0
    for match in _TOKEN.finditer(text):
        negative, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare == "OR":
            pending_or = bool(parsed.groups)
            continue
        items = []
        if phrase is not None:
            words = _split_words(phrase)
            if len(words) > 1:
                items.append(Clause("phrase", " ".join(words)))
            elif words:
                items.append(Clause("word", words[0]))
        else:
            if bare.startswith("-") and len(bare) > 1:
                negative, bare = "-", bare[1:]
            bare = bare.lstrip("+")
            if "*" in bare and not _split_words(bare) and "short_wildcard" not in notices:
                notices.append("short_wildcard")
            for word in _split_words(bare):
                clause = _clause_for(word, notices)
                if clause:
                    items.append(clause)
        for clause in items:
            if clauses >= MAX_CLAUSES:
                if "too_many_words" not in notices:
                    notices.append("too_many_words")
                break
            clauses += 1
            if negative:
                parsed.negatives.append(clause)
            elif pending_or:
                parsed.groups[-1].append(clause)
            else:
                parsed.groups.append([clause])
            pending_or = False
    if cross_language:
        parsed.expansions = expand(parsed.groups, languages)
    return parsed


# -- glossary ----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def glossary_pairs():
    """(dutch, french) pairs from search/glossary.tsv."""
    pairs = []
    for line in GLOSSARY_PATH.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        nl, _tab, fr = line.partition("\t")
        if nl.strip() and fr.strip():
            pairs.append((nl.strip(), fr.strip()))
    return tuple(pairs)


@lru_cache(maxsize=1)
def _glossary_index():
    """language -> {stemmed term tuple: [(other language, text)]}; and the longest key."""
    index = {lang: {} for lang in LANGUAGES}
    longest = 1
    for nl, fr in glossary_pairs():
        for lang, source, other, target in (("nl", nl, "fr", fr), ("fr", fr, "nl", nl)):
            key = tuple(terms(lang, source))
            if not key:
                continue
            longest = max(longest, len(key))
            targets = index[lang].setdefault(key, [])
            if (other, target) not in targets:
                targets.append((other, target))
    return index, longest


def glossary_words():
    """Every word of the glossary, folded: part of the spelling dictionary."""
    words = set()
    for nl, fr in glossary_pairs():
        for text in (nl, fr):
            words.update(w for w in re.findall(r"\w+", fold(text)) if len(w) > 2)
    return words


def expand(groups, languages=LANGUAGES):
    """Glossary matches over runs of single-clause groups, longest first, per language."""
    index, longest = _glossary_index()
    expansions = []
    for lang in languages:
        # Each simple group contributes its analysed tokens; a match must cover whole groups.
        tokens = []  # (token, group index, is first token of group, is last token)
        for i, group in enumerate(groups):
            if len(group) != 1 or group[0].kind not in ("word", "phrase"):
                tokens.append((None, i, True, True))
                continue
            toks = terms(lang, group[0].text)
            for j, tok in enumerate(toks):
                tokens.append((tok, i, j == 0, j == len(toks) - 1))
        pos = 0
        while pos < len(tokens):
            found = None
            if tokens[pos][0] is not None and tokens[pos][2]:
                for size in range(min(longest, len(tokens) - pos), 0, -1):
                    window = tokens[pos:pos + size]
                    if any(t[0] is None for t in window) or not window[-1][3]:
                        continue
                    targets = index[lang].get(tuple(t[0] for t in window))
                    if targets:
                        found = (size, window[0][1], window[-1][1], targets)
                        break
            if found:
                size, start, end, targets = found
                expansions.append(Expansion(start, end, lang, [t for t in targets if t[0] in languages]))
                pos += size
            else:
                pos += 1
    return [e for e in expansions if e.targets]
