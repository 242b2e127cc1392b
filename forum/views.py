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
    return render_template("home.html")


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
