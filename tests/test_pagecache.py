"""Whole pages kept per worker (forum/pagecache.py): used, changed at once, never leaked.

To prove a page really comes from the kept copy, a test writes a marker into every kept
page and sees it on the next request; after a change to anything the page shows, the marker
must be gone at once, whatever code path made the change.
"""
import io
import re

import pytest
from flask_babel import force_locale, ngettext

from auth import services as accounts
from forum.admin import services as admin
from forum.extensions import db
from forum.models import Organisation, PageGeneration, Post, Theme, User
from forum.moderation import services as moderation
from tests.conftest import as_member, login, tr
from tests.test_events import make_event  # noqa: F401 (a fixture)

MARKER = "FROM-THE-PAGE-CACHE"
# CSRF tokens are signed with the time: two requests a second apart carry different ones.
TOKENS = re.compile(r'(name="csrf-token" content=|name="csrf_token"[^>]*value=)"[^"]*"')
TIMES = re.compile(r'(<time datetime="[^"]*">)[^<]*(</time>)')  # "3 seconds ago" moves on


def same(html):
    return TIMES.sub(r"\1\2", TOKENS.sub("", html))


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def plant(app):
    """Put the marker into every page the app keeps; returns how many there were."""
    planted = 0
    for store in (app.extensions.get("agora_pages", {}), app.extensions.get("agora_search_pages", {})):
        for key, (valid, parts, meta) in list(store.items()):
            # parts: [text, slot name, slot argument, text, ...]; the marker goes before <main>.
            store[key] = (valid, [part.replace("<main", f"{MARKER}<main", 1) if n % 3 == 0 else part
                                  for n, part in enumerate(parts)], meta)
        planted += len(store)
    return planted


@pytest.fixture
def forum(app, make_user, make_theme, make_thread, make_post, make_org):
    council = make_org(name="Adviesraad Zonnedorp")
    author = make_user(name="Anna Auteur", organisation=council)
    theme = make_theme(visibility="public", name_nl="Armoede", name_fr="Pauvreté")
    thread = make_thread(theme=theme, title="Hoe betrekt u jongeren bij de raad?")
    reply = make_post(thread, author=author, body="Wij organiseren een jongerenavond met pizza.")
    reader = make_user(name="Ruud Lezer")
    with app.app_context():
        slug = db.session.get(Theme, theme.id).slug
    return {"thread": thread, "reply": reply, "author": author, "council": council, "theme": theme,
            "reader": reader, "urls": [f"/nl/t/{thread.id}", "/nl/latest", f"/nl/themes/{slug}"]}


def kept_everywhere(app, client, urls):
    for url in urls:
        page(client, url)
    assert plant(app) >= len(urls)
    for url in urls:
        assert MARKER in page(client, url), url


def gone_everywhere(client, urls):
    pages = [page(client, url) for url in urls]
    for url, html in zip(urls, pages):
        assert MARKER not in html, url
    return pages


@pytest.mark.parametrize("reader", ["anonymous", "member"])
def test_pages_are_kept_and_shared_by_readers_of_one_audience(app, forum, make_user, reader):
    first, second = app.test_client(), app.test_client()
    if reader == "member":
        first, second = as_member(app, forum["reader"]), as_member(app, make_user())
    for url in forum["urls"]:
        page(first, url)
    assert plant(app) == len(forum["urls"])
    for url in forum["urls"]:
        assert MARKER in page(second, url)
    # The other audience never gets them.
    other = app.test_client() if reader == "member" else as_member(app, make_user())
    for url in forum["urls"]:
        assert MARKER not in page(other, url)


def test_an_edit_and_a_reply_show_at_once(app, client, forum):
    login(client, forum["author"])
    client.get(forum["urls"][0])  # the author's own page is never kept
    reader = as_member(app, forum["reader"])
    kept_everywhere(app, reader, forum["urls"])
    response = client.post_form(f"/nl/p/{forum['reply'].id}/edit", {"body": "Wij organiseren nu een avond met muziek."})
    assert response.status_code == 302
    thread_page, *_lists = gone_everywhere(reader, forum["urls"][:1])
    assert "met muziek" in thread_page and "met pizza" not in thread_page
    kept_everywhere(app, reader, forum["urls"])
    response = client.post_form(f"/nl/t/{forum['thread'].id}/reply", {"body": "En wij nodigen ook de wethouder uit."})
    assert response.status_code == 302
    # The lists are rendered again; the thread page is the kept one with the reply put in.
    pages = [page(reader, forum["urls"][0]), *gone_everywhere(reader, forum["urls"][1:])]
    assert "de wethouder uit" in pages[0] and MARKER in pages[0]
    with app.test_request_context("/nl/"), force_locale("nl"):
        assert ngettext("%(num)d reply", "%(num)d replies", 2) in pages[1]


def test_a_hide_shows_at_once(app, forum, make_user):
    reader = as_member(app, forum["reader"])
    kept_everywhere(app, reader, forum["urls"][:1])
    moderator = make_user(role="moderator")
    with app.app_context():
        moderation.hide_post(db.session.get(User, moderator.id), db.session.get(Post, forum["reply"].id), "Reclame")
    (html,) = gone_everywhere(reader, forum["urls"][:1])
    assert "met pizza" not in html and tr(app, "This message has been hidden by a moderator.") in html


def test_renames_show_at_once(app, forum, make_user):
    reader = as_member(app, forum["reader"])
    kept_everywhere(app, reader, forum["urls"])
    with app.app_context():
        user = db.session.get(User, forum["author"].id)
        accounts.update_profile(user, "Anna de Vries", user.bio, user.locale, user.notify_mode)
    assert "Anna de Vries" in gone_everywhere(reader, forum["urls"])[0]

    kept_everywhere(app, reader, forum["urls"])
    admin_user = make_user(role="admin")
    with app.app_context():
        org = db.session.get(Organisation, forum["council"].id)
        admin.update_organisation(db.session.get(User, admin_user.id), org, "Adviesraad Zonnedal", org.kind,
                                  org.municipality, org.province, org.country, org.language, org.website)
    html = gone_everywhere(reader, forum["urls"])[0]
    assert "Adviesraad Zonnedal" in html and "Adviesraad Zonnedorp" not in html


def test_a_change_by_a_bulk_statement_shows_at_once(app, forum):
    """A change made by an UPDATE statement (no ORM object) raises the counters too."""
    reader = as_member(app, forum["reader"])
    kept_everywhere(app, reader, forum["urls"])
    with app.app_context():
        db.session.execute(db.update(Theme).where(Theme.id == forum["theme"].id).values(name_nl="Armoedebeleid"))
        db.session.commit()
    assert all("Armoedebeleid" in html for html in gone_everywhere(reader, forum["urls"]))


def test_quiet_changes_keep_the_pages(app, forum, make_user):
    """Signing in, reading a thread and a notification raise nothing: pages stay kept."""
    def counters():
        with app.app_context():
            row = db.session.get(PageGeneration, 1)
            return (row.site, row.lists) if row else (0, 0)

    before = counters()
    reader = as_member(app, forum["reader"])  # signs in: last_seen_at
    page(reader, forum["urls"][0])  # writes a read marker
    page(reader, forum["urls"][1])
    assert counters() == before


def test_each_language_has_its_own_page(app, client, forum):
    page(client, forum["urls"][1])
    plant(app)
    french = page(client, "/fr/latest")
    assert MARKER not in french and "Pauvreté" in french and tr(app, "last activity", "fr") in french


def test_what_is_each_readers_own_stays_their_own(app, forum, make_user, make_post):
    """Thanks pressed, unread marks, follow buttons, the user menu, flashes and CSRF tokens
    are filled per reader; an author, a moderator and the author of a held post get a page
    of their own."""
    thread_url = forum["urls"][0]
    first, second = forum["reader"], make_user(name="Sara Tweede")
    one, two = as_member(app, first), as_member(app, second)
    response = one.post_form(f"/nl/p/{forum['reply'].id}/thanks", {})
    assert response.status_code == 302
    one.post_form(f"/nl/t/{forum['thread'].id}/watch", {})
    seen_by_one = page(one, thread_url)  # kept now
    seen_by_two = page(two, thread_url)
    assert 'aria-pressed="true"' in seen_by_one and 'aria-pressed="true"' not in seen_by_two
    assert tr(app, "Stop following") in seen_by_one and tr(app, "Stop following") not in seen_by_two
    assert "Ruud Lezer" in seen_by_one and "Ruud Lezer" not in seen_by_two and "Sara Tweede" in seen_by_two
    token_one = re.search(r'name="csrf-token" content="([^"]+)"', seen_by_one).group(1)
    token_two = re.search(r'name="csrf-token" content="([^"]+)"', seen_by_two).group(1)
    assert token_one != token_two and token_two in seen_by_two.split("</header>", 1)[1]
    # Reader two's token works for reader two: the kept page's forms are theirs.
    response = two.post(f"/nl/p/{forum['reply'].id}/thanks", data={"csrf_token": token_two})
    assert response.status_code == 302

    # The author sees edit links on their post; nobody else gets them from a kept page.
    author = as_member(app, forum["author"])
    assert f"/nl/p/{forum['reply'].id}/edit" in page(author, thread_url)
    assert f"/nl/p/{forum['reply'].id}/edit" not in page(two, thread_url)

    # A moderator's tools never reach a member, nor a member's page a moderator.
    moderator = as_member(app, make_user(role="moderator"))
    assert f"/nl/mod/p/{forum['reply'].id}" in page(moderator, thread_url)
    assert f"/nl/mod/p/{forum['reply'].id}" not in page(two, thread_url)

    # A held post is seen by its author only, even with the page kept for others.
    held = make_post(forum["thread"], author=second, body="Nog te keuren: onze ervaring met de wijkteams.",
                     status="held")
    assert held is not None
    assert "Nog te keuren" not in page(one, thread_url)
    assert "Nog te keuren" in page(two, thread_url)
    assert "Nog te keuren" not in page(one, thread_url)


def test_flashed_messages_reach_their_reader_only(app, forum, make_user):
    one, two = as_member(app, forum["reader"]), as_member(app, make_user())
    page(two, forum["urls"][0])  # kept
    response = one.post_form(f"/nl/t/{forum['thread'].id}/watch", {})
    assert response.status_code == 302
    message = tr(app, "You follow this topic: you get a notification for every reply.")
    assert message in page(one, forum["urls"][0])
    assert message not in page(two, forum["urls"][0])


def test_kept_and_rendered_pages_are_the_same(app, forum, make_user):
    """For every kind of reader, a kept page filled for them equals one rendered for them."""
    readers = [app.test_client(), as_member(app, forum["reader"]), as_member(app, forum["author"]),
               as_member(app, make_user(role="moderator"))]
    for client in readers:
        for url in forum["urls"]:
            page(client, url)  # read markers written, pages kept
            app.config["PAGE_CACHE"] = False
            rendered = page(client, url)
            app.config["PAGE_CACHE"] = True
            page(client, url)
            kept = page(client, url)
            assert same(kept) == same(rendered), url


# -- the events page and the advice register -------------------------------------------------

def test_the_events_page_is_kept_per_council_and_changes_at_once(app, make_user, make_org, make_event):
    first_council, second_council = make_org(name="Adviesraad Eerstedorp"), make_org(name="Adviesraad Tweededorp")
    one = as_member(app, make_user(organisation=first_council))
    colleague = as_member(app, make_user(organisation=first_council))
    other = as_member(app, make_user(organisation=second_council))
    make_event(title="Regionaal overleg armoede")
    page(one, "/nl/events")
    assert plant(app) == 1
    assert MARKER in page(colleague, "/nl/events")
    # Another council's members see their own council's events: a page of their own.
    assert MARKER not in page(other, "/nl/events")
    make_event(title="Training voor nieuwe raadsleden")
    html = page(colleague, "/nl/events")
    assert MARKER not in html and "Training voor nieuwe raadsleden" in html
    # "Only mine" is never kept.
    page(one, "/nl/events?mine=1")
    assert all("mine=1" not in key[1] for key in app.extensions["agora_pages"])


def test_an_events_topic_is_kept_for_registered_and_other_members(app, make_user, make_org, make_theme, make_event):
    """An event's discussion topic shows nothing of a reader's registration (that is on the
    event's own page): members registered or not share the kept page, and each gets what a
    page rendered for them would show."""
    from forum.events import services as events
    from forum.events.models import Event

    council = make_org(name="Adviesraad Derdedorp")
    registered_member, other_member = make_user(organisation=council), make_user()
    make_theme(visibility="public", name_nl="Bijeenkomsten", name_fr="Rencontres")  # where its topic goes
    event = make_event(title="Algemene ledenvergadering")
    with app.app_context():
        events.register(db.session.get(User, registered_member.id), db.session.get(Event, event.id), notify=False)
        thread_id = db.session.get(Event, event.id).thread_id
    assert thread_id is not None
    url = f"/nl/t/{thread_id}"
    registered, other = as_member(app, registered_member), as_member(app, other_member)
    page(registered, url)
    assert plant(app) == 1
    assert MARKER in page(other, url) and MARKER in page(registered, url)
    for client in (registered, other):
        kept = page(client, url)
        app.config["PAGE_CACHE"] = False
        rendered = page(client, url)
        app.config["PAGE_CACHE"] = True
        assert same(kept.replace(MARKER, "")) == same(rendered)


def test_the_advice_register_is_kept_and_changes_at_once(app, make_user, make_org, make_theme, make_thread):
    from forum.models import Thread
    from tests.test_advice import advice_fields

    council = make_org(name="Adviesraad Sociaal Domein Utrecht")
    poster = make_user(organisation=council)
    advice = make_thread(author=poster, theme=make_theme(visibility="public"), kind="advice",
                         fields=advice_fields(), title="Advies over het minimabeleid")
    reader, second = as_member(app, make_user()), as_member(app, make_user())
    assert "Advies over het minimabeleid" in page(reader, "/nl/advice")
    assert plant(app) == 1
    assert MARKER in page(second, "/nl/advice")
    with app.app_context():  # any code path: here the ORM directly
        db.session.get(Thread, advice.id).title = "Advies over het armoedebeleid"
        db.session.commit()
    html = page(reader, "/nl/advice")
    assert MARKER not in html and "Advies over het armoedebeleid" in html


def test_a_reply_leaves_other_threads_pages_kept(app, forum, make_thread, make_post, make_user):
    """A reply changes its own thread's page and the lists, not every page of the site."""
    other = make_thread(theme=forum["theme"], title="Een ander onderwerp over vrijwilligers")
    poster = make_user()
    reader = as_member(app, forum["reader"])
    page(reader, f"/nl/t/{other.id}")
    page(reader, forum["urls"][0])
    plant(app)
    make_post(forum["thread"], author=poster, body="Een nieuwe reactie op het eerste onderwerp.")
    assert MARKER in page(reader, f"/nl/t/{other.id}")
    html = page(reader, forum["urls"][0])  # (the kept page with the reply put in)
    assert "Een nieuwe reactie" in html


def test_an_author_gets_the_kept_page_with_their_own_links(app, forum, make_user):
    """Edit, delete and history on one's own posts, and no thanks or report button there,
    are filled into the kept page per reader."""
    reply_id = forum["reply"].id
    author = as_member(app, forum["author"])
    response = author.post_form(f"/nl/p/{reply_id}/edit", {"body": "Wij organiseren een jongerenavond met soep."})
    assert response.status_code == 302
    reader = as_member(app, forum["reader"])
    seen_by_reader = page(reader, forum["urls"][0])  # kept now
    assert plant(app) == 1
    seen_by_author = page(author, forum["urls"][0])
    assert MARKER in seen_by_author  # the kept page, not one rendered for the author

    def post_part(html):
        start = html.index(f'id="p{forum["reply"].number}"')
        return html[start:html.index("</article>", start)]

    mine, theirs = post_part(seen_by_author), post_part(seen_by_reader)
    for own in (f"/nl/p/{reply_id}/edit", f"/nl/p/{reply_id}/delete", f"/nl/p/{reply_id}/history"):
        assert own in mine and own not in theirs
    assert f"/nl/p/{reply_id}/thanks" not in mine and f"/nl/p/{reply_id}/thanks" in theirs
    assert f"/flag/{reply_id}" in theirs and f"/flag/{reply_id}" not in mine


def test_new_replies_are_put_into_the_kept_last_page(app, forum, make_post, make_user):
    """A kept last page gets the replies added since put in after its last one, for every
    reader the same as a page rendered now (their author included, whose links are slots);
    a reply with files, or one that needs a new page, renders the page again."""
    thread = forum["thread"]
    url = forum["urls"][0]
    reader, writer = as_member(app, forum["reader"]), as_member(app, make_user(name="Wies Schrijver"))
    page(reader, url)
    assert plant(app) == 1
    for text in ("Bij ons schuift de wethouder aan.", "En de ambtenaar armoedebeleid ook."):
        assert writer.post_form(f"/nl/t/{thread.id}/reply", {"body": text}).status_code == 302
    for client in (reader, writer):
        grown = page(client, url)
        assert MARKER in grown and "schuift de wethouder aan" in grown and "armoedebeleid ook" in grown
        kept = page(client, url)  # (read now: no "new" marks, as on the page rendered next)
        app.config["PAGE_CACHE"] = False
        rendered = page(client, url)
        app.config["PAGE_CACHE"] = True
        assert same(kept.replace(MARKER, "")) == same(rendered)
    assert tr(app, "Edit") in page(writer, url)  # their own replies' links, filled for them

    # A reply with a file is rendered by the template: the page is rendered again.
    with_file = writer.post_form(f"/nl/t/{thread.id}/reply", {
        "body": "Ons verslag zit erbij.", "attachments": [(io.BytesIO(b"Verslag van de avond"), "verslag.txt")]},
        content_type="multipart/form-data")
    assert with_file.status_code == 302
    html = page(reader, url)
    assert MARKER not in html and "verslag.txt" in html

    # Up to a full page the kept page grows; the reply that starts page 2 renders it again.
    poster = make_user(name="Piet Plaatser")  # (a new member: every page is rendered again)
    page(reader, url)
    plant(app)
    for _ in range(30 - 4):  # the forum's reply, two above, the one with a file: 30 on page 1
        make_post(thread, author=poster)
    html = page(reader, url)
    assert MARKER in html and tr(app, "Page %(page)d of %(pages)d", page=1, pages=2) not in html
    make_post(thread, author=poster)
    html = page(reader, url)
    assert MARKER not in html and tr(app, "Page %(page)d of %(pages)d", page=1, pages=2) in html


def test_a_reply_on_a_later_page_keeps_the_first_page(app, forum, make_post, make_user):
    """A long thread's first page stays kept while replies land on its last page: its reply
    count and last activity are filled in per request (the same as a page rendered now), the
    last page shows a new reply at once, and a new page count renders the first page again."""
    thread, poster = forum["thread"], make_user(name="Piet Plaatser")
    for _ in range(30):  # with the forum's reply: 31 replies, 30 on page 1 and one on page 2
        make_post(thread, author=poster)
    first, last = forum["urls"][0], forum["urls"][0] + "?page=2"
    reader, writer = as_member(app, forum["reader"]), as_member(app, make_user(name="Wies Schrijver"))
    page(reader, first)
    page(reader, last)
    assert plant(app) == 2

    response = writer.post_form(f"/nl/t/{thread.id}/reply", {"body": "Bij ons leest de wethouder elk advies voor."})
    assert response.status_code == 302
    kept = page(reader, first)
    assert MARKER in kept
    with app.test_request_context("/nl/"), force_locale("nl"):
        assert ngettext("%(num)d reply", "%(num)d replies", 32) in kept
    newest = page(reader, last)  # the kept last page with the reply put in
    assert "leest de wethouder" in newest
    app.config["PAGE_CACHE"] = False
    rendered = page(reader, first)
    app.config["PAGE_CACHE"] = True
    assert same(kept.replace(MARKER, "")) == same(rendered)
    with app.app_context():
        last_post_at = db.session.get(Post, db.session.scalar(
            db.select(db.func.max(Post.id)).where(Post.thread_id == thread.id))).created_at
    assert f'datetime="{last_post_at.isoformat()}' in kept  # last activity: the new reply

    for _ in range(29):  # 61 replies: a third page, so page 1's pagination changes
        make_post(thread, author=poster)
    plant(app)
    html = page(reader, first)
    assert MARKER not in html
    assert tr(app, "Page %(page)d of %(pages)d", page=1, pages=3) in html
