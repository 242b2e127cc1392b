"""Meetings and events: assemblies, regional consultations, trainings and webinars, with registration."""
import click
from flask import Blueprint

from . import models  # noqa: F401  (the tables, for create_all and migrations)

bp = Blueprint("events", __name__, url_prefix="/<lang>")


def init_app(app):
    from . import views  # noqa: F401  (registers the routes on bp)
    from .policy import TEMPLATE_POLICY

    app.register_blueprint(bp)
    app.jinja_env.globals.update(TEMPLATE_POLICY)

    @app.cli.group("events")
    def events_cli():
        """Meetings and events."""

    @events_cli.command("remind")
    def remind():
        """Mail the reminders for events starting within a day (the job process does this too)."""
        from ..transactions import unit_of_work
        from .reminders import send_reminders

        with unit_of_work():
            sent = send_reminders()
        click.echo(f"{sent} reminder(s) sent")
