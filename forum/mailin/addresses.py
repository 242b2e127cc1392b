"""Reply and theme addresses: a signed, unguessable token in the local part.

    reply+<thread id>.<member id>.<mac>@<MAIL_DOMAIN>    a reply to that thread
    theme+<theme slug>.<member id>.<mac>@<MAIL_DOMAIN>   a new thread in that theme

The mac is an HMAC-SHA256 (SECRET_KEY) over purpose, member, target and the member's key
generation (MailKey), cut to 80 bits and written in lower-case hex: mail systems may change
the case of a local part. A token names one member and one thread or theme: it cannot be
used for another, and a new generation (the member revokes, or a moderator suspends) voids
every address sent before. Nothing is stored per address.
"""
import hashlib
import hmac
import re

from flask import current_app

from ..extensions import db
from .models import MailKey

MAC_LENGTH = 20
_LOCAL = re.compile(r"^(reply|theme)\+([a-z0-9-]{1,80})\.([0-9]{1,10})\.([0-9a-f]{%d})$" % MAC_LENGTH)


def domain():
    return (current_app.config.get("MAIL_DOMAIN") or "").strip().lower()


def enabled():
    """Mail-in is on when a domain is set (AGORA_MAIL_DOMAIN)."""
    return bool(domain())


def mail_key(user_id):
    return db.session.get(MailKey, user_id)


def generation(user_id):
    key = mail_key(user_id)
    return key.generation if key is not None else 0


def replies_enabled(user_id):
    key = mail_key(user_id)
    return key is None or key.enabled


def _mac(purpose, user_id, target, gen):
    message = f"agora-mailin|{purpose}|{user_id}|{target}|{gen}".encode()
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:MAC_LENGTH]


def _address(purpose, user_id, target):
    if not enabled():
        return None
    gen = generation(user_id)
    return f"{purpose}+{target}.{user_id}.{_mac(purpose, user_id, target, gen)}@{domain()}"


def reply_address(user, thread):
    """The member's address for replying to `thread` (None when mail-in is off for them)."""
    if not enabled() or not replies_enabled(user.id):
        return None
    return _address("reply", user.id, thread.id)


def theme_address(user, theme):
    """The member's address for starting a thread in `theme`."""
    if not enabled() or not replies_enabled(user.id):
        return None
    return _address("theme", user.id, theme.slug)


class Target:
    """What a recipient address points at, once its token checked out."""

    def __init__(self, purpose, target, user_id):
        self.purpose, self.target, self.user_id = purpose, target, user_id


def split(address):
    """(local part, domain) lower-cased; ("", "") for something that is no address."""
    address = (address or "").strip().strip("<>").lower()
    if address.count("@") != 1:
        return "", ""
    local, dom = address.split("@")
    return local, dom


def read(address):
    """Check a recipient address: a Target, or a reason string ("unknown_address",
    "bad_token"). Constant-time comparison; the generation is the member's current one."""
    local, dom = split(address)
    if not enabled() or dom != domain():
        return "unknown_address"
    match = _LOCAL.match(local)
    if not match:
        return "unknown_address"
    purpose, target, user_id, mac = match.group(1), match.group(2), int(match.group(3)), match.group(4)
    if purpose == "reply" and not target.isdigit():
        return "unknown_address"
    expected = _mac(purpose, user_id, target, generation(user_id))
    if not hmac.compare_digest(expected, mac):
        return "bad_token"
    return Target(purpose, int(target) if purpose == "reply" else target, user_id)


def plain_theme_slug(address):
    """`<theme-slug>@<domain>`: the shared theme address (only with trusted DMARC results)."""
    local, dom = split(address)
    if not enabled() or dom != domain() or not re.fullmatch(r"[a-z0-9-]{1,80}", local):
        return None
    return local


def domain_of(app):
    return (app.config.get("MAIL_DOMAIN") or "").strip().lower()
