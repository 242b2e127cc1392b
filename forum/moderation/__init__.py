"""Moderation: flags, the review queue, pre-moderation, sanctions and the audit log."""
from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/<lang>/mod")


def init_app(app):
    from . import posting, services, views  # noqa: F401  (views registers the routes on bp)

    posting.install(app)
    # The header's "Review" counter (forum.templating.moderation_counts) calls this.
    app.extensions["agora_review_counter"] = services.review_count
    app.jinja_env.globals["moderation_notice_text"] = services.notice_text
    app.register_blueprint(bp)
