"""Reading events: what a reader may see, with the list filters the pages, feeds and API share."""
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import or_

from ..extensions import db
from ..models import utcnow
from ..permissions import is_member
from ..places import TIME_ZONES
from .models import Event, Registration


# Calendar days where the members live: both countries keep the same clock.
MEMBERS_ZONE = ZoneInfo(TIME_ZONES["NL"])


def utc_midnight(day):
    """The start of a calendar day in the members' zone, as naive UTC."""
    return datetime.combine(day, time(), MEMBERS_ZONE).astimezone(timezone.utc).replace(tzinfo=None)


def visible_events(user, province=None, kind=None, language=None, mine=False, public_only=False):
    """A select of the events `user` may see, narrowed by the filters."""
    stmt = db.select(Event)
    if public_only or not is_member(user):
        stmt = stmt.where(Event.audience == "public")
    if province:
        stmt = stmt.where(Event.province == province)
    if kind:
        stmt = stmt.where(Event.kind == kind)
    if language:
        # A bilingual event suits readers of either language.
        stmt = stmt.where(Event.language.in_((language, "both")) if language in ("nl", "fr") else Event.language == language)
    if mine and is_member(user):
        stmt = stmt.where(Event.id.in_(db.select(Registration.event_id).where(
            Registration.user_id == user.id, Registration.status.in_(("going", "waiting")))))
    return stmt


def upcoming(stmt, now=None):
    """Events not yet over, soonest first."""
    return stmt.where(Event.ends_at >= (now or utcnow())).order_by(Event.starts_at, Event.id)


def past(stmt, now=None):
    """Events that are over, latest first."""
    return stmt.where(Event.ends_at < (now or utcnow())).order_by(Event.starts_at.desc(), Event.id.desc())


def between(stmt, start, end):
    """Events overlapping [start, end) (naive UTC), soonest first."""
    return stmt.where(Event.ends_at > start, Event.starts_at < end).order_by(Event.starts_at, Event.id)


def participants(event, everyone):
    """Registrations going and waiting; only listed people going unless `everyone`."""
    stmt = db.select(Registration).where(Registration.event_id == event.id)
    if everyone:
        stmt = stmt.where(Registration.status.in_(("going", "waiting")))
    else:
        stmt = stmt.where(Registration.status == "going", Registration.listed.is_(True))
    return db.session.scalars(stmt.order_by(Registration.status, Registration.joined_at, Registration.id)).all()


def counts(event):
    """{'going': n, 'waiting': m}."""
    rows = db.session.execute(db.select(Registration.status, db.func.count(Registration.id)).where(
        Registration.event_id == event.id, or_(Registration.status == "going", Registration.status == "waiting"),
    ).group_by(Registration.status)).all()
    result = {"going": 0, "waiting": 0}
    result.update(dict(rows))
    return result
