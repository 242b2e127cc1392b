"""The bilingual lexicon of the field: the data file parses, is large enough, and lookups take the longest match."""
import pytest

from search import lexicon

TEXT = lexicon.LEXICON_PATH.read_text(encoding="utf-8")
DATA_LINES = [(n, line) for n, line in enumerate(TEXT.splitlines(), 1) if line.strip() and not line.startswith("#")]


def test_file_has_at_least_1500_entries_and_every_line_parses():
    entries = lexicon.parse(TEXT)
    assert len(entries) == len(DATA_LINES)
    assert len(entries) >= 1500


def test_header_explains_the_columns():
    header = TEXT.split("\n\n")[0]
    for column in ("nl", "fr", "region", "note"):
        assert column in header


def test_no_duplicate_lines_and_no_duplicate_concepts():
    lines = [line.strip() for _n, line in DATA_LINES]
    assert len(lines) == len(set(lines))
    keys = [(frozenset(map(lexicon.key, e.nl)), frozenset(map(lexicon.key, e.fr))) for e in lexicon.load()]
    assert len(keys) == len(set(keys))


def test_both_sides_non_empty_and_no_variant_repeated_in_its_entry():
    for entry in lexicon.load():
        assert entry.nl and entry.fr, entry.line
        for lang in lexicon.LANGUAGES:
            folded = [lexicon.key(v) for v in entry.variants(lang)]
            assert all(folded), entry.line
            assert len(folded) == len(set(folded)), (entry.line, entry.variants(lang))


def test_a_dutch_variant_names_one_concept():
    # The same Dutch word on two lines would make one query word two concepts; regional
    # variants of one concept share a line with @NL/@BE instead.
    seen = {}
    for entry in lexicon.load():
        for variant in entry.nl:
            key = lexicon.key(variant)
            assert seen.setdefault(key, entry.line) == entry.line, (variant, seen[key], entry.line)


def test_identical_sides_only_when_marked():
    for entry in lexicon.load():
        nl = {lexicon.key(v) for v in entry.nl}
        fr = {lexicon.key(v) for v in entry.fr}
        if nl == fr:
            assert entry.note.startswith(lexicon.SAME_MARK), (entry.line, entry.nl)


def test_regions_are_known():
    for entry in lexicon.load():
        assert entry.region in lexicon.REGIONS
        for _lang, _variant, region in entry.variant_regions:
            assert region in ("NL", "BE", "FR")


@pytest.mark.parametrize("line, message", [
    ("kinderopvang", "columns"),
    ("kinderopvang\t", "empty"),
    ("kinderopvang|\tcrèche", "empty"),
    ("ocmw\tcpas\tXX", "region"),
    ("leefloon@DE\trevenu d'intégration", "region"),
    ("a\tb\t\tnote\textra", "columns"),
])
def test_bad_lines_are_refused_with_their_number(line, message):
    with pytest.raises(lexicon.LexiconError, match=message) as caught:
        lexicon.parse("# header\n" + line)
    assert "line 2" in str(caught.value)


def test_variant_regions_are_kept_and_stripped_from_the_variant():
    (entry,) = lexicon.parse("bijstand@NL|leefloon@BE\trevenu d'intégration sociale|RIS\t\tnote")
    assert entry.nl == ("bijstand", "leefloon")
    assert ("nl", "leefloon", "BE") in entry.variant_regions
    assert entry.note == "note"


def _concepts(phrase, **kw):
    return [(m.lang, m.variant) for m in lexicon.lookup(phrase, **kw)]


def test_longest_multiword_match_first():
    # "sociale huurwoning" is one concept, not also "huurwoning"
    matches = lexicon.lookup("wachtlijst sociale huurwoning")
    assert [m.variant for m in matches] == ["wachtlijst", "sociale huurwoning"]
    assert "logement social" in matches[1].translations
    assert (matches[1].start, matches[1].end) == (1, 3)


def test_lookup_ignores_case_accents_and_hyphens():
    assert ("fr", "sans-abrisme") in _concepts("Le SANS ABRISME à Liège")
    assert ("fr", "médecin généraliste") in _concepts("medecin generaliste de garde")
    assert ("nl", "cliëntenraad") in _concepts("clientenraad")
    assert ("fr", "aidant proche") in _concepts("un aidant-proche")


@pytest.mark.parametrize("phrase, lang, expected", [
    ("kinderopvang", "nl", "accueil de la petite enfance"),
    ("inburgering", "nl", "parcours d'intégration"),
    ("statushouder", "nl", "réfugié reconnu"),
    ("huisarts", "nl", "médecin généraliste"),
    ("OCMW", "nl", "CPAS"),
    ("leefloon", "nl", "revenu d'intégration sociale"),
    ("schuldhulpverlening", "nl", "médiation de dettes"),
    ("mantelzorger", "nl", "aidant proche"),
    ("gevraagd advies", "nl", "avis sollicité"),
    ("ongevraagd advies", "nl", "avis d'initiative"),
    ("logement social", "fr", "sociale huurwoning"),
    ("transport adapté", "fr", "doelgroepenvervoer"),
    ("budget d'assistance personnelle", "fr", "persoonsgebonden budget"),
    ("conseil communal", "fr", "gemeenteraad"),
])
def test_translations_of_field_terms(phrase, lang, expected):
    matches = lexicon.lookup(phrase)
    assert matches, phrase
    assert matches[0].lang == lang
    assert (matches[0].start, matches[0].end) == (0, len(lexicon.words(phrase)))
    assert expected in matches[0].translations


def test_articles_and_prepositions_do_not_count():
    matches = lexicon.lookup("accueil petite enfance")
    assert matches and "kinderopvang" in matches[0].translations
    matches = lexicon.lookup("wachtlijst voor de kinderopvang")
    assert [(m.variant, m.start, m.end) for m in matches] == [("wachtlijst", 0, 1), ("kinderopvang", 3, 4)]
    (match,) = lexicon.lookup("un parcours integration")
    assert (match.variant, match.start, match.end) == ("parcours d'intégration", 1, 3)


def test_lookup_in_one_language_only():
    assert _concepts("conseil communal", languages=("nl",)) == []
    assert ("fr", "conseil communal") in _concepts("conseil communal", languages=("fr",))


def test_regional_variants_share_one_concept():
    (nl,) = lexicon.lookup("wethouder")
    (be,) = lexicon.lookup("schepen")
    assert nl.entry is be.entry
    assert "échevin" in nl.translations


def test_words_outside_the_lexicon_are_skipped():
    assert lexicon.lookup("") == []
    assert lexicon.lookup("xyzzy qwerty") == []
    matches = lexicon.lookup("xyzzy kinderopvang qwerty")
    assert [(m.start, m.end) for m in matches] == [(1, 2)]


def test_domains_are_counted_from_headings():
    counts = lexicon.domains(TEXT)
    assert sum(counts.values()) == len(DATA_LINES)
    assert "" not in counts  # every entry sits under a domain heading
    assert len(counts) >= 15


def test_module_is_engine_neutral():
    import ast
    tree = ast.parse(open(lexicon.__file__, encoding="utf-8").read())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"whoosh", "sqlalchemy", "psycopg", "flask", "flask_sqlalchemy"}


def test_lexicon_covers_the_glossary():
    # The lexicon is meant to replace search/glossary.tsv: (almost) every glossary term is a
    # variant of some entry; the few left are plurals the engine's stemming already meets.
    table, _longest = lexicon.build_index(lexicon.load())
    pairs = [line.split("\t") for line in (lexicon.LEXICON_PATH.with_name("glossary.tsv")
                                          .read_text(encoding="utf-8").splitlines())
             if line.strip() and not line.startswith("#")]
    for side, lang in ((0, "nl"), (1, "fr")):
        missing = [p[side] for p in pairs if lexicon.key(p[side]) not in table[lang]]
        assert len(missing) <= len(pairs) // 20, missing


def test_a_multiword_variant_keeps_two_words_after_prepositions_are_skipped():
    # "sur mesure" would otherwise match every "mesure", "en ligne" every "ligne".
    allowed = {"à l'unanimité"}
    for entry in lexicon.load():
        for lang in lexicon.LANGUAGES:
            for variant in entry.variants(lang):
                if len(lexicon.words(variant)) > 1 and variant not in allowed:
                    assert len(lexicon.key(variant)) > 1, (entry.line, variant)
