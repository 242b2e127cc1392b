"""Sign-in links on demand: one field on the sign-in page, a single-use link by mail.

The link works once, for LINK_MAX_AGE, and only in the browser that asked: the request
sets a random nonce cookie and the mail's row remembers its SHA-256 digest. Someone who
sees the mail (a forwarded message, a shared mailbox) cannot use it in another browser.
"""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request
from flask_babel import gettext as _

from forum import ratelimit
from forum.extensions import db
from forum.models import SigninLink, User, utcnow

from .outbox import queue_mail
from .services import AuthError, _live_user, _mail, _sign_in, client_ip, external_url, normalise_email
from .tokens import TokenExpired, TokenInvalid

NONCE_COOKIE = "agora_signin_nonce"


def digest(value):
    return hashlib.sha256((value or "").encode()).hexdigest()


def is_requested_link(token):
    """Tokens of this module are plain url-safe text; the guarded sign-in's are signed (with dots)."""
    return "." not in token


def browser_nonce():
    """This browser's nonce, new if it has none (kept, so two requests' links both work)."""
    nonce = request.cookies.get(NONCE_COOKIE) or ""
    return nonce if 20 <= len(nonce) <= 100 else secrets.token_urlsafe(32)


def request_link(email, nonce):
    """Queue 'send a sign-in link to this address' under the per-IP and per-address limits.

    Like the password reset, nothing is looked up: a known and an unknown address write
    the same rows; the sender decides whether there is an account to send to.
    Raises RateLimited.
    """
    email = normalise_email(email)
    config = current_app.config
    ip_key, account_key = f"link-ip:{client_ip()}", f"link-account:{email}"
    ratelimit.check(ip_key, config["RATELIMIT_LINK_IP"])
    ratelimit.check(account_key, config["RATELIMIT_LINK_ACCOUNT"])
    ratelimit.hit(ip_key, commit=False)
    ratelimit.hit(account_key, commit=False)
    queue_mail("signin_request", email, nonce=digest(nonce))
    db.session.commit()


def create_link(user, nonce_hash):
    """A new link's token for the mail (added to the sender's transaction)."""
    token = secrets.token_urlsafe(32)
    db.session.add(SigninLink(user_id=user.id, token_hash=digest(token), nonce_hash=nonce_hash,
                              expires_at=utcnow() + timedelta(seconds=current_app.config["LINK_MAX_AGE"])))
    return token


def find_link(token, nonce):
    """The unused, unexpired link for `token`, opened in the browser that asked.

    Raises TokenInvalid (unknown or used), TokenExpired, AuthError('other_browser').
    """
    link = db.session.scalar(db.select(SigninLink).where(SigninLink.token_hash == digest(token)))
    if link is None or link.used_at is not None:
        raise TokenInvalid()
    if link.expires_at < utcnow():
        raise TokenExpired()
    if not secrets.compare_digest(link.nonce_hash, digest(nonce)):
        raise AuthError("other_browser")
    return link


def sign_in_with_requested_link(token, nonce):
    """Use the link (once, even with two tabs or workers at once) and sign in; returns the user.

    Raises what find_link raises, and AuthError(status, user=...) like authenticate().
    """
    link = find_link(token, nonce)
    used = db.session.execute(
        db.update(SigninLink).where(SigninLink.id == link.id, SigninLink.used_at.is_(None)).values(used_at=utcnow())
    )
    if used.rowcount != 1:
        raise TokenInvalid()
    user = db.session.get(User, link.user_id)
    if user is None or user.deleted_at is not None:
        raise TokenInvalid()
    return _sign_in(user)


def compose(row):
    """The mail for a queued 'signin_request' row (see services.compose_account_mail)."""
    user = _live_user(row)
    # Only accounts that could sign in with a password get a link; an unknown address
    # gets nothing, as the page said nothing either.
    if user is None or user.status not in ("active", "suspended") or user.is_suspended:
        return []
    token = create_link(user, row.data.get("nonce") or "")
    return [_mail(user.email, "auth_signin_request", user.locale, lambda: _("Your sign-in link for Agora"),
                 user=user, signin_url=external_url("auth.signin_link", lang=user.locale, token=token),
                 minutes=current_app.config["LINK_MAX_AGE"] // 60)]

