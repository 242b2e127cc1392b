"""The advice register: what councils advised their municipality, and what came of it."""
from flask import Blueprint

bp = Blueprint("advice", __name__, url_prefix="/<lang>")


def init_app(app):
    from . import views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
    views.init_app(app)
