"""Accounts: registration, confirmation, approval, sign-in, passwords, profile."""
import functools
import os

from flask_babel import lazy_gettext as _l

from forum.extensions import db, login_manager


# Limits this area adds to forum/config.py's; (count, seconds), overridable per site.
CONFIG_DEFAULTS = {
    "RATELIMIT_CONFIRM_IP": (6, 60),          # 'send the confirmation link again'
    "RATELIMIT_CONFIRM_ACCOUNT": (3, 3600),  # per address, silently
    "RATELIMIT_EMAIL_CHANGE": (5, 3600),      # links sent to new addresses, per account
    # Wrong current passwords on the settings pages (password, e-mail, deletion), per
    # account id: only the signed-in member can use it up, never a stranger.
    "RATELIMIT_PASSWORD_CHECK": (10, 3600),
    "RATELIMIT_SIGNIN_LINK": (5, 3600),       # mailed sign-in links per account, silently
    "SIGNIN_TOKEN_MAX_AGE": 20 * 60,          # seconds a mailed sign-in link works
    "KNOWN_DEVICE_MAX_AGE": 60 * 60 * 24 * 365,  # the 'signed in here before' cookie
    "RATELIMIT_LINK_IP": (6, 60),             # 'send me a sign-in link', per IP (429)
    "RATELIMIT_LINK_ACCOUNT": (5, 3600),      # per typed address, known or not (429)
    "LINK_MAX_AGE": 15 * 60,                  # seconds a requested sign-in link works
    "RATELIMIT_SECOND_FACTOR": (5, 300),      # wrong codes per account before a pause
    "FRESH_FACTOR_MAX_AGE": 15 * 60,          # sensitive actions ask the code again after this
    "SECOND_FACTOR_PENDING_MAX_AGE": 10 * 60,  # between the password (or link) and the code
    "NEW_DEVICE_MAIL": True,                  # mail the member on a sign-in from a new browser
    "STAFF_SECURITY_AUDIT": True,             # staff security events also in the moderation audit log
    # Passkeys (auth/passkeys.py). Empty: the host and origin of AGORA_BASE_URL.
    "WEBAUTHN_RP_ID": os.environ.get("AGORA_WEBAUTHN_RP_ID", ""),
    "WEBAUTHN_ORIGINS": os.environ.get("AGORA_WEBAUTHN_ORIGIN", ""),  # comma-separated
    "WEBAUTHN_CHALLENGE_MAX_AGE": 5 * 60,     # seconds a passkey challenge can be answered
    "PASSKEYS_MAX": 10,                       # passkeys per account
    "RATELIMIT_PASSKEY_OPTIONS_IP": (30, 60),  # passkey sign-in challenges per IP
    "RATELIMIT_PASSKEY_FAILED_IP": (10, 600),  # passkey sign-ins refused per IP
    "RATELIMIT_PASSKEY_REGISTER": (10, 3600),  # passkey registrations started per account
}


def init_app(app):
    from . import outbox, passkey_views  # noqa: F401  (passkey_views adds its routes to bp)
    from .views import bp

    for key, value in CONFIG_DEFAULTS.items():
        app.config.setdefault(key, value)

    if not app.config["STAFF_SECOND_FACTOR"] and not app.testing:
        app.logger.warning("AGORA_STAFF_SECOND_FACTOR is off: moderators and admins open staff pages "
                           "without a second factor. Keep it on for a real site.")
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
    app.jinja_env.globals["passkeys_available"] = passkey_views.passkeys.available
    outbox.init_app(app)
    from . import cli
    cli.init_app(app)


@functools.cache
def _user_statement():
    """The signed-in member by id, built once: every request of a member starts with it."""
    from forum.models import User

    return db.select(User).where(User.id == db.bindparam("uid"))


@login_manager.user_loader
def load_user(alternative_id):
    """The cookie holds 'id:session_token'; a rotated token signs that session out."""
    from forum.models import User

    user_id, _, token = str(alternative_id).partition(":")
    if not user_id.isdigit() or not token:
        return None
    try:
        user = db.session.scalar(_user_statement(), {"uid": int(user_id)})
    except Exception:  # a broken database must still let error pages render
        db.session.rollback()
        return None
    if user is None or user.session_token != token or user.deleted_at is not None or user.is_suspended:
        return None
    return user
