"""Query-string parsing for the API: malformed values become a 400 with a clear message."""
import re

from flask import request
from flask_babel import gettext as _

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


class BadParameter(Exception):
    """A query parameter has a value the API cannot use; answered as a 400 JSON error."""

    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def text(name, max_length=200):
    value = request.args.get(name)
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise BadParameter(name, _("must not be empty"))
    if len(value) > max_length:
        raise BadParameter(name, _("is too long (at most %(max)d characters)", max=max_length))
    return value


def choice(name, choices):
    value = text(name, 40)
    if value is not None and value not in choices:
        raise BadParameter(name, _("must be one of: %(choices)s", choices=", ".join(choices)))
    return value


def boolean(name):
    value = request.args.get(name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadParameter(name, _("must be true or false"))


def positive_int(name, default):
    value = request.args.get(name)
    if value is None:
        return default
    value = value.strip()
    if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < 1:
        raise BadParameter(name, _("must be a whole number of 1 or more"))
    return int(value)


def pagination():
    """(page, per_page): per_page above the maximum is capped, not refused."""
    page = positive_int("page", 1)
    per_page = min(positive_int("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    return page, per_page
