"""axe-core (WCAG 2.1 A and AA) on every main page, in Dutch and French, signed out and
signed in as member, moderator and admin; screenshots for review; the keyboard alone
is enough to start a topic and to reply.

Screenshots go to artifacts/screenshots/<role>-<lang>-<page>.png.
"""
import pytest

from . import support

ANONYMOUS, MEMBER, MODERATOR, ADMIN = "anonymous", "member", "moderator", "admin"
ACCOUNTS = {
    MEMBER: "marieke@agora.example",
    MODERATOR: "moderator@agora.example",
    ADMIN: "admin@agora.example",
}
SUBMIT_EMPTY = "submit-empty"  # the page as it looks after sending its form empty (errors shown)

PAGES = {
    ANONYMOUS: [
        ("home", "/{lang}/"),
        ("latest", "/{lang}/latest"),
        ("themes", "/{lang}/themes"),
        ("theme", "/{lang}/themes/{public_theme}"),
        ("questions", "/{lang}/questions"),
        ("practices", "/{lang}/practices"),
        ("initiatives", "/{lang}/initiatives"),
        ("vacancies", "/{lang}/vacancies"),
        ("thread", "/{lang}/t/{public_thread}"),
        ("search", "/{lang}/search?q=adviesraad"),
        ("search-nothing", "/{lang}/search?q=zzyzxqwv"),
        ("advice-register", "/{lang}/advice"),
        ("advice-register-filtered", "/{lang}/advice?status=partly&language=fr"),
        ("directory", "/{lang}/members"),
        ("verify", "/{lang}/members/{org_slug}"),
        ("about", "/{lang}/about"),
        ("privacy", "/{lang}/privacy"),
        ("terms", "/{lang}/terms"),
        ("login", "/{lang}/login"),
        ("login-errors", "/{lang}/login", SUBMIT_EMPTY),
        ("register", "/{lang}/register"),
        ("register-errors", "/{lang}/register", SUBMIT_EMPTY),
        ("reset", "/{lang}/reset"),
        ("signin-link", "/{lang}/login/link"),
        ("signin-link-errors", "/{lang}/login/link", SUBMIT_EMPTY),
        ("resend", "/{lang}/confirm/resend"),
        ("not-found", "/{lang}/no-such-page"),
        ("events", "/{lang}/events"),
        ("events-past", "/{lang}/events?past=1"),
        ("events-month", "/{lang}/events/month"),
        ("event-series", "/{lang}/events/{public_event}"),
    ],
    MEMBER: [
        ("home", "/{lang}/"),
        ("latest", "/{lang}/latest"),
        ("new-thread", "/{lang}/new"),
        ("new-thread-errors", "/{lang}/new", SUBMIT_EMPTY),
        ("thread", "/{lang}/t/{members_thread}"),
        ("reply", "/{lang}/t/{members_thread}/reply"),
        ("report", "/{lang}/mod/flag/{other_post}"),
        ("notifications", "/{lang}/notifications"),
        ("profile", "/{lang}/members/{other_user}"),
        ("settings", "/{lang}/settings"),
        ("settings-password", "/{lang}/settings/password"),
        ("settings-email", "/{lang}/settings/email"),
        ("settings-security", "/{lang}/settings/security"),
        ("settings-organisation", "/{lang}/settings/organisation"),
        ("export", "/{lang}/settings/export"),
        ("delete-account", "/{lang}/settings/delete"),
        ("settings-mail", "/{lang}/settings/mail"),
        ("badge", "/{lang}/badge"),
        ("search", "/{lang}/search?q=gemeente"),
        ("forbidden", "/{lang}/mod/"),
        ("advice-thread", "/{lang}/t/{own_advice}"),
        ("advice-answer", "/{lang}/advice/{own_advice}/answer"),
        ("event-full", "/{lang}/events/{full_event}"),
        ("event-new", "/{lang}/events/new"),
        ("event-new-errors", "/{lang}/events/new", SUBMIT_EMPTY),
        ("event-calendar", "/{lang}/events/calendar"),
        ("advice-edit", "/{lang}/advice/{own_advice}/edit"),
        ("advice-history", "/{lang}/advice/{own_advice}/history"),
    ],
    MODERATOR: [
        ("queue", "/{lang}/mod/"),
        ("registrations", "/{lang}/mod/registrations"),
        ("log", "/{lang}/mod/log"),
        ("post", "/{lang}/mod/p/{other_post}"),
        ("edit-post", "/{lang}/mod/p/{other_post}/edit"),
        ("thread", "/{lang}/mod/t/{members_thread}"),
        ("user", "/{lang}/mod/users/{other_user}"),
        ("thread-page", "/{lang}/t/{members_thread}"),
        ("history", "/{lang}/p/{edited_post}/history"),
        ("advice-statistics", "/{lang}/advice/statistics"),
        ("incoming-mail", "/{lang}/mod/mail"),
    ],
    ADMIN: [
        ("overview", "/{lang}/admin/"),
        ("users", "/{lang}/admin/users"),
        ("organisations", "/{lang}/admin/organisations"),
        ("organisation", "/{lang}/admin/organisations/{org_id}"),
        ("organisation-new", "/{lang}/admin/organisations/new"),
        ("themes", "/{lang}/admin/themes"),
        ("theme", "/{lang}/admin/themes/{theme_id}"),
        ("org-requests", "/{lang}/admin/org-requests"),
    ],
}
# WCAG 1.4.10 Reflow: usable at 320 CSS pixels wide without scrolling sideways.
NARROW = {"width": 320, "height": 640}
REFLOW_ROLES = (ANONYMOUS, MEMBER)
CASES = [
    pytest.param(role, lang, spec, id=f"{role}-{lang}-{spec[0]}")
    for role, pages in PAGES.items() for lang in ("nl", "fr") for spec in pages
]


@pytest.fixture(scope="module")
def facts(live_server):
    """Ids and slugs of demo content the pages above need."""
    q = lambda sql, *a: support.scalar(live_server, sql, *a)  # noqa: E731
    marieke = q("SELECT id FROM user WHERE email = ?", ACCOUNTS[MEMBER])
    return {
        "public_theme": q("SELECT slug FROM theme WHERE visibility = 'public' ORDER BY position LIMIT 1"),
        "public_thread": q("SELECT t.id FROM thread t JOIN theme th ON th.id = t.theme_id WHERE th.visibility = 'public' "
                           "AND t.status = 'visible' ORDER BY t.post_count DESC LIMIT 1"),
        "members_thread": q("SELECT t.id FROM thread t JOIN theme th ON th.id = t.theme_id WHERE th.visibility = 'members' "
                            "AND t.status = 'visible' AND t.kind = 'question' AND t.locked = 0 ORDER BY t.post_count DESC LIMIT 1"),
        "edited_post": q("SELECT id FROM post WHERE edited_at IS NOT NULL AND status = 'visible' LIMIT 1"),
        "other_post": q("SELECT p.id FROM post p JOIN thread t ON t.id = p.thread_id JOIN theme th ON th.id = t.theme_id "
                        "WHERE p.status = 'visible' AND t.status = 'visible' AND p.author_id != ? AND p.number > 1 "
                        "AND th.visibility = 'members' LIMIT 1", marieke),
        "other_user": q("SELECT id FROM user WHERE email = 'henk@agora.example'"),
        "org_slug": q("SELECT slug FROM organisation WHERE slug = 'asd-zwolle'"),
        "org_id": q("SELECT id FROM organisation WHERE slug = 'asd-zwolle'"),
        "theme_id": q("SELECT id FROM theme ORDER BY position LIMIT 1"),
        "own_advice": q("SELECT id FROM thread WHERE kind = 'advice' AND author_id = ? LIMIT 1", marieke),
        "public_event": q("SELECT id FROM event WHERE audience = 'public' AND \"repeat\" != '' LIMIT 1"),
        "full_event": q("SELECT e.id FROM event e JOIN registration r ON r.event_id = e.id "
                        "WHERE r.status = 'waiting' LIMIT 1"),
    }


@pytest.fixture(scope="module")
def role_pages(browser, live_server):
    """One signed-in tab per role, kept for the whole module (signing in is slow-ish)."""
    contexts, pages = [], {}

    def get(role, lang, narrow=False):
        key = (role, lang, narrow)
        if key not in pages:
            context = support.new_context(browser, live_server, locale="fr-BE" if lang == "fr" else "nl-NL",
                                          **({"viewport": NARROW} if narrow else {}))
            contexts.append(context)
            page = context.new_page()
            if role != ANONYMOUS:
                support.sign_in(page, ACCOUNTS[role], lang=lang)
            pages[key] = page
        return pages[key]

    yield get
    for context in contexts:
        context.close()


@pytest.mark.parametrize("role,lang,spec", CASES)
def test_page_has_no_wcag_violations(role_pages, facts, axe_source, artifacts, role, lang, spec):
    name, path, *action = spec
    page = role_pages(role, lang)
    url = path.format(lang=lang, **facts)
    response = page.goto(url)
    if action and action[0] == SUBMIT_EMPTY:
        with page.expect_navigation():
            page.locator("main form[method=post] [type=submit]").last.click()
        assert page.locator("main [aria-invalid=true], main .error").count() >= 1, "no errors shown"
    else:
        expected = {"not-found": 404, "forbidden": 403}.get(name, 200)
        assert response.status == expected, f"{url} answered {response.status}"
    assert page.evaluate("() => document.documentElement.lang") == lang
    support.screenshot(page, artifacts, f"{role}-{lang}-{name}")
    violations = support.run_axe(page, axe_source)
    assert not violations, f"{url}:\n  " + "\n  ".join(violations)
    assert support.csp_violations(page) == [], url


REFLOW_CASES = [
    pytest.param(role, lang, spec, id=f"{role}-{lang}-{spec[0]}")
    for role in REFLOW_ROLES for lang in ("nl", "fr") for spec in PAGES[role] if len(spec) == 2
]


@pytest.mark.parametrize("role,lang,spec", REFLOW_CASES)
def test_page_reflows_at_320_pixels(role_pages, facts, artifacts, role, lang, spec):
    name, path = spec
    page = role_pages(role, lang, narrow=True)
    url = path.format(lang=lang, **facts)
    page.goto(url)
    too_wide = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        return Array.from(document.querySelectorAll('body *'))
          .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('pre, table'))
          .slice(0, 5).map(e => `${e.localName}.${e.className} ends at ${Math.round(e.getBoundingClientRect().right)}px`);
    }""")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= NARROW["width"], f"{url}: {too_wide}"
    if name in ("home", "thread", "new-thread", "search", "register"):
        support.screenshot(page, artifacts, f"narrow-{role}-{lang}-{name}")


FOCUS_STATE = """(selector) => {
    const el = document.activeElement;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    // What is really behind the ring: the element under a point just outside the box.
    const gap = (parseFloat(style.outlineOffset) || 0) + (parseFloat(style.outlineWidth) || 0) / 2;
    const x = Math.max(0, box.left - gap), y = box.top + box.height / 2;
    const under = document.elementsFromPoint(x, y).find((n) => n !== el && !el.contains(n));
    let node = under || el.parentElement, background = [255, 255, 255];
    while (node) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) { background = c.slice(0, 3); break; }
      node = node.parentElement;
    }
    const ring = rgb(style.outlineColor).slice(0, 3);
    const [hi, lo] = [lum(ring), lum(background)].sort((a, b) => b - a);
    return {match: el.matches(selector), html: el.outerHTML.slice(0, 120),
            visible: box.width > 0 && box.height > 0 && style.visibility !== 'hidden',
            outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
            contrast: (hi + 0.05) / (lo + 0.05)};
}"""


def _tab_to(page, selector, limit=150):
    """Press Tab until the element matching `selector` has the focus; returns the presses.

    Every element that receives the focus on the way must be visible and show a focus
    ring with at least 3:1 contrast against its background (WCAG 2.4.7 and 1.4.11)."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE, selector)
        assert state["visible"], f"the focus went to an invisible element: {state['html']}"
        assert state["outline"], f"no visible focus indicator on {state['html']}"
        assert state["contrast"] >= 3, f"focus ring contrast {state['contrast']:.1f}:1 on {state['html']}"
        if state["match"]:
            return presses
    raise AssertionError(f"{selector} never received the focus in {limit} Tab presses")


def test_keyboard_alone_starts_a_topic_and_replies(browser, live_server):
    context = support.new_context(browser, live_server)
    try:
        page = context.new_page()
        support.sign_in(page, "joost@agora.example")
        page.goto("/nl/new")
        page.locator("body").focus()
        _tab_to(page, "#theme")
        page.keyboard.press("ArrowDown")  # another theme than the first
        _tab_to(page, "#title")
        title = "Toegankelijke vergaderstukken met alleen het toetsenbord"
        page.keyboard.type(title)
        _tab_to(page, "#body")
        page.keyboard.type("Hoe zorgen jullie dat vergaderstukken ook met een schermlezer te lezen zijn?")
        _tab_to(page, "#tags")
        page.keyboard.type("toegankelijkheid")
        _tab_to(page, "form.new-thread [type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/nl/t/" in page.url, page.url
        thread_id = int(page.url.split("/t/")[1].split("/")[0])
        assert support.scalar(live_server, "SELECT title FROM thread WHERE id = ?", thread_id) == title

        # The reply form on the thread page, from the top of the page.
        page.goto(f"/nl/t/{thread_id}")
        _tab_to(page, "section.reply-box textarea")
        page.keyboard.type("Wij vragen de griffie om alle stukken als getagde pdf aan te leveren.")
        _tab_to(page, "section.reply-box [type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        body = support.scalar(live_server, "SELECT body_source FROM post WHERE thread_id = ? AND number = 2", thread_id)
        assert body == "Wij vragen de griffie om alle stukken als getagde pdf aan te leveren."
        assert support.csp_violations(page) == []
    finally:
        context.close()


def test_skip_link_is_the_first_stop_and_moves_the_focus_to_the_content(browser, live_server):
    context = support.new_context(browser, live_server)
    try:
        page = context.new_page()
        page.goto("/nl/latest")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#main"
        assert page.evaluate("() => document.activeElement.getBoundingClientRect().width") > 0
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"
    finally:
        context.close()
