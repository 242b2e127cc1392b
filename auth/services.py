"""Account services: the views call these; they change the database and commit."""
from flask import current_app, request

from forum import ratelimit
from forum.extensions import db
from forum.models import User, utcnow


class AuthError(Exception):
    """A domain error the view shows next to the form."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def normalise_email(email):
    return (email or "").strip().lower()


def find_user_by_email(email):
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


def client_ip():
    # Behind a proxy, configure ProxyFix in wsgi.py; we never trust X-Forwarded-For blindly.
    return request.remote_addr or "unknown"


def authenticate(email, password):
    """Check credentials under per-IP and per-account limits; return the user or raise.

    Raises RateLimited when a limit is reached, AuthError('invalid') for any wrong
    combination (the same answer whether the address exists or not), and
    AuthError(status) for accounts that cannot sign in yet.
    """
    config = current_app.config
    email = normalise_email(email)
    ip_key = f"login-ip:{client_ip()}"
    account_key = f"login-account:{email}"
    ratelimit.hit(ip_key, config["RATELIMIT_LOGIN_IP"])
    ratelimit.check(account_key, config["RATELIMIT_LOGIN_ACCOUNT"])
    user = find_user_by_email(email)
    if user is None or user.deleted_at is not None or not user.check_password(password):
        ratelimit.hit(account_key)
        raise AuthError("invalid")
    if user.status == "suspended":
        if user.is_suspended:
            raise AuthError("suspended")
        user.status = "active"  # the suspension has run out
        user.suspended_until = None
    if user.status == "unconfirmed":
        raise AuthError("unconfirmed")
    if user.status == "pending":
        raise AuthError("pending")
    ratelimit.clear(account_key)
    user.last_seen_at = utcnow()
    db.session.commit()
    return user


def sign_out_everywhere(user):
    """Invalidate every session and remember-me cookie of this user."""
    user.rotate_session_token()
    db.session.commit()
