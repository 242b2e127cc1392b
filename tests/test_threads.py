"""Threads through HTTP: starting each kind, validation, visibility, lists, filters, unread markers."""
import re
from datetime import date, timedelta

import pytest

from forum.extensions import db
from forum.jobs.clock import local_today
from forum.models import Post, Tag, Thread, ThreadRead, Watch, utcnow
from tests.conftest import as_member, html


def set_status(app, user, status):
    """Change an account's status behind its open session (pending accounts cannot sign in)."""
    from forum.models import User

    with app.app_context():
        db.session.get(User, user.id).status = status
        db.session.commit()


def latest_thread(app):
    with app.app_context():
        return db.session.scalar(db.select(Thread).order_by(Thread.id.desc()))


def thread_titles(response):
    return re.findall(r'class="thread-title"><a href="[^"]+"[^>]*>(?:<span[^>]*></span><span[^>]*>[^<]*</span>)?([^<]+)</a>', html(response))


# -- starting threads ------------------------------------------------------------------

BASE = {"title": "Hoe organiseren jullie de werving?", "body": "Wij zoeken **nieuwe leden**. Tips?",
        "language": "nl", "tags": "Werving, #Vrijwilligers,  werving"}
KIND_DATA = {
    "question": {},
    "discussion": {},
    "practice": {"practice_municipality": "Zwolle", "practice_problem": "Onduidelijke brieven",
                 "practice_approach": "Samen herschreven", "practice_result": "Minder bezwaren",
                 "practice_contact": "secretariaat"},
    "initiative": {"initiative_municipality": "Oss", "initiative_province": "NL-NB",
                   "initiative_initiator": "Buurtcomité", "initiative_website": "buurt.example.org"},
    "vacancy": {"vacancy_asked": "Acht uur per maand", "vacancy_closes_on": (date.today() + timedelta(days=20)).isoformat()},
}


@pytest.mark.parametrize("kind", sorted(KIND_DATA))
def test_member_starts_each_kind(app, client, make_user, make_theme, login_as, kind):
    theme = make_theme()
    user = make_user()
    login_as(user)
    form = client.get(f"/nl/new?theme={theme.slug}&kind={kind}")
    assert form.status_code == 200
    assert f'value="{kind}"' in html(form) and 'data-kind-fields="practice"' in html(form)
    data = dict(BASE, theme=theme.id, kind=kind, **KIND_DATA[kind])
    response = client.post_form("/nl/new", data)
    assert response.status_code == 302, html(response)[:3000]
    thread = latest_thread(app)
    assert (thread.kind, thread.title, thread.author_id, thread.post_count) == (kind, BASE["title"], user.id, 1)
    with app.app_context():
        thread = db.session.get(Thread, thread.id)
        assert [t.name for t in thread.tags] == ["vrijwilligers", "werving"]
        assert db.session.scalar(db.select(Watch.id).where(Watch.user_id == user.id, Watch.thread_id == thread.id))
        opening = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id))
        assert opening.number == 1 and "<strong>nieuwe leden</strong>" in opening.body_html
        if kind == "practice":
            assert thread.municipality == "Zwolle" and thread.fields["approach"] == "Samen herschreven"
        if kind == "initiative":
            assert (thread.province, thread.fields["website"]) == ("NL-NB", "https://buurt.example.org")
        if kind == "vacancy":
            assert thread.closes_on == date.today() + timedelta(days=20)
            assert thread.organisation_id == user.organisation_id
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and BASE["title"] in html(page)


@pytest.mark.parametrize("kind,missing", [
    ("practice", "practice_problem"), ("initiative", "initiative_province"), ("vacancy", "vacancy_closes_on"),
])
def test_missing_kind_field_is_shown_next_to_it_and_text_kept(app, client, make_user, make_theme, login_as, kind, missing):
    theme = make_theme()
    login_as(make_user())
    data = dict(BASE, theme=theme.id, kind=kind, **KIND_DATA[kind])
    data.pop(missing)
    data["body"] = "Mijn lange tekst die niet verloren mag gaan."
    response = client.post_form("/nl/new", data)
    assert response.status_code == 400
    page = html(response)
    assert "Mijn lange tekst die niet verloren mag gaan." in page
    assert f'id="{missing}-error"' in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id))) == 0


@pytest.mark.parametrize("change,field", [
    ({"title": "Kort"}, "title"),
    ({"body": "   "}, "body"),
    ({"tags": "a, b, c, d, e, f"}, "tags"),
    ({"tags": "x" * 31}, "tags"),
    ({"kind": "vacancy", "vacancy_asked": "x", "vacancy_closes_on": "2001-01-01"}, "vacancy_closes_on"),
    ({"kind": "initiative", "initiative_municipality": "Oss", "initiative_province": "NL-XX",
      "initiative_initiator": "x"}, "initiative_province"),
])
def test_invalid_input_keeps_text(app, client, make_user, make_theme, login_as, change, field):
    theme = make_theme()
    login_as(make_user())
    data = dict(BASE, theme=theme.id, kind="question")
    data.update(change)
    response = client.post_form("/nl/new", data)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html(response)
    assert "Hoe organiseren jullie de werving?" in html(response) or field == "title"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Tag.id))) == 0


def test_expired_csrf_token_on_new_thread_keeps_text(app, client, make_user, make_theme, login_as):
    theme = make_theme()
    login_as(make_user())
    response = client.post("/nl/new", data=dict(BASE, theme=theme.id, kind="question", csrf_token="expired"))
    assert response.status_code == 400
    assert "Wij zoeken **nieuwe leden**. Tips?" in html(response)
    assert 'id="body-error"' in html(response)
    assert latest_thread(app) is None


def test_announcements_and_moderator_themes(app, client, make_user, make_theme, login_as):
    news = make_theme(post_policy="moderators")
    open_theme = make_theme()
    member, moderator = make_user(), make_user(role="moderator")
    login_as(member)
    form = html(client.get("/nl/new"))
    assert 'value="announcement"' not in form and f'value="{news.id}"' not in form
    response = client.post_form("/nl/new", dict(BASE, theme=news.id, kind="question"))
    assert response.status_code == 400 and latest_thread(app) is None
    response = client.post_form("/nl/new", dict(BASE, theme=open_theme.id, kind="announcement"))
    assert response.status_code == 400 and latest_thread(app) is None
    mod = as_member(app, moderator)
    response = mod.post_form("/nl/new", dict(BASE, theme=news.id, kind="announcement"))
    assert response.status_code == 302
    assert latest_thread(app).kind == "announcement"


def test_language_defaults_to_the_authors_locale(client, make_user, make_theme, login_as):
    make_theme()
    login_as(make_user(locale="fr"))
    assert '<option selected value="fr">' in html(client.get("/nl/new"))


def test_non_members_cannot_start_threads(app, client, make_user, make_theme, login_as):
    theme = make_theme(visibility="public")
    assert client.get("/nl/new").status_code == 302  # to sign in
    user = make_user()
    login_as(user)
    set_status(app, user, "pending")
    assert client.post_form("/nl/new", dict(BASE, theme=theme.id, kind="question")).status_code == 403


# -- visibility ------------------------------------------------------------------------

@pytest.fixture
def two_themes(make_theme, make_thread):
    public = make_theme(visibility="public", name_nl="Openbaar thema")
    members = make_theme(visibility="members", name_nl="Ledenthema")
    pub = make_thread(theme=public, title="Openbare vraag over armoede")
    priv = make_thread(theme=members, title="Interne vraag over schulden")
    return public, members, pub, priv


@pytest.mark.parametrize("who", ["anonymous", "pending", "member", "moderator"])
def test_visibility_per_role(app, client, make_user, login_as, two_themes, who):
    public, members, pub, priv = two_themes
    if who != "anonymous":
        user = make_user(role="moderator" if who == "moderator" else "member")
        login_as(user)
        if who == "pending":
            set_status(app, user, "pending")
    sees_all = who in ("member", "moderator")
    for url in ("/nl/latest", "/nl/questions", "/nl/", "/nl/themes"):
        page = html(client.get(url))
        assert ("Openbare vraag over armoede" in page or "Openbaar thema" in page)
        assert ("Interne vraag over schulden" in page or "Ledenthema" in page) == sees_all, url
    assert client.get(f"/nl/t/{pub.id}").status_code == 200
    assert client.get(f"/nl/themes/{public.slug}").status_code == 200
    # Members-only: 404 as for an unknown id (tests/test_authorisation_matrix.py compares them).
    expected = {"anonymous": 404, "pending": 404}.get(who, 200)
    assert client.get(f"/nl/t/{priv.id}").status_code == expected
    assert client.get(f"/nl/themes/{members.slug}").status_code == expected
    response = client.get(f"/nl/t/{priv.id}")
    if who == "anonymous":
        assert f'href="/nl/login?next=/nl/t/{priv.id}"' in html(response)


def test_a_merged_thread_leads_on_only_for_those_who_may_read_it(client, make_theme, make_thread):
    """The old address of a merged thread redirects to the target; a members-only source
    stays unknown to others (404), even when the target is public."""
    public, members = make_theme(visibility="public"), make_theme(visibility="members")
    target = make_thread(theme=public)
    open_source = make_thread(theme=public, status="hidden", merged_into_id=target.id)
    closed_source = make_thread(theme=members, status="hidden", merged_into_id=target.id)
    response = client.get(f"/nl/t/{open_source.id}")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/nl/t/{target.id}")
    assert client.get(f"/nl/t/{closed_source.id}").status_code == 404


def test_deleted_thread_is_404_except_for_moderators(app, client, make_user, make_thread, login_as):
    thread = make_thread(status="deleted")
    login_as(make_user())
    assert client.get(f"/nl/t/{thread.id}").status_code == 404
    assert as_member(app, make_user(role="moderator")).get(f"/nl/t/{thread.id}").status_code == 200


def test_thread_page_marks_foreign_language_content(client, make_thread, make_theme):
    thread = make_thread(theme=make_theme(visibility="public"), language="fr",
                         title="Comment recruter de nouveaux membres ?")
    page = html(client.get(f"/nl/t/{thread.id}"))
    assert '<h1 lang="fr">Comment recruter de nouveaux membres ?</h1>' in page
    assert '<div class="body" lang="fr">' in page
    assert 'lang="fr"' not in html(client.get(f"/fr/t/{thread.id}")).split("<main", 1)[1].split("</h1>")[0]


# -- lists -----------------------------------------------------------------------------

def test_questions_tabs(client, make_thread, make_post, make_theme, app):
    theme = make_theme(visibility="public")
    unanswered = make_thread(theme=theme, title="Vraag zonder reactie")
    replied = make_thread(theme=theme, title="Vraag met reactie")
    make_post(replied)
    solved = make_thread(theme=theme, title="Opgeloste vraag")
    answer = make_post(solved)
    with app.app_context():
        from forum.threads import services
        t = db.session.get(Thread, solved.id)
        services.accept_answer(t.author, t, db.session.get(Post, answer.id))
    assert sorted(thread_titles(client.get("/nl/questions"))) == ["Opgeloste vraag", "Vraag met reactie", "Vraag zonder reactie"]
    assert thread_titles(client.get("/nl/questions?tab=unanswered")) == ["Vraag zonder reactie"]
    assert thread_titles(client.get("/nl/questions?tab=solved")) == ["Opgeloste vraag"]
    assert unanswered.id


def test_vacancies_open_and_closed(app, client, make_thread, make_theme):
    with app.app_context():
        today = local_today()  # the site's date (Europe/Amsterdam), not the server's
    theme = make_theme(visibility="public")
    make_thread(theme=theme, kind="vacancy", title="Open vacature secretaris",
                fields={"asked": "x", "closes_on": (today + timedelta(days=3)).isoformat()})
    make_thread(theme=theme, kind="vacancy", title="Vacature die vandaag sluit",
                fields={"asked": "x", "closes_on": today.isoformat()})
    past = make_thread(theme=theme, kind="vacancy", title="Verlopen vacature voorzitter",
                       closes_on=today - timedelta(days=1))
    make_thread(theme=theme, kind="vacancy", title="Gesloten vacature penningmeester", closed=True)
    open_titles = thread_titles(client.get("/nl/vacancies"))
    assert sorted(open_titles) == ["Open vacature secretaris", "Vacature die vandaag sluit"]
    assert sorted(thread_titles(client.get("/nl/vacancies?tab=closed"))) == [
        "Gesloten vacature penningmeester", "Verlopen vacature voorzitter"]
    assert 'class="closed-vacancies" href="/nl/vacancies?tab=closed"' in html(client.get("/nl/vacancies"))
    assert "vacancy-closed" in html(client.get(f"/nl/t/{past.id}"))


def test_vacancy_closing_date_cannot_be_in_the_past(app, client, make_user, make_theme, login_as):
    theme = make_theme()
    login_as(make_user())
    data = dict(BASE, theme=theme.id, kind="vacancy", vacancy_asked="x",
                vacancy_closes_on=(date.today() - timedelta(days=1)).isoformat())
    response = client.post_form("/nl/new", data)
    assert response.status_code == 400 and 'id="vacancy_closes_on-error"' in html(response)


def test_initiatives_filter_by_province_and_municipality(client, make_thread, make_theme):
    theme = make_theme(visibility="public")
    make_thread(theme=theme, kind="initiative", title="Moestuin in Veendam",
                fields={"municipality": "Veendam", "province": "NL-GR", "initiator": "x"})
    make_thread(theme=theme, kind="initiative", title="Repaircafé in Oss",
                fields={"municipality": "Oss", "province": "NL-NB", "initiator": "x"})
    make_thread(theme=theme, kind="initiative", title="Buurtmaaltijd in Uden",
                fields={"municipality": "Uden", "province": "NL-NB", "initiator": "x"})
    make_thread(theme=theme, kind="initiative", title="Épicerie à Seraing", language="fr",
                fields={"municipality": "Seraing", "province": "BE-WLG", "initiator": "x"})
    assert len(thread_titles(client.get("/nl/initiatives"))) == 4
    assert sorted(thread_titles(client.get("/nl/initiatives?province=NL-NB"))) == ["Buurtmaaltijd in Uden", "Repaircafé in Oss"]
    # A hand-written address may name the province (in either language) instead of its code.
    assert sorted(thread_titles(client.get("/fr/initiatives?province=Brabant-Septentrional"))) == [
        "Buurtmaaltijd in Uden", "Repaircafé in Oss"]
    assert thread_titles(client.get("/nl/initiatives?municipality=oss")) == ["Repaircafé in Oss"]
    assert thread_titles(client.get("/nl/initiatives?province=NL-GR&municipality=Oss")) == []
    page = html(client.get("/fr/initiatives?province=BE-WLG"))
    assert thread_titles(client.get("/fr/initiatives?province=BE-WLG")) == ["Épicerie à Seraing"]
    assert ">Liège</option>" in page and ">Brabant-Septentrional</option>" in page
    assert '<option value="Uden"' in html(client.get("/nl/initiatives?province=NL-NB"))
    assert '<option value="Veendam"' not in html(client.get("/nl/initiatives?province=NL-NB"))


def test_language_filter_and_sorting(app, client, make_thread, make_post, make_user, make_theme):
    theme = make_theme(visibility="public")
    now = utcnow()
    old = make_thread(theme=theme, title="Oude vraag met veel dank", created_at=now - timedelta(days=10),
                      last_post_at=now - timedelta(days=1), thanks_count=9)
    new = make_thread(theme=theme, title="Nieuwe vraag", created_at=now - timedelta(days=1),
                      last_post_at=now - timedelta(days=1, hours=2))
    fr = make_thread(theme=theme, language="fr", title="Question en français", created_at=now - timedelta(days=5),
                     last_post_at=now)
    assert thread_titles(client.get("/nl/latest")) == [fr.title, old.title, new.title]
    assert thread_titles(client.get("/nl/latest?sort=newest")) == [new.title, fr.title, old.title]
    assert thread_titles(client.get("/nl/latest?sort=thanks"))[0] == old.title
    assert thread_titles(client.get("/nl/latest?language=fr")) == [fr.title]
    assert thread_titles(client.get("/nl/latest?language=nl&sort=newest")) == [new.title, old.title]
    assert thread_titles(client.get("/nl/latest?language=xx&sort=bogus")) == [fr.title, old.title, new.title]
    assert thread_titles(client.get(f"/nl/themes/{theme.slug}?language=fr")) == [fr.title]


def test_pinned_threads_come_first(client, make_thread, make_theme):
    theme = make_theme(visibility="public")
    now = utcnow()
    make_thread(theme=theme, title="Gewoon onderwerp", last_post_at=now)
    make_thread(theme=theme, title="Vastgeprikt in thema", pinned="theme", last_post_at=now - timedelta(days=3))
    make_thread(theme=theme, title="Vastgeprikt op de site", pinned="site", last_post_at=now - timedelta(days=5))
    assert thread_titles(client.get("/nl/latest"))[0] == "Vastgeprikt op de site"
    assert thread_titles(client.get("/nl/latest"))[1] == "Gewoon onderwerp"
    assert thread_titles(client.get(f"/nl/themes/{theme.slug}"))[:2] == ["Vastgeprikt op de site", "Vastgeprikt in thema"]


def test_themes_page_counts_and_bilingual_names(client, make_theme, make_thread, make_post):
    theme = make_theme(visibility="public", name_nl="Wonen", name_fr="Logement",
                       description_nl="Over huisvesting", description_fr="Sur le logement")
    thread = make_thread(theme=theme, title="Leegstand in de gemeente")
    make_post(thread)
    nl = html(client.get("/nl/themes"))
    assert "Wonen" in nl and "Over huisvesting" in nl and "Leegstand in de gemeente" in nl
    assert 'data-threads="1" data-posts="2"' in nl
    fr = html(client.get("/fr/themes"))
    assert "Logement" in fr and "Sur le logement" in fr


def test_unread_markers(app, client, make_user, make_thread, make_post, make_theme, login_as):
    theme = make_theme()
    reader = make_user()
    thread = make_thread(theme=theme, title="Onderwerp met nieuwe reacties")
    login_as(reader)
    assert 'class="thread-item unread"' in html(client.get("/nl/latest"))
    assert client.get(f"/nl/t/{thread.id}").status_code == 200
    with app.app_context():
        assert db.session.get(ThreadRead, (reader.id, thread.id)) is not None
    assert 'class="thread-item unread"' not in html(client.get("/nl/latest"))
    make_post(thread, body="Een nieuwe reactie na het lezen.")
    assert 'class="thread-item unread"' in html(client.get("/nl/latest"))
    page = html(client.get(f"/nl/t/{thread.id}"))
    assert 'badge-kind new' in page  # the new reply is marked on the thread page
    assert 'class="thread-item unread"' not in html(client.get("/nl/latest"))


def test_profile_page(app, client, make_org, make_user, make_thread, make_post, login_as):
    org = make_org(name="Adviesraad Sociaal Domein Oss")
    author = make_user(name="Joost van Dam", organisation=org)
    make_thread(author=author, title="Onderwerp van Joost")
    asker = make_user()
    question = make_thread(author=asker)
    answer = make_post(question, author=author)
    with app.app_context():
        from forum.models import User
        from forum.threads import services
        t = db.session.get(Thread, question.id)
        services.accept_answer(db.session.get(User, asker.id), t, db.session.get(Post, answer.id))
        services.thank_post(db.session.get(User, asker.id), db.session.get(Post, answer.id))
    assert client.get(f"/nl/members/{author.id}").status_code == 302  # members only
    login_as(make_user())
    page = html(client.get(f"/nl/members/{author.id}"))
    assert "Onderwerp van Joost" in page and "Adviesraad Sociaal Domein Oss" in page
    stats = dict(re.findall(r'<dd class="stat-(\w+)">([^<]+)</dd>', page))
    assert stats == {"threads": "1", "posts": "2", "accepted": "1", "thanks": "1"}
    assert "@JoostvanDam" in page
    assert client.get("/nl/members/99999").status_code == 404
