"""Account pages: register, confirm, sign in and out, passwords, settings, approvals."""
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from forum.i18n import current_language
from forum.permissions import moderator_required
from forum.ratelimit import RateLimited

from . import devices, services
from .forms import (ApproveForm, option, ChangeEmailForm, ChangePasswordForm, EmailForm, FinishSignInForm, LoginForm,
                    ProfileForm, RegisterForm, RejectForm, ResendTokenForm, ResetPasswordForm)
from .tokens import TokenExpired, TokenInvalid

bp = Blueprint("auth", __name__, url_prefix="/<lang>")


def safe_next(target):
    """Only redirect to a path on this site (no scheme, no host, no '//' or backslash tricks)."""
    if not target:
        return None
    target = target.strip()
    # Browsers drop tabs and newlines inside URLs, turning '/\t/evil.com' into '//evil.com'.
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def no_store(view):
    """Pages with personal data or secrets in the URL must not be kept by browsers or proxies."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        return response
    return wrapper


def _rate_limited_page(form, field, message, exc, template, **context):
    field.errors = list(field.errors) + [message]
    response = make_response((render_template(template, form=form, **context), 429))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# --- sign in and out ------------------------------------------------------------------------

def _status_message(exc):
    user = exc.details.get("user")
    if exc.code == "suspended":
        reason = user.sanction_reason if user is not None else ""
        if user is not None and user.suspended_until:
            text = _("Your account has been suspended until %(date)s.",
                     date=format_datetime(user.suspended_until, "short"))
        else:
            text = _("Your account has been suspended.")
        if reason:
            text += " " + _("Reason: %(reason)s", reason=reason)
        return text
    return {
        "invalid": _("This combination of e-mail address and password is not known."),
        "unconfirmed": _("Confirm your e-mail address first: follow the link in the mail we sent you."),
        "pending": _("Your account is waiting for approval by a moderator. You will receive a mail."),
    }[exc.code]


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status, retry, show_resend = 200, None, False
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, known_device=devices.is_known,
                                         remember=form.remember.data, next_url=safe_next(form.next.data))
        except RateLimited as exc:
            form.email.errors.append(_("Too many sign-in attempts. Wait a few minutes and try again."))
            status, retry = 429, exc.retry_after
        except services.AuthError as exc:
            if exc.code == "check_mail":
                # The same page whether the password was right or wrong (see authenticate).
                return render_template("auth/signin_check_mail.html")
            form.password.errors.append(_status_message(exc))
            show_resend = exc.code == "unconfirmed"
        else:
            return _signed_in(user, form.remember.data, form.next.data)
    response = make_response((render_template("auth/login.html", form=form, show_resend=show_resend), status))
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


def _signed_in(user, remember, next_url):
    # A new session on sign-in: nothing from before (fixation) carries over.
    session.clear()
    login_user(user, remember=remember)
    flash(_("Welcome back, %(name)s.", name=user.name), "success")
    response = redirect(safe_next(next_url) or url_for("main.home", lang=user.locale))
    return devices.remember(response, user)


@bp.route("/login/link/<token>", methods=["GET", "POST"])
@no_store
def signin_link(token):
    """The mailed link that finishes a guarded sign-in; a button, because mail scanners
    open links (GET) and must not sign anyone in."""
    try:
        user, _remember, _next = services.read_signin_token(token)
    except TokenInvalid as exc:
        return _token_problem(exc, "signin")
    form = FinishSignInForm()
    if form.validate_on_submit():
        try:
            user, remember, next_url = services.sign_in_with_link(token)
        except TokenInvalid as exc:  # used in another tab meanwhile
            return _token_problem(exc, "signin")
        except services.AuthError as exc:
            flash(_status_message(exc), "error")
            return redirect(url_for("auth.login"))
        if current_user.is_authenticated:
            logout_user()
        return _signed_in(user, remember, next_url)
    return render_template("auth/signin_link.html", form=form, user=user)


@bp.post("/logout")
@login_required
def logout():
    services.sign_out_everywhere(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.home"))


# --- registration and confirmation ----------------------------------------------------------

def _organisation_choices(orgs, selected=None):
    """Options for the council list; a chosen council stays in it even when a search hides it."""
    if selected and selected not in {str(o.id) for o in orgs}:
        orgs = list(orgs) + [o for o in services.registrable_organisations() if str(o.id) == selected]
    choices = [option("", _("— Choose your council —"))]
    for org in orgs:
        # The municipality tells apart the many councils with a generic name.
        show_place = org.municipality and services.fold(org.municipality) not in services.fold(org.name)
        choices.append(option(str(org.id), f"{org.name} ({org.municipality})" if show_place else org.name))
    return choices


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("auth.settings"))
    org_q = (request.args.get("org_q") or "").strip()[:100]
    all_orgs = services.registrable_organisations()
    form = RegisterForm(organisation_ids=[o.id for o in all_orgs])
    if request.method == "GET":
        form.locale.data = current_language()
        form.org_country.data = "BE" if form.locale.data == "fr" else "NL"
    shown = services.registrable_organisations(org_q) if org_q else all_orgs
    form.organisation.choices = _organisation_choices(shown, form.organisation.data)
    status = 200
    if form.validate_on_submit():
        new_org = None
        if form.org_not_listed.data:
            new_org = {"name": form.org_name.data, "municipality": form.org_municipality.data,
                       "country": form.org_country.data}
        try:
            services.register_user(
                form.email.data, form.name.data, form.password.data, form.locale.data,
                organisation_id=None if new_org else int(form.organisation.data), new_organisation=new_org,
            )
        except RateLimited as exc:
            return _rate_limited_page(
                form, form.email, _("Too many registrations from your network. Wait an hour and try again."),
                exc, "auth/register.html", org_q=org_q, org_count=len(shown))
        except services.AuthError as exc:
            if exc.code == "org_exists":
                org = exc.details["organisation"]
                form.org_name.errors.append(_("This council is already in the list. Untick the box and choose it there."))
                form.org_not_listed.data = False
                form.organisation.data = str(org.id)
                form.organisation.choices = _organisation_choices(shown, str(org.id))
            else:
                form.organisation.errors.append(_("This council cannot be chosen. Choose another one from the list."))
            status = 400
        else:
            session["registered_email"] = services.normalise_email(form.email.data)
            return redirect(url_for("auth.registered"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/register.html", form=form, org_q=org_q, org_count=len(shown)), status


@bp.get("/register/check-your-mail")
def registered():
    # The same page for a new account and for an address that already had one.
    return render_template("auth/registered.html", email=session.get("registered_email"))


def _token_problem(exc, kind):
    """The translated 'link expired / not valid' page, with a way to get a new link."""
    expired = isinstance(exc, TokenExpired)
    context = {"expired": expired, "kind": kind, "email_form": EmailForm()}
    if expired and kind == "confirm":
        context["resend_form"] = ResendTokenForm(token=request.view_args.get("token", ""))
    return render_template("auth/link_problem.html", **context), 410 if expired else 400


@bp.get("/confirm/<token>")
def confirm(token):
    try:
        user = services.confirm_email(token)
    except TokenInvalid as exc:
        return _token_problem(exc, "confirm")
    return render_template("auth/confirmed.html", user=user)


@bp.route("/confirm/resend", methods=["GET", "POST"])
def resend_confirmation():
    form = EmailForm()
    token_form = ResendTokenForm()
    if request.method == "POST":
        sent_token = token_form.token.data if "token" in request.form else None
        if sent_token or form.validate_on_submit():
            try:
                services.resend_confirmation(email=None if sent_token else form.email.data, token=sent_token)
            except RateLimited as exc:
                return _rate_limited_page(form, form.email, _("You asked for a new link too often. Wait a few minutes and try again."),
                                          exc, "auth/resend.html")
            return render_template("auth/resend_sent.html")
        return render_template("auth/resend.html", form=form), 400
    return render_template("auth/resend.html", form=form)


# --- password reset -------------------------------------------------------------------------

@bp.route("/reset", methods=["GET", "POST"])
@no_store
def reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        try:
            services.request_password_reset(form.email.data)
        except RateLimited as exc:
            return _rate_limited_page(form, form.email, _("You asked for a new password too often. Wait a while and try again."),
                                      exc, "auth/reset_request.html")
        return render_template("auth/reset_sent.html")
    return render_template("auth/reset_request.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@no_store
def reset_password(token):
    try:
        user = services.user_for_reset_token(token)
    except TokenInvalid as exc:
        return _token_problem(exc, "reset")
    form = ResetPasswordForm()
    form.account = user
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except TokenInvalid as exc:  # used in another tab meanwhile
            return _token_problem(exc, "reset")
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash(_("Your new password is saved. Sign in with it now."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user), 400 if request.method == "POST" else 200


# --- settings -------------------------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
@login_required
@no_store
def settings():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user if request.method == "GET" else None)
    if form.validate_on_submit():
        changed_language = form.locale.data != current_language()
        services.update_profile(user, form.name.data, form.bio.data, form.locale.data, form.notify_mode.data)
        with force_locale(form.locale.data):
            flash(_("Your settings are saved."), "success")
        if changed_language:
            return redirect(url_for("auth.settings", lang=form.locale.data))
        return redirect(url_for("auth.settings"))
    return render_template("auth/settings.html", form=form, tab="profile"), 400 if request.method == "POST" else 200


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
@no_store
def settings_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    form.account = user
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.password.data)
        except RateLimited as exc:
            return _rate_limited_page(form, form.current_password, _("Too many wrong passwords. Wait a while and try again."),
                                      exc, "auth/settings_password.html", tab="password")
        except services.AuthError:
            form.current_password.errors.append(_("This is not your current password."))
        else:
            # Other devices are signed out by the new token; this one signs in again with it.
            remember = bool(request.cookies.get("remember_token"))
            session.clear()
            login_user(user, remember=remember)
            flash(_("Your new password is saved. You are signed out on your other devices."), "success")
            return redirect(url_for("auth.settings_password"))
    return render_template("auth/settings_password.html", form=form, tab="password"), status


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
@no_store
def settings_email():
    user = current_user._get_current_object()
    form = ChangeEmailForm()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            services.request_email_change(user, form.new_email.data, form.password.data)
        except RateLimited as exc:
            return _rate_limited_page(form, form.new_email, _("Too many attempts. Wait a while and try again."),
                                      exc, "auth/settings_email.html", tab="email")
        except services.AuthError as exc:
            if exc.code == "same_email":
                form.new_email.errors.append(_("This is already your e-mail address."))
            else:
                form.password.errors.append(_("This is not your current password."))
        else:
            flash(_("We sent a link to %(email)s. Your new address counts once you follow that link.",
                    email=services.normalise_email(form.new_email.data)), "success")
            return redirect(url_for("auth.settings_email"))
    return render_template("auth/settings_email.html", form=form, tab="email"), status


@bp.get("/settings/email/<token>")
@no_store
def confirm_email_change(token):
    try:
        services.confirm_email_change(token)
    except TokenInvalid as exc:
        return _token_problem(exc, "email")
    except services.AuthError:
        flash(_("This e-mail address is already used by another account. Your address has not been changed."), "error")
        return redirect(url_for("auth.settings_email") if current_user.is_authenticated else url_for("main.home"))
    flash(_("Your new e-mail address is confirmed. Use it from now on to sign in."), "success")
    return redirect(url_for("auth.settings_email") if current_user.is_authenticated else url_for("auth.login"))


# --- approvals (moderators) -----------------------------------------------------------------

def _approvals_page(status=200, errors=None, reasons=None):
    return render_template(
        "auth/approvals.html",
        people=services.pending_registrations(),
        unconfirmed=services.unconfirmed_registrations_count(),
        approve_form=ApproveForm(), reject_form=RejectForm(),
        errors=errors or {}, reasons=reasons or {},
    ), status


@bp.get("/mod/registrations")
@moderator_required
@no_store
def approvals():
    return _approvals_page()


@bp.post("/mod/registrations/<int:user_id>/approve")
@moderator_required
def approve(user_id):
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        user = services.approve_registration(current_user._get_current_object(), user_id,
                                             admit_organisation=form.admit_organisation.data)
    except services.AuthError:
        flash(_("This registration has already been handled by someone else."), "info")
    else:
        flash(_("%(name)s is now a member and has been told by mail.", name=user.name), "success")
    return redirect(url_for("auth.approvals"))


@bp.post("/mod/registrations/<int:user_id>/reject")
@moderator_required
def reject(user_id):
    form = RejectForm()
    if not form.validate_on_submit():
        message = form.reason.errors[0] if form.reason.errors else _("Give a reason: the person receives it by mail.")
        return _approvals_page(400, errors={user_id: message}, reasons={user_id: form.reason.data or ""})
    try:
        services.reject_registration(current_user._get_current_object(), user_id, form.reason.data)
    except services.AuthError:
        flash(_("This registration has already been handled by someone else."), "info")
    else:
        flash(_("The registration has been refused and the person has been told by mail."), "success")
    return redirect(url_for("auth.approvals"))
