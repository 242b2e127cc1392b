"""Whole reading pages kept per worker, with what depends on the reader left as slots.

The latest-activity list, a theme's list and a thread page cost 6-12 ms of Python each even
with their post fragments and list items cached (forum/threads/fragments.py): loading the
rows through the ORM and rendering the page around them. Every reader of the same page
language and audience sees the same page, except a few parts: the CSRF token, the user
menu and flashed messages, which threads and posts are new to them, what they thanked,
whether they follow the theme or the thread, and "3 minutes ago". So the page is rendered
once with those parts as slots (`\\x00name\\x1farg\\x00`, see `slot()`), kept cut at its slots,
and each request fills the slots for its reader.

When a kept page is used. A page is kept under (page, address with its query, language,
audience) together with the counters it was rendered at, and used only while they are
unchanged:
- `page_generation.site`: raised at commit by any change a page may show that is not a
  thread or a post (a member's name or council, a council, a theme, a tag, an event, ...);
- `page_generation.lists`: raised by any change to a thread or a post (lists show counts
  and order by activity);
- `thread.cache_revision`: raised by any change to that thread or one of its posts, except a
  new reply at the end: that one moves only the thread's counters (`post_count`, last post),
  and a thread page whose replies it does not change (a full page before the last) stays
  valid; the page checks the counters itself (forum/threads/views.py, `_render_thread`);
- and the date (an open vacancy closes at midnight); the events page also the minute.
The counters are raised by the session hooks below, at commit, whatever service, admin screen or
CLI command made the change through the ORM (flushed objects, and bulk INSERT/UPDATE/DELETE
statements on any table that is not known to be quiet). Tables that no page shows to
another reader (read markers, notifications, mail queues, sign-in material, ...) are quiet.
Another server sees the same counters in the shared database, so no server keeps a stale page.

Who gets a kept page. The audience is (member?, may post?), on the events page also the
member's council (their council's and province's events). Moderators always get a page
rendered for them (their moderation tools); on a thread page so do the thread's author
(accept an answer), the advice's council (record the answer), and authors of held or
hidden posts in the thread or of posts with files on the page. The authors of other posts
get the kept page: history, edit and delete on their posts are slots (threads/fragments.py
post_fillers). Pages rendered for one reader have the same slots, filled the same way, so
both paths give the same HTML (tests/test_pagecache.py compares them).
"""
import functools
import re
from datetime import date

from flask import current_app, g, get_flashed_messages, render_template, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from .extensions import db
from .i18n import current_language
from .permissions import can_moderate, can_post, is_member

# Pages a worker keeps (a thread page is 30-60 KB): past this the older half is dropped.
MAX_PAGES = 400
# Search results pages are kept apart, fewer: members' many different searches must not
# push the reading pages out.
MAX_SEARCH_PAGES = 100
SLOT = re.compile("\x00([a-z_]+)(?:\x1f([^\x00]*))?\x00")

# Tables whose rows no cached page shows (or shows only to its own reader, through a slot).
QUIET_TABLES = frozenset({
    "thread_read", "notification", "watch", "digest_sent", "search_outbox", "rate_limit_event",
    "account_mail", "signin_link", "totp_credential", "recovery_code", "passkey",
    "webauthn_challenge", "security_event", "mail_key", "incoming_mail", "calendar_token",
    "flag", "moderation_action", "post_revision", "advice_revision", "organisation_change_request",
    "reaction", "page_generation",
})
# Columns of a member that no page shows to others: changing only these raises nothing
# (signing in sets last_seen_at; a page must not go stale with every sign-in).
QUIET_USER_COLUMNS = frozenset({
    "last_seen_at", "updated_at", "password_hash", "session_token", "locale", "notify_mode",
    "email", "new_email", "terms_accepted_at", "confirmed_at", "silenced_until",
    "suspended_until", "sanction_reason", "bio",
})


def slot(name, arg=""):
    """The marker of a slot, filled per request (see `fill`)."""
    return Markup(f"\x00{name}\x1f{arg}\x00" if arg != "" else f"\x00{name}\x00")


def active():
    """True while a page is being rendered for the page cache (its reader's parts as slots)."""
    return g.get("agora_page_slots", False)


# -- the counters -------------------------------------------------------------------------

# What a new reply changes on its thread's row: a thread page reads these at every request
# (its reply count, pagination and last activity), so changing only them keeps its revision.
APPEND_THREAD_COLUMNS = frozenset({"post_count", "last_post_id", "last_post_at"})


def _pending(session):
    return session.info.setdefault("agora_page_bumps", {"site": False, "lists": False, "threads": set()})


def _appended_only(state):
    """True when a thread's only changes are the counters a new reply moves."""
    return all(attr.key in APPEND_THREAD_COLUMNS or not attr.history.has_changes() for attr in state.attrs)


def _user_shown_change(state):
    return any(attr.key not in QUIET_USER_COLUMNS and attr.history.has_changes() for attr in state.attrs)


def _note_flush(session, _context):
    """After a flush: note what its objects change for the pages (raised at commit)."""
    from .models import Post, Thread, User

    bumps = None
    for obj, changed in [(o, False) for o in session.new] + [(o, True) for o in session.dirty] + [
            (o, False) for o in session.deleted]:
        if obj.__table__.name in QUIET_TABLES:
            continue
        if changed and not session.is_modified(obj, include_collections=True):
            continue
        if isinstance(obj, User) and changed and not _user_shown_change(inspect(obj)):
            continue
        bumps = bumps or _pending(session)
        if isinstance(obj, Thread):
            bumps["lists"] = True
            if obj.id is not None and not (changed and _appended_only(inspect(obj))):
                bumps["threads"].add(obj.id)
        elif isinstance(obj, Post):
            bumps["lists"] = True
            if obj in session.new and obj.number is not None and obj.number > 1:
                continue  # a new reply: after the thread's last post (its number is the next one)
            thread_id = obj.thread_id if obj.thread_id is not None else getattr(obj.thread, "id", None)
            if thread_id is not None:
                bumps["threads"].add(thread_id)
                # A post moved to another thread (a merge) changes the one it left too.
                bumps["threads"].update(t for t in inspect(obj).attrs.thread_id.history.deleted if t is not None)
            else:
                bumps["site"] = True
        else:
            bumps["site"] = True


def _note_statement(state):
    """A bulk INSERT, UPDATE or DELETE through the session on a table that is not quiet:
    every page (the statement does not say which rows it changed)."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if getattr(getattr(state.statement, "table", None), "name", None) in QUIET_TABLES:
        return
    _pending(state.session)["site"] = True


def _raise_counters(session):
    """Before commit: flush what is left, then raise the counters in the same transaction
    (last, so the counter row is locked only for the end of a transaction)."""
    session.flush()
    bumps = session.info.pop("agora_page_bumps", None)
    if not bumps:  # made only for something to raise
        return
    from .models import PageGeneration, Thread

    connection = session.connection()
    if bumps["threads"]:
        connection.execute(db.update(Thread.__table__).where(Thread.__table__.c.id.in_(sorted(bumps["threads"])))
                           .values(cache_revision=Thread.__table__.c.cache_revision + 1))
    table = PageGeneration.__table__
    values = {}
    if bumps["site"]:
        values["site"] = table.c.site + 1
    if bumps["lists"]:  # (a thread's revision comes with the lists' counter)
        values["lists"] = table.c.lists + 1
    if connection.execute(db.update(table).where(table.c.id == 1).values(**values)).rowcount == 0:
        connection.execute(db.insert(table).values(id=1, site=1, lists=1))


def _forget(session, *_args):
    session.info.pop("agora_page_bumps", None)


def install_hooks():
    """Listen on every ORM session (once per process)."""
    if event.contains(Session, "after_flush", _note_flush):
        return
    event.listen(Session, "after_flush", _note_flush)
    event.listen(Session, "do_orm_execute", _note_statement)
    event.listen(Session, "before_commit", _raise_counters)
    event.listen(Session, "after_rollback", _forget)


@functools.cache
def _counters_statement():
    from .models import PageGeneration

    table = PageGeneration.__table__
    return db.select(table.c.site, table.c.lists).where(table.c.id == 1)


def counters():
    """(site, lists, today) of this request (one statement, read once per request). The date
    too: what a page shows can depend on it (an open vacancy closes at midnight)."""
    if "agora_page_counters" not in g:
        row = db.session.execute(_counters_statement()).first()
        g.agora_page_counters = (*(tuple(row) if row is not None else (0, 0)), date.today())
    return g.agora_page_counters


def remember_counters(site, lists):
    """The counters read along with another statement of this request (threads.queries)."""
    g.agora_page_counters = (site, lists, date.today())


def site_counters():
    """(site, today): what every page depends on, without the lists' counter."""
    site, _lists, today = counters()
    return site, today


# -- the reader ---------------------------------------------------------------------------

def audience():
    """What a kept page may reflect of its reader, or None when the reader gets a page of
    their own (moderators)."""
    user = current_user._get_current_object()
    if can_moderate(user):
        return None
    return (is_member(user), can_post(user))


def _base_fillers():
    token = []

    def csrf(_arg):
        if not token:
            token.append(generate_csrf())
        return token[0]

    return {
        "csrf": csrf,
        "user_menu": lambda _arg: user_menu(),
        "flashes": lambda _arg: render_template("_flashes.html") if get_flashed_messages() else "",
    }


# Small per-reader pieces kept per worker (a few hundred bytes each); past this all are dropped.
MAX_SNIPPETS = 5_000


def user_menu():
    """The header's user menu for this reader. A member's (not a moderator's: their review
    count changes under them) is kept per worker under everything it shows: language, id,
    name and the unread count; the CSRF token is put in per request."""
    from .templating import unread_notifications

    user = current_user._get_current_object()
    if not is_member(user) or can_moderate(user):
        return render_template("_user_menu.html")
    return snippet(("user_menu", user.id, user.name, unread_notifications()), lambda: render_template("_user_menu.html"))


def snippet(key, render):
    """A small reader-specific piece of a page (the user menu, a follow button) kept per
    worker under `key` (which must hold everything it shows; the page language is added);
    the reader's CSRF token is put in per request."""
    snippets = current_app.extensions.setdefault("agora_snippets", {})
    key = (current_language(), *key)
    parts = snippets.get(key)
    token = generate_csrf()
    if parts is None:
        parts = str(render()).split(token)
        if len(snippets) >= MAX_SNIPPETS:
            snippets.clear()
        snippets[key] = parts
    return token.join(parts)


# -- keeping and filling --------------------------------------------------------------------

def _store(kind):
    """(the store for pages of `kind`, its size limit)."""
    if kind == "search":
        return current_app.extensions.setdefault("agora_search_pages", {}), MAX_SEARCH_PAGES
    return current_app.extensions.setdefault("agora_pages", {}), MAX_PAGES


def _cut(html, token):
    """The rendered page as [text, name, arg, text, name, arg, ..., text]; the reader's CSRF
    token (in the head, forms and buttons) becomes a slot wherever it appears."""
    if token:
        html = html.replace(token, "\x00csrf\x00")
    return SLOT.split(html)


def page(kind, valid, render, fillers, keep=True, usable=None, vary=(), grow=None):
    """The page `kind` at this address for this reader: a kept one while `valid` (the
    counters it depends on) holds and `usable(meta)` says this reader may have it, else
    `render()` (a template rendered with slots, giving (html, meta)), kept for the next
    readers when `keep`. `fillers` maps slot names to functions of (arg, meta); `vary` adds
    what else of the reader the page shows (e.g. their council). `grow(parts, meta)`, when
    given, may bring a kept page that `usable` refuses up to date without rendering it
    all again (a thread's last page with new replies: `insert_before`); it returns the new
    (parts, meta), kept in place of the old, or None to render. Returns (html, meta)."""
    who = audience()
    keep = keep and who is not None and current_app.config.get("PAGE_CACHE", True)
    key = (kind, request.full_path, current_language(), who, *vary)
    store, limit = _store(kind)
    kept = store.get(key) if keep else None
    parts = None
    if kept is not None and kept[0] == valid:
        if usable is None or usable(kept[2]):
            parts, meta = kept[1], kept[2]
        elif grow is not None:
            grown = _with_slots(grow, kept[1], kept[2])
            if grown is not None:
                parts, meta = grown
                store[key] = (valid, parts, meta)
    if parts is None:
        html, meta = _with_slots(render)
        parts = _cut(str(html), g.get("csrf_token"))
        if keep and (usable is None or usable(meta)):
            if len(store) >= limit:
                for old in list(store)[: limit // 2]:
                    store.pop(old, None)
            store[key] = (valid, parts, meta)
    return fill(parts, meta, fillers), meta


def _with_slots(build, *args):
    """build(*args) with the reader's parts rendered as slots (see `active`)."""
    g.agora_page_slots = True
    try:
        return build(*args)
    finally:
        g.agora_page_slots = False


def insert_before(parts, name, html):
    """A kept page's parts with `html` (rendered with slots) put in just before the first
    slot `name`; None when the page has no such slot."""
    for n in range(1, len(parts), 3):
        if parts[n] == name:
            return parts[:n - 1] + _cut(parts[n - 1] + str(html), g.get("csrf_token")) + parts[n:]
    return None


def fill(parts, meta, fillers):
    """The page for this reader: each slot replaced by its filler's text. A "prepare"
    filler, when given, runs first (one statement for all of the reader's parts)."""
    if "prepare" in fillers:
        fillers["prepare"](meta)
    base = _base_fillers()
    out = []
    for n in range(0, len(parts) - 1, 3):
        out.append(parts[n])
        name, arg = parts[n + 1], parts[n + 2] or ""
        filler = fillers.get(name)
        out.append(str(filler(arg, meta)) if filler is not None else str(base[name](arg)))
    out.append(parts[-1])
    return "".join(out)


def init_app(app):
    app.config.setdefault("PAGE_CACHE", True)  # AGORA_PAGE_CACHE (forum/config.py)
    app.jinja_env.globals.update(slot=slot, page_slots=active)
    install_hooks()
