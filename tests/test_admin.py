"""Administration through HTTP: themes, roles, organisations, merges, organisation changes, overview."""
import re
from datetime import date, timedelta

import pytest

from forum.extensions import db
from forum.models import (
    Flag, Notification, Organisation, OrganisationChangeRequest, SearchOutbox, Theme, Thread,
    User, utcnow,
)
from tests.conftest import Mailbox, audit, load, login


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", name="Beheerder Anna")


def _outbox(app, object_type):
    with app.app_context():
        return [r.object_id for r in db.session.scalars(
            db.select(SearchOutbox).where(SearchOutbox.object_type == object_type))]


def _keep_outbox(app):
    """Stop the search area draining the outbox after each request, so tests can read it."""
    app.config["SEARCH_SYNC_AFTER_REQUEST"] = False


# -- themes ----------------------------------------------------------------------------

THEME = {"slug": "wmo-en-zorg", "name_nl": "Wmo en zorg", "name_fr": "Aide sociale et soins",
         "description_nl": "Over de Wmo.", "description_fr": "Sur l'aide sociale.",
         "visibility": "members", "post_policy": "everyone"}


def test_admin_creates_a_theme_with_names_in_both_languages(app, client, admin):
    login(client, admin)
    assert client.get("/nl/admin/themes/new").status_code == 200
    response = client.post_form("/nl/admin/themes/new", THEME)
    assert response.status_code == 302
    page = client.get("/nl/admin/themes").get_data(as_text=True)
    assert "Wmo en zorg" in page and "Aide sociale et soins" in page
    with app.app_context():
        theme = db.session.scalar(db.select(Theme).where(Theme.slug == "wmo-en-zorg"))
        assert theme.name_fr == "Aide sociale et soins" and theme.visibility == "members"
        theme_id = theme.id
    entry = audit(app, "create_theme")[-1]
    assert entry.actor_id == admin.id and entry.target_id == theme_id
    # The new theme is what members see on the themes page, in French too.
    login_page = client.get("/fr/themes").get_data(as_text=True)
    assert "Aide sociale et soins" in login_page


def test_theme_errors_are_shown_next_to_the_field_and_nothing_is_saved(app, client, admin, make_theme):
    make_theme(slug="bestaat-al")
    login(client, admin)
    response = client.post_form("/nl/admin/themes/new", dict(THEME, slug="bestaat-al", name_nl="Mijn naam"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="slug-error"' in page and "Mijn naam" in page
    response = client.post_form("/nl/admin/themes/new", dict(THEME, slug="Met Spaties!"))
    assert response.status_code == 400 and 'id="slug-error"' in response.get_data(as_text=True)
    response = client.post_form("/nl/admin/themes/new", dict(THEME, name_fr=""))
    assert response.status_code == 400 and 'id="name_fr-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Theme.id))) == 1
    assert audit(app, "create_theme") == []


def test_rename_and_visibility_change_enqueue_a_search_update(app, client, admin, make_theme):
    _keep_outbox(app)
    theme = make_theme(visibility="members")
    login(client, admin)
    form = client.get(f"/nl/admin/themes/{theme.id}").get_data(as_text=True)
    assert theme.name_nl in form
    data = dict(THEME, name_nl="Nieuwe naam", name_fr="Nouveau nom", visibility="members")
    data.pop("slug")
    assert client.post_form(f"/nl/admin/themes/{theme.id}", data).status_code == 302
    assert _outbox(app, "theme") == []  # a rename does not change what the index holds
    data["visibility"] = "public"
    assert client.post_form(f"/fr/admin/themes/{theme.id}", data).status_code == 302
    saved = load(app, Theme, theme.id)
    assert (saved.name_nl, saved.name_fr, saved.visibility, saved.slug) == ("Nieuwe naam", "Nouveau nom", "public", theme.slug)
    assert _outbox(app, "theme") == [theme.id]
    changes = [e.details["changes"] for e in audit(app, "update_theme")]
    assert "name_nl" in changes[0] and changes[1] == {"visibility": ["members", "public"]}


def test_themes_move_up_and_down(app, client, admin, make_theme):
    a, b, c = make_theme(), make_theme(), make_theme()
    login(client, admin)

    def order():
        with app.app_context():
            return [t.id for t in db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id))]

    assert order() == [a.id, b.id, c.id]
    assert client.post_form(f"/nl/admin/themes/{c.id}/move", {"direction": "up"}).status_code == 302
    assert order() == [a.id, c.id, b.id]
    client.post_form(f"/nl/admin/themes/{a.id}/move", {"direction": "down"})
    assert order() == [c.id, a.id, b.id]
    client.post_form(f"/nl/admin/themes/{c.id}/move", {"direction": "up"})  # already first: no change
    assert order() == [c.id, a.id, b.id]
    assert client.post_form(f"/nl/admin/themes/{c.id}/move", {"direction": "sideways"}).status_code == 400
    assert len(audit(app, "move_theme")) == 3


# -- roles -----------------------------------------------------------------------------

def test_admin_changes_roles_and_the_last_admin_cannot_step_down(app, client, admin, make_user):
    member = make_user(name="Gewoon Lid")
    login(client, admin)
    page = client.get("/nl/admin/users?q=gewoon").get_data(as_text=True)
    assert f'id="user-{member.id}"' in page and f'id="user-{admin.id}"' not in page
    for role in ("moderator", "admin", "member"):
        assert client.post_form(f"/nl/admin/users/{member.id}/role", {"role": role}).status_code == 302
        assert load(app, User, member.id).role == role
    assert [e.details["new"] for e in audit(app, "set_role")] == ["moderator", "admin", "member"]
    # Alone as administrator: stepping down is refused with a message.
    response = client.post_form(f"/nl/admin/users/{admin.id}/role", {"role": "member"}, follow_redirects=True)
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert load(app, User, admin.id).role == "admin"
    # With a second admin it is allowed.
    client.post_form(f"/nl/admin/users/{member.id}/role", {"role": "admin"})
    client.post_form(f"/nl/admin/users/{admin.id}/role", {"role": "member"})
    assert load(app, User, admin.id).role == "member"
    assert client.get("/nl/admin/users").status_code == 403  # no longer an administrator


def test_role_choice_outside_the_list_is_refused(app, client, admin, make_user):
    member = make_user()
    login(client, admin)
    assert client.post_form(f"/nl/admin/users/{member.id}/role", {"role": "god"}).status_code == 400
    assert load(app, User, member.id).role == "member"


def test_moderators_and_members_cannot_manage(app, client, make_user, make_theme):
    theme = make_theme()
    moderator = make_user(role="moderator")
    member = make_user()
    login(client, moderator)
    assert client.get("/nl/admin/").status_code == 200
    assert client.get("/nl/admin/org-requests").status_code == 200
    for path in ("/nl/admin/themes", "/nl/admin/users", "/nl/admin/organisations"):
        assert client.get(path).status_code == 403, path
    assert client.post_form(f"/nl/admin/users/{member.id}/role", {"role": "admin"}).status_code == 403
    assert client.post_form(f"/nl/admin/themes/{theme.id}/move", {"direction": "up"}).status_code == 403
    assert load(app, User, member.id).role == "member"
    client.post_form("/nl/logout")
    login(client, member)
    assert client.get("/nl/admin/").status_code == 403
    assert client.get("/nl/admin/org-requests").status_code == 403


# -- organisations ---------------------------------------------------------------------

ORG = {"name": "Adviesraad Sociaal Domein Zeewolde", "kind": "adviesraad", "municipality": "Zeewolde",
       "province": "NL-FL", "country": "NL", "language": "nl", "website": "https://asd-zeewolde.nl",
       "membership_status": "active", "member_since": "2024-01-01", "member_until": ""}


def test_admin_creates_and_edits_an_organisation(app, client, admin):
    login(client, admin)
    assert client.get("/fr/admin/organisations/new").status_code == 200
    response = client.post_form("/nl/admin/organisations/new", ORG)
    assert response.status_code == 302
    with app.app_context():
        org = db.session.scalar(db.select(Organisation).where(Organisation.name == ORG["name"]))
        assert org.slug and org.membership_status == "active" and org.member_since == date(2024, 1, 1)
        assert org.province == "NL-FL"
        org_id = org.id
    assert "Zeewolde" in client.get("/nl/admin/organisations").get_data(as_text=True)
    edit = {k: ORG[k] for k in ("name", "kind", "municipality", "province", "country", "language", "website")}
    edit.update(name="ASD Zeewolde", website="geen-url")
    response = client.post_form(f"/nl/admin/organisations/{org_id}", edit)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="website-error"' in page and "ASD Zeewolde" in page
    assert load(app, Organisation, org_id).name == ORG["name"]
    edit["website"] = "https://asd.zeewolde.nl"
    assert client.post_form(f"/nl/admin/organisations/{org_id}", edit).status_code == 302
    assert load(app, Organisation, org_id).name == "ASD Zeewolde"
    assert audit(app, "create_organisation") and audit(app, "update_organisation")


def test_organisation_province_is_a_code_of_its_country(app, client, admin, make_org):
    org = make_org(province="NL-UT")
    login(client, admin)
    page = client.get(f"/fr/admin/organisations/{org.id}").get_data(as_text=True)
    assert '<option selected value="NL-UT">Utrecht</option>' in page
    assert '>Frise</option>' in page and '>Limbourg (BE)</option>' in page
    edit = {k: ORG[k] for k in ("name", "kind", "municipality", "country", "language", "website")}
    response = client.post_form(f"/nl/admin/organisations/{org.id}", dict(edit, province="BE-WLG"))
    assert response.status_code == 400 and 'id="province-error"' in response.get_data(as_text=True)
    assert load(app, Organisation, org.id).province == "NL-UT"
    assert client.post_form(f"/nl/admin/organisations/{org.id}", dict(edit, province="NL-FR")).status_code == 302
    assert load(app, Organisation, org.id).province == "NL-FR"


def test_a_province_name_the_migration_did_not_know_survives_an_edit(app, client, admin, make_org):
    org = make_org(province="Westhoek")  # stored by an older version, not a province
    login(client, admin)
    assert '<option selected value="Westhoek">Westhoek</option>' in client.get(
        f"/nl/admin/organisations/{org.id}").get_data(as_text=True)
    edit = {k: ORG[k] for k in ("name", "kind", "municipality", "country", "language", "website")}
    assert client.post_form(f"/nl/admin/organisations/{org.id}", dict(edit, province="Westhoek")).status_code == 302
    assert load(app, Organisation, org.id).province == "Westhoek"
    # ...but it cannot be typed in anew.
    response = client.post_form(f"/nl/admin/organisations/{org.id}", dict(edit, province="Elders"))
    assert response.status_code == 400 and 'id="province-error"' in response.get_data(as_text=True)


def test_membership_status_and_dates(app, client, admin, make_org):
    org = make_org(membership_status="pending", member_since=None)
    before = load(app, Organisation, org.id).badge_version
    login(client, admin)
    response = client.post_form(f"/nl/admin/organisations/{org.id}/membership", {
        "membership_status": "active", "member_since": "2025-02-01", "member_until": "2024-12-31"})
    assert response.status_code == 400 and 'id="member_until-error"' in response.get_data(as_text=True)
    assert load(app, Organisation, org.id).membership_status == "pending"
    for status in ("active", "lapsed", "ended"):
        response = client.post_form(f"/nl/admin/organisations/{org.id}/membership", {
            "membership_status": status, "member_since": "2025-02-01",
            "member_until": "2026-01-31" if status == "ended" else "", "reason": "ALV-besluit"})
        assert response.status_code == 302
        assert load(app, Organisation, org.id).membership_status == status
    saved = load(app, Organisation, org.id)
    assert saved.member_since == date(2025, 2, 1) and saved.member_until == date(2026, 1, 31)
    entries = audit(app, "set_membership")
    assert len(entries) == 3 and entries[0].reason == "ALV-besluit"
    assert entries[0].details["changes"]["membership_status"] == ["pending", "active"]
    assert saved.badge_version > before  # the badges' ORM event bumps it on every certified change


def test_merge_moves_members_and_threads_and_hides_the_duplicate(app, client, admin, make_org, make_user,
                                                                 make_thread):
    survivor = make_org(name="Adviesraad Sociaal Domein Almere")
    duplicate = make_org(name="ASD Almere (dubbel)")
    person = make_user(organisation=duplicate)
    thread = make_thread(author=person)
    login(client, admin)
    page = client.get(f"/nl/admin/organisations/{duplicate.id}/merge").get_data(as_text=True)
    assert "Adviesraad Sociaal Domein Almere" in page
    response = client.post_form(f"/nl/admin/organisations/{duplicate.id}/merge", {"survivor": str(duplicate.id)})
    assert response.status_code == 400  # not itself (and not in the list)
    response = client.post_form(f"/nl/admin/organisations/{duplicate.id}/merge",
                                {"survivor": str(survivor.id), "reason": "dubbel ingevoerd"})
    assert response.status_code == 302
    # One member, one topic: the singular forms (ngettext), not "1 leden".
    flashed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 lid en 1 onderwerp overgezet" in flashed
    assert load(app, User, person.id).organisation_id == survivor.id
    assert load(app, Thread, thread.id).organisation_id == survivor.id
    assert load(app, Organisation, duplicate.id).merged_into_id == survivor.id
    listing = client.get("/nl/admin/organisations").get_data(as_text=True)
    assert "ASD Almere (dubbel)" not in listing and "Adviesraad Sociaal Domein Almere" in listing
    assert client.get(f"/nl/admin/organisations/{duplicate.id}").status_code == 404
    assert "ASD Almere (dubbel)" not in client.get("/nl/settings/organisation").get_data(as_text=True)
    entry = audit(app, "merge_organisation")[-1]
    assert entry.target_id == duplicate.id and entry.details["survivor_id"] == survivor.id
    assert entry.details["users_moved"] == 1 and entry.details["threads_moved"] == 1


# -- organisation change requests ------------------------------------------------------

def test_member_requests_a_change_and_a_moderator_approves(app, client, make_user, make_org, mail):
    old = make_org(name="Cliëntenraad Oud")
    new = make_org(name="Conseil consultatif Namur", language="fr", country="BE")
    member = make_user(organisation=old, locale="fr", email="marie@example.be", name="Marie Dupont")
    moderator = make_user(role="moderator")
    login(client, member, lang="fr")
    settings = client.get("/fr/settings").get_data(as_text=True)
    assert "/fr/settings/organisation" in settings
    page = client.get("/fr/settings/organisation")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Conseil consultatif Namur" in page.get_data(as_text=True)
    response = client.post_form("/fr/settings/organisation", {"organisation": ""})
    assert response.status_code == 400 and 'id="organisation-error"' in response.get_data(as_text=True)
    response = client.post_form("/fr/settings/organisation", {"organisation": str(old.id)})
    assert response.status_code == 400  # their own organisation is not on the list
    assert client.post_form("/fr/settings/organisation", {"organisation": str(new.id)}).status_code == 302
    assert "Conseil consultatif Namur" in client.get("/fr/settings/organisation").get_data(as_text=True)
    with app.app_context():
        change = db.session.scalar(db.select(OrganisationChangeRequest))
        assert change.status == "open" and change.user_id == member.id
        change_id = change.id
    client.post_form("/fr/logout")

    login(client, moderator)
    queue = client.get("/nl/admin/org-requests").get_data(as_text=True)
    assert "Marie Dupont" in queue and "Conseil consultatif Namur" in queue
    assert client.post_form(f"/nl/admin/org-requests/{change_id}/approve", {"reason": ""}).status_code == 302
    assert load(app, User, member.id).organisation_id == new.id
    assert load(app, OrganisationChangeRequest, change_id).status == "approved"
    entry = audit(app, "approve_org_change")[-1]
    assert entry.actor_id == moderator.id and entry.details["previous_organisation_id"] == old.id
    msg = mail.last("marie@example.be")
    assert msg["Content-Language"] == "fr"
    assert "Conseil consultatif Namur" in Mailbox.body(msg)
    with app.app_context():
        note = db.session.scalar(db.select(Notification).where(Notification.user_id == member.id))
        assert note.kind == "organisation" and "Conseil consultatif Namur" in note.data["text"]
    # Deciding twice: the second one is told someone else was first.
    response = client.post_form(f"/nl/admin/org-requests/{change_id}/refuse", {}, follow_redirects=True)
    assert load(app, OrganisationChangeRequest, change_id).status == "approved"
    assert 'class="flash flash-info"' in response.get_data(as_text=True)
    assert len(mail.to("marie@example.be")) == 1


def test_moderator_refuses_with_a_message(app, client, make_user, make_org, mail):
    old, new = make_org(), make_org(name="Adviesraad Elders")
    member = make_user(organisation=old, email="piet@example.nl")
    moderator = make_user(role="moderator")
    login(client, member)
    client.post_form("/nl/settings/organisation", {"organisation": str(new.id)})
    with app.app_context():
        change_id = db.session.scalar(db.select(OrganisationChangeRequest.id))
    client.post_form("/nl/logout")
    login(client, moderator)
    response = client.post_form(f"/nl/admin/org-requests/{change_id}/refuse",
                                {"reason": "U staat niet op de ledenlijst van Elders."})
    assert response.status_code == 302
    assert load(app, User, member.id).organisation_id == old.id
    assert load(app, OrganisationChangeRequest, change_id).status == "refused"
    body = Mailbox.body(mail.last("piet@example.nl"))
    assert "U staat niet op de ledenlijst van Elders." in body
    assert audit(app, "refuse_org_change")[-1].reason == "U staat niet op de ledenlijst van Elders."
    assert "Adviesraad Elders" not in client.get("/nl/admin/org-requests").get_data(as_text=True)


def test_a_new_request_replaces_the_open_one_and_can_be_withdrawn(app, client, make_user, make_org):
    member = make_user()
    a, b = make_org(name="Raad A"), make_org(name="Raad B")
    login(client, member)
    client.post_form("/nl/settings/organisation", {"organisation": str(a.id)})
    client.post_form("/nl/settings/organisation", {"organisation": str(b.id)})
    with app.app_context():
        statuses = [r.status for r in db.session.scalars(
            db.select(OrganisationChangeRequest).order_by(OrganisationChangeRequest.id))]
    assert statuses == ["withdrawn", "open"]
    assert client.post_form("/nl/settings/organisation/withdraw", {}).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OrganisationChangeRequest)
                                 .where(OrganisationChangeRequest.status == "open")) == 0


# -- overview --------------------------------------------------------------------------

def test_overview_shows_figures_chart_and_open_flags(app, client, make_user, make_org, make_theme,
                                                     make_thread, make_post):
    make_org(membership_status="lapsed")
    moderator = make_user(role="moderator")
    make_user(status="pending")
    make_user(silenced_until=utcnow() + timedelta(days=3))
    theme = make_theme(name_nl="Participatie", name_fr="Participation")
    thread = make_thread(theme=theme)
    post = make_post(thread)
    make_post(thread, created_at=utcnow() - timedelta(days=100))
    with app.app_context():
        db.session.add(Flag(post_id=post.id, user_id=moderator.id, reason="spam",
                            created_at=utcnow() - timedelta(days=3)))
        db.session.commit()
    login(client, moderator)
    for lang in ("nl", "fr"):
        response = client.get(f"/{lang}/admin/")
        assert response.status_code == 200
        assert f'<html lang="{lang}">' in response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "<title" in svg and "<desc" in svg and 'role="img"' in svg
    assert len(re.findall(r"<rect ", svg)) >= 2  # two weeks with posts
    assert "style=" not in page and "<script>" not in page
    assert "<table" in page and "Participation" in page  # the data table, French theme name
    flags = page[page.index('class="open-flags"'):]
    assert flags.split("</p>")[0].count("1") >= 1 and "3" in flags.split("</p>")[0]
    assert response.headers["Cache-Control"] == "no-store"
    # The table holds the numbers: 3 posts (opening, reply, old reply) in total.
    table = page[page.index('class="chart-data"'):]
    assert sum(int(n) for n in re.findall(r"<td>(\d+)</td>", table)) == 2 * 3
