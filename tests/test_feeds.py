"""Atom feeds: valid Atom 1.0, public content only, absolute links, escaped HTML."""
import xml.etree.ElementTree as ET

import pytest

from forum.extensions import db
from forum.models import Post

ATOM = "{http://www.w3.org/2005/Atom}"


def parse(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/atom+xml"
    return ET.fromstring(response.data)


def entry_titles(feed):
    return [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]


def set_post_status(app, thread, number, status):
    with app.app_context():
        post = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == number))
        post.status = status
        db.session.commit()


@pytest.fixture
def content(app, make_theme, make_thread, make_user):
    public = make_theme(slug="wmo", name_nl="Wmo en zorg", name_fr="Aide sociale", visibility="public")
    members = make_theme(slug="intern", visibility="members")
    author = make_user(name="Marieke de Vries")
    t = {
        "question": make_thread(author=author, theme=public, kind="question",
                                title="Vraag over <b>de</b> Wmo & jeugdzorg",
                                body="Wij zoeken **ervaring** met <script>alert(1)</script> keukentafelgesprekken."),
        "practice": make_thread(author=author, theme=public, kind="practice", title="Praktijk: inloopspreekuur",
                                language="fr", fields={"municipality": "Utrecht"}),
        "members": make_thread(author=author, theme=members, title="Alleen voor leden: begroting"),
        "hidden": make_thread(author=author, theme=public, title="Verborgen onderwerp", status="hidden"),
        "held": make_thread(author=author, theme=public, title="Onderwerp met vastgehouden opening"),
    }
    set_post_status(app, t["held"], 1, "held")
    return {"public": public, "members": members, "threads": t}


def test_latest_feed_is_valid_atom_with_public_content_only(client, content):
    feed = parse(client.get("/nl/feed.atom"))
    assert feed.tag == f"{ATOM}feed"
    # Required feed elements (RFC 4287 §4.1.1).
    for tag in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{tag}") is not None, tag
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link.get("href") == "http://agora.test/nl/feed.atom"
    titles = entry_titles(feed)
    assert "Vraag over <b>de</b> Wmo & jeugdzorg" in titles
    assert "Praktijk: inloopspreekuur" in titles
    assert "Alleen voor leden: begroting" not in titles
    assert "Verborgen onderwerp" not in titles
    assert "Onderwerp met vastgehouden opening" not in titles
    for entry in feed.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated", "published", "content"):
            assert entry.find(f"{ATOM}{tag}") is not None, tag
        assert entry.find(f"{ATOM}link").get("href").startswith("http://agora.test/nl/t/")
        assert entry.find(f"{ATOM}author/{ATOM}name").text == "Marieke de Vries"


def test_entry_content_is_escaped_sanitised_html(client, content):
    raw = client.get("/nl/feed.atom").get_data(as_text=True)
    # The title's markup travels as text, escaped, never as XML elements.
    assert "Vraag over &lt;b&gt;de&lt;/b&gt; Wmo &amp; jeugdzorg" in raw
    assert "<script" not in raw
    feed = ET.fromstring(raw.encode())
    entry = next(e for e in feed.findall(f"{ATOM}entry") if "Wmo" in e.find(f"{ATOM}title").text)
    content_el = entry.find(f"{ATOM}content")
    assert content_el.get("type") == "html"
    assert "<strong>ervaring</strong>" in content_el.text
    assert "<script>" not in content_el.text


def test_theme_feed(client, content):
    feed = parse(client.get("/fr/themes/wmo/feed.atom"))
    assert feed.find(f"{ATOM}title").text == "Agora · Aide sociale"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    titles = entry_titles(feed)
    assert set(titles) == {"Vraag over <b>de</b> Wmo & jeugdzorg", "Praktijk: inloopspreekuur"}
    # Entry links follow the feed's language; the entry says which language its text is in.
    practice = next(e for e in feed.findall(f"{ATOM}entry") if "Praktijk" in e.find(f"{ATOM}title").text)
    assert practice.find(f"{ATOM}link").get("href").startswith("http://agora.test/fr/t/")
    assert practice.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"


@pytest.mark.parametrize("url", ["/nl/themes/intern/feed.atom", "/nl/themes/bestaat-niet/feed.atom",
                                 "/nl/feed/recipe.atom", "/de/feed.atom"])
def test_members_only_and_unknown_feeds_are_404(client, content, url):
    assert client.get(url).status_code == 404


def test_members_only_theme_feed_is_404_for_members_too(client, content, make_user, login_as):
    login_as(make_user())
    assert client.get("/nl/themes/intern/feed.atom").status_code == 404
    # A signed-in member's feed holds public content only, like everyone's.
    assert "Alleen voor leden: begroting" not in entry_titles(parse(client.get("/nl/feed.atom")))


def test_kind_feed(client, content):
    assert entry_titles(parse(client.get("/nl/feed/practice.atom"))) == ["Praktijk: inloopspreekuur"]
    assert entry_titles(parse(client.get("/nl/feed/vacancy.atom"))) == []


def test_conditional_get(client, content):
    first = client.get("/nl/feed.atom")
    assert first.headers["ETag"]
    again = client.get("/nl/feed.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_control_characters_do_not_break_the_feed(app, client, content):
    from forum.models import Thread

    with app.app_context():
        db.session.get(Thread, content["threads"]["practice"].id).title = "Praktijk\x01 met\x1f stuurteken"
        db.session.commit()
    assert "Praktijk met stuurteken" in entry_titles(parse(client.get("/nl/feed.atom")))


def test_footer_links_to_feed(client, content):
    html = client.get("/nl/about").get_data(as_text=True)
    assert 'href="/nl/feed.atom"' in html


def test_summary_is_escaped_once(client, make_theme, make_thread):
    """An apostrophe and an ampersand reach a feed reader as themselves (the XML escapes
    them once; before, the summary said `d&amp;#39;habitants`)."""
    text = "Le conseil d'habitants & la commune: « ça marche »."
    make_thread(theme=make_theme(visibility="public"), title="Conseil d'habitants & commune", body=text,
                language="fr")
    raw = client.get("/fr/feed.atom").get_data(as_text=True)
    entry = parse(client.get("/fr/feed.atom")).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}summary").text == text
    assert entry.find(f"{ATOM}title").text == "Conseil d'habitants & commune"
    # In the document itself: escaped once (the content element carries escaped HTML, as it should).
    assert "<summary>Le conseil d'habitants &amp; la commune: « ça marche ».</summary>" in raw
