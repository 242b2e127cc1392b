"""The member's security log (settings page); staff entries also go to the audit log."""
from flask import current_app, has_request_context, request

from forum.extensions import db
from forum.models import ModerationAction, SecurityEvent

# Shown on the settings page newest first; older rows stay for the audit.
SHOWN = 30


def record(user, kind, **details):
    """Add one event for `user` to the current transaction (the caller commits).

    For moderators and admins the same event goes to the moderation audit log: a stolen
    staff account shows up where the other staff look.
    """
    ip, agent = "", ""
    if has_request_context():
        ip = (request.remote_addr or "")[:45]
        agent = (request.user_agent.string or "")[:200]
    db.session.add(SecurityEvent(user_id=user.id, kind=kind, ip=ip, user_agent=agent, details=details))
    if user.is_moderator and current_app.config["STAFF_SECURITY_AUDIT"]:
        db.session.add(ModerationAction(actor_id=user.id, action=f"security_{kind}", target_type="user",
                                        target_id=user.id, details={**details, "ip": ip}))


def recent(user, limit=SHOWN):
    """The newest events of `user`."""
    return db.session.scalars(
        db.select(SecurityEvent).where(SecurityEvent.user_id == user.id)
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc()).limit(limit)
    ).all()
