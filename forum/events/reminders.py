"""Reminders the day before an event, sent by the job process (forum/jobs/runner.py)."""
import logging
from datetime import timedelta

from flask_babel import gettext as _

from ..extensions import db
from ..models import User, utcnow
from .models import Event, Registration
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
    due = db.session.execute(
        db.select(Registration.id).join(Event).join(User, User.id == Registration.user_id).where(
            Registration.status == "going", Registration.reminded_at.is_(None), Event.status == "scheduled",
            Event.starts_at > now, Event.starts_at <= now + REMIND_BEFORE,
            User.status == "active", User.deleted_at.is_(None), User.notify_mode != "never",
        ).order_by(Registration.id)
    ).scalars().all()
    sent = 0
    for registration_id in due:
        claimed = db.session.execute(
            db.update(Registration).where(Registration.id == registration_id, Registration.reminded_at.is_(None))
            .values(reminded_at=now)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        registration = db.session.get(Registration, registration_id)
        event = registration.event
        _send(event, registration.user, "events_reminder", lambda e=event: _("Reminder: %(title)s", title=e.title))
        sent += 1
    return sent
