"""Rendered badge bytes, cached per process in memory and shared between workers in instance/."""
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)


class BadgeCache:
    """Memory first (no disk on a hit), then instance/badge-cache/, then draw.

    Keys are hex digests of every input of the drawing, so an entry never goes stale: a
    changed organisation or configuration simply asks for another key. Old files are
    removed by `prune()` (the `flask badges prune-cache` command).
    """

    def __init__(self, folder, max_bytes=32 * 1024 * 1024):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._items = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.renders = 0  # how many variants this process had to draw (tests, bench)

    def get(self, key, ext, produce):
        """The bytes for `key`, calling `produce()` only when neither cache has them."""
        name = f"{key}.{ext}"
        with self._lock:
            data = self._items.get(name)
            if data is not None:
                self._items.move_to_end(name)
                return data
        data = self._read(name)
        if data is None:
            data = produce()
            self.renders += 1
            self._write(name, data)
        self._remember(name, data)
        return data

    def clear_memory(self):
        with self._lock:
            self._items.clear()
            self._size = 0

    def _remember(self, name, data):
        with self._lock:
            if name in self._items:
                return
            self._items[name] = data
            self._size += len(data)
            while self._size > self.max_bytes and len(self._items) > 1:
                _old, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def _read(self, name):
        try:
            return (self.folder / name).read_bytes()
        except OSError:
            return None

    def _write(self, name, data):
        """Atomic: another worker reading the same key sees the whole file or none."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.folder / name)
        except OSError:
            # A read-only or full disk costs a redraw per process, never a failed badge.
            log.warning("could not write badge cache file %s", name, exc_info=True)

    def prune(self, older_than_days=30):
        """Delete cache files written more than `older_than_days` ago (a variant still in use is
        simply drawn again); returns how many."""
        cutoff = time.time() - older_than_days * 86400
        removed = 0
        if not self.folder.is_dir():
            return 0
        for path in self.folder.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                pass
        return removed
