"""Answering /badge/<slug>.svg|.png: one function for status, headers and body, and a WSGI fast path.

Badge URLs are embedded by many sites and mail clients, so they are the hottest URLs of
the application. `badge_reply()` decides everything a badge response contains; the Flask
views (views.svg / views.png) and `BadgeFastPath` both send what it returns.

Why a fast path: through Flask a badge hit spent ~0.6 ms in the request machinery
(contexts, URL matching, before/after hooks of every area, session handling) against ~0.1 ms
for the badge work itself, and landed at about a third of the rate of a bare WSGI callable
under the same gunicorn (bench/badge.py). The middleware answers successful hits (200 and
304) before Flask's request handling; anything else (unknown slug, bad query values,
POST) falls through to the Flask views, which answer with the same headers.
"""
import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from flask import current_app
from werkzeug.http import parse_etags

from . import render
from .services import (
    InvalidBadgeOption, badge_bytes, badge_variant, has_public_page, load_badge_subject, parse_badge_options,
)

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# An SVG opened on its own is a document: nothing may run or load, inline styles only.
BADGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_PATH = re.compile(r"^/badge/([^/]+)\.(svg|png)$")
log = logging.getLogger(__name__)


class BadgeNotFound(LookupError):
    """No organisation has this slug."""


@dataclass
class BadgeReply:
    status: int
    headers: list
    body: bytes


def public_headers(max_age):
    """Headers of every badge answer, errors included: public, cacheable, inert, embeddable."""
    headers = [
        ("Cache-Control", f"public, max-age={max_age}"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", BADGE_CSP),
        ("Access-Control-Allow-Origin", "*"),
        # Sites that isolate themselves (COEP) may still embed the badge.
        ("Cross-Origin-Resource-Policy", "cross-origin"),
        # What security.py adds to every Flask response, for answers that bypass Flask.
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
    ]
    if current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def badge_reply(slug, fmt, args, if_none_match):
    """Status, headers and body for a badge request.

    `args` maps query names to their first value; `if_none_match` is a werkzeug ETags.
    Raises BadgeNotFound or InvalidBadgeOption (the views turn them into 404 and 400)."""
    subject = load_badge_subject(slug)
    if subject is None or not has_public_page(subject.membership_status):
        raise BadgeNotFound(slug)
    options = parse_badge_options(args, fmt, subject.language)
    variant = badge_variant(subject, options, fmt)
    headers = [("Content-Type", CONTENT_TYPES[fmt]), ("ETag", f'"{variant.etag}"')]
    headers += public_headers(current_app.config.get("BADGE_MAX_AGE", 600))
    if options["download"]:
        headers.append(("Content-Disposition", f'attachment; filename="{_filename(slug, fmt, options)}"'))
    if if_none_match.contains_weak(variant.etag):
        return BadgeReply(304, headers, b"")
    body = badge_bytes(variant)
    headers.append(("Content-Length", str(len(body))))
    return BadgeReply(200, headers, body)


def _filename(slug, fmt, options):
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", slug)[:80] or "badge"
    suffix = {"1": "", "2": "@2x", "print": f"-{render.PRINT_DPI}dpi"}.get(options["scale"] or "", "")
    return f"{safe}-{options['style']}-{options['theme']}-{options['lang']}{suffix}.{fmt}"


def first_values(query_string):
    """Query parameters as {name: first value}, as Flask's request.args.get() sees them."""
    args = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        args.setdefault(name, value)
    return args


def _wsgi_text(value):
    return value.encode("latin-1", "replace").decode("utf-8", "replace")


class BadgeFastPath:
    """WSGI middleware: answers badge hits (200/304) without entering Flask's request cycle."""

    def __init__(self, wsgi_app, app):
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or not path.startswith("/badge/") or not self.app.config.get(
            "BADGE_FAST_PATH", True
        ):
            return self.wsgi_app(environ, start_response)
        # WSGI strings carry the raw bytes as latin-1; URLs are UTF-8.
        match = _PATH.match(_wsgi_text(path))
        if match is None:
            return self.wsgi_app(environ, start_response)
        try:
            with self.app.app_context():
                reply = badge_reply(
                    match.group(1), match.group(2), first_values(_wsgi_text(environ.get("QUERY_STRING", ""))),
                    parse_etags(environ.get("HTTP_IF_NONE_MATCH")),
                )
        except (BadgeNotFound, InvalidBadgeOption):
            # Errors are rare: let the Flask view answer them (translated, same headers).
            return self.wsgi_app(environ, start_response)
        except Exception:
            # A database or disk failure: Flask's error handling (503 page, logging, rollback)
            # applies, exactly as without the fast path.
            log.warning("badge fast path failed; handing over to Flask", exc_info=True)
            return self.wsgi_app(environ, start_response)
        status = "200 OK" if reply.status == 200 else "304 Not Modified"
        start_response(status, reply.headers)
        return [] if method == "HEAD" or reply.status == 304 else [reply.body]
