"""forum/places.py: the one table of provinces, its lookups and the countries' time zones."""
from zoneinfo import ZoneInfo

import pytest

from forum.places import (
    CODES, PROVINCES, TIME_ZONES, country_of, find_province, province_choices, province_label, province_name,
    province_names, time_zone,
)


def test_every_province_has_an_iso_code_of_its_country_and_two_names():
    assert len(CODES) == len(PROVINCES) == 23
    for p in PROVINCES:
        assert p.code.split("-")[0] == p.country and p.nl and p.fr
    assert {"NL-DR", "NL-ZH", "BE-VAN", "BE-WNA", "BE-BRU"} <= CODES


@pytest.mark.parametrize("text,country,code", [
    ("NL-FR", None, "NL-FR"), ("be-wlg", None, "BE-WLG"), ("Fryslân", None, "NL-FR"), ("Friesland", "NL", "NL-FR"),
    ("Frise", None, "NL-FR"), ("LIEGE", None, "BE-WLG"), ("Luik", "BE", "BE-WLG"), ("Limburg", "BE", "BE-VLI"),
    ("Limbourg (NL)", None, "NL-LI"), ("Région de Bruxelles-Capitale", None, "BE-BRU"),
    ("  Noord-Brabant ", None, "NL-NB"),
])
def test_find_province_by_code_or_any_known_name(text, country, code):
    assert find_province(text, country) == code


@pytest.mark.parametrize("text,country", [
    ("Limburg", None), ("Luik", "NL"), ("NL-UT", "BE"), ("Westhoek", None), ("", None), ("NL-XX", None),
])
def test_unknown_ambiguous_or_foreign_provinces_are_not_found(text, country):
    assert find_province(text, country) is None


def test_names_labels_and_choices_in_both_languages():
    assert (province_name("NL-FR", "nl"), province_name("NL-FR", "fr")) == ("Fryslân", "Frise")
    assert province_name("Westhoek", "nl") == "Westhoek"  # stored by an older version: shown as is
    assert province_label("BE-VLI", "fr") == "Limbourg (BE)" and province_label("BE-WLG", "fr") == "Liège"
    assert "Friesland" in province_names("NL-FR") and "Frise" in province_names("NL-FR")
    belgian = province_choices("fr", country="BE")
    assert ("BE-WHT", "Hainaut") in belgian and all(code.startswith("BE-") for code, _ in belgian)
    assert province_choices("nl", codes={"NL-UT", "BE-VAN"}) == [("NL-UT", "Utrecht"), ("BE-VAN", "Antwerpen")]


def test_each_country_has_a_time_zone():
    assert country_of("BE-BRU") == "BE" and country_of("Utrecht") is None
    assert time_zone("NL") == "Europe/Amsterdam" and time_zone("BE") == "Europe/Brussels"
    for name in TIME_ZONES.values():
        ZoneInfo(name)
