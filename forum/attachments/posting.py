"""The glue the posting views (forum/threads/views.py) use: files from a form, problems
next to the file field, and attaching after the post is saved."""
from flask import flash, request
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import Post
from ..transactions import end_read
from . import services
from .services import AttachmentRefused


def uploads_from(form, post=None):
    """Checked files of the form's `attachments` field ([] when none). Raises
    AttachmentRefused. Call it before the view writes anything: it ends the request's
    transaction first, because re-encoding images takes a moment and must not hold
    SQLite's write lock meanwhile."""
    field = getattr(form, "attachments", None)
    files = [f for f in (field.data if field is not None else None) or () if f]
    if not files:
        return []
    existing = 0
    if post is not None:
        removing = {int(v) for v in request.form.getlist("remove_attachment") if v.isdigit()}
        existing = len([a for a in post.attachments if a.id not in removing])
    user = current_user._get_current_object()
    end_read()
    return services.prepare_uploads(user, services.read_uploads(files), existing=existing)


def show_refusal(form, exc):
    """Put the reasons next to the file field; the text fields keep what was typed."""
    field = getattr(form, "attachments", None) or form.body
    field.errors = list(field.errors) + exc.messages + [
        _("Your text is still here; choose the files you want to attach again.")]


def attach_after(user, target, prepared):
    """Attach checked files to a just-saved post (or a thread's opening post)."""
    if not prepared:
        return
    post = target if isinstance(target, Post) else db.session.scalar(
        db.select(Post).where(Post.thread_id == target.id, Post.number == 1))
    try:
        services.attach_files(user, post, prepared)
    except (OSError, AttachmentRefused):
        # The post is saved; only the files failed (disk full, rights changed meanwhile).
        # attach_files is a unit of work: it has rolled its rows back.
        flash(_("Your message has been saved, but the files could not be stored. Edit the message to attach them again."), "error")


def remove_checked(user, post):
    """Remove the attachments the editor ticked (names remove_attachment) on the edit page."""
    ids = {int(v) for v in request.form.getlist("remove_attachment") if v.isdigit()}
    removed = 0
    for attachment in list(post.attachments):
        if attachment.id in ids:
            services.remove_attachment(user, attachment)
            removed += 1
    return removed
