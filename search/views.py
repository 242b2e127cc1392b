"""Search pages: /<lang>/search (results with facets) and GET /api/v1/search (JSON)."""
from urllib.parse import urlencode

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user

from forum.i18n import current_language

from .service import KIND_LABELS, LANGUAGE_LABELS, params_from, search_threads

bp = Blueprint("search", __name__, url_prefix="/<lang>")
api_bp = Blueprint("search_api", __name__, url_prefix="/api/v1")


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.get("/search")
def search():
    lang = current_language()
    params = params_from(request.args, language_param="language", only_default=lang)
    outcome = search_threads(_user(), params, ui_language=lang)
    base = url_for("search.search")

    def search_url(args):
        # What url_for("search.search", **args) gives, without building the route for each
        # of a page's forty facet and correction links.
        items = [(k, v) for k, v in args.items() if v is not None]
        return base + ("?" + urlencode(items, safe="!$'()*,/:;?@") if items else "")

    return render_template(
        "search/results.html", outcome=outcome, params=params, kind_labels=KIND_LABELS,
        language_labels=LANGUAGE_LABELS, search_url=search_url,
    )


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
