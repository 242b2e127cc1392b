"""The heart of the forum: themes, threads, posts, thanks, watching and notifications."""
from flask import Blueprint

bp = Blueprint("threads", __name__, url_prefix="/<lang>")
# Language-neutral addresses used inside stored post HTML (mention links).
root_bp = Blueprint("threads_root", __name__)


def init_app(app):
    from . import views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
    app.register_blueprint(root_bp)
    views.init_app(app)
