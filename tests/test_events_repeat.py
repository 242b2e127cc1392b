"""Repeating events through HTTP: a council meeting on the second Tuesday of each month, with
a skipped date, in the pages (both languages), the month view, the API and the .ics (RRULE,
EXDATE, parsed back with icalendar), across the October and March clock changes."""
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from forum.events.models import Event
from forum.extensions import db
from tests.conftest import as_member, html, login, shows
from forum.events.demo import second_tuesday as _second_tuesday
from forum.events.demo import second_tuesdays
from tests.test_events import event_form

BRUSSELS = ZoneInfo("Europe/Brussels")


MEETINGS = second_tuesdays(10)  # the next second Tuesdays of a month, from three days away


def _add_months(day, n):
    return MEETINGS[MEETINGS.index(day) + n]


FIRST = MEETINGS[0]
SKIPPED = _add_months(FIRST, 2)
UNTIL = _add_months(FIRST, 9)


def series_form(**kw):
    values = event_form(title="Raadsvergadering ASD Lier", kind="other", timezone="Europe/Brussels",
                        province="BE-VAN", starts_at=f"{FIRST}T19:30", ends_at=f"{FIRST}T21:30",
                        repeat="monthly_weekday", repeat_until=UNTIL.isoformat(), repeat_skip=SKIPPED.isoformat())
    values.update(kw)
    return values


@pytest.fixture
def series(app, client, make_user):
    login(client, make_user(role="moderator"))
    response = client.post_form("/nl/events/new", series_form())
    assert response.status_code == 302, html(response)[:3000]
    with app.app_context():
        return db.session.scalars(db.select(Event)).one().id


@pytest.mark.parametrize("lang,text", [("nl", "Elke tweede dinsdag van de maand"),
                                       ("fr", "Chaque deuxième mardi du mois")])
def test_a_monthly_series_is_described_and_registered_once(app, series, make_user, lang, text):
    member = as_member(app, make_user(), lang=lang)
    page = html(member.get(f"/{lang}/events/{series}"))
    assert text in page
    assert shows(app, page, "One registration counts for every meeting of the series.", lang)
    member.post_form(f"/{lang}/events/{series}/register", {})
    with app.app_context():
        assert len(db.session.get(Event, series).registrations) == 1
    assert text in html(member.get(f"/{lang}/events"))
    with app.app_context():  # the series lasts until its last meeting, skipped date left out
        event = db.session.get(Event, series)
        last = event.last_ends_at.replace(tzinfo=timezone.utc).astimezone(BRUSSELS)
        assert last.date() == UNTIL and (last.hour, last.minute) == (21, 30)


def test_the_month_view_shows_each_meeting_at_1930_local_and_not_the_skipped_one(app, client, series):
    for n in range(0, 10):
        day = _add_months(FIRST, n)
        page = html(client.get(f"/nl/events/month?month={day:%Y-%m}"))
        if day == SKIPPED:
            assert "Raadsvergadering ASD Lier" not in page
            continue
        assert f'<time datetime="{day.isoformat()}">' in page
        assert "19:30–21:30" in page.split(f'<time datetime="{day.isoformat()}">', 1)[1]


def test_ics_has_the_rule_and_the_skipped_date_and_expands_to_local_1930(app, client, series):
    body = client.get(f"/nl/events/{series}.ics").data
    cal = Calendar.from_ical(body)
    [vevent] = cal.walk("VEVENT")
    rule = vevent["rrule"]
    assert rule["FREQ"] == ["MONTHLY"] and rule["BYDAY"] == ["2TU"]
    until = rule["UNTIL"][0]
    assert until.tzinfo is not None and until.utcoffset() == timedelta(0)  # UTC, as RFC 5545 asks
    assert until.astimezone(BRUSSELS).date() == UNTIL
    start = vevent["dtstart"].dt
    assert start.tzinfo is not None and str(start.tzinfo) == "Europe/Brussels" and (start.hour, start.minute) == (19, 30)
    [exdate] = vevent["exdate"].dts
    assert exdate.dt.date() == SKIPPED and (exdate.dt.hour, exdate.dt.minute) == (19, 30)
    assert str(exdate.dt.tzinfo) == "Europe/Brussels"
    assert {tz["tzid"] for tz in cal.walk("VTIMEZONE")} == {"Europe/Brussels"}
    # What a calendar program does: expand the rule; every meeting is at 19:30 local, the
    # ones after the October (or March) change too, and the skipped one is not there.
    lines = body.decode().replace("\r\n ", "")
    rule_text = next(line for line in lines.splitlines() if line.startswith("RRULE:"))
    meetings = [m for m in rrulestr(rule_text, dtstart=start) if m.date() != SKIPPED]
    assert len(meetings) == 9
    offsets = {m.utcoffset() for m in meetings}
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}  # nine months always cross a clock change
    assert all((m.hour, m.minute) == (19, 30) for m in meetings)
    assert all(m.date() == _second_tuesday(m.year, m.month) for m in meetings)


def test_the_api_gives_the_next_meeting_and_the_rule(app, client, series):
    item = json.loads(client.get("/api/v1/events").data)["results"][0]
    assert item["repeat"] == "monthly_weekday" and item["repeat_until"] == UNTIL.isoformat()
    start = datetime.fromisoformat(item["starts_at"])
    assert start.date() == FIRST and (start.hour, start.minute) == (19, 30)
    # Ask for the month after the skipped one: the series is there.
    later = _add_months(FIRST, 3)
    ranged = json.loads(client.get(f"/api/v1/events?from={later.replace(day=1)}&to={later}").data)
    assert ranged["total"] == 1


@pytest.mark.parametrize("field,values,msgid", [
    ("repeat_until", {"repeat_until": ""}, "Enter the date of the last meeting of the series."),
    ("repeat_until", {"repeat_until": (FIRST - timedelta(days=1)).isoformat()},
     "The series cannot end before its first meeting."),
    ("repeat_until", {"repeat_until": (FIRST + timedelta(days=900)).isoformat()},
     "A series can run for at most two years. Plan a new series after that."),
    ("repeat_skip", {"repeat_skip": "13 juli"}, "Enter the dates to skip as 2027-01-12, separated by commas."),
])
@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_bad_series_input_gets_a_message_and_saves_nothing(app, client, make_user, field, values, msgid, lang):
    login(client, make_user(role="moderator"), lang=lang)
    response = client.post_form(f"/{lang}/events/new", series_form(**values))
    assert response.status_code == 400
    error = html(response).split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert shows(app, error, msgid, lang)
    assert "Raadsvergadering ASD Lier" in html(response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Event.id))) == 0


def test_skipping_one_more_date_raises_the_sequence_and_adds_an_exdate(app, client, series):
    extra = _add_months(FIRST, 4)
    response = client.post_form(f"/nl/events/{series}/edit",
                                series_form(repeat_skip=f"{SKIPPED}, {extra}"))
    assert response.status_code == 302, html(response)[:2000]
    [vevent] = Calendar.from_ical(client.get(f"/nl/events/{series}.ics").data).walk("VEVENT")
    assert int(vevent["sequence"]) == 1
    assert sorted(d.dt.date() for d in vevent["exdate"].dts) == [SKIPPED, extra]


def test_a_series_reminds_the_day_before_each_meeting_once(app, make_user, mail):
    """A weekly meeting whose next session is in 20 hours: one reminder now, none on a second
    run, and one again the day before the session a week later."""
    from forum.events import services
    from forum.events.reminders import send_reminders
    from forum.models import User, utcnow

    moderator, member = make_user(role="moderator"), make_user()
    now = utcnow()
    first_local = (datetime.now(BRUSSELS) + timedelta(days=6)).replace(second=0, microsecond=0, tzinfo=None)
    with app.app_context():
        event = services.create_event(db.session.get(User, moderator.id), None, {
            "title": "Wekelijks spreekuur", "kind": "other", "language": "nl", "timezone": "Europe/Brussels",
            "starts_at": first_local, "ends_at": first_local + timedelta(hours=1), "audience": "members",
            "repeat": "weekly", "repeat_until": (first_local + timedelta(days=30)).date()})
        services.register(db.session.get(User, member.id), event, notify=False)
        event_id = event.id
        # The series began last week: move every meeting back seven days (next one: ~20 hours away).
        row = db.session.get(Event, event_id)
        shift = row.starts_at - (now + timedelta(hours=20) - timedelta(days=7))
        row.starts_at, row.ends_at, row.last_ends_at = row.starts_at - shift, row.ends_at - shift, row.last_ends_at - shift
        row.repeat_until = row.repeat_until - timedelta(days=shift.days)
        db.session.commit()
        mail.clear()
        assert send_reminders(now) == 1
        assert send_reminders(now + timedelta(hours=1)) == 0
        assert send_reminders(now + timedelta(days=3)) == 0  # no meeting within a day
        assert send_reminders(now + timedelta(days=7)) == 1  # the next week's meeting
    assert len(mail.to(member.email)) == 2
