"""Revalidation (ETag, 304) for anonymous readers, and gzip of HTML and JSON answers.

Agora compresses itself rather than leaving it to a proxy: `make run` and the benchmarks
serve straight from gunicorn, and a proxy in front that compresses too sees
`Content-Encoding` and leaves the body alone. Compression is kept away from signed-in
pages: they carry the member's CSRF token next to text an attacker can choose (a search
query, a thread title), which is what BREACH needs to read a secret out of compressed
sizes. Anonymous pages and the API hold no such secret.
"""
import gzip
import hashlib
import re

from flask import request
from flask_login import current_user

COMPRESSIBLE = ("text/html", "application/json")
MIN_SIZE = 1024  # below this, gzip's header costs more than it saves
LEVEL = 6
# Reading pages, whose forms an anonymous reader does not use: revalidated.
REVALIDATED = {
    "main.home", "threads.latest", "threads.themes", "threads.theme", "threads.questions",
    "threads.practices", "threads.initiatives", "threads.vacancies", "threads.thread",
}
# The CSRF token in every page's head is signed with the time, so it changes each second;
# it is left out of the page's validator (these pages have no form an anonymous reader
# sends, and an expired token only asks to send a form again).
CSRF_META = re.compile(rb'<meta name="csrf-token" content="[^"]*">')


def _anonymous():
    return not current_user.is_authenticated


def _plain_body(response):
    """The body when it is an ordinary, fully built one we may rewrite, else None."""
    if response.is_streamed or response.direct_passthrough or "Content-Encoding" in response.headers:
        return None
    return response.get_data()


def add_validator(response):
    """A weak ETag from a reading page's bytes, and 304 when the reader already has them.

    Weak, so the same validator holds for the gzip and the plain form of a page. Only for
    anonymous readers: what a signed-in member gets is `private, no-store` and is never
    revalidated. There is no Last-Modified: no one timestamp covers a page (a renamed
    author or a hidden reply changes it), and a wrong one would keep a stale page.
    """
    if (request.method not in ("GET", "HEAD") or response.status_code != 200
            or request.endpoint not in REVALIDATED or response.mimetype != "text/html"
            or "ETag" in response.headers or not _anonymous()):
        return response
    body = _plain_body(response)
    if body is None:
        return response
    response.set_etag(hashlib.blake2b(CSRF_META.sub(b"", body), digest_size=16).hexdigest(), weak=True)
    return response.make_conditional(request)


def compress(response):
    """gzip an HTML or JSON answer above MIN_SIZE when the client accepts it."""
    if response.mimetype not in COMPRESSIBLE:
        return response
    response.vary.add("Accept-Encoding")  # whether or not this one is compressed
    if (response.status_code < 200 or response.status_code in (204, 304)
            or request.accept_encodings["gzip"] <= 0):
        return response
    if response.mimetype == "text/html" and not _anonymous():
        return response  # BREACH: see the module docstring
    body = _plain_body(response)
    if body is None or len(body) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response


def init_app(app):
    # after_request functions run last-registered first: revalidate, then compress.
    app.after_request(compress)
    app.after_request(add_validator)
