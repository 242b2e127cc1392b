"""Privacy services (GDPR/AVG): a member's data as a ZIP of JSON files, and account deletion.

delete_account() is the one way an account goes: by the member (with their password) or
by an administrator on request. It scrubs the person, optionally removes their posts,
replaces @mentions of them in other people's posts, signs them out everywhere, writes
the audit entry and the search outbox rows, and commits in one transaction.
"""
import io
import json
import re
import zipfile
from datetime import date, datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import outbox, ratelimit
from ..attachments.services import export_entries, remove_post_attachments
from ..events import services as events
from ..errors import DomainError
from ..extensions import db
from ..models import (
    LANGUAGES, AdviceRevision, DigestSent, Flag, ModerationAction, Notification, OrganisationChangeRequest, Post,
    PostRevision, RateLimitEvent, Reaction, Thread, ThreadRead, User, Watch, utcnow,
)
from ..moderation.audit import record
from ..permissions import can_administer
from ..threads.mentions import MENTION_RE, handle_of
from ..threads.services import refresh_thread_stats, render_body
from ..transactions import unit_of_work

DELETE_MODES = ("anonymise", "remove")
DEFAULT_EXPORT_LIMIT = (10, 3600)
# Thread fields that name a person to contact: they go with the account in both modes.
PERSONAL_THREAD_FIELDS = ("contact",)


class PrivacyError(DomainError):
    """A refused privacy action (see forum.errors.DomainError)."""

    def messages(self):
        return {
            "wrong_password": _("This is not your current password."),
            "invalid_mode": _("Choose what happens to your messages."),
            "last_admin": _("This is the last administrator account: make someone else administrator first."),
            "already_deleted": _("This account has already been deleted."),
            "forbidden": _("You are not allowed to do this."),
        }


# -- export ----------------------------------------------------------------------------

def _iso(value):
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _profile(user):
    org = user.organisation
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "email_waiting_for_confirmation": user.new_email,
        "language": user.locale,
        "role": user.role,
        "status": user.status,
        "organisation": {"id": org.id, "name": org.name, "slug": org.slug} if org is not None else None,
        "bio": user.bio,
        "mail_notifications": user.notify_mode,
        "created_at": _iso(user.created_at),
        "confirmed_at": _iso(user.confirmed_at),
        "approved_at": _iso(user.approved_at),
        "terms_accepted_at": _iso(user.terms_accepted_at),
        "last_seen_at": _iso(user.last_seen_at),
        "silenced_until": _iso(user.silenced_until),
        "suspended_until": _iso(user.suspended_until),
        "sanction_reason": user.sanction_reason,
    }


def _threads(user):
    threads = db.session.scalars(
        db.select(Thread).where(Thread.author_id == user.id).order_by(Thread.created_at, Thread.id)
    ).all()
    return [{
        "id": t.id, "title": t.title, "kind": t.kind, "language": t.language,
        "theme": t.theme.slug, "status": t.status, "created_at": _iso(t.created_at),
        "tags": [tag.name for tag in t.tags], "municipality": t.municipality, "province": t.province,
        "closes_on": _iso(t.closes_on), "closed": t.closed, "fields": dict(t.fields or {}),
    } for t in threads]


def _posts(user):
    posts = db.session.scalars(
        db.select(Post).where(Post.author_id == user.id).order_by(Post.created_at, Post.id)
    ).all()
    revisions = {}
    if posts:
        for r in db.session.scalars(
            db.select(PostRevision).where(PostRevision.post_id.in_([p.id for p in posts]))
            .order_by(PostRevision.created_at, PostRevision.id)
        ):
            revisions.setdefault(r.post_id, []).append({
                "replaced_at": _iso(r.created_at),
                "title": r.title,
                "body_source": r.body_source,
                # Who else edited is a moderator's business; the member learns that it happened.
                "edited_by": "you" if r.editor_id == user.id else "moderator",
            })
    return [{
        "id": p.id, "thread_id": p.thread_id, "thread_title": p.thread.title, "number": p.number,
        "status": p.status, "created_at": _iso(p.created_at), "edited_at": _iso(p.edited_at),
        "body_source": p.body_source, "body_html": str(p.body_html),
        "thanks_received": p.thanks_count, "history": revisions.get(p.id, []),
    } for p in posts]


def _reactions(user):
    rows = db.session.execute(
        db.select(Reaction.post_id, Post.thread_id, Reaction.created_at)
        .join(Post, Reaction.post_id == Post.id)
        .where(Reaction.user_id == user.id).order_by(Reaction.created_at)
    ).all()
    return [{"kind": "thanks", "post_id": r.post_id, "thread_id": r.thread_id, "created_at": _iso(r.created_at)}
            for r in rows]


def _notifications(user):
    items = db.session.scalars(
        db.select(Notification).where(Notification.user_id == user.id).order_by(Notification.created_at)
    ).all()
    return [{
        "kind": n.kind, "thread_id": n.thread_id, "thread_title": n.thread.title if n.thread else None,
        "post_id": n.post_id, "data": dict(n.data or {}), "created_at": _iso(n.created_at),
        "read_at": _iso(n.read_at), "emailed_at": _iso(n.emailed_at),
    } for n in items]


def _watches(user):
    items = db.session.scalars(db.select(Watch).where(Watch.user_id == user.id).order_by(Watch.created_at)).all()
    result = []
    for w in items:
        thread = db.session.get(Thread, w.thread_id) if w.thread_id else None
        result.append({
            "thread_id": w.thread_id, "thread_title": thread.title if thread else None,
            "theme_id": w.theme_id, "created_at": _iso(w.created_at),
        })
    return result


def _flags(user):
    items = db.session.scalars(db.select(Flag).where(Flag.user_id == user.id).order_by(Flag.created_at)).all()
    return [{
        "post_id": f.post_id, "reason": f.reason, "note": f.note, "created_at": _iso(f.created_at),
        "resolved_at": _iso(f.resolved_at), "resolution": f.resolution,
    } for f in items]


def _audit(user):
    """Audit entries about the member: their account, their posts and their threads."""
    post_ids = db.select(Post.id).where(Post.author_id == user.id)
    thread_ids = db.select(Thread.id).where(Thread.author_id == user.id)
    items = db.session.scalars(
        db.select(ModerationAction).where(db.or_(
            db.and_(ModerationAction.target_type == "user", ModerationAction.target_id == user.id),
            db.and_(ModerationAction.target_type == "post", ModerationAction.target_id.in_(post_ids)),
            db.and_(ModerationAction.target_type == "thread", ModerationAction.target_id.in_(thread_ids)),
        )).order_by(ModerationAction.created_at, ModerationAction.id)
    ).all()
    return [{
        "action": a.action, "target_type": a.target_type, "target_id": a.target_id,
        "reason": a.reason, "details": dict(a.details or {}), "created_at": _iso(a.created_at),
        # Moderators act for the organisation: the member sees the role, not the person.
        "by": "you" if a.actor_id == user.id else ("system" if a.actor_id is None else "moderator"),
    } for a in items]


def _organisation_requests(user):
    items = db.session.scalars(
        db.select(OrganisationChangeRequest).where(OrganisationChangeRequest.user_id == user.id)
        .order_by(OrganisationChangeRequest.created_at)
    ).all()
    return [{
        "organisation": r.organisation.name if r.organisation else None, "status": r.status,
        "created_at": _iso(r.created_at), "decided_at": _iso(r.decided_at),
    } for r in items]


def _readme(user):
    return "\n".join([
        _("Your data on Agora, exported on %(date)s.", date=utcnow().strftime("%Y-%m-%d %H:%M UTC")),
        "",
        _("profile.json: your account and profile."),
        _("threads.json: the topics you started."),
        _("posts.json: your messages, each with its earlier versions (history)."),
        _("reactions.json: the messages you thanked."),
        _("notifications.json: your notifications."),
        _("watches.json: the topics and themes you follow."),
        _("flags.json: the messages you reported to the moderators."),
        _("audit.json: moderator actions about you, your topics and your messages."),
        _("organisation_requests.json: your requests to change organisation."),
        _("events.json: the events you registered for, with your notes."),
        "",
        _("Times are in UTC. Texts are in Markdown (body_source) and as shown on the site (body_html)."),
        "",
    ])


@unit_of_work()
def export_data(user):
    """The member's data as ZIP bytes of JSON files (and a README in their language).

    Counted against a per-member limit: building it reads everything they ever wrote.
    Raises RateLimited.
    """
    limit = current_app.config.get("RATELIMIT_PRIVACY_EXPORT", DEFAULT_EXPORT_LIMIT)
    ratelimit.hit(f"privacy-export:{user.id}", limit)
    files = {
        "profile.json": _profile(user),
        "threads.json": _threads(user),
        "posts.json": _posts(user),
        "reactions.json": _reactions(user),
        "notifications.json": _notifications(user),
        "watches.json": _watches(user),
        "flags.json": _flags(user),
        "audit.json": _audit(user),
        "organisation_requests.json": _organisation_requests(user),
        "events.json": events.export_registrations(user),
    }
    attached = export_entries(user)
    readme = _readme(user)
    if attached:
        readme += _("attachments.json and attachments/: the files you attached to your messages.") + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        for name, data in files.items():
            archive.writestr(name, json.dumps(data, ensure_ascii=False, indent=2, default=str))
        for name, data in attached:
            archive.writestr(name, data)
    return buffer.getvalue()


# -- deletion --------------------------------------------------------------------------

def _key(handle):
    return handle.replace("’", "'").lower()


def former_member_label(lang):
    with force_locale(lang if lang in LANGUAGES else "nl"):
        return _("former member")


def replace_mentions(text, handle, replacement):
    """`text` with every @mention of `handle` (as the forum resolves it) made @replacement."""
    wanted = _key(handle)

    def sub(match):
        return "@" + replacement if _key(match.group(1)) == wanted else match.group(0)

    return MENTION_RE.sub(sub, text or "")


def _like_fragment(handle):
    """The longest ASCII run of a handle: SQLite's LIKE folds case for ASCII letters only."""
    runs = re.findall(r"[A-Za-z0-9]+", handle)
    best = max(runs, key=len, default="")
    return best if len(best) >= 3 else ""


def _scrub_mentions(handle):
    """Replace @handle in every post and earlier version; returns the ids of changed posts."""
    if not handle:
        return set()
    fragment = _like_fragment(handle)
    pattern = f"%{fragment}%" if fragment else "%@%"
    changed = set()
    labels = {}
    posts = db.session.scalars(db.select(Post).where(Post.body_source.like(pattern))).all()
    for post in posts:
        lang = post.thread.language
        label = labels.setdefault(lang, former_member_label(lang))
        source = replace_mentions(post.body_source, handle, label)
        if source != post.body_source:
            post.body_source = source
            post.body_html = str(render_body(source))
            changed.add(post.id)
    revisions = db.session.scalars(db.select(PostRevision).where(PostRevision.body_source.like(pattern))).all()
    for revision in revisions:
        post = db.session.get(Post, revision.post_id)
        lang = post.thread.language if post is not None else "nl"
        label = labels.setdefault(lang, former_member_label(lang))
        source = replace_mentions(revision.body_source, handle, label)
        if source != revision.body_source:
            revision.body_source = source
            changed.add(revision.post_id)
    return changed


def _check_password(user, password):
    # Auth's guard: limited per account (the form must not become a password oracle), and
    # hashed before the write transaction begins.
    from auth.services import AuthError, check_current_password

    try:
        check_current_password(user, password or "")
    except AuthError:
        raise PrivacyError("wrong_password", field="password") from None


def _remove_posts(user, posts):
    """Posts removed at the member's choice: status deleted, text and history wiped.

    A thread they started is deleted too unless others replied in it; then it stays
    (with its title) so those replies remain readable.
    """
    threads = {}
    for post in posts:
        thread = post.thread
        threads[thread.id] = thread
        post.status = "deleted"
        post.body_source = ""
        post.body_html = ""
        post.hidden_reason = ""
        if thread.accepted_post_id == post.id:
            thread.accepted_post_id = None
    post_ids = [p.id for p in posts]
    if post_ids:
        db.session.execute(db.delete(PostRevision).where(PostRevision.post_id.in_(post_ids)))
        remove_post_attachments(post_ids)
    for thread in threads.values():
        if thread.author_id == user.id:
            thread.fields = {}
            # An advice's earlier versions hold the same texts (forum/advice/services.py).
            db.session.execute(db.delete(AdviceRevision).where(AdviceRevision.thread_id == thread.id))
            others = db.session.scalar(
                db.select(db.func.count(Post.id)).where(
                    Post.thread_id == thread.id, Post.status != "deleted",
                    db.or_(Post.author_id.is_(None), Post.author_id != user.id))
            )
            if not others:
                thread.status = "deleted"
        refresh_thread_stats(thread)
    return threads


@unit_of_work()
def delete_account(actor, user, mode, password=None, reason=""):
    """Delete an account: by its owner (password required) or by an administrator.

    mode "anonymise": the posts stay, attributed to "former member".
    mode "remove": the posts are removed too (replies by others stay).
    In both modes name, e-mail address (a unique placeholder frees the real one),
    password, bio, organisation, watches, notifications and reading marks go; @mentions
    of the member in all posts become "@former member"; every session ends.
    Commits, then mails the old address. Returns a summary dict.
    """
    if mode not in DELETE_MODES:
        raise PrivacyError("invalid_mode", field="mode")
    if user.deleted_at is not None:
        raise PrivacyError("already_deleted")
    by_self = actor.id == user.id
    if not by_self and not can_administer(actor):
        raise PrivacyError("forbidden")
    if by_self:
        _check_password(user, password)
    if user.role == "admin":
        from ..admin.services import is_last_admin

        if is_last_admin(user):
            raise PrivacyError("last_admin")

    old_email, old_name, lang = user.email, user.name, user.locale
    handle = handle_of(old_name)
    now = utcnow()
    # Gone from the mention resolver before any post is re-rendered.
    user.deleted_at = now
    db.session.flush()

    own_posts = db.session.scalars(db.select(Post).where(Post.author_id == user.id)).all()
    own_threads = db.session.scalars(db.select(Thread).where(Thread.author_id == user.id)).all()
    affected_posts = {p.id for p in own_posts}
    affected_threads = {t.id for t in own_threads}
    if mode == "remove":
        affected_threads.update(_remove_posts(user, own_posts).keys())
    for thread in own_threads:
        fields = dict(thread.fields or {})
        if any(name in fields for name in PERSONAL_THREAD_FIELDS):
            for name in PERSONAL_THREAD_FIELDS:
                fields.pop(name, None)
            thread.fields = fields
    mentioned_in = _scrub_mentions(handle) - {p.id for p in own_posts}
    affected_posts |= mentioned_in

    promoted = events.release_seats(user)  # their seats go to the people waiting
    for model in (Watch, Notification, ThreadRead, DigestSent):
        db.session.execute(db.delete(model).where(model.user_id == user.id))
    db.session.execute(db.delete(OrganisationChangeRequest).where(
        OrganisationChangeRequest.user_id == user.id, OrganisationChangeRequest.status == "open"))
    db.session.execute(db.delete(RateLimitEvent).where(RateLimitEvent.key.endswith(":" + old_email)))

    user.name = f"deleted-{user.id}"
    user.email = f"deleted-{user.id}@invalid"
    user.new_email = None
    user.password_hash = None
    user.bio = ""
    user.organisation_id = None
    user.role = "member"
    user.notify_mode = "never"
    user.sanction_reason = ""
    user.import_ref = None
    user.last_seen_at = None
    user.rotate_session_token()

    record(actor, "delete_account", "user", user.id, reason, mode=mode, by_self=by_self,
           posts=len(own_posts), mentions_replaced=len(mentioned_in))
    outbox.enqueue("user", user.id)
    for post_id in sorted(affected_posts):
        outbox.enqueue("post", post_id)
    for thread_id in sorted(affected_threads):
        outbox.enqueue("thread", thread_id)
    db.session.commit()
    events.mail_promotions(promoted)
    _mail_deleted(old_email, old_name, lang, mode, by_self)
    return {"posts": len(own_posts), "mentions": len(mentioned_in), "mode": mode}


def _mail_deleted(email, name, lang, mode, by_self):
    from auth.mail import send_mail

    send_mail(email, "privacy_account_deleted", lang if lang in LANGUAGES else "nl",
              subject=lambda: _("Your Agora account has been deleted"),
              name=name, mode=mode, by_self=by_self)
