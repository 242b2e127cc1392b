"""Text extraction for search, run in the job process (never in a request).

PDF through pypdf, DOCX through python-docx, the other office formats by reading their
XML parts from the zip. Every reader is bounded (pages, bytes read from a zip part,
characters kept) so a hostile file costs at most a little time.
"""
import io
import logging
import re
import zipfile
from xml.etree import ElementTree

log = logging.getLogger(__name__)

MAX_PDF_PAGES = 300
MAX_PART_BYTES = 20 * 1024 * 1024  # uncompressed bytes read from one zip member


class ExtractionFailed(Exception):
    pass


def _normalise(text, max_chars):
    text = text.replace("\x00", " ")
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n\n", text)
    return text.strip()[:max_chars]


def _read_part(archive, name):
    info = archive.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise ExtractionFailed(f"{name} is too large")
    with archive.open(info) as f:
        data = f.read(MAX_PART_BYTES + 1)
    if len(data) > MAX_PART_BYTES:  # the header lied about the size
        raise ExtractionFailed(f"{name} is too large")
    return data


def _xml_text(data, paragraph_tags):
    """All text of an XML part, a line per paragraph-like element."""
    root = ElementTree.fromstring(data)
    lines = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in paragraph_tags:
            line = "".join(element.itertext()).strip()
            if line:
                lines.append(line)
    return "\n".join(lines)


def _pdf(data, max_chars):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as exc:
            raise ExtractionFailed("encrypted PDF") from exc
    parts, total = [], 0
    for page in reader.pages[:MAX_PDF_PAGES]:
        text = page.extract_text() or ""
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    return "\n\n".join(parts)


def _docx(data, max_chars):
    import docx

    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _odf(data, max_chars):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return _xml_text(_read_part(archive, "content.xml"), {"p", "h"})


def _xlsx(data, max_chars):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        parts = []
        if "xl/sharedStrings.xml" in names:
            parts.append(_xml_text(_read_part(archive, "xl/sharedStrings.xml"), {"si"}))
        for name in sorted(n for n in names if re.match(r"xl/worksheets/sheet\d+\.xml$", n)):
            parts.append(_xml_text(_read_part(archive, name), {"is"}))  # inline strings
        return "\n".join(p for p in parts if p)


def _pptx(data, max_chars):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        slides = sorted((n for n in archive.namelist() if re.match(r"ppt/slides/slide\d+\.xml$", n)),
                        key=lambda n: int(re.search(r"(\d+)", n.rsplit("/", 1)[-1]).group(1)))
        return "\n\n".join(_xml_text(_read_part(archive, n), {"p"}) for n in slides)


def _plain(data, max_chars):
    return data.decode("utf-8-sig", errors="replace")


READERS = {"pdf": _pdf, "docx": _docx, "odt": _odf, "ods": _odf, "xlsx": _xlsx, "pptx": _pptx,
           "txt": _plain, "csv": _plain}


def extract_text(data, type_code, max_chars=200_000):
    """The searchable text of a document; raises ExtractionFailed."""
    reader = READERS.get(type_code)
    if reader is None:
        return ""
    try:
        return _normalise(reader(data, max_chars), max_chars)
    except ExtractionFailed:
        raise
    except Exception as exc:  # pypdf, python-docx and expat raise many kinds
        raise ExtractionFailed(f"{type(exc).__name__}: {exc}") from exc
