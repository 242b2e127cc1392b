"""Administration services: themes, roles, organisations and organisation change requests.

Every public function that writes is a unit of work (forum/transactions.py): it validates
everything first, then writes the change, its audit entry (forum.moderation.audit.record)
and any search outbox rows in one transaction, and commits; on any error nothing stays.
Views turn an AdminError into a message next to the right field.
"""
import re
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from .. import outbox
from ..errors import DomainError
from ..extensions import db
from ..models import (
    COUNTRIES, LANGUAGES, MEMBERSHIP_STATUSES, ORGANISATION_KINDS, ROLES, THEME_POST_POLICIES,
    THEME_VISIBILITIES, Notification, Organisation, OrganisationChangeRequest, Theme, Thread, User,
    count, utcnow,
)
from ..moderation.audit import record
from ..transactions import unit_of_work
from ..places import country_of, find_province

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME_MAX = 120
ORG_NAME_MAX = 200
DESCRIPTION_MAX = 2000
# Organisations a member may move to: the same ones a newcomer may choose.
CHOOSABLE_STATUSES = ("active", "pending")


class AdminError(DomainError):
    """A refused administration action (see forum.errors.DomainError)."""

    def messages(self):
        return {
            "slug_invalid": _("Use lower-case letters, digits and hyphens only, e.g. participation-law."),
            "slug_taken": _("Another theme already uses this address."),
            "name_required": _("Fill in a name."),
            "name_too_long": _("The name can be at most %(max)d characters.", max=self.params.get("max", NAME_MAX)),
            "description_too_long": _("The description can be at most %(max)d characters.", max=DESCRIPTION_MAX),
            "invalid_choice": _("Choose one of the listed options."),
            "province_country": _("This province is not in the chosen country."),
            "last_admin": _("You are the last administrator: make someone else administrator first."),
            "deleted_user": _("This account has been deleted."),
            "invalid_website": _("Enter a web address starting with http:// or https://."),
            "dates_order": _("The end date cannot be before the start date."),
            "merge_same": _("Choose another organisation: an organisation cannot be merged into itself."),
            "merge_merged": _("This organisation has already been merged into another one."),
            "org_unavailable": _("This organisation cannot be chosen. Choose another one from the list."),
            "same_org": _("You already belong to this organisation."),
            "already_decided": _("This request has already been handled by someone else."),
            "not_member": _("Only members can ask to change their organisation."),
        }


# -- helpers ---------------------------------------------------------------------------

def _text(value):
    return (value or "").strip()


def _check_name(value, field, max_length=NAME_MAX):
    value = _text(value)
    if not value:
        raise AdminError("name_required", field=field)
    if len(value) > max_length:
        raise AdminError("name_too_long", field=field, max=max_length)
    return value


def _check_choice(value, allowed, field):
    if value not in allowed:
        raise AdminError("invalid_choice", field=field)
    return value


def _changes(obj, values):
    """Apply `values` to obj; return {field: [old, new]} for what actually changed."""
    changed = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changed[name] = [old, new]
            setattr(obj, name, new)
    return changed


# -- themes ----------------------------------------------------------------------------

def ordered_themes():
    return db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id)).all()


def _theme_values(name_nl, name_fr, description_nl, description_fr, visibility, post_policy):
    values = {
        "name_nl": _check_name(name_nl, "name_nl"),
        "name_fr": _check_name(name_fr, "name_fr"),
        "description_nl": _text(description_nl),
        "description_fr": _text(description_fr),
        "visibility": _check_choice(visibility, THEME_VISIBILITIES, "visibility"),
        "post_policy": _check_choice(post_policy, THEME_POST_POLICIES, "post_policy"),
    }
    for field in ("description_nl", "description_fr"):
        if len(values[field]) > DESCRIPTION_MAX:
            raise AdminError("description_too_long", field=field)
    return values


@unit_of_work()
def create_theme(actor, slug, name_nl, name_fr, description_nl="", description_fr="",
                 visibility="members", post_policy="everyone"):
    """Add a theme at the end of the list. Commits; returns the theme.

    The slug is fixed once created: it is part of every thread and feed address.
    """
    slug = _text(slug).lower()
    if not SLUG_RE.match(slug) or len(slug) > 80:
        raise AdminError("slug_invalid", field="slug")
    values = _theme_values(name_nl, name_fr, description_nl, description_fr, visibility, post_policy)
    if db.session.scalar(db.select(Theme.id).where(Theme.slug == slug)) is not None:
        raise AdminError("slug_taken", field="slug")
    last = db.session.scalar(db.select(db.func.max(Theme.position))) or 0
    theme = Theme(slug=slug, position=last + 1, **values)
    db.session.add(theme)
    db.session.flush()
    record(actor, "create_theme", "theme", theme.id, slug=slug, **values)
    db.session.commit()
    return theme


@unit_of_work()
def update_theme(actor, theme, name_nl, name_fr, description_nl, description_fr, visibility, post_policy):
    """Rename, describe, change visibility or post policy. Commits; returns what changed.

    A visibility change reaches the search index through the outbox: members-only
    threads must drop out of anonymous results (and public ones come in).
    """
    values = _theme_values(name_nl, name_fr, description_nl, description_fr, visibility, post_policy)
    changed = _changes(theme, values)
    if not changed:
        return changed
    if "visibility" in changed:
        outbox.enqueue("theme", theme.id)
    record(actor, "update_theme", "theme", theme.id, changes=changed)
    db.session.commit()
    return changed


@unit_of_work()
def move_theme(actor, theme, direction):
    """Swap a theme with its neighbour ("up" or "down"); positions are renumbered 1..n. Commits."""
    _check_choice(direction, ("up", "down"), "direction")
    themes = list(ordered_themes())
    index = next(i for i, t in enumerate(themes) if t.id == theme.id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(themes):
        themes[index], themes[other] = themes[other], themes[index]
    for position, t in enumerate(themes, start=1):
        t.position = position
    record(actor, "move_theme", "theme", theme.id, direction=direction, position=theme.position)
    db.session.commit()


# -- people and roles ------------------------------------------------------------------

def admin_count():
    return count(db.select(User).where(User.role == "admin", User.deleted_at.is_(None)).subquery())


def is_last_admin(user):
    return user.role == "admin" and admin_count() <= 1


def list_users(query="", role=None):
    """Accounts (deleted ones left out), by name; `query` narrows on name or e-mail address."""
    stmt = db.select(User).where(User.deleted_at.is_(None)).options(db.joinedload(User.organisation))
    query = _text(query)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(db.or_(db.func.lower(User.name).like(like), User.email.like(like)))
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    return stmt.order_by(db.func.lower(User.name), User.id)


@unit_of_work()
def set_role(actor, user, role):
    """Make someone member, moderator or admin. Commits.

    The last administrator cannot step down: the site would have nobody left to manage it.
    """
    _check_choice(role, ROLES, "role")
    if user.deleted_at is not None:
        raise AdminError("deleted_user", field="role")
    if user.role == role:
        return False
    if user.role == "admin" and is_last_admin(user):
        raise AdminError("last_admin", field="role")
    old = user.role
    user.role = role
    record(actor, "set_role", "user", user.id, old=old, new=role)
    db.session.commit()
    return True


# -- organisations ---------------------------------------------------------------------

def list_organisations(query="", status=None):
    """Organisations that were not merged away, by name."""
    stmt = db.select(Organisation).where(Organisation.merged_into_id.is_(None))
    query = _text(query)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(db.or_(db.func.lower(Organisation.name).like(like),
                                 db.func.lower(Organisation.municipality).like(like)))
    if status in MEMBERSHIP_STATUSES:
        stmt = stmt.where(Organisation.membership_status == status)
    return stmt.order_by(db.func.lower(Organisation.name), Organisation.id)


def member_counts(org_ids):
    """{organisation id: number of accounts}, for the list."""
    if not org_ids:
        return {}
    rows = db.session.execute(
        db.select(User.organisation_id, db.func.count(User.id))
        .where(User.organisation_id.in_(org_ids), User.deleted_at.is_(None))
        .group_by(User.organisation_id)
    ).all()
    return dict(rows)


def _check_province(value, country, keep=""):
    """The province's code (a name in either language is accepted). A value that is no
    province, stored by an older version (`keep`), may stay until an admin picks one."""
    value = _text(value)
    if not value:
        return ""
    code = find_province(value)
    if code is None:
        if value == keep:
            return value
        raise AdminError("invalid_choice", field="province")
    if country_of(code) != country:
        raise AdminError("province_country", field="province")
    return code


def _org_values(name, kind, municipality, province, country, language, website, keep_province=""):
    website = _text(website)
    if website and (not re.match(r"^https?://[^\s/]+\.[^\s]+$", website) or len(website) > 300):
        raise AdminError("invalid_website", field="website")
    values = {
        "name": _check_name(name, "name", ORG_NAME_MAX),
        "kind": _check_choice(kind, ORGANISATION_KINDS, "kind"),
        "municipality": _text(municipality)[:120],
        "country": _check_choice(country, COUNTRIES, "country"),
        "province": _check_province(province, country, keep_province),
        "language": _check_choice(language, LANGUAGES, "language"),
        "website": website,
    }
    return values


def _membership_values(status, since, until):
    _check_choice(status, MEMBERSHIP_STATUSES, "membership_status")
    for value, field in ((since, "member_since"), (until, "member_until")):
        if value is not None and not isinstance(value, date):
            raise AdminError("invalid_choice", field=field)
    if since and until and until < since:
        raise AdminError("dates_order", field="member_until")
    return {"membership_status": status, "member_since": since, "member_until": until}


@unit_of_work()
def create_organisation(actor, name, kind="adviesraad", municipality="", province="", country="NL",
                        language="nl", website="", membership_status="pending", member_since=None,
                        member_until=None):
    """Add an organisation with a unique slug derived from its name. Commits; returns it."""
    from auth.services import unique_org_slug

    values = _org_values(name, kind, municipality, province, country, language, website)
    values.update(_membership_values(membership_status, member_since, member_until))
    org = Organisation(slug=unique_org_slug(values["name"]), **values)
    db.session.add(org)
    db.session.flush()
    record(actor, "create_organisation", "organisation", org.id, slug=org.slug, **values)
    db.session.commit()
    return org


@unit_of_work()
def update_organisation(actor, org, name, kind, municipality, province, country, language, website):
    """Change an organisation's details (the slug stays: badges embedded elsewhere use it). Commits."""
    values = _org_values(name, kind, municipality, province, country, language, website, org.province)
    changed = _changes(org, values)
    if not changed:
        return changed
    if {"name", "municipality"} & changed.keys():
        # Organisation names and places are searchable with the threads.
        outbox.enqueue("organisation", org.id)
    record(actor, "update_organisation", "organisation", org.id, changes=changed)
    db.session.commit()
    return changed


@unit_of_work()
def set_membership(actor, org, status, since=None, until=None, reason=""):
    """Set membership status and dates (what badges certify). Commits; returns what changed.

    Changed through the ORM so the badges area's event bumps badge_version.
    """
    values = _membership_values(status, since, until)
    changed = _changes(org, values)
    if not changed:
        return changed
    record(actor, "set_membership", "organisation", org.id, reason, changes=changed)
    db.session.commit()
    return changed


@unit_of_work()
def merge_organisations(actor, duplicate, survivor, reason=""):
    """Fold a duplicate into the surviving organisation. Commits; returns counts moved.

    Members, threads and open change requests move to the survivor; organisations
    merged earlier into the duplicate now point at the survivor too. The duplicate keeps
    its row (old links and the audit log refer to it) with merged_into_id set, and is
    left out of every list.
    """
    if duplicate.id == survivor.id:
        raise AdminError("merge_same", field="survivor")
    if duplicate.merged_into_id is not None:
        raise AdminError("merge_merged", field="survivor")
    if survivor.merged_into_id is not None:
        raise AdminError("merge_merged", field="survivor")
    user_ids = list(db.session.scalars(db.select(User.id).where(User.organisation_id == duplicate.id)))
    thread_ids = list(db.session.scalars(db.select(Thread.id).where(Thread.organisation_id == duplicate.id)))
    if user_ids:
        db.session.execute(db.update(User).where(User.id.in_(user_ids)).values(organisation_id=survivor.id))
    if thread_ids:
        db.session.execute(db.update(Thread).where(Thread.id.in_(thread_ids)).values(organisation_id=survivor.id))
    db.session.execute(
        db.update(OrganisationChangeRequest)
        .where(OrganisationChangeRequest.organisation_id == duplicate.id)
        .values(organisation_id=survivor.id)
    )
    db.session.execute(
        db.update(Organisation).where(Organisation.merged_into_id == duplicate.id)
        .values(merged_into_id=survivor.id)
    )
    duplicate.merged_into_id = survivor.id
    outbox.enqueue("organisation", duplicate.id)
    outbox.enqueue("organisation", survivor.id)
    for user_id in user_ids:
        outbox.enqueue("user", user_id)
    for thread_id in thread_ids:
        outbox.enqueue("thread", thread_id)
    record(actor, "merge_organisation", "organisation", duplicate.id, reason,
           survivor_id=survivor.id, users_moved=len(user_ids), threads_moved=len(thread_ids),
           name=duplicate.name)
    db.session.commit()
    db.session.expire_all()
    return {"users": len(user_ids), "threads": len(thread_ids)}


# -- organisation change requests ------------------------------------------------------

def choosable_organisations(user=None):
    """Organisations a member may ask to move to, by name (their own left out)."""
    stmt = db.select(Organisation).where(
        Organisation.membership_status.in_(CHOOSABLE_STATUSES), Organisation.merged_into_id.is_(None))
    if user is not None and user.organisation_id is not None:
        stmt = stmt.where(Organisation.id != user.organisation_id)
    return db.session.scalars(stmt.order_by(Organisation.name)).all()


def open_request_of(user):
    return db.session.scalar(
        db.select(OrganisationChangeRequest)
        .where(OrganisationChangeRequest.user_id == user.id, OrganisationChangeRequest.status == "open")
        .order_by(OrganisationChangeRequest.id.desc())
    )


@unit_of_work()
def request_organisation_change(user, organisation):
    """A member asks to move to another organisation; an earlier open request is withdrawn.

    Commits; returns the request. Moderators decide on /<lang>/admin/org-requests.
    """
    from ..permissions import is_member

    if not is_member(user):
        raise AdminError("not_member")
    if organisation is None or organisation.merged_into_id is not None \
            or organisation.membership_status not in CHOOSABLE_STATUSES:
        raise AdminError("org_unavailable", field="organisation")
    if organisation.id == user.organisation_id:
        raise AdminError("same_org", field="organisation")
    previous = open_request_of(user)
    if previous is not None:
        previous.status = "withdrawn"
        previous.decided_at = utcnow()
    change = OrganisationChangeRequest(user_id=user.id, organisation_id=organisation.id, status="open")
    db.session.add(change)
    db.session.commit()
    return change


@unit_of_work()
def withdraw_organisation_change(user):
    """The member withdraws their open request. Commits; False when there was none."""
    change = open_request_of(user)
    if change is None:
        return False
    change.status = "withdrawn"
    change.decided_at = utcnow()
    db.session.commit()
    return True


def open_requests():
    return db.session.scalars(
        db.select(OrganisationChangeRequest).where(OrganisationChangeRequest.status == "open")
        .options(db.joinedload(OrganisationChangeRequest.user).joinedload(User.organisation),
                 db.joinedload(OrganisationChangeRequest.organisation))
        .order_by(OrganisationChangeRequest.created_at, OrganisationChangeRequest.id)
    ).all()


def open_requests_count():
    return count(db.select(OrganisationChangeRequest)
                 .where(OrganisationChangeRequest.status == "open").subquery())


@unit_of_work()
def decide_organisation_change(moderator, change, approve, reason=""):
    """Approve (the member moves) or refuse a request; tell the member in their language.

    Writes the audit entry and an in-app notification, commits, then mails the member.
    Raises AdminError('already_decided') when someone else was first.
    """
    if change.status != "open":
        raise AdminError("already_decided")
    user = change.user
    organisation = change.organisation
    if user.deleted_at is not None:
        raise AdminError("already_decided")
    if approve and (organisation.merged_into_id is not None):
        raise AdminError("org_unavailable")
    change.status = "approved" if approve else "refused"
    change.decided_at = utcnow()
    previous_id = user.organisation_id
    if approve:
        user.organisation_id = organisation.id
        # The organisation shown with their posts in search results changes.
        outbox.enqueue("user", user.id)
    record(moderator, "approve_org_change" if approve else "refuse_org_change", "user", user.id, reason,
           request_id=change.id, organisation_id=organisation.id, previous_organisation_id=previous_id)
    lang = user.locale if user.locale in LANGUAGES else "nl"
    with force_locale(lang):
        if approve:
            text = _("Your account now belongs to %(organisation)s.", organisation=organisation.name)
        else:
            text = _("Your request to move to %(organisation)s was not accepted.", organisation=organisation.name)
    db.session.add(Notification(user_id=user.id, kind="organisation", actor_id=moderator.id,
                                data={"text": text, "decision": change.status, "organisation": organisation.name}))
    db.session.commit()
    _mail_decision(user, organisation, approve, reason, lang)
    return change


def _mail_decision(user, organisation, approved, reason, lang):
    from auth.mail import send_mail
    from auth.services import external_url

    template = "admin_org_change_approved" if approved else "admin_org_change_refused"
    subject = (lambda: _("Your Agora account has moved to %(organisation)s", organisation=organisation.name)) \
        if approved else (lambda: _("Your request to change organisation on Agora"))
    send_mail(user.email, template, lang, subject=subject, user=user, organisation=organisation,
              reason=reason, settings_url=external_url("org_change.request", lang=lang))
