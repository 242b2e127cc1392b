"""Links in mails: confirmation, resending it, password reset; expired, tampered and reused links."""
import pytest

from auth.tokens import make_token
from forum.extensions import db
from tests.conftest import PASSWORD, Mailbox, login
from tests.test_auth import cheap_hashing  # noqa: F401  (autouse: fast password hashing)
from tests.test_auth import NEW_PASSWORD, get_user, mail_link, page_text, registration, shows


@pytest.fixture
def registered(app, client, mail, make_org):
    """A fresh registration whose confirmation mail is waiting."""
    org = make_org()
    client.post_form("/nl/register", registration(org, email="nieuw@example.org"))
    return get_user(app, "nieuw@example.org")


def test_expired_confirmation_link_offers_a_new_one(app, client, mail, registered):
    link = mail_link(mail, registered.email, "/confirm/")
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1  # every link is too old now
    response = client.get(link)
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert shows(app, html, "This link has expired") and "Traceback" not in html
    assert 'action="/nl/confirm/resend"' in html and 'name="token"' in html
    assert get_user(app, registered.email).status == "unconfirmed"

    # One button: the expired link itself says who it was for.
    mail.clear()
    token = link.rsplit("/", 1)[1]
    response = client.post_form("/nl/confirm/resend", {"token": token})
    assert response.status_code == 200 and shows(app, response.get_data(as_text=True), "Check your mail")
    app.config["CONFIRM_TOKEN_MAX_AGE"] = 3600
    fresh = mail_link(mail, registered.email, "/confirm/")
    assert client.get(fresh).status_code == 200
    assert get_user(app, registered.email).status == "pending"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-3] + ("aaa" if not t.endswith("aaa") else "bbb"),  # signature changed
    lambda t: "x" + t,                                                # payload changed
    lambda t: "niet-eens-een-token",
    lambda t: t.split(".")[0],
])
def test_tampered_confirmation_link_is_a_friendly_page(app, client, mail, registered, mangle):
    link = mail_link(mail, registered.email, "/confirm/")
    prefix, token = link.rsplit("/", 1)
    response = client.get(f"{prefix}/{mangle(token)}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert shows(app, html, "This link does not work") and 'name="email"' in html
    assert get_user(app, registered.email).status == "unconfirmed"


def test_a_reset_link_cannot_confirm_and_vice_versa(app, client, mail, registered):
    with app.test_request_context():
        reset_token = make_token("reset", {"id": registered.id, "email": registered.email})
        confirm_token = make_token("confirm", {"id": registered.id, "email": registered.email})
    assert client.get(f"/nl/confirm/{reset_token}").status_code == 400
    assert client.get(f"/nl/reset/{confirm_token}").status_code == 400


def test_confirming_twice_is_harmless(app, client, mail, registered):
    link = mail_link(mail, registered.email, "/confirm/")
    assert client.get(link).status_code == 200
    assert client.get(link).status_code == 200
    assert get_user(app, registered.email).status == "pending"


def test_resend_page_answers_the_same_for_known_and_unknown_addresses(app, client, mail, registered, make_user):
    active = make_user()
    mail.clear()
    pages = []
    for email in (registered.email, "onbekend@example.org", active.email):
        response = client.post_form("/nl/confirm/resend", {"email": email})
        assert response.status_code == 200
        pages.append(page_text(response))
    assert pages[0] == pages[1] == pages[2]
    assert len(mail.to(registered.email)) == 1
    assert mail.to("onbekend@example.org") == [] and mail.to(active.email) == []


def test_resend_is_rate_limited(app, client, mail, registered):
    app.config["RATELIMIT_CONFIRM_IP"] = (2, 60)
    for _ in range(2):
        assert client.post_form("/nl/confirm/resend", {"email": "x@example.org"}).status_code == 200
    response = client.post_form("/nl/confirm/resend", {"email": "x@example.org"})
    assert response.status_code == 429
    assert shows(app, response.get_data(as_text=True),
                 "You asked for a new link too often. Wait a few minutes and try again.")


def test_resend_per_address_limit_is_silent(app, client, mail, registered):
    mail.clear()
    for n in range(5):
        response = client.post_form("/nl/confirm/resend", {"email": registered.email},
                                    environ_base={"REMOTE_ADDR": f"192.0.2.{n}"})
        assert response.status_code == 200
    assert len(mail.to(registered.email)) == 3  # RATELIMIT_CONFIRM_ACCOUNT


def test_reset_request_answers_the_same_for_known_and_unknown_addresses(client, mail, make_user):
    user = make_user()
    known = client.post_form("/nl/reset", {"email": user.email})
    unknown = client.post_form("/nl/reset", {"email": "onbekend@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert page_text(known) == page_text(unknown)
    assert mail.last(user.email) is not None
    assert mail.to("onbekend@example.org") == []
    assert known.headers["Cache-Control"] == "no-store"


def test_reset_request_errors_keep_the_address(client):
    response = client.post_form("/nl/reset", {"email": "joke@"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="joke@"' in html and 'id="email-error"' in html


def test_reset_rate_limit_per_ip(app, client, mail, make_user):
    app.config["RATELIMIT_RESET_IP"] = (3, 60)
    for n in range(3):
        assert client.post_form("/nl/reset", {"email": f"a{n}@example.org"}).status_code == 200
    response = client.post_form("/nl/reset", {"email": "a9@example.org"})
    assert response.status_code == 429
    assert shows(app, response.get_data(as_text=True),
                 "You asked for a new password too often. Wait a while and try again.")
    assert 'value="a9@example.org"' in response.get_data(as_text=True)


def test_reset_rate_limit_per_account_does_not_reveal_the_account(app, client, mail, make_user):
    app.config["RATELIMIT_RESET_ACCOUNT"] = (2, 3600)
    user = make_user()
    statuses = {}
    for email in (user.email, "onbekend@example.org"):
        for n in range(2):
            client.post_form("/nl/reset", {"email": email}, environ_base={"REMOTE_ADDR": f"192.0.2.{n}"})
        statuses[email] = client.post_form("/nl/reset", {"email": email},
                                           environ_base={"REMOTE_ADDR": "192.0.2.99"}).status_code
    assert statuses == {user.email: 429, "onbekend@example.org": 429}
    assert len(mail.to(user.email)) == 2


def test_reset_link_expires(app, client, mail, make_user):
    user = make_user()
    client.post_form("/nl/reset", {"email": user.email})
    link = mail_link(mail, user.email, "/reset/")
    app.config["RESET_TOKEN_MAX_AGE"] = -1
    response = client.get(link)
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert shows(app, html, "This link has expired") and 'action="/nl/reset"' in html
    response = client.post_form(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 410
    assert get_user(app, user.email).check_password(PASSWORD)


def test_reset_signs_out_other_sessions_and_the_link_is_single_use(app, client, mail, make_user):
    user = make_user()
    other_device = app.test_client()
    login(other_device, user)
    client.post_form("/nl/reset", {"email": user.email})
    link = mail_link(mail, user.email, "/reset/")
    # Errors: shown next to the field, nothing saved.
    response = client.post_form(link, {"password": "welkom01", "password_confirm": "welkom01"})
    assert response.status_code == 400 and 'id="password-error"' in response.get_data(as_text=True)
    response = client.post_form(link, {"password": user.email, "password_confirm": user.email})
    assert shows(app, response.get_data(as_text=True),
                 "Your password may not be the same as your e-mail address or your name.")
    assert get_user(app, user.email).check_password(PASSWORD)

    response = client.post_form(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert get_user(app, user.email).check_password(NEW_PASSWORD)
    assert other_device.get("/nl/settings").status_code == 302  # signed out there
    again = client.post_form(link, {"password": "Nog-een-ander-wachtwoord-9", "password_confirm": "Nog-een-ander-wachtwoord-9"})
    assert again.status_code == 400 and shows(app, again.get_data(as_text=True), "This link does not work")
    assert get_user(app, user.email).check_password(NEW_PASSWORD)


def test_imported_member_without_password_sets_one_by_reset(app, client, mail, make_user):
    user = make_user(password=None, email="oud-lid@example.org")
    assert client.post_form("/nl/login", {"email": user.email, "password": "wat-dan-ook-1"}).status_code == 200
    client.post_form("/nl/reset", {"email": user.email})
    msg = mail.last(user.email)
    assert shows(app, mail.body(msg), "You asked for a link to choose a password for Agora. Open this link to choose one:")
    link = mail_link(mail, user.email, "/reset/")
    client.post_form(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    login(client, user, NEW_PASSWORD)


def test_reset_confirms_an_unconfirmed_address(app, client, mail, registered):
    client.post_form("/nl/reset", {"email": registered.email})
    link = mail_link(mail, registered.email, "/reset/")
    client.post_form(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    user = get_user(app, registered.email)
    assert user.status == "pending" and user.confirmed_at is not None


def _statements_per_request(app, client, url, data, ip):
    """The SQL a request runs (its text, without the values), and nothing after the response."""
    from flask import has_request_context
    from sqlalchemy import event

    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if has_request_context():
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post_form(url, data, environ_base={"REMOTE_ADDR": ip})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return response, statements


def test_forgot_password_does_the_same_work_for_known_and_unknown_addresses(app, client, mail, make_user):
    from auth.outbox import deliver_queued
    from forum.jobs.runner import run_round
    from forum.models import AccountMail, RateLimitEvent

    app.config["ACCOUNT_MAIL_AFTER_RESPONSE"] = False  # only the job process sends here
    user = make_user()
    client.csrf_token()
    known, known_sql = _statements_per_request(app, client, "/nl/reset", {"email": user.email}, "192.0.2.1")
    unknown, unknown_sql = _statements_per_request(app, client, "/nl/reset", {"email": "onbekend@example.org"},
                                                   "192.0.2.2")
    assert known.status_code == unknown.status_code == 200
    assert page_text(known) == page_text(unknown)
    assert known_sql == unknown_sql and any(s.startswith("INSERT INTO account_mail") for s in known_sql)
    assert not any("FROM user" in s or 'FROM "user"' in s for s in known_sql)  # nobody was looked up
    with app.app_context():
        rows = db.session.execute(db.select(AccountMail.kind, AccountMail.address).order_by(AccountMail.id)).all()
        counted = db.session.scalars(db.select(RateLimitEvent.key).order_by(RateLimitEvent.id)).all()
    assert rows == [("reset", user.email), ("reset", "onbekend@example.org")]
    assert counted == ["reset-ip:192.0.2.1", f"reset-account:{user.email}",
                       "reset-ip:192.0.2.2", "reset-account:onbekend@example.org"]
    assert mail.messages == []  # no SMTP connection within either request
    # The job process resolves the addresses: a link for the account, nothing for the stranger.
    assert "account-mail" in run_round(app, {})
    assert "/reset/" in Mailbox.body(mail.last(user.email)) and mail.to("onbekend@example.org") == []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AccountMail.id))) == 0
        assert deliver_queued() == 0


def test_account_mails_go_out_right_after_the_response(app, client, mail, make_user):
    from forum.models import AccountMail

    user = make_user()
    client.post_form("/nl/reset", {"email": user.email})
    assert len(mail.to(user.email)) == 1  # sent when the response was closed, no waiting
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AccountMail.id))) == 0


def test_a_failing_mail_server_keeps_the_mail_for_a_retry(app, client, mail, make_user):
    from auth.outbox import deliver_queued
    from forum.models import AccountMail

    user = make_user()
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 9  # nothing listens: sending fails
    response = client.post_form("/nl/reset", {"email": user.email})
    assert response.status_code == 200 and mail.to(user.email) == []
    app.config["MAIL_PORT"] = port
    with app.app_context():
        row = db.session.scalars(db.select(AccountMail)).one()
        assert row.attempts == 1 and row.claimed_at is not None
        assert deliver_queued() == 0  # claimed by the failed try: waits for CLAIM_TIMEOUT
        row.claimed_at = row.claimed_at.replace(year=row.claimed_at.year - 1)
        db.session.commit()
        assert deliver_queued() == 1
    assert len(mail.to(user.email)) == 1


def test_through_gunicorn_the_reset_mail_goes_out_after_the_response(app, app_config, mail, make_user):
    """The test client closes responses as a WSGI server does; here a real one does it."""
    from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
    from tests.live import LiveServer
    from tests.test_postgres import Browser

    user = make_user()
    env = {"AGORA_MAIL_SERVER": "127.0.0.1", "AGORA_MAIL_PORT": str(app_config["MAIL_PORT"]),
           "AGORA_DATABASE_URL": TEST_DATABASE_URL if ON_POSTGRES else app.config["SQLALCHEMY_DATABASE_URI"]}
    with LiveServer(app_config["INSTANCE_PATH"], workers=1, env=env) as server:
        assert Browser(server.url).post_form("/nl/reset", {"email": user.email}) == 200
        assert "/reset/" in Mailbox.body(mail.last(user.email, timeout=15))
