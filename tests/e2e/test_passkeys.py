"""Passkeys in a real browser: Chromium's virtual authenticator (DevTools WebAuthn domain)
registers a passkey on the security page and signs in with it, through Agora's own
forum/static/passkeys.js; a moderator's passkey opens the staff pages; axe-core checks the
pages with passkeys in both languages.

WebAuthn needs a secure context: the site is opened as http://localhost:<port> (a secure
context, and a valid relying party id), while gunicorn still binds 127.0.0.1.
"""
import pytest

from tests.live import LiveServer, free_port

from . import support
from .conftest import mail_env, site_from

MEMBER, MODERATOR = "marieke@agora.example", "moderator@agora.example"


@pytest.fixture(scope="module")
def passkey_site(tmp_path_factory, smtp_server, golden_site):
    port = free_port()
    origin = f"http://localhost:{port}"
    instance = site_from(golden_site, tmp_path_factory.mktemp("passkey-instance"))
    server = LiveServer(instance, port=port, env={
        **mail_env(smtp_server), "AGORA_BASE_URL": origin, "AGORA_WEBAUTHN_RP_ID": "localhost",
        "AGORA_WEBAUTHN_ORIGIN": origin, "AGORA_STAFF_SECOND_FACTOR": "1"})
    server.origin = origin
    server.start()
    yield server
    server.stop()


@pytest.fixture
def person(browser, passkey_site):
    """A browser tab on http://localhost with a virtual platform authenticator (fingerprint)."""
    contexts = []

    def make(locale="nl-NL"):
        context = browser.new_context(base_url=passkey_site.origin, locale=locale)
        context.add_init_script(support.INIT_SCRIPT)
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}})
        page.cdp, page.authenticator_id = cdp, authenticator["authenticatorId"]
        return page

    yield make
    for context in contexts:
        context.close()


def passkey_rows(server, email):
    return support.query(server, "SELECT p.name, p.sign_count FROM passkey p JOIN user u ON u.id = p.user_id "
                                 "WHERE u.email = ? ORDER BY p.id", email)


def add_passkey(page, name):
    page.goto("/nl/settings/security")
    block = page.locator("[data-passkey=register]")
    assert block.is_visible(), "the script did not show the passkey block"
    assert page.locator("#passkey-fallback").is_hidden()
    page.fill("#new-name", name)
    with page.expect_navigation():
        block.locator("[data-passkey-start]").click()
    assert page.locator(".flash-success").filter(has_text=name).count() == 1, page.content()[:3000]


def sign_out(page):
    with page.expect_navigation():
        page.locator("form[action$='/logout'] button").click()
    assert page.locator("form[action$='/logout']").count() == 0


def test_a_member_registers_a_passkey_and_signs_in_with_it(person, passkey_site, axe_source, artifacts):
    page = person()
    support.sign_in(page, MEMBER)
    add_passkey(page, "Laptop thuis")
    assert [name for name, _count in passkey_rows(passkey_site, MEMBER)] == ["Laptop thuis"]
    credentials = page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": page.authenticator_id})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"] and credentials[0]["rpId"] == "localhost"
    for lang in ("nl", "fr"):
        page.goto(f"/{lang}/settings/security")
        assert page.locator("text=Laptop thuis").count() >= 1
        support.screenshot(page, artifacts, f"member-{lang}-settings-security-passkey")
        violations = support.run_axe(page, axe_source)
        assert not violations, "\n".join(violations)
        assert support.csp_violations(page) == []

    sign_out(page)
    for lang in ("fr", "nl"):
        page.goto(f"/{lang}/login")
        button = page.locator("[data-passkey=signin] [data-passkey-start]")
        assert button.is_visible()
        violations = support.run_axe(page, axe_source)
        assert not violations, "\n".join(violations)
    with page.expect_navigation():
        button.click()
    assert page.locator("form[action$='/logout']").count() == 1, page.url
    kinds = support.query(passkey_site, "SELECT e.kind, e.details FROM security_event e JOIN user u ON u.id = e.user_id "
                                        "WHERE u.email = ? ORDER BY e.id", MEMBER)
    assert kinds[-1][0] == "signin" and '"passkey"' in kinds[-1][1]
    assert passkey_rows(passkey_site, MEMBER)[0][1] >= 1  # the counter moved on
    assert support.csp_violations(page) == []


def test_a_moderators_passkey_is_the_second_factor(person, passkey_site, axe_source, artifacts):
    page = person()
    support.sign_in(page, MODERATOR)
    page.goto("/nl/mod/")
    assert page.url.endswith("/nl/settings/security")  # no second factor yet
    add_passkey(page, "Telefoon")
    response = page.goto("/nl/mod/")
    assert response.status == 200 and page.url.endswith("/nl/mod/")

    # With the password alone, the staff pages ask the passkey first.
    sign_out(page)
    support.sign_in(page, MODERATOR)
    for lang in ("nl", "fr"):
        page.goto(f"/{lang}/mod/log")
        assert "/settings/security/confirm" in page.url
        support.screenshot(page, artifacts, f"moderator-{lang}-confirm-passkey")
        violations = support.run_axe(page, axe_source)
        assert not violations, "\n".join(violations)
    with page.expect_navigation():
        page.locator("[data-passkey=confirm] [data-passkey-start]").click()
    assert page.url.endswith("/fr/mod/log"), page.url
    assert support.csp_violations(page) == []
