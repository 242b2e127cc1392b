"""Account pages: register, confirm, sign in and out, passwords, settings, approvals."""
import time
from functools import wraps
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, jsonify, make_response, redirect, render_template, request,
                   session, url_for)
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from forum.extensions import db
from forum.i18n import current_language
from forum.models import User
from forum.permissions import admin_required, moderator_required
from forum.ratelimit import RateLimited

from . import devices, links, passkeys, second_factor, securitylog, services
from .forms import (ApproveForm, option, ChangeEmailForm, ChangePasswordForm, CodeForm, EmailForm, FinishSignInForm,
                    LoginForm, PasskeyNameForm, PasswordOffForm, ProfileForm, RegisterForm, RejectForm, RemovePasskeyForm,
                    ResendTokenForm, ResetPasswordForm, ResetSecondFactorForm, StartTotpForm, rename_passkey_form)
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


def _signed_in(user, remember, next_url, method="password"):
    """The first factor (password or mailed link) is right: ask the code, or finish."""
    if second_factor.has_totp(user):
        # Who passed the first step rides in the (signed) session, tied to the account's
        # session token and a time, so it is no use after a sign-out or ten minutes.
        session.clear()
        session["second_factor"] = {"uid": user.id, "st": user.session_token, "r": bool(remember),
                                    "n": next_url or "", "m": method, "at": int(time.time())}
        return redirect(url_for("auth.login_code"))
    return _finish_sign_in(user, remember, next_url, method)


def _finish_sign_in(user, remember, next_url, method, factor=None, as_json=False):
    services.record_sign_in(user, method, second_factor=factor, new_device=not devices.is_known(user))
    # A new session on sign-in: nothing from before (fixation) carries over.
    session.clear()
    login_user(user, remember=remember)
    if factor:
        session["factor_at"] = int(time.time())
    flash(_("Welcome back, %(name)s.", name=user.name), "success")
    target = safe_next(next_url) or url_for("main.home", lang=user.locale)
    # A passkey's answer comes by fetch(): the page script goes where the JSON says.
    response = jsonify(redirect=target) if as_json else redirect(target)
    return devices.remember(response, user)


def _pending_second_factor():
    """The account waiting for its code in this session, or None."""
    pending = session.get("second_factor")
    if not isinstance(pending, dict) or not isinstance(pending.get("uid"), int):
        return None
    if time.time() - pending.get("at", 0) > current_app.config["SECOND_FACTOR_PENDING_MAX_AGE"]:
        return None
    user = db.session.get(User, pending["uid"])
    if user is None or user.deleted_at is not None or user.session_token != pending.get("st"):
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
@no_store
def login_code():
    """Second step of signing in: the authenticator app's code or a recovery code."""
    user = _pending_second_factor()
    if user is None:
        session.pop("second_factor", None)
        flash(_("Sign in again: the time for the code has run out."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            method = second_factor.check_code(user, form.code.data)
        except RateLimited as exc:
            return _rate_limited_page(form, form.code, _("Too many wrong codes. Wait a few minutes and try again."),
                                      exc, "auth/login_code.html")
        except services.AuthError:
            form.code.errors.append(_("This code is not right, or was used already. Try the next code from your app."))
        else:
            pending = session["second_factor"]
            return _finish_sign_in(user, pending.get("r"), pending.get("n"), pending.get("m", "password"), method)
    return render_template("auth/login_code.html", form=form,
                           offer_passkey=passkeys.available() and passkeys.has_passkey(user)), status


@bp.route("/login/link", methods=["GET", "POST"])
@no_store
def signin_link_request():
    """'Send me a sign-in link': for members who forgot their password or never had one."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = EmailForm()
    if form.validate_on_submit():
        nonce = links.browser_nonce()
        try:
            links.request_link(form.email.data, nonce)
        except RateLimited as exc:
            return _rate_limited_page(form, form.email, _("You asked for a sign-in link too often. Wait a while and try again."),
                                      exc, "auth/signin_link_request.html")
        response = make_response(render_template("auth/signin_link_sent.html"))
        config = current_app.config
        response.set_cookie(links.NONCE_COOKIE, nonce, max_age=config["LINK_MAX_AGE"], httponly=True,
                            samesite="Lax", secure=config.get("SESSION_COOKIE_SECURE", False), path="/")
        return response
    return render_template("auth/signin_link_request.html", form=form), 400 if request.method == "POST" else 200


def _requested_link(token):
    """A link asked for on the sign-in page (auth/links.py): opened page and button."""
    nonce = request.cookies.get(links.NONCE_COOKIE, "")
    try:
        link = links.find_link(token, nonce)
    except TokenInvalid as exc:
        return _token_problem(exc, "signin_request")
    except services.AuthError:
        return render_template("auth/signin_link_other_browser.html"), 403
    form = FinishSignInForm()
    if form.validate_on_submit():
        try:
            user = links.sign_in_with_requested_link(token, nonce)
        except TokenInvalid as exc:  # used in another tab meanwhile
            return _token_problem(exc, "signin_request")
        except services.AuthError as exc:
            flash(_status_message(exc), "error")
            return redirect(url_for("auth.login"))
        if current_user.is_authenticated:
            logout_user()
        response = _signed_in(user, False, "", "link")
        response.delete_cookie(links.NONCE_COOKIE, path="/")
        return response
    return render_template("auth/signin_link.html", form=form, user=db.session.get(User, link.user_id))


@bp.route("/login/link/<token>", methods=["GET", "POST"])
@no_store
def signin_link(token):
    """The mailed link that finishes a guarded sign-in, or one asked for on the sign-in page;
    a button, because mail scanners open links (GET) and must not sign anyone in."""
    if links.is_requested_link(token):
        return _requested_link(token)
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
        return _signed_in(user, remember, next_url, "guarded_link")
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


def _renew_session(user):
    """After a new session token: other devices are signed out, this one signs in again with it."""
    remember = bool(request.cookies.get("remember_token"))
    factor_at = session.get("factor_at")
    session.clear()
    login_user(user, remember=remember)
    if factor_at:
        session["factor_at"] = factor_at


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
            _renew_session(user)
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


# --- second factor: settings, fresh confirmation, staff gate ---------------------------------

def _security_page(status=200, **context):
    user = current_user._get_current_object()
    context.setdefault("code_form", CodeForm())
    context.setdefault("password_form", PasswordOffForm())
    context.setdefault("rename_forms", {})
    user_passkeys = passkeys.passkeys_of(user)
    return render_template(
        "auth/settings_security.html", tab="security", has_totp=second_factor.has_totp(user),
        remaining=second_factor.remaining_recovery_codes(user), events=securitylog.recent(user),
        start_form=StartTotpForm(), required=_factor_required(user), has_password=bool(user.password_hash),
        passkeys=user_passkeys, passkeys_available=passkeys.available(),
        passkeys_full=len(user_passkeys) >= current_app.config["PASSKEYS_MAX"],
        add_passkey_form=PasskeyNameForm(prefix="new", formdata=None), remove_passkey_form=RemovePasskeyForm(),
        rename_form=lambda p: context["rename_forms"].get(p.id) or rename_passkey_form(p.id, p.name),
        **context,
    ), status


@bp.get("/settings/security")
@login_required
@no_store
def settings_security():
    return _security_page()


@bp.post("/settings/security/totp/start")
@login_required
def totp_start():
    if not StartTotpForm().validate_on_submit():
        abort(400)
    try:
        second_factor.start_enrolment(current_user._get_current_object())
    except services.AuthError:
        flash(_("Your authenticator app is already set up."), "info")
        return redirect(url_for("auth.settings_security"))
    return redirect(url_for("auth.totp_enrol"))


@bp.route("/settings/security/totp", methods=["GET", "POST"])
@login_required
@no_store
def totp_enrol():
    """Scan the QR code (or type the secret), then prove it with a first code."""
    user = current_user._get_current_object()
    cred = second_factor.pending_enrolment(user)
    if cred is None:
        return redirect(url_for("auth.settings_security"))
    form = CodeForm()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            codes = second_factor.confirm_enrolment(user, form.code.data)
        except RateLimited:
            form.code.errors.append(_("Too many wrong codes. Wait a few minutes and try again."))
            status = 429
        except services.AuthError:
            form.code.errors.append(_("This code is not right. Check that the time on your phone is correct and try the next code."))
        else:
            session["factor_at"] = int(time.time())
            return render_template("auth/recovery_codes.html", codes=codes, tab="security")
    uri = second_factor.provisioning_uri(user, cred)
    return render_template("auth/totp_enrol.html", form=form, tab="security", qr=second_factor.qr_svg(uri),
                           secret=second_factor.spaced_secret(cred)), status


def _with_code(action):
    """Run a settings action that needs a current code: (result, None), or (None, error page)."""
    form = CodeForm()
    if not form.validate_on_submit():
        return None, _security_page(400, code_form=form)
    try:
        result = action(current_user._get_current_object(), form.code.data)
    except RateLimited:
        form.code.errors.append(_("Too many wrong codes. Wait a few minutes and try again."))
        return None, _security_page(429, code_form=form)
    except services.AuthError:
        form.code.errors.append(_("This code is not right, or was used already. Try the next code from your app."))
        return None, _security_page(400, code_form=form)
    return result, None


@bp.post("/settings/security/totp/remove")
@login_required
@no_store
def totp_remove():
    _result, problem = _with_code(second_factor.remove_totp)
    if problem:
        return problem
    session.pop("factor_at", None)
    flash(_("Your authenticator app is no longer asked for when you sign in."), "success")
    return redirect(url_for("auth.settings_security"))


@bp.post("/settings/security/recovery-codes")
@login_required
@no_store
def recovery_codes():
    codes, problem = _with_code(second_factor.renew_recovery_codes)
    if problem:
        return problem
    session["factor_at"] = int(time.time())
    return render_template("auth/recovery_codes.html", codes=codes, tab="security")


@bp.post("/settings/security/password-off")
@login_required
@no_store
def password_off():
    """Switch passwords off for oneself: from now on a link by mail signs in."""
    user = current_user._get_current_object()
    form = PasswordOffForm()
    if not form.validate_on_submit():
        return _security_page(400, password_form=form)
    try:
        services.remove_password(user, form.current_password.data)
    except RateLimited:
        form.current_password.errors.append(_("Too many wrong passwords. Wait a while and try again."))
        return _security_page(429, password_form=form)
    except services.AuthError:
        form.current_password.errors.append(_("This is not your current password."))
        return _security_page(400, password_form=form)
    _renew_session(user)
    flash(_("Your password is switched off. Sign in from now on with a link by mail."), "success")
    return redirect(url_for("auth.settings_security"))


@bp.route("/settings/security/confirm", methods=["GET", "POST"])
@login_required
@no_store
def confirm_factor():
    """Ask the code again before a sensitive action (FRESH_FACTOR_MAX_AGE after the last one)."""
    user = current_user._get_current_object()
    next_url = safe_next(request.values.get("next")) or url_for("auth.settings_security")
    has_totp = second_factor.has_totp(user)
    offer_passkey = passkeys.available() and passkeys.has_passkey(user)
    if not (has_totp or offer_passkey):
        return redirect(url_for("auth.settings_security"))
    form = CodeForm()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            second_factor.check_code(user, form.code.data, purpose="confirm")
        except RateLimited:
            form.code.errors.append(_("Too many wrong codes. Wait a few minutes and try again."))
            status = 429
        except services.AuthError:
            form.code.errors.append(_("This code is not right, or was used already. Try the next code from your app."))
        else:
            session["factor_at"] = int(time.time())
            return redirect(next_url)
    return render_template("auth/confirm_factor.html", form=form, next_url=next_url, has_totp=has_totp,
                           offer_passkey=offer_passkey), status


@bp.post("/admin/users/<int:user_id>/second-factor/reset")
@admin_required
def reset_second_factor(user_id):
    """An admin removes the second factor of a member who lost phone and recovery codes."""
    if not ResetSecondFactorForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        abort(404)
    second_factor.reset_second_factor(current_user._get_current_object(), user)
    flash(_("The second factor of %(name)s has been removed. They set up a new one after signing in.",
            name=user.name), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("moderation.user", user_id=user.id))


# Rules under these prefixes are staff pages (moderation and administration).
STAFF_PREFIXES = ("/<lang>/mod/", "/<lang>/admin/")
# Endpoints that change roles, export personal data or delete accounts: a second factor
# older than FRESH_FACTOR_MAX_AGE is asked again first.
SENSITIVE_ENDPOINTS = frozenset({
    "admin.set_role", "admin.delete_user", "moderation.log_csv", "privacy.export_download", "privacy.delete",
    "auth.reset_second_factor",
    # Adding or removing a passkey changes how the account signs in (renaming does not).
    "auth.passkey_register_options", "auth.passkey_register", "auth.passkey_remove",
})


def _factor_required(user):
    return bool(current_app.config["STAFF_SECOND_FACTOR"] and user.is_moderator)


def _factor_fresh():
    return time.time() - session.get("factor_at", 0) <= current_app.config["FRESH_FACTOR_MAX_AGE"]


def _back_after_confirm():
    """Where to return after the code: the page itself, or for a POST the page the form was on."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return None
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else "")) if referrer.path else None


@bp.before_app_request
def require_second_factor():
    """Staff pages need a second factor used in this session; sensitive actions a fresh one."""
    rule = request.url_rule
    if rule is None or not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    staff_page = rule.rule.startswith(STAFF_PREFIXES)
    sensitive = request.endpoint in SENSITIVE_ENDPOINTS
    if not (staff_page and _factor_required(user)) and not sensitive:
        return None
    has_factor = second_factor.has_any(user)  # an authenticator app or a passkey
    if staff_page and _factor_required(user) and not (has_factor and "factor_at" in session):
        if not has_factor:
            flash(_("Set up a second factor first: moderators and administrators need one to open these pages."), "info")
            return redirect(url_for("auth.settings_security", lang=current_language()))
        return redirect(url_for("auth.confirm_factor", lang=current_language(), next=_back_after_confirm()))
    if sensitive and has_factor and not _factor_fresh():
        if second_factor.has_totp(user):
            flash(_("Enter a code from your authenticator app to continue."), "info")
        else:
            flash(_("Confirm it is you with your passkey to continue."), "info")
        return redirect(url_for("auth.confirm_factor", lang=current_language(), next=_back_after_confirm()))
    return None
