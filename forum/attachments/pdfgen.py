"""A tiny PDF writer for demo content and tests: text lines in Helvetica, A4 pages.

Writes a PDF 1.4 file by hand: catalog, page tree, one content stream per page, the
standard Type1 font Helvetica with WinAnsiEncoding (so é, ë and ç come out right), an
info dictionary and a cross-reference table with exact byte offsets.
"""
import textwrap

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 72
LEADING = 15
LINES_PER_PAGE = (PAGE_HEIGHT - 2 * MARGIN) // LEADING
WRAP = 85


def _literal(text):
    """A PDF literal string in WinAnsi bytes, with ( ) \\ and non-ASCII bytes escaped."""
    out = bytearray(b"(")
    for byte in text.encode("cp1252", errors="replace"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    out += b")"
    return bytes(out)


def _lines(paragraphs):
    lines = []
    for paragraph in paragraphs:
        wrapped = textwrap.wrap(paragraph, WRAP) or [""]
        lines.extend(wrapped)
    return lines


def make_pdf(paragraphs, title="", font_size=11):
    """The bytes of a PDF showing `paragraphs` (a list of strings), wrapped and paginated."""
    lines = _lines(paragraphs)
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]

    objects = {}  # number -> bytes of the object body
    page_numbers = []
    next_number = 5  # 1 catalog, 2 pages, 3 font, 4 info
    for page_lines in pages:
        content = bytearray(b"BT\n/F1 %d Tf\n%d TL\n%d %d Td\n" % (font_size, LEADING, MARGIN, PAGE_HEIGHT - MARGIN))
        for line in page_lines:
            content += _literal(line) + b" Tj T*\n"
        content += b"ET\n"
        content_number, page_number = next_number, next_number + 1
        next_number += 2
        objects[content_number] = b"<< /Length %d >>\nstream\n" % len(content) + bytes(content) + b"endstream"
        objects[page_number] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, content_number)
        )
        page_numbers.append(page_number)
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % n for n in page_numbers), len(page_numbers))
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objects[4] = b"<< /Title %s /Producer (Agora) >>" % _literal(title or "")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # the binary comment marks a binary file
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref_offset = len(out)
    out += b"xref\n0 %d\n" % size
    out += b"0000000000 65535 f \n"
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref_offset)
    return bytes(out)
