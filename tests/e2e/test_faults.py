"""Faults against the live gunicorn server: a worker killed while members post, a read-only
or full database, a disk that fills up, and a backup taken while members post and then
restored. Nothing already saved may be lost, nothing may be half-written, and the visitor
gets the translated 503 page, never a stack trace.
"""
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import closing

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from tests.live import LiveServer

from . import support
from .conftest import golden_members, mail_env, site_from
from .webclient import WebClient

pytestmark = pytest.mark.slow  # `-m "e2e and not slow"` leaves the load and fault tests out
OVERRIDES = {"RATELIMIT_ENABLED": False, "PREMODERATE_FIRST_POSTS": 0, "NEW_MEMBER_POSTS": 0}


@pytest.fixture
def make_server(tmp_path_factory, smtp_server, golden_site):
    """Fresh sites with demo content; each test may stop and restart its server with other
    settings (LiveServer.env) on the same instance folder."""
    servers = []

    def make(instance=None, members=4, **env):
        instance = site_from(golden_site, instance or tmp_path_factory.mktemp("fault-instance"))
        server = LiveServer(instance, workers=2, app="tests.e2e.live_app:app", env={
            **mail_env(smtp_server), "AGORA_TEST_OVERRIDES": json.dumps(OVERRIDES), **env})
        server.members = golden_members(members)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def restart(server, **env):
    server.stop()
    for key, value in env.items():
        if value is None:
            server.env.pop(key, None)
        else:
            server.env[key] = value
    server.start()
    return server


def integrity(server):
    with closing(sqlite3.connect(support.db_path(server), timeout=30)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def translated(lang, message):
    """`message` as the site's own catalog translates it."""
    from forum import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(translated.instance)})
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return _(message)


def assert_unavailable_page(answer, lang):
    """The translated 503 page: not a traceback, not a bare gunicorn error."""
    assert answer.status == 503, f"{answer.status}: {answer.text[:500]}"
    assert f'<html lang="{lang}">' in answer.text
    assert translated(lang, "Temporarily unavailable") in answer.text
    assert "Traceback" not in answer.text and "OperationalError" not in answer.text
    assert "Content-Security-Policy" in {k.title() for k in answer.headers}


@pytest.fixture(autouse=True)
def _catalog_instance(tmp_path):
    translated.instance = tmp_path / "catalog-instance"


def post_body(token, size=0):
    filler = " Wij vragen de gemeente om meer tijd voor advies." * (size // 50)
    return f"Bij ons in de adviesraad werkt het zo ({token}).{filler}"


def tokens_in_database(server):
    rows = support.query(server, "SELECT id, thread_id, body_source, body_html, status FROM post "
                                 "WHERE body_source LIKE '%(ft%'")
    found = {}
    for post_id, thread_id, body, html, status in rows:
        token = body.split("(", 1)[1].split(")", 1)[0]
        found.setdefault(token, []).append((post_id, thread_id, html, status))
    return found


def assert_thread_stats_consistent(server):
    """Counters written in the same transaction as the post agree with the posts."""
    rows = support.query(server, """
        SELECT t.id, t.post_count, (SELECT count(*) FROM post p WHERE p.thread_id = t.id AND p.status = 'visible'),
               t.last_post_id, (SELECT max(p.id) FROM post p WHERE p.thread_id = t.id AND p.status = 'visible')
        FROM thread t WHERE t.status = 'visible'""")
    wrong = [r for r in rows if r[1] != r[2] or r[3] != r[4]]
    assert not wrong, f"thread statistics out of step with the posts: {wrong[:5]}"


def findable(server, reader, post_ids_by_token):
    missing = []
    for token, post_id in post_ids_by_token.items():
        data = json.loads(reader.get(f"/api/v1/search?q={token}").body)
        if post_id not in {r["post_id"] for r in data.get("results", [])}:
            missing.append(token)
    return missing


class Poster(threading.Thread):
    """A member posting replies one after another, recording what was acknowledged."""

    def __init__(self, server, email, threads, stop):
        super().__init__(daemon=True)
        self.client = WebClient(server.url, timeout=30)
        self.client.sign_in(email, support.MEMBER_PASSWORD)
        self.threads = threads
        self.stop = stop
        self.acked, self.dropped, self.other = [], [], []

    def run(self):
        rnd = random.Random(id(self))
        while not self.stop.is_set():
            token = f"ft{secrets.token_hex(5)}"
            thread_id = rnd.choice(self.threads)
            sent = time.monotonic()
            try:
                answer = self.client.post(f"/nl/t/{thread_id}/reply", {"body": post_body(token)})
            except OSError:  # the worker died under us: the post may or may not be saved
                self.dropped.append(token)
                continue
            if answer.status == 302:
                self.acked.append((token, thread_id, sent, time.monotonic()))
            else:
                self.other.append((token, answer.status))
                time.sleep(0.05)


def test_killing_workers_while_members_post_leaves_whole_posts_or_none(make_server):
    server = make_server().start()
    threads = support.writable_threads(server)
    stop = threading.Event()
    posters = [Poster(server, email, threads, stop) for email in server.members]
    for poster in posters:
        poster.start()
    kills = 0
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and (kills < 4 or sum(len(p.dropped) for p in posters) < 2):
            time.sleep(random.uniform(0.8, 2.0))
            workers = server.worker_pids()
            if workers:
                os.kill(random.choice(workers), signal.SIGKILL)
                kills += 1
    finally:
        time.sleep(1)
        stop.set()
        for poster in posters:
            poster.join(timeout=60)
    acked = [a for p in posters for a in p.acked]
    dropped = [t for p in posters for t in p.dropped]
    other = [o for p in posters for o in p.other]
    assert kills >= 4 and dropped, f"the kills did not interrupt a post ({kills} kills)"
    assert acked, "nothing was posted"
    # Answers other than 302 are the 503/500 pages of a worker that lost its database
    # connection mid-request; never more than a handful.
    assert all(status in (500, 502, 503) for _t, status in other), other
    assert len(other) <= kills * len(posters), other

    # The master replaced every killed worker; the site answers.
    deadline = time.monotonic() + 30
    while len(server.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(server.worker_pids()) == 2
    assert WebClient(server.url).get("/nl/latest").status == 200

    found = tokens_in_database(server)
    assert not [t for t, *_ in acked if t not in found], "an acknowledged post is missing"
    assert all(len(v) == 1 for v in found.values()), "a post was saved twice"
    for token, ((_id, _thread, html, status),) in found.items():
        assert status == "visible" and token in html, f"half-written post {token}"
    assert_thread_stats_consistent(server)
    assert integrity(server) == "ok"

    # Whatever was saved, acknowledged or not, is found by search once the outbox is drained.
    sync = server.flask("search", "sync")
    assert sync.returncode == 0, sync.stderr
    assert "0 left" in sync.stdout
    reader = WebClient(server.url)
    reader.sign_in(server.members[0], support.MEMBER_PASSWORD)
    saved = {token: rows[0][0] for token, rows in found.items()}
    assert not findable(server, reader, saved)
    print(f"\n{kills} workers killed; {len(acked)} posts acknowledged, {len(dropped)} interrupted "
          f"({len([t for t in dropped if t in found])} of those saved whole, the rest not at all)")


def test_read_only_database_gives_the_translated_503_and_keeps_everything(make_server):
    server = make_server().start()
    member = WebClient(server.url)
    member.sign_in(server.members[0], support.MEMBER_PASSWORD, lang="fr")
    thread_id = support.writable_threads(server)[0]
    assert member.post(f"/fr/t/{thread_id}/reply", {"body": post_body("ftsaved01")}).status == 302
    before = support.scalar(server, "SELECT count(*) FROM post")

    db_file = support.db_path(server)
    restart(server, AGORA_DATABASE_URL=f"sqlite:///file:{db_file}?mode=ro&uri=true")
    visitor = WebClient(server.url)
    assert visitor.get("/fr/latest").status == 200, "reading must still work"
    other_thread = support.writable_threads(server)[1]
    assert member.get(f"/fr/t/{other_thread}").status == 200, "members can still read (read markers wait)"
    answer = member.post(f"/fr/t/{thread_id}/reply", {"body": post_body("ftlost01")})
    assert_unavailable_page(answer, "fr")
    assert_unavailable_page(visitor.post("/nl/login", {"email": "x@example.org", "password": "x"}), "nl")
    assert "attempt to write a readonly database" in server.log(), "the operator's log says why"

    restart(server, AGORA_DATABASE_URL=None)
    assert support.scalar(server, "SELECT count(*) FROM post") == before
    assert "ftsaved01" in tokens_in_database(server) and "ftlost01" not in tokens_in_database(server)
    assert member.post(f"/fr/t/{thread_id}/reply", {"body": post_body("ftafter01")}).status == 302
    assert integrity(server) == "ok"


def test_full_database_gives_the_translated_503_and_keeps_everything(make_server):
    server = make_server().start()
    member = WebClient(server.url)
    member.sign_in(server.members[0], support.MEMBER_PASSWORD)
    thread_id = support.writable_threads(server)[0]
    assert member.post(f"/nl/t/{thread_id}/reply", {"body": post_body("ftsaved02")}).status == 302
    pages = support.scalar(server, "PRAGMA page_count")
    before = support.scalar(server, "SELECT count(*) FROM post")

    # The file may not grow by more than a few pages: a long post does not fit.
    restart(server, AGORA_TEST_MAX_PAGE_COUNT=str(pages + 2))
    answer = member.post(f"/nl/t/{thread_id}/reply", {"body": post_body("ftlost02", size=40_000)})
    assert_unavailable_page(answer, "nl")
    assert WebClient(server.url).get("/nl/latest").status == 200
    assert member.get(f"/nl/t/{support.writable_threads(server)[1]}").status == 200

    restart(server, AGORA_TEST_MAX_PAGE_COUNT=None)
    assert support.scalar(server, "SELECT count(*) FROM post") == before
    assert "ftlost02" not in tokens_in_database(server)
    assert member.post(f"/nl/t/{thread_id}/reply", {"body": post_body("ftafter02", size=40_000)}).status == 302
    assert_thread_stats_consistent(server)
    assert integrity(server) == "ok"


@pytest.fixture
def tiny_disk(tmp_path):
    """A 48 MB tmpfs: a real disk that can fill up. Needs root and mount rights."""
    mount_point = tmp_path / "tiny-disk"
    mount_point.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("a full-disk test needs root to mount a small tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_gives_the_translated_503_and_recovers(make_server, tiny_disk):
    server = make_server(instance=tiny_disk / "instance").start()
    member = WebClient(server.url)
    member.sign_in(server.members[0], support.MEMBER_PASSWORD)
    thread_id = support.writable_threads(server)[0]
    assert member.post(f"/nl/t/{thread_id}/reply", {"body": post_body("ftsaved03")}).status == 302
    before = support.scalar(server, "SELECT count(*) FROM post")

    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # unbuffered: fill the disk to the last byte
    try:
        for size in (1024 * 1024, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    answer = member.post(f"/nl/t/{thread_id}/reply", {"body": post_body("ftlost03", size=20_000)})
    assert_unavailable_page(answer, "nl")
    assert WebClient(server.url).get("/nl/about").status == 200

    filler.unlink()
    assert support.scalar(server, "SELECT count(*) FROM post") == before
    assert "ftsaved03" in tokens_in_database(server) and "ftlost03" not in tokens_in_database(server)
    assert member.post(f"/nl/t/{thread_id}/reply", {"body": post_body("ftafter03")}).status == 302
    assert integrity(server) == "ok"


def test_backup_while_members_post_restores_into_a_working_forum(make_server, tmp_path):
    server = make_server().start()
    threads = support.writable_threads(server)
    stop = threading.Event()
    posters = [Poster(server, email, threads, stop) for email in server.members[:3]]
    for poster in posters:
        poster.start()
    try:
        time.sleep(3)
        backup_started = time.monotonic()
        target = tmp_path / "during-writes.db"
        created = server.flask("backup", "create", str(target))
        backup_done = time.monotonic()
        time.sleep(2)
    finally:
        stop.set()
        for poster in posters:
            poster.join(timeout=60)
    assert created.returncode == 0 and "Backup written" in created.stdout, created.stderr
    acked = [a for p in posters for a in p.acked]
    before_backup = [token for token, _t, _sent, done in acked if done < backup_started]
    after_backup = [token for token, _t, sent, _done in acked if sent > backup_done]
    assert before_backup and after_backup, "posting did not go on around the backup"
    failed = [o for p in posters for o in p.other] + [t for p in posters for t in p.dropped]
    assert not failed, f"posts failed while the backup ran: {failed[:5]}"

    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        in_backup = {row[0].split("(", 1)[1].split(")", 1)[0]
                     for row in conn.execute("SELECT body_source FROM post WHERE body_source LIKE '%(ft%'")}
    assert set(before_backup) <= in_backup, "a post acknowledged before the backup is not in it"
    assert not set(after_backup) & in_backup, "the backup is not one snapshot"

    # Restore while the site runs and a visitor keeps reading.
    reading, stop_reading, read_errors = [], threading.Event(), []

    def read():
        client = WebClient(server.url)
        while not stop_reading.is_set():
            answer = client.get("/nl/latest")
            reading.append(answer.status)
            if answer.status >= 500 and answer.status != 503:
                read_errors.append(answer.status)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        restored = server.flask("backup", "restore", "--yes", str(target))
    finally:
        stop_reading.set()
        reader.join(timeout=30)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert "integrity check ok" in restored.stdout and "Search index rebuilt" in restored.stdout
    assert reading and not read_errors, read_errors
    check = server.flask("backup", "check")
    assert check.stdout.strip() == "ok"

    # The forum works on the restored data: pages, sign-in, posting, search.
    assert set(tokens_in_database(server)) == in_backup
    member = WebClient(server.url)
    member.sign_in(server.members[0], support.MEMBER_PASSWORD)
    assert member.get(f"/nl/t/{threads[0]}").status == 200
    assert member.post(f"/nl/t/{threads[0]}/reply", {"body": post_body("ftrestored")}).status == 302
    server.flask("search", "sync")
    saved = {token: rows[0][0] for token, rows in tokens_in_database(server).items()
             if token in ("ftrestored", before_backup[0])}
    assert len(saved) == 2 and not findable(server, member, saved)
    gone = after_backup[0]
    assert json.loads(member.get(f"/api/v1/search?q={gone}").body)["total"] == 0, "the index still has lost posts"
    assert_thread_stats_consistent(server)


def test_an_oversized_form_shows_the_translated_413_page_in_the_browser(make_server, browser):
    """Above AGORA_MAX_CONTENT_LENGTH gunicorn answers before reading the body; Chromium must
    still show the page (not a reset connection)."""
    server = make_server(members=0, AGORA_MAX_CONTENT_LENGTH=str(1024 * 1024)).start()
    context = support.new_context(browser, server, locale="fr-BE")
    try:
        page = context.new_page()
        page.goto("/fr/login")
        page.evaluate("() => { const f = document.querySelector('#email'); f.type = 'text';"
                      " f.value = 'a'.repeat(8 * 1024 * 1024); }")
        with page.expect_navigation():
            page.locator("main form[action$='/login'] [type=submit]").click()
        assert page.title().startswith(translated("fr", "Too large"))
        assert page.evaluate("() => document.documentElement.lang") == "fr"
    finally:
        context.close()
