"""Account pages: sign in and out (the account lifecycle is added here too)."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from forum.ratelimit import RateLimited

from . import services
from .forms import LoginForm

bp = Blueprint("auth", __name__, url_prefix="/<lang>")


def safe_next(target):
    """Only redirect to a path on this site (no scheme, no host, no '//' or backslash tricks)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except RateLimited as exc:
            form.email.errors.append(_("Too many sign-in attempts. Wait a few minutes and try again."))
            status = 429
            retry = exc.retry_after
        except services.AuthError as exc:
            messages = {
                "invalid": _("This combination of e-mail address and password is not known."),
                "unconfirmed": _("Confirm your e-mail address first: follow the link in the mail we sent you."),
                "pending": _("Your account is waiting for approval by a moderator. You will receive a mail."),
                "suspended": _("Your account has been suspended."),
            }
            form.password.errors.append(messages[exc.code])
        else:
            # A new session on sign-in: nothing from before (fixation) carries over.
            session.clear()
            login_user(user, remember=form.remember.data)
            flash(_("Welcome back, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data) or url_for("main.home", lang=user.locale))
    response = render_template("auth/login.html", form=form), status
    if status == 429:
        response = (response[0], 429, {"Retry-After": str(retry)})
    return response


@bp.post("/logout")
@login_required
def logout():
    services.sign_out_everywhere(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.home"))


@bp.get("/register")
def register():
    return render_template("auth/register_closed.html")


@bp.get("/settings")
@login_required
def settings():
    return render_template("auth/settings.html")
