"""Small recurring jobs: close vacancies past their date, prune counters, drain the search outbox."""
import logging
from datetime import timedelta

from search.backend import IndexBusy
from search.indexing import sync_outbox

from .. import outbox, ratelimit
from ..extensions import db
from ..models import DigestSent, Thread, utcnow
from .clock import local_today

log = logging.getLogger(__name__)

DIGEST_RECORDS_KEPT = timedelta(days=120)


def close_vacancies(today=None):
    """Close open vacancies whose closing date has passed; returns how many. Idempotent."""
    today = today or local_today()
    threads = db.session.scalars(
        db.select(Thread).where(Thread.kind == "vacancy", Thread.closed.is_(False),
                                Thread.closes_on.is_not(None), Thread.closes_on < today)
    ).all()
    for thread in threads:
        thread.closed = True
        outbox.enqueue("thread", thread.id)  # the index shows open/closed vacancies
    db.session.commit()
    return len(threads)


def prune():
    """Drop rate-limit events no limit looks at any more, old digest records and expired
    passkey challenges (a browser that never answered leaves one behind).

    A digest record only matters while its period can still be sent; four months back is
    plenty (weekly keys are per ISO week, so old rows never block a new digest).
    """
    events = ratelimit.prune()
    cutoff = utcnow() - DIGEST_RECORDS_KEPT
    digests = db.session.execute(db.delete(DigestSent).where(DigestSent.created_at < cutoff)).rowcount
    from auth.passkeys import prune_challenges  # the accounts area owns the table

    challenges = prune_challenges()
    db.session.commit()
    return {"rate_limit_events": events, "digest_records": digests, "passkey_challenges": challenges}


def drain_search_outbox():
    """Index what the search outbox holds, as `search sync` does; returns the rows indexed.
    Raises IndexBusy when the index writer stayed busy and nothing was indexed."""
    indexed, left = sync_outbox()
    if left and not indexed:
        raise IndexBusy(f"the index writer stayed busy; {left} outbox rows stay for the next round")
    return indexed

