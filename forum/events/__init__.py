"""Meetings and events: assemblies, regional consultations, trainings and webinars, with registration."""
from flask import Blueprint

from . import models  # noqa: F401  (the tables, for create_all and migrations)

bp = Blueprint("events", __name__, url_prefix="/<lang>")


def init_app(app):
    from . import views  # noqa: F401  (registers the routes on bp)
    from .policy import TEMPLATE_POLICY

    app.register_blueprint(bp)
    app.jinja_env.globals.update(TEMPLATE_POLICY)
