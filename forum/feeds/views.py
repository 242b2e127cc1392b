"""Feed URLs: /<lang>/feed.atom, /<lang>/themes/<slug>/feed.atom, /<lang>/feed/<kind>.atom."""
from flask import Blueprint, abort, current_app, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..markup import excerpt
from ..models import THREAD_KINDS, Post, Theme, Thread, utcnow
from .atom import build_feed, tag_uri

bp = Blueprint("feeds", __name__, url_prefix="/<lang>")

FEED_SIZE = 30
MIME = "application/atom+xml; charset=utf-8"


def kind_titles():
    """Feed titles per thread kind, translated at request time."""
    return {
        "question": _("Latest questions"),
        "practice": _("Latest practices"),
        "initiative": _("Latest initiatives"),
        "vacancy": _("Latest vacancies"),
        "advice": _("Latest advice"),
        "discussion": _("Latest discussions"),
        "announcement": _("Latest announcements"),
    }


def kind_labels():
    return {
        "question": _("Question"),
        "practice": _("Practice"),
        "initiative": _("Initiative"),
        "vacancy": _("Vacancy"),
        "advice": _("Advice"),
        "discussion": _("Discussion"),
        "announcement": _("Announcement"),
    }


KIND_PAGES = {
    "question": "threads.questions",
    "practice": "threads.practices",
    "initiative": "threads.initiatives",
    "vacancy": "threads.vacancies",
    "advice": "advice.register",
}


def absolute(endpoint, **values):
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def public_threads(theme=None, kind=None, limit=FEED_SIZE):
    """Newest threads a visitor without an account may read, with their opening posts.

    Public theme, visible thread, visible opening post: a held or hidden opening post
    keeps the whole thread out of the feed (the feed shows that post's text).
    """
    stmt = (
        db.select(Thread, Post)
        .join(Theme, Theme.id == Thread.theme_id)
        .join(Post, (Post.thread_id == Thread.id) & (Post.number == 1))
        .where(Theme.visibility == "public", Thread.status == "visible", Post.status == "visible",
               Thread.merged_into_id.is_(None))
        .options(selectinload(Thread.tags), selectinload(Thread.author), selectinload(Thread.theme))
        .order_by(Thread.created_at.desc(), Thread.id.desc())
        .limit(limit)
    )
    if theme is not None:
        stmt = stmt.where(Thread.theme_id == theme.id)
    if kind is not None:
        stmt = stmt.where(Thread.kind == kind)
    return db.session.execute(stmt).all()


def _entries(rows, lang):
    base = current_app.config["BASE_URL"]
    labels = kind_labels()
    entries = []
    for thread, post in rows:
        categories = [(thread.kind, labels.get(thread.kind, thread.kind)),
                      (thread.theme.slug, thread.theme.name(lang))]
        categories += [(tag.name, tag.name) for tag in thread.tags]
        entries.append({
            "id": tag_uri(base, thread.created_at, f"thread/{thread.id}"),
            "title": thread.title,
            "url": absolute("threads.thread", thread_id=thread.id, lang=lang),
            "published": thread.created_at,
            "updated": post.edited_at or thread.created_at,
            "author": thread.author.name if thread.author is not None and thread.author.deleted_at is None else None,
            "lang": thread.language,
            "categories": categories,
            "summary": excerpt(post.body_html, 300) if post.body_html else None,
            "content_html": post.body_html,
        })
    return entries


def _respond(title, alternate_url, rows, feed_key):
    lang = g.lang
    base = current_app.config["BASE_URL"]
    entries = _entries(rows, lang)
    updated = max((e["updated"] for e in entries), default=None) or utcnow()
    body = build_feed(
        feed_id=f"{base}/feeds/{feed_key}",
        title=f"Agora · {title}",
        lang=lang,
        self_url=base + request.path,
        alternate_url=alternate_url,
        base_url=base,
        updated=updated,
        entries=entries,
    )
    response = current_app.response_class(body, mimetype=MIME)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.last_modified = updated
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/feed.atom")
def latest():
    return _respond(_("Latest topics"), absolute("threads.latest"), public_threads(), "latest")


@bp.get("/themes/<slug>/feed.atom")
def theme(slug):
    item = db.session.scalar(db.select(Theme).where(Theme.slug == slug))
    # Feeds carry public content only: a members-only theme has no feed, for anyone.
    if item is None or item.visibility != "public":
        abort(404)
    return _respond(item.name(g.lang), absolute("threads.theme", slug=item.slug),
                    public_threads(theme=item), f"themes/{item.slug}")


@bp.get("/feed/<kind>.atom")
def kind(kind):
    if kind not in THREAD_KINDS:
        abort(404)
    return _respond(kind_titles()[kind], absolute(KIND_PAGES.get(kind, "threads.latest")),
                    public_threads(kind=kind), f"kinds/{kind}")
