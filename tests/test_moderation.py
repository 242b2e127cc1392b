"""Moderation through HTTP: flags, the review queue, post actions, access, the audit log."""
import csv
import io
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale, ngettext
from markupsafe import escape

from forum.extensions import db
from forum.models import Flag, Notification, Post, PostRevision, Thread, User, utcnow
from tests.conftest import Mailbox, as_member, audit, html, load, login, tr, tr_html


def ntr(app, singular, plural, num, lang="nl"):
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return str(escape(ngettext(singular, plural, num)))


def moderation_notices(app, user_id):
    with app.app_context():
        return [n.data for n in db.session.scalars(
            db.select(Notification).where(Notification.user_id == user_id, Notification.kind == "moderation")
            .order_by(Notification.id))]


@pytest.fixture
def scene(app, make_user, make_thread, make_post):
    """A thread with a reply by a French-speaking member, a moderator and three other members."""
    author = make_user(locale="fr", name="Claire Dubois")
    thread = make_thread()
    post = make_post(thread, author=author, body="Un avis tranché sur la participation citoyenne.")
    return dict(thread=thread, post=post, author=author, moderator=make_user(role="moderator"),
                members=[make_user() for _ in range(3)])


def flag(client, post, reason="spam", note="", lang="nl"):
    return client.post_form(f"/{lang}/mod/flag/{post.id}", {"reason": reason, "note": note})


# -- flags -----------------------------------------------------------------------------

def test_three_flags_hide_at_once_then_review_restores(app, scene, mail):
    post, author, mod = scene["post"], scene["author"], scene["moderator"]
    clients = [as_member(app, m) for m in scene["members"]]
    page = html(clients[0].get(f"/nl/t/{scene['thread'].id}"))
    assert f'href="/nl/mod/flag/{post.id}"' in page  # the report link on each post

    form = clients[0].get(f"/nl/mod/flag/{post.id}")
    assert form.status_code == 200 and 'name="reason"' in html(form)
    assert flag(clients[0], post, "spam").status_code == 302
    assert flag(clients[1], post, "other", "Persoonlijke aanval op een wethouder").status_code == 302
    assert load(app, Post, post.id).status == "visible"  # two reports: still visible

    response = flag(clients[2], post, "offensive")
    assert response.status_code == 302
    assert load(app, Post, post.id).status == "hidden"
    # The author is told, in French, without learning who reported.
    notices = moderation_notices(app, author.id)
    assert [n["action"] for n in notices] == ["post_auto_hidden"]
    msg = mail.last(author.email)
    assert msg["Content-Language"] == "fr"
    body = Mailbox.body(msg)
    for m in scene["members"]:
        assert m.name not in body and m.email not in body
    # Others see "hidden by a moderator" instead of the text.
    page = html(clients[0].get(f"/nl/t/{scene['thread'].id}"))
    assert tr_html(app, "This message has been hidden by a moderator.") in page and "Un avis tranché" not in page
    assert load(app, Thread, scene["thread"].id).post_count == 1
    entry = audit(app, "auto_hide_post")[0]
    assert entry.actor_id is None and entry.target_id == post.id

    moderator = as_member(app, mod)
    queue = html(moderator.get("/nl/mod/"))
    assert ntr(app, "%(num)d report", "%(num)d reports", 3) in queue and "Persoonlijke aanval op een wethouder" in queue
    assert tr_html(app, "Hidden automatically, waiting for your review") in queue
    assert "Claire Dubois" in queue and ntr(app, "%(num)d hidden message", "%(num)d hidden messages", 1) in queue  # the author's record
    assert tr_html(app, "Review") + ' <span class="count">1</span>' in queue  # header counter

    response = moderator.post_form(f"/nl/mod/p/{post.id}/restore", {"reason": "Scherp maar binnen de regels."})
    assert response.status_code == 302
    assert load(app, Post, post.id).status == "visible"
    with app.app_context():
        assert {f.resolution for f in db.session.scalars(db.select(Flag).where(Flag.post_id == post.id))} == {"restored"}
    assert "Un avis tranché" in html(clients[0].get(f"/nl/t/{scene['thread'].id}"))
    assert moderation_notices(app, author.id)[-1]["action"] == "post_restored"
    assert "Scherp maar binnen de regels." in Mailbox.body(mail.last(author.email))
    assert tr_html(app, "No reported messages. Well done!") in html(moderator.get("/nl/mod/"))
    restore = audit(app, "restore_post")[0]
    assert (restore.actor_id, restore.target_type, restore.target_id) == (mod.id, "post", post.id)


def test_flag_rules(app, client, scene):
    post, author = scene["post"], scene["author"]
    # Anonymous visitors are sent to sign in.
    response = client.get(f"/nl/mod/flag/{post.id}")
    assert response.status_code == 302 and "/nl/login" in response.headers["Location"]
    # Not one's own post.
    assert as_member(app, author).get(f"/nl/mod/flag/{post.id}").status_code == 403
    member = as_member(app, scene["members"][0])
    # "Something else" needs a note; the choice is kept and nothing is saved.
    response = flag(member, post, "other", "")
    assert response.status_code == 400
    assert tr(app, "Describe briefly what is wrong when you choose 'something else'.") in html(response)
    assert re.search(r'<input checked[^>]*value="other"', html(response))
    response = flag(member, post, "nonsense")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Flag.id))) == 0
    # Once per member.
    assert flag(member, post, "privacy").status_code == 302
    again = flag(member, post, "spam")
    assert tr_html(app, "You have already reported this message. The moderators will look at it.") in html(again)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Flag.id))) == 1
    # A missing post is 404.
    assert member.get("/nl/mod/flag/999999").status_code == 404


def test_dismissing_flags_closes_them(app, scene):
    post, mod = scene["post"], scene["moderator"]
    flag(as_member(app, scene["members"][0]), post, "off_topic")
    moderator = as_member(app, mod)
    assert ntr(app, "%(num)d report", "%(num)d reports", 1) in html(moderator.get("/nl/mod/"))
    response = moderator.post_form(f"/nl/mod/p/{post.id}/dismiss", {"next": "/nl/mod/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/nl/mod/")
    with app.app_context():
        flags = db.session.scalars(db.select(Flag).where(Flag.post_id == post.id)).all()
        assert [(f.resolution, f.resolved_by_id) for f in flags] == [("dismissed", mod.id)]
    assert load(app, Post, post.id).status == "visible"
    assert tr_html(app, "No reported messages. Well done!") in html(moderator.get("/nl/mod/"))
    assert audit(app, "dismiss_flags")[0].target_id == post.id
    # Nothing left to dismiss: a message, not a crash.
    again = moderator.post_form(f"/nl/mod/p/{post.id}/dismiss", {})
    assert again.status_code == 400 and tr_html(app, "There are no open reports on this message.") in html(again)


def test_queue_sorts_oldest_or_most_flagged_first(app, make_post, scene):
    thread = scene["thread"]
    older = scene["post"]
    newer = make_post(thread, body="Tweede bericht dat vaker gemeld wordt.")
    members = [as_member(app, m) for m in scene["members"][:2]]
    flag(members[0], older, "spam")
    flag(members[0], newer, "spam")
    flag(members[1], newer, "off_topic")
    with app.app_context():  # the first report on `older` is the oldest
        f = db.session.scalar(db.select(Flag).where(Flag.post_id == older.id))
        f.created_at = utcnow() - timedelta(hours=3)
        db.session.commit()
    moderator = as_member(app, scene["moderator"])
    oldest = html(moderator.get("/nl/mod/?sort=oldest"))
    assert oldest.index(f'id="flagged-{older.id}"') < oldest.index(f'id="flagged-{newer.id}"')
    most = html(moderator.get("/nl/mod/?sort=most"))
    assert most.index(f'id="flagged-{newer.id}"') < most.index(f'id="flagged-{older.id}"')


def test_hide_needs_a_reason_the_author_sees(app, scene, mail):
    post, author = scene["post"], scene["author"]
    moderator = as_member(app, scene["moderator"])
    response = moderator.post_form(f"/nl/mod/p/{post.id}/hide", {"reason": "  "})
    assert response.status_code == 400 and tr_html(app, "Give a reason: the member will see it.") in html(response)
    assert load(app, Post, post.id).status == "visible"

    response = moderator.post_form(f"/nl/mod/p/{post.id}/hide", {"reason": "Persoonsgegevens van een inwoner."})
    assert response.status_code == 302
    hidden = load(app, Post, post.id)
    assert (hidden.status, hidden.hidden_reason) == ("hidden", "Persoonsgegevens van een inwoner.")
    assert "Persoonsgegevens van een inwoner." in Mailbox.body(mail.last(author.email))
    mine = as_member(app, author, lang="fr")
    own_page = html(mine.get(f"/fr/t/{scene['thread'].id}"))
    assert "Un avis tranché" in own_page and "Persoonsgegevens van een inwoner." in own_page  # text and reason
    notes = html(mine.get("/fr/notifications"))
    assert tr_html(app, "A moderator hid your message", "fr") in notes and "Persoonsgegevens van een inwoner." in notes
    other = as_member(app, scene["members"][0])
    other_page = html(other.get(f"/nl/t/{scene['thread'].id}"))
    assert "Un avis tranché" not in other_page and "Persoonsgegevens van een inwoner." not in other_page
    assert audit(app, "hide_post")[0].reason == "Persoonsgegevens van een inwoner."


def test_moderator_edit_goes_into_the_history(app, scene):
    post, mod = scene["post"], scene["moderator"]
    moderator = as_member(app, mod)
    form = moderator.get(f"/nl/mod/p/{post.id}/edit")
    assert form.status_code == 200 and "Un avis tranché" in html(form)
    response = moderator.post_form(f"/nl/mod/p/{post.id}/edit", {"body": "Un avis (adresse retirée).", "reason": "Adres verwijderd"})
    assert response.status_code == 302
    edited = load(app, Post, post.id)
    assert edited.body_source == "Un avis (adresse retirée)." and edited.edit_count == 1
    with app.app_context():
        revision = db.session.scalar(db.select(PostRevision).where(PostRevision.post_id == post.id))
        assert (revision.editor_id, revision.body_source) == (mod.id, "Un avis tranché sur la participation citoyenne.")
    entry = audit(app, "edit_post")[0]
    assert (entry.actor_id, entry.reason) == (mod.id, "Adres verwijderd")
    # An empty text is refused with the text field marked.
    response = moderator.post_form(f"/nl/mod/p/{post.id}/edit", {"body": ""})
    assert response.status_code == 400 and tr_html(app, "Write a text.") in html(response)


def test_moderator_delete_tells_the_author(app, scene, mail):
    post, author = scene["post"], scene["author"]
    moderator = as_member(app, scene["moderator"])
    page = html(moderator.get(f"/nl/t/{scene['thread'].id}"))
    assert f'href="/nl/mod/p/{post.id}"' in page  # the moderate link on each post
    response = moderator.post_form(f"/nl/mod/p/{post.id}/delete", {"reason": "Reclame"})
    assert response.status_code == 302
    assert load(app, Post, post.id).status == "deleted"
    assert "Reclame" in Mailbox.body(mail.last(author.email))
    assert moderation_notices(app, author.id)[-1]["action"] == "post_deleted"
    assert audit(app, "delete_post")[0].reason == "Reclame"


def test_review_counter_adds_flags_held_posts_and_registrations(app, make_user, make_post, scene):
    make_user(status="pending")
    make_post(scene["thread"], status="held")
    flag(as_member(app, scene["members"][0]), scene["post"])
    moderator = as_member(app, scene["moderator"])
    page = html(moderator.get("/nl/mod/"))
    assert tr_html(app, "Review") + ' <span class="count">3</span>' in page
    with app.test_request_context("/nl/"):
        from flask import url_for
        approvals = url_for("auth.approvals", lang="nl")
    assert f'href="{approvals}"' in page


# -- access ----------------------------------------------------------------------------

MOD_GETS = ["/{lang}/mod/", "/{lang}/mod/p/{post}", "/{lang}/mod/p/{post}/edit", "/{lang}/mod/t/{thread}",
            "/{lang}/mod/users/{user}", "/{lang}/mod/log"]
MOD_POSTS = ["/{lang}/mod/p/{post}/hide", "/{lang}/mod/p/{post}/restore", "/{lang}/mod/p/{post}/dismiss",
             "/{lang}/mod/p/{post}/approve", "/{lang}/mod/p/{post}/delete", "/{lang}/mod/p/{post}/edit",
             "/{lang}/mod/t/{thread}/lock", "/{lang}/mod/t/{thread}/pin", "/{lang}/mod/t/{thread}/move",
             "/{lang}/mod/t/{thread}/merge", "/{lang}/mod/t/{thread}/vacancy", "/{lang}/mod/t/{thread}/kind",
             "/{lang}/mod/users/{user}/sanction", "/{lang}/mod/users/{user}/lift"]


def _urls(templates, scene, lang):
    values = dict(lang=lang, post=scene["post"].id, thread=scene["thread"].id, user=scene["author"].id)
    return [t.format(**values) for t in templates]


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_members_get_403_and_visitors_are_sent_to_sign_in(app, client, scene, lang):
    member = as_member(app, scene["members"][0])
    for url in _urls(MOD_GETS, scene, lang) + [f"/{lang}/mod/log.csv"]:
        assert member.get(url).status_code == 403, url
        response = client.get(url)
        assert response.status_code == 302 and f"/{lang}/login" in response.headers["Location"], url
    for url in _urls(MOD_POSTS, scene, lang):
        assert member.post_form(url, {"reason": "x", "level": "site", "action": "warn_user"}).status_code == 403, url
        response = client.post_form(url, {"reason": "x"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert load(app, Post, scene["post"].id).status == "visible"
    assert audit(app) == []


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_moderator_pages_render_in_both_languages(app, scene, lang):
    flag(as_member(app, scene["members"][0]), scene["post"], "privacy", lang=lang)
    moderator = as_member(app, scene["moderator"], lang=lang)
    for url in _urls(MOD_GETS, scene, lang):
        response = moderator.get(url)
        assert response.status_code == 200, url
        assert f'<html lang="{lang}">' in html(response)


# -- the audit log ---------------------------------------------------------------------

def test_audit_log_filters_and_csv_export(app, make_user, scene):
    post, mod = scene["post"], scene["moderator"]
    admin = make_user(role="admin", name="Anouk Beheer")
    moderator = as_member(app, mod)
    administrator = as_member(app, admin)
    moderator.post_form(f"/nl/mod/p/{post.id}/hide", {"reason": "=HYPERLINK(\"http://evil.example\")"})
    administrator.post_form(f"/nl/mod/p/{post.id}/restore", {"reason": "+Onterecht verborgen"})
    moderator.post_form(f"/nl/mod/t/{scene['thread'].id}/lock", {"reason": "@iedereen: afgerond"})

    page = html(moderator.get("/nl/mod/log"))
    assert ntr(app, "%(num)d entry", "%(num)d entries", 3) in page and tr_html(app, "message hidden") in page and tr_html(app, "topic locked") in page
    assert tr_html(app, "Download as CSV (spreadsheet)") not in page  # admins only
    filtered = html(moderator.get("/nl/mod/log?action=hide_post"))
    assert ntr(app, "%(num)d entry", "%(num)d entries", 1) in filtered and tr_html(app, "topic locked") not in filtered.split("<table>")[1]
    by_admin = html(moderator.get(f"/nl/mod/log?actor={admin.id}"))
    assert ntr(app, "%(num)d entry", "%(num)d entries", 1) in by_admin and "Onterecht verborgen" in by_admin
    threads_only = html(moderator.get("/nl/mod/log?target_type=thread"))
    assert ntr(app, "%(num)d entry", "%(num)d entries", 1) in threads_only
    today = utcnow().date()
    assert ntr(app, "%(num)d entry", "%(num)d entries", 3) in html(moderator.get(f"/nl/mod/log?from={today}&to={today}"))
    assert ntr(app, "%(num)d entry", "%(num)d entries", 0) in html(moderator.get(f"/nl/mod/log?from={today + timedelta(days=1)}"))
    bad = moderator.get("/nl/mod/log?from=gisteren")
    assert bad.status_code == 400 and tr_html(app, "Enter a date like 2025-03-31.") in html(bad)

    assert moderator.get("/nl/mod/log.csv").status_code == 403
    response = administrator.get("/nl/mod/log.csv?target_type=post")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(html(response).lstrip("\ufeff"))))
    assert rows[0][:5] == ["id", "created_at_utc", "actor_id", "actor", "action"]
    reasons = {row[4]: row[7] for row in rows[1:]}
    assert reasons == {"hide_post": "'=HYPERLINK(\"http://evil.example\")", "restore_post": "'+Onterecht verborgen"}
    assert tr_html(app, "Download as CSV (spreadsheet)") in html(administrator.get("/nl/mod/log"))


def test_the_audit_log_cannot_be_changed_from_the_app(app):
    with app.test_request_context():
        rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("moderation.log")]
    assert {r.endpoint for r in rules} == {"moderation.log", "moderation.log_csv"}
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    # Nor does any other route of the app name the audit log as something to change.
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
                assert "log" not in rule.rule.split("/"), rule.rule


def test_demo_content_fills_the_queue(app, runner):
    result = runner.invoke(args=["forum", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from forum.moderation import services

        assert services.flagged_count() >= 2 and services.held_count() >= 2
        mod = db.session.scalar(db.select(User).where(User.email == "moderator@agora.example"))
        for thread in db.session.scalars(db.select(Thread)):
            visible = db.session.scalar(db.select(db.func.count(Post.id)).where(
                Post.thread_id == thread.id, Post.status == "visible"))
            assert thread.post_count == visible
    from forum.demo_content import DEMO_PASSWORD
    client = app.test_client()
    login(client, "moderator@agora.example", DEMO_PASSWORD)
    page = html(client.get("/nl/mod/"))
    assert "Budget Deals" in page and "Bram Hoekstra" in page
    assert mod is not None


def test_an_expired_form_keeps_the_moderators_text(app, scene):
    moderator = as_member(app, scene["moderator"])
    response = moderator.post(f"/nl/mod/p/{scene['post'].id}/edit",
                              data={"body": "Een lange herschreven tekst.", "csrf_token": "verlopen"})
    assert response.status_code == 400 and "Een lange herschreven tekst." in html(response)
    assert load(app, Post, scene["post"].id).body_source.startswith("Un avis tranché")
    member = as_member(app, scene["members"][0])
    response = member.post(f"/nl/mod/flag/{scene['post'].id}",
                           data={"reason": "other", "note": "Mijn uitleg", "csrf_token": "verlopen"})
    assert response.status_code == 400 and "Mijn uitleg" in html(response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Flag.id))) == 0


def test_a_held_post_is_published_or_deleted_not_hidden(app, make_post, scene):
    held = make_post(scene["thread"], status="held")
    moderator = as_member(app, scene["moderator"])
    response = moderator.post_form(f"/nl/mod/p/{held.id}/hide", {"reason": "Niet nodig"})
    assert response.status_code == 400
    assert tr_html(app, "This message is waiting for review: publish it or delete it.") in html(response)
    assert load(app, Post, held.id).status == "held" and audit(app) == []


def test_moderators_using_the_forum_buttons_are_audited_too(app, scene, mail):
    post, author, mod = scene["post"], scene["author"], scene["moderator"]
    moderator = as_member(app, mod)
    response = moderator.post_form(f"/nl/p/{post.id}/edit", {"body": "Ingekort door de moderator."})
    assert response.status_code == 302
    assert [(e.action, e.actor_id, e.details.get("via")) for e in audit(app)] == [("edit_post", mod.id, "forum")]
    response = moderator.post_form(f"/nl/p/{post.id}/delete", {})
    assert response.status_code == 302
    assert audit(app)[-1].action == "delete_post"
    assert moderation_notices(app, author.id)[-1]["action"] == "post_deleted"
    assert "Ingekort door de moderator." in Mailbox.body(mail.last(author.email))
    # Members editing or deleting their own posts are not moderation.
    own = as_member(app, scene["members"][0])
    assert own.post_form(f"/nl/t/{scene['thread'].id}/reply", {"body": "Mijn eigen bericht."}).status_code == 302
    with app.app_context():
        mine = db.session.scalar(db.select(Post).where(Post.author_id == scene["members"][0].id))
    assert own.post_form(f"/nl/p/{mine.id}/edit", {"body": "Mijn eigen bericht, verbeterd."}).status_code == 302
    assert own.post_form(f"/nl/p/{mine.id}/delete", {}).status_code == 302
    assert load(app, Post, mine.id).status == "deleted" and len(audit(app)) == 2
