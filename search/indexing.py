"""From database rows to index documents: the outbox drain, full rebuilds and their replay.

The index follows commits through SearchOutbox rows written in the same transaction as
the change (forum/outbox.py). A drain takes the index writer lock first and only then
reads the rows and the objects they name, so that of two drainers the one that writes
last also read last; it deletes exactly the rows it read, by id, after the index
commit (ids are never given twice, see forum.models.SearchOutbox). A crash anywhere before that delete leaves the rows for the next drain, and
indexing the same object twice is harmless (documents are replaced, not appended).

Only visible posts of visible threads are indexed. Each document carries its theme's
visibility, so that the query itself filters what anonymous readers may see.
"""
import logging
import time
from pathlib import Path

from flask import current_app, g, has_request_context
from sqlalchemy.orm import selectinload

from forum.extensions import db
from forum.markup import plain_text
from forum.models import Post, SearchOutbox, Thread, User
from forum.transactions import end_read
from forum.places import province_names

from .analysis import detect_language
from .backend import IndexBusy, get_backend

log = logging.getLogger(__name__)

OBJECT_TYPES = ("post", "thread", "theme", "user", "organisation")
# Kind-specific fields: long texts are searched like the body, short ones like tags.
BODY_FIELDS = ("problem", "approach", "result", "asked", "summary", "follow_up")
META_FIELDS = ("initiator", "contact")
CHUNK = 500


def _day(dt):
    return dt.year * 10000 + dt.month * 100 + dt.day


def indexable_posts():
    """The select() of every post that belongs in the index."""
    return (
        db.select(Post)
        .join(Thread, Post.thread_id == Thread.id)
        .where(Post.status == "visible", Thread.status == "visible", Thread.merged_into_id.is_(None))
    )


def _load(query):
    options = [
        selectinload(Post.thread).selectinload(Thread.tags),
        selectinload(Post.thread).selectinload(Thread.theme),
        selectinload(Post.thread).selectinload(Thread.organisation),
        selectinload(Post.author).selectinload(User.organisation),
    ]
    if hasattr(Post, "attachments"):  # forum.attachments: their text is indexed with the post
        options.append(selectinload(Post.attachments))
    return query.options(*options)


def attachment_texts(post):
    """(file name, extracted text) of the post's attached documents whose text is ready."""
    return [(a.filename, a.text) for a in getattr(post, "attachments", None) or ()
            if a.text_status == "done" and a.text]


def post_document(post):
    """The index document of one visible post (thread-level fields repeated in each)."""
    thread = post.thread
    theme = thread.theme
    org = thread.organisation
    author_org = post.author.organisation if post.author is not None else None
    fields = thread.fields or {}
    text = plain_text(post.body_html)
    if post.number == 1:
        extra = [str(fields[name]) for name in BODY_FIELDS if fields.get(name)]
        text = "\n".join([text] + extra)
        language = thread.language
    else:
        # Replies may be written in the other language than the thread (Brussels).
        language = detect_language(text, default=thread.language)
    # Attached documents (and their names) are part of the post, analysed in its language.
    files = attachment_texts(post)
    if files:
        text = "\n".join([text] + [f"{name}\n{file_text}" for name, file_text in files])
    tags = [t.name for t in thread.tags]
    municipality = thread.municipality or (org.municipality if org is not None else "")
    meta = tags + [municipality]
    if thread.province:
        meta += province_names(thread.province)
    meta += [o.name for o in {org, author_org} if o is not None]
    meta += [str(fields[name]) for name in META_FIELDS if fields.get(name)]
    # The title with tags, places and names: boosted on its own, and part of the text.
    head = "\n".join([thread.title] + [m for m in meta if m])
    if language == thread.language:
        texts = {f"text_{language}": head + "\n" + text}
    else:
        texts = {f"text_{thread.language}": head, f"text_{language}": text}
    doc = {
        "post_id": str(post.id),
        "thread_id": str(thread.id),
        "theme_id": str(thread.theme_id),
        "author_id": str(post.author_id) if post.author_id else None,
        "organisation_id": str(thread.organisation_id) if thread.organisation_id else None,
        "author_org_id": str(author_org.id) if author_org is not None else None,
        "pnum": post.id,
        "tnum": thread.id,
        "day": _day(post.created_at),
        "kind": thread.kind,
        "language": thread.language,
        "visibility": theme.visibility,
        "municipality": municipality or None,
        "province": thread.province or None,
        "solved": ("yes" if thread.accepted_post_id else "no") if thread.kind == "question" else None,
        "tags": ",".join(tags) or None,
        f"title_{thread.language}": head,
        **texts,
    }
    if post.number == 1:
        doc["spell"] = " ".join([thread.title] + tags)
    return doc


def _post_ids_for(object_type, object_id):
    """Ids of the indexable posts an outbox row affects."""
    query = db.select(Post.id).join(Thread, Post.thread_id == Thread.id).where(
        Post.status == "visible", Thread.status == "visible", Thread.merged_into_id.is_(None))
    if object_type == "post":
        query = query.where(Post.id == object_id)
    elif object_type == "thread":
        query = query.where(Thread.id == object_id)
    elif object_type == "theme":
        query = query.where(Thread.theme_id == object_id)
    elif object_type == "user":
        query = query.where(Post.author_id == object_id)
    elif object_type == "organisation":
        authors = db.select(User.id).where(User.organisation_id == object_id)
        query = query.where(db.or_(Thread.organisation_id == object_id, Post.author_id.in_(authors)))
    else:
        return []
    return list(db.session.scalars(query))


# Which index field holds the scope of each object type (everything in it is replaced).
SCOPE_FIELDS = {
    "post": ("post_id",), "thread": ("thread_id",), "theme": ("theme_id",),
    "user": ("author_id",), "organisation": ("organisation_id", "author_org_id"),
}


def apply_changes(batch, keys):
    """Replace the index scope of each (object_type, object_id) with fresh documents."""
    post_ids = set()
    for object_type, object_id in dict.fromkeys(keys):
        if object_type not in SCOPE_FIELDS:
            log.warning("search outbox: unknown object type %r", object_type)
            continue
        batch.record(object_type, object_id)
        for fieldname in SCOPE_FIELDS[object_type]:
            batch.delete(fieldname, object_id)
        post_ids.update(_post_ids_for(object_type, object_id))
    ordered = sorted(post_ids)
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i:i + CHUNK]
        for post in db.session.scalars(_load(indexable_posts().where(Post.id.in_(chunk)))):
            batch.add(post_document(post))
    return len(post_ids)


def _parse_keys(lines):
    keys = []
    for line in lines:
        object_type, _sep, object_id = line.partition(":")
        if object_id.isdigit():
            keys.append((object_type, int(object_id)))
    return keys


def _set_write_lock(value):
    if has_request_context():
        g.sqlite_write = value


def drain(max_rows=500, wait=0.5, rounds=1):
    """Index what the outbox names, then delete those rows. Returns the rows handled.

    Raises nothing for a busy index: another drainer is at work and will, or the next
    drain will, pick the rows up.
    """
    backend = get_backend()
    handled = 0
    for _round in range(rounds):
        ids = []
        try:
            with backend.batch(wait=wait) as batch:
                # Read under the index lock (see the module docstring); reads need no
                # SQLite write lock, the delete below takes it briefly.
                end_read()
                _set_write_lock(False)
                rows = db.session.execute(
                    db.select(SearchOutbox.id, SearchOutbox.object_type, SearchOutbox.object_id)
                    .order_by(SearchOutbox.id).limit(max_rows)
                ).all()
                ids = [r.id for r in rows]
                if rows:
                    apply_changes(batch, [(r.object_type, r.object_id) for r in rows])
                end_read()
        except IndexBusy:
            log.info("search index busy; %d outbox rows left for the next drain", len(ids))
            end_read()
            return handled
        finally:
            _set_write_lock(True)
        if not ids:
            break
        for i in range(0, len(ids), CHUNK):
            db.session.execute(db.delete(SearchOutbox).where(SearchOutbox.id.in_(ids[i:i + CHUNK])))
        db.session.commit()
        handled += len(ids)
        if len(ids) < max_rows and not backlog():
            break
    if handled and not has_request_context() and hasattr(backend, "compact"):
        # Outside a web request (jobs, CLI): also merge what request drains left small.
        try:
            backend.compact(wait=wait)
        except Exception:
            log.exception("search index compaction failed; the next drain tries again")
    return handled


def drained_recently(interval):
    """Whether a request drain started less than `interval` seconds ago, in any process;
    if not, this call counts as the start of one. A stamp file in the instance folder
    is shared by every worker (a stat and a touch: no lock, no database)."""
    if interval <= 0:
        return False
    stamp = Path(current_app.instance_path) / "search-drain.stamp"
    try:
        if time.time() - stamp.stat().st_mtime < interval:
            return True
    except OSError:
        pass  # no stamp yet
    try:
        stamp.touch()  # creates it, or sets its time to now
    except OSError:
        pass  # a read-only or full instance folder: drain, as without an interval
    return False


def backlog():
    return db.session.scalar(db.select(db.func.count(SearchOutbox.id))) or 0


def sync_outbox(wait=10.0):
    """Index everything waiting in the outbox, 500 rows at a time, until it is empty or the
    index writer stays busy; returns (rows indexed, rows left). `search sync` and the job
    runner call this."""
    total = 0
    while True:
        handled = drain(max_rows=500, wait=wait, rounds=1)
        total += handled
        if not handled or not backlog():
            break
    return total, backlog()


def fill_all(batch, progress=None):
    """Add every indexable post (a full rebuild), in id order, a chunk at a time."""
    last = 0
    count = 0
    while True:
        posts = list(db.session.scalars(
            _load(indexable_posts().where(Post.id > last).order_by(Post.id).limit(CHUNK))))
        if not posts:
            break
        for post in posts:
            batch.add(post_document(post))
        count += len(posts)
        last = posts[-1].id
        batch.flush()
        end_read()
        db.session.expunge_all()
        if progress:
            progress(count)
    return count


def rebuild(progress=None):
    """Build a new index generation from the database and swap it in. Returns the count."""
    counted = {}

    def fill(batch):
        counted["n"] = fill_all(batch, progress)

    def replay(batch, lines):
        apply_changes(batch, _parse_keys(lines))
        end_read()

    get_backend().rebuild(fill, replay)
    return counted.get("n", 0)


# The name forum/backup.py imports after a restore.
rebuild_index = rebuild
