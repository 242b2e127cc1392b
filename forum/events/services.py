"""Creating, changing and cancelling events; registering with a capacity and a waiting list.

Seats are counted with the event row locked: SELECT ... FOR UPDATE on PostgreSQL, and on
SQLite the write lock every POST takes up front (forum/database.py), so two members taking
the last seat at the same moment through two workers never exceed the capacity.
"""
import hashlib
import logging
import secrets
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from flask import current_app
from flask_babel import gettext as _

from auth.mail import render_mail, send_mail, send_rendered
from .. import ratelimit
from ..errors import DomainError
from ..extensions import db
from ..markup import render_markdown
from ..models import utcnow
from ..places import CODES, TIME_ZONES
from ..transactions import unit_of_work
from . import repeat
from .models import AUDIENCES, EVENT_KINDS, EVENT_LANGUAGES, CalendarToken, Event, Registration
from ..permissions import can_moderate
from .policy import can_create_event, can_manage_event, can_register

log = logging.getLogger(__name__)

TITLE_MAX = 200
DESCRIPTION_MAX = 20000
NOTE_MAX = 1000
FIELD_MAX = 300
URL_MAX = 500
CAPACITY_MAX = 100000
# Per member: events planned an hour, and registrations changed in ten minutes (moderators
# are not limited in planning). Settings RATELIMIT_EVENT and RATELIMIT_REGISTRATION.
DEFAULT_EVENT_LIMIT = (5, 3600)
DEFAULT_REGISTRATION_LIMIT = (20, 600)
ZONES = tuple(sorted(set(TIME_ZONES.values())))
# Fields whose change matters to people who registered: they get a mail.
NOTIFY_FIELDS = ("starts_at", "ends_at", "timezone", "all_day", "venue", "address", "municipality", "online_url",
                 "repeat", "repeat_until", "repeat_skip")


class EventError(DomainError):
    """A refused event action (see forum.errors.DomainError)."""

    def messages(self):
        return {
            "forbidden": _("You are not allowed to do this."),
            "title_required": _("Give the event a title."),
            "title_too_long": _("The title can be at most %(max)d characters.", max=TITLE_MAX),
            "description_too_long": _("The description can be at most %(max)d characters.", max=DESCRIPTION_MAX),
            "field_too_long": _("This field can be at most %(max)d characters.", max=FIELD_MAX),
            "invalid_kind": _("Choose one of the listed kinds."),
            "invalid_language": _("Choose Dutch, French or both."),
            "invalid_audience": _("Choose who may see the event."),
            "invalid_timezone": _("Choose a time zone from the list."),
            "start_required": _("Enter when the event starts."),
            "end_required": _("Enter when the event ends."),
            "end_before_start": _("The event cannot end before it starts."),
            "starts_in_past": _("A new event cannot start in the past."),
            "no_such_time": _("This time does not exist on that day: the clocks go forward then."),
            "invalid_province": _("Choose a province from the list."),
            "invalid_theme": _("Choose a theme from the list."),
            "audience_provinces_required": _("Choose at least one province whose councils may see the event."),
            "not_held": _("This event is not waiting for review."),
            "invalid_online_url": _("Enter a secure web address starting with https://."),
            "invalid_capacity": _("Enter a number of seats of 1 or more, or leave it empty."),
            "capacity_below_registered": _(
                "%(count)d people have already registered: the capacity cannot be lower.",
                count=self.params.get("count", 0)),
            "deadline_after_start": _("Registration has to close before the event starts."),
            "invalid_repeat": _("Choose how the event repeats from the list."),
            "repeat_until_required": _("Enter the date of the last meeting of the series."),
            "repeat_until_before_start": _("The series cannot end before its first meeting."),
            "repeat_until_too_far": _("A series can run for at most two years. Plan a new series after that."),
            "invalid_skip_dates": _("Enter the dates to skip as 2027-01-12, separated by commas."),
            "note_too_long": _("The note can be at most %(max)d characters.", max=NOTE_MAX),
            "registration_closed": _("Registration for this event is closed."),
            "not_registered": _("You are not registered for this event."),
            "already_cancelled": _("This event has already been cancelled."),
        }


# -- times -------------------------------------------------------------------------------

def default_timezone(organisation=None, actor=None):
    """The organiser's country decides the zone; the umbrella uses the planner's council."""
    for org in (organisation, getattr(actor, "organisation", None)):
        if org is not None and org.country in TIME_ZONES:
            return TIME_ZONES[org.country]
    return TIME_ZONES["NL"]


def to_utc(local, zone_name, field):
    """A naive local time in `zone_name` as naive UTC; refuses times skipped in March."""
    zone = ZoneInfo(zone_name)
    aware = local.replace(tzinfo=zone)
    utc = aware.astimezone(timezone.utc)
    if utc.astimezone(zone).replace(tzinfo=None) != local:
        raise EventError("no_such_time", field)
    return utc.replace(tzinfo=None)


def local_time(value, event):
    """A stored naive UTC moment as an aware time in the event's own zone (`event` may also be
    the dict of cleaned values)."""
    zone = event["timezone"] if isinstance(event, dict) else event.timezone
    return value.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))


def moment_text(value, event, lang):
    """One stored moment in the event's zone: 'woensdag 2 december 2026 17:00'."""
    return formatted(local_time(value, event), "EEEE d MMMM y HH:mm", lang)


@lru_cache(maxsize=20_000)
def formatted(value, pattern, lang):
    """Babel's text of one date or naive local moment in `lang` (about 50 µs a call; the
    events page made some sixty). The same event dates come back on every view, so the
    texts are kept per worker: a pure function of its arguments."""
    if isinstance(value, datetime):
        return babel_format_datetime(value, pattern, locale=lang)
    return babel_format_date(value, pattern, locale=lang)


def meeting(event):
    """(start, end) naive UTC of the next meeting not over (the last one of a series that is
    over); a single event has one."""
    if event.repeat:
        return repeat.next_occurrence(event, utcnow())
    return event.starts_at, event.ends_at


def when_text(event, lang, times=None):
    """'3 december 2026 19:30 – 21:30' in the event's zone and `lang`, for pages and mails;
    for a series the next meeting, or the meeting `times` ((start, end) naive UTC)."""
    start, end = (local_time(moment, event) for moment in (times or meeting(event)))
    if event.all_day:
        last = (end - timedelta(days=1)).date()
        first_text = formatted(start, "EEEE d MMMM y", lang)
        if last <= start.date():
            return first_text
        return f"{first_text} – {formatted(end - timedelta(days=1), 'EEEE d MMMM y', lang)}"
    text = formatted(start, "EEEE d MMMM y HH:mm", lang)
    if end.date() == start.date():
        return f"{text}–{formatted(end, 'HH:mm', lang)}"
    return f"{text} – {formatted(end, 'EEEE d MMMM y HH:mm', lang)}"


ORDINALS = {1: lambda: _("first"), 2: lambda: _("second"), 3: lambda: _("third"), 4: lambda: _("fourth"),
            -1: lambda: _("last")}


def repeat_text(event, lang):
    """'Every second Tuesday of the month until 29 June 2027; not on 12 January 2027', or ''."""
    if not event.repeat:
        return ""
    first = local_time(event.starts_at, event)
    weekday_name = formatted(first, "EEEE", lang)
    until = formatted(event.repeat_until, "d MMMM y", lang)
    if event.repeat == "weekly":
        text = _("Every week on %(weekday)s until %(until)s", weekday=weekday_name, until=until)
    elif event.repeat == "monthly_weekday":
        n, _day = repeat.nth_weekday(first.date())
        text = _("Every %(nth)s %(weekday)s of the month until %(until)s", nth=ORDINALS[n](),
                 weekday=weekday_name, until=until)
    else:
        text = _("Every month on day %(day)d until %(until)s", day=first.day, until=until)
    skipped = repeat.skip_dates(event)
    if skipped:
        text += "; " + _("not on %(dates)s", dates=", ".join(
            formatted(day, "d MMMM y", lang) for day in skipped))
    return text


# -- validation ----------------------------------------------------------------------------

def _text(data, name, max_length, code="field_too_long"):
    value = str(data.get(name) or "").strip()
    if len(value) > max_length:
        raise EventError(code, name)
    return value


def clean_event(data, now=None, event=None):
    """Check an event's fields (as a form gives them: local naive times) and return the
    values to store; raises EventError naming the field. `event` is the one being edited."""
    now = now or utcnow()
    values = {}
    title = _text(data, "title", TITLE_MAX, "title_too_long")
    if not title:
        raise EventError("title_required", "title")
    values["title"] = title
    description = str(data.get("description") or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise EventError("description_too_long", "description")
    values["description"] = description
    for name, choices, code in (("kind", EVENT_KINDS, "invalid_kind"), ("language", EVENT_LANGUAGES, "invalid_language"),
                                ("audience", AUDIENCES, "invalid_audience"), ("timezone", ZONES, "invalid_timezone")):
        if data.get(name) not in choices:
            raise EventError(code, name)
        values[name] = data[name]
    all_day = bool(data.get("all_day"))
    values["all_day"] = all_day
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if not isinstance(starts, datetime):
        raise EventError("start_required", "starts_at")
    if not isinstance(ends, datetime):
        if not all_day:
            raise EventError("end_required", "ends_at")
        ends = starts
    if all_day:
        # Whole days: from the first day's midnight to the midnight after the last day.
        starts = datetime.combine(starts.date(), time())
        ends = datetime.combine(ends.date(), time()) + timedelta(days=1)
        if ends <= starts:
            raise EventError("end_before_start", "ends_at")
    elif ends <= starts:
        raise EventError("end_before_start", "ends_at")
    values["starts_at"] = to_utc(starts, values["timezone"], "starts_at")
    values["ends_at"] = to_utc(ends, values["timezone"], "ends_at")
    _clean_repeat(data, values)
    changed_start = event is None or event.starts_at != values["starts_at"]
    if changed_start and values["starts_at"] < now:
        raise EventError("starts_in_past", "starts_at")
    for name in ("venue", "address", "municipality"):
        values[name] = _text(data, name, FIELD_MAX)
    province = str(data.get("province") or "").strip()
    if province and province not in CODES:
        raise EventError("invalid_province", "province")
    values["province"] = province
    values["theme_id"] = _theme_id(data.get("theme"))
    codes = data.get("audience_provinces") or []
    codes = codes.split() if isinstance(codes, str) else list(codes)
    if any(code not in CODES for code in codes):
        raise EventError("invalid_province", "audience_provinces")
    if values["audience"] == "provinces" and not codes:
        raise EventError("audience_provinces_required", "audience_provinces")
    values["audience_provinces"] = " ".join(sorted(set(codes))) if values["audience"] == "provinces" else ""
    url = str(data.get("online_url") or "").strip()
    if url:
        parts = urlsplit(url)
        if len(url) > URL_MAX or parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in url):
            raise EventError("invalid_online_url", "online_url")
    values["online_url"] = url
    values["online_private"] = bool(data.get("online_private")) and bool(url)
    capacity = data.get("capacity")
    if capacity in ("", None):
        capacity = None
    elif not isinstance(capacity, int) or not 1 <= capacity <= CAPACITY_MAX:
        raise EventError("invalid_capacity", "capacity")
    values["capacity"] = capacity
    deadline = data.get("registration_deadline")
    if isinstance(deadline, datetime):
        deadline = to_utc(deadline, values["timezone"], "registration_deadline")
        if deadline > values["starts_at"]:
            raise EventError("deadline_after_start", "registration_deadline")
    else:
        deadline = None
    values["registration_deadline"] = deadline
    return values


def _theme_id(value):
    """An optional theme, by id (the form) or as a Theme; None for none."""
    from ..models import Theme

    if value in (None, ""):
        return None
    if isinstance(value, Theme):
        return value.id
    try:
        theme = db.session.get(Theme, int(value))
    except (TypeError, ValueError):
        theme = None
    if theme is None:
        raise EventError("invalid_theme", "theme")
    return theme.id


def _clean_repeat(data, values):
    """The series fields, and the end of the last meeting (what lists and feeds look at)."""
    repeat_kind = data.get("repeat") or ""
    if repeat_kind not in repeat.REPEATS:
        raise EventError("invalid_repeat", "repeat")
    values["repeat"] = repeat_kind
    if not repeat_kind:
        values.update(repeat_until=None, repeat_skip="", last_ends_at=values["ends_at"])
        return
    until = data.get("repeat_until")
    if isinstance(until, datetime):
        until = until.date()
    if not isinstance(until, date):
        raise EventError("repeat_until_required", "repeat_until")
    first_day = local_time(values["starts_at"], values).date()
    if until < first_day:
        raise EventError("repeat_until_before_start", "repeat_until")
    if until > first_day + repeat.MAX_SPAN:
        raise EventError("repeat_until_too_far", "repeat_until")
    try:
        skip = repeat.parse_skip(data.get("repeat_skip"))
    except ValueError:
        raise EventError("invalid_skip_dates", "repeat_skip") from None
    values["repeat_until"] = until
    values["repeat_skip"] = " ".join(day.isoformat() for day in skip)
    meetings = repeat.series_times(repeat_kind, values["starts_at"], values["ends_at"], values["timezone"],
                                   until, tuple(skip))
    values["last_ends_at"] = meetings[-1][1]


# -- events --------------------------------------------------------------------------------

def going_count(event):
    return db.session.scalar(db.select(db.func.count(Registration.id)).where(
        Registration.event_id == event.id, Registration.status == "going")) or 0


def _lock(event):
    """The event row again, locked until commit (PostgreSQL; SQLite POSTs hold the write lock)."""
    return db.session.execute(
        db.select(Event).where(Event.id == event.id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


@unit_of_work()
def create_event(actor, organisation, data, now=None, review=True):
    """Plan an event for the umbrella (organisation None) or a member council.

    review=False skips the rate limit and the hold for review: only for content that counts
    as already moderated (demo content)."""
    organisation_id = organisation.id if organisation is not None else None
    if not can_create_event(actor, organisation_id):
        raise EventError("forbidden", "organisation")
    values = clean_event(data, now)
    if review and not actor.is_moderator:  # counted in this transaction: a refused event does not count
        ratelimit.hit(f"event:{actor.id}", current_app.config.get("RATELIMIT_EVENT", DEFAULT_EVENT_LIMIT),
                      commit=False)
    event = Event(organisation_id=organisation_id, created_by_id=actor.id, held=review and _hold(actor),
                  description_html=str(render_markdown(values["description"])), **values)
    db.session.add(event)
    db.session.flush()
    if not event.held:
        db.session.commit()
        open_thread(event)  # last: it commits itself
    return event


def _discussion_theme(event, author):
    """Where an event's thread goes: the first theme (by position) its planner may start a
    topic in whose readers are the event's: a public theme for a public event, a members-only
    theme for a members' event. A province event gets none: a theme cannot hide a thread from
    the other provinces' members, and the event itself is hidden from them."""
    from ..models import Theme
    from ..permissions import can_start_thread

    if event.audience == "provinces":
        return None
    visibility = "public" if event.audience == "public" else "members"
    themes = db.session.scalars(db.select(Theme).where(Theme.visibility == visibility)
                                .order_by(Theme.position, Theme.id)).all()
    return next((theme for theme in themes if can_start_thread(author, theme, "event")), None)


def open_thread(event):
    """Start the event's discussion thread (kind "event", its planner the author): questions
    before the meeting, minutes and slides (attachments) after it, searchable like any topic.
    Commits; returns the thread or None when there is no theme for it."""
    from flask_babel import force_locale

    from ..threads import services as threads
    from ..threads.notifications import external_url

    author = event.created_by
    if event.thread_id is not None or author is None:
        return None
    theme = _discussion_theme(event, author)
    if theme is None:
        return None
    lang = event.language if event.language in ("nl", "fr") else (author.locale if author.locale in ("nl", "fr") else "nl")
    with force_locale(lang):
        intro = _("Questions before the meeting, and the minutes and slides after it, go in this topic. "
                  "The event, with registration: %(url)s",
                  url=external_url("events.event", event_id=event.id, lang=lang))
    body = f"{event.description}\n\n{intro}".strip()
    event_id = event.id
    try:
        thread = threads.create_thread(author, theme, "event", event.title, body, language=lang, check_abuse=False)
    except threads.ForumError:
        log.warning("No discussion thread for event %s", event_id, exc_info=True)
        return None
    db.session.execute(db.update(Event).where(Event.id == event_id).values(thread_id=thread.id))
    db.session.commit()
    return thread


def _hold(actor):
    """A member's first PREMODERATE_FIRST_EVENTS events wait for a moderator, like first posts:
    the review queue (moderation) lists them. Moderators' events are never held."""
    if actor.is_moderator:
        return False
    published = db.session.scalar(db.select(db.func.count(Event.id)).where(
        Event.created_by_id == actor.id, Event.held.is_(False))) or 0
    return published < current_app.config.get("PREMODERATE_FIRST_EVENTS", 2)


def held_events(limit=100):
    """Events waiting for review, oldest first (the moderation queue)."""
    return db.session.scalars(db.select(Event).where(Event.held.is_(True))
                              .order_by(Event.created_at, Event.id).limit(limit)).all()


def held_count():
    return db.session.scalar(db.select(db.func.count(Event.id)).where(Event.held.is_(True))) or 0


@unit_of_work()
def approve_event(actor, event):
    """Publish a held event; its planner hears of it."""
    from ..moderation.audit import record

    if not can_moderate(actor):
        raise EventError("forbidden")
    event = _lock(event)
    if not event.held:
        raise EventError("not_held")
    event.held = False
    record(actor, "approve_event", "event", event.id, "", title=event.title)
    db.session.commit()
    open_thread(event)
    if event.created_by is not None:
        _send(event, event.created_by, "events_approved", lambda: _("Published: %(title)s", title=event.title))
    return event


@unit_of_work()
def refuse_event(actor, event, reason=""):
    """Refuse a held event: it is deleted (nobody could register for it) and its planner is told."""
    from ..moderation.audit import record

    if not can_moderate(actor):
        raise EventError("forbidden")
    event = _lock(event)
    if not event.held:
        raise EventError("not_held")
    planner, title, lang = event.created_by, event.title, None
    record(actor, "refuse_event", "event", event.id, reason, title=title)
    db.session.delete(event)
    db.session.commit()
    if planner is not None and planner.deleted_at is None:
        lang = planner.locale if planner.locale in ("nl", "fr") else "nl"
        send_mail(planner.email, "events_refused", lang, lambda: _("Not published: %(title)s", title=title),
                  user=planner, title=title, reason=reason)


@unit_of_work()
def update_event(actor, event, data, now=None):
    """Change an event; its SEQUENCE goes up, and people registered hear of a new time or place."""
    if not can_manage_event(actor, event):
        raise EventError("forbidden")
    event = _lock(event)
    if event.is_cancelled:
        raise EventError("already_cancelled")
    values = clean_event(data, now, event)
    going = going_count(event)
    if values["capacity"] is not None and values["capacity"] < going:
        raise EventError("capacity_below_registered", "capacity", count=going)
    changed = [name for name in NOTIFY_FIELDS if getattr(event, name) != values[name]]
    for name, value in values.items():
        setattr(event, name, value)
    event.description_html = str(render_markdown(values["description"]))
    event.sequence += 1
    promoted = _promote(event)
    db.session.commit()
    _mail_promoted(event, promoted)
    if changed:
        _mail_participants(event, "events_changed", lambda: _("Changed: %(title)s", title=event.title), "REQUEST")
    return event


@unit_of_work()
def cancel_event(actor, event):
    """Cancel the event and tell everyone registered or waiting, each in their language."""
    if not can_manage_event(actor, event):
        raise EventError("forbidden")
    event = _lock(event)
    if event.is_cancelled:
        raise EventError("already_cancelled")
    event.status = "cancelled"
    event.sequence += 1
    db.session.commit()
    _mail_participants(event, "events_cancelled", lambda: _("Cancelled: %(title)s", title=event.title), "CANCEL")
    return event


# -- registrations ---------------------------------------------------------------------------

def registration_of(user, event):
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(db.select(Registration).where(
        Registration.event_id == event.id, Registration.user_id == user.id))


@unit_of_work()
def register(user, event, note="", listed=False, now=None, notify=True):
    """Take a seat, or a place on the waiting list when the event is full; a confirmation
    mail follows (not for demo content: notify=False).

    Registering again while going or waiting only updates the note and the listing."""
    event = _lock(event)
    if not can_register(user, event):
        raise EventError("registration_closed")
    _count_registration(user)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise EventError("note_too_long", "note")
    registration = registration_of(user, event)
    if registration is None:
        registration = Registration(event_id=event.id, user_id=user.id, status="cancelled")
        db.session.add(registration)
    registration.note = note
    registration.listed = bool(listed)
    joined = registration.status == "cancelled"
    if joined:
        full = event.capacity is not None and going_count(event) >= event.capacity
        registration.status = "waiting" if full else "going"
        registration.joined_at = now or utcnow()
    db.session.commit()
    if joined and notify:  # a confirmation, with the calendar file for a seat (not for a waiting place)
        waiting = registration.status == "waiting"
        _send(event, user, "events_registered",
              lambda: _("Waiting list: %(title)s", title=event.title) if waiting
              else _("Registered: %(title)s", title=event.title),
              method=None if waiting else "REQUEST", waiting=waiting)
    return registration


@unit_of_work()
def cancel_registration(user, event):
    """Give up a seat (or a waiting place); the first person waiting moves up and gets a mail."""
    event = _lock(event)
    if event.is_past:
        raise EventError("registration_closed")
    registration = registration_of(user, event)
    if registration is None or registration.status == "cancelled":
        raise EventError("not_registered")
    _count_registration(user)
    was_going = registration.status == "going"
    registration.status = "cancelled"
    db.session.flush()
    promoted = _promote(event)
    db.session.commit()
    if was_going:  # takes the event out of their calendar
        _send(event, user, "events_unregistered", lambda: _("Registration cancelled: %(title)s", title=event.title),
              method="CANCEL")
    _mail_promoted(event, promoted)
    return registration


def _count_registration(user):
    """Registering and cancelling over and over would mail the people waiting each time."""
    limit = current_app.config.get("RATELIMIT_REGISTRATION", DEFAULT_REGISTRATION_LIMIT)
    ratelimit.hit(f"event-registration:{user.id}", limit, commit=False)


def release_seats(user):
    """A deleted account's registrations end and its seats go to the people waiting.

    Part of the caller's transaction (account deletion); returns the promoted registrations
    for mail_promotions() after the caller commits."""
    promoted = []
    registrations = db.session.scalars(db.select(Registration).where(
        Registration.user_id == user.id, Registration.status.in_(("going", "waiting")))).all()
    for registration in registrations:
        event = _lock(registration.event)
        registration.status = "cancelled"
        registration.note = ""
        db.session.flush()
        promoted += _promote(event)
    return promoted


def mail_promotions(registrations):
    """Tell people promoted by release_seats(), once their seats are committed."""
    for registration in registrations:
        _mail_promoted(registration.event, [registration])


def export_registrations(user):
    """A member's registrations for their data export."""
    rows = db.session.scalars(db.select(Registration).where(Registration.user_id == user.id)
                              .order_by(Registration.id)).all()
    return [{"event": r.event.title, "event_id": r.event_id, "starts_at": local_time(r.event.starts_at, r.event),
             "status": r.status, "note": r.note, "listed": r.listed, "registered_at": r.joined_at} for r in rows]


def _promote(event):
    """Fill free seats from the waiting list, first come first served; the promoted rows."""
    if event.is_cancelled or event.is_past:
        return []
    promoted = []
    free = None if event.capacity is None else event.capacity - going_count(event)
    waiting = db.session.scalars(db.select(Registration).where(
        Registration.event_id == event.id, Registration.status == "waiting",
    ).order_by(Registration.joined_at, Registration.id)).all()
    for registration in waiting:
        if free is not None and free <= 0:
            break
        registration.status = "going"
        promoted.append(registration)
        if free is not None:
            free -= 1
    db.session.flush()
    return promoted


# -- the personal calendar feed -------------------------------------------------------------

def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


@unit_of_work()
def new_calendar_token(user):
    """A new secret feed address for `user` (the old one stops working); returns the token,
    which is not stored: only its hash is."""
    ratelimit.hit(f"calendar-token:{user.id}", (10, 3600), commit=False)
    token = secrets.token_urlsafe(32)
    row = db.session.get(CalendarToken, user.id)
    if row is None:
        row = CalendarToken(user_id=user.id, token_hash="")
        db.session.add(row)
    row.token_hash, row.created_at, row.used_at = _token_hash(token), utcnow(), None
    db.session.flush()
    return token


@unit_of_work()
def revoke_calendar_token(user):
    db.session.execute(db.delete(CalendarToken).where(CalendarToken.user_id == user.id))


def has_calendar_token(user):
    return db.session.get(CalendarToken, user.id) is not None


def calendar_token_user(token):
    """The member a feed token belongs to, or None (unknown, revoked, or no longer a member)."""
    from ..permissions import is_member

    if not token or len(token) > 100:
        return None
    row = db.session.scalar(db.select(CalendarToken).where(CalendarToken.token_hash == _token_hash(token)))
    if row is None or not is_member(row.user):
        return None
    return row.user


# -- mail ----------------------------------------------------------------------------------

def _send(event, user, template, subject, method=None, **context):
    """One mail to a participant in their language; with `method` ("REQUEST" or "CANCEL") the
    event goes along as an .ics attachment their mail program offers to put in (or take out of)
    their calendar."""
    if user.deleted_at is not None:
        return
    lang = user.locale if user.locale in ("nl", "fr") else "nl"
    from ..threads.notifications import external_url
    from . import ics
    from .policy import can_see_online_link

    link = external_url("events.event", event_id=event.id, lang=lang)
    msg = render_mail(user.email, template, lang, subject, user=user, event=event, when=when_text(event, lang),
                      link=link, **context)
    if method:
        body = ics.invitation(event, user, link, method,
                              with_link=can_see_online_link(user, event, registration_of(user, event)))
        msg.add_attachment(body, maintype="text", subtype="calendar", filename=f"agora-event-{event.id}.ics",
                           params={"method": method})
        # Becoming multipart moved the Content-* headers onto the text part: the outer message
        # says its language again (mail programs and tests read it there).
        msg["Content-Language"] = lang
    send_rendered(msg, template)


def _mail_promoted(event, registrations):
    for registration in registrations:
        _send(event, registration.user, "events_promoted",
              lambda: _("You have a seat: %(title)s", title=event.title), method="REQUEST")


def _mail_participants(event, template, subject, method):
    """Everyone going or waiting; only people going get the calendar attachment (the ones
    waiting never had it in their calendar)."""
    registrations = db.session.scalars(db.select(Registration).where(
        Registration.event_id == event.id, Registration.status.in_(("going", "waiting")))).all()
    for registration in registrations:
        _send(event, registration.user, template, subject,
              method=method if registration.status == "going" else None)
