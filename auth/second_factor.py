"""Second factor: TOTP (authenticator apps) with single-use recovery codes."""
import hashlib
import hmac
import re
import secrets
import time

import pyotp
import segno
from flask import current_app
from markupsafe import Markup

from forum import ratelimit
from forum.extensions import db
from forum.models import RecoveryCode, TotpCredential, utcnow

from . import passkeys, securitylog
from .outbox import queue_mail
from .services import AuthError, _audit

STEP = 30            # seconds per code (RFC 6238 default, what every app uses)
DRIFT = 1            # steps accepted before and after now: a phone clock a little off
RECOVERY_CODES = 10


def _code_hash(code):
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _normalise(code):
    return re.sub(r"[^0-9a-z]", "", (code or "").lower())


def credential(user):
    return db.session.get(TotpCredential, user.id)


def has_totp(user):
    cred = credential(user)
    return cred is not None and cred.confirmed_at is not None


def has_any(user):
    """Whether `user` has a second factor: an authenticator app or a passkey."""
    return has_totp(user) or passkeys.has_passkey(user)


def pending_enrolment(user):
    """The secret being set up (shown as QR code and text), or None."""
    cred = credential(user)
    return cred if cred is not None and cred.confirmed_at is None else None


def start_enrolment(user):
    """Create (or keep) an unconfirmed secret; raises AuthError('enrolled') when TOTP is on."""
    cred = credential(user)
    if cred is not None and cred.confirmed_at is not None:
        raise AuthError("enrolled")
    if cred is None:
        cred = TotpCredential(user_id=user.id, secret=pyotp.random_base32())
        db.session.add(cred)
        db.session.commit()
    return cred


def provisioning_uri(user, cred):
    return pyotp.TOTP(cred.secret, interval=STEP).provisioning_uri(
        name=user.email, issuer_name=current_app.config["UMBRELLA_NAME"] + " Agora")


def qr_svg(uri):
    """The otpauth:// address as an inline SVG QR code, drawn here (no image from elsewhere)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", omitsize=False)
    return Markup(svg)


def spaced_secret(cred):
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(cred.secret[i:i + 4] for i in range(0, len(cred.secret), 4))


def _matching_step(secret, code, now=None):
    code = _normalise(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int((now or time.time()) // STEP)
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_step(user_id, step):
    """Record `step` as used; False when it (or a later one) was used already.

    One UPDATE with the condition in it, so two workers given the same code at once
    cannot both accept it.
    """
    result = db.session.execute(
        db.update(TotpCredential)
        .where(TotpCredential.user_id == user_id, TotpCredential.confirmed_at.is_not(None),
               db.or_(TotpCredential.last_step.is_(None), TotpCredential.last_step < step))
        .values(last_step=step)
    )
    return result.rowcount == 1


def _use_recovery_code(user_id, code):
    result = db.session.execute(
        db.update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _code_hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return result.rowcount == 1


def _new_recovery_codes(user):
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits each, ten of them, each usable once
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(raw)))
    return codes


def remaining_recovery_codes(user):
    return db.session.scalar(db.select(db.func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def check_code(user, code, purpose="signin"):
    """Accept a current TOTP code or an unused recovery code of `user`; commits.

    Returns 'totp' or 'recovery'. Raises RateLimited (per account) and
    AuthError('wrong_code'), which is logged as a failed attempt.
    """
    key = f"second-factor:{user.id}"
    limit = current_app.config["RATELIMIT_SECOND_FACTOR"]
    ratelimit.check(key, limit)
    cred = credential(user)
    method = None
    if cred is not None and cred.confirmed_at is not None:
        step = _matching_step(cred.secret, code)
        if step is not None and _use_step(user.id, step):
            method = "totp"
        elif step is None and len(_normalise(code)) == 10 and _use_recovery_code(user.id, code):
            method = "recovery"
            securitylog.record(user, "recovery_code_used", purpose=purpose,
                               remaining=remaining_recovery_codes(user))
    if method is None:
        ratelimit.hit(key, commit=False)
        securitylog.record(user, "second_factor_failed", purpose=purpose)
        db.session.commit()
        raise AuthError("wrong_code")
    ratelimit.clear(key)
    db.session.commit()
    return method


def confirm_enrolment(user, code):
    """Switch TOTP on with a first code from the app; returns the ten recovery codes (shown once).

    Raises AuthError('no_enrolment'), AuthError('wrong_code'), RateLimited.
    """
    cred = pending_enrolment(user)
    if cred is None:
        raise AuthError("no_enrolment")
    key = f"second-factor:{user.id}"
    ratelimit.check(key, current_app.config["RATELIMIT_SECOND_FACTOR"])
    step = _matching_step(cred.secret, code)
    if step is None:
        ratelimit.hit(key)
        raise AuthError("wrong_code")
    cred.confirmed_at = utcnow()
    cred.last_step = step
    codes = _new_recovery_codes(user)
    securitylog.record(user, "totp_enabled")
    db.session.commit()
    return codes


def renew_recovery_codes(user, code):
    """Ten new recovery codes (the old ones stop working) after a current code."""
    check_code(user, code, purpose="recovery_codes")
    codes = _new_recovery_codes(user)
    securitylog.record(user, "recovery_codes_renewed")
    db.session.commit()
    return codes


def _remove(user):
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(db.delete(TotpCredential).where(TotpCredential.user_id == user.id))


def remove_totp(user, code):
    """The member switches TOTP off, proving it with a current code."""
    check_code(user, code, purpose="remove")
    _remove(user)
    securitylog.record(user, "totp_removed")
    db.session.commit()


def reset_second_factor(admin, user):
    """An admin removes a member's second factor (lost phone, passkeys and codes); audited.

    Authenticator app, recovery codes and passkeys all go. The member's sessions end:
    whoever holds one must sign in again, and a staff member must then set up a new factor
    before the staff pages open. The member gets a mail, so a reset they did not ask for
    does not go unnoticed.
    """
    removed_passkeys = len(passkeys.passkeys_of(user))
    _remove(user)
    passkeys.remove_all(user)
    user.rotate_session_token()
    securitylog.record(user, "second_factor_reset", by=admin.id, passkeys=removed_passkeys)
    _audit(admin, "reset_second_factor", "user", user.id, passkeys=removed_passkeys)
    queue_mail("second_factor_reset", user.email, user_id=user.id)
    db.session.commit()
