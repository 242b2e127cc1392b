"""The `forum` command group: demo content, default themes (import and export attach to it)."""
import click
from flask.cli import AppGroup

forum_cli = AppGroup("forum", help="Forum content: demo, default themes, import and export.")


@forum_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Only load when the database has no organisations.")
def demo(if_empty):
    """Load realistic demo content (organisations, members, themes, threads)."""
    from .demo_content import load_demo

    load_demo(if_empty=if_empty)


@forum_cli.command("init-themes")
def init_themes():
    """Create the default themes that are missing (existing themes are left alone)."""
    from .admin.themes import ensure_default_themes

    added = ensure_default_themes()
    click.echo(f"{added} theme(s) added.")


def init_app(app):
    app.cli.add_command(forum_cli)
