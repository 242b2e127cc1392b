"""The audit log: one append-only ModerationAction row per moderator or admin action."""
from datetime import date, datetime

from ..extensions import db
from ..models import ModerationAction, utcnow


def _jsonable(value):
    """Details end up in a JSON column: dates become ISO strings, models their id."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "id") and hasattr(value, "__table__"):
        return value.id
    return value


def record(actor, action, target_type, target_id, reason="", **details):
    """Add an audit entry to the session; the caller's service commits it with its change.

    `actor` is a User (or None for the system, e.g. automatic hiding after flags).
    Writing it in the same transaction means an action and its log entry stand or fall
    together.
    """
    entry = ModerationAction(
        actor_id=getattr(actor, "id", actor),
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason or "",
        details=_jsonable(details),
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry
