"""The one transaction pattern: a refused action leaves nothing behind, and views never
commit or roll back themselves (forum/transactions.py)."""
import re
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import ModerationAction, Post, PostRevision, Thread, User
from forum.transactions import unit_of_work
from tests.conftest import login, shows

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_config(app_config):
    """Cheaper password hashing: these tests sign in (full cost is tested in test_auth)."""
    return dict(app_config, PASSWORD_HASH_METHOD="scrypt:4096:8:1", SEARCH_SYNC_AFTER_REQUEST=False)


def row_counts(app):
    """Rows per table, every table: "nothing written" means none of these moved."""
    with app.app_context():
        return {table.name: db.session.scalar(db.select(db.func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


def page(response):
    return response.get_data(as_text=True)


def commit_leftovers(app):
    """Commit whatever each request leaves in the session, as any later after_request hook
    could: without this, the session's removal at teardown would hide a half-written
    action. Call before the app's first request."""
    @app.after_request
    def commit(response):
        db.session.commit()
        return response


# -- through HTTP ----------------------------------------------------------------------

def test_reply_refused_after_it_was_written_leaves_nothing(app, client, make_user, make_thread, make_post):
    """The anti-abuse check runs after the reply is flushed (it needs the row) and after the
    view counted the attempt: refusing it must take both back."""
    commit_leftovers(app)
    thread = make_thread()
    member = make_user()
    text = "Bij ons bespreekt de adviesraad dit eerst met de cliëntenraad."
    make_post(thread, author=member, body=text)
    login(client, member)
    before = row_counts(app)
    response = client.post_form(f"/nl/t/{thread.id}/reply", {"body": text})
    assert response.status_code == 400
    body = page(response)
    assert shows(app, body, "You posted this same text a few minutes ago. Change it or wait a while; "
                            "your text is still here.")
    assert "de cliëntenraad." in body  # the member's text is still in the form
    assert row_counts(app) == before
    # A different text is accepted: the session the refusal left behind is usable.
    assert client.post_form(f"/nl/t/{thread.id}/reply", {"body": "Iets anders."}).status_code == 302
    assert row_counts(app)[Post.__tablename__] == before[Post.__tablename__] + 1


def test_moderator_edit_refused_late_writes_no_audit_entry(app, client, make_user, make_thread):
    """A moderator's edit writes its audit entry first; the forum service then refuses the
    title. No entry, no revision, no change may stay."""
    commit_leftovers(app)
    thread = make_thread(title="Participatiewet en de adviesraad")
    moderator = make_user(role="moderator")
    with app.app_context():
        opening = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        opening_id, original = opening.id, opening.body_source
    login(client, moderator)
    before = row_counts(app)
    response = client.post_form(f"/nl/mod/p/{opening_id}/edit",
                                {"title": "Te", "body": "Ingekort door de moderator.", "reason": "Te lang"})
    assert response.status_code == 400
    assert shows(app, page(response), "Give your topic a title of at least %(min)d characters.", min=5)
    assert "Ingekort door de moderator." in page(response)
    assert row_counts(app) == before
    with app.app_context():
        assert db.session.get(Post, opening_id).body_source == original
        assert db.session.get(Thread, thread.id).title == "Participatiewet en de adviesraad"
        assert db.session.scalar(db.select(db.func.count(ModerationAction.id))
                                 .where(ModerationAction.action == "edit_post")) == 0
        assert db.session.scalar(db.select(db.func.count(PostRevision.id))) == 0


# -- the service itself ----------------------------------------------------------------

def test_a_refused_service_leaves_a_clean_session(app, make_user, make_thread):
    """Whoever calls a service (a view, the mail gateway, a job) finds nothing pending after
    a domain error, so a later commit cannot write half of the refused action."""
    from forum.moderation import services as moderation
    from forum.threads.services import ForumError

    thread = make_thread()
    moderator_id = make_user(role="moderator").id
    before = row_counts(app)
    with app.test_request_context("/nl/"):
        post = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        with pytest.raises(ForumError):
            moderation.edit_post(db.session.get(User, moderator_id), post, "Nieuwe tekst.", title="Te", reason="x")
        assert not (db.session.new or db.session.dirty or db.session.deleted)
        assert not db.session().in_transaction()
        db.session.commit()  # a careless caller: still nothing to write
    assert row_counts(app) == before


def test_unit_of_work_commits_on_success_and_rolls_back_and_reraises(app, make_user):
    user_id = make_user(name="Voor").id

    class Refused(Exception):
        pass

    with app.app_context():
        with pytest.raises(Refused):
            with unit_of_work():
                db.session.get(User, user_id).name = "Half"
                db.session.flush()  # written to the database, not committed
                raise Refused()
        assert db.session.get(User, user_id).name == "Voor"
        with unit_of_work():
            db.session.get(User, user_id).name = "Na"
        assert not db.session().in_transaction()
        # A commit that fails (here a taken e-mail address) is rolled back too.
        with pytest.raises(IntegrityError):
            with unit_of_work():
                db.session.get(User, user_id).name = "Weer half"
                twin = db.session.get(User, user_id)
                db.session.add(User(email=twin.email, name="Tweeling", organisation_id=twin.organisation_id))
        assert db.session.get(User, user_id).name == "Na"  # the session is usable again
    with app.app_context():
        assert db.session.get(User, user_id).name == "Na"


# -- views stay out of transactions ----------------------------------------------------

ROUTE = re.compile(r"^@\w+\.(?:route|get|post|put|patch|delete)\(", re.M)
TRANSACTION_CALL = re.compile(r"\b(?:session\.(?:rollback|commit)\(|unit_of_work\b|end_read\b)")


def view_modules():
    """Every module that declares a URL rule."""
    files = [p for area in ("forum", "auth", "search") for p in (ROOT / area).rglob("*.py")]
    found = [p for p in files if ROUTE.search(p.read_text(encoding="utf-8"))]
    return sorted(found)


def test_views_never_commit_or_roll_back():
    modules = view_modules()
    names = {str(p.relative_to(ROOT)) for p in modules}
    # The scan must see the views it is about, or it proves nothing.
    assert {"forum/admin/views.py", "forum/moderation/views.py", "forum/threads/views.py",
            "forum/privacy/views.py", "forum/attachments/views.py", "auth/views.py"} <= names
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
                 for p in modules for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if TRANSACTION_CALL.search(line) and not line.lstrip().startswith("#")]
    assert offenders == [], "views call services; services own the transaction:\n" + "\n".join(offenders)
