"""Protecting the community through HTTP: pre-moderation, rate limits, duplicates, sanctions."""
from datetime import timedelta

import pytest

from forum.extensions import db
from forum.models import ModerationAction, Notification, Post, SearchOutbox, Thread, User, Watch, utcnow
from tests.conftest import Mailbox, PASSWORD, as_member, html, load, login, tr_html


@pytest.fixture
def app_config(app_config):
    """Pre-moderation and new-member limits on, as in production; cheaper password hashing."""
    return dict(app_config, PASSWORD_HASH_METHOD="scrypt:4096:8:1", PREMODERATE_FIRST_POSTS=2,
                NEW_MEMBER_POSTS=5, NEW_MEMBER_MAX_LINKS=2, SEARCH_SYNC_AFTER_REQUEST=False)


def posts_by(app, user_id):
    with app.app_context():
        rows = db.session.scalars(db.select(Post).where(Post.author_id == user_id).order_by(Post.id)).all()
        for r in rows:
            db.session.expunge(r)
        return rows


def audit_actions(app):
    with app.app_context():
        return list(db.session.scalars(db.select(ModerationAction.action).order_by(ModerationAction.id)))


def reply(client, thread, body, lang="nl"):
    return client.post_form(f"/{lang}/t/{thread.id}/reply", {"body": body})


@pytest.fixture
def established(make_user, make_thread, make_post):
    """A member with enough visible posts to count as established (not new)."""
    def make(**kw):
        user = make_user(**kw)
        thread = make_thread(author=user)
        for _ in range(4):
            make_post(thread, author=user)
        return user
    return make


# -- pre-moderation --------------------------------------------------------------------

def test_first_replies_of_a_new_member_wait_for_a_moderator(app, make_user, make_thread, mail):
    thread = make_thread()
    watcher = make_user(notify_mode="immediate")
    with app.app_context():
        db.session.add(Watch(user_id=watcher.id, thread_id=thread.id))
        db.session.commit()
    newcomer = make_user(name="Nieuw Lid")
    client = as_member(app, newcomer)
    response = reply(client, thread, "Mijn eerste bericht: hallo allemaal!")
    assert response.status_code == 302
    held = posts_by(app, newcomer.id)[0]
    assert held.status == "held"
    assert load(app, Thread, thread.id).post_count == 1
    # The author sees it marked; others (and visitors) do not see it at all.
    own = html(client.get(f"/nl/t/{thread.id}"))
    assert "Mijn eerste bericht" in own and "status-held" in own
    other = as_member(app, watcher)
    assert "Mijn eerste bericht" not in html(other.get(f"/nl/t/{thread.id}"))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Notification.id)).where(
            Notification.user_id == watcher.id)) == 0

    moderator = as_member(app, make_user(role="moderator"))
    queue = html(moderator.get("/nl/mod/"))
    assert f'id="held-{held.id}"' in queue and "Mijn eerste bericht" in queue
    mail.clear()
    response = moderator.post_form(f"/nl/mod/p/{held.id}/approve", {"next": "/nl/mod/"})
    assert response.status_code == 302
    published = load(app, Post, held.id)
    assert published.status == "visible"
    assert load(app, Thread, thread.id).post_count == 2
    assert "Mijn eerste bericht" in html(other.get(f"/nl/t/{thread.id}"))
    with app.app_context():
        kinds = db.session.scalars(db.select(Notification.kind).where(Notification.user_id == watcher.id)).all()
        assert kinds == ["reply"]
        assert db.session.scalar(db.select(SearchOutbox.id).where(
            SearchOutbox.object_type == "post", SearchOutbox.object_id == held.id)) is not None
        entry = db.session.scalar(db.select(ModerationAction).where(ModerationAction.action == "approve_post"))
        assert entry.target_id == held.id
    assert "Mijn eerste bericht" in Mailbox.body(mail.last(watcher.email))  # watchers mailed now


def test_a_held_new_topic_is_hidden_from_lists_until_approved(app, make_user, make_theme):
    theme = make_theme()
    newcomer = make_user()
    client = as_member(app, newcomer)
    response = client.post_form("/nl/new", {
        "theme": theme.id, "kind": "question", "title": "Hoe werven jullie jonge leden?",
        "body": "Wij zoeken tips om jongeren bij de raad te betrekken.", "language": "nl", "tags": ""})
    assert response.status_code == 302
    thread_id = int(response.headers["Location"].split("/t/")[1].split("/")[0])
    assert load(app, Thread, thread_id).status == "hidden"
    assert client.get(f"/nl/t/{thread_id}").status_code == 200  # the author still sees it
    other = as_member(app, make_user())
    assert other.get(f"/nl/t/{thread_id}").status_code == 404
    assert "Hoe werven jullie jonge leden?" not in html(other.get("/nl/latest"))

    moderator = as_member(app, make_user(role="moderator"))
    opening = posts_by(app, newcomer.id)[0]
    assert moderator.post_form(f"/nl/mod/p/{opening.id}/approve", {}).status_code == 302
    assert load(app, Thread, thread_id).status == "visible"
    assert "Hoe werven jullie jonge leden?" in html(other.get("/nl/latest"))


def test_many_links_from_a_new_member_are_held(app, make_user, make_thread, make_post):
    thread = make_thread()
    member = make_user()
    for _ in range(2):  # past the first two posts, but still a new member
        make_post(thread, author=member)
    client = as_member(app, member)
    reply(client, thread, "Zie https://a.example en https://b.example voor ons verslag.")
    reply(client, thread, "Drie links: https://a.example/1 https://b.example/2 en www.c.example")
    two, three = posts_by(app, member.id)[-2:]
    assert (two.status, three.status) == ("visible", "held")


def test_moderators_are_never_held(app, make_user, make_thread):
    thread = make_thread()
    mod = make_user(role="moderator")
    client = as_member(app, mod)
    reply(client, thread, "Links: https://a.example https://b.example https://c.example")
    assert posts_by(app, mod.id)[0].status == "visible"


# -- rate limits and duplicates --------------------------------------------------------

def test_new_members_are_limited_per_minute_and_keep_their_text(app, make_user, make_thread):
    app.config["PREMODERATE_FIRST_POSTS"] = 0  # limits apply whether or not posts are held
    thread = make_thread()
    member = make_user()
    client = as_member(app, member)
    assert reply(client, thread, "Eerste reactie.").status_code == 302
    assert reply(client, thread, "Tweede reactie.").status_code == 302
    response = reply(client, thread, "Derde reactie, te snel na elkaar.")
    assert response.status_code == 400
    page = html(response)
    assert tr_html(app, "You are posting very quickly. Wait a minute and send your text again; it is still here.") in page
    assert "Derde reactie, te snel na elkaar." in page  # still in the editor
    assert len(posts_by(app, member.id)) == 2


def test_daily_limit_has_its_own_message(app, established, make_thread):
    app.config["POST_RATE_LIMITS"] = ((100, 60), (1, 86400))
    member = established()
    thread = make_thread()
    client = as_member(app, member)
    before = len(posts_by(app, member.id))
    assert reply(client, thread, "Vandaag mijn enige bericht.").status_code == 302
    response = reply(client, thread, "Nog eentje vandaag.")
    assert response.status_code == 400
    assert tr_html(app, "You have reached the maximum of %(count)d messages per day. Try again tomorrow; your text is still here.", count=1) in html(response)
    assert len(posts_by(app, member.id)) == before + 1


def test_the_same_text_twice_within_ten_minutes_is_refused(app, established, make_thread):
    member = established()
    thread = make_thread()
    client = as_member(app, member)
    assert reply(client, thread, "Wij doen dit  al jaren zo.").status_code == 302
    response = reply(client, thread, "wij doen dit al jaren zo.")
    assert response.status_code == 400
    assert tr_html(app, "You posted this same text a few minutes ago. Change it or wait a while; your text is still here.") in html(response)
    assert "wij doen dit al jaren zo." in html(response)
    with app.app_context():  # eleven minutes later it is fine
        post = db.session.scalar(db.select(Post).where(Post.author_id == member.id).order_by(Post.id.desc()))
        post.created_at = utcnow() - timedelta(minutes=11)
        db.session.commit()
    assert reply(client, thread, "wij doen dit al jaren zo.").status_code == 302


# -- sanctions -------------------------------------------------------------------------

def sanction(client, member, action, reason="Herhaaldelijk persoonlijke aanvallen.", until=""):
    return client.post_form(f"/nl/mod/users/{member.id}/sanction", {"action": action, "reason": reason, "until": until})


def test_warning_is_a_notification_and_a_mail_in_the_members_language(app, make_user, mail):
    member = make_user(locale="fr")
    moderator = as_member(app, make_user(role="moderator"))
    page = moderator.get(f"/nl/mod/users/{member.id}")
    assert page.status_code == 200 and 'name="action"' in html(page)
    assert sanction(moderator, member, "warn_user", "Restez courtois, s'il vous plaît.").status_code == 302
    msg = mail.last(member.email)
    assert msg["Content-Language"] == "fr" and "Restez courtois" in Mailbox.body(msg)
    notes = html(as_member(app, member, lang="fr").get("/fr/notifications"))
    assert tr_html(app, "The moderators sent you a warning", "fr") in notes
    with app.app_context():
        entry = db.session.scalar(db.select(ModerationAction).where(ModerationAction.action == "warn_user"))
        assert entry.target_id == member.id and entry.reason.startswith("Restez courtois")


def test_silenced_member_reads_but_cannot_post_until_the_date(app, make_user, make_thread, mail):
    thread = make_thread()
    member = make_user()
    moderator = as_member(app, make_user(role="moderator"))
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    assert sanction(moderator, member, "silence_user", until=tomorrow).status_code == 302
    assert "Herhaaldelijk persoonlijke aanvallen." in Mailbox.body(mail.last(member.email))
    client = as_member(app, member)
    page = client.get(f"/nl/t/{thread.id}")
    assert page.status_code == 200 and f'action="/nl/t/{thread.id}/reply"' not in html(page)
    assert "Herhaaldelijk persoonlijke aanvallen." in html(page)  # the notice with the reason
    assert reply(client, thread, "Mag ik nog iets zeggen?").status_code == 403
    assert client.get("/nl/new").status_code == 403
    # When the date has passed, posting works again without anyone lifting it.
    with app.app_context():
        db.session.get(User, member.id).silenced_until = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert reply(client, thread, "Nu mag ik weer iets zeggen.").status_code == 302


def test_sanction_mails_give_the_date_in_the_members_language_and_local_time(app, make_user, mail):
    moderator = as_member(app, make_user(role="moderator"))
    french = make_user(locale="fr")
    dutch = make_user(locale="nl")
    # Midnight UTC is 01:00 in Brussels and Amsterdam in January (CET).
    assert sanction(moderator, french, "silence_user", until="2027-01-15").status_code == 302
    assert sanction(moderator, dutch, "suspend_user", until="2027-01-15").status_code == 302
    french_body = Mailbox.body(mail.last(french.email))
    dutch_body = Mailbox.body(mail.last(dutch.email))
    assert "avant le 15 janvier 2027 01:00" in french_body
    assert "geschorst tot 15 januari 2027 01:00" in dutch_body
    assert "UTC" not in french_body + dutch_body and "2027-01-15" not in french_body + dutch_body


def test_lifting_a_silence_early(app, make_user, make_thread, mail):
    thread = make_thread()
    member = make_user()
    moderator = as_member(app, make_user(role="moderator"))
    sanction(moderator, member, "silence_user", until=(utcnow() + timedelta(days=7)).date().isoformat())
    client = as_member(app, member)
    assert reply(client, thread, "Nog steeds stil?").status_code == 403
    response = moderator.post_form(f"/nl/mod/users/{member.id}/lift", {"which": "silence", "reason": "Excuses aangeboden."})
    assert response.status_code == 302
    assert reply(client, thread, "Dank je, ik let erop.").status_code == 302
    assert "Excuses aangeboden." in Mailbox.body(mail.last(member.email))
    assert audit_actions(app) == ["silence_user", "lift_silence"]


def test_suspension_ends_sessions_and_blocks_sign_in_until_lifted(app, make_user, mail):
    member = make_user()
    client = as_member(app, member)
    assert client.get("/nl/notifications").status_code == 200
    moderator = as_member(app, make_user(role="moderator"))
    assert sanction(moderator, member, "suspend_user", "Spam verspreid.").status_code == 302
    # The open session is over at once.
    response = client.get("/nl/notifications")
    assert response.status_code == 302 and "/nl/login" in response.headers["Location"]
    refused = client.post_form("/nl/login", {"email": member.email, "password": PASSWORD})
    assert refused.status_code == 200 and "Spam verspreid." in html(refused)
    assert "Spam verspreid." in Mailbox.body(mail.last(member.email))
    assert moderator.post_form(f"/nl/mod/users/{member.id}/lift", {"which": "suspension"}).status_code == 302
    assert load(app, User, member.id).status == "active"
    login(client, member)
    assert client.get("/nl/notifications").status_code == 200
    assert audit_actions(app) == ["suspend_user", "lift_suspension"]


def test_a_suspension_runs_out_at_its_date(app, make_user):
    member = make_user()
    moderator = as_member(app, make_user(role="moderator"))
    until = (utcnow() + timedelta(days=3)).date().isoformat()
    assert sanction(moderator, member, "suspend_user", until=until).status_code == 302
    client = app.test_client()
    assert client.post_form("/nl/login", {"email": member.email, "password": PASSWORD}).status_code == 200
    with app.app_context():
        db.session.get(User, member.id).suspended_until = utcnow() - timedelta(minutes=1)
        db.session.commit()
    login(client, member)
    assert load(app, User, member.id).status == "active"


def test_sanction_form_errors_keep_the_input(app, make_user):
    member = make_user()
    admin = make_user(role="admin")
    moderator_user = make_user(role="moderator")
    moderator = as_member(app, moderator_user)
    response = sanction(moderator, member, "silence_user", reason="Te fel.", until="")
    assert response.status_code == 400
    assert tr_html(app, "Choose the date until which the measure applies.") in html(response) and "Te fel." in html(response)
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    response = sanction(moderator, member, "silence_user", until=yesterday)
    assert response.status_code == 400 and tr_html(app, "The date must be in the future.") in html(response)
    response = sanction(moderator, member, "warn_user", reason="")
    assert response.status_code == 400
    assert load(app, User, member.id).silenced_until is None
    # Not against oneself, another moderator or an admin.
    assert sanction(moderator, admin, "warn_user").status_code == 403
    assert sanction(moderator, moderator_user, "warn_user").status_code == 403
    assert sanction(moderator, make_user(role="moderator"), "warn_user").status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ModerationAction.id))) == 0


def test_a_refused_new_topic_keeps_title_and_text(app, make_user, make_theme):
    app.config["PREMODERATE_FIRST_POSTS"] = 0
    theme = make_theme()
    client = as_member(app, make_user())
    data = {"theme": theme.id, "kind": "question", "language": "nl", "tags": ""}
    for n in (1, 2):
        response = client.post_form("/nl/new", dict(data, title=f"Vraag nummer {n} over de Wmo",
                                                    body=f"Tekst van vraag {n}."))
        assert response.status_code == 302
    response = client.post_form("/nl/new", dict(data, title="Een derde vraag, te snel", body="Deze tekst blijft staan."))
    assert response.status_code == 400
    page = html(response)
    assert tr_html(app, "You are posting very quickly. Wait a minute and send your text again; it is still here.") in page
    assert "Een derde vraag, te snel" in page and "Deze tekst blijft staan." in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id))) == 2
