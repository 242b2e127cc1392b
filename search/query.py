"""The query language for people (words, "phrases", -word, OR, word*) and the query plan.

Parsing is engine-neutral: it yields a ParsedQuery, and concepts() / covers() / required()
make it a plan (translations from the lexicon, compounds joined and split, "most words")
that a backend only turns into its own query objects. Everything that could make a query expensive is bounded here: the length
of the text, the number of clauses, and the shortest prefix a wildcard may have (the
backend also caps how many words a prefix expands to). Anything that is not one of the
supported operators is read as plain words, so no input is a syntax error.
"""
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import lexicon
from .analysis import LANGUAGES, fold, terms
from .tuning import (
    FRENCH_SPLIT_ZIPF, JOIN_LINKS, MAX_CLAUSES, MAX_JOIN_PAIRS, MAX_QUERY_CHARS, MAX_SPLIT_WORDS, MIN_JOIN_PART,
    MIN_PREFIX, MIN_SPLIT_PART, MIN_SPLIT_WORD, PART_WEIGHT, WORD_WEIGHT,
)

GLOSSARY_PATH = Path(__file__).with_name("glossary.tsv")

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
# Words that only shape a question or a sentence ("hoe", "comment", "les"): left out of the
# plan when other words remain, since no thread is about them. The engines' stop lists
# leave many of these in (French "les" and "comment", Dutch "welke"), so a thread would
# otherwise need them to hold "all words". Per language: a search in Dutch only keeps
# "les" (a lesson), one in French only keeps "wie".
QUERY_FUNCTION_WORDS = {
    "fr": frozenset("""
        les le la des du un une aux au comment quoi pourquoi quel quelle quels quelles lequel laquelle
        lesquels lesquelles combien quand ou
    """.split()),
    "nl": frozenset("""
        hoe wat welke welk waarom wanneer hoeveel waar wie ik je jij jullie we wij mijn onze ons er
    """.split()),
}
_NOT_WORD = re.compile(r"[^\w'’*-]+")


@dataclass
class Clause:
    kind: str  # word, phrase or prefix
    text: str


@dataclass
class Expansion:
    """Groups start..end (inclusive) also match these texts: a translation of the span, its
    words written as one compound (kind "join"), or a long word's compound parts written apart
    (kind "split"). All targets together are one alternative: one concept."""

    start: int
    end: int
    source_language: str
    targets: list  # [(language, text)]
    # or "join" (words as one compound), "split" (a Dutch compound apart), "respell" (one
    # word written otherwise: week-end as weekend, microcredit as "micro credit"), "word" (a
    # word of a multiword lexicon match translated on its own)
    kind: str = "translation"
    weight: float = 1.0  # below 1: a weaker translation (of a compound's parts, of one word of a match)


@dataclass
class Concept:
    """One unit of meaning of a query: groups start..end, the sub-concepts the span is made
    of (when it joins several), and the expansions that stand for the whole span."""

    start: int
    end: int
    parts: list = field(default_factory=list)
    expansions: list = field(default_factory=list)


@dataclass
class ParsedQuery:
    text: str = ""
    groups: list = field(default_factory=list)  # AND of groups; a group is an OR of clauses
    negatives: list = field(default_factory=list)
    expansions: list = field(default_factory=list)
    notices: list = field(default_factory=list)
    mode: str = "all"  # "all": every concept must match; "most": ranked by concepts matched
    wide: bool = False  # compound parts and their translations included (parse(wide=True))

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
            if e.kind == "translation":
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


def parse(text, cross_language=True, languages=LANGUAGES, wide=False):
    """Parse a search box text into a ParsedQuery (never raises on user input). `wide` also
    splits long words into compound parts and translates those parts: the second try,
    when the words themselves find too little (reading common parts' postings costs)."""
    notices = []
    text = (text or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS]
        text = cut.rsplit(" ", 1)[0] if " " in cut else cut
        notices.append("shortened")
    parsed = ParsedQuery(text=text, notices=notices, wide=wide)
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
    _drop_function_words(parsed, languages)
    if cross_language:
        parsed.expansions = expand(parsed.groups, languages)
        if wide:
            parsed.expansions += compound_translations(parsed.groups, parsed.expansions, languages)
    if "nl" in languages:
        parsed.expansions += joins(parsed.groups, languages) + (splits(parsed.groups) if wide else [])
    parsed.expansions += respellings(parsed.groups, languages, wide)
    return parsed


def _drop_function_words(parsed, languages):
    """Leave out plain words of QUERY_FUNCTION_WORDS while other words remain."""
    words = frozenset().union(*(QUERY_FUNCTION_WORDS[lang] for lang in languages))

    def function_word(group):
        return len(group) == 1 and group[0].kind == "word" and fold(group[0].text) in words

    kept = [g for g in parsed.groups if not function_word(g)]
    if kept and len(kept) < len(parsed.groups):
        parsed.groups = kept


# -- the bilingual lexicon (and the older glossary) ----------------------------------------

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


def _concepts_of_files():
    """{language: variants} per concept: every lexicon line, then the glossary pairs."""
    for entry in lexicon.load():
        yield {"nl": entry.nl, "fr": entry.fr}
    for nl, fr in glossary_pairs():
        yield {"nl": (nl,), "fr": (fr,)}


@lru_cache(maxsize=1)
def _glossary_index():
    """language -> {analysed term tuple: [(language, text)]}; and the longest key.

    A key's targets are every other variant of every concept it names: the other
    language's variants and the same language's synonyms (OCMW also finds "sociaal huis").
    They become one alternative of the span in the query (one concept, Pirkola-style)."""
    index = {lang: {} for lang in LANGUAGES}
    longest = 1
    for concept in _concepts_of_files():
        keyed = {lang: [(v, tuple(terms(lang, v))) for v in concept[lang]] for lang in LANGUAGES}
        for lang in LANGUAGES:
            for _variant, key in keyed[lang]:
                if not key:
                    continue
                longest = max(longest, len(key))
                targets = index[lang].setdefault(key, [])
                for other in LANGUAGES:
                    for text, other_key in keyed[other]:
                        if other_key and (other != lang or other_key != key) and (other, text) not in targets:
                            targets.append((other, text))
    return index, longest


@lru_cache(maxsize=1)
def glossary_words():
    """Every word of the lexicon and glossary, folded: part of the spelling dictionary."""
    words = set()
    for concept in _concepts_of_files():
        for variants in concept.values():
            for text in variants:
                words.update(w for w in re.findall(r"\w+", fold(text)) if len(w) > 2)
    return words


def warm_up():
    """Load what the first query of a process would: the lexicon analysed (which reads
    simplemma's dictionaries) and wordfreq's word lists for compounds (forum/warmup.py calls
    this before a web worker's first request)."""
    from . import compounds

    _glossary_index()
    glossary_words()
    compounds.lexicon()
    compounds.french_words()


def expand(groups, languages=LANGUAGES):
    """Lexicon matches over runs of single-clause groups, longest first, per language."""
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
                if end > start:
                    expansions += _word_translations(tokens[pos:pos + size], index[lang], lang, languages)
                pos += size
            else:
                pos += 1
    return [e for e in expansions if e.targets]


def _word_translations(window, table, lang, languages):
    """The words of a multiword lexicon match translated one by one, at WORD_WEIGHT: "aide
    administrative a domicile" is also hulp + administratie + thuis, for threads that say it
    in other words than the entry. A group whose tokens name no entry of their own adds nothing."""
    out = []
    for group in sorted({t[1] for t in window}):
        key = tuple(t[0] for t in window if t[1] == group)
        targets = [t for t in table.get(key, ()) if t[0] in languages]
        if targets:
            out.append(Expansion(group, group, lang, targets, kind="word", weight=WORD_WEIGHT))
    return out


def compound_translations(groups, expansions, languages=LANGUAGES):
    """Translations the lexicon has for a compound the query writes differently: two words
    that are one compound in the lexicon ("parkeerkaart gehandicapten" ->
    gehandicaptenparkeerkaart), or the known parts of a long word it has no entry for
    (samenwonersstatuut -> samenwoner, statuut). Only for words no other entry covers."""
    if "nl" not in languages:
        return []
    index, _longest = _glossary_index()
    table = index["nl"]
    covered = {i for e in expansions if e.source_language == "nl" for i in range(e.start, e.end + 1)}

    def targets_of(text):
        key = tuple(terms("nl", text))
        return [t for t in table.get(key, ()) if t[0] in languages] if key else []

    out = []
    for join in joins(groups):
        if join.start in covered or join.end in covered:
            continue
        found = []
        for _lang, text in join.targets:
            found += [t for t in targets_of(text) if t not in found]
        if found:
            out.append(Expansion(join.start, join.end, "nl", found))
            covered.update((join.start, join.end))
    for split in splits(groups):
        if split.start in covered:
            continue
        best = []
        for _lang, text in split.targets:
            parts = text.split()
            found = [targets_of(part) for part in parts]
            known = sum(len(part) for part, f in zip(parts, found) if f)
            if found and known > sum(len(p) for p, _f in best):
                best = [(part, f) for part, f in zip(parts, found) if f]
        if best:
            merged = []
            for _part, found in best:
                merged += [t for t in found if t not in merged]
            out.append(Expansion(split.start, split.end, "nl", merged, weight=PART_WEIGHT))
    return out


def joins(groups, languages=LANGUAGES):
    """Adjacent plain words as one Dutch compound, both orders, with linking -s-/-en-:
    "woning aanpassing" -> woningaanpassing, "kosten vervoer" -> vervoerskosten; and as
    one French word in the order typed ("micro credit" -> microcredit)."""
    out = []
    for i in range(len(groups) - 1):
        pair = groups[i:i + 2]
        if any(len(g) != 1 or g[0].kind != "word" for g in pair):
            continue
        a, b = (fold(g[0].text) for g in pair)
        if not (a.isalpha() and b.isalpha()) or min(len(a), len(b)) < MIN_JOIN_PART:
            continue
        if not terms("nl", a) or not terms("nl", b):
            continue  # a stop word is never a compound part
        targets = []
        for first, second in ((a, b), (b, a)):
            for link in JOIN_LINKS:
                if link and first.endswith(link):
                    continue
                targets.append(("nl", first + link + second))
        if "fr" in languages:
            targets.append(("fr", a + b))
        out.append(Expansion(i, i + 1, "nl", targets, kind="join"))
        if len(out) >= MAX_JOIN_PAIRS:
            break
    return out


def splits(groups):
    """A long word as the parts of a Dutch compound written apart, at every split point
    (with or without a linking -s-/-en-): kinderarmoede -> "kinder armoede", found in
    "kinderen in armoede". Parts need not be adjacent; a split of nonsense finds nothing."""
    out = []
    for i, group in enumerate(groups):
        if len(group) != 1 or group[0].kind != "word":
            continue
        word = fold(group[0].text)
        if len(word) < MIN_SPLIT_WORD or not word.isalpha():
            continue
        targets = []
        for cut in range(MIN_SPLIT_PART, len(word) - MIN_SPLIT_PART + 1):
            head, tail = word[:cut], word[cut:]
            targets.append(("nl", f"{head} {tail}"))
            for link in JOIN_LINKS[1:]:
                if head.endswith(link) and len(head) - len(link) >= MIN_SPLIT_PART:
                    targets.append(("nl", f"{head[:-len(link)]} {tail}"))
        if targets:
            out.append(Expansion(i, i, "nl", targets, kind="split"))
        if len(out) >= MAX_SPLIT_WORDS:
            break
    return out


def respellings(groups, languages=LANGUAGES, wide=False):
    """One word written otherwise, in both languages: a hyphenated word also written together
    (week-end -> weekend, sans-abri -> sansabri; written apart it is a phrase already), and with
    `wide`, a long word as two French words written apart (microcredit -> "micro credit",
    sansabri -> "sans abri"), when both are common French words (wordfreq's list)."""
    from .compounds import french_split

    out = []
    for i, group in enumerate(groups):
        if len(group) != 1 or group[0].kind != "word":
            continue
        word = fold(group[0].text).strip("-")
        targets = []
        if "-" in word:
            joined = word.replace("-", "")
            if joined.isalpha():
                targets += [(lang, joined) for lang in languages]
        elif wide and "fr" in languages and word.isalpha():
            parts = french_split(word, FRENCH_SPLIT_ZIPF)
            if parts:
                targets.append(("fr", " ".join(parts)))
        if targets:
            out.append(Expansion(i, i, targets[0][0], targets, kind="respell"))
    return out


# -- the plan: concepts, and what covers each word ----------------------------------------

def concepts(parsed):
    """The query's concepts in order. Translations take the longest span first (without
    overlaps); then two adjacent one-word concepts that may be one compound become one
    concept whose parts are those two (so each keeps its own translations)."""
    chosen = parsed.chosen_expansions()
    out = []
    i = 0
    while i < len(parsed.groups):
        if i in chosen:
            end, expansions = chosen[i]
            parts = [Concept(j, j) for j in range(i, end + 1)] if end > i else []
            out.append(Concept(i, end, parts, list(expansions)))
            i = end + 1
        else:
            out.append(Concept(i, i))
            i += 1
    leaves = {}
    for concept in out:
        for leaf in concept.parts or [concept]:
            if leaf.start == leaf.end:
                leaves[leaf.start] = leaf
    for e in parsed.expansions:
        if e.kind in ("split", "respell", "word") and e.start in leaves:
            leaves[e.start].expansions.append(e)
    by_start = {c.start: n for n, c in enumerate(out) if c.start == c.end}
    for e in parsed.expansions:
        if e.kind != "join":
            continue
        a, b = by_start.get(e.start), by_start.get(e.end)
        if a is None or b is None or out[a] is None or out[b] is None or b != a + 1:
            continue
        out[a] = Concept(e.start, e.end, [out[a], out[b]], [e])
        out[b] = None
    return [c for c in out if c is not None]


def covers(parsed, plan=None):
    """Per group: the expansions that also stand for it (those of every concept holding it).
    In "most" mode a group counts as matched when the group or one of these matches."""
    found = [[] for _g in parsed.groups]

    def walk(concept):
        for i in range(concept.start, concept.end + 1):
            found[i].extend(concept.expansions)
        for part in concept.parts:
            walk(part)

    for concept in plan if plan is not None else concepts(parsed):
        walk(concept)
    return found


def required(parsed):
    """Groups that hold even in "most" mode: quoted phrases."""
    return [i for i, g in enumerate(parsed.groups) if any(c.kind == "phrase" for c in g)]


def most_score(covered, score):
    """The rank of a thread in "most" mode: the number of words it covers first, then its
    score (squeezed below 1, so it only orders threads covering as many words)."""
    return covered + score / (1.0 + score) if score > 0 else float(covered)
