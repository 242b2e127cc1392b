"""Administration pages under /<lang>/admin, and the member's organisation change request.

Admins manage themes, roles and organisations; moderators see the overview and decide
on organisation change requests. Views parse, call a service, and render or redirect.
"""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from auth.forms import option
from auth.views import safe_next

from ..extensions import db
from ..formtools import show_error
from ..i18n import current_language
from ..models import ROLES, Organisation, OrganisationChangeRequest, Theme, User
from ..permissions import admin_required, member_required, moderator_required
from . import bp, chart, org_change_bp, services, stats
from .forms import (
    KIND_LABELS, MEMBERSHIP_LABELS, ROLE_LABELS, STATUS_LABELS, DecisionForm, EditThemeForm, MembershipForm,
    MergeForm, NewOrganisationForm, OrganisationChangeForm, OrganisationForm, RoleForm, ThemeForm,
)
from .services import AdminError

PER_PAGE = 50


def _user():
    return current_user._get_current_object()


def _page():
    try:
        # Capped: OFFSET must stay inside PostgreSQL's bigint (?page=9999...).
        return min(max(int(request.args.get("page", 1)), 1), 100_000)
    except ValueError:
        return 1


@bp.app_context_processor
def admin_labels():
    return {"role_labels": ROLE_LABELS, "status_labels": STATUS_LABELS,
            "membership_labels": MEMBERSHIP_LABELS, "org_kind_labels": KIND_LABELS}


# -- overview --------------------------------------------------------------------------

@bp.get("/")
@moderator_required
def overview():
    lang = current_language()
    weekly = stats.posts_per_week()
    flags, oldest_flag = stats.open_flags()
    return render_template(
        "admin/overview.html",
        members=stats.members_by_status(), roles=stats.members_by_role(),
        organisations=stats.organisations_by_status(),
        weekly=weekly, chart=chart.posts_chart(weekly, lang), swatch=chart.swatch,
        flags=flags, oldest_flag=format_timedelta(oldest_flag, threshold=0.9) if oldest_flag else None,
        open_requests=services.open_requests_count(),
    )


# -- themes ----------------------------------------------------------------------------

def _theme_or_404(theme_id):
    return db.session.get(Theme, theme_id) or abort(404)


@bp.get("/themes")
@admin_required
def themes():
    return render_template("admin/themes.html", themes=services.ordered_themes())


@bp.route("/themes/new", methods=["GET", "POST"])
@admin_required
def new_theme():
    form = ThemeForm()
    status = 200
    if form.validate_on_submit():
        try:
            theme = services.create_theme(
                _user(), form.slug.data, form.name_nl.data, form.name_fr.data,
                form.description_nl.data, form.description_fr.data, form.visibility.data, form.post_policy.data)
        except AdminError as exc:
            show_error(form, exc)
            status = 400
        else:
            flash(_("The theme “%(name)s” has been created.", name=theme.name(current_language())), "success")
            return redirect(url_for("admin.themes"))
    elif form.is_submitted():
        status = 400
    return render_template("admin/theme_form.html", form=form, theme=None), status


@bp.route("/themes/<int:theme_id>", methods=["GET", "POST"])
@admin_required
def edit_theme(theme_id):
    theme = _theme_or_404(theme_id)
    form = EditThemeForm(obj=theme if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_theme(
                _user(), theme, form.name_nl.data, form.name_fr.data, form.description_nl.data,
                form.description_fr.data, form.visibility.data, form.post_policy.data)
        except AdminError as exc:
            show_error(form, exc)
            status = 400
        else:
            flash(_("The theme has been saved."), "success")
            return redirect(url_for("admin.themes"))
    elif form.is_submitted():
        status = 400
    return render_template("admin/theme_form.html", form=form, theme=theme), status


@bp.post("/themes/<int:theme_id>/move")
@admin_required
def move_theme(theme_id):
    theme = _theme_or_404(theme_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    services.move_theme(_user(), theme, direction)
    return redirect(url_for("admin.themes", _anchor=f"theme-{theme.id}"))


# -- people ----------------------------------------------------------------------------

def _user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        abort(404)
    return user


@bp.get("/users")
@admin_required
def users():
    q = (request.args.get("q") or "").strip()[:100]
    role = request.args.get("role") if request.args.get("role") in ROLES else ""
    pagination = db.paginate(services.list_users(q, role), page=_page(), per_page=PER_PAGE, error_out=False)
    args = {k: v for k, v in (("q", q), ("role", role)) if v}
    return render_template("admin/users.html", pagination=pagination, people=list(pagination.items),
                           q=q, role=role, args=args, role_form=RoleForm())


@bp.post("/users/<int:user_id>/role")
@admin_required
def set_role(user_id):
    user = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = services.set_role(_user(), user, form.role.data)
    except AdminError as exc:
        flash(exc.message, "error")
    else:
        if changed:
            flash(_("%(name)s is now %(role)s.", name=user.name, role=ROLE_LABELS[user.role]), "success")
    return redirect(safe_next(request.form.get("back")) or url_for("admin.users"))


@bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_user(user_id):
    from ..privacy import services as privacy
    from ..privacy.forms import AdminDeleteAccountForm

    user = _user_or_404(user_id)
    if user.id == current_user.id:
        # Deleting your own account asks for your password: that is the member's page.
        return redirect(url_for("privacy.delete"))
    form = AdminDeleteAccountForm()
    status = 200
    if form.validate_on_submit():
        name = user.name
        try:
            privacy.delete_account(_user(), user, form.mode.data, reason=form.reason.data)
        except privacy.PrivacyError as exc:
            show_error(form, exc)
            status = 400
        else:
            flash(_("The account of %(name)s has been deleted.", name=name), "success")
            return redirect(url_for("admin.users"))
    elif form.is_submitted():
        status = 400
    return render_template("admin/user_delete.html", form=form, person=user), status


# -- organisations ---------------------------------------------------------------------

def _org_or_404(org_id):
    org = db.session.get(Organisation, org_id)
    if org is None or org.merged_into_id is not None:
        abort(404)
    return org


@bp.get("/organisations")
@admin_required
def organisations():
    q = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") if request.args.get("status") in MEMBERSHIP_LABELS else ""
    pagination = db.paginate(services.list_organisations(q, status), page=_page(), per_page=PER_PAGE,
                             error_out=False)
    orgs = list(pagination.items)
    args = {k: v for k, v in (("q", q), ("status", status)) if v}
    return render_template("admin/organisations.html", pagination=pagination, orgs=orgs, q=q, status=status,
                           args=args, counts=services.member_counts([o.id for o in orgs]))


@bp.route("/organisations/new", methods=["GET", "POST"])
@admin_required
def new_organisation():
    form = NewOrganisationForm()
    status = 200
    if form.validate_on_submit():
        try:
            org = services.create_organisation(
                _user(), form.name.data, form.kind.data, form.municipality.data, form.province.data,
                form.country.data, form.language.data, form.website.data, form.membership_status.data,
                form.member_since.data, form.member_until.data)
        except AdminError as exc:
            show_error(form, exc)
            status = 400
        else:
            flash(_("The organisation “%(name)s” has been added.", name=org.name), "success")
            return redirect(url_for("admin.edit_organisation", org_id=org.id))
    elif form.is_submitted():
        status = 400
    return render_template("admin/organisation_new.html", form=form), status


def _render_organisation(org, form=None, membership_form=None, status=200):
    form = form or OrganisationForm(obj=org, formdata=None)
    membership_form = membership_form or MembershipForm(obj=org, formdata=None)
    members = db.session.scalars(
        db.select(User).where(User.organisation_id == org.id, User.deleted_at.is_(None)).order_by(User.name)
    ).all()
    return render_template("admin/organisation.html", org=org, form=form, membership_form=membership_form,
                           members=members), status


@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
@admin_required
def edit_organisation(org_id):
    org = _org_or_404(org_id)
    if request.method == "GET":
        return _render_organisation(org)
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            services.update_organisation(_user(), org, form.name.data, form.kind.data, form.municipality.data,
                                         form.province.data, form.country.data, form.language.data,
                                         form.website.data)
        except AdminError as exc:
            show_error(form, exc)
        else:
            flash(_("The organisation has been saved."), "success")
            return redirect(url_for("admin.edit_organisation", org_id=org.id))
    return _render_organisation(org, form=form, status=400)


@bp.post("/organisations/<int:org_id>/membership")
@admin_required
def set_membership(org_id):
    org = _org_or_404(org_id)
    form = MembershipForm()
    if form.validate_on_submit():
        try:
            services.set_membership(_user(), org, form.membership_status.data, form.member_since.data,
                                    form.member_until.data, form.reason.data)
        except AdminError as exc:
            show_error(form, exc)
        else:
            flash(_("The membership has been saved."), "success")
            return redirect(url_for("admin.edit_organisation", org_id=org.id))
    return _render_organisation(org, membership_form=form, status=400)


def _merge_form(org):
    form = MergeForm()
    form.survivor.choices = [option("", _("— Choose the organisation that stays —"))] + [
        option(str(o.id), f"{o.name} ({o.municipality})" if o.municipality else o.name)
        for o in db.session.scalars(services.list_organisations()) if o.id != org.id
    ]
    return form


@bp.route("/organisations/<int:org_id>/merge", methods=["GET", "POST"])
@admin_required
def merge_organisation(org_id):
    org = _org_or_404(org_id)
    form = _merge_form(org)
    status = 200
    if form.validate_on_submit():
        survivor = db.session.get(Organisation, int(form.survivor.data)) if form.survivor.data.isdigit() else None
        if survivor is None:
            abort(400)
        try:
            moved = services.merge_organisations(_user(), org, survivor, form.reason.data)
        except AdminError as exc:
            show_error(form, exc)
            status = 400
        else:
            flash(_("Merged: %(members)s and %(topics)s moved to %(name)s.",
                    members=ngettext("%(num)d member", "%(num)d members", moved["users"]),
                    topics=ngettext("%(num)d topic", "%(num)d topics", moved["threads"]),
                    name=survivor.name), "success")
            return redirect(url_for("admin.edit_organisation", org_id=survivor.id))
    elif form.is_submitted():
        status = 400
    return render_template("admin/organisation_merge.html", form=form, org=org), status


# -- organisation change requests (moderators) -----------------------------------------

def _change_or_404(request_id):
    return db.session.get(OrganisationChangeRequest, request_id) or abort(404)


@bp.get("/org-requests")
@moderator_required
def org_requests():
    return render_template("admin/org_requests.html", requests=services.open_requests(), form=DecisionForm())


def _decide(request_id, approve):
    change = _change_or_404(request_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    name = change.user.name
    try:
        services.decide_organisation_change(_user(), change, approve, form.reason.data)
    except AdminError as exc:
        flash(exc.message, "info")
    else:
        if approve:
            flash(_("%(name)s has been moved and told by mail.", name=name), "success")
        else:
            flash(_("The request of %(name)s has been refused and they have been told by mail.", name=name),
                  "success")
    return redirect(url_for("admin.org_requests"))


@bp.post("/org-requests/<int:request_id>/approve")
@moderator_required
def approve_org_request(request_id):
    return _decide(request_id, True)


@bp.post("/org-requests/<int:request_id>/refuse")
@moderator_required
def refuse_org_request(request_id):
    return _decide(request_id, False)


# -- the member's side -----------------------------------------------------------------

def _org_change_form(user):
    form = OrganisationChangeForm()
    form.organisation.choices = [option("", _("— Choose your council —"))] + [
        option(str(o.id), f"{o.name} ({o.municipality})" if o.municipality and o.municipality not in o.name else o.name)
        for o in services.choosable_organisations(user)
    ]
    return form


@org_change_bp.route("/organisation", methods=["GET", "POST"], endpoint="request")
@member_required
def request_change():
    user = _user()
    form = _org_change_form(user)
    status = 200
    if form.validate_on_submit():
        org = db.session.get(Organisation, int(form.organisation.data)) if form.organisation.data.isdigit() else None
        try:
            services.request_organisation_change(user, org)
        except AdminError as exc:
            show_error(form, exc)
            status = 400
        else:
            flash(_("Your request has been sent. A moderator will look at it; you will get a mail."), "success")
            return redirect(url_for("org_change.request"))
    elif form.is_submitted():
        status = 400
    return render_template("admin/org_change.html", form=form, open_change=services.open_request_of(user),
                           withdraw_form=DecisionForm(formdata=None), tab="organisation"), status


@org_change_bp.post("/organisation/withdraw")
@member_required
def withdraw():
    if not DecisionForm().validate_on_submit():
        abort(400)
    if services.withdraw_organisation_change(_user()):
        flash(_("Your request has been withdrawn."), "success")
    return redirect(url_for("org_change.request"))
