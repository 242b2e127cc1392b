"""Anti-abuse checks on new and edited posts: rate limits, duplicates, pre-moderation.

The forum services call screen_post() inside their transaction, before commit, so a
refused post leaves nothing behind and its text stays in the editor.
"""
import re
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _

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


def visible_post_count(user_id, exclude_id=None, up_to=None):
    """The member's visible posts; with up_to, counting stops there (all that "fewer than N"
    needs: a prolific member's posts are not all counted on every post they write)."""
    if up_to is not None and up_to <= 0:
        return 0
    query = db.select(Post.id).where(Post.author_id == user_id, Post.status == "visible")
    if exclude_id is not None:
        query = query.where(Post.id != exclude_id)
    if up_to is not None:
        query = query.limit(up_to)
    return db.session.scalar(db.select(db.func.count()).select_from(query.subquery())) or 0


def _new_member_posts(author_id, exclude_id):
    """visible_post_count as far as the new-member rules look."""
    return visible_post_count(author_id, exclude_id, up_to=max(_config("NEW_MEMBER_POSTS"),
                                                             _config("PREMODERATE_FIRST_POSTS")))


def link_count(text):
    return len(_LINK.findall(text or ""))


def _normalised(text):
    return re.sub(r"\s+", " ", text or "").strip().lower()


def check_duplicate(post, author):
    """Refuse the same text from the same member within DUPLICATE_POST_SECONDS."""
    since = utcnow() - timedelta(seconds=_config("DUPLICATE_POST_SECONDS"))
    body = _normalised(post.body_source)
    recent = db.session.scalars(db.select(Post.body_source).where(
        Post.author_id == author.id, Post.id != post.id, Post.created_at >= since, Post.status != "deleted"))
    if any(_normalised(other) == body for other in recent):
        raise PostingRefused("duplicate")


def check_rate(post, author):
    """Count a new post against the member's per-minute and per-day limits."""
    new = _new_member_posts(author.id, post.id) < _config("NEW_MEMBER_POSTS")
    limits = _config("NEW_MEMBER_POST_RATE_LIMITS" if new else "POST_RATE_LIMITS")
    key = f"posting:{author.id}"
    for allowed, seconds in limits:
        try:
            ratelimit.check(key, (allowed, seconds))
        except ratelimit.RateLimited:
            raise PostingRefused("daily_limit" if seconds >= 3600 else "too_fast", count=allowed) from None
    # In the post's own transaction: a post that fails later does not count.
    ratelimit.hit(key, commit=False)


def premoderate(post, author, created):
    """Hold the first posts of a new member, and a new member's posts with many links.

    A held opening post hides its thread (from lists and other readers) until approved.
    """
    if post.status != "visible":
        return
    visible = _new_member_posts(author.id, post.id)
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


def screen_post(post, actor, created):
    """Run the anti-abuse checks on a new (`created`) or edited post by `actor`, before
    commit: refuse a repeated text or a member over the rate limits (PostingRefused), or
    hold a new member's post for review (its status becomes "held").

    Moderators and admins are never limited or held, nor is a moderator's edit of
    someone's post.
    """
    author = db.session.get(User, post.author_id) if post.author_id is not None else None
    if author is None or author.is_moderator:
        return
    if created:
        check_duplicate(post, author)
        check_rate(post, author)
    if actor is None or not actor.is_moderator:
        premoderate(post, author, created)


def install(app):
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config.setdefault("FLAGS_TO_HIDE", 3)
    app.config.setdefault("PREMODERATE_FIRST_POSTS", 2)
    app.config.setdefault("NEW_MEMBER_MAX_LINKS", 2)
