"""The bilingual lexicon of the field (search/lexicon.tsv): parsing and phrase lookup, engine-neutral.

The file holds one concept a line: Dutch variants, French variants, a region and a note.
Lookup finds the concepts named in a phrase of either language, longest multiword match
first, on folded words (case and accents ignored; hyphens and apostrophes separate words),
so "woning aanpassing" or "sans abrisme" still meet their entry. Articles and prepositions
do not count, since members leave them out ("accueil petite enfance", "parcours integration").
No stemming here: the search engine's own analysis decides word forms; this module only
names concepts.
"""
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

LEXICON_PATH = Path(__file__).with_name("lexicon.tsv")
LANGUAGES = ("nl", "fr")
REGIONS = ("", "NL", "BE", "FR")
SAME_MARK = "same"  # a note starting with this allows a variant written alike in both languages

_WORD = re.compile(r"[^\W_]+")
# Articles, prepositions and conjunctions of both languages, folded and elided forms included:
# skipped on both sides of a match. Only words no entry needs to tell two concepts apart.
FUNCTION_WORDS = frozenset("""
    de het een van voor met op in en te aan bij om of
    le la les l un une des du d de a au aux en et ou pour par sur dans avec
""".split())
# Letters NFKD does not take apart (œuvre -> oeuvre, Straße -> strasse).
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d"})


class LexiconError(ValueError):
    """A line of the lexicon file that does not parse."""


class Entry(NamedTuple):
    """One concept: its Dutch and French variants (region suffixes removed)."""
    nl: tuple
    fr: tuple
    region: str = ""
    note: str = ""
    # (language, variant, region) for variants that carry their own @NL/@BE/@FR suffix
    variant_regions: tuple = ()
    line: int = 0

    def variants(self, lang):
        return self.nl if lang == "nl" else self.fr

    def other(self, lang):
        return self.fr if lang == "nl" else self.nl


class Match(NamedTuple):
    """A lookup hit: words [start, end) of the phrase name `entry` in language `lang`."""
    start: int
    end: int
    lang: str
    variant: str
    entry: Entry

    @property
    def translations(self):
        """The entry's variants in the other language."""
        return self.entry.other(self.lang)


def fold(text):
    """Lower-case, strip accents, undo ligatures: Coöperatie -> cooperatie, œuvre -> oeuvre."""
    text = unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES))
    return "".join(c for c in text if not unicodedata.combining(c))


def words(text):
    """Folded words of a phrase; hyphens, apostrophes and punctuation separate them."""
    return tuple(_WORD.findall(fold(text)))


def key(text):
    """The words of a phrase that a match compares: folded, without function words."""
    return tuple(w for w in words(text) if w not in FUNCTION_WORDS)


def _variants(field, lang, lineno, variant_regions):
    out = []
    for raw in field.split("|"):
        variant, _at, region = raw.strip().partition("@")
        variant = variant.strip()
        if not variant or not key(variant):
            raise LexiconError("line %d: empty %s variant in %r" % (lineno, lang, field))
        if _at:
            if region not in REGIONS[1:]:
                raise LexiconError("line %d: unknown region @%s" % (lineno, region))
            variant_regions.append((lang, variant, region))
        out.append(variant)
    return tuple(out)


def parse_line(line, lineno=0):
    """One entry from a data line: nl<TAB>fr[<TAB>region[<TAB>note]]."""
    cols = line.rstrip("\n").split("\t")
    if len(cols) < 2 or len(cols) > 4:
        raise LexiconError("line %d: expected 2 to 4 tab-separated columns, got %d" % (lineno, len(cols)))
    cols += [""] * (4 - len(cols))
    nl_field, fr_field, region, note = (c.strip() for c in cols)
    if region not in REGIONS:
        raise LexiconError("line %d: unknown region %r" % (lineno, region))
    variant_regions = []
    nl = _variants(nl_field, "nl", lineno, variant_regions)
    fr = _variants(fr_field, "fr", lineno, variant_regions)
    return Entry(nl, fr, region, note, tuple(variant_regions), lineno)


def parse(text):
    """Entries of a lexicon text; comment lines (#) and blank lines are skipped."""
    entries = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            entries.append(parse_line(line, lineno))
    return entries


def domains(text):
    """{domain name: entry count} from the "# == name ==" headings of a lexicon text."""
    counts, current = {}, ""
    for line in text.splitlines():
        if line.startswith("# =="):
            current = line.strip("# =").strip()
            counts.setdefault(current, 0)
        elif line.strip() and not line.startswith("#"):
            counts[current] = counts.get(current, 0) + 1
    return counts


@lru_cache(maxsize=1)
def load():
    """Entries of search/lexicon.tsv (read once)."""
    return tuple(parse(LEXICON_PATH.read_text(encoding="utf-8")))


def build_index(entries):
    """language -> {key word tuple: [(variant, entry)]}, and the longest key in words."""
    index = {lang: {} for lang in LANGUAGES}
    longest = 1
    for entry in entries:
        for lang in LANGUAGES:
            for variant in entry.variants(lang):
                words_ = key(variant)
                longest = max(longest, len(words_))
                hits = index[lang].setdefault(words_, [])
                if all(e is not entry for _v, e in hits):
                    hits.append((variant, entry))
    return index, longest


@lru_cache(maxsize=1)
def _index():
    return build_index(load())


def lookup(phrase, languages=LANGUAGES, index=None):
    """Concepts named in `phrase`, left to right, each span taken by its longest match.

    At each word the longest run of words that is a variant of some entry wins (in any of
    `languages`); its words are consumed, so "sociale huurwoning" yields one match and not
    also "huurwoning". Several entries sharing one variant all come back, in file order.
    Positions count every word of words(phrase), function words included.
    """
    table, longest = index or _index()
    content = [(i, w) for i, w in enumerate(words(phrase)) if w not in FUNCTION_WORDS]
    matches = []
    pos = 0
    while pos < len(content):
        found = []
        for size in range(min(longest, len(content) - pos), 0, -1):
            run = tuple(w for _i, w in content[pos:pos + size])
            start, end = content[pos][0], content[pos + size - 1][0] + 1
            for lang in languages:
                for variant, entry in table[lang].get(run, ()):
                    found.append(Match(start, end, lang, variant, entry))
            if found:
                pos += size
                break
        if found:
            matches.extend(found)
        else:
            pos += 1
    return matches


def translate(phrase, languages=LANGUAGES):
    """The other-language variants of every concept in `phrase`, one tuple per concept."""
    return [m.translations for m in lookup(phrase, languages)]


if __name__ == "__main__":  # python -m search.lexicon: entries per domain
    counts = domains(LEXICON_PATH.read_text(encoding="utf-8"))
    for name, count in counts.items():
        print("%5d  %s" % (count, name))
    print("%5d  entries" % sum(counts.values()))
