"""Two processes writing to one SQLite file at once lose nothing and see no lock errors."""
import multiprocessing

from forum import create_app
from forum.extensions import db
from forum.models import RateLimitEvent

WRITES = 150


def _writer(config, tag, errors):
    app = create_app(config)
    try:
        for i in range(WRITES):
            # A POST request context: the transaction begins IMMEDIATE, as in a real request.
            with app.test_request_context("/nl/x", method="POST"):
                # Read, then write: the pattern that fails with SQLITE_BUSY when deferred.
                seen = db.session.scalar(db.select(db.func.count(RateLimitEvent.id)))
                db.session.add(RateLimitEvent(key=f"{tag}:{i}:{seen}"))
                db.session.commit()
                db.session.remove()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{tag}: {exc!r}")


def test_two_processes_writing_at_once_lose_nothing(app, app_config):
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    workers = [ctx.Process(target=_writer, args=(app_config, tag, errors)) for tag in ("a", "b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []
    assert all(w.exitcode == 0 for w in workers)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RateLimitEvent.id))) == 2 * WRITES
