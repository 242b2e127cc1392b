"""The advice register through HTTP: posting (who may and who may not), recording the
answer, filters and counts, CSV, statistics, the API, the reminder and import/export."""
import csv
import io
import re
from datetime import date, timedelta

import pytest

from forum.attachments.pdfgen import make_pdf
from forum.extensions import db
from forum.models import Thread
from tests.conftest import as_member, html, shows

LAST_YEAR = date.today().year - 1


def advice_fields(**kw):
    fields = {"requested": True, "sent_on": f"{LAST_YEAR}-03-14", "addressee": "college",
              "municipality": "Utrecht", "province": "NL-UT",
              "summary": "Wij adviseren het minimabeleid te verruimen.", "text_only": True}
    fields.update(kw)
    return fields


@pytest.fixture
def council(make_org, make_user):
    org = make_org(name="Adviesraad Sociaal Domein Utrecht")
    return {"org": org, "poster": make_user(organisation=org), "colleague": make_user(organisation=org)}


def _form(theme, **kw):
    data = {
        "theme": str(theme.id), "kind": "advice", "title": "Advies over het minimabeleid 2025",
        "body": "Het volledige advies staat in de bijlage.", "language": "nl", "tags": "minima",
        "advice_requested": "requested", "advice_sent_on": f"{LAST_YEAR}-03-14",
        "advice_addressee": "college", "advice_municipality": "Utrecht", "advice_province": "NL-UT",
        "advice_summary": "Verruim de bijzondere bijstand.",
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def test_a_council_member_posts_an_advice_with_its_document(app, council, make_theme):
    theme = make_theme(visibility="public")
    client = as_member(app, council["poster"])
    pdf = make_pdf(["Advies minimabeleid", "De adviesraad adviseert het college de inkomensgrens te verhogen."])
    response = client.post_form("/nl/new", dict(_form(theme), attachments=(io.BytesIO(pdf), "advies.pdf")),
                                content_type="multipart/form-data")
    assert response.status_code == 302, html(response)[:3000]
    with app.app_context():
        thread = db.session.scalars(db.select(Thread).where(Thread.kind == "advice")).one()
        assert thread.municipality == "Utrecht" and thread.province == "NL-UT"
        assert thread.organisation_id == council["org"].id
        assert thread.fields["answer_status"] == "awaiting"
        assert thread.fields["requested"] is True and thread.fields["sent_on"] == f"{LAST_YEAR}-03-14"
        thread_id = thread.id
    page = html(client.get(f"/nl/t/{thread_id}"))
    assert "advies.pdf" in page
    assert shows(app, page, "Awaiting answer") and shows(app, page, "Record the answer")


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_an_advice_without_document_or_date_is_refused_next_to_the_field(app, council, make_theme, lang):
    theme = make_theme(visibility="public")
    client = as_member(app, council["poster"], lang=lang)
    response = client.post_form(f"/{lang}/new", _form(theme))
    assert response.status_code == 400
    assert shows(app, html(response), "Attach the advice document, or tick that the advice is only in the text.", lang)
    response = client.post_form(f"/{lang}/new", _form(theme, advice_text_only="y", advice_sent_on=None))
    assert response.status_code == 400
    assert shows(app, html(response), "This field is required for this kind of topic.", lang)
    future = (date.today() + timedelta(days=3)).isoformat()
    response = client.post_form(f"/{lang}/new", _form(theme, advice_text_only="y", advice_sent_on=future))
    assert response.status_code == 400
    page = html(response)
    assert shows(app, page, "The date cannot be in the future.", lang)
    assert "Verruim de bijzondere bijstand." in page  # the text is kept
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id))) == 0


def test_only_council_members_and_moderators_may_post_advice(app, make_org, make_user, make_theme):
    theme = make_theme(visibility="public")
    regional = make_org(name="Regionaal Platform", kind="regional")
    outsider = make_user(organisation=regional)
    client = as_member(app, outsider)
    assert b'value="advice"' not in client.get("/nl/new").data
    response = client.post_form("/nl/new", _form(theme, advice_text_only="y"))
    assert response.status_code == 400  # not a choice offered to them
    moderator = make_user(role="moderator", organisation=regional)
    response = as_member(app, moderator).post_form("/nl/new", _form(theme, advice_text_only="y"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id)).where(Thread.kind == "advice")) == 1


def test_the_council_records_the_answer_others_may_not(app, council, make_user, make_thread, make_theme):
    thread = make_thread(author=council["poster"], kind="advice", theme=make_theme(visibility="public"),
                         fields=advice_fields())
    url = f"/nl/advice/{thread.id}/answer"
    other = as_member(app, make_user())
    assert other.get(url).status_code == 403
    assert other.post_form(url, {"answer_status": "adopted"}).status_code == 403
    colleague = as_member(app, council["colleague"])
    response = colleague.post_form(url, {"answer_status": "maybe"})
    assert response.status_code == 400
    response = colleague.post_form(url, {"answer_status": "partly", "answered_on": f"{LAST_YEAR}-01-02"})
    assert response.status_code == 400
    assert shows(app, html(response), "The answer cannot be dated before the advice was sent.")
    pdf = make_pdf(["Antwoord van het college", "Het college neemt het advies gedeeltelijk over."])
    response = colleague.post_form(url, {
        "answer_status": "partly", "answered_on": f"{LAST_YEAR}-05-01",
        "follow_up": "De inkomensgrens gaat in 2026 omhoog.",
        "attachments": (io.BytesIO(pdf), "antwoord.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, html(response)[:2000]
    page = html(colleague.get(f"/nl/t/{thread.id}"))
    assert shows(app, page, "Partly adopted") and "antwoord.pdf" in page
    assert "De inkomensgrens gaat in 2026 omhoog." in page
    with app.app_context():
        fields = db.session.get(Thread, thread.id).fields
        assert fields["answer_status"] == "partly" and fields["answered_on"] == f"{LAST_YEAR}-05-01"
        assert len(fields["answer_documents"]) == 1
    moderator = as_member(app, make_user(role="moderator"))
    assert moderator.post_form(url, {"answer_status": "adopted"}).status_code == 302


def _seed(make_thread, make_theme, council, make_org, make_user):
    wonen = make_theme(visibility="public", name_nl="Wonen", name_fr="Logement")
    zorg = make_theme(visibility="public", name_nl="Zorg", name_fr="Soins")
    liege_org = make_org(name="Conseil consultatif des aînés de Liège", country="BE")
    liege = make_user(organisation=liege_org, locale="fr")
    specs = [
        (council["poster"], wonen, "nl", advice_fields(sent_on=f"{LAST_YEAR}-01-10", answer_status="adopted", answered_on=f"{LAST_YEAR}-02-01")),
        (council["poster"], zorg, "nl", advice_fields(sent_on=f"{LAST_YEAR}-06-10", requested=False)),
        (council["poster"], zorg, "nl", advice_fields(sent_on=f"{LAST_YEAR - 1}-06-10", answer_status="not_adopted", answered_on=f"{LAST_YEAR - 1}-09-01")),
        (liege, wonen, "fr", advice_fields(municipality="Liège", province="BE-WLG", addressee="cpas", sent_on=f"{LAST_YEAR}-04-01",
                                           answer_status="partly", answered_on=f"{LAST_YEAR}-05-01", summary="=HYPERLINK(\"x\")")),
    ]
    return [make_thread(author=a, theme=t, kind="advice", language=lang, fields=f,
                        title=f"Advies nummer {i} aan de gemeente") for i, (a, t, lang, f) in enumerate(specs)]


def _facet(page, value_text):
    match = re.search(re.escape(value_text) + r'</a> <span class="count">\((\d+)\)', page)
    return int(match.group(1)) if match else None


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_register_filters_counts_and_csv(app, client, council, make_thread, make_theme, make_org, make_user, lang):
    _seed(make_thread, make_theme, council, make_org, make_user)
    page = html(client.get(f"/{lang}/advice"))
    assert page.count('class="advice-entry"') == 4
    assert _facet(page, "Utrecht") == 3 and _facet(page, "Liège") == 1
    assert _facet(page, str(LAST_YEAR)) == 3 and _facet(page, str(LAST_YEAR - 1)) == 1
    page = html(client.get(f"/{lang}/advice?municipality=Utrecht"))
    assert page.count('class="advice-entry"') == 3
    # Under the municipality filter the year counts follow it; the municipality facet does not.
    assert _facet(page, str(LAST_YEAR)) == 2 and _facet(page, "Liège") == 1
    page = html(client.get(f"/{lang}/advice?status=awaiting&year={LAST_YEAR}"))
    assert page.count('class="advice-entry"') == 1
    page = html(client.get(f"/{lang}/advice?requested=own"))
    assert page.count('class="advice-entry"') == 1
    page = html(client.get(f"/{lang}/advice?province=BE-WLG&language=fr"))
    assert page.count('class="advice-entry"') == 1

    response = client.get(f"/{lang}/advice.csv?year={LAST_YEAR}")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 3
    assert [r["sent_on"] for r in rows] == sorted((r["sent_on"] for r in rows), reverse=True)
    liege = next(r for r in rows if r["municipality"] == "Liège")
    assert liege["summary"] == "'=HYPERLINK(\"x\")"  # formula-safe
    assert liege["answer_status"] == "partly" and liege["requested"] == "requested"


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_the_csv_opened_back_equals_the_api(app, client, council, make_thread, make_theme, make_org, make_user, lang):
    from forum.places import province_name

    _seed(make_thread, make_theme, council, make_org, make_user)
    for query in ("", f"year={LAST_YEAR}", "municipality=Utrecht", "status=partly"):
        response = client.get(f"/{lang}/advice.csv?{query}")
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        api = client.get(f"/api/v1/advice?{query}&per_page=100").get_json()
        assert api["total"] == len(rows) and rows, query
        assert [int(r["id"]) for r in rows] == [r["id"] for r in api["results"]], query  # same order
        for row, entry in zip(rows, api["results"]):
            summary = row.pop("summary")
            assert not summary.startswith(("=", "+", "-", "@"))  # formula-safe
            assert row["title"] == entry["title"] and row["language"] == entry["language"]
            assert row["municipality"] == entry["municipality"]
            assert row["province"] == province_name(entry["province"], lang)
            assert row["requested"] == ("requested" if entry["requested"] else "own")
            assert row["sent_on"] == entry["sent_on"] and row["answer_status"] == entry["answer_status"]
            assert (row["answered_on"] or None) == entry["answered_on"]
            assert row["url"].rsplit("/t/", 1)[1] == entry["url"].rsplit("/t/", 1)[1].split("/")[0]


def test_statistics_chart_figures_equal_the_table(app, council, make_thread, make_theme, make_org, make_user):
    _seed(make_thread, make_theme, council, make_org, make_user)
    member = as_member(app, council["poster"])
    assert member.get("/nl/advice/statistics").status_code == 403
    page = html(as_member(app, make_user(role="moderator")).get("/nl/advice/statistics"))
    chart = {(m[0], m[1]): int(m[2]) for m in re.findall(
        r'data-row="([^"]+)" data-status="(\w+)" data-count="(\d+)"', page)}
    table = {}
    for table_html in re.findall(r"<table.*?</table>", page, re.S):
        for label, cells in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', table_html, re.S):
            for status, count in re.findall(r'<td data-status="(\w+)">(\d+)</td>', cells):
                if int(count):
                    table[(label, status)] = int(count)
    assert chart == table
    assert table[(str(LAST_YEAR), "adopted")] == 1 and table[("Zorg", "awaiting")] == 1
    assert sum(v for (label, _s), v in table.items() if label.isdigit()) == 4
    # The shares under each table follow from its figures (4 advices: 1 of each status).
    shares = re.findall(r'<td data-share="(\w+)">(\d+)%</td>', page)
    assert shares and all(int(value) == round(100 * sum(
        v for (label, st), v in table.items() if st == status and label.isdigit()) / 4)
        for status, value in shares[:5])


def test_api_lists_advice_with_filters(app, client, council, make_thread, make_theme, make_org, make_user):
    _seed(make_thread, make_theme, council, make_org, make_user)
    data = client.get(f"/api/v1/advice?municipality=utrecht&year={LAST_YEAR}").get_json()
    assert data["total"] == 2 and data["page"] == 1
    assert {r["sent_on"] for r in data["results"]} == {f"{LAST_YEAR}-01-10", f"{LAST_YEAR}-06-10"}
    data = client.get("/api/v1/advice?province=Luik&status=partly").get_json()
    assert [r["municipality"] for r in data["results"]] == ["Liège"]
    assert set(data["results"][0]) == {"id", "title", "language", "municipality", "province", "requested",
                                       "sent_on", "answer_status", "answered_on", "url"}
    assert client.get("/api/v1/advice?status=maybe").status_code == 400


def test_members_only_advice_stays_out_of_the_register_for_visitors(app, client, council, make_thread, make_theme):
    make_thread(author=council["poster"], kind="advice", theme=make_theme(visibility="members"),
                fields=advice_fields(summary="Besloten advies over schuldhulp."))
    assert "Besloten advies" not in html(client.get("/nl/advice"))
    assert client.get("/api/v1/advice").get_json()["total"] == 0
    assert "Besloten advies" not in html(client.get("/nl/advice.csv"))
    assert "Besloten advies" in html(as_member(app, council["colleague"]).get("/nl/advice"))


def test_the_reminder_is_sent_once_in_the_posters_language(app, mail, make_org, make_user, make_thread, make_theme):
    from forum.advice.services import send_reminders

    org = make_org(name="Conseil consultatif de Namur", country="BE")
    poster = make_user(organisation=org, locale="fr")
    old = make_thread(author=poster, kind="advice", language="fr", theme=make_theme(),
                      fields=advice_fields(municipality="Namur", province="BE-WNA",
                                           sent_on=(date.today() - timedelta(weeks=9)).isoformat()))
    make_thread(author=poster, kind="advice", theme=make_theme(),
                fields=advice_fields(sent_on=(date.today() - timedelta(weeks=3)).isoformat()))
    make_thread(author=poster, kind="advice", theme=make_theme(),
                fields=advice_fields(sent_on=f"{LAST_YEAR - 1}-01-01", answer_status="adopted"))
    from forum.jobs.runner import run_round

    run_round(app, {})  # the job process, twice: one mail
    run_round(app, {})
    with app.app_context():
        assert send_reminders() == 0
    messages = mail.to(poster.email)
    assert len(messages) == 1
    body = mail.body(messages[0])
    assert shows(app, body, "You get this reminder once per advice.", "fr")
    assert f"/fr/advice/{old.id}/answer" in body


def test_the_reminder_reaches_the_council_when_the_poster_has_left_it(app, mail, make_org, make_user, make_thread,
                                                                      make_theme):
    from forum.advice.services import send_reminders
    from forum.models import User

    org = make_org(name="Adviesraad Sociaal Domein Tiel")
    poster = make_user(organisation=org)
    stays_nl, stays_fr = make_user(organisation=org), make_user(organisation=org, locale="fr")
    elsewhere = make_user(organisation=make_org(name="Adviesraad Culemborg"))
    make_thread(author=poster, kind="advice", theme=make_theme(),
                fields=advice_fields(sent_on=(date.today() - timedelta(weeks=10)).isoformat()))
    with app.app_context():
        db.session.get(User, poster.id).organisation_id = elsewhere.organisation_id  # moved to another council
        db.session.commit()
        assert send_reminders() == 2
        assert send_reminders() == 0
    assert not mail.to(poster.email) and not mail.to(elsewhere.email)
    assert shows(app, mail.body(mail.to(stays_nl.email)[0]), "You get this reminder once per advice.", "nl")
    assert shows(app, mail.body(mail.to(stays_fr.email)[0]), "You get this reminder once per advice.", "fr")


def test_import_validates_and_export_keeps_the_advice_fields(app, council, make_thread, make_theme):
    from forum.io.exporter import export_data
    from forum.io.validation import validate

    thread = make_thread(author=council["poster"], kind="advice", theme=make_theme(),
                         fields=advice_fields(answer_status="adopted", answered_on=f"{LAST_YEAR}-04-01",
                                              follow_up="Uitgevoerd."))
    with app.app_context():
        data = export_data()
        exported = next(t for t in data["threads"] if t["title"] == thread.title)
        assert exported["kind"] == "advice"
        assert exported["fields"]["answer_status"] == "adopted"
        assert exported["fields"]["sent_on"] == f"{LAST_YEAR}-03-14"
        assert exported["fields"]["follow_up"] == "Uitgevoerd."
        bad = {"format": data.get("format"), "version": data.get("version"),
               "threads": [dict(exported, ref="advies-2", fields=dict(exported["fields"], answer_status="maybe"))]}
        _plan, problems = validate(bad)
        text = "\n".join(problems.items)
        assert "threads[0].fields.answer_status: unknown status 'maybe'" in text, text
        _plan, problems = validate({"format": data.get("format"), "version": data.get("version"),
                                    "themes": data["themes"], "organisations": data["organisations"],
                                    "users": data["users"], "threads": [exported]})
        assert not problems.items, problems.items


def test_import_round_trip_into_an_empty_site(app, runner, council, make_thread, make_theme, other_site_config, tmp_path):
    from forum import create_app

    make_thread(author=council["poster"], kind="advice", theme=make_theme(),
                fields=advice_fields(requested=False, answer_status="no_answer", follow_up="Geen reactie."))
    path = tmp_path / "export.json"
    assert runner.invoke(args=["forum", "export", str(path)]).exit_code == 0
    other = create_app(other_site_config())
    try:
        with other.app_context():
            db.create_all()
        result = other.test_cli_runner().invoke(args=["forum", "import", str(path)])
        assert result.exit_code == 0, result.output
        with other.app_context():
            thread = db.session.scalars(db.select(Thread).where(Thread.kind == "advice")).one()
            assert thread.municipality == "Utrecht" and thread.province == "NL-UT"
            assert thread.fields["requested"] is False and thread.fields["answer_status"] == "no_answer"
            assert thread.fields["follow_up"] == "Geen reactie."
            # The importer's bulk insert fills the register's columns (forum.models.advice_columns).
            assert (thread.sent_on.isoformat(), thread.sent_year, thread.answer_status, thread.requested) == (
                f"{LAST_YEAR}-03-14", LAST_YEAR, "no_answer", False)
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_words_in_the_advice_and_answer_documents_are_found(app, runner, council, make_theme):
    theme = make_theme(visibility="public")
    client = as_member(app, council["poster"])
    pdf = make_pdf(["De adviesraad pleit voor een schuldhulpmaatje in elke wijk."])
    response = client.post_form("/nl/new", dict(_form(theme, title="Advies over schuldhulp in de wijk"),
                                                attachments=(io.BytesIO(pdf), "advies.pdf")),
                                content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        thread_id = db.session.scalar(db.select(Thread.id).where(Thread.kind == "advice"))
    answer = make_pdf(["Het college start volgend jaar met wijkcoaches voor geldzaken."])
    assert as_member(app, council["colleague"]).post_form(
        f"/nl/advice/{thread_id}/answer", {"answer_status": "adopted", "attachments": (io.BytesIO(answer), "antwoord.pdf")},
        content_type="multipart/form-data").status_code == 302
    assert runner.invoke(args=["attachments", "extract"]).exit_code == 0
    assert runner.invoke(args=["search", "sync"]).exit_code == 0
    visitor = app.test_client()
    for word in ("schuldhulpmaatje", "wijkcoaches", "bijzondere"):  # advice PDF, answer PDF, summary
        page = html(visitor.get("/nl/search", query_string={"q": word, "kind": "advice"}))
        assert "Advies over schuldhulp in de wijk" in page, word
    page = html(visitor.get("/nl/search", query_string={"q": "wijkcoaches", "kind": "question"}))
    assert "Advies over schuldhulp in de wijk" not in page


def test_feed_and_french_register_show_new_advice(app, client, council, make_thread, make_theme):
    make_thread(author=council["poster"], kind="advice", theme=make_theme(visibility="public"),
                title="Avis sur l'aide alimentaire à Liège", language="fr",
                fields=advice_fields(municipality="Liège", province="Luik", answer_status="not_adopted",
                                     answered_on=f"{LAST_YEAR}-06-01"))
    feed = client.get("/fr/feed/advice.atom")
    assert feed.status_code == 200 and feed.mimetype == "application/atom+xml"
    assert "Avis sur l&#39;aide alimentaire à Liège" in html(feed) or "Avis sur l'aide alimentaire à Liège" in html(feed)
    page = html(client.get("/fr/advice"))
    assert shows(app, page, "Not adopted", "fr") and shows(app, page, "Advice register", "fr")
    assert 'href="/fr/feed/advice.atom"' in page
