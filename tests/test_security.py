"""Security properties that hold for every route, derived from the URL map; hostile input
(huge numbers, NUL bytes, odd Unicode, malformed headers and bodies) answered clearly."""
import json
import re

import pytest
from werkzeug.routing import IntegerConverter

from forum.extensions import db
from forum.models import Post
from tests.conftest import login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Routes authorised by something other than a session, so they take no CSRF token.
# Each must say why; a new entry needs a review.
CSRF_EXEMPT = {
    # RFC 8058: mail clients POST without cookies; the signed per-member token in the URL
    # authorises it, and all it can do is stop that member's mails.
    "threads.unsubscribe_one_click",
}


def _fill(rule):
    """A concrete URL for a rule: a real language, small ids, plausible slugs."""
    values = {}
    for arg in rule.arguments:
        converter = rule._converters.get(arg)
        if arg == "lang":
            values[arg] = "nl"
        elif isinstance(converter, IntegerConverter):
            values[arg] = 1
        else:
            values[arg] = "x"
    return values


def _unsafe_rules(app):
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & UNSAFE
        if methods and rule.endpoint != "static":
            yield rule, sorted(methods)[0]


def test_every_state_changing_route_refuses_requests_without_csrf_token(app, client, make_user):
    admin = make_user(role="admin")
    login(client, admin)
    checked = []
    with app.test_request_context():
        rules = list(_unsafe_rules(app))
    assert rules, "no state-changing routes found"
    for rule, method in rules:
        if rule.endpoint in CSRF_EXEMPT:
            continue
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **_fill(rule))
        response = client.open(url, method=method, data={"body": "x"})
        checked.append((rule.endpoint, response.status_code))
        assert response.status_code == 400, f"{rule.endpoint} {method} {url} answered {response.status_code} without a CSRF token"
    assert len(checked) == len([r for r, _ in rules if r.endpoint not in CSRF_EXEMPT])


def test_csrf_exempt_routes_exist_and_refuse_a_forged_token(app, client):
    """The exemption list stays honest: each route exists and refuses a bad token."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert CSRF_EXEMPT <= endpoints
    response = client.post("/nl/unsubscribe/forged-token/one-click")
    assert response.status_code == 404


SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


@pytest.mark.parametrize("path,status", [
    ("/nl/", 200), ("/fr/login", 200), ("/nl/bestaat-niet", 404), ("/nl/logout", 405), ("/", 302),
])
def test_security_headers_on_pages_and_error_pages(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    for header in SECURITY_HEADERS:
        assert header in response.headers, f"{header} missing on {path}"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    script_src = [d for d in csp.split(";") if d.strip().startswith("script-src")]
    assert script_src and "unsafe-inline" not in script_src[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https(app_config):
    from forum import create_app

    app = create_app(dict(app_config, BASE_URL="https://agora.example", PREFERRED_URL_SCHEME="https"))
    client = app.test_client()
    assert "Strict-Transport-Security" in client.get("/nl/about", base_url="https://agora.example").headers


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/nl/about").headers


def test_oversized_body_is_413_with_a_translated_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/nl/login", data={"email": "a" * 5000})
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True)


def test_internal_errors_show_a_page_not_a_traceback(app, client):
    @app.get("/nl/boom-for-test")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/nl/boom-for-test")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("target", [
    "//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example", " //evil.example", "\t/\\/evil.example",
])
def test_login_never_redirects_off_site(client, make_user, target):
    user = make_user()
    response = client.post_form("/nl/login", {"email": user.email, "password": "Sterk-wachtwoord-42", "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "evil" not in location


# -- CSRF: forged tokens and tokens of another session -------------------------------------------

def test_state_changing_routes_refuse_forged_and_foreign_csrf_tokens(app, client, make_user):
    """A token must be this session's: one made up, or copied from another visitor, fails."""
    other = app.test_client()
    foreign = other.csrf_token()
    login(client, make_user(role="admin"))
    with app.test_request_context():
        rules = [(r, m) for r, m in _unsafe_rules(app) if r.endpoint not in CSRF_EXEMPT]
    from flask import url_for
    for rule, method in rules:
        with app.test_request_context():
            url = url_for(rule.endpoint, **_fill(rule))
        for token in (foreign, "IjEyMyI.forged.signature", ""):
            response = client.open(url, method=method, data={"csrf_token": token, "body": "x"})
            assert response.status_code == 400, f"{rule.endpoint} accepted token {token!r}: {response.status_code}"
            assert "Traceback" not in response.get_data(as_text=True)


# -- headers on every response ----------------------------------------------------------------------

# Badges are images other sites embed: their own policy (no frame-ancestors), set in forum/badges.
FRAMEABLE = {"badges.svg", "badges.png"}


def _get_rules(app):
    return [rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())]


def _check_headers(response, where, endpoint):
    headers = response.headers
    for header in SECURITY_HEADERS:
        assert header in headers, f"{header} missing on {where} ({response.status_code})"
    assert headers["X-Content-Type-Options"] == "nosniff", where
    csp = {d.strip().split(" ")[0]: d.strip() for d in headers["Content-Security-Policy"].split(";") if d.strip()}
    scripts = csp.get("script-src") or csp.get("default-src", "")
    assert "unsafe-inline" not in scripts and "unsafe-eval" not in scripts, f"{where}: {scripts}"
    if endpoint not in FRAMEABLE:
        assert csp.get("frame-ancestors") == "frame-ancestors 'none'", f"{where} can be framed: {csp}"


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_every_get_route_and_its_errors_send_the_security_headers(app, client, make_user, who):
    """Every GET route from the URL map, with plausible and with unknown ids."""
    if who == "admin":
        login(client, make_user(role="admin"))
    from flask import url_for
    checked = 0
    for rule in _get_rules(app):
        with app.test_request_context():
            values = _fill(rule)
            if rule.endpoint == "static":
                values = {"filename": "agora.css"}
            url = url_for(rule.endpoint, **values)
        for target in (url, re.sub(r"/1(?=/|$|\.)", "/987654", url)):
            response = client.get(target)
            assert response.status_code < 500, f"{target} answered {response.status_code}"
            _check_headers(response, target, rule.endpoint)
            checked += 1
    assert checked > 60


def test_hsts_over_https_on_pages_errors_and_badges(app_config, make_org):
    from forum import create_app

    app = create_app(dict(app_config, BASE_URL="https://agora.example", PREFERRED_URL_SCHEME="https"))
    client = app.test_client()
    org = make_org()
    for path in ("/nl/about", "/nl/no-such-page", "/nl/t/999999", f"/badge/{org.slug}.svg", "/badge/none.svg",
                 "/api/v1/threads/999999", "/static/agora.css"):
        response = client.get(path, base_url="https://agora.example")
        assert "max-age=" in response.headers.get("Strict-Transport-Security", ""), path


# -- open redirects ---------------------------------------------------------------------------------

OFF_SITE = ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
            "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\\\\evil.example", "/%09/evil.example",
            "http:evil.example", "//evil.example@agora.test/"]


def _is_local(location):
    # What a browser makes of the Location: tabs and newlines are dropped first (WHATWG URL).
    cleaned = re.sub(r"[\t\n\r]", "", location)
    return cleaned.startswith("/") and not cleaned.startswith("//") and "\\" not in cleaned


@pytest.mark.parametrize("target", OFF_SITE)
def test_moderation_actions_never_redirect_off_site(app, client, make_user, make_thread, make_post, target):
    moderator = make_user(role="moderator")
    post = make_post(make_thread())
    login(client, moderator)
    response = client.post_form(f"/nl/mod/p/{post.id}/hide", {"reason": "Test", "next": target})
    assert response.status_code == 302, response.status_code
    assert _is_local(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site_even_with_control_characters(client, make_user, target):
    user = make_user()
    response = client.post_form("/nl/login", {"email": user.email, "password": "Sterk-wachtwoord-42", "next": target})
    assert response.status_code == 302
    assert _is_local(response.headers["Location"]), response.headers["Location"]
    already = client.get("/nl/login", query_string={"next": target})
    assert already.status_code == 302 and _is_local(already.headers["Location"])


# -- guessing ids across organisations --------------------------------------------------------------

def test_ids_of_another_councils_member_give_nothing_away(app, client, make_user, make_org, make_thread, make_post):
    from forum.extensions import db
    from forum.models import Notification, Post

    org_a, org_b = make_org(), make_org()
    alice = make_user(organisation=org_a)
    bob = make_user(organisation=org_b)
    thread = make_thread(author=alice, body="Vertrouwelijk: de begroting van raad A staat hier.")
    reply = make_post(thread, author=alice, body="Interne notitie van raad A.")
    with app.app_context():
        held = make_post(thread, author=alice, body="Nog niet gepubliceerd bericht van raad A.")
        db.session.get(Post, held.id).status = "held"
        note = Notification(user_id=alice.id, kind="reply", thread_id=thread.id, post_id=reply.id)
        db.session.add(note)
        db.session.commit()
        note_id = note.id
    login(client, bob)
    assert client.get(f"/nl/p/{held.id}").status_code == 404
    assert "Nog niet gepubliceerd" not in client.get(f"/nl/t/{thread.id}").get_data(as_text=True)
    assert client.get(f"/nl/p/{reply.id}/edit").status_code == 403
    assert client.get(f"/nl/p/{reply.id}/history").status_code in (403, 404)
    assert client.post_form(f"/nl/p/{reply.id}/delete").status_code in (403, 404)
    assert client.post_form(f"/nl/p/{held.id}/accept").status_code in (403, 404)
    assert client.post_form(f"/nl/notifications/{note_id}/read").status_code == 404
    with app.app_context():
        assert db.session.get(Notification, note_id).read_at is None
        assert db.session.get(Post, reply.id).status == "visible"
    for path in (f"/nl/mod/users/{alice.id}", f"/nl/mod/p/{reply.id}", "/nl/admin/users",
                 f"/nl/admin/organisations/{org_a.id}"):
        assert client.get(path).status_code == 403, path
    badge = client.get("/nl/badge", query_string={"org": org_a.id, "slug": org_a.slug}).get_data(as_text=True)
    assert set(re.findall(r"/badge/([^\".?/]+)\.(?:svg|png)", badge)) == {org_b.slug}
    export = client.get("/nl/settings/export", query_string={"user_id": alice.id})
    assert alice.email not in export.get_data(as_text=True)


# -- hostile input: sizes, numbers, NUL bytes, Unicode, headers, JSON --------------------------------

def test_oversized_posts_and_uploads_get_a_clear_answer(app, client, make_user, make_theme):
    """Above the request limit: 413 with the translated page (JSON for the API). Posting
    forms accept larger multipart requests from members (attachments); a text above
    BODY_MAX there is a field error, with the text kept."""
    from io import BytesIO

    theme = make_theme()
    login(client, make_user())
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, ATTACHMENT_MAX_FILES=1, ATTACHMENT_MAX_BYTES=1024)
    token = client.csrf_token("/nl/new")
    response = client.post("/nl/settings", data={"csrf_token": token, "name": "Lid", "bio": "x" * 100_000})
    assert response.status_code == 413 and "<html" in response.get_data(as_text=True)
    response = client.post("/nl/new", data={"csrf_token": token, "theme": theme.id, "kind": "question",
                                            "title": "Een te grote vraag", "body": "x" * 100_000},
                           content_type="multipart/form-data")  # as the page's form sends it
    assert response.status_code == 400 and 'aria-invalid="true"' in response.get_data(as_text=True)
    response = client.post("/nl/new", data={"csrf_token": token, "theme": theme.id, "kind": "question",
                                            "title": "Met een te grote bijlage", "body": "Tekst",
                                            "attachments": (BytesIO(b"%PDF-1.4 " + b"0" * 2_500_000), "a.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "<html" in response.get_data(as_text=True)
    api = client.post("/api/v1/threads", data="x" * 100_000, content_type="application/json")
    assert api.status_code in (405, 413) and api.mimetype == "application/json"


def _refused_without_echo(app, response, marker):
    from tests.conftest import tr

    page = response.get_data(as_text=True)
    assert response.status_code == 413, response.status_code
    assert tr(app, "Too large") in page and marker not in page and len(page) < 50_000


def test_a_huge_text_is_refused_before_anything_reads_or_echoes_it(app, client, make_user, make_theme,
                                                                   make_thread):
    """30 MB in a text field: 413 with the translated page for anonymous visitors and members,
    url-encoded or multipart, CSRF token or not. Posting pages used to allow ~100 MB for
    attachments, and the 'your text is still here' page sent the 30 MB back."""
    thread = make_thread(theme=make_theme(visibility="public"))
    marker = "Geheimtekst"
    huge = marker + "x" * (30 * 1024 * 1024)
    url = f"/nl/t/{thread.id}/reply"
    token = client.csrf_token()
    for data in ({"body": huge}, {"body": huge, "csrf_token": token}):
        _refused_without_echo(app, client.post(url, data=data), marker)
        _refused_without_echo(app, client.post(url, data=data, content_type="multipart/form-data"), marker)
    login(client, make_user())
    token = client.csrf_token()
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for path in (url, "/nl/new", "/nl/preview", "/nl/settings"):
            response = client.post(path, data={"body": huge, "bio": huge, "csrf_token": token},
                                   content_type=content_type)
            _refused_without_echo(app, response, marker)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Post.id))) == 1  # only the opening post


def test_a_member_still_uploads_files_of_a_few_megabytes(app, client, make_user, make_theme, make_thread):
    """The request limit is raised for the files of a member's multipart post only."""
    from io import BytesIO

    thread = make_thread(theme=make_theme())
    login(client, make_user())
    document = ("Verslag van de vergadering. " * 150_000).encode()  # 4.2 MB
    assert len(document) > 4 * app.config["MAX_CONTENT_LENGTH"]
    response = client.post(f"/nl/t/{thread.id}/reply", data={
        "csrf_token": client.csrf_token(), "body": "Het verslag staat in de bijlage.",
        "attachments": (BytesIO(document), "verslag.txt")}, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        from forum.attachments.models import Attachment
        assert db.session.scalars(db.select(Attachment.size)).all() == [len(document)]


HUGE = "99999999999999999999999"


@pytest.mark.parametrize("path", [
    f"/nl/t/{HUGE}", f"/nl/p/{HUGE}", f"/nl/members/{HUGE}", f"/api/v1/threads/{HUGE}", f"/nl/t/{2**31}",
    f"/nl/latest?page={HUGE}", f"/nl/questions?page={HUGE}", f"/nl/themes?page={HUGE}", f"/nl/search?q=raad&page={HUGE}",
    f"/nl/members?page={HUGE}", f"/api/v1/threads?page={HUGE}", f"/api/v1/search?q=raad&page={HUGE}",
    f"/nl/latest?page=-{HUGE}", "/nl/latest?page=1e9", f"/nl/t/1?page={HUGE}",
])
def test_huge_numbers_in_urls_are_a_clear_4xx(client, make_thread, path):
    make_thread()
    response = client.get(path, follow_redirects=True)
    assert response.status_code < 500, f"{path} answered {response.status_code}"
    assert "Traceback" not in response.get_data(as_text=True)


def test_huge_numbers_for_signed_in_pages_are_a_clear_4xx(client, make_user):
    login(client, make_user(role="admin"))
    for path in (f"/nl/notifications?page={HUGE}", f"/nl/mod/?page={HUGE}", f"/nl/mod/log?page={HUGE}",
                 f"/nl/admin/users?page={HUGE}", f"/nl/admin/organisations?page={HUGE}", f"/nl/t/1/reply?quote={HUGE}",
                 f"/nl/mod/users/{HUGE}", f"/nl/admin/organisations/{HUGE}"):
        response = client.get(path)
        assert response.status_code < 500, f"{path} answered {response.status_code}"


@pytest.mark.parametrize("path", [
    "/nl/%00", "/nl/t/1/%00", "/nl/search?q=a%00b", "/nl/latest?language=%00", "/api/v1/search?q=%00",
    "/nl/members?q=%00", "/nl/themes/%00/feed.atom", "/nl/login?next=/%00/x", "/nl/search?q%00=x",
])
def test_nul_bytes_in_urls_are_a_clear_400(client, path):
    response = client.get(path)
    assert response.status_code == 400, f"{path} answered {response.status_code}"
    assert "<html" in response.get_data(as_text=True) or response.mimetype == "application/json"


def test_nul_bytes_in_form_fields_are_a_clear_400_and_save_nothing(app, client, make_user, make_theme):
    from io import BytesIO

    from forum.extensions import db
    from forum.models import Thread, User

    theme = make_theme()
    member = make_user()
    login(client, member)
    token = client.csrf_token("/nl/new")
    cases = [
        ("/nl/new", {"theme": theme.id, "kind": "question", "title": "Een titel\x00", "body": "Tekst"}),
        ("/nl/new", {"theme": theme.id, "kind": "question", "title": "Een titel", "body": "Tekst\x00"}),
        ("/nl/new", {"theme": theme.id, "kind": "question", "title": "Een titel", "body": "Tekst", "tags\x00": "x"}),
        ("/nl/settings", {"name": "Naam\x00", "bio": "", "locale": "nl", "notify_mode": "weekly"}),
        ("/nl/login", {"email": "a@example.org\x00", "password": "x"}),
        ("/nl/register", {"email": "nieuw@example.org", "name": "Nieuw\x00Lid", "password": "Een-lang-wachtwoord-9"}),
    ]
    for url, data in cases:
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 400, f"{url} {data} answered {response.status_code}"
    upload = client.post("/nl/new", data={"csrf_token": token, "theme": theme.id, "kind": "question", "title": "Met bijlage",
                                          "body": "Tekst", "attachments": (BytesIO(b"hallo"), "a\x00.txt")},
                         content_type="multipart/form-data")
    assert upload.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id))) == 0
        assert db.session.get(User, member.id).name == member.name


NAMES = [
    ("\u202eGevaarlijk\u202c Lid", "Gevaarlijk Lid"),          # RTL override: dropped
    ("Lid \u2066geïsoleerd\u2069", "Lid geïsoleerd"),           # isolates: dropped
    ("Zoë Dubois-Ça", "Zoë Dubois-Ça"),                          # accents stay
    ("Ze\u0301ro Combining", "Ze\u0301ro Combining"),            # combining marks stay
    ("Famke 👩\u200d👩\u200d👧", "Famke 👩\u200d👩\u200d👧"),        # emoji with zero-width joiners stay
    ("\ufeffBOM Naam", "BOM Naam"),                              # byte-order mark: dropped
    ("أحمد العربي", "أحمد العربي"),                             # right-to-left script itself is fine
]


@pytest.mark.parametrize("raw,stored", NAMES)
def test_unicode_names_are_saved_cleanly_or_refused_clearly(app, client, make_user, raw, stored):
    from forum.extensions import db
    from forum.models import User

    member = make_user()
    login(client, member)
    response = client.post_form("/nl/settings", {"name": raw, "bio": raw, "locale": "nl", "notify_mode": "weekly"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.get(User, member.id).name == stored
    page = client.get(f"/nl/members/{member.id}")
    assert page.status_code == 200 and stored in page.get_data(as_text=True)


def test_unicode_in_titles_and_tags_is_cleaned_not_fatal(app, client, make_user, make_theme):
    from forum.extensions import db
    from forum.models import Thread

    theme = make_theme()
    login(client, make_user())
    response = client.post_form("/nl/new", {
        "theme": theme.id, "kind": "question", "language": "nl",
        "title": "\u202eOmgekeerd?\u202c Vraag over 👩\u200d👩\u200d👧 gezinnen en e\u0301e\u0301n",
        "body": "Tekst met \u202e richting en \u200b nulbreedte.", "tags": "\u202ejeugd, 👍, e\u0301"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    with app.app_context():
        thread = db.session.scalar(db.select(Thread))
        assert "\u202e" not in thread.title and thread.title.startswith("Omgekeerd?")
        assert "👩\u200d👩\u200d👧" in thread.title
        assert all("\u202e" not in tag.name for tag in thread.tags)
    assert client.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize("slug", ["%E2%80%AEabc", "%F0%9F%98%80", "a%CC%81", "..%2F..%2Fetc", "x" * 300, "%C0%AF",
                                  "%FF%FE", "ab%E2%80%8Dcd"])
def test_odd_slugs_are_a_clear_404(client, slug):
    for path in (f"/nl/themes/{slug}", f"/nl/members/{slug}", f"/badge/{slug}.svg", f"/badge/{slug}.png",
                 f"/nl/themes/{slug}/feed.atom", f"/nl/t/1/{slug}"):
        response = client.get(path)
        assert response.status_code in (301, 302, 404), f"{path} answered {response.status_code}"


@pytest.mark.parametrize("header", [
    ";;;q=abc,,*;q=-1,zz-ZZ;q=1.5", "fr;q=nan", "nl;q=inf", "*", "", "x" * 4000, "fr-BE,fr;q=0.9,nl;q=0.8",
    "ÿþ", "en-US,en;q=0.9;level=1", "fr;q=0.5;q=0.9", "\u202efr", "nl" + ",nl" * 500, "-", "123",
])
def test_malformed_accept_language_never_breaks_a_page(client, header):
    response = client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 302
    assert re.match(r"^/(nl|fr)/$", response.headers["Location"])
    assert client.get("/nl/about", headers={"Accept-Language": header}).status_code == 200


@pytest.mark.parametrize("accept", ["application/json", ";;;", "*/*;q=abc", "text/html;q=2, application/json", "\u00ff"])
def test_malformed_accept_headers_get_an_answer(client, accept):
    for path in ("/nl/about", "/nl/no-such-page", "/api/v1/threads", "/api/v1/nothing"):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code in (200, 404), f"{path} with Accept {accept!r}: {response.status_code}"


@pytest.mark.parametrize("body,content_type", [
    ("{not json", "application/json"), ("[1, 2", "application/json"), ('{"q": "\ud800"}', "application/json"),
    ("\xff\xfe", "application/json; charset=utf-8"), ("null", "application/json"), ("<x/>", "application/xml"),
])
def test_malformed_bodies_to_the_api_get_a_json_error(client, body, content_type):
    for path in ("/api/v1/threads", "/api/v1/search", "/api/v1/"):
        response = client.post(path, data=body.encode("utf-8", "surrogatepass"), content_type=content_type)
        assert response.status_code == 405, f"POST {path}: {response.status_code}"
        assert response.mimetype == "application/json"
        assert json.loads(response.data)["error"]["status"] == 405
        # A GET carrying the same junk body is answered as if it had none.
        response = client.open(path, method="GET", data=body.encode("utf-8", "surrogatepass"), content_type=content_type)
        assert response.status_code in (200, 400) and response.mimetype == "application/json"


def test_bad_api_parameters_get_a_json_400(client):
    for query in ("page=abc", "page=0", "per_page=-1", "kind=nonsense", "language=xx", f"page={HUGE}",
                  "theme=" + "x" * 500):
        response = client.get(f"/api/v1/threads?{query}")
        assert response.status_code == 400, query
        assert response.mimetype == "application/json" and "error" in json.loads(response.data)


def test_preview_refuses_json_and_oversized_text(app, client, make_user):
    login(client, make_user())
    response = client.post("/nl/preview", data='{"body": "x"}', content_type="application/json")
    assert response.status_code == 400
    response = client.post_form("/nl/preview", {"body": "x" * 60_000})
    assert response.status_code == 413


@pytest.mark.parametrize("name", ["🙂🙂🙂", "\u202e\u202e", "ـــ", "e\u0301\u0301\u0301", "Raad \u200d\u200d", "ⓐⓑⓒ raad"])
def test_councils_named_without_ascii_get_unique_working_slugs(app, client, make_user, name):
    """Slugs are ASCII: a name with none gets a fallback, and two such councils never clash."""
    login(client, make_user(role="admin"))
    slugs = []
    for _ in range(2):
        response = client.post_form("/nl/admin/organisations/new", {
            "name": name, "kind": "adviesraad", "municipality": "", "province": "", "country": "NL",
            "language": "nl", "website": "", "membership_status": "active", "member_since": "2024-01-01"})
        assert response.status_code in (302, 400), response.status_code
        if response.status_code == 302:
            org_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
            from forum.extensions import db
            from forum.models import Organisation
            with app.app_context():
                slugs.append(db.session.get(Organisation, org_id).slug)
    assert len(set(slugs)) == len(slugs)
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9-]+", slug), slug
        assert client.get(f"/nl/members/{slug}").status_code == 200
        assert client.get(f"/badge/{slug}.svg").status_code == 200


@pytest.mark.parametrize("slug", ["\u202eslug", "🙂", "a b", "../x", "x" * 200, "UPPER", "é"])
def test_theme_slugs_with_odd_characters_are_cleaned_or_refused_next_to_the_field(app, client, make_user, slug):
    from forum.extensions import db
    from forum.models import Theme

    login(client, make_user(role="admin"))
    response = client.post_form("/nl/admin/themes/new", {"slug": slug, "name_nl": "Thema", "name_fr": "Thème",
                                                          "visibility": "members", "post_policy": "everyone"})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
        return
    with app.app_context():
        saved = db.session.scalar(db.select(Theme.slug).where(Theme.name_nl == "Thema"))
    assert re.fullmatch(r"[a-z0-9-]+", saved), saved
    assert client.get(f"/nl/themes/{saved}").status_code == 200
