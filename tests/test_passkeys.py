"""Passkeys through HTTP with a software authenticator (tests/webauthn_device.py): register
('none' and 'packed' attestation), sign in with a passkey alone, refusals (wrong origin or
relying party, used or expired challenge, counter going back, another member's passkey, no
user verification), rename and removal with a fresh factor, rate limits, the staff gate,
the admin reset, the prune job."""
import re
from datetime import timedelta

import pytest

from forum.extensions import db
from forum.models import Passkey, SecurityEvent, User, WebauthnChallenge, utcnow
from tests.conftest import PASSWORD, audit, login, shows
from tests.test_auth import cheap_hashing  # noqa: F401  (autouse: fast password hashing)
from tests.webauthn_device import Device

ORIGIN = "http://agora.test"  # the tests' AGORA_BASE_URL: relying party id agora.test


@pytest.fixture(autouse=True)
def staff_security_audit(app):
    app.config["STAFF_SECURITY_AUDIT"] = True


def api(client, url, body=None):
    """A JSON POST as forum/static/passkeys.js makes it: the page's CSRF token in a header."""
    return client.post(url, json=body if body is not None else {}, headers={"X-CSRFToken": client.csrf_token()})


def add_passkey(client, device, name="Telefoon", fmt="none", lang="nl", **create):
    options = api(client, f"/{lang}/settings/security/passkeys/options", {"name": name})
    assert options.status_code == 200, options.get_data(as_text=True)
    credential = device.create(options.get_json(), fmt=fmt, **create)
    return api(client, f"/{lang}/settings/security/passkeys", {"credential": credential})


def passkey_sign_in(client, device, body=None, **get):
    options = api(client, "/nl/login/passkey/options")
    assert options.status_code == 200, options.get_data(as_text=True)
    answer = device.get(options.get_json(), **get)
    return api(client, "/nl/login/passkey", {"credential": answer, **(body or {})})


def signed_in(client):
    return client.get("/nl/settings").status_code == 200


def passkeys_of(app, user):
    with app.app_context():
        return db.session.scalars(db.select(Passkey).where(Passkey.user_id == user.id)).all()


def events(app, user, kind=None):
    with app.app_context():
        query = db.select(SecurityEvent).where(SecurityEvent.user_id == user.id).order_by(SecurityEvent.id)
        if kind:
            query = query.where(SecurityEvent.kind == kind)
        return db.session.scalars(query).all()


def member_with_passkey(app, make_user, **user):
    person = make_user(**user)
    client = app.test_client()
    login(client, person)
    device = Device(ORIGIN)
    assert add_passkey(client, device).status_code == 200
    return person, device, client


@pytest.mark.parametrize("fmt", ["none", "packed"])
def test_a_member_adds_a_passkey_and_signs_in_with_it_alone(app, client, make_user, fmt):
    member = make_user()
    login(client, member)
    device = Device(ORIGIN)
    added = add_passkey(client, device, name="Laptop thuis", fmt=fmt)
    assert added.status_code == 200 and added.get_json()["redirect"] == "/nl/settings/security"
    [stored] = passkeys_of(app, member)
    assert stored.name == "Laptop thuis" and stored.sign_count == 0 and stored.last_used_at is None
    page = client.get("/nl/settings/security").get_data(as_text=True)
    assert "Laptop thuis" in page and shows(app, page, "Passkey added")
    assert "/static/passkeys.js" in page and "cdn" not in page.lower()

    fresh = app.test_client()
    response = passkey_sign_in(fresh, device, {"next": "/nl/latest"})
    assert response.status_code == 200 and response.get_json() == {"redirect": "/nl/latest"}
    assert signed_in(fresh)
    [stored] = passkeys_of(app, member)
    assert stored.sign_count == 1 and stored.last_used_at is not None
    [signin] = [e for e in events(app, member, "signin") if e.details["method"] == "passkey"]
    assert signin.details["second_factor"] == "passkey"
    assert shows(app, fresh.get("/nl/settings/security").get_data(as_text=True), "Signed in with a passkey")


def test_the_pages_offer_passkeys_only_where_the_site_can_have_them(app, client, make_user):
    page = client.get("/nl/login").get_data(as_text=True)
    assert "data-passkey=\"signin\"" in page and 'data-options-url="/nl/login/passkey/options"' in page
    # hidden until the script finds passkey support: the page works without it
    assert re.search(r'<div class="passkey" data-passkey="signin"[^>]*\shidden>', page)
    app.config["BASE_URL"] = "http://127.0.0.1:8000"  # browsers refuse an IP address as relying party
    assert "data-passkey" not in client.get("/nl/login").get_data(as_text=True)
    assert api(client, "/nl/login/passkey/options").status_code == 404


def test_a_wrong_origin_or_relying_party_is_refused(app, client, make_user):
    member = make_user()
    login(client, member)
    refused = add_passkey(client, Device(ORIGIN), origin="http://agora.test.evil.example")
    assert refused.status_code == 400 and passkeys_of(app, member) == []
    assert add_passkey(client, Device(ORIGIN), rp_id="evil.example").status_code == 400
    device = Device(ORIGIN)
    assert add_passkey(client, device).status_code == 200

    for answer in ({"origin": "https://phish.example"}, {"rp_id": "phish.example"}):
        other = app.test_client()
        response = passkey_sign_in(other, device, **answer)
        assert response.status_code == 400 and not signed_in(other)
        assert shows(app, response.get_json()["error"], "This passkey was not accepted. Try again, or sign in another way.")
    failed = events(app, member, "signin_failed")
    assert [e.details["method"] for e in failed] == ["passkey", "passkey"]


def test_a_device_without_user_verification_is_refused(app, client, make_user):
    member = make_user()
    login(client, member)
    assert add_passkey(client, Device(ORIGIN, user_verified=False)).status_code == 400
    assert passkeys_of(app, member) == []


def test_a_challenge_is_used_once_and_expires(app, make_user):
    member, device, _client = member_with_passkey(app, make_user)
    c = app.test_client()
    options = api(c, "/nl/login/passkey/options").get_json()
    stale_session = c.get_cookie("session").value
    answer = device.get(options)
    assert api(c, "/nl/login/passkey", {"credential": answer}).status_code == 200
    # The same answer again, with a copy of the session cookie that still names the challenge.
    replay = app.test_client()
    replay.set_cookie("session", stale_session)
    response = replay.post("/nl/login/passkey", json={"credential": answer},
                           headers={"X-CSRFToken": replay.csrf_token()})
    assert response.status_code == 400 and not signed_in(replay)
    # An answer to an old challenge in a new round.
    again = app.test_client()
    api(again, "/nl/login/passkey/options")
    assert api(again, "/nl/login/passkey", {"credential": device.get(options)}).status_code == 400
    assert not signed_in(again)

    app.config["WEBAUTHN_CHALLENGE_MAX_AGE"] = -1  # answered after its expiry
    late = app.test_client()
    assert passkey_sign_in(late, device).status_code == 400 and not signed_in(late)
    reasons = [e.details.get("reason") for e in events(app, member, "signin_failed")]
    assert reasons.count("challenge") == 2 and "invalid" in reasons


def test_a_counter_going_back_betrays_a_copied_passkey(app, make_user):
    member, device, _client = member_with_passkey(app, make_user)
    assert passkey_sign_in(app.test_client(), device).status_code == 200
    assert passkey_sign_in(app.test_client(), device).status_code == 200
    device.credentials[0].sign_count = 0  # a copy of the key that signed once before
    copy = app.test_client()
    assert passkey_sign_in(copy, device).status_code == 400 and not signed_in(copy)
    assert events(app, member, "signin_failed")[-1].details["reason"] == "sign_count"
    [stored] = passkeys_of(app, member)
    assert stored.sign_count == 2


def test_passkeys_without_a_counter_keep_working(app, make_user):
    person = make_user()
    c = app.test_client()
    login(c, person)
    device = Device(ORIGIN, counter_step=0)  # synced passkeys (password managers) send 0
    assert add_passkey(c, device).status_code == 200
    for _ in range(2):
        assert passkey_sign_in(app.test_client(), device).status_code == 200


def test_another_members_passkey_does_not_confirm_or_manage_this_account(app, make_user):
    app.config["FRESH_FACTOR_MAX_AGE"] = 15 * 60
    anna, anna_device, _anna_client = member_with_passkey(app, make_user)
    bert, _bert_device, bert_client = member_with_passkey(app, make_user)
    options = api(bert_client, "/nl/settings/security/confirm/passkey/options").get_json()
    assert [c["id"] for c in options["allowCredentials"]] == [passkeys_of(app, bert)[0].credential_id]
    # Anna's (valid, signed) answer to Bert's challenge.
    answer = anna_device.get(options, credential=anna_device.credentials[0])
    response = api(bert_client, "/nl/settings/security/confirm/passkey", {"credential": answer})
    assert response.status_code == 400
    assert events(app, bert, "second_factor_failed")[-1].details["reason"] == "unknown"
    # Anna's passkey signs in as Anna, never as Bert; a forged user handle is refused.
    forged = anna_device.get(api(c := app.test_client(), "/nl/login/passkey/options").get_json())
    forged["response"]["userHandle"] = passkeys_of(app, bert)[0].user_handle
    assert api(c, "/nl/login/passkey", {"credential": forged}).status_code == 400
    # Bert cannot rename or remove Anna's passkey.
    anna_key = passkeys_of(app, anna)[0]
    assert bert_client.post_form(f"/nl/settings/security/passkeys/{anna_key.id}/remove").status_code == 404
    assert bert_client.post_form(f"/nl/settings/security/passkeys/{anna_key.id}/rename",
                                 {f"p{anna_key.id}-name": "Van mij"}).status_code == 404
    assert passkeys_of(app, anna)[0].name == anna_key.name
    # Nor register a passkey that is already Anna's.
    duplicate = add_passkey(bert_client, anna_device, name="Gekopieerd", reuse=anna_device.credentials[0])
    assert duplicate.status_code == 400 and shows(app, duplicate.get_json()["error"], "This passkey is already registered.")
    with app.app_context():
        owners = db.session.scalars(db.select(Passkey.user_id).where(
            Passkey.credential_id == anna_key.credential_id)).all()
    assert owners == [anna.id]


def test_rename_keeps_the_text_on_an_error_and_is_logged(app, make_user):
    member, _device, c = member_with_passkey(app, make_user)
    key = passkeys_of(app, member)[0]
    too_long = "Telefoon " + "x" * 60
    response = c.post_form(f"/nl/settings/security/passkeys/{key.id}/rename", {f"p{key.id}-name": too_long})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and shows(app, page, "Keep the name under 60 characters.") and too_long in page
    assert c.post_form(f"/nl/settings/security/passkeys/{key.id}/rename",
                       {f"p{key.id}-name": "Telefoon van Els"}).status_code == 302
    assert passkeys_of(app, member)[0].name == "Telefoon van Els"
    assert events(app, member, "passkey_renamed")[-1].details == {"old": "Telefoon", "name": "Telefoon van Els"}
    # A name that is too long is refused before the ceremony, too.
    long_add = api(c, "/nl/settings/security/passkeys/options", {"name": too_long})
    assert long_add.status_code == 400 and shows(app, long_add.get_json()["error"], "Keep the name under 60 characters.")


def test_removing_a_passkey_asks_a_fresh_factor_and_ends_its_use(app, make_user):
    member, device, c = member_with_passkey(app, make_user)
    key = passkeys_of(app, member)[0]
    app.config["FRESH_FACTOR_MAX_AGE"] = -1  # the passkey used when adding it is "too old" now
    response = c.post_form(f"/nl/settings/security/passkeys/{key.id}/remove",
                           headers={"Referer": "http://localhost/nl/settings/security"})
    assert response.status_code == 302 and "/nl/settings/security/confirm" in response.headers["Location"]
    confirm_page = c.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-passkey="confirm"' in confirm_page and 'name="code"' not in confirm_page
    assert len(passkeys_of(app, member)) == 1
    app.config["FRESH_FACTOR_MAX_AGE"] = 15 * 60
    options = api(c, "/nl/settings/security/confirm/passkey/options").get_json()
    confirmed = api(c, "/nl/settings/security/confirm/passkey",
                    {"credential": device.get(options), "next": "/nl/settings/security"})
    assert confirmed.status_code == 200 and confirmed.get_json() == {"redirect": "/nl/settings/security"}
    assert c.post_form(f"/nl/settings/security/passkeys/{key.id}/remove").status_code == 302
    assert passkeys_of(app, member) == []
    assert [e.details["name"] for e in events(app, member, "passkey_removed")] == ["Telefoon"]
    gone = app.test_client()
    assert passkey_sign_in(gone, device).status_code == 400 and not signed_in(gone)


def test_adding_a_second_passkey_asks_a_fresh_factor(app, make_user):
    member, _device, c = member_with_passkey(app, make_user)
    app.config["FRESH_FACTOR_MAX_AGE"] = -1
    response = c.post("/nl/settings/security/passkeys/options", json={"name": "Tablet"},
                      headers={"X-CSRFToken": c.csrf_token(), "Referer": "http://localhost/nl/settings/security"})
    assert response.status_code == 302 and "/nl/settings/security/confirm" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(WebauthnChallenge.id))) == 0


def test_rate_limits(app, make_user):
    member, device, c = member_with_passkey(app, make_user)
    app.config["RATELIMIT_PASSKEY_OPTIONS_IP"] = (2, 60)
    stranger = app.test_client()
    answers = [api(stranger, "/nl/login/passkey/options").status_code for _ in range(3)]
    assert answers == [200, 200, 429]

    app.config["RATELIMIT_PASSKEY_OPTIONS_IP"] = (100, 60)
    app.config["RATELIMIT_PASSKEY_FAILED_IP"] = (2, 600)
    guesses = []
    for _ in range(3):
        guesser = app.test_client()
        options = api(guesser, "/nl/login/passkey/options").get_json()
        guesses.append(api(guesser, "/nl/login/passkey",
                           {"credential": device.get(options, origin="https://phish.example")}).status_code)
    assert guesses == [400, 400, 429]
    late = api(app.test_client(), "/nl/login/passkey", {"credential": {}})
    assert late.status_code == 429 and late.headers["Retry-After"] == "600"

    app.config["RATELIMIT_PASSKEY_REGISTER"] = (1, 3600)  # member_with_passkey used it once
    refused = api(c, "/nl/settings/security/passkeys/options", {"name": "Nog een"})
    assert refused.status_code == 429 and shows(app, refused.get_json()["error"],
                                                "Too many attempts. Wait a few minutes and try again.")


def test_bad_bodies_are_answered_clearly(app, client, make_user):
    member, _device, c = member_with_passkey(app, make_user)
    for body in (None, {"credential": "x"}, {"credential": {"id": 1}}, {"credential": {"rawId": "!!", "response": {}}}):
        response = client.post("/nl/login/passkey", data="not json" if body is None else None,
                                json=body, headers={"X-CSRFToken": client.csrf_token()})
        assert response.status_code == 400 and "error" in response.get_json()
    response = api(c, "/nl/settings/security/passkeys", {"credential": {"id": "x"}})
    assert response.status_code == 400 and "error" in response.get_json()
    # Without the CSRF token nothing happens.
    assert c.post("/nl/settings/security/passkeys/options", json={"name": "x"}).status_code == 400
    # Nothing to confirm with: no challenge that any passkey of the site could answer.
    without = make_user()
    login(client, without)
    assert api(client, "/nl/settings/security/confirm/passkey/options").status_code == 400
    assert client.get("/nl/settings/security/confirm").headers["Location"].endswith("/nl/settings/security")


def test_a_suspended_member_cannot_sign_in_with_a_passkey(app, make_user):
    member, device, _c = member_with_passkey(app, make_user)
    with app.app_context():
        user = db.session.get(User, member.id)
        user.status, user.suspended_until = "suspended", utcnow() + timedelta(days=3)
        db.session.commit()
    c = app.test_client()
    response = passkey_sign_in(c, device)
    assert response.status_code == 400 and not signed_in(c)
    assert "geschorst" in response.get_json()["error"]


def test_a_totp_member_may_use_a_passkey_instead_of_the_code(app, make_user):
    from tests.test_second_factor import enrol

    member, device, c = member_with_passkey(app, make_user)
    enrol(app, c, member)
    fresh = app.test_client()
    first = fresh.post_form("/nl/login", {"email": member.email, "password": PASSWORD})
    assert first.headers["Location"].endswith("/nl/login/code")
    assert 'data-passkey="signin"' in fresh.get("/nl/login/code").get_data(as_text=True)
    assert passkey_sign_in(fresh, device).status_code == 200 and signed_in(fresh)


# --- staff -----------------------------------------------------------------------------------

def test_a_passkey_is_the_second_factor_staff_need(app, make_user):
    app.config["STAFF_SECOND_FACTOR"] = True
    moderator = make_user(role="moderator")
    c = app.test_client()
    login(c, moderator)
    assert c.get("/nl/mod/").headers["Location"].endswith("/nl/settings/security")
    device = Device(ORIGIN)
    assert add_passkey(c, device, name="Sleutelbos").status_code == 200
    assert c.get("/nl/mod/").status_code == 200  # adding it proved the factor in this session

    # Password alone: the staff pages ask the passkey first.
    with_password = app.test_client()
    login(with_password, moderator)
    redirect = with_password.get("/nl/mod/log")
    assert redirect.status_code == 302 and "/nl/settings/security/confirm" in redirect.headers["Location"]
    options = api(with_password, "/nl/settings/security/confirm/passkey/options").get_json()
    done = api(with_password, "/nl/settings/security/confirm/passkey",
               {"credential": device.get(options), "next": "/nl/mod/log"})
    assert done.get_json() == {"redirect": "/nl/mod/log"}
    assert with_password.get("/nl/mod/log").status_code == 200

    # A passkey alone opens them straight away.
    with_passkey = app.test_client()
    assert passkey_sign_in(with_passkey, device).status_code == 200
    assert with_passkey.get("/nl/mod/").status_code == 200
    actions = [e.action for e in audit(app) if e.actor_id == moderator.id]
    assert "security_passkey_added" in actions and actions.count("security_signin") >= 3


def test_an_admin_reset_removes_the_passkeys_and_tells_the_moderator(app, make_user, mail):
    app.config["STAFF_SECOND_FACTOR"] = True
    moderator, mod_device, mod_client = member_with_passkey(app, make_user, role="moderator")
    admin, _admin_device, admin_client = member_with_passkey(app, make_user, role="admin")
    mail.clear()
    response = admin_client.post_form(f"/nl/admin/users/{moderator.id}/second-factor/reset")
    assert response.status_code == 302
    assert passkeys_of(app, moderator) == [] and len(passkeys_of(app, admin)) == 1
    [entry] = audit(app, "reset_second_factor")
    assert (entry.actor_id, entry.target_id, entry.details["passkeys"]) == (admin.id, moderator.id, 1)
    message = mail.last(moderator.email)
    assert message["Subject"] == "De tweede factor van uw Agora-account is verwijderd"
    assert "/nl/settings/security" in message.get_body().get_content()
    assert not signed_in(mod_client)
    locked = app.test_client()
    assert passkey_sign_in(locked, mod_device).status_code == 400
    login(locked, moderator)
    assert locked.get("/nl/mod/").headers["Location"].endswith("/nl/settings/security")


def test_prune_removes_expired_challenges(app, runner):
    with app.app_context():
        db.session.add_all([
            WebauthnChallenge(challenge="old", purpose="signin", expires_at=utcnow() - timedelta(minutes=1)),
            WebauthnChallenge(challenge="new", purpose="signin", expires_at=utcnow() + timedelta(minutes=4)),
        ])
        db.session.commit()
    result = runner.invoke(args=["jobs", "prune"])
    assert result.exit_code == 0 and "1 expired passkey challenges" in result.output
    with app.app_context():
        assert db.session.scalars(db.select(WebauthnChallenge.challenge)).all() == ["new"]


def test_staff_with_a_passkey_confirm_it_before_every_staff_page(app, make_user):
    """From the URL map: signed in with the password only, every moderation and
    administration route asks the passkey first (the passkey itself is the factor)."""
    from tests.test_second_factor import _url, staff_rules

    app.config["STAFF_SECOND_FACTOR"] = True
    admin, _device, _c = member_with_passkey(app, make_user, role="admin")
    c = app.test_client()
    login(c, admin)  # password only: no factor in this session
    rules = staff_rules(app)
    assert len(rules) > 20
    token = c.csrf_token()
    for rule in rules:
        for method in [m for m in ("GET", "POST") if m in rule.methods]:
            response = c.get(_url(rule)) if method == "GET" else c.post(_url(rule), data={"csrf_token": token})
            assert response.status_code == 302, (rule.endpoint, method, response.status_code)
            assert "/nl/settings/security/confirm" in response.headers["Location"], (rule.endpoint, method)


def test_every_sensitive_action_asks_a_fresh_passkey(app, make_user):
    """Each endpoint in SENSITIVE_ENDPOINTS, by its URL map rules: with the last factor too old,
    a passkey holder is sent to confirm it and nothing happens."""
    from auth.views import SENSITIVE_ENDPOINTS

    app.config["STAFF_SECOND_FACTOR"] = True
    admin, _device, c = member_with_passkey(app, make_user, role="admin")
    target = make_user()
    own_key = passkeys_of(app, admin)[0]
    app.config["FRESH_FACTOR_MAX_AGE"] = -1
    rules = [r for r in app.url_map.iter_rules() if r.endpoint in SENSITIVE_ENDPOINTS]
    assert {r.endpoint for r in rules} == SENSITIVE_ENDPOINTS
    token = c.csrf_token()
    for rule in rules:
        values = {"lang": "nl", "user_id": target.id, "passkey_id": own_key.id}
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in [m for m in ("GET", "POST") if m in rule.methods]:
            response = c.get(url) if method == "GET" else c.post(
                url, data={"csrf_token": token, "role": "admin", "confirm": "y"}, headers={"X-CSRFToken": token})
            assert response.status_code == 302, (rule.endpoint, method, response.status_code)
            assert "/nl/settings/security/confirm" in response.headers["Location"], (rule.endpoint, method)
    with app.app_context():
        person = db.session.get(User, target.id)
        assert person.role == "member" and person.deleted_at is None
    assert [p.id for p in passkeys_of(app, admin)] == [own_key.id]
