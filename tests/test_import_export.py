"""`forum import` / `forum export`: validation with paths, idempotence, bulk speed, round trip."""
import json
import os
import stat
import time
from pathlib import Path

from forum import create_app
from forum.extensions import db
from forum.models import Organisation, Post, SearchOutbox, Tag, Theme, Thread, User, count, utcnow

EXAMPLE = Path(__file__).parent / "data" / "import_example.json"


def example():
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def write(tmp_path, data, name="import.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def counts(app):
    with app.app_context():
        return {model.__name__: count(model) for model in (Theme, Organisation, User, Thread, Post, Tag, SearchOutbox)}


def test_import_example_file(app, runner, client):
    result = runner.invoke(args=["forum", "import", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Imported: 2 themes, 2 organisations, 3 users, 4 threads, 6 posts" in result.output
    with app.app_context():
        marieke = db.session.scalar(db.select(User).where(User.import_ref == "u-1"))
        assert marieke.email == "marieke@adviesraadzeist.example"
        assert marieke.status == "active" and marieke.password_hash is None  # must reset the password
        assert marieke.organisation.slug == "adviesraad-zeist"
        assert marieke.organisation.is_member and marieke.organisation.import_ref == "org-zeist"

        question = db.session.scalar(db.select(Thread).where(Thread.import_ref == "t-1"))
        posts = question.posts.all()
        assert [p.number for p in posts] == [1, 2, 3]
        assert posts[0].body_html == "<p>Wij willen mantelzorgers <strong>vaker</strong> horen. Hoe doen jullie dat?</p>\n"
        assert 'rel="nofollow ugc noopener"' in posts[1].body_html
        assert 'class="mention"' in posts[2].body_html  # @JeanDubois names an imported member
        assert question.accepted_post_id == posts[1].id
        assert question.post_count == 3 and question.last_post_id == posts[2].id
        assert question.created_at.isoformat() == "2024-03-04T09:15:00"
        assert posts[1].created_at.isoformat() == "2024-03-05T10:00:00"  # +01:00 stored as UTC
        assert question.last_post_at == posts[2].created_at
        assert [t.name for t in question.tags] == ["mantelzorg", "participatie"]
        assert question.organisation_id == marieke.organisation_id

        practice = db.session.scalar(db.select(Thread).where(Thread.import_ref == "t-2"))
        assert practice.municipality == "Zeist"
        assert practice.fields["approach"].startswith("Elke eerste dinsdag")
        initiative = db.session.scalar(db.select(Thread).where(Thread.import_ref == "t-3"))
        assert initiative.province == "BE-WNA" and initiative.language == "fr"
        vacancy = db.session.scalar(db.select(Thread).where(Thread.import_ref == "t-4"))
        assert vacancy.closes_on.isoformat() == "2024-08-01" and vacancy.closed  # closing date passed
        queued = set(db.session.execute(db.select(SearchOutbox.object_type, SearchOutbox.object_id)).all())
        assert ("thread", question.id) in queued and ("thread", vacancy.id) in queued

    # Imported content is served like any other: visitors see the three public threads.
    data = client.get("/api/v1/threads").get_json()
    assert data["total"] == 3


def test_imported_member_sets_a_password_by_reset(app, runner, client, mail):
    assert runner.invoke(args=["forum", "import", str(EXAMPLE)]).exit_code == 0
    response = client.post_form("/nl/reset", {"email": "jean@ccs-namur.example"})
    assert response.status_code in (200, 302)
    assert mail.links(mail.last("jean@ccs-namur.example"))


def test_import_twice_changes_nothing(app, runner):
    assert runner.invoke(args=["forum", "import", str(EXAMPLE)]).exit_code == 0
    before = counts(app)
    result = runner.invoke(args=["forum", "import", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Imported: 0 themes, 0 organisations, 0 users, 0 threads, 0 posts" in result.output
    assert "Already present (skipped): 2 themes, 2 organisations, 3 users, 4 threads, 6 posts" in result.output
    assert counts(app) == before


def test_invalid_file_reports_every_problem_and_writes_nothing(app, runner, tmp_path):
    data = example()
    data["threads"][3]["posts"][0]["author"] = "u-9"
    data["threads"][2]["theme"] = "bestaat-niet"
    data["threads"][1]["kind"] = "recipe"
    data["threads"][0]["accepted"] = "p-1"
    data["threads"][0]["posts"][1]["created_at"] = "gisteren"
    data["threads"][0]["titel"] = "typo"
    data["users"][1]["email"] = "geen-adres"
    data["users"][2]["organisation"] = "org-x"
    data["organisations"][1]["membership"]["status"] = "maybe"
    data["themes"].append(dict(data["themes"][0]))
    data["threads"].append(dict(data["threads"][0], posts=[]))  # duplicate ref, no posts
    result = runner.invoke(args=["forum", "import", write(tmp_path, data)])
    assert result.exit_code == 1
    out = result.output
    for expected in [
        "threads[3].posts[0].author: unknown user ref 'u-9'",
        "threads[2].theme: unknown theme slug 'bestaat-niet'",
        "threads[1].kind: 'recipe' is not one of",
        "threads[0].accepted: the opening post cannot be the answer",
        "threads[0].posts[1].created_at: 'gisteren' is not a date and time",
        "threads[0].titel: unknown field",
        "users[1].email: 'geen-adres' is not valid",
        "users[2].organisation: unknown organisation ref 'org-x'",
        "organisations[1].membership.status: 'maybe' is not one of",
        "themes[2].slug: duplicate theme slug 'wmo'",
        "threads[4].posts: needs at least the opening post",
        "threads[4].ref: duplicate thread ref 't-1'",
        "nothing was imported",
    ]:
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert set(counts(app).values()) == {0}


def test_field_and_tag_problems_have_paths(app, runner, tmp_path):
    data = example()
    data["threads"][2]["fields"]["province"] = "Narnia"
    data["threads"][2]["fields"]["website"] = "geen website"
    data["threads"][1]["fields"]["budget"] = "100"
    data["threads"][0]["tags"] = ["a", "b", "c", "d", "e", "f"]
    data["threads"][3]["fields"]["closes_on"] = "31-08-2024"
    result = runner.invoke(args=["forum", "import", write(tmp_path, data)])
    assert result.exit_code == 1
    for expected in ["threads[2].fields.province: is not a province", "threads[1].fields.budget: is not a field of kind 'practice'",
                     "threads[0].tags: has more tags than allowed", "threads[3].fields.closes_on: must be a date"]:
        assert expected in result.output, result.output
    assert set(counts(app).values()) == {0}


def test_provinces_import_by_name_or_code_and_are_stored_as_codes(app, runner, tmp_path):
    # Files written before provinces were codes name them, in either language.
    data = example()
    data["organisations"][0]["province"] = "utrecht"
    data["organisations"][1].update(province="Namen")
    data["threads"][2]["fields"]["province"] = "Liège"
    data["threads"][0]["province"] = "Friesland"
    result = runner.invoke(args=["forum", "import", write(tmp_path, data)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        provinces = {o.import_ref: o.province for o in db.session.scalars(db.select(Organisation))}
        assert provinces == {"org-zeist": "NL-UT", "org-namur": "BE-WNA"}
        threads = {t.import_ref: t.province for t in db.session.scalars(db.select(Thread))}
        assert threads["t-3"] == "BE-WLG" and threads["t-1"] == "NL-FR"


def test_unknown_or_foreign_provinces_are_refused(app, runner, tmp_path):
    data = example()
    data["organisations"][0]["province"] = "Luik"  # a Belgian province for a Dutch council
    data["threads"][0]["province"] = "Limburg"  # in both countries: a code is needed
    result = runner.invoke(args=["forum", "import", write(tmp_path, data)])
    assert result.exit_code == 1
    assert "organisations[0].province: 'Luik' is not a province of NL" in result.output, result.output
    assert "threads[0].province: 'Limburg' is not a province" in result.output, result.output
    assert set(counts(app).values()) == {0}


def test_malformed_json_is_reported(app, runner, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"themes": [\n  {"slug": "a",}\n]}', encoding="utf-8")
    result = runner.invoke(args=["forum", "import", str(path)])
    assert result.exit_code == 1
    assert "not valid JSON at line 2" in result.output


def test_dry_run_writes_nothing(app, runner):
    result = runner.invoke(args=["forum", "import", "--dry-run", str(EXAMPLE)])
    assert result.exit_code == 0 and "Would import: 2 themes" in result.output
    assert set(counts(app).values()) == {0}


def test_existing_account_is_linked_by_email(app, runner, make_user):
    existing = make_user(email="marieke@adviesraadzeist.example", name="Marieke")
    assert runner.invoke(args=["forum", "import", str(EXAMPLE)]).exit_code == 0
    with app.app_context():
        assert count(db.select(User).where(User.email == "marieke@adviesraadzeist.example").subquery()) == 1
        thread = db.session.scalar(db.select(Thread).where(Thread.import_ref == "t-1"))
        assert thread.author_id == existing.id
        assert db.session.get(User, existing.id).password_hash  # their password is kept


def test_second_file_adds_new_posts_to_imported_threads(app, runner, tmp_path):
    assert runner.invoke(args=["forum", "import", str(EXAMPLE)]).exit_code == 0
    data = example()
    data["threads"][1]["posts"].append({"ref": "p-7", "author": "u-2", "body": "Très intéressant !",
                                        "created_at": "2024-05-12T10:00:00Z"})
    result = runner.invoke(args=["forum", "import", write(tmp_path, data)])
    assert result.exit_code == 0, result.output
    assert "1 posts" in result.output
    with app.app_context():
        thread = db.session.scalar(db.select(Thread).where(Thread.import_ref == "t-2"))
        assert [p.number for p in thread.posts] == [1, 2]
        assert thread.post_count == 2 and thread.last_post_at.isoformat() == "2024-05-12T10:00:00"


def test_export_then_import_into_an_empty_site(app, other_site_config, runner, tmp_path, make_thread, make_post, make_user,
                                              make_theme):
    assert runner.invoke(args=["forum", "import", str(EXAMPLE)]).exit_code == 0
    theme = make_theme(slug="werk", visibility="public")
    leaver = make_user(name="Vertrokken Lid")
    native = make_thread(author=leaver, theme=theme, kind="question", title="Ervaringen met de Participatiewet?",
                         tags=["werk"])
    answer = make_post(native, body="Bij ons **goed**.")
    hidden = make_post(native, body="Weggehaalde reactie")
    make_thread(theme=theme, title="Verborgen onderwerp hier", status="hidden")
    with app.app_context():
        db.session.get(Thread, native.id).accepted_post_id = answer.id
        db.session.get(Post, hidden.id).status = "hidden"
        db.session.get(User, leaver.id).deleted_at = utcnow()
        db.session.commit()

    path = tmp_path / "export.json"
    result = runner.invoke(args=["forum", "export", str(path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    exported = json.loads(path.read_text(encoding="utf-8"))
    titles = sorted(t["title"] for t in exported["threads"])
    assert "Verborgen onderwerp hier" not in titles
    native_export = next(t for t in exported["threads"] if t["title"] == "Ervaringen met de Participatiewet?")
    assert native_export["author"] is None and len(native_export["posts"]) == 2
    assert native_export["accepted"] == native_export["posts"][1]["ref"]

    other = create_app(other_site_config())
    try:
        with other.app_context():
            db.create_all()
        result = other.test_cli_runner().invoke(args=["forum", "import", str(path)])
        assert result.exit_code == 0, result.output
        with other.app_context():
            assert sorted(db.session.scalars(db.select(Thread.title))) == titles
            assert count(Thread) == len(exported["threads"])
            assert count(Post) == sum(len(t["posts"]) for t in exported["threads"])
            assert count(User) == len(exported["users"])
            assert count(Theme) == len(exported["themes"])
            assert count(Organisation) == len(exported["organisations"])
            again = db.session.scalar(db.select(Thread).where(Thread.title == "Ervaringen met de Participatiewet?"))
            assert again.accepted_post_id is not None and again.author_id is None
            assert "<strong>goed</strong>" in again.posts.all()[1].body_html
        # And the second site's export says the same as the first's.
        second = tmp_path / "second.json"
        assert other.test_cli_runner().invoke(args=["forum", "export", str(second)]).exit_code == 0
        re_exported = json.loads(second.read_text(encoding="utf-8"))
        assert [t["ref"] for t in re_exported["threads"]] == [t["ref"] for t in exported["threads"]]
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_ten_thousand_threads_import_in_bulk(app, runner, tmp_path):
    n = 10_000
    data = {
        "themes": [{"slug": "bulk", "name_nl": "Bulk", "name_fr": "Masse", "visibility": "public"}],
        "organisations": [{"ref": "o-1", "name": "Adviesraad Bulk", "slug": "adviesraad-bulk"}],
        "users": [{"ref": f"u-{i}", "email": f"lid{i}@bulk.example", "name": f"Lid {i}", "organisation": "o-1"}
                  for i in range(100)],
        "threads": [{
            "ref": f"t-{i}", "theme": "bulk", "kind": "question", "title": f"Vraag nummer {i} over de Wmo",
            "author": f"u-{i % 100}", "created_at": "2024-01-01T10:00:00Z", "tags": [f"tag{i % 25}"],
            "posts": [{"ref": f"p-{i}-1", "body": f"Hoe regelen jullie **punt {i}**?"},
                      {"ref": f"p-{i}-2", "author": f"u-{(i + 1) % 100}", "body": "Via het wijkteam."}],
            "accepted": f"p-{i}-2" if i % 2 else None,
        } for i in range(n)],
    }
    path = write(tmp_path, data, "bulk.json")
    started = time.monotonic()
    result = runner.invoke(args=["forum", "import", path])
    seconds = time.monotonic() - started
    print(f"\nimported {n} threads / {2 * n} posts in {seconds:.1f} s")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count(Thread) == n and count(Post) == 2 * n and count(Tag) == 25
        assert count(db.select(Thread).where(Thread.accepted_post_id.is_not(None)).subquery()) == n // 2
        assert count(SearchOutbox) == n  # one row per thread: it re-indexes the thread's posts
