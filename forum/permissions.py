"""Authorisation in one place: used by views, templates and the API alike."""
from datetime import timedelta
from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from .models import utcnow


def is_member(user):
    """Signed in, confirmed and approved, not suspended: may read members-only content."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.status == "active"
        and user.deleted_at is None
    )


def can_moderate(user):
    return is_member(user) and user.is_moderator


def can_administer(user):
    return is_member(user) and user.is_admin


def can_read_theme(user, theme):
    return theme.visibility == "public" or is_member(user)


def can_post(user):
    """May write at all (silenced members can read but not post)."""
    return is_member(user) and not user.is_silenced


def can_start_thread(user, theme, kind=None):
    if not can_post(user):
        return False
    if kind == "announcement" or theme.post_policy == "moderators":
        return user.is_moderator
    if kind == "advice":
        return can_post_advice(user)
    return True


COUNCIL_KINDS = ("adviesraad", "clientenraad")


def can_post_advice(user):
    """An advice is posted in the name of the member's own council (or by a moderator)."""
    if not can_post(user):
        return False
    org = user.organisation
    return user.is_moderator or (org is not None and org.kind in COUNCIL_KINDS)


def can_record_answer(user, thread):
    """The municipality's answer: members of the council that gave the advice, moderators."""
    if thread.kind != "advice" or not can_post(user) or not can_read_thread(user, thread):
        return False
    return user.is_moderator or (
        thread.organisation_id is not None and user.organisation_id == thread.organisation_id)


def can_edit_advice(user, thread):
    """Correct an advice's register fields after posting (each change kept in its history):
    the council's members (the advice is the council's, its members change over the years),
    the member who posted it, and moderators. Other members discuss it in the thread."""
    if can_record_answer(user, thread):
        return True
    return thread.kind == "advice" and can_post(user) and can_read_thread(user, thread) and _is_author(user, thread.author_id)


def can_read_thread(user, thread):
    if thread.status == "deleted" and not can_moderate(user):
        return False
    if thread.status == "hidden" and not (can_moderate(user) or _is_author(user, thread.author_id)):
        return False
    return can_read_theme(user, thread.theme)


def every_member_reads(thread):
    """Whether can_read_thread holds for every member (notifications skip loading each one):
    keep it in step with can_read_thread and can_read_theme above."""
    return thread.status not in ("deleted", "hidden")


def can_reply(user, thread):
    if not can_post(user) or not can_read_thread(user, thread):
        return False
    return not thread.locked or user.is_moderator


def can_see_post(user, post):
    """Held posts are seen by their author and moderators; hidden ones show a notice instead."""
    if post.status == "visible":
        return True
    if post.status in ("held", "hidden"):
        return can_moderate(user) or _is_author(user, post.author_id)
    return can_moderate(user)


def can_edit_post(user, post):
    if not can_post(user):
        return False
    if user.is_moderator:
        return True
    if not _is_author(user, post.author_id) or post.status in ("hidden", "deleted"):
        return False
    if post.thread.locked:
        return False
    window = current_app.config["EDIT_WINDOW_SECONDS"]
    return post.created_at + timedelta(seconds=window) > utcnow()


def can_delete_post(user, post):
    return can_moderate(user) or (can_post(user) and _is_author(user, post.author_id) and post.status != "deleted")


def can_see_history(user, post):
    return can_moderate(user) or (is_member(user) and _is_author(user, post.author_id))


def can_accept_answer(user, thread):
    return thread.kind == "question" and (
        can_moderate(user) or (can_post(user) and _is_author(user, thread.author_id))
    )


def can_flag(user, post):
    return is_member(user) and not _is_author(user, post.author_id)


def can_sanction(actor, member):
    """Moderators take measures against members; only admins against moderators; nobody
    against themselves or an admin."""
    if not can_moderate(actor) or member is None or actor.id == member.id or member.is_admin:
        return False
    return member.role == "member" or actor.is_admin


def can_read_attachment(user, attachment):
    """An attachment is readable exactly when its post is: the thread and the post itself."""
    post = attachment.post
    return can_read_thread(user, post.thread) and can_see_post(user, post)


def can_attach(user, post):
    """Add files to a post: its author while they may edit it, or a moderator."""
    return can_edit_post(user, post) and (_is_author(user, post.author_id) or can_moderate(user))


def can_remove_attachment(user, attachment):
    """Moderators always; the author while they may still edit the post."""
    return can_moderate(user) or can_attach(user, attachment.post)


def _is_author(user, author_id):
    return bool(getattr(user, "is_authenticated", False) and author_id is not None and user.id == author_id)


def _deny():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


def member_required(view):
    """Signed in as an approved member."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_member(current_user):
            return _deny()
        return view(*args, **kwargs)
    return wrapper


def moderator_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not can_moderate(current_user):
            return _deny()
        return view(*args, **kwargs)
    return wrapper


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not can_administer(current_user):
            return _deny()
        return view(*args, **kwargs)
    return wrapper


TEMPLATE_POLICY = {
    name: globals()[name]
    for name in (
        "is_member", "can_moderate", "can_administer", "can_read_theme", "can_post",
        "can_start_thread", "can_read_thread", "can_reply", "can_see_post", "can_edit_post",
        "can_delete_post", "can_see_history", "can_accept_answer", "can_flag", "can_sanction",
        "can_read_attachment", "can_attach", "can_remove_attachment",
    )
}
