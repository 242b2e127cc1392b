"""The `events` section of `forum export` / `forum import` (forum/io/).

One object per event: {"ref", "title", "kind", "language", "organiser" (organisation ref, or
null for the umbrella), "starts_at", "ends_at" (ISO 8601 with an offset), "timezone",
"all_day", "venue", "address", "municipality", "province" (ISO 3166-2), "online_url",
"audience", "capacity", "description"}, plus optional "online_private", "audience_provinces",
"repeat", "repeat_until", "repeat_skip", "status", "registration_deadline" and "theme" (a theme's slug). The same rules
as the form (forum/events/services.clean_event) apply, except that past events are accepted
(a community moves in with its history); problems are reported per path
(`events[2].ends_at: The event cannot end before it starts.`) and nothing is written unless
the whole file is right. Importing is idempotent on `ref`. Registrations and discussion threads
are not part of the section (threads travel in `threads` with the kind "event").
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import force_locale

from ..extensions import db
from ..markup import render_markdown
from .models import EVENT_STATUSES, Event
from .repeat import REPEATS
from .services import ZONES, EventError, clean_event, local_time

FIELDS = {"ref", "title", "kind", "language", "organiser", "starts_at", "ends_at", "timezone", "all_day", "venue",
          "address", "municipality", "province", "online_url", "online_private", "audience", "audience_provinces",
          "capacity", "registration_deadline", "description", "repeat", "repeat_until", "repeat_skip", "status", "theme"}


def _moment(item, key, zone, required=True):
    """An ISO 8601 time with an offset, as naive local time in `zone` (what clean_event takes)."""
    value = item.text(key, required=required)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        item.error(key, f"{value!r} is not a date and time like 2027-03-09T19:30:00+01:00")
        return None
    if parsed.tzinfo is None:
        item.error(key, "needs its offset from UTC, like 2027-03-09T19:30:00+01:00")
        return None
    return parsed.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def validate_events(data, plan, problems, objects, item_class):
    """Check the `events` section into plan.events (rows to write) and plan.skipped['events']."""
    existing = set(db.session.scalars(db.select(Event.import_ref).where(Event.import_ref.is_not(None))))
    plan.skipped.setdefault("events", 0)
    refs = set()
    for i, obj in objects(data, "events", problems):
        item = item_class(obj, f"events[{i}]", problems, FIELDS)
        ref = item.ref("ref")
        zone = item.text("timezone") or "Europe/Amsterdam"
        if zone not in ZONES:
            item.error("timezone", f"{zone!r} is not one of {', '.join(ZONES)}")
            zone = "Europe/Amsterdam"
        organiser = item.ref("organiser", required=False)
        if organiser and organiser not in plan.organisation_ids and organiser not in {
                o["import_ref"] for o in plan.organisations}:
            item.error("organiser", f"unknown organisation ref {organiser!r}")
        fields = {
            "title": item.text("title"), "kind": item.text("kind") or "other", "language": item.text("language") or "nl",
            "audience": item.text("audience") or "public", "timezone": zone, "all_day": item.boolean("all_day"),
            "starts_at": _moment(item, "starts_at", zone), "ends_at": _moment(item, "ends_at", zone),
            "registration_deadline": _moment(item, "registration_deadline", zone, required=False),
            "venue": item.text("venue"), "address": item.text("address"), "municipality": item.text("municipality"),
            "province": item.province("province"), "online_url": item.text("online_url"),
            "online_private": item.boolean("online_private"), "description": item.text("description"),
            "capacity": item.obj.get("capacity"), "audience_provinces": item.list_("audience_provinces"),
            "repeat": item.choice("repeat", REPEATS[1:], ""), "repeat_until": item.date("repeat_until"),
            "repeat_skip": " ".join(str(d) for d in item.list_("repeat_skip")),
        }
        status = item.choice("status", EVENT_STATUSES, "scheduled")
        theme = item.text("theme") or None
        if theme and theme not in plan.theme_ids and theme not in {t["slug"] for t in plan.themes}:
            item.error("theme", f"unknown theme {theme!r}")
        if fields["starts_at"] is None or fields["ends_at"] is None:
            continue
        try:
            values = clean_event(fields, now=datetime.min)  # past events are welcome here
        except EventError as exc:
            with force_locale("en"):  # the importer reports in English, like its other problems
                item.error(exc.field, exc.message)
            continue
        if not ref:
            continue
        if ref in refs:
            item.error("ref", f"duplicate event ref {ref!r}")
            continue
        refs.add(ref)
        if ref in existing:
            plan.skipped["events"] += 1
            continue
        plan.events.append(dict(values, import_ref=ref, status=status, organiser_ref=organiser, theme_slug=theme))


def write_events(rows, organisation_ids, theme_ids):
    """Add the checked events (in the importer's transaction); returns how many."""
    for row in rows:
        row = dict(row)
        organiser = row.pop("organiser_ref")
        theme = row.pop("theme_slug")
        row["theme_id"] = theme_ids.get(theme) if theme else None
        db.session.add(Event(organisation_id=organisation_ids.get(organiser) if organiser else None,
                             description_html=str(render_markdown(row["description"])), held=False, **row))
    db.session.flush()
    return len(rows)


def _iso(value, event):
    return local_time(value, event).isoformat() if value else None


def export_events(ref, org_refs):
    """Every published event (not the ones waiting for review), in the section's format."""
    events = db.session.scalars(db.select(Event).where(Event.held.is_(False)).order_by(Event.id)).all()
    return [{
        "ref": ref("event", e), "title": e.title, "kind": e.kind, "language": e.language,
        "organiser": org_refs.get(e.organisation_id) if e.organisation_id else None,
        "starts_at": _iso(e.starts_at, e), "ends_at": _iso(e.ends_at, e), "timezone": e.timezone,
        "all_day": e.all_day, "venue": e.venue, "address": e.address, "municipality": e.municipality,
        "province": e.province or None, "online_url": e.online_url, "online_private": e.online_private,
        "audience": e.audience, "audience_provinces": e.province_codes, "capacity": e.capacity,
        "registration_deadline": _iso(e.registration_deadline, e), "description": e.description,
        "repeat": e.repeat or None, "repeat_until": e.repeat_until.isoformat() if e.repeat_until else None,
        "repeat_skip": e.repeat_skip.split(), "status": e.status, "theme": e.theme.slug if e.theme else None,
    } for e in events]
