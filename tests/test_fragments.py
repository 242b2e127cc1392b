"""The shared cache of rendered posts: it is used, it changes at once, it never leaks.

The cache lives in files under instance/fragments (forum/threads/fragments.py). To prove a
page really comes from it, a test writes a marker into a stored fragment and sees the
marker on the page; after a change to what the fragment shows, the marker must be gone.
"""
from pathlib import Path

import pytest

from auth import services as accounts
from forum.admin import services as admin
from forum.extensions import db
from forum.moderation import services as moderation
from forum.models import Organisation, Post, User
from tests.conftest import login, tr

MARKER = "FROM-THE-FRAGMENT-CACHE"


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def fragment_files(app, post_id):
    folder = Path(app.instance_path) / "fragments" / str(post_id // 1000)
    return sorted(folder.glob(f"{post_id}-*.html"))


def plant_marker(app, post_id):
    """Put the marker into every stored fragment of the post (fingerprint line kept), and
    let the app forget what it keeps in memory, as a worker that has not shown the post
    yet: the next page reads the shared files."""
    files = fragment_files(app, post_id)
    assert files, "the page should have stored the post's fragment"
    for path in files:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("</div>", f"{MARKER}</div>", 1), encoding="utf-8")
    app.extensions.pop("agora_post_fragments", None)


@pytest.fixture
def conversation(app, make_user, make_theme, make_thread, make_post, make_org):
    council = make_org(name="Adviesraad Zonnedorp")
    author = make_user(name="Anna Auteur", organisation=council)
    theme = make_theme(visibility="public")
    thread = make_thread(theme=theme, title="Hoe betrekt u jongeren bij de raad?")
    reply = make_post(thread, author=author, body="Wij organiseren een jongerenavond met pizza.")
    return {"thread": thread, "reply": reply, "author": author, "council": council,
            "url": f"/nl/t/{thread.id}"}


def test_pages_are_served_from_the_cache(app, client, conversation):
    page(client, conversation["url"])
    plant_marker(app, conversation["reply"].id)
    assert MARKER in page(client, conversation["url"])


def test_an_edit_shows_at_once(app, client, conversation):
    login(client, conversation["author"])
    page(client, conversation["url"])
    plant_marker(app, conversation["reply"].id)
    assert MARKER in page(client, conversation["url"])
    response = client.post_form(f"/nl/p/{conversation['reply'].id}/edit",
                                {"body": "Wij organiseren nu een jongerenavond met muziek."})
    assert response.status_code == 302
    html = page(client, conversation["url"])
    assert MARKER not in html and "met muziek" in html and "met pizza" not in html
    assert tr(app, "edited") in html


def test_a_hide_shows_at_once_and_removes_the_stored_text(app, client, conversation, make_user):
    member = make_user()
    login(client, member)
    assert "met pizza" in page(client, conversation["url"])
    assert fragment_files(app, conversation["reply"].id)
    moderator = make_user(role="moderator")
    with app.app_context():
        moderation.hide_post(db.session.get(User, moderator.id), db.session.get(Post, conversation["reply"].id),
                             "Reclame voor een pizzeria")
    html = page(client, conversation["url"])
    assert "met pizza" not in html
    assert tr(app, "This message has been hidden by a moderator.") in html
    assert not fragment_files(app, conversation["reply"].id)


def test_a_rename_of_the_author_shows_at_once(app, client, conversation):
    assert "Anna Auteur" in page(client, conversation["url"])
    plant_marker(app, conversation["reply"].id)
    with app.app_context():
        user = db.session.get(User, conversation["author"].id)
        accounts.update_profile(user, "Anna de Vries", user.bio, user.locale, user.notify_mode)
    html = page(client, conversation["url"])
    assert "Anna de Vries" in html and "Anna Auteur" not in html and MARKER not in html


def test_a_rename_of_the_council_shows_at_once(app, client, conversation, make_user):
    assert "Adviesraad Zonnedorp" in page(client, conversation["url"])
    plant_marker(app, conversation["reply"].id)
    admin_user = make_user(role="admin")
    with app.app_context():
        org = db.session.get(Organisation, conversation["council"].id)
        admin.update_organisation(db.session.get(User, admin_user.id), org, "Adviesraad Zonnedal", org.kind,
                                  org.municipality, org.province, org.country, org.language, org.website)
    html = page(client, conversation["url"])
    assert "Adviesraad Zonnedal" in html and "Adviesraad Zonnedorp" not in html and MARKER not in html


def test_each_page_language_has_its_own_fragment(app, client, conversation):
    login(client, conversation["author"])
    client.post_form(f"/nl/p/{conversation['reply'].id}/edit", {"body": "Wij organiseren een jongerenavond."})
    dutch = page(client, conversation["url"])
    plant_marker(app, conversation["reply"].id)
    french = page(client, f"/fr/t/{conversation['thread'].id}")
    assert tr(app, "edited", "nl") in dutch
    assert tr(app, "edited", "fr") in french and MARKER not in french
    # The French page had no fragment yet: it was rendered in French, not taken from Dutch.
    assert len(fragment_files(app, conversation["reply"].id)) == 2


def test_no_reader_gets_a_fragment_rendered_for_someone_else(app, client, conversation, make_user, make_post):
    hidden = make_post(conversation["thread"], body="Dit bericht bevat een telefoonnummer: 0612345678.")
    moderator = make_user(role="moderator")
    with app.app_context():
        moderation.hide_post(db.session.get(User, moderator.id), db.session.get(Post, hidden.id), "Privégegevens")
    reply_id = conversation["reply"].id

    # The moderator fills the cache first and sees the hidden text and the moderation tools.
    login(client, moderator)
    seen_by_moderator = page(client, conversation["url"])
    assert "0612345678" in seen_by_moderator
    assert f"/nl/mod/p/{reply_id}" in seen_by_moderator
    client.post_form("/nl/logout", {})

    # A member then gets neither the hidden text nor a moderator's controls.
    member = make_user()
    login(client, member)
    seen_by_member = page(client, conversation["url"])
    assert "0612345678" not in seen_by_member
    assert f"/nl/mod/p/{reply_id}" not in seen_by_member
    assert f"/nl/members/{conversation['author'].id}" in seen_by_member  # members get profile links
    client.post_form("/nl/logout", {})

    # An anonymous reader gets no profile links, and no thanks or report buttons.
    anonymous = page(client, conversation["url"])
    assert "Anna Auteur" in anonymous
    assert f"/nl/members/{conversation['author'].id}" not in anonymous
    assert f"/nl/p/{reply_id}/thanks" not in anonymous
    assert "0612345678" not in anonymous
