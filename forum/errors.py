"""Translated error pages (HTML) and JSON errors for the API; never a stack trace."""
import logging

from flask import jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .ratelimit import RateLimited

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refused action with a code; `field` names the form field its message belongs next to.

    Services raise subclasses; views show `message` next to the field. Subclasses list their
    translated messages in messages(), which runs inside a request or force_locale.
    """

    def __init__(self, code, field=None, **params):
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = params

    def messages(self):
        return {}

    @property
    def message(self):
        return self.messages().get(self.code) or _("This could not be saved.")


def error_messages():
    """Title and explanation per status, looked up at request time (translated)."""
    return {
        400: (_("Bad request"), _("The request could not be understood. Check what you entered and try again.")),
        403: (_("No access"), _("You do not have permission to see this page.")),
        404: (_("Page not found"), _("This page does not exist (any more). Check the address or use the search.")),
        405: (_("Not allowed"), _("This action is not possible on this page.")),
        413: (_("Too large"), _("What you sent is larger than allowed. Make it smaller and try again.")),
        414: (_("Address too long"), _("The address of this page is longer than the forum accepts. Check the link or start again from the home page.")),
        429: (_("Too many attempts"), _("You tried this too often in a short time. Wait a moment and try again.")),
        431: (_("Request too large"), _("Your browser sent more information than the forum accepts. Clearing this site's cookies usually helps.")),
        500: (_("Something went wrong"), _("An unexpected error occurred on our side. Your action may not have been saved; please try again in a moment.")),
        503: (_("Temporarily unavailable"), _("The forum cannot save anything right now. Nothing you saved earlier is lost; please try again later.")),
    }


def wants_json():
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def _not_found_for_non_members():
    """Text and sign-in link of a 404 page for someone who is not a member.

    Members-only threads, posts, themes and attachments answer 404 to everyone else, exactly
    as unknown ones do, so ids cannot be probed; the page says so and offers to sign in,
    coming back to the address asked for (which reveals nothing new)."""
    from flask_login import current_user

    from .permissions import is_member

    if is_member(current_user):
        return None, None
    text = _("This page does not exist (any more), or it is only for members.")
    if current_user.is_authenticated:
        return text, None
    return text, url_for("auth.login", next=request.full_path.rstrip("?"))


def render_error(status, message=None):
    title, text = error_messages().get(status, error_messages()[500])
    if message:
        text = message
    if wants_json():
        return jsonify({"error": {"status": status, "title": title, "message": text}}), status
    signin_url = None
    if status == 404 and not message:
        members_text, signin_url = _not_found_for_non_members()
        text = members_text or text
    return render_template("errors/error.html", status=status, title=title, message=text,
                           signin_url=signin_url), status


def init_app(app):
    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = exc.code or 500
        if code not in error_messages():
            code = 400 if 400 <= code < 500 else 500
        response = render_error(code)
        if isinstance(exc, HTTPException) and exc.code == 405 and exc.valid_methods:
            body, status = response
            body = app.make_response(body)
            body.headers["Allow"] = ", ".join(exc.valid_methods)
            return body, status
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, _("Your session has expired or the form was sent twice. Go back, reload the page and try again; copy your text first if you wrote something."))

    @app.errorhandler(RateLimited)
    def rate_limited(exc):
        body, status = render_error(429)
        response = app.make_response((body, status))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc):
        # A framework-level rollback, on purpose (like the user loader's in auth/__init__.py):
        # an error no service caught (a bug, a lost connection, an autoflush in a view) can
        # leave the session in a failed transaction, and the error page itself reads (the
        # current user, menus). Services roll their own work back (forum/transactions.py);
        # this only makes the page renderable.
        if isinstance(exc, OverflowError):
            # A number too large for the database (?page=99999999999999999999): bad input.
            log.info("Number out of range on %s %s: %s", request.method, request.path, exc)
            db.session.rollback()
            return render_error(400)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except Exception:
            pass
        from sqlalchemy.exc import OperationalError
        if isinstance(exc, (OperationalError, OSError)):
            return render_error(503)
        return render_error(500)
