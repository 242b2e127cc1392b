"""The 'known device' cookie: this browser signed in to these accounts before.

It lets the owner of a guarded account (many failed sign-ins, see
services.authenticate) sign in with the password alone. It holds keyed digests of
account ids, not the ids, signed and dated; a few accounts per browser (a shared
office computer), newest first.
"""
from flask import current_app, request

from .tokens import TokenInvalid, fingerprint, make_token, read_token

COOKIE_NAME = "agora_device"
MAX_ACCOUNTS = 5


def _digest(user):
    return fingerprint("known-device", user.id)


def _digests():
    value = request.cookies.get(COOKIE_NAME)
    if not value:
        return []
    try:
        data = read_token("device", value, max_age=current_app.config["KNOWN_DEVICE_MAX_AGE"])
    except TokenInvalid:
        return []
    return [d for d in data if isinstance(d, str)] if isinstance(data, list) else []


def is_known(user):
    """Whether this request comes from a browser that signed in to `user` before."""
    return _digest(user) in _digests()


def remember(response, user):
    """Set (or refresh) the cookie on a response to a successful sign-in."""
    digests = [_digest(user)] + [d for d in _digests() if d != _digest(user)]
    config = current_app.config
    response.set_cookie(
        COOKIE_NAME, make_token("device", digests[:MAX_ACCOUNTS]), max_age=config["KNOWN_DEVICE_MAX_AGE"],
        httponly=True, samesite="Lax", secure=config.get("SESSION_COOKIE_SECURE", False), path="/",
    )
    return response
