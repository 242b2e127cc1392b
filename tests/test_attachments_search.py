"""Search inside attached documents: words only present in a PDF, DOCX or ODT are found
after the job extracted the text, analysed in the post's language, and the result names
the file it matched in."""
import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape

from tests.test_attachments import reply
from tests.test_attachments_samples import make_docx, make_odt, make_pdf


@pytest.fixture
def app_config(app_config):
    return dict(app_config, PASSWORD_HASH_METHOD="scrypt:4096:8:1", RATELIMIT_ENABLED=False)


def matched_in(app, lang, name):
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return str(escape(gettext("Found in the attached file %(name)s", name=name)))


def results(client, lang, q):
    response = client.get(f"/{lang}/search", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_words_inside_documents_are_found_in_both_languages(app, client, runner, make_user, make_theme,
                                                            make_thread, login_as):
    theme = make_theme(visibility="members")
    nl_thread = make_thread(theme=theme, title="Advies aan het college over mantelzorg", language="nl",
                            body="Wie heeft er ervaring met adviezen over mantelzorg?")
    nl_other = make_thread(theme=theme, title="Memo over de wijkteams", language="nl",
                           body="Hoe werken jullie wijkteams samen met de huisartsen?")
    fr_thread = make_thread(theme=theme, title="Note au collège sur les aînés", language="fr",
                            body="Notre conseil a rédigé une note pour le collège.")
    fr_other = make_thread(theme=theme, title="Avis sur l'aide à domicile", language="fr",
                           body="Voici notre avis, en pièce jointe.")
    login_as(make_user())
    assert reply(client, nl_thread, body="Hierbij ons advies.", attachments=[
        ("Advies Zwolle.pdf", make_pdf(["Wij adviseren de mantelzorgwaardering automatisch toe te kennen."]))
    ]).status_code == 302
    assert reply(client, nl_other, body="Ons memo staat in de bijlage.", attachments=[
        ("memo wijkteams.docx", make_docx(["De wijkverpleegkundige schuift aan bij het overleg."]))
    ]).status_code == 302
    assert reply(client, fr_thread, body="La note est jointe.", attachments=[
        ("note aînés.odt", make_odt(["Le conseil plaide pour la bientraitance des aînés en maison de repos."]))
    ]).status_code == 302
    assert reply(client, fr_other, body="Notre avis.", attachments=[
        ("avis.pdf", make_pdf(["Les aidants proches ont besoin de répit et de reconnaissance."]))
    ]).status_code == 302

    # Until the job process has extracted the text, the words are not in the index.
    assert "Advies aan het college over mantelzorg" not in results(client, "nl", "mantelzorgwaardering")
    assert runner.invoke(args=["attachments", "extract"]).exit_code == 0
    assert runner.invoke(args=["search", "sync"]).exit_code == 0

    page = results(client, "nl", "mantelzorgwaardering")
    assert "Advies aan het college over mantelzorg" in page and "Memo over de wijkteams" not in page
    assert matched_in(app, "nl", "Advies Zwolle.pdf") in page
    assert "<mark>mantelzorgwaardering</mark>" in page
    # Dutch analysis: the plural finds the singular in the PDF.
    assert "Advies aan het college over mantelzorg" in results(client, "nl", "mantelzorgwaarderingen")

    page = results(client, "nl", "wijkverpleegkundige")
    assert "Memo over de wijkteams" in page and matched_in(app, "nl", "memo wijkteams.docx") in page

    page = results(client, "fr", "bientraitance")
    assert "Note au collège sur les aînés" in page and matched_in(app, "fr", "note aînés.odt") in page
    # French analysis: the plural finds the singular in the PDF.
    page = results(client, "fr", "reconnaissances")
    assert "à domicile" in page and matched_in(app, "fr", "avis.pdf") in page
    assert "<mark>reconnaissance</mark>" in page

    # A match in the post's own text does not claim to be in the attachment.
    page = results(client, "nl", "wijkteams")
    assert "Memo over de <mark>wijkteams</mark>" in page and matched_in(app, "nl", "memo wijkteams.docx") not in page

    # Members-only theme: visitors find nothing, not even through the attachment.
    anonymous = app.test_client()
    assert "Advies aan het college over mantelzorg" not in results(anonymous, "nl", "mantelzorgwaardering")


def test_removed_attachment_leaves_the_index(app, client, runner, make_user, make_theme, make_thread, login_as):
    from tests.test_attachments import attachments_of

    thread = make_thread(theme=make_theme(visibility="public"), title="Advies over de Wmo-toegang")
    login_as(make_user())
    assert reply(client, thread, attachments=[
        ("advies.pdf", make_pdf(["Het keukentafelgesprekverslag moet binnen twee weken klaar zijn."]))]).status_code == 302
    runner.invoke(args=["attachments", "extract"])
    runner.invoke(args=["search", "sync"])
    assert "Advies over de Wmo-toegang" in results(client, "nl", "keukentafelgesprekverslag")
    [attachment] = attachments_of(app)
    moderator = app.test_client()
    from tests.conftest import login

    login(moderator, make_user(role="moderator"))
    assert moderator.post_form(f"/nl/attachments/{attachment.id}/remove", {"reason": "Verouderd"}).status_code == 302
    runner.invoke(args=["search", "sync"])
    assert "Advies over de Wmo-toegang" not in results(client, "nl", "keukentafelgesprekverslag")
