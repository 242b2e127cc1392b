"""The XSS corpus in a real browser: every payload in one post (and its preview), payloads
as a title, a display name, a council name and a search query. Nothing may run.

Pages are opened twice: once with the CSP switched off (bypass_csp), so the sanitiser and
the escaping alone must hold, and once under the real CSP, which must then report no
blocked script or style (a blocked one would mean something slipped through).
"""
import re

import pytest

from tests.test_xss import PAYLOADS

from . import support

MEMBER = "joost@agora.example"
ADMIN = "admin@agora.example"
# NUL bytes are refused before anything is saved (tests/test_security.py).
POSTABLE = [p for p in PAYLOADS if "\x00" not in p]
TITLE = '"><img src=x onerror=window.__xss=1> <script>window.__xss=1</script> titel'
NAME = '"><svg/onload=window.__xss=1>'
COUNCIL = "Raad <img src=x onerror=window.__xss=1> & <script>window.__xss=1</script>"


def _watch(page, dialogs):
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))


def assert_nothing_ran(page, dialogs, where):
    page.wait_for_timeout(150)  # onerror handlers of broken images fire asynchronously
    assert not support.xss_fired(page), f"a payload ran on {where}"
    assert dialogs == [], f"a dialog opened on {where}: {dialogs}"
    allowed = ("svg", "style") if where.startswith("/badge/") else ()
    assert support.dom_problems(page, allowed) == [], f"executable markup on {where}"


@pytest.fixture(scope="module")
def planted(browser, live_server):
    """Plant the payloads through the real forms; returns the URLs to look at."""
    context = support.new_context(browser, live_server)
    page = context.new_page()
    dialogs = []
    _watch(page, dialogs)
    support.sign_in(page, MEMBER)
    theme_id = support.scalar(live_server, "SELECT id FROM theme WHERE visibility = 'public' ORDER BY position LIMIT 1")

    page.goto("/nl/new")
    page.select_option("#theme", str(theme_id))
    page.fill("#title", TITLE)
    page.fill("#body", "\n\n".join(POSTABLE))
    page.fill("#tags", "<b>x</b>, \"><svg onload=alert(1)>")
    # The preview renders the server's sanitised HTML with innerHTML: the riskiest sink.
    page.locator("button[data-preview-target]").click()
    page.locator("#new-thread-preview").wait_for(state="visible")
    page.wait_for_timeout(300)
    assert_nothing_ran(page, dialogs, "the preview")
    assert page.locator("#new-thread-preview p").count() > 10
    with page.expect_navigation():
        page.locator("form.new-thread [type=submit]").click()
    thread_url = re.sub(r"^https?://[^/]+", "", page.url)
    assert "/t/" in thread_url, page.url

    page.goto("/nl/settings")
    page.fill("#name", NAME)
    with page.expect_navigation():
        page.locator("main form[method=post] [type=submit]").click()
    assert support.scalar(live_server, "SELECT name FROM user WHERE email = ?", MEMBER) == NAME

    admin = context.browser.new_context(base_url=live_server.url)
    admin_page = admin.new_page()
    support.sign_in(admin_page, ADMIN)
    org_id, slug = support.query(live_server, "SELECT o.id, o.slug FROM organisation o JOIN user u "
                                              "ON u.organisation_id = o.id WHERE u.email = ?", MEMBER)[0]
    admin_page.goto(f"/nl/admin/organisations/{org_id}")
    admin_page.fill("#name", COUNCIL)
    with admin_page.expect_navigation():
        admin_page.locator(f"form[action$='/admin/organisations/{org_id}'] [type=submit]").click()
    assert support.scalar(live_server, "SELECT name FROM organisation WHERE id = ?", org_id) == COUNCIL
    admin.close()
    context.close()
    live_server.flask("search", "sync")
    return {
        "thread": thread_url,
        "pages": [thread_url, "/nl/latest", "/nl/", f"/nl/members/{slug}", "/nl/members?q=Raad",
                  "/nl/search?q=window", "/nl/search?q=" + "%22%3E%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E",
                  "/nl/search?q=onerror+img", f"/badge/{slug}.svg", f"/badge/{slug}.svg?style=seal&theme=dark"],
        "member_pages": ["/nl/settings", "/nl/badge", re.sub(r"(/t/\d+).*", r"\1/reply", thread_url)],
    }


@pytest.mark.parametrize("bypass_csp", [True, False], ids=["without-csp", "with-csp"])
def test_no_payload_runs_anywhere(browser, live_server, planted, bypass_csp):
    for signed_in in (False, True):
        context = support.new_context(browser, live_server, bypass_csp=bypass_csp)
        try:
            page = context.new_page()
            dialogs = []
            _watch(page, dialogs)
            if signed_in:
                support.sign_in(page, MEMBER)
            for url in planted["pages"] + (planted["member_pages"] if signed_in else []):
                response = page.goto(url)
                assert response.status < 500, url
                assert_nothing_ran(page, dialogs, url)
                if not bypass_csp:
                    # External images in posts are blocked by img-src on purpose; anything
                    # else the CSP blocks would be markup that got through.
                    blocked = [v for v in support.csp_violations(page) if not v.startswith("img-src")]
                    assert blocked == [], f"the CSP had to block something on {url}"
                # Handlers that wait for a gesture: pointer and focus events on everything.
                page.evaluate("""() => document.querySelectorAll('main *').forEach((el) => {
                    for (const type of ['mouseover', 'mouseenter', 'pointerenter', 'pointerover']) {
                      el.dispatchEvent(new MouseEvent(type, {bubbles: true}));
                    }
                    el.dispatchEvent(new FocusEvent('focus'));
                })""")
                assert not support.xss_fired(page), f"a payload ran on hover or focus on {url}"
        finally:
            context.close()


def test_payload_text_arrives_as_text(browser, live_server, planted):
    """Escaped, not dropped: readers see what the member typed."""
    context = support.new_context(browser, live_server)
    try:
        page = context.new_page()
        support.sign_in(page, MEMBER)
        page.goto(planted["thread"])
        assert page.locator("h1").inner_text().strip() == TITLE
        body = page.locator("#p1 .body").inner_text()
        assert "window.__xss=1" in body
        assert NAME in page.locator("#p1 .author").inner_text()
        assert COUNCIL in page.locator("#p1 .org").inner_text()
    finally:
        context.close()
