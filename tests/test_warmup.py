"""A web worker loads search dictionaries, templates and catalogs before its first request
(forum/warmup.py, called from gunicorn.conf.py's post_worker_init)."""
from pathlib import Path

from forum.warmup import TEMPLATES, warm
from search import compounds, query


def test_warm_up_loads_what_the_first_search_and_pages_need(app):
    query._glossary_index.cache_clear()
    compounds.lexicon.cache_clear()
    compounds.french_words.cache_clear()
    app.jinja_env.cache.clear()
    warm(app)
    assert query._glossary_index.cache_info().currsize == 1
    assert compounds.lexicon.cache_info().currsize == 1
    assert compounds.french_words.cache_info().currsize == 1
    loaded = {name for _loader, name in app.jinja_env.cache.keys()}
    assert set(TEMPLATES) <= loaded


def test_every_warmed_template_exists():
    root = Path(__file__).resolve().parent.parent / "templates"
    assert all((root / name).is_file() for name in TEMPLATES)
