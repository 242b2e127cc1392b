"""The one service behind both entry points (`flask mail receive`, `flask mail serve`).

receive(raw) keeps the message first (an incoming_mail row with the raw bytes, unique on
Message-ID: the same mail twice posts once), then decides:

- ignored, never answered: bounces and delivery reports (null return path, multipart/report,
  MAILER-DAEMON), auto-replies (Auto-Submitted, X-Autoreply, X-Autorespond, Precedence
  bulk/junk/list/auto_reply), a Message-ID seen before;
- refused, answered once in the member's language (unknown senders at most once a day,
  never more than ANSWERS_PER_DAY to one address): an unknown or revoked address, a sender
  who is not the token's member, a failed DMARC check, a suspended member, a locked thread,
  a refused attachment, winmail.dat, anything the web's posting services refuse;
- posted (or held for review) through forum.threads.services, exactly as the web posts:
  permissions, pre-moderation, rate limits, duplicate detection, mentions,
  notifications, search indexing; attachments through the attachments area's checks and quota.

A database that cannot be reached raises TemporaryFailure before anything is decided, so
the MTA keeps the message and tries again. Any other failure leaves the row "failed" with
its raw message: `flask mail retry` processes it again.
"""
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email.parser import BytesHeaderParser
from email import policy

from flask import current_app, render_template
from flask_babel import force_locale, gettext as _
from sqlalchemy.exc import IntegrityError, OperationalError, InterfaceError

from ..extensions import db
from ..models import Post, Theme, Thread, User, utcnow
from ..permissions import can_read_theme, can_read_thread
from ..transactions import unit_of_work
from . import addresses, parse
from .models import IncomingMail

log = logging.getLogger(__name__)

MB = 1024 * 1024
ANSWERS_PER_DAY = 10
STALE_MINUTES = 5  # a message still "received" after this was interrupted, not in progress
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


class TemporaryFailure(Exception):
    """The message could not be kept or processed now; the MTA should try again later."""


@dataclass
class Outcome:
    status: str  # posted, held, refused, ignored, failed
    reason: str = ""
    url: str = ""
    mail_id: int = None

    def line(self):
        """The one line `flask mail receive` prints."""
        if self.status in ("posted", "held"):
            return f"{self.status} {self.url}"
        return f"{self.status}: {self.reason}"


def config(name):
    return current_app.config[name]


# -- entry -----------------------------------------------------------------------------

def receive(raw, envelope_from=None, recipients=None):
    """Process one message (bytes); returns an Outcome. Raises TemporaryFailure."""
    try:
        return _receive(raw, envelope_from, recipients)
    except (OperationalError, InterfaceError) as exc:
        db.session.rollback()
        raise TemporaryFailure(str(exc)) from exc


def _message_id(headers, raw):
    value = parse.header(headers, "Message-ID")[:255]
    return value or f"<{hashlib.sha256(raw).hexdigest()}@agora.generated>"


def _receive(raw, envelope_from, recipients):
    purge_raw()
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw[:256 * 1024])
    recipients = list(recipients or _header_recipients(headers))
    row = IncomingMail(
        message_id=_message_id(headers, raw), sender=parse.sender_address(headers)[0][:254],
        recipient=(recipients[0] if recipients else "")[:254], subject=parse.header(headers, "Subject")[:255],
        size=len(raw), status="received", received_at=utcnow(),
    )
    too_big = len(raw) > config("MAIL_IN_MAX_BYTES")
    too_many_parts = parse.count_parts(raw) > config("MAIL_IN_MAX_PARTS")
    row.raw = None if (too_big or too_many_parts) else raw  # never keep what was refused for its size
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _seen_before(row.message_id, envelope_from, recipients)
    if too_big or too_many_parts:
        return _finish(row.id, Outcome("refused", "too_large" if too_big else "too_many_parts"), None)
    outcome = process(row.id, envelope_from, recipients)
    if outcome.status in ("posted", "held"):
        _index_now()
    return outcome


def _seen_before(message_id, envelope_from, recipients):
    """The same Message-ID again: ignored, unless the first delivery was interrupted before
    it was decided (the process died, the database went away): then the MTA's retry is the
    moment to finish it."""
    row = db.session.scalar(db.select(IncomingMail).where(IncomingMail.message_id == message_id))
    stale = utcnow() - timedelta(minutes=STALE_MINUTES)
    if row is None or row.status != "received" or row.received_at > stale or row.raw is None:
        return Outcome("ignored", "duplicate")  # never a row of its own
    return process(row.id, envelope_from, recipients)


def _index_now():
    """What the web does after a request that posted: index the post at once (the job
    process would otherwise pick the outbox rows up on its next round)."""
    from search.indexing import drain

    try:
        drain(max_rows=200, wait=current_app.config.get("SEARCH_DRAIN_WAIT", 1.0), rounds=2)
    except Exception:  # the rows stay in the outbox for the next drain
        log.exception("search outbox drain after incoming mail failed")
        db.session.rollback()


def process(mail_id, envelope_from=None, recipients=None):
    """Decide about a kept message (also `flask mail retry`)."""
    row = db.session.get(IncomingMail, mail_id)
    raw = row.raw or b""
    try:
        parsed, msg = parse.parse(raw)
        if recipients is None:  # `mail retry`: the envelope recipient kept, else the headers
            recipients = [row.recipient] if row.recipient else _header_recipients(msg)
        return _decide(row.id, parsed, msg, envelope_from, recipients)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.exception("Incoming mail %s could not be processed", mail_id)
        db.session.rollback()
        return _finish(mail_id, Outcome("failed", "error"), None)


def _header_recipients(msg):
    from email.utils import getaddresses

    values = [parse.header(msg, name) for name in ("Delivered-To", "X-Original-To", "To", "Cc") if msg.get(name)]
    return [addr.lower() for _name, addr in getaddresses(values) if addr]


# -- the checks ------------------------------------------------------------------------

def is_bounce(msg, envelope_from):
    if envelope_from is not None and envelope_from.strip("<> ") == "":
        return True
    if parse.header(msg, "Return-Path").strip() == "<>":
        return True
    if msg.get_content_type() == "multipart/report":
        return True
    sender = parse.sender_address(msg)[0]
    return sender.split("@")[0] in ("mailer-daemon", "postmaster")


def is_auto_reply(msg):
    auto = parse.header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Autoresponder"):
        return True
    return parse.header(msg, "Precedence").lower() in _AUTO_PRECEDENCE


def dmarc_result(msg):
    """'pass', 'fail' or None: DMARC from Authentication-Results written by our own MTA
    (MAIL_IN_AUTHSERV_ID); headers from anywhere else are not trusted."""
    authserv = (config("MAIL_IN_AUTHSERV_ID") or "").lower()
    if not authserv:
        return None
    result = None
    for value in msg.get_all("Authentication-Results") or ():
        value = re.sub(r"\s+", " ", str(value))
        if value.split(";")[0].strip().lower() != authserv:
            continue
        match = re.search(r"\bdmarc=(\w+)", value, re.I)
        if match:
            result = "pass" if match.group(1).lower() == "pass" else "fail"
    return result


def _find_target(recipients):
    """The first recipient that is one of our addresses: (Target or plain theme slug, reason)."""
    reason = "unknown_address"
    for address in recipients:
        found = addresses.read(address)
        if isinstance(found, addresses.Target):
            return found, ""
        if found == "bad_token":
            reason = "bad_token"
        slug = addresses.plain_theme_slug(address)
        if slug and reason == "unknown_address":
            return slug, ""
    return None, reason


def _decide(mail_id, parsed, msg, envelope_from, recipients):
    if is_bounce(msg, envelope_from):
        return _finish(mail_id, Outcome("ignored", "bounce"), None)
    if is_auto_reply(msg):
        return _finish(mail_id, Outcome("ignored", "auto_reply"), None)
    if not parsed.sender:
        return _finish(mail_id, Outcome("ignored", "no_sender"), None)

    target, reason = _find_target(recipients)
    if target is None:
        return _refuse(mail_id, reason, parsed, None)
    dmarc = dmarc_result(msg)
    if isinstance(target, str):
        # The shared <theme-slug>@domain address has no token: only a sender our own MTA
        # vouches for (DMARC pass) may use it.
        user = _member_by_address(parsed.sender)
        if dmarc != "pass" or user is None:
            return _refuse(mail_id, "unknown_address", parsed, None)
        kind, goal = "theme", target
    else:
        user = db.session.get(User, target.user_id)
        if user is None or user.deleted_at is not None:
            return _refuse(mail_id, "bad_token", parsed, None)
        if parsed.sender != (user.email or "").lower():
            return _refuse(mail_id, "wrong_sender", parsed, None)
        kind, goal = target.purpose, target.target
    if dmarc == "fail":
        return _refuse(mail_id, "dmarc_failed", parsed, None)
    if user.status == "suspended":
        return _refuse(mail_id, "suspended", parsed, user)
    if not addresses.replies_enabled(user.id):
        return _refuse(mail_id, "mail_off", parsed, user)
    if parsed.winmail:
        return _refuse(mail_id, "winmail", parsed, user)
    if kind == "reply":
        return _post_reply(mail_id, parsed, user, goal)
    return _start_thread(mail_id, parsed, user, goal)


def _member_by_address(address):
    user = db.session.scalar(db.select(User).where(db.func.lower(User.email) == address))
    return user if user is not None and user.deleted_at is None else None


def _uploads(user, parsed):
    from ..attachments.services import Upload, prepare_uploads

    uploads = [Upload(filename=a.filename, data=a.data, size=len(a.data)) for a in parsed.attachments]
    return prepare_uploads(user, uploads) if uploads else []


def _post_reply(mail_id, parsed, user, thread_id):
    from ..threads.services import create_reply

    thread = db.session.get(Thread, thread_id)
    if thread is None or not can_read_thread(user, thread):
        return _refuse(mail_id, "no_thread", parsed, user)
    if thread.kind == "vacancy" and not thread.is_open_vacancy:
        # Mostly "I am interested" to an old mail: the web shows the same notice.
        return _refuse(mail_id, "closed_vacancy", parsed, user)
    return _post(mail_id, parsed, user, lambda: create_reply(user, thread, parsed.text), "post")


def _start_thread(mail_id, parsed, user, slug):
    from ..threads.services import create_thread

    theme = db.session.scalar(db.select(Theme).where(Theme.slug == slug))
    if theme is None or not can_read_theme(user, theme):
        return _refuse(mail_id, "no_theme", parsed, user)
    title = parsed.subject
    kind = "question" if title.rstrip().endswith("?") else "discussion"

    def write():
        thread = create_thread(user, theme, kind, title, parsed.text)
        return db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))

    return _post(mail_id, parsed, user, write, "thread")


def _post(mail_id, parsed, user, write, kind):
    """Check the attachments (before anything is written) and the posting page's rate limit
    (RATELIMIT_POST / RATELIMIT_THREAD, counted in the service's transaction as on the web),
    write the post through the forum's service, attach the files; a refusal becomes an
    answer with the web's message."""
    from .. import ratelimit
    from ..attachments.services import AttachmentRefused, attach_files
    from ..threads.services import ForumError
    from ..threads.views import DEFAULT_POST_LIMIT, DEFAULT_THREAD_LIMIT

    setting, default = ("RATELIMIT_THREAD", DEFAULT_THREAD_LIMIT) if kind == "thread" else (
        "RATELIMIT_POST", DEFAULT_POST_LIMIT)
    try:
        prepared = _uploads(user, parsed)
        if not user.is_moderator:
            ratelimit.hit(f"{kind}:{user.id}", current_app.config.get(setting, default), commit=False)
        post = write()
        if prepared:
            attach_files(user, post, prepared)
    except AttachmentRefused as exc:
        return _refuse(mail_id, "attachment", parsed, user, details=lambda: exc.messages)
    except ratelimit.RateLimited:
        return _refuse(mail_id, "too_fast", parsed, user)
    except ForumError as exc:
        return _refuse(mail_id, exc.code, parsed, user, message=lambda: exc.message)
    return _posted(mail_id, post, user, parsed)


def _posted(mail_id, post, user, parsed):
    from ..threads.notifications import external_url

    lang = user.locale if user.locale in ("nl", "fr") else "nl"
    url = external_url("threads.post", post_id=post.id, lang=lang)
    outcome = Outcome("held" if post.status == "held" else "posted", "", url)
    answered = False
    if outcome.status == "held":
        # As the web says after posting: otherwise the member would wonder where it went.
        with force_locale(lang):
            text = (_("Thank you. Your topic will appear once a moderator has looked at it.") if post.number == 1
                    else _("Thank you. Your reply will appear once a moderator has looked at it."))
        answered = send_answer(user.email, user, "held", parsed, message=lambda: text)
    return _finish(mail_id, outcome, user, thread_id=post.thread_id, post_id=post.id, answered=answered)


# -- recording and answering -----------------------------------------------------------

@unit_of_work()
def _finish(mail_id, outcome, user, thread_id=None, post_id=None, answered=False):
    row = db.session.get(IncomingMail, mail_id)
    row.status, row.reason = outcome.status, outcome.reason[:40]
    row.user_id = user.id if user is not None else row.user_id
    row.thread_id, row.post_id = thread_id or row.thread_id, post_id or row.post_id
    if answered:
        row.answered_at = utcnow()
    outcome.mail_id = mail_id
    return outcome


def _may_answer(address, known):
    """At most one answer a day to an address that is no member's, ANSWERS_PER_DAY to a member."""
    since = utcnow() - timedelta(days=1)
    count = db.session.scalar(db.select(db.func.count(IncomingMail.id)).where(
        IncomingMail.sender == address, IncomingMail.answered_at >= since)) or 0
    return count < (ANSWERS_PER_DAY if known else 1)


def reason_text(reason):
    """Why a mail was refused, in the current locale (the answer and the moderators' log)."""
    texts = {
        "unknown_address": lambda: _("This address does not belong to a topic or theme on the forum."),
        "bad_token": lambda: _("This reply address is no longer valid: it was replaced by newer addresses. Reply to a more recent mail from the forum, or reply on the website."),
        "wrong_sender": lambda: _("The mail was not sent from the e-mail address of the account this reply address belongs to. Send it from the address you use on the forum."),
        "dmarc_failed": lambda: _("Your mail provider could not confirm that this mail really came from you. Reply on the website instead."),
        "suspended": lambda: _("Your account is suspended, so you cannot post at the moment."),
        "mail_off": lambda: _("You have switched off posting by mail in your settings."),
        "winmail": lambda: _("Your mail program sent the attachments as “winmail.dat”, which the forum cannot read. Set your mail program to send HTML or plain text mail and send the files again."),
        "no_thread": lambda: _("This topic no longer exists, or you cannot reply to it."),
        "closed_vacancy": lambda: _("This vacancy is closed."),
        "no_theme": lambda: _("This theme does not exist, or you cannot start a topic in it."),
        "attachment": lambda: _("One of the attachments could not be added."),
        "too_large": lambda: _("The mail is larger than the forum accepts."),
        "too_many_parts": lambda: _("The mail consists of more parts than the forum accepts."),
        "auto_reply": lambda: _("An automatic reply (such as an out-of-office message)."),
        "bounce": lambda: _("A delivery report from a mail server."),
        "no_sender": lambda: _("The mail has no sender address."),
        "error": lambda: _("The mail could not be processed; it is kept so it can be tried again."),
    }
    text = texts.get(reason)
    if text is not None:
        return text()
    from ..moderation.abuse import PostingRefused
    from ..threads.services import ForumError

    if reason in ("duplicate", "too_fast", "daily_limit"):  # the same text again, posting too fast
        return PostingRefused(reason).message
    return ForumError(reason).message


def _refuse(mail_id, reason, parsed, user, details=None, message=None):
    """Record the refusal and answer the sender once (see _may_answer)."""
    known = user is not None
    address = user.email if known else parsed.sender
    answered = False
    if address and _may_answer(address.lower(), known):
        answered = send_answer(address, user, reason, parsed, details, message)
    return _finish(mail_id, Outcome("refused", reason), user, answered=answered)


def send_answer(address, user, reason, parsed, details=None, message=None):
    """One short mail saying why and what to do: in the member's language, in both
    languages to someone unknown. Never echoes the subject into a header."""
    from auth.mail import build_message, send_rendered

    from ..threads.notifications import external_url

    langs = [user.locale if user is not None and user.locale in ("nl", "fr") else "nl"]
    if user is None:
        langs = ["nl", "fr"]
    bodies, subjects = [], []
    for lang in langs:
        with force_locale(lang):
            held = reason == "held"
            subjects.append(_("Your mail to the forum awaits a moderator") if held
                            else _("Your mail to the forum was not posted"))
            bodies.append(render_template(
                "mail/mailin_refused.txt", lang=lang, user=user, held=held,
                reason=message() if message else reason_text(reason),
                details=details() if details else [], subject=parsed.subject,
                forum_url=external_url("main.home", lang=lang),
                settings_url=external_url("mailin.settings", lang=lang)))
    msg = build_message(address, " / ".join(subjects), "\n\n----------\n\n".join(bodies), headers={
        "Auto-Submitted": "auto-replied", "Content-Language": ", ".join(langs),
        **({"In-Reply-To": parsed.message_id, "References": parsed.message_id} if parsed.message_id else {}),
    })
    return send_rendered(msg, "mailin_refused")


def purge_raw():
    """Empty the raw messages older than MAIL_IN_RAW_DAYS (the log rows stay)."""
    before = utcnow() - timedelta(days=config("MAIL_IN_RAW_DAYS"))
    db.session.execute(db.update(IncomingMail).where(
        IncomingMail.received_at < before, IncomingMail.raw.is_not(None)).values(raw=None))
    db.session.commit()


def retry(limit=100):
    """Process again the kept messages that failed or were left half-way; [Outcome]."""
    ids = db.session.scalars(db.select(IncomingMail.id).where(
        IncomingMail.status.in_(("failed", "received")), IncomingMail.raw.is_not(None))
        .order_by(IncomingMail.id).limit(limit)).all()
    return [process(mail_id) for mail_id in ids]
