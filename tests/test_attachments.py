"""Attachments through HTTP: uploads of every allowed type, refusals, images without
metadata, permissions on download, storage by content hash, removal."""
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from forum.extensions import db
from forum.models import ModerationAction, Notification, Post, Thread
from tests.conftest import PASSWORD, html, login, shows
from tests.test_attachments_samples import (
    EXE, HTML, SVG, make_docx, make_image, make_jpeg_with_gps, make_ods, make_odt, make_pdf, make_pptx,
    make_xlsx, make_zip,
)

KB = 1024


@pytest.fixture
def app_config(app_config):
    # Small limits keep the size and quota tests fast; cheap hashing for frequent sign-ins.
    return dict(app_config, PASSWORD_HASH_METHOD="scrypt:4096:8:1", ATTACHMENT_MAX_BYTES=200 * KB,
                ATTACHMENT_DAILY_QUOTA=500 * KB, SEARCH_SYNC_AFTER_REQUEST=False)


def refusal(app, code, lang="nl", **params):
    """A refusal as the page shows it (translated, HTML-escaped), made by the site's own catalog."""
    from flask_babel import force_locale
    from markupsafe import escape

    from forum.attachments.services import problem_message

    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return str(escape(problem_message(code, **params)))


def files(*items):
    return [(io.BytesIO(data), name) for name, data in items]


def attachments_of(app, post_id=None, thread_id=None):
    from forum.attachments.models import Attachment

    with app.app_context():
        query = db.select(Attachment).order_by(Attachment.id)
        if post_id is not None:
            query = query.where(Attachment.post_id == post_id)
        if thread_id is not None:
            query = query.join(Post, Attachment.post_id == Post.id).where(Post.thread_id == thread_id)
        rows = db.session.scalars(query).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def stored_files(app):
    root = Path(app.config["ATTACHMENT_PATH"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def last_post(app, thread_id):
    with app.app_context():
        return db.session.scalar(db.select(Post.id).where(Post.thread_id == thread_id).order_by(Post.number.desc()))


def new_thread(client, theme, title="Ons advies over de mantelzorgwaardering", body="Zie het advies in de bijlage.",
               attachments=(), language="nl", lang="nl"):
    data = {"theme": str(theme.id), "kind": "discussion", "title": title, "body": body, "language": language}
    if attachments:
        data["attachments"] = files(*attachments)
    return client.post_form(f"/{lang}/new", data, content_type="multipart/form-data")


def reply(client, thread, body="Hierbij ons stuk.", attachments=()):
    data = {"body": body}
    if attachments:
        data["attachments"] = files(*attachments)
    return client.post_form(f"/nl/t/{thread.id}/reply", data, content_type="multipart/form-data")


def thread_id_from(response):
    return int(re.search(r"/t/(\d+)", response.headers["Location"]).group(1))


ALLOWED = [
    ("advies.pdf", lambda: make_pdf(["Advies aan het college over de mantelzorgwaardering."]), "pdf", "application/pdf"),
    ("memo.docx", lambda: make_docx(["Memo over de Wmo."]), "docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("enquete.xlsx", lambda: make_xlsx(["Uitkomst", "enquête"]), "xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("presentatie.pptx", lambda: make_pptx(["Dia één"]), "pptx",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("note.odt", lambda: make_odt(["Note du conseil."]), "odt", "application/vnd.oasis.opendocument.text"),
    ("resultats.ods", lambda: make_ods([["Résultat", "12"]]), "ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("notulen.txt", lambda: "Notulen van de vergadering van 3 maart.\n".encode(), "txt", "text/plain"),
    ("cijfers.csv", lambda: b"gemeente;aanvragen\nZwolle;312\n", "csv", "text/csv"),
    ("flyer.png", lambda: make_image("PNG"), "png", "image/png"),
    ("foto.jpg", lambda: make_image("JPEG"), "jpeg", "image/jpeg"),
    ("foto.webp", lambda: make_image("WEBP"), "webp", "image/webp"),
    ("animatie.gif", lambda: make_image("GIF"), "gif", "image/gif"),
]


def test_upload_every_allowed_type(app, client, make_user, make_theme, make_thread, login_as):
    app.config["ATTACHMENT_MAX_FILES"] = len(ALLOWED)
    thread = make_thread(theme=make_theme())
    member = make_user()
    login_as(member)
    sent = {name: make() for name, make, _code, _mime in ALLOWED}
    response = reply(client, thread, attachments=list(sent.items()))
    assert response.status_code == 302, html(response)
    rows = attachments_of(app, last_post(app, thread.id))
    assert [(a.filename, a.type_code, a.mime) for a in rows] == [(n, c, m) for n, _mk, c, m in ALLOWED]
    page = html(client.get(f"/nl/t/{thread.id}"))
    for attachment in rows:
        name = attachment.filename
        assert attachment.uploader_id == member.id
        is_image = attachment.type_code in ("png", "jpeg", "webp", "gif")
        assert attachment.kind == ("image" if is_image else "document")
        assert attachment.text_status == ("none" if is_image else "pending")
        served = client.get(f"/attachments/{attachment.id}/{name}")
        assert served.status_code == 200, name
        assert served.headers["Content-Type"].split(";")[0] == attachment.mime
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert "private" in served.headers["Cache-Control"]
        disposition = served.headers["Content-Disposition"]
        assert disposition.startswith("inline" if is_image else "attachment"), name
        assert f"filename*=UTF-8''{name}" in disposition
        if is_image:
            assert f'src="/attachments/{attachment.id}/thumbnail"' in page
            with Image.open(io.BytesIO(served.data)) as im:
                assert im.size == (64, 48)
        else:
            assert served.data == sent[name]  # documents are stored as sent
            assert f'href="/attachments/{attachment.id}/{name}" download>{name}</a>' in page
    assert page.count('class="attachment-card"') == 8 and 'class="attachment-images"' in page
    assert served.headers["Content-Type"] == "image/gif"
    assert client.get(f"/attachments/{rows[6].id}/notulen.txt").headers["Content-Type"] == "text/plain; charset=utf-8"


def test_new_thread_with_several_files_and_unicode_name(app, client, make_user, make_theme, login_as):
    theme = make_theme()
    login_as(make_user())
    response = new_thread(client, theme, attachments=[
        ("Advies cliëntenraad 2025.pdf", make_pdf(["Advies"])), ("flyer.png", make_image("PNG", (900, 600)))])
    assert response.status_code == 302, html(response)
    rows = attachments_of(app, thread_id=thread_id_from(response))
    assert [r.filename for r in rows] == ["Advies cliëntenraad 2025.pdf", "flyer.png"]
    served = client.get(f"/attachments/{rows[0].id}/x")
    assert served.headers["Content-Disposition"] == (
        "attachment; filename=\"Advies clientenraad 2025.pdf\"; "
        "filename*=UTF-8''Advies%20cli%C3%ABntenraad%202025.pdf")
    # A large image gets a thumbnail of its own, smaller than the image.
    image = rows[1]
    assert (image.width, image.height) == (900, 600) and image.thumb_sha256 and image.thumb_sha256 != image.sha256
    with Image.open(io.BytesIO(client.get(f"/attachments/{image.id}/thumbnail").data)) as thumb:
        assert max(thumb.size) == app.config["ATTACHMENT_THUMB_SIDE"]
    page = html(client.get(f"/nl/t/{thread_id_from(response)}"))
    assert 'width="480" height="320"' in page


def test_new_thread_page_has_file_field(client, make_user, make_theme, login_as):
    make_theme()
    login_as(make_user())
    page = html(client.get("/nl/new"))
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input[^>]*type="file"[^>]*multiple', page) or re.search(r'<input[^>]*multiple[^>]*type="file"', page)
    assert 'name="attachments"' in page and 'accept=".pdf,.docx' in page and "data-dropzone" in page


REFUSED = [
    ("advies.pdf", HTML, "active_content"),  # HTML renamed to .pdf
    ("flyer.png", SVG, "active_content"),  # SVG renamed to .png
    ("flyer.svg", SVG, "active_content"),
    ("stukken.zip", make_zip(), "archive"),
    ("stukken.docx", make_zip(), "archive"),  # a plain zip posing as a Word file
    ("setup.exe", EXE, "executable"),
    ("advies.pdf", EXE, "executable"),
    ("advies.docx", make_pdf(["x"]), "mismatch"),  # a real PDF with the wrong extension
    ("rapport.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "type_not_allowed"),
]


def test_refused_files_keep_the_text(app, client, make_user, make_theme, login_as):
    app.config["ATTACHMENT_MAX_FILES"] = len(REFUSED) + 1
    theme = make_theme()
    login_as(make_user())
    text = "Mijn lange tekst over het advies die bewaard moet blijven."
    uploads = [(f"{i}-{name}", data) for i, (name, data, _f) in enumerate(REFUSED)]
    # One good file among them: nothing is written when any file is refused.
    response = new_thread(client, theme, body=text, attachments=uploads + [("goed.txt", b"in orde")])
    assert response.status_code == 400
    page = html(response)
    error = re.search(r'id="attachments-error">(.*?)</p>', page, re.S).group(1)
    for i, (name, _data, code) in enumerate(REFUSED):
        assert refusal(app, code, name=f"{i}-{name}") in error, (name, code, error)
    assert "goed.txt" not in error
    assert shows(app, error, "Your text is still here; choose the files you want to attach again.")
    assert text in page  # the editor still holds the text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id))) == 0
    assert stored_files(app) == [] and attachments_of(app) == []


def test_refusal_message_is_translated(app, client, make_user, make_theme, login_as):
    """French readers get the French message (when the catalog has it) and never the msgid
    mixed with French: the message comes from gettext in the request's language."""
    from flask_babel import force_locale, gettext

    theme = make_theme()
    login_as(make_user(locale="fr"), lang="fr")
    response = new_thread(client, theme, body="Un texte à garder.", attachments=[("note.pdf", HTML)], lang="fr",
                          language="fr", title="Note du conseil sur les aidants")
    assert response.status_code == 400
    with app.test_request_context("/fr/"), force_locale("fr"):
        expected = gettext("%(name)s is a web page, an SVG image or a script; these cannot be "
                           "attached. Save it as PDF or PNG instead.", name="note.pdf")
    from markupsafe import escape
    assert str(escape(expected)) in html(response)
    assert "Un texte à garder." in html(response)


def test_oversized_file_is_refused(app, client, make_user, make_theme, make_thread, login_as):
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    big = b"a" * (201 * KB)
    response = reply(client, thread, body="Tekst blijft staan.", attachments=[("groot.txt", big)])
    assert response.status_code == 400
    page = html(response)
    assert refusal(app, "too_large", name="groot.txt", size=201 * KB) in page and "Tekst blijft staan." in page
    assert last_post(app, thread.id) and attachments_of(app) == [] and stored_files(app) == []


def test_daily_quota(app, client, make_user, make_theme, make_thread, login_as):
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    chunk = lambda n: (f"deel{n}.txt", (f"deel {n} " * 20_000).encode()[:150 * KB])  # noqa: E731
    assert reply(client, thread, attachments=[chunk(1), chunk(2), chunk(3)]).status_code == 302
    response = reply(client, thread, body="Nog een bijlage bij mijn advies.", attachments=[chunk(4)])
    assert response.status_code == 400
    page = html(response)
    stored = attachments_of(app)
    assert len(stored) == 3
    left = app.config["ATTACHMENT_DAILY_QUOTA"] - sum(a.size for a in stored)
    assert refusal(app, "quota", left=left) in page and "Nog een bijlage bij mijn advies." in page
    # Without files the member can still post.
    assert reply(client, thread, body="Alleen tekst.").status_code == 302


def test_too_many_files(app, client, make_user, make_theme, make_thread, login_as):
    app.config["ATTACHMENT_MAX_FILES"] = 2
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    response = reply(client, thread, attachments=[(f"{i}.txt", b"tekst %d" % i) for i in range(3)])
    assert response.status_code == 400 and refusal(app, "too_many") in html(response)


def test_exif_and_gps_are_stripped(app, client, make_user, make_theme, make_thread, login_as):
    original = make_jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as im:
        assert im.getexif().get(0x8825) and b"AgoraCam" in original  # the sample does carry GPS
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    assert reply(client, thread, attachments=[("vakantie.jpg", original)]).status_code == 302
    [attachment] = attachments_of(app)
    for url in (f"/attachments/{attachment.id}/vakantie.jpg", f"/attachments/{attachment.id}/thumbnail"):
        served = client.get(url).data
        assert b"AgoraCam" not in served and b"Exif" not in served
        with Image.open(io.BytesIO(served)) as im:
            assert im.format == "JPEG" and not im.getexif() and "exif" not in im.info
            assert im.size == (120, 80)


def test_large_image_scaled_down_and_bomb_refused(app, client, make_user, make_theme, make_thread, login_as):
    app.config["ATTACHMENT_IMAGE_MAX_SIDE"] = 300
    app.config["ATTACHMENT_MAX_IMAGE_PIXELS"] = 1_000_000
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    assert reply(client, thread, attachments=[("poster.png", make_image("PNG", (1200, 600)))]).status_code == 302
    [attachment] = attachments_of(app)
    assert (attachment.width, attachment.height) == (300, 150)
    # 2000 x 1000 = 2 megapixels: over the limit, refused before decoding.
    response = reply(client, thread, body="Een grote poster.", attachments=[("bom.png", make_image("PNG", (2000, 1000)))])
    assert response.status_code == 400
    assert refusal(app, "image_too_big", name="bom.png") in html(response) and "Een grote poster." in html(response)


def test_same_file_is_stored_once(app, client, make_user, make_theme, make_thread, login_as):
    thread = make_thread(theme=make_theme())
    pdf = make_pdf(["Het advies van de raad."])
    login_as(make_user())
    assert reply(client, thread, attachments=[("advies.pdf", pdf)]).status_code == 302
    other = app.test_client()
    login(other, make_user())
    assert reply(other, thread, attachments=[("kopie van advies.pdf", pdf)]).status_code == 302
    rows = attachments_of(app)
    assert len(rows) == 2 and rows[0].sha256 == rows[1].sha256
    on_disk = stored_files(app)
    assert len(on_disk) == 1 and on_disk[0].name == rows[0].sha256
    assert on_disk[0].relative_to(app.config["ATTACHMENT_PATH"]).parts[:2] == (rows[0].sha256[:2], rows[0].sha256[2:4])
    assert on_disk[0].read_bytes() == pdf


# -- who may download ------------------------------------------------------------------

@pytest.fixture
def posted(app, make_user, make_theme, make_thread):
    """A members-only thread whose reply carries a PDF; returns a dict of the actors."""
    from forum.attachments.services import attach_files, check_file
    from forum.models import User

    theme = make_theme(visibility="members")
    author = make_user()
    thread = make_thread(theme=theme)
    with app.app_context():
        from forum.threads import services

        user = db.session.get(User, author.id)
        post = services.create_reply(user, db.session.get(Thread, thread.id), "Ons advies in de bijlage.",
                                     check_abuse=False)
        [attachment] = attach_files(user, post, [check_file(make_pdf(["Advies"]), "advies.pdf")])
        ids = {"post": post.id, "attachment": attachment.id, "thread": thread.id}
    return dict(ids, author=author)


def _set_post_status(app, post_id, status):
    with app.app_context():
        db.session.get(Post, post_id).status = status
        db.session.commit()


def _client(app, user, status_after_login=None):
    c = app.test_client()
    if user is not None:
        login(c, user)
    if status_after_login:
        # Pending people cannot sign in; someone signed in who is put back to pending
        # (e.g. after an organisation change) keeps a session and must lose access.
        from forum.models import User

        with app.app_context():
            db.session.get(User, user.id).status = status_after_login
            db.session.commit()
    return c


def _fetch(app, user, url):
    return _client(app, user).get(url)


DOWNLOAD_MATRIX = {  # post status -> reader -> expected status
    # A members-only theme: 404 as for an unknown id, to anyone who may not read it.
    "visible": {"anonymous": 404, "pending": 404, "member": 200, "moderator": 200, "author": 200},
    "hidden": {"anonymous": 404, "pending": 404, "member": 404, "moderator": 200, "author": 200},
    "held": {"anonymous": 404, "pending": 404, "member": 404, "moderator": 200, "author": 200},
    "deleted": {"anonymous": 404, "pending": 404, "member": 404, "moderator": 200, "author": 404},
}


def test_download_permissions(app, make_user, posted):
    clients = {
        "anonymous": _client(app, None), "pending": _client(app, make_user(), status_after_login="pending"),
        "member": _client(app, make_user()), "moderator": _client(app, make_user(role="moderator")),
        "author": _client(app, posted["author"]),
    }
    urls = (f"/attachments/{posted['attachment']}/advies.pdf", f"/attachments/{posted['attachment']}/anything.exe")
    for post_status, expectations in DOWNLOAD_MATRIX.items():
        _set_post_status(app, posted["post"], post_status)
        for reader, expected in expectations.items():
            for url in urls:
                response = clients[reader].get(url)
                assert response.status_code == expected, (reader, post_status, url)
                assert response.data.startswith(b"%PDF-") == (expected == 200)
                # Nothing points at the post (the old sign-in link said ?next=/nl/p/<id>).
                assert f"/p/{posted['post']}".encode() not in response.data


def test_public_theme_attachment_is_public_but_hidden_thread_is_not(app, make_user, make_theme, make_thread, login_as, client):
    thread = make_thread(theme=make_theme(visibility="public"))
    login_as(make_user())
    assert reply(client, thread, attachments=[("flyer.png", make_image("PNG"))]).status_code == 302
    [attachment] = attachments_of(app)
    anonymous = app.test_client()
    assert anonymous.get(f"/attachments/{attachment.id}/flyer.png").status_code == 200
    assert anonymous.get(f"/attachments/{attachment.id}/thumbnail").status_code == 200
    with app.app_context():
        db.session.get(Thread, thread.id).status = "hidden"
        db.session.commit()
    assert anonymous.get(f"/attachments/{attachment.id}/flyer.png").status_code == 404
    assert anonymous.get(f"/attachments/{attachment.id}/thumbnail").status_code == 404
    assert anonymous.get(f"/attachments/{attachment.id + 99}/flyer.png").status_code == 404
    assert anonymous.get(f"/attachments/{attachment.id}/thumbnail").status_code == 404


def test_hidden_post_hides_attachment_list_on_thread_page(app, make_user, posted):
    _set_post_status(app, posted["post"], "hidden")
    page = html(_fetch(app, make_user(), f"/nl/t/{posted['thread']}"))
    assert f"/attachments/{posted['attachment']}/" not in page
    page = html(_fetch(app, make_user(role="moderator"), f"/nl/t/{posted['thread']}"))
    assert f"/attachments/{posted['attachment']}/" in page


# -- removing --------------------------------------------------------------------------

def test_moderator_removes_attachment_with_audit_entry(app, make_user, posted):
    moderator = make_user(role="moderator")
    c = app.test_client()
    login(c, moderator)
    page = html(c.get(f"/nl/t/{posted['thread']}"))
    assert f"/nl/attachments/{posted['attachment']}/remove" in page
    form = html(c.get(f"/nl/attachments/{posted['attachment']}/remove"))
    assert "advies.pdf" in form and 'name="reason"' in form
    response = c.post_form(f"/nl/attachments/{posted['attachment']}/remove", {"reason": "Bevat persoonsgegevens."})
    assert response.status_code == 302
    assert attachments_of(app) == [] and stored_files(app) == []
    assert c.get(f"/attachments/{posted['attachment']}/advies.pdf").status_code == 404
    with app.app_context():
        entry = db.session.scalar(db.select(ModerationAction).where(ModerationAction.action == "remove_attachment"))
        assert (entry.actor_id, entry.target_type, entry.target_id) == (moderator.id, "post", posted["post"])
        assert entry.reason == "Bevat persoonsgegevens." and entry.details["filename"] == "advies.pdf"
        notice = db.session.scalar(db.select(Notification).where(Notification.user_id == posted["author"].id,
                                                                 Notification.kind == "moderation"))
        assert notice.data["action"] == "attachment_removed" and notice.data["filename"] == "advies.pdf"


def test_members_cannot_remove_others_attachments(app, make_user, posted):
    c = app.test_client()
    login(c, make_user())
    assert f"/nl/attachments/{posted['attachment']}/remove" not in html(c.get(f"/nl/t/{posted['thread']}"))
    assert c.post_form(f"/nl/attachments/{posted['attachment']}/remove", {}).status_code == 403
    assert len(attachments_of(app)) == 1


def test_removing_keeps_a_file_another_post_still_uses(app, make_user, posted):
    pdf = Path(stored_files(app)[0]).read_bytes()
    from forum.attachments.services import attach_files, check_file
    from forum.models import User

    with app.app_context():
        user = db.session.get(User, posted["author"].id)
        post = db.session.get(Post, posted["post"])
        attach_files(user, post, [check_file(pdf, "kopie.pdf")])
    assert len(stored_files(app)) == 1 and len(attachments_of(app)) == 2
    c = app.test_client()
    login(c, make_user(role="moderator"))
    assert c.post_form(f"/nl/attachments/{posted['attachment']}/remove", {"reason": ""}).status_code == 302
    assert len(stored_files(app)) == 1 and len(attachments_of(app)) == 1


def test_author_edits_post_to_add_and_remove_files(app, client, make_user, make_theme, make_thread, login_as):
    thread = make_thread(theme=make_theme())
    member = make_user()
    login_as(member)
    assert reply(client, thread, attachments=[("oud.txt", b"oude versie")]).status_code == 302
    post_id = last_post(app, thread.id)
    [old] = attachments_of(app)
    page = html(client.get(f"/nl/p/{post_id}/edit"))
    assert 'enctype="multipart/form-data"' in page and f'name="remove_attachment" value="{old.id}"' in page
    response = client.post_form(f"/nl/p/{post_id}/edit", {
        "body": "Hierbij ons stuk, nu met de nieuwe versie.", "remove_attachment": str(old.id),
        "attachments": files(("nieuw.txt", b"nieuwe versie"))}, content_type="multipart/form-data")
    assert response.status_code == 302, html(response)
    assert [a.filename for a in attachments_of(app)] == ["nieuw.txt"]
    # Only files of the same body: the body unchanged still attaches.
    response = client.post_form(f"/nl/p/{post_id}/edit", {
        "body": "Hierbij ons stuk, nu met de nieuwe versie.",
        "attachments": files(("bijlage2.csv", b"a;b\n1;2\n"))}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert [a.filename for a in attachments_of(app)] == ["nieuw.txt", "bijlage2.csv"]
    assert len(stored_files(app)) == 2  # the removed file's bytes are gone


def test_deleting_an_account_removes_its_files_from_disk(app, client, make_user, make_theme, make_thread,
                                                         login_as):
    """GDPR: a member who deletes their account with their messages takes their files along;
    another member's file in the same topic stays."""
    thread = make_thread(theme=make_theme())
    other = app.test_client()
    login(other, make_user())
    assert reply(other, thread, "Onze cijfers.", [("cijfers.csv", b"gemeente;aanvragen\nZwolle;312\n")]).status_code == 302
    [kept] = stored_files(app)
    member = make_user()
    login_as(member)
    pdf = make_pdf(["Het advies van onze raad."])
    assert reply(client, thread, "Ons advies.", [("advies.pdf", pdf), ("flyer.png", make_image("PNG"))]).status_code == 302
    own = [p for p in stored_files(app) if p != kept]
    assert len(own) == 2 and len(attachments_of(app)) == 3
    response = client.post_form("/nl/settings/delete", {"mode": "remove", "password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    assert not any(path.exists() for path in own)
    assert stored_files(app) == [kept] and len(attachments_of(app)) == 1


def test_extract_command_fills_text_and_queues_search(app, runner, client, make_user, make_theme, make_thread, login_as):
    from forum.models import SearchOutbox

    thread = make_thread(theme=make_theme())
    login_as(make_user())
    assert reply(client, thread, attachments=[
        ("advies.pdf", make_pdf(["De mantelzorgwaardering moet omhoog."])),
        ("kapot.pdf", b"%PDF-1.4\nthis is not really a pdf"),
        ("flyer.png", make_image("PNG"))]).status_code == 302
    with app.app_context():
        db.session.execute(db.delete(SearchOutbox))
        db.session.commit()
    result = runner.invoke(args=["attachments", "extract"])
    assert result.exit_code == 0 and "extracted text of 2 attachment(s)" in result.output
    pdf, broken, image = attachments_of(app)
    assert pdf.text_status == "done" and "mantelzorgwaardering" in pdf.text
    assert broken.text_status == "failed" and image.text_status == "none"
    with app.app_context():
        assert db.session.scalar(db.select(SearchOutbox.object_id).where(SearchOutbox.object_type == "post")) == pdf.post_id
    assert "extracted text of 0" in runner.invoke(args=["attachments", "extract"]).output


def test_job_runner_round_extracts(app, client, make_user, make_theme, make_thread, login_as):
    from forum.jobs.runner import run_round

    thread = make_thread(theme=make_theme())
    login_as(make_user())
    assert reply(client, thread, attachments=[("memo.docx", make_docx(["Memo over schuldhulpverlening."]))]).status_code == 302
    done = run_round(app, {})
    assert "attachments" in done
    [attachment] = attachments_of(app)
    assert attachment.text_status == "done" and "schuldhulpverlening" in attachment.text


def test_garbage_collection_removes_orphans(app, runner):
    from forum.attachments import storage

    with app.app_context():
        sha, new = storage.store(b"orphaned bytes")
        assert new and storage.exists(sha)
    assert "removed 0 file(s)" in runner.invoke(args=["attachments", "gc"]).output  # too young
    assert "removed 1 file(s)" in runner.invoke(args=["attachments", "gc", "--min-age", "0"]).output
    assert stored_files(app) == []


def test_posting_forms_accept_requests_above_the_general_size_limit(app, client, make_user, make_theme,
                                                                   make_thread, login_as):
    """Several files make a large request: the posting pages allow files x per-file limit."""
    app.config["MAX_CONTENT_LENGTH"] = 100 * KB
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    data = ("x" * 150 * KB).encode()
    assert reply(client, thread, attachments=[("groot.txt", data)]).status_code == 302
    assert [a.size for a in attachments_of(app)] == [len(data)]
    # Elsewhere the general limit holds.
    assert client.post_form("/nl/preview", {"body": "x" * 150 * KB}).status_code == 413


def test_deleting_a_post_removes_its_files(app, client, make_user, make_theme, make_thread, login_as):
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    assert reply(client, thread, attachments=[("advies.pdf", make_pdf(["Weg ermee."]))]).status_code == 302
    post_id = last_post(app, thread.id)
    [attachment] = attachments_of(app)
    assert client.post_form(f"/nl/p/{post_id}/delete").status_code == 302
    assert attachments_of(app) == [] and stored_files(app) == []
    assert client.get(f"/attachments/{attachment.id}/advies.pdf").status_code == 404
