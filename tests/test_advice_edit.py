"""Correcting an advice after posting, through HTTP: who may (the council's members, the
member who posted it, moderators) and who may not, bad input kept next to the field with
nothing written, and the history every reader of the advice can see."""
import pytest

from forum.extensions import db
from forum.models import AdviceRevision, Thread
from tests.conftest import as_member, html, shows
from tests.test_advice import LAST_YEAR, advice_fields


@pytest.fixture
def advice(make_org, make_user, make_thread, make_theme):
    org = make_org(name="Adviesraad Sociaal Domein Houten")
    poster = make_user(organisation=org)
    thread = make_thread(author=poster, kind="advice", theme=make_theme(visibility="public"),
                         title="Advies over de Wmo-verordening",
                         fields=advice_fields(municipality="Houten", sent_on=f"{LAST_YEAR}-03-14",
                                              answer_status="partly", answered_on=f"{LAST_YEAR}-06-01"))
    return {"org": org, "poster": poster, "thread": thread, "colleague": make_user(organisation=org)}


def _edit(**kw):
    data = {"requested": "own", "sent_on": f"{LAST_YEAR}-02-20", "addressee": "council",
            "municipality": "Houten", "province": "NL-UT", "summary": "Maak de Wmo-verordening begrijpelijker."}
    data.update(kw)
    return data


def test_a_council_member_corrects_the_advice_and_its_history_shows_both(app, client, advice):
    thread = advice["thread"]
    colleague = as_member(app, advice["colleague"])
    page = html(colleague.get(f"/nl/t/{thread.id}"))
    assert f"/nl/advice/{thread.id}/edit" in page
    form = html(colleague.get(f"/nl/advice/{thread.id}/edit"))
    assert "Wij adviseren het minimabeleid te verruimen." in form  # today's values filled in
    response = colleague.post_form(f"/nl/advice/{thread.id}/edit", _edit(sent_on=f"{LAST_YEAR - 1}-11-30"))
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(Thread, thread.id)
        assert row.fields["summary"] == "Maak de Wmo-verordening begrijpelijker."
        assert row.fields["requested"] is False and row.fields["addressee"] == "council"
        assert row.fields["answer_status"] == "partly"  # the answer stays as recorded
        assert (row.sent_year, row.requested) == (LAST_YEAR - 1, False)  # the register's columns follow
        revisions = db.session.scalars(db.select(AdviceRevision)).all()
        assert [(r.change, r.editor_id, r.fields["summary"]) for r in revisions] == [
            ("edit", advice["colleague"].id, "Wij adviseren het minimabeleid te verruimen.")]
    # The register finds it under its corrected year.
    register = html(client.get(f"/nl/advice?year={LAST_YEAR - 1}"))
    assert "Advies over de Wmo-verordening" in register
    # A visitor reads the history: the correction first, then the posting with the old text.
    for lang in ("nl", "fr"):
        page = html(client.get(f"/{lang}/advice/{thread.id}/history"))
        assert page.index("Maak de Wmo-verordening begrijpelijker.") < page.index("Wij adviseren het minimabeleid te verruimen.")
        assert shows(app, page, "Corrected", lang) and shows(app, page, "Posted", lang)
        assert advice["colleague"].name in page and advice["poster"].name in page
    # Saving the same values again changes nothing and keeps no revision.
    assert colleague.post_form(f"/nl/advice/{thread.id}/edit", _edit(sent_on=f"{LAST_YEAR - 1}-11-30")).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AdviceRevision.id))) == 1


def test_recording_the_answer_is_kept_in_the_history(app, client, advice):
    thread = advice["thread"]
    response = as_member(app, advice["poster"]).post_form(
        f"/nl/advice/{thread.id}/answer", {"answer_status": "adopted", "answered_on": f"{LAST_YEAR}-07-01",
                                           "follow_up": "De verordening is herschreven."})
    assert response.status_code == 302
    page = html(client.get(f"/nl/advice/{thread.id}/history"))
    assert shows(app, page, "Answer recorded") and "De verordening is herschreven." in page
    assert shows(app, page, "Partly adopted") and shows(app, page, "Adopted")


def test_who_may_correct_an_advice(app, client, advice, make_user, make_org):
    thread = advice["thread"]
    url = f"/nl/advice/{thread.id}/edit"
    other_council = as_member(app, make_user(organisation=make_org(name="Adviesraad Zeist")))
    assert other_council.get(url).status_code == 403
    assert other_council.post_form(url, _edit(summary="Overgenomen door een ander.")).status_code == 403
    assert f"/nl/advice/{thread.id}/edit" not in html(other_council.get(f"/nl/t/{thread.id}"))
    assert client.get(url).status_code in (302, 401)  # visitors sign in first
    assert as_member(app, advice["poster"]).post_form(url, _edit(summary="Door de indiener.")).status_code == 302
    assert as_member(app, make_user(role="moderator")).post_form(url, _edit(summary="Door de moderator.")).status_code == 302
    with app.app_context():
        assert db.session.get(Thread, thread.id).fields["summary"] == "Door de moderator."
        assert db.session.scalar(db.select(db.func.count(AdviceRevision.id))) == 2
    # A topic of another kind has no advice form.
    question = as_member(app, advice["poster"])
    with app.app_context():
        other = db.session.scalar(db.select(Thread.id).where(Thread.kind != "advice"))
    assert other is None or question.get(f"/nl/advice/{other}/edit").status_code == 404


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_a_refused_correction_keeps_the_text_and_writes_nothing(app, advice, lang):
    thread = advice["thread"]
    colleague = as_member(app, advice["colleague"], lang=lang)
    # Sent after the recorded answer (1 June): refused next to the date.
    response = colleague.post_form(f"/{lang}/advice/{thread.id}/edit",
                                   _edit(sent_on=f"{LAST_YEAR}-08-01", summary="Een nieuwe samenvatting."))
    assert response.status_code == 400
    page = html(response)
    assert shows(app, page, "The answer cannot be dated before the advice was sent.", lang)
    assert "Een nieuwe samenvatting." in page
    response = colleague.post_form(f"/{lang}/advice/{thread.id}/edit", _edit(summary="", municipality=""))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Thread, thread.id).fields["summary"] == "Wij adviseren het minimabeleid te verruimen."
        assert db.session.scalar(db.select(db.func.count(AdviceRevision.id))) == 0


def test_the_history_of_a_members_only_advice_is_for_members(app, client, make_org, make_user, make_thread, make_theme):
    poster = make_user(organisation=make_org(name="Cliëntenraad Breda", kind="clientenraad"))
    thread = make_thread(author=poster, kind="advice", theme=make_theme(visibility="members"),
                         fields=advice_fields(summary="Besloten advies."))
    assert client.get(f"/nl/advice/{thread.id}/history").status_code == 404
    assert "Besloten advies." in html(as_member(app, make_user()).get(f"/nl/advice/{thread.id}/history"))
