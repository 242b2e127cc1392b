"""Privacy through HTTP: the data export ZIP, account deletion (anonymise / remove), admin deletion, search."""
import io
import json
import zipfile

import pytest

from forum.extensions import db
from forum.models import (
    Flag, ModerationAction, Notification, Post, PostRevision, SearchOutbox, Thread, User, Watch,
)
from tests.conftest import Mailbox, PASSWORD, load, login

EXPORT_FILES = {"README.txt", "profile.json", "threads.json", "posts.json", "reactions.json", "notifications.json",
                "watches.json", "flags.json", "audit.json", "organisation_requests.json", "events.json"}


def _former_member(app, lang="nl"):
    from forum.privacy.services import former_member_label

    with app.test_request_context(f"/{lang}/"):
        return former_member_label(lang)


def _delete_own(client, mode, password=PASSWORD, lang="nl"):
    return client.post_form(f"/{lang}/settings/delete", {"mode": mode, "password": password, "confirm": "y"})


# -- pages -----------------------------------------------------------------------------

def test_settings_link_to_export_and_delete_and_privacy_pages_are_not_cached(client, make_user):
    member = make_user()
    login(client, member)
    settings = client.get("/nl/settings")
    assert settings.headers["Cache-Control"] == "no-store"
    html = settings.get_data(as_text=True)
    assert 'href="/nl/settings/export"' in html and 'href="/nl/settings/delete"' in html
    for lang in ("nl", "fr"):
        for page in ("export", "delete"):
            response = client.get(f"/{lang}/settings/{page}")
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "no-store"
            assert f'<html lang="{lang}">' in response.get_data(as_text=True)


def test_privacy_pages_need_signing_in(client):
    for path in ("/nl/settings/export", "/nl/settings/delete"):
        response = client.get(path)
        assert response.status_code == 302 and "/nl/login" in response.headers["Location"]
    response = client.post_form("/nl/settings/export")
    assert response.status_code == 302 and "/nl/login" in response.headers["Location"]


# -- export ----------------------------------------------------------------------------

def test_export_zip_holds_the_members_data_and_nothing_of_others(app, client, make_user, make_thread, make_post):
    alice = make_user(name="Alice Exporteur", email="alice@example.nl", bio="Voorzitter van de raad.")
    bob = make_user(name="Bob Anderlid", email="bob@example.nl")
    thread = make_thread(author=bob, title="Hoe organiseren jullie inspraak?",
                         body="Bobs eigen vraag met geheime details.")
    alice_reply = make_post(thread, author=alice, body="Eerste versie van mijn antwoord.")
    alice_thread = make_thread(author=alice, title="Ervaringen met keukentafelgesprekken",
                               body="Alice opent een onderwerp.")
    make_post(alice_thread, author=bob, body="Bobs reactie met zijn eigen verhaal.")  # notifies Alice
    with app.app_context():
        bob_post = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        db.session.add(Flag(post_id=bob_post.id, user_id=alice.id, reason="off_topic", note="Past niet hier"))
        db.session.add(ModerationAction(actor_id=None, action="warn_user", target_type="user",
                                        target_id=alice.id, reason="Let op de toon"))
        db.session.add(ModerationAction(actor_id=None, action="warn_user", target_type="user",
                                        target_id=bob.id, reason="Bob kreeg een waarschuwing"))
        db.session.commit()
        bob_post_id = bob_post.id

    login(client, alice)
    edited = client.post_form(f"/nl/p/{alice_reply.id}/edit", {"body": "Tweede versie van mijn antwoord."})
    assert edited.status_code == 302
    assert client.post_form(f"/nl/p/{bob_post_id}/thanks").status_code == 302

    response = client.post_form("/nl/settings/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == EXPORT_FILES
    files = {name: archive.read(name).decode() for name in archive.namelist()}
    data = {name: json.loads(text) for name, text in files.items() if name.endswith(".json")}

    assert data["profile.json"]["email"] == "alice@example.nl"
    assert data["profile.json"]["bio"] == "Voorzitter van de raad."
    posts = {p["id"]: p for p in data["posts.json"]}
    assert posts[alice_reply.id]["body_source"] == "Tweede versie van mijn antwoord."
    assert [h["body_source"] for h in posts[alice_reply.id]["history"]] == ["Eerste versie van mijn antwoord."]
    assert any(p["body_source"] == "Alice opent een onderwerp." for p in posts.values())
    assert [t["title"] for t in data["threads.json"]] == ["Ervaringen met keukentafelgesprekken"]
    assert [r["post_id"] for r in data["reactions.json"]] == [bob_post_id]
    assert any(n["kind"] == "reply" and n["thread_id"] == alice_thread.id for n in data["notifications.json"])
    assert {w["thread_id"] for w in data["watches.json"]} >= {alice_thread.id, thread.id}
    assert data["flags.json"][0]["note"] == "Past niet hier"
    assert [a["reason"] for a in data["audit.json"]] == ["Let op de toon"]

    everything = "\n".join(files.values())
    for other in ("Bobs eigen vraag", "Bobs reactie", "Bob Anderlid", "bob@example.nl", "Bob kreeg"):
        assert other not in everything, other


def test_export_is_rate_limited(app, client, make_user):
    app.config["RATELIMIT_PRIVACY_EXPORT"] = (2, 3600)
    login(client, make_user())
    assert client.post_form("/nl/settings/export").status_code == 200
    assert client.post_form("/nl/settings/export").status_code == 200
    response = client.post_form("/nl/settings/export")
    assert response.status_code == 429 and "Retry-After" in response.headers


# -- deletion by the member ------------------------------------------------------------

def test_deletion_form_errors_change_nothing(app, client, make_user):
    member = make_user()
    login(client, member)
    response = _delete_own(client, "anonymise", password="fout-wachtwoord")
    assert response.status_code == 400 and 'id="password-error"' in response.get_data(as_text=True)
    response = client.post_form("/nl/settings/delete", {"mode": "anonymise", "password": PASSWORD})
    assert response.status_code == 400 and 'id="confirm-error"' in response.get_data(as_text=True)
    response = client.post_form("/nl/settings/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 400 and 'id="mode-error"' in response.get_data(as_text=True)
    saved = load(app, User, member.id)
    assert saved.deleted_at is None and saved.email == member.email
    assert client.get("/nl/settings").status_code == 200  # still signed in


def test_anonymise_keeps_posts_as_former_member_and_removes_the_person(app, client, make_user, make_theme,
                                                                      make_thread, make_post, mail):
    app.config["SEARCH_SYNC_AFTER_REQUEST"] = False  # keep the outbox rows to look at them
    theme = make_theme(visibility="public")
    alice = make_user(name="Zebedeus Klaproos", email="zebedeus@example.nl", bio="Mijn bio")
    bob = make_user(name="Bob Buurman")
    thread = make_thread(author=alice, theme=theme, title="Vervoer naar de dagbesteding",
                         body="Wie heeft ervaring met het regionale vervoer?")
    reply = make_post(thread, author=bob, body="@ZebedeusKlaproos bij ons regelt de gemeente dat. Groet aan @zebedeusklaproos!")
    other_thread = make_thread(author=bob, theme=theme)
    alice_reply = make_post(other_thread, author=alice, body="Dat herken ik goed.")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Notification.id)).where(Notification.user_id == alice.id))
        assert 'class="mention"' in db.session.get(Post, reply.id).body_html

    other_device = app.test_client()
    login(other_device, alice)
    login(client, alice)
    response = _delete_own(client, "anonymise")
    assert response.status_code == 302
    assert client.get("/nl/settings").status_code == 302  # signed out here ...
    assert other_device.get("/nl/settings").status_code == 302  # ... and everywhere

    label = _former_member(app)
    page = client.get(f"/nl/t/{thread.id}").get_data(as_text=True)
    assert "Wie heeft ervaring met het regionale vervoer?" in page  # the post stays readable
    assert label in page
    assert "Zebedeus" not in page and "Klaproos" not in page
    with app.app_context():
        body = db.session.get(Post, reply.id)
        assert body.body_source == f"@{label} bij ons regelt de gemeente dat. Groet aan @{label}!"
        assert "Zebedeus" not in body.body_html and f"/members/{alice.id}" not in body.body_html
        assert db.session.get(Post, alice_reply.id).status == "visible"
        user = db.session.get(User, alice.id)
        assert user.deleted_at is not None and user.email == f"deleted-{alice.id}@invalid"
        assert user.password_hash is None and user.bio == "" and "Zebedeus" not in user.name
        assert user.organisation_id is None
        for model in (Watch, Notification):
            assert db.session.scalar(db.select(db.func.count(model.id)).where(model.user_id == alice.id)) == 0
        entry = db.session.scalar(db.select(ModerationAction).where(ModerationAction.action == "delete_account"))
        assert entry.target_id == alice.id and entry.details["mode"] == "anonymise" and entry.details["by_self"]
        assert entry.details["mentions_replaced"] == 1
        outbox = {(r.object_type, r.object_id) for r in db.session.scalars(db.select(SearchOutbox))}
        assert {("user", alice.id), ("post", reply.id), ("post", alice_reply.id)} <= outbox
    # The profile is gone, signing in is impossible, the address is free again.
    login(client, bob)
    assert client.get(f"/nl/members/{alice.id}").status_code == 404
    client.post_form("/nl/logout")
    response = client.post_form("/nl/login", {"email": "zebedeus@example.nl", "password": PASSWORD})
    assert response.status_code != 302
    again = make_user(email="zebedeus@example.nl", name="Zebedeus Klaproos")
    assert again.id != alice.id
    body = Mailbox.body(mail.last("zebedeus@example.nl"))
    assert "Zebedeus Klaproos" in body


def test_remove_deletes_the_members_posts_but_keeps_replies_by_others(app, client, make_user, make_theme,
                                                                      make_thread, make_post):
    theme = make_theme(visibility="public")
    alice = make_user(name="Alice Weg")
    bob = make_user(name="Bob Blijft")
    lonely = make_thread(author=alice, theme=theme, body="Niemand reageerde hierop.")
    discussed = make_thread(author=alice, theme=theme, body="Hier reageerde Bob op.", kind="vacancy",
                            fields={"contact": "alice@raad.nl", "asked": "Een secretaris"})
    bob_reply = make_post(discussed, author=bob, body="Bobs antwoord blijft staan.")
    bobs_thread = make_thread(author=bob, theme=theme)
    alice_reply = make_post(bobs_thread, author=alice, body="Alice eerste versie.")
    attachment_id = _attach_image(app, alice_reply.id, alice.id)
    login(client, alice)
    assert client.post_form(f"/nl/p/{alice_reply.id}/edit", {"body": "Alice tweede versie."}).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PostRevision.id)).where(PostRevision.post_id == alice_reply.id))

    assert _delete_own(client, "remove").status_code == 302

    assert client.get(f"/nl/t/{lonely.id}").status_code == 404
    page = client.get(f"/nl/t/{discussed.id}").get_data(as_text=True)
    assert "Bobs antwoord blijft staan." in page and "Hier reageerde Bob op." not in page
    assert "alice@raad.nl" not in page
    page = client.get(f"/nl/t/{bobs_thread.id}").get_data(as_text=True)
    assert "Alice tweede versie." not in page and "Alice eerste versie." not in page
    with app.app_context():
        for post in db.session.scalars(db.select(Post).where(Post.author_id == alice.id)):
            assert post.status == "deleted" and post.body_source == "" and post.body_html == ""
        assert db.session.scalar(db.select(db.func.count(PostRevision.id)).where(PostRevision.post_id == alice_reply.id)) == 0
        assert db.session.get(Post, bob_reply.id).status == "visible"
        assert db.session.get(Thread, lonely.id).status == "deleted"
        kept = db.session.get(Thread, discussed.id)
        assert kept.status == "visible" and "contact" not in kept.fields
        assert db.session.get(Thread, bobs_thread.id).post_count == 1
    from forum.attachments.models import Attachment

    assert load(app, Attachment, attachment_id) is None  # files on removed posts go too


def _attach_image(app, post_id, uploader_id):
    """An image on the post; its id."""
    from PIL import Image

    from forum.attachments import services as attachments

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 200)).save(buffer, "PNG")
    with app.app_context():
        prepared = attachments.check_file(buffer.getvalue(), "foto.png")
        row = attachments.add_attachments(db.session.get(Post, post_id), uploader_id, [prepared])[0]
        db.session.commit()
        return row.id


def test_the_last_admin_cannot_delete_their_account(app, client, make_user):
    admin = make_user(role="admin")
    login(client, admin)
    response = _delete_own(client, "anonymise")
    assert response.status_code == 400 and 'class="form-errors"' in response.get_data(as_text=True)
    assert load(app, User, admin.id).deleted_at is None
    # Their own line in the admin list leads to the member's page (password required).
    response = client.get(f"/nl/admin/users/{admin.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/nl/settings/delete")


# -- deletion by an administrator ------------------------------------------------------

def test_admin_deletes_an_account_on_request(app, client, make_user, make_thread, mail):
    admin = make_user(role="admin")
    member = make_user(name="Verzoek Tot Wissen", email="wissen@example.nl", locale="fr")
    thread = make_thread(author=member)
    login(client, member)
    assert client.get(f"/nl/admin/users/{member.id}/delete").status_code == 403
    assert client.post_form(f"/nl/admin/users/{admin.id}/delete",
                            {"mode": "remove", "reason": "x", "confirm": "y"}).status_code == 403
    client.post_form("/nl/logout")

    login(client, admin)
    assert client.get(f"/fr/admin/users/{member.id}/delete").status_code == 200
    response = client.post_form(f"/nl/admin/users/{member.id}/delete", {"mode": "remove", "confirm": "y"})
    assert response.status_code == 400 and 'id="reason-error"' in response.get_data(as_text=True)
    assert load(app, User, member.id).deleted_at is None
    response = client.post_form(f"/nl/admin/users/{member.id}/delete",
                                {"mode": "remove", "reason": "Verzoek per mail van 3 maart", "confirm": "y"})
    assert response.status_code == 302
    saved = load(app, User, member.id)
    assert saved.deleted_at is not None and saved.email.endswith("@invalid")
    assert load(app, Thread, thread.id).status == "deleted"
    with app.app_context():
        entry = db.session.scalar(db.select(ModerationAction).where(ModerationAction.action == "delete_account"))
        assert entry.actor_id == admin.id and entry.reason == "Verzoek per mail van 3 maart"
        assert entry.details == {"mode": "remove", "by_self": False, "posts": 1, "mentions_replaced": 0}
    msg = mail.last("wissen@example.nl")
    assert msg["Content-Language"] == "fr"
    assert client.get(f"/nl/admin/users/{member.id}/delete").status_code == 404  # already gone
    assert f'id="user-{member.id}"' not in client.get("/nl/admin/users").get_data(as_text=True)


# -- search ----------------------------------------------------------------------------

def test_search_forgets_a_deleted_member(app, client, runner, make_user, make_theme, make_thread, make_post):
    theme = make_theme(visibility="public")
    alice = make_user(name="Zebedeus Klaproos")
    bob = make_user(name="Bob Buurman")
    own = make_thread(author=alice, theme=theme, title="Xylofoonoverleg met de wethouder",
                      body="Ons xylofoonoverleg met de wethouder werkt goed voor de Wmo.")
    bobs = make_thread(author=bob, theme=theme, title="Vervoer naar de dagbesteding regelen",
                       body="Wie regelt het vervoer naar de dagbesteding?")
    mention = make_post(bobs, author=bob, body="Vraag het aan @ZebedeusKlaproos, die weet er alles van.")
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0, result.output

    def found(q, post_id):
        page = client.get(f"/nl/search?q={q}").get_data(as_text=True)
        return f"/nl/p/{post_id}" in page

    assert found("xylofoonoverleg", _opening(app, own.id))
    assert found("ZebedeusKlaproos", mention.id)

    login(client, alice)
    assert _delete_own(client, "remove").status_code == 302
    runner.invoke(args=["search", "sync"])  # the page drained already; this makes sure
    assert not found("xylofoonoverleg", _opening(app, own.id))
    assert not found("ZebedeusKlaproos", mention.id)
    assert not found("Zebedeus", mention.id)


def _opening(app, thread_id):
    with app.app_context():
        return db.session.scalar(db.select(Post.id).where(Post.thread_id == thread_id, Post.number == 1))
