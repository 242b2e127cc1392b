"""Search as the pages and the API use it: arguments in, permission-checked results out.

search_threads() scopes the query to what the reader may see (theme visibility in the
query itself), asks the backend, then loads the page's posts from the database, checks
each again with the policy module (an index a moment behind a hide never shows it) and
builds escaped, highlighted snippets.
"""
import functools
import re
import time
from dataclasses import dataclass, field, replace
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from forum.extensions import db
from forum.markup import plain_text
from forum.models import LANGUAGES, Organisation, Post, Theme, Thread
from forum.permissions import can_read_thread, is_member
from forum.places import province_label

from . import compounds, highlight
from .analysis import detect_language, fold
from .backend import SearchRequest, get_backend
from .query import glossary_words, parse
from .tuning import CORRECT_BELOW, MAX_SPLIT_WORDS, MOST_BELOW, SUGGEST_BELOW

PER_PAGE = 10
MAX_PAGE = 100

KIND_LABELS = {
    "question": _l("Question"), "practice": _l("Practice"), "initiative": _l("Initiative"),
    "vacancy": _l("Vacancy"), "advice": _l("Advice"), "discussion": _l("Discussion"),
    "announcement": _l("Announcement"), "event": _l("Event"),
}
LANGUAGE_LABELS = {"nl": "Nederlands", "fr": "Français"}
SOLVED_LABELS = {"yes": _l("Solved"), "no": _l("Unsolved")}
PERIOD_LABELS = {"week": _l("Past week"), "month": _l("Past month"), "year": _l("Past year")}
FACET_TITLES = {
    "kind": _l("Kind"), "theme": _l("Theme"), "language": _l("Language"), "tag": _l("Tag"),
    "province": _l("Province"), "municipality": _l("Municipality"),
    "organisation": _l("Organisation"), "solved": _l("Answered"), "period": _l("Date"),
}
FILTER_PARAMS = ("kind", "theme", "language", "tag", "province", "municipality", "organisation",
                 "solved", "period", "from", "to")


def notice_text(code):
    return {
        "shortened": _("Your search was long, so only its first part was used."),
        "too_many_words": _("Only the first %(n)d words of your search were used.", n=12),
        "short_wildcard": _("A * needs at least three letters before it; it was left out."),
        "wildcard_capped": _("Many words start like that: only the first %(n)d were searched.", n=50),
        "timed_out": _("This search took too long. Use more specific words or fewer wildcards."),
        "only_stopwords": _("Your search only contained very common words. Try more specific words."),
        "no_words": _("Your search contained no words. Type one or more words to search for."),
        "bad_date": _("A date was not understood and was ignored; use the form 2025-03-31."),
        "most_words": _("No topic contains all the words; these are the topics with the most of them."),
        "few_all_words": _("Only a few topics contain all the words; topics with most of them follow."),
    }.get(code, code)


@dataclass
class SearchParams:
    """Validated search arguments (from a page's or the API's query string)."""

    q: str = ""
    filters: dict = field(default_factory=dict)  # URL values (slugs, codes, names)
    sort: str = "relevance"
    page: int = 1
    only: str = ""  # "", "nl" or "fr": results in that language, no translation
    exact: bool = False  # search the words as typed: no automatic spelling correction
    notices: list = field(default_factory=list)

    def args(self, **changes):
        """Query-string arguments reproducing this search (for links), with changes applied."""
        out = {"q": self.q, **self.filters}
        if self.sort != "relevance":
            out["sort"] = self.sort
        if self.only:
            out["only"] = self.only
        if self.exact:
            out["exact"] = 1
        if self.page > 1:
            out["page"] = self.page
        out.update(changes)
        if out.get("page") == 1:
            out.pop("page")
        return {k: v for k, v in out.items() if v not in (None, "")}


def params_from(args, language_param="language", only_default=None):
    """SearchParams from a MultiDict; never raises on bad input."""
    p = SearchParams(q=(args.get("q") or "").strip())
    for name in FILTER_PARAMS:
        source = language_param if name == "language" else name
        value = (args.get(source) or "").strip()
        if value:
            p.filters[name] = value[:120]
    p.sort = "newest" if args.get("sort") == "newest" else "relevance"
    try:
        p.page = min(max(int(args.get("page", 1)), 1), MAX_PAGE)
    except (TypeError, ValueError):
        p.page = 1
    only = (args.get("only") or "").strip()
    if only in ("1", "on", "true"):
        only = only_default or ""
    p.only = only if only in LANGUAGES else ""
    p.exact = args.get("exact") in ("1", "on", "true")
    return p


def _parse_date(value, notices):
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        if "bad_date" not in notices:
            notices.append("bad_date")
        return None


def _engine_filters(params, notices):
    """URL values -> index values (theme and organisation slugs to ids)."""
    f = dict(params.filters)
    out = {}
    for name in ("kind", "language", "tag", "province", "municipality", "solved", "period"):
        if f.get(name):
            out[name] = f[name]
    if f.get("theme"):
        value = f["theme"]
        theme = db.session.get(Theme, int(value)) if value.isdigit() else db.session.scalar(
            db.select(Theme).where(Theme.slug == value))
        out["theme"] = str(theme.id) if theme else "none"
    if f.get("organisation"):
        value = f["organisation"]
        org = db.session.get(Organisation, int(value)) if value.isdigit() else db.session.scalar(
            db.select(Organisation).where(Organisation.slug == value))
        out["organisation"] = str(org.id) if org else "none"
    if params.only:
        out["language"] = params.only
    out["date_from"] = _parse_date(f.get("from"), notices)
    out["date_to"] = _parse_date(f.get("to"), notices)
    return out


@dataclass
class ResultItem:
    thread: Thread
    post: Post
    title: object  # Markup
    snippet: object  # Markup
    score: float
    url_args: dict
    matched_file: str = ""  # the attached document the snippet comes from, if any


@dataclass
class SearchOutcome:
    params: SearchParams
    total: int = 0
    pages: int = 0
    items: list = field(default_factory=list)
    facets: list = field(default_factory=list)  # [(name, title, [(value, label, count, selected)])]
    suggestion: str = ""
    notices: list = field(default_factory=list)  # translated messages
    notice_codes: list = field(default_factory=list)
    took_ms: float = 0.0
    searched: bool = False
    matched: str = "all"  # "all": every word matched; "most": ranked by the words matched
    corrected: str = ""  # the corrected query whose results are shown instead of the typed one


def visibilities_for(user):
    return ("public", "members") if is_member(user) else ("public",)


def search_threads(user, params, ui_language="nl"):
    """Run a search for `user` and return a SearchOutcome for a page or the API."""
    started = time.perf_counter()
    outcome = SearchOutcome(params=params)
    if not params.q:
        return outcome
    outcome.searched = True
    notices = list(params.notices)
    parsed = parse(params.q, cross_language=not params.only,
                   languages=(params.only,) if params.only else LANGUAGES)
    if parsed.is_empty:
        # Nothing searchable: only punctuation, or a lone short wildcard (which says so itself).
        if not parsed.notices:
            notices.append("no_words")
        outcome.notice_codes = notices + parsed.notices
        outcome.notices = [notice_text(c) for c in outcome.notice_codes]
        return outcome
    request = SearchRequest(
        parsed=parsed, visibilities=visibilities_for(user), filters=_engine_filters(params, notices),
        sort=params.sort, page=params.page, per_page=PER_PAGE,
    )
    backend = get_backend()
    result = backend.query(request)

    # A word the index does not know, and (almost) nothing found: search the correction.
    unused_correction = ""
    if result.total < CORRECT_BELOW and not result.timed_out and not params.exact:
        corrected = _corrected_text(backend, parsed, request)
        if corrected:
            better = parse(corrected, cross_language=not params.only,
                           languages=(params.only,) if params.only else LANGUAGES)
            better_request = replace(request, parsed=better)
            found = backend.query(better_request)
            if found.total and found.total >= result.total:
                parsed, request, result, outcome.corrected = better, better_request, found, corrected
            else:
                unused_correction = corrected  # may still find its compound's parts (below)
    # Too little: also long words as compound parts written apart (and their translations),
    # and with several words, rank the threads holding the most of them (one more query;
    # two when a correction found nothing by itself: keukentafelgesprek as keukentafel, gesprek).
    if result.total < MOST_BELOW and not result.timed_out:
        all_found = result.total
        for text, correction in ((parsed.text, ""), (unused_correction, unused_correction)):
            if not text:
                continue
            wider = parse(text, cross_language=not params.only,
                          languages=(params.only,) if params.only else LANGUAGES, wide=True)
            wider.mode = "most" if len(wider.groups) > 1 else "all"
            if wider.mode == "all" and len(wider.expansions) <= len(parsed.expansions) and not correction:
                continue
            wider_request = replace(request, parsed=wider)
            found = backend.query(wider_request)
            if found.total > result.total:
                parsed, request, result = wider, wider_request, found
                outcome.corrected = correction or outcome.corrected
                outcome.matched = wider.mode
            if found.total >= MOST_BELOW:
                break
        if outcome.matched == "most":
            notices.append("most_words" if not all_found else "few_all_words")
    notices += [n for n in result.notices if n not in notices]
    if not result.total and not result.timed_out and "only_stopwords" not in notices and _only_stopwords(parsed):
        notices.append("only_stopwords")
    outcome.total, outcome.pages = result.total, result.pages
    outcome.items = _load_items(user, result.hits, parsed)
    outcome.facets = _facets(result.facets, params, ui_language)
    if result.total < SUGGEST_BELOW and not result.timed_out and not outcome.corrected:
        outcome.suggestion = _suggestion(backend, parsed, request, result.total)
    outcome.notice_codes = notices
    outcome.notices = [notice_text(c) for c in notices]
    outcome.took_ms = (time.perf_counter() - started) * 1000
    return outcome


def _only_stopwords(parsed):
    from .analysis import terms

    # As the engines read it: a word that is a stop word in either language is left out.
    def dropped(c):
        if c.kind == "word":
            return not terms("nl", c.text) or not terms("fr", c.text)
        return c.kind == "phrase" and not terms("nl", c.text) and not terms("fr", c.text)

    return all(dropped(c) for g in parsed.groups for c in g)


@functools.cache
def _items_statement():
    # One SELECT with joins (a page is ten posts; four round trips cost more), built once.
    return db.select(Post).where(Post.id.in_(db.bindparam("ids", expanding=True))).options(
        joinedload(Post.thread).joinedload(Thread.theme),
        joinedload(Post.thread).joinedload(Thread.organisation),
    )


@functools.cache
def _facet_statements():
    """(themes, councils) by id: only names and slugs, plain rows; built once."""
    ids = db.bindparam("ids", expanding=True)
    return (db.select(Theme.id, Theme.slug, Theme.name_nl, Theme.name_fr).where(Theme.id.in_(ids)),
            db.select(Organisation.id, Organisation.slug, Organisation.name).where(Organisation.id.in_(ids)))


def _load_items(user, hits, parsed):
    if not hits:
        return []
    posts = {p.id: p for p in db.session.scalars(_items_statement(), {"ids": [h.post_id for h in hits]})}
    shown = []
    for hit in hits:
        post = posts.get(hit.post_id)
        # The index may be a moment behind the database: check again before showing.
        if post is None or post.status != "visible" or not can_read_thread(user, post.thread) \
                or post.thread.status != "visible":
            continue
        thread = post.thread
        text = plain_text(post.body_html)
        lang = thread.language if post.number == 1 else detect_language(text, default=thread.language)
        shown.append((hit, post, text, lang))
    files = _attachment_matches(parsed, shown)
    shown = [(h, p, files[p.id][1] if p.id in files else t, lang) for h, p, t, lang in shown]
    # Snippets always come from the database's text; an engine may mark them itself
    # (PostgreSQL: ts_headline), otherwise search/highlight.py does.
    pieces = []
    for _hit, post, text, lang in shown:
        pieces += [(post.thread.title, post.thread.language, 400), (text, lang, 240)]
    marked = get_backend().highlight(parsed, pieces) if pieces else []
    if marked is None:
        marked = _snippets(parsed, pieces)
    items = []
    for i, (hit, post, _text, _lang) in enumerate(shown):
        items.append(ResultItem(
            thread=post.thread, post=post, score=hit.score,
            title=marked[2 * i], snippet=marked[2 * i + 1],
            url_args={"post_id": post.id}, matched_file=files[post.id][0] if post.id in files else "",
        ))
    return items


# Marked snippets a worker made, by (query, text, language, length): a snippet depends on
# nothing else, and members searching the same words see the same posts' snippets again.
_snippets_kept = {}
SNIPPETS_KEPT = 2000  # 0: none (bench/search.py measures every query)


def _snippets(parsed, pieces):
    query = repr(parsed)
    matcher = None
    marked = []
    for value, lang, length in pieces:
        key = (query, value, lang, length)
        snippet = _snippets_kept.get(key)
        if snippet is None:
            if matcher is None:
                matcher = highlight.Matcher(parsed)
            snippet = highlight.snippet(value, matcher, lang, length=length)
            if SNIPPETS_KEPT > 0:
                if len(_snippets_kept) >= SNIPPETS_KEPT:
                    _snippets_kept.pop(next(iter(_snippets_kept)))
                _snippets_kept[key] = snippet
        marked.append(snippet)
    return marked


def _attachment_matches(parsed, shown):
    """{post_id: (file name, text)} for posts found through an attached document: their own
    text does not match, a document's does (its text is indexed with the post)."""
    from forum.attachments.services import attachment_texts

    texts = attachment_texts([post.id for _hit, post, _text, _lang in shown])
    if not texts:
        return {}
    matcher = highlight.Matcher(parsed)
    found = {}
    for _hit, post, text, lang in shown:
        if post.id not in texts or highlight.spans(text, matcher, lang):
            continue
        for name, file_text in texts[post.id]:
            if highlight.spans(file_text, matcher, lang) or highlight.spans(name, matcher, lang):
                found[post.id] = (name, file_text)
                break
    return found


def _facets(raw, params, ui_language):
    if not raw:
        return []
    themes = {}
    orgs = {}
    theme_ids = [int(v) for v, _c in raw.get("theme", ()) if str(v).isdigit()]
    theme_statement, org_statement = _facet_statements()
    if theme_ids:
        themes = {str(r.id): r for r in db.session.execute(theme_statement, {"ids": theme_ids})}
    org_ids = [int(v) for v, _c in raw.get("organisation", ()) if str(v).isdigit()]
    if org_ids:
        orgs = {str(r.id): r for r in db.session.execute(org_statement, {"ids": org_ids})}
    out = []
    for name in ("kind", "theme", "language", "solved", "period", "tag", "province", "municipality",
                 "organisation"):
        values = []
        selected_value = params.filters.get(name, "")
        if name == "language" and params.only:
            selected_value = params.only
        for value, count in raw.get(name, ()):
            url_value, label = value, value
            if name == "kind":
                label = str(KIND_LABELS.get(value, value))
            elif name == "theme":
                theme = themes.get(value)
                if theme is None:
                    continue
                url_value, label = theme.slug, theme.name_fr if ui_language == "fr" else theme.name_nl
            elif name == "organisation":
                org = orgs.get(value)
                if org is None:
                    continue
                url_value, label = org.slug, org.name
            elif name == "language":
                label = LANGUAGE_LABELS.get(value, value)
            elif name == "solved":
                label = str(SOLVED_LABELS.get(value, value))
            elif name == "period":
                label = str(PERIOD_LABELS.get(value, value))
            elif name == "province":
                label = province_label(value, ui_language)
            values.append((url_value, label, count, selected_value in (url_value, value)))
        if values:
            out.append((name, str(FACET_TITLES[name]), values))
    return out


def _corrected_text(backend, parsed, request):
    """The query text with the engine's corrections of words the index does not know, or ""."""
    words = parsed.words()
    if not words:
        return ""
    corrections = dict(backend.suggest(words, request.visibilities) or {})
    # A long word the index's dictionary cannot mend: a Dutch compound with a typo in one
    # part (keukentafelgsprek), mended through its parts (search/compounds.py).
    for word in [w for w in words if w not in corrections][:MAX_SPLIT_WORDS]:
        if fold(word) not in glossary_words():
            mended = compounds.corrected(fold(word))
            if mended:
                corrections[word] = mended
    if not corrections:
        return ""
    text = parsed.text
    known = glossary_words()
    for wrong, right in corrections.items():
        if fold(wrong) in known:
            continue  # a word of the lexicon is meant as typed (kinderopvang in a French forum)
        text = re.sub(r"(?<!\w)%s(?!\w)" % re.escape(wrong), right, text, count=1)
    return "" if text == parsed.text else text


def _suggestion(backend, parsed, request, total):
    text = _corrected_text(backend, parsed, request)
    if not text:
        return ""
    check = parse(text)
    probe = SearchRequest(parsed=check, visibilities=request.visibilities, filters=request.filters,
                          per_page=1, facets=False, time_limit=0.3)
    found = backend.query(probe)
    return text if found.total > total else ""

