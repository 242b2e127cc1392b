"""TOTP second factor: enrolment, codes at sign-in (replay, drift, recovery), the staff gate,
fresh codes for sensitive actions, the admin reset, the security and audit logs."""
import re
import time

import pyotp
import pytest

from auth import second_factor
from forum.extensions import db
from forum.models import RecoveryCode, SecurityEvent, TotpCredential, User
from tests.conftest import PASSWORD, audit, login, shows
from tests.test_auth import cheap_hashing  # noqa: F401  (autouse: fast password hashing)

STEP = 30


@pytest.fixture(autouse=True)
def staff_security_audit(app):
    app.config["STAFF_SECURITY_AUDIT"] = True


def code_at(secret, offset_steps=0):
    return pyotp.TOTP(secret).at(time.time() + offset_steps * STEP)


def away_from_step_edge():
    # A code made just before a step ends is a step old when checked; never a flaky drift test.
    if time.time() % STEP > STEP - 3:
        time.sleep(STEP - time.time() % STEP + 0.1)


def secret_of(app, user):
    with app.app_context():
        return db.session.get(TotpCredential, user.id).secret


def enrol(app, client, user, lang="nl"):
    """Set up TOTP through the pages; returns (secret, recovery codes)."""
    assert client.post_form(f"/{lang}/settings/security/totp/start").status_code == 302
    page = client.get(f"/{lang}/settings/security/totp")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html
    secret = secret_of(app, user)
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in html  # also as text
    away_from_step_edge()
    done = client.post_form(f"/{lang}/settings/security/totp", {"code": code_at(secret)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.get_data(as_text=True))
    return secret, codes


def sign_in_with_code(app, user, code):
    c = app.test_client()
    first = c.post_form("/nl/login", {"email": user.email, "password": PASSWORD})
    assert first.status_code == 302 and first.headers["Location"].endswith("/nl/login/code")
    return c, c.post_form("/nl/login/code", {"code": code})


def signed_in(c, lang="nl"):
    return c.get(f"/{lang}/settings").status_code == 200


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_enrolment_shows_qr_and_secret_and_ten_codes_once(app, client, make_user, lang):
    user = make_user(locale=lang)
    login(client, user, lang=lang)
    page = client.get(f"/{lang}/settings/security")
    assert page.status_code == 200 and shows(app, page.get_data(as_text=True), "Set up an authenticator app", lang)
    secret, codes = enrol(app, client, user, lang)
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        stored = db.session.scalars(db.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
        cred = db.session.get(TotpCredential, user.id)
    assert len(stored) == 10 and not set(codes) & set(stored) and cred.confirmed_at is not None
    after = client.get(f"/{lang}/settings/security").get_data(as_text=True)
    assert codes[0] not in after and secret not in after  # shown once
    assert shows(app, after, "Authenticator app set up", lang)  # in the security log


def test_a_wrong_first_code_keeps_totp_off(app, client, make_user):
    user = make_user()
    login(client, user)
    client.post_form("/nl/settings/security/totp/start")
    response = client.post_form("/nl/settings/security/totp", {"code": "000000"})
    assert response.status_code == 400
    assert shows(app, response.get_data(as_text=True),
                 "This code is not right. Check that the time on your phone is correct and try the next code.")
    with app.app_context():
        assert db.session.get(TotpCredential, user.id).confirmed_at is None
    # Without TOTP switched on, signing in needs no code.
    assert app.test_client().post_form("/nl/login", {"email": user.email, "password": PASSWORD}).headers[
        "Location"].endswith("/nl/")


def test_sign_in_asks_the_code_and_refuses_a_wrong_or_replayed_one(app, client, make_user):
    user = make_user()
    login(client, user)
    secret, _codes = enrol(app, client, user)
    away_from_step_edge()
    c, wrong = sign_in_with_code(app, user, "123456" if code_at(secret) != "123456" else "654321")
    assert wrong.status_code == 400 and not signed_in(c)
    good = code_at(secret, 1)  # the enrolment used the current step; the next one is new
    c, ok = sign_in_with_code(app, user, good)
    assert ok.status_code == 302 and signed_in(c)
    c2, replay = sign_in_with_code(app, user, good)
    assert replay.status_code == 400 and not signed_in(c2)
    with app.app_context():
        kinds = db.session.scalars(db.select(SecurityEvent.kind).where(SecurityEvent.user_id == user.id)
                                   .order_by(SecurityEvent.id)).all()
    assert kinds.count("second_factor_failed") == 2 and "signin" in kinds


def test_the_password_alone_does_not_sign_in(app, client, make_user):
    user = make_user()
    login(client, user)
    enrol(app, client, user)
    c = app.test_client()
    c.post_form("/nl/login", {"email": user.email, "password": PASSWORD})
    assert not signed_in(c)
    assert c.get("/nl/login/code").status_code == 200


def test_one_step_of_clock_drift_either_way_is_accepted_two_are_not(app, client, make_user):
    user = make_user()
    login(client, user)
    secret, _codes = enrol(app, client, user)
    away_from_step_edge()
    _c, too_far = sign_in_with_code(app, user, code_at(secret, 3))
    assert too_far.status_code == 400
    _c, behind = sign_in_with_code(app, user, code_at(secret, -1))
    assert behind.status_code == 400  # a step older than the enrolment code: already "used"
    _c, ahead = sign_in_with_code(app, user, code_at(secret, 1))
    assert ahead.status_code == 302

    other = make_user()
    c = app.test_client()
    login(c, other)
    with app.app_context():
        second_factor.start_enrolment(db.session.get(User, other.id))
    secret2 = secret_of(app, other)
    away_from_step_edge()
    # The first code may come from a phone a step behind.
    assert c.post_form("/nl/settings/security/totp", {"code": code_at(secret2, -1)}).status_code == 200
    _c, two_behind = sign_in_with_code(app, other, code_at(secret2, -2))
    assert two_behind.status_code == 400


def test_a_recovery_code_works_once_and_is_logged(app, client, make_user):
    user = make_user()
    login(client, user)
    _secret, codes = enrol(app, client, user)
    c, ok = sign_in_with_code(app, user, codes[3].upper())  # typed in capitals: still right
    assert ok.status_code == 302 and signed_in(c)
    _c, again = sign_in_with_code(app, user, codes[3])
    assert again.status_code == 400
    page = c.get("/nl/settings/security").get_data(as_text=True)
    assert shows(app, page, "Recovery code used") and "9 herstelcodes" in page


def test_wrong_codes_are_rate_limited(app, client, make_user):
    user = make_user()
    login(client, user)
    enrol(app, client, user)
    app.config["RATELIMIT_SECOND_FACTOR"] = (2, 300)
    c = app.test_client()
    c.post_form("/nl/login", {"email": user.email, "password": PASSWORD})
    answers = [c.post_form("/nl/login/code", {"code": "999999"}).status_code for _ in range(3)]
    assert answers == [400, 400, 429]


def test_removing_totp_needs_a_code(app, client, make_user):
    user = make_user()
    login(client, user)
    secret, _codes = enrol(app, client, user)
    assert client.post_form("/nl/settings/security/totp/remove", {"code": "000000"}).status_code == 400
    with app.app_context():
        assert db.session.get(TotpCredential, user.id) is not None
    away_from_step_edge()
    assert client.post_form("/nl/settings/security/totp/remove", {"code": code_at(secret, 1)}).status_code == 302
    with app.app_context():
        assert db.session.get(TotpCredential, user.id) is None
        assert db.session.scalar(db.select(db.func.count(RecoveryCode.id))) == 0


# --- staff -----------------------------------------------------------------------------------

def staff_rules(app):
    """Every moderation and administration route, from the URL map (like the authorisation matrix)."""
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(("/<lang>/mod/", "/<lang>/admin/"))]


def _url(rule):
    values = {arg: ("nl" if arg == "lang" else 1) for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


@pytest.mark.parametrize("role", ["moderator", "admin"])
def test_staff_without_a_second_factor_are_sent_to_set_one_up_from_every_staff_page(app, client, make_user, role):
    app.config["STAFF_SECOND_FACTOR"] = True
    staff = make_user(role=role)
    login(client, staff)
    rules = staff_rules(app)
    assert len(rules) > 20 and any(r.endpoint == "auth.approvals" for r in rules)
    token = client.csrf_token()
    for rule in rules:
        for method in [m for m in ("GET", "POST") if m in rule.methods]:
            if method == "GET":
                response = client.get(_url(rule))
            else:
                response = client.post(_url(rule), data={"csrf_token": token})
            assert response.status_code == 302, (rule.endpoint, method, response.status_code)
            assert response.headers["Location"].endswith("/nl/settings/security"), (rule.endpoint, method)
    page = client.get("/nl/settings/security").get_data(as_text=True)
    assert shows(app, page, "As a moderator or administrator you need a second factor before the moderation "
                            "and administration pages open.")
    enrol(app, client, staff)
    assert client.get("/nl/mod/").status_code == 200
    # Members are not affected.
    member = make_user()
    assert app.test_client().post_form("/nl/login", {"email": member.email, "password": PASSWORD}).status_code == 302


def test_with_the_setting_off_staff_pages_open_without_a_second_factor(app, client, make_user):
    app.config["STAFF_SECOND_FACTOR"] = False
    login(client, make_user(role="moderator"))
    assert client.get("/nl/mod/").status_code == 200


def test_staff_sign_ins_go_to_the_audit_log_as_well(app, client, make_user):
    app.config["STAFF_SECOND_FACTOR"] = True
    moderator = make_user(role="moderator")
    member = make_user()
    login(client, moderator)
    login(app.test_client(), member)
    app.test_client().post_form("/nl/login", {"email": moderator.email, "password": "verkeerd-wachtwoord"})
    entries = [(e.action, e.actor_id) for e in audit(app) if e.action.startswith("security_")]
    assert ("security_signin", moderator.id) in entries and ("security_signin_failed", moderator.id) in entries
    assert all(actor != member.id for _action, actor in entries)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(SecurityEvent.id)).where(
            SecurityEvent.user_id == member.id, SecurityEvent.kind == "signin")) == 1


def test_sensitive_actions_ask_a_fresh_code_after_fifteen_minutes(app, client, make_user):
    app.config["STAFF_SECOND_FACTOR"] = True
    admin = make_user(role="admin")
    target = make_user()
    login(client, admin)
    secret, _codes = enrol(app, client, admin)
    assert client.get("/nl/admin/users").status_code == 200
    app.config["FRESH_FACTOR_MAX_AGE"] = -1  # the last code is "too old" now
    response = client.post_form(f"/nl/admin/users/{target.id}/role", {"role": "moderator"},
                                headers={"Referer": "http://localhost/nl/admin/users"})
    assert response.status_code == 302 and "/nl/settings/security/confirm" in response.headers["Location"]
    with app.app_context():
        assert db.session.get(User, target.id).role == "member"  # nothing happened
    confirm = response.headers["Location"]
    assert client.get(confirm).status_code == 200
    app.config["FRESH_FACTOR_MAX_AGE"] = 15 * 60
    away_from_step_edge()
    done = client.post_form(confirm, {"code": code_at(secret, 1)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/nl/admin/users")
    client.post_form(f"/nl/admin/users/{target.id}/role", {"role": "moderator"})
    with app.app_context():
        assert db.session.get(User, target.id).role == "moderator"


def test_an_admin_resets_a_moderators_second_factor_audited(app, client, make_user):
    app.config["STAFF_SECOND_FACTOR"] = True
    moderator = make_user(role="moderator")
    mod_client = app.test_client()
    login(mod_client, moderator)
    enrol(app, mod_client, moderator)
    admin = make_user(role="admin")
    login(client, admin)
    enrol(app, client, admin)
    page = client.get(f"/nl/mod/users/{moderator.id}")
    assert page.status_code == 200 and f"/nl/admin/users/{moderator.id}/second-factor/reset" in page.get_data(as_text=True)
    response = client.post_form(f"/nl/admin/users/{moderator.id}/second-factor/reset")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(TotpCredential, moderator.id) is None
    entries = audit(app, "reset_second_factor")
    assert [(e.actor_id, e.target_id) for e in entries] == [(admin.id, moderator.id)]
    assert [e.actor_id for e in audit(app, "security_second_factor_reset")] == [moderator.id]
    assert not signed_in(mod_client)  # the moderator's sessions ended
    # Signing in again, the moderator must set up a new factor before staff pages open.
    login(mod_client, moderator)
    assert mod_client.get("/nl/mod/").headers["Location"].endswith("/nl/settings/security")


def test_members_cannot_reset_anyones_second_factor(app, client, make_user):
    member, other = make_user(), make_user(role="moderator")
    login(client, member)
    assert client.post_form(f"/nl/admin/users/{other.id}/second-factor/reset").status_code == 403


def test_a_sign_in_from_a_new_browser_sends_a_mail_once(app, client, mail, make_user):
    app.config["NEW_DEVICE_MAIL"] = True
    user = make_user()
    login(client, user)
    first = mail.last(user.email)
    assert first["Subject"] == "Nieuwe aanmelding op uw Agora-account"
    client.post_form("/nl/logout")
    mail.clear()
    login(client, user)  # the same browser: it carries the known-device cookie
    assert mail.to(user.email) == []
