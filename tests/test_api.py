"""The read-only JSON API: shapes, visibility, filters, pagination and JSON errors."""
from datetime import date, timedelta

import pytest

from forum.extensions import db
from forum.models import Post, Thread
from forum.threads.services import refresh_thread_stats

THREAD_KEYS = {"id", "title", "kind", "theme", "language", "url", "created_at", "last_post_at",
               "post_count", "thanks_count", "tags", "municipality", "solved"}


@pytest.fixture
def site(app, make_theme, make_thread, make_post, make_user, make_org):
    public = make_theme(slug="wmo", visibility="public", position=1)
    members = make_theme(slug="intern", visibility="members", position=2)
    org = make_org(name="Adviesraad Zeist", slug="adviesraad-zeist", municipality="Zeist")
    author = make_user(name="Marieke de Vries", organisation=org)
    helper = make_user(name="Jan Jansen")
    question = make_thread(author=author, theme=public, kind="question", title="Hoe werkt de Wmo-toegang?",
                           tags=["wmo", "toegang"])
    answer = make_post(question, author=helper, body="Via het **sociaal wijkteam**.")
    hidden_reply = make_post(question, author=helper, body="Dit is weggehaald")
    with app.app_context():
        thread = db.session.get(Thread, question.id)
        thread.accepted_post_id = answer.id
        db.session.get(Post, hidden_reply.id).status = "hidden"
        refresh_thread_stats(thread)
        db.session.commit()
    unsolved = make_thread(author=author, theme=public, kind="question", title="Wie heeft ervaring met schuldhulp?",
                           language="fr")
    practice = make_thread(author=author, theme=public, kind="practice", title="Inloopspreekuur in de bibliotheek",
                           fields={"municipality": "Zeist", "problem": "Weinig bereik"})
    vacancy_open = make_thread(author=author, theme=public, kind="vacancy", title="Gezocht: voorzitter adviesraad",
                               fields={"closes_on": (date.today() + timedelta(days=10)).isoformat()})
    vacancy_closed = make_thread(author=author, theme=public, kind="vacancy", title="Gezocht: secretaris (gesloten)",
                                 closed=True)
    secret = make_thread(author=author, theme=members, kind="discussion", title="Interne begroting bespreken")
    gone = make_thread(author=author, theme=public, title="Verborgen onderwerp over iets", status="hidden")
    return dict(public=public, members=members, org=org, author=author, helper=helper, question=question,
                answer=answer, hidden_reply=hidden_reply, unsolved=unsolved, practice=practice,
                vacancy_open=vacancy_open, vacancy_closed=vacancy_closed, secret=secret, gone=gone)


def titles(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return {t["title"] for t in response.get_json()["results"]}


def test_index_lists_the_collections(client):
    data = client.get("/api/v1/").get_json()
    assert data["threads"] == "http://agora.test/api/v1/threads"


def test_themes_anonymous_vs_member(client, site, login_as):
    response = client.get("/api/v1/themes")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public")
    data = response.get_json()
    assert set(data) == {"total", "page", "per_page", "results"}
    assert [t["slug"] for t in data["results"]] == ["wmo"]
    login_as(site["author"])
    response = client.get("/api/v1/themes")
    assert [t["slug"] for t in response.get_json()["results"]] == ["wmo", "intern"]
    assert "no-store" in response.headers["Cache-Control"]


def test_thread_list_shape_and_visibility(client, site, login_as):
    data = client.get("/api/v1/threads").get_json()
    anonymous = {t["title"] for t in data["results"]}
    assert data["total"] == 5 and data["page"] == 1 and data["per_page"] == 20
    assert "Interne begroting bespreken" not in anonymous
    assert "Verborgen onderwerp over iets" not in anonymous
    question = next(t for t in data["results"] if t["id"] == site["question"].id)
    assert THREAD_KEYS <= set(question)
    assert question["theme"] == "wmo" and question["kind"] == "question" and question["language"] == "nl"
    assert question["url"] == f"http://agora.test/nl/t/{site['question'].id}"
    assert question["created_at"].endswith("Z") and question["last_post_at"].endswith("Z")
    assert question["solved"] is True and question["post_count"] == 2
    assert sorted(question["tags"]) == ["toegang", "wmo"]
    login_as(site["helper"])
    member = titles(client.get("/api/v1/threads"))
    assert "Interne begroting bespreken" in member
    assert "Verborgen onderwerp over iets" not in member


@pytest.mark.parametrize("query, expected", [
    ("kind=practice", {"Inloopspreekuur in de bibliotheek"}),
    ("language=fr", {"Wie heeft ervaring met schuldhulp?"}),
    ("tag=WMO", {"Hoe werkt de Wmo-toegang?"}),
    ("municipality=zeist", {"Inloopspreekuur in de bibliotheek"}),
    ("organisation=adviesraad-zeist&kind=question", {"Hoe werkt de Wmo-toegang?", "Wie heeft ervaring met schuldhulp?"}),
    ("solved=true", {"Hoe werkt de Wmo-toegang?"}),
    ("solved=false", {"Wie heeft ervaring met schuldhulp?"}),
    ("open=true", {"Gezocht: voorzitter adviesraad"}),
    ("open=false", {"Gezocht: secretaris (gesloten)"}),
    ("theme=intern", set()),  # members-only: invisible to visitors, not an error
    ("theme=bestaat-niet", set()),
])
def test_thread_filters(client, site, query, expected):
    assert titles(client.get(f"/api/v1/threads?{query}")) == expected


def test_pagination_and_per_page_cap(client, site):
    data = client.get("/api/v1/threads?per_page=2&page=2").get_json()
    assert data["per_page"] == 2 and data["page"] == 2 and len(data["results"]) == 2 and data["total"] == 5
    first = client.get("/api/v1/threads?per_page=2").get_json()["results"]
    assert not {t["id"] for t in first} & {t["id"] for t in data["results"]}
    assert client.get("/api/v1/threads?per_page=1000").get_json()["per_page"] == 100
    assert client.get("/api/v1/threads?page=99").get_json()["results"] == []


@pytest.mark.parametrize("query", ["per_page=0", "per_page=-5", "per_page=abc", "page=0", "page=1.5",
                                   "kind=recipe", "language=de", "solved=maybe", "open=2", "tag=",
                                   "theme=" + "x" * 200])
def test_malformed_parameters_are_400_json(client, site, query):
    response = client.get(f"/api/v1/threads?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == 400 and query.split("=")[0] in error["message"]


def test_thread_detail_with_visible_posts(client, site):
    response = client.get(f"/api/v1/threads/{site['question'].id}")
    assert response.status_code == 200
    data = response.get_json()
    assert THREAD_KEYS <= set(data)
    assert data["accepted_post"] == site["answer"].id
    assert [p["number"] for p in data["posts"]] == [1, 2]  # the hidden reply is left out
    opening, answer = data["posts"]
    assert opening["author"] == "Marieke de Vries"
    assert opening["organisation"] == {"slug": "adviesraad-zeist", "name": "Adviesraad Zeist"}
    assert answer["body_html"] == "<p>Via het <strong>sociaal wijkteam</strong>.</p>\n"
    assert set(answer) >= {"id", "number", "author", "organisation", "created_at", "body_html"}
    assert "weggehaald" not in response.get_data(as_text=True)


def test_moderator_sees_hidden_post_with_its_status(client, site, make_user, login_as):
    login_as(make_user(role="moderator"))
    data = client.get(f"/api/v1/threads/{site['question'].id}").get_json()
    assert [(p["number"], p["status"]) for p in data["posts"]] == [(1, "visible"), (2, "visible"), (3, "hidden")]


def test_thread_detail_visibility(client, site, login_as):
    for key in ("secret", "gone"):
        response = client.get(f"/api/v1/threads/{site[key].id}")
        assert response.status_code == 404 and response.get_json()["error"]["status"] == 404
    login_as(site["helper"])
    response = client.get(f"/api/v1/threads/{site['secret'].id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"/api/v1/threads/{site['gone'].id}").status_code == 404
    # The author of a hidden thread may still read it, as on the pages.
    client.post_form("/nl/logout")
    login_as(site["author"])
    assert client.get(f"/api/v1/threads/{site['gone'].id}").status_code == 200


def test_organisations_are_active_members_with_public_data(client, site, make_org):
    make_org(name="Cliëntenraad Geleden", membership_status="lapsed")
    make_org(name="Adviesraad Toekomst", member_since=date.today() + timedelta(days=30))
    make_org(name="Adviesraad Gestopt", member_until=date.today() - timedelta(days=1))
    data = client.get("/api/v1/organisations?per_page=100").get_json()
    names = {o["name"] for o in data["results"]}
    assert "Adviesraad Zeist" in names
    assert not names & {"Cliëntenraad Geleden", "Adviesraad Toekomst", "Adviesraad Gestopt"}
    assert data["total"] == len(names)
    zeist = next(o for o in data["results"] if o["slug"] == "adviesraad-zeist")
    assert set(zeist) == {"slug", "name", "kind", "municipality", "province", "country", "language",
                          "website", "member_since"}
    assert client.get("/api/v1/organisations?country=XX").status_code == 400


@pytest.mark.parametrize("method, url, status", [
    ("get", "/api/v1/nothing-here", 404),
    ("get", "/api/v1/threads/999999", 404),
    ("get", "/api/v1/threads/abc", 404),
    ("post", "/api/v1/threads", 405),
    ("delete", "/api/v1/themes", 405),
])
def test_errors_are_json(client, site, method, url, status):
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["status"] == status
    if status == 405:
        assert "GET" in response.headers["Allow"]
