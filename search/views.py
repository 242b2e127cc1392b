"""Search pages: /<lang>/search (results with facets) and GET /api/v1/search (JSON)."""
import functools
from urllib.parse import urlencode

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user

from forum import pagecache
from forum.extensions import db
from forum.i18n import current_language
from forum.models import Thread

from .backend import get_backend
from .service import KIND_LABELS, LANGUAGE_LABELS, params_from, search_threads

bp = Blueprint("search", __name__, url_prefix="/<lang>")
api_bp = Blueprint("search_api", __name__, url_prefix="/api/v1")


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.get("/search")
def search():
    """The results page. Kept per worker like a reading page (forum/pagecache.py) while the
    engine's index is unchanged (`state()`: under a burst of posts the index changes once per
    drain, every few seconds), nothing else a page shows changed (names, themes: the site
    counter) and the threads it shows keep their revision (an edit, a hide, a move); members
    asking what the newsletter asks get the page of the first. Only where the engine can
    say when its index changed (Whoosh; PostgreSQL renders every page)."""
    lang = current_language()
    params = params_from(request.args, language_param="language", only_default=lang)
    state = get_backend().state() if params.q else None

    def render():
        outcome = search_threads(_user(), params, ui_language=lang)
        base = url_for("search.search")

        def search_url(args):
            # What url_for("search.search", **args) gives, without building the route for each
            # of a page's forty facet and correction links.
            items = [(k, v) for k, v in args.items() if v is not None]
            return base + ("?" + urlencode(items, safe="!$'()*,/:;?@") if items else "")

        html = render_template(
            "search/results.html", outcome=outcome, params=params, kind_labels=KIND_LABELS,
            language_labels=LANGUAGE_LABELS, search_url=search_url,
        )
        return html, {"threads": {item.thread.id: item.thread.cache_revision for item in outcome.items},
                      "fresh": True}

    def unchanged(meta):
        # Just rendered: current. Kept: its threads still at the revision it showed.
        return meta.pop("fresh", False) or thread_revisions(meta["threads"]) == meta["threads"]

    html, _meta = pagecache.page("search", (*pagecache.site_counters(), state), render, {},
                                 keep=state is not None, usable=unchanged)
    return html


def thread_revisions(revisions):
    """{thread id: cache revision} of these threads now, visible ones only (one statement)."""
    if not revisions:
        return {}
    return dict(db.session.execute(_revisions_statement(), {"ids": list(revisions)}).all())


@functools.cache
def _revisions_statement():
    return db.select(Thread.id, Thread.cache_revision).where(
        Thread.id.in_(db.bindparam("ids", expanding=True)), Thread.status == "visible")


@api_bp.get("/search")
def api_search():
    """JSON search with the page's visibility rules (session cookie or anonymous)."""
    lang = request.args.get("ui") if request.args.get("ui") in LANGUAGE_LABELS else current_language()
    args = request.args.copy()
    if "lang" not in args and "language" in args:
        args["lang"] = args["language"]
    params = params_from(args, language_param="lang", only_default=lang)
    outcome = search_threads(_user(), params, ui_language=lang)
    results = []
    for item in outcome.items:
        thread = item.thread
        results.append({
            "thread_id": thread.id,
            "post_id": item.post.id,
            "title": thread.title,
            "snippet": str(item.snippet),
            "url": url_for("threads.post", lang=thread.language, _external=True, **item.url_args),
            "kind": thread.kind,
            "theme": thread.theme.slug,
            "language": thread.language,
            "organisation": thread.organisation.name if thread.organisation else None,
            "score": round(item.score, 4),
            "matched_file": item.matched_file or None,
        })
    facets = {name: [{"value": value, "label": label, "count": count} for value, label, count, _s in values]
              for name, _title, values in outcome.facets}
    response = jsonify({
        "total": outcome.total,
        "page": params.page,
        "pages": outcome.pages,
        "results": results,
        "facets": facets,
        "suggestion": outcome.suggestion or None,
        "notices": outcome.notices,
        "notice_codes": outcome.notice_codes,
        "matched": outcome.matched,
        "corrected": outcome.corrected or None,
    })
    response.headers["Cache-Control"] = "private, no-store"
    return response
