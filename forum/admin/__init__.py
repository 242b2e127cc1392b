"""Administration: themes, roles, organisations, organisation changes and the overview page."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/<lang>/admin")
# The member's side of an organisation change lives with the other settings pages.
org_change_bp = Blueprint("org_change", __name__, url_prefix="/<lang>/settings")


@bp.after_request
@org_change_bp.after_request
def _no_store(response):
    # Lists of people, e-mail addresses and account pages: never kept by browsers or proxies.
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    from . import views  # noqa: F401  (registers the routes on the blueprints)

    app.register_blueprint(bp)
    app.register_blueprint(org_change_bp)
