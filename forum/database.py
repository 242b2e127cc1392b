"""SQLite tuning for a multi-process server; PostgreSQL needs none of it."""
from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# How long a statement waits for SQLite's write lock before "database is locked".
BUSY_TIMEOUT_MS = 30000

# True inside read_phase(): the transaction that begins there stays deferred.
_reading = ContextVar("agora_read_phase", default=False)


def wants_write_lock():
    """Whether the transaction about to begin should take SQLite's write lock at once.

    A deferred transaction that reads and later writes fails with SQLITE_BUSY (no
    waiting helps) when another worker committed in between. Requests that change
    things therefore begin IMMEDIATE and queue on the busy timeout instead; reads stay
    deferred so that WAL lets them run in parallel. A GET that must write (read markers)
    sets g.sqlite_write before its write transaction begins; slow read-only work of a
    POST runs in read_phase() before it.
    """
    if _reading.get():
        return False
    if has_request_context():
        return g.get("sqlite_write", request.method not in SAFE_METHODS)
    return True  # CLI commands and jobs write.


@contextmanager
def read_phase():
    """Run slow read-only work (password hashing) outside SQLite's write lock.

    A POST's transaction begins IMMEDIATE (see wants_write_lock), so a password hash
    computed inside it kept every other writer waiting: logins queued one after the
    other and a reply waited behind them. The transaction open so far (at that point
    only the signed-in member's row was read) is committed, the block runs in a deferred
    transaction, and that one is rolled back at the end; the next statement begins the
    write transaction. The block must not write, and what it read may have changed by
    then: the caller checks again under the lock what its decision rests on (the
    stored password hash, the rate-limit counts). Loaded objects are expired by both
    ends, so they are read again. On PostgreSQL this only draws transaction boundaries.
    """
    from .extensions import db

    db.session.commit()
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)
        db.session.rollback()


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.split(".")[0] not in {"sqlite3", "pysqlite2"}:
        return
    # Let SQLAlchemy's "begin" event emit BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if wants_write_lock() else "BEGIN")


@contextmanager
def write_or_leave(engine):
    """A write transaction on a connection of its own that does not wait for SQLite's write
    lock: yields the connection, or None at once when another connection holds the lock.

    For writes that may wait for a later chance (read markers): with two workers on two
    cores, a worker sleeping in SQLite's busy handler leaves a core idle while the other
    saves a post. On PostgreSQL (row locks, no database-wide write lock) it always writes.
    """
    from sqlalchemy.exc import OperationalError

    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA busy_timeout=0")
        try:
            try:
                transaction = connection.begin()  # BEGIN IMMEDIATE (the caller's writing_lock)
            except OperationalError as exc:
                if raw is None or "locked" not in str(exc.orig):
                    raise
                connection.rollback()
                yield None
                return
            with transaction:
                yield connection
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
