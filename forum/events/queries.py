"""Reading events: what a reader may see, with the list filters the pages, feeds and API share."""
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, literal, or_

from ..extensions import db
from ..models import utcnow
from ..permissions import can_moderate, is_member
from ..places import TIME_ZONES
from .models import Event, Registration
from .policy import member_province


# Calendar days where the members live: both countries keep the same clock.
MEMBERS_ZONE = ZoneInfo(TIME_ZONES["NL"])


def utc_midnight(day):
    """The start of a calendar day in the members' zone, as naive UTC."""
    return datetime.combine(day, time(), MEMBERS_ZONE).astimezone(timezone.utc).replace(tzinfo=None)


def visible_events(user, province=None, kind=None, language=None, mine=False, public_only=False, theme=None):
    """A select of the events `user` may see, narrowed by the filters."""
    stmt = db.select(Event)
    if public_only or not is_member(user):
        stmt = stmt.where(Event.audience == "public", Event.held.is_(False))
    elif not can_moderate(user):
        stmt = stmt.where(or_(_own_council(user), and_(Event.held.is_(False), _audience_clause(user))))
    if province:
        stmt = stmt.where(Event.province == province)
    if kind:
        stmt = stmt.where(Event.kind == kind)
    if theme:  # a theme's slug
        from ..models import Theme

        stmt = stmt.where(Event.theme_id == db.select(Theme.id).where(Theme.slug == theme).scalar_subquery())
    if language:
        # A bilingual event suits readers of either language.
        stmt = stmt.where(Event.language.in_((language, "both")) if language in ("nl", "fr") else Event.language == language)
    if mine and is_member(user):
        stmt = stmt.where(Event.id.in_(db.select(Registration.event_id).where(
            Registration.user_id == user.id, Registration.status.in_(("going", "waiting")))))
    return stmt


def _own_council(user):
    return Event.organisation_id == user.organisation_id if user.organisation_id is not None else false()


def _audience_clause(user):
    """What a member (not a moderator) may see of the published events: the province
    codes are stored separated by spaces, so ' NL-UT ' is searched in ' NL-UT NL-GE '."""
    province = member_province(user)
    in_province = (
        (literal(" ") + Event.audience_provinces + literal(" ")).contains(f" {province} ", autoescape=True)
        if province else false())
    return or_(Event.audience.in_(("public", "members")), and_(Event.audience == "provinces", in_province))


def upcoming(stmt, now=None):
    """Events not yet over (a series until its last meeting), soonest first."""
    return stmt.where(Event.last_ends_at >= (now or utcnow())).order_by(Event.starts_at, Event.id)


def past(stmt, now=None):
    """Events that are over, latest first."""
    return stmt.where(Event.last_ends_at < (now or utcnow())).order_by(Event.starts_at.desc(), Event.id.desc())


def between(stmt, start, end):
    """Events (series: from the first meeting to the end of the last) overlapping [start, end)
    (naive UTC), soonest first; repeat.between() picks a series' meetings in it."""
    return stmt.where(Event.last_ends_at > start, Event.starts_at < end).order_by(Event.starts_at, Event.id)


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


def agenda(user, limit=4):
    """The home page's Agenda box: the next events the reader may see, not cancelled, each
    with its local time text ({"event", "when"}), in the reader's language."""
    from ..i18n import current_language
    from .services import when_text

    stmt = upcoming(visible_events(user)).where(Event.status == "scheduled").limit(limit)
    lang = current_language()
    return [{"event": e, "when": when_text(e, lang)} for e in db.session.scalars(stmt)]


def personal_feed(user, since):
    """A member's calendar feed: events they registered for (going or waiting) and the
    events of their council's province they may see, ending after `since`."""
    mine = db.select(Registration.event_id).where(
        Registration.user_id == user.id, Registration.status.in_(("going", "waiting")))
    province = member_province(user)
    wanted = or_(Event.id.in_(mine), Event.province == province) if province else Event.id.in_(mine)
    stmt = visible_events(user).where(wanted, Event.held.is_(False), Event.last_ends_at >= since)
    return db.session.scalars(stmt.order_by(Event.starts_at, Event.id).limit(1000)).all()


def new_in_province(user, since, now, limit=10):
    """For the mail digest: upcoming events in the province of the member's council planned
    since the last digest, soonest first (each is listed once, in the digest after it was planned)."""
    province = member_province(user)
    if not province:
        return []
    stmt = upcoming(visible_events(user), now).where(
        Event.province == province, Event.status == "scheduled", Event.held.is_(False), Event.created_at >= since)
    return db.session.scalars(stmt.limit(limit)).all()
