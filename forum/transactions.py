"""The one transaction pattern: services own commit and rollback; views never touch either."""
from contextlib import ContextDecorator, contextmanager

from flask import g, has_request_context

from .extensions import db


class unit_of_work(ContextDecorator):
    """Commit what the block wrote when it ends normally; roll all of it back when it raises.

    Decorate every public service function that writes (``@unit_of_work()``), or wrap a
    job step or an import (``with unit_of_work():``). Any exception -- a DomainError raised
    after a partial write, RateLimited, a database error -- rolls the whole session back and
    is re-raised unchanged, so the view that called the service only turns the error into
    a message next to the field: nothing half-written stays in the session or reaches the
    database, and views never call ``db.session.rollback()`` or ``commit()``.

    A service may still commit earlier itself where something must follow the commit (a
    mail, notifications delivered at once); the unit then commits whatever came after, and
    skips the commit when no transaction is open (a commit expires every loaded object).

    Units do not nest into one transaction: an inner unit (a service calling another
    service) ends the outer one's transaction, as the inner service's own commit always
    did. A service therefore calls another writing service last.
    """

    def __enter__(self):
        return db.session

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and db.session().in_transaction():
            try:
                db.session.commit()
            except BaseException:  # a failed commit (constraint, lost connection) as well
                db.session.rollback()
                raise
        elif exc_type is not None:
            db.session.rollback()
        return False  # an exception goes on to the caller unchanged


def end_read():
    """End a transaction that only read, so no snapshot or SQLite lock is held during slow
    work (re-encoding images, reading files, building the search index, sending mail).

    Only for reads: it is a rollback, so anything written and not committed would be lost.
    """
    db.session.rollback()


@contextmanager
def writing_lock():
    """Let the transactions begun inside take SQLite's write lock at once, even in a GET, and
    leave the request's later transactions as they were (deferred for a GET)."""
    if not has_request_context():
        yield
        return
    before = g.get("sqlite_write")
    g.sqlite_write = True
    try:
        yield
    finally:
        if before is None:
            g.pop("sqlite_write", None)
        else:
            g.sqlite_write = before


def begin_writing():
    """Let a GET request write: end its read transaction so the next one takes the write lock.

    SQLite starts GET transactions deferred (forum/database.py); a GET that must write (a
    link followed from a mail, a read marker) asks for the lock up front.
    """
    if has_request_context():
        g.sqlite_write = True
    if db.session().in_transaction():
        db.session.commit()
