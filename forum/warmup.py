"""What a web worker loads before it takes its first request (gunicorn.conf.py post_worker_init).

Without it the first search in each worker reads simplemma's Dutch and French dictionaries
and analyses the whole lexicon (about 1.3 s of CPU), and the first page of each kind loads
its templates and catalogs: the members who arrive first after a restart (a newsletter
going out, the load test's first seconds) wait for that. Only data is loaded here: no
database connection and no search index is opened, so the worker starts as before.
"""
import logging
import time

log = logging.getLogger(__name__)

# The pages most members open first: their templates are compiled (or read from the
# bytecode cache) before the first request instead of during it.
TEMPLATES = ("forum/thread.html", "forum/list.html", "forum/theme.html", "search/results.html",
             "home.html", "auth/login.html", "forum/_post_fragment.html", "forum/_thread_item.html")


def warm(app):
    """Load search analysis data, page templates and both catalogs; returns the seconds taken."""
    from flask_babel import gettext

    from search import query

    started = time.perf_counter()
    query.warm_up()
    for name in TEMPLATES:
        try:
            app.jinja_env.get_template(name)
        except Exception:  # a missing template is found by the tests, not at start-up
            log.warning("template %s not preloaded", name, exc_info=True)
    for lang in ("nl", "fr"):
        with app.test_request_context(f"/{lang}/"):
            gettext("Search")
    seconds = time.perf_counter() - started
    log.info("worker warmed up in %.2f s", seconds)
    return seconds
