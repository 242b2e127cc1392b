"""Attachments in the other areas: import files, privacy export and deletion, the moderation
log, the demo content."""
import io
import json
import zipfile
from pathlib import Path

import pytest

from forum.extensions import db
from forum.models import Post, Thread
from tests.conftest import login
from tests.test_attachments import attachments_of, stored_files
from tests.test_attachments_samples import EXE, make_docx, make_image, make_pdf

EXAMPLE = Path(__file__).parent / "data" / "import_example.json"


@pytest.fixture
def app_config(app_config):
    return dict(app_config, PASSWORD_HASH_METHOD="scrypt:4096:8:1", SEARCH_SYNC_AFTER_REQUEST=False)


def _attach(app, post_id, uploader_id, name, data):
    from forum.attachments import services

    with app.app_context():
        row = services.add_attachments(db.session.get(Post, post_id), uploader_id, [services.check_file(data, name)])[0]
        db.session.commit()
        return row.id


# -- import ----------------------------------------------------------------------------

def _import_file(tmp_path, attachments):
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["threads"][0]["posts"][0]["attachments"] = attachments
    path = tmp_path / "export" / "import.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_attachments_relative_to_the_file(app, runner, tmp_path):
    folder = tmp_path / "export" / "files"
    folder.mkdir(parents=True)
    (folder / "advies.pdf").write_bytes(make_pdf(["Advies over mantelzorgers."]))
    (folder / "memo.docx").write_bytes(make_docx(["Memo."]))
    path = _import_file(tmp_path, ["files/advies.pdf", "files/memo.docx"])
    result = runner.invoke(args=["forum", "import", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        thread = db.session.scalar(db.select(Thread).where(Thread.import_ref == "t-1"))
        opening = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        opening_id, author_id = opening.id, opening.author_id
    rows = attachments_of(app, opening_id)
    assert [(a.filename, a.type_code, a.text_status, a.uploader_id) for a in rows] == [
        ("advies.pdf", "pdf", "pending", author_id), ("memo.docx", "docx", "pending", author_id)]
    assert len(stored_files(app)) == 2
    # Importing again adds nothing (the posts exist already).
    assert runner.invoke(args=["forum", "import", str(path)]).exit_code == 0
    assert len(attachments_of(app)) == 2


def test_import_refuses_bad_attachment_paths_and_writes_nothing(app, runner, tmp_path):
    folder = tmp_path / "export" / "files"
    folder.mkdir(parents=True)
    (folder / "setup.pdf").write_bytes(EXE)
    (tmp_path / "geheim.txt").write_text("buiten de map")
    path = _import_file(tmp_path, ["files/setup.pdf", "../geheim.txt", "/etc/passwd", "files/weg.pdf", 3])
    result = runner.invoke(args=["forum", "import", str(path)])
    assert result.exit_code == 1
    out = result.output
    assert "threads[0].posts[0].attachments[0]: 'files/setup.pdf' is a program" in out
    assert "threads[0].posts[0].attachments[1]: '../geheim.txt' points outside the import file's folder" in out
    assert "threads[0].posts[0].attachments[2]: '/etc/passwd' must be relative to the import file" in out
    assert "threads[0].posts[0].attachments[3]: 'files/weg.pdf' does not exist" in out
    assert "threads[0].posts[0].attachments[4]: must be a non-empty string" in out
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id))) == 0
    assert stored_files(app) == []


# -- privacy ---------------------------------------------------------------------------

def test_data_export_includes_own_files_only(app, client, make_user, make_thread, make_post):
    alice, bob = make_user(name="Alice Bestand"), make_user(name="Bob Ander")
    thread = make_thread(author=bob)
    alice_post = make_post(thread, author=alice)
    pdf = make_pdf(["Alice haar advies."])
    own = _attach(app, alice_post.id, alice.id, "Advies Alice.pdf", pdf)
    _attach(app, make_post(thread, author=bob).id, bob.id, "bob.txt", b"van Bob")
    login(client, alice)
    response = client.post_form("/nl/settings/export")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert f"attachments/{own}-Advies Alice.pdf" in names and not any("bob" in n for n in names)
    assert archive.read(f"attachments/{own}-Advies Alice.pdf") == pdf
    described = json.loads(archive.read("attachments.json"))
    assert described == [{
        "id": own, "post_id": alice_post.id, "thread_id": thread.id, "filename": "Advies Alice.pdf",
        "type": "pdf", "mime": "application/pdf", "size": len(pdf), "created_at": described[0]["created_at"],
        "file": f"attachments/{own}-Advies Alice.pdf"}]
    assert "attachments/" in archive.read("README.txt").decode()


def test_removing_an_account_with_its_posts_deletes_the_files(app, client, make_user, make_thread, make_post):
    from tests.conftest import PASSWORD

    alice, bob = make_user(name="Alice Weg"), make_user(name="Bob Blijft")
    thread = make_thread(author=bob)
    alice_post = make_post(thread, author=alice)
    _attach(app, alice_post.id, alice.id, "advies.pdf", make_pdf(["Weg ermee."]))
    _attach(app, alice_post.id, alice.id, "foto.png", make_image("PNG", (900, 600)))  # with a thumbnail
    kept = _attach(app, make_post(thread, author=bob).id, bob.id, "blijft.txt", b"Bob blijft")
    assert len(stored_files(app)) == 4
    login(client, alice)
    response = client.post_form("/nl/settings/delete", {"mode": "remove", "password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert [a.id for a in attachments_of(app)] == [kept]
    assert [p.name for p in stored_files(app)] == [attachments_of(app)[0].sha256]


# -- moderation log --------------------------------------------------------------------

def test_removal_shows_in_the_moderation_log(app, make_user, make_thread, make_post):
    author = make_user()
    post = make_post(make_thread(), author=author)
    attachment_id = _attach(app, post.id, author.id, "lijst.csv", b"naam;adres\nJan;Dorpsstraat 1\n")
    moderator = make_user(role="moderator")
    c = app.test_client()
    login(c, moderator)
    assert c.post_form(f"/nl/attachments/{attachment_id}/remove", {"reason": "Adressen van inwoners"}).status_code == 302
    page = c.get("/nl/mod/log").get_data(as_text=True)
    assert "attachment removed" in page or "bijlage verwijderd" in page
    assert "Adressen van inwoners" in page
    # The author is told, in their language.
    from flask_babel import force_locale, gettext
    from markupsafe import escape

    with app.test_request_context("/nl/"), force_locale("nl"):
        expected = gettext("A moderator removed the file %(name)s from your message", name="lijst.csv")
    c = app.test_client()
    login(c, author)
    page = c.get("/nl/notifications").get_data(as_text=True)
    assert str(escape(expected)) in page and "Adressen van inwoners" in page


# -- demo ------------------------------------------------------------------------------

def test_demo_has_attachments_with_text(app, runner, client):
    assert runner.invoke(args=["forum", "demo"]).exit_code == 0
    rows = attachments_of(app)
    assert {(a.type_code, a.text_status) for a in rows} == {("pdf", "done"), ("docx", "done"), ("png", "none")}
    pdf = next(a for a in rows if a.type_code == "pdf")
    assert "mantelzorgwaardering" in pdf.text
    docx = next(a for a in rows if a.type_code == "docx")
    assert "logements" in docx.text
    from forum.demo_content import DEMO_PASSWORD

    login(client, "marieke@agora.example", DEMO_PASSWORD)
    with app.app_context():
        thread_id = db.session.get(Post, pdf.post_id).thread_id
    page = client.get(f"/nl/t/{thread_id}").get_data(as_text=True)
    assert "Advies mantelzorgwaardering 2025.pdf" in page
    assert client.get(f"/attachments/{pdf.id}/x.pdf").data.startswith(b"%PDF-")


def test_moderators_see_attachments_of_held_posts_in_the_queue(app, make_user, make_thread, make_post):
    author = make_user()
    post = make_post(make_thread(), author=author, status="held")
    attachment_id = _attach(app, post.id, author.id, "bewijs.pdf", make_pdf(["Bijlage bij een vastgehouden bericht."]))
    moderator = app.test_client()
    login(moderator, make_user(role="moderator"))
    page = moderator.get("/nl/mod/").get_data(as_text=True)
    assert f"/attachments/{attachment_id}/bewijs.pdf" in page
    assert moderator.get(f"/attachments/{attachment_id}/bewijs.pdf").status_code == 200
    member = app.test_client()
    login(member, make_user())
    assert member.get(f"/attachments/{attachment_id}/bewijs.pdf").status_code == 404
