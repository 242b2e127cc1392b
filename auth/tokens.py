"""Signed, expiring tokens for links in mails (confirm, reset, change e-mail, unsubscribe)."""
import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenInvalid(Exception):
    """The link is damaged or was made for something else."""


class TokenExpired(TokenInvalid):
    """The link was valid but is too old; `data` is its (authentic) content."""

    def __init__(self, data=None):
        super().__init__("expired")
        self.data = data


def _serializer(purpose):
    # The salt separates purposes: a confirmation link can never be used as a reset link.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"agora-{purpose}")


def make_token(purpose, data):
    return _serializer(purpose).dumps(data)


def read_token(purpose, token, max_age=None):
    """Return the data of a token made by make_token(purpose, ...).

    Raises TokenExpired (carrying the data, whose signature was verified) when it is
    older than max_age seconds, TokenInvalid when it was tampered with or is garbage.
    """
    serializer = _serializer(purpose)
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        # itsdangerous checks the signature before the age, so the payload is authentic.
        try:
            data = serializer.loads(token)
        except BadSignature:  # pragma: no cover - cannot happen after SignatureExpired
            data = None
        raise TokenExpired(data) from exc
    except BadSignature as exc:
        raise TokenInvalid() from exc
    except Exception as exc:  # malformed base64/JSON must never become a 500
        raise TokenInvalid() from exc


def fingerprint(*parts):
    """A short keyed digest of account state (password hash, e-mail).

    Put into a token it makes the token die as soon as that state changes, which is
    how a reset link becomes single-use without storing anything.
    """
    key = current_app.config["SECRET_KEY"].encode()
    message = "\x1f".join(str(p or "") for p in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]
