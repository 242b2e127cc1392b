"""Forum services: the only code that creates and changes threads, posts, thanks and watches.

Every public function checks the policy (forum.permissions), validates, writes, adds the
search outbox rows and notifications in the same transaction, commits, and then mails
the notifications of members who want them at once. Views stay thin: they turn a
ForumError into a message next to the right field.

How other areas take part:
- New and edited posts pass the moderation area's anti-abuse checks before commit
  (forum.moderation.abuse.screen_post); they may refuse the post or hold it for review
  (post.status = "held"). Held posts do not count in thread statistics and notify nobody
  until the moderation area publishes them and calls announce_post(post) +
  deliver_soon(...). Demo content and test factories pass check_abuse=False.
- Edits and deletions send forum.signals.post_edited / post_deleted before commit (the
  signals module lists who listens).
- refresh_thread_stats(thread) recounts after a moderator hides or restores a post.
"""
import functools
import re
import unicodedata
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .. import outbox, signals
from ..errors import DomainError
from ..database import write_or_leave
from ..extensions import db
from ..formtools import strip as strip_field
from ..jobs.clock import local_today
from ..markup import render_markdown
from ..transactions import unit_of_work, writing_lock
from ..models import (
    LANGUAGES, THREAD_KINDS, Post, PostRevision, Reaction, Tag, Thread, ThreadRead, Watch, utcnow,
)
from ..permissions import (
    can_accept_answer, can_delete_post, can_edit_post, can_post, can_reply, can_start_thread,
    can_see_post,
)
from ..places import find_province
from . import fragments, mentions, notifications

TITLE_MAX = 200
TITLE_MIN = 5
BODY_MAX = 50_000
TAG_MAX_LENGTH = 30
TAGS_MAX = 5

# Kind-specific fields; municipality, province and closes_on are columns (queryable),
# the rest live in Thread.fields.
KIND_FIELDS = {
    "question": (),
    "discussion": (),
    "announcement": (),
    "event": (),
    "practice": ("municipality", "problem", "approach", "result", "contact"),
    "initiative": ("municipality", "province", "initiator", "website", "contact"),
    "vacancy": ("asked", "closes_on", "contact"),
    # Checked by forum.advice.fields (the register's own rules).
    "advice": ("requested", "sent_on", "addressee", "municipality", "province", "summary", "text_only",
               "answer_status", "answered_on", "follow_up"),
}
COLUMN_FIELDS = ("municipality", "province", "closes_on")
FIELD_MAX = 4000

class ForumError(DomainError):
    """A refused forum action (see forum.errors.DomainError)."""

    def messages(self):
        return {
            "forbidden": _("You are not allowed to do this."),
            "invalid_kind": _("Choose one of the listed kinds."),
            "title_required": _("Give your topic a title of at least %(min)d characters.", min=TITLE_MIN),
            "title_too_long": _("The title can be at most %(max)d characters.", max=TITLE_MAX),
            "body_required": _("Write a text."),
            "body_too_long": _("The text can be at most %(max)d characters.", max=BODY_MAX),
            "invalid_language": _("Choose Dutch or French."),
            "too_many_tags": _("Use at most %(max)d tags.", max=TAGS_MAX),
            "tag_too_long": _("A tag can be at most %(max)d characters: %(tag)s", max=TAG_MAX_LENGTH,
                              tag=self.params.get("tag", "")),
            "field_too_long": _("This field can be at most %(max)d characters.", max=FIELD_MAX),
            "invalid_date": _("Enter a date like 2025-03-31."),
            "closes_in_past": _("The closing date cannot be in the past."),
            "invalid_province": _("Choose a province from the list."),
            "invalid_website": _("Enter a web address starting with http:// or https://."),
            "locked": _("This topic is closed for new replies."),
            "not_in_thread": _("That message is not part of this topic."),
            "not_a_reply": _("Only a reply can be marked as the answer."),
            "not_visible": _("This message is not available."),
            "own_post": _("You cannot thank yourself."),
            "not_a_question": _("Only questions have an accepted answer."),
        }


# -- helpers ---------------------------------------------------------------------------

def slugify(text, max_length=60):
    """An ASCII slug for readable thread addresses (the id is what counts)."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return text[:max_length].rstrip("-") or "topic"


def normalise_tags(tags):
    """Tags from a comma-separated string or a list: trimmed, lower-case, unique, '#' dropped."""
    if isinstance(tags, str):
        tags = tags.split(",")
    result = []
    for raw in tags or ():
        tag = re.sub(r"\s+", " ", strip_field(str(raw))).strip().lstrip("#").strip().lower()
        if not tag or tag in result:
            continue
        if len(tag) > TAG_MAX_LENGTH:
            raise ForumError("tag_too_long", field="tags", tag=tag)
        result.append(tag)
    if len(result) > TAGS_MAX:
        raise ForumError("too_many_tags", field="tags")
    return result


def _tag_objects(names):
    if not names:
        return []
    existing = {t.name: t for t in db.session.scalars(db.select(Tag).where(Tag.name.in_(names)))}
    result = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        result.append(tag)
    return result


def _check_title(title):
    title = re.sub(r"\s+", " ", strip_field(title or "")).strip()
    if len(title) < TITLE_MIN:
        raise ForumError("title_required", field="title")
    if len(title) > TITLE_MAX:
        raise ForumError("title_too_long", field="title")
    return title


def _check_body(body):
    body = (body or "").replace("\r\n", "\n")
    if not body.strip():
        raise ForumError("body_required", field="body")
    if len(body) > BODY_MAX:
        raise ForumError("body_too_long", field="body")
    return body


def _parse_date(value):
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ForumError("invalid_date", field="closes_on") from None


def clean_fields(kind, fields):
    """Split kind-specific input into (columns, extra fields), validated and trimmed."""
    if kind == "advice":
        from ..advice import fields as advice_fields  # the advice area builds on this module

        return advice_fields.clean(fields)
    columns = {"municipality": "", "province": "", "closes_on": None}
    extra = {}
    for name in KIND_FIELDS[kind]:
        value = (fields or {}).get(name)
        if name == "closes_on":
            columns[name] = _parse_date(value)
            continue
        value = re.sub(r"[ \t]+", " ", str(value or "")).strip()
        if len(value) > FIELD_MAX or (name in ("municipality", "province") and len(value) > 120):
            raise ForumError("field_too_long", field=name)
        if name == "province" and value:
            # Stored as its ISO code; a name in either language (an import) is accepted too.
            value = find_province(value)
            if value is None:
                raise ForumError("invalid_province", field=name)
        if name == "website" and value:
            if not re.match(r"^https?://", value, re.I):
                value = "https://" + value
            if not re.match(r"^https?://[^\s/]+\.[^\s]+$", value, re.I):
                raise ForumError("invalid_website", field=name)
        if name in COLUMN_FIELDS:
            columns[name] = value
        elif value:
            extra[name] = value
    return columns, extra


def render_body(body):
    """Sanitised HTML of a post body with @mentions of members linked."""
    return render_markdown(body, postprocess=mentions.make_linker(body))


def _screen(post, actor, created):
    # Imported here: the moderation area builds on this module (ForumError, refresh_thread_stats).
    from ..moderation.abuse import screen_post

    screen_post(post, actor, created)


def _watch(user, thread=None, theme=None):
    query = db.select(Watch.id).where(Watch.user_id == user.id)
    query = query.where(Watch.thread_id == thread.id) if thread is not None else query.where(
        Watch.theme_id == theme.id, Watch.thread_id.is_(None))
    if db.session.scalar(query) is None:
        db.session.add(Watch(user_id=user.id, thread_id=thread.id if thread else None,
                             theme_id=theme.id if theme is not None and thread is None else None))


def _mark_read(user, thread, when):
    """The author has read the thread up to their own post: one upsert in the post's transaction."""
    db.session.execute(_read_marker_upsert(db.engine.dialect.name),
                       [{"user_id": user.id, "thread_id": thread.id, "last_read_at": when}])


@functools.cache
def _read_marker_upsert(dialect):
    """INSERT … ON CONFLICT of read markers that only ever moves a marker forward."""
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    stmt = insert(ThreadRead)
    return stmt.on_conflict_do_update(
        index_elements=[ThreadRead.user_id, ThreadRead.thread_id],
        set_={"last_read_at": stmt.excluded.last_read_at},
        where=ThreadRead.last_read_at < stmt.excluded.last_read_at)


def refresh_thread_stats(thread):
    """Recount post_count, last_post_at/_id and thanks_count from the visible posts.

    Public so that moderation can call it after hiding or restoring a post.
    """
    db.session.flush()
    row = db.session.execute(
        db.select(db.func.count(Post.id), db.func.coalesce(db.func.sum(Post.thanks_count), 0))
        .where(Post.thread_id == thread.id, Post.status == "visible")
    ).one()
    thread.post_count, thread.thanks_count = int(row[0]), int(row[1])
    last = db.session.execute(
        db.select(Post.id, Post.created_at).where(Post.thread_id == thread.id, Post.status == "visible")
        .order_by(Post.number.desc()).limit(1)
    ).first()
    if last is not None:
        thread.last_post_id, thread.last_post_at = last.id, last.created_at
    if thread.accepted_post_id is not None:
        accepted = db.session.get(Post, thread.accepted_post_id)
        if accepted is None or accepted.status == "deleted":
            thread.accepted_post_id = None


def announce_post(post, previous_source=None):
    """Create the notifications a newly visible post causes; returns them (not committed).

    Opening post: members watching the theme ("new_thread"). Reply: members watching the
    thread ("reply"). Mentioned members get "mention" instead (never two for one post).
    On an edit (previous_source given) only members newly mentioned are told.
    """
    thread = post.thread
    author = post.author
    mentioned = mentions.mentioned_user_ids(post.body_source)
    if previous_source is not None:
        mentioned -= mentions.mentioned_user_ids(previous_source)
        return notifications.notify(mentioned, "mention", thread, post=post, actor=author)
    created = notifications.notify(mentioned, "mention", thread, post=post, actor=author)
    if post.number == 1:
        watchers = notifications.theme_watchers(thread.theme_id)
        created += notifications.notify(watchers - mentioned, "new_thread", thread, post=post, actor=author)
    else:
        watchers = notifications.thread_watchers(thread)
        if post.reply_to_id:
            quoted = db.session.get(Post, post.reply_to_id)
            if quoted is not None and quoted.author_id:
                watchers.add(quoted.author_id)
        created += notifications.notify(watchers - mentioned, "reply", thread, post=post, actor=author)
    return created


def _commit_and_deliver(created):
    db.session.commit()
    if created:
        notifications.deliver_soon(created)


# -- threads and posts -----------------------------------------------------------------

def _publish(post, thread, author, now, check_abuse):
    """What every new post goes through: anti-abuse screening, the author watching and having
    read it, the thread's counters, the search outbox and notifications; then the commit."""
    db.session.add(post)
    db.session.flush()
    if check_abuse:
        _screen(post, author, created=True)
    # What follows reads nothing it writes: its rows (the watch, the thread's counters, the
    # outbox, the rate-limit count) go out in one flush instead of one before each statement
    # (five flushes a reply, each a unit of work of its own).
    with db.session.no_autoflush:
        _watch(author, thread=thread)
        _mark_read(author, thread, now)
        if post.number > 1 and post.status == "visible":
            # A visible reply adds one to the count and is the newest post (its number was
            # taken under the thread's lock): no recount. In SQL, so that a count read before
            # the lock cannot lose another reply's.
            thread.post_count = Thread.post_count + 1
            thread.last_post_id, thread.last_post_at = post.id, post.created_at
        else:
            refresh_thread_stats(thread)
        # A reply changes only the thread's counters, which the search index does not hold:
        # its own row is enough. (A "thread" row re-indexed every post of the thread, which
        # was most of a reply's time in a 100-post thread.)
        if post.number == 1:
            outbox.enqueue("thread", thread.id)
        outbox.enqueue("post", post.id)
    db.session.flush()
    created = announce_post(post) if post.status == "visible" else []
    _commit_and_deliver(created)


@unit_of_work()
def create_thread(author, theme, kind, title, body, language=None, tags=(), fields=None, check_abuse=True):
    """Start a thread with its opening post (number 1); the author watches it. Commits.

    check_abuse=False skips rate limits, the duplicate check and pre-moderation: only for
    content that counts as already moderated (demo content, test factories)."""
    if kind not in THREAD_KINDS:
        raise ForumError("invalid_kind", field="kind")
    if not can_start_thread(author, theme, kind):
        raise ForumError("forbidden")
    title = _check_title(title)
    body = _check_body(body)
    language = language or (author.locale if author.locale in LANGUAGES else "nl")
    if language not in LANGUAGES:
        raise ForumError("invalid_language", field="language")
    tag_names = normalise_tags(tags)
    columns, extra = clean_fields(kind, fields)
    if kind == "vacancy" and columns["closes_on"] and columns["closes_on"] < local_today():
        raise ForumError("closes_in_past", field="closes_on")

    now = utcnow()
    thread = Thread(
        theme_id=theme.id, kind=kind, title=title, language=language, author_id=author.id,
        organisation_id=author.organisation_id, fields=extra, last_post_at=now,
        created_at=now, **columns,
    )
    thread.tags = _tag_objects(tag_names)
    db.session.add(thread)
    post = Post(thread=thread, author=author, number=1, body_source=body,
                body_html=str(render_body(body)), created_at=now)
    _publish(post, thread, author, now, check_abuse)
    return thread


@unit_of_work()
def create_reply(author, thread, body, reply_to=None, check_abuse=True):
    """Add a reply (next number) to a thread; the author starts watching it. Commits.
    check_abuse as for create_thread."""
    if not can_reply(author, thread):
        raise ForumError("locked" if thread.locked and can_post(author) else "forbidden")
    body = _check_body(body)
    if reply_to is not None and reply_to.thread_id != thread.id:
        raise ForumError("not_in_thread")
    # Lock the thread row (PostgreSQL; SQLite's write lock already serialises) so that two
    # replies at the same moment cannot take the same number. (What the request added so
    # far, its rate-limit count, goes out with the post's flush.)
    with db.session.no_autoflush:
        db.session.execute(db.select(Thread.id).where(Thread.id == thread.id).with_for_update())
        number = (db.session.scalar(db.select(db.func.max(Post.number)).where(Post.thread_id == thread.id)) or 0) + 1
    now = utcnow()
    post = Post(thread_id=thread.id, author_id=author.id, number=number, body_source=body,
                body_html=str(render_body(body)), reply_to_id=reply_to.id if reply_to else None,
                created_at=now)
    _publish(post, thread, author, now, check_abuse)
    return post


@unit_of_work()
def edit_post(editor, post, body, title=None, check_abuse=True, audited=False):
    """Change a post's text (and the thread title for an opening post), keeping the old
    version as a PostRevision. Commits. check_abuse as for create_thread; audited=True when
    the caller (the moderation area) has written the audit entry itself."""
    if not can_edit_post(editor, post):
        raise ForumError("forbidden")
    body = _check_body(body)
    thread = post.thread
    new_title = _check_title(title) if (title is not None and post.number == 1) else None
    if body == post.body_source and (new_title is None or new_title == thread.title):
        return post  # nothing changed: no revision, no "edited" marker
    db.session.add(PostRevision(
        post_id=post.id, editor_id=editor.id, body_source=post.body_source,
        title=thread.title if post.number == 1 else None,
    ))
    previous = post.body_source
    post.body_source = body
    post.body_html = str(render_body(body))
    post.edited_at = utcnow()
    post.edit_count = (post.edit_count or 0) + 1
    if new_title is not None:
        thread.title = new_title
    db.session.flush()
    if check_abuse:
        _screen(post, editor, created=False)
    signals.post_edited.send(post, editor=editor, audited=audited)
    outbox.enqueue("post", post.id)
    outbox.enqueue("thread", thread.id)
    created = announce_post(post, previous_source=previous) if post.status == "visible" else []
    _commit_and_deliver(created)
    return post


@unit_of_work()
def delete_post(actor, post, audited=False):
    """Soft-delete a post (status "deleted"); deleting an opening post deletes the thread.
    Commits. audited=True when the caller (the moderation area) has written the audit entry
    itself."""
    if not can_delete_post(actor, post):
        raise ForumError("forbidden")
    thread = post.thread
    post.status = "deleted"
    if post.number == 1:
        thread.status = "deleted"
    if thread.accepted_post_id == post.id:
        thread.accepted_post_id = None
    refresh_thread_stats(thread)
    outbox.enqueue("post", post.id)
    outbox.enqueue("thread", thread.id)
    signals.post_deleted.send(post, actor=actor, audited=audited)
    db.session.commit()
    fragments.forget_posts([post.id])


@unit_of_work()
def accept_answer(actor, thread, post):
    """Mark a reply as the answer to a question (the asker or a moderator). Commits."""
    if thread.kind != "question":
        raise ForumError("not_a_question")
    if not can_accept_answer(actor, thread):
        raise ForumError("forbidden")
    if post.thread_id != thread.id:
        raise ForumError("not_in_thread")
    if post.number == 1:
        raise ForumError("not_a_reply")
    if post.status != "visible":
        raise ForumError("not_visible")
    if thread.accepted_post_id == post.id:
        return
    thread.accepted_post_id = post.id
    created = []
    if post.author_id:
        created = notifications.notify({post.author_id}, "accepted", thread, post=post, actor=actor)
    outbox.enqueue("thread", thread.id)
    _commit_and_deliver(created)


@unit_of_work()
def unaccept_answer(actor, thread):
    """Remove the accepted answer of a question. Commits."""
    if not can_accept_answer(actor, thread):
        raise ForumError("forbidden")
    thread.accepted_post_id = None
    outbox.enqueue("thread", thread.id)
    db.session.commit()


@unit_of_work()
def thank_post(user, post):
    """Say thanks for a post (once per member; thanking twice changes nothing). Commits."""
    if not can_post(user) or not can_see_post(user, post) or post.status != "visible":
        raise ForumError("forbidden" if post.status == "visible" else "not_visible")
    if post.author_id == user.id:
        raise ForumError("own_post")
    exists = db.session.scalar(
        db.select(Reaction.id).where(Reaction.post_id == post.id, Reaction.user_id == user.id))
    if exists is not None:
        return
    db.session.add(Reaction(post_id=post.id, user_id=user.id))
    try:
        db.session.flush()
    except IntegrityError:  # the same member's second click, committed a moment earlier
        db.session.rollback()
        return
    post.thanks_count = (post.thanks_count or 0) + 1
    post.thread.thanks_count = (post.thread.thanks_count or 0) + 1
    notifications.notify_thanks(post, user)
    outbox.enqueue("post", post.id)
    db.session.commit()


@unit_of_work()
def unthank_post(user, post):
    """Take back a thanks. Commits."""
    reaction = db.session.scalar(
        db.select(Reaction).where(Reaction.post_id == post.id, Reaction.user_id == user.id))
    if reaction is None:
        return
    db.session.delete(reaction)
    post.thanks_count = max((post.thanks_count or 0) - 1, 0)
    post.thread.thanks_count = max((post.thread.thanks_count or 0) - 1, 0)
    outbox.enqueue("post", post.id)
    db.session.commit()


# -- watching, reading, notifications --------------------------------------------------

@unit_of_work()
def watch_thread(user, thread):
    """Follow a thread: notifications for every reply. Commits."""
    _watch(user, thread=thread)
    db.session.commit()


@unit_of_work()
def unwatch_thread(user, thread):
    db.session.execute(db.delete(Watch).where(Watch.user_id == user.id, Watch.thread_id == thread.id))
    db.session.commit()


@unit_of_work()
def watch_theme(user, theme):
    """Follow a theme: a notification for every new thread in it. Commits."""
    _watch(user, theme=theme)
    db.session.commit()


@unit_of_work()
def unwatch_theme(user, theme):
    db.session.execute(db.delete(Watch).where(
        Watch.user_id == user.id, Watch.theme_id == theme.id, Watch.thread_id.is_(None)))
    db.session.commit()


# Read markers this worker could not write at once because another connection held
# SQLite's write lock (a post being saved): (member id, thread id) -> read up to. Each
# marker write takes all of them along; beyond the bound a marker waits for the lock.
_unwritten_marks = {}
UNWRITTEN_MARKS_MAX = 2000


def mark_thread_read(user_id, thread_id, last_post_at):
    """Remember that the member has seen the thread up to now: one upsert, committed at once.

    The thread page writes this on a GET. It runs on a connection of its own, not through
    the session: a session commit expires every loaded object (the member, the thread),
    which the response's own hooks then read again, and reloading them cost more than the
    write. Nothing else is written with it, so there is nothing to keep atomic.

    Decision: on SQLite it does not wait for the write lock. Under a burst of posts a
    worker waiting for it left one of the two cores idle (7.5 % of the load test's worker
    time); the marker stays in this worker's memory instead and goes along with the next
    marker this worker writes, usually within a second. Until then that thread may still
    look unread to the member; a worker that stops loses what it still held. Returns
    whether the marker is in the database.
    """
    when = max(utcnow(), last_post_at)
    key = (user_id, thread_id)
    _unwritten_marks[key] = max(_unwritten_marks.get(key, when), when)
    marks = dict(_unwritten_marks)
    stmt = _read_marker_upsert(db.engine.dialect.name)
    rows = [{"user_id": u, "thread_id": t, "last_read_at": w} for (u, t), w in marks.items()]
    with writing_lock():
        if len(marks) >= UNWRITTEN_MARKS_MAX:
            with db.engine.begin() as connection:
                connection.execute(stmt, rows)
        else:
            with write_or_leave(db.engine) as connection:
                if connection is None:
                    return False
                connection.execute(stmt, rows)
    for mark, value in marks.items():
        if _unwritten_marks.get(mark) == value:
            del _unwritten_marks[mark]
    return True


@unit_of_work()
def mark_notification_read(user, notification_id):
    """Mark one of the member's notifications read; returns it (None when not theirs)."""
    from ..models import Notification

    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        return None
    if n.read_at is None:
        n.read_at = utcnow()
        db.session.commit()
    return n


@unit_of_work()
def mark_all_notifications_read(user):
    from ..models import Notification

    db.session.execute(db.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()


@unit_of_work()
def unsubscribe(user):
    """One-click unsubscribe from notification mail (notify_mode "never"). Commits."""
    user.notify_mode = "never"
    db.session.commit()
