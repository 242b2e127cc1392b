"""Membership badges ("Aangesloten bij" / "Membre de"), verification pages and the member directory."""
from pathlib import Path

import click

from . import events  # noqa: F401  (registers the badge_version bump on Organisation)


def init_app(app):
    from .cache import BadgeCache
    from .views import bp

    app.config.setdefault("BADGE_MAX_AGE", 600)
    app.config.setdefault("BADGE_CACHE_PATH", str(Path(app.instance_path) / "badge-cache"))
    app.config.setdefault("BADGE_MEMORY_CACHE_BYTES", 32 * 1024 * 1024)
    app.extensions["agora_badge_cache"] = BadgeCache(
        app.config["BADGE_CACHE_PATH"], app.config["BADGE_MEMORY_CACHE_BYTES"]
    )
    app.register_blueprint(bp)
    from . import sessions

    sessions.install(app, {"badges.svg", "badges.png"})
    from .serving import BadgeFastPath

    app.config.setdefault("BADGE_FAST_PATH", True)
    app.wsgi_app = BadgeFastPath(app.wsgi_app, app)

    @app.cli.group("badges")
    def badges_cli():
        """Membership badges."""

    @badges_cli.command("prune-cache")
    @click.option("--days", default=30, show_default=True, help="Remove files written longer ago than this.")
    def prune_cache(days):
        """Remove old rendered badge files from the instance folder."""
        removed = app.extensions["agora_badge_cache"].prune(days)
        click.echo(f"removed {removed} file(s)")
