"""Advice register pages: the register with facets, its CSV, recording the answer, statistics."""
import csv
import io
from datetime import date

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..attachments import posting as attachment_posting
from ..attachments.services import AttachmentRefused
from ..extensions import db
from ..formtools import show_error
from ..i18n import current_language
from ..models import Theme
from ..permissions import can_moderate, can_record_answer, member_required, moderator_required
from ..places import province_name
from ..threads import queries
from . import bp, services
from .chart import status_chart, swatch
from .fields import ADDRESSEE_LABELS, STATUS_LABELS, STATUSES, AdviceError
from .forms import AnswerForm

CSV_MAX = 10_000


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.get("/advice")
def register():
    filters = services.Filters.from_args(request.args)
    facets, total = services.register_counts(current_user, filters)
    pagination = db.paginate(services.advice_query(current_user, filters).options(*queries.list_options()),
                             page=filters.page, per_page=services.PER_PAGE, error_out=False, count=False)
    pagination.total = total  # counted (and cached) with the facets
    lang = current_language()
    themes = {t.slug: t.name(lang) for t in db.session.scalars(db.select(Theme))}
    return render_template(
        "advice/register.html", filters=filters, pagination=pagination, threads=list(pagination.items),
        facets=facets, theme_names=themes,
        status_labels=STATUS_LABELS, province_label=lambda code: province_name(code, lang),
    )


@bp.get("/advice.csv")
def register_csv():
    """The filtered register as CSV (at most CSV_MAX rows), every cell formula-safe."""
    filters = services.Filters.from_args(request.args)
    rows = db.session.scalars(services.advice_query(current_user, filters)
                              .options(*queries.list_options()).limit(CSV_MAX)).unique()
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
            "advice_status_label": lambda s: STATUS_LABELS.get(s or "awaiting", STATUS_LABELS["awaiting"]),
            "advice_addressee_label": lambda a: ADDRESSEE_LABELS.get(a, a),
            "parse_iso_date": lambda s: date.fromisoformat(s) if s else None,
            "can_see_advice_statistics": can_moderate,
            "province_label_of": province_name,
        }
