"""Moderation services: flags, the review queue, post and thread actions, sanctions.

Each public function checks the policy, validates fully, changes the database, writes the
audit entry (audit.record) and search outbox rows in the same transaction, commits, and only
then mails the people concerned, in their own language. Views turn a ModerationError into a
message next to the right field.
"""
import re
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from .. import outbox
from ..errors import DomainError
from ..extensions import db
from ..models import (
    FLAG_REASONS, THREAD_KINDS, Flag, ModerationAction, Notification, Post, Theme, Thread,
    User, Watch, count, utcnow,
)
from ..permissions import can_flag, can_moderate, can_read_thread, can_sanction, can_see_post
from ..threads import fragments
from ..transactions import unit_of_work
from .audit import record
from .notices import add_notice, deliver_notices

NOTE_MAX = 1000
REASON_MAX = 1000
PIN_LEVELS = ("", "theme", "site")
SANCTION_ACTIONS = ("warn_user", "silence_user", "suspend_user")


class ModerationError(DomainError):
    """A refused moderation action (see forum.errors.DomainError)."""

    def messages(self):
        return {
            "forbidden": _("You are not allowed to do this."),
            "not_found": _("This message is not available."),
            "own_post": _("You cannot report your own message."),
            "already_flagged": _("You have already reported this message. The moderators will look at it."),
            "invalid_reason": _("Choose a reason from the list."),
            "note_required": _("Describe briefly what is wrong when you choose 'something else'."),
            "note_too_long": _("Use at most %(max)d characters.", max=NOTE_MAX),
            "reason_required": _("Give a reason: the member will see it."),
            "reason_too_long": _("Use at most %(max)d characters.", max=REASON_MAX),
            "not_hidden": _("This message is not hidden."),
            "not_held": _("This message is not waiting for review."),
            "held_not_hidden": _("This message is waiting for review: publish it or delete it."),
            "already_deleted": _("This message has already been deleted."),
            "no_flags": _("There are no open reports on this message."),
            "invalid_pin": _("Choose one of the listed options."),
            "invalid_theme": _("Choose a theme from the list."),
            "same_theme": _("The topic is already in this theme."),
            "invalid_target": _("Enter the number or the address of an existing topic."),
            "same_thread": _("A topic cannot be merged into itself."),
            "target_unavailable": _("That topic cannot receive messages (it is hidden, deleted or merged itself)."),
            "not_a_vacancy": _("Only vacancies can be closed."),
            "invalid_kind": _("Choose one of the listed kinds."),
            "invalid_action": _("Choose one of the listed measures."),
            "until_required": _("Choose the date until which the measure applies."),
            "until_in_past": _("The date must be in the future."),
            "not_sanctioned": _("This member has no such measure."),
            "cannot_sanction": _("You cannot take measures against yourself, or against a moderator or administrator."),
            "unchanged": _("Nothing was changed."),
        }


# -- helpers ---------------------------------------------------------------------------

def _require_moderator(actor):
    if not can_moderate(actor):
        raise ModerationError("forbidden")


def _clean_reason(reason, required=True, field="reason"):
    reason = (reason or "").strip()
    if required and not reason:
        raise ModerationError("reason_required", field=field)
    if len(reason) > REASON_MAX:
        raise ModerationError("reason_too_long", field=field)
    return reason


def _open_flags(post):
    return db.session.scalars(
        db.select(Flag).where(Flag.post_id == post.id, Flag.resolved_at.is_(None)).order_by(Flag.created_at)
    ).all()


def resolve_flags(post, actor, resolution):
    """Close the open flags of a post; returns how many there were."""
    flags = _open_flags(post)
    now = utcnow()
    for flag in flags:
        flag.resolved_at = now
        flag.resolution = resolution
        flag.resolved_by_id = getattr(actor, "id", None)
    return len(flags)


def _refresh(thread):
    from ..threads.services import refresh_thread_stats

    refresh_thread_stats(thread)


def _commit_and_deliver(notices=()):
    db.session.commit()
    deliver_notices([n for n in notices if n is not None])


# -- flags -----------------------------------------------------------------------------

def has_flagged(user, post):
    return db.session.scalar(
        db.select(Flag.id).where(Flag.post_id == post.id, Flag.user_id == user.id)) is not None


@unit_of_work()
def flag_post(user, post, reason, note=""):
    """A member reports a post (once per post, never their own). Commits.

    When FLAGS_TO_HIDE distinct members have open reports on a visible post it is hidden
    at once, pending review, and its author is told. Returns the Flag.
    """
    if post.status == "deleted" or not can_see_post(user, post) or not can_read_thread(user, post.thread):
        raise ModerationError("not_found")
    if post.author_id is not None and post.author_id == getattr(user, "id", None):
        raise ModerationError("own_post")
    if not can_flag(user, post):
        raise ModerationError("forbidden")
    if reason not in FLAG_REASONS:
        raise ModerationError("invalid_reason", field="reason")
    note = (note or "").strip()
    if reason == "other" and not note:
        raise ModerationError("note_required", field="note")
    if len(note) > NOTE_MAX:
        raise ModerationError("note_too_long", field="note")
    if has_flagged(user, post):
        raise ModerationError("already_flagged")
    flag = Flag(post_id=post.id, user_id=user.id, reason=reason, note=note)
    db.session.add(flag)
    try:
        db.session.flush()
    except IntegrityError:  # the same report sent twice at once (a double click)
        raise ModerationError("already_flagged") from None
    notices = []
    threshold = current_app.config["FLAGS_TO_HIDE"]
    open_count = db.session.scalar(
        db.select(db.func.count(db.distinct(Flag.user_id))).where(
            Flag.post_id == post.id, Flag.resolved_at.is_(None)))
    if threshold and open_count >= threshold and post.status == "visible":
        post.status = "hidden"
        post.hidden_reason = ""
        _refresh(post.thread)
        outbox.enqueue("post", post.id)
        outbox.enqueue("thread", post.thread_id)
        # The system acts here, not a moderator: actor None in the audit log.
        record(None, "auto_hide_post", "post", post.id, "", flags=open_count, thread_id=post.thread_id)
        notices.append(add_notice(post.author, "post_auto_hidden", thread=post.thread, post=post))
    _commit_and_deliver(notices)
    if post.status == "hidden":
        fragments.forget_posts([post.id])
    return flag


@unit_of_work()
def dismiss_flags(actor, post, reason=""):
    """Close a post's open reports as unfounded. A post hidden automatically by those
    reports becomes visible again (and its author is told). Commits."""
    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    flags = resolve_flags(post, actor, "dismissed")
    if not flags:
        raise ModerationError("no_flags")
    notices = []
    restored = False
    if post.status == "hidden":
        # Hidden with open reports means hidden automatically, pending this review.
        post.status = "visible"
        post.hidden_reason = ""
        restored = True
        _refresh(post.thread)
        outbox.enqueue("post", post.id)
        outbox.enqueue("thread", post.thread_id)
        notices.append(add_notice(post.author, "post_restored", thread=post.thread, post=post))
    record(actor, "dismiss_flags", "post", post.id, reason, flags=flags, restored=restored,
           thread_id=post.thread_id)
    _commit_and_deliver(notices)


# -- post actions ----------------------------------------------------------------------

@unit_of_work()
def hide_post(actor, post, reason):
    """Hide a post with a reason its author sees; others see "hidden by a moderator". Commits."""
    _require_moderator(actor)
    reason = _clean_reason(reason)
    if post.status == "deleted":
        raise ModerationError("already_deleted")
    if post.status == "held":
        # Never published: publish it or delete it, rather than hide what nobody saw.
        raise ModerationError("held_not_hidden")
    previous = post.status
    post.status = "hidden"
    post.hidden_reason = reason
    flags = resolve_flags(post, actor, "hidden")
    thread = post.thread
    if thread.accepted_post_id == post.id:
        thread.accepted_post_id = None
    _refresh(thread)
    outbox.enqueue("post", post.id)
    outbox.enqueue("thread", thread.id)
    record(actor, "hide_post", "post", post.id, reason, flags=flags, previous=previous, thread_id=thread.id)
    _commit_and_deliver([add_notice(post.author, "post_hidden", reason, thread=thread, post=post)])
    fragments.forget_posts([post.id])  # the cached text of a hidden post leaves the disk


@unit_of_work()
def restore_post(actor, post, reason=""):
    """Make a hidden post visible again; its author is told. Commits."""
    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    if post.status != "hidden":
        raise ModerationError("not_hidden")
    post.status = "visible"
    post.hidden_reason = ""
    flags = resolve_flags(post, actor, "restored")
    _refresh(post.thread)
    outbox.enqueue("post", post.id)
    outbox.enqueue("thread", post.thread_id)
    record(actor, "restore_post", "post", post.id, reason, flags=flags, thread_id=post.thread_id)
    _commit_and_deliver([add_notice(post.author, "post_restored", reason, thread=post.thread, post=post)])


@unit_of_work()
def delete_post(actor, post, reason=""):
    """Delete a post as a moderator (an opening post deletes its thread); the author is
    told. Also how a held post is refused. Commits."""
    from ..threads import services as forum

    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    if post.status == "deleted":
        raise ModerationError("already_deleted")
    previous = post.status
    flags = resolve_flags(post, actor, "deleted")
    thread = post.thread
    notice = add_notice(post.author, "post_deleted", reason, thread=thread, post=post)
    record(actor, "delete_post", "post", post.id, reason, flags=flags, previous=previous,
           thread_id=thread.id, thread_deleted=post.number == 1)
    # The forum service does the deletion itself (thread too for an opening post) and commits
    # our audit entry and notification with it.
    forum.delete_post(actor, post, audited=True)
    deliver_notices([notice])


@unit_of_work()
def edit_post(actor, post, body, title=None, reason=""):
    """Edit someone's post as a moderator; the old text is kept in the edit history. Commits."""
    from ..threads import services as forum

    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    if post.status == "deleted":
        raise ModerationError("already_deleted")
    thread = post.thread
    new_title = title if (title is not None and post.number == 1) else None
    if (body or "").replace("\r\n", "\n") == post.body_source and (new_title is None or new_title.strip() == thread.title):
        raise ModerationError("unchanged", field="body")
    record(actor, "edit_post", "post", post.id, reason, thread_id=thread.id,
           title_changed=new_title is not None and new_title.strip() != thread.title)
    forum.edit_post(actor, post, body, title=new_title, audited=True)  # validates, keeps a revision, commits


@unit_of_work()
def approve_post(actor, post):
    """Publish a held post: visible, counted, announced to watchers and mentioned members,
    indexed. A held opening post makes its thread visible. Commits, then mails."""
    from ..threads import notifications
    from ..threads.services import announce_post

    _require_moderator(actor)
    if post.status != "held":
        raise ModerationError("not_held")
    thread = post.thread
    post.status = "visible"
    if post.number == 1 and thread.status == "hidden" and thread.merged_into_id is None:
        thread.status = "visible"
    _refresh(thread)
    outbox.enqueue("post", post.id)
    outbox.enqueue("thread", thread.id)
    record(actor, "approve_post", "post", post.id, "", thread_id=thread.id)
    created = announce_post(post)
    db.session.commit()
    if created:
        notifications.deliver_immediate(created)


# -- thread actions --------------------------------------------------------------------

def _thread_changed(actor, thread, action, reason="", **details):
    outbox.enqueue("thread", thread.id)
    record(actor, action, "thread", thread.id, reason, **details)
    db.session.commit()


@unit_of_work()
def set_locked(actor, thread, locked, reason=""):
    """Lock (no new replies) or unlock a thread. Commits."""
    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    if bool(thread.locked) == bool(locked):
        return
    thread.locked = bool(locked)
    _thread_changed(actor, thread, "lock_thread" if locked else "unlock_thread", reason)


@unit_of_work()
def set_pinned(actor, thread, level, reason=""):
    """Pin a thread in its theme ("theme"), on every list ("site"), or unpin it (""). Commits."""
    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    level = level or ""
    if level not in PIN_LEVELS:
        raise ModerationError("invalid_pin", field="level")
    previous = thread.pinned or ""
    if previous == level:
        return
    thread.pinned = level
    _thread_changed(actor, thread, "pin_thread" if level else "unpin_thread", reason,
                    level=level, previous=previous)


@unit_of_work()
def move_thread(actor, thread, theme_id, reason=""):
    """Move a thread to another theme. Commits."""
    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    theme = db.session.get(Theme, theme_id) if theme_id else None
    if theme is None:
        raise ModerationError("invalid_theme", field="theme")
    if theme.id == thread.theme_id:
        raise ModerationError("same_theme", field="theme")
    previous = thread.theme_id
    thread.theme_id = theme.id
    thread.theme = theme
    for post_id in db.session.scalars(db.select(Post.id).where(Post.thread_id == thread.id)):
        outbox.enqueue("post", post_id)  # a post's theme decides who may find it
    _thread_changed(actor, thread, "move_thread", reason, from_theme=previous, to_theme=theme.id)


def find_thread(reference):
    """A thread from a number ("42", "#42") or one of its addresses (".../t/42/slug")."""
    text = (reference or "").strip()
    match = re.search(r"/t/(\d+)", text) or re.fullmatch(r"#?(\d+)", text)
    if not match:
        return None
    return db.session.get(Thread, int(match.group(1)))


@unit_of_work()
def merge_thread(actor, source, target_reference, reason=""):
    """Merge `source` into the thread `target_reference` points at. Commits; returns the target.

    The source's posts move to the target and are numbered after the target's posts, in
    the order they were written; the source becomes hidden with merged_into_id set, so
    its address redirects to the target. Its followers follow the target.
    """
    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    target = find_thread(target_reference)
    if target is None:
        raise ModerationError("invalid_target", field="target")
    if target.id == source.id:
        raise ModerationError("same_thread", field="target")
    if target.status != "visible" or target.merged_into_id is not None:
        raise ModerationError("target_unavailable", field="target")
    if source.merged_into_id is not None or source.status == "deleted":
        raise ModerationError("forbidden")
    # Lock both thread rows (PostgreSQL) so that a reply arriving meanwhile cannot take a
    # number the moved posts get, nor land in the source after its posts have left.
    db.session.execute(db.select(Thread.id).where(Thread.id.in_([source.id, target.id])).with_for_update())
    base = db.session.scalar(db.select(db.func.max(Post.number)).where(Post.thread_id == target.id)) or 0
    moved = db.session.scalars(
        db.select(Post).where(Post.thread_id == source.id).order_by(Post.created_at, Post.number)
    ).all()
    for offset, post in enumerate(moved, start=1):
        post.thread_id = target.id
        post.number = base + offset
        outbox.enqueue("post", post.id)
    db.session.flush()
    db.session.execute(
        db.update(Notification).where(Notification.thread_id == source.id).values(thread_id=target.id))
    watching = set(db.session.scalars(db.select(Watch.user_id).where(Watch.thread_id == target.id)))
    for user_id in db.session.scalars(db.select(Watch.user_id).where(Watch.thread_id == source.id)):
        if user_id not in watching:
            db.session.add(Watch(user_id=user_id, thread_id=target.id))
            watching.add(user_id)
    source.accepted_post_id = None
    source.merged_into_id = target.id
    source.status = "hidden"
    source.pinned = ""
    _refresh(source)
    source.post_count = 0
    _refresh(target)
    outbox.enqueue("thread", source.id)
    outbox.enqueue("thread", target.id)
    record(actor, "merge_thread", "thread", source.id, reason, into=target.id,
           posts=[p.id for p in moved], first_number=base + 1)
    db.session.commit()
    return target


@unit_of_work()
def set_vacancy_closed(actor, thread, closed, reason=""):
    """Close (or reopen) a vacancy. Commits."""
    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    if thread.kind != "vacancy":
        raise ModerationError("not_a_vacancy")
    if bool(thread.closed) == bool(closed):
        return
    thread.closed = bool(closed)
    _thread_changed(actor, thread, "close_vacancy" if closed else "reopen_vacancy", reason)


@unit_of_work()
def change_kind(actor, thread, kind, reason=""):
    """Change what kind of thread this is; only questions keep an accepted answer. Commits."""
    _require_moderator(actor)
    reason = _clean_reason(reason, required=False)
    # An advice needs its register fields (date, addressee, ...): it is posted as one, not made one.
    # An event's thread belongs to its event: not made one, nor made something else.
    if kind not in THREAD_KINDS or "advice" in (kind, thread.kind) or "event" in (kind, thread.kind):
        raise ModerationError("invalid_kind", field="kind")
    previous = thread.kind
    if previous == kind:
        return
    thread.kind = kind
    if kind != "question":
        thread.accepted_post_id = None
    _thread_changed(actor, thread, "change_kind", reason, previous=previous, kind=kind)


# -- sanctions -------------------------------------------------------------------------

def _check_sanction(actor, member):
    _require_moderator(actor)
    if not can_sanction(actor, member):
        raise ModerationError("cannot_sanction")


def _until_datetime(until, required):
    """A date (or datetime) in the future as a naive UTC datetime; the measure ends then."""
    if until is None or until == "":
        if required:
            raise ModerationError("until_required", field="until")
        return None
    if not isinstance(until, datetime):
        until = datetime(until.year, until.month, until.day)
    if until <= utcnow():
        raise ModerationError("until_in_past", field="until")
    return until


@unit_of_work()
def warn_user(actor, member, reason):
    """Send a member a private warning from the moderators (notification and mail). Commits."""
    _check_sanction(actor, member)
    reason = _clean_reason(reason)
    record(actor, "warn_user", "user", member.id, reason)
    _commit_and_deliver([add_notice(member, "warned", reason)])


@unit_of_work()
def silence_user(actor, member, until, reason):
    """The member can read but not post until `until`. Commits."""
    _check_sanction(actor, member)
    reason = _clean_reason(reason)
    until = _until_datetime(until, required=True)
    member.silenced_until = until
    member.sanction_reason = reason
    record(actor, "silence_user", "user", member.id, reason, until=until)
    _commit_and_deliver([add_notice(member, "silenced", reason, until=until)])


@unit_of_work()
def suspend_user(actor, member, until, reason):
    """The member cannot sign in until `until` (None: until lifted); every session ends. Commits."""
    _check_sanction(actor, member)
    reason = _clean_reason(reason)
    until = _until_datetime(until, required=False)
    member.status = "suspended"
    member.suspended_until = until
    member.sanction_reason = reason
    member.rotate_session_token()  # signs them out everywhere, at once
    outbox.enqueue("user", member.id)
    record(actor, "suspend_user", "user", member.id, reason, until=until)
    _commit_and_deliver([add_notice(member, "suspended", reason, until=until)])


@unit_of_work()
def sanction(actor, member, action, reason, until=None):
    """Apply one of the measures by name (the sanctions form)."""
    if action == "warn_user":
        return warn_user(actor, member, reason)
    if action == "silence_user":
        return silence_user(actor, member, until, reason)
    if action == "suspend_user":
        return suspend_user(actor, member, until, reason)
    raise ModerationError("invalid_action", field="action")


@unit_of_work()
def lift_silence(actor, member, reason=""):
    """End a silence early. Commits."""
    _check_sanction(actor, member)
    reason = _clean_reason(reason, required=False)
    if not member.is_silenced:
        raise ModerationError("not_sanctioned")
    member.silenced_until = None
    record(actor, "lift_silence", "user", member.id, reason)
    _commit_and_deliver([add_notice(member, "silence_lifted", reason)])


@unit_of_work()
def lift_suspension(actor, member, reason=""):
    """End a suspension early: the member can sign in again. Commits."""
    _check_sanction(actor, member)
    reason = _clean_reason(reason, required=False)
    if member.status != "suspended":
        raise ModerationError("not_sanctioned")
    member.status = "active"
    member.suspended_until = None
    outbox.enqueue("user", member.id)
    record(actor, "lift_suspension", "user", member.id, reason)
    _commit_and_deliver([add_notice(member, "suspension_lifted", reason)])


# -- the review queue ------------------------------------------------------------------

def _flagged_query():
    return (
        db.select(Flag.post_id, db.func.count(Flag.id).label("flags"),
                  db.func.min(Flag.created_at).label("first_at"))
        .join(Post, Post.id == Flag.post_id).join(Thread, Thread.id == Post.thread_id)
        .where(Flag.resolved_at.is_(None), Post.status != "deleted", Thread.status != "deleted")
        .group_by(Flag.post_id)
    )


def _held_query():
    return (db.select(Post).join(Thread, Thread.id == Post.thread_id)
            .where(Post.status == "held", Thread.status != "deleted"))


def flagged_count():
    return count(_flagged_query().subquery())


def held_count():
    return count(_held_query().subquery())


def review_count():
    """Everything waiting for a moderator: flagged posts, held posts and events, registrations."""
    from auth.services import pending_registrations_count

    from ..events.services import held_count as held_events_count

    return flagged_count() + held_count() + held_events_count() + pending_registrations_count()


def flagged_posts(sort="oldest", limit=50, offset=0):
    """Open reports grouped per post: [(post, [flags])], oldest or most-flagged first."""
    query = _flagged_query()
    if sort == "most":
        query = query.order_by(db.desc("flags"), "first_at", Flag.post_id)
    else:
        query = query.order_by("first_at", Flag.post_id)
    rows = db.session.execute(query.limit(limit).offset(offset)).all()
    ids = [r.post_id for r in rows]
    if not ids:
        return []
    posts = {p.id: p for p in db.session.scalars(
        db.select(Post).where(Post.id.in_(ids)).options(
            db.joinedload(Post.author), db.joinedload(Post.thread).joinedload(Thread.theme)))}
    flags = {}
    for flag in db.session.scalars(db.select(Flag).where(
            Flag.post_id.in_(ids), Flag.resolved_at.is_(None)).order_by(Flag.created_at)):
        flags.setdefault(flag.post_id, []).append(flag)
    return [(posts[i], flags.get(i, [])) for i in ids if i in posts]


def held_posts(limit=100):
    """Posts waiting for approval, oldest first."""
    return db.session.scalars(
        _held_query().options(db.joinedload(Post.author), db.joinedload(Post.thread).joinedload(Thread.theme))
        .order_by(Post.created_at, Post.id).limit(limit)
    ).unique().all()


def author_history(user_ids):
    """Per author: visible posts, hidden posts, deleted posts, sanctions so far (4 queries)."""
    ids = sorted({i for i in user_ids if i})
    result = {i: {"posts": 0, "hidden": 0, "deleted": 0, "sanctions": 0} for i in ids}
    if not ids:
        return result
    for author_id, status, n in db.session.execute(
        db.select(Post.author_id, Post.status, db.func.count(Post.id))
        .where(Post.author_id.in_(ids)).group_by(Post.author_id, Post.status)
    ):
        key = {"visible": "posts", "hidden": "hidden", "deleted": "deleted"}.get(status)
        if key:
            result[author_id][key] = n
    for target_id, n in db.session.execute(
        db.select(ModerationAction.target_id, db.func.count(ModerationAction.id))
        .where(ModerationAction.target_type == "user", ModerationAction.target_id.in_(ids),
               ModerationAction.action.in_(SANCTION_ACTIONS))
        .group_by(ModerationAction.target_id)
    ):
        result[target_id]["sanctions"] = n
    return result


def member_overview(member, limit=30):
    """What a moderator sees about a member: recent posts (any status) and the audit entries
    about them and their posts."""
    posts = db.session.scalars(
        db.select(Post).where(Post.author_id == member.id)
        .options(db.joinedload(Post.thread)).order_by(Post.created_at.desc()).limit(limit)
    ).unique().all()
    post_ids = db.select(Post.id).where(Post.author_id == member.id)
    entries = db.session.scalars(
        db.select(ModerationAction).where(db.or_(
            db.and_(ModerationAction.target_type == "user", ModerationAction.target_id == member.id),
            db.and_(ModerationAction.target_type == "post", ModerationAction.target_id.in_(post_ids)),
        )).options(db.joinedload(ModerationAction.actor))
        .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc()).limit(100)
    ).unique().all()
    flags_received = db.session.scalar(
        db.select(db.func.count(Flag.id)).where(Flag.post_id.in_(post_ids)))
    return {"posts": posts, "entries": entries, "flags_received": flags_received,
            "history": author_history([member.id])[member.id]}


# -- the audit log ---------------------------------------------------------------------

def audit_query(action="", actor_id=None, target_type="", date_from=None, date_to=None):
    """The audit log, newest first, filtered; dates are inclusive days (UTC)."""
    query = db.select(ModerationAction).options(db.joinedload(ModerationAction.actor))
    if action:
        query = query.where(ModerationAction.action == action)
    if actor_id:
        query = query.where(ModerationAction.actor_id == actor_id)
    if target_type:
        query = query.where(ModerationAction.target_type == target_type)
    if date_from:
        query = query.where(ModerationAction.created_at >= datetime(date_from.year, date_from.month, date_from.day))
    if date_to:
        end = datetime(date_to.year, date_to.month, date_to.day) + timedelta(days=1)
        query = query.where(ModerationAction.created_at < end)
    return query.order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())


def audit_choices():
    """Distinct actions, actors and target types present in the log (for the filters)."""
    actions = db.session.scalars(db.select(ModerationAction.action).distinct().order_by(ModerationAction.action)).all()
    types = db.session.scalars(db.select(ModerationAction.target_type).distinct().order_by(ModerationAction.target_type)).all()
    actors = db.session.scalars(
        db.select(User).where(User.id.in_(db.select(ModerationAction.actor_id).distinct())).order_by(User.name)
    ).all()
    return actions, actors, types


_CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """Spreadsheets run cells starting with = + - @ as formulas: prefix them with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_CSV_DANGEROUS) else text


def audit_csv_rows(query):
    """Header and rows of the audit log for CSV export, every cell made formula-safe."""
    import json

    yield ["id", "created_at_utc", "actor_id", "actor", "action", "target_type", "target_id", "reason", "details"]
    for entry in db.session.scalars(query).unique():
        yield [csv_safe(v) for v in (
            entry.id, entry.created_at.isoformat(timespec="seconds"), entry.actor_id or "",
            entry.actor.name if entry.actor else "", entry.action, entry.target_type,
            entry.target_id if entry.target_id is not None else "", entry.reason,
            json.dumps(entry.details or {}, ensure_ascii=False, sort_keys=True),
        )]
