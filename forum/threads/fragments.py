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
import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app, render_template
from flask_login import current_user
from markupsafe import Markup

from ..i18n import current_language
from ..permissions import is_member

TEMPLATE = "forum/_post_fragment.html"
SEPARATOR = "\x00"


def _folder():
    return Path(current_app.instance_path) / "fragments"


def _path(post_id, lang, audience):
    return _folder() / str(post_id // 1000) / f"{post_id}-{lang}-{audience}.html"


def _template_version():
    """A hash of the fragment template, so a changed template never serves old fragments."""
    version = current_app.extensions.get("agora_fragment_version")
    if version is None:
        source, _filename, _uptodate = current_app.jinja_env.loader.get_source(current_app.jinja_env, TEMPLATE)
        digest = hashlib.blake2b(source.encode(), digest_size=8)
        # The compiled catalogs too: a deploy with changed translations must not serve
        # fragments worded by the old ones.
        for catalog in sorted(Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"]).glob("*/LC_MESSAGES/*.mo")):
            digest.update(catalog.read_bytes())
        version = digest.hexdigest()
        current_app.extensions["agora_fragment_version"] = version
    return version


def fingerprint(post, thread, lang, audience):
    """Everything the fragment shows, hashed: a change to any of it makes a new fragment."""
    author = post.author
    org = author.organisation if author is not None else None
    parts = [
        _template_version(), lang, audience, thread.language, post.id, post.number, post.thread_id, post.status,
        post.edit_count, post.edited_at, post.created_at, post.body_html,
        author.id if author else "", author.name if author else "", author.role if author else "",
        bool(author and author.deleted_at), org.name if org else "",
    ]
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
    key = fingerprint(post, thread, lang, audience)
    path = _path(post.id, lang, audience)
    cached = _read(path, key)
    if cached is not None:
        return cached
    html = render_template(TEMPLATE, post=post, thread=thread, audience=audience, separator=Markup(SEPARATOR))
    head, _sep, body = html.partition(SEPARATOR)
    _write(path, key, head, body)
    return Markup(head), Markup(body)


def forget_posts(post_ids):
    """Remove the stored fragments of these posts (all languages and audiences): a hidden
    or deleted text should not stay on disk, even where no page would show it."""
    for post_id in post_ids:
        folder = _folder() / str(post_id // 1000)
        for path in folder.glob(f"{post_id}-*.html"):
            path.unlink(missing_ok=True)


# -- what depends on the reader, prepared once per page ------------------------------------

SENTINEL = 987654321  # an id no post has: url_for once, then the id is put in its place


class ReaderLinks:
    """The reader's rights on one thread and the post action addresses, prepared once per
    page: one url_for per endpoint instead of one per post, and the policy checks that do
    not depend on the post done once."""

    def __init__(self, user, thread):
        from flask import url_for

        from ..permissions import can_moderate, can_post, can_reply

        self.member = is_member(user)
        self.moderator = can_moderate(user)
        self.can_post = can_post(user)
        self.can_reply = can_reply(user, thread)
        self.user_id = user.id if self.member else None
        self._patterns = {}
        self._url_for = url_for
        self._thread_id = thread.id

    def _pattern(self, endpoint, **values):
        key = (endpoint, tuple(sorted(values)))
        if key not in self._patterns:
            prefix, _sep, suffix = self._url_for(endpoint, **values).partition(str(SENTINEL))
            self._patterns[key] = (prefix, suffix)
        return self._patterns[key]

    def thank(self, post_id):
        prefix, suffix = self._pattern("threads.thank", post_id=SENTINEL)
        return f"{prefix}{post_id}{suffix}"

    def quote(self, post_id):
        prefix, suffix = self._pattern("threads.reply", thread_id=self._thread_id, quote=SENTINEL)
        return f"{prefix}{post_id}{suffix}"

    def may_thank(self, post):
        return post.status == "visible" and self.can_post and self.user_id != post.author_id


def reader_links(thread):
    """The ReaderLinks of this request's reader for a thread (made once per request)."""
    from flask import g

    cache = g.setdefault("agora_reader_links", {})
    if thread.id not in cache:
        user = current_user._get_current_object()
        cache[thread.id] = ReaderLinks(user, thread)
    return cache[thread.id]
