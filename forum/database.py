"""SQLite tuning for a multi-process server; PostgreSQL needs none of it."""
from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def wants_write_lock():
    """Whether the transaction about to begin should take SQLite's write lock at once.

    A deferred transaction that reads and later writes fails with SQLITE_BUSY (no
    waiting helps) when another worker committed in between. Requests that change
    things therefore begin IMMEDIATE and queue on the busy timeout instead; reads stay
    deferred so that WAL lets them run in parallel. A GET that must write (read markers)
    sets g.sqlite_write before its write transaction begins.
    """
    if has_request_context():
        return g.get("sqlite_write", request.method not in SAFE_METHODS)
    return True  # CLI commands and jobs write.


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.split(".")[0] not in {"sqlite3", "pysqlite2"}:
        return
    # Let SQLAlchemy's "begin" event emit BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if wants_write_lock() else "BEGIN")
