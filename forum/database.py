"""SQLite tuning for a multi-process server; PostgreSQL needs none of it."""
import time
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


# Waiting for the write lock. SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms …
# between tries, so a worker whose turn came 0.5 ms after its third try slept on until
# 8 ms: under a burst of replies (each holding the lock a few ms) the workers spent about
# 7 % of their time asleep with the lock free. The first WRITE_LOCK_POLL_SECONDS are
# tried here every WRITE_LOCK_POLL_STEP seconds instead; past them the busy handler waits
# as before (up to BUSY_TIMEOUT_MS) and gives its usual error.
WRITE_LOCK_POLL_SECONDS = 0.05
WRITE_LOCK_POLL_STEP = 0.0003

# True inside write_or_leave(): one try, no wait.
_leave_if_locked = ContextVar("agora_leave_if_locked", default=False)


def _poll_write_lock(raw):
    """Try BEGIN IMMEDIATE on the DBAPI connection until it succeeds (True) or the polling
    time is over (False, no transaction begun)."""
    import sqlite3

    deadline = time.monotonic() + WRITE_LOCK_POLL_SECONDS
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    return False  # (the statement below raises it the usual way)
            if time.monotonic() >= deadline:
                return False
            time.sleep(WRITE_LOCK_POLL_STEP)
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    if not wants_write_lock():
        conn.exec_driver_sql("BEGIN")
    elif _leave_if_locked.get() or not _poll_write_lock(conn.connection.dbapi_connection):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
        token = _leave_if_locked.set(True)
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
            _leave_if_locked.reset(token)
            if raw is not None:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
