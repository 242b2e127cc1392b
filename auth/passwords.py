"""Password rules (length, common passwords, not your own name) and the one place that hashes."""
import re
import secrets
import unicodedata
from functools import lru_cache
from pathlib import Path

from blinker import Namespace
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms.validators import ValidationError

MIN_LENGTH = 8
# NIST advises allowing at least 64; passphrases are welcome. The cap keeps scrypt cheap.
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

# Simple substitutions people use to make a common word "strong".
# Sent just before a password hash is computed (the slow part of signing in, on purpose).
# Nothing in the app listens; tests count with it that no write lock is held meanwhile.
hashing = Namespace().signal("password-hashing")

_dummy_hashes = {}

_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "0": "o", "1": "i", "!": "i", "$": "s", "5": "s", "7": "t"})
_TRAILING = re.compile(r"[\d\W_]+$")
_LEADING = re.compile(r"^[\d\W_]+")


@lru_cache(maxsize=1)
def common_passwords():
    """The shipped list as a frozenset (lower-case); read once per process."""
    words = set()
    for line in COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(_fold(line))
    return frozenset(words)


def _fold(text):
    """Lower-case without accents, so 'Liberté' and 'liberte' are the same word."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def is_common(password):
    """True for a listed password, also when decorated with digits, '!' or letter swaps."""
    words = common_passwords()
    folded = _fold(password)
    if folded in words:
        return True
    base = _LEADING.sub("", _TRAILING.sub("", folded))
    candidates = {base, base.translate(_LEET), folded.translate(_LEET)}
    return any(len(c) >= 4 and c in words for c in candidates)


def _squash(text):
    return re.sub(r"[\W_]+", "", _fold(text or ""))


def password_problem(password, email=None, name=None):
    """Return a translated message saying what is wrong with `password`, or None."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(num)d characters.", num=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(num)d characters.", num=MAX_LENGTH)
    if len(set(password)) < 3:
        return _l("This password is too easy to guess. Choose a less common one.")
    squashed = _squash(password)
    personal = {_squash(email), _squash((email or "").split("@")[0]), _squash(name)}
    if squashed and squashed in {p for p in personal if p}:
        return _l("Your password may not be the same as your e-mail address or your name.")
    if is_common(password):
        return _l("This password is too common and easy to guess. Choose a less common one, for example a short sentence.")
    return None


class StrongPassword:
    """WTForms validator; `email_field`/`name_field` name sibling fields to compare with.

    `user` may be a callable returning the account whose e-mail and name count too
    (on the settings and reset pages the person does not type them).
    """

    def __init__(self, email_field=None, name_field=None, user=None):
        self.email_field = email_field
        self.name_field = name_field
        self.user = user

    def __call__(self, form, field):
        email = name = None
        if self.email_field:
            email = form[self.email_field].data
        if self.name_field:
            name = form[self.name_field].data
        user = self.user() if callable(self.user) else getattr(form, "account", None)
        if user is not None:
            email = email or user.email
            name = name or user.name
        message = password_problem(field.data, email=email, name=name)
        if message:
            raise ValidationError(str(message))


def _method():
    # scrypt at werkzeug's cost; a test suite may choose a cheaper cost with
    # PASSWORD_HASH_METHOD (e.g. "scrypt:4096:8:1"): checking reads it from the hash.
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"


def hash_password(password):
    """The hash to store for `password` (slow: call it outside the write transaction)."""
    hashing.send(None)
    return generate_password_hash(password, method=_method())


def password_matches(stored_hash, password):
    """Whether `password` fits `stored_hash`. Without a stored hash (no account, no password
    yet) it takes as long as a real check, so timing does not tell whether an account exists."""
    hashing.send(None)
    if not stored_hash:
        method = _method()
        if method not in _dummy_hashes:
            _dummy_hashes[method] = generate_password_hash(secrets.token_hex(8), method=method)
        check_password_hash(_dummy_hashes[method], password or "")
        return False
    return check_password_hash(stored_hash, password or "")
