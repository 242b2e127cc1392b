"""Account services: the views call these; they change the database and commit."""
import logging
import re
import unicodedata
from datetime import date

from flask import current_app, has_request_context, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from forum import ratelimit
from forum.errors import DomainError
from forum.database import read_phase
from forum.extensions import db
from forum.models import ModerationAction, Organisation, User, count, utcnow
from forum.outbox import enqueue
from forum.transactions import begin_writing

from . import securitylog
from .outbox import queue_mail
from .passwords import hash_password, password_matches
from .tokens import TokenInvalid, fingerprint, make_token, read_token

log = logging.getLogger(__name__)

# Organisations a newcomer may say they belong to.
REGISTRABLE_STATUSES = ("active", "pending")


class AuthError(DomainError):
    """A refused account action (see forum.errors.DomainError); the view words it, with
    `details` for context (a user, a date)."""

    def __init__(self, code, **details):
        super().__init__(code, **details)
        self.details = details


# --- small helpers -------------------------------------------------------------------------

def normalise_email(email):
    return (email or "").strip().lower()


def find_user_by_email(email):
    email = normalise_email(email)
    if not email:
        return None
    return db.session.scalar(db.select(User).where(User.email == email))


def client_ip():
    # Behind a proxy, configure ProxyFix in wsgi.py; we never trust X-Forwarded-For blindly.
    return request.remote_addr or "unknown"


def external_url(endpoint, **values):
    """An absolute link for a mail: BASE_URL plus the path (mail clients know no 'current site')."""
    base = current_app.config["BASE_URL"].rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context():
        return base + url_for(endpoint, **values)


def fold(text):
    """Lower-case, accents removed: 'Liège' matches 'liege'."""
    text = unicodedata.normalize("NFKD", (text or "").lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def slugify(text):
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return slug[:100].strip("-") or "organisatie"


def unique_org_slug(name):
    base = slugify(name)
    slug, n = base, 1
    while db.session.scalar(db.select(Organisation.id).where(Organisation.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _limit(name):
    return current_app.config[name]


def _rate_limited_quietly(key, limit):
    """Count `key`; True when it was already at its limit (the caller then sends nothing).

    Used where a visible 429 would tell a stranger whether an address has an account.
    """
    try:
        ratelimit.hit(key, limit)
    except ratelimit.RateLimited:
        return True
    return False


def _audit(actor, action, target_type, target_id, reason="", **details):
    db.session.add(ModerationAction(actor_id=actor.id, action=action, target_type=target_type,
                                    target_id=target_id, reason=reason or "", details=details))


# --- registration ---------------------------------------------------------------------------

def registrable_organisations(query=None):
    """Organisations a newcomer can choose, by name; `query` narrows on name or municipality.

    Filtered in Python on accent-free text: the list is a few hundred rows at most, and
    SQLite's LIKE does not fold accents ('Liège' must match 'liege').
    """
    orgs = db.session.scalars(
        db.select(Organisation)
        .where(Organisation.membership_status.in_(REGISTRABLE_STATUSES), Organisation.merged_into_id.is_(None))
        .order_by(Organisation.name)
    ).all()
    words = fold(query).split()
    if words:
        orgs = [o for o in orgs if all(w in fold(f"{o.name} {o.municipality}") for w in words)]
    return orgs


def find_listed_organisation(name, municipality):
    """A listed organisation with this name in this municipality (ignoring case and accents).

    Both must match: many councils share a generic name like 'Adviesraad Sociaal Domein'.
    """
    def key(text):
        return " ".join(fold(text).split())

    for org in registrable_organisations():
        if key(org.name) == key(name) and key(org.municipality) == key(municipality):
            return org
    return None


def register_user(email, name, password, locale, organisation_id=None, new_organisation=None):
    """Create an unconfirmed account (and a pending organisation) and mail the confirmation link.

    Everything is validated before anything is written; on any failure no row remains.
    When the address already has an account nothing is created: its owner gets a mail
    instead, and the caller shows the same 'check your mail' page (no account enumeration).
    `new_organisation` is a dict with name, municipality, country.
    Raises RateLimited (per IP) and AuthError('org_exists', organisation=...) when a
    'new' organisation is already in the list.
    Returns 'created' or 'exists'.
    """
    email = normalise_email(email)
    ip_key = f"register-ip:{client_ip()}"
    with read_phase():
        ratelimit.check(ip_key, _limit("RATELIMIT_REGISTER_IP"))
        # Hashed before the write transaction, and also when the address already has an
        # account: the answer takes as long either way.
        password_hash = hash_password(password)

    organisation = None
    if new_organisation:
        existing = find_listed_organisation(new_organisation["name"], new_organisation.get("municipality"))
        if existing is not None:
            raise AuthError("org_exists", organisation=existing)
    else:
        organisation = db.session.get(Organisation, int(organisation_id))
        if organisation is None or organisation.membership_status not in REGISTRABLE_STATUSES \
                or organisation.merged_into_id is not None:
            raise AuthError("org_unknown")

    ratelimit.hit(ip_key, _limit("RATELIMIT_REGISTER_IP"))
    existing_user = find_user_by_email(email)
    if existing_user is not None:
        _notify_existing_owner(email)
        return "exists"

    try:
        if new_organisation:
            organisation = Organisation(
                name=new_organisation["name"], slug=unique_org_slug(new_organisation["name"]),
                municipality=new_organisation["municipality"], country=new_organisation["country"],
                language=locale, membership_status="pending",
            )
            db.session.add(organisation)
        user = User(email=email, name=name, locale=locale, status="unconfirmed", role="member",
                    organisation=organisation, terms_accepted_at=utcnow(), password_hash=password_hash)
        db.session.add(user)
        queue_mail("confirm", email)
        db.session.commit()
    except IntegrityError:
        # Two requests raced for the same address (or slug): nothing of this one is kept.
        db.session.rollback()
        if find_user_by_email(email) is not None:
            _notify_existing_owner(email)
            return "exists"
        raise
    return "created"


def _notify_existing_owner(email):
    queue_mail("register_exists", email)
    db.session.commit()


def confirmation_token(user):
    return make_token("confirm", {"id": user.id, "email": user.email})


def _user_from_confirm_data(data):
    if not isinstance(data, dict):
        raise TokenInvalid()
    user = db.session.get(User, data.get("id")) if isinstance(data.get("id"), int) else None
    if user is None or user.email != data.get("email") or user.deleted_at is not None:
        raise TokenInvalid()
    return user


def confirm_email(token):
    """Follow the confirmation link: the account now waits for a moderator.

    Returns the user. Raises TokenExpired / TokenInvalid. Following it twice is harmless.
    """
    data = read_token("confirm", token, max_age=_limit("CONFIRM_TOKEN_MAX_AGE"))
    begin_writing()
    user = _user_from_confirm_data(data)
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
    if user.status == "unconfirmed":
        user.status = "pending"
    db.session.commit()
    return user


def resend_confirmation(email=None, token=None):
    """Send a new confirmation link; the same outcome whether the address is known or not.

    `token` is an expired confirmation link (its signature still proves who it was for).
    Raises RateLimited per IP; per address the limit is silent (applied when sending).
    """
    ratelimit.hit(f"confirm-ip:{client_ip()}", _limit("RATELIMIT_CONFIRM_IP"), commit=False)
    if token:
        try:
            data = read_token("confirm", token)
        except TokenInvalid:
            data = None
        # The signature proves which address the link was for; whether that account
        # still waits for confirmation is decided when sending.
        email = data.get("email") if isinstance(data, dict) else None
    email = normalise_email(email)
    if email:
        queue_mail("confirm", email, resend=True)
    db.session.commit()


# --- sign in / out --------------------------------------------------------------------------

def authenticate(email, password, known_device=None, remember=False, next_url=None):
    """Check credentials under the per-IP limit and the per-account guard; return the user or raise.

    Only failures are counted: a town hall's office shares one IP address, and its
    secretaries signing in one after the other must not lock each other out.
    The per-account count does not lock anyone out (anyone could then lock out any
    member). After RATELIMIT_LOGIN_ACCOUNT failures the account is guarded: a browser
    that signed in to it before (`known_device(user)`, the cookie of auth/devices.py)
    signs in as usual; any other browser gets AuthError('check_mail') whether the password
    was right or wrong, and only with the right one a sign-in link goes to the account's
    address. Guessing from many addresses thus reveals nothing, and the owner always gets in.
    The password is checked before the write transaction (forum/database.py read_phase):
    hashing is slow on purpose and must not keep other writers waiting.
    Raises RateLimited (per IP), AuthError('invalid') for any wrong combination (the same
    answer whether the address exists or not), AuthError('check_mail'), and
    AuthError(status, user=...) for accounts that cannot sign in (yet).
    """
    config = current_app.config
    email = normalise_email(email)
    ip_key = f"login-ip:{client_ip()}"
    account_key = f"login-account:{email}"
    with read_phase():
        ratelimit.check(ip_key, config["RATELIMIT_LOGIN_IP"])  # refused before hashing
        user = find_user_by_email(email)
        checked_hash = user.password_hash if user is not None and user.deleted_at is None else None
        correct = password_matches(checked_hash, password)
    # The write transaction: decide again on what may have changed during the hashing.
    ratelimit.check(ip_key, config["RATELIMIT_LOGIN_IP"])
    user = find_user_by_email(email)
    if user is None or user.deleted_at is not None or user.password_hash != checked_hash:
        correct = False
    guarded = ratelimit.reached(account_key, config["RATELIMIT_LOGIN_ACCOUNT"])
    trusted = user is not None and known_device is not None and known_device(user)
    if not correct:
        if user is not None and user.deleted_at is None:
            securitylog.record(user, "signin_failed", method="password")
        ratelimit.hit(ip_key, commit=False)
        if not guarded:  # once guarded, more rows would change nothing
            ratelimit.hit(account_key, commit=False)
        db.session.commit()
        raise AuthError("check_mail" if guarded and not trusted else "invalid")
    if guarded and not trusted:
        if user.status == "active" or (user.status == "suspended" and not user.is_suspended):
            # `remember` and `next` ride along so the link ends where the form would have.
            queue_mail("signin_link", user.email, user_id=user.id, remember=bool(remember), next=next_url or "")
        db.session.commit()
        raise AuthError("check_mail")
    return _sign_in(user, account_key)


def _sign_in(user, account_key=None):
    """The account checks after a right password (or a followed sign-in link)."""
    if user.status == "suspended":
        if user.is_suspended:
            raise AuthError("suspended", user=user)
        user.status = "active"  # the suspension has run out
        user.suspended_until = None
    if user.status == "unconfirmed":
        raise AuthError("unconfirmed", user=user)
    if user.status == "pending":
        raise AuthError("pending", user=user)
    ratelimit.clear(account_key or f"login-account:{user.email}")
    user.last_seen_at = utcnow()
    db.session.commit()
    return user


def signin_token(user, remember=False, next_url=""):
    # Single use: signing in sets last_seen_at, which changes the fingerprint.
    state = fingerprint(user.password_hash, user.email, user.session_token, user.last_seen_at)
    return make_token("signin", {"id": user.id, "fp": state, "r": bool(remember), "n": next_url or ""})


def read_signin_token(token):
    """The account, 'remember me' and next page of a mailed sign-in link.

    Raises TokenExpired / TokenInvalid (also once used, or after a password change).
    """
    data = read_token("signin", token, max_age=_limit("SIGNIN_TOKEN_MAX_AGE"))
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise TokenInvalid()
    user = db.session.get(User, data["id"])
    if user is None or user.deleted_at is not None or data.get("fp") != fingerprint(
            user.password_hash, user.email, user.session_token, user.last_seen_at):
        raise TokenInvalid()
    return user, bool(data.get("r")), str(data.get("n") or "")


def sign_in_with_link(token):
    """Finish a guarded sign-in with the mailed link: returns (user, remember, next).

    Raises TokenInvalid/TokenExpired, AuthError(status, user=...) like authenticate().
    """
    user, remember, next_url = read_signin_token(token)
    return _sign_in(user), remember, next_url


def record_sign_in(user, method, second_factor=None, new_device=False):
    """Log a finished sign-in; from a browser new to this account, tell the member by mail."""
    securitylog.record(user, "signin", method=method, second_factor=second_factor or "")
    if new_device and current_app.config["NEW_DEVICE_MAIL"]:
        queue_mail("new_device", user.email, user_id=user.id, ip=client_ip(),
                   agent=(request.user_agent.string or "")[:200])
    db.session.commit()


def sign_out_everywhere(user):
    """Invalidate every session and remember-me cookie of this user."""
    user.rotate_session_token()
    db.session.commit()


# --- password reset -------------------------------------------------------------------------

def reset_token(user):
    # The fingerprint of the current hash (and address) makes the link die once it is used.
    return make_token("reset", {"id": user.id, "fp": fingerprint(user.password_hash, user.email)})


def request_password_reset(email):
    """Mail a reset link if the address has an account; the same outcome either way.

    Both limits raise RateLimited (429): the per-account one counts by the typed
    address whether or not it exists, so the answer does not reveal an account.
    """
    email = normalise_email(email)
    ratelimit.check(f"reset-ip:{client_ip()}", _limit("RATELIMIT_RESET_IP"))
    ratelimit.check(f"reset-account:{email}", _limit("RATELIMIT_RESET_ACCOUNT"))
    ratelimit.hit(f"reset-ip:{client_ip()}", commit=False)
    ratelimit.hit(f"reset-account:{email}", commit=False)
    # Not even a look-up here: the sender decides whether the address has an account,
    # so the answer takes the same path (and time) for every address.
    queue_mail("reset", email)
    db.session.commit()


def user_for_reset_token(token):
    """The account a reset link is for; raises TokenExpired / TokenInvalid (also once used)."""
    data = read_token("reset", token, max_age=_limit("RESET_TOKEN_MAX_AGE"))
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise TokenInvalid()
    user = db.session.get(User, data["id"])
    if user is None or user.deleted_at is not None or data.get("fp") != fingerprint(user.password_hash, user.email):
        raise TokenInvalid()
    return user


def reset_password(token, password):
    """Set a new password from a reset link; signs out every other session.

    A mailed link proves the address, so an unconfirmed account counts as confirmed
    (imported members set their first password this way).
    """
    with read_phase():
        user_for_reset_token(token)
        password_hash = hash_password(password)
    user = user_for_reset_token(token)  # again in the write transaction: still unused?
    user.password_hash = password_hash
    user.rotate_session_token()
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
    if user.status == "unconfirmed":
        user.status = "pending"
    ratelimit.clear(f"login-account:{user.email}")
    queue_mail("password_changed", user.email, user_id=user.id)
    db.session.commit()
    return user


# --- settings -------------------------------------------------------------------------------

def update_profile(user, name, bio, locale, notify_mode):
    """Save name, bio, language and mail preference."""
    user.name = name
    user.bio = bio or ""
    user.locale = locale
    user.notify_mode = notify_mode
    enqueue("user", user.id)
    db.session.commit()


def check_current_password(user, password, new_password=None):
    """Guard for changes a signed-in member makes with their current password.

    Counted per account id, apart from the sign-in count: only someone holding this
    session can use it up, so strangers failing to sign in never block the owner's
    settings. The hash is checked (and `new_password` hashed) before the write
    transaction; once in it, the stored hash must still be the one checked.
    Returns the new password's hash (or None). Raises RateLimited, AuthError('wrong_password').
    """
    key = f"password-check:{user.id}"
    limit = _limit("RATELIMIT_PASSWORD_CHECK")
    with read_phase():
        ratelimit.check(key, limit)
        checked_hash = user.password_hash
        correct = password_matches(checked_hash, password)
        new_hash = hash_password(new_password) if correct and new_password is not None else None
    ratelimit.check(key, limit)
    if not correct or user.password_hash != checked_hash:
        ratelimit.hit(key)
        raise AuthError("wrong_password")
    return new_hash


def change_password(user, current_password, new_password):
    """Replace the password; every other session and remember-me cookie stops working."""
    user.password_hash = check_current_password(user, current_password, new_password)
    user.rotate_session_token()
    queue_mail("password_changed", user.email, user_id=user.id)
    db.session.commit()


def remove_password(user, current_password):
    """Sign in by mailed link only: forget the password (a reset link chooses a new one).

    Other sessions end, as after a password change. Raises RateLimited, AuthError('wrong_password').
    """
    check_current_password(user, current_password)
    user.password_hash = None
    user.rotate_session_token()
    securitylog.record(user, "password_removed")
    queue_mail("password_changed", user.email, user_id=user.id)
    db.session.commit()


def email_change_token(user, new_email):
    return make_token("email", {"id": user.id, "new": new_email, "fp": fingerprint(user.email)})


def request_email_change(user, new_email, password):
    """Park the new address in user.new_email and mail a confirmation link to it.

    The old address is told too. When the new address already belongs to an account,
    the new address gets a notice instead of a link and the caller's answer is the same.
    """
    new_email = normalise_email(new_email)
    check_current_password(user, password)
    if new_email == user.email:
        raise AuthError("same_email")
    ratelimit.hit(f"email-change:{user.id}", _limit("RATELIMIT_EMAIL_CHANGE"), commit=False)
    # Parked and queued whether or not the address is taken (the sender decides which
    # mail goes out), so the answer does not tell; confirming checks it again.
    user.new_email = new_email
    queue_mail("email_change", new_email, user_id=user.id)
    db.session.commit()


def confirm_email_change(token):
    """Follow the link sent to the new address; returns the user. Raises TokenExpired/TokenInvalid, AuthError('taken')."""
    data = read_token("email", token, max_age=_limit("CONFIRM_TOKEN_MAX_AGE"))
    begin_writing()
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise TokenInvalid()
    user = db.session.get(User, data["id"])
    if user is None or user.deleted_at is not None or data.get("fp") != fingerprint(user.email) \
            or user.new_email != data.get("new"):
        raise TokenInvalid()
    if find_user_by_email(data["new"]) is not None:
        raise AuthError("taken")
    user.email = data["new"]
    user.new_email = None
    enqueue("user", user.id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AuthError("taken") from None
    return user


# --- approval by moderators -----------------------------------------------------------------

def _pending_query():
    return db.select(User).where(User.status == "pending", User.deleted_at.is_(None))


def pending_registrations():
    """Confirmed people waiting for a moderator, oldest first, with their organisation."""
    return db.session.scalars(
        _pending_query().options(db.joinedload(User.organisation)).order_by(User.confirmed_at, User.id)
    ).all()


def pending_registrations_count():
    """How many confirmed registrations wait for a moderator (for the review counters)."""
    return count(_pending_query().subquery())


def unconfirmed_registrations_count():
    return count(db.select(User).where(User.status == "unconfirmed", User.deleted_at.is_(None)).subquery())


def _pending_user(user_id):
    user = db.session.get(User, user_id)
    if user is None or user.status != "pending" or user.deleted_at is not None:
        raise AuthError("not_pending")
    return user


def approve_registration(moderator, user_id, admit_organisation=False):
    """Make a pending person a member; optionally admit their pending organisation too.

    Writes the audit log, commits, then mails the outcome in the person's language.
    Returns the user. Raises AuthError('not_pending') when someone else already decided.
    """
    user = _pending_user(user_id)
    user.status = "active"
    user.approved_at = utcnow()
    _audit(moderator, "approve_user", "user", user.id, organisation_id=user.organisation_id)
    org = user.organisation
    admitted = False
    if admit_organisation and org is not None and org.membership_status == "pending":
        org.membership_status = "active"
        org.member_since = date.today()
        org.badge_version = (org.badge_version or 0) + 1
        admitted = True
        _audit(moderator, "approve_organisation", "organisation", org.id, via_user_id=user.id)
    enqueue("user", user.id)
    queue_mail("approved", user.email, user_id=user.id, organisation_admitted=admitted)
    db.session.commit()
    return user


def reject_registration(moderator, user_id, reason):
    """Refuse a pending person: mail the reason, then delete the account.

    Their organisation goes too when it was created by this registration (still
    pending) and nobody else belongs to it. The audit entry keeps name and reason.
    Raises AuthError('not_pending').
    """
    user = _pending_user(user_id)
    org = user.organisation
    # The account is gone when the mail is composed: the row carries what it says.
    queue_mail("rejected", user.email, name=user.name, lang=user.locale, reason=reason)
    delete_org = bool(
        org is not None and org.membership_status == "pending"
        and count(db.select(User).where(User.organisation_id == org.id, User.id != user.id).subquery()) == 0
    )
    _audit(moderator, "reject_user", "user", user.id, reason,
           name=user.name, organisation=org.name if org else None, organisation_deleted=delete_org)
    user_id = user.id
    db.session.delete(user)
    if delete_org:
        db.session.flush()
        db.session.delete(org)
    enqueue("user", user_id)
    db.session.commit()



# --- account mails, composed after the response (auth/outbox.py) ---------------------------

def _mail(to, template, lang, subject, **context):
    return {"to": to, "template": template, "lang": lang, "subject": subject, **context}


def _live_user(row):
    """The account a queued mail is about: by id when the row names one, else by address."""
    user_id = row.data.get("user_id")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else find_user_by_email(row.address)
    return user if user is not None and user.deleted_at is None else None


def _compose_reset(row):
    user = _live_user(row)
    if user is None:  # an unknown address: nothing to send, as the page said nothing either
        return []
    url = external_url("auth.reset_password", lang=user.locale, token=reset_token(user))
    return [_mail(user.email, "auth_reset", user.locale, lambda: _("Set a new password for Agora"),
                  user=user, reset_url=url, minutes=_limit("RESET_TOKEN_MAX_AGE") // 60,
                  first_time=not user.password_hash)]


def _compose_confirm(row):
    user = _live_user(row)
    if user is None or user.status != "unconfirmed":
        return []
    if row.data.get("resend") and _rate_limited_quietly(f"confirm-account:{user.email}",
                                                         _limit("RATELIMIT_CONFIRM_ACCOUNT")):
        return []
    url = external_url("auth.confirm", lang=user.locale, token=confirmation_token(user))
    return [_mail(user.email, "auth_confirm", user.locale, lambda: _("Confirm your e-mail address for Agora"),
                  user=user, confirm_url=url, hours=_limit("CONFIRM_TOKEN_MAX_AGE") // 3600)]


def _compose_register_exists(row):
    user = _live_user(row)
    # At most a few notices an hour: the form must not become a way to flood someone's inbox.
    if user is None or _rate_limited_quietly(f"register-notice:{user.email}", (3, 3600)):
        return []
    return [_mail(user.email, "auth_register_exists", user.locale,
                  lambda: _("Someone tried to register on Agora with your e-mail address"),
                  user=user, reset_url=external_url("auth.reset_request", lang=user.locale),
                  login_url=external_url("auth.login", lang=user.locale))]


def _compose_signin_link(row):
    user = _live_user(row)
    if user is None or _rate_limited_quietly(f"signin-link:{user.id}", _limit("RATELIMIT_SIGNIN_LINK")):
        return []
    token = signin_token(user, row.data.get("remember"), row.data.get("next"))
    return [_mail(user.email, "auth_signin_link", user.locale, lambda: _("Finish signing in to Agora"),
                  user=user, signin_url=external_url("auth.signin_link", lang=user.locale, token=token),
                  minutes=_limit("SIGNIN_TOKEN_MAX_AGE") // 60,
                  reset_url=external_url("auth.reset_request", lang=user.locale))]


def _compose_password_changed(row):
    user = _live_user(row)
    if user is None:
        return []
    return [_mail(user.email, "auth_password_changed", user.locale, lambda: _("Your Agora password has been changed"),
                  user=user, reset_url=external_url("auth.reset_request", lang=user.locale))]


def _compose_email_change(row):
    user = _live_user(row)
    new_email = row.address
    if user is None or user.new_email != new_email:
        return []  # replaced by a newer request, or already confirmed
    reset_url = external_url("auth.reset_request", lang=user.locale)
    owner = find_user_by_email(new_email)
    if owner is not None and owner.id != user.id:
        return [_mail(new_email, "auth_email_taken", user.locale,
                      lambda: _("This e-mail address already has an Agora account"), reset_url=reset_url)]
    url = external_url("auth.confirm_email_change", lang=user.locale, token=email_change_token(user, new_email))
    return [
        _mail(new_email, "auth_email_change", user.locale, lambda: _("Confirm your new e-mail address for Agora"),
              user=user, confirm_url=url, hours=_limit("CONFIRM_TOKEN_MAX_AGE") // 3600),
        _mail(user.email, "auth_email_change_notice", user.locale,
              lambda: _("A new e-mail address was requested for your Agora account"),
              user=user, new_email=new_email, reset_url=reset_url),
    ]


def _compose_approved(row):
    user = _live_user(row)
    if user is None:
        return []
    return [_mail(user.email, "auth_approved", user.locale, lambda: _("Welcome to Agora: your account is ready"),
                  user=user, organisation_admitted=row.data.get("organisation_admitted", False),
                  login_url=external_url("auth.login", lang=user.locale),
                  home_url=external_url("main.home", lang=user.locale),
                  settings_url=external_url("auth.settings", lang=user.locale))]


def _compose_rejected(row):
    lang = row.data.get("lang", "nl")
    return [_mail(row.address, "auth_rejected", lang, lambda: _("Your registration for Agora"),
                  user={"name": row.data.get("name", "")}, reason=row.data.get("reason", ""),
                  register_url=external_url("auth.register", lang=lang))]


def _compose_signin_request(row):
    from .links import compose  # links builds on this module's sign-in checks

    return compose(row)


def _compose_new_device(row):
    user = _live_user(row)
    if user is None:
        return []
    return [_mail(user.email, "auth_new_device", user.locale, lambda: _("New sign-in to your Agora account"),
                  user=user, when=row.created_at, ip=row.data.get("ip", ""), agent=row.data.get("agent", ""),
                  security_url=external_url("auth.settings_security", lang=user.locale),
                  reset_url=external_url("auth.reset_request", lang=user.locale))]


def _compose_second_factor_reset(row):
    user = _live_user(row)
    if user is None:
        return []
    return [_mail(user.email, "auth_second_factor_reset", user.locale,
                  lambda: _("The second factor of your Agora account has been removed"),
                  user=user, security_url=external_url("auth.settings_security", lang=user.locale),
                  reset_url=external_url("auth.reset_request", lang=user.locale))]


_COMPOSERS = {
    "reset": _compose_reset,
    "confirm": _compose_confirm,
    "register_exists": _compose_register_exists,
    "signin_link": _compose_signin_link,
    "password_changed": _compose_password_changed,
    "email_change": _compose_email_change,
    "approved": _compose_approved,
    "rejected": _compose_rejected,
    "signin_request": _compose_signin_request,
    "new_device": _compose_new_device,
    "second_factor_reset": _compose_second_factor_reset,
}


def compose_account_mail(row):
    """The mails (keyword arguments for auth.mail.render_mail) a queued row stands for; [] for none."""
    return _COMPOSERS[row.kind](row)
