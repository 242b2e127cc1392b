"""What reading one uploaded file may cost: the limits on zip archives (OOXML, ODF), PDF streams and text.

An upload is at most ATTACHMENT_MAX_BYTES (10 MB) on disk, but a zip part or a PDF stream can
inflate a thousandfold, so every read below is bounded while it inflates, never afterwards.
Upload checks (detect.py, in a web worker) refuse a document that goes over an archive limit;
text extraction (extract.py, in the job process) keeps the text read up to the limit.
Chosen so that checking and extracting any file stays well under 100 MB of memory
(tests/test_attachments_hostile.py measures it) while real documents pass: Word, Excel and
LibreOffice files have tens to a few thousand parts and compress their XML 5 to 50 times.
"""
MB = 1024 * 1024

# Zip archives (DOCX, XLSX, PPTX, ODT, ODS).
ARCHIVE_MAX_ENTRIES = 5_000  # parts in one archive; a 500-slide deck has about 2,000
ARCHIVE_MAX_DIRECTORY_BYTES = 2 * MB  # the central directory, checked before Python parses it
ARCHIVE_MAX_PART_BYTES = 100 * MB  # one part, inflated
ARCHIVE_MAX_TOTAL_BYTES = 250 * MB  # all parts of one archive together, inflated (declared, and read)
ARCHIVE_MAX_RATIO = 200  # inflated / compressed size of one part ...
ARCHIVE_RATIO_FREE_BYTES = 1 * MB  # ... once it is larger than this (small XML compresses very well)
ARCHIVE_READ_CHUNK = 64 * 1024  # bytes inflated per step
ARCHIVE_METHODS = (0, 8)  # stored and deflated: what office programs write (bzip2/lzma/deflate64 refused)

# Images inside documents are checked against ATTACHMENT_MAX_IMAGE_PIXELS like uploaded
# images; only their header is read (Pillow finds the size there), never their pixels.
EMBEDDED_IMAGE_HEAD_BYTES = 256 * 1024
EMBEDDED_IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp")

# PDF (pypdf's own limits, lowered; see extract._pdf_configuration).
PDF_MAX_PAGES = 300
PDF_MAX_STREAM_BYTES = 5 * MB  # one decoded stream (a page's content, a form); a larger one skips the page
PDF_MAX_FORMS_PER_PAGE = 5  # form XObjects followed while extracting one page's text (held until the page ends)
PDF_MAX_PARSE_OPERATIONS = 300_000  # operators and operands parsed from one content stream

# Extracted text: the caller's max_chars (ATTACHMENT_TEXT_MAX_CHARS) cuts it.
