"""Security headers and the caching rule on every response, error pages included; NUL bytes
and ids beyond what the database can hold refused with a clear 400/404."""
from flask import abort, g, request, session
from werkzeug.routing import IntegerConverter

# No inline scripts anywhere: scripts come from /static, so 'self' is enough.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


def has_nul_byte():
    """Whether the path, a query or form field (name or value) or a file name holds U+0000.

    No keyboard types it; PostgreSQL cannot store it, SMTP and XML cannot carry it, and
    C libraries cut strings at it. Refusing it at the door gives one clear 400 instead of
    a 500 (or a mail that bounces) somewhere deep inside.
    """
    if "\x00" in request.path:
        return True
    fields = list(request.args.items(multi=True))
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        fields += request.form.items(multi=True)
        fields += [(name, f.filename or "") for name, f in request.files.items(multi=True)]
    return any("\x00" in name or "\x00" in value for name, value in fields)


def signed_in():
    """Whether this request is a signed-in person's, without a database query.

    Flask-Login keeps the user it loaded in g; a request that never looked at the user
    still counts as signed in when the session names one (its page may not show it, but
    nothing tells a cache so)."""
    user = g.get("_login_user")
    if user is not None:
        # is_anonymous, not is_authenticated: the latter reads the member's status, which a
        # commit earlier in the request has expired (one more query, and on SQLite in a POST
        # the write lock again, after the work is done). Flask-Login only loads active
        # members; one suspended meanwhile still gets the stricter header.
        return not user.is_anonymous
    return "_user_id" in session


def apply_cache_rule(response):
    """The one caching rule: what a signed-in person gets is private and not stored.

    Anything answered to a signed-in person may show their name, notifications or
    members-only content, so shared caches must never keep it and the browser must not
    keep it on disk: `private, no-store`. Areas that set their own policy keep it when
    it is at least as strict (`no-store`, or `private, no-cache` for attachments, which
    revalidate every time) or when they vouch that the answer is the same for everyone
    (`public`: badges, feeds). Anonymous readers' pages get no Cache-Control here, so
    public pages stay cacheable; they vary by the session cookie (Flask adds
    `Vary: Cookie` whenever the session is read, e.g. for the CSRF token).
    """
    if request.endpoint == "static" or (request.endpoint or "").endswith(".static"):
        return  # files of the release, the same for everyone
    control = response.cache_control
    if control.public or control.no_store or (control.private and control.no_cache):
        return
    if signed_in():
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")


class IdConverter(IntegerConverter):
    """<int:...> in URLs, capped at the largest INTEGER PostgreSQL stores (2**31 - 1):
    /t/99999999999999999999 is a 404 like any unknown id, not an overflow deep in the
    database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


# Agora's own limits on the request head, below gunicorn's (gunicorn.conf.py), so that the app,
# not gunicorn, answers with its translated page and security headers.
REQUEST_LINE_LIMIT = 8190
HEADER_FIELD_LIMIT = 8190
HEADER_COUNT_LIMIT = 100


def refuse_oversized_request_head():
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or (
        environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", ""))
    if len(target) > REQUEST_LINE_LIMIT:
        abort(414)
    headers = [value for key, value in environ.items() if key.startswith("HTTP_")]
    if len(headers) > HEADER_COUNT_LIMIT or any(len(str(v)) > HEADER_FIELD_LIMIT for v in headers):
        abort(431)


def init_app(app):
    # Before the areas register their blueprints: rules take the converter when added.
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def refuse_nul_bytes():
        if has_nul_byte():
            abort(400)

    # First of all before_request functions: nothing else should work on such a request.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized_request_head)

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        # Areas with their own policy (badges, attachments) set it before we get here.
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure or app.config["PREFERRED_URL_SCHEME"] == "https":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        apply_cache_rule(response)
        return response
