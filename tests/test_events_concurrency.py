"""Two members taking the last seat at the same moment, through two processes, never exceed
the capacity: one gets the seat, the other the waiting list (SQLite and PostgreSQL)."""
from datetime import datetime, timedelta

from forum import create_app
from forum.events import services
from forum.events.models import Event, Registration
from forum.extensions import db
from forum.models import User
from tests.conftest import run_processes

EVENTS = 25


def _taker(config, user_id, event_ids, errors):
    app = create_app(config)
    try:
        for event_id in event_ids:
            # A POST request context, as in a real request: SQLite begins IMMEDIATE.
            with app.test_request_context(f"/nl/events/{event_id}/register", method="POST"):
                services.register(db.session.get(User, user_id), db.session.get(Event, event_id))
                db.session.remove()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{user_id}: {exc!r}")


def test_two_processes_never_exceed_the_capacity(app, app_config, make_user):
    moderator, first, second = make_user(role="moderator", password=None), make_user(password=None), \
        make_user(password=None)
    starts = (datetime.now() + timedelta(days=30)).replace(hour=19, minute=0, second=0, microsecond=0)
    with app.app_context():
        actor = db.session.get(User, moderator.id)
        event_ids = []
        for n in range(EVENTS):
            event = services.create_event(actor, None, {
                "title": f"Laatste plaats {n}", "kind": "training", "language": "nl", "timezone": "Europe/Amsterdam",
                "starts_at": starts, "ends_at": starts + timedelta(hours=2), "audience": "public", "capacity": 1})
            event_ids.append(event.id)
    config = dict(app_config, RATELIMIT_REGISTRATION=(1000, 600))
    problems, exit_codes = run_processes(_taker, [(config, first.id, event_ids), (config, second.id, event_ids)])
    assert problems == []
    assert exit_codes == [0, 0]
    with app.app_context():
        for event_id in event_ids:
            statuses = sorted(db.session.scalars(db.select(Registration.status).where(
                Registration.event_id == event_id)))
            assert statuses == ["going", "waiting"], (event_id, statuses)
