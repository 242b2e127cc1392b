"""The search backend interface: index, remove, query, rebuild; views never import an engine.

A backend stores one document per visible post (see search/indexing.py for the fields)
and answers a SearchRequest with a SearchResult grouped per thread. Two engines:
Whoosh (search/whoosh/, the default: files in the instance folder) and
PostgreSQL full-text search (search/postgres_backend.py, SEARCH_BACKEND=postgres: rows
in the database, shared by every app server). Views and the indexer never know which.
"""
from dataclasses import dataclass, field

FACETS = ("kind", "theme", "language", "tag", "province", "municipality", "organisation", "solved", "period")


class IndexBusy(Exception):
    """Another process holds the index writer; the outbox rows stay for the next drain."""


class RebuildRunning(Exception):
    """A reindex is already running for this index."""


@dataclass
class SearchRequest:
    """What a reader asked for, already parsed (search/query.py) and permission-scoped."""

    parsed: object  # search.query.ParsedQuery
    visibilities: tuple = ("public",)  # theme visibilities this reader may see
    filters: dict = field(default_factory=dict)  # facet name -> value; date_from/date_to as date
    sort: str = "relevance"  # or "newest"
    page: int = 1
    per_page: int = 10
    time_limit: float = 1.0
    facets: bool = True


@dataclass
class Hit:
    thread_id: int
    post_id: int
    score: float


@dataclass
class SearchResult:
    total: int = 0  # matching threads
    page: int = 1
    pages: int = 0
    hits: list = field(default_factory=list)
    facets: dict = field(default_factory=dict)  # name -> [(value, count)], most first
    timed_out: bool = False
    notices: list = field(default_factory=list)  # codes, see search/service.py NOTICES


class SearchBackend:
    """Interface every engine implements."""

    def batch(self, wait=0.5):
        """A context manager yielding a writer with delete(field, value), add(doc) and
        record(object_type, object_id); commits on exit. Raises IndexBusy if the writer
        lock cannot be had within `wait` seconds."""
        raise NotImplementedError

    def index(self, docs, wait=5.0):
        """Add or replace documents (keyed by post_id)."""
        with self.batch(wait=wait) as batch:
            for doc in docs:
                batch.delete("post_id", doc["post_id"])
                batch.add(doc)

    def remove(self, post_ids, wait=5.0):
        """Remove documents by post id."""
        with self.batch(wait=wait) as batch:
            for post_id in post_ids:
                batch.delete("post_id", str(post_id))

    def query(self, request):
        """Answer a SearchRequest with a SearchResult."""
        raise NotImplementedError

    def rebuild(self, fill, replay):
        """Build a fresh index with fill(batch), then replay(batch, keys) for the objects
        changed meanwhile, and swap it in atomically."""
        raise NotImplementedError

    def highlight(self, parsed, pieces):
        """Escaped snippets (Markup with <mark>) for [(text, language, length)], or None
        to let the service mark them itself (search/highlight.py)."""
        return None

    def suggest(self, words, visibilities):
        """Corrections {word: better} for misspelt words, from a small dictionary."""
        return {}

    def warm(self):
        """Read what the first queries of a worker would (forum/warmup.py); returns a count."""
        return 0

    def state(self):
        """A value that changes whenever this process's answers may change (a new index
        state), or None when the engine cannot tell: then no search page is kept
        (search/views.py). None here: PostgreSQL reads its search table at every query."""
        return None

    def status(self):
        """A dict with documents, size_bytes, path and generation."""
        raise NotImplementedError

    def close(self):
        pass


def get_backend(app=None):
    """The app's backend, created once per app and index path (never a module global)."""
    from flask import current_app

    app = app or current_app._get_current_object()
    key = ("agora_search", app.config["SEARCH_BACKEND"], app.config["SEARCH_INDEX_PATH"])
    backend = app.extensions.get("agora_search")
    if backend is None or backend.key != key:
        name = app.config["SEARCH_BACKEND"]
        if name == "whoosh":
            from .whoosh import WhooshBackend

            backend = WhooshBackend(app.config["SEARCH_INDEX_PATH"])
        elif name == "postgres":
            from .postgres_backend import PostgresBackend

            backend = PostgresBackend()
        else:
            raise RuntimeError(f"unknown SEARCH_BACKEND {name!r} (whoosh or postgres)")
        backend.key = key
        app.extensions["agora_search"] = backend
    return backend
