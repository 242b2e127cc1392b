"""Reminders the day before an event, sent by the job process (forum/jobs/runner.py)."""
import logging
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import or_

from ..extensions import db
from ..models import User, utcnow
from .models import Event, Registration
from .repeat import next_occurrence
from .services import _send

log = logging.getLogger(__name__)

# A reminder goes out once the event is less than this far away.
REMIND_BEFORE = timedelta(hours=24)


def send_reminders(now=None):
    """Mail everyone going to an event that starts within a day, once each; returns how many.

    Each reminder is claimed with a conditional UPDATE and committed before the mail, so two
    job runners (or a restart) never send one twice; members who chose to get no mail from
    Agora (notify_mode "never") get none.
    """
    now = now or utcnow()
    wanted = (Registration.status == "going", Event.status == "scheduled", Event.held.is_(False),
              User.status == "active", User.deleted_at.is_(None), User.notify_mode != "never")
    joined = db.select(Registration.id).join(Event).join(User, User.id == Registration.user_id)
    due = [(registration_id, Registration.reminded_at.is_(None)) for registration_id in db.session.execute(
        joined.where(*wanted, Event.repeat == "", Registration.reminded_at.is_(None),
                     Event.starts_at > now, Event.starts_at <= now + REMIND_BEFORE).order_by(Registration.id)
    ).scalars()]
    due += _series_due(joined, wanted, now)
    sent = 0
    for registration_id, unclaimed in due:
        claimed = db.session.execute(
            db.update(Registration).where(Registration.id == registration_id, unclaimed).values(reminded_at=now)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        registration = db.session.get(Registration, registration_id)
        event = registration.event
        _send(event, registration.user, "events_reminder", lambda e=event: _("Reminder: %(title)s", title=e.title))
        sent += 1
    return sent


def _series_due(joined, wanted, now):
    """Registrations for a series whose next meeting starts within a day and who were not
    reminded of it yet: (id, the condition that claims it). A series' reminder is sent once per
    meeting: reminded_at before that meeting's reminder window means an earlier meeting."""
    rows = db.session.execute(
        joined.add_columns(Event.id).where(*wanted, Event.repeat != "", Event.last_ends_at > now)
        .order_by(Registration.id)).all()
    due = []
    for registration_id, event_id in rows:
        start, _end = next_occurrence(db.session.get(Event, event_id), now)
        if now < start <= now + REMIND_BEFORE:
            window = start - REMIND_BEFORE
            due.append((registration_id, or_(Registration.reminded_at.is_(None), Registration.reminded_at < window)))
    return due
