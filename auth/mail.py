"""Outgoing mail: SMTP when configured, otherwise .eml files in instance/mail/."""
import functools
import logging
import os
import smtplib
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from flask import current_app, render_template
from flask_babel import force_locale

from forum import places

log = logging.getLogger(__name__)


def build_message(to, subject, body, headers=None):
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="agora.invalid")
    # After set_content: it drops every Content-* header set before it (Content-Language).
    msg.set_content(body)
    for key, value in (headers or {}).items():
        del msg[key]
        msg[key] = value
    return msg


# The SMTP connection of an smtp_session() block, per thread.
_session = threading.local()


@functools.cache
def _local_hostname():
    """The name this machine greets the mail server with (EHLO): smtplib looks it up (a
    reverse name look-up) on every connection; once per process is enough."""
    return socket.getfqdn()


def _connect(config):
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], local_hostname=_local_hostname(), timeout=20)
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


@contextmanager
def smtp_session():
    """Send the mails of this block over one SMTP connection, opened at the first mail and
    closed at the end (a worker's notification mails, sent in batches: connecting, greeting
    and quitting were half of a mail's time)."""
    if getattr(_session, "active", False):
        yield
        return
    _session.active, _session.smtp = True, None
    try:
        yield
    finally:
        smtp, _session.active, _session.smtp = _session.smtp, False, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def send_message(msg):
    config = current_app.config
    if config["MAIL_SERVER"]:
        if not getattr(_session, "active", False):
            with _connect(config) as smtp:
                smtp.send_message(msg)
            return
        reused = _session.smtp is not None
        if not reused:
            _session.smtp = _connect(config)
        try:
            _session.smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            # The next mail of the block starts on a new connection (this one may be broken).
            smtp, _session.smtp = _session.smtp, None
            smtp.close()
            closed = isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException)
            if not (reused and closed):
                raise
            # A connection kept open between mails that the server has closed meanwhile:
            # this mail once more, on a new one.
            _session.smtp = _connect(config)
            _session.smtp.send_message(msg)
        return
    folder = Path(config["MAIL_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(msg))
    os.chmod(path, 0o600)
    log.warning("No SMTP server configured: mail to %s written to %s", msg["To"], path)


def recipient_time_zone(user, lang):
    """The recipient's local time zone: their council's country, else their language's."""
    country = getattr(getattr(user, "organisation", None), "country", None)
    if country not in places.TIME_ZONES:
        country = "BE" if lang == "fr" else "NL"
    return ZoneInfo(places.time_zone(country))


def mail_datetime(value, lang, zone):
    """A stored (naive UTC) moment as the recipient reads it: '2 december 2026 14:30'."""
    if value is None:
        return ""
    return babel_format_datetime(value.replace(tzinfo=ZoneInfo("UTC")), "d MMMM y HH:mm", tzinfo=zone, locale=lang)


def render_mail(to, template, lang, subject, headers=None, **context):
    """Render templates/mail/<template>.txt in the recipient's language into a message.

    `subject` is a callable so it is translated inside the recipient's locale.
    """
    with force_locale(lang):
        text_subject = subject() if callable(subject) else subject
        zone = recipient_time_zone(context.get("user"), lang)
        body = render_template(f"mail/{template}.txt", lang=lang,
                               local_datetime=lambda value: mail_datetime(value, lang, zone), **context)
    # Content-Language lets mail clients (and tests) see which language went out;
    # Auto-Submitted keeps out-of-office replies away from the no-reply sender.
    headers = {"Content-Language": lang, "Auto-Submitted": "auto-generated", **(headers or {})}
    msg = build_message(to, text_subject, body, headers)
    if not current_app.config["MAIL_SERVER"]:
        # A newcomer without SMTP can still follow the link from the console.
        for line in body.splitlines():
            if "://" in line:
                log.warning("Mail link for %s: %s", to, line.strip())
    return msg


def send_rendered(msg, template=""):
    """Send a rendered message; a failing mail server is logged, never shown as a crash."""
    try:
        send_message(msg)
    except (OSError, smtplib.SMTPException):
        log.exception("Could not send mail '%s' to %s", template, msg["To"])
        return False
    return True


def send_mail(to, template, lang, subject, headers=None, **context):
    """Render and send at once (digests, notices); account mails go through auth/outbox.py."""
    return send_rendered(render_mail(to, template, lang, subject, headers, **context), template)
