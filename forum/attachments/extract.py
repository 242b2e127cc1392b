"""Text extraction for search, run in the job process (never in a request).

PDF through pypdf with its limits lowered; the office formats by streaming their XML parts
out of the zip (archives.Archive, bounded while inflating) into expat, keeping only the
text: no tree is built, and python-docx is not used (it reads every part of the zip whole).
A limit reached keeps the text read so far; extract() says where and why it was cut.
"""
import io
import logging
import re
import zipfile
import zlib
from dataclasses import dataclass
from xml.parsers import expat

from . import archives, limits

log = logging.getLogger(__name__)

MAX_RELS_BYTES = 1024 * 1024  # _rels/.rels: a list of a few relationships


class ExtractionFailed(Exception):
    pass


@dataclass
class Extraction:
    text: str
    cut: str = ""  # why the text stops early (a limit was reached); "" when complete


def _normalise(text, max_chars):
    text = text.replace("\x00", " ")
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n\n", text)
    return text.strip()[:max_chars]


class _Text:
    """The text of paragraph-like elements, collected from expat events, at most max_chars."""

    def __init__(self, max_chars):
        self.max_chars = max_chars
        self.lines, self.line, self.chars = [], [], 0
        self.depth = self.in_run = 0
        self.paragraphs, self.runs = (), None

    def start(self, name, _attrs):
        local = name.rsplit(" ", 1)[-1]
        if local in self.paragraphs:
            self.depth += 1
        elif self.runs and local in self.runs:
            self.in_run += 1

    def end(self, name):
        local = name.rsplit(" ", 1)[-1]
        if local in self.paragraphs:
            self.depth -= 1
            if self.depth == 0:
                self.flush()
        elif self.runs and local in self.runs:
            self.in_run -= 1

    def data(self, text):
        if self.depth > 0 and (self.runs is None or self.in_run > 0) and self.chars < self.max_chars:
            self.line.append(text)
            self.chars += len(text)

    def flush(self):
        line = "".join(self.line).strip()
        if line:
            self.lines.append(line)
        self.line = []

    @property
    def full(self):
        return self.chars >= self.max_chars


class _Doctype(Exception):
    pass


def _refuse_doctype(*_args):
    # Office XML has no DTD; its entities could expand far beyond what the zip holds.
    raise _Doctype("a DTD in an office document")


def _part_text(archive, name, collector, paragraphs, runs=None):
    """Feed one XML part to `collector` as it inflates; returns why it was cut ("" if not)."""
    collector.paragraphs, collector.runs = paragraphs, runs
    collector.depth = collector.in_run = 0
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.data
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    cut = ""
    try:
        for chunk in archive.stream(name):
            parser.Parse(chunk, False)
            if collector.full:
                break
        else:
            parser.Parse(b"", True)
    except archives.ArchiveLimit as exc:
        cut = str(exc)  # names the part
    except (expat.ExpatError, _Doctype, zipfile.BadZipFile, zlib.error) as exc:
        if not collector.lines and not collector.line:
            raise ExtractionFailed(f"{name}: {exc}") from exc
        cut = f"{name}: {exc}"  # a damaged end: keep what came before it
    collector.flush()
    collector.lines.append("")  # a blank line between parts
    return cut


def _office(data, max_chars, parts):
    """Text of the XML parts `parts(archive)` names, as [(name, paragraph tags, run tags)]."""
    try:
        archive = archives.Archive(data)
    except archives.ArchiveLimit as exc:
        raise ExtractionFailed(str(exc)) from exc
    collector, cuts = _Text(max_chars), []
    for name, paragraphs, runs in parts(archive):
        if collector.full:
            break
        cut = _part_text(archive, name, collector, paragraphs, runs)
        if cut:
            cuts.append(cut)
        if archive.inflated > archive.limits.max_total_bytes:
            break
    return Extraction("\n".join(collector.lines), "; ".join(cuts))


def _docx_parts(archive):
    # The main part is word/document.xml as Word writes it; other programs may name it
    # differently, and _rels/.rels says which.
    main = "word/document.xml"
    if "_rels/.rels" in archive.names:
        rels = archive.read("_rels/.rels", MAX_RELS_BYTES).decode("utf-8", "replace")
        for relationship in re.findall(r"<Relationship\b[^>]*>", rels):
            target = re.search(r'Target="/?([^"]+)"', relationship)
            if target and re.search(r'Type="[^"]*/officeDocument"', relationship):
                main = target.group(1)
                break
    if main not in archive.names:
        raise ExtractionFailed(f"no {main}")
    return [(main, {"p"}, {"t"})]


def _odf_parts(archive):
    return [("content.xml", {"p", "h"}, None)]


def _xlsx_parts(archive):
    names = archive.names
    parts = [("xl/sharedStrings.xml", {"si"}, None)] if "xl/sharedStrings.xml" in names else []
    sheets = sorted((n for n in names if re.match(r"xl/worksheets/sheet\d+\.xml$", n)), key=_number)
    return parts + [(name, {"is"}, None) for name in sheets]  # inline strings


def _pptx_parts(archive):
    slides = sorted((n for n in archive.names if re.match(r"ppt/slides/slide\d+\.xml$", n)), key=_number)
    return [(name, {"p"}, None) for name in slides]


def _number(name):
    return int(re.search(r"(\d+)\.xml$", name).group(1))


def _pdf_configuration():
    """pypdf's limits, lowered from its 75 MB per stream (see limits.py): a stream over them
    raises LimitReachedError, which skips that page."""
    stream = limits.PDF_MAX_STREAM_BYTES
    return dict(
        zlib_maximum_output_length=stream, lzw_maximum_output_length=stream,
        run_length_maximum_output_length=stream, brotli_maximum_output_length=stream,
        jbig2_maximum_output_length=stream, array_based_stream_maximum_output_length=stream,
        image_maximum_buffer_size=stream, stream_decoding_work_maximum_length=2 * stream,
        stream_parsing_work_maximum_count=limits.PDF_MAX_PARSE_OPERATIONS,
        xform_maximum_invocations_per_extraction=limits.PDF_MAX_FORMS_PER_PAGE,
        xmp_maximum_input_length=stream, jbig2dec_binary=None,
    )


def _forget_decoded(page):
    """Drop the decoded streams pypdf keeps on the page's content and form objects.

    pypdf caches a stream's decoded bytes on the stream object (`decoded_self`) for the
    reader's lifetime, so every page read would stay in memory: 30 pages of 70 MB streams
    took 2.2 GB. Reading a page again would decode again; we never do.
    tests/test_attachments_hostile.py checks the attribute still exists and that the text
    is the same with and without this.
    """
    seen, todo = set(), [page]
    while todo:
        node = todo.pop()
        for key in ("/Contents", "/Resources"):
            value = node.get(key)
            value = value.get_object() if value is not None else None
            if key == "/Contents":
                streams = value if isinstance(value, list) else [value]
                for stream in streams:
                    stream = stream.get_object() if stream is not None else None
                    if getattr(stream, "decoded_self", None) is not None:
                        stream.decoded_self = None
            elif hasattr(value, "get"):
                forms = value.get("/XObject")
                forms = forms.get_object() if forms is not None else None
                for form in forms.values() if hasattr(forms, "values") else ():
                    form = form.get_object()
                    if id(form) in seen or not hasattr(form, "get"):
                        continue
                    seen.add(id(form))
                    if getattr(form, "decoded_self", None) is not None:
                        form.decoded_self = None
                    if form.get("/Subtype") == "/Form":
                        todo.append(form)


def _pdf(data, max_chars):
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError

    with apply_configuration(**_pdf_configuration()):
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as exc:
                raise ExtractionFailed("encrypted PDF") from exc
        parts, total, cuts = [], 0, []
        for number, page in enumerate(reader.pages):
            if number >= limits.PDF_MAX_PAGES:
                cuts.append(f"more than {limits.PDF_MAX_PAGES} pages")
                break
            try:
                text = page.extract_text() or ""
            except LimitReachedError as exc:
                cuts.append(f"page {number + 1}: {exc}")
                text = ""
            finally:
                _forget_decoded(page)
            parts.append(text[:max_chars - total])
            total += len(parts[-1])
            if total >= max_chars:
                break
    return Extraction("\n\n".join(parts), "; ".join(cuts[:3]) + (f" (+{len(cuts) - 3})" if len(cuts) > 3 else ""))


def _plain(data, max_chars):
    return Extraction(data[:4 * max_chars].decode("utf-8-sig", errors="replace"))


READERS = {
    "pdf": _pdf, "txt": _plain, "csv": _plain,
    "docx": lambda data, max_chars: _office(data, max_chars, _docx_parts),
    "odt": lambda data, max_chars: _office(data, max_chars, _odf_parts),
    "ods": lambda data, max_chars: _office(data, max_chars, _odf_parts),
    "xlsx": lambda data, max_chars: _office(data, max_chars, _xlsx_parts),
    "pptx": lambda data, max_chars: _office(data, max_chars, _pptx_parts),
}


def extract(data, type_code, max_chars=200_000):
    """The searchable text of a document and why it was cut short ("" if not), as an
    Extraction; raises ExtractionFailed when nothing could be read."""
    reader = READERS.get(type_code)
    if reader is None:
        return Extraction("")
    try:
        result = reader(data, max_chars)
    except ExtractionFailed:
        raise
    except Exception as exc:  # pypdf, zipfile and expat raise many kinds
        raise ExtractionFailed(f"{type(exc).__name__}: {exc}") from exc
    return Extraction(_normalise(result.text, max_chars), result.cut)
