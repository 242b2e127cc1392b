"""Signing in and out: sessions, remember-me, redirects, DB-backed rate limits, suspensions."""
from datetime import timedelta

import pytest

from forum import create_app
from forum.extensions import db
from forum.models import RateLimitEvent, User, utcnow
from tests.conftest import PASSWORD, Client, login
from tests.test_auth import cheap_hashing  # noqa: F401  (autouse: fast password hashing)
from tests.test_auth import get_user, page_text, shows, tr


def _signed_in(client):
    """True when the settings page opens (it needs a signed-in account)."""
    return client.get("/nl/settings").status_code == 200


def _attempt(client, email, password="fout-wachtwoord", ip="127.0.0.1"):
    return client.post_form("/nl/login", {"email": email, "password": password},
                            environ_base={"REMOTE_ADDR": ip})


def test_sign_in_goes_home_in_the_members_language(client, make_user):
    user = make_user(locale="fr")
    response = login(client, user)
    assert response.headers["Location"] == "/fr/"
    assert _signed_in(client)


def test_email_is_matched_case_insensitively(client, make_user):
    make_user(email="joke@zeist.nl")
    login(client, " JOKE@Zeist.nl ")
    assert _signed_in(client)


def test_sign_in_starts_a_new_session(client, make_user):
    user = make_user()
    client.get("/nl/login")
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
        old_csrf = session.get("csrf_token")
    login(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != old_csrf


def test_wrong_password_and_unknown_address_get_the_same_answer(app, client, make_user):
    user = make_user()
    known = _attempt(client, user.email).get_data(as_text=True)
    unknown = _attempt(client, "niemand@example.org").get_data(as_text=True)
    message = "This combination of e-mail address and password is not known."
    assert shows(app, known, message) and shows(app, unknown, message)
    assert 'value="niemand@example.org"' in unknown  # the typed address stays


def test_remember_me_cookie_signs_in_a_new_browser_until_logout(app, client, make_user):
    user = make_user()
    client.post_form("/nl/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    assert remember is not None and remember.http_only

    browser = app.test_client()  # no session cookie, only the remember cookie
    browser.set_cookie("remember_token", remember.value)
    assert _signed_in(browser)

    client.post_form("/nl/logout", {})
    later = app.test_client()
    later.set_cookie("remember_token", remember.value)
    assert not _signed_in(later)


def test_without_remember_me_there_is_no_remember_cookie(client, make_user):
    login(client, make_user())
    assert client.get_cookie("remember_token") is None


def test_logout_invalidates_a_copied_session_cookie(app, client, make_user):
    user = make_user()
    login(client, user)
    copied = client.get_cookie("session").value
    response = client.post_form("/nl/logout", {})
    assert response.status_code == 302
    assert not _signed_in(client)
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert not _signed_in(thief)
    # The account itself still works with a fresh sign-in.
    login(client, user)
    assert _signed_in(client)


def test_logout_by_get_is_405(client, make_user):
    login(client, make_user())
    response = client.get("/nl/logout")
    assert response.status_code == 405
    assert _signed_in(client)


def test_logout_and_login_without_csrf_token_are_400(client, make_user):
    user = make_user()
    assert client.post("/nl/login", data={"email": user.email, "password": PASSWORD}).status_code == 400
    login(client, user)
    response = client.post("/nl/logout")
    assert response.status_code == 400 and "<html" in response.get_data(as_text=True)
    assert _signed_in(client)


def test_next_is_followed_when_it_stays_on_this_site(client, make_user):
    user = make_user()
    response = client.get("/nl/settings/password")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/nl/login?next=")
    html = client.get(login_url).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/nl/settings/password"' in html
    response = client.post_form("/nl/login", {"email": user.email, "password": PASSWORD,
                                              "next": "/nl/settings/password"})
    assert response.headers["Location"] == "/nl/settings/password"


@pytest.mark.parametrize("target", [
    "//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)", "http://evil.com/nl/",
    "\\\\evil.com", "/\t/evil.com", "/\n/evil.com", "evil.com", "https:evil.com", "  //evil.com",
    "data:text/html,<script>alert(1)</script>",
])
def test_next_never_leaves_the_site(client, make_user, target):
    user = make_user()
    response = client.post_form("/nl/login", {"email": user.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/nl/", location


def test_login_rate_limit_per_ip(app, client, make_user):
    user = make_user()
    for n in range(6):
        assert _attempt(client, f"persoon{n}@example.org").status_code == 200
    response = _attempt(client, user.email, PASSWORD)  # even the right password is refused now
    assert response.status_code == 429
    assert shows(app, response.get_data(as_text=True), "Too many sign-in attempts. Wait a few minutes and try again.")
    assert int(response.headers["Retry-After"]) > 0
    assert not _signed_in(client)
    # Another address (another office) can still sign in.
    assert _attempt(client, user.email, PASSWORD, ip="192.0.2.10").status_code == 302


def test_successful_sign_ins_do_not_use_up_the_ip_limit(client, make_user):
    user = make_user()
    for _ in range(8):  # a town hall office signing in one after the other
        login(client, user)
        client.post_form("/nl/logout", {})


def _attack(client, email, failures=10):
    """Wrong passwords for one address, each from another IP address (under the per-IP limit)."""
    for n in range(failures):
        assert _attempt(client, email, ip=f"198.51.100.{n}").status_code == 200


def _browser(app):
    return app.test_client()


def _signin_link(mail, user):
    links = [link for link in mail.links(mail.last(user.email)) if "/login/link/" in link]
    assert len(links) == 1
    return links[0].replace("http://agora.test", "")


def test_failures_from_many_addresses_do_not_lock_out_a_browser_that_signed_in_before(app, client, make_user):
    user = make_user()
    login(client, user)  # the owner's own browser: it gets the 'known device' cookie
    client.post_form("/nl/logout", {})
    _attack(_browser(app), user.email, failures=25)

    def account_failures():
        with app.app_context():
            return db.session.scalar(db.select(db.func.count(RateLimitEvent.id)).where(
                RateLimitEvent.key == f"login-account:{user.email}"))

    assert account_failures() == 10  # counting stops at the threshold: more would change nothing
    response = _attempt(client, user.email, PASSWORD, ip="203.0.113.1")
    assert response.status_code == 302 and _signed_in(client)
    assert account_failures() == 0  # cleared by the owner's sign-in


def test_a_new_browser_of_the_owner_gets_in_with_a_mailed_link(app, mail, make_user):
    user = make_user()
    _attack(_browser(app), user.email)
    owner = _browser(app)
    response = _attempt(owner, user.email, PASSWORD, ip="203.0.113.1")
    assert response.status_code == 200 and not _signed_in(owner)
    assert shows(app, response.get_data(as_text=True), "If the e-mail address and the password are right, we have "
                 "sent a link to finish signing in. The link works for a limited time and only once.")
    link = _signin_link(mail, user)
    # Opening the link (as a mail scanner does) signs nobody in; the button does.
    page = owner.get(link)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store" and not _signed_in(owner)
    response = owner.post_form(link, {})
    assert response.status_code == 302 and _signed_in(owner)
    assert owner.post_form(link, {}).status_code == 400  # only once
    # From now on this browser is known: the password alone signs in, attack or not.
    owner.post_form("/nl/logout", {})
    _attack(_browser(app), user.email)
    assert _attempt(owner, user.email, PASSWORD, ip="203.0.113.2").status_code == 302


def test_a_guarded_account_tells_a_stranger_nothing(app, mail, make_user):
    user = make_user()
    for email in (user.email, "bestaat-niet@example.org"):
        _attack(_browser(app), email)
    answers = {
        "right": _attempt(_browser(app), user.email, PASSWORD, ip="203.0.113.1"),
        "wrong": _attempt(_browser(app), user.email, "nog-een-gok", ip="203.0.113.2"),
        "unknown": _attempt(_browser(app), "bestaat-niet@example.org", PASSWORD, ip="203.0.113.3"),
    }
    texts = {name: page_text(r, user.email, "bestaat-niet@example.org") for name, r in answers.items()}
    assert {r.status_code for r in answers.values()} == {200}
    assert texts["right"] == texts["wrong"] == texts["unknown"]
    assert len(mail.to(user.email)) == 1  # only the right password sent a link
    assert mail.to("bestaat-niet@example.org") == []


def test_a_sign_in_link_dies_when_the_password_changes(app, client, mail, make_user):
    user = make_user()
    login(client, user)
    client.post_form("/nl/logout", {})
    _attack(_browser(app), user.email)
    _attempt(_browser(app), user.email, PASSWORD, ip="203.0.113.1")
    link = _signin_link(mail, user)
    login(client, user)  # a known browser signs in meanwhile and changes the password
    client.post_form("/nl/settings/password", {"current_password": PASSWORD, "password": "Nieuw-sterk-wachtwoord-7",
                                               "password_confirm": "Nieuw-sterk-wachtwoord-7"})
    assert _browser(app).get(link).status_code == 400


def test_failed_sign_ins_do_not_block_the_owners_settings(app, client, make_user):
    user = make_user()
    login(client, user)
    _attack(_browser(app), user.email, failures=12)
    response = client.post_form("/nl/settings/password", {
        "current_password": PASSWORD, "password": "Nieuw-sterk-wachtwoord-7", "password_confirm": "Nieuw-sterk-wachtwoord-7"})
    assert response.status_code == 302
    assert get_user(app, user.email).check_password("Nieuw-sterk-wachtwoord-7")


def test_rate_limits_hold_across_worker_processes(app, app_config, client, make_user):
    user = make_user()
    for n in range(6):
        _attempt(client, f"persoon{n}@example.org", ip="198.51.100.7")
    # A second app on the same database stands for another gunicorn worker.
    other_worker = create_app(app_config)
    other_worker.test_client_class = Client
    response = other_worker.test_client().post_form(
        "/nl/login", {"email": user.email, "password": PASSWORD}, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 429
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RateLimitEvent.id))) >= 6
    with other_worker.app_context():
        db.engine.dispose()


def test_successful_sign_in_clears_the_account_failures(client, make_user):
    user = make_user()
    for n in range(9):
        _attempt(client, user.email, ip=f"198.51.100.{n}")
    login(client, user)
    client.post_form("/nl/logout", {})
    for n in range(9):
        assert _attempt(client, user.email, ip=f"198.51.101.{n}").status_code == 200


@pytest.mark.parametrize("until", [timedelta(days=3), None])
def test_suspended_members_cannot_sign_in_and_see_the_reason(app, client, make_user, until):
    user = make_user(status="suspended", sanction_reason="Herhaaldelijk persoonsgegevens van cliënten gedeeld.",
                     suspended_until=utcnow() + until if until else None)
    response = _attempt(client, user.email, PASSWORD)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert shows(app, html, "Reason: %(reason)s", reason="Herhaaldelijk persoonsgegevens van cliënten gedeeld.")
    # Indefinite suspensions say so; temporary ones name the end date instead.
    assert shows(app, html, "Your account has been suspended.") == (until is None)
    assert not _signed_in(client)


def test_suspension_reason_is_not_shown_without_the_right_password(app, client, make_user):
    user = make_user(status="suspended", sanction_reason="Geheime reden")
    html = _attempt(client, user.email, "fout-wachtwoord").get_data(as_text=True)
    assert "Geheime reden" not in html and not shows(app, html, "Your account has been suspended.")
    assert shows(app, html, "This combination of e-mail address and password is not known.")


def test_an_expired_suspension_lets_the_member_back_in(app, client, make_user):
    user = make_user(status="suspended", suspended_until=utcnow() - timedelta(hours=1))
    login(client, user)
    assert get_user(app, user.email).status == "active"


def test_a_suspension_signs_out_running_sessions(app, client, make_user):
    user = make_user()
    login(client, user)
    with app.app_context():
        db.session.get(User, user.id).status = "suspended"
        db.session.commit()
    assert not _signed_in(client)


def test_deleted_accounts_cannot_sign_in(app, client, make_user):
    user = make_user(deleted_at=utcnow())
    assert shows(app, _attempt(client, user.email, PASSWORD).get_data(as_text=True),
                 "This combination of e-mail address and password is not known.")


def test_unconfirmed_sign_in_offers_a_new_link(app, client, make_user):
    user = make_user(status="unconfirmed", confirmed_at=None, approved_at=None)
    html = _attempt(client, user.email, PASSWORD).get_data(as_text=True)
    assert shows(app, html, "Confirm your e-mail address first: follow the link in the mail we sent you.")
    assert 'href="/nl/confirm/resend"' in html


def test_cli_create_admin(app, runner):
    result = runner.invoke(args=["users", "create-admin", "--email", "Beheer@Koepel.nl", "--name", "Beheerder",
                                 "--password", "Lang-en-sterk-beheer-1"])
    assert result.exit_code == 0, result.output
    admin = get_user(app, "beheer@koepel.nl")
    assert admin.role == "admin" and admin.status == "active" and admin.check_password("Lang-en-sterk-beheer-1")


def test_cli_create_admin_refuses_weak_passwords_and_duplicates(app, runner, make_user):
    result = runner.invoke(args=["users", "create-admin", "--email", "a@koepel.nl", "--name", "A",
                                 "--password", "welkom01"])
    assert result.exit_code != 0 and tr(app, "This password is too common and easy to guess. Choose a less common "
                                             "one, for example a short sentence.") in result.output
    existing = make_user()
    result = runner.invoke(args=["users", "create-admin", "--email", existing.email.upper(), "--name", "B",
                                 "--password", "Lang-en-sterk-beheer-1"])
    assert result.exit_code != 0 and "already exists" in result.output
    assert get_user(app, "a@koepel.nl") is None


def test_a_forged_forwarded_for_header_does_not_escape_the_ip_limit(app, client, make_user):
    """The limit counts the connection's address (no ProxyFix unless a site configures one)."""
    user = make_user()
    for n in range(6):
        client.post_form("/nl/login", {"email": user.email, "password": "fout-wachtwoord"},
                         headers={"X-Forwarded-For": f"198.51.100.{n}"})
    response = client.post_form("/nl/login", {"email": user.email, "password": PASSWORD},
                                headers={"X-Forwarded-For": "203.0.113.50"})
    assert response.status_code == 429
