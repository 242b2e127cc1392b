"""Reading a received message: headers, the member's own text, the attachments.

The text is the text/plain part, or the HTML part converted to Markdown (html2text); the
forum's one sanitiser renders it like any post. What mail programs add below a reply is
left out: the quoted history ("> ", "Op … schreef …:", "Le … a écrit :", "On … wrote:",
Apple Mail's "… het volgende geschreven:", Outlook's "Van:/De :/From:" block and its
"-----Oorspronkelijk bericht-----" line) and signatures ("-- ", "Verstuurd vanaf mijn
iPhone", "Envoyé de mon iPad", "Outlook voor iOS" …). The text above them is kept as written.
"""
import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses

import html2text

# Parts a mail program adds that are no attachment of the member's.
IGNORED_TYPES = {
    "application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature",
    "application/pgp-keys", "text/vcard", "text/x-vcard",
}

_ORIGINAL = re.compile(
    r"^\s*\\?[-_]{2,}\s*(original message|oorspronkelijk bericht|origineel bericht|message d'origine|"
    r"message d’origine|message original|ursprüngliche nachricht|doorgestuurd bericht|"
    r"forwarded message|message transféré)\s*[-_]{2,}\s*$", re.I)
# Outlook's header block of the quoted mail: "Van: …" followed by "Verzonden: …" (or the
# French, English, German labels), bold (**Van:**) when it came from HTML.
_HEADER_FROM = re.compile(r"^\s*\**\s*(van|from|de|von)\s?:\s?\**\s*\S", re.I)
_HEADER_NEXT = re.compile(
    r"^\s*\**\s*(verzonden|datum|date|sent|envoyé|gesendet|aan|to|à|an|onderwerp|subject|objet|"
    r"betreff|cc)\s?:", re.I)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
# "Op do 3 dec. 2026 om 10:12 schreef Jan <jan@example.org>:" (Gmail, Thunderbird NL),
# "Op 3 dec. 2026 om 10:12 heeft Jan … het volgende geschreven:" (Apple Mail NL),
# "Le jeu. 3 déc. 2026 à 10:12, Jan <…> a écrit :" (Gmail, Apple Mail, Thunderbird FR),
# "On Thu, Dec 3, 2026 at 10:12 AM Jan <…> wrote:", "Am … schrieb …:".
_ATTRIBUTION = re.compile(
    r"^\s*(op\s.+\s(schreef|geschreven)|le\s.+\sa\s+écrit|on\s.+\swrote|am\s.+\sschrieb)[^:]*\s?:\s*$", re.I)
_ATTRIBUTION_START = re.compile(r"^\s*(op|le|on|am)\s", re.I)
_SIGNATURE_DASHES = re.compile(r"^--\s?$")
_SENT_FROM = re.compile(
    r"^\s*(verstuurd|verzonden|envoyé|sent|gesendet)\s+(vanaf|van|met|de|depuis|à partir de|from|with|von)\s+"
    r"(mijn|mon|ma|my|mein)\s+\S.*$|"
    r"^\s*(download|get|obtenir|haal)\s+outlook\s+(voor|for|pour)\s+\w+.*$|"
    r"^\s*(verzonden|envoyé)\s+(met|à partir de|depuis)\s+(mail|courrier)\s+(voor|pour)\s+windows.*$", re.I)


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str
    sender: str  # the From address, lower-cased
    sender_name: str
    subject: str
    text: str
    attachments: list = field(default_factory=list)
    winmail: bool = False
    html_only: bool = False


def read_message(raw):
    return BytesParser(policy=policy.default).parsebytes(raw)


def header(msg, name):
    """A header as one line of text: never a line break (header injection), never an error."""
    try:
        value = msg.get(name)
    except Exception:  # a header the parser cannot decode
        value = None
    value = str(value) if value is not None else ""
    return re.sub(r"[\r\n\t\x00]+", " ", value).strip()


def sender_address(msg):
    """The From address, lower-cased ('' when missing or not one address)."""
    value = header(msg, "From")
    pairs = [p for p in getaddresses([value]) if p[1]]
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        return "", ""
    return pairs[0][1].strip().lower(), pairs[0][0]


def html_to_markdown(html):
    converter = html2text.HTML2Text()
    converter.body_width = 0  # no re-wrapping: lines stay as the member wrote them
    converter.ignore_images = True  # inline images arrive as attachments
    converter.unicode_snob = True
    converter.single_line_break = True
    # An empty <div><br></div> between paragraphs (Outlook, Gmail) is one blank line.
    return re.sub(r"\n[ \t]*(\n[ \t]*){2,}", "\n\n", converter.handle(html))


def _is_attribution(lines, i):
    line = lines[i]
    if _ATTRIBUTION.match(line):
        return 1
    # Gmail and Apple Mail wrap a long attribution over two or three lines.
    if _ATTRIBUTION_START.match(line):
        for extra in (1, 2):
            joined = " ".join(l.strip() for l in lines[i:i + extra + 1])
            if _ATTRIBUTION.match(joined):
                return extra + 1
    return 0


def _is_outlook_header(lines, i):
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [l for l in lines[i + 1:i + 5] if l.strip()]
    return bool(following) and bool(_HEADER_NEXT.match(following[0]))


def strip_reply(text):
    """The member's own text: everything from the first quoted-history or signature marker
    on is dropped, as are quoted ("> ") lines; the rest is kept exactly."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = []
    for i, line in enumerate(lines):
        if (_ORIGINAL.match(line) or _is_attribution(lines, i) or _is_outlook_header(lines, i)
                or _SIGNATURE_DASHES.match(line) or _SENT_FROM.match(line)):
            break
        if _UNDERSCORES.match(line) and i + 1 < len(lines) and _is_outlook_header(lines, i + 1):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


def _part_text(part):
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, ValueError):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("windows-1252", errors="replace")
    if part.get_content_type() == "text/plain" and (part.get_param("format") or "").lower() == "flowed":
        text = unflow(text, (part.get_param("delsp") or "").lower() == "yes")
    return text


def unflow(text, delsp=False):
    """RFC 3676 (Thunderbird, Apple Mail): a line ending in a space continues on the next."""
    out, current = [], None
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if current is None:
            current = line
        else:
            current += line
        if line.endswith(" ") and line != "-- ":
            if delsp:
                current = current[:-1]
            continue
        out.append(current)
        current = None
    if current is not None:
        out.append(current)
    return "\n".join(out)


_BOUNDARY = re.compile(rb'(?i)boundary\s*=\s*"?([^";\r\n]{1,200})')


def count_parts(raw):
    """A cheap estimate of the MIME parts before anything is parsed: the larger of the
    Content-Type headers and the boundary lines (a part needs no Content-Type header)."""
    headers = len(re.findall(rb"(?im)^content-type\s*:", raw))
    lines = sum(len(re.findall(rb"(?m)^--" + re.escape(b.strip()), raw)) for b in set(_BOUNDARY.findall(raw)))
    return max(headers, lines)


def parse(raw):
    """The ParsedMail of raw bytes (RFC 5322)."""
    msg = read_message(raw)
    sender, name = sender_address(msg)
    body_part = msg.get_body(preferencelist=("plain", "html"))
    text, html_only = "", False
    if body_part is not None:
        content = _part_text(body_part)
        if body_part.get_content_type() == "text/html":
            content, html_only = html_to_markdown(content), True
        text = strip_reply(content)
    attachments, winmail = [], False
    for part in msg.walk():
        if part.is_multipart() or part is body_part:
            continue
        ctype = part.get_content_type()
        filename = part.get_filename() or ""
        if ctype == "application/ms-tnef" or filename.lower() == "winmail.dat":
            winmail = True
            continue
        if ctype in IGNORED_TYPES or ctype.startswith("message/"):
            continue
        if ctype in ("text/plain", "text/html") and not filename and part.get_content_disposition() != "attachment":
            continue  # the other version of the body
        data = part.get_payload(decode=True) or b""
        attachments.append(Attachment(filename or f"attachment.{part.get_content_subtype()}", ctype, data))
    return ParsedMail(
        message_id=header(msg, "Message-ID")[:255], sender=sender, sender_name=name,
        subject=header(msg, "Subject")[:255], text=text, attachments=attachments, winmail=winmail,
        html_only=html_only,
    ), msg

