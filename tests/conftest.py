"""Shared fixtures: a real SQLite file, a real on-disk index folder, real SMTP on 127.0.0.1."""
import email
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
from forum.models import Organisation, Theme, User, utcnow

PASSWORD = "Sterk-wachtwoord-42"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Mailbox:
    """Collects the mails the app sends over SMTP to our aiosmtpd server."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def clear(self):
        with self.lock:
            self.messages.clear()

    def to(self, address):
        with self.lock:
            return [m for m in self.messages if address.lower() in m["To"].lower()]

    def last(self, address=None, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address) if address else list(self.messages)
            if found:
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
    return smtp_server.handler


class Client(FlaskClient):
    """The Flask test client plus CSRF: tests post forms the way a browser does."""

    def csrf_token(self, page="/nl/about"):
        html = self.get(page).get_data(as_text=True)
        match = CSRF_META.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post_form(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def app_config(tmp_path, smtp_server):
    return {
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
        "NEW_MEMBER_POSTS": 0,
    }


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = Client
    with app.app_context():
        db.create_all()
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
            municipality=f"Testdorp {n}", province="Utrecht", country="NL", language="nl",
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


def login(client, user_or_email, password=PASSWORD, lang="nl"):
    email_address = getattr(user_or_email, "email", user_or_email)
    response = client.post_form(f"/{lang}/login", {"email": email_address, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


@pytest.fixture
def login_as(client):
    def do(user, password=PASSWORD, lang="nl"):
        return login(client, user, password, lang)
    return do


@pytest.fixture
def make_thread(app, make_user, make_theme):
    """Start a thread through forum.threads.services.create_thread (pre-moderation hooks off:
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
        with app.app_context(), services.without_post_hooks():
            thread = services.create_thread(
                db.session.get(User, author.id), db.session.get(Theme, theme.id), kind, title, body,
                language=language, tags=tags, fields=fields,
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
    """Add a reply through forum.threads.services.create_reply (hooks off); extra keywords
    (status, created_at, ...) are set afterwards. Returns the detached Post."""
    counter = iter(range(1, 100000))

    def make(thread, author=None, body=None, reply_to=None, **kw):
        from forum.models import Post, Thread
        from forum.threads import services

        n = next(counter)
        author = author or make_user(password=None)
        body = body or f"Bij ons werkt het zo (reactie {n}): we vragen het eerst aan de cliëntenraad."
        with app.app_context(), services.without_post_hooks():
            post = services.create_reply(
                db.session.get(User, author.id), db.session.get(Thread, thread.id), body,
                reply_to=db.session.get(Post, reply_to.id) if reply_to is not None else None,
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
