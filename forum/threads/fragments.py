"""Rendered post fragments (author line, date, body) cached in files every worker shares.

A thread page of 30 replies spent most of its time in Jinja: the author line, a Babel date
and a language guess for every post. Those parts are the same for every reader of a page
language, so they are rendered once and kept in `instance/fragments/`. Only visible posts
are cached; held, hidden and deleted posts are always rendered for the reader at hand,
so a moderator's view of a hidden text can never be served to anyone else.

Each file starts with a fingerprint of everything the fragment shows (the post's text and
revision, its author's name, role and council, the page language, the template). A file
whose fingerprint differs is rendered again and replaced, so an edit, a hide, a rename or
a council rename changes the page at once on every worker, with no invalidation message
to lose, whichever service or admin screen made the change. Hiding and deleting also
remove the post's files (`forget_posts`), so a hidden text does not linger on disk.
"""
import functools
import hashlib
import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from flask import current_app, g, render_template
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape

from ..i18n import current_language
from ..pagecache import active as slots_active, slot
from ..permissions import can_delete_post, can_edit_post, can_see_history, is_member

TEMPLATE = "forum/_post_fragment.html"
# Fragments a worker keeps in memory (a few KB each); past this the older half is dropped.
MAX_FRAGMENTS = 5_000
SEPARATOR = "\x00"


def _folder():
    return Path(current_app.instance_path) / "fragments"


def _path(post_id, lang, audience):
    return _folder() / str(post_id // 1000) / f"{post_id}-{lang}-{audience}.html"


def _template_version(template=TEMPLATE):
    """A hash of a fragment template, so a changed template never serves old fragments."""
    versions = current_app.extensions.setdefault("agora_fragment_versions", {})
    version = versions.get(template)
    if version is None:
        source, _filename, _uptodate = current_app.jinja_env.loader.get_source(current_app.jinja_env, template)
        digest = hashlib.blake2b(source.encode(), digest_size=8)
        # The compiled catalogs too: a deploy with changed translations must not serve
        # fragments worded by the old ones.
        for catalog in sorted(Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"]).glob("*/LC_MESSAGES/*.mo")):
            digest.update(catalog.read_bytes())
        version = versions[template] = digest.hexdigest()
    return version


def _shown(post, thread, lang, audience):
    """Everything the fragment shows (and the template that shows it), as a tuple."""
    author = post.author
    org = author.organisation if author is not None else None
    return (
        _template_version(), lang, audience, thread.language, post.id, post.number, post.thread_id, post.status,
        post.edit_count, post.edited_at, post.created_at, post.body_html,
        author.id if author else "", author.name if author else "", author.role if author else "",
        bool(author and author.deleted_at), org.name if org else "",
    )


def fingerprint(post, thread, lang, audience, shown=None):
    """Everything the fragment shows, hashed: a change to any of it makes a new fragment."""
    parts = shown or _shown(post, thread, lang, audience)
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).hexdigest()


def _read(path, expected):
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError, UnicodeDecodeError):
        return None
    stored, _newline, rest = text.partition("\n")
    if stored != expected:
        return None
    head, _sep, body = rest.partition(SEPARATOR)
    return Markup(head), Markup(body)


def _write(path, key, head, body):
    """Write atomically (temporary file, then rename): a reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"{key}\n{head}{SEPARATOR}{body}")
        os.replace(tmp, path)
    except OSError:
        # A full or read-only disk costs speed, not the page.
        current_app.logger.warning("could not store a post fragment", exc_info=True)


def post_fragment(post, thread):
    """(head, body) Markup of a visible post for the page's language and the reader's
    audience (member or public: the only thing about the reader a fragment may reflect)."""
    if post.status != "visible":
        raise ValueError("only visible posts are cached")
    lang = current_language()
    audience = "member" if is_member(current_user) else "public"
    return _fragment(post, thread, lang, audience)


def _fragment(post, thread, lang, audience):
    # A worker keeps the fragments it used in memory too, under what they show: a hit costs
    # no file read and no hash, and a change to the post, its author or their council makes
    # the comparison fail exactly as it makes the file's fingerprint differ.
    memory = current_app.extensions.setdefault("agora_post_fragments", {})
    shown = _shown(post, thread, lang, audience)
    remembered = memory.get((post.id, lang, audience))
    if remembered is not None and remembered[0] == shown:
        return remembered[1]
    key = fingerprint(post, thread, lang, audience, shown)
    path = _path(post.id, lang, audience)
    cached = _read(path, key)
    if cached is None:
        html = render_template(TEMPLATE, post=post, thread=thread, audience=audience, separator=Markup(SEPARATOR))
        head, _sep, body = html.partition(SEPARATOR)
        _write(path, key, head, body)
        cached = Markup(head), Markup(body)
    if len(memory) >= MAX_FRAGMENTS:
        for old in list(memory)[: MAX_FRAGMENTS // 2]:
            memory.pop(old, None)
    memory[(post.id, lang, audience)] = (shown, cached)
    return cached


def forget_posts(post_ids):
    """Remove the stored fragments of these posts (all languages and audiences): a hidden
    or deleted text should not stay on disk, even where no page would show it. (Other
    workers' memory is checked against the post's status before use, which hides it.)"""
    memory = current_app.extensions.get("agora_post_fragments", {})
    for post_id in post_ids:
        for key in [k for k in list(memory) if k[0] == post_id]:
            memory.pop(key, None)
        folder = _folder() / str(post_id // 1000)
        for path in folder.glob(f"{post_id}-*.html"):
            path.unlink(missing_ok=True)


# -- what depends on the reader, prepared once per page ------------------------------------

SENTINEL = 987654321  # an id no post has: url_for once, then the id is put in its place


class ReaderLinks:
    """The reader's rights on one thread and the post action addresses, prepared once per
    page: one url_for per endpoint instead of one per post, the policy checks that do not
    depend on the post done once, and the footer's words translated once."""

    def __init__(self, user, thread):
        from flask import url_for
        from flask_babel import gettext
        from flask_wtf.csrf import generate_csrf

        from ..permissions import can_accept_answer, can_moderate, can_post, can_reply

        self.user = user
        self.member = is_member(user)
        self.moderator = can_moderate(user)
        self.can_post = can_post(user)
        self.can_reply = can_reply(user, thread)
        self.can_accept = can_accept_answer(user, thread)
        self.user_id = user.id if self.member else None
        self._patterns = {}
        self._url_for = url_for
        self._thread_id = thread.id
        self._gettext = gettext
        self._words = {}
        self._csrf = generate_csrf if self.member else None
        from ..attachments.services import attachments_for

        self.attachments_for = attachments_for

    def _pattern(self, endpoint, **values):
        key = (endpoint, tuple(sorted(values)))
        if key not in self._patterns:
            prefix, _sep, suffix = self._url_for(endpoint, **values).partition(str(SENTINEL))
            self._patterns[key] = (prefix, suffix)
        return self._patterns[key]

    def url(self, endpoint, post_id, **values):
        """The endpoint's address for a post, escaped for an HTML attribute."""
        prefix, suffix = self._pattern(endpoint, post_id=SENTINEL, **values)
        return escape(f"{prefix}{int(post_id)}{suffix}")

    def thank(self, post_id):
        return self.url("threads.thank", post_id)

    def quote(self, post_id):
        prefix, suffix = self._pattern("threads.reply", thread_id=self._thread_id, quote=SENTINEL)
        return escape(f"{prefix}{int(post_id)}{suffix}")

    def may_thank(self, post):
        return post.status == "visible" and self.can_post and self.user_id != post.author_id

    def word(self, message):
        """A translated, escaped word of the footer (translated once per page)."""
        if message not in self._words:
            self._words[message] = escape(self._gettext(message))
        return self._words[message]

    def csrf_field(self):
        if "csrf" not in self._words:
            self._words["csrf"] = Markup('<input type="hidden" name="csrf_token" value="{}">').format(self._csrf())
        return self._words["csrf"]

    def button(self, action, label, confirm=None):
        """As the post_button macro (templates/_macros/forms.html) with class 'link';
        action, label and confirm come escaped (url(), word())."""
        confirm_attr = f' data-confirm="{confirm}"' if confirm else ""
        return (f'<form method="post" action="{action}" class="inline"{confirm_attr}>{self.csrf_field()}'
                f'<button type="submit" class="link">{label}</button></form>')


def post_html(post, thread, copy=False):
    """The <article> of a visible post for a reader who is not a moderator, built around
    the cached fragment in Python: the render_post macro (templates/forum/_macros.html)
    spent most of a thread page's time on per-post macro calls, look-ups and includes.
    Every value put into the HTML is escaped here (`escape`), as Jinja would.

    Returns None where the macro must render the post: a moderator reads (moderation
    tools), the post is not visible, or it has attachments. tests/test_fragments.py checks
    that both give the same page.
    """
    if post.status != "visible" or not current_app.config.get("POST_HTML_IN_PYTHON", True):
        return None
    links = reader_links(thread)
    if links.moderator or links.attachments_for(post):
        return None
    word = links.word
    head, body = _fragment(post, thread, current_language(), "member" if links.member else "public")
    accepted = thread.accepted_post_id == post.id
    header = [head]
    # The thread page is rendered for the page cache (forum/pagecache.py): what depends on
    # the reader (new to them? did they write it, thank it?) is a slot, filled by the
    # thread view's fillers (post_fillers() below).
    g.agora_page_posts[post.id] = (post.author_id, post.created_at, post.number)
    if post.edited_at:
        header.append(slot("hist", post.id))
    if not copy:
        header.append(slot("new", post.created_at.isoformat()))
    if accepted:
        header.append(f'· <span class="badge-kind solved">{word("Accepted answer")}</span>')
    footer = []
    if post.thanks_count:
        footer.append(f'<span class="thanks-count">{escape(ngettext("%(num)d thanks", "%(num)d thanks", post.thanks_count))}</span>')
    if links.can_post:
        footer.append(slot("thank", post.id))
    if links.can_reply:
        footer.append(f'<a href="{links.quote(post.id)}">{word("Quote")}</a>')
    if links.member:
        footer.append(slot("own", post.id))
    if thread.kind == "question" and post.number > 1 and links.can_accept and not copy:
        if accepted:
            footer.append(links.button(escape(links._url_for("threads.unaccept", thread_id=thread.id)), word("Unmark as answer")))
        else:
            footer.append(links.button(links.url("threads.accept", post.id), word("Mark as answer")))
    if links.member:
        footer.append(slot("flag", post.id))
    anchor = f' id="p{post.number}"' if not copy else ""
    # "".join, not +: adding a str to Markup would escape the str.
    return Markup("".join((
        f'<article class="post{" accepted" if accepted else ""} status-visible"{anchor}>\n  <header class="meta post-meta">\n    ',
        "\n    ".join(header), "\n  </header>\n  ", body, '\n  <footer class="post-actions">\n    ',
        "\n    ".join(footer), "\n  </footer>\n</article>")))


def thank_button(post_id, thanked, thread):
    """The thanks button of a post as this reader sees it (pressed when they thanked it)."""
    links = reader_links(thread)
    if thanked:
        return (f'<form method="post" action="{links.thank(post_id)}" class="inline">{links.csrf_field()}'
                f'<input type="hidden" name="action" value="unthank"><button type="submit" class="link" '
                f'aria-pressed="true">{links.word("Thanked")}</button></form>')
    return (f'<form method="post" action="{links.thank(post_id)}" class="inline">{links.csrf_field()}'
            f'<button type="submit" class="link" aria-pressed="false">{links.word("Thanks")}</button></form>')


def history_link(user, post, links):
    if not can_see_history(user, post):
        return ""
    return f' (<a href="{links.url("threads.post_history", post.id)}">{links.word("history")}</a>)'


def own_links(user, post, links):
    """Edit and delete, for the post's author (and moderators)."""
    out = []
    if can_edit_post(user, post):
        out.append(f'<a href="{links.url("threads.edit_post", post.id)}">{links.word("Edit")}</a>')
    if can_delete_post(user, post):
        opening = post.number == 1
        word = links.word
        out.append(links.button(
            links.url("threads.delete_post", post.id), word("Delete topic") if opening else word("Delete"),
            confirm=word("Delete this topic with all its replies?") if opening else word("Delete this message?")))
    return out


def report_link(post_id, links):
    return f'<a href="{links.url("moderation.flag", post_id)}" rel="nofollow">{links.word("Report")}</a>'


class _PostFacts:
    """What the reader's rights on a visible post depend on, from a kept page's meta."""

    status = "visible"

    def __init__(self, post_id, author_id, created_at, number, thread):
        self.id, self.author_id, self.created_at, self.number, self.thread = post_id, author_id, created_at, number, thread


def post_fillers(thread, thanked):
    """The slot fillers (forum/pagecache.py) of the posts of a kept thread page for this
    reader: thanks (pressed or not, none on their own posts), history, edit and delete on
    their own posts, report on the others'. The thanks button's two forms are built once."""
    user = current_user._get_current_object()
    forms = {}

    def facts(arg, meta):
        post_id = int(arg)
        author_id, created_at, number = meta["posts"][post_id]
        return _PostFacts(post_id, author_id, created_at, number, thread)

    def thank(arg, meta):
        post_id = int(arg)
        # (A post the macro rendered is not in meta["posts"]; its author never gets the page.)
        if user.id == meta["posts"].get(post_id, (None,))[0]:
            return ""
        pressed = post_id in thanked
        if pressed not in forms:
            forms[pressed] = thank_button(SENTINEL, pressed, thread).split(str(SENTINEL))
        return str(post_id).join(forms[pressed])

    def own(arg, meta):
        if user.id != meta["posts"][int(arg)][0]:
            return ""
        return "\n    ".join(own_links(user, facts(arg, meta), reader_links(thread)))

    def flag(arg, meta):
        return "" if user.id == meta["posts"][int(arg)][0] else report_link(int(arg), reader_links(thread))

    return {
        "thank": thank, "own": own, "flag": flag,
        "hist": lambda arg, meta: history_link(user, facts(arg, meta), reader_links(thread)),
    }


def new_badge():
    """The "new" mark of a post written since the reader's last visit."""
    from flask_babel import gettext

    return Markup('· <span class="badge-kind new">{}</span>').format(gettext("new"))


def reader_links(thread):
    """The ReaderLinks of this request's reader for a thread (made once per request)."""
    from flask import g

    cache = g.setdefault("agora_reader_links", {})
    if thread.id not in cache:
        user = current_user._get_current_object()
        cache[thread.id] = ReaderLinks(user, thread)
    return cache[thread.id]


# -- thread list items ------------------------------------------------------------------

ITEM_TEMPLATE = "forum/_thread_item.html"
# Rendered items kept per worker, in memory: a list page shows 25, a worker sees a few
# thousand distinct ones a day (an item is about 1.5 KB). Past this the older half is dropped.
MAX_ITEMS = 5_000
SLOT = re.compile("\x00(\\w+)\x00")
SLOTS = ("unread_class", "unread_mark", "activity")


def _item_state(t, counters):
    """What a kept item must match to be shown: the thread's revision (raised by any change
    to the thread or its posts other than a reply at the end, forum/pagecache.py), its reply
    count, the site counter (names of members, councils, themes, tags) and the date (an open
    vacancy closes at midnight). `t` is a Thread or a row of queries.LISTED."""
    site, _lists, today = counters
    return t.cache_revision, t.post_count, site, today


def _render_item(t, show_theme, heading_level):
    """The item's HTML cut at its slots: [text, slot name, text, slot name, ..., text]."""
    slots = {name: Markup(f"\x00{name}\x00") for name in SLOTS}
    html = render_template(ITEM_TEMPLATE, t=t, show_theme=show_theme, heading_level=heading_level, **slots)
    return SLOT.split(html)


def thread_items(threads, unread_ids, show_theme=True, heading_level=2):
    """The <li> items of a thread list. The part every reader of the page language sees
    alike comes from a per-worker cache (checked against the thread's revision, reply count
    and the site counter: `_item_state`); the unread state and the "last activity" time are
    added for this reader and moment. `threads` are Thread objects or rows of
    queries.LISTED; the threads of items not kept are loaded in one query."""
    from flask_babel import get_locale

    from ..models import utcnow
    from ..pagecache import counters

    lang = current_language()
    locale = get_locale()
    cache = current_app.extensions.setdefault("agora_thread_items", {})
    version = _template_version(ITEM_TEMPLATE)
    now = utcnow()
    slotted = slots_active()
    mark = unread_mark()
    shown = counters()

    def key(t):
        return t.id, lang, show_theme, heading_level, version

    items = {}
    stale = []
    for t in threads:
        stored = cache.get(key(t))
        if stored is not None and stored[0] == _item_state(t, shown):
            items[t.id] = stored[1]
        else:
            stale.append(t)
    for t in _loaded(stale):  # (a thread deleted since the list was read is left out)
        if len(cache) >= MAX_ITEMS:
            for old in list(cache)[: MAX_ITEMS // 2]:
                del cache[old]
        items[t.id] = _render_item(t, show_theme, heading_level)
        cache[key(t)] = (_item_state(t, shown), items[t.id])
    out = []
    for t in threads:
        parts = items.get(t.id)
        if parts is None:
            continue
        at = t.last_post_at
        if slotted:  # a page kept by forum/pagecache.py: filled per request by list_fillers()
            filled = {"unread_class": slot("unread_class", t.id), "unread_mark": slot("unread_mark", t.id),
                      "activity": slot("activity", at.isoformat())}
        else:
            unread = t.id in unread_ids
            filled = {"unread_class": " unread" if unread else "", "unread_mark": mark if unread else "",
                      "activity": activity(at, now, locale)}
        out.append("\n  " if out else "")
        out.extend(part if n % 2 == 0 else filled[part] for n, part in enumerate(parts))
    return Markup("".join(out))


def _loaded(threads):
    """Thread objects for these threads or list rows, with what an item shows (one query)."""
    from ..extensions import db
    from ..models import Thread
    from .queries import list_options

    wanted = [t.id for t in threads if not isinstance(t, Thread)]
    found = {}
    if wanted:
        found = {t.id: t for t in db.session.scalars(
            db.select(Thread).where(Thread.id.in_(wanted)).options(*list_options()))}
    loaded = (t if isinstance(t, Thread) else found.get(t.id) for t in threads)
    return [t for t in loaded if t is not None]


def unread_mark():
    from flask_babel import gettext

    return Markup('<span class="unread-dot" aria-hidden="true"></span><span class="visually-hidden">{}</span> ').format(
        gettext("New activity:"))


def activity(at, now, locale):
    """A <time> of "last activity", as the `ago` filter (forum/templating.py) without its
    per-call locale look-up."""
    return Markup(f'<time datetime="{at.isoformat()}Z">') + _ago(round((at - now).total_seconds()), str(locale)) + Markup("</time>")


@functools.lru_cache(maxsize=20_000)
def _ago_text(seconds, locale):
    from babel.dates import format_timedelta

    return escape(format_timedelta(timedelta(seconds=seconds), add_direction=True, threshold=0.9, locale=locale))


def _ago(seconds, locale):
    """Babel's words for a time difference, kept per worker: beyond an hour to the minute
    (a list shows "3 hours ago", and the words change at most a minute late), below it to
    the second."""
    if abs(seconds) >= 3600:
        seconds = seconds // 60 * 60
    return _ago_text(seconds, locale)


def list_fillers(theme=None):
    """The slots of a kept thread list (forum/pagecache.py) for this request's reader: the
    unread state, the theme's follow button and (for the header) the unread notifications,
    read in one statement before filling, and "last activity"."""
    from ..pagecache import snippet
    from .queries import list_reader_facts

    state = {}

    def prepare(meta):
        state["ids"], state["watching"] = list_reader_facts(current_user._get_current_object(), meta["threads"], theme)

    def watch_theme(_arg, _meta):
        watching = state["watching"]
        return snippet(("watch_theme", theme.slug, watching),
                       lambda: render_template("forum/_watch_theme.html", theme=theme, watching=watching))

    return {
        "prepare": prepare,
        "unread_class": lambda arg, _meta: " unread" if int(arg) in state["ids"] else "",
        "unread_mark": lambda arg, _meta: unread_mark() if int(arg) in state["ids"] else "",
        "activity": activity_filler(),
        "watch_theme": watch_theme,
    }


def activity_filler():
    """The "… ago" slots of a kept page: the moment and locale looked up once per request."""
    from datetime import datetime

    from flask_babel import get_locale

    from ..models import utcnow

    state = {}

    def when(arg, _meta):
        if not state:
            state["now"], state["locale"] = utcnow(), get_locale()
        return activity(datetime.fromisoformat(arg), state["now"], state["locale"])

    return when
