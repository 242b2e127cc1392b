"""Attachments: files on posts (documents and images), checked by content, stored by hash."""
import click

# Endpoints that accept files: their requests may be larger than MAX_CONTENT_LENGTH.
POSTING_ENDPOINTS = ("threads.new_thread", "threads.reply", "threads.edit_post")


def init_app(app):
    from flask import request
    from flask_login import current_user

    from .. import signals
    from ..permissions import is_member
    from . import models  # noqa: F401  (the table must exist for create_all and migrations)
    from . import services
    from .views import bp, lang_bp

    # Limits an operator may set (AGORA_ATTACHMENT_*) come from forum/config.py; these are the rest.
    for name, default in services.DEFAULTS.items():
        app.config.setdefault(name, default)
    services.install_cleanup()
    signals.post_deleted.connect(services.remove_deleted_post_files)
    app.register_blueprint(bp)
    app.register_blueprint(lang_bp)

    def raise_upload_limit():
        # Several files of up to ATTACHMENT_MAX_BYTES each, plus the text; only for a member's
        # multipart post (the only one that can carry files). Anyone else, and every
        # url-encoded body, stays under MAX_CONTENT_LENGTH, and text fields under
        # MAX_FORM_MEMORY_SIZE in any case: a huge text is a 413 before anything reads or
        # echoes it. Must run before CSRF protection reads the form, hence inserted first below.
        if (request.endpoint in POSTING_ENDPOINTS and request.method == "POST"
                and request.mimetype == "multipart/form-data" and is_member(current_user)):
            config = app.config
            request.max_content_length = max(
                config.get("MAX_CONTENT_LENGTH") or 0,
                config["ATTACHMENT_MAX_FILES"] * config["ATTACHMENT_MAX_BYTES"] + 2 * 1024 * 1024)

    app.before_request_funcs.setdefault(None, []).insert(0, raise_upload_limit)

    from .detect import ACCEPT, TYPES

    app.jinja_env.globals.update(
        attachments_for=services.attachments_for,
        format_file_size=services.format_size,
        attachment_accept=ACCEPT,
        attachment_types=TYPES,
        attachment_limits=lambda: {
            "max_bytes": app.config["ATTACHMENT_MAX_BYTES"], "max_files": app.config["ATTACHMENT_MAX_FILES"],
            "quota": app.config["ATTACHMENT_DAILY_QUOTA"]},
    )

    @app.cli.group("attachments")
    def attachments_cli():
        """Files attached to posts."""

    @attachments_cli.command("extract")
    @click.option("--limit", default=500, show_default=True, help="At most this many documents per run.")
    def extract_command(limit):
        """Extract the text of documents waiting for it (PDF, DOCX, ODT, ...) for search."""
        total = 0
        while True:
            handled = services.extract_pending(limit=min(limit - total, 100))
            total += handled
            if not handled or total >= limit:
                break
        click.echo(f"extracted text of {total} attachment(s)")

    @attachments_cli.command("gc")
    @click.option("--min-age", default=3600, show_default=True, help="Leave files younger than this (seconds).")
    def gc_command(min_age):
        """Delete stored files that no attachment refers to any more."""
        click.echo(f"removed {services.collect_garbage(min_age=min_age)} file(s)")
