"""Serving attachments with the reader's permissions, and removing them.

Files are served by the app (never by a static route): every request checks that the
reader may read the post, exactly as the thread page does, so guessing an id gets
nothing. Everything but images is a download (Content-Disposition: attachment), nothing
is sniffed, and a sandboxing CSP covers a file that is opened directly anyway.
"""
import unicodedata
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from ..extensions import db
from ..permissions import can_moderate, can_read_attachment, can_remove_attachment, member_required
from . import storage
from .models import Attachment
from .services import AttachmentRefused, remove_attachment

bp = Blueprint("attachments", __name__, static_folder="static", static_url_path="/attachments-static")
lang_bp = Blueprint("attachments_pages", __name__, url_prefix="/<lang>")

FILE_CSP = "default-src 'none'; sandbox"


class RemoveAttachmentForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the member sees it)"), validators=[Optional(), Length(max=1000)])


def _attachment_or_404(attachment_id):
    return db.session.get(Attachment, attachment_id) or abort(404)


def _check_read(attachment):
    """404 unless the reader may have the file: an attachment in a members-only theme, on a
    hidden post or unknown answers alike (no post id in a sign-in link, nothing to probe)."""
    if not can_read_attachment(current_user, attachment):
        abort(404)


def content_disposition(disposition, filename):
    """`attachment; filename="ascii"; filename*=UTF-8''pct-encoded` (RFC 6266 / RFC 5987)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = "".join(c if c.isalnum() or c in " ._-()" else "_" for c in ascii_name).strip() or "file"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _serve(attachment, sha, mimetype, inline, filename):
    try:
        path = storage.path_for(sha)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    # Werkzeug adds "; charset=utf-8" to text/* types (our TXT and CSV are checked UTF-8).
    response = send_file(path, mimetype=mimetype, conditional=True, etag=sha, max_age=None,
                         last_modified=attachment.created_at)
    response.headers["Content-Disposition"] = content_disposition("inline" if inline else "attachment", filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    # Private and revalidated every time: access is checked per request (a post can be hidden).
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response


@bp.route("/attachments/<int:attachment_id>/<path:name>", methods=["GET", "HEAD"])
def download(attachment_id, name):
    """The file itself; the name in the address is decoration, the id counts."""
    attachment = _attachment_or_404(attachment_id)
    _check_read(attachment)
    return _serve(attachment, attachment.sha256, attachment.mime, attachment.is_image, attachment.filename)


@bp.route("/attachments/<int:attachment_id>/thumbnail", methods=["GET", "HEAD"])
def thumbnail(attachment_id):
    attachment = _attachment_or_404(attachment_id)
    if not attachment.is_image:
        abort(404)
    _check_read(attachment)
    return _serve(attachment, attachment.thumb_sha256 or attachment.sha256, attachment.mime, True,
                  attachment.filename)


@lang_bp.route("/attachments/<int:attachment_id>/remove", methods=["GET", "POST"])
@member_required
def remove(attachment_id):
    """Confirm and remove: moderators give a reason (audit log); authors just confirm."""
    attachment = _attachment_or_404(attachment_id)
    if not can_read_attachment(current_user, attachment) and not can_moderate(current_user):
        abort(404)
    if not can_remove_attachment(current_user, attachment):
        abort(403)
    post = attachment.post
    form = RemoveAttachmentForm()
    if form.validate_on_submit():
        try:
            remove_attachment(current_user._get_current_object(), attachment, reason=form.reason.data or "")
        except AttachmentRefused:
            abort(403)
        flash(_("The attachment %(name)s has been removed.", name=attachment.filename), "success")
        return redirect(url_for("threads.post", post_id=post.id))
    status = 400 if request.method == "POST" else 200
    moderating = can_moderate(current_user) and current_user.id != post.author_id
    return render_template("attachments/remove.html", attachment=attachment, post=post, thread=post.thread,
                           form=form, moderating=moderating), status
