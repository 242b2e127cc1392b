"""API routes: thin GET views over the same visibility rules as the pages."""
from datetime import date

from flask import Blueprint, abort, jsonify
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, true
from sqlalchemy.orm import selectinload

from ..errors import render_error
from ..extensions import db
from ..models import COUNTRIES, LANGUAGES, THREAD_KINDS, Organisation, Post, Tag, Theme, Thread
from ..permissions import can_read_thread, can_see_post, is_member
from ..places import find_province
from . import params
from .serialize import absolute, organisation_json, post_json, theme_json, thread_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(params.BadParameter)
def bad_parameter(exc):
    return render_error(400, _("Query parameter '%(name)s' %(problem)s.", name=exc.name, problem=exc.message))


@bp.after_request
def cache_headers(response):
    # Members see members-only content: never let a shared cache keep it.
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-store"
    else:
        response.headers.setdefault("Cache-Control", "public, max-age=60")
    response.vary.add("Cookie")
    return response


def _page(stmt, order_by, page, per_page, serialise):
    total = db.session.scalar(db.select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.order_by(*order_by).limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"total": total, "page": page, "per_page": per_page,
                    "results": [serialise(item) for item in items]})


def _readable_themes():
    """Theme ids condition for the current reader: members read every theme."""
    if is_member(current_user):
        return true()
    return Theme.visibility == "public"


@bp.get("/")
def index():
    """What the API offers, for people exploring it in a browser."""
    from flask import current_app, url_for

    base = current_app.config["BASE_URL"]
    return jsonify({
        "version": 1,
        "themes": base + url_for("api.themes"),
        "threads": base + url_for("api.threads"),
        "organisations": base + url_for("api.organisations"),
        "advice": base + url_for("api.advice"),
    })


@bp.get("/themes")
def themes():
    page, per_page = params.pagination()
    lang = params.choice("lang", LANGUAGES) or "nl"
    stmt = db.select(Theme).where(_readable_themes())
    return _page(stmt, (Theme.position, Theme.slug), page, per_page, lambda t: theme_json(t, lang))


@bp.get("/threads")
def threads():
    page, per_page = params.pagination()
    lang = params.choice("lang", LANGUAGES)
    theme_slug = params.text("theme", 80)
    kind = params.choice("kind", THREAD_KINDS)
    language = params.choice("language", LANGUAGES)
    tag = params.text("tag", 40)
    municipality = params.text("municipality", 120)
    province = params.text("province", 120)
    organisation = params.text("organisation", 120)
    solved = params.boolean("solved")
    open_ = params.boolean("open")

    stmt = (
        db.select(Thread)
        .join(Theme, Theme.id == Thread.theme_id)
        .where(_readable_themes(), Thread.status == "visible", Thread.merged_into_id.is_(None))
        .options(selectinload(Thread.tags), selectinload(Thread.theme), selectinload(Thread.organisation))
    )
    if theme_slug is not None:
        stmt = stmt.where(Theme.slug == theme_slug)
    if kind is not None:
        stmt = stmt.where(Thread.kind == kind)
    if language is not None:
        stmt = stmt.where(Thread.language == language)
    if tag is not None:
        stmt = stmt.where(Thread.tags.any(func.lower(Tag.name) == tag.lower()))
    if municipality is not None:
        stmt = stmt.where(func.lower(Thread.municipality) == municipality.lower())
    if province is not None:
        stmt = stmt.where(_province_is(Thread.province, province))
    if organisation is not None:
        stmt = stmt.where(Thread.organisation.has(Organisation.slug == organisation))
    if solved is not None:
        # Only questions can be solved: solved=false lists unanswered questions.
        stmt = stmt.where(Thread.kind == "question")
        stmt = stmt.where(Thread.accepted_post_id.is_not(None) if solved else Thread.accepted_post_id.is_(None))
    if open_ is not None:
        today = date.today()
        is_open = (Thread.closed.is_(False)) & ((Thread.closes_on.is_(None)) | (Thread.closes_on >= today))
        stmt = stmt.where(Thread.kind == "vacancy", is_open if open_ else ~is_open)
    return _page(stmt, (Thread.last_post_at.desc(), Thread.id.desc()), page, per_page,
                 lambda t: thread_json(t, lang or t.language))


@bp.get("/advice")
def advice():
    """The advice register: ?municipality= &province= &year= (sent) &status= (answer_status) &page="""
    from ..advice import services as advice_services
    from ..advice.fields import STATUSES

    page, per_page = params.pagination()
    municipality = params.text("municipality", 120)
    province = params.text("province", 120)
    year = params.positive_int("year", None)
    status = params.choice("status", STATUSES)
    stmt = (advice_services.visible_advice(current_user)
            .options(selectinload(Thread.theme), selectinload(Thread.organisation)))
    if municipality is not None:
        stmt = stmt.where(func.lower(Thread.municipality) == municipality.lower())
    if province is not None:
        stmt = stmt.where(_province_is(Thread.province, province))
    if year is not None:
        stmt = stmt.where(advice_services.year_expr() == year)
    if status is not None:
        stmt = stmt.where(advice_services.status_expr() == status)

    def serialise(thread):
        f = thread.fields or {}
        return {
            "id": thread.id, "title": thread.title, "language": thread.language,
            "municipality": thread.municipality, "province": thread.province,
            "requested": bool(f.get("requested")), "sent_on": f.get("sent_on") or None,
            "answer_status": f.get("answer_status", "awaiting"), "answered_on": f.get("answered_on") or None,
            "url": absolute("threads.thread", lang=thread.language, thread_id=thread.id),
        }

    return _page(stmt, (advice_services.sent_expr().desc(), Thread.id.desc()), page, per_page, serialise)


def _province_is(column, text, country=None):
    """Provinces are stored as codes; ?province= may also name one (Luik, Liège, Friesland)."""
    code = find_province(text, country)
    return column == code if code else func.lower(column) == text.lower()


@bp.get("/threads/<int:thread_id>")
def thread(thread_id):
    lang = params.choice("lang", LANGUAGES)
    item = db.session.get(Thread, thread_id)
    if item is None or not can_read_thread(current_user, item):
        abort(404)
    posts = db.session.scalars(
        db.select(Post).where(Post.thread_id == item.id).order_by(Post.number)
        .options(selectinload(Post.author))
    ).all()
    data = thread_json(item, lang or item.language)
    data["merged_into"] = item.merged_into_id
    data["accepted_post"] = item.accepted_post_id
    data["posts"] = [post_json(p) for p in posts if can_see_post(current_user, p)]
    return jsonify(data)


@bp.get("/organisations")
def organisations():
    """Member councils with an active membership today: the public directory."""
    page, per_page = params.pagination()
    country = params.choice("country", COUNTRIES)
    province = params.text("province", 120)
    municipality = params.text("municipality", 120)
    language = params.choice("language", LANGUAGES)
    today = date.today()
    stmt = db.select(Organisation).where(
        Organisation.membership_status == "active",
        Organisation.merged_into_id.is_(None),
        (Organisation.member_since.is_(None)) | (Organisation.member_since <= today),
        (Organisation.member_until.is_(None)) | (Organisation.member_until >= today),
    )
    if country is not None:
        stmt = stmt.where(Organisation.country == country)
    if province is not None:
        stmt = stmt.where(_province_is(Organisation.province, province, country))
    if municipality is not None:
        stmt = stmt.where(func.lower(Organisation.municipality) == municipality.lower())
    if language is not None:
        stmt = stmt.where(Organisation.language == language)
    return _page(stmt, (Organisation.name, Organisation.id), page, per_page, organisation_json)


@bp.get("/events")
def events():
    """Events by period, province and kind; without from/to the upcoming ones."""
    from ..events.api import list_events

    page, per_page = params.pagination()
    stmt, serialise = list_events(current_user._get_current_object() if current_user.is_authenticated else None)
    return _page(stmt, (), page, per_page, serialise)  # already soonest first
