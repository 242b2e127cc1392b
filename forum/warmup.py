"""What a web worker loads before it takes its first request (gunicorn.conf.py post_worker_init).

Without it the first search in each worker reads simplemma's Dutch and French dictionaries
and analyses the whole lexicon (about 1.3 s of CPU), and the first page of each kind loads
its templates and catalogs: the members who arrive first after a restart (a newsletter
going out, the load test's first seconds) wait for that. The search index is opened and the
most frequent words' postings are read (search/whoosh/backend.py, warm: 1.4 s of CPU at
100,000 posts, 16 MB); no database connection is opened.
"""
import logging
import time

log = logging.getLogger(__name__)

# The pages most members open first: their templates are compiled (or read from the
# bytecode cache) before the first request instead of during it.
TEMPLATES = ("forum/thread.html", "forum/list.html", "forum/theme.html", "search/results.html",
             "home.html", "auth/login.html", "forum/_post_fragment.html", "forum/_thread_item.html")


def warm(app):
    """Load search analysis data and frequent postings, page templates and both catalogs."""
    from flask_babel import gettext

    from search import query
    from search.backend import get_backend

    started = time.perf_counter()
    query.warm_up()
    try:
        with app.app_context():
            postings = get_backend().warm()
    except Exception:  # a worker without a readable index still serves pages (and says so in search)
        log.warning("search postings not preloaded", exc_info=True)
        postings = 0
    for name in TEMPLATES:
        try:
            app.jinja_env.get_template(name)
        except Exception:  # a missing template is found by the tests, not at start-up
            log.warning("template %s not preloaded", name, exc_info=True)
    for lang in ("nl", "fr"):
        with app.test_request_context(f"/{lang}/"):
            gettext("Search")
    seconds = time.perf_counter() - started
    log.info("worker warmed up in %.2f s (%d search postings read)", seconds, postings)
    return seconds
