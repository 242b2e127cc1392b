"""The shared cache of rendered posts: it is used, it changes at once, it never leaks.

The cache lives in files under instance/fragments (forum/threads/fragments.py). To prove a
page really comes from it, a test writes a marker into a stored fragment and sees the
marker on the page; after a change to what the fragment shows, the marker must be gone.
"""
import re
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
    app.extensions.pop("agora_pages", None)  # whole pages too (forum/pagecache.py)


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


# -- the post wrapper built in Python equals the macro --------------------------------------

def normalised(html):
    """A page with its CSRF tokens (signed per request), "… ago" times and runs of
    whitespace made equal."""
    html = re.sub(r'(<time datetime="[^"]*">)[^<]*(</time>)', r"\1\2", html)
    html = re.sub(r'(name="csrf_token"[^>]*value=|name="csrf-token" content=)"[^"]*"', r'\1"TOKEN"', html)
    html = re.sub(r'value="[^"]*"( name="csrf_token")', r'value="TOKEN"\1', html)
    return re.sub(r"\s+", " ", html).replace("> <", "><")


def both_ways(app, client, url):
    """The page with posts built in Python, and the same page with every post from the macro."""
    fast = page(client, url)
    app.config["POST_HTML_IN_PYTHON"] = False
    try:
        slow = page(client, url)
    finally:
        app.config["POST_HTML_IN_PYTHON"] = True
    return normalised(fast), normalised(slow)


def test_posts_built_in_python_equal_the_macro(app, client, make_user, make_theme, make_thread, make_post):
    from datetime import timedelta

    from forum.models import Reaction, Thread, ThreadRead, utcnow

    asker = make_user(name="Vera Vraagsteller")
    answerer = make_user(name="Ahmed Antwoord")
    reader = make_user(name="Lotte Lezer")
    theme = make_theme(visibility="public")
    thread = make_thread(author=asker, theme=theme, kind="question", title="Wie heeft ervaring met 'inloop' & <koffie>?")
    answer = make_post(thread, author=answerer, body="Wij doen het elke **dinsdag**.")
    edited = make_post(thread, author=asker, body="Dank je! En op zaterdag?")
    later = make_post(thread, author=answerer, body="Zaterdag niet, sorry.")
    with app.app_context():
        db.session.get(Post, answer.id).thanks_count = 2
        post = db.session.get(Post, edited.id)
        post.edited_at, post.edit_count = utcnow(), 1
        db.session.get(Post, later.id).created_at = utcnow() + timedelta(minutes=5)
        db.session.add(Reaction(post_id=answer.id, user_id=reader.id))
        db.session.add(ThreadRead(user_id=reader.id, thread_id=thread.id, last_read_at=utcnow()))
        db.session.get(Thread, thread.id).accepted_post_id = answer.id
        db.session.commit()
    url = f"/nl/t/{thread.id}"
    readers = [("anonymous", None, url), ("reader", reader, url), ("asker", asker, url),
               ("answerer", answerer, f"/fr/t/{thread.id}")]
    for name, user, address in readers:
        if user is not None:
            login(client, user)
            page(client, "/nl/")  # shows (and so clears) the welcome message
        fast, slow = both_ways(app, client, address)
        assert fast == slow, name
        if user is not None:
            client.post_form("/nl/logout", {})
    # The readers above saw what the comparison is about.
    login(client, asker)
    html = page(client, url)
    assert f"/nl/p/{edited.id}/history" in html and f"/nl/p/{edited.id}/edit" in html
    assert f"/nl/t/{thread.id}/unaccept" in html and "&#39;inloop&#39; &amp; &lt;koffie&gt;" in html


# -- thread list items ----------------------------------------------------------------------

def plant_item_marker(app, thread_id):
    """Put the marker into the cached list items of a thread (what they show kept)."""
    cache = app.extensions["agora_thread_items"]
    keys = [key for key in cache if key[0] == thread_id]
    assert keys, "the list should have cached the thread's item"
    for key in keys:
        shown, parts = cache[key]
        cache[key] = (shown, [parts[0] + MARKER, *parts[1:]])
    app.extensions.pop("agora_pages", None)  # whole pages kept (forum/pagecache.py)


@pytest.fixture
def listed(app, make_user, make_theme, make_thread, make_org):
    council = make_org(name="Cliëntenraad Beekdal")
    author = make_user(name="Bram Beekman", organisation=council)
    theme = make_theme(visibility="public", name_nl="Armoede", name_fr="Pauvreté")
    thread = make_thread(author=author, theme=theme, title="Een warme winter voor iedereen")
    return {"thread": thread, "author": author, "council": council}


def test_list_items_come_from_the_cache_and_change_at_once(app, client, listed, make_post, make_user):
    thread = listed["thread"]
    assert "Bram Beekman" in page(client, "/nl/latest")
    plant_item_marker(app, thread.id)
    assert MARKER in page(client, "/nl/latest")

    # A reply changes the count: the item is rendered again.
    make_post(thread, author=make_user())
    html = page(client, "/nl/latest")
    assert MARKER not in html and tr(app, "%(num)d reply", num=1) in html

    # A rename of the author, then of the thread's council.
    plant_item_marker(app, thread.id)
    with app.app_context():
        user = db.session.get(User, listed["author"].id)
        accounts.update_profile(user, "Bram van Beek", user.bio, user.locale, user.notify_mode)
    html = page(client, "/nl/latest")
    assert MARKER not in html and "Bram van Beek" in html and "Bram Beekman" not in html

    plant_item_marker(app, thread.id)
    admin_user = make_user(role="admin")
    with app.app_context():
        org = db.session.get(Organisation, listed["council"].id)
        admin.update_organisation(db.session.get(User, admin_user.id), org, "Cliëntenraad Beekvallei", org.kind,
                                  org.municipality, org.province, org.country, org.language, org.website)
    html = page(client, "/nl/latest")
    assert MARKER not in html and "Cliëntenraad Beekvallei" in html and "Cliëntenraad Beekdal" not in html


def test_list_items_follow_a_title_edit_thanks_and_a_theme_rename(app, client, listed, make_user):
    """A list reads only the threads' revision and counts; the item kept for a thread is used
    only while they and the site counter hold (a rename of a theme raises the site counter)."""
    from forum.models import Theme, Thread
    from forum.threads import services

    thread = listed["thread"]
    page(client, "/nl/latest")
    plant_item_marker(app, thread.id)
    assert MARKER in page(client, "/nl/latest")
    with app.app_context():
        opening = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        services.edit_post(db.session.get(User, listed["author"].id), opening, opening.body_source,
                           title="Een warme winter voor alle inwoners")
    html = page(client, "/nl/latest")
    assert MARKER not in html and "Een warme winter voor alle inwoners" in html

    plant_item_marker(app, thread.id)
    reader = make_user()
    with app.app_context():
        opening = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        services.thank_post(db.session.get(User, reader.id), opening)
    html = page(client, "/nl/latest")
    assert MARKER not in html and tr(app, "%(num)d thanks", num=1) in html

    plant_item_marker(app, thread.id)
    admin_user = make_user(role="admin")
    with app.app_context():
        theme = db.session.get(Theme, db.session.get(Thread, thread.id).theme_id)
        admin.update_theme(db.session.get(User, admin_user.id), theme, "Armoede en schulden", theme.name_fr,
                           theme.description_nl, theme.description_fr, theme.visibility, theme.post_policy)
    html = page(client, "/nl/latest")
    assert MARKER not in html and "Armoede en schulden" in html


def test_list_items_per_language(app, client, listed):
    dutch = page(client, "/nl/latest")
    plant_item_marker(app, listed["thread"].id)
    french = page(client, "/fr/latest")
    assert "Armoede" in dutch and "Pauvreté" in french and MARKER not in french
    assert tr(app, "last activity", "fr") in french and tr(app, "last activity", "fr") != tr(app, "last activity")


def test_moderation_of_a_thread_shows_in_the_list_at_once(app, client, listed, make_user, make_theme):
    from forum.models import Thread

    thread = listed["thread"]
    elsewhere = make_theme(visibility="public", name_nl="Wonen", name_fr="Logement")
    page(client, "/nl/latest")
    plant_item_marker(app, thread.id)
    moderator = make_user(role="moderator")
    with app.app_context():
        actor = db.session.get(User, moderator.id)
        moderation.set_locked(actor, db.session.get(Thread, thread.id), True)
        moderation.move_thread(actor, db.session.get(Thread, thread.id), elsewhere.id)
    html = page(client, "/nl/latest")
    item = html[html.rindex("<li", 0, html.index("Een warme winter")):]
    item = item[:item.index("</li>")]
    assert MARKER not in item and tr(app, "Locked") in item and "Wonen" in item and "Armoede" not in item


def test_unread_state_is_each_readers_own(app, listed, make_user, make_theme, make_thread):
    from tests.conftest import as_member

    hidden_theme = make_theme(visibility="members")
    private = make_thread(theme=hidden_theme, title="Alleen voor leden: de begroting")
    first, second = make_user(), make_user()
    with app.app_context():  # both joined before the threads had activity
        from datetime import timedelta

        from forum.models import utcnow
        for user in (first, second):
            db.session.get(User, user.id).created_at = utcnow() - timedelta(days=30)
        db.session.commit()
    one, two = as_member(app, first), as_member(app, second)
    page(one, f"/nl/t/{listed['thread'].id}")  # the first member reads the thread
    seen_by_first = page(one, "/nl/latest")
    seen_by_second = page(two, "/nl/latest")
    anonymous = page(app.test_client(), "/nl/latest")

    def item(html, title):
        start = html.index(title)
        return html[html.rindex("<li", 0, start):html.index("</li>", start)]

    assert "unread" not in item(seen_by_first, "Een warme winter")
    assert 'class="thread-item unread"' in item(seen_by_second, "Een warme winter")
    assert "unread" not in item(anonymous, "Een warme winter")
    # The members-only thread was cached for members; the anonymous list never shows it.
    assert "Alleen voor leden" in seen_by_second and "Alleen voor leden" not in anonymous
