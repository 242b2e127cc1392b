"""Rate limits counted in the database, so every worker process and app server shares them."""
from datetime import timedelta

from flask import current_app

from .extensions import db
from .models import RateLimitEvent, utcnow


class RateLimited(Exception):
    """Raised when a limit is reached; views answer 429 with a translated message."""

    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


def _count(key, seconds):
    since = utcnow() - timedelta(seconds=seconds)
    return db.session.scalar(
        db.select(db.func.count(RateLimitEvent.id)).where(
            RateLimitEvent.key == key, RateLimitEvent.created_at > since
        )
    )


def check(key, limit):
    """Raise RateLimited when `key` has used up `limit` = (count, seconds); does not count."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    allowed, seconds = limit
    if _count(key, seconds) >= allowed:
        raise RateLimited(seconds)


def reached(key, limit):
    """Whether `key` has used up `limit` (for a limit that changes what happens, not a 429)."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return False
    allowed, seconds = limit
    return _count(key, seconds) >= allowed


def hit(key, limit=None, commit=True):
    """Count one attempt for `key` (after checking `limit` when given).

    Committed at once by default: a failed login must count even though the request
    that made it changes nothing else.
    """
    if limit is not None:
        check(key, limit)
    db.session.add(RateLimitEvent(key=key))
    if commit:
        db.session.commit()


def clear(key):
    db.session.execute(db.delete(RateLimitEvent).where(RateLimitEvent.key == key))


def prune(older_than_seconds=60 * 60 * 24):
    """Drop counted attempts that no limit looks at any more (a job)."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    result = db.session.execute(db.delete(RateLimitEvent).where(RateLimitEvent.created_at < cutoff))
    db.session.commit()
    return result.rowcount
