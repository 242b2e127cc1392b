"""Accounts end to end: register, confirm, approve, sign in, reset, sign out (through HTTP and real SMTP)."""
import re
from urllib.parse import urlsplit

import pytest

from forum.extensions import db
from forum.models import ModerationAction, Organisation, User
from tests.conftest import PASSWORD, login, shows, tr  # noqa: F401  (re-exported for the other auth tests)

NEW_PASSWORD = "Fietsen-langs-de-Vecht-7"


def path_of(url):
    """Mail links are absolute (BASE_URL); the test client wants the path."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "agora.test", url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def mail_link(mailbox, address, fragment):
    msg = mailbox.last(address)
    links = [link for link in mailbox.links(msg) if fragment in link]
    assert links, f"no link with {fragment!r} in {mailbox.body(msg)}"
    return path_of(links[0])




def page_text(response, *hide):
    """A page's HTML without its CSRF tokens (they carry a timestamp) and the given strings."""
    html = re.sub(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}", "TOKEN", response.get_data(as_text=True))
    for text in hide:
        html = html.replace(text, "X")
    return html


def registration(org=None, **overrides):
    data = {
        "email": "Secretaris@Adviesraad-Zeist.nl",
        "name": "Joke de Vries",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "locale": "nl",
        "accept_terms": "y",
        "org_country": "NL",
    }
    if org is not None:
        data["organisation"] = str(org.id)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def get_user(app, email):
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def count_rows(app, model):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture(autouse=True)
def cheap_hashing(app):
    """Full-cost scrypt takes ~0.3 s a hash on a busy CI machine; the cost is tested once below."""
    app.config["PASSWORD_HASH_METHOD"] = "scrypt:4096:8:1"


@pytest.fixture
def moderator(make_user):
    return make_user(role="moderator", email="moderator@koepel.nl", name="Mo Derator")


@pytest.fixture
def relaxed_login_limit(app):
    # The lifecycle signs in several times from one test IP; the limits have their own tests.
    app.config["RATELIMIT_LOGIN_IP"] = (100, 60)


def test_full_lifecycle_with_an_existing_organisation(app, client, mail, make_org, moderator, relaxed_login_limit):
    org = make_org(name="Adviesraad Sociaal Domein Zeist", municipality="Zeist")

    # 1. Register: lands on "check your mail"; the address is stored lower-case.
    response = client.post_form("/nl/register", registration(org))
    assert response.status_code == 302
    assert response.headers["Location"] == "/nl/register/check-your-mail"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "secretaris@adviesraad-zeist.nl" in page
    user = get_user(app, "secretaris@adviesraad-zeist.nl")
    assert user.status == "unconfirmed" and user.organisation_id == org.id
    assert user.terms_accepted_at is not None

    # Unconfirmed: cannot sign in yet, and is told why.
    response = client.post_form("/nl/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert shows(app, response.get_data(as_text=True),
                 "Confirm your e-mail address first: follow the link in the mail we sent you.")

    # 2. The mail holds a signed link; following it makes the account wait for approval.
    msg = mail.last(user.email)
    assert "Agora" in mail.body(msg) and "http://agora.test/nl/" in mail.body(msg)  # the site, in the signature
    assert shows(app, mail.body(msg), "Why you get this mail: someone registered on Agora with this e-mail address. "
                 "Was that not you? Then ignore this mail; without confirmation no account is made.")
    confirm = mail_link(mail, user.email, "/confirm/")
    assert confirm.startswith("/nl/confirm/")
    response = client.get(confirm)
    assert response.status_code == 200
    assert shows(app, response.get_data(as_text=True),
                 "A moderator now checks your registration. This usually takes one or two working days.")
    assert get_user(app, user.email).status == "pending"
    response = client.post_form("/nl/login", {"email": user.email, "password": PASSWORD})
    assert shows(app, response.get_data(as_text=True),
                 "Your account is waiting for approval by a moderator. You will receive a mail.")

    # 3. A moderator sees the person in the queue and approves.
    login(client, moderator)
    page = client.get("/nl/mod/registrations").get_data(as_text=True)
    assert "Joke de Vries" in page and "Adviesraad Sociaal Domein Zeist" in page
    assert not shows(app, page, "new, not yet a member")
    response = client.post_form(f"/nl/mod/registrations/{user.id}/approve", {})
    assert response.status_code == 302
    approved = get_user(app, user.email)
    assert approved.status == "active" and approved.approved_at is not None
    msg = mail.last(user.email)
    assert msg["Subject"] == tr(app, "Welcome to Agora: your account is ready", "nl")
    assert msg["Content-Language"] == "nl"
    assert any(link.startswith("http://agora.test/nl/login") for link in mail.links(msg))
    with app.app_context():
        action = db.session.scalar(db.select(ModerationAction).where(ModerationAction.action == "approve_user"))
        assert (action.actor_id, action.target_type, action.target_id) == (moderator.id, "user", user.id)
    client.post_form("/nl/logout", {})

    # 4. The member signs in.
    login(client, user.email)
    assert client.get("/nl/settings").status_code == 200

    # 5. Forgot the password: the reset mail's link sets a new one and dies after use.
    client.post_form("/nl/logout", {})
    mail.clear()
    response = client.post_form("/nl/reset", {"email": "SECRETARIS@adviesraad-zeist.nl"})
    assert response.status_code == 200 and shows(app, response.get_data(as_text=True), "Check your mail")
    reset = mail_link(mail, user.email, "/reset/")
    assert client.get(reset).status_code == 200
    response = client.post_form(reset, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/nl/login"
    assert client.get(reset).status_code == 400  # single use
    assert shows(app, mail.body(mail.last(user.email)), "The password of your Agora account has just been changed. "
                 "You have been signed out on your other devices.")
    response = client.post_form("/nl/login", {"email": user.email, "password": PASSWORD})
    assert shows(app, response.get_data(as_text=True), "This combination of e-mail address and password is not known.")
    login(client, user.email, NEW_PASSWORD)

    # 6. Sign out: a copy of the old session cookie no longer signs anyone in.
    old_cookie = client.get_cookie("session").value
    assert client.post_form("/nl/logout", {}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", old_cookie)
    response = thief.get("/nl/settings")
    assert response.status_code == 302 and "/nl/login" in response.headers["Location"]


def test_registration_with_a_new_organisation_in_french(app, client, mail, make_org, moderator, relaxed_login_limit):
    make_org(name="Conseil consultatif Namur", municipality="Namur", country="BE")
    data = registration(email="secretariat@ccca-liege.be", name="Amélie Dupont", locale="fr",
                        org_not_listed="y", org_name="Conseil consultatif des aînés de Liège",
                        org_municipality="Liège", org_country="BE")
    response = client.post_form("/fr/register", data)
    assert response.status_code == 302 and response.headers["Location"] == "/fr/register/check-your-mail"
    user = get_user(app, "secretariat@ccca-liege.be")
    with app.app_context():
        org = db.session.get(Organisation, user.organisation_id)
        assert (org.membership_status, org.country, org.municipality) == ("pending", "BE", "Liège")
        assert org.slug == "conseil-consultatif-des-aines-de-liege"
        assert org.language == "fr"

    msg = mail.last(user.email)
    assert msg["Content-Language"] == "fr"
    client.get(mail_link(mail, user.email, "/fr/confirm/"))

    # The queue marks the organisation as new; the moderator admits it together with the person.
    login(client, moderator)
    page = client.get("/nl/mod/registrations").get_data(as_text=True)
    assert shows(app, page, "new, not yet a member") and 'name="admit_organisation"' in page
    client.post_form(f"/nl/mod/registrations/{user.id}/approve", {"admit_organisation": "y"})
    with app.app_context():
        org = db.session.get(Organisation, user.organisation_id)
        assert org.membership_status == "active" and org.member_since is not None
        actions = db.session.scalars(db.select(ModerationAction.action)).all()
        assert sorted(actions) == ["approve_organisation", "approve_user"]

    # Mailed in the person's language, not the moderator's: French headers and /fr/ links.
    msg = mail.last(user.email)
    assert msg["Content-Language"] == "fr"
    assert msg["Subject"] == tr(app, "Welcome to Agora: your account is ready", "fr")  # made in force_locale("fr")
    links = mail.links(msg)
    assert links and all("/fr/" in link for link in links)
    assert not any("/nl/" in link for link in links)
    assert "Conseil consultatif des aînés de Liège" in mail.body(msg)


def test_two_new_organisations_with_the_same_name_get_distinct_slugs(app, client, mail, make_org):
    make_org(name="Wmo-raad", slug="wmo-raad", municipality="Amersfoort")
    data = registration(email="a@example.org", org_not_listed="y", org_name="Wmo-raad",
                        org_municipality="Utrecht", org_country="NL")
    assert client.post_form("/nl/register", data).status_code == 302
    with app.app_context():
        slugs = db.session.scalars(db.select(Organisation.slug).order_by(Organisation.id)).all()
    assert slugs == ["wmo-raad", "wmo-raad-2"]


def test_new_organisation_that_is_already_listed_is_pointed_out(app, client, make_org):
    org = make_org(name="Adviesraad Sociaal Domein Zeist", municipality="Zeist")
    data = registration(email="b@example.org", org_not_listed="y", org_name="adviesraad sociaal domein zeist",
                        org_municipality="Zeist")
    response = client.post_form("/nl/register", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert shows(app, html, "This council is already in the list. Untick the box and choose it there.")
    assert re.search(rf'<option selected value="{org.id}">', html)
    assert count_rows(app, User) == 0 and count_rows(app, Organisation) == 1


def test_rejection_mails_the_reason_and_deletes_person_and_new_organisation(app, client, mail, moderator):
    data = registration(email="nep@example.org", org_not_listed="y", org_name="Raad van Nergens",
                        org_municipality="Nergenshuizen")
    client.post_form("/nl/register", data)
    user = get_user(app, "nep@example.org")
    client.get(mail_link(mail, user.email, "/confirm/"))
    orgs_before = count_rows(app, Organisation)

    login(client, moderator)
    # No reason: refused next to the field, nothing deleted.
    response = client.post_form(f"/nl/mod/registrations/{user.id}/reject", {"reason": "  "})
    assert response.status_code == 400
    assert f'id="reason-{user.id}-error"' in response.get_data(as_text=True)
    assert get_user(app, user.email) is not None

    reason = "Wij kunnen geen raad vinden in Nergenshuizen."
    response = client.post_form(f"/nl/mod/registrations/{user.id}/reject", {"reason": reason})
    assert response.status_code == 302
    msg = mail.last(user.email)
    assert reason in mail.body(msg)
    assert get_user(app, user.email) is None
    assert count_rows(app, Organisation) == orgs_before - 1  # no orphan organisation
    with app.app_context():
        action = db.session.scalar(db.select(ModerationAction).where(ModerationAction.action == "reject_user"))
        assert action.reason == reason and action.target_id == user.id and action.actor_id == moderator.id

    # Deciding again (another moderator in another tab) is harmless.
    response = client.post_form(f"/nl/mod/registrations/{user.id}/approve", {})
    assert response.status_code == 302
    assert shows(app, client.get(response.headers["Location"]).get_data(as_text=True),
                 "This registration has already been handled by someone else.")


def test_rejection_keeps_an_organisation_that_others_use(app, client, mail, make_org, make_user, moderator):
    org = make_org(membership_status="pending")
    make_user(organisation=org, status="pending")
    other = make_user(organisation=org, status="pending")
    login(client, moderator)
    client.post_form(f"/nl/mod/registrations/{other.id}/reject", {"reason": "Dubbele aanmelding."})
    assert get_user(app, other.email) is None
    with app.app_context():
        assert db.session.get(Organisation, org.id) is not None


def test_approving_without_the_checkbox_leaves_a_new_organisation_pending(app, client, mail, make_org, make_user, moderator):
    org = make_org(membership_status="pending", member_since=None)
    person = make_user(organisation=org, status="pending")
    login(client, moderator)
    client.post_form(f"/nl/mod/registrations/{person.id}/approve", {})
    assert get_user(app, person.email).status == "active"
    with app.app_context():
        assert db.session.get(Organisation, org.id).membership_status == "pending"


def test_pending_registrations_count(app, make_user):
    from auth.services import pending_registrations_count

    make_user(status="pending")
    make_user(status="pending")
    make_user(status="unconfirmed")
    make_user(status="active")
    with app.app_context():
        assert pending_registrations_count() == 2


@pytest.mark.parametrize("who,status", [(None, 302), ("member", 403), ("moderator", 200), ("admin", 200)])
def test_approvals_page_authorisation(client, make_user, who, status):
    if who:
        login(client, make_user(role=who))
    response = client.get("/nl/mod/registrations")
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/nl/login?next=")


def test_members_cannot_approve_or_reject(app, client, make_user):
    pending = make_user(status="pending")
    login(client, make_user())
    assert client.post_form(f"/nl/mod/registrations/{pending.id}/approve", {}).status_code == 403
    assert client.post_form(f"/nl/mod/registrations/{pending.id}/reject", {"reason": "x"}).status_code == 403
    assert get_user(app, pending.email).status == "pending"


def test_passwords_are_stored_with_full_cost_scrypt(app, client, make_org):
    app.config.pop("PASSWORD_HASH_METHOD")
    client.post_form("/nl/register", registration(make_org(), email="hash@example.org"))
    user = get_user(app, "hash@example.org")
    assert user.password_hash.startswith("scrypt:32768:8:1$")
    assert PASSWORD not in user.password_hash and user.check_password(PASSWORD)
