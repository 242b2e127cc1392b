"""Two processes writing to one SQLite file at once lose nothing and see no lock errors."""
from forum import create_app
from forum.extensions import db
from forum.models import RateLimitEvent
from tests.conftest import run_processes

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
    problems, exit_codes = run_processes(_writer, [(app_config, tag) for tag in ("a", "b")])
    assert problems == []
    assert exit_codes == [0, 0]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RateLimitEvent.id))) == 2 * WRITES
