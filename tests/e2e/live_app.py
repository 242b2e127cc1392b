"""The real app for gunicorn in load and fault tests, with test-only settings from the
environment (the production config has no switches for these, and should not):

AGORA_TEST_OVERRIDES      JSON object merged into the config (e.g. rate limits off)
AGORA_TEST_MAX_PAGE_COUNT SQLite `PRAGMA max_page_count` on every connection: the database
                          file cannot grow past it, as on a full disk

Run as `gunicorn tests.e2e.live_app:app` (LiveServer(app=...)).
"""
import json
import os

from sqlalchemy import event
from sqlalchemy.engine import Engine

from forum import create_app

_max_pages = os.environ.get("AGORA_TEST_MAX_PAGE_COUNT")
if _max_pages:
    @event.listens_for(Engine, "connect")
    def _cap_database_size(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {int(_max_pages)}")
        cursor.close()

app = create_app(json.loads(os.environ.get("AGORA_TEST_OVERRIDES") or "{}"))
