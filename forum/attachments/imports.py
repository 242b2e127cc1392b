"""Attachments in the import format: "attachments": ["files/advies.pdf"] on a post, paths
relative to the import file, each checked exactly like an upload before anything is written."""
from pathlib import Path

from flask import current_app

from .services import AttachmentRefused, add_attachments, check_file, config

# English, like every message of `forum import` (an administrator's command).
PROBLEMS = {
    "type_not_allowed": "is not an allowed type (PDF, DOCX, XLSX, PPTX, ODT, ODS, TXT, CSV, PNG, JPEG, WebP, GIF)",
    "archive": "is an archive; attach the documents themselves",
    "executable": "is a program",
    "active_content": "is a web page, SVG image or script",
    "macros": "contains macros",
    "mismatch": "does not match its extension",
    "damaged": "could not be read (damaged?)",
    "empty": "is empty",
    "image_too_big": "has too many pixels",
    "too_many_parts": "has too many parts for a document",
    "unpacked_too_large": "unpacks to too much data (a zip bomb?)",
    "embedded_image_too_big": "contains an image with too many pixels",
}


def _resolve(base_dir, relpath):
    """The file a relative path names inside base_dir, or (None, problem)."""
    if not isinstance(relpath, str) or not relpath.strip():
        return None, "must be a non-empty string (a path relative to the import file)"
    if base_dir is None:
        return None, "attachments need the import file's folder (import from a file)"
    if relpath.startswith(("/", "\\")) or (len(relpath) > 1 and relpath[1] == ":"):
        return None, f"{relpath!r} must be relative to the import file"
    base = Path(base_dir).resolve()
    target = (base / relpath).resolve()
    if not target.is_relative_to(base):
        return None, f"{relpath!r} points outside the import file's folder"
    if not target.is_file():
        return None, f"{relpath!r} does not exist"
    return target, None


def check_import_files(paths, base_dir):
    """Check a post's attachment paths; returns ([(relpath, absolute path)], [(index, problem)])."""
    files, problems = [], []
    if len(paths) > config("ATTACHMENT_MAX_FILES"):
        problems.append((None, f"has more than {config('ATTACHMENT_MAX_FILES')} files"))
    for index, relpath in enumerate(paths):
        target, problem = _resolve(base_dir, relpath)
        if problem:
            problems.append((index, problem))
            continue
        size = target.stat().st_size
        if size > config("ATTACHMENT_MAX_BYTES"):
            problems.append((index, f"{relpath!r} is larger than {config('ATTACHMENT_MAX_BYTES')} bytes"))
            continue
        try:
            check_file(target.read_bytes(), target.name)
        except AttachmentRefused as exc:
            problems.append((index, f"{relpath!r} " + PROBLEMS.get(exc.codes[0], "cannot be attached")))
            continue
        files.append((relpath, target))
    return files, problems


class _PostRef:
    """add_attachments needs only the id of a post written by a bulk insert."""

    def __init__(self, post_id):
        self.id = post_id


def attach_imported(post_id, uploader_id, files, created_at=None):
    """Store checked import files on a post (no commit: the import's one transaction)."""
    prepared = [check_file(Path(target).read_bytes(), Path(target).name) for _relpath, target in files]
    rows = add_attachments(_PostRef(post_id), uploader_id, prepared, import_refs=[r for r, _t in files])
    for row in rows:
        if created_at is not None:
            row.created_at = created_at
    current_app.logger.debug("imported %d attachment(s) for post %s", len(rows), post_id)
    return rows
