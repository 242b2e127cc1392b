"""Account commands: `flask --app wsgi users create-admin`."""
import click
from flask.cli import AppGroup

from forum.extensions import db
from forum.models import User, utcnow

from .passwords import password_problem
from .services import find_user_by_email, normalise_email

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email, name, password):
    """Create an active admin account (for a new site)."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise click.ClickException(f"An account with {email} already exists.")
    # The same rules as the web forms: the first account is the most valuable one.
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise click.ClickException(str(problem))
    user = User(email=email, name=name.strip(), role="admin", status="active",
                confirmed_at=utcnow(), approved_at=utcnow(), terms_accepted_at=utcnow())
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Admin {user.email} created.")


def init_app(app):
    app.cli.add_command(users_cli)
