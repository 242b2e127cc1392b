"""An event in headless Chromium against gunicorn: a moderator plans it with one seat, a member
takes the seat, a second member joins the waiting list, the first cancels and the second is
promoted, with a mail carrying the event for their calendar.

Selectors use ids and form actions, never translated text.
"""
import re
from datetime import datetime, timedelta

from icalendar import Calendar

from . import support

MODERATOR = "moderator@agora.example"
FIRST = "henk@agora.example"
SECOND = "fatima@agora.example"


def submit(page, form_selector):
    with page.expect_navigation():
        page.locator(f"{form_selector} [type=submit]").first.click()


def status(server, event_id, email):
    return support.scalar(server, "SELECT r.status FROM registration r JOIN user u ON u.id = r.user_id "
                                  "WHERE r.event_id = ? AND u.email = ?", event_id, email)


def test_register_join_the_waiting_list_and_get_promoted(new_context, live_server, smtp_server):
    server, mailbox = live_server, smtp_server.handler
    day = (datetime.now() + timedelta(days=21)).date()

    # 1. A moderator plans a small training with one seat.
    moderator = new_context().new_page()
    support.sign_in(moderator, MODERATOR)
    moderator.goto("/nl/events/new")
    moderator.fill("#title", "Vorming: notuleren voor adviesraden")
    moderator.select_option("#kind", "training")
    moderator.fill("#starts_at", f"{day}T19:30")
    moderator.fill("#ends_at", f"{day}T21:30")
    moderator.fill("#venue", "Bibliotheek")
    moderator.fill("#municipality", "Amersfoort")
    moderator.select_option("#audience", "members")
    moderator.fill("#capacity", "1")
    moderator.fill("#description", "Oefenen met **korte** verslagen.")
    submit(moderator, "main form[method=post]")
    match = re.search(r"/nl/events/(\d+)$", moderator.url)
    assert match, moderator.url
    event_id = int(match.group(1))
    assert support.csp_violations(moderator) == []

    # 2. The first member takes the seat.
    first = new_context().new_page()
    support.sign_in(first, FIRST)
    first.goto(f"/nl/events/{event_id}")
    submit(first, f"form[action$='/events/{event_id}/register']")
    assert status(server, event_id, FIRST) == "going"
    assert first.locator(f"form[action$='/events/{event_id}/unregister']").count() == 1

    # 3. The second member, in French, finds it full and joins the waiting list.
    second = new_context(locale="fr-BE").new_page()
    support.sign_in(second, SECOND, lang="fr")
    second.goto(f"/fr/events/{event_id}")
    submit(second, f"form[action$='/events/{event_id}/register']")
    assert status(server, event_id, SECOND) == "waiting"
    assert second.locator(f"form[action$='/events/{event_id}/unregister']").count() == 1

    # 4. The first member cancels: the second is promoted and mailed, with the calendar file.
    before = mailbox.to(SECOND)[-1] if mailbox.to(SECOND) else None
    submit(first, f"form[action$='/events/{event_id}/unregister']")
    assert status(server, event_id, FIRST) == "cancelled"
    assert status(server, event_id, SECOND) == "going"
    promoted = mailbox.last(SECOND, timeout=15, after=before)
    attachments = [part for part in promoted.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert len(attachments) == 1 and attachments[0].get_param("method") == "REQUEST"
    [vevent] = Calendar.from_ical(attachments[0].get_payload(decode=True)).walk("VEVENT")
    assert str(vevent["summary"]) == "Vorming: notuleren voor adviesraden"
    assert (vevent["dtstart"].dt.hour, vevent["dtstart"].dt.minute) == (19, 30)
    second.reload()
    assert second.locator(f"form[action$='/events/{event_id}/register']").count() == 0
    assert support.csp_violations(second) == [] and support.dom_problems(second) == []
