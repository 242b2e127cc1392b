"""Account mails: recorded in the request's transaction, composed and sent after the response."""
import logging
from datetime import timedelta

from flask import g, has_request_context

from forum.database import read_phase
from forum.extensions import db
from forum.models import AccountMail, utcnow

from .mail import render_mail, send_rendered

log = logging.getLogger(__name__)

# A claim older than this is taken over (its process died, or sending failed: a retry).
CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_ATTEMPTS = 5
# Mails one web request sends after its response; the job process sends the rest.
AFTER_RESPONSE_BATCH = 10


def queue_mail(kind, address, **data):
    """Record that an account mail of `kind` must go to `address`; it is sent after commit.

    Nothing is looked up or rendered here: "Forgot password" for an unknown address
    writes the same row as for a known one, and the sender finds out which it was.
    """
    db.session.add(AccountMail(kind=kind, address=address, data=data))
    if has_request_context():
        g.account_mail_queued = True


def _due():
    return db.or_(AccountMail.claimed_at.is_(None), AccountMail.claimed_at < utcnow() - CLAIM_TIMEOUT)


def _claim(row_id):
    """Take one row for this process; False when another process was quicker."""
    result = db.session.execute(
        db.update(AccountMail).where(AccountMail.id == row_id, _due())
        .values(claimed_at=utcnow(), attempts=AccountMail.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_queued(limit=100):
    """Compose and send due account mails; returns how many mails went out.

    Safe in several processes at once (each row is claimed first). Rendering reads the
    database; the transaction ends before the mail server is contacted, so SQLite's
    write lock is never held across the network. A row whose mail failed stays claimed
    and is tried again after CLAIM_TIMEOUT, at most MAX_ATTEMPTS times; a process dying
    between sending and deleting means the mail may go out twice, never not at all.
    """
    from .services import compose_account_mail

    with read_phase():  # an empty look (most of them) takes no write lock
        ids = db.session.scalars(db.select(AccountMail.id).where(_due()).order_by(AccountMail.id).limit(limit)).all()
    sent = 0
    for row_id in ids:
        if not _claim(row_id):
            continue
        row = db.session.get(AccountMail, row_id)
        if row is None:
            continue
        try:
            messages = [(m["template"], render_mail(**m)) for m in compose_account_mail(row)]
        except Exception:
            log.exception("could not compose account mail %s (%s)", row_id, row.kind)
            db.session.rollback()
            continue
        attempts = row.attempts
        db.session.commit()
        ok = all([send_rendered(msg, template) for template, msg in messages])
        sent += len(messages) if ok else 0
        if ok or attempts >= MAX_ATTEMPTS:
            if not ok:
                log.error("giving up on account mail %s after %d attempts", row_id, attempts)
            db.session.execute(db.delete(AccountMail).where(AccountMail.id == row_id))
            db.session.commit()
    return sent


def init_app(app):
    """Send what a request queued once its response has gone out (the job process as a fallback)."""
    app.config.setdefault("ACCOUNT_MAIL_AFTER_RESPONSE", True)

    def deliver_after_response():
        # The WSGI server calls this after the body was written: the time the answer
        # takes does not depend on whether a mail is composed and sent.
        with app.app_context():
            try:
                deliver_queued(limit=AFTER_RESPONSE_BATCH)
            except Exception:
                log.exception("sending account mails after the response failed; the job process retries")

    @app.after_request
    def send_account_mails_later(response):
        if g.pop("account_mail_queued", False) and app.config["ACCOUNT_MAIL_AFTER_RESPONSE"]:
            response.call_on_close(deliver_after_response)
        return response
