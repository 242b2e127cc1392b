"""Account commands: `flask --app wsgi users create-admin`."""
import click
from flask.cli import AppGroup

from forum.extensions import db
from forum.models import User, utcnow

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email, name, password):
    """Create an active admin account (for a new site)."""
    user = User(email=email.strip().lower(), name=name, role="admin", status="active",
                confirmed_at=utcnow(), approved_at=utcnow(), terms_accepted_at=utcnow())
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Admin {user.email} created.")


def init_app(app):
    app.cli.add_command(users_cli)
