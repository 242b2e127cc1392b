"""Bump Organisation.badge_version whenever something a badge certifies changes, on any code path."""
from sqlalchemy import event, inspect

from ..models import Organisation

# What a badge or its verification page states. A change to any of them must change the
# badge's ETag at once, whether it comes from an admin page, the CLI or an import.
CERTIFIED_FIELDS = ("membership_status", "member_since", "member_until", "name")


def _changed(state, name):
    added, _unchanged, deleted = state.attrs[name].history
    if not added:
        return False
    # An attribute that was never loaded has no old value: count it as a change.
    return not deleted or deleted[0] != added[0]


@event.listens_for(Organisation, "before_update")
def bump_badge_version(mapper, connection, target):
    """ORM flushes only: a bulk `update()` statement bypasses mapper events, so such code
    must bump badge_version itself (the badge cache key also includes name, status and
    dates, so the bytes served stay right even then)."""
    state = inspect(target)
    if _changed(state, "badge_version"):
        return  # set explicitly in this flush: respect it
    if any(_changed(state, name) for name in CERTIFIED_FIELDS):
        target.badge_version = (target.badge_version or 0) + 1
