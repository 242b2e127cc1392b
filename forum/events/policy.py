"""Who may see, create, manage and register for events (the events part of forum/permissions.py)."""
from ..models import utcnow
from ..permissions import can_moderate, can_post, is_member


def _organises(user, event):
    return (is_member(user) and event.organisation_id is not None
            and user.organisation_id == event.organisation_id)


def member_province(user):
    """The province of the member's council ('' without one): what province audiences use."""
    org = getattr(user, "organisation", None) if is_member(user) else None
    return (org.province or "") if org is not None else ""


def can_see_event(user, event):
    """Public events are for everyone, members-only events for members, a province event for
    members of councils in those provinces. A held event (waiting for review) and a province
    event are also seen by its organisers and the moderators; to anyone else they are a 404."""
    if can_moderate(user) or _organises(user, event):
        return True
    if event.held:
        return False
    if event.audience == "public":
        return True
    if event.audience == "provinces":
        return member_province(user) in event.province_codes
    return is_member(user)


def can_create_event(user, organisation_id=None):
    """Moderators and admins for the umbrella (None); members for their own council."""
    if organisation_id is None:
        return can_moderate(user) and can_post(user)
    return can_post(user) and (user.is_moderator or user.organisation_id == organisation_id)


def can_create_any_event(user):
    return can_post(user) and (user.is_moderator or user.organisation_id is not None)


def can_manage_event(user, event):
    """Edit, cancel and see every participant: moderators, and members of the organising council."""
    if not can_post(user):
        return False
    if user.is_moderator:
        return True
    return event.organisation_id is not None and user.organisation_id == event.organisation_id


def registration_open(event, now=None):
    now = now or utcnow()
    # A series (one registration for every meeting) stays open until its last meeting starts.
    if event.status != "scheduled" or event.held or event.last_starts_at <= now:
        return False
    return not (event.registration_deadline and event.registration_deadline <= now)


def can_register(user, event):
    return is_member(user) and can_see_event(user, event) and registration_open(event)


def can_see_online_link(user, event, registration=None):
    """A private link only for people going (and the organisers)."""
    if not event.online_url or not can_see_event(user, event):
        return False
    if not event.online_private:
        return True
    return can_manage_event(user, event) or bool(registration and registration.status == "going")


TEMPLATE_POLICY = {
    name: globals()[name]
    for name in ("can_see_event", "can_create_event", "can_create_any_event", "can_manage_event",
                 "registration_open", "can_register", "can_see_online_link")
}
