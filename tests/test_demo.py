"""The demo loader and the default themes command."""
import pytest

from forum.extensions import db
from forum.models import Organisation, Post, Theme, Thread, User
from tests.conftest import login


@pytest.fixture
def app_config(app_config):
    """Cheaper password hashing: these tests sign in often (full cost is tested in test_auth)."""
    return dict(app_config, PASSWORD_HASH_METHOD="scrypt:4096:8:1")


def counts(app):
    with app.app_context():
        return {m.__name__: db.session.scalar(db.select(db.func.count()).select_from(m))
                for m in (Organisation, User, Theme, Thread, Post)}


def test_demo_loads_once_and_is_usable(app, runner, client):
    result = runner.invoke(args=["forum", "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "admin@agora.example" in result.output and "moderator@agora.example" in result.output
    first = counts(app)
    assert first["Organisation"] >= 8 and first["Theme"] == 10 and first["Thread"] >= 15
    result = runner.invoke(args=["forum", "demo", "--if-empty"])
    assert result.exit_code == 0 and counts(app) == first

    with app.app_context():
        threads = db.session.scalars(db.select(Thread)).all()
        assert {t.kind for t in threads} == {"question", "practice", "initiative", "vacancy", "advice", "discussion", "announcement",
                                                "event"}  # the events' discussion threads
        advice = [t for t in threads if t.kind == "advice"]
        assert len(advice) == 12 and {t.language for t in advice} == {"nl", "fr"}
        assert {t.fields["answer_status"] for t in advice} == {"awaiting", "adopted", "partly", "not_adopted", "no_answer"}
        assert {t.province[:2] for t in advice} == {"NL", "BE"}
        from forum.attachments.models import Attachment
        documents = db.session.scalar(db.select(db.func.count(Attachment.id)).join(Post).where(
            Post.thread_id.in_([t.id for t in advice]), Attachment.mime == "application/pdf"))
        assert documents == 12
        # The register's columns are filled, and one advice was corrected (its history).
        assert all(t.sent_year and t.answer_status == t.fields["answer_status"] for t in advice)
        from forum.models import AdviceRevision
        assert db.session.scalar(db.select(db.func.count(AdviceRevision.id))) == 1
        assert {t.language for t in threads} == {"nl", "fr"}
        assert any(t.accepted_post_id for t in threads) and any(t.thanks_count for t in threads)
        vacancies = [t for t in threads if t.kind == "vacancy"]
        assert any(t.is_open_vacancy for t in vacancies) and any(not t.is_open_vacancy for t in vacancies)
        assert len({t.province for t in threads if t.kind == "initiative"}) >= 3
        roles = set(db.session.scalars(db.select(User.role)))
        assert roles == {"member", "moderator", "admin"}
        for t in threads:  # counters agree with the posts
            visible = db.session.scalar(db.select(db.func.count(Post.id)).where(
                Post.thread_id == t.id, Post.status == "visible"))
            assert t.post_count == visible

    # The printed accounts work, and the pages render with the demo content.
    password = result.output.split("password for all: ")[1].split(")")[0] if "password for all" in result.output else None
    from forum.demo_content import DEMO_PASSWORD
    login(client, "admin@agora.example", password or DEMO_PASSWORD)
    for url in ("/nl/", "/fr/latest", "/nl/themes", "/nl/questions?tab=solved", "/fr/initiatives",
                "/nl/vacancies", "/nl/vacancies?tab=closed", "/nl/practices", "/nl/notifications",
                "/nl/advice", "/fr/advice?status=partly", "/nl/advice/statistics", "/fr/advice.csv"):
        assert client.get(url).status_code == 200, url
    for thread_id in range(1, first["Thread"] + 1):
        assert client.get(f"/fr/t/{thread_id}").status_code == 200


def test_init_themes_is_idempotent_and_keeps_edits(app, runner):
    assert runner.invoke(args=["forum", "init-themes"]).exit_code == 0
    with app.app_context():
        theme = db.session.scalar(db.select(Theme).where(Theme.slug == "schulden"))
        theme.name_nl = "Schulden en budget"
        db.session.commit()
        themes = {t.slug: t for t in db.session.scalars(db.select(Theme))}
        assert themes["nieuws-van-de-koepel"].post_policy == "moderators"
        assert {s for s, t in themes.items() if t.visibility == "public"} == {
            "participatie-en-burgerinitiatieven", "goede-praktijken"}
        assert themes["wonen"].name_fr == "Logement"
    result = runner.invoke(args=["forum", "init-themes"])
    assert result.exit_code == 0 and "0 theme" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Theme.id))) == 10
        assert db.session.scalar(db.select(Theme.name_nl).where(Theme.slug == "schulden")) == "Schulden en budget"
