"""Thread pages (being built)."""
from flask import abort, redirect, url_for

from ..extensions import db
from ..models import Post
from . import bp, root_bp


@bp.get("/t/<int:thread_id>")
@bp.get("/t/<int:thread_id>/<slug>")
def thread(thread_id, slug=None):
    abort(404)


@bp.get("/p/<int:post_id>")
def post(post_id):
    p = db.session.get(Post, post_id) or abort(404)
    return redirect(url_for("threads.thread", thread_id=p.thread_id))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    abort(404)


@root_bp.get("/members/<int:user_id>")
def member_redirect(user_id):
    abort(404)


def init_app(app):
    pass
