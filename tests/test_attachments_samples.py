"""Real small files for the attachment tests: each made the way the real format requires.

Not a test module itself (no tests here); the attachment tests import these makers.
"""
import io
import zipfile

from PIL import Image

from forum.attachments.pdfgen import make_pdf

__all__ = ["make_pdf", "make_docx", "make_odt", "make_ods", "make_xlsx", "make_pptx", "make_image",
           "make_jpeg_with_gps", "make_zip", "EXE", "HTML", "SVG"]

ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"')


def _esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def make_docx(paragraphs):
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _odf(mimetype, body):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        # ODF: "mimetype" first and stored uncompressed.
        z.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n'
                                  f'<office:document-content {ODF_NS} office:version="1.2">'
                                  f'<office:body>{body}</office:body></office:document-content>')
        z.writestr("META-INF/manifest.xml",
                   '<?xml version="1.0" encoding="UTF-8"?>\n'
                   '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                   f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                   '</manifest:manifest>')
    return out.getvalue()


def make_odt(paragraphs):
    body = "".join(f"<text:p>{_esc(p)}</text:p>" for p in paragraphs)
    return _odf("application/vnd.oasis.opendocument.text", f"<office:text>{body}</office:text>")


def make_ods(rows):
    cells = "".join(
        "<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{_esc(c)}</text:p></table:table-cell>'
            for c in row) + "</table:table-row>" for row in rows)
    return _odf("application/vnd.oasis.opendocument.spreadsheet",
                f'<office:spreadsheet><table:table table:name="Blad1">{cells}</table:table></office:spreadsheet>')


def _ooxml(parts, content_types):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        overrides = "".join(f'<Override PartName="/{name}" ContentType="{ctype}"/>' for name, ctype in content_types)
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?>'
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>' + overrides + "</Types>")
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def make_xlsx(strings):
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rels = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    shared = "".join(f"<si><t>{_esc(s)}</t></si>" for s in strings)
    cells = "".join(f'<c r="A{i + 1}" t="s"><v>{i}</v></c>' for i in range(len(strings)))
    parts = {
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {ns} {rels}><sheets><sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f"<worksheet {ns}><sheetData><row r=\"1\">{cells}</row></sheetData></worksheet>",
        "xl/sharedStrings.xml": f'<sst {ns} count="{len(strings)}">{shared}</sst>',
    }
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return _ooxml(parts, [("xl/workbook.xml", main + ".sheet.main+xml"),
                          ("xl/worksheets/sheet1.xml", main + ".worksheet+xml"),
                          ("xl/sharedStrings.xml", main + ".sharedStrings+xml")])


def make_pptx(lines):
    a = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    p = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
    paras = "".join(f"<a:p><a:r><a:t>{_esc(line)}</a:t></a:r></a:p>" for line in lines)
    parts = {
        "ppt/presentation.xml": f"<p:presentation {p}/>",
        "ppt/slides/slide1.xml": f"<p:sld {a} {p}><p:cSld><p:spTree><p:sp><p:txBody>{paras}</p:txBody>"
                                 "</p:sp></p:spTree></p:cSld></p:sld>",
    }
    main = "application/vnd.openxmlformats-officedocument.presentationml"
    return _ooxml(parts, [("ppt/presentation.xml", main + ".presentation.main+xml"),
                          ("ppt/slides/slide1.xml", main + ".slide+xml")])


def make_image(fmt, size=(64, 48), color=(30, 90, 160)):
    im = Image.new("RGB", size, color)
    out = io.BytesIO()
    if fmt == "GIF":
        im = im.convert("P")
    im.save(out, fmt)
    return out.getvalue()


def make_jpeg_with_gps(size=(120, 80)):
    """A JPEG carrying EXIF with a camera model and GPS coordinates."""
    im = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x0110] = "AgoraCam 3000"  # Model
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 30.0), 3: "E", 4: (4.0, 53.0, 10.0)}  # GPSInfo
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def make_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("advies.txt", "Een gewoon tekstbestand in een zip.")
    return out.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode."
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script></svg>\n')
