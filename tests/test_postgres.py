"""Beyond one machine: several app servers and processes sharing one PostgreSQL database.

Only in the PostgreSQL run (make test-postgres, AGORA_TEST_DATABASE_URL). The rest of
the suite runs there unchanged; these tests cover what only exists with a shared
server: two gunicorn instances seeing each other's writes in search at once, two
processes numbering replies in one thread, rate limits counted across app servers.
"""
import http.cookiejar
import re
import time
import urllib.parse
import urllib.request

import pytest

from forum import create_app
from forum.extensions import db
from forum.models import Post, Thread, User
from tests.conftest import ON_POSTGRES, PASSWORD, TEST_DATABASE_URL, run_processes
from tests.live import LiveServer

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL run only (make test-postgres)")

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Browser:
    """Cookies and CSRF tokens over plain HTTP, as a browser would send them."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def get(self, path):
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.status, response.read().decode()

    def post_form(self, path, data):
        _status, html = self.get("/nl/about")
        data = dict(data, csrf_token=CSRF.search(html).group(1))
        request = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(data).encode())
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:  # 302 lands here (_NoRedirect)
            return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_two_app_servers_share_writes_and_search_within_a_second(app, tmp_path, make_user, make_thread, make_theme):
    theme = make_theme(visibility="public")
    thread = make_thread(theme=theme, title="Vervoer naar de dagbesteding", body="Wie regelt het vervoer?")
    member = make_user()
    env = {"AGORA_DATABASE_URL": TEST_DATABASE_URL, "AGORA_SEARCH_BACKEND": "postgres",
           "AGORA_PREMODERATE_FIRST_POSTS": "0"}
    first = LiveServer(tmp_path / "server-a", workers=1, env=env)
    second = LiveServer(tmp_path / "server-b", workers=1, env=env)
    try:
        first.start()
        second.start()
        browser = Browser(first.url)
        assert browser.post_form("/nl/login", {"email": member.email, "password": PASSWORD}) == 302
        status = browser.post_form(f"/nl/t/{thread.id}/reply",
                                   {"body": "Bij ons rijdt de buurtbus-vrijwilliger zonnebloemrit elke dinsdag."})
        assert status in (302, 303)
        written = time.monotonic()
        found = None
        while time.monotonic() - written < 1.0:
            _status, body = Browser(second.url).get("/api/v1/search?q=zonnebloemrit")
            if '"total": 1' in body or '"total":1' in body:
                found = time.monotonic() - written
                break
            time.sleep(0.05)
        assert found is not None, "the reply written through one server was not found through the other within 1 s"
        # And the page of the other server shows it, marked.
        _status, html = Browser(second.url).get("/nl/search?q=zonnebloemrit")
        assert "<mark>zonnebloemrit</mark>" in html
    finally:
        first.stop()
        second.stop()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Post.id)).where(Post.thread_id == thread.id)) == 2


def _replier(config, thread_id, author_id, count, errors):
    from forum.threads import services

    app = create_app(config)
    try:
        # Without the anti-abuse checks (pre-moderation, "too fast"): numbering is under test.
        with app.app_context():
            for i in range(count):
                with app.test_request_context("/nl/x", method="POST"):
                    services.create_reply(db.session.get(User, author_id), db.session.get(Thread, thread_id),
                                          f"Gelijktijdige reactie {i} van schrijver {author_id}.",
                                          check_abuse=False)
                    db.session.remove()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(repr(exc))


def test_two_processes_replying_to_one_thread_number_posts_without_gaps_or_doubles(
        app, app_config, make_thread, make_user):
    thread = make_thread()
    authors = [make_user(password=None), make_user(password=None)]
    problems, exit_codes = run_processes(_replier, [(app_config, thread.id, a.id, 15) for a in authors])
    assert problems == [] and exit_codes == [0, 0]
    with app.app_context():
        numbers = list(db.session.scalars(db.select(Post.number).where(Post.thread_id == thread.id).order_by(Post.number)))
        assert numbers == list(range(1, 32))
        assert db.session.get(Thread, thread.id).post_count == 31


def test_rate_limits_are_shared_by_app_servers(app, app_config, tmp_path):
    from forum import ratelimit

    other = create_app(dict(app_config, INSTANCE_PATH=str(tmp_path / "other-server")))
    try:
        with app.app_context():
            for _ in range(3):
                ratelimit.hit("login-ip:192.0.2.7", (3, 60))
        with other.app_context():
            with pytest.raises(ratelimit.RateLimited):
                ratelimit.check("login-ip:192.0.2.7", (3, 60))
            ratelimit.check("login-ip:192.0.2.8", (3, 60))
    finally:
        with other.app_context():
            db.engine.dispose()


def test_backup_command_points_to_pg_dump(runner):
    result = runner.invoke(args=["backup", "create"])
    assert result.exit_code != 0 and "pg_dump" in result.output


def test_search_backend_refuses_sqlite(tmp_path):
    from search.backend import get_backend

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "sqlite-site"), "SEARCH_BACKEND": "postgres"})
    with app.app_context():
        with pytest.raises(RuntimeError, match="PostgreSQL"):
            get_backend().status()
        db.engine.dispose()
