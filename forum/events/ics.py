"""iCalendar (RFC 5545) output with the `icalendar` library: one event or a feed."""
from datetime import datetime, time, timezone
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as VEvent

from . import repeat
from .services import local_time

PRODID = "-//Agora//Events//NL"


def uid(event):
    """Stable for the event's whole life: the id and the site's host name."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "agora"
    return f"event-{event.id}@{host}"


def _vevent(event, url, lang, with_link):
    item = VEvent()
    item.add("uid", uid(event))
    item.add("dtstamp", event.updated_at.replace(tzinfo=timezone.utc))
    item.add("sequence", event.sequence)
    item.add("summary", event.title)
    if event.all_day:
        item.add("dtstart", local_time(event.starts_at, event).date())
        item.add("dtend", local_time(event.ends_at, event).date())
    else:
        # Times in the event's own zone (TZID) with a VTIMEZONE: 19:30 stays 19:30 local.
        item.add("dtstart", local_time(event.starts_at, event))
        item.add("dtend", local_time(event.ends_at, event))
    if event.repeat:
        _add_rule(item, event)
    location = ", ".join(part for part in (event.venue, event.address, event.municipality) if part)
    if not location and with_link and event.online_url:
        location = event.online_url
    if location:
        item.add("location", location)
    description = event.description
    if with_link and event.online_url:
        description = f"{description}\n\n{event.online_url}".strip()
    if description:
        item.add("description", description)
    item.add("url", url)
    item.add("status", "CANCELLED" if event.is_cancelled else "CONFIRMED")
    item.add("created", event.created_at.replace(tzinfo=timezone.utc))
    item.add("last-modified", event.updated_at.replace(tzinfo=timezone.utc))
    return item


DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _add_rule(item, event):
    """RRULE and EXDATE of a series (RFC 5545 3.8.5): UNTIL in UTC for timed events (a date
    for all-day ones), the skipped meetings as EXDATEs in the event's zone."""
    first = local_time(event.starts_at, event)
    rule = {"freq": "weekly" if event.repeat == "weekly" else "monthly"}
    if event.repeat == "monthly_weekday":
        n, day = repeat.nth_weekday(first.date())
        rule["byday"] = f"{n}{DAY_CODES[day]}"
    elif event.repeat == "monthly_date":
        rule["bymonthday"] = first.day
    if event.all_day:
        rule["until"] = event.repeat_until
    else:
        last = datetime.combine(event.repeat_until, time(23, 59, 59), first.tzinfo)
        rule["until"] = last.astimezone(timezone.utc)
    item.add("rrule", rule)
    starts = {moment.date(): moment for moment in repeat.local_starts(
        event.repeat, first.replace(tzinfo=None), event.repeat_until, ())}
    skipped = [starts[day] for day in repeat.skip_dates(event) if day in starts]
    if skipped:
        item.add("exdate", [day.date() if event.all_day else day.replace(tzinfo=first.tzinfo) for day in skipped])


def _calendar(method):
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    return cal


def invitation(event, user, url, method, with_link):
    """The event as a mail attachment for one participant (RFC 5546): METHOD:REQUEST puts it
    in (or, with a higher SEQUENCE, updates) their calendar, METHOD:CANCEL takes it out.
    The organiser is the site's sender address; the participant is the only attendee."""
    cal = _calendar(method)
    item = _vevent(event, url, "nl", with_link)
    if method == "CANCEL":
        item["status"] = "CANCELLED"
    organiser = vCalAddress(f"mailto:{current_app.config['MAIL_SENDER'].rsplit('<', 1)[-1].rstrip('>').strip()}")
    organiser.params["cn"] = vText(event.organisation.name if event.organisation else "Agora")
    item.add("organizer", organiser)
    attendee = vCalAddress(f"mailto:{user.email}")
    attendee.params["cn"] = vText(user.name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("DECLINED" if method == "CANCEL" else "ACCEPTED")
    item.add("attendee", attendee)
    cal.add_component(item)
    cal.add_missing_timezones()
    return cal.to_ical()


def calendar(events, url_for_event, name=None, with_link=lambda event: False, lang="nl"):
    """A VCALENDAR (METHOD:PUBLISH) as bytes; `url_for_event(event)` gives each page address."""
    cal = _calendar("PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(_vevent(event, url_for_event(event), lang, with_link(event)))
    cal.add_missing_timezones()
    return cal.to_ical()
