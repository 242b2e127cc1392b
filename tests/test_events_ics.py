"""iCalendar output parsed back with `icalendar`: zones across the clock changes, escaping,
folding, stable UIDs, SEQUENCE after an edit and STATUS:CANCELLED after a cancellation."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from forum.events import services
from forum.events.models import Event
from forum.extensions import db
from forum.models import User
from tests.conftest import login
from tests.test_events import make_event  # noqa: F401  (fixture)


def _last_sunday(year, month):
    return max(d for d in (date(year, month, n) for n in range(25, 32)) if d.weekday() == 6)


def _next_change(month):
    """The next last Sunday of `month` (3: summer time starts, 10: it ends) far enough ahead."""
    today = date.today()
    year = today.year if _last_sunday(today.year, month) > today + timedelta(days=3) else today.year + 1
    return _last_sunday(year, month)


def _events(body):
    cal = Calendar.from_ical(body)
    return cal, [c for c in cal.walk("VEVENT")]


@pytest.mark.parametrize("month", [10, 3])
@pytest.mark.parametrize("offset_days", [-1, 0])
def test_evening_in_brussels_stays_at_1930_local_across_the_clock_change(app, client, make_event, month,
                                                                         offset_days):
    day = _next_change(month) + timedelta(days=offset_days)
    event = make_event(title="Avond in Brussel", timezone="Europe/Brussels", province="BE-BRU",
                       starts=datetime.combine(day, datetime.min.time()).replace(hour=19, minute=30))
    response = client.get(f"/nl/events/{event.id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal, (vevent,) = _events(response.data)
    assert cal["METHOD"] == "PUBLISH"
    start = vevent.decoded("DTSTART")
    assert start.tzinfo is not None and str(vevent["DTSTART"].params["TZID"]) == "Europe/Brussels"
    assert (start.date(), start.hour, start.minute) == (day, 19, 30)
    # The same instant as the stored UTC time, whatever offset applies that night.
    expected = datetime.combine(day, datetime.min.time()).replace(hour=19, minute=30, tzinfo=ZoneInfo("Europe/Brussels"))
    assert start == expected
    assert vevent.decoded("DTEND") - start == timedelta(hours=2)
    assert any(tz["TZID"] == "Europe/Brussels" for tz in cal.walk("VTIMEZONE"))
    # The page and the API say 19:30 too.
    assert "19:30" in client.get(f"/nl/events/{event.id}").get_data(as_text=True)
    api = client.get("/api/v1/events").get_json()["results"][0]
    assert api["starts_at"].startswith(f"{day.isoformat()}T19:30:00+0")


def test_escaping_and_folding_round_trip(app, client, make_event):
    title = "Vorming; inspraak, participatie \\ deel 1"
    description = "Regel één, met komma; puntkomma \\ backslash\nTweede regel " + "lang " * 40
    event = make_event(title=title, description=description, venue="Zaal A, eerste verdieping")
    body = client.get(f"/nl/events/{event.id}.ics").data
    text = body.decode()
    assert "Vorming\\; inspraak\\, participatie \\\\ deel 1" in text
    assert "\\n" in text
    assert any(line.startswith(b" ") for line in body.split(b"\r\n"))  # long lines folded
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    _cal, (vevent,) = _events(body)
    assert str(vevent["SUMMARY"]) == title
    assert str(vevent["DESCRIPTION"]) == description.strip()
    assert str(vevent["LOCATION"]).startswith("Zaal A, eerste verdieping")


def test_uid_is_stable_and_sequence_rises_after_an_edit_and_cancel(app, client, make_user, make_event):
    moderator = make_user(role="moderator")
    event = make_event(organiser=moderator)
    _cal, (before,) = _events(client.get(f"/nl/events/{event.id}.ics").data)
    assert int(before["SEQUENCE"]) == 0 and str(before["STATUS"]) == "CONFIRMED"
    with app.app_context():
        actor, row = db.session.get(User, moderator.id), db.session.get(Event, event.id)
        data = {name: getattr(row, name) for name in (
            "title", "kind", "language", "timezone", "venue", "address", "municipality", "province",
            "online_url", "audience", "capacity", "description")}
        data.update(starts_at=services.local_time(row.starts_at, row).replace(tzinfo=None) + timedelta(hours=1),
                    ends_at=services.local_time(row.ends_at, row).replace(tzinfo=None) + timedelta(hours=1))
        services.update_event(actor, row, data)
    _cal, (edited,) = _events(client.get(f"/fr/events/{event.id}.ics").data)
    assert str(edited["UID"]) == str(before["UID"])
    assert int(edited["SEQUENCE"]) == 1
    assert edited.decoded("DTSTART") - before.decoded("DTSTART") == timedelta(hours=1)
    login(client, moderator)
    client.post_form(f"/nl/events/{event.id}/cancel", {})
    _cal, (cancelled,) = _events(client.get(f"/nl/events/{event.id}.ics").data)
    assert str(cancelled["STATUS"]) == "CANCELLED" and int(cancelled["SEQUENCE"]) == 2
    assert str(cancelled["UID"]) == str(before["UID"])


def test_all_day_events_are_dates(app, client, make_event):
    day = date.today() + timedelta(days=20)
    event = make_event(all_day=True, starts=datetime.combine(day, datetime.min.time()),
                       ends_at=datetime.combine(day + timedelta(days=1), datetime.min.time()))
    _cal, (vevent,) = _events(client.get(f"/nl/events/{event.id}.ics").data)
    assert vevent.decoded("DTSTART") == day
    assert vevent.decoded("DTEND") == day + timedelta(days=2)  # exclusive: a two-day event


def test_public_feed_has_only_public_events_and_hides_private_links(app, client, make_user, make_event):
    make_event(title="Open overleg", online_url="https://meet.example.org/open")
    make_event(title="Webinar met code", online_url="https://meet.example.org/geheim", online_private=True)
    make_event(title="Besloten ledenoverleg", audience="members")
    login(client, make_user())  # even signed in, the feed is the public one
    response = client.get("/nl/events.ics")
    _cal, vevents = _events(response.data)
    assert sorted(str(v["SUMMARY"]) for v in vevents) == ["Open overleg", "Webinar met code"]
    assert b"meet.example.org/open" in response.data and b"geheim" not in response.data
    _cal, kind_filtered = _events(client.get("/nl/events.ics?kind=webinar").data)
    assert kind_filtered == []


def test_members_only_event_ics_needs_a_member(app, client, make_user, make_event):
    event = make_event(audience="members")
    assert client.get(f"/nl/events/{event.id}.ics").status_code == 404  # as an unknown id
    login(client, make_user())
    response = client.get(f"/nl/events/{event.id}.ics")
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
