"""Events through HTTP: planning, validation, registration with a waiting list, participant
lists, cancellation mails, the API."""
import json
from datetime import datetime, timedelta

import pytest

from forum.events.models import Event, Registration
from forum.extensions import db
from tests.conftest import as_member, html, login, shows, tr

FUTURE = (datetime.now() + timedelta(days=60)).replace(hour=19, minute=30, second=0, microsecond=0)


def _local(moment):
    return moment.strftime("%Y-%m-%dT%H:%M")


def event_form(**kw):
    values = {
        "organisation": "umbrella", "title": "Algemene ledenvergadering 2027", "kind": "general_assembly",
        "language": "nl", "starts_at": _local(FUTURE), "ends_at": _local(FUTURE + timedelta(hours=2)),
        "timezone": "Europe/Amsterdam", "venue": "Stadhuis", "address": "Markt 1", "municipality": "Utrecht",
        "province": "NL-UT", "online_url": "", "audience": "public", "capacity": "", "registration_deadline": "",
        "description": "Agenda:\n\n1. Jaarverslag\n2. Begroting",
    }
    values.update(kw)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def make_event(app, make_user):
    """An event planned through the service (as a moderator for the umbrella unless given)."""
    from forum.events import services
    from forum.models import Organisation, User

    def make(organiser=None, organisation=None, **kw):
        organiser = organiser or make_user(role="moderator", password=None)
        starts = kw.pop("starts", FUTURE)
        data = {
            "title": "Regionaal overleg", "kind": "regional", "language": "nl", "timezone": "Europe/Amsterdam",
            "starts_at": starts, "ends_at": starts + timedelta(hours=2), "audience": "public", "description": "",
            "province": "NL-UT",
        }
        data.update(kw)
        with app.app_context():
            org = db.session.get(Organisation, organisation.id) if organisation else None
            event = services.create_event(db.session.get(User, organiser.id), org, data)
            db.session.refresh(event)
            db.session.expunge(event)
        return event

    return make


def _events(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(Event.id)))


def _registrations(app, event_id):
    with app.app_context():
        rows = db.session.scalars(db.select(Registration).where(Registration.event_id == event_id)
                                  .order_by(Registration.id)).all()
        return {r.user_id: r.status for r in rows}


# -- planning ------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_moderator_plans_an_umbrella_event_and_everyone_sees_it(app, client, make_user, lang):
    login(client, make_user(role="moderator"), lang=lang)
    response = client.post_form(f"/{lang}/events/new", event_form())
    assert response.status_code == 302, html(response)[:3000]
    page = client.get(response.headers["Location"])
    assert "Algemene ledenvergadering 2027" in html(page)
    assert "<li>Jaarverslag</li>" in html(page)  # Markdown rendered
    with app.app_context():
        event = db.session.scalars(db.select(Event)).one()
        assert event.organisation_id is None and event.province == "NL-UT"
        # 19:30 in Amsterdam stored as UTC (winter: -1 h, summer: -2 h).
        assert event.starts_at.minute == 30 and event.starts_at.hour in (17, 18)
    anonymous = app.test_client()
    assert "Algemene ledenvergadering 2027" in html(anonymous.get(f"/{lang}/events"))


def test_member_plans_for_their_own_council_but_not_for_the_umbrella(app, client, make_user, make_org):
    org = make_org(country="BE", language="fr", province="BE-WLG")
    member = make_user(organisation=org)
    login(client, member)
    form_page = html(client.get("/nl/events/new"))
    assert 'value="umbrella"' not in form_page
    assert '<option selected value="Europe/Brussels">' in form_page  # from the council's country
    refused = client.post_form("/nl/events/new", event_form(organisation="umbrella"))
    assert refused.status_code == 400 and _events(app) == 0
    ok = client.post_form("/nl/events/new", event_form(organisation=str(org.id), timezone="Europe/Brussels",
                                                       province="BE-WLG"))
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.scalars(db.select(Event)).one().organisation_id == org.id


def test_silenced_members_and_visitors_cannot_plan(app, client, make_user):
    assert client.get("/nl/events/new").status_code == 302  # sign in first
    login(client, make_user(silenced_until=datetime.utcnow() + timedelta(days=3)))
    assert client.get("/nl/events/new").status_code == 403
    assert client.post_form("/nl/events/new", event_form()).status_code == 403
    assert _events(app) == 0


@pytest.mark.parametrize("field,value,msgid", [
    ("ends_at", _local(FUTURE - timedelta(hours=1)), "The event cannot end before it starts."),
    ("starts_at", _local(datetime.now() - timedelta(days=2)), "A new event cannot start in the past."),
    ("online_url", "javascript:alert(1)", "Enter a secure web address starting with https://."),
    ("online_url", "http://example.org/webinar", "Enter a secure web address starting with https://."),
    ("capacity", "0", "Enter a number of seats of 1 or more, or leave it empty."),
    ("title", "", "Give the event a title."),
])
@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_bad_input_gets_a_message_next_to_the_field_and_saves_nothing(app, client, make_user, field, value, msgid,
                                                                      lang):
    login(client, make_user(role="moderator"), lang=lang)
    data = event_form(**{field: value})
    if field == "starts_at":
        data["ends_at"] = _local(datetime.now() - timedelta(days=2) + timedelta(hours=2))
    response = client.post_form(f"/{lang}/events/new", data)
    page = html(response)
    assert response.status_code == 400
    assert f'id="{field}-error"' in page
    error = page.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert tr(app, msgid, lang) in error or shows(app, error, msgid, lang)
    assert "Agenda:" in page  # the text typed is kept
    assert _events(app) == 0


def test_unknown_province_and_huge_description_are_refused(app, client, make_user):
    login(client, make_user(role="moderator"))
    response = client.post_form("/nl/events/new", event_form(province="XX-ZZ"))
    assert response.status_code == 400 and 'id="province-error"' in html(response)
    # Above the site's request limit (1 MB) the translated 413 page answers, without echoing it.
    huge = client.post_form("/nl/events/new", event_form(description="x" * (2 * 1024 * 1024)))
    assert huge.status_code == 413 and shows(app, html(huge), "Too large") and len(html(huge)) < 50_000
    # Under it, a description above its own limit is a message next to the field, text kept.
    long = client.post_form("/nl/events/new", event_form(description="Agenda " + "y" * 30_000))
    assert long.status_code == 400 and 'id="description-error"' in html(long) and "y" * 30_000 in html(long)
    assert _events(app) == 0


def test_a_time_skipped_by_summer_time_is_refused(app, client, make_user):
    # The last Sunday of March at 02:30 does not exist in Amsterdam.
    year = datetime.now().year + 1
    day = max(d for d in (datetime(year, 3, n) for n in range(25, 32)) if d.weekday() == 6)
    login(client, make_user(role="moderator"))
    response = client.post_form("/nl/events/new", event_form(
        starts_at=f"{day:%Y-%m-%d}T02:30", ends_at=f"{day:%Y-%m-%d}T04:00"))
    assert response.status_code == 400 and 'id="starts_at-error"' in html(response)
    assert _events(app) == 0


def test_edit_raises_the_sequence_and_refuses_a_capacity_below_the_registered(app, client, make_user, make_event,
                                                                             mail):
    moderator = make_user(role="moderator")
    event = make_event(organiser=moderator, capacity=5)
    members = [make_user() for _ in range(3)]
    for m in members:
        assert as_member(app, m).post_form(f"/nl/events/{event.id}/register", {}).status_code == 302
    login(client, moderator)
    form = event_form(title="Regionaal overleg", kind="regional", capacity="2")
    refused = client.post_form(f"/nl/events/{event.id}/edit", form)
    assert refused.status_code == 400
    assert shows(app, html(refused), "%(count)d people have already registered: the capacity cannot be lower.",
                 count=3)
    moved = FUTURE + timedelta(days=1)
    ok = client.post_form(f"/nl/events/{event.id}/edit", event_form(
        title="Regionaal overleg", kind="regional", capacity="3", starts_at=_local(moved),
        ends_at=_local(moved + timedelta(hours=2))))
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.get(Event, event.id).sequence == 1
    assert mail.last(members[0].email)["Subject"].startswith(tr(app, "Changed: %(title)s", title="x")[:5])


def test_other_members_cannot_edit_or_cancel(app, client, make_user, make_event):
    event = make_event()
    login(client, make_user())
    assert client.get(f"/nl/events/{event.id}/edit").status_code == 403
    assert client.post_form(f"/nl/events/{event.id}/cancel", {}).status_code == 403
    with app.app_context():
        assert db.session.get(Event, event.id).status == "scheduled"


def test_members_only_events_are_hidden_from_visitors(app, client, make_user, make_event):
    event = make_event(audience="members", title="Besloten training")
    assert "Besloten training" not in html(client.get("/nl/events"))
    assert client.get(f"/nl/events/{event.id}").status_code == 404  # as an unknown id
    login(client, make_user())
    assert "Besloten training" in html(client.get("/nl/events"))
    assert client.get(f"/nl/events/{event.id}").status_code == 200


def test_list_filters_by_province_kind_language_and_mine(app, client, make_user, make_event):
    make_event(title="Overleg Utrecht", province="NL-UT", kind="regional")
    liege = make_event(title="Concertation Liège", province="BE-WLG", kind="regional", language="fr",
                       timezone="Europe/Brussels")
    make_event(title="Webinar participatie", province="", kind="webinar", language="both")
    assert "Overleg Utrecht" not in html(client.get("/nl/events?province=BE-WLG"))
    assert "Concertation Liège" in html(client.get("/nl/events?province=BE-WLG"))
    by_kind = html(client.get("/nl/events?kind=webinar"))
    assert "Webinar participatie" in by_kind and "Overleg Utrecht" not in by_kind
    french = html(client.get("/fr/events?language=fr"))
    assert "Concertation Liège" in french and "Webinar participatie" in french and "Overleg Utrecht" not in french
    member = make_user()
    login(client, member)
    client.post_form(f"/nl/events/{liege.id}/register", {})
    mine = html(client.get("/nl/events?mine=1"))
    assert "Concertation Liège" in mine and "Overleg Utrecht" not in mine


# -- registration --------------------------------------------------------------------------

def test_full_event_puts_people_on_a_waiting_list_and_promotes_with_a_mail(app, make_user, make_event, mail):
    event = make_event(capacity=1)
    first, second = make_user(), make_user(locale="fr")
    a, b = as_member(app, first), as_member(app, second, lang="fr")
    a.post_form(f"/nl/events/{event.id}/register", {"note": "Ik neem een collega mee?", "listed": "y"})
    page = html(b.get(f"/fr/events/{event.id}"))
    assert shows(app, page, "Join the waiting list", "fr")
    b.post_form(f"/fr/events/{event.id}/register", {})
    assert _registrations(app, event.id) == {first.id: "going", second.id: "waiting"}
    assert shows(app, html(b.get(f"/fr/events/{event.id}")), "You are on the waiting list.", "fr")
    a.post_form(f"/nl/events/{event.id}/unregister", {})
    assert _registrations(app, event.id) == {first.id: "cancelled", second.id: "going"}
    promoted = mail.last(second.email)
    assert promoted["Content-Language"] == "fr"
    assert f"/fr/events/{event.id}" in mail.body(promoted)


def test_registration_closes_at_the_deadline(app, make_user, make_event):
    event = make_event(registration_deadline=datetime.now() + timedelta(days=1))
    member = make_user()
    with app.app_context():
        db.session.get(Event, event.id).registration_deadline = datetime.utcnow() - timedelta(minutes=1)
        db.session.commit()
    c = as_member(app, member)
    page = html(c.get(f"/nl/events/{event.id}"))
    assert shows(app, page, "Registration is closed.")
    response = c.post_form(f"/nl/events/{event.id}/register", {}, follow_redirects=True)
    assert shows(app, html(response), "Registration for this event is closed.")
    assert _registrations(app, event.id) == {}


def test_participant_list_shows_only_listed_names_to_members_and_all_to_organisers(app, make_user, make_org,
                                                                                  make_event):
    org = make_org()
    organiser = make_user(organisation=org, name="Organisator")
    event = make_event(organiser=make_user(role="moderator", password=None), organisation=None)
    council_event = make_event(organiser=make_user(role="moderator", password=None), organisation=org)
    listed, hidden = make_user(name="Anna Zichtbaar"), make_user(name="Bert Verborgen")
    for e in (event, council_event):
        as_member(app, listed).post_form(f"/nl/events/{e.id}/register", {"listed": "y"})
        as_member(app, hidden).post_form(f"/nl/events/{e.id}/register", {"note": "Rolstoel, =1+1"})
    other = html(as_member(app, make_user()).get(f"/nl/events/{event.id}"))
    assert "Anna Zichtbaar" in other and "Bert Verborgen" not in other
    c = as_member(app, organiser)
    page = html(c.get(f"/nl/events/{council_event.id}"))
    assert "Anna Zichtbaar" in page and "Bert Verborgen" in page
    csv_response = c.get(f"/nl/events/{council_event.id}/participants.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    text = csv_response.get_data(as_text=True)
    assert "Bert Verborgen" in text and "'=1+1" not in text and "Rolstoel, =1+1" in text
    assert as_member(app, listed).get(f"/nl/events/{council_event.id}/participants.csv").status_code == 403


def test_cancelling_mails_everyone_registered_in_their_language(app, client, make_user, make_event, mail):
    moderator = make_user(role="moderator")
    event = make_event(organiser=moderator, title="Vorming inspraak")
    dutch, french = make_user(), make_user(locale="fr")
    for person in (dutch, french):
        as_member(app, person).post_form(f"/nl/events/{event.id}/register", {})
    login(client, moderator)
    assert client.post_form(f"/nl/events/{event.id}/cancel", {}).status_code == 302
    with app.app_context():
        assert db.session.get(Event, event.id).status == "cancelled"
    nl_mail, fr_mail = mail.last(dutch.email), mail.last(french.email)
    assert nl_mail["Subject"] == tr(app, "Cancelled: %(title)s", "nl", title="Vorming inspraak")
    assert fr_mail["Subject"] == tr(app, "Cancelled: %(title)s", "fr", title="Vorming inspraak")
    assert "Vorming inspraak" in mail.body(fr_mail)
    assert shows(app, html(client.get(f"/nl/events/{event.id}")), "This event has been cancelled.")


def test_private_online_link_only_for_people_going(app, make_user, make_event):
    event = make_event(online_url="https://meet.example.org/abc", online_private=True)
    member = make_user()
    c = as_member(app, member)
    assert "meet.example.org/abc" not in html(c.get(f"/nl/events/{event.id}"))
    c.post_form(f"/nl/events/{event.id}/register", {})
    assert "meet.example.org/abc" in html(c.get(f"/nl/events/{event.id}"))


# -- API -----------------------------------------------------------------------------------

def test_api_lists_events_the_reader_may_see(app, client, make_user, make_event):
    public = make_event(title="Open webinar", kind="webinar", online_url="https://meet.example.org/x")
    make_event(title="Ledenoverleg", audience="members")
    data = json.loads(client.get("/api/v1/events").data)
    assert data["total"] == 1
    item = data["results"][0]
    assert item["id"] == public.id and item["online"] is True and item["status"] == "scheduled"
    assert item["starts_at"].endswith(("+01:00", "+02:00")) and item["timezone"] == "Europe/Amsterdam"
    assert item["ics_url"].endswith(f"/events/{public.id}.ics")
    login(client, make_user())
    assert json.loads(client.get("/api/v1/events").data)["total"] == 2
    day = FUTURE.date()
    ranged = json.loads(client.get(f"/api/v1/events?from={day}&to={day}&kind=webinar").data)
    assert [r["title"] for r in ranged["results"]] == ["Open webinar"]
    assert json.loads(client.get(f"/api/v1/events?to={day - timedelta(days=1)}").data)["total"] == 0
    bad = client.get("/api/v1/events?from=31-12-2026")
    assert bad.status_code == 400 and "from" in bad.get_json()["error"]["message"] if isinstance(
        bad.get_json().get("error"), dict) else bad.status_code == 400
    assert client.get("/api/v1/events?province=XX").status_code == 400


# -- demo ----------------------------------------------------------------------------------

def test_demo_has_an_assembly_consultations_in_both_countries_a_webinar_and_a_waiting_list(app, runner, client):
    result = runner.invoke(args=["forum", "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        events = db.session.scalars(db.select(Event)).all()
        kinds = [e.kind for e in events]
        assert "general_assembly" in kinds and "webinar" in kinds
        assert {e.timezone for e in events if e.kind == "regional"} == {"Europe/Amsterdam", "Europe/Brussels"}
        full = [e for e in events if e.capacity and any(r.status == "waiting" for r in e.registrations)]
        assert full and all(sum(r.status == "going" for r in e.registrations) == e.capacity for e in full)
        # A council's monthly meeting (a series with a summer break) and a past meeting with minutes.
        series = [e for e in events if e.repeat == "monthly_weekday"]
        assert len(series) == 1 and series[0].repeat_skip and series[0].thread is not None
        past = [e for e in events if e.is_past]
        assert len(past) == 1 and past[0].thread is not None
        from forum.attachments.models import Attachment

        minutes = db.session.scalars(db.select(Attachment).join(Attachment.post).where(
            Attachment.post.has(thread_id=past[0].thread_id))).all()
        assert [a.filename.endswith(".pdf") for a in minutes] == [True]
        past_thread = past[0].thread_id
        ids = [e.id for e in events]
    from forum.demo_content import DEMO_PASSWORD
    login(client, "marieke@agora.example", DEMO_PASSWORD)
    for lang in ("nl", "fr"):
        assert client.get(f"/{lang}/events").status_code == 200
        for event_id in ids:
            assert client.get(f"/{lang}/events/{event_id}").status_code == 200
        assert f"/t/{past_thread}" in html(client.get(f"/{lang}/events?past=1"))  # minutes from the past list


# -- privacy -------------------------------------------------------------------------------

def test_export_has_registrations_and_deletion_gives_the_seat_to_the_next(app, client, make_user, make_event, mail):
    import io
    import zipfile

    event = make_event(capacity=1, title="Vorming met wachtlijst")
    leaving, waiting = make_user(), make_user()
    login(client, leaving)
    client.post_form(f"/nl/events/{event.id}/register", {"note": "Vegetarisch graag"})
    as_member(app, waiting).post_form(f"/nl/events/{event.id}/register", {})
    archive = zipfile.ZipFile(io.BytesIO(client.post_form("/nl/settings/export").data))
    exported = json.loads(archive.read("events.json"))
    assert [(e["event"], e["status"], e["note"]) for e in exported] == [("Vorming met wachtlijst", "going",
                                                                         "Vegetarisch graag")]
    response = client.post_form("/nl/settings/delete", {"mode": "anonymise", "password": "Sterk-wachtwoord-42",
                                                         "confirm": "y"})
    assert response.status_code == 302
    assert _registrations(app, event.id) == {leaving.id: "cancelled", waiting.id: "going"}
    with app.app_context():
        gone = db.session.scalar(db.select(Registration).where(Registration.user_id == leaving.id))
        assert gone.note == ""
    assert mail.last(waiting.email)["Subject"] == tr(app, "You have a seat: %(title)s", title="Vorming met wachtlijst")


def test_planning_and_registering_are_rate_limited(app, client, make_user, make_event):
    app.config.update(RATELIMIT_EVENT=(2, 3600), RATELIMIT_REGISTRATION=(3, 600))
    member = make_user()
    login(client, member)
    own = str(member.organisation_id)
    for n in range(2):
        assert client.post_form("/nl/events/new", event_form(organisation=own, title=f"Avond {n}")).status_code == 302
    refused = client.post_form("/nl/events/new", event_form(organisation=own, title="Avond 3"))
    assert refused.status_code == 429 and "Avond 3" in html(refused)
    assert _events(app) == 2
    event = make_event()
    for _ in range(2):
        client.post_form(f"/nl/events/{event.id}/register", {})
        client.post_form(f"/nl/events/{event.id}/unregister", {})
    page = html(client.get(f"/nl/events/{event.id}"))
    assert shows(app, page, "You have changed your registrations very often. Wait a few minutes and try again.")


def test_past_events_and_the_month_view(app, client, make_event):
    upcoming = make_event(title="Komend overleg")
    with app.app_context():
        old = make_event(title="Vorig overleg")
        row = db.session.get(Event, old.id)
        row.starts_at, row.ends_at = datetime(2025, 3, 4, 18), datetime(2025, 3, 4, 20)
        row.last_ends_at = row.ends_at  # a single event: its only meeting ends the series
        db.session.commit()
    listed = html(client.get("/nl/events"))
    assert "Komend overleg" in listed and "Vorig overleg" not in listed
    past = html(client.get("/nl/events?past=1"))
    assert "Vorig overleg" in past and "Komend overleg" not in past
    march = html(client.get("/fr/events/month?month=2025-03"))
    assert "Vorig overleg" in march and "Komend overleg" not in march
    assert '<time datetime="2025-03-04">mardi 4 mars</time>' in march
    this_month = html(client.get(f"/nl/events/month?month={FUTURE:%Y-%m}"))
    assert "Komend overleg" in this_month and upcoming.title in this_month
    assert client.get("/nl/events/month?month=nonsense").status_code == 200


# -- reminders -----------------------------------------------------------------------------

def test_reminders_go_out_the_day_before_once_in_each_language(app, runner, make_user, make_event, mail):
    from forum.jobs.runner import run_round

    soon = make_event(title="Morgen: regio-overleg", starts=datetime.utcnow() + timedelta(hours=20), capacity=2)
    later = make_event(title="Over drie dagen", starts=datetime.utcnow() + timedelta(days=3))
    dutch, french, quiet, waiting = make_user(), make_user(locale="fr"), make_user(notify_mode="never"), make_user()
    as_member(app, dutch).post_form(f"/nl/events/{soon.id}/register", {})
    as_member(app, french).post_form(f"/fr/events/{soon.id}/register", {})
    with app.app_context():
        db.session.get(Event, soon.id).capacity = 3
        db.session.commit()
    as_member(app, quiet).post_form(f"/nl/events/{soon.id}/register", {})
    as_member(app, waiting).post_form(f"/nl/events/{later.id}/register", {})
    mail.clear()
    subjects = {lang: tr(app, "Reminder: %(title)s", lang, title="Morgen: regio-overleg") for lang in ("nl", "fr")}

    def reminders(user):  # the same round may also send the member's digest (new events nearby)
        return [m for m in mail.to(user.email) if m["Subject"] in subjects.values()]

    assert "event-reminders" in run_round(app, {})
    assert [m["Subject"] for m in reminders(dutch)] == [subjects["nl"]]
    assert [m["Subject"] for m in reminders(french)] == [subjects["fr"]]
    assert reminders(quiet) == [] and reminders(waiting) == []
    result = runner.invoke(args=["events", "remind"])  # a second runner, or a restart: nothing twice
    assert result.exit_code == 0 and "0 reminder(s)" in result.output
    run_round(app, {})
    assert len(reminders(dutch)) == 1 and len(reminders(french)) == 1
