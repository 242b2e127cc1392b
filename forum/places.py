"""Provinces of the Netherlands and Belgium (ISO 3166-2 codes, Dutch and French names) and time zones."""
import re
import unicodedata
from collections import namedtuple

COUNTRIES = ("NL", "BE")
# Each country's local time: events and deadlines are shown in it.
TIME_ZONES = {"NL": "Europe/Amsterdam", "BE": "Europe/Brussels"}

Province = namedtuple("Province", "code country nl fr")

# Stored everywhere by code (threads, initiatives, organisations); names are only shown.
# The names are proper names, not interface text, so they stay out of the gettext catalogue.
# Dutch: the official names. Friesland's official name is Fryslân (since 1997), so that
# is the Dutch name shown; "Friesland" is still what most people type, so it is an alias
# below (import, directory filters) and searchable with the province. French: the usual
# exonyms ("Frise", "Gueldre", "Hollande-Septentrionale", ...). Brussels is a region, not a
# province, but councils there need a place in the list: BE-BRU, its ISO code.
PROVINCES = (
    Province("NL-DR", "NL", "Drenthe", "Drenthe"),
    Province("NL-FL", "NL", "Flevoland", "Flevoland"),
    Province("NL-FR", "NL", "Fryslân", "Frise"),
    Province("NL-GE", "NL", "Gelderland", "Gueldre"),
    Province("NL-GR", "NL", "Groningen", "Groningue"),
    Province("NL-LI", "NL", "Limburg", "Limbourg"),
    Province("NL-NB", "NL", "Noord-Brabant", "Brabant-Septentrional"),
    Province("NL-NH", "NL", "Noord-Holland", "Hollande-Septentrionale"),
    Province("NL-OV", "NL", "Overijssel", "Overijssel"),
    Province("NL-UT", "NL", "Utrecht", "Utrecht"),
    Province("NL-ZE", "NL", "Zeeland", "Zélande"),
    Province("NL-ZH", "NL", "Zuid-Holland", "Hollande-Méridionale"),
    Province("BE-VAN", "BE", "Antwerpen", "Anvers"),
    Province("BE-VLI", "BE", "Limburg", "Limbourg"),
    Province("BE-VOV", "BE", "Oost-Vlaanderen", "Flandre-Orientale"),
    Province("BE-VWV", "BE", "West-Vlaanderen", "Flandre-Occidentale"),
    Province("BE-VBR", "BE", "Vlaams-Brabant", "Brabant flamand"),
    Province("BE-BRU", "BE", "Brussel", "Bruxelles"),
    Province("BE-WBR", "BE", "Waals-Brabant", "Brabant wallon"),
    Province("BE-WHT", "BE", "Henegouwen", "Hainaut"),
    Province("BE-WLG", "BE", "Luik", "Liège"),
    Province("BE-WLX", "BE", "Luxemburg", "Luxembourg"),
    Province("BE-WNA", "BE", "Namen", "Namur"),
)
BY_CODE = {p.code: p for p in PROVINCES}
CODES = frozenset(BY_CODE)

# Other spellings people write (and that older Agora versions stored for organisations).
ALIASES = {
    "Friesland": "NL-FR",
    "Brussels Hoofdstedelijk Gewest": "BE-BRU",
    "Région de Bruxelles-Capitale": "BE-BRU",
    "Bruxelles-Capitale": "BE-BRU",
}
_QUALIFIER = re.compile(r"^(.*?)\s*\((nl|be)\)$")


def fold(text):
    """Lower case without accents: 'Liège', 'liege' and 'LIEGE' compare equal."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _names():
    names = {}
    for p in PROVINCES:
        for name in (p.nl, p.fr):
            names.setdefault(fold(name), []).append(p.code)
    for name, code in ALIASES.items():
        names.setdefault(fold(name), []).append(code)
    return {name: tuple(dict.fromkeys(codes)) for name, codes in names.items()}


_BY_NAME = _names()


def find_province(text, country=None):
    """The code of a province given by code or by any known name, in either language, with
    or without accents; None when unknown, or ambiguous ("Limburg" without a country)."""
    text = str(text or "").strip()
    if text.upper() in CODES:
        code = text.upper()
        return code if not country or BY_CODE[code].country == country else None
    key = fold(text)
    qualified = _QUALIFIER.match(key)  # "Limburg (BE)", as lists show it
    if qualified:
        key, named_country = qualified.group(1), qualified.group(2).upper()
        if country and country != named_country:
            return None
        country = named_country
    codes = [c for c in _BY_NAME.get(key, ()) if not country or BY_CODE[c].country == country]
    return codes[0] if len(codes) == 1 else None


def country_of(code):
    """'NL' or 'BE' for a province code; None for anything else."""
    province = BY_CODE.get(code)
    return province.country if province else None


def time_zone(country):
    """The IANA time zone name of a country (NL or BE)."""
    return TIME_ZONES[country]


def province_name(code, lang):
    """The province's name in `lang` (nl or fr); a value that is not a code is returned as
    stored, so nothing an older version wrote disappears from a page."""
    province = BY_CODE.get(code)
    if province is None:
        return code or ""
    return province.fr if lang == "fr" else province.nl


def province_label(code, lang):
    """The name, with its country where two countries use it ("Limburg (NL)"), for lists
    that mix both countries."""
    name = province_name(code, lang)
    if code in CODES and len(_BY_NAME.get(fold(name), ())) > 1:
        return f"{name} ({BY_CODE[code].country})"
    return name


def province_names(code):
    """Every name a province goes by (both languages and aliases): what search indexes."""
    province = BY_CODE.get(code)
    if province is None:
        return [code] if code else []
    names = {province.nl, province.fr} | {name for name, c in ALIASES.items() if c == code}
    return sorted(names)


def province_choices(lang, codes=None, country=None):
    """(code, label) pairs for a select menu, Dutch provinces first, in table order;
    narrowed to `codes` (those in use) and to one `country` when given."""
    return [(p.code, province_label(p.code, lang)) for p in PROVINCES
            if (codes is None or p.code in codes) and (not country or p.country == country)]
