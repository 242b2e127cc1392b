"""Moderation: flags, the review queue, pre-moderation, sanctions and the audit log."""
from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/<lang>/mod")


def init_app(app):
    from .. import signals
    from . import abuse, forum_audit, notices, views  # noqa: F401  (views registers the routes on bp)

    abuse.install(app)
    signals.post_edited.connect(forum_audit.record_edit)
    signals.post_deleted.connect(forum_audit.record_delete)
    app.after_request(forum_audit.deliver_pending)
    app.jinja_env.globals["moderation_notice_text"] = notices.notice_text
    app.register_blueprint(bp)
