"""Event pages: the upcoming list, one event with registration, planning forms, CSV and iCalendar."""
import csv
import io
import time
from datetime import date, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from .. import pagecache, ratelimit
from ..extensions import db
from ..formtools import option as choice
from ..formtools import show_error
from ..i18n import current_language
from ..models import Organisation
from ..moderation.services import csv_safe
from ..permissions import is_member, member_required, moderator_required
from ..places import CODES, province_choices, province_name
from . import bp, ics, queries, repeat, services
from .forms import KIND_LABELS, LANGUAGE_LABELS, UMBRELLA, EventForm, RegistrationForm
from .models import EVENT_KINDS, EVENT_LANGUAGES, Event, Registration
from .policy import can_create_any_event, can_manage_event, can_see_event, can_see_online_link
from .services import EventError, local_time

PER_PAGE = 30


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _event_or_404(event_id):
    return db.session.get(Event, event_id) or abort(404)


def _filters():
    """The list filters from the query string; unknown values are ignored, not errors."""
    province = request.args.get("province") or None
    kind = request.args.get("kind") or None
    language = request.args.get("language") or None
    theme = request.args.get("theme") or None
    return {
        "theme": theme if theme in {t.slug for t in _themes()} else None,
        "province": province if province in CODES else None,
        "kind": kind if kind in EVENT_KINDS else None,
        "language": language if language in EVENT_LANGUAGES else None,
        "mine": request.args.get("mine") == "1" and is_member(current_user),
    }


@bp.get("/events")
def upcoming():
    """Upcoming events, or with ?past=1 the ones that are over (latest first); kept per
    worker with its reader's parts as slots (forum/pagecache.py) for a minute at most (an
    event that is over leaves the list within the minute), per council (a member sees their
    own council's and province's events), and not for "only mine"."""
    user = _user()
    html, _meta = pagecache.page(
        "events", (*pagecache.site_counters(), int(time.time() // 60)), _render_upcoming, {},
        keep=request.args.get("mine") != "1", vary=(getattr(user, "organisation_id", None),))
    return html


def _render_upcoming():
    filters = _filters()
    page = request.args.get("page", 1, type=int) or 1
    page = max(1, min(page, 10000))
    show_past = request.args.get("past") == "1"
    visible = queries.visible_events(_user(), **filters)
    stmt = queries.past(visible) if show_past else queries.upcoming(visible)
    total = db.session.scalar(db.select(db.func.count()).select_from(stmt.order_by(None).subquery()))
    events = db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    lang = current_language()
    return render_template(
        "events/list.html", events=events, filters=filters, page=page, pages=max(1, -(-total // PER_PAGE)),
        total=total, show_past=show_past,
        page_args={**{k: ("1" if v is True else v) for k, v in filters.items() if v}, **({"past": "1"} if show_past else {})},
        # Labels translated once a page, not once an event (they are lazy strings).
        kind_labels={k: str(v) for k, v in KIND_LABELS.items()},
        language_labels={k: str(v) for k, v in LANGUAGE_LABELS.items()},
        provinces=province_choices(lang), when=lambda e: services.when_text(e, lang),
        themes=[(t.slug, t.name(lang)) for t in _themes()],
        repeat_text=lambda e: services.repeat_text(e, lang),
        province_name=lambda code: province_name(code, lang), can_create=can_create_any_event(current_user),
    ), {}


@bp.get("/events/month")
def month():
    """One month as a list by day (works without JavaScript, reads well to a screen reader)."""
    lang = current_language()
    first = _month_arg(request.args.get("month"))
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    start, end = queries.utc_midnight(first), queries.utc_midnight(following)
    stmt = queries.between(queries.visible_events(_user()), start, end)
    days = {}
    for e in db.session.scalars(stmt.limit(2000)):
        for times in repeat.between(e, start, end):  # each meeting of a series on its own day
            days.setdefault(local_time(times[0], e).date(), []).append((times[0], e, services.when_text(e, lang, times)))
    days = [(day, [(e, text) for _start, e, text in sorted(items, key=lambda item: (item[0], item[1].id))])
            for day, items in sorted(days.items())]
    return render_template(
        "events/month.html", days=days, first=first, previous=previous, following=following,
        kind_labels=KIND_LABELS,
        day_label=lambda d: format_date(d, "EEEE d MMMM"), month_label=format_date(first, "LLLL y"),
    )


def _month_arg(value):
    """'2026-12' as its first day; anything else is this month."""
    try:
        year, number = (int(part) for part in (value or "").split("-"))
        return date(year, number, 1) if 1900 < year < 3000 else date.today().replace(day=1)
    except ValueError:
        return date.today().replace(day=1)


def _themes():
    from ..models import Theme

    return db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id)).all()


def _organiser_choices(user):
    choices = []
    if user.is_moderator:
        choices.append(choice(UMBRELLA, _("The umbrella organisation")))
    if user.organisation is not None:
        choices.append(choice(str(user.organisation.id), user.organisation.name))
    return choices


def _prepare(form, user):
    lang = current_language()
    form.organisation.choices = _organiser_choices(user)
    form.province.choices = [choice("", _("No province"))] + [choice(c, n) for c, n in province_choices(lang)]
    form.audience_provinces.choices = [choice(c, n) for c, n in province_choices(lang)]
    form.theme.choices = [choice("", _("No theme"))] + [choice(str(t.id), t.name(lang)) for t in _themes()]


def _organiser(form):
    value = form.organisation.data
    if value == UMBRELLA or not value:
        return None
    try:
        return db.session.get(Organisation, int(value))
    except ValueError:
        return None


@bp.route("/events/new", methods=["GET", "POST"])
@member_required
def new():
    user = _user()
    if not can_create_any_event(user):
        abort(403)
    form = EventForm()
    _prepare(form, user)
    if request.method == "GET":
        org = user.organisation if not user.is_moderator else None
        form.organisation.data = str(org.id) if org is not None else (UMBRELLA if user.is_moderator else "")
        form.timezone.data = services.default_timezone(org, user)
        form.language.data = current_language()
    if form.validate_on_submit():
        try:
            event = services.create_event(user, _organiser(form), form.service_data())
        except EventError as exc:
            show_error(form, exc, fallback=form.title)
        except ratelimit.RateLimited:
            form.form_errors.append(_("You have planned several events in a short time. Wait an hour and "
                                      "send the form again; what you typed is still here."))
            return render_template("events/form.html", form=form, event=None), 429
        else:
            flash(_("The event has been planned."), "success")
            return redirect(url_for("events.event", event_id=event.id))
    return render_template("events/form.html", form=form, event=None), 400 if form.errors else 200


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@member_required
def edit(event_id):
    event = _event_or_404(event_id)
    user = _user()
    if not can_manage_event(user, event):
        abort(403)
    form = EventForm() if request.method == "POST" else EventForm(data=_form_data(event))
    _prepare(form, user)
    # The organiser does not change on an edit.
    current = str(event.organisation_id) if event.organisation_id else UMBRELLA
    label = event.organisation.name if event.organisation else _("The umbrella organisation")
    form.organisation.choices = [choice(current, label)]
    form.organisation.data = current
    if form.validate_on_submit():
        try:
            services.update_event(user, event, form.service_data())
        except EventError as exc:
            show_error(form, exc, fallback=form.title)
        else:
            flash(_("The event has been changed. People who registered have been told of a new time or place."),
                  "success")
            return redirect(url_for("events.event", event_id=event.id))
    return render_template("events/form.html", form=form, event=event), 400 if form.errors else 200


def _form_data(event):
    starts, ends = local_time(event.starts_at, event), local_time(event.ends_at, event)
    if event.all_day:
        ends = ends - timedelta(days=1)
    deadline = local_time(event.registration_deadline, event) if event.registration_deadline else None
    return {
        "organisation": str(event.organisation_id) if event.organisation_id else UMBRELLA,
        "title": event.title, "kind": event.kind, "language": event.language,
        "starts_at": starts.replace(tzinfo=None), "ends_at": ends.replace(tzinfo=None),
        "timezone": event.timezone, "all_day": event.all_day, "venue": event.venue, "address": event.address,
        "municipality": event.municipality, "province": event.province, "online_url": event.online_url,
        "online_private": event.online_private, "audience": event.audience,
        "audience_provinces": event.province_codes, "capacity": event.capacity,
        "theme": str(event.theme_id) if event.theme_id else "",
        "repeat": event.repeat, "repeat_until": event.repeat_until, "repeat_skip": event.repeat_skip.replace(" ", ", "),
        "registration_deadline": deadline.replace(tzinfo=None) if deadline else None,
        "description": event.description,
    }


@bp.get("/events/<int:event_id>")
def event(event_id):
    event = _event_or_404(event_id)
    user = _user()
    if not can_see_event(user, event):
        abort(404)  # members-only: answered like an unknown id (README, Security)
    registration = services.registration_of(user, event)
    manager = can_manage_event(user, event)
    lang = current_language()
    return render_template(
        "events/event.html", event=event, registration=registration, manager=manager,
        form=RegistrationForm(obj=registration), counts=queries.counts(event),
        participants=queries.participants(event, manager) if is_member(user) else [],
        when=services.when_text(event, lang), kind_label=KIND_LABELS[event.kind],
        repeat_text=services.repeat_text(event, lang),
        language_label=LANGUAGE_LABELS[event.language], province=province_name(event.province, lang),
        show_link=can_see_online_link(user, event, registration),
        deadline=services.moment_text(event.registration_deadline, event, lang) if event.registration_deadline else "",
        audience_names=", ".join(province_name(code, lang) for code in event.province_codes),
    )


def _rate_limited_message():
    return _("You have changed your registrations very often. Wait a few minutes and try again.")


@bp.post("/events/<int:event_id>/register")
@member_required
def register(event_id):
    event = _event_or_404(event_id)
    if not can_see_event(current_user, event):
        abort(404)  # also a held event or another province's: as if it did not exist
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            registration = services.register(_user(), event, form.note.data, form.listed.data)
        except EventError as exc:
            flash(exc.message, "error")
        except ratelimit.RateLimited:
            flash(_rate_limited_message(), "error")
        else:
            if registration.status == "going":
                flash(_("You are registered."), "success")
            else:
                flash(_("The event is full: you are on the waiting list. We will mail you when a seat "
                        "becomes free."), "success")
    else:
        flash(_("Your session has expired or the form was sent twice. Check your text and send it again."), "error")
    return redirect(url_for("events.event", event_id=event_id))


@bp.post("/events/<int:event_id>/unregister")
@member_required
def unregister(event_id):
    event = _event_or_404(event_id)
    try:
        services.cancel_registration(_user(), event)
    except EventError as exc:
        flash(exc.message, "error")
    except ratelimit.RateLimited:
        flash(_rate_limited_message(), "error")
    else:
        flash(_("Your registration has been cancelled."), "success")
    return redirect(url_for("events.event", event_id=event_id))


@bp.post("/events/<int:event_id>/cancel")
@member_required
def cancel(event_id):
    event = _event_or_404(event_id)
    if not can_manage_event(current_user, event):
        abort(403)
    try:
        services.cancel_event(_user(), event)
    except EventError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The event has been cancelled and the people registered have been told."), "success")
    return redirect(url_for("events.event", event_id=event_id))


@bp.post("/events/<int:event_id>/approve")
@moderator_required
def approve(event_id):
    """Publish a member's event held for review (the moderation queue lists them)."""
    try:
        services.approve_event(_user(), _event_or_404(event_id))
    except EventError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The event has been published and its organiser told."), "success")
    return redirect(url_for("events.event", event_id=event_id))


@bp.post("/events/<int:event_id>/refuse")
@moderator_required
def refuse(event_id):
    try:
        services.refuse_event(_user(), _event_or_404(event_id))
    except EventError as exc:
        flash(exc.message, "error")
        return redirect(url_for("events.event", event_id=event_id))
    flash(_("The event has been refused and deleted; its organiser has been told."), "success")
    return redirect(url_for("moderation.queue"))


@bp.get("/events/<int:event_id>/participants.csv")
@member_required
def participants_csv(event_id):
    event = _event_or_404(event_id)
    if not can_manage_event(current_user, event):
        abort(403)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Name"), _("E-mail"), _("Council"), _("Status"), _("Registered"), _("Listed"), _("Note")])
    statuses = {"going": _("Going"), "waiting": _("Waiting list")}
    for r in queries.participants(event, everyone=True):
        writer.writerow([csv_safe(v) for v in (
            r.user.name, r.user.email, r.user.organisation.name if r.user.organisation else "",
            statuses[r.status], r.joined_at.strftime("%Y-%m-%d %H:%M UTC"), _("yes") if r.listed else _("no"),
            r.note)])
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="agora-event-{event.id}-{date.today()}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _event_url(event):
    from ..threads.notifications import external_url

    return external_url("events.event", event_id=event.id)


def _ics_response(body, filename, private):
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store" if private else "public, max-age=300"
    return response


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id):
    event = _event_or_404(event_id)
    user = _user()
    if not can_see_event(user, event):
        abort(404)
    registration = services.registration_of(user, event)
    body = ics.calendar([event], _event_url,
                        with_link=lambda e: can_see_online_link(user, e, registration), lang=current_language())
    # A signed-in reader may get the private online link: never in a shared cache.
    private = event.audience != "public" or current_user.is_authenticated
    return _ics_response(body, f"agora-event-{event.id}.ics", private=private)


@bp.get("/events.ics")
def feed_ics():
    """Public events (filters as query parameters), from a month back on."""
    from ..models import utcnow

    filters = dict(_filters(), mine=False)
    stmt = queries.visible_events(None, public_only=True, **{k: v for k, v in filters.items() if k != "mine"})
    events = db.session.scalars(stmt.where(Event.last_ends_at >= utcnow() - timedelta(days=31))
                                .order_by(Event.starts_at, Event.id).limit(1000)).all()
    body = ics.calendar(events, _event_url, name=_("Agora events"),
                        with_link=lambda e: not e.online_private, lang=current_language())
    return _ics_response(body, "agora-events.ics", private=False)


# -- the personal calendar feed -------------------------------------------------------------

@bp.get("/events/calendar")
@member_required
def calendar_page():
    """Where a member makes (or stops) the secret address of their own calendar feed."""
    return render_template("events/calendar.html", has_token=services.has_calendar_token(_user()), feed_url=None)


@bp.post("/events/calendar")
@member_required
def calendar_new():
    """A new secret address, shown once (only its hash is kept); the old one stops working."""
    try:
        token = services.new_calendar_token(_user())
    except ratelimit.RateLimited:
        flash(_("You have made several calendar addresses in a short time. Wait an hour and try again."), "error")
        return redirect(url_for("events.calendar_page"))
    from ..threads.notifications import external_url

    feed_url = external_url("events.personal_feed", token=token, lang=current_language())
    response = Response(render_template("events/calendar.html", has_token=True, feed_url=feed_url,
                                        webcal_url="webcal://" + feed_url.split("://", 1)[1]))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/events/calendar/revoke")
@member_required
def calendar_revoke():
    services.revoke_calendar_token(_user())
    flash(_("Your calendar address has been stopped. Calendars that used it get nothing any more."), "success")
    return redirect(url_for("events.calendar_page"))


@bp.get("/events/feed/<token>.ics")
def personal_feed(token):
    """A member's own feed, for Outlook, Google and Apple calendars: no cookie, the secret
    address is the key. An unknown or revoked address is a 404."""
    from ..models import utcnow

    user = services.calendar_token_user(token)
    if user is None:
        abort(404)
    events = queries.personal_feed(user, utcnow() - timedelta(days=31))
    registrations = {r.event_id: r for r in db.session.scalars(db.select(Registration).where(
        Registration.user_id == user.id, Registration.event_id.in_([e.id for e in events])))}
    body = ics.calendar(events, _event_url, name=_("My Agora events"),
                        with_link=lambda e: can_see_online_link(user, e, registrations.get(e.id)),
                        lang=current_language())
    return _ics_response(body, "agora-my-events.ics", private=True)
