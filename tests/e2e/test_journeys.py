"""Whole journeys in headless Chromium against gunicorn: sign-up to accepted answer, search,
a flag handled by a moderator, and a council's badge shown on another site.

Selectors use ids, form actions and classes, never translated text, so the tests hold
whatever the catalogs say. Each step also checks the page for CSP violations: a page
that only works with an inline script or style="" is broken for real visitors.
"""
import functools
import http.server
import re
import threading
import time

import pytest

from . import support

MODERATOR = "moderator@agora.example"
MEMBER_NL = "marieke@agora.example"
MEMBER_FLAGGER = "henk@agora.example"


def assert_page_sound(page):
    """No CSP violation and nothing executable slipped into the DOM."""
    assert support.csp_violations(page) == [], page.url
    assert support.dom_problems(page) == [], page.url


def submit(page, form_selector):
    """Submit a form with its own submit button and wait for the next page."""
    with page.expect_navigation():
        page.locator(f"{form_selector} [type=submit]").first.click()


def thread_id_from(url):
    match = re.search(r"/t/(\d+)", url)
    assert match, url
    return int(match.group(1))


@pytest.fixture
def mailbox(smtp_server):
    return smtp_server.handler


def test_newcomer_asks_in_french_gets_a_dutch_answer_and_accepts_it(new_context, live_server, mailbox):
    server = live_server
    stamp = int(time.time() * 1000) % 10_000_000
    email = f"claire.{stamp}@gembloux.example"
    name = f"Claire Dubois {stamp}"

    # 1. The newcomer registers in French and chooses her council.
    newcomer = new_context(locale="fr-BE").new_page()
    newcomer.goto("/fr/register")
    org_id = support.scalar(server, "SELECT id FROM organisation WHERE slug = 'ccas-gembloux'")
    newcomer.select_option("#organisation", str(org_id))
    newcomer.fill("#email", email)
    newcomer.fill("#name", name)
    newcomer.check("input[name=locale][value=fr]")
    newcomer.fill("#password", "Un-mot-de-passe-solide-7")
    newcomer.fill("#password_confirm", "Un-mot-de-passe-solide-7")
    newcomer.check("#accept_terms")
    assert_page_sound(newcomer)
    submit(newcomer, "main form[method=post]")
    assert newcomer.url.endswith("/fr/register/check-your-mail"), newcomer.url

    # 2. She confirms through the link in the mail (in French).
    message = mailbox.last(email, timeout=15)
    assert message["Content-Language"] == "fr"
    confirm = next(link for link in mailbox.links(message) if "/confirm/" in link)
    assert confirm.startswith(server.url + "/fr/confirm/")
    newcomer.goto(confirm)
    assert support.scalar(server, "SELECT status FROM user WHERE email = ?", email) == "pending"

    # 3. A moderator approves her.
    moderator = new_context().new_page()
    support.sign_in(moderator, MODERATOR)
    moderator.goto("/nl/mod/registrations")
    user_id = support.scalar(server, "SELECT id FROM user WHERE email = ?", email)
    assert moderator.locator(f"#registration-{user_id}").count() == 1
    assert_page_sound(moderator)
    submit(moderator, f"form[action$='/mod/registrations/{user_id}/approve']")
    assert support.scalar(server, "SELECT status FROM user WHERE email = ?", email) == "active"
    approved = mailbox.last(email, timeout=15, after=message)
    assert approved["Message-ID"] != message["Message-ID"]

    # 4. She asks a question in French. As a new member, her first topic waits for review.
    support.sign_in(newcomer, email, "Un-mot-de-passe-solide-7", lang="fr")
    newcomer.goto("/fr/new")
    theme_id = support.scalar(server, "SELECT id FROM theme WHERE slug = 'schulden'")
    newcomer.select_option("#theme", str(theme_id))
    newcomer.check("input[name=kind][value=question]")
    title = f"Comment organisez-vous la médiation de dettes ? ({stamp})"
    newcomer.fill("#title", title)
    newcomer.fill("#body", "Bonjour à tous, notre commune cherche à réduire les délais de la médiation de dettes. "
                           "Quelles démarches fonctionnent chez vous ?")
    newcomer.select_option("#language", "fr")
    newcomer.fill("#tags", "médiation de dettes, délais")
    assert_page_sound(newcomer)
    submit(newcomer, "form.new-thread")
    thread_id = thread_id_from(newcomer.url)
    assert support.scalar(server, "SELECT status FROM post WHERE thread_id = ? AND number = 1", thread_id) == "held"
    assert newcomer.locator("h1").inner_text().strip() == title

    # 5. The moderator publishes it from the review queue.
    opening_id = support.scalar(server, "SELECT id FROM post WHERE thread_id = ? AND number = 1", thread_id)
    moderator.goto("/nl/mod/")
    assert moderator.locator(f"#held-{opening_id}").count() == 1
    submit(moderator, f"#held-{opening_id} form[action*='/mod/p/{opening_id}/approve']")
    assert support.scalar(server, "SELECT status FROM post WHERE id = ?", opening_id) == "visible"

    # 6. Another member answers in Dutch, on the thread page's own reply form.
    member = new_context().new_page()
    support.sign_in(member, MEMBER_NL)
    member.goto(f"/nl/t/{thread_id}")
    assert member.locator("h1[lang=fr]").inner_text().strip() == title
    answer = (f"Bij ons in Zwolle werkt een vast aanspreekpunt voor schuldhulp goed: binnen drie dagen "
              f"een eerste gesprek. Antwoord {stamp}.")
    member.fill("#body", answer)
    assert_page_sound(member)
    submit(member, "section.reply-box form")
    reply_id = support.scalar(server, "SELECT id FROM post WHERE thread_id = ? AND number = 2", thread_id)
    assert reply_id, "the Dutch answer was not saved"
    assert member.locator(f"#p2 .body").inner_text().startswith("Bij ons in Zwolle")

    # 7. The asker accepts the Dutch answer.
    newcomer.goto(f"/fr/t/{thread_id}")
    assert newcomer.locator("#p2 .body[lang=nl]").count() == 1, "the Dutch reply is not marked lang=nl"
    submit(newcomer, f"#p2 form[action$='/p/{reply_id}/accept']")
    assert support.scalar(server, "SELECT accepted_post_id FROM thread WHERE id = ?", thread_id) == reply_id
    accepted = newcomer.locator("section.accepted-answer")
    assert accepted.count() == 1
    assert "Zwolle" in accepted.locator(".body").inner_text()
    assert newcomer.locator(".thread-header .badge-kind.solved").count() == 1
    assert_page_sound(newcomer)


def test_member_searches_and_filters(new_context, live_server):
    page = new_context().new_page()
    support.sign_in(page, MEMBER_NL)
    page.goto("/nl/")
    # The header search box, with the keyboard.
    page.fill("#header-q", "gemeente")
    with page.expect_navigation():
        page.press("#header-q", "Enter")
    assert "/nl/search" in page.url and "q=gemeente" in page.url
    results = page.locator("ol.search-results > li")
    assert results.count() >= 2, page.content()[:3000]
    assert page.locator("ol.search-results mark").count() >= 1
    assert_page_sound(page)

    # A facet narrows the results: every result is then a question.
    facet = page.locator("aside.facets a[href*='kind=question']")
    assert facet.count() == 1, "no 'question' facet"
    with page.expect_navigation():
        facet.click()
    assert "kind=question" in page.url
    post_ids = [int(re.search(r"/p/(\d+)", href).group(1)) for href in
                page.locator("ol.search-results > li h3 a").evaluate_all("els => els.map(e => e.href)")]
    assert post_ids
    kinds = {support.scalar(live_server, "SELECT t.kind FROM post p JOIN thread t ON t.id = p.thread_id "
                                         "WHERE p.id = ?", post_id) for post_id in post_ids}
    assert kinds == {"question"}
    assert_page_sound(page)

    # The lists' language filter (no JavaScript needed: a GET form).
    page.goto("/nl/latest")
    page.select_option("#filter-language", "fr")
    submit(page, "form.filters")
    assert "language=fr" in page.url
    links = page.locator("ul.thread-list h2 a")
    assert links.count() >= 1
    for i in range(links.count()):
        assert links.nth(i).get_attribute("lang") == "fr", links.nth(i).inner_text()

    # A search in French finds Dutch practices through the glossary, and "only in French" limits it.
    page.goto("/fr/search?q=dettes")
    total_all = page.locator("ol.search-results > li").count()
    page.check("input[name=only]")
    submit(page, "form.search-form")
    languages = page.locator("ol.search-results > li h3 a").evaluate_all("els => els.map(e => e.lang)")
    assert set(languages) <= {"fr"}, languages
    assert len(languages) <= total_all


def test_moderator_handles_a_flag(new_context, live_server):
    server = live_server
    # A visible reply in a members' thread, by someone other than the flagger.
    post_id, thread_id, number = support.query(server, """
        SELECT p.id, p.thread_id, p.number FROM post p JOIN user u ON u.id = p.author_id
        WHERE p.status = 'visible' AND p.number > 1 AND u.email NOT IN (?, ?)
          AND p.id NOT IN (SELECT post_id FROM flag)
        ORDER BY p.id LIMIT 1""", MEMBER_FLAGGER, MODERATOR)[0]

    flagger = new_context().new_page()
    support.sign_in(flagger, MEMBER_FLAGGER)
    flagger.goto(f"/nl/t/{thread_id}")
    with flagger.expect_navigation():
        flagger.locator(f"#p{number} a[href$='/mod/flag/{post_id}']").click()
    flagger.locator("input[name=reason]").first.check()
    flagger.fill("#note", "Dit bericht noemt de naam en het adres van een inwoner.")
    assert_page_sound(flagger)
    submit(flagger, f"form[action$='/mod/flag/{post_id}']")
    assert support.scalar(server, "SELECT count(*) FROM flag WHERE post_id = ?", post_id) == 1

    moderator = new_context().new_page()
    moderator.on("dialog", lambda dialog: dialog.accept())
    support.sign_in(moderator, MODERATOR)
    moderator.goto("/nl/mod/")
    card = moderator.locator(f"#flagged-{post_id}")
    assert card.count() == 1
    assert "adres van een inwoner" in card.inner_text()
    assert_page_sound(moderator)
    card.locator(f"form[action*='/mod/p/{post_id}/hide'] textarea").fill("Persoonsgegevens van een inwoner.")
    submit(moderator, f"#flagged-{post_id} form[action*='/mod/p/{post_id}/hide']")
    assert support.scalar(server, "SELECT status FROM post WHERE id = ?", post_id) == "hidden"
    assert moderator.locator(f"#flagged-{post_id}").count() == 0
    # Logged in the audit trail, and hidden from other members.
    assert support.scalar(server, "SELECT count(*) FROM moderation_action WHERE target_type = 'post' AND target_id = ? AND action = 'hide_post'", post_id) == 1
    flagger.goto(f"/nl/t/{thread_id}")
    assert "Persoonsgegevens" not in flagger.content()
    assert "naam en het adres" not in flagger.locator(f"#p{number}").inner_text()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_badge_snippet_shows_the_badge_on_another_site(new_context, live_server, tmp_path):
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    support.sign_in(page, MEMBER_NL)
    page.goto("/nl/badge")
    assert_page_sound(page)
    page.locator("button[data-copy='website-snippet']").click()
    try:
        snippet = page.evaluate("() => navigator.clipboard.readText()")
    except Exception:  # a headless build without a clipboard: what the button selected
        snippet = page.evaluate("() => window.getSelection().toString()")
    assert snippet == page.locator("#website-snippet").input_value()
    assert "<img" in snippet and live_server.url + "/badge/" in snippet

    # A council's own site on another origin: a plain page with only the pasted snippet.
    (tmp_path / "index.html").write_text(
        f"<!doctype html><html lang=nl><head><meta charset=utf-8><title>Adviesraad</title></head>"
        f"<body><footer>{snippet}</footer></body></html>", encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        other = new_context().new_page()
        other.goto(f"http://127.0.0.1:{site.server_address[1]}/index.html")
        image = other.locator("footer img")
        image.wait_for()
        other.wait_for_function("() => document.querySelector('footer img').complete")
        assert image.evaluate("img => img.naturalWidth") > 0, "the badge image did not load"
        assert image.get_attribute("alt")
        href = other.locator("footer a").get_attribute("href")
        assert href.startswith(live_server.url + "/") and "/members/" in href
        # The link leads to the public verification page.
        with other.expect_navigation():
            other.locator("footer a").click()
        assert other.url == href
        assert other.locator("h1").count() == 1
    finally:
        site.shutdown()
        site.server_close()
