"""Every payload of tests/xss_payloads.txt, through every place a member's text reaches a
page, a feed, a mail, the API or a badge image: nothing may come out executable.

The HTML is parsed (html.parser) and checked for what could run script: <script> other
than the site's own files, event-handler attributes, style attributes, javascript:/
vbscript:/data: URLs, and elements that embed or re-parse content (iframe, object, svg,
math, template, noscript…). tests/e2e/test_xss_browser.py runs a subset in Chromium.
"""
import json
import re
import xml.etree.ElementTree as ET
from email.policy import default as default_policy
from html.parser import HTMLParser
from pathlib import Path

import pytest

from forum.extensions import db
from tests.conftest import ON_POSTGRES, login

PAYLOAD_FILE = Path(__file__).with_name("xss_payloads.txt")
ESCAPES = {"{NL}": "\n", "{CR}": "\r", "{TAB}": "\t", "{NUL}": "\x00"}


def load_payloads():
    """The corpus; split on \\n only (str.splitlines would also split on U+2028)."""
    payloads = []
    for line in PAYLOAD_FILE.read_text(encoding="utf-8").split("\n"):
        if not line.strip() or line.startswith("# "):
            continue
        for escape, char in ESCAPES.items():
            line = line.replace(escape, char)
        payloads.append(line)
    return payloads


PAYLOADS = load_payloads()


def stored(payload):
    """A payload as factories write it straight into the database: PostgreSQL text cannot
    hold NUL (the app answers 400 to a NUL at the door, so none ever gets that far)."""
    return payload.replace("\x00", "") if ON_POSTGRES else payload

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "background", "poster", "xlink:href",
                  "srcset", "ping", "lowsrc", "dynsrc", "cite", "longdesc", "codebase"}
EMBEDDING = {"iframe", "object", "embed", "base", "frame", "frameset", "applet", "style", "svg", "math",
             "foreignobject", "noscript", "template", "xmp", "plaintext", "noembed", "listing", "isindex",
             "marquee", "portal", "image"}
# Characters browsers drop or ignore inside a URL's scheme.
_IGNORED_IN_URL = re.compile("[\x00-\x20\x7f-\xa0\xad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SCRIPTED_URL = re.compile(r"^(javascript|vbscript|data|livescript|mocha):", re.I)


class _Inspector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def _check(self, tag, attrs):
        text = f"<{tag} {attrs!r:.200}>"
        values = dict(attrs)
        if tag == "script" and not re.match(r"^/[a-z]", values.get("src") or "", re.I):
            self.problems.append("script element: " + text)
        if tag in EMBEDDING:
            self.problems.append(f"{tag} element: " + text)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.problems.append("meta refresh: " + text)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event attribute {name}: " + text)
            elif name in ("style", "srcdoc"):
                self.problems.append(f"{name} attribute: " + text)
            elif (name in URL_ATTRIBUTES or name.endswith(":href")) and value:
                if _SCRIPTED_URL.match(_IGNORED_IN_URL.sub("", value)):
                    self.problems.append(f"scripted URL in {name}: " + text)

    def handle_data(self, data):
        if self.lasttag == "script" and data.strip():
            self.problems.append(f"inline script: {data[:120]!r}")


def html_problems(html):
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.problems


def assert_inert(response_or_html, where, payload):
    html = response_or_html if isinstance(response_or_html, str) else response_or_html.get_data(as_text=True)
    problems = html_problems(html)
    assert not problems, f"{where} with payload {payload!r}: {problems}"


def assert_clear_answer(response, where, payload, allowed=(200, 302, 400)):
    assert response.status_code in allowed, (
        f"{where} answered {response.status_code} to payload {payload!r}")


def test_the_corpus_is_large_and_varied():
    assert len(PAYLOADS) >= 100
    text = "\n".join(PAYLOADS).lower()
    for needle in ("<script", "onerror", "javascript:", "vbscript:", "data:", "<svg", "<math", "foreignobject",
                   "](javascript", "![", "&#", "\u200b", "\u202e", "\x00"):
        assert needle in text, needle


def test_the_checker_catches_what_it_must():
    """The checker itself can fail: raw payloads are caught, escaped ones pass."""
    from markupsafe import escape

    caught = [p for p in PAYLOADS if html_problems(p)]
    assert len(caught) >= 100
    for payload in PAYLOADS:
        assert html_problems(f"<p>{escape(payload)}</p>") == [], payload
    assert html_problems('<script src="/static/agora.js" defer></script>') == []


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def app_config(app_config):
    # Hundreds of posts from one member in seconds; the search index is synced explicitly.
    return dict(app_config, RATELIMIT_ENABLED=False, SEARCH_SYNC_AFTER_REQUEST=False,
                DUPLICATE_POST_SECONDS=0)


def _tags_from(payload):
    """Up to five tags of at most 30 characters, cut from the payload (commas split tags)."""
    text = payload.replace(",", " ")
    return ", ".join(text[i:i + 30] for i in range(0, min(len(text), 150), 30))


def _kind_fields(kind, payload):
    short = payload[:120]
    if kind == "practice":
        return {"practice_municipality": short, "practice_problem": payload, "practice_approach": payload,
                "practice_result": payload, "practice_contact": payload[:300]}
    if kind == "initiative":
        return {"initiative_municipality": short, "initiative_province": "NL-UT",
                "initiative_initiator": payload[:300], "initiative_website": payload[:300],
                "initiative_contact": payload[:300]}
    if kind == "vacancy":
        return {"vacancy_asked": payload, "vacancy_closes_on": "2099-12-31", "vacancy_contact": payload[:300]}
    return {}


KINDS = ("question", "practice", "initiative", "vacancy", "discussion")


def _thread_id(response):
    match = re.search(r"/t/(\d+)", response.headers.get("Location", ""))
    return int(match.group(1)) if match else None


# -- posts: titles, bodies, tags, kind fields, previews, edits, lists, feeds, mails, API -----------

def test_post_titles_bodies_tags_and_fields_never_execute(app, client, make_user, make_theme, mail):
    theme = make_theme(visibility="public")
    author = make_user()
    watcher = make_user(notify_mode="immediate")
    watcher_client = app.test_client()
    login(watcher_client, watcher)
    assert watcher_client.post_form(f"/nl/themes/{theme.slug}/watch", {}).status_code == 302
    login(client, author)
    token = client.csrf_token("/nl/new")

    created = []
    for i, payload in enumerate(PAYLOADS):
        kind = KINDS[i % len(KINDS)]
        data = {"csrf_token": token, "theme": str(theme.id), "kind": kind, "language": "nl",
                "title": f"XSS {i}: {payload}"[:200], "body": payload, "tags": _tags_from(payload),
                **_kind_fields(kind, payload)}
        response = client.post("/nl/new", data=data)
        assert_clear_answer(response, "new topic", payload)
        # A refused form comes back with the text in it: that echo must be inert too.
        assert_inert(response, "new topic form", payload)
        thread_id = _thread_id(response)
        if thread_id is None:
            continue
        created.append((thread_id, payload))
        assert_inert(client.get(f"/nl/t/{thread_id}"), "thread page", payload)
        if i % 3:
            continue  # the edit form and the preview use the same escaping and sanitiser again
        with app.app_context():
            opening = db.session.scalar(db.text("SELECT id FROM post WHERE thread_id = :t AND number = 1"),
                                        {"t": thread_id})
        assert_inert(client.get(f"/nl/p/{opening}/edit"), "edit form", payload)
        preview = client.post("/nl/preview", data={"csrf_token": token, "body": payload})
        assert_clear_answer(preview, "preview", payload, allowed=(200, 400))
        assert_inert(preview, "preview", payload)
    assert len(created) >= len(PAYLOADS) * 0.8, "most payloads should be accepted as ordinary text"

    # Replies: every payload in one thread, then every page of that thread.
    thread_id = created[0][0]
    for payload in PAYLOADS:
        response = client.post(f"/nl/t/{thread_id}/reply", data={"csrf_token": token, "body": payload})
        assert_clear_answer(response, "reply", payload)
        assert_inert(response, "reply form", payload)
    page = 1
    while True:
        response = client.get(f"/nl/t/{thread_id}?page={page}")
        assert response.status_code == 200
        assert_inert(response, f"thread page {page}", "(all replies)")
        if f"page={page + 1}" not in response.get_data(as_text=True):
            break
        page += 1
    assert page > 1

    # Lists, for members and for visitors (the theme is public): every page of the theme's
    # list, the first page of the others (same macros, other queries).
    visitor = app.test_client()
    for who in (client, visitor):
        for path in ("/nl/", "/nl/latest", "/nl/questions", "/nl/practices", "/nl/initiatives",
                     "/nl/vacancies", "/fr/latest"):
            assert_inert(who.get(path), path, "(list)")
        for page in range(1, 30):
            response = who.get(f"/nl/themes/{theme.slug}?page={page}")
            assert_inert(response, "theme list", "(list)")
            if f"page={page + 1}" not in response.get_data(as_text=True):
                break
        assert page > 1
    initiatives = client.get("/nl/initiatives").get_data(as_text=True)
    for municipality in re.findall(r'municipality=([^"&]+)', initiatives)[:40]:
        assert_inert(client.get(f"/nl/initiatives?municipality={municipality}"), "initiative filter", municipality)

    # Feeds: well-formed XML; the HTML they carry is as inert as the page.
    for path in ("/nl/feed.atom", f"/nl/themes/{theme.slug}/feed.atom", "/nl/feed/question.atom",
                 "/nl/feed/initiative.atom"):
        response = visitor.get(path)
        assert response.status_code == 200, path
        root = ET.fromstring(response.data)
        ns = {"a": "http://www.w3.org/2005/Atom"}
        entries = root.findall("a:entry", ns)
        assert entries, path
        for entry in entries:
            content = entry.find("a:content", ns)
            assert content.get("type") == "html"
            assert_inert(content.text or "", f"feed {path} content", "(feed)")
            title = entry.find("a:title", ns)
            assert title.get("type") in (None, "text"), "titles are plain text"

    # The API is JSON, never sniffed as HTML.
    response = visitor.get("/api/v1/threads?per_page=100")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(json.loads(response.data)["results"]) > 0
    api_thread = visitor.get(f"/api/v1/threads/{created[0][0]}")
    assert api_thread.mimetype == "application/json"
    for post in json.loads(api_thread.data).get("posts", []):
        if post.get("body_html"):
            assert_inert(post["body_html"], "API body_html", "(api)")

    # Mails to the theme's watcher: plain text only, a one-line subject.
    messages = mail.to(watcher.email)
    assert len(messages) >= len(created) * 0.8
    for message in messages:
        assert message.get_content_type() == "text/plain", "mails carry no HTML part"
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        assert "\x00" not in mail.body(message)


# -- names: display names, bios, organisation names; approvals, directory, badges ------------------

def test_display_names_bios_and_organisation_names_never_execute(app, client, make_user, make_org, make_theme,
                                                                 make_thread, make_post):
    member = make_user()
    login(client, member)
    token = client.csrf_token("/nl/settings")
    for payload in PAYLOADS:
        response = client.post("/nl/settings", data={"csrf_token": token, "name": payload[:80], "bio": payload,
                                                     "locale": "nl", "notify_mode": "weekly"})
        assert_clear_answer(response, "settings", payload)
        assert_inert(response, "settings form", payload)
        if response.status_code == 302:
            assert_inert(client.get("/nl/settings"), "settings page (header shows the name)", payload)

    # Many members and councils named with payloads, all on the pages that list them: each
    # starts a topic (lists show author and council); every sixth also replies in one thread
    # (more would make every reply notify every earlier replier: slow, and nothing new).
    admin = make_user(role="admin", name="Beheerder")
    theme = make_theme(visibility="public")
    thread = make_thread(theme=theme, title="Een onderwerp met reacties van vreemde namen")
    members, orgs = [], []
    for i, payload in enumerate(PAYLOADS):
        org = make_org(name=stored(payload)[:200] or "x", municipality=stored(payload)[:120])
        orgs.append(org)
        person = make_user(organisation=org, name=stored(payload)[:80] or "x", bio=stored(payload), password=None)
        members.append(person)
        make_thread(author=person, theme=theme, title=f"Onderwerp van lid {i}")
        if i % 6 == 0:
            make_post(thread, author=person, body=f"Reactie van @{stored(payload)[:20]}")
    pending = [make_user(status="pending", name=stored(p)[:80] or "x", organisation=orgs[i], password=None)
               for i, p in enumerate(PAYLOADS[:40])]
    assert pending

    page = 1
    while True:
        response = client.get(f"/nl/t/{thread.id}?page={page}")
        assert_inert(response, f"thread with payload names, page {page}", "(names)")
        if f"page={page + 1}" not in response.get_data(as_text=True):
            break
        page += 1
    for person, payload in list(zip(members, PAYLOADS))[::3]:
        assert_inert(client.get(f"/nl/members/{person.id}"), "profile", payload)
    for who in (client, app.test_client()):
        for page in range(1, 30):
            response = who.get(f"/nl/themes/{theme.slug}?page={page}")
            assert_inert(response, "theme list with payload authors", "(names)")
            if f"page={page + 1}" not in response.get_data(as_text=True):
                break
        assert page > 1

    visitor = app.test_client()
    for page in range(1, 40):
        response = visitor.get(f"/nl/members?page={page}")
        assert_inert(response, "member directory", "(organisation names)")
        if f"page={page + 1}" not in response.get_data(as_text=True):
            break
    for org, payload in zip(orgs, PAYLOADS):
        assert_inert(visitor.get(f"/nl/members/{org.slug}"), "verification page", payload)
        svg = visitor.get(f"/badge/{org.slug}.svg")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        root = ET.fromstring(svg.data)  # well-formed: the name was escaped
        for element in root.iter():
            tag = element.tag.split("}")[-1].lower()
            assert tag not in ("script", "foreignobject", "iframe", "a", "image", "use"), (payload, tag)
            for name, value in element.attrib.items():
                assert not name.split("}")[-1].lower().startswith("on"), (payload, name)
                assert not _SCRIPTED_URL.match(_IGNORED_IN_URL.sub("", value)), (payload, name, value)
    for org, payload in list(zip(orgs, PAYLOADS))[::6]:
        png = visitor.get(f"/badge/{org.slug}.png")
        assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n", payload

    # The Badge page of a member whose council carries a payload name: snippets are escaped.
    for person, payload in list(zip(members, PAYLOADS))[::5]:
        badge_client = app.test_client()
        with app.app_context():
            from forum.models import User
            user = db.session.get(User, person.id)
            user.set_password("Sterk-wachtwoord-42")
            db.session.commit()
        login(badge_client, person)
        assert_inert(badge_client.get("/nl/badge"), "badge page", payload)

    # Moderators and admins see the names too.
    staff = app.test_client()
    login(staff, admin)
    for path in ("/nl/mod/registrations", "/nl/admin/users", "/nl/admin/organisations", "/nl/mod/",
                 f"/nl/mod/users/{members[0].id}"):
        for page in range(1, 30):
            response = staff.get(f"{path}?page={page}" if page > 1 else path)
            assert response.status_code == 200, path
            assert_inert(response, path, "(names)")
            if f"page={page + 1}" not in response.get_data(as_text=True):
                break


def test_registration_and_new_council_names_never_execute(app, client, make_user, mail):
    """A newcomer's name and the council they add reach the mails and the approvals page."""
    app.config["RATELIMIT_ENABLED"] = False
    moderator = make_user(role="moderator")
    for i, payload in enumerate(PAYLOADS[::2]):
        token = client.csrf_token("/nl/register")
        response = client.post("/nl/register", data={
            "csrf_token": token, "org_not_listed": "y", "org_name": f"Raad {payload}"[:200],
            "org_municipality": f"Gemeente {payload}"[:120], "org_country": "NL",
            "email": f"nieuw{i}@example.org", "name": f"N {payload}"[:80], "locale": "nl",
            "password": "Een-lang-wachtwoord-99", "password_confirm": "Een-lang-wachtwoord-99",
            "accept_terms": "y"})
        assert_clear_answer(response, "register", payload)
        assert_inert(response, "register form", payload)
        if response.status_code == 302:
            message = mail.last(f"nieuw{i}@example.org")
            assert message.get_content_type() == "text/plain"
            assert "\n" not in message["Subject"]
            confirm = next(link for link in mail.links(message) if "/confirm/" in link)
            assert_inert(client.get(confirm.replace("http://agora.test", "")), "confirmed page", payload)
    staff = app.test_client()
    login(staff, moderator)
    response = staff.get("/nl/mod/registrations")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('id="registration-') >= len(PAYLOADS[::2]) * 0.8
    assert_inert(response, "approvals", "(registrations)")


# -- search: the query echoed back, and snippets of payload posts ---------------------------------

def test_search_queries_and_snippets_never_execute(app, client, runner, make_user, make_theme, make_thread):
    theme = make_theme(visibility="public")
    for i, payload in enumerate(PAYLOADS):
        make_thread(theme=theme, title=f"Zoektest {i} {stored(payload)}"[:200],
                    body=f"zoekwoord {stored(payload)} zoekwoord")
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0, result.output
    member = make_user()
    login(client, member)
    visitor = app.test_client()

    for i, payload in enumerate(PAYLOADS):
        # The page echoes the query the same way for everyone; visitors see fewer results.
        for who in (client, visitor) if i % 4 == 0 else (client,):
            response = who.get("/nl/search", query_string={"q": payload})
            assert_clear_answer(response, "search", payload, allowed=(200, 400))
            assert_inert(response, "search page", payload)
        response = client.get("/api/v1/search", query_string={"q": payload})
        assert response.mimetype == "application/json", payload
        for item in json.loads(response.data).get("results", []):
            assert_inert(item["snippet"], "API snippet", payload)

    # Queries that match the payload posts: their snippets and highlights.
    for query in ("zoekwoord", "window", "xss", "onerror", "script", "javascript", "img", "svg", "alert",
                  "zoektest", "href", "\"window.__xss\"", "scr*", "-zoekwoord"):
        for page in range(1, 20):
            response = client.get("/nl/search", query_string={"q": query, "page": page})
            assert response.status_code == 200, query
            assert_inert(response, f"search results for {query}", "(snippets)")
            if f"page={page + 1}" not in response.get_data(as_text=True):
                break
        data = json.loads(client.get("/api/v1/search", query_string={"q": query}).data)
        for item in data["results"]:
            assert_inert(item["snippet"], f"API snippet for {query}", "(snippets)")
    assert json.loads(client.get("/api/v1/search?q=zoekwoord").data)["total"] >= len(PAYLOADS) * 0.8
