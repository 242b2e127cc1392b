"""Mail-in: reply to a notification to post in its thread, mail a theme address to start one.

addresses.py  the signed reply and theme addresses (and their revocation)
outgoing.py   Reply-To, Message-ID, In-Reply-To and References for notification mails
parse.py      the member's own text and attachments out of a message
receive.py    the one service both entry points call
serve.py      `flask mail serve` (SMTP/LMTP on 127.0.0.1 with aiosmtpd)
views.py      the member's settings page and the moderators' incoming-mail log
"""
import os
import sys

import click
from flask import Blueprint

from . import models  # noqa: F401  (the tables, for create_all and migrations)

bp = Blueprint("mailin", __name__, url_prefix="/<lang>")

MB = 1024 * 1024
# sysexits.h, what MTAs understand from a pipe: 0 delivered, 75 try again later.
EX_OK, EX_TEMPFAIL = 0, 75


def init_app(app):
    from . import views  # noqa: F401  (registers the routes on bp)

    env = os.environ.get
    app.config.setdefault("MAIL_DOMAIN", env("AGORA_MAIL_DOMAIN", ""))
    app.config.setdefault("MAIL_IN_AUTHSERV_ID", env("AGORA_MAIL_IN_AUTHSERV_ID", ""))
    app.config.setdefault("MAIL_IN_MAX_BYTES", int(env("AGORA_MAIL_IN_MAX_BYTES", 25 * MB)))
    app.config.setdefault("MAIL_IN_MAX_PARTS", int(env("AGORA_MAIL_IN_MAX_PARTS", 100)))
    app.config.setdefault("MAIL_IN_RAW_DAYS", int(env("AGORA_MAIL_IN_RAW_DAYS", 30)))
    app.register_blueprint(bp)

    @app.cli.group("mail")
    def mail_cli():
        """Mail-in: replies and new topics by e-mail."""

    @mail_cli.command("receive")
    @click.option("--sender", default=None, help="The envelope sender (Postfix pipe: ${sender}); empty for a bounce.")
    @click.option("--recipient", "recipients", multiple=True,
                  help="An envelope recipient (Postfix pipe: ${recipient}); else taken from the headers.")
    def receive_command(sender, recipients):
        """Read one message on standard input and post it (for an MTA's pipe).

        Prints one line (`posted <url>`, `refused: <reason>`, `ignored: auto_reply` ...).
        Exit status: 0 the message was dealt with (also when refused or ignored: the
        sender is answered by mail if appropriate); 75 (EX_TEMPFAIL) the database could
        not be reached, or something failed before the message was kept: the MTA keeps
        it and tries again (a message that was kept and then failed stays in the log as
        "failed" for `flask mail retry`).
        """
        from .receive import TemporaryFailure, receive

        limit = app.config["MAIL_IN_MAX_BYTES"]
        raw = sys.stdin.buffer.read(limit + 1)
        if len(raw) > limit:
            while sys.stdin.buffer.read(MB):  # drain, so the MTA's pipe does not break
                pass
        try:
            outcome = receive(raw, envelope_from=sender, recipients=[r.lower() for r in recipients] or None)
        except TemporaryFailure as exc:
            click.echo(f"tempfail: {exc}".splitlines()[0], err=True)
            sys.exit(EX_TEMPFAIL)
        except Exception as exc:  # noqa: BLE001  (the MTA must get an answer it understands)
            click.echo(f"error: {exc.__class__.__name__}", err=True)
            sys.exit(EX_TEMPFAIL)
        click.echo(outcome.line())
        sys.exit(EX_OK)

    @mail_cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=2525, show_default=True, type=int)
    @click.option("--lmtp", is_flag=True, help="Speak LMTP instead of SMTP (Postfix lmtp: transport).")
    def serve_command(host, port, lmtp):
        """Run an SMTP (or LMTP) receiver that an MTA relays forum mail to."""
        from . import serve

        if not app.config["MAIL_DOMAIN"]:
            raise click.ClickException("Set AGORA_MAIL_DOMAIN first: the receiver accepts only that domain.")
        serve.run(app, host, port, lmtp=lmtp)

    @mail_cli.command("retry")
    def retry_command():
        """Process again the kept messages that failed (an error, an interrupted run)."""
        from .receive import retry

        for outcome in retry():
            click.echo(f"{outcome.mail_id}: {outcome.line()}")
