"""Moderation pages: the review queue, flags, post and thread actions, members, the audit log.

Views parse the request, call a service in forum.moderation.services and redirect, or show
the form again with the message next to the field. The audit log has read routes only.
"""
import csv
import io
from datetime import date

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import joinedload

from ..errors import render_error
from ..extensions import db
from ..formtools import show_error
from ..i18n import current_language
from ..models import THREAD_KINDS, Flag, Post, Theme, Thread, User
from ..permissions import (
    admin_required, can_moderate, can_read_thread, can_sanction, is_member, member_required, moderator_required,
)
from ..threads.services import ForumError, slugify
from . import bp, services
from .forms import (
    EditForm, FlagForm, HideForm, KindForm, MergeForm, MoveForm, PinForm, ReasonForm, SanctionForm, option,
)
from .services import ModerationError

QUEUE_PAGE = 25
LOG_PAGE = 50


def _user():
    return current_user._get_current_object()


def _safe_next(default):
    """Where to go after an action: a local path from the form, else `default`.

    The sign-in page's check: browsers drop tabs and newlines in a Location, so
    "/<tab>/evil.example" would lead off the site, and a newline cannot be sent at all."""
    from auth.views import safe_next

    return safe_next(request.form.get("next") or request.args.get("next") or "") or default


def _thread_url(thread, **kw):
    return url_for("threads.thread", thread_id=thread.id, slug=slugify(thread.title), **kw)


def _post_or_404(post_id):
    return db.session.scalar(
        db.select(Post).where(Post.id == post_id).options(
            joinedload(Post.author), joinedload(Post.thread).joinedload(Thread.theme))
    ) or abort(404)


# -- the review queue ------------------------------------------------------------------

@bp.get("/")
@moderator_required
def queue():
    from auth.services import pending_registrations_count

    from ..events import services as event_services

    sort = "most" if request.args.get("sort") == "most" else "oldest"
    try:
        # Capped: OFFSET must stay inside PostgreSQL's bigint (?page=9999...).
        page = min(max(int(request.args.get("page", 1)), 1), 100_000)
    except ValueError:
        page = 1
    flagged_total = services.flagged_count()
    flagged = services.flagged_posts(sort, limit=QUEUE_PAGE, offset=(page - 1) * QUEUE_PAGE)
    held = services.held_posts()
    history = services.author_history(
        [p.author_id for p, _flags in flagged] + [p.author_id for p in held])
    return render_template(
        "moderation/queue.html", sort=sort, page=page,
        pages=max((flagged_total + QUEUE_PAGE - 1) // QUEUE_PAGE, 1),
        flagged=flagged, flagged_total=flagged_total, held=held, held_total=services.held_count(),
        pending_total=pending_registrations_count(), history=history, hide_form=HideForm(),
        held_events=event_services.held_events(), held_events_total=event_services.held_count(),
    )


# -- flagging (members) ----------------------------------------------------------------

def _flaggable_post(post_id):
    post = _post_or_404(post_id)
    if post.status != "visible" or not can_read_thread(current_user, post.thread):
        abort(404)
    if post.author_id == current_user.id:
        abort(403)
    return post


@bp.route("/flag/<int:post_id>", methods=["GET", "POST"])
@member_required
def flag(post_id):
    post = _flaggable_post(post_id)
    form = FlagForm()
    already = services.has_flagged(_user(), post)
    status = 200
    if request.method == "POST" and not already:
        status = 400
        if form.validate_on_submit():
            try:
                services.flag_post(_user(), post, form.reason.data, form.note.data)
            except ModerationError as exc:
                show_error(form, exc, form.reason)
            else:
                flash(_("Thank you. The moderators will look at this message; the author is not told who reported it."), "success")
                return redirect(_thread_url(post.thread))
    return render_template("moderation/flag.html", post=post, thread=post.thread, form=form,
                           already=already), status


# -- post actions ----------------------------------------------------------------------

def _render_post_page(post, status=200, **forms):
    forms.setdefault("hide_form", HideForm(formdata=None))
    forms.setdefault("reason_form", ReasonForm(formdata=None))
    flags = db.session.scalars(
        db.select(Flag).where(Flag.post_id == post.id).order_by(Flag.resolved_at.is_not(None), Flag.created_at)
    ).all()
    flaggers = {u.id: u for u in db.session.scalars(
        db.select(User).where(User.id.in_({f.user_id for f in flags})))} if flags else {}
    history = services.author_history([post.author_id])
    return render_template(
        "moderation/post.html", post=post, thread=post.thread, flags=flags, flaggers=flaggers,
        open_flags=[f for f in flags if f.resolved_at is None],
        history=history.get(post.author_id), **forms,
    ), status


@bp.get("/p/<int:post_id>")
@moderator_required
def post(post_id):
    return _render_post_page(_post_or_404(post_id))


def _post_action(post_id, action, form_class, form_name, done_message):
    post = _post_or_404(post_id)
    form = form_class()
    if not form.validate_on_submit():
        return _render_post_page(post, 400, **{form_name: form})
    try:
        action(post, form)
    except ModerationError as exc:
        show_error(form, exc, form.reason)
        return _render_post_page(post, 400, **{form_name: form})
    flash(done_message(), "success")
    return redirect(_safe_next(url_for("moderation.post", post_id=post.id)))


@bp.post("/p/<int:post_id>/hide")
@moderator_required
def hide_post(post_id):
    return _post_action(post_id, lambda p, f: services.hide_post(_user(), p, f.reason.data),
                        HideForm, "hide_form", lambda: _("The message has been hidden; the author has been told why."))


@bp.post("/p/<int:post_id>/restore")
@moderator_required
def restore_post(post_id):
    return _post_action(post_id, lambda p, f: services.restore_post(_user(), p, f.reason.data),
                        ReasonForm, "reason_form", lambda: _("The message is visible again."))


@bp.post("/p/<int:post_id>/dismiss")
@moderator_required
def dismiss_flags(post_id):
    return _post_action(post_id, lambda p, f: services.dismiss_flags(_user(), p, f.reason.data),
                        ReasonForm, "reason_form", lambda: _("The reports have been dismissed."))


@bp.post("/p/<int:post_id>/approve")
@moderator_required
def approve_post(post_id):
    return _post_action(post_id, lambda p, f: services.approve_post(_user(), p),
                        ReasonForm, "reason_form", lambda: _("The message has been published."))


@bp.post("/p/<int:post_id>/delete")
@moderator_required
def delete_post(post_id):
    return _post_action(post_id, lambda p, f: services.delete_post(_user(), p, f.reason.data),
                        ReasonForm, "reason_form", lambda: _("The message has been deleted."))


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@moderator_required
def edit_post(post_id):
    post = _post_or_404(post_id)
    if post.status == "deleted":
        abort(404)
    form = EditForm()
    if request.method == "GET":
        form.body.data = post.body_source
        form.title.data = post.thread.title
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                services.edit_post(_user(), post, form.body.data,
                                   title=form.title.data if post.number == 1 else None,
                                   reason=form.reason.data)
            except (ModerationError, ForumError) as exc:
                show_error(form, exc, form.body)
            else:
                flash(_("The message has been changed; the earlier version is kept in its history."), "success")
                return redirect(url_for("threads.post", post_id=post.id))
    return render_template("moderation/edit_post.html", post=post, thread=post.thread, form=form), status


# -- thread actions --------------------------------------------------------------------

def _thread_or_404(thread_id):
    return db.session.scalar(
        db.select(Thread).where(Thread.id == thread_id).options(joinedload(Thread.theme))) or abort(404)


def _thread_forms(thread, **given):
    lang = current_language()
    themes = db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id)).all()
    forms = {
        "pin_form": PinForm(formdata=None, level=thread.pinned or ""),
        "move_form": MoveForm(formdata=None),
        "merge_form": MergeForm(formdata=None),
        "kind_form": KindForm(formdata=None, kind=thread.kind),
        "reason_form": ReasonForm(formdata=None),
    }
    forms.update(given)
    forms["move_form"].theme.choices = [option(t.id, t.name(lang)) for t in themes if t.id != thread.theme_id]
    from ..threads.forms import KIND_LABELS
    forms["kind_form"].kind.choices = [option(k, KIND_LABELS[k]) for k in THREAD_KINDS if k not in ("advice", "event")]
    return forms


def _render_thread_page(thread, status=200, **given):
    merged_into = db.session.get(Thread, thread.merged_into_id) if thread.merged_into_id else None
    return render_template("moderation/thread.html", thread=thread, merged_into=merged_into,
                           **_thread_forms(thread, **given)), status


@bp.get("/t/<int:thread_id>")
@moderator_required
def thread(thread_id):
    return _render_thread_page(_thread_or_404(thread_id))


def _thread_action(thread_id, form_class, form_name, action, done_message):
    thread = _thread_or_404(thread_id)
    form = form_class()
    if form_name in ("move_form", "kind_form"):
        # Choices are needed for validation and for showing the form again.
        _thread_forms(thread, **{form_name: form})
    if not form.validate_on_submit():
        return _render_thread_page(thread, 400, **{form_name: form})
    try:
        result = action(thread, form)
    except ModerationError as exc:
        show_error(form, exc, form.reason)
        return _render_thread_page(thread, 400, **{form_name: form})
    flash(done_message(), "success")
    target = result if isinstance(result, Thread) else thread
    return redirect(_safe_next(url_for("moderation.thread", thread_id=target.id)))


@bp.post("/t/<int:thread_id>/lock")
@moderator_required
def lock_thread(thread_id):
    lock = request.form.get("action") != "unlock"
    return _thread_action(
        thread_id, ReasonForm, "reason_form",
        lambda t, f: services.set_locked(_user(), t, lock, f.reason.data),
        lambda: _("The topic is locked: nobody can reply.") if lock else _("The topic is open for replies again."))


@bp.post("/t/<int:thread_id>/pin")
@moderator_required
def pin_thread(thread_id):
    return _thread_action(
        thread_id, PinForm, "pin_form",
        lambda t, f: services.set_pinned(_user(), t, f.level.data, f.reason.data),
        lambda: _("The pinning has been changed."))


@bp.post("/t/<int:thread_id>/move")
@moderator_required
def move_thread(thread_id):
    return _thread_action(
        thread_id, MoveForm, "move_form",
        lambda t, f: services.move_thread(_user(), t, f.theme.data, f.reason.data),
        lambda: _("The topic has been moved."))


@bp.post("/t/<int:thread_id>/merge")
@moderator_required
def merge_thread(thread_id):
    return _thread_action(
        thread_id, MergeForm, "merge_form",
        lambda t, f: services.merge_thread(_user(), t, f.target.data, f.reason.data),
        lambda: _("The topics have been merged; the old address leads to this topic."))


@bp.post("/t/<int:thread_id>/vacancy")
@moderator_required
def vacancy(thread_id):
    close = request.form.get("action") != "reopen"
    return _thread_action(
        thread_id, ReasonForm, "reason_form",
        lambda t, f: services.set_vacancy_closed(_user(), t, close, f.reason.data),
        lambda: _("The vacancy has been closed.") if close else _("The vacancy is open again."))


@bp.post("/t/<int:thread_id>/kind")
@moderator_required
def change_kind(thread_id):
    return _thread_action(
        thread_id, KindForm, "kind_form",
        lambda t, f: services.change_kind(_user(), t, f.kind.data, f.reason.data),
        lambda: _("The kind of topic has been changed."))


# -- members and sanctions -------------------------------------------------------------

def _member_or_404(user_id):
    member = db.session.scalar(
        db.select(User).where(User.id == user_id).options(joinedload(User.organisation))) or abort(404)
    if member.deleted_at is not None:
        abort(404)
    return member


def _render_member_page(member, status=200, form=None, lift_form=None):
    return render_template(
        "moderation/user.html", member=member, overview=services.member_overview(member),
        form=form or SanctionForm(formdata=None), lift_form=lift_form or ReasonForm(formdata=None),
        may_sanction=can_sanction(current_user, member),
    ), status


@bp.get("/users/<int:user_id>")
@moderator_required
def user(user_id):
    return _render_member_page(_member_or_404(user_id))


@bp.post("/users/<int:user_id>/sanction")
@moderator_required
def sanction(user_id):
    member = _member_or_404(user_id)
    if not can_sanction(current_user, member):
        abort(403)
    form = SanctionForm()
    if not form.validate_on_submit():
        return _render_member_page(member, 400, form=form)
    try:
        services.sanction(_user(), member, form.action.data, form.reason.data, until=form.until_date)
    except ModerationError as exc:
        show_error(form, exc, form.reason)
        return _render_member_page(member, 400, form=form)
    flash({
        "warn_user": lambda: _("The warning has been sent."),
        "silence_user": lambda: _("The member has been silenced."),
        "suspend_user": lambda: _("The member has been suspended and signed out."),
    }[form.action.data](), "success")
    return redirect(url_for("moderation.user", user_id=member.id))


@bp.post("/users/<int:user_id>/lift")
@moderator_required
def lift(user_id):
    member = _member_or_404(user_id)
    if not can_sanction(current_user, member):
        abort(403)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _render_member_page(member, 400, lift_form=form)
    try:
        if request.form.get("which") == "suspension":
            services.lift_suspension(_user(), member, form.reason.data)
        else:
            services.lift_silence(_user(), member, form.reason.data)
    except ModerationError as exc:
        show_error(form, exc, form.reason)
        return _render_member_page(member, 400, lift_form=form)
    flash(_("The measure has been lifted."), "success")
    return redirect(url_for("moderation.user", user_id=member.id))


# -- the audit log (read only) ---------------------------------------------------------

def _parse_date(value):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _log_filters():
    args = request.args
    actor = args.get("actor", "")
    filters = {
        "action": args.get("action", "").strip(),
        "actor_id": int(actor) if actor.isdigit() else None,
        "target_type": args.get("target_type", "").strip(),
        "date_from": _parse_date(args.get("from", "")),
        "date_to": _parse_date(args.get("to", "")),
    }
    errors = {}
    if args.get("from") and filters["date_from"] is None:
        errors["from"] = _("Enter a date like 2025-03-31.")
    if args.get("to") and filters["date_to"] is None:
        errors["to"] = _("Enter a date like 2025-03-31.")
    return filters, errors


@bp.get("/log")
@moderator_required
def log():
    filters, errors = _log_filters()
    try:
        page = min(max(int(request.args.get("page", 1)), 1), 100_000)  # OFFSET fits a bigint
    except ValueError:
        page = 1
    pagination = db.paginate(services.audit_query(**filters), page=page, per_page=LOG_PAGE,
                             error_out=False, count=True)
    actions, actors, types = services.audit_choices()
    link_args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "moderation/log.html", entries=list(pagination.items), pagination=pagination,
        actions=actions, actors=actors, types=types, args=request.args, errors=errors,
        link_args=link_args,
    ), 400 if errors else 200


@bp.get("/log.csv")
@admin_required
def log_csv():
    filters, _errors = _log_filters()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in services.audit_csv_rows(services.audit_query(**filters)):
        writer.writerow(row)
    # A BOM so that spreadsheet programs read the accents as UTF-8.
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="agora-audit-{date.today().isoformat()}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(CSRFError)
def csrf_failed(exc):
    """Expired or missing CSRF token: show the form again with what was typed, never lose it."""
    message = _("Your session has expired or the form was sent twice. Check your text and send it again.")
    endpoint = request.endpoint
    args = request.view_args or {}
    try:
        if endpoint == "moderation.edit_post" and can_moderate(current_user):
            post = db.session.get(Post, args.get("post_id"))
            if post is not None:
                form = EditForm(meta={"csrf": False})
                form.body.errors = [message]
                return render_template("moderation/edit_post.html", post=post, thread=post.thread, form=form), 400
        if endpoint == "moderation.flag" and is_member(current_user):
            post = db.session.get(Post, args.get("post_id"))
            if post is not None and post.status == "visible" and can_read_thread(current_user, post.thread):
                form = FlagForm(meta={"csrf": False})
                form.note.errors = [message]
                return render_template("moderation/flag.html", post=post, thread=post.thread, form=form,
                                       already=False), 400
        if endpoint == "moderation.sanction" and can_moderate(current_user):
            member = db.session.get(User, args.get("user_id"))
            if member is not None:
                form = SanctionForm(meta={"csrf": False})
                form.reason.errors = [message]
                return _render_member_page(member, 400, form=form)
    except Exception:  # the fallback below still tells the moderator what happened
        current_app.logger.exception("could not re-render a moderation form after a CSRF error")
    return render_error(400, message)
