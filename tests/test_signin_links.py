"""Sign-in links asked for on the sign-in page: single use, 15 minutes, only in the browser that asked."""
import pytest

from forum.extensions import db
from forum.models import AccountMail, RateLimitEvent, SecurityEvent, SigninLink
from tests.conftest import Mailbox, shows
from tests.test_auth import cheap_hashing  # noqa: F401  (autouse: fast password hashing)
from tests.test_auth import mail_link, page_text
from tests.test_auth_links import _statements_per_request


def ask_link(client, email, lang="nl", **kw):
    return client.post_form(f"/{lang}/login/link", {"email": email}, **kw)


def signed_in(client, lang="nl"):
    return client.get(f"/{lang}/settings").status_code == 200


@pytest.mark.parametrize("lang, label", [("nl", "Stuur mij een inloglink"), ("fr", "Envoyez-moi un lien de connexion")])
def test_the_sign_in_page_offers_a_link_in_both_languages(client, lang, label):
    html = client.get(f"/{lang}/login").get_data(as_text=True)
    assert label in html and f'href="/{lang}/login/link"' in html
    page = client.get(f"/{lang}/login/link")
    assert page.status_code == 200 and 'name="email"' in page.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_a_link_signs_in_once_by_button_not_by_opening(app, client, mail, make_user, lang):
    user = make_user(locale=lang)
    response = ask_link(client, user.email, lang)
    assert response.status_code == 200 and shows(app, response.get_data(as_text=True), "Check your mail", lang)
    assert response.headers["Cache-Control"].startswith("no-store") or "no-store" in response.headers["Cache-Control"]
    link = mail_link(mail, user.email, f"/{lang}/login/link/")
    assert mail.last(user.email)["Content-Language"] == lang

    opened = client.get(link)  # what a mail scanner does
    assert opened.status_code == 200 and "<button" in opened.get_data(as_text=True)
    assert not signed_in(client, lang)

    used = client.post_form(link)
    assert used.status_code == 302 and signed_in(client, lang)
    client.post_form(f"/{lang}/logout")
    again = client.post_form(link)
    assert again.status_code == 400 and not signed_in(client, lang)
    assert client.get(link).status_code == 400
    with app.app_context():
        kinds = db.session.scalars(db.select(SecurityEvent.kind).where(SecurityEvent.user_id == user.id)).all()
        stored = db.session.scalars(db.select(SigninLink.token_hash)).all()
    assert kinds == ["signin"]
    token = link.rsplit("/", 1)[1]
    assert stored and token not in stored  # only its digest is kept


def test_a_link_does_not_work_in_another_browser(app, client, mail, make_user):
    user = make_user()
    ask_link(client, user.email)
    link = mail_link(mail, user.email, "/login/link/")
    other = app.test_client()
    assert other.get(link).status_code == 403
    assert other.post_form(link).status_code == 403
    assert not signed_in(other)
    # The browser that asked still can.
    assert client.post_form(link).status_code == 302 and signed_in(client)


def test_asking_twice_in_one_browser_keeps_both_links_working(app, client, mail, make_user):
    user = make_user()
    ask_link(client, user.email)
    first = mail_link(mail, user.email, "/login/link/")
    ask_link(client, user.email)
    assert client.get(first).status_code == 200


def test_an_expired_link_offers_a_new_one(app, client, mail, make_user):
    user = make_user()
    app.config["LINK_MAX_AGE"] = -1
    ask_link(client, user.email)
    link = mail_link(mail, user.email, "/login/link/")
    response = client.post_form(link)
    html = response.get_data(as_text=True)
    assert response.status_code == 410 and shows(app, html, "This link has expired")
    assert 'action="/nl/login/link"' in html and not signed_in(client)


def test_an_imported_member_without_password_signs_in_by_link(app, client, mail, make_user):
    user = make_user(password=None, password_hash=None, import_ref="old-42")
    ask_link(client, user.email)
    assert client.post_form(mail_link(mail, user.email, "/login/link/")).status_code == 302
    assert signed_in(client)


def test_suspended_and_pending_accounts_get_no_link(app, client, mail, make_user):
    from datetime import timedelta

    from forum.models import utcnow

    suspended = make_user(status="suspended", suspended_until=utcnow() + timedelta(days=3))
    pending = make_user(status="pending")
    for user in (suspended, pending):
        ask_link(client, user.email)
    assert mail.to(suspended.email) == [] and mail.to(pending.email) == []


def test_asking_a_link_does_the_same_work_for_known_and_unknown_addresses(app, client, mail, make_user):
    from forum.jobs.runner import run_round

    app.config["ACCOUNT_MAIL_AFTER_RESPONSE"] = False
    user = make_user()
    client.csrf_token()
    known, known_sql = _statements_per_request(app, client, "/nl/login/link", {"email": user.email}, "192.0.2.1")
    unknown, unknown_sql = _statements_per_request(app, client, "/nl/login/link",
                                                   {"email": "onbekend@example.org"}, "192.0.2.2")
    assert known.status_code == unknown.status_code == 200
    assert page_text(known) == page_text(unknown)
    assert known_sql == unknown_sql and any(s.startswith("INSERT INTO account_mail") for s in known_sql)
    assert not any("FROM user" in s or 'FROM "user"' in s for s in known_sql)
    with app.app_context():
        rows = db.session.execute(db.select(AccountMail.kind, AccountMail.address).order_by(AccountMail.id)).all()
    assert rows == [("signin_request", user.email), ("signin_request", "onbekend@example.org")]
    assert mail.messages == []
    run_round(app, {})
    assert "/login/link/" in Mailbox.body(mail.last(user.email)) and mail.to("onbekend@example.org") == []


def test_link_requests_are_limited_per_address_and_per_ip(app, client, mail, make_user):
    user = make_user()
    app.config["RATELIMIT_LINK_ACCOUNT"] = (2, 3600)
    for ip in ("192.0.2.10", "192.0.2.11"):
        assert ask_link(client, user.email, environ_base={"REMOTE_ADDR": ip}).status_code == 200
    refused = ask_link(client, user.email, environ_base={"REMOTE_ADDR": "192.0.2.12"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    # The same answer for an address without an account: the limit reveals nothing.
    for ip in ("192.0.2.20", "192.0.2.21"):
        ask_link(client, "niemand@example.org", environ_base={"REMOTE_ADDR": ip})
    assert ask_link(client, "niemand@example.org", environ_base={"REMOTE_ADDR": "192.0.2.22"}).status_code == 429

    app.config["RATELIMIT_LINK_IP"] = (3, 60)
    answers = [ask_link(client, f"a{n}@example.org", environ_base={"REMOTE_ADDR": "192.0.2.99"}).status_code
               for n in range(4)]
    assert answers == [200, 200, 200, 429]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RateLimitEvent.id)).where(
            RateLimitEvent.key == "link-ip:192.0.2.99")) == 3


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_a_member_switches_passwords_off_and_signs_in_by_link(app, client, mail, make_user, lang):
    from tests.conftest import PASSWORD, login

    user = make_user(locale=lang)
    login(client, user, lang=lang)
    other = app.test_client()
    login(other, user, lang=lang)
    wrong = client.post_form(f"/{lang}/settings/security/password-off", {"current_password": "niet-het-wachtwoord"})
    assert wrong.status_code == 400 and shows(app, wrong.get_data(as_text=True), "This is not your current password.", lang)
    response = client.post_form(f"/{lang}/settings/security/password-off", {"current_password": PASSWORD})
    assert response.status_code == 302 and signed_in(client, lang) and not signed_in(other, lang)
    page = client.get(f"/{lang}/settings/security").get_data(as_text=True)
    assert shows(app, page, "Password switched off", lang) and 'name="current_password"' not in page
    # The old password no longer works; a link does.
    fresh = app.test_client()
    refused = fresh.post_form(f"/{lang}/login", {"email": user.email, "password": PASSWORD})
    assert refused.status_code == 200 and not signed_in(fresh, lang)
    ask_link(fresh, user.email, lang)
    assert fresh.post_form(mail_link(mail, user.email, "/login/link/")).status_code == 302 and signed_in(fresh, lang)
