"""Notifications through HTTP: who is told about what, the list, mark read, immediate mail."""
import re

import pytest

from forum.extensions import db
from forum.models import Notification, Post, User, Watch
from tests.conftest import Mailbox, as_member, html


def notifications_of(app, user):
    with app.app_context():
        rows = db.session.scalars(
            db.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)).all()
        return [(n.kind, n.thread_id, n.read_at is not None, dict(n.data or {})) for n in rows]


def kinds(app, user):
    return [k for k, *_ in notifications_of(app, user)]


def test_reply_notifies_watchers_but_not_the_writer(app, client, make_user, make_thread, login_as):
    asker, replier, bystander = make_user(), make_user(), make_user()
    thread = make_thread(author=asker)
    login_as(replier)
    client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Een eerste reactie."})
    assert kinds(app, asker) == ["reply"]
    assert kinds(app, replier) == [] and kinds(app, bystander) == []
    # The replier now watches the thread too.
    other = as_member(app, bystander)
    other.post_form(f"/nl/t/{thread.id}/reply", {"body": "Nog een reactie."})
    # One unread reply notification per thread: the asker's moves to the newest reply.
    assert kinds(app, asker) == ["reply"] and kinds(app, replier) == ["reply"]


def test_a_hidden_thread_notifies_only_those_who_may_still_read_it(app, client, make_user, make_thread, login_as):
    """Watchers of a thread a moderator hid are not told of a moderator's reply in it (they
    cannot open it); its author is. Suspended watchers of a visible thread are skipped."""
    from forum.models import Thread

    asker, watcher, gone = make_user(), make_user(), make_user()
    moderator = make_user(role="moderator")
    thread = make_thread(author=asker, title="Verborgen terwijl er gereageerd werd")
    with app.app_context():
        db.session.add_all([Watch(user_id=watcher.id, thread_id=thread.id), Watch(user_id=gone.id, thread_id=thread.id)])
        db.session.get(User, gone.id).status = "suspended"
        db.session.commit()
    other = as_member(app, watcher)
    other.post_form(f"/nl/t/{thread.id}/reply", {"body": "Een reactie toen het nog zichtbaar was."})
    assert kinds(app, asker) == ["reply"] and kinds(app, gone) == []
    with app.app_context():
        db.session.get(Thread, thread.id).status = "hidden"
        db.session.commit()
    login_as(moderator)
    answer = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Een reactie van de moderatie."})
    assert answer.status_code == 302
    with app.app_context():
        newest = db.session.scalar(db.select(db.func.max(Post.id)).where(Post.thread_id == thread.id))
        assert [n.post_id for n in db.session.scalars(
            db.select(Notification).where(Notification.user_id == asker.id))] == [newest]
    assert kinds(app, watcher) == [] and kinds(app, gone) == []


def test_unwatched_thread_sends_nothing(app, client, make_user, make_thread, make_post, login_as):
    asker = make_user()
    thread = make_thread(author=asker)
    login_as(asker)
    assert client.post_form(f"/nl/t/{thread.id}/watch", {"action": "unwatch"}).status_code == 302
    make_post(thread)
    assert kinds(app, asker) == []
    client.post_form(f"/nl/t/{thread.id}/watch")
    make_post(thread)
    assert kinds(app, asker) == ["reply"]


def test_mention_notifies_the_member_once(app, client, make_user, make_thread, login_as):
    asker = make_user()
    mentioned = make_user(name="Isabelle Lemaire")
    thread = make_thread(author=asker)
    login_as(make_user())
    client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Misschien weet @IsabelleLemaire dit? @isabellelemaire!"})
    assert kinds(app, mentioned) == ["mention"]
    assert kinds(app, asker) == ["reply"]
    page = html(as_member(app, mentioned).get("/nl/notifications"))
    assert thread.title in page and 'class="unread"' in page


def test_mention_added_by_an_edit_notifies_only_the_new_member(app, client, make_user, make_thread, make_post, login_as):
    first, second, author = make_user(name="Anna Smit"), make_user(name="Bram Kok"), make_user()
    thread = make_thread()
    post = make_post(thread, author=author, body="Hallo @AnnaSmit")
    assert kinds(app, first) == ["mention"]
    login_as(author)
    client.post_form(f"/nl/p/{post.id}/edit", {"body": "Hallo @AnnaSmit en @BramKok"})
    assert kinds(app, first) == ["mention"] and kinds(app, second) == ["mention"]


def test_accepted_answer_and_thanks_notify_the_author(app, client, make_user, make_thread, make_post, login_as):
    asker, helper, fan = make_user(), make_user(), make_user()
    thread = make_thread(author=asker)
    answer = make_post(thread, author=helper)
    login_as(asker)
    client.post_form(f"/nl/p/{answer.id}/accept")
    client.post_form(f"/nl/p/{answer.id}/thanks")
    as_member(app, fan).post_form(f"/nl/p/{answer.id}/thanks")
    rows = notifications_of(app, helper)
    assert [k for k, *_ in rows] == ["accepted", "thanks"]  # thanks are grouped while unread
    assert rows[1][3]["count"] == 2
    page = html(as_member(app, helper).get("/nl/notifications"))
    assert page.count('class="unread"') == 2


def test_new_thread_in_a_watched_theme(app, client, make_user, make_theme, login_as):
    theme = make_theme()
    follower, starter = make_user(), make_user()
    follow = as_member(app, follower)
    assert follow.post_form(f"/nl/themes/{theme.slug}/watch").status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(Watch.id).where(Watch.user_id == follower.id, Watch.theme_id == theme.id))
    login_as(starter)
    client.post_form("/nl/new", {"theme": theme.id, "kind": "question", "title": "Een nieuwe vraag hier",
                                 "body": "Tekst", "language": "nl"})
    assert kinds(app, follower) == ["new_thread"]
    follow.post_form(f"/nl/themes/{theme.slug}/watch", {"action": "unwatch"})
    client.post_form("/nl/new", {"theme": theme.id, "kind": "question", "title": "Nog een nieuwe vraag",
                                 "body": "Tekst", "language": "nl"})
    assert kinds(app, follower) == ["new_thread"]


def test_members_who_cannot_read_are_not_notified(app, client, make_user, make_thread, make_post):
    asker = make_user()
    thread = make_thread(author=asker)
    with app.app_context():
        db.session.get(User, asker.id).status = "suspended"
        db.session.commit()
    make_post(thread)
    assert kinds(app, asker) == []


def test_mark_one_and_all_read(app, client, make_user, make_thread, make_post, login_as):
    asker = make_user()
    threads = [make_thread(author=asker) for _ in range(3)]
    posts = [make_post(t) for t in threads]
    login_as(asker)
    page = html(client.get("/nl/notifications"))
    assert page.count('class="unread"') == 3
    assert '<span class="count"' in page  # the header counter
    with app.app_context():
        first = db.session.scalar(db.select(Notification.id).where(Notification.user_id == asker.id).order_by(Notification.id))
    response = client.post_form(f"/nl/notifications/{first}/read", {"go": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/nl/p/{posts[0].id}")
    assert [read for _k, _t, read, _d in notifications_of(app, asker)] == [True, False, False]
    # Someone else's notification cannot be touched.
    other = as_member(app, make_user())
    assert other.post_form(f"/nl/notifications/{first + 1}/read").status_code == 404
    assert client.post_form("/nl/notifications/read-all").status_code == 302
    assert all(read for _k, _t, read, _d in notifications_of(app, asker))
    assert 'class="unread"' not in html(client.get("/nl/notifications"))
    assert client.post("/nl/notifications/read-all").status_code == 400  # CSRF


def test_notifications_need_a_member(client):
    assert client.get("/nl/notifications").status_code == 302


def test_immediate_mail_with_one_click_unsubscribe(app, client, mail, make_user, make_thread, login_as):
    asker = make_user(notify_mode="immediate", locale="fr", email="demandeur@example.org")
    weekly = make_user(notify_mode="weekly", email="hebdo@example.org")
    thread = make_thread(author=asker, title="Question sur les aides communales")
    with app.app_context():
        db.session.add(Watch(user_id=weekly.id, thread_id=thread.id))
        db.session.commit()
    login_as(make_user(name="Koen Janssens"))
    client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Bij ons in Genk werkt een automatische toekenning."})
    msg = mail.last("demandeur@example.org")
    assert "Question sur les aides communales" in msg["Subject"]
    body = Mailbox.body(msg)
    assert "Koen Janssens" in body and "automatische toekenning" in body
    links = Mailbox.links(msg)
    assert any(re.search(r"http://agora\.test/fr/p/\d+$", link) for link in links)
    unsubscribe = next(link for link in links if "/unsubscribe/" in link)
    assert msg["List-Unsubscribe"] == f"<{unsubscribe}/one-click>"  # RFC 8058
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.to("hebdo@example.org") == []  # weekly readers wait for the digest
    with app.app_context():
        n = db.session.scalar(db.select(Notification).where(Notification.user_id == asker.id))
        assert n.emailed_at is not None
        assert db.session.scalar(db.select(Notification).where(Notification.user_id == weekly.id)).emailed_at is None

    path = unsubscribe.replace("http://agora.test", "")
    anonymous = app.test_client()
    page = anonymous.get(path)
    assert page.status_code == 200 and "demandeur@example.org" in html(page)
    with app.app_context():
        assert db.session.get(User, asker.id).notify_mode == "immediate"  # GET changes nothing
    assert anonymous.post(path).status_code == 400  # a change needs the form's CSRF token
    with app.app_context():
        assert db.session.get(User, asker.id).notify_mode == "immediate"
    assert anonymous.post_form(path).status_code == 200  # no sign-in needed: the token is the proof
    with app.app_context():
        assert db.session.get(User, asker.id).notify_mode == "never"
    mail.clear()
    client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Nog een aanvulling."})
    assert mail.to("demandeur@example.org") == []


@pytest.mark.parametrize("token", ["garbage", "eyJ1IjoxfQ.forged.signature"])
def test_bad_unsubscribe_token_is_404(client, token):
    assert client.get(f"/nl/unsubscribe/{token}").status_code == 404
    assert client.post_form(f"/nl/unsubscribe/{token}").status_code == 404


def test_header_counts_unread_notifications_up_to_99(app, client, make_user, make_thread, login_as):
    member = make_user()
    thread = make_thread()

    def add(count):
        with app.app_context():
            db.session.add_all([Notification(user_id=member.id, kind="reply", thread_id=thread.id)
                                for _ in range(count)])
            db.session.commit()

    def header(lang="nl"):
        page = html(client.get(f"/{lang}/latest"))
        return re.search(r'<span class="count" aria-label="([^"]+)">([^<]+)</span>', page)

    login_as(member)
    assert header() is None
    add(3)
    found = header()
    assert found.groups() == ("3 ongelezen", "3")
    add(97)  # 100 unread: more than the header counts
    found = header()
    assert found.groups() == ("meer dan 99 ongelezen", "99+")
    assert header("fr").groups() == ("plus de 99 non lues", "99+")
    assert client.post_form("/nl/notifications/read-all").status_code == 302
    assert header() is None


def test_a_reply_tells_many_watchers_in_one_statement_and_mails_the_right_one(
        app, client, mail, make_user, make_thread, login_as):
    """One INSERT for all watchers (it was one per watcher on SQLite: 40 for a busy thread),
    each row matched to its member: the member who wants mail at once gets it, and only
    their row is marked as mailed."""
    from sqlalchemy import event

    asker = make_user(notify_mode="weekly")
    watchers = [make_user(notify_mode="weekly") for _ in range(5)]
    immediate = make_user(notify_mode="immediate", email="meteen@example.org")
    thread = make_thread(author=asker, title="Wie heeft ervaring met de regiotaxi?")
    with app.app_context():
        for member in [*watchers[:3], immediate, *watchers[3:]]:
            db.session.add(Watch(user_id=member.id, thread_id=thread.id))
        db.session.commit()
    login_as(make_user())
    inserts = []

    def count(_conn, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO notification"):
            inserts.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Wij reden ermee naar het ziekenhuis."})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code in (302, 303)
    assert len(inserts) == 1
    for member in [asker, *watchers, immediate]:
        assert kinds(app, member) == ["reply"]
    assert len(mail.to("meteen@example.org")) == 1
    with app.app_context():
        mailed = db.session.scalars(db.select(Notification.user_id).where(Notification.emailed_at.is_not(None))).all()
    assert mailed == [immediate.id]


def test_a_web_worker_mails_from_a_thread_of_its_own(app, client, mail, make_user, make_thread, login_as):
    """In a gunicorn worker (NOTIFICATION_MAIL_THREAD) the reply's answer does not wait for the
    mail server: it comes while the server still holds the mail, which then goes out and is
    recorded as mailed. (Sent in the request, the answer would come only after the mail.)"""
    import threading
    import time

    from forum.threads.notifications import flush_mail

    app.config["NOTIFICATION_MAIL_THREAD"] = True
    asker = make_user(notify_mode="immediate", email="vrager@example.org")
    thread = make_thread(author=asker, title="Hoe werven jullie jonge leden?")
    login_as(make_user())
    reached, release = threading.Event(), threading.Event()

    def hold():  # the mail server takes its time to answer
        reached.set()
        release.wait(10)

    mail.on_data = hold
    try:
        response = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Via de jongerenraad en de scholen."})
        assert response.status_code == 302
        assert reached.wait(5)
        assert mail.to("vrager@example.org") == []
        with app.app_context():
            assert db.session.scalar(db.select(Notification.emailed_at).where(Notification.user_id == asker.id)) is None
    finally:
        release.set()
    assert "jonge leden" in mail.last("vrager@example.org")["Subject"]
    assert flush_mail(app, timeout=5)
    deadline = time.monotonic() + 5
    while True:
        with app.app_context():
            emailed = db.session.scalar(db.select(Notification.emailed_at).where(Notification.user_id == asker.id))
        if emailed is not None or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert emailed is not None


def test_mails_of_one_batch_share_one_smtp_connection(app, mail):
    """auth.mail.smtp_session: the worker's mail thread sends what queued up over one
    connection; outside a session each mail has its own, as before."""
    from auth.mail import build_message, send_message, smtp_session

    with app.test_request_context("/"):
        with smtp_session():
            for n in range(3):
                send_message(build_message(f"lid{n}@example.org", "Nieuwe reactie", "Tekst"))
        send_message(build_message("los@example.org", "Nieuwe reactie", "Tekst"))
    mail.last("los@example.org")
    assert len(mail.messages) == 4
    assert len(set(mail.peers[:3])) == 1 and mail.peers[3] != mail.peers[0]


def test_a_kept_smtp_connection_that_the_server_closed_is_replaced(app, mail):
    """The mail thread keeps its connection open between batches (KEEP_SMTP_SECONDS); when the
    server has closed it meanwhile, the mail goes out once more on a new connection."""
    from auth import mail as outgoing

    with app.test_request_context("/"):
        with outgoing.smtp_session():
            outgoing.send_message(outgoing.build_message("een@example.org", "Nieuwe reactie", "Tekst"))
            outgoing._session.smtp.docmd("QUIT")  # the server ends it, as after its idle timeout
            outgoing.send_message(outgoing.build_message("twee@example.org", "Nieuwe reactie", "Tekst"))
    mail.last("twee@example.org")
    assert len(mail.messages) == 2 and mail.peers[0] != mail.peers[1]


def test_reply_notifications_collapse_per_thread_until_read(app, client, mail, make_user, make_thread, login_as):
    """A member's unread reply notification of a thread moves to each newer reply (post, author,
    time) instead of adding rows; once read, the next reply adds a new one. A member who chose
    mail at once keeps a row, and a mail, per reply."""
    asker = make_user(notify_mode="immediate", email="samen@example.org")
    digest_reader = make_user(notify_mode="weekly")
    thread = make_thread(author=asker, title="Samen optrekken met de cliëntenraad")
    with app.app_context():
        db.session.add(Watch(user_id=digest_reader.id, thread_id=thread.id))
        db.session.commit()
    first, second = make_user(name="Eerste Schrijver"), make_user(name="Tweede Schrijver")
    as_member(app, first).post_form(f"/nl/t/{thread.id}/reply", {"body": "Wij vergaderen samen."})
    mail.last("samen@example.org")
    with app.app_context():
        before = db.session.scalar(db.select(Notification).where(Notification.user_id == digest_reader.id))
        before_id, before_at = before.id, before.created_at
    as_member(app, second).post_form(f"/nl/t/{thread.id}/reply", {"body": "Wij ook, elk kwartaal."})
    assert len(mail.to("samen@example.org")) == 2
    assert "elk kwartaal" in Mailbox.body(mail.to("samen@example.org")[-1])
    with app.app_context():
        moved = db.session.scalars(db.select(Notification).where(Notification.user_id == digest_reader.id)).all()
        assert len(moved) == 1
        newest = db.session.scalar(db.select(db.func.max(Post.id)).where(Post.thread_id == thread.id))
        assert (moved[0].id, moved[0].post_id, moved[0].actor_id) == (before_id, newest, second.id)
        assert moved[0].created_at >= before_at and moved[0].read_at is None
        mailed = db.session.scalars(db.select(Notification).where(Notification.user_id == asker.id)).all()
        assert len(mailed) == 2 and all(n.emailed_at is not None for n in mailed)
    login_as(digest_reader)
    assert client.post_form("/nl/notifications/read-all").status_code == 302
    as_member(app, first).post_form(f"/nl/t/{thread.id}/reply", {"body": "En nu nog een derde."})
    assert sorted(read for _k, _t, read, _d in notifications_of(app, digest_reader)) == [False, True]
