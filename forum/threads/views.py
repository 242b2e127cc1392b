"""Forum pages: themes, thread lists, the thread page, posting, thanks, watching, notifications.

Views parse the request, check the policy, call a service and render or redirect. A post
that fails (validation, rate limit, expired CSRF token) comes back with its text.
"""
from datetime import datetime

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from .. import pagecache, ratelimit
from ..attachments import posting as attachment_posting
from ..attachments.services import AttachmentRefused
from ..database import read_phase
from ..errors import render_error
from ..extensions import csrf, db
from ..formtools import show_error
from ..i18n import current_language
from ..models import LANGUAGES, THREAD_KINDS, Notification, Post, PostRevision, Theme, Thread, User
from ..permissions import (
    can_accept_answer, can_delete_post, can_edit_post, can_moderate, can_read_theme,
    can_post_advice, can_read_thread, can_reply, can_see_history, can_see_post,
    can_start_thread, is_member, member_required,
)
from ..advice.fields import ADDRESSEE_LABELS
from ..places import find_province, province_choices
from . import bp, fragments, queries, root_bp, services
from .forms import KIND_HINTS, KIND_LABELS, EditPostForm, NewThreadForm, ReplyForm, choice
from .mentions import handle_of
from .services import ForumError

DEFAULT_POST_LIMIT = (10, 60)
DEFAULT_THREAD_LIMIT = (5, 600)


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _get_thread_or_404(thread_id):
    thread = queries.load_thread(thread_id)
    if thread is None:
        abort(404)
    return thread


def _check_thread_access(thread):
    """404 unless the user may read the thread: members-only, hidden and unknown threads
    answer alike, so ids cannot be probed (the 404 page offers to sign in)."""
    if not can_read_thread(current_user, thread):
        abort(404)


def _get_post_or_404(post_id):
    """The post, when the user may see it and its thread; otherwise 404 as for an unknown id."""
    post = db.session.get(Post, post_id) or abort(404)
    _check_thread_access(post.thread)
    if not can_see_post(current_user, post):
        abort(404)
    return post


def _limit(name, default):
    return current_app.config.get(name, default)


def _rate_limit(kind):
    """Count one post attempt for the member; raises RateLimited when over the limit.

    The count is added to the service's transaction: a failed post does not count.
    """
    if can_moderate(current_user):
        return
    config, default = (("RATELIMIT_THREAD", DEFAULT_THREAD_LIMIT) if kind == "thread"
                       else ("RATELIMIT_POST", DEFAULT_POST_LIMIT))
    ratelimit.hit(f"{kind}:{current_user.id}", _limit(config, default), commit=False)


def _rate_limited_message():
    return _("You are posting very quickly. Wait a minute and send your text again; it is still here.")


def _write_post(form, write, fallback_field, rate_limit=None, post=None):
    """Check a posting form's files, then run `write()` (a service call: a unit of work).

    Returns (result, files, status): on a refusal result is None, the reason is next to its
    field, nothing is written and the text stays in the form (status 400, 403 or 429). Files
    and the rate limit are checked before anything is written; the rate-limit count joins
    the service's transaction, so a post the service refuses does not count.
    """
    try:
        files = attachment_posting.uploads_from(form, post=post)  # checked before anything is written
        if rate_limit:
            _rate_limit(rate_limit)
        return write(), files, 200
    except AttachmentRefused as exc:
        attachment_posting.show_refusal(form, exc)
        return None, None, 400
    except ratelimit.RateLimited:
        form.body.errors = list(form.body.errors) + [_rate_limited_message()]
        return None, None, 429
    except ForumError as exc:
        show_error(form, exc, fallback_field)
        return None, None, 403 if exc.code == "forbidden" else 400


# -- lists -----------------------------------------------------------------------------

def _render_list(template, query, args, title, pinned=("site",), **context):
    """A thread list, kept per worker with its reader's parts as slots (forum/pagecache.py):
    valid until a thread, a post or anything else a list shows changes."""

    def render():
        listing = queries.list_page(query() if callable(query) else query, args, pinned=pinned)
        threads = listing.threads
        html = render_template(template, threads=threads, listing=listing, args=args, title=title,
                               unread_ids=set(), **context)
        return html, {"threads": [(t.id, t.last_post_at) for t in threads]}

    html, _meta = pagecache.page(template, pagecache.counters(), render, fragments.list_fillers(context.get("theme")))
    return html


@bp.get("/latest")
def latest():
    args = queries.ListArgs.from_request(request.args)
    return _render_list("forum/list.html", lambda: queries.visible_threads(current_user), args, _("Latest activity"))


@bp.get("/questions")
def questions():
    args = queries.ListArgs.from_request(request.args)
    tab = request.args.get("tab", "all")
    query = queries.visible_threads(current_user).where(Thread.kind == "question")
    if tab == "unanswered":
        query = query.where(Thread.accepted_post_id.is_(None), Thread.post_count <= 1)
    elif tab == "solved":
        query = query.where(Thread.accepted_post_id.is_not(None))
    else:
        tab = "all"
    tabs = [("all", _("All questions")), ("unanswered", _("Unanswered")), ("solved", _("Solved"))]
    return _render_list("forum/list.html", query, args, _("Questions"), tab=tab, tabs=tabs,
                        tab_param="tab", new_kind="question")


@bp.get("/practices")
def practices():
    args = queries.ListArgs.from_request(request.args)
    query = queries.visible_threads(current_user).where(Thread.kind == "practice")
    return _render_list("forum/list.html", query, args, _("Good practices"), new_kind="practice")


@bp.get("/initiatives")
def initiatives():
    args = queries.ListArgs.from_request(request.args)
    province = request.args.get("province", "").strip()
    province = find_province(province) or province  # a name in a hand-written address works too
    municipality = request.args.get("municipality", "").strip()
    query = queries.visible_threads(current_user).where(Thread.kind == "initiative")
    provinces, places = queries.initiative_places(current_user)
    if province:
        query = query.where(Thread.province == province)
    if municipality:
        query = query.where(db.func.lower(Thread.municipality) == municipality.lower())
    municipalities = sorted({m for p, m in places if m and (not province or p == province)}, key=str.lower)
    filters = {"province": province, "municipality": municipality}
    return _render_list(
        "forum/list.html", query, args, _("Citizen initiatives"), new_kind="initiative",
        place_filter=True, province_choices=province_choices(current_language(), codes=provinces),
        municipalities=municipalities,
        filters={k: v for k, v in filters.items() if v},
    )


@bp.get("/vacancies")
def vacancies():
    args = queries.ListArgs.from_request(request.args)
    tab = "closed" if request.args.get("tab") == "closed" else "open"
    clause = queries.closed_vacancy_clause() if tab == "closed" else queries.open_vacancy_clause()
    query = queries.visible_threads(current_user).where(clause)
    tabs = [("open", _("Open vacancies")), ("closed", _("Closed vacancies"))]
    return _render_list("forum/list.html", query, args, _("Vacancies"), tab=tab, tabs=tabs,
                        tab_param="tab", new_kind="vacancy")


@bp.get("/themes")
def themes():
    overview = queries.theme_overview(current_user)
    hidden_themes = not is_member(current_user) and db.session.scalar(
        db.select(db.func.count(Theme.id)).where(Theme.visibility != "public"))
    return render_template("forum/themes.html", overview=overview, hidden_themes=hidden_themes)


@bp.get("/themes/<slug>")
def theme(slug):
    theme = queries.theme_by_slug(slug) or abort(404)
    if not can_read_theme(current_user, theme):
        abort(404)  # as for an unknown slug; the 404 page offers to sign in
    args = queries.ListArgs.from_request(request.args)

    def query():
        return queries.visible_threads(current_user).where(Thread.theme_id == theme.id)

    return _render_list("forum/theme.html", query, args, theme.name(current_language()),
                        pinned=("site", "theme"), theme=theme)


@bp.post("/themes/<slug>/watch")
@member_required
def watch_theme(slug):
    theme = db.session.scalar(db.select(Theme).where(Theme.slug == slug)) or abort(404)
    if request.form.get("action") == "unwatch":
        services.unwatch_theme(_user(), theme)
        flash(_("You no longer follow this theme."), "success")
    else:
        services.watch_theme(_user(), theme)
        flash(_("You follow this theme: you get a notification for every new topic."), "success")
    return redirect(url_for("threads.theme", slug=slug))


# -- the thread page -------------------------------------------------------------------

def _thread_url(thread, **kw):
    return url_for("threads.thread", thread_id=thread.id, slug=services.slugify(thread.title), **kw)


def _thread_context(thread, page):
    """Everything the thread page shows, in a fixed number of queries."""
    user = current_user
    opening, replies = queries.thread_page(thread, user, page)
    accepted = queries.accepted_post(thread)
    if accepted is not None and not can_see_post(user, accepted):
        accepted = None
    posts = [p for p in [opening, accepted, *replies.items] if p is not None]
    return dict(thread=thread, opening=opening, accepted=accepted, replies=replies, posts=posts,
                slug=services.slugify(thread.title))


def _own_page(user, thread):
    """True when the thread page shows this reader links of their own beyond their posts'
    (accept an answer, record or edit an advice): they get a page rendered for them. (Their
    posts' links are slots: fragments.post_fillers.) An event's topic shows nothing of the
    reader's registration, which is on the event's own page: its readers share the kept page."""
    return is_member(user) and (thread.author_id == user.id or (
        thread.kind == "advice" and user.organisation_id is not None
        and user.organisation_id == thread.organisation_id))


def _render_thread(thread, page=1):
    """The thread page, kept per worker with its reader's parts as slots (forum/pagecache.py):
    valid until the thread or one of its posts changes, or anything else a page shows.
    A new reply at the end does not raise the thread's revision: the reply count and the
    last activity are slots filled from the thread's counters, so a full page before the
    last stays valid until the number of pages changes (page 1 of a long thread, the page
    most readers open, is rendered once per 30 replies instead of after every reply).
    Returns (html, last read): the reader state is read first, in one statement."""
    user = _user()
    thanked, watching, last_read, unseen = queries.reader_state(user, thread)

    def render():
        context = _thread_context(thread, page)
        form = ReplyForm() if can_reply(current_user, thread) else None
        g.agora_page_posts = {}  # filled by fragments.post_html: the posts it built with slots
        html = render_template("forum/thread.html", form=form, **context)
        built = g.agora_page_posts
        replies = context["replies"]
        # Posts the template rendered itself (files, held/hidden/deleted) show their author's
        # links directly: such a page is not for their authors.
        return html, {"posts": built, "authors": {p.author_id for p in context["posts"] if p.id not in built},
                      "post_count": thread.post_count, "replies": replies.total, "pages": replies.pages,
                      "shown": len(replies.items),
                      "last": replies.items[-1].number if replies.items else None,
                      "is_last": replies.total == (replies.page - 1) * replies.per_page + len(replies.items)}

    def appended(meta):
        """Visible replies added at the end since the page was rendered (each adds one to
        the thread's count and to the replies this reader sees)."""
        return thread.post_count - meta["post_count"]

    def current(meta):
        """The kept page still shows this thread: nothing but replies after it was added."""
        added = appended(meta)
        if added == 0:
            return True
        return added > 0 and meta["shown"] == queries.POSTS_PER_PAGE and -(-(meta["replies"] + added) // queries.POSTS_PER_PAGE) == meta["pages"]

    def reader_may(meta):
        return user is None or user.id not in meta["authors"]

    def grow(parts, meta):
        """The kept last page with the replies added since, put in after its last reply:
        no new render for each reply to a short thread. Only while they fit on the page
        (its pagination stays) and each is a post built in Python (fragments.post_html:
        visible, no files); otherwise None and the page is rendered."""
        added = appended(meta)
        if not (reader_may(meta) and meta.get("is_last") and meta["shown"] and added > 0
                and meta["shown"] + added <= queries.POSTS_PER_PAGE):
            return None
        posts = queries.replies_after(thread, meta["last"], added)
        if len(posts) != added:
            return None
        g.agora_page_posts = {}
        built = [fragments.post_html(post, thread) for post in posts]
        if any(html is None for html in built):
            return None
        grown = pagecache.insert_before(parts, "replies_end", "".join(f"{html}\n    " for html in built))
        if grown is None:
            return None
        return grown, {**meta, "posts": {**meta["posts"], **g.agora_page_posts}, "post_count": thread.post_count,
                       "replies": meta["replies"] + added, "shown": meta["shown"] + added, "last": posts[-1].number}

    def new(arg, _meta):
        return fragments.new_badge() if last_read and datetime.fromisoformat(arg) > last_read else ""

    activity = fragments.activity_filler()
    fillers = {
        **fragments.post_fillers(thread, thanked),
        "new": new,
        "watch_thread": lambda _arg, _meta: pagecache.snippet(
            ("watch_thread", thread.id, watching),
            lambda: render_template("forum/_watch_thread.html", thread=thread, watching=watching)),
        "replies_end": lambda _arg, _meta: "",
        "replies_heading": lambda _arg, meta: escape(ngettext(
            "%(num)d reply", "%(num)d replies", meta["replies"] + appended(meta))),
        "thread_activity": lambda _arg, meta: activity(thread.last_post_at.isoformat(), meta),
    }
    # A reader with links of their own on the thread, or a held or hidden post here, gets a
    # page of their own; so does one who wrote a post with files on the page (its links are
    # not slots; known from the kept page).
    html, _meta = pagecache.page(
        "thread", (*pagecache.site_counters(), thread.id, thread.created_at, thread.cache_revision), render, fillers,
        keep=not (unseen or _own_page(user, thread)),
        usable=lambda meta: reader_may(meta) and current(meta), grow=grow)
    return html, last_read


@bp.get("/t/<int:thread_id>")
@bp.get("/t/<int:thread_id>/<slug>")
def thread(thread_id, slug=None):
    # The thread with its theme only: a kept page (forum/pagecache.py) needs no more, and
    # a page rendered anew loads its author, council and tags as it shows them.
    thread = queries.load_thread(thread_id, light=True) or abort(404)
    if thread.merged_into_id is not None:
        # Merged by a moderator (forum.moderation): the old address leads to the target,
        # for those who may read both themes (otherwise it is unknown, as above).
        if not can_read_theme(current_user, thread.theme):
            abort(404)
        _check_thread_access(_get_thread_or_404(thread.merged_into_id))
        return redirect(url_for("threads.thread", thread_id=thread.merged_into_id), 301)
    _check_thread_access(thread)
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    html, last_read = _render_thread(thread, page)
    user = _user()
    if is_member(user) and (last_read is None or last_read < thread.last_post_at):
        # A GET that writes, in a transaction of its own that takes SQLite's write lock
        # at once (see forum/database.py); the request's session is left as it is.
        try:
            services.mark_thread_read(user.id, thread.id, thread.last_post_at)
        except OperationalError:
            # A full or read-only disk: the page is already rendered; a read marker is
            # not worth an error page (posting still gets the 503). Nothing was written.
            current_app.logger.warning("could not save the read marker", exc_info=True)
    return html


@bp.get("/p/<int:post_id>")
def post(post_id):
    """A post's permanent address: the page of its thread on which it appears."""
    post = _get_post_or_404(post_id)
    page = queries.page_of_post(post, current_user)
    return redirect(_thread_url(post.thread, page=page if page > 1 else None, _anchor=f"p{post.number}"))


@bp.post("/t/<int:thread_id>/watch")
@member_required
def watch_thread(thread_id):
    thread = _get_thread_or_404(thread_id)
    if not can_read_thread(current_user, thread):
        abort(404)
    if request.form.get("action") == "unwatch":
        services.unwatch_thread(_user(), thread)
        flash(_("You no longer follow this topic."), "success")
    else:
        services.watch_thread(_user(), thread)
        flash(_("You follow this topic: you get a notification for every reply."), "success")
    return redirect(_thread_url(thread))


# -- writing ---------------------------------------------------------------------------

def _new_thread_form():
    user = current_user
    form = NewThreadForm()
    lang = current_language()
    startable = [t for t in db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id))
                 if can_start_thread(user, t)]
    form.theme.choices = [choice(t.id, t.name(lang)) for t in startable]
    kinds = [k for k in THREAD_KINDS if k != "event" and (k != "announcement" or can_moderate(user))
             and (k != "advice" or can_post_advice(user))]
    form.kind.choices = [choice(k, KIND_LABELS[k]) for k in kinds]
    form.offers_advice = "advice" in kinds
    form.initiative_province.choices = [choice("", _("Choose a province"))] + [
        choice(code, label) for code, label in province_choices(lang)]
    form.advice_province.choices = form.initiative_province.choices
    form.advice_addressee.choices = [choice("", _("Choose the addressee"))] + [
        choice(code, label) for code, label in ADDRESSEE_LABELS.items()]
    if request.method == "GET":
        theme_slug = request.args.get("theme")
        preset = next((t for t in startable if t.slug == theme_slug), None)
        if preset is not None:
            form.theme.data = preset.id
        kind = request.args.get("kind")
        form.kind.data = kind if kind in kinds else "question"
        form.language.data = user.locale if user.locale in LANGUAGES else lang
    return form


def _render_new_thread(form, status=200):
    return render_template("forum/new_thread.html", form=form, kind_hints=KIND_HINTS), status


@bp.route("/new", methods=["GET", "POST"])
@member_required
def new_thread():
    form = _new_thread_form()
    if not form.theme.choices:
        abort(403)
    status = 200
    if form.validate_on_submit():
        theme = db.session.get(Theme, form.theme.data)
        thread, files, status = _write_post(form, lambda: services.create_thread(
            _user(), theme, form.kind.data, form.title.data, form.body.data,
            language=form.language.data, tags=form.tags.data or "", fields=form.kind_fields(),
        ), form.title, rate_limit="thread")
        if thread is not None:
            attachment_posting.attach_after(_user(), thread, files)
            if thread.status != "visible":  # held by pre-moderation (forum.moderation)
                flash(_("Thank you. Your topic will appear once a moderator has looked at it."), "info")
            else:
                flash(_("Your topic has been published."), "success")
            return redirect(_thread_url(thread))
    elif request.method == "POST":
        status = 400
    return _render_new_thread(form, status)


def _quote_text(post):
    """A Markdown blockquote of a post with an attribution line, to start a reply with."""
    author = post.author if post.author is not None and post.author.deleted_at is None else None
    name = author.name if author else _("a former member")
    lines = [f"> {line}" if line.strip() else ">" for line in post.body_source.strip().splitlines()]
    attribution = _("%(name)s wrote (#%(number)d):", name=f"@{handle_of(name)}" if author else name,
                    number=post.number)
    return attribution + "\n" + "\n".join(lines) + "\n\n"


def _render_reply(thread, form, status=200, quoted=None):
    return render_template("forum/reply.html", thread=thread, form=form, quoted=quoted), status


@bp.route("/t/<int:thread_id>/reply", methods=["GET", "POST"])
@member_required
def reply(thread_id):
    # With its theme only (what the permission checks read); the rest loads if a page is shown.
    thread = queries.load_thread(thread_id, light=True) or abort(404)
    if not can_read_thread(current_user, thread):
        abort(404)
    if not can_reply(current_user, thread):
        if request.method == "POST" and request.form.get("body"):
            # Locked (or the member silenced) while writing: give the text back.
            message = _("This topic is closed for new replies.") if thread.locked else _("You cannot reply here at the moment.")
            return render_template("forum/text_rescue.html", message=message, body=request.form["body"]), 403
        abort(403)
    form = ReplyForm()
    quoted = None
    if request.method == "GET":
        quote_id = request.args.get("quote", type=int)
        if quote_id:
            quoted = db.session.get(Post, quote_id)
            if quoted is None or quoted.thread_id != thread.id or quoted.status != "visible":
                abort(404)
            form.body.data = _quote_text(quoted)
            form.reply_to.data = str(quoted.id)
        return _render_reply(thread, form, quoted=quoted)
    status = 400
    if form.validate_on_submit():
        reply_to = None
        if form.reply_to.data and form.reply_to.data.isdigit():
            reply_to = db.session.get(Post, int(form.reply_to.data))
            if reply_to is not None and reply_to.thread_id != thread.id:
                reply_to = None
        post, files, status = _write_post(
            form, lambda: services.create_reply(_user(), thread, form.body.data, reply_to=reply_to),
            form.body, rate_limit="post")
        if post is not None:
            if files:
                attachment_posting.attach_after(_user(), post, files)
            with read_phase():  # saved and committed: the answer only reads (no write lock)
                post_id, held = post.id, post.status == "held"
            if held:
                flash(_("Thank you. Your reply will appear once a moderator has looked at it."), "info")
            else:
                flash(_("Your reply has been posted."), "success")
            return redirect(url_for("threads.post", post_id=post_id))
    return _render_reply(thread, form, status)


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@member_required
def edit_post(post_id):
    post = _get_post_or_404(post_id)
    if not can_edit_post(current_user, post):
        abort(403)
    thread = post.thread
    form = EditPostForm()
    if request.method == "GET":
        form.body.data = post.body_source
        form.title.data = thread.title
    status = 200
    if request.method == "POST":
        status = 400
        if post.number == 1 and not (form.title.data or "").strip():
            form.validate()
            form.title.errors = list(form.title.errors) + [_("Give your topic a title.")]
        elif form.validate_on_submit():
            edited, files, write_status = _write_post(form, lambda: services.edit_post(
                _user(), post, form.body.data, title=form.title.data if post.number == 1 else None,
            ), form.body, post=post)
            if edited is None:
                status = write_status
            else:
                attachment_posting.remove_checked(_user(), post)
                attachment_posting.attach_after(_user(), post, files)
                flash(_("Your changes have been saved."), "success")
                return redirect(url_for("threads.post", post_id=post.id))
    return render_template("forum/edit_post.html", form=form, post=post, thread=thread), status


@bp.get("/p/<int:post_id>/history")
@member_required
def post_history(post_id):
    post = _get_post_or_404(post_id)
    if not can_see_history(current_user, post):
        abort(403)
    revisions = db.session.scalars(
        db.select(PostRevision).where(PostRevision.post_id == post.id)
        .options(joinedload(PostRevision.editor)).order_by(PostRevision.created_at.desc(), PostRevision.id.desc())
    ).all()
    from ..markup import render_markdown
    rendered = [(r, render_markdown(r.body_source)) for r in revisions]
    return render_template("forum/history.html", post=post, thread=post.thread, revisions=rendered)


@bp.post("/p/<int:post_id>/delete")
@member_required
def delete_post(post_id):
    post = _get_post_or_404(post_id)
    if not can_delete_post(current_user, post):
        abort(403)
    thread = post.thread
    services.delete_post(_user(), post)
    if post.number == 1:
        flash(_("The topic has been deleted."), "success")
        return redirect(url_for("threads.theme", slug=thread.theme.slug))
    flash(_("The message has been deleted."), "success")
    return redirect(_thread_url(thread))


@bp.post("/p/<int:post_id>/thanks")
@member_required
def thank(post_id):
    post = _get_post_or_404(post_id)
    user = _user()
    try:
        if request.form.get("action") == "unthank":
            services.unthank_post(user, post)
        else:
            services.thank_post(user, post)
    except ForumError as exc:
        if exc.code == "forbidden":
            abort(403)
        flash(exc.message, "error")
    return redirect(url_for("threads.post", post_id=post.id))


@bp.post("/p/<int:post_id>/accept")
@member_required
def accept(post_id):
    post = _get_post_or_404(post_id)
    thread = post.thread
    if not can_accept_answer(current_user, thread):
        abort(403)
    try:
        services.accept_answer(_user(), thread, post)
    except ForumError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The reply has been marked as the answer."), "success")
    return redirect(_thread_url(thread))


@bp.post("/t/<int:thread_id>/unaccept")
@member_required
def unaccept(thread_id):
    thread = _get_thread_or_404(thread_id)
    if not can_read_thread(current_user, thread):
        abort(404)
    if not can_accept_answer(current_user, thread):
        abort(403)
    services.unaccept_answer(_user(), thread)
    flash(_("The question no longer has an accepted answer."), "success")
    return redirect(_thread_url(thread))


@bp.post("/preview")
def preview():
    """The sanitised HTML of a Markdown text, as it would be saved (for agora.js)."""
    if not is_member(current_user):
        abort(403)
    body = request.form.get("body", "")
    if len(body) > services.BODY_MAX:
        return render_error(413)
    return render_template("forum/_preview.html", html=services.render_body(body))


@bp.errorhandler(CSRFError)
def csrf_failed(exc):
    """Expired or missing CSRF token on a posting form: show the form again with the text."""
    message = _("Your session has expired or the form was sent twice. Your text is still here: check it and send it again.")
    endpoint = request.endpoint
    args = request.view_args or {}
    try:
        if endpoint == "threads.reply" and is_member(current_user):
            thread = queries.load_thread(args.get("thread_id"))
            if thread is not None and can_reply(current_user, thread):
                form = ReplyForm(meta={"csrf": False})
                form.body.errors = [message]
                return _render_reply(thread, form, 400)
        if endpoint == "threads.new_thread" and is_member(current_user):
            form = _new_thread_form()
            form.validate()
            form.body.errors = list(form.body.errors) + [message]
            return _render_new_thread(form, 400)
        if endpoint == "threads.edit_post" and is_member(current_user):
            post = db.session.get(Post, args.get("post_id"))
            if post is not None and can_edit_post(current_user, post):
                form = EditPostForm(meta={"csrf": False})
                form.body.errors = [message]
                return render_template("forum/edit_post.html", form=form, post=post, thread=post.thread), 400
    except Exception:  # the fallback below still tells the user what happened
        current_app.logger.exception("could not re-render the form after a CSRF error")
    if request.form.get("body"):
        # Not allowed to post here any more (signed out?): still give the text back.
        return render_template("forum/text_rescue.html", message=message, body=request.form.get("body")), 400
    return render_error(400, _("Your session has expired or the form was sent twice. Go back, reload the page and try again; copy your text first if you wrote something."))


# -- people and notifications ----------------------------------------------------------

@bp.get("/members/<int:user_id>")
@member_required
def profile(user_id):
    member = db.session.scalar(
        db.select(User).where(User.id == user_id).options(joinedload(User.organisation))) or abort(404)
    if member.deleted_at is not None or (member.status != "active" and not can_moderate(current_user)):
        abort(404)
    args = queries.ListArgs.from_request(request.args)
    args.sort = "newest"
    query = queries.visible_threads(current_user).where(Thread.author_id == member.id)
    listing = queries.list_page(query, args, pinned=())
    return render_template(
        "forum/profile.html", member=member, listing=listing, threads=listing.threads,
        stats=queries.profile_stats(member.id, current_user), args=args, unread_ids=set(), handle=handle_of(member.name),
    )


@root_bp.get("/members/<int:user_id>")
def member_redirect(user_id):
    """Mention links in stored HTML are language-neutral; send the reader to their language."""
    from ..i18n import best_language

    return redirect(url_for("threads.profile", user_id=user_id, lang=best_language()))


@bp.get("/notifications")
@member_required
def notifications():
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    query = (db.select(Notification).where(Notification.user_id == current_user.id)
             .options(joinedload(Notification.actor), joinedload(Notification.thread))
             .order_by(Notification.created_at.desc(), Notification.id.desc()))
    pagination = queries.paginate(query, page, per_page=30)
    return render_template("forum/notifications.html", pagination=pagination, items=list(pagination.items))


@bp.post("/notifications/<int:notification_id>/read")
@member_required
def notification_read(notification_id):
    n = services.mark_notification_read(_user(), notification_id)
    if n is None:
        abort(404)
    if request.form.get("go") and n.thread_id:
        if n.post_id:
            return redirect(url_for("threads.post", post_id=n.post_id))
        return redirect(url_for("threads.thread", thread_id=n.thread_id))
    return redirect(url_for("threads.notifications"))


@bp.post("/notifications/read-all")
@member_required
def notifications_read_all():
    services.mark_all_notifications_read(_user())
    flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("threads.notifications"))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    """The link in every notification mail: GET asks, POST (with CSRF) stops the mails."""
    user = _unsubscribe_user(token)
    if user is None:
        return render_error(404, _("This unsubscribe link is not valid. You can change your mail settings in your account."))
    if request.method == "POST":
        services.unsubscribe(user)
        return render_template("forum/unsubscribe.html", done=True, user=user)
    return render_template("forum/unsubscribe.html", done=False, user=user, token=token)


def _unsubscribe_user(token):
    from auth.tokens import TokenInvalid

    from .notifications import read_unsubscribe_token

    try:
        return db.session.get(User, read_unsubscribe_token(token))
    except TokenInvalid:
        return None


@bp.post("/unsubscribe/<token>/one-click")
@csrf.exempt
def unsubscribe_one_click(token):
    """RFC 8058 one-click unsubscribe, POSTed by mail clients without cookies.

    The one route without a CSRF token: the signed, user-specific token in the URL is what
    authorises it, and all it can do is stop that member's mails (tests/test_security.py
    keeps an explicit list of such routes).
    """
    user = _unsubscribe_user(token)
    if user is None:
        return render_error(404, _("This unsubscribe link is not valid. You can change your mail settings in your account."))
    services.unsubscribe(user)
    return render_template("forum/unsubscribe.html", done=True, user=user)


def init_app(app):
    app.jinja_env.globals["post_fragment"] = fragments.post_fragment
    app.jinja_env.globals["reader_links"] = fragments.reader_links
    app.jinja_env.globals["thread_items"] = fragments.thread_items
    app.jinja_env.globals["post_html"] = fragments.post_html

    @app.context_processor
    def forum_helpers():
        return {
            "kind_labels": KIND_LABELS,
            "thread_url": _thread_url,
        }
