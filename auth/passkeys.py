"""Passkeys (WebAuthn) with the `webauthn` library: register, sign in, confirm a sensitive action.

A passkey signs in alone: the authenticator proves possession of the key and verifies the
person (fingerprint, face or device PIN; we require user verification), so it counts as
both factors, and as the second factor moderators and admins need.

Challenges live in the database (`webauthn_challenge`), not in a worker's memory: the
session holds only the row's id. A challenge is used up by one conditional DELETE, so an
answer is accepted once even when a copy of the session cookie is replayed, and only
within WEBAUTHN_CHALLENGE_MAX_AGE. The relying party id and the accepted origins come from
the configuration (AGORA_WEBAUTHN_RP_ID, AGORA_WEBAUTHN_ORIGIN, else the host and origin of
AGORA_BASE_URL), never from the request's Host header.
"""
import ipaddress
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, session
from sqlalchemy.exc import IntegrityError
from webauthn import (generate_authentication_options, generate_registration_options, options_to_json,
                      verify_authentication_response, verify_registration_response)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (AttestationConveyancePreference, AuthenticatorSelectionCriteria,
                                      PublicKeyCredentialDescriptor, ResidentKeyRequirement,
                                      UserVerificationRequirement)

from forum import ratelimit
from forum.extensions import db
from forum.models import Passkey, User, WebauthnChallenge, utcnow

from . import securitylog
from .services import AuthError, _sign_in, client_ip

SESSION_KEY = "webauthn"
NAME_MAX = 60
# Errors the library (and the base64/CBOR/JSON parsing under it) raises for a bad answer.
BAD_ANSWER = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError, IndexError)


# --- configuration ---------------------------------------------------------------------------

def rp_id():
    """The relying party id: the site's host name (passkeys are bound to it)."""
    config = current_app.config
    return config.get("WEBAUTHN_RP_ID") or (urlsplit(config["BASE_URL"]).hostname or "")


def origins():
    """The origins a browser may report in clientDataJSON."""
    configured = current_app.config.get("WEBAUTHN_ORIGINS") or ""
    listed = [o.strip().rstrip("/") for o in configured.split(",") if o.strip()]
    if listed:
        return listed
    parts = urlsplit(current_app.config["BASE_URL"])
    return [f"{parts.scheme}://{parts.netloc}"]


def available():
    """Browsers refuse passkeys for an IP address as relying party id (e.g. the demo's 127.0.0.1)."""
    rp = rp_id()
    if not rp:
        return False
    try:
        ipaddress.ip_address(rp)
    except ValueError:
        return True
    return False


def _b64(data):
    return bytes_to_base64url(data)


# --- challenges -------------------------------------------------------------------------------

def _new_challenge(purpose, user=None, **extra):
    """A fresh random challenge, stored for any worker and referenced from this session."""
    challenge = secrets.token_bytes(32)
    row = WebauthnChallenge(challenge=_b64(challenge), purpose=purpose, user_id=user.id if user else None,
                            expires_at=utcnow() + timedelta(seconds=current_app.config["WEBAUTHN_CHALLENGE_MAX_AGE"]))
    db.session.add(row)
    db.session.flush()
    session[SESSION_KEY] = {"id": row.id, "p": purpose, **extra}
    return challenge


def _take_challenge(purpose, user=None):
    """Use up the challenge this session was given for `purpose`: (bytes, extras) or (None, {}).

    The DELETE's row count decides, so two requests with the same answer (two workers, a
    replayed cookie) cannot both have it.
    """
    ref = session.pop(SESSION_KEY, None)
    if not isinstance(ref, dict) or ref.get("p") != purpose or not isinstance(ref.get("id"), int):
        return None, {}
    row = db.session.get(WebauthnChallenge, ref["id"])
    if row is None or row.purpose != purpose or row.user_id != (user.id if user else None):
        return None, {}
    challenge = row.challenge
    taken = db.session.execute(
        db.delete(WebauthnChallenge).where(WebauthnChallenge.id == row.id, WebauthnChallenge.expires_at > utcnow())
    ).rowcount == 1
    return (base64url_to_bytes(challenge), ref) if taken else (None, {})


def prune_challenges():
    """Drop challenges past their expiry (the daily prune job); returns how many."""
    return db.session.execute(db.delete(WebauthnChallenge).where(WebauthnChallenge.expires_at <= utcnow())).rowcount


# --- the member's passkeys --------------------------------------------------------------------

def passkeys_of(user):
    return db.session.scalars(db.select(Passkey).where(Passkey.user_id == user.id)
                              .order_by(Passkey.created_at, Passkey.id)).all()


def has_passkey(user):
    return db.session.scalar(db.select(Passkey.id).where(Passkey.user_id == user.id).limit(1)) is not None


def _own(user, passkey_id):
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise AuthError("not_found")
    return passkey


def clean_name(name):
    """The name as stored, or AuthError('name_too_long'); empty means a numbered default."""
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX:
        raise AuthError("name_too_long")
    return name


def _descriptors(passkeys):
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in passkeys]


def _credential_id(credential):
    raw = credential.get("rawId") if isinstance(credential, dict) else None
    return raw if isinstance(raw, str) and 0 < len(raw) <= 1400 else None


# --- registration -----------------------------------------------------------------------------

def registration_options(user, name):
    """Options (JSON text) for navigator.credentials.create(); the name waits in the session.

    Raises AuthError('name_too_long'), AuthError('too_many'), RateLimited (per account).
    """
    name = clean_name(name)
    existing = passkeys_of(user)
    if len(existing) >= current_app.config["PASSKEYS_MAX"]:
        raise AuthError("too_many")
    ratelimit.hit(f"passkey-register:{user.id}", current_app.config["RATELIMIT_PASSKEY_REGISTER"], commit=False)
    # One user handle per account, the same for every passkey (authenticators replace
    # rather than pile up); random, so it tells nothing about the member.
    handle = existing[0].user_handle if existing else _b64(secrets.token_bytes(32))
    challenge = _new_challenge("register", user, h=handle, n=name)
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=current_app.config["UMBRELLA_NAME"] + " Agora",
        user_id=base64url_to_bytes(handle), user_name=user.email, user_display_name=user.name,
        challenge=challenge, timeout=current_app.config["WEBAUTHN_CHALLENGE_MAX_AGE"] * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=_descriptors(existing),
    )
    db.session.commit()
    return options_to_json(options)


def register(user, credential, default_name):
    """Check the browser's answer and keep the passkey; returns it.

    Raises AuthError('challenge') when there is no unused, unexpired challenge of this
    session, AuthError('invalid') for an answer that does not verify (wrong origin,
    relying party, challenge, no user verification), AuthError('exists').
    """
    challenge, ref = _take_challenge("register", user)
    if challenge is None:
        db.session.commit()
        raise AuthError("challenge")
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=origins(), require_user_verification=True)
    except BAD_ANSWER as exc:
        current_app.logger.info("passkey registration refused for user %s: %s", user.id, exc)
        db.session.commit()
        raise AuthError("invalid") from None
    credential_id = _b64(verified.credential_id)
    if db.session.scalar(db.select(Passkey.id).where(Passkey.credential_id == credential_id)) is not None:
        db.session.commit()
        raise AuthError("exists")
    passkey = Passkey(user_id=user.id, credential_id=credential_id, public_key=verified.credential_public_key,
                      sign_count=verified.sign_count, user_handle=ref.get("h") or _b64(secrets.token_bytes(32)),
                      name=ref.get("n") or default_name)
    db.session.add(passkey)
    securitylog.record(user, "passkey_added", name=passkey.name)
    try:
        db.session.commit()
    except IntegrityError:  # the same authenticator registered twice at once
        db.session.rollback()
        raise AuthError("exists") from None
    return passkey


def rename(user, passkey_id, name):
    passkey = _own(user, passkey_id)
    old, passkey.name = passkey.name, clean_name(name) or passkey.name
    securitylog.record(user, "passkey_renamed", old=old, name=passkey.name)
    db.session.commit()


def remove(user, passkey_id):
    passkey = _own(user, passkey_id)
    securitylog.record(user, "passkey_removed", name=passkey.name)
    db.session.delete(passkey)
    db.session.commit()


def remove_all(user):
    """For the admin's reset of a member's second factor (the caller logs and commits)."""
    db.session.execute(db.delete(Passkey).where(Passkey.user_id == user.id))


# --- authentication ---------------------------------------------------------------------------

def _options_json(purpose, user=None, passkeys=()):
    """Options (JSON text) for navigator.credentials.get(); empty `passkeys`: any of this site."""
    options = generate_authentication_options(
        rp_id=rp_id(), challenge=_new_challenge(purpose, user),
        timeout=current_app.config["WEBAUTHN_CHALLENGE_MAX_AGE"] * 1000,
        allow_credentials=_descriptors(passkeys), user_verification=UserVerificationRequirement.REQUIRED)
    db.session.commit()
    return options_to_json(options)


def signin_options():
    """Options for a sign-in with any passkey of this site (the browser offers the member's
    passkeys; no address typed). Raises RateLimited per IP: each answer writes a row."""
    ratelimit.hit(f"passkey-options-ip:{client_ip()}", current_app.config["RATELIMIT_PASSKEY_OPTIONS_IP"],
                  commit=False)
    return _options_json("signin")


def _verify(credential, challenge, passkey):
    """Verify an assertion for `passkey` and move its counter on; a reason word on failure."""
    response = credential.get("response") if isinstance(credential, dict) else None
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle not in (None, "") and handle != passkey.user_handle:
        return "user_handle"
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(), expected_origin=origins(),
            credential_public_key=passkey.public_key, credential_current_sign_count=passkey.sign_count,
            require_user_verification=True)
    except BAD_ANSWER as exc:
        # A counter that did not grow: the key may have been copied (a cloned authenticator).
        return "sign_count" if "sign count" in str(exc).lower() else "invalid"
    # Conditional on the counter read: two answers racing cannot both move it.
    moved = db.session.execute(
        db.update(Passkey).where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
    ).rowcount == 1
    return None if moved else "sign_count"


def sign_in(credential):
    """Sign in with a passkey: returns the user (account checks as for a password).

    Raises RateLimited (failed attempts per IP), AuthError('invalid') for any answer that
    does not verify (unknown credential, used or expired challenge, wrong origin, counter
    going back), AuthError(status, user=...) for accounts that cannot sign in (yet).
    """
    key = f"passkey-failed-ip:{client_ip()}"
    limit = current_app.config["RATELIMIT_PASSKEY_FAILED_IP"]
    ratelimit.check(key, limit)
    challenge, _ref = _take_challenge("signin")
    credential_id = _credential_id(credential)
    passkey = db.session.scalar(db.select(Passkey).where(Passkey.credential_id == credential_id)) \
        if credential_id else None
    user = db.session.get(User, passkey.user_id) if passkey is not None else None
    if user is not None and user.deleted_at is not None:
        user = None
    reason = "challenge" if challenge is None else "unknown" if user is None else _verify(credential, challenge, passkey)
    if reason:
        ratelimit.hit(key, commit=False)
        if user is not None:
            securitylog.record(user, "signin_failed", method="passkey", reason=reason)
        db.session.commit()
        raise AuthError("invalid", reason=reason)
    return _sign_in(user)


def confirm_options(user):
    """Options to confirm a sensitive action with one of the member's own passkeys.

    Raises RateLimited (wrong codes and passkeys of this account), AuthError('no_passkey').
    """
    ratelimit.check(f"second-factor:{user.id}", current_app.config["RATELIMIT_SECOND_FACTOR"])
    own = passkeys_of(user)
    if not own:  # an empty list would let the browser offer any passkey of the site
        raise AuthError("no_passkey")
    return _options_json("confirm", user, own)


def confirm(user, credential, purpose="confirm"):
    """A fresh second factor from one of `user`'s passkeys (another member's is refused).

    Raises RateLimited (the same per-account count as wrong codes), AuthError('invalid').
    """
    key = f"second-factor:{user.id}"
    ratelimit.check(key, current_app.config["RATELIMIT_SECOND_FACTOR"])
    challenge, _ref = _take_challenge("confirm", user)
    credential_id = _credential_id(credential)
    passkey = db.session.scalar(db.select(Passkey).where(Passkey.credential_id == credential_id,
                                                         Passkey.user_id == user.id)) if credential_id else None
    reason = "challenge" if challenge is None else "unknown" if passkey is None else _verify(credential, challenge, passkey)
    if reason:
        ratelimit.hit(key, commit=False)
        securitylog.record(user, "second_factor_failed", purpose=purpose, method="passkey", reason=reason)
        db.session.commit()
        raise AuthError("invalid", reason=reason)
    ratelimit.clear(key)
    db.session.commit()
