"""Advice register pages: the register with facets, its CSV, recording the answer, statistics."""
import csv
import io
from datetime import date

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import contains_eager, joinedload

from .. import pagecache
from ..attachments import posting as attachment_posting
from ..attachments.services import AttachmentRefused
from ..extensions import db
from ..formtools import option, show_error
from ..i18n import current_language
from ..models import Theme, Thread
from ..permissions import (can_edit_advice, can_moderate, can_read_thread, can_record_answer, member_required,
                           moderator_required)
from ..places import province_choices, province_name
from ..threads import queries
from . import bp, services
from .chart import status_chart, swatch
from .fields import ADDRESSEE_LABELS, STATUS_LABELS, STATUSES, AdviceError
from .forms import AnswerForm, EditAdviceForm

CSV_MAX = 10_000


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.get("/advice")
def register():
    """The register, kept per worker with its reader's parts as slots (forum/pagecache.py):
    advices are threads, so it stays valid until a thread, a post or anything else changes."""
    html, _meta = pagecache.page("advice", pagecache.counters(), _render_register, {})
    return html


def _render_register():
    filters = services.Filters.from_args(request.args)
    counts = services.register_counts(current_user, filters)
    # An entry shows its council, nothing of its author or tags: load just that.
    pagination = db.paginate(services.advice_query(current_user, filters).options(joinedload(Thread.organisation)),
                             page=filters.page, per_page=services.PER_PAGE, error_out=False, count=False)
    pagination.total = counts.total  # counted (and cached) with the facets
    lang = current_language()
    register_path = url_for("advice.register")
    facets_html = counts.fragments.get(lang)
    if facets_html is None:  # the facets' HTML is kept with their counts, per language
        themes = {t.slug: t.name(lang) for t in db.session.scalars(db.select(Theme))}
        facets_html = counts.fragments[lang] = Markup(render_template(
            "advice/_facets.html", filters=filters, facets=counts.facets, theme_names=themes,
            province_label=lambda code: province_name(code, lang), register_path=register_path))
    return render_template(
        "advice/register.html", filters=filters, pagination=pagination, threads=list(pagination.items),
        facets_html=facets_html, register_path=register_path,
    ), {}


@bp.get("/advice.csv")
def register_csv():
    """The filtered register as CSV (at most CSV_MAX rows), every cell formula-safe."""
    filters = services.Filters.from_args(request.args)
    rows = db.session.scalars(services.advice_query(current_user, filters)
                              .options(contains_eager(Thread.theme), joinedload(Thread.organisation))
                              .limit(CSV_MAX)).unique()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in services.csv_rows(rows, current_language(), current_app.config["BASE_URL"]):
        writer.writerow(row)
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="agora-advice-{date.today().isoformat()}.csv"'
    return response


def _advice_or_404(thread_id):
    thread = queries.load_thread(thread_id)
    if thread is None or thread.kind != "advice":
        abort(404)
    return thread


@bp.route("/advice/<int:thread_id>/answer", methods=["GET", "POST"])
@member_required
def record_answer(thread_id):
    thread = _advice_or_404(thread_id)
    if not can_record_answer(current_user, thread):
        abort(403)
    form = AnswerForm()
    f = thread.fields or {}
    if request.method == "GET":
        form.answer_status.data = f.get("answer_status", "awaiting")
        form.answered_on.data = date.fromisoformat(f["answered_on"]) if f.get("answered_on") else None
        form.follow_up.data = f.get("follow_up", "")
    status = 200
    if form.validate_on_submit():
        try:
            files = attachment_posting.uploads_from(form)
            services.record_answer(_user(), thread, form.answer_status.data, form.answered_on.data,
                                   form.follow_up.data, files)
            flash(_("The answer has been recorded."), "success")
            return redirect(url_for("threads.thread", thread_id=thread.id))
        except AttachmentRefused as exc:
            attachment_posting.show_refusal(form, exc)
            status = 400
        except AdviceError as exc:
            show_error(form, exc, form.answer_status)
            status = 403 if exc.code == "forbidden" else 400
    elif request.method == "POST":
        status = 400
    return render_template("advice/answer.html", form=form, thread=thread), status


@bp.route("/advice/<int:thread_id>/edit", methods=["GET", "POST"])
@member_required
def edit(thread_id):
    """Correct the advice's own fields; the earlier values stay in its history."""
    thread = _advice_or_404(thread_id)
    if not can_edit_advice(current_user, thread):
        abort(403)
    form = EditAdviceForm()
    lang = current_language()
    form.addressee.choices = [option("", _("Choose the addressee"))] + [
        option(code, label) for code, label in ADDRESSEE_LABELS.items()]
    form.province.choices = [option("", _("Choose a province"))] + [
        option(code, label) for code, label in province_choices(lang)]
    f = thread.fields or {}
    if request.method == "GET":
        form.requested.data = "requested" if f.get("requested") else "own"
        form.sent_on.data = date.fromisoformat(f["sent_on"]) if f.get("sent_on") else None
        form.addressee.data = f.get("addressee", "")
        form.municipality.data = thread.municipality
        form.province.data = thread.province
        form.summary.data = f.get("summary", "")
    status = 200
    if form.validate_on_submit():
        try:
            changed = services.edit_advice(_user(), thread, {
                "requested": form.requested.data == "requested", "sent_on": form.sent_on.data,
                "addressee": form.addressee.data, "municipality": form.municipality.data,
                "province": form.province.data, "summary": form.summary.data})
            flash(_("The advice has been corrected; its history keeps the earlier version.") if changed
                  else _("Nothing was changed."), "success")
            return redirect(url_for("threads.thread", thread_id=thread.id))
        except AdviceError as exc:
            show_error(form, exc, form.sent_on)
            status = 403 if exc.code == "forbidden" else 400
    elif request.method == "POST":
        status = 400
    return render_template("advice/edit.html", form=form, thread=thread), status


@bp.get("/advice/<int:thread_id>/history")
def history(thread_id):
    """Every version of the advice's fields, for whoever may read the advice."""
    thread = _advice_or_404(thread_id)
    if not can_read_thread(current_user, thread):
        abort(404)
    lang = current_language()
    return render_template("advice/history.html", thread=thread, versions=services.history(thread),
                           fields=services.HISTORY_FIELDS, province_label=lambda code: province_name(code, lang))


@bp.get("/advice/statistics")
@moderator_required
def statistics():
    lang = current_language()
    per_year, per_theme = services.statistics(_user(), lang)
    return render_template(
        "advice/statistics.html", per_year=per_year, per_theme=per_theme, statuses=STATUSES,
        status_labels=STATUS_LABELS, swatch=swatch,
        year_chart=status_chart(per_year, _("Advice per year by answer"), "advice-year-chart"),
        theme_chart=status_chart(per_theme, _("Advice per theme by answer"), "advice-theme-chart"),
    )


def init_app(app):
    @app.context_processor
    def advice_helpers():
        return {
            "can_record_answer": can_record_answer,
            "can_edit_advice": can_edit_advice,
            "advice_status_label": lambda s: STATUS_LABELS.get(s or "awaiting", STATUS_LABELS["awaiting"]),
            "advice_addressee_label": lambda a: ADDRESSEE_LABELS.get(a, a),
            "parse_iso_date": lambda s: date.fromisoformat(s) if s else None,
            "can_see_advice_statistics": can_moderate,
            "province_label_of": province_name,
        }
