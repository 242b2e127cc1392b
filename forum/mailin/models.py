"""Mail-in tables: each member's reply-key generation and the log of every received mail."""
from ..extensions import db
from ..models import utcnow

INCOMING_STATUSES = ("received", "posted", "held", "refused", "ignored", "failed")


class MailKey(db.Model):
    """A member's reply addresses: their tokens are signed with `generation`, so a new
    generation (revoking from the settings page) voids every address mailed before.
    No row means generation 0 and reply by mail switched on: sending mail never writes."""

    __tablename__ = "mail_key"

    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    generation = db.Column(db.Integer, nullable=False, default=0)
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    rotated_at = db.Column(db.DateTime)


class IncomingMail(db.Model):
    """One received message: what happened to it and why; the raw message for a limited time."""

    __tablename__ = "incoming_mail"

    id = db.Column(db.Integer, primary_key=True)
    # The same Message-ID twice is the same mail (an MTA retrying, a mail sent to two addresses).
    message_id = db.Column(db.String(255), nullable=False, unique=True)
    sender = db.Column(db.String(254), nullable=False, default="")
    recipient = db.Column(db.String(254), nullable=False, default="")
    subject = db.Column(db.String(255), nullable=False, default="")
    status = db.Column(db.String(10), nullable=False, default="received", index=True)
    reason = db.Column(db.String(40), nullable=False, default="")
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    thread_id = db.Column(db.Integer, db.ForeignKey("thread.id", ondelete="SET NULL"))
    post_id = db.Column(db.Integer, db.ForeignKey("post.id", ondelete="SET NULL"))
    size = db.Column(db.Integer, nullable=False, default=0)
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    answered_at = db.Column(db.DateTime)
    # Kept for MAIL_IN_RAW_DAYS (moderators may open it), then emptied.
    raw = db.Column(db.LargeBinary)
