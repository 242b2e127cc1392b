"""Daily and weekly digest mails: never twice for one member and period.

Claiming the period (a DigestSent row under its unique constraint) and marking the
notifications as mailed happen in one transaction before the mail leaves, so two runs
at the same time, or a second run later, find the period taken and send nothing. If
the mail server refuses, the claim is undone so that a later run tries again.
"""
import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import DigestSent, Notification, Post, Theme, Thread, User, Watch, utcnow
from ..permissions import can_read_thread
from ..transactions import end_read
from .clock import PERIODS, period_key

log = logging.getLogger(__name__)

DIGEST_KINDS = ("practice", "initiative")  # new ones in followed themes are worth a mention
MAX_ITEMS = 50


@dataclass
class DigestReport:
    period: str
    key: str
    sent: int = 0
    empty: int = 0
    already: int = 0
    failed: int = 0


def send_digests(period, key=None):
    """Send the `period` ("daily"/"weekly") digest to every member who chose it. Idempotent."""
    if period not in PERIODS:
        raise ValueError(period)
    key = key or period_key(period)
    report = DigestReport(period, key)
    done = db.select(DigestSent.user_id).where(DigestSent.period == period, DigestSent.period_key == key)
    user_ids = db.session.scalars(
        db.select(User.id).where(User.notify_mode == period, User.status == "active",
                                 User.deleted_at.is_(None), User.id.not_in(done)).order_by(User.id)
    ).all()
    end_read()  # each member gets their own transaction below
    for user_id in user_ids:
        outcome = send_digest(user_id, period, key)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def send_digest(user_id, period, key):
    """One member's digest; returns "sent", "empty", "already" or "failed"."""
    now = utcnow()
    claim = _claim(user_id, period, key, now)
    if claim is None:
        return "already"
    user = db.session.get(User, user_id)
    if user is None or user.status != "active" or user.notify_mode != period or user.deleted_at is not None:
        db.session.commit()
        return "empty"
    since = _since(user_id, period, claim, now)
    notifications = _notifications(user, since)
    new_threads = _new_in_followed_themes(user, since)
    from ..events.queries import new_in_province

    events = new_in_province(user, since, now)
    if not notifications and not new_threads and not events:
        db.session.commit()  # the period is done for this member: nothing to tell
        return "empty"
    ids = [n.id for n in notifications]
    for n in notifications:
        n.emailed_at = now
    db.session.commit()  # claim and "mailed" markers are durable before the mail leaves

    if _send(user, period, notifications, new_threads, events):
        return "sent"
    # Nothing left: give the period back so the next run tries again.
    db.session.execute(db.delete(DigestSent).where(DigestSent.id == claim.id))
    if ids:
        db.session.execute(db.update(Notification).where(Notification.id.in_(ids)).values(emailed_at=None))
    db.session.commit()
    return "failed"


def _claim(user_id, period, key, now):
    row = DigestSent(user_id=user_id, period=period, period_key=key, created_at=now)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    return row


def _since(user_id, period, claim, now):
    """From the previous digest of this kind, but never further back than two periods."""
    previous = db.session.scalar(
        db.select(db.func.max(DigestSent.created_at)).where(
            DigestSent.user_id == user_id, DigestSent.period == period, DigestSent.id != claim.id)
    )
    floor = now - 2 * PERIODS[period]
    if previous is None or previous < floor:
        return now - PERIODS[period]
    return previous


def _notifications(user, since):
    rows = db.session.scalars(
        db.select(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None),
            Notification.emailed_at.is_(None), Notification.created_at >= since,
        ).order_by(Notification.created_at).limit(MAX_ITEMS)
    ).all()
    kept = []
    for n in rows:
        # Only what the member may still read: threads can be hidden or moved since.
        if n.thread is not None and not can_read_thread(user, n.thread):
            continue
        if n.post_id is not None:
            post = db.session.get(Post, n.post_id)
            if post is None or post.status != "visible":
                continue
        kept.append(n)
    return kept


def _new_in_followed_themes(user, since):
    theme_ids = db.select(Watch.theme_id).where(Watch.user_id == user.id, Watch.theme_id.is_not(None),
                                                Watch.thread_id.is_(None))
    opening_visible = db.select(Post.id).where(Post.thread_id == Thread.id, Post.number == 1,
                                               Post.status == "visible").exists()
    threads = db.session.scalars(
        db.select(Thread).where(
            Thread.theme_id.in_(theme_ids), Thread.kind.in_(DIGEST_KINDS), Thread.status == "visible",
            Thread.created_at >= since, opening_visible,
            # Already told in the app (read or not): the digest lists notifications for that.
            ~db.select(Notification.id).where(Notification.user_id == user.id,
                                              Notification.thread_id == Thread.id).exists(),
            (Thread.author_id.is_(None)) | (Thread.author_id != user.id),
        ).order_by(Thread.created_at).limit(MAX_ITEMS)
    ).all()
    return [t for t in threads if can_read_thread(user, t)]


def _send(user, period, notifications, new_threads, events=()):
    from auth.mail import send_mail

    from ..mailin.addresses import reply_address
    from ..mailin.outgoing import reply_notice
    from ..threads.notifications import external_url, unsubscribe_headers, unsubscribe_token

    lang = user.locale if user.locale in ("nl", "fr") else "nl"
    unsubscribe = external_url("threads.unsubscribe", token=unsubscribe_token(user), lang=lang)
    items = []
    for n in notifications:
        if n.post_id is not None:
            link = external_url("threads.post", post_id=n.post_id, lang=lang)
        elif n.thread_id is not None:
            link = external_url("threads.thread", thread_id=n.thread_id, lang=lang)
        else:
            link = external_url("threads.notifications", lang=lang)
        items.append({"n": n, "link": link,
                      "reply_address": reply_address(user, n.thread) if n.thread is not None else None})
    themes = {t.id: t for t in db.session.scalars(
        db.select(Theme).where(Theme.id.in_({t.theme_id for t in new_threads})))} if new_threads else {}
    new_items = [{"thread": t, "theme": themes.get(t.theme_id), "reply_address": reply_address(user, t),
                  "link": external_url("threads.thread", thread_id=t.id, lang=lang)} for t in new_threads]
    from ..events.services import when_text

    event_items = [{"event": e, "when": when_text(e, lang),
                    "link": external_url("events.event", event_id=e.id, lang=lang)} for e in events]
    subject = (lambda: _("Your daily Agora digest")) if period == "daily" else (lambda: _("Your weekly Agora digest"))
    return send_mail(
        user.email, "digest", lang, subject=subject,
        headers={**unsubscribe_headers(user, lang), "Auto-Submitted": "auto-generated"},
        user=user, period=period, items=items, new_items=new_items, event_items=event_items,
        notifications_url=external_url("threads.notifications", lang=lang),
        settings_url=external_url("auth.settings", lang=lang), unsubscribe_url=unsubscribe,
        reply_notice=reply_notice(lang, digest=True),
    )
