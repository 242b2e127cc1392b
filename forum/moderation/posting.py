"""Hooks into the forum services: rate limits, duplicates, pre-moderation, and the audit
entries for moderators who edit or delete through the ordinary forum pages.

They run as app.extensions["agora_post_hooks"] / ["agora_delete_hooks"] inside the forum
services' transaction, so a refused post leaves nothing behind (the view rolls back) and
its text stays in the editor.
"""
import re
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from flask_login import current_user

from .. import ratelimit
from ..extensions import db
from ..models import Post, User, utcnow
from ..threads.services import ForumError, refresh_thread_stats

DEFAULTS = {
    # (count, seconds) pairs; every pair must hold.
    "POST_RATE_LIMITS": ((5, 60), (50, 60 * 60 * 24)),
    "NEW_MEMBER_POST_RATE_LIMITS": ((2, 60), (10, 60 * 60 * 24)),
    "DUPLICATE_POST_SECONDS": 600,
    # Fewer visible posts than this makes a "new member" (stricter limits, link cap).
    "NEW_MEMBER_POSTS": 5,
}
_LINK = re.compile(r"(?:https?://|www\.)", re.I)


class PostingRefused(ForumError):
    """A post refused to protect the community; carries its own translated message."""

    def __init__(self, code, **params):
        super().__init__(code, field="body", **params)

    @property
    def message(self):
        if self.code == "duplicate":
            return _("You posted this same text a few minutes ago. Change it or wait a while; your text is still here.")
        if self.code == "daily_limit":
            return _("You have reached the maximum of %(count)d messages per day. Try again tomorrow; your text is still here.",
                     count=self.params.get("count", 0))
        return _("You are posting very quickly. Wait a minute and send your text again; it is still here.")


def _config(name):
    return current_app.config.get(name, DEFAULTS.get(name))


def _acting_moderator():
    """True when a moderator edits someone else's post in this request."""
    return has_request_context() and getattr(current_user, "is_authenticated", False) and current_user.is_moderator


def visible_post_count(user_id, exclude_id=None):
    query = db.select(db.func.count(Post.id)).where(Post.author_id == user_id, Post.status == "visible")
    if exclude_id is not None:
        query = query.where(Post.id != exclude_id)
    return db.session.scalar(query) or 0


def link_count(text):
    return len(_LINK.findall(text or ""))


def _normalised(text):
    return re.sub(r"\s+", " ", text or "").strip().lower()


def check_duplicate(post, created):
    """Refuse the same text from the same member within DUPLICATE_POST_SECONDS."""
    if not created or post.author_id is None:
        return
    author = db.session.get(User, post.author_id)
    if author is None or author.is_moderator:
        return
    since = utcnow() - timedelta(seconds=_config("DUPLICATE_POST_SECONDS"))
    body = _normalised(post.body_source)
    recent = db.session.scalars(db.select(Post.body_source).where(
        Post.author_id == author.id, Post.id != post.id, Post.created_at >= since, Post.status != "deleted"))
    if any(_normalised(other) == body for other in recent):
        raise PostingRefused("duplicate")


def check_rate(post, created):
    """Count a new post against the member's per-minute and per-day limits."""
    if not created or post.author_id is None:
        return
    author = db.session.get(User, post.author_id)
    if author is None or author.is_moderator:
        return
    new = visible_post_count(author.id, exclude_id=post.id) < _config("NEW_MEMBER_POSTS")
    limits = _config("NEW_MEMBER_POST_RATE_LIMITS" if new else "POST_RATE_LIMITS")
    key = f"posting:{author.id}"
    for allowed, seconds in limits:
        try:
            ratelimit.check(key, (allowed, seconds))
        except ratelimit.RateLimited:
            raise PostingRefused("daily_limit" if seconds >= 3600 else "too_fast", count=allowed) from None
    # In the post's own transaction: a post that fails later does not count.
    ratelimit.hit(key, commit=False)


def premoderate(post, created):
    """Hold the first posts of a new member, and a new member's posts with many links.

    A held opening post hides its thread (from lists and other readers) until approved.
    Moderators and admins are never held, nor is a moderator's edit of someone's post.
    """
    if post.status != "visible" or post.author_id is None:
        return
    author = db.session.get(User, post.author_id)
    if author is None or author.is_moderator or _acting_moderator():
        return
    visible = visible_post_count(author.id, exclude_id=post.id)
    hold = created and visible < _config("PREMODERATE_FIRST_POSTS")
    if not hold and visible < _config("NEW_MEMBER_POSTS"):
        hold = link_count(post.body_source) > _config("NEW_MEMBER_MAX_LINKS")
    if not hold:
        return
    post.status = "held"
    thread = post.thread
    if post.number == 1 and thread.status == "visible":
        thread.status = "hidden"
    refresh_thread_stats(thread)


# Set while a moderation service calls a forum service: it writes its own audit entry.
_recorded = ContextVar("moderation_recorded", default=False)


@contextmanager
def already_recorded():
    token = _recorded.set(True)
    try:
        yield
    finally:
        _recorded.reset(token)


def record_moderator_edit(post, created):
    """A moderator editing someone's post on the forum's own edit page is audited too."""
    from .audit import record

    if created or _recorded.get() or not _acting_moderator() or current_user.id == post.author_id:
        return
    record(current_user._get_current_object(), "edit_post", "post", post.id, "",
           thread_id=post.thread_id, via="forum")


def record_moderator_delete(actor, post):
    """A moderator deleting someone's post with the forum's delete button: audit entry,
    reports closed, and the author told (mailed after the request, once committed)."""
    from . import services
    from .audit import record

    if _recorded.get() or actor is None or not actor.is_moderator or actor.id == post.author_id:
        return
    flags = services._resolve_flags(post, actor, "deleted")
    record(actor, "delete_post", "post", post.id, "", flags=flags, thread_id=post.thread_id,
           thread_deleted=post.number == 1, via="forum")
    notice = services._notice(post.author, "post_deleted", "", thread=post.thread, post=post)
    if notice is not None and has_request_context():
        g.setdefault("moderation_notices", []).append(notice)


def deliver_pending(response):
    """after_request: mail the notices of this request that were committed."""
    from sqlalchemy import inspect

    from . import services

    notices = g.pop("moderation_notices", None)
    if notices:
        committed = [n for n in notices if inspect(n[0]).persistent]
        if committed:
            services._deliver(committed)
    return response


HOOKS = (check_duplicate, check_rate, premoderate, record_moderator_edit)
DELETE_HOOKS = (record_moderator_delete,)


def install(app):
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    hooks = app.extensions.setdefault("agora_post_hooks", [])
    for hook in HOOKS:
        if hook not in hooks:
            hooks.append(hook)
    delete_hooks = app.extensions.setdefault("agora_delete_hooks", [])
    for hook in DELETE_HOOKS:
        if hook not in delete_hooks:
            delete_hooks.append(hook)
    app.after_request(deliver_pending)
