"""The member's own switches: reply by mail on or off, and a new set of addresses."""
from ..extensions import db
from ..models import utcnow
from ..transactions import unit_of_work
from .models import MailKey


def _key(user):
    key = db.session.get(MailKey, user.id)
    if key is None:
        key = MailKey(user_id=user.id, generation=0, enabled=True)
        db.session.add(key)
    return key


@unit_of_work()
def revoke_addresses(user):
    """A new generation: every reply and theme address mailed before stops working."""
    key = _key(user)
    key.generation = (key.generation or 0) + 1
    key.rotated_at = utcnow()


@unit_of_work()
def set_enabled(user, enabled):
    _key(user).enabled = bool(enabled)
