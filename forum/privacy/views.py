"""Privacy pages under settings: /<lang>/settings/export and /<lang>/settings/delete."""
from flask import flash, make_response, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from .. import ratelimit
from ..formtools import show_error
from ..models import utcnow
from . import bp, services
from .forms import DeleteAccountForm, ExportForm


def _user():
    return current_user._get_current_object()


@bp.get("/export")
@login_required
def export():
    return render_template("privacy/export.html", form=ExportForm(), tab="export")


@bp.post("/export")
@login_required
def export_download():
    form = ExportForm()
    if not form.validate_on_submit():
        return render_template("privacy/export.html", form=form, tab="export"), 400
    try:
        data = services.export_data(_user())
    except ratelimit.RateLimited as exc:
        form.form_errors.append(_("You downloaded your data several times in a short while. Wait an hour and try again."))
        response = make_response((render_template("privacy/export.html", form=form, tab="export"), 429))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    response = make_response(data)
    response.headers["Content-Type"] = "application/zip"
    filename = f"agora-{utcnow():%Y%m%d}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete():
    user = _user()
    form = DeleteAccountForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.delete_account(user, user, form.mode.data, password=form.password.data)
        except ratelimit.RateLimited:
            form.password.errors.append(_("Too many wrong passwords. Wait a while and try again."))
            status = 429
        except services.PrivacyError as exc:
            show_error(form, exc)
            status = 400
        else:
            logout_user()
            session.clear()
            flash(_("Your account has been deleted. Thank you for taking part in Agora."), "success")
            return redirect(url_for("main.home"))
    elif form.is_submitted():
        status = 400
    return render_template("privacy/delete.html", form=form, tab="delete"), status
