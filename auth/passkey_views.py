"""Passkey routes (auth/passkeys.py) on the account blueprint.

The ceremonies are two POSTs each, made by forum/static/passkeys.js with the page's CSRF
token in the X-CSRFToken header: one for the options (the challenge), one with the
browser's answer. They answer JSON: {"redirect": url} or {"error": translated text}.
Renaming and removing are ordinary forms on the security page.
"""
import time
from functools import wraps

from flask import Response, abort, flash, jsonify, redirect, request, session, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from forum.models import utcnow
from forum.ratelimit import RateLimited

from . import passkeys, services
from .forms import RemovePasskeyForm, rename_passkey_form
from .views import _finish_sign_in, _security_page, _status_message, bp, no_store, safe_next


def passkeys_on(view):
    """A site whose relying party id cannot carry passkeys (an IP address) has no such routes."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not passkeys.available():
            abort(404)
        return view(*args, **kwargs)
    return wrapper


def _json_options(options):
    response = Response(options, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(message, status=400, retry_after=None):
    response = jsonify(error=message)
    response.status_code = status
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _body():
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _text(data, key):
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _not_accepted():
    return _("This passkey was not accepted. Try again, or sign in another way.")


def _too_many():
    return _("Too many attempts. Wait a few minutes and try again.")


# --- sign in ----------------------------------------------------------------------------------

@bp.post("/login/passkey/options")
@passkeys_on
def passkey_login_options():
    """A challenge for signing in with a passkey (the browser lets the member choose one)."""
    try:
        return _json_options(passkeys.signin_options())
    except RateLimited as exc:
        return _error(_too_many(), 429, exc.retry_after)


@bp.post("/login/passkey")
@passkeys_on
@no_store
def passkey_login():
    """The browser's answer: signs in (a passkey with user verification counts as both factors)."""
    data = _body()
    if data is None:
        return _error(_not_accepted())
    try:
        user = passkeys.sign_in(data.get("credential"))
    except RateLimited as exc:
        return _error(_too_many(), 429, exc.retry_after)
    except services.AuthError as exc:
        return _error(_not_accepted() if exc.code == "invalid" else _status_message(exc), 400)
    if current_user.is_authenticated:
        logout_user()
    return _finish_sign_in(user, bool(data.get("remember")), _text(data, "next"), "passkey", factor="passkey",
                           as_json=True)


# --- add, rename, remove ------------------------------------------------------------------------

@bp.post("/settings/security/passkeys/options")
@login_required
@passkeys_on
def passkey_register_options():
    data = _body()
    if data is None:
        return _error(_("Something went wrong. Reload the page and try again."))
    user = current_user._get_current_object()
    try:
        return _json_options(passkeys.registration_options(user, _text(data, "name")))
    except RateLimited as exc:
        return _error(_too_many(), 429, exc.retry_after)
    except services.AuthError as exc:
        if exc.code == "name_too_long":
            return _error(_("Keep the name under 60 characters."))
        return _error(_("You have the largest number of passkeys already. Remove one first."))


@bp.post("/settings/security/passkeys")
@login_required
@passkeys_on
@no_store
def passkey_register():
    data = _body()
    if data is None:
        return _error(_("Something went wrong. Reload the page and try again."))
    user = current_user._get_current_object()
    default_name = _("Passkey of %(date)s", date=format_date(utcnow(), "medium"))
    try:
        passkey = passkeys.register(user, data.get("credential"), default_name)
    except services.AuthError as exc:
        if exc.code == "exists":
            return _error(_("This passkey is already registered."))
        if exc.code == "challenge":
            return _error(_("That took too long. Try again."))
        return _error(_("Your browser's answer could not be checked. Try again, or use another device."))
    # Registering needed the person on the device (user verification): a fresh factor.
    session["factor_at"] = int(time.time())
    flash(_("The passkey '%(name)s' has been added. You can sign in with it from now on.", name=passkey.name), "success")
    return jsonify(redirect=url_for("auth.settings_security"))


@bp.post("/settings/security/passkeys/<int:passkey_id>/rename")
@login_required
@passkeys_on
@no_store
def passkey_rename(passkey_id):
    form = rename_passkey_form(passkey_id)
    user = current_user._get_current_object()
    if not any(p.id == passkey_id for p in passkeys.passkeys_of(user)):
        abort(404)
    if not form.validate_on_submit():
        return _security_page(400, rename_forms={passkey_id: form})
    passkeys.rename(user, passkey_id, form.name.data)
    flash(_("The passkey is now called '%(name)s'.", name=form.name.data), "success")
    return redirect(url_for("auth.settings_security"))


@bp.post("/settings/security/passkeys/<int:passkey_id>/remove")
@login_required
@passkeys_on
@no_store
def passkey_remove(passkey_id):
    if not RemovePasskeyForm().validate_on_submit():
        abort(400)
    try:
        passkeys.remove(current_user._get_current_object(), passkey_id)
    except services.AuthError:
        abort(404)
    flash(_("The passkey has been removed. It no longer signs in to your account."), "success")
    return redirect(url_for("auth.settings_security"))


# --- confirm a sensitive action ------------------------------------------------------------------

@bp.post("/settings/security/confirm/passkey/options")
@login_required
@passkeys_on
def passkey_confirm_options():
    try:
        return _json_options(passkeys.confirm_options(current_user._get_current_object()))
    except RateLimited as exc:
        return _error(_too_many(), 429, exc.retry_after)
    except services.AuthError:
        return _error(_not_accepted())


@bp.post("/settings/security/confirm/passkey")
@login_required
@passkeys_on
@no_store
def passkey_confirm():
    data = _body()
    if data is None:
        return _error(_not_accepted())
    try:
        passkeys.confirm(current_user._get_current_object(), data.get("credential"))
    except RateLimited as exc:
        return _error(_too_many(), 429, exc.retry_after)
    except services.AuthError:
        return _error(_("This passkey was not accepted. Use a passkey of this account and try again."))
    session["factor_at"] = int(time.time())
    return jsonify(redirect=safe_next(_text(data, "next")) or url_for("auth.settings_security"))
