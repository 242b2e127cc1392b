"""Province names in Dutch and French, so the directory filters speak the reader's language."""
import unicodedata

# (country, Dutch name, French name). Proper names, not interface text: they stay out of
# the gettext catalogue. Limburg exists in both countries, hence the country in the key.
PROVINCES = [
    ("NL", "Drenthe", "Drenthe"),
    ("NL", "Flevoland", "Flevoland"),
    ("NL", "Friesland", "Frise"),
    ("NL", "Gelderland", "Gueldre"),
    ("NL", "Groningen", "Groningue"),
    ("NL", "Limburg", "Limbourg"),
    ("NL", "Noord-Brabant", "Brabant-Septentrional"),
    ("NL", "Noord-Holland", "Hollande-Septentrionale"),
    ("NL", "Overijssel", "Overijssel"),
    ("NL", "Utrecht", "Utrecht"),
    ("NL", "Zeeland", "Zélande"),
    ("NL", "Zuid-Holland", "Hollande-Méridionale"),
    ("BE", "Antwerpen", "Anvers"),
    ("BE", "Limburg", "Limbourg"),
    ("BE", "Oost-Vlaanderen", "Flandre-Orientale"),
    ("BE", "West-Vlaanderen", "Flandre-Occidentale"),
    ("BE", "Vlaams-Brabant", "Brabant flamand"),
    ("BE", "Brussel", "Bruxelles"),
    ("BE", "Waals-Brabant", "Brabant wallon"),
    ("BE", "Henegouwen", "Hainaut"),
    ("BE", "Luik", "Liège"),
    ("BE", "Luxemburg", "Luxembourg"),
    ("BE", "Namen", "Namur"),
]
ALIASES = {"fryslan": "friesland", "brussels hoofdstedelijk gewest": "brussel",
           "region de bruxelles-capitale": "brussel", "bruxelles-capitale": "brussel"}


def fold(text):
    """Lower case without accents: 'Liège', 'liege' and 'LIEGE' compare equal."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


_BY_NAME = {}
for _country, _nl, _fr in PROVINCES:
    for _name in (_nl, _fr):
        _BY_NAME.setdefault((_country, fold(_name)), (_country, _nl, _fr))


def _lookup(country, name):
    key = fold(name)
    key = ALIASES.get(key, key)
    found = _BY_NAME.get((country, key))
    if found is None and not country:
        found = next((v for (c, n), v in _BY_NAME.items() if n == key), None)
    return found


def province_key(country, name):
    """One key per province whichever language it was stored in."""
    found = _lookup(country, name)
    return f"{found[0]}:{fold(found[1])}" if found else f"{country}:{fold(name)}"


def province_label(country, name, lang):
    """The province's name in `lang` (as stored when we do not know it)."""
    found = _lookup(country, name)
    if not found:
        return name
    return found[2] if lang == "fr" else found[1]
