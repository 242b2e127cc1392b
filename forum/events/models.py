"""Events (assemblies, regional consultations, trainings, webinars) and registrations."""
from ..extensions import db
from ..models import TimestampMixin, utcnow

EVENT_KINDS = ("general_assembly", "regional", "training", "webinar", "information", "other")
EVENT_LANGUAGES = ("nl", "fr", "both")
AUDIENCES = ("public", "members", "provinces")
EVENT_STATUSES = ("scheduled", "cancelled")
REGISTRATION_STATUSES = ("going", "waiting", "cancelled")


class Event(TimestampMixin, db.Model):
    """One meeting. Times are stored as naive UTC with the zone they were planned in, so an
    evening at 19:30 in Brussels stays 19:30 local whatever the clocks do."""

    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    description_html = db.Column(db.Text, nullable=False, default="")
    kind = db.Column(db.String(20), nullable=False, default="other")
    language = db.Column(db.String(4), nullable=False, default="nl")
    # None: the umbrella organises it.
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisation.id"), index=True)
    created_by_id = db.Column(db.Integer, db.ForeignKey("user.id"))
    starts_at = db.Column(db.DateTime, nullable=False, index=True)
    ends_at = db.Column(db.DateTime, nullable=False)
    timezone = db.Column(db.String(40), nullable=False, default="Europe/Amsterdam")
    all_day = db.Column(db.Boolean, nullable=False, default=False)
    venue = db.Column(db.String(200), nullable=False, default="")
    address = db.Column(db.String(300), nullable=False, default="")
    municipality = db.Column(db.String(120), nullable=False, default="")
    province = db.Column(db.String(10), nullable=False, default="", index=True)
    online_url = db.Column(db.String(500), nullable=False, default="")
    # The link is only shown to people registered as going.
    online_private = db.Column(db.Boolean, nullable=False, default=False)
    # "public", "members", or "provinces": then only members of councils in one of the
    # provinces of `audience_provinces` (ISO codes separated by spaces), its organisers and
    # the moderators see it; to everyone else it does not exist (404).
    audience = db.Column(db.String(10), nullable=False, default="public")
    audience_provinces = db.Column(db.String(200), nullable=False, default="")
    capacity = db.Column(db.Integer)
    registration_deadline = db.Column(db.DateTime)
    status = db.Column(db.String(10), nullable=False, default="scheduled", index=True)
    # A member's first events wait for a moderator (AGORA_PREMODERATE_FIRST_EVENTS): until
    # approved only its organisers and the moderators see it, and nobody can register.
    held = db.Column(db.Boolean, nullable=False, default=False, index=True)
    # Repeating (forum/events/repeat.py): "", "weekly", "monthly_weekday" (the 2nd Tuesday),
    # "monthly_date" (the 12th); until a local date; skipped local dates ("2027-01-12 2027-02-09").
    repeat = db.Column(db.String(16), nullable=False, default="")
    repeat_until = db.Column(db.Date)
    repeat_skip = db.Column(db.Text, nullable=False, default="")
    # The end of the last meeting (naive UTC; ends_at for a single event): lists ask for it.
    last_ends_at = db.Column(db.DateTime, nullable=False, index=True)
    # iCalendar SEQUENCE: raised on every change so calendars replace their copy.
    sequence = db.Column(db.Integer, nullable=False, default=0)

    # Optional theme (a forum theme: poverty, youth care, ...): a filter on the events pages.
    theme_id = db.Column(db.Integer, db.ForeignKey("theme.id", ondelete="SET NULL"), index=True)
    theme = db.relationship("Theme")
    # The `ref` it was imported with (forum import): importing the same file again skips it.
    import_ref = db.Column(db.String(80), unique=True)
    # The event's discussion thread (kind "event"): questions before, minutes and slides after.
    thread_id = db.Column(db.Integer, db.ForeignKey("thread.id", ondelete="SET NULL"))
    thread = db.relationship("Thread")

    organisation = db.relationship("Organisation")
    created_by = db.relationship("User")
    registrations = db.relationship("Registration", back_populates="event", cascade="all, delete-orphan",
                                    order_by="Registration.joined_at, Registration.id")

    @property
    def is_cancelled(self):
        return self.status == "cancelled"

    @property
    def province_codes(self):
        return [code for code in self.audience_provinces.split() if code]

    @property
    def last_starts_at(self):
        """When the last meeting starts (the only one of a single event)."""
        return self.last_ends_at - (self.ends_at - self.starts_at)

    @property
    def is_past(self):
        return self.last_ends_at < utcnow()

    def __repr__(self):
        return f"<Event {self.id} {self.title!r}>"


class Registration(TimestampMixin, db.Model):
    """A member's answer to an event: going, on the waiting list, or cancelled."""

    __table_args__ = (db.UniqueConstraint("event_id", "user_id"),)

    id = db.Column(db.Integer, primary_key=True)
    event_id = db.Column(db.Integer, db.ForeignKey("event.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    status = db.Column(db.String(10), nullable=False, default="going")
    note = db.Column(db.Text, nullable=False, default="")
    # Whether other members may see this person's name on the participant list.
    listed = db.Column(db.Boolean, nullable=False, default=False)
    # Place in the queue: set each time the person (re)joins, so the waiting list is fair.
    joined_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # Set when the reminder the day before went out (claimed first, so it goes out once).
    reminded_at = db.Column(db.DateTime)

    event = db.relationship("Event", back_populates="registrations")
    user = db.relationship("User")


class CalendarToken(db.Model):
    """A member's secret calendar-feed address: only its SHA-256 is stored, so the address
    is shown once when made; making a new one or revoking it ends the old one."""

    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    used_at = db.Column(db.DateTime)

    user = db.relationship("User")
