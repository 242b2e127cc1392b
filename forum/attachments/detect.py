"""File type detection from the content (magic bytes, zip structure), never the name or the
browser's claim; only the allow-list below is accepted, and the name must agree with it.

detect(data, filename) returns a FileType or raises Refused with a code the services
translate: type_not_allowed, archive, executable, active_content, macros, mismatch,
damaged, empty, too_many_parts, unpacked_too_large, embedded_image_too_big. Zip archives are
read only through archives.Archive, bounded while they inflate (limits.py).
"""
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

from . import archives, limits


@dataclass(frozen=True)
class FileType:
    code: str
    mime: str
    kind: str  # image / document
    extensions: tuple
    label: str  # shown on the download card
    extract: bool = False  # has text worth indexing


_OOXML = "application/vnd.openxmlformats-officedocument."
TYPES = {t.code: t for t in (
    FileType("pdf", "application/pdf", "document", ("pdf",), "PDF", True),
    FileType("docx", _OOXML + "wordprocessingml.document", "document", ("docx",), "Word", True),
    FileType("xlsx", _OOXML + "spreadsheetml.sheet", "document", ("xlsx",), "Excel", True),
    FileType("pptx", _OOXML + "presentationml.presentation", "document", ("pptx",), "PowerPoint", True),
    FileType("odt", "application/vnd.oasis.opendocument.text", "document", ("odt",), "OpenDocument", True),
    FileType("ods", "application/vnd.oasis.opendocument.spreadsheet", "document", ("ods",), "OpenDocument", True),
    FileType("txt", "text/plain", "document", ("txt",), "Text", True),
    FileType("csv", "text/csv", "document", ("csv",), "CSV", True),
    FileType("png", "image/png", "image", ("png",), "PNG"),
    FileType("jpeg", "image/jpeg", "image", ("jpg", "jpeg"), "JPEG"),
    FileType("webp", "image/webp", "image", ("webp",), "WebP"),
    FileType("gif", "image/gif", "image", ("gif",), "GIF"),
)}
ALLOWED_EXTENSIONS = tuple(ext for t in TYPES.values() for ext in t.extensions)
# For the file input's accept attribute: a hint to the browser, checked again here.
ACCEPT = ",".join("." + ext for ext in ALLOWED_EXTENSIONS)

ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
}
EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",  # Mach-O
    b"\xca\xfe\xba\xbe",  # Mach-O universal / Java class
    b"\x00asm",  # WebAssembly
    b"#!",  # a script with an interpreter line
)
ARCHIVE_MAGIC = (
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"PK\x05\x06",  # empty zip
    b"PK\x07\x08",  # spanned zip
    b"MSCF",  # cabinet
    b"!<arch>",
)
# Text that a browser (or an editor) would treat as markup or code.
ACTIVE_TEXT = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|meta|link|style|form|img|a|\?xml|\?php)(?=[\s>/])",
    re.IGNORECASE,
)


class Refused(Exception):
    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def extension_of(filename):
    name = (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." not in name:
        return ""
    return name.rsplit(".", 1)[-1].strip().lower()


def sniff(data, max_image_pixels=None):
    """The type code of `data` from its content alone; raises Refused. Images inside
    documents with more than `max_image_pixels` are refused too."""
    if not data:
        raise Refused("empty")
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(data, max_image_pixels)
    if any(head.startswith(m) for m in EXECUTABLE_MAGIC):
        raise Refused("executable")
    if any(head.startswith(m) for m in ARCHIVE_MAGIC) or data[257:262] == b"ustar":
        raise Refused("archive")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise Refused("type_not_allowed")  # old Office (.doc/.xls) or an encrypted OOXML file
    return _sniff_text(data)


def _sniff_zip(data, max_image_pixels=None):
    try:
        archive = archives.Archive(data)
    except archives.ArchiveLimit as exc:
        raise _over_limit(exc) from None
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError, struct.error):
        raise Refused("damaged") from None
    infos, names = archive.infos, archive.names
    odf = bool(infos) and infos[0].filename == "mimetype"
    if not odf and "[Content_Types].xml" not in names:
        raise Refused("archive")  # a plain zip (or a jar, apk, ...): attach the documents themselves
    try:
        # Sizes and ratios first, for every part: a bomb in a part we never read is still
        # refused (a member's office program would choke on it).
        archive.check_directory()
        if odf:
            code = _sniff_odf(archive)
        else:
            code = _sniff_ooxml(archive)
        if max_image_pixels:
            _check_embedded_images(archive, max_image_pixels)
    except archives.ArchiveLimit as exc:
        raise _over_limit(exc) from None
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError, zlib.error):
        raise Refused("damaged") from None  # e.g. a CRC error: the sizes in the headers lied
    return code


def _over_limit(exc):
    if exc.reason == "entries":
        return Refused("too_many_parts")
    if exc.reason == "method":
        return Refused("damaged")
    return Refused("unpacked_too_large")


def _sniff_odf(archive):
    # ODF: the first entry is an uncompressed "mimetype" naming the document type.
    first = archive.infos[0]
    if first.compress_type != zipfile.ZIP_STORED or first.file_size > 100:
        raise Refused("damaged")
    code = ODF_MIMETYPES.get(archive.read(first, max_bytes=100).strip())
    if code is None:
        raise Refused("type_not_allowed")
    if "content.xml" not in archive.names:
        raise Refused("damaged")
    _refuse_macros(archive.names)
    return code


def _sniff_ooxml(archive):
    names = archive.names
    _refuse_macros(names)
    if archive.contains("[Content_Types].xml", b"macroEnabled"):
        raise Refused("macros")
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n.startswith("ppt/") for n in names):
        return "pptx"
    raise Refused("type_not_allowed")


def _check_embedded_images(archive, max_pixels):
    """Images inside a document get the same pixel limit as uploaded images (the size is in
    their header; nothing decodes their pixels)."""
    from . import images  # here: images.py imports Refused from this module

    for info in archive.infos:
        if extension_of(info.filename) in limits.EMBEDDED_IMAGE_EXTENSIONS:
            images.check_embedded(archive.head(info, limits.EMBEDDED_IMAGE_HEAD_BYTES), max_pixels)


def _refuse_macros(names):
    lowered = [n.lower() for n in names]
    if any(n.endswith("vbaproject.bin") or n.startswith("basic/") or n.startswith("scripts/") for n in lowered):
        raise Refused("macros")


def _sniff_text(data):
    if b"\x00" in data:
        raise Refused("type_not_allowed")
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("type_not_allowed") from None
    if ACTIVE_TEXT.search(body):
        raise Refused("active_content")
    # Control characters other than tab, newline, carriage return and form feed: not text.
    if re.search(r"[\x01-\x08\x0b\x0e-\x1f\x7f]", text):
        raise Refused("type_not_allowed")
    return "text"


def detect(data, filename, max_image_pixels=None):
    """The FileType of an upload, or Refused: the content decides, the name must agree."""
    code = sniff(data, max_image_pixels)
    ext = extension_of(filename)
    if code == "text":
        if ext == "csv":
            return TYPES["csv"]
        if ext == "txt":
            return TYPES["txt"]
        if ext in ("svg", "html", "htm", "xhtml", "xml", "js", "mjs", "php", "sh", "bat", "cmd", "ps1", "hta"):
            raise Refused("active_content")
        raise Refused("mismatch", ext=ext)
    file_type = TYPES[code]
    if ext not in file_type.extensions:
        raise Refused("mismatch", ext=ext)
    return file_type
