"""Hostile uploads (issue 19, finding 1): zip bombs in every part of an office document that
is read, nested archives, PDF stream bombs, an image bomb inside a document, 10,000 parts.
The upload check refuses each with its reason in the member's language, text extraction
stops at the limits and keeps the text before them, and checking plus extracting all of them
stays under 100 MB of memory. The files are made by tests/data/hostile into a tmp folder."""
import json
import logging
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from forum.attachments import archives, extract, limits
from forum.extensions import db
from tests.data import hostile as H
from tests.conftest import html
from tests.test_attachments import attachments_of, refusal, reply, stored_files

ROOT = Path(__file__).resolve().parent.parent
MEMORY_BUDGET = 100 * 1024 * 1024


@pytest.fixture
def app_config(app_config):
    return dict(app_config, SEARCH_SYNC_AFTER_REQUEST=False)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """{case key: (path, file name, expected refusal or None)}, written once per module."""
    folder = tmp_path_factory.mktemp("hostile")
    return {key: (path, name, expected) for key, path, name, expected in H.write_cases(folder)}


REFUSED = [key for key, _name, _make, expected in H.CASES if expected]
ACCEPTED = [key for key, _name, _make, expected in H.CASES if not expected]


@pytest.mark.parametrize("key", REFUSED)
def test_hostile_upload_is_refused_with_its_reason(app, client, hostile, make_user, make_theme, make_thread,
                                                   login_as, key):
    path, name, expected = hostile[key]
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    text = "Mijn reactie over het advies blijft staan."
    response = reply(client, thread, body=text, attachments=[(name, path.read_bytes())])
    assert response.status_code == 400
    page = html(response)
    assert refusal(app, expected, name=name) in page, key
    assert text in page
    assert attachments_of(app) == [] and stored_files(app) == []


@pytest.mark.parametrize("key", ["docx-content-types", "many-parts", "image-in-docx"])
def test_refusals_are_in_french_for_a_french_member(app, client, hostile, make_user, make_theme, make_thread,
                                                    login_as, key):
    path, name, expected = hostile[key]
    thread = make_thread(theme=make_theme(), language="fr")
    login_as(make_user(locale="fr"), lang="fr")
    response = client.post_form(f"/fr/t/{thread.id}/reply", {
        "body": "Un texte à garder.", "attachments": [(path.open("rb"), name)]}, content_type="multipart/form-data")
    assert response.status_code == 400
    french = refusal(app, expected, lang="fr", name=name)
    assert french != refusal(app, expected, lang="en", name=name)  # translated, not the msgid
    assert french in html(response) and "Un texte à garder." in html(response)


def test_nested_archive_and_pdf_bombs_are_accepted_and_their_text_bounded(app, client, runner, hostile, make_user,
                                                                          make_theme, make_thread, login_as,
                                                                          caplog):
    """An embedded workbook is never opened (Word embeds a chart's data that way); PDFs are
    not inflated by the upload check. The job extracts what it can and logs where it stopped."""
    thread = make_thread(theme=make_theme())
    login_as(make_user())
    uploads = [(hostile[key][1], hostile[key][0].read_bytes()) for key in ACCEPTED]
    assert reply(client, thread, attachments=uploads).status_code == 302
    caplog.set_level(logging.WARNING, logger="forum.attachments.services")
    result = runner.invoke(args=["attachments", "extract"])
    assert result.exit_code == 0 and f"extracted text of {len(ACCEPTED)} attachment(s)" in result.output
    rows = {row.filename: row for row in attachments_of(app)}
    assert rows["grafiek.docx"].text_status == "done"
    assert "mantelzorgwaardering" in rows["grafiek.docx"].text
    assert all(row.text_status in ("done", "failed") for row in rows.values())
    assert "cut: page 1: Limit reached while decompressing" in caplog.text


def test_bombs_stored_before_the_check_are_extracted_within_bounds(app, runner, hostile, make_user, make_thread,
                                                                   caplog):
    """Files an older version accepted: extraction keeps the text before the bomb, marks
    the unreadable ones failed, and the job goes on."""
    from forum.attachments import detect
    from forum.attachments.services import Prepared, add_attachments
    from forum.models import Post

    thread = make_thread()
    with app.app_context():
        post = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id))
        prepared = [Prepared(filename=f"{key}.{name.rsplit('.', 1)[1]}", data=path.read_bytes(),
                             file_type=detect.TYPES[name.rsplit(".", 1)[1]])
                    for key, (path, name, expected) in hostile.items() if expected]
        add_attachments(post, post.author_id, prepared)
        db.session.commit()
    caplog.set_level(logging.WARNING, logger="forum.attachments.services")
    result = runner.invoke(args=["attachments", "extract"])
    assert result.exit_code == 0 and f"extracted text of {len(prepared)} attachment(s)" in result.output
    rows = {row.filename: row for row in attachments_of(app)}
    document = rows["docx-document.docx"]
    assert document.text_status == "done" and document.text == "Advies over de mantelzorgwaardering."
    assert "docx-document.docx) cut: word/document.xml: more than" in caplog.text
    # Bombs in parts extraction does not read leave the text alone.
    assert "mantelzorgwaardering" in rows["docx-content-types.docx"].text
    assert "aidants" in rows["odt-manifest.odt"].text
    for name in ("docx-document-zeros.docx", "many-parts.docx", "pptx-slide.pptx", "odt-content.odt"):
        assert rows[name].text_status == "failed", name


def test_pdf_text_is_kept_around_a_bombed_page():
    page = b"BT /F1 12 Tf 72 700 Td (%s) Tj ET"
    data = H.pdf([{"streams": [page % b"Eerste pagina over mantelzorg"]}, {"streams": [(b" ", 64)]},
                  {"streams": [page % b"Derde pagina over schuldhulp"]}])
    result = extract.extract(data, "pdf")
    assert "mantelzorg" in result.text and "schuldhulp" in result.text
    assert result.cut.startswith("page 2: Limit reached")


def test_releasing_decoded_pdf_streams_keeps_the_text():
    """extract._forget_decoded relies on pypdf keeping a decoded stream on `decoded_self`:
    this fails if pypdf changes that, and the text equals pypdf's own, uncleared result."""
    import io

    from pypdf import PdfReader

    data = H.pdf([{"streams": [b"BT /F1 12 Tf 72 700 Td (Pagina %d over mantelzorg in Zwolle) Tj ET" % i],
                   "form": b"BT /F1 9 Tf (Voettekst) Tj ET", "forms": 1} for i in range(5)])
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert "Voettekst" in page.extract_text()
    streams = [s.get_object() for s in page["/Contents"]] + [page["/Resources"]["/XObject"]["/X0"].get_object()]
    assert all(stream.decoded_self is not None for stream in streams)
    extract._forget_decoded(page)
    assert all(stream.decoded_self is None for stream in streams)
    own = "\n\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Pagina 4" in own and extract.extract(data, "pdf").text == extract._normalise(own, 200_000)


def test_office_text_comes_from_the_main_part_the_relationships_name():
    rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
            'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="/word/document2.xml"/></Relationships>')
    data = H.write_zip([H.part("[Content_Types].xml", H.PARTS["docx"]["[Content_Types].xml"]),
                        H.part("_rels/.rels", rels), H.part("word/document2.xml", H.docx_body("Tweede naam"))])
    assert extract.extract(data, "docx").text == "Tweede naam"


def test_a_dtd_in_office_xml_is_not_expanded():
    laughs = ('<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "hahahahahahahahahaha">'
              + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi"))
              + f']><w:document {H.W}><w:body><w:p><w:r><w:t>&i;</w:t></w:r></w:p></w:body></w:document>')
    data = H.document("docx", replace=[H.part("word/document.xml", laughs)])
    with pytest.raises(extract.ExtractionFailed, match="DTD"):
        extract.extract(data, "docx")


def test_archive_reads_stop_while_inflating():
    """The bounds hold while inflating, whatever the directory said was checked."""
    data = H.write_zip([H.bomb("a.xml", 5), H.bomb("b.xml", 5)])
    small = archives.Limits(max_part_bytes=2 * H.MB, max_ratio=10**6)
    archive = archives.Archive(data, small)
    with pytest.raises(archives.ArchiveLimit, match="a.xml: more than"):
        archive.check_directory()
    read = 0
    with pytest.raises(archives.ArchiveLimit, match="a.xml: more than"):
        for chunk in archive.stream("a.xml"):
            read += len(chunk)
    assert read <= 2 * H.MB
    # The ratio, checked as the bytes come (a part may claim any size).
    archive = archives.Archive(data, archives.Limits(max_ratio=100, ratio_free_bytes=H.MB))
    with pytest.raises(archives.ArchiveLimit, match="inflates more than 100 times"):
        for _chunk in archive.stream("b.xml"):
            pass
    assert archive.inflated <= H.MB + limits.ARCHIVE_READ_CHUNK
    # The total over all parts.
    archive = archives.Archive(data, archives.Limits(max_total_bytes=7 * H.MB, max_ratio=10**6))
    with pytest.raises(archives.ArchiveLimit, match="in all"):
        for name in ("a.xml", "b.xml"):
            for _chunk in archive.stream(name):
                pass
    assert archive.inflated <= 7 * H.MB + limits.ARCHIVE_READ_CHUNK  # the chunk that went over is not passed on


def test_a_lying_entry_count_is_counted_again():
    data = bytearray(H.write_zip([H.part(f"p{i}.xml", b"<a/>") for i in range(30)]))
    at = data.rfind(b"PK\x05\x06")
    assert archives.declared_directory(bytes(data))[0] == 30
    data[at + 8:at + 12] = struct.pack("<HH", 3, 3)  # the record now claims three entries
    assert archives.declared_directory(bytes(data))[0] == 3
    with pytest.raises(archives.ArchiveLimit) as refused:
        archives.Archive(bytes(data), archives.Limits(max_entries=10))
    assert refused.value.reason == "entries"


# Run in a fresh interpreter. Its peak is read from VmHWM, not ru_maxrss: Linux carries
# ru_maxrss over fork and exec, so the child would start at pytest's own peak.
MEASURE = r"""
import json, logging, sys
from pathlib import Path

logging.disable(logging.CRITICAL)
from forum.attachments import detect, extract
from tests.data import hostile as H


def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM starts again from the present size
    except OSError:
        pass  # then every case is measured against the peak since start-up


def check_and_extract(data, name):
    try:
        outcome = detect.detect(data, name, max_image_pixels=40_000_000).code
    except detect.Refused as exc:
        outcome = exc.code
    try:
        extracted = len(extract.extract(data, name.rsplit(".", 1)[-1]).text)
    except extract.ExtractionFailed:
        extracted = None
    return outcome, extracted


# Every reader once on an ordinary file, so that the baseline holds the imports.
check_and_extract(H.document("docx", H.part("word/media/x.png", H.png_bomb(10), stored=True)), "a.docx")
for kind in ("xlsx", "pptx", "odt"):
    check_and_extract(H.document(kind), "a." + kind)
check_and_extract(H.pdf([{"streams": [b"BT /F1 9 Tf (Hallo) Tj ET"]}]), "a.pdf")
baseline, results = status("VmRSS"), {}
for key, path, name in json.loads(sys.argv[1]):
    reset_peak()
    results[key] = check_and_extract(Path(path).read_bytes(), name) + (status("VmHWM") - baseline,)
print(json.dumps({"baseline": baseline, "peak": status("VmHWM"), "results": results}))
"""


def test_checking_and_extracting_every_hostile_file_stays_under_100_mb(hostile):
    cases = [(key, str(path), name) for key, (path, name, _expected) in hostile.items()]
    done = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(cases)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    grown = max(step for _outcome, _extracted, step in report["results"].values())
    print(f"\nbaseline {report['baseline'] / 2**20:.0f} MB; the largest peak {grown / 2**20:.1f} MB above it")
    for key, (outcome, extracted, step) in report["results"].items():
        print(f"  {key:28s} {outcome:22s} text {extracted!s:>6}  peak +{step / 2**20:.1f} MB")
    assert 0 < grown < MEMORY_BUDGET
    for key, (path, name, expected) in hostile.items():
        assert report["results"][key][0] == (expected or name.rsplit(".", 1)[1]), key
