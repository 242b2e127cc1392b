"""Privacy (GDPR/AVG): download your data, delete your account."""
from flask import Blueprint

bp = Blueprint("privacy", __name__, url_prefix="/<lang>/settings")


@bp.after_request
def _no_store(response):
    # Personal data (and the ZIP of it) must not be kept by browsers or proxies.
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    from . import views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
