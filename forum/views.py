"""Site-wide pages: the language redirect, home, about, privacy and terms."""
from flask import Blueprint, redirect, render_template, url_for

from .i18n import best_language

bp = Blueprint("main", __name__)


@bp.get("/")
def root():
    """Send a visitor to their language: user preference, cookie, Accept-Language, Dutch."""
    return redirect(url_for("main.home", lang=best_language()))


@bp.get("/<lang>/")
def home():
    """Latest activity, with an introduction for visitors who are not signed in."""
    from flask_login import current_user

    from .models import Thread
    from .threads import queries

    visible = queries.visible_threads(current_user)
    threads = queries.list_page(visible, queries.ListArgs(), per_page=15).threads[:15]
    newest = queries.ListArgs(sort="newest")
    unanswered = queries.top(queries.ordered(
        visible.where(Thread.kind == "question", Thread.accepted_post_id.is_(None), Thread.post_count <= 1),
        newest), 5)
    vacancies = queries.top(queries.ordered(visible.where(queries.open_vacancy_clause()), newest), 5)
    from .events.queries import agenda

    return render_template(
        "home.html", threads=threads, unread_ids=queries.unread_ids(current_user, threads),
        unanswered=unanswered, vacancies=vacancies, agenda=agenda(current_user),
    )


@bp.get("/<lang>/about")
def about():
    return render_template("pages/about.html")


@bp.get("/<lang>/privacy")
def privacy():
    return render_template("pages/privacy.html")


@bp.get("/<lang>/terms")
def terms():
    return render_template("pages/terms.html")


@bp.get("/healthz")
def healthz():
    """For load balancers and the test harness: the app answers and reaches its database."""
    from .extensions import db

    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
