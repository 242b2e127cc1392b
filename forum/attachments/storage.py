"""Content-addressed file storage: <ATTACHMENT_PATH>/ab/cd/<sha256>, never a user-chosen name.

The same bytes are stored once. Files are written to a temporary name in the target
folder and renamed into place, so a reader never sees half a file. A file is removed
only when no attachment row refers to it any more (collect_garbage), after the
transaction that dropped the last reference has committed.
"""
import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

from flask import current_app

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def root():
    return Path(current_app.config["ATTACHMENT_PATH"])


def sha256_of(data):
    return hashlib.sha256(data).hexdigest()


def path_for(sha):
    """The file for a hash; refuses anything that is not 64 hex digits (no path tricks)."""
    if not sha or not _HEX64.match(sha):
        raise ValueError("not a sha256 hex digest")
    return root() / sha[:2] / sha[2:4] / sha


def exists(sha):
    return path_for(sha).is_file()


def store(data):
    """Store bytes under their hash; returns (sha256, newly_written)."""
    sha = sha256_of(data)
    target = path_for(sha)
    if target.is_file():
        # Refresh the time: collect_garbage(min_age) leaves recently used files alone.
        try:
            os.utime(target)
        except OSError:
            pass
        return sha, False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return sha, True


def read(sha):
    return path_for(sha).read_bytes()


def remove(sha):
    """Delete a stored file (the caller has checked that nothing refers to it)."""
    try:
        path = path_for(sha)
    except ValueError:
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    for folder in (path.parent, path.parent.parent):
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            break
    return True


def all_hashes(min_age=0):
    """Every stored hash whose file is older than `min_age` seconds."""
    base = root()
    if not base.is_dir():
        return
    cutoff = time.time() - min_age
    for path in base.glob("??/??/*"):
        if _HEX64.match(path.name) and path.is_file():
            try:
                if path.stat().st_mtime <= cutoff:
                    yield path.name
            except FileNotFoundError:
                continue
