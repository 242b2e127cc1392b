"""Full-text search in Dutch and French, behind a small backend interface."""
import logging

from . import models  # noqa: F401  (search_document: create_all and Alembic must see it)

log = logging.getLogger(__name__)


def init_app(app):
    """Register the search page, the JSON endpoint, the after-request drain and the CLI."""
    from flask import g

    from .cli import search_cli
    from .views import api_bp, bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.cli.add_command(search_cli)

    @app.after_request
    def drain_search_outbox(response):
        # Runs after the view has committed. Whatever it left uncommitted is abandoned
        # (teardown would roll it back anyway); the drain must never fail the request.
        if not g.pop("search_outbox_dirty", False) or not app.config["SEARCH_SYNC_AFTER_REQUEST"]:
            return response
        from forum.extensions import db

        from .indexing import drain, drained_recently

        if drained_recently(app.config.get("SEARCH_DRAIN_INTERVAL", 0)):
            return response  # the next writing request or the job process takes the rows
        try:
            db.session.rollback()
            drain(max_rows=200, wait=app.config.get("SEARCH_DRAIN_WAIT", 0), rounds=2)
        except Exception:
            log.exception("search outbox drain failed; rows stay for the next drain")
            try:
                db.session.rollback()
            except Exception:
                log.exception("rollback after failed drain")
        return response
