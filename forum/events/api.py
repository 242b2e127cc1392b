"""The events part of the JSON API: GET /api/v1/events (only what the reader may see)."""
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from ..api import params
from ..places import CODES
from ..threads.notifications import external_url
from . import queries
from .models import EVENT_KINDS
from .policy import can_see_online_link
from .services import local_time, meeting, registration_of


def _day(name):
    value = params.text(name, 10)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise params.BadParameter(name, _("must be a date like 2026-03-31")) from None


def event_json(event, reader):
    # A series: its next meeting (the last one once it is over), with the rule next to it.
    start, end = (local_time(moment, event) for moment in meeting(event))
    return {
        "id": event.id, "title": event.title, "kind": event.kind, "language": event.language,
        "starts_at": start.isoformat(), "ends_at": end.isoformat(), "timezone": event.timezone,
        "all_day": event.all_day, "venue": event.venue, "municipality": event.municipality,
        "province": event.province or None,
        # Whether it can be followed online; the link itself only where the reader may see it.
        "online": bool(event.online_url),
        "status": event.status,
        "repeat": event.repeat or None,
        "repeat_until": event.repeat_until.isoformat() if event.repeat_until else None,
        "url": external_url("events.event", event_id=event.id, lang="nl"),
        "ics_url": external_url("events.event_ics", event_id=event.id, lang="nl"),
        # A private link for people going and the organisers, as on the page (was: never).
        **({"online_url": event.online_url}
           if can_see_online_link(reader, event, registration_of(reader, event)) else {}),
    }


def list_events(reader):
    """(select, serialiser) for the API's events list, from the query string."""
    first, last = _day("from"), _day("to")
    province = params.text("province", 10)
    if province is not None and province not in CODES:
        raise params.BadParameter("province", _("must be a province code like NL-UT or BE-WLG"))
    kind = params.choice("kind", EVENT_KINDS)
    stmt = queries.visible_events(reader, province=province, kind=kind)
    if first is None and last is None:
        stmt = queries.upcoming(stmt)
    else:
        start = queries.utc_midnight(first) if first else datetime.min
        end = queries.utc_midnight(last + timedelta(days=1)) if last else datetime.max
        if first and last and last < first:
            raise params.BadParameter("to", _("must not be before 'from'"))
        stmt = queries.between(stmt, start, end)
    return stmt, lambda event: event_json(event, reader)
