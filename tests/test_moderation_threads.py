"""Thread moderation through HTTP: lock, pin, move, merge, close a vacancy, change kind."""
from datetime import timedelta

import pytest

from forum.extensions import db
from forum.models import ModerationAction, Post, Thread, Watch, utcnow
from tests.conftest import as_member, html, load, tr_html


def actions(app):
    with app.app_context():
        return [(a.action, a.target_type, a.target_id) for a in
                db.session.scalars(db.select(ModerationAction).order_by(ModerationAction.id))]


@pytest.fixture
def mod(app, make_user):
    user = make_user(role="moderator")
    return user, as_member(app, user)


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_lock_prevents_replies_until_unlocked(app, make_user, make_thread, mod, lang):
    thread = make_thread()
    moderator_user, moderator = mod
    page = html(moderator.get(f"/{lang}/t/{thread.id}"))
    assert f'action="/{lang}/mod/t/{thread.id}/lock' in page  # the sidebar tools
    response = moderator.post_form(f"/{lang}/mod/t/{thread.id}/lock", {"reason": "Afgerond"})
    assert response.status_code == 302
    assert load(app, Thread, thread.id).locked is True
    member = as_member(app, make_user(), lang=lang)
    assert member.post_form(f"/{lang}/t/{thread.id}/reply", {"body": "Toch nog iets."}).status_code == 403
    assert moderator.post_form(f"/{lang}/mod/t/{thread.id}/lock", {"action": "unlock"}).status_code == 302
    assert member.post_form(f"/{lang}/t/{thread.id}/reply", {"body": "Toch nog iets."}).status_code == 302
    assert actions(app) == [("lock_thread", "thread", thread.id), ("unlock_thread", "thread", thread.id)]


def test_pinning_in_a_theme_or_site_wide(app, make_user, make_thread, make_theme, mod):
    theme = make_theme()
    old = make_thread(theme=theme, title="Oud onderwerp dat vastgezet wordt",
                      last_post_at=utcnow() - timedelta(days=30))
    make_thread(theme=theme, title="Nieuw onderwerp met recente activiteit")
    _, moderator = mod
    reader = as_member(app, make_user())

    def first_title(url):
        page = html(reader.get(url))
        listing = page[page.index('class="list thread-list"'):]  # the list, not side panels
        return listing.index("Oud onderwerp") < listing.index("Nieuw onderwerp")

    assert not first_title("/nl/latest") and not first_title(f"/nl/themes/{theme.slug}")
    assert moderator.post_form(f"/nl/mod/t/{old.id}/pin", {"level": "theme"}).status_code == 302
    assert first_title(f"/nl/themes/{theme.slug}") and not first_title("/nl/latest")
    assert moderator.post_form(f"/nl/mod/t/{old.id}/pin", {"level": "site"}).status_code == 302
    assert first_title(f"/nl/themes/{theme.slug}") and first_title("/nl/latest")
    assert moderator.post_form(f"/nl/mod/t/{old.id}/pin", {"level": ""}).status_code == 302
    assert load(app, Thread, old.id).pinned == ""
    bad = moderator.post_form(f"/nl/mod/t/{old.id}/pin", {"level": "everywhere"})
    assert bad.status_code == 400
    assert [a[0] for a in actions(app)] == ["pin_thread", "pin_thread", "unpin_thread"]


def test_move_to_another_theme(app, make_user, make_thread, make_theme, mod):
    source, target = make_theme(), make_theme(name_nl="Wonen en zorg")
    thread = make_thread(theme=source, title="Een onderwerp op de verkeerde plek")
    _, moderator = mod
    form = html(moderator.get(f"/nl/mod/t/{thread.id}"))
    assert "Wonen en zorg" in form
    assert moderator.post_form(f"/nl/mod/t/{thread.id}/move", {"theme": target.id}).status_code == 302
    assert load(app, Thread, thread.id).theme_id == target.id
    reader = as_member(app, make_user())
    assert "Een onderwerp op de verkeerde plek" in html(reader.get(f"/nl/themes/{target.slug}"))
    assert "Een onderwerp op de verkeerde plek" not in html(reader.get(f"/nl/themes/{source.slug}"))
    response = moderator.post_form(f"/nl/mod/t/{thread.id}/move", {"theme": 99999})
    assert response.status_code == 400 and load(app, Thread, thread.id).theme_id == target.id
    assert actions(app) == [("move_thread", "thread", thread.id)]


def test_merge_moves_posts_after_the_targets_and_redirects(app, make_user, make_thread, make_post, mod):
    target = make_thread(title="Het hoofdonderwerp over vervoer")
    make_post(target, body="Doel reactie 2")
    make_post(target, body="Doel reactie 3")
    source = make_thread(title="Dubbel onderwerp over vervoer", body="Bron opening")
    make_post(source, body="Bron reactie")
    follower = make_user()
    with app.app_context():
        db.session.add(Watch(user_id=follower.id, thread_id=source.id))
        # Written earlier than the source's opening post: merged posts go by created_at.
        reply = db.session.scalar(db.select(Post).where(Post.thread_id == source.id, Post.number == 2))
        reply.created_at = utcnow() - timedelta(days=1)
        db.session.commit()
    _, moderator = mod
    bad = moderator.post_form(f"/nl/mod/t/{source.id}/merge", {"target": "geen onderwerp"})
    assert bad.status_code == 400
    assert tr_html(app, "Enter the number or the address of an existing topic.") in html(bad)
    itself = moderator.post_form(f"/nl/mod/t/{source.id}/merge", {"target": str(source.id)})
    assert itself.status_code == 400 and tr_html(app, "A topic cannot be merged into itself.") in html(itself)

    response = moderator.post_form(f"/nl/mod/t/{source.id}/merge", {"target": f"http://agora.test/nl/t/{target.id}/het-hoofdonderwerp"})
    assert response.status_code == 302
    with app.app_context():
        posts = db.session.scalars(db.select(Post).where(Post.thread_id == target.id).order_by(Post.number)).all()
        assert [p.body_source for p in posts] == [
            posts[0].body_source, "Doel reactie 2", "Doel reactie 3", "Bron reactie", "Bron opening"]
        assert [p.number for p in posts] == [1, 2, 3, 4, 5]
        t = db.session.get(Thread, target.id)
        s = db.session.get(Thread, source.id)
        assert t.post_count == 5 and (s.status, s.merged_into_id, s.post_count) == ("hidden", target.id, 0)
        assert db.session.scalar(db.select(Watch.id).where(Watch.user_id == follower.id, Watch.thread_id == target.id))
    reader = as_member(app, make_user())
    old = reader.get(f"/nl/t/{source.id}/dubbel-onderwerp-over-vervoer")
    assert old.status_code == 301 and f"/nl/t/{target.id}" in old.headers["Location"]
    page = html(reader.get(old.headers["Location"], follow_redirects=True))
    assert "Bron opening" in page and "Bron reactie" in page
    assert "Dubbel onderwerp over vervoer" not in html(reader.get("/nl/latest"))
    assert actions(app) == [("merge_thread", "thread", source.id)]


def test_close_a_vacancy_and_change_kind(app, make_user, make_thread, make_post, mod):
    vacancy = make_thread(kind="vacancy", fields={"asked": "Een secretaris", "closes_on": ""})
    _, moderator = mod
    assert moderator.post_form(f"/nl/mod/t/{vacancy.id}/vacancy", {}).status_code == 302
    assert load(app, Thread, vacancy.id).closed is True
    question = make_thread(kind="question")
    answer = make_post(question)
    with app.app_context():
        db.session.get(Thread, question.id).accepted_post_id = answer.id
        db.session.commit()
    not_vacancy = moderator.post_form(f"/nl/mod/t/{question.id}/vacancy", {})
    assert not_vacancy.status_code == 400 and tr_html(app, "Only vacancies can be closed.") in html(not_vacancy)
    assert moderator.post_form(f"/nl/mod/t/{question.id}/kind", {"kind": "discussion"}).status_code == 302
    changed = load(app, Thread, question.id)
    assert (changed.kind, changed.accepted_post_id) == ("discussion", None)
    assert moderator.post_form(f"/nl/mod/t/{question.id}/kind", {"kind": "poem"}).status_code == 400
    assert [a[0] for a in actions(app)] == ["close_vacancy", "change_kind"]
    with app.app_context():
        entry = db.session.scalar(db.select(ModerationAction).where(ModerationAction.action == "change_kind"))
        assert entry.details == {"previous": "question", "kind": "discussion"}
