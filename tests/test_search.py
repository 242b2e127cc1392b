"""Search: analysis, permissions, the outbox drain, reindex, query language, facets, API.

One suite for both engines: every test runs once with Whoosh (a real on-disk index in
the test's instance folder) and once with PostgreSQL full-text search (the
search_document table; only in the PostgreSQL run, see tests/conftest.py). Content is
made through the forum services (make_thread/make_post) and indexed through the outbox.
Engine-specific tests say so in their name and docstring; they exist only where the
storage itself differs (Whoosh's index generations on disk, PostgreSQL's swapped table).
"""
import threading
import traceback
from pathlib import Path

import pytest

from forum.extensions import db
from forum.models import Organisation, Post, SearchOutbox, Theme, Thread, User
from forum.outbox import enqueue
from tests.conftest import as_member


@pytest.fixture
def app_config(app_config, search_backend):
    return dict(app_config, SEARCH_BACKEND=search_backend)


@pytest.fixture(autouse=True)
def plain_posting(app):
    """New members' first posts are pre-moderated and fast posting is limited elsewhere;
    here every post is visible at once so that search is what is tested."""
    app.config["PREMODERATE_FIRST_POSTS"] = 0
    app.config["RATELIMIT_ENABLED"] = False


@pytest.fixture
def public_theme(make_theme):
    return make_theme(visibility="public", slug="armoede-en-schulden", name_nl="Armoede en schulden",
                      name_fr="Pauvreté et dettes")


@pytest.fixture
def members_theme(make_theme):
    return make_theme(visibility="members", slug="intern-overleg", name_nl="Intern overleg",
                      name_fr="Concertation interne")


@pytest.fixture
def sync(runner):
    def run():
        result = runner.invoke(args=["search", "sync"])
        assert result.exit_code == 0, result.output
        return result.output
    return run


def search(client, q, **params):
    response = client.get("/api/v1/search", query_string={"q": q, **params})
    assert response.status_code == 200
    return response.get_json()


def titles(data):
    return [r["title"] for r in data["results"]]


def backlog(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(SearchOutbox.id)))


# -- analysis in both languages ------------------------------------------------------------

def test_accents_elisions_and_case_fold_both_ways(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Coöperatie van zorgvragers", body="Een coöperatie voor zorg in de wijk.")
    make_thread(theme=public_theme, title="Lutte contre la pauvreté", language="fr",
                body="L’initiative citoyenne d'Anderlecht aide les familles.")
    make_thread(theme=public_theme, title="Cooperatie zonder trema", body="Ook zonder trema schrijven mensen cooperatie.")
    sync()
    assert len(search(client, "cooperatie")["results"]) == 2
    assert len(search(client, "COÖPERATIE")["results"]) == 2
    assert titles(search(client, "pauvrete")) == ["Lutte contre la pauvreté"]
    assert titles(search(client, "PAUVRETÉ")) == ["Lutte contre la pauvreté"]
    # Elisions with either apostrophe, in the text and in the query.
    assert titles(search(client, "initiative")) == ["Lutte contre la pauvreté"]
    assert titles(search(client, "l'initiative")) == ["Lutte contre la pauvreté"]
    assert titles(search(client, "d’Anderlecht")) == ["Lutte contre la pauvreté"]


def test_stemming_per_language(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Vrijwilligers gezocht", body="Wij zoeken vrijwilligers voor de raad.")
    make_thread(theme=public_theme, title="Recherche de bénévoles", language="fr",
                body="Nous cherchons des bénévoles pour les familles.")
    sync()
    assert titles(search(client, "vrijwilliger", only="nl")) == ["Vrijwilligers gezocht"]
    assert titles(search(client, "bénévole", only="fr")) == ["Recherche de bénévoles"]
    assert titles(search(client, "famille", only="fr")) == ["Recherche de bénévoles"]


def test_dutch_compounds_rank_below_exact(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Hulp bij schuldhulpverlening", body="De schuldhulpverlening loopt vast.")
    make_thread(theme=public_theme, title="Schuld en boete", body="Een schuld bij de gemeente, wat nu?")
    make_thread(theme=public_theme, title="Nieuw armoedebeleid", body="Het armoedebeleid wordt herzien.")
    sync()
    data = search(client, "schuld", only="nl")
    assert titles(data) == ["Schuld en boete", "Hulp bij schuldhulpverlening"]
    assert titles(search(client, "armoede", only="nl")) == ["Nieuw armoedebeleid"]
    html = client.get("/nl/search", query_string={"q": "armoede", "only": "nl"}).get_data(as_text=True)
    assert "<mark>armoedebeleid</mark>" in html


def test_snippets_mark_compound_parts_and_words_of_the_other_language(client, make_thread, public_theme, sync,
                                                                       search_backend):
    """The highlighter's cheap tests before analysing a word (search/highlight.py) keep these:
    a compound part with an irregular plural (binnensteden for stad), a French word quoted in a
    Dutch post, a translation in a French post, a compound by its head or a wildcard. Both
    engines find the threads; the marks are Whoosh's (PostgreSQL's snippets are ts_headline's,
    README "Search")."""
    make_thread(theme=public_theme, title="Verkeer en parkeren",
                body="In de binnensteden van Limburg blijft parkeren een probleem.")
    make_thread(theme=public_theme, title="Hulp bij geldzorgen",
                body="Het CPAS van Luik bood ons een médiation de dettes aan, dat werkte goed.")
    make_thread(theme=public_theme, title="Lutte contre la pauvreté", body="La pauvreté des familles augmente.",
                language="fr")
    make_thread(theme=public_theme, title="Fonds", body="Het armoedeplikfonds van de provincie, wie kent het?")
    sync()

    def page(q):
        return client.get("/nl/search", query_string={"q": q}).get_data(as_text=True)

    for q, title in (("stad", "Verkeer en parkeren"), ("médiation", "Hulp bij geldzorgen"),
                     ("armoede", "Lutte contre la pauvreté"), ("armoede", "Fonds"), ("armoed*", "Fonds")):
        assert title in titles(search(client, q))
    if search_backend == "whoosh":
        assert "<mark>binnensteden</mark>" in page("stad")
        assert "<mark>médiation</mark>" in page("médiation")
        assert "<mark>pauvreté</mark>" in page("armoede")
        # A compound no lexicon splits (its tail is no word), found and marked by its head,
        # and by a wildcard.
        assert "<mark>armoedeplikfonds</mark>" in page("armoede")
        assert "<mark>armoedeplikfonds</mark>" in page("armoed*")


def test_compound_in_a_post_is_found_by_its_parts_below_the_words_apart(client, make_thread, public_theme, sync,
                                                                         search_backend):
    make_thread(theme=public_theme, title="Traplift duurt lang", body="Onze woningaanpassing bij de gemeente loopt al maanden.")
    make_thread(theme=public_theme, title="Trap in huis", body="De woning vraagt een aanpassing van de trap.")
    make_thread(theme=public_theme, title="Zorg thuis", body="Over de gezondheidszorg in de wijk.")
    sync()
    assert titles(search(client, "woning aanpassing", only="nl")) == ["Trap in huis", "Traplift duurt lang"]
    assert titles(search(client, "aanpassing", only="nl")) == ["Trap in huis", "Traplift duurt lang"]
    # The compound itself first (the words apart may follow, as the query's second try).
    assert titles(search(client, "woningaanpassing", only="nl"))[0] == "Traplift duurt lang"
    if search_backend == "whoosh":
        # Engine-specific: PostgreSQL's snippets are ts_headline's, which parses the text
        # again without compound parts (README, "Search").
        html = client.get("/nl/search", query_string={"q": "aanpassing", "only": "nl"}).get_data(as_text=True)
        assert "<mark>woningaanpassing</mark>" in html
    # The linking -s- is no part: gezondheid-s-zorg is found by gezondheid and by zorg.
    assert titles(search(client, "gezondheid", only="nl")) == ["Zorg thuis"]
    assert titles(search(client, "zorg", only="nl")) == ["Zorg thuis"]
    # A phrase across the compound's position still matches as written.
    assert titles(search(client, '"onze woningaanpassing"', only="nl")) == ["Traplift duurt lang"]


def test_lemmas_meet_plurals_and_irregular_forms_both_ways(client, make_thread, public_theme, sync):
    """Snowball alone leaves these apart; the lemmatiser joins them in both engines."""
    make_thread(theme=public_theme, title="Subsidies voor buurthuizen", body="Welke subsidies zijn er nog?")
    make_thread(theme=public_theme, title="Een subsidie per wijk", body="De subsidie is per wijk verdeeld.")
    make_thread(theme=public_theme, title="Nieuwe leden gezocht", body="We zoeken nieuwe leden voor de raad.")
    make_thread(theme=public_theme, title="Elk lid telt", body="Ieder lid van de raad stemt mee.")
    make_thread(theme=public_theme, title="Les travaux du local", language="fr", body="Les travaux commencent en mai.")
    make_thread(theme=public_theme, title="Le travail des bénévoles", language="fr", body="Un travail remarquable.")
    make_thread(theme=public_theme, title="Mise en œuvre du plan", language="fr", body="La mise en œuvre prend un an.")
    make_thread(theme=public_theme, title="Accueil des sans-abri", language="fr", body="Un abri de nuit pour les sans-abri.")
    sync()
    subsidy = {"Subsidies voor buurthuizen", "Een subsidie per wijk"}
    members = {"Nieuwe leden gezocht", "Elk lid telt"}
    works = {"Les travaux du local", "Le travail des bénévoles"}
    for asked, expected in (("subsidie", subsidy), ("subsidies", subsidy), ("lid", members), ("leden", members),
                            ("travail", works), ("travaux", works)):
        assert set(titles(search(client, asked))) == expected, asked
    assert titles(search(client, "oeuvre")) == ["Mise en œuvre du plan"]
    # A hyphenated word is also found written together.
    assert titles(search(client, "sansabri")) == ["Accueil des sans-abri"]


def test_index_from_an_older_analysis_says_so_and_reindex_if_stale(app, client, make_thread, public_theme, runner,
                                                                     sync, monkeypatch, search_backend):
    from search import postgres_backend
    from search.whoosh import backend as whoosh_engine
    from search.backend import get_backend

    make_thread(theme=public_theme, title="Jaarverslag van de adviesraad", body="Het jaarverslag is klaar.")
    sync()
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    result = runner.invoke(args=["search", "reindex", "--if-stale"])
    assert result.exit_code == 0 and "nothing to do" in result.output
    # The next version of the analysis: the index on disk (or in the table) is now old.
    module = whoosh_engine if search_backend == "whoosh" else postgres_backend
    monkeypatch.setattr(module, "ANALYSIS_VERSION", 99)
    with app.app_context():
        assert get_backend().status()["stale"]
    assert "Stale:" in runner.invoke(args=["search", "status"]).output
    result = runner.invoke(args=["search", "reindex", "--if-stale"])
    assert result.exit_code == 0, result.output
    assert "reindexing" in result.output and "Reindexed 1 posts" in result.output
    assert search(client, "jaarverslag")["total"] == 1


def test_cross_language_glossary_and_switch_off(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Médiation de dettes au CPAS", language="fr",
                body="Le CPAS organise la médiation de dettes pour les familles.")
    make_thread(theme=public_theme, title="Schuldhulpverlening in de gemeente", body="Hoe regelen jullie schuldhulpverlening?")
    make_thread(theme=public_theme, title="Aidants proches épuisés", language="fr", body="Les aidants proches ont besoin de répit.")
    sync()
    data = search(client, "schuldhulpverlening")
    assert titles(data) == ["Schuldhulpverlening in de gemeente", "Médiation de dettes au CPAS"]
    assert data["results"][0]["score"] > data["results"][1]["score"]
    assert titles(search(client, "mantelzorgers")) == ["Aidants proches épuisés"]
    assert titles(search(client, "médiation de dettes"))[0] == "Médiation de dettes au CPAS"
    assert "Schuldhulpverlening in de gemeente" in titles(search(client, "médiation de dettes"))
    # Switched off: only Dutch results, no translation.
    assert titles(search(client, "schuldhulpverlening", only="nl")) == ["Schuldhulpverlening in de gemeente"]
    assert titles(search(client, "mantelzorgers", only="nl")) == []
    html = client.get("/nl/search", query_string={"q": "mantelzorgers", "only": "1"}).get_data(as_text=True)
    assert "épuisés" not in html and 'name="only" value="nl" checked' in html
    html = client.get("/fr/search", query_string={"q": "mantelzorgers"}).get_data(as_text=True)
    assert "épuisés" in html and 'name="only" value="fr">' in html


# -- what may be seen --------------------------------------------------------------------------

def test_secret_words_are_found_only_by_those_who_may_read_them(
        app, client, make_thread, make_post, make_user, public_theme, members_theme, sync, login_as):
    secret_thread = make_thread(theme=members_theme, title="Vertrouwelijk overleg", tags=["intern"],
                                body="Het wachtwoord is zwaluwstaartgeheim voor leden.")
    public = make_thread(theme=public_theme, title="Openbare vraag over armoede", body="Een gewone vraag.")
    hidden = make_post(public, body="Verborgen tekst met kwartelkoningsgeheim erin.")
    held = make_post(public, body="Wachtende tekst met pelikaanmysterie erin.")
    with app.app_context():
        for post_id, status in ((hidden.id, "hidden"), (held.id, "held")):
            db.session.get(Post, post_id).status = status
            enqueue("post", post_id)
        db.session.commit()
    sync()

    # Anonymous: nothing from the members-only theme, not in counts, facets or snippets.
    data = search(client, "zwaluwstaartgeheim")
    assert data["total"] == 0 and data["results"] == [] and data["facets"] == {}
    data = search(client, "overleg OR armoede")
    assert titles(data) == ["Openbare vraag over armoede"]
    assert "intern" not in [f["value"] for f in data["facets"].get("tag", [])]
    assert "intern-overleg" not in [f["value"] for f in data["facets"]["theme"]]
    page = client.get("/nl/search?q=zwaluwstaartgeheim").get_data(as_text=True)
    assert "<mark>" not in page and "search-results" not in page and "wachtwoord" not in page
    assert "Vertrouwelijk" not in page

    # Hidden and held posts: nobody finds them, members and moderators included.
    member = make_user()
    login_as(member)
    data = search(client, "zwaluwstaartgeheim")
    assert titles(data) == ["Vertrouwelijk overleg"]
    assert "<mark>zwaluwstaartgeheim</mark>" in data["results"][0]["snippet"]
    for word in ("kwartelkoningsgeheim", "pelikaanmysterie"):
        assert search(client, word)["total"] == 0
    assert secret_thread.id == data["results"][0]["thread_id"]


def test_theme_visibility_change_and_thread_move_follow(app, client, make_thread, public_theme, members_theme, sync):
    thread = make_thread(theme=public_theme, title="Wijkteams en toegankelijkheid", body="Over wijkteams.")
    sync()
    assert search(client, "wijkteams")["total"] == 1
    with app.app_context():
        db.session.get(Theme, public_theme.id).visibility = "members"
        enqueue("theme", public_theme.id)
        db.session.commit()
    sync()
    assert search(client, "wijkteams")["total"] == 0
    with app.app_context():
        db.session.get(Theme, public_theme.id).visibility = "public"
        enqueue("theme", public_theme.id)
        db.session.commit()
    sync()
    assert search(client, "wijkteams")["total"] == 1
    with app.app_context():
        db.session.get(Thread, thread.id).theme_id = members_theme.id
        enqueue("thread", thread.id)
        db.session.commit()
    sync()
    assert search(client, "wijkteams")["total"] == 0


def test_user_and_organisation_changes_are_reindexed(app, client, make_thread, make_user, make_org, public_theme, sync):
    org = make_org(name="Cliëntenraad Zonnedorp", slug="cr-zonnedorp", municipality="Zonnedorp")
    author = make_user(organisation=org)
    make_thread(author=author, theme=public_theme, title="Vervoer naar de dagbesteding", body="Het taxivervoer is te laat.")
    sync()
    data = search(client, "Zonnedorp")
    assert data["total"] == 1 and data["results"][0]["organisation"] == "Cliëntenraad Zonnedorp"
    with app.app_context():
        db.session.get(Organisation, org.id).name = "Cliëntenraad Maanstad"
        enqueue("organisation", org.id)
        db.session.commit()
    sync()
    assert search(client, "Maanstad")["total"] == 1
    with app.app_context():
        other = Organisation(name="Adviesraad Sterrenwijk", slug="ar-sterrenwijk")
        db.session.add(other)
        db.session.flush()
        db.session.get(User, author.id).organisation_id = other.id
        enqueue("user", author.id)
        db.session.commit()
    sync()
    assert search(client, "Sterrenwijk")["total"] == 1


# -- never stale -----------------------------------------------------------------------------

def test_reply_through_the_site_is_searchable_right_after_the_request(
        app, client, make_thread, make_user, public_theme, login_as, sync):
    thread = make_thread(theme=public_theme, title="Vraag over de Wmo", body="Wie weet meer over de Wmo?")
    sync()
    member = make_user()
    login_as(member)
    response = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Bij ons helpt de ouderenbond met formulieren."})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    assert backlog(app) == 0
    data = search(client, "ouderenbond")
    assert data["total"] == 1 and data["results"][0]["post_id"] != thread.id


def test_a_search_asked_again_sees_what_changed_in_between(
        app, client, make_thread, make_user, public_theme, members_theme, login_as, sync):
    """Results kept for an unchanged index (search/whoosh/backend.py) never outlive a change
    (a new thread, a hidden one) and are never shared with a reader who may see less."""
    first = make_thread(theme=public_theme, title="Spreekuur in de bibliotheek", body="Het spreekuur is op dinsdag.")
    make_thread(theme=members_theme, title="Spreekuur alleen voor leden", body="Een besloten spreekuur.")
    sync()
    login_as(make_user())
    both = ["Spreekuur alleen voor leden", "Spreekuur in de bibliotheek"]
    assert sorted(titles(search(client, "spreekuur"))) == both
    assert sorted(titles(search(client, "spreekuur"))) == both  # asked again: the same
    anonymous = app.test_client()
    assert titles(anonymous.get("/api/v1/search?q=spreekuur").get_json()) == ["Spreekuur in de bibliotheek"]
    make_thread(theme=public_theme, title="Inloop voor mantelzorgers", body="Ook hier een spreekuur.")
    sync()
    assert sorted(titles(search(client, "spreekuur"))) == ["Inloop voor mantelzorgers"] + both
    with app.app_context():
        db.session.get(Thread, first.id).status = "hidden"
        enqueue("thread", first.id)
        db.session.commit()
    sync()
    assert sorted(titles(search(client, "spreekuur"))) == ["Inloop voor mantelzorgers", "Spreekuur alleen voor leden"]


def test_crash_between_commit_and_indexing_loses_nothing(app, client, make_thread, public_theme, runner, sync):
    # Services commit the outbox row with the change; nothing drains outside a request.
    make_thread(theme=public_theme, title="Energiearmoede in de winter", body="De energierekening stijgt.")
    assert backlog(app) == 2
    assert search(client, "energierekening")["total"] == 0
    output = sync()
    assert "Indexed 2 outbox rows; 0 left." in output
    assert search(client, "energierekening")["total"] == 1
    status = runner.invoke(args=["search", "status"])
    assert "Documents: 1" in status.output and "Backlog:   0 outbox rows" in status.output


def test_outbox_ids_are_never_given_twice(app, make_thread, public_theme, sync):
    """A drain deletes the rows it read by id after its index commit. Were a freed id given
    again (SQLite gives max(rowid) + 1), a slow drain could delete a newer post's row that
    took the id of a row another drain had already deleted: that post would never be
    indexed (one post in 700 in the load test)."""
    def outbox_ids():
        with app.app_context():
            return db.session.scalars(db.select(SearchOutbox.id).order_by(SearchOutbox.id)).all()

    make_thread(theme=public_theme, title="Eerste onderwerp", body="Over de wachtlijst.")
    first = outbox_ids()
    assert first
    sync()
    assert outbox_ids() == []
    make_thread(theme=public_theme, title="Tweede onderwerp", body="Over de huisvesting.")
    assert min(outbox_ids()) > max(first)


def test_drain_never_fails_the_request_and_keeps_rows_when_the_index_is_busy(
        app, client, make_thread, make_user, public_theme, login_as, sync):
    from search.backend import get_backend

    thread = make_thread(theme=public_theme, title="Vraag over leerlingenvervoer", body="Wie regelt het?")
    sync()
    app.config["SEARCH_DRAIN_WAIT"] = 0.05
    login_as(make_user())
    with app.app_context():
        with get_backend().batch(wait=1):  # another drainer holds the writer lock
            response = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "De busmaatschappij regelt het."})
    assert response.status_code in (302, 303)
    assert backlog(app) == 1  # the reply's row (a reply leaves the thread's documents alone)
    assert search(client, "busmaatschappij")["total"] == 0
    sync()
    assert search(client, "busmaatschappij")["total"] == 1


def test_a_burst_of_posts_takes_one_index_commit_and_the_job_process_indexes_the_rest(
        app, client, make_thread, make_user, public_theme, login_as, sync):
    """Within SEARCH_DRAIN_INTERVAL of a drain, writing requests leave their rows in the
    outbox; the job process's look between rounds indexes them."""
    from forum.jobs.runner import between_rounds

    thread = make_thread(theme=public_theme, title="Vraag over de wmo-consulent", body="Wie belt er terug?")
    sync()
    app.config["SEARCH_DRAIN_INTERVAL"] = 60
    login_as(make_user())
    first = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "De consulent belde binnen een week: kwikstaart."})
    second = client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Bij ons duurde het een maand: zwaluwstaart."})
    assert first.status_code in (302, 303) and second.status_code in (302, 303)
    assert search(client, "kwikstaart")["total"] == 1  # the first drained at once
    assert backlog(app) == 1  # the second left its row for the next drain
    assert search(client, "zwaluwstaart")["total"] == 0
    between_rounds(app)
    assert backlog(app) == 0
    assert search(client, "zwaluwstaart")["total"] == 1


def test_two_writers_at_once_lose_no_update(app, make_thread, make_user, public_theme, sync, client):
    from forum.threads import services
    from search.indexing import drain

    thread = make_thread(theme=public_theme, title="Parallel schrijven", body="Start van het gesprek.")
    authors = [make_user(), make_user()]
    errors = []

    def writer(n, author_id):
        try:
            with app.app_context():
                for i in range(6):
                    services.create_reply(db.session.get(User, author_id), db.session.get(Thread, thread.id),
                                          f"Reactie parallelwoord{n}x{i} van schrijver {n}.")
                    drain(wait=0.2)
        except Exception:  # pragma: no cover - the assertion below reports it, with where
            errors.append(traceback.format_exc())

    workers = [threading.Thread(target=writer, args=(n, a.id)) for n, a in enumerate(authors)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    sync()
    for n in range(2):
        for i in range(6):
            assert search(client, f"parallelwoord{n}x{i}")["total"] == 1


def test_reindex_swaps_a_new_generation_in(app, client, make_thread, public_theme, runner, sync, search_backend):
    from search.backend import get_backend

    make_thread(theme=public_theme, title="Jaarverslag van de adviesraad", body="Het jaarverslag is klaar.")
    sync()
    with app.app_context():
        before = get_backend().status()["generation"]
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Reindexed 1 posts" in result.output
    with app.app_context():
        status = get_backend().status()
    assert status["generation"] != before and not status["rebuilding"] and status["documents"] == 1
    # Engine-specific: what a finished swap leaves behind differs (files vs tables).
    if search_backend == "whoosh":
        index_root = Path(app.config["SEARCH_INDEX_PATH"])
        after = (index_root / "CURRENT").read_text().strip()
        assert after != before and (index_root / after).is_dir()
        assert not (index_root / "REBUILD").exists()
    else:
        with app.app_context():
            leftovers = db.session.execute(db.text(
                "SELECT to_regclass('search_document_build'), to_regclass('search_lexeme_build'), "
                "to_regclass('search_spelling_build'), to_regclass('search_rebuild_journal')")).one()
        assert leftovers == (None, None, None, None)
    assert search(client, "jaarverslag")["total"] == 1
    make_thread(theme=public_theme, title="Werkplan voor volgend jaar", body="Het werkplan.")
    sync()
    assert search(client, "werkplan")["total"] == 1


def test_reindex_replays_changes_made_during_the_build(app, make_thread, public_theme, client):
    """A drain during the build writes to the live index and the journal; the swap replays it."""
    from forum.threads import services
    from search.backend import get_backend
    from search.indexing import apply_changes, drain, fill_all

    first = make_thread(theme=public_theme, title="Gesprek over huurtoeslag", body="Eerste bericht.")
    with app.app_context():
        drain()

        def fill(batch):
            fill_all(batch)
            # Meanwhile, another worker adds a reply and drains it into the live index.
            services.create_reply(db.session.get(User, first.author_id), db.session.get(Thread, first.id),
                                  "Tussendoor geschreven over kwijtscheldingsformulier.")
            drain()

        def replay(batch, lines):
            from search.indexing import _parse_keys
            apply_changes(batch, _parse_keys(lines))

        get_backend().rebuild(fill, replay)
    assert search(client, "kwijtscheldingsformulier")["total"] == 1


# -- query language and results ------------------------------------------------------------

def test_phrases_exclusion_or_and_bounded_wildcards(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Sociale huurwoning gezocht", body="Een sociale huurwoning is schaars.")
    make_thread(theme=public_theme, title="Huurwoning in de vrije sector", body="De huurwoning is sociaal gelegen.")
    make_thread(theme=public_theme, title="Voedselbank in de wijk", body="De voedselbank zoekt vrijwilligers.")
    sync()
    assert titles(search(client, '"sociale huurwoning"', only="nl")) == ["Sociale huurwoning gezocht"]
    # Stop words leave no gap in either engine: the phrase skips "in de".
    assert titles(search(client, '"huurwoning vrije sector"', only="nl")) == ["Huurwoning in de vrije sector"]
    # An exclusion reaches the word's other forms (schaarse and schaars share a lemma; so do
    # sociale and sociaal, which the test organisations' names contain).
    assert titles(search(client, "huurwoning -schaarse", only="nl")) == ["Huurwoning in de vrije sector"]
    assert sorted(titles(search(client, "voedselbank OR vrije", only="nl"))) == [
        "Huurwoning in de vrije sector", "Voedselbank in de wijk"]
    assert len(search(client, "huurwon*", only="nl")["results"]) == 2
    # (How fast these answer is measured in bench/search.py, not asserted here.)
    for q in ("*", "a*", "**"):
        data = search(client, q)
        assert data["total"] == 0 and "short_wildcard" in data["notice_codes"]
    data = search(client, "huurwoning " * 50 + "x" * 300)
    assert "shortened" in data["notice_codes"] or "too_many_words" in data["notice_codes"]


def test_snippets_escape_html_and_mark_matches(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Over <script> in berichten",
                body="Iemand schreef <script>alert('pinguinwoord')</script> in de tekst.")
    sync()
    html = client.get("/nl/search?q=pinguinwoord").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;<mark>pinguinwoord</mark>&#39;)" in html
    assert "Over &lt;script&gt; in berichten" in html


def test_facets_filters_sort_and_pagination(client, make_thread, make_org, make_user, public_theme, make_theme, sync):
    other = make_theme(visibility="public", slug="jeugd", name_nl="Jeugd", name_fr="Jeunesse")
    org = make_org(name="Adviesraad Havendorp", slug="ar-havendorp", municipality="Havendorp")
    author = make_user(organisation=org)
    for i in range(12):
        make_thread(theme=public_theme if i % 2 else other, kind="question" if i % 3 else "practice",
                    author=author if i < 4 else None, title=f"Mantelzorg onderwerp {i}",
                    body=f"Tekst {i} over mantelzorg in de gemeente.", tags=["mantelzorg"] if i < 5 else ())
    sync()
    data = search(client, "mantelzorg")
    assert data["total"] == 12 and len(data["results"]) == 10 and data["pages"] == 2
    assert search(client, "mantelzorg", page=2)["results"].__len__() == 2
    facets = {name: {f["value"]: f["count"] for f in values} for name, values in data["facets"].items()}
    assert facets["kind"] == {"question": 8, "practice": 4}
    assert facets["theme"] == {"armoede-en-schulden": 6, "jeugd": 6}
    assert facets["tag"] == {"mantelzorg": 5}
    assert facets["organisation"]["ar-havendorp"] == 4
    assert facets["municipality"]["Havendorp"] == 4
    assert facets["solved"] == {"no": 8}
    assert search(client, "mantelzorg", kind="practice")["total"] == 4
    assert search(client, "mantelzorg", theme="jeugd", kind="question")["total"] == 4
    assert search(client, "mantelzorg", organisation="ar-havendorp")["total"] == 4
    assert search(client, "mantelzorg", tag="mantelzorg")["total"] == 5
    assert search(client, "mantelzorg", municipality="Havendorp")["total"] == 4
    assert search(client, "mantelzorg", lang="fr")["total"] == 0
    assert search(client, "mantelzorg", period="week")["total"] == 12
    assert search(client, "mantelzorg", to="2000-01-01")["total"] == 0
    newest = search(client, "mantelzorg", sort="newest")["results"]
    assert [r["title"] for r in newest[:2]] == ["Mantelzorg onderwerp 11", "Mantelzorg onderwerp 10"]
    html = client.get("/nl/search?q=mantelzorg&kind=practice&theme=jeugd").get_data(as_text=True)
    assert 'aria-current="true"' in html and 'class="sidebar facets"' in html
    html = client.get("/nl/search?q=mantelzorg&municipality=Nergensdorp").get_data(as_text=True)
    assert 'class="no-results-filters"' in html


def test_did_you_mean_only_when_little_is_found(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Schuldhulpverlening voor jongeren", body="Jongeren met schulden.")
    sync()
    # A word the index does not know and nothing found: the correction is searched at once.
    data = search(client, "schuldhulpverleing")
    assert data["corrected"] == "schuldhulpverlening" and data["total"] == 1 and data["suggestion"] is None
    html = client.get("/nl/search?q=schuldhulpverleing").get_data(as_text=True)
    assert "Resultaten voor schuldhulpverlening." in html
    assert "/nl/search?q=schuldhulpverleing&amp;exact=1" in html
    # Searching the word exactly as typed: nothing, and "did you mean" offers the correction.
    data = client.get("/api/v1/search", query_string={"q": "jongern", "exact": "1"}).get_json()
    assert data["total"] == 0 and data["corrected"] is None and data["suggestion"] == "jongeren"
    html = client.get("/nl/search?q=jongern&exact=1").get_data(as_text=True)
    assert 'class="suggestion"' in html and "jongeren</a>" in html and "Resultaten voor" not in html
    assert search(client, "jongeren")["suggestion"] is None
    assert search(client, "jongeren")["corrected"] is None


def test_search_page_and_header_box_render_in_both_languages(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Inspraak bij de begroting", body="Hoe geven jullie inspraak?")
    sync()
    home = client.get("/nl/about").get_data(as_text=True)
    assert 'action="/nl/search"' in home
    for lang in ("nl", "fr"):
        response = client.get(f"/{lang}/search?q=inspraak")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "bij de begroting" in html and "<mark>Inspraak</mark>" in html
    assert client.get("/nl/search").status_code == 200
    assert client.get("/nl/search?q=&page=abc").status_code == 200


def test_api_shape(client, make_thread, public_theme, sync):
    thread = make_thread(theme=public_theme, kind="practice", title="Praktijk: huisbezoeken bij ouderen",
                         body="Wij doen huisbezoeken.")
    sync()
    data = search(client, "huisbezoeken")
    assert set(data) >= {"total", "page", "results", "facets", "suggestion"}
    result = data["results"][0]
    assert set(result) >= {"thread_id", "post_id", "title", "snippet", "url", "kind", "theme", "language", "score"}
    assert result["thread_id"] == thread.id and result["kind"] == "practice"
    assert result["theme"] == "armoede-en-schulden" and result["language"] == "nl"
    assert result["url"].endswith(f"/p/{result['post_id']}")


def test_most_words_when_no_thread_has_them_all(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Vervoer naar de dagbesteding", body="Het vervoer is duur voor ouderen.")
    make_thread(theme=public_theme, title="Dagbesteding voor jongeren", body="Een nieuwe plek in de wijk.")
    make_thread(theme=public_theme, title="Huurtoeslag aanvragen", body="Hoe helpt de raad?")
    sync()
    data = search(client, "vervoer dagbesteding ouderen fietsenstalling")
    assert data["matched"] == "most" and "most_words" in data["notice_codes"]
    # Three of the four words first, then the thread with one of them; the unrelated one never.
    assert titles(data) == ["Vervoer naar de dagbesteding", "Dagbesteding voor jongeren"]
    html = client.get("/nl/search?q=vervoer+dagbesteding+ouderen+fietsenstalling").get_data(as_text=True)
    assert "Geen onderwerp bevat alle woorden; dit zijn de onderwerpen met de meeste." in html
    html = client.get("/fr/search?q=vervoer+dagbesteding+ouderen+fietsenstalling").get_data(as_text=True)
    assert "Aucun sujet ne contient tous les mots\u00a0; voici ceux qui en contiennent le plus." in html
    # All words found often enough: "all", as before.
    assert search(client, "dagbesteding")["matched"] == "all"
    # A quoted phrase and an exclusion still hold in "most" mode.
    data = search(client, '"nieuwe plek" dagbesteding fietsenstalling')
    assert data["matched"] == "most" and titles(data) == ["Dagbesteding voor jongeren"]
    data = search(client, "vervoer dagbesteding fietsenstalling -jongeren")
    assert titles(data) == ["Vervoer naar de dagbesteding"]


def test_query_side_compounds_and_lexicon(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Woningaanpassing voor ouderen", body="De gemeente betaalt een traplift.")
    make_thread(theme=public_theme, title="Aanpassing van de woning", body="Een woning aanpassen kost tijd.")
    make_thread(theme=public_theme, title="Gesprek aan de keukentafel", body="Het gesprek gaat over zorg.")
    make_thread(theme=public_theme, title="Places en crèche", language="fr",
                body="L'accueil de la petite enfance manque de places dans notre commune.")
    sync()
    # Two words also find the compound, ranked below the words written apart.
    assert titles(search(client, "woning aanpassing", only="nl")) == [
        "Aanpassing van de woning", "Woningaanpassing voor ouderen"]
    # A compound also finds its parts written apart.
    assert titles(search(client, "keukentafelgesprek", only="nl")) == ["Gesprek aan de keukentafel"]
    # The lexicon: a Dutch word finds the French multiword expression.
    assert titles(search(client, "kinderopvang")) == ["Places en crèche"]


def test_query_words_hyphens_and_misspelt_compounds(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Opvang in het weekend", body="Logeeropvang voor mantelzorgers.")
    make_thread(theme=public_theme, title="Un micro crédit pour un permis", language="fr",
                body="Le CPAS soutient un projet de micro crédit.")
    make_thread(theme=public_theme, title="Une leçon de cuisine", language="fr", body="Les voisins cuisinent.")
    make_thread(theme=public_theme, title="Gesprek aan de keukentafel", body="Het gesprek gaat over zorg.")
    make_thread(theme=public_theme, title="Expulsions évitées", language="fr",
                body="Prévenir une expulsion grâce au CPAS.")
    sync()
    # A hyphenated word also finds it written together (week-end -> weekend).
    assert titles(search(client, "week-end", only="nl")) == ["Opvang in het weekend"]
    # A word written together also finds two French words written apart.
    assert titles(search(client, "microcredit")) == ["Un micro crédit pour un permis"]
    # Question words and articles of the query are left out when other words remain:
    # "les" is not needed in the thread (and is not the Dutch "les", a lesson).
    data = search(client, "comment prévenir les expulsions")
    assert titles(data)[0] == "Expulsions évitées" and data["matched"] == "all"
    assert titles(search(client, "hoe opvang weekend"))[0] == "Opvang in het weekend"
    # A misspelt compound is mended through its parts, then found with its parts apart.
    data = search(client, "keukentafelgsprek")
    assert titles(data) == ["Gesprek aan de keukentafel"] and data["corrected"] == "keukentafelgesprek"


def test_bad_input_answers_with_a_message_or_results(client, make_thread, public_theme, sync):
    make_thread(theme=public_theme, title="Armoede in de wijk", body="Armoede en schulden bij gezinnen.")
    sync()
    cases = {
        "long": ("armoede " + "x" * 500, "shortened"),
        "many words": (" ".join(f"woord{i}" for i in range(40)) + " armoede", "too_many_words"),
        "stop words": ("de het een van", "only_stopwords"),
        "punctuation": ("?!... ;;; ---", "no_words"),
        "star": ("*", "short_wildcard"),
    }
    for name, (q, code) in cases.items():
        response = client.get("/api/v1/search", query_string={"q": q})
        assert response.status_code == 200, name
        data = response.get_json()
        assert data["matched"] in ("all", "most"), name
        if code:
            assert code in data["notice_codes"], (name, data["notice_codes"])
    # Mixed scripts: the Latin word still finds its thread.
    data = search(client, "armoede бедность 貧困")
    assert titles(data) == ["Armoede in de wijk"]
    for q in ("armoede " + "x" * 500, "?!... ;;;", "*", "de het een van"):
        assert client.get("/nl/search", query_string={"q": q}).status_code == 200
    # The page says why nothing was searched, in the member's language.
    page = client.get("/nl/search", query_string={"q": "?!... ;;;"}).get_data(as_text=True)
    assert "Uw zoekopdracht bevat geen woorden" in page
    page = client.get("/fr/search", query_string={"q": "?!... ;;;"}).get_data(as_text=True)
    assert "Votre recherche ne contient aucun mot" in page


def test_query_plan_translates_the_words_of_a_multiword_match_at_lower_weight():
    from search.query import concepts, parse
    from search.tuning import WORD_WEIGHT

    parsed = parse("aide administrative domicile")
    (whole,) = [e for e in parsed.expansions if e.kind == "translation" and (e.start, e.end) == (0, 1)]
    assert ("nl", "hulp bij de administratie") in whole.targets and whole.weight == 1
    # Each word of the match also stands for its own translations, at WORD_WEIGHT, as an
    # alternative of that word inside the concept (not of the whole query).
    (first,) = [c for c in concepts(parsed) if c.start == 0]
    word_level = {p.start: [e for e in p.expansions if e.kind == "word"] for p in first.parts}
    assert word_level[0] and all(e.weight == WORD_WEIGHT for e in word_level[0])
    assert ("nl", "hulpverlening") in word_level[0][0].targets
    # Question words and articles only go when other words remain.
    assert [g[0].text for g in parse("comment les aidants proches").groups] == ["aidants", "proches"]
    assert [g[0].text for g in parse("les").groups] == ["les"]
    # ... and only those of the languages searched: in Dutch only, "les" is a lesson.
    assert [g[0].text for g in parse("les privacy", languages=("nl",)).groups] == ["les", "privacy"]


def test_a_results_page_is_kept_until_the_index_or_a_shown_thread_changes(
        app, make_thread, make_user, public_theme, sync, search_backend):
    """Members asking the same thing share one results page (search/views.py), kept while the
    index and the threads it shows are unchanged: a title changed before the index knows it
    and a new thread in the index show at once; anonymous readers never get a member's page.
    The PostgreSQL engine cannot say when its index changed: every page is rendered."""
    from tests.test_pagecache import MARKER, page, plant, same

    author = make_user()
    first = make_thread(theme=public_theme, author=author, title="Spreekuur in de bibliotheek",
                        body="Het spreekuur is op dinsdag.")
    sync()
    one, other = as_member(app, make_user()), as_member(app, make_user())
    page(other, "/nl/about")  # its "welcome back" shown
    url = "/nl/search?q=spreekuur"
    assert "in de bibliotheek" in page(one, url)  # (the query's word is marked)
    if search_backend == "postgres":
        assert plant(app) == 0
        return
    assert plant(app) == 1
    kept = page(other, url)
    assert MARKER in kept
    app.config["PAGE_CACHE"] = False
    rendered = page(other, url)
    app.config["PAGE_CACHE"] = True
    assert same(kept.replace(MARKER, "")) == same(rendered)
    assert MARKER not in page(app.test_client(), url)
    with app.app_context():  # in the database only: the index still has the old title
        db.session.get(Thread, first.id).title = "Spreekuur in de nieuwe bibliotheek"
        db.session.commit()
    html = page(other, url)
    assert MARKER not in html and "nieuwe bibliotheek" in html
    plant(app)
    assert MARKER in page(one, url)
    make_thread(theme=public_theme, author=author, title="Inloop voor mantelzorgers", body="Ook hier een spreekuur.")
    assert MARKER in page(one, url)  # not indexed yet: the page is what the index answers
    sync()
    html = page(one, url)
    assert MARKER not in html and "Inloop voor mantelzorgers" in html


def test_many_different_searches_leave_the_reading_pages_kept(
        app, make_thread, make_user, public_theme, sync, search_backend, monkeypatch):
    """Search results pages have a store of their own, bounded apart (forum/pagecache.py):
    members' many different searches do not push a kept thread page out."""
    from forum import pagecache
    from tests.test_pagecache import MARKER, page, plant

    monkeypatch.setattr(pagecache, "MAX_SEARCH_PAGES", 4)
    thread = make_thread(theme=public_theme, title="Spreekuur in de bibliotheek", body="Het spreekuur is op dinsdag.")
    sync()
    reader = as_member(app, make_user())
    page(reader, f"/nl/t/{thread.id}")
    plant(app)
    for word in ("spreekuur", "bibliotheek", "dinsdag", "inloop", "wonen", "zorg", "armoede", "jeugd", "raad"):
        page(reader, f"/nl/search?q={word}")
    assert MARKER in page(reader, f"/nl/t/{thread.id}")
    assert len(app.extensions.get("agora_search_pages", {})) <= (0 if search_backend == "postgres" else 4)
