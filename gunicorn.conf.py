"""gunicorn settings for Agora, read from the working folder by `make run` and the tests' servers.

gunicorn answers a request over its own limits itself, with a bare page and none of Agora's
security headers. Its limits are therefore set well above Agora's (forum/security.py,
REQUEST_LINE_LIMIT and HEADER_*_LIMIT): an over-long address or header reaches the app, which
answers 414 or 431 with its translated page and headers. Past gunicorn's hard ceilings (a 1 MB
request line, 64 KB in one header) gunicorn still answers alone; README's security section says
how a proxy in front caps requests below that.
"""
limit_request_line = 0  # 0: gunicorn's own ceiling (1 MB) instead of 4094 bytes
limit_request_field_size = 65536
limit_request_fields = 1000


def post_worker_init(worker):
    """Once a worker has loaded the app: load what its first requests would (forum/warmup.py:
    search dictionaries, templates, catalogs), then move what exists now (modules, templates, the app)
    out of the garbage collector's view. A full collection otherwise walks every one of
    those long-lived objects again; in the load test the collector took about 3 % of a
    worker's time, half of it on objects that never become garbage."""
    import gc

    app = worker.wsgi
    if hasattr(app, "jinja_env"):  # the Flask app (wsgi:app, tests.e2e.live_app:app)
        from forum.warmup import warm

        warm(app)
        # Notification mails from a thread of the worker (forum/threads/notifications.py,
        # deliver_soon): a reply does not wait for the mail server.
        app.config["NOTIFICATION_MAIL_THREAD"] = True
    gc.freeze()


def worker_exit(server, worker):
    """A worker stopping (restart, shutdown): send the notification mails it still holds."""
    app = worker.wsgi
    if hasattr(app, "jinja_env"):
        from forum.threads.notifications import flush_mail

        if not flush_mail(app, timeout=10):
            server.log.warning("worker %s stopped with notification mails unsent", worker.pid)
