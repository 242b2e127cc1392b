"""Uploaded zip archives (DOCX, XLSX, PPTX, ODT, ODS), read with every part bounded while it inflates.

Archive() checks the end-of-central-directory record before Python parses the directory
(a 10 MB file can hold 100,000 tiny entries), then the number of entries. check_directory()
refuses declared sizes, ratios and compression methods over the limits (limits.py), but the
declared sizes are never trusted beyond that: stream() counts the bytes as they inflate and
stops at the part, ratio and whole-archive limits. Nested archives (a workbook embedded in
a Word file) are never opened: nothing here reads a part as a zip.
"""
import io
import struct
import zipfile
from dataclasses import dataclass

from . import limits as L


class ArchiveLimit(Exception):
    """The archive goes over a limit. `reason`: "entries" (too many parts), "size" (a part or
    the whole inflates too far, or is packed too tightly) or "method" (not stored/deflated)."""

    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_entries: int = L.ARCHIVE_MAX_ENTRIES
    max_directory_bytes: int = L.ARCHIVE_MAX_DIRECTORY_BYTES
    max_part_bytes: int = L.ARCHIVE_MAX_PART_BYTES
    max_total_bytes: int = L.ARCHIVE_MAX_TOTAL_BYTES
    max_ratio: int = L.ARCHIVE_MAX_RATIO
    ratio_free_bytes: int = L.ARCHIVE_RATIO_FREE_BYTES
    chunk: int = L.ARCHIVE_READ_CHUNK


DEFAULT_LIMITS = Limits()
_EOCD = b"PK\x05\x06"


def declared_directory(data):
    """(entries, directory bytes) as the end-of-central-directory record states them (zip64
    included), or None when there is no such record (zipfile then says the file is damaged)."""
    tail_start = max(0, len(data) - (65_535 + 22))
    at = data.rfind(_EOCD, tail_start)
    if at < 0 or len(data) - at < 22:
        return None
    entries, size = struct.unpack("<HI", data[at + 10:at + 16])
    if entries == 0xFFFF or size == 0xFFFFFFFF:  # zip64: the real numbers are in another record
        locator = data[at - 20:at]
        if len(locator) == 20 and locator[:4] == b"PK\x06\x07":
            offset = struct.unpack("<Q", locator[8:16])[0]
            record = data[offset:offset + 56]
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                entries, size = struct.unpack("<QQ", record[32:48])
    return entries, size


class Archive:
    """A zip file in memory whose parts are read through stream(), head() and read() only."""

    def __init__(self, data, limits=DEFAULT_LIMITS):
        self.limits = limits
        declared = declared_directory(data)
        if declared and (declared[0] > limits.max_entries or declared[1] > limits.max_directory_bytes):
            raise ArchiveLimit("entries", f"{declared[0]} entries in {declared[1]} bytes of directory")
        self.zip = zipfile.ZipFile(io.BytesIO(data))  # BadZipFile and friends: the caller's "damaged"
        self.infos = self.zip.infolist()
        if len(self.infos) > limits.max_entries:  # the record may have lied about the count
            raise ArchiveLimit("entries", f"{len(self.infos)} entries")
        self.names = [info.filename for info in self.infos]
        self.inflated = 0  # bytes inflated so far, over all parts

    def check_directory(self):
        """Refuse what the central directory declares: sizes, ratios, methods, the total."""
        total = 0
        for info in self.infos:
            self._check_method(info)
            self._check_size(info, info.file_size)
            total += info.file_size
            if total > self.limits.max_total_bytes:
                raise ArchiveLimit("size", f"the parts declare more than {self.limits.max_total_bytes} bytes")

    def _check_method(self, info):
        if info.compress_type not in L.ARCHIVE_METHODS or info.flag_bits & 0x1:
            raise ArchiveLimit("method", f"{info.filename}: compression method {info.compress_type}")

    def _check_size(self, info, size):
        if size > self.limits.max_part_bytes:
            raise ArchiveLimit("size", f"{info.filename}: more than {self.limits.max_part_bytes} bytes")
        if size > self.limits.ratio_free_bytes and size > self.limits.max_ratio * max(info.compress_size, 1):
            raise ArchiveLimit("size", f"{info.filename}: inflates more than {self.limits.max_ratio} times")

    def stream(self, name, max_bytes=None):
        """The part's bytes, chunk by chunk as they inflate. Raises ArchiveLimit (after the
        chunks that fit) at the part, ratio or total limit, or past `max_bytes`."""
        info = name if isinstance(name, zipfile.ZipInfo) else self.zip.getinfo(name)
        self._check_method(info)
        read = 0
        with self.zip.open(info) as part:
            while True:
                chunk = part.read(self.limits.chunk)
                if not chunk:
                    return
                read += len(chunk)
                self.inflated += len(chunk)
                self._check_size(info, read)
                if max_bytes is not None and read > max_bytes:
                    raise ArchiveLimit("size", f"{info.filename}: more than {max_bytes} bytes")
                if self.inflated > self.limits.max_total_bytes:
                    raise ArchiveLimit("size", f"more than {self.limits.max_total_bytes} bytes in all")
                yield chunk

    def read(self, name, max_bytes):
        """A small part whole (at most max_bytes, else ArchiveLimit)."""
        return b"".join(self.stream(name, max_bytes=max_bytes))

    def head(self, name, size):
        """The first `size` bytes of a part (fewer when it is shorter)."""
        out = bytearray()
        for chunk in self.stream(name):
            out += chunk
            if len(out) >= size:
                break
        return bytes(out[:size])

    def contains(self, name, needle):
        """Whether the part contains `needle`, scanned as it inflates (never held whole)."""
        carry = b""
        for chunk in self.stream(name):
            window = carry + chunk
            if needle in window:
                return True
            carry = window[-(len(needle) - 1):]
        return False
