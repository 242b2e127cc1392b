"""Security properties that hold for every route, derived from the URL map."""
import pytest

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
        name = type(converter).__name__
        if arg == "lang":
            values[arg] = "nl"
        elif name in ("IntegerConverter",):
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
