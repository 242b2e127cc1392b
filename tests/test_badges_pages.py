"""Member directory, verification pages and the members' Badge page."""
import re
from datetime import date, timedelta
from html import unescape

import pytest
from flask_babel import force_locale

from forum.extensions import db
from forum.models import Organisation
from tests.conftest import tr_html


def text_of(response):
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def listed(html):
    """Names linked from the directory list."""
    block = re.search(r'<ul class="list member-list">(.*?)</ul>', html, re.S)
    return [unescape(n) for n in re.findall(r'<a href="/\w\w/members/[^"]+"[^>]*>([^<]+)</a>', block.group(1))] if block else []


@pytest.fixture
def councils(make_org):
    today = date.today()
    return {
        "utrecht": make_org(name="Adviesraad Sociaal Domein Utrecht", municipality="Utrecht", province="NL-UT"),
        "zeist": make_org(name="Wmo-raad Zeist", municipality="Zeist", province="NL-UT"),
        "leeuwarden": make_org(name="Cliëntenraad Leeuwarden", municipality="Leeuwarden", province="NL-FR"),
        "liege": make_org(name="Conseil consultatif des aînés de Liège", municipality="Liège", province="BE-WLG",
                          country="BE", language="fr"),
        "gent": make_org(name="Adviesraad Welzijn Gent", municipality="Gent", province="BE-VOV", country="BE"),
        "lapsed": make_org(name="Adviesraad Vervallen", membership_status="lapsed"),
        "ended": make_org(name="Adviesraad Opgeheven", membership_status="ended"),
        "pending": make_org(name="Adviesraad Aangemeld", membership_status="pending"),
        "expired": make_org(name="Adviesraad Verlopen", member_until=today - timedelta(days=1)),
    }


# -- directory --------------------------------------------------------------------------------

def test_directory_lists_active_members_only(client, councils):
    names = listed(text_of(client.get("/nl/members")))
    assert set(names) == {c.name for key, c in councils.items()
                          if key not in ("lapsed", "ended", "pending", "expired")}
    assert names == sorted(names, key=lambda n: n.casefold().replace("ë", "e"))


def test_directory_search_and_filters(app, client, councils):
    # Accent- and case-insensitive name search.
    assert listed(text_of(client.get("/nl/members?q=clientenraad"))) == ["Cliëntenraad Leeuwarden"]
    assert listed(text_of(client.get("/fr/members?q=AINES liege"))) == ["Conseil consultatif des aînés de Liège"]
    assert set(listed(text_of(client.get("/nl/members?country=BE")))) == {
        "Conseil consultatif des aînés de Liège", "Adviesraad Welzijn Gent"}
    # Provinces are codes; a name in either language (Luik is Liège) works in a typed address.
    assert listed(text_of(client.get("/nl/members?province=BE-WLG"))) == ["Conseil consultatif des aînés de Liège"]
    assert listed(text_of(client.get("/nl/members?province=Friesland"))) == ["Cliëntenraad Leeuwarden"]
    assert listed(text_of(client.get("/nl/members?province=Luik"))) == ["Conseil consultatif des aînés de Liège"]
    assert listed(text_of(client.get("/fr/members?province=Liège"))) == ["Conseil consultatif des aînés de Liège"]
    assert set(listed(text_of(client.get("/nl/members?country=NL&province=Utrecht")))) == {
        "Adviesraad Sociaal Domein Utrecht", "Wmo-raad Zeist"}
    assert listed(text_of(client.get("/nl/members?municipality=zeist"))) == ["Wmo-raad Zeist"]
    html = text_of(client.get("/nl/members?q=nothing-like-this"))
    assert listed(html) == []
    assert tr_html(app, "No member council matches your search. Try fewer words or clear the filters.", "nl") in html


def test_directory_filter_choices_in_both_languages(client, councils):
    nl = text_of(client.get("/nl/members?country=BE"))
    fr = text_of(client.get("/fr/members?country=BE"))
    assert '<option value="BE-WLG">Luik</option>' in nl and '<option value="BE-VOV">Oost-Vlaanderen</option>' in nl
    assert '<option value="BE-WLG">Liège</option>' in fr and '<option value="BE-VOV">Flandre-Orientale</option>' in fr
    assert 'value="NL-UT"' not in nl, "provinces narrow to the chosen country"
    chosen = text_of(client.get("/fr/members?province=NL-FR"))
    assert '<option value="NL-FR" selected>Frise</option>' in chosen
    assert "Leeuwarden, Frise" in chosen
    assert '<html lang="fr">' in fr
    # The French council's name is marked as French on the Dutch page.
    assert 'lang="fr">Conseil consultatif' in nl


def test_directory_in_menu(client, councils):
    assert 'href="/nl/members"' in text_of(client.get("/nl/about"))


# -- verification pages --------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_verification_page_of_a_member(app, client, councils, lang):
    org = councils["utrecht"]
    html = text_of(client.get(f"/{lang}/members/{org.slug}"))
    sentence = tr_html(app, "%(name)s is a member of %(umbrella)s.", lang, name=org.name, umbrella="Koepel Adviesraden")
    assert f'<p class="verify-status member">{sentence}</p>' in html
    assert "<dd>Utrecht</dd>" in html and tr_html(app, "Active member", lang) in html
    assert "2020" in html  # member since
    assert f'src="/badge/{org.slug}.svg?lang={lang}&amp;style=compact&amp;theme=light"' in html
    assert f'src="/badge/{org.slug}.svg?lang={lang}&amp;style=seal&amp;theme=light"' in html
    textarea = re.search(r'<textarea id="verify-snippet"[^>]*>(.*?)</textarea>', html, re.S)
    assert textarea and "readonly" in textarea.group(0)
    snippet = unescape(textarea.group(1))
    assert snippet.startswith(f'<a href="http://agora.test/{lang}/members/{org.slug}"><img src="http://agora.test/badge/{org.slug}.svg?lang={lang}')
    alt = "Aangesloten bij Koepel Adviesraden" if lang == "nl" else "Membre de Koepel Adviesraden"
    assert f'alt="{alt}' in snippet
    assert 'data-copy="verify-snippet"' in html


@pytest.mark.parametrize("key, state, msgid", [
    ("lapsed", "former", "%(name)s is no longer a member of %(umbrella)s: its membership has lapsed."),
    ("ended", "former", "%(name)s is no longer a member of %(umbrella)s: its membership has ended."),
    ("expired", "former", "%(name)s is no longer a member of %(umbrella)s: its membership ran until %(date)s."),
])
def test_verification_page_says_plainly_when_not_a_member(app, client, councils, key, state, msgid):
    from flask_babel import format_date

    org = councils[key]
    for lang in ("nl", "fr"):
        html = text_of(client.get(f"/{lang}/members/{org.slug}"))
        with app.test_request_context(f"/{lang}/"), force_locale(lang):
            date_text = format_date(org.member_until, "long") if org.member_until else ""
        sentence = tr_html(app, msgid, lang, name=org.name, umbrella="Koepel Adviesraden", date=date_text)
        assert f'<p class="verify-status {state}">{sentence}</p>' in html
        assert "/badge/" not in html and "<textarea" not in html


def test_verification_page_follows_status_at_once(app, client, councils):
    org = councils["zeist"]
    assert 'class="verify-status member"' in text_of(client.get(f"/nl/members/{org.slug}"))
    with app.app_context():
        db.session.get(Organisation, org.id).membership_status = "ended"
        db.session.commit()
    html = text_of(client.get(f"/nl/members/{org.slug}"))
    assert 'class="verify-status former"' in html and tr_html(app, "Membership ended", "nl") in html


def test_a_council_proposed_at_registration_is_public_only_once_approved(app, client, make_user):
    """Anyone can register and type a council's name: until a moderator admits the council it
    has no verification page, no badge and no place in the directory (404 as an unknown slug)."""
    from tests.conftest import PASSWORD, login

    name = "Raad van Verzonnen Dingen"
    response = client.post_form("/nl/register", {
        "email": "nieuw@example.org", "name": "Nieuwe Secretaris", "password": PASSWORD,
        "password_confirm": PASSWORD, "locale": "nl", "accept_terms": "y", "org_country": "NL",
        "org_not_listed": "y", "org_name": name, "org_municipality": "Nergenshuizen"})
    assert response.status_code == 302
    with app.app_context():
        org = db.session.scalar(db.select(Organisation).where(Organisation.name == name))
        user = org.users[0]
        assert (org.membership_status, user.status) == ("pending", "unconfirmed")
        slug, user_id = org.slug, user.id
    anonymous = app.test_client()
    unknown = anonymous.get("/nl/members/no-such-council")
    for lang in ("nl", "fr"):
        page = anonymous.get(f"/{lang}/members/{slug}")
        assert page.status_code == 404 and name not in page.get_data(as_text=True)
    assert page.get_data(as_text=True).replace(slug, "") == \
        anonymous.get("/fr/members/no-such-council").get_data(as_text=True).replace("no-such-council", "")
    assert unknown.status_code == 404
    assert anonymous.get(f"/badge/{slug}.svg").status_code == 404
    assert name not in anonymous.get("/nl/members?q=verzonnen").get_data(as_text=True)
    assert name not in anonymous.get("/api/v1/organisations").get_data(as_text=True)

    # Confirmed, then admitted together with the person: now the council is public.
    with app.app_context():
        db.session.get(type(user), user_id).status = "pending"
        db.session.commit()
    login(client, make_user(role="moderator"))
    client.post_form(f"/nl/mod/registrations/{user_id}/approve", {"admit_organisation": "y"})
    page = text_of(anonymous.get(f"/nl/members/{slug}"))
    assert 'class="verify-status member"' in page and name in page
    assert anonymous.get(f"/badge/{slug}.svg").status_code == 200


# -- the members' Badge page --------------------------------------------------------------------

def test_badge_page_needs_a_member(client):
    response = client.get("/nl/badge")
    assert response.status_code == 302 and "/nl/login" in response.headers["Location"]


def test_badge_page_shows_every_variant_and_the_snippets(app, client, make_user, login_as):
    user = make_user()
    login_as(user)
    html = text_of(client.get("/nl/badge"))
    with client.application.app_context():
        slug = db.session.get(Organisation, user.organisation_id).slug
    previews = re.findall(rf'<img src="/badge/{slug}\.svg\?lang=(\w+)&amp;style=(\w+)&amp;theme=(\w+)"', html)
    assert len(set(previews)) == 8  # 2 languages x 2 designs x 2 themes
    snippets = {m.group(1): unescape(m.group(2)) for m in
                re.finditer(r'<textarea id="([\w-]+)"[^>]*readonly[^>]*>(.*?)</textarea>', html, re.S)}
    assert f'src="http://agora.test/badge/{slug}.svg?lang=nl&amp;style=compact&amp;theme=light"' in snippets["website-snippet"]
    assert f'src="http://agora.test/badge/{slug}.png?lang=nl&amp;style=compact&amp;theme=light&amp;scale=2"' in snippets["signature-snippet"]
    assert 'width="320" height="80"' in snippets["signature-snippet"]
    assert f'href="http://agora.test/nl/members/{slug}"' in snippets["signature-snippet"]
    assert 'data-copy="website-snippet"' in html and 'data-copy="signature-snippet"' in html
    # The signature preview is live HTML (the same as the snippet).
    assert f'<div class="signature-preview"><a href="http://agora.test/nl/members/{slug}"><img' in html
    assert f"/badge/{slug}.png?lang=nl&amp;style=compact&amp;theme=light&amp;scale=print&amp;download=1" in html
    assert tr_html(app, "%(width)d × %(height)d pixels, %(dpi)d dpi: %(mm_w)s × %(mm_h)s mm", "nl",
             width=945, height=236, dpi=300, mm_w=80, mm_h=20) in html
    for client_name in ("Outlook", "Gmail", "Apple Mail", "Thunderbird"):
        assert f"<h3>{client_name}</h3>" in html


def test_badge_page_variant_choice(client, make_user, login_as):
    user = make_user()
    login_as(user)
    html = text_of(client.get("/fr/badge?badge_lang=fr&style=seal&theme=dark"))
    website = unescape(re.search(r'<textarea id="website-snippet"[^>]*>(.*?)</textarea>', html, re.S).group(1))
    assert "lang=fr&amp;style=seal&amp;theme=dark" in website and 'width="200" height="200"' in website
    assert 'alt="Membre de Koepel Adviesraden' in website
    # An unknown choice on this page falls back to the default instead of failing.
    assert "style=compact" in text_of(client.get("/nl/badge?style=banner"))


@pytest.mark.parametrize("status, msgid", [
    ("lapsed", "The membership of %(name)s has lapsed, so there is no membership badge. Badges already on "
               "websites or in e-mails now read “not a member (anymore)”. Contact %(umbrella)s to renew the membership."),
    ("ended", "The membership of %(name)s has ended, so there is no membership badge. Badges already on "
              "websites or in e-mails now read “not a member (anymore)”."),
    ("pending", "The membership of %(name)s has not been activated yet. The badge becomes available as soon "
                "as %(umbrella)s confirms the membership."),
])
def test_badge_page_explains_why_there_is_none(app, client, make_org, make_user, login_as, status, msgid):
    org = make_org(membership_status=status)
    user = make_user(organisation=org)
    login_as(user)
    html = text_of(client.get("/nl/badge"))
    assert tr_html(app, msgid, "nl", name=org.name, umbrella="Koepel Adviesraden") in html
    assert "<textarea" not in html and "/badge/" not in html.replace('href="/nl/badge"', "")


def test_own_council_page_links_to_the_badge_page(client, make_user, login_as, make_org):
    user = make_user()
    other = make_org()
    login_as(user)
    with client.application.app_context():
        slug = db.session.get(Organisation, user.organisation_id).slug
    assert 'href="/nl/badge"' in text_of(client.get(f"/nl/members/{slug}"))
    assert 'href="/nl/badge"' not in text_of(client.get(f"/nl/members/{other.slug}"))


def test_prune_cache_command(app, client, runner, make_org):
    import os
    import time
    from pathlib import Path

    org = make_org()
    client.get(f"/badge/{org.slug}.svg")
    client.get(f"/badge/{org.slug}.png")
    folder = Path(app.config["BADGE_CACHE_PATH"])
    old, new = sorted(folder.iterdir())[:2]
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    result = runner.invoke(args=["badges", "prune-cache", "--days", "30"])
    assert result.exit_code == 0 and "removed 1 file" in result.output
    assert not old.exists() and new.exists()
