"""Attachment services: check uploads, attach them to posts, remove them, extract their text.

Uploads are checked completely before anything is written (prepare_uploads): size, type
from the content, images re-encoded, the member's daily quota. The views call it before
the forum service creates or edits the post, so a refused file leaves the post unwritten
and its text in the editor. attach_files() then stores the bytes (content-addressed, see
storage.py) and adds the rows in its own transaction.

Files are deleted from disk only after the transaction that dropped their last reference
has committed: code that deletes Attachment rows calls schedule_cleanup(), and a session
listener (install_cleanup) removes files nobody refers to after commit or rollback. That
also removes files written for a transaction that was rolled back.
"""
import functools
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, g, has_request_context
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from .. import outbox
from ..extensions import db
from ..models import Notification, Post, utcnow
from ..permissions import can_attach, can_moderate, can_remove_attachment
from ..transactions import end_read, unit_of_work
from . import detect, extract, images, limits, storage
from .models import Attachment

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULTS = {
    "ATTACHMENT_THUMB_SIDE": 480,
    "ATTACHMENT_TEXT_MAX_CHARS": 200_000,
}
CLEANUP_KEY = "agora_attachment_cleanup"
FILENAME_MAX = 150


def config(name):
    return current_app.config.get(name, DEFAULTS.get(name))


def format_size(size):
    """1,2 MB / 340 kB in the reader's locale."""
    if size >= MB:
        return _("%(size)s MB", size=format_decimal(round(size / MB, 1)))
    if size >= 1024:
        return _("%(size)s kB", size=format_decimal(round(size / 1024)))
    return _("%(size)s bytes", size=format_decimal(size))


# -- errors ----------------------------------------------------------------------------

class AttachmentRefused(Exception):
    """One or more files refused; `problems` holds (code, params) pairs, `messages` their text."""

    def __init__(self, problems):
        super().__init__(", ".join(code for code, _p in problems))
        self.problems = list(problems)

    @property
    def codes(self):
        return [code for code, _p in self.problems]

    @property
    def messages(self):
        """Translated explanations (call inside a request or force_locale)."""
        return [problem_message(code, **params) for code, params in self.problems]


def problem_message(code, name="", **params):
    allowed = _("Allowed are PDF, Word (DOCX), Excel (XLSX), PowerPoint (PPTX), OpenDocument text and "
                "spreadsheets (ODT, ODS), text (TXT, CSV) and images (PNG, JPEG, WebP, GIF).")
    messages = {
        "type_not_allowed": lambda: _("%(name)s: this kind of file cannot be attached.", name=name) + " " + allowed,
        "archive": lambda: _("%(name)s is an archive (such as ZIP); attach the documents themselves instead.",
                             name=name),
        "executable": lambda: _("%(name)s is a program; programs cannot be attached.", name=name),
        "active_content": lambda: _("%(name)s is a web page, an SVG image or a script; these cannot be "
                                    "attached. Save it as PDF or PNG instead.", name=name),
        "macros": lambda: _("%(name)s contains macros, which cannot be attached. Save it as an ordinary "
                            "document (DOCX, XLSX or PPTX) and try again.", name=name),
        "mismatch": lambda: _("%(name)s: the content of the file does not match its name. Save it again "
                              "in the right format, with the right extension.", name=name) + " " + allowed,
        "damaged": lambda: _("%(name)s could not be read; the file may be damaged.", name=name),
        "empty": lambda: _("%(name)s is empty.", name=name),
        "too_large": lambda: _("%(name)s is %(size)s; a file can be at most %(max)s.", name=name,
                               size=format_size(params.get("size", 0)),
                               max=format_size(config("ATTACHMENT_MAX_BYTES"))),
        "image_too_big": lambda: _("%(name)s has too many pixels (at most %(max)s megapixels). Make the "
                                   "image smaller and try again.", name=name,
                                   max=format_decimal(round(config("ATTACHMENT_MAX_IMAGE_PIXELS") / 1e6))),
        "too_many": lambda: _("You can attach at most %(max)d files to one message.",
                              max=config("ATTACHMENT_MAX_FILES")),
        "quota": lambda: _("With these files you would attach more than %(max)s in 24 hours, the daily "
                           "limit per member (you have %(left)s left). Try again later or attach fewer "
                           "or smaller files.", max=format_size(config("ATTACHMENT_DAILY_QUOTA")),
                           left=format_size(max(params.get("left", 0), 0))),
        "too_many_parts": lambda: _("%(name)s consists of more than %(max)s parts; an ordinary document has far "
                                    "fewer. It cannot be attached.", name=name,
                                    max=format_decimal(limits.ARCHIVE_MAX_ENTRIES)),
        "unpacked_too_large": lambda: _("%(name)s would unpack to more than %(max)s, or is packed far more tightly "
                                        "than an ordinary document (a “zip bomb”). It cannot be attached. Save it "
                                        "again from your office program, or split it into smaller documents.",
                                        name=name, max=format_size(limits.ARCHIVE_MAX_TOTAL_BYTES)),
        "embedded_image_too_big": lambda: _("%(name)s contains an image with too many pixels (at most %(max)s "
                                            "megapixels). Make the images in the document smaller and try again.",
                                            name=name,
                                            max=format_decimal(round(config("ATTACHMENT_MAX_IMAGE_PIXELS") / 1e6))),
        "forbidden": lambda: _("You are not allowed to do this."),
    }
    message = messages.get(code)
    return message() if message else _("%(name)s could not be attached.", name=name)


# -- checking uploads ------------------------------------------------------------------

@dataclass
class Upload:
    """A file as received: the name the browser sent and the bytes (maybe cut at the limit)."""

    filename: str
    data: bytes
    size: int  # the real size, even when `data` was cut short


@dataclass
class Prepared:
    """An upload that passed every check, ready to store."""

    filename: str
    file_type: detect.FileType
    data: bytes
    width: int = None
    height: int = None
    thumb: bytes = None
    source: str = ""  # import: the path in the import file
    problems: list = field(default_factory=list)

    @property
    def size(self):
        return len(self.data)


def read_uploads(files):
    """Upload objects from werkzeug FileStorage objects; the empty part a browser sends when
    no file was chosen is skipped. Reads at most one byte more than the limit."""
    limit = config("ATTACHMENT_MAX_BYTES")
    uploads = []
    for storage_obj in files or ():
        name = getattr(storage_obj, "filename", "") or ""
        data = storage_obj.read(limit + 1)
        if not name and not data:
            continue
        size = len(data)
        if size > limit:
            # Count the rest without keeping it: the message names the real size.
            while True:
                chunk = storage_obj.read(1024 * 1024)
                if not chunk:
                    break
                size += len(chunk)
            data = b""
        uploads.append(Upload(filename=name, data=data, size=size))
    return uploads


def clean_filename(name, file_type=None):
    """A display name: no folders, control or direction-changing characters, a sane length."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Bidi overrides would let "gpj.exe" display as "exe.jpg"; control characters break headers.
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]", "", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext.lower()
    if file_type is not None and ext not in file_type.extensions:
        ext = file_type.extensions[0]
    stem = stem.strip(" .")[:FILENAME_MAX] or _("file")
    return f"{stem}.{ext}" if ext else stem


def _display_name(name):
    return clean_filename(name) or _("file")


def check_file(data, filename, size=None):
    """Check one file's bytes; returns a Prepared or raises AttachmentRefused."""
    display = _display_name(filename)
    size = len(data) if size is None else size
    if size > config("ATTACHMENT_MAX_BYTES"):
        raise AttachmentRefused([("too_large", {"name": display, "size": size})])
    try:
        file_type = detect.detect(data, filename, max_image_pixels=config("ATTACHMENT_MAX_IMAGE_PIXELS"))
        prepared = Prepared(filename=clean_filename(filename, file_type), file_type=file_type, data=data)
        if file_type.kind == "image":
            result = images.process(
                data, file_type.code, max_side=config("ATTACHMENT_IMAGE_MAX_SIDE"),
                thumb_side=config("ATTACHMENT_THUMB_SIDE"), max_pixels=config("ATTACHMENT_MAX_IMAGE_PIXELS"))
            prepared.data, prepared.width, prepared.height, prepared.thumb = (
                result.data, result.width, result.height, result.thumb)
    except detect.Refused as exc:
        raise AttachmentRefused([(exc.code, {"name": display})]) from None
    return prepared


def used_today(user_id):
    """Bytes the member attached in the past 24 hours."""
    since = utcnow() - timedelta(hours=24)
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Attachment.size), 0))
        .where(Attachment.uploader_id == user_id, Attachment.created_at > since)) or 0


def prepare_uploads(user, uploads, existing=0):
    """Check every upload (and the quota) before anything is written; returns [Prepared].

    `existing` is the number of files the post keeps (when editing): they count towards
    the per-post limit. Raises AttachmentRefused naming every problem at once.
    """
    if not uploads:
        return []
    if existing + len(uploads) > config("ATTACHMENT_MAX_FILES"):
        raise AttachmentRefused([("too_many", {})])
    prepared, problems = [], []
    for upload in uploads:
        try:
            prepared.append(check_file(upload.data, upload.filename, size=upload.size))
        except AttachmentRefused as exc:
            problems.extend(exc.problems)
    if problems:
        raise AttachmentRefused(problems)
    quota = config("ATTACHMENT_DAILY_QUOTA")
    if quota:
        used = used_today(user.id)
        if used + sum(p.size for p in prepared) > quota:
            raise AttachmentRefused([("quota", {"left": quota - used})])
    return prepared


# -- writing ---------------------------------------------------------------------------

def _store(prepared):
    """Write the bytes (and thumbnail) to disk; newly written files are cleaned up again if
    the transaction does not commit."""
    sha, new = storage.store(prepared.data)
    written = [sha] if new else []
    thumb_sha = None
    if prepared.thumb is not None:
        thumb_sha, new_thumb = storage.store(prepared.thumb)
        if new_thumb:
            written.append(thumb_sha)
    schedule_cleanup(written)
    return sha, thumb_sha


def add_attachments(post, uploader_id, prepared, import_refs=None):
    """Store files and add their rows to the session (no commit, no permission check);
    returns the new Attachment rows. Used by attach_files, the importer and the demo."""
    position = (db.session.scalar(
        db.select(db.func.max(Attachment.position)).where(Attachment.post_id == post.id)) or 0)
    rows = []
    for i, item in enumerate(prepared):
        sha, thumb_sha = _store(item)
        position += 1
        row = Attachment(
            post_id=post.id, uploader_id=uploader_id, sha256=sha, filename=item.filename,
            mime=item.file_type.mime, type_code=item.file_type.code, size=item.size,
            kind=item.file_type.kind, width=item.width, height=item.height, thumb_sha256=thumb_sha,
            text="", text_status="pending" if item.file_type.extract else "none", position=position,
            import_ref=(import_refs[i] if import_refs else None),
        )
        db.session.add(row)
        rows.append(row)
    if rows:
        outbox.enqueue("post", post.id)
    return rows


@unit_of_work()
def attach_files(user, post, prepared):
    """Attach checked files to a post (its author, or a moderator). Commits.

    Text extraction happens later, in the job process (text_status "pending").
    """
    if not prepared:
        return []
    if not can_attach(user, post):
        raise AttachmentRefused([("forbidden", {})])
    return add_attachments(post, user.id, prepared)


@unit_of_work()
def remove_attachment(actor, attachment, reason=""):
    """Remove one attachment: by a moderator (audit-logged, the author is told) or by the
    author while they may edit the post. The file goes once nothing else refers to it. Commits."""
    if not can_remove_attachment(actor, attachment):
        raise AttachmentRefused([("forbidden", {})])
    post = attachment.post
    reason = (reason or "").strip()[:1000]
    by_moderator = can_moderate(actor) and actor.id != post.author_id
    if by_moderator:
        from ..moderation.audit import record

        record(actor, "remove_attachment", "post", post.id, reason, attachment_id=attachment.id,
               filename=attachment.filename, sha256=attachment.sha256, size=attachment.size,
               uploader_id=attachment.uploader_id)
        if post.author_id and post.author is not None and post.author.deleted_at is None:
            db.session.add(Notification(
                user_id=post.author_id, kind="moderation", thread_id=post.thread_id, post_id=post.id,
                data={"action": "attachment_removed", "reason": reason, "filename": attachment.filename},
            ))
    _delete_rows([attachment])
    outbox.enqueue("post", post.id)
    db.session.commit()
    return by_moderator


def _delete_rows(rows):
    schedule_cleanup([h for a in rows for h in (a.sha256, a.thumb_sha256) if h])
    for row in rows:
        db.session.delete(row)


def remove_post_attachments(post_ids):
    """Delete the attachments of these posts (no commit; the files go after the caller's
    commit). For account deletion and other bulk removals; returns how many."""
    post_ids = list(post_ids)
    if not post_ids:
        return 0
    rows = db.session.scalars(db.select(Attachment).where(Attachment.post_id.in_(post_ids))).all()
    _delete_rows(rows)
    return len(rows)


def remove_deleted_post_files(post, **_):
    """Receiver of forum.signals.post_deleted: a deleted post's files go with it (the rows
    in the deletion's transaction, the files after its commit)."""
    remove_post_attachments([post.id])


# -- cleaning up files -----------------------------------------------------------------

def schedule_cleanup(hashes):
    """Check these stored files after the session's transaction ends; delete the unreferenced."""
    hashes = [h for h in hashes if h]
    if hashes:
        db.session().info.setdefault(CLEANUP_KEY, set()).update(hashes)


def referenced(hashes, connection=None):
    """The subset of `hashes` some attachment row refers to (as file or thumbnail)."""
    hashes = list(hashes)
    if not hashes:
        return set()
    query = db.select(Attachment.sha256, Attachment.thumb_sha256).where(
        db.or_(Attachment.sha256.in_(hashes), Attachment.thumb_sha256.in_(hashes)))
    rows = (connection.execute(query) if connection is not None else db.session.execute(query)).all()
    return {h for row in rows for h in row if h}


def collect_garbage(hashes=None, min_age=3600):
    """Delete stored files no attachment refers to. Without `hashes`, every file on disk
    older than `min_age` seconds is considered (the daily sweep). Returns how many went."""
    if hashes is None:
        hashes = list(storage.all_hashes(min_age=min_age))
    removed = 0
    hashes = list(hashes)
    for start in range(0, len(hashes), 500):
        chunk = hashes[start:start + 500]
        with db.engine.connect() as connection:
            keep = referenced(chunk, connection)
        for sha in chunk:
            if sha not in keep and storage.remove(sha):
                removed += 1
    return removed


def _after_transaction(session):
    hashes = session.info.pop(CLEANUP_KEY, None)
    if not hashes:
        return
    try:
        collect_garbage(hashes)
    except Exception:  # the daily sweep catches what is left; never fail the caller
        log.exception("attachment cleanup failed; the daily sweep will retry")


_installed = False


def install_cleanup():
    """Listen to every session's commit and rollback once per process."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_commit", _after_transaction)
    event.listen(Session, "after_rollback", _after_transaction)
    _installed = True


# -- text extraction (job process) -----------------------------------------------------

def extract_pending(limit=50):
    """Extract the text of documents waiting for it, then let the search index know.

    Each attachment is its own short transaction, and no transaction is open while a file
    is read (a long PDF must not hold SQLite's write lock). Running twice at once only
    does work twice: the result is written only while the row is still pending.
    Returns the number handled.
    """
    ids = db.session.scalars(
        db.select(Attachment.id).where(Attachment.text_status == "pending").order_by(Attachment.id).limit(limit)
    ).all()
    end_read()
    handled = 0
    for attachment_id in ids:
        row = db.session.execute(
            db.select(Attachment.sha256, Attachment.type_code, Attachment.filename, Attachment.post_id)
            .where(Attachment.id == attachment_id, Attachment.text_status == "pending")).first()
        end_read()
        if row is None:
            continue
        try:
            data = storage.read(row.sha256)
            result = extract.extract(data, row.type_code, max_chars=config("ATTACHMENT_TEXT_MAX_CHARS"))
            text, status = result.text, "done"
            if result.cut:  # a limit of limits.py: the text up to it is kept
                log.warning("text of attachment %s (%s) cut: %s", attachment_id, row.filename, result.cut)
        except (OSError, ValueError, extract.ExtractionFailed) as exc:
            log.warning("text extraction failed for attachment %s (%s): %s", attachment_id, row.filename, exc)
            text, status = "", "failed"
        updated = db.session.execute(
            db.update(Attachment).where(Attachment.id == attachment_id, Attachment.text_status == "pending")
            .values(text=text, text_status=status)).rowcount
        if updated:
            outbox.enqueue("post", row.post_id)
            handled += 1
        db.session.commit()
    return handled


_last_sweep = {}


def run_jobs(today=None):
    """The job runner's round: extract pending text; once a day sweep orphaned files."""
    handled = extract_pending(limit=200)
    day = (today or utcnow().date()).isoformat()
    app_key = id(current_app._get_current_object())
    if _last_sweep.get(app_key) != day:
        removed = collect_garbage(min_age=24 * 3600)
        _last_sweep[app_key] = day
        if removed:
            log.info("removed %d orphaned attachment file(s)", removed)
    return handled


# -- reading ---------------------------------------------------------------------------

@functools.cache
def _thread_attachments_statement():
    # Built once: every thread page rendered asks it.
    return (db.select(Attachment).join(Post, Attachment.post_id == Post.id)
            .where(Post.thread_id == db.bindparam("tid")).order_by(Attachment.position, Attachment.id))


def attachments_for(post):
    """The attachments of a post, loaded once per thread and request (one query per page)."""
    if not has_request_context():
        return list(post.attachments)
    cache = g.setdefault("agora_attachments", {})
    thread_id = post.thread_id
    if thread_id not in cache:
        rows = db.session.scalars(_thread_attachments_statement(), {"tid": thread_id}).all()
        by_post = {}
        for row in rows:
            by_post.setdefault(row.post_id, []).append(row)
        cache[thread_id] = by_post
    return cache[thread_id].get(post.id, [])


@functools.cache
def _texts_statement():
    # Built once: every search page asks it for the ten posts it shows.
    return (db.select(Attachment.post_id, Attachment.filename, Attachment.text)
            .where(Attachment.post_id.in_(db.bindparam("ids", expanding=True)), Attachment.text_status == "done",
                   Attachment.text != "")
            .order_by(Attachment.position, Attachment.id))


def attachment_texts(post_ids):
    """{post_id: [(filename, text)]} of extracted text, for the search index and snippets."""
    post_ids = list(post_ids)
    if not post_ids:
        return {}
    out = {}
    for start in range(0, len(post_ids), 500):
        rows = db.session.execute(_texts_statement(), {"ids": post_ids[start:start + 500]}).all()
        for row in rows:
            out.setdefault(row.post_id, []).append((row.filename, row.text))
    return out


def export_entries(user):
    """The files a member attached, for their data export: [(name in the ZIP, bytes)] with
    attachments.json describing them first; [] when they attached nothing."""
    import json

    rows = db.session.scalars(
        db.select(Attachment).where(Attachment.uploader_id == user.id).order_by(Attachment.id)).all()
    if not rows:
        return []
    files, described = [], []
    for row in rows:
        name = f"attachments/{row.id}-{row.filename}"
        try:
            files.append((name, storage.read(row.sha256)))
        except (OSError, ValueError):
            name = None  # lost from disk: described, not included
        described.append({
            "id": row.id, "post_id": row.post_id, "thread_id": row.post.thread_id if row.post else None,
            "filename": row.filename, "type": row.type_code, "mime": row.mime, "size": row.size,
            "created_at": row.created_at.isoformat() + "Z", "file": name,
        })
    return [("attachments.json", json.dumps(described, ensure_ascii=False, indent=2).encode())] + files
