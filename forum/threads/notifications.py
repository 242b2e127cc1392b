"""Notifications: rows for the in-app list and digests, immediate mail for those who want it."""
import logging
import queue
import threading
import time
from typing import NamedTuple

from flask import current_app, g, has_request_context, url_for
from flask_babel import gettext as _

from ..database import read_phase
from ..extensions import db
from ..markup import plain_text
from ..models import Notification, Post, Thread, User, Watch, utcnow
from ..permissions import can_read_thread, every_member_reads

log = logging.getLogger(__name__)

# Kinds written here; other areas (moderation) may add their own kinds.
KINDS = ("reply", "mention", "accepted", "thanks", "new_thread")
# Thanks are many and small: in-app and digests only, never a mail of their own.
MAIL_KINDS = ("reply", "mention", "accepted", "new_thread")
UNSUBSCRIBE_PURPOSE = "unsubscribe"


def _readers(user_ids, thread):
    """(id, notify_mode) of the members among user_ids who may still read the thread
    (suspended, left, … are skipped)."""
    if not user_ids:
        return []
    members = (User.id.in_(sorted(user_ids)), User.status == "active", User.deleted_at.is_(None))
    if every_member_reads(thread):
        return db.session.execute(db.select(User.id, User.notify_mode).where(*members).order_by(User.id)).all()
    users = db.session.scalars(db.select(User).where(*members).order_by(User.id)).all()
    return [(u.id, u.notify_mode) for u in users if can_read_thread(u, thread)]


class Sent(NamedTuple):
    """A notification just added (what delivering it needs; no ORM object)."""

    id: int
    user_id: int
    kind: str
    thread_id: int
    post_id: int | None
    actor_id: int | None
    mail_now: bool  # its recipient chose a mail at once (checked again when sending)


# Kinds of which a member has at most one unread notification per thread: a later one
# updates it (its post, actor and time) instead of adding a row.
COLLAPSED = ("reply",)


def notify(user_ids, kind, thread, post=None, actor=None, data=None):
    """Add one notification per reader in user_ids (the actor never notifies themself);
    returns them as Sent. One INSERT for all of them: a reply in a busy thread tells every
    watcher, and an ORM object each was most of a reply's notification cost.

    Replies collapse (as in Discourse or GitHub's inbox): a member who has not read their
    reply notification for this thread gets that one moved to the newest reply — its post,
    author and time, in the next digest by its new time — instead of one more row. A busy
    thread otherwise wrote a row per watcher and reply (26 a reply in the load test) inside
    the post's write transaction. Members who chose mail at once keep a row per reply: each
    mail is recorded on its own row (emailed_at), which a row moved meanwhile would mix up."""
    actor_id = actor.id if actor is not None else None
    readers = _readers(set(user_ids) - {actor_id}, thread)
    if not readers:
        return []
    now = utcnow()
    post_id = post.id if post is not None else None
    ids = {}
    collapsed = sorted(user_id for user_id, mode in readers if mode != "immediate") if kind in COLLAPSED else []
    if collapsed:
        moved = (db.update(Notification)
                 .where(Notification.user_id.in_(collapsed),
                        Notification.kind == kind, Notification.thread_id == thread.id,
                        Notification.read_at.is_(None))
                 .values(post_id=post_id, actor_id=actor_id, created_at=now)
                 .returning(Notification.user_id, Notification.id)
                 .execution_options(synchronize_session=False))
        ids = dict(db.session.execute(moved).all())
    rows = [{"user_id": user_id, "kind": kind, "actor_id": actor_id, "thread_id": thread.id,
             "post_id": post_id, "data": dict(data or {}), "created_at": now}
            for user_id, _mode in readers if user_id not in ids]
    # Each reader once, so the rows' ids are matched by member: RETURNING in parameter order
    # (sort_by_parameter_order) made SQLAlchemy send one INSERT per row on SQLite, 40 of
    # them for a reply in a thread 40 members follow; unordered it is one statement.
    if rows:
        ids.update({user_id: i for i, user_id in db.session.execute(
            db.insert(Notification).returning(Notification.id, Notification.user_id), rows)})
    mail = kind in MAIL_KINDS
    return [Sent(ids[user_id], user_id, kind, thread.id, post_id, actor_id, mail and mode == "immediate")
            for user_id, mode in readers]


def notify_thanks(post, actor):
    """Thanks are grouped: an unread thanks notification for the same post is counted up."""
    if post.author_id is None or post.author_id == actor.id:
        return []
    existing = db.session.scalar(
        db.select(Notification).where(
            Notification.user_id == post.author_id, Notification.kind == "thanks",
            Notification.post_id == post.id, Notification.read_at.is_(None),
        )
    )
    if existing is not None:
        data = dict(existing.data or {})
        data["count"] = int(data.get("count", 1)) + 1
        existing.data = data
        existing.actor_id = actor.id
        existing.created_at = utcnow()
        return []
    return notify({post.author_id}, "thanks", post.thread, post=post, actor=actor, data={"count": 1})


def thread_watchers(thread):
    return set(db.session.scalars(db.select(Watch.user_id).where(Watch.thread_id == thread.id)))


def theme_watchers(theme_id):
    return set(db.session.scalars(db.select(Watch.user_id).where(Watch.theme_id == theme_id)))


# -- mail ------------------------------------------------------------------------------

def external_url(endpoint, **values):
    """An absolute address (BASE_URL) for mails, with or without a request."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        with current_app.test_request_context("/"):
            path = url_for(endpoint, **values)
    return current_app.config["BASE_URL"] + path


def unsubscribe_token(user):
    from auth.tokens import make_token

    return make_token(UNSUBSCRIBE_PURPOSE, {"u": user.id})


def unsubscribe_headers(user, lang):
    """List-Unsubscribe headers for a mail to `user` (RFC 2369 link + RFC 8058 one-click)."""
    one_click = external_url("threads.unsubscribe_one_click", token=unsubscribe_token(user), lang=lang)
    return {
        "List-Unsubscribe": f"<{one_click}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def read_unsubscribe_token(token):
    """The user id in an unsubscribe token; raises auth.tokens.TokenInvalid. Never expires:
    an old mail's link must keep working."""
    from auth.tokens import read_token

    data = read_token(UNSUBSCRIBE_PURPOSE, token)
    return int(data["u"])


def _subject(kind, title):
    subjects = {
        "reply": lambda: _("New reply: %(title)s", title=title),
        "mention": lambda: _("You were mentioned: %(title)s", title=title),
        "accepted": lambda: _("Your answer was accepted: %(title)s", title=title),
        "new_thread": lambda: _("New topic: %(title)s", title=title),
    }
    return subjects[kind]


def deliver_immediate(notifications):
    """Mail each notification whose recipient chose immediate mail; call after commit.

    emailed_at is set so that digests skip what was already mailed. A failing mail server
    is logged by send_mail and leaves emailed_at empty (the digest may pick it up).
    """
    notifications = [n for n in notifications if n.mail_now]  # most choose a digest
    if not notifications:
        return  # no transaction at all
    # One statement checks again who still wants a mail now.
    ids = [n.id for n in notifications]
    sent = []
    # Reading and mailing need no write lock: on SQLite a POST's transactions take it at
    # once (forum/database.py), and holding it through SMTP kept every other writer waiting.
    with read_phase():
        due = dict(db.session.execute(
            db.select(Notification.id, User.id).join(User, User.id == Notification.user_id)
            .where(Notification.id.in_(ids), Notification.kind.in_(MAIL_KINDS), Notification.emailed_at.is_(None),
                   User.notify_mode == "immediate", User.status == "active")).all())
        for n, n_id in zip(notifications, ids):
            if n_id in due and _mail_notification(n, db.session.get(User, due[n_id])):
                sent.append(n_id)
    if sent:
        db.session.execute(db.update(Notification).where(Notification.id.in_(sent)).values(emailed_at=utcnow()))
        db.session.commit()


def deliver_soon(notifications):
    """Mail what deliver_immediate would, after commit: in a web worker from a thread of its
    own (NOTIFICATION_MAIL_THREAD, set by gunicorn.conf.py), elsewhere (CLI, jobs, the test
    client) at once. The request that wrote a reply does not wait for the mail server: a
    slow or far one held every reply up, and under the load test the conversation with it
    was a tenth of a worker's capacity. As before, a mail is recorded (emailed_at) only
    once the mail server took it; a worker stopped by gunicorn sends its queue first
    (gunicorn.conf.py worker_exit), one that crashes loses what it had not sent yet (as it
    did between commit and sending when the request sent them)."""
    due = [n for n in notifications if n.mail_now]
    if not due:
        return
    app = current_app._get_current_object()
    if not app.config.get("NOTIFICATION_MAIL_THREAD"):
        deliver_immediate(due)
        return
    sender = app.extensions.get("agora_mail_sender")
    if sender is None or not sender.alive():
        sender = app.extensions["agora_mail_sender"] = MailSender(app)
    sender.put(due)


# How long a worker's mail thread keeps its SMTP connection open for the next batch.
KEEP_SMTP_SECONDS = 5


class MailSender:
    """A worker's thread that sends notification mails queued by its requests, in order."""

    def __init__(self, app):
        self.app = app
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="agora-notification-mail", daemon=True)
        self.thread.start()

    def alive(self):
        return self.thread.is_alive()

    def put(self, notifications):
        self.queue.put(list(notifications))

    def _take(self, timeout=None):
        """The next batch: what is queued, waiting for it (at most `timeout` seconds; None
        when nothing came). Returns (notifications, queue items taken) or None."""
        try:
            batch, taken = list(self.queue.get(timeout=timeout)), 1
        except queue.Empty:
            return None
        while True:  # what queued up meanwhile goes in the same batch
            try:
                batch += self.queue.get_nowait()
                taken += 1
            except queue.Empty:
                return batch, taken

    def _run(self):
        from auth.mail import smtp_session

        while True:
            # One connection for a burst of batches: it stays open while the next batch comes
            # within KEEP_SMTP_SECONDS (connecting, greeting and quitting cost more than a mail).
            taken = self._take()
            with smtp_session():
                while taken is not None:
                    self._send(*taken)
                    taken = self._take(timeout=KEEP_SMTP_SECONDS)

    def _send(self, batch, taken):
        try:
            # A request context of its own: mail links are built as in a request.
            with self.app.test_request_context("/"):
                g.sqlite_write = True  # (forum/database.py: it writes emailed_at)
                try:
                    deliver_immediate(batch)
                except Exception:  # the next batch still goes out; these stay unsent (emailed_at empty)
                    log.exception("notification mails not sent")
                finally:
                    db.session.remove()
        finally:
            for _ in range(taken):
                self.queue.task_done()

    def flush(self, timeout=10):
        """Wait until the queue is sent, at most `timeout` seconds; True when it was."""
        deadline = time.monotonic() + timeout
        with self.queue.all_tasks_done:
            while self.queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.queue.all_tasks_done.wait(remaining)
        return True


def flush_mail(app, timeout=10):
    """Send what this process's mail thread still holds (a worker stopping)."""
    sender = app.extensions.get("agora_mail_sender")
    return sender.flush(timeout) if sender is not None else True


def _mail_notification(n, user):
    """Send one notification (a Sent) to its recipient; True when the mail server took it."""
    from auth.mail import send_mail

    from ..mailin.outgoing import reply_notice, thread_headers

    thread = db.session.get(Thread, n.thread_id)
    post = db.session.get(Post, n.post_id) if n.post_id else None
    lang = user.locale if user.locale in ("nl", "fr") else "nl"
    link = (external_url("threads.post", post_id=post.id, lang=lang) if post is not None
            else external_url("threads.thread", thread_id=thread.id, lang=lang))
    unsubscribe = external_url("threads.unsubscribe", token=unsubscribe_token(user), lang=lang)
    threading, reply_address = thread_headers(user, thread, post, n.kind)
    return send_mail(
        user.email, f"notify_{n.kind}", lang, subject=_subject(n.kind, thread.title),
        headers={**unsubscribe_headers(user, lang), **threading},
        reply_notice=reply_notice(lang) if reply_address else "",
        user=user, notification=n, thread=thread, post=post,
        actor=db.session.get(User, n.actor_id) if n.actor_id else None,
        text=plain_text(post.body_html) if post is not None else "",
        link=link, unsubscribe_url=unsubscribe,
        settings_url=external_url("auth.settings", lang=lang),
    )
