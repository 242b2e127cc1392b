"""The advice register at scale: the column copies of the advice fields stay in step with
`fields` through every writer, the register's queries read the partial advice indexes
(EXPLAIN on SQLite and PostgreSQL), the cached facet counts follow every change, and a
facet shows a bounded number of values."""
import re
from datetime import date
from pathlib import Path

import pytest

from forum.extensions import db
from forum.models import Thread, advice_columns
from tests.conftest import ON_POSTGRES, as_member, html
from tests.test_advice import LAST_YEAR, advice_fields
from tests.test_list_queries import _plan, _problems, _statements

ROOT = Path(__file__).resolve().parent.parent


def _columns_in_step(app):
    """Every thread's advice columns equal advice_columns(kind, fields); returns the advice count."""
    with app.app_context():
        rows = db.session.execute(db.select(Thread.kind, Thread.fields, Thread.sent_on, Thread.sent_year,
                                            Thread.answer_status, Thread.requested)).all()
        for kind, fields, *stored in rows:
            expected = advice_columns(kind, fields)
            assert stored == [expected[k] for k in ("sent_on", "sent_year", "answer_status", "requested")], (kind, fields)
        return sum(1 for row in rows if row.kind == "advice")


def test_the_columns_follow_the_fields_through_every_writer(app, make_org, make_user, make_thread, make_theme):
    """Posting and recording the answer (the ORM hooks); the importer's bulk insert is checked
    in tests/test_advice.py (import round trip)."""
    org = make_org(name="Adviesraad Zeist")
    poster = make_user(organisation=org)
    make_thread(author=poster, kind="question")  # another kind: NULL columns
    thread = make_thread(author=poster, kind="advice", theme=make_theme(visibility="public"),
                         fields=advice_fields(requested=False, sent_on=f"{LAST_YEAR}-02-03"))
    with app.app_context():
        row = db.session.get(Thread, thread.id)
        assert (row.sent_on, row.sent_year, row.answer_status, row.requested) == (
            date(LAST_YEAR, 2, 3), LAST_YEAR, "awaiting", False)
    response = as_member(app, poster).post_form(f"/nl/advice/{thread.id}/answer",
                                                {"answer_status": "not_adopted", "answered_on": f"{LAST_YEAR}-04-01"})
    assert response.status_code == 302
    assert _columns_in_step(app) == 1
    with app.app_context():
        assert db.session.get(Thread, thread.id).answer_status == "not_adopted"



def test_every_bulk_insert_of_threads_fills_the_advice_columns():
    """A Core insert into thread skips the ORM hooks: each file of the app doing one calls
    advice_columns, and so does each benchmark that inserts advice (the others insert kinds
    whose columns stay NULL, which is what advice_columns gives them)."""
    found = []
    for folder in ("forum", "bench", "search", "auth"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if folder == "bench" and '"advice"' not in text:
                continue
            if re.search(r"insert\(Thread\)", text):
                found.append(path.relative_to(ROOT))
                assert "advice_columns(" in text, f"{path}: bulk insert of threads without advice_columns"
    assert Path("forum/io/importer.py") in found and Path("bench/advice.py") in found


@pytest.fixture
def register(make_org, make_user, make_thread, make_theme):
    public = make_theme(visibility="public", name_nl="Wonen", name_fr="Logement")
    org = make_org(name="Adviesraad Amersfoort")
    poster = make_user(organisation=org)
    threads = []
    for n, status in enumerate(["awaiting", "adopted", "partly", "not_adopted", "no_answer", "adopted"]):
        answered = "" if status == "awaiting" else f"{LAST_YEAR - n % 2}-12-01"
        threads.append(make_thread(author=poster, kind="advice", theme=public, language="fr" if n % 3 == 0 else "nl",
                                   tags=("minima", "wonen") if n % 2 else ("minima",),
                                   fields=advice_fields(sent_on=f"{LAST_YEAR - n % 2}-0{n + 1}-10", answer_status=status,
                                                        answered_on=answered, municipality=f"Plaats {n % 3}")))
    make_thread(author=poster, kind="question", theme=public)
    return {"poster": poster, "threads": threads, "theme": public}


REGISTER_PAGES = ["/nl/advice", "/nl/advice?sort=old", f"/nl/advice?status=adopted&year={LAST_YEAR}",
                  "/nl/advice?status=partly", f"/nl/advice?year={LAST_YEAR - 1}&page=2",
                  "/nl/advice?requested=requested&language=fr", "/nl/advice?municipality=Plaats%201",
                  "/nl/advice?tag=wonen&status=adopted",
                  f"/nl/advice.csv?year={LAST_YEAR}"]


@pytest.mark.parametrize("reader", ["member", "anonymous"])
def test_register_queries_read_the_advice_indexes(app, client, register, make_user, login_as, reader):
    if reader == "member":
        login_as(make_user())
    if ON_POSTGRES:  # statistics of these rows, not of whatever an earlier test left
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE thread, theme")
    used = set()
    checked = 0
    for url in REGISTER_PAGES:
        for statement, parameters in _statements(app, client, url):
            if "sent_on IS NOT NULL" not in statement:
                continue  # eager loads by id
            plan = _plan(app, statement, parameters)
            assert not _problems(plan), (url, statement, plan)
            # SQLite: an advice-only (partial) index, or the kind one narrowed to advice. PostgreSQL
            # prices a grouped count on a few rows by its statistics of the moment (other tests
            # leave theirs), so there the check above (no sequential scan, no sort) is the rule.
            assert ON_POSTGRES or re.search(r"ix_thread_(advice|kind)_", plan), (url, statement, plan)
            used.update(re.findall(r"ix_thread_advice_\w+", plan))
            checked += 1
    assert checked >= 10
    # The sort and the counts' stamp read theirs; SQLite (which the tiny test tables do not
    # sway) also picks the status and year ones for those filters.
    expected = {"ix_thread_advice_sent", "ix_thread_advice_changed"}
    if not ON_POSTGRES:
        expected |= {"ix_thread_advice_status", "ix_thread_advice_year"}
    assert expected <= used, used


def _status_count(page, status):
    """The count beside a status in the answer facet of an unfiltered register page."""
    match = re.search(r'status=' + status + r'"[^>]*>[^<]*</a> <span class="count">\((\d+)\)', page)
    return int(match.group(1)) if match else None


def test_cached_counts_follow_every_change(app, client, register, make_user, make_theme):
    page = html(client.get("/nl/advice"))
    assert _status_count(page, "adopted") == 2 and _status_count(page, "awaiting") == 1
    assert "6 advices" in page or "6 adviezen" in page
    page = html(client.get("/nl/advice"))  # from the cache: the same figures
    assert _status_count(page, "adopted") == 2
    # The facets' links kept with the counts follow the sort as well.
    assert "status=adopted&amp;sort=old" in html(client.get("/nl/advice?sort=old"))
    assert "sort=old" not in html(client.get("/nl/advice")).split('class="sidebar facets"')[1]
    first = register["threads"][0]
    council = as_member(app, register["poster"])
    assert council.post_form(f"/nl/advice/{first.id}/answer", {"answer_status": "adopted"}).status_code == 302
    page = html(client.get("/nl/advice"))
    assert _status_count(page, "adopted") == 3 and _status_count(page, "awaiting") is None
    # A moderator moves one advice into a members-only theme: visitors no longer count it.
    moderator = as_member(app, make_user(role="moderator"))
    hidden_theme = make_theme(visibility="members")
    response = moderator.post_form(f"/nl/mod/t/{register['threads'][1].id}/move", {"theme": str(hidden_theme.id)})
    assert response.status_code == 302
    page = html(client.get("/nl/advice"))
    assert _status_count(page, "adopted") == 2
    assert page.count('class="advice-entry"') == 5


def test_a_reply_keeps_the_counts_an_answer_renews_them(app, client, register, make_user):
    from forum.advice.services import register_stamp

    thread = register["threads"][0]
    with app.app_context():
        before = register_stamp()
    replier = as_member(app, make_user())
    response = replier.post_form(f"/nl/t/{thread.id}/reply", {"body": "Bij ons speelde hetzelfde; we delen graag ons advies."})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Thread, thread.id).post_count == 2  # the thread row did change
        assert register_stamp() == before  # but nothing the register counts
    assert as_member(app, register["poster"]).post_form(
        f"/nl/advice/{thread.id}/answer", {"answer_status": "adopted"}).status_code == 302
    with app.app_context():
        assert register_stamp() != before


def test_a_facet_shows_a_bounded_number_of_values(app, client, make_org, make_user, make_thread, make_theme, monkeypatch):
    from forum.advice import services

    monkeypatch.setattr(services, "FACET_LIMIT", 3)
    theme = make_theme(visibility="public")
    poster = make_user(organisation=make_org(name="Adviesraad Gooi"))
    for n in range(5):
        for _ in range(5 - n):
            make_thread(author=poster, kind="advice", theme=theme,
                        fields=advice_fields(municipality=f"Gemeente {n}"))
    page = html(client.get("/nl/advice"))
    shown = re.findall(r"Gemeente (\d)</a>", page)
    assert shown == ["0", "1", "2"]  # the three with most advice, most first
    page = html(client.get("/nl/advice?municipality=Gemeente 4"))
    assert page.count('class="advice-entry"') == 1
    assert re.search(r'<strong aria-current="true">Gemeente 4 \(1\)</strong>', page)  # the chosen one stays


def test_the_migration_fills_the_columns_of_existing_advice(other_site_config):
    """Advice posted before the columns existed is found in the register after the upgrade."""
    import json

    from flask_migrate import upgrade
    from sqlalchemy import text

    from forum import create_app

    app = create_app(other_site_config())
    with app.app_context():
        upgrade(revision="b4e1c7a9d2f5")  # the revision before the advice columns
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO theme (id, slug, name_nl, name_fr, description_nl, description_fr, position, visibility, "
                "post_policy, created_at, updated_at) VALUES (1, 'wonen', 'Wonen', 'Logement', '', '', 0, 'public', "
                "'everyone', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            for n, (kind, fields) in enumerate([
                    ("advice", {"requested": True, "sent_on": f"{LAST_YEAR}-05-06", "answer_status": "partly"}),
                    ("advice", {"requested": False, "sent_on": f"{LAST_YEAR - 1}-01-02"}),
                    ("question", {})], start=1):
                connection.execute(text(
                    "INSERT INTO thread (id, theme_id, kind, title, language, status, municipality, province, closed, "
                    "fields, locked, pinned, last_post_at, post_count, thanks_count, created_at, updated_at) VALUES "
                    "(:id, 1, :kind, 'Advies', 'nl', 'visible', 'Utrecht', 'NL-UT', false, :fields, false, '', "
                    "CURRENT_TIMESTAMP, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"id": n, "kind": kind, "fields": json.dumps(fields)})
        upgrade()
        rows = {row.id: row for row in db.session.execute(db.select(
            Thread.id, Thread.sent_on, Thread.sent_year, Thread.answer_status, Thread.requested))}
        assert tuple(rows[1])[1:] == (date(LAST_YEAR, 5, 6), LAST_YEAR, "partly", True)
        assert tuple(rows[2])[1:] == (date(LAST_YEAR - 1, 1, 2), LAST_YEAR - 1, "awaiting", False)
        assert tuple(rows[3])[1:] == (None, None, None, None)
        changed = dict(db.session.execute(db.select(Thread.id, Thread.register_changed_at)).all())
        assert changed[1] and changed[2] and changed[3] is None  # the stamp starts from the last update
        db.session.remove()
        db.engine.dispose()


def test_the_topic_filter_counts_tags(client, register):
    page = html(client.get("/nl/advice"))
    counts = dict((tag, int(n)) for tag, n in re.findall(r'tag=(\w+)"[^>]*>\w+</a> <span class="count">\((\d+)\)', page))
    assert counts == {"minima": 6, "wonen": 3}
    page = html(client.get("/nl/advice?tag=wonen"))
    assert page.count('class="advice-entry"') == 3
    assert _status_count(page.replace("tag=wonen&amp;", ""), "adopted") == 2  # counts under the tag
    assert html(client.get("/nl/advice?tag=Wonen")).count('class="advice-entry"') == 3
