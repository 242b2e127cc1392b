"""Shared fixtures: a real SQLite file, a real on-disk index folder, real SMTP on 127.0.0.1.

AGORA_TEST_DATABASE_URL=postgresql+psycopg://... runs the same tests on PostgreSQL (one
database: the schema is built once per session and every table emptied before each
test); AGORA_TEST_SEARCH_BACKEND=postgres then also selects the PostgreSQL search engine.
See `make test-postgres`.
"""
import email
import os
import re
import socket
import threading
import time
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient

from forum import create_app
from forum.extensions import db
from forum.models import ModerationAction, Organisation, Theme, User, utcnow

PASSWORD = "Sterk-wachtwoord-42"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')

TEST_DATABASE_URL = os.environ.get("AGORA_TEST_DATABASE_URL", "")
TEST_SEARCH_BACKEND = os.environ.get("AGORA_TEST_SEARCH_BACKEND", "whoosh")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
SEARCH_BACKENDS = ("whoosh", "postgres")


def pytest_configure(config):
    from tests import skips

    if skips.strict():
        config.pluginmanager.register(skips.StrictSkips(), "agora-strict-skips")


def sqlite_only(reason):
    """Mark a test that exercises SQLite itself (WAL, the backup API, PRAGMAs)."""
    return pytest.mark.skipif(ON_POSTGRES, reason=f"SQLite-specific: {reason}")


class Mailbox:
    """Collects the mails the app sends over SMTP to our aiosmtpd server."""

    def __init__(self):
        self.messages = []
        self.peers = []
        self.lock = threading.Lock()
        self.on_data = None  # a test's probe, called while the app waits for the answer

    async def handle_DATA(self, server, session, envelope):
        if self.on_data is not None:
            self.on_data()
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append(msg)
            self.peers.append(session.peer)  # (address, port): one per SMTP connection
        return "250 OK"

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.peers.clear()

    def to(self, address):
        with self.lock:
            return [m for m in self.messages if address.lower() in m["To"].lower()]

    def last(self, address=None, timeout=5, after=None):
        """The newest mail (to `address`); with `after`, wait for one newer than that mail:
        account mails go out just after the response, so the previous one may still be last."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address) if address else list(self.messages)
            if found and (after is None or found[-1] is not after):
                return found[-1]
            time.sleep(0.02)
        raise AssertionError(f"no mail to {address!r}; got {[m['To'] for m in self.messages]}")

    @staticmethod
    def body(msg):
        part = msg.get_body(preferencelist=("plain",))
        return part.get_content()

    @classmethod
    def links(cls, msg):
        return re.findall(r"https?://[^\s<>\"]+", cls.body(msg))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mail(smtp_server):
    smtp_server.handler.clear()
    yield smtp_server.handler
    smtp_server.handler.on_data = None


class Client(FlaskClient):
    """The Flask test client plus CSRF: tests post forms the way a browser does.

    Responses are read whole and closed, as a WSGI server does once the body is sent:
    what the app does after the response (account mails, auth/outbox.py) has happened
    when the call returns.
    """

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)

    def csrf_token(self, page="/nl/about"):
        html = self.get(page).get_data(as_text=True)
        match = CSRF_META.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post_form(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture(scope="session")
def template_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("template-cache"))


@pytest.fixture
def app_config(tmp_path, smtp_server, template_cache):
    return {
        "TEMPLATE_CACHE_DIR": template_cache,
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "BASE_URL": "http://agora.test",
        "SERVER_NAME": None,
        # Full-cost scrypt takes ~0.3 s a hash; one auth test checks the production cost.
        "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
        # Factory members count as established: no pre-moderation of their first posts and
        # no new-member limits. tests/test_moderation*.py switch these back on.
        "PREMODERATE_FIRST_POSTS": 0,
        "PREMODERATE_FIRST_EVENTS": 0,
        "NEW_MEMBER_POSTS": 0,
        # Staff sign in with a password alone, their sign-ins stay out of the audit log
        # (tests count its entries) and no new-browser mail goes out;
        # tests/test_second_factor.py switches these back on.
        "STAFF_SECOND_FACTOR": False,
        "STAFF_SECURITY_AUDIT": False,
        "NEW_DEVICE_MAIL": False,
        "SEARCH_BACKEND": TEST_SEARCH_BACKEND,
        **({"SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL} if ON_POSTGRES else {}),
    }


class PostgresDatabases:
    """The PostgreSQL test database (schema built once) and spare empty databases."""

    # Left behind only by a reindex that failed half-way (search/postgres_backend.py).
    LEFTOVERS = ("DROP TABLE IF EXISTS search_document_build, search_lexeme_build, search_spelling_build, "
                 "search_rebuild_journal")

    def __init__(self, url, instance_path):
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.instance_path = instance_path
        self.truncate = None

    def url_for(self, database):
        return self.url.set(database=database).render_as_string(hide_password=False)

    def empty(self, database):
        """Create `database` if needed and drop everything in it; returns its URL."""
        import sqlalchemy

        admin = sqlalchemy.create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                exists = conn.exec_driver_sql(
                    "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": database}).scalar()
                if not exists:
                    conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
        finally:
            admin.dispose()
        url = self.url_for(database)
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        finally:
            engine.dispose()
        return url

    def build(self):
        """A fresh schema in the test database, from the models (search DDL included)."""
        self.empty(self.url.database)
        app = create_app({"TESTING": True, "INSTANCE_PATH": self.instance_path,
                          "SQLALCHEMY_DATABASE_URI": self.url_for(self.url.database)})
        with app.app_context():
            db.create_all()
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.engine.dispose()
        self.truncate = f"TRUNCATE {tables} RESTART IDENTITY CASCADE"

    def clean(self, engine):
        import sqlalchemy

        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(self.LEFTOVERS)
                conn.exec_driver_sql(self.truncate)
        except sqlalchemy.exc.ProgrammingError:
            # A test changed the schema itself (renamed or dropped a table): build it again
            # rather than fail every test after it.
            engine.dispose()
            self.build()


@pytest.fixture(scope="session")
def postgres_databases(tmp_path_factory):
    if not ON_POSTGRES:
        pytest.skip("needs AGORA_TEST_DATABASE_URL (a PostgreSQL database)")
    databases = PostgresDatabases(TEST_DATABASE_URL, str(tmp_path_factory.mktemp("pg-schema")))
    databases.build()
    return databases


@pytest.fixture
def other_site_config(app_config, request, tmp_path):
    """Config for a second, wholly separate and empty site (its own database)."""
    counter = iter(range(1, 1000))

    def make(**kw):
        config = dict(app_config, INSTANCE_PATH=str(tmp_path / f"other-{next(counter)}"), **kw)
        if ON_POSTGRES:
            databases = request.getfixturevalue("postgres_databases")
            config["SQLALCHEMY_DATABASE_URI"] = databases.empty(f"{databases.url.database}_other")
        return config

    return make


@pytest.fixture
def empty_site(other_site_config):
    """make() gives a second, empty site with its schema built (round trips of export and
    import); its connections are closed after the test."""
    sites = []

    def make(**kw):
        site = create_app(other_site_config(**kw))
        with site.app_context():
            db.create_all()
        sites.append(site)
        return site

    yield make
    for site in sites:
        with site.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(params=SEARCH_BACKENDS)
def search_backend(request):
    """Runs a test once per search engine (tests/test_search*.py override app_config with
    it). The PostgreSQL engine needs the PostgreSQL run; on SQLite it is skipped, saying so."""
    if request.param == "postgres" and not ON_POSTGRES:
        pytest.skip("the PostgreSQL search engine runs in the PostgreSQL run (make test-postgres)")
    return request.param


def prepared_app(config, request):
    """An app on an empty database: tables created (SQLite) or emptied (PostgreSQL)."""
    app = create_app(config)
    app.test_client_class = Client
    with app.app_context():
        if ON_POSTGRES:
            request.getfixturevalue("postgres_databases").clean(db.engine)
        else:
            db.create_all()
    return app


@pytest.fixture
def app(app_config, request):
    app = prepared_app(app_config, request)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_org(app):
    counter = iter(range(1, 100000))

    def make(**kw):
        n = next(counter)
        values = dict(
            name=f"Adviesraad Sociaal Domein Testdorp {n}", slug=f"adviesraad-testdorp-{n}",
            municipality=f"Testdorp {n}", province="NL-UT", country="NL", language="nl",
            membership_status="active", member_since=utcnow().date().replace(year=2020),
        )
        values.update(kw)
        with app.app_context():
            org = Organisation(**values)
            db.session.add(org)
            db.session.commit()
            db.session.refresh(org)
            db.session.expunge(org)
        return org

    return make


@pytest.fixture
def make_user(app, make_org):
    counter = iter(range(1, 100000))

    def make(role="member", status="active", organisation=None, password=PASSWORD, **kw):
        n = next(counter)
        org = organisation or make_org()
        values = dict(
            email=f"lid{n}@example.org", name=f"Lid {n}", role=role, status=status,
            organisation_id=org.id, locale="nl", confirmed_at=utcnow(), approved_at=utcnow(),
            terms_accepted_at=utcnow(),
        )
        values.update(kw)
        with app.app_context():
            user = User(**values)
            if password:
                user.set_password(password)
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return make


@pytest.fixture
def make_theme(app):
    counter = iter(range(1, 100000))

    def make(**kw):
        n = next(counter)
        values = dict(slug=f"thema-{n}", name_nl=f"Thema {n}", name_fr=f"Thème {n}",
                      visibility="members", position=n)
        values.update(kw)
        with app.app_context():
            theme = Theme(**values)
            db.session.add(theme)
            db.session.commit()
            db.session.refresh(theme)
            db.session.expunge(theme)
        return theme

    return make


def tr(app, msgid, lang="nl", **values):
    """A message as the site says it in `lang`: tests keep passing as the catalogs change."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return gettext(msgid, **values)


def tr_html(app, msgid, lang="nl", **values):
    """tr(), HTML-escaped as a page shows it (except lazy form labels and errors, which
    flask-babel marks safe: compare those with tr())."""
    from markupsafe import escape

    return str(escape(tr(app, msgid, lang, **values)))


def shows(app, html, msgid, lang="nl", **values):
    """Whether a page (HTML-escaped) or a mail (plain) contains the message in `lang`."""
    return tr(app, msgid, lang, **values) in html or tr_html(app, msgid, lang, **values) in html


def html(response):
    """A response's body as text."""
    return response.get_data(as_text=True)


def login(client, user_or_email, password=PASSWORD, lang="nl"):
    email_address = getattr(user_or_email, "email", user_or_email)
    response = client.post_form(f"/{lang}/login", {"email": email_address, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def as_member(app, user, lang="nl"):
    """A separate browser signed in as `user` (tests with several people at once)."""
    c = app.test_client()
    login(c, user, lang=lang)
    return c


def run_processes(target, arguments, timeout=120):
    """Run target(*args, errors) in one spawned process per tuple in `arguments`, at once.
    Returns (what the processes put on `errors`, their exit codes)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args, errors)) for args in arguments]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=timeout)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    return problems, [w.exitcode for w in workers]


def audit(app, action=None):
    """The audit log's entries (of one action), oldest first, detached."""
    with app.app_context():
        query = db.select(ModerationAction).order_by(ModerationAction.id)
        if action:
            query = query.where(ModerationAction.action == action)
        rows = db.session.scalars(query).all()
        for r in rows:
            db.session.expunge(r)
        return rows


def load(app, model, id_):
    """A row by id, detached so the test can read it outside the app context (None if gone)."""
    with app.app_context():
        obj = db.session.get(model, id_)
        if obj is not None:
            db.session.expunge(obj)
        return obj


@pytest.fixture
def login_as(client):
    def do(user, password=PASSWORD, lang="nl"):
        return login(client, user, password, lang)
    return do


@pytest.fixture
def make_thread(app, make_user, make_theme):
    """Start a thread through forum.threads.services.create_thread (anti-abuse checks off:
    factory content counts as already moderated); extra keywords
    (pinned, locked, closed, closes_on, status, created_at, last_post_at, ...) are set on
    the thread afterwards. Returns the detached Thread."""
    counter = iter(range(1, 100000))

    def make(author=None, theme=None, kind="question", title=None, body=None, language="nl",
             tags=(), fields=None, **kw):
        from forum.models import Thread
        from forum.threads import services

        n = next(counter)
        author = author or make_user(role="moderator" if kind == "announcement" else "member", password=None)
        theme = theme or make_theme()
        title = title or f"Testonderwerp {n} over de participatiewet"
        body = body or f"Hoe gaan jullie om met onderwerp {n}? Wij zijn benieuwd naar ervaringen."
        with app.app_context():
            thread = services.create_thread(
                db.session.get(User, author.id), db.session.get(Theme, theme.id), kind, title, body,
                language=language, tags=tags, fields=fields, check_abuse=False,
            )
            if kw:
                for key, value in kw.items():
                    setattr(thread, key, value)
                db.session.commit()
            thread = db.session.get(Thread, thread.id)
            db.session.refresh(thread)
            db.session.expunge(thread)
        return thread

    return make


@pytest.fixture
def make_post(app, make_user):
    """Add a reply through forum.threads.services.create_reply (anti-abuse checks off); extra keywords
    (status, created_at, ...) are set afterwards. Returns the detached Post."""
    counter = iter(range(1, 100000))

    def make(thread, author=None, body=None, reply_to=None, **kw):
        from forum.models import Post, Thread
        from forum.threads import services

        n = next(counter)
        author = author or make_user(password=None)
        body = body or f"Bij ons werkt het zo (reactie {n}): we vragen het eerst aan de cliëntenraad."
        with app.app_context():
            post = services.create_reply(
                db.session.get(User, author.id), db.session.get(Thread, thread.id), body,
                reply_to=db.session.get(Post, reply_to.id) if reply_to is not None else None,
                check_abuse=False,
            )
            if kw:
                for key, value in kw.items():
                    setattr(post, key, value)
                services.refresh_thread_stats(post.thread)
                db.session.commit()
            post = db.session.get(Post, post.id)
            db.session.refresh(post)
            db.session.expunge(post)
        return post

    return make
