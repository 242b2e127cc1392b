"""Two processes writing to one SQLite file at once lose nothing and see no lock errors."""
import multiprocessing
import time

from forum import create_app
from forum.extensions import db
from forum.models import RateLimitEvent
from tests.conftest import run_processes, sqlite_only

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


# --- password hashing outside the write lock (issue 19, finding 3) ---------------------------

LOGINS = 4


def _gated_logins(config, emails, password, arrived, release, results):
    """A second process: one thread per login, each held inside its password hash until
    the parent says so; `arrived` counts the threads that reached the hash."""
    import threading

    from auth.passwords import hashing
    from tests.conftest import Client

    def gate(sender):
        with arrived.get_lock():
            arrived.value += 1
        release.wait(120)

    hashing.connect(gate, weak=False)
    app = create_app(config)
    app.test_client_class = Client

    def sign_in(email):
        client = app.test_client()
        token = client.csrf_token("/nl/login")
        response = client.post("/nl/login", data={"email": email, "password": password, "csrf_token": token})
        results.put(response.status_code)

    threads = [threading.Thread(target=sign_in, args=(email,)) for email in emails]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)


def test_a_reply_commits_while_logins_in_another_process_are_hashing(app, app_config, client, make_user,
                                                                      make_thread):
    from forum.models import Post
    from tests.conftest import PASSWORD, login

    thread = make_thread()
    people = [make_user() for _ in range(LOGINS)]
    writer = make_user()
    login(client, writer)
    ctx = multiprocessing.get_context("spawn")
    arrived, release, results = ctx.Value("i", 0), ctx.Event(), ctx.Queue()
    worker = ctx.Process(target=_gated_logins,
                         args=(app_config, [p.email for p in people], PASSWORD, arrived, release, results))
    worker.start()
    try:
        # Every login reaches its hash at the same time: none holds the write lock while
        # hashing (before, the first one held it and the others queued behind it).
        for _ in range(600):
            if arrived.value >= LOGINS or not worker.is_alive():
                break
            worker.join(0.1)
        assert arrived.value == LOGINS
        response = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Geschreven terwijl anderen inloggen."})
        assert response.status_code == 302
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count(Post.id)).where(Post.thread_id == thread.id)) == 2
        assert arrived.value == LOGINS  # all still inside their hash: the reply did not wait for them
    finally:
        release.set()
        worker.join(180)
    assert sorted(results.get(timeout=10) for _ in range(LOGINS)) == [302] * LOGINS


@sqlite_only("SQLite's single write lock")
def test_no_password_is_hashed_while_holding_the_write_lock(app, client, mail, make_user, make_org):
    """Every route that hashes: register, sign in, change password and e-mail, reset, delete."""
    import sqlite3

    from auth.passwords import hashing
    from tests.conftest import PASSWORD, login

    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    counts = {"hashes": 0, "under_lock": 0}

    def probe(sender):
        # Another connection asks for the write lock without waiting: it fails only when
        # someone (this request) holds it.
        counts["hashes"] += 1
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError:
            counts["under_lock"] += 1
        finally:
            other.close()

    new = "Nieuw-sterk-wachtwoord-7"
    user = make_user()
    org = make_org()
    with hashing.connected_to(probe):
        client.post_form("/nl/register", {"email": "nieuw@example.org", "name": "Nieuw Lid", "password": PASSWORD,
                                          "password_confirm": PASSWORD, "locale": "nl",
                                          "organisation": str(org.id), "accept_terms": "y"})
        client.post_form("/nl/login", {"email": user.email, "password": "fout-wachtwoord"})
        login(client, user)
        client.post_form("/nl/settings/password", {"current_password": PASSWORD, "password": new,
                                                   "password_confirm": new})
        client.post_form("/nl/settings/email", {"new_email": "ander@example.org", "password": new})
        client.post_form("/nl/reset", {"email": user.email})
        link = [x for x in mail.links(mail.last(user.email)) if "/reset/" in x][0].replace("http://agora.test", "")
        client.post_form(link, {"password": PASSWORD, "password_confirm": PASSWORD})
        login(client, user)
        response = client.post_form("/nl/settings/delete", {"mode": "anonymise", "password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert counts["hashes"] >= 9 and counts["under_lock"] == 0, counts


def _write_lock_taken(path):
    """Whether some connection holds SQLite's write lock (asked without waiting)."""
    import sqlite3

    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        other.close()


@sqlite_only("SQLite's single write lock")
def test_a_read_marker_does_not_wait_for_the_write_lock(app, client, make_user, make_thread, login_as):
    """While another connection saves something, the thread page answers at once and its
    read marker goes along with the member's next one."""
    import sqlite3

    from forum.models import ThreadRead

    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    reader = make_user()
    first = make_thread(title="Gelezen terwijl er geschreven werd")
    second = make_thread(title="Gelezen toen het weer rustig was")
    login_as(reader)
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a post being saved by another worker
    try:
        started = time.monotonic()
        page = client.get(f"/nl/t/{first.id}")
        waited = time.monotonic() - started
        assert page.status_code == 200 and "Gelezen terwijl er geschreven werd" in page.get_data(as_text=True)
        assert waited < 10  # SQLite's busy timeout is 30 s: it did not queue for the lock
        marked = holder.execute("SELECT count(*) FROM thread_read WHERE user_id = ?", (reader.id,)).fetchone()[0]
        assert marked == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.get(f"/nl/t/{second.id}").status_code == 200
    with app.app_context():
        marks = db.session.scalars(db.select(ThreadRead.thread_id).where(ThreadRead.user_id == reader.id)).all()
    assert sorted(marks) == sorted([first.id, second.id])
    assert 'class="thread-item unread"' not in client.get("/nl/latest").get_data(as_text=True)


@sqlite_only("SQLite's single write lock")
def test_notification_mails_are_sent_without_the_write_lock(app, client, mail, make_user, make_thread, login_as):
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    watcher = make_user(notify_mode="immediate")
    thread = make_thread(author=watcher, title="Wie mailt er mee over het minimabeleid")
    replier = make_user()
    seen = []
    mail.on_data = lambda: seen.append(_write_lock_taken(path))
    login_as(replier)
    answer = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Wij sturen ons advies volgende week in."})
    assert answer.status_code == 302
    assert mail.last(watcher.email)["Subject"]
    assert seen == [False]  # the mail went out while nobody held the lock
    with app.app_context():
        from forum.models import Notification

        emailed = db.session.scalars(db.select(Notification.emailed_at).where(Notification.user_id == watcher.id)).all()
    assert emailed and all(emailed)  # and the digest knows it was mailed


REPLIES = 15


def _replier(config, user_id, thread_id, errors):
    from forum.models import Thread, User
    from forum.threads import services

    app = create_app(config)
    try:
        for i in range(REPLIES):
            with app.test_request_context(f"/nl/t/{thread_id}/reply", method="POST"):
                # The thread is read before the service takes the lock, as the reply view does.
                thread = db.session.get(Thread, thread_id)
                services.create_reply(db.session.get(User, user_id), thread, f"Reactie {i} van lid {user_id}.",
                                      check_abuse=False)
                db.session.remove()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{user_id}: {exc!r}")


def test_replies_at_once_keep_the_thread_counts_right(app, app_config, make_user, make_thread):
    """A reply adds one to the thread's count without a recount (forum/threads/services.py):
    two processes replying at once lose none of it (SQLite and PostgreSQL)."""
    from forum.models import Post, Thread

    first, second = make_user(password=None), make_user(password=None)
    thread = make_thread(title="Twee leden reageren tegelijk")
    problems, exit_codes = run_processes(_replier, [(app_config, first.id, thread.id),
                                                    (app_config, second.id, thread.id)])
    assert problems == [] and exit_codes == [0, 0]
    with app.app_context():
        row = db.session.get(Thread, thread.id)
        visible = db.session.scalars(db.select(Post).where(Post.thread_id == thread.id, Post.status == "visible")
                                     .order_by(Post.number)).all()
        assert len(visible) == 1 + 2 * REPLIES
        assert row.post_count == len(visible)
        assert (row.last_post_id, row.last_post_at) == (visible[-1].id, visible[-1].created_at)
