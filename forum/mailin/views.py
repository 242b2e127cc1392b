"""The member's mail settings and the moderators' incoming-mail log."""
import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SubmitField

from auth.views import no_store

from ..extensions import db
from ..models import Theme
from ..permissions import can_read_theme, can_start_thread, moderator_required
from . import addresses, bp, services
from .models import INCOMING_STATUSES, IncomingMail
from .receive import reason_text

LOG_PAGE = 50


class MailSettingsForm(FlaskForm):
    switch = SubmitField(_l("Switch"))
    revoke = SubmitField(_l("Get new addresses"))


def breakable(address):
    """An address that may wrap after its + and dots (a phone screen is narrower than it)."""
    return Markup("<wbr>").join(escape(part) for part in re.split(r"(?<=[+.])|(?=@)", address))


def status_labels():
    return {"received": _("received, not yet decided"), "posted": _("posted"), "held": _("held for review"),
            "refused": _("refused"), "ignored": _("ignored"), "failed": _("failed, kept for a retry")}


def _user():
    return current_user._get_current_object()


@bp.route("/settings/mail", methods=["GET", "POST"])
@login_required
@no_store
def settings():
    user = _user()
    form = MailSettingsForm()
    if form.validate_on_submit():
        if form.revoke.data:
            services.revoke_addresses(user)
            flash(_("You have new reply addresses. Replies to older mails are no longer posted."), "success")
        else:
            services.set_enabled(user, not addresses.replies_enabled(user.id))
            flash(_("Your settings are saved."), "success")
        return redirect(url_for("mailin.settings"))
    themes = []
    if addresses.enabled() and addresses.replies_enabled(user.id):
        for theme in db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id)):
            if can_read_theme(user, theme) and can_start_thread(user, theme):
                themes.append((theme, breakable(addresses.theme_address(user, theme))))
    return render_template("mailin/settings.html", form=form, themes=themes, tab="mail",
                           mail_on=addresses.enabled(), replies=addresses.replies_enabled(user.id)
                           ), 400 if request.method == "POST" else 200


@bp.get("/mod/mail")
@moderator_required
def log():
    status = request.args.get("status", "")
    query = db.select(IncomingMail).order_by(IncomingMail.id.desc())
    if status in INCOMING_STATUSES:
        query = query.where(IncomingMail.status == status)
    try:
        page = min(max(int(request.args.get("page", 1)), 1), 100_000)
    except ValueError:
        page = 1
    pagination = db.paginate(query, page=page, per_page=LOG_PAGE, error_out=False, count=True)
    return render_template("mailin/log.html", mails=list(pagination.items), pagination=pagination,
                           status=status, statuses=INCOMING_STATUSES, reason_text=reason_text,
                           labels=status_labels())


@bp.get("/mod/mail/<int:mail_id>/raw")
@moderator_required
def raw(mail_id):
    row = db.session.get(IncomingMail, mail_id) or abort(404)
    if row.raw is None:
        abort(404)
    # Plain text, downloaded: never rendered as HTML in the staff member's browser.
    response = Response(row.raw, mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="incoming-{row.id}.eml"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
