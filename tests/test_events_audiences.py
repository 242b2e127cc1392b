"""Events through HTTP, the parts built on the first version: audiences by province, members'
first events held for review, the private online link in the API, the personal calendar feed,
.ics attachments on registration, change and cancellation mails, and the home page's Agenda."""
import json
import re
from datetime import timedelta

import pytest
from icalendar import Calendar

from forum.events.models import Event
from forum.extensions import db
from tests.conftest import as_member, html, login, shows, tr
from tests.test_events import FUTURE, _local, event_form, make_event  # noqa: F401  (fixture)


def _calendar_parts(msg):
    """The text/calendar attachments of a mail, parsed back, with their METHOD parameter."""
    found = []
    for part in msg.iter_attachments():
        if part.get_content_type() == "text/calendar":
            found.append((part.get_param("method"), Calendar.from_ical(part.get_payload(decode=True))))
    return found


# -- audiences by province -----------------------------------------------------------------

@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_a_province_event_is_seen_only_by_councils_of_that_province(app, client, make_user, make_org, make_event,
                                                                    lang):
    event = make_event(title="Overleg Utrechtse raden", audience="provinces", audience_provinces=["NL-UT"],
                       province="NL-UT")
    inside = as_member(app, make_user(organisation=make_org(province="NL-UT")), lang=lang)
    outside = as_member(app, make_user(organisation=make_org(province="BE-WLG", country="BE")), lang=lang)

    page = inside.get(f"/{lang}/events/{event.id}")
    assert page.status_code == 200 and "Overleg Utrechtse raden" in html(page)
    assert shows(app, html(page), "Members of councils in: %(provinces)s", lang,
                 provinces="Utrecht")
    assert "Overleg Utrechtse raden" in html(inside.get(f"/{lang}/events"))
    assert json.loads(inside.get("/api/v1/events").data)["total"] == 1

    for c in (outside, client):  # another province's member, a visitor: as if it did not exist
        assert c.get(f"/{lang}/events/{event.id}").status_code == 404
        assert c.get(f"/{lang}/events/{event.id}.ics").status_code == 404
        assert "Overleg Utrechtse raden" not in html(c.get(f"/{lang}/events"))
        assert json.loads(c.get("/api/v1/events").data)["total"] == 0
    assert outside.post_form(f"/{lang}/events/{event.id}/register", {}).status_code == 404
    assert "Overleg Utrechtse raden" not in client.get("/nl/events.ics").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_a_province_audience_needs_a_province(app, client, make_user, lang):
    login(client, make_user(role="moderator"), lang=lang)
    response = client.post_form(f"/{lang}/events/new", event_form(audience="provinces"))
    assert response.status_code == 400
    error = html(response).split('id="audience_provinces-error">', 1)[1].split("</p>", 1)[0]
    assert shows(app, error, "Choose at least one province whose councils may see the event.", lang)
    assert "Agenda:" in html(response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Event.id))) == 0
    form = event_form(audience="provinces")
    form["audience_provinces"] = ["NL-UT", "NL-GE"]
    assert client.post_form(f"/{lang}/events/new", form).status_code == 302
    with app.app_context():
        assert db.session.scalars(db.select(Event)).one().audience_provinces == "NL-GE NL-UT"


# -- members' first events wait for a moderator --------------------------------------------

@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_a_members_first_event_is_held_until_a_moderator_publishes_it(app, client, make_user, make_org, mail,
                                                                      lang):
    app.config["PREMODERATE_FIRST_EVENTS"] = 1
    org = make_org()
    planner = make_user(organisation=org, locale=lang)
    login(client, planner, lang=lang)
    created = client.post_form(f"/{lang}/events/new", event_form(organisation=str(org.id), title="Infoavond Wmo"))
    assert created.status_code == 302
    with app.app_context():
        event = db.session.scalars(db.select(Event)).one()
        assert event.held is True
    page = html(client.get(created.headers["Location"]))
    assert shows(app, page, "This event is waiting for a moderator. Until it is published only its organisers "
                            "and the moderators see it.", lang)

    other = as_member(app, make_user(), lang=lang)
    visitor = app.test_client()
    for c in (other, visitor):
        assert c.get(f"/{lang}/events/{event.id}").status_code == 404
        assert "Infoavond Wmo" not in html(c.get(f"/{lang}/"))
    assert other.post_form(f"/{lang}/events/{event.id}/approve", {}).status_code == 403

    moderator = as_member(app, make_user(role="moderator"), lang=lang)
    queue = html(moderator.get(f"/{lang}/mod/"))
    assert f'id="held-event-{event.id}"' in queue and "Infoavond Wmo" in queue
    assert moderator.post_form(f"/{lang}/events/{event.id}/approve", {}).status_code == 302
    assert other.get(f"/{lang}/events/{event.id}").status_code == 200
    notice = mail.last(planner.email)
    assert notice["Subject"] == tr(app, "Published: %(title)s", lang, title="Infoavond Wmo")
    assert f'id="held-event-{event.id}"' not in html(moderator.get(f"/{lang}/mod/"))

    # The second event of the same member is published at once (the setting says one).
    second = client.post_form(f"/{lang}/events/new", event_form(organisation=str(org.id), title="Tweede avond"))
    assert second.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(Event).where(Event.title == "Tweede avond")).held is False


def test_a_refused_event_is_deleted_and_its_planner_told(app, client, make_user, make_org, mail):
    app.config["PREMODERATE_FIRST_EVENTS"] = 2
    org = make_org()
    planner = make_user(organisation=org)
    login(client, planner)
    client.post_form("/nl/events/new", event_form(organisation=str(org.id), title="Reclame-avond"))
    with app.app_context():
        event_id = db.session.scalars(db.select(Event)).one().id
    assert client.post_form(f"/nl/events/{event_id}/register", {}).status_code == 302
    with app.app_context():  # nobody registers for an event waiting for review
        assert db.session.get(Event, event_id).registrations == []
    moderator = as_member(app, make_user(role="moderator"))
    assert moderator.post_form(f"/nl/events/{event_id}/refuse", {}).status_code == 302
    with app.app_context():
        assert db.session.get(Event, event_id) is None
    assert mail.last(planner.email)["Subject"] == tr(app, "Not published: %(title)s", title="Reclame-avond")
    with app.app_context():
        from forum.models import ModerationAction

        entry = db.session.scalars(db.select(ModerationAction).where(ModerationAction.action == "refuse_event")).one()
        assert entry.target_id == event_id and entry.details["title"] == "Reclame-avond"


# -- the private online link, in the API too -----------------------------------------------

def test_the_api_gives_a_private_link_only_to_people_going(app, make_user, make_event):
    event = make_event(online_url="https://meet.example.org/geheim", online_private=True)
    member = as_member(app, make_user())
    item = json.loads(member.get("/api/v1/events").data)["results"][0]
    assert item["online"] is True and "online_url" not in item
    member.post_form(f"/nl/events/{event.id}/register", {})
    item = json.loads(member.get("/api/v1/events").data)["results"][0]
    assert item["online_url"] == "https://meet.example.org/geheim"
    assert "geheim" in member.get(f"/nl/events/{event.id}.ics").get_data(as_text=True)
    assert "geheim" not in app.test_client().get(f"/nl/events/{event.id}.ics").get_data(as_text=True)


# -- the personal calendar feed ------------------------------------------------------------

def _feed_url(response):
    match = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', html(response))
    assert match, html(response)[:3000]
    return match.group(1).replace("http://agora.test", "")


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_personal_feed_has_my_events_and_my_province_and_can_be_revoked(app, make_user, make_org, make_event,
                                                                        lang):
    member = make_user(organisation=make_org(province="NL-GE"))
    c = as_member(app, member, lang=lang)
    mine = make_event(title="Ingeschreven", province="NL-UT")
    nearby = make_event(title="In Gelderland", province="NL-GE", audience="members")
    make_event(title="Ver weg", province="BE-WLG")
    c.post_form(f"/{lang}/events/{mine.id}/register", {})

    assert shows(app, html(c.get(f"/{lang}/events/calendar")), "Make my calendar address", lang)
    made = c.post_form(f"/{lang}/events/calendar", {})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    assert 'href="webcal://agora.test/' in html(made)
    url = _feed_url(made)
    assert url.startswith(f"/{lang}/events/feed/") and url.endswith(".ics")

    feed = app.test_client().get(url)  # no cookie: the address is the key
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert "no-store" in feed.headers["Cache-Control"]
    summaries = {str(v["summary"]) for v in Calendar.from_ical(feed.data).walk("VEVENT")}
    assert summaries == {"Ingeschreven", "In Gelderland"}
    with app.app_context():
        from forum.events.models import CalendarToken

        stored = db.session.get(CalendarToken, member.id).token_hash
        assert stored not in url and len(stored) == 64  # only the hash is kept

    # A new address ends the old one; stopping ends every address.
    newer = _feed_url(c.post_form(f"/{lang}/events/calendar", {}))
    assert app.test_client().get(url).status_code == 404
    assert app.test_client().get(newer).status_code == 200
    assert c.post_form(f"/{lang}/events/calendar/revoke", {}).status_code == 302
    assert app.test_client().get(newer).status_code == 404
    assert app.test_client().get(f"/{lang}/events/feed/made-up-token.ics").status_code == 404


def test_a_suspended_members_feed_stops(app, make_user, make_event):
    member = make_user()
    c = as_member(app, member)
    url = _feed_url(c.post_form("/nl/events/calendar", {}))
    assert app.test_client().get(url).status_code == 200
    with app.app_context():
        from forum.models import User

        db.session.get(User, member.id).status = "suspended"
        db.session.commit()
    assert app.test_client().get(url).status_code == 404


# -- .ics attachments on registration, change and cancellation -----------------------------

def test_mails_carry_the_event_as_request_then_cancel(app, make_user, make_event, mail):
    event = make_event(title="Regio-overleg; Oost, West", capacity=1)
    first, second = make_user(locale="fr"), make_user()
    a, b = as_member(app, first, lang="fr"), as_member(app, second)

    a.post_form(f"/fr/events/{event.id}/register", {})
    registered = mail.last(first.email)
    assert registered["Content-Language"] == "fr"
    assert registered["Subject"] == tr(app, "Registered: %(title)s", "fr", title="Regio-overleg; Oost, West")
    [(method, cal)] = _calendar_parts(registered)
    assert method == "REQUEST" and str(cal["method"]) == "REQUEST"
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["summary"]) == "Regio-overleg; Oost, West"
    assert int(vevent["sequence"]) == 0
    assert str(vevent["attendee"]) == f"mailto:{first.email}"
    assert vevent["attendee"].params["PARTSTAT"] == "ACCEPTED"
    assert str(vevent["organizer"]).startswith("mailto:")
    assert vevent["dtstart"].dt.tzinfo is not None and vevent["dtstart"].dt.hour == 19

    b.post_form(f"/nl/events/{event.id}/register", {})  # full: waiting, so no calendar file
    waiting = mail.last(second.email)
    assert waiting["Subject"] == tr(app, "Waiting list: %(title)s", title="Regio-overleg; Oost, West")
    assert _calendar_parts(waiting) == []

    moderator = as_member(app, make_user(role="moderator"))
    later = FUTURE + timedelta(days=1)
    form = event_form(title="Regio-overleg; Oost, West", starts_at=_local(later),
                      ends_at=_local(later + timedelta(hours=2)), capacity="1")
    assert moderator.post_form(f"/nl/events/{event.id}/edit", form).status_code == 302
    changed = mail.last(first.email, after=registered)
    [(method, cal)] = _calendar_parts(changed)
    [vevent] = cal.walk("VEVENT")
    assert method == "REQUEST" and int(vevent["sequence"]) == 1
    assert vevent["dtstart"].dt.date() == later.date()
    assert str(vevent["uid"]) == f"event-{event.id}@agora.test"

    a.post_form(f"/fr/events/{event.id}/unregister", {})
    gone = [m for m in mail.to(first.email) if _calendar_parts(m) and _calendar_parts(m)[0][0] == "CANCEL"]
    assert len(gone) == 1
    [(method, cal)] = _calendar_parts(gone[0])
    assert str(cal.walk("VEVENT")[0]["status"]) == "CANCELLED"
    promoted = mail.last(second.email, after=waiting)
    assert [m for m, _c in _calendar_parts(promoted)] == ["REQUEST"]

    moderator.post_form(f"/nl/events/{event.id}/cancel", {})
    cancelled = mail.last(second.email, after=promoted)
    [(method, cal)] = _calendar_parts(cancelled)
    [vevent] = cal.walk("VEVENT")
    assert method == "CANCEL" and str(vevent["status"]) == "CANCELLED" and int(vevent["sequence"]) == 2


# -- the Agenda box on the home page -------------------------------------------------------

@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_home_page_agenda_shows_the_next_events_the_reader_may_see(app, client, make_user, make_event, lang):
    page = html(client.get(f"/{lang}/"))
    assert shows(app, page, "Agenda", lang) and shows(app, page, "No events planned at the moment.", lang)
    make_event(title="Open infoavond")
    make_event(title="Besloten ledenoverleg", audience="members")
    page = html(client.get(f"/{lang}/"))
    assert "Open infoavond" in page and "Besloten ledenoverleg" not in page
    member = as_member(app, make_user(), lang=lang)
    assert "Besloten ledenoverleg" in html(member.get(f"/{lang}/"))


# -- the discussion thread of an event, in search as the kind "event" ----------------------

@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_an_event_gets_a_discussion_thread_that_search_finds_as_kind_event(app, client, runner, make_user,
                                                                           make_theme, lang):
    public = make_theme(visibility="public")
    members = make_theme(visibility="members")
    login(client, make_user(role="moderator"), lang=lang)
    assert 'value="event"' not in html(client.get(f"/{lang}/new"))  # only events open these
    for title, audience in (("Studiedag schuldhulpverlening", "public"), ("Besloten ledenberaad", "members"),
                            ("Provinciaal overleg", "provinces")):
        form = event_form(title=title, audience=audience, description="Over **schuldhulp** en armoede.")
        if audience == "provinces":
            form["audience_provinces"] = ["NL-UT"]
        assert client.post_form(f"/{lang}/events/new", form).status_code == 302
    with app.app_context():
        events = {e.title: e for e in db.session.scalars(db.select(Event))}
        open_event = events["Studiedag schuldhulpverlening"]
        assert open_event.thread.kind == "event" and open_event.thread.theme_id == public.id
        assert events["Besloten ledenberaad"].thread.theme_id == members.id
        assert events["Provinciaal overleg"].thread_id is None  # a theme cannot hide it per province
        thread_id = open_event.thread_id
        event_id = open_event.id
    page = html(client.get(f"/{lang}/events/{event_id}"))
    assert shows(app, page, "Questions, minutes and slides", lang)
    visitor = app.test_client()
    topic = html(visitor.get(f"/{lang}/t/{thread_id}"))
    assert "Studiedag schuldhulpverlening" in topic and f"/events/{event_id}" in topic

    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0, result.output
    data = visitor.get("/api/v1/search", query_string={"q": "schuldhulp"}).get_json()
    facets = {f["value"]: f["count"] for f in data["facets"]["kind"]}
    assert facets == {"event": 1}  # the members' thread is not counted for a visitor
    only = visitor.get("/api/v1/search", query_string={"q": "schuldhulp", "kind": "event"}).get_json()
    assert [r["title"] for r in only["results"]] == ["Studiedag schuldhulpverlening"]
    search_page = html(visitor.get(f"/{lang}/search?q=schuldhulp"))
    assert shows(app, search_page, "Event", lang)


def test_a_held_event_gets_its_thread_when_published(app, client, make_user, make_org, make_theme):
    app.config["PREMODERATE_FIRST_EVENTS"] = 1
    make_theme(visibility="public")
    org = make_org()
    login(client, make_user(organisation=org))
    client.post_form("/nl/events/new", event_form(organisation=str(org.id), title="Eerste infoavond"))
    with app.app_context():
        event = db.session.scalars(db.select(Event)).one()
        assert event.held and event.thread_id is None
    moderator = as_member(app, make_user(role="moderator"))
    moderator.post_form(f"/nl/events/{event.id}/approve", {})
    with app.app_context():
        assert db.session.get(Event, event.id).thread.title == "Eerste infoavond"


# -- the mail digest lists new events of the member's province -----------------------------

@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_the_digest_lists_new_events_in_the_members_province(app, runner, mail, make_user, make_org, make_event,
                                                             lang):
    reader = make_user(notify_mode="weekly", email=f"lezer-{lang}@example.org", locale=lang,
                       organisation=make_org(province="NL-GE"))
    nearby = make_event(title="Regio-overleg Gelderland", province="NL-GE", municipality="Arnhem")
    make_event(title="Overleg in Utrecht", province="NL-UT")
    make_event(title="Alleen voor Utrechtse raden", province="NL-GE", audience="provinces",
               audience_provinces=["NL-UT"])
    result = runner.invoke(args=["jobs", "digest", "weekly"])
    assert result.exit_code == 0, result.output
    msg = mail.last(reader.email)
    body = mail.body(msg)
    assert msg["Content-Language"] == lang
    assert tr(app, "New events in your province", lang) in body
    assert "Regio-overleg Gelderland" in body and "Arnhem" in body
    assert f"http://agora.test/{lang}/events/{nearby.id}" in body
    assert "Overleg in Utrecht" not in body and "Alleen voor Utrechtse raden" not in body


# -- an optional theme, as a filter --------------------------------------------------------

@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_an_event_has_an_optional_theme_to_filter_on(app, client, make_user, make_theme, lang):
    poverty = make_theme(visibility="public", slug="armoede", name_nl="Armoede", name_fr="Pauvreté")
    login(client, make_user(role="moderator"), lang=lang)
    bad = client.post_form(f"/{lang}/events/new", event_form(theme="99999"))
    assert bad.status_code == 400
    error = html(bad).split('id="theme-error">', 1)[1].split("</p>", 1)[0]
    assert shows(app, error, "Choose a theme from the list.", lang)
    assert client.post_form(f"/{lang}/events/new", event_form(title="Armoedeoverleg", theme=str(poverty.id))).status_code == 302
    assert client.post_form(f"/{lang}/events/new", event_form(title="Zonder thema")).status_code == 302
    filtered = html(client.get(f"/{lang}/events?theme=armoede"))
    assert "Armoedeoverleg" in filtered and "Zonder thema" not in filtered
    assert "Zonder thema" in html(client.get(f"/{lang}/events?theme=bestaat-niet"))  # unknown: ignored
    with app.app_context():
        event_id = db.session.scalar(db.select(Event.id).where(Event.title == "Armoedeoverleg"))
    page = html(client.get(f"/{lang}/events/{event_id}"))
    assert ("Pauvreté" if lang == "fr" else "Armoede") in page and "?theme=armoede" in page
