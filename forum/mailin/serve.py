"""`flask mail serve`: an SMTP (or LMTP) receiver an MTA relays to, with aiosmtpd.

Only recipients in MAIL_DOMAIN are accepted (550 otherwise: no open relay); messages above
MAIL_IN_MAX_BYTES get aiosmtpd's 552, messages with more than MAIL_IN_MAX_PARTS MIME parts
a 552 too; a database that cannot be reached gives 451 so the MTA tries again later. A
message that was kept is answered 250 whatever was decided: refusals are answered by mail
to the member (an SMTP refusal would make the MTA bounce to a possibly forged sender).
Processing runs in one worker thread: SQLite writes one at a time anyway.
"""
import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from . import addresses, parse
from .receive import TemporaryFailure, receive

log = logging.getLogger(__name__)
MAX_RECIPIENTS = 20


class Handler:
    def __init__(self, app):
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.app.app_context():
            domain = addresses.domain()
        if addresses.split(address)[1] != domain or not domain:
            return "550 5.7.1 Relaying denied: not a forum address"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address.lower())
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        with self.app.app_context():
            max_parts = self.app.config["MAIL_IN_MAX_PARTS"]
        if parse.count_parts(raw) > max_parts:
            return "552 5.3.4 Too many MIME parts"
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                self.executor, self._receive, raw, envelope.mail_from, list(envelope.rcpt_tos))
        except TemporaryFailure:
            return "451 4.3.0 Temporary failure, try again later"
        except Exception:
            log.exception("Incoming mail failed")
            return "451 4.3.0 Temporary failure, try again later"
        log.info("Incoming mail from %s: %s", envelope.mail_from, outcome.line())
        return "250 2.0.0 OK " + outcome.status

    def _receive(self, raw, mail_from, rcpt_tos):
        from ..extensions import db

        with self.app.app_context():
            try:
                return receive(raw, envelope_from=mail_from, recipients=rcpt_tos)
            finally:
                db.session.remove()


def run(app, host, port, lmtp=False):
    """Serve until interrupted."""
    handler = Handler(app)
    limit = app.config["MAIL_IN_MAX_BYTES"]
    protocol = LMTP if lmtp else SMTP

    def factory():
        return protocol(handler, data_size_limit=limit, enable_SMTPUTF8=True, decode_data=False,
                        hostname=addresses.domain_of(app) or "agora")

    async def main():
        server = await asyncio.get_running_loop().create_server(factory, host=host, port=port)
        print(f"Agora mail-in ({'LMTP' if lmtp else 'SMTP'}) on {host}:{port}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
