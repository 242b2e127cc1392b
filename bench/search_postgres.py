"""Search benchmark, PostgreSQL side: `bench/search.py --backend postgres`.

Runs bench/search.py's measurements for both engines in one run, on one PostgreSQL
database holding the same generated forum, and prints them side by side: bulk indexing
(`search reindex`), commit to searchable (a reply through the forum service, the
outbox drain, then a search that finds it), query latency of the app's search
(median, p95) and of the bare engine for the same queries (Whoosh: the same query
object, top 10; PostgreSQL: the same WHERE and ts_rank_cd, top 10 posts; both without
permission scope, grouping, facets or snippets), and "did you mean".

    .venv/bin/python bench/search.py --backend postgres                # 100,000 posts
    .venv/bin/python bench/search.py --backend postgres --posts 5000   # a quick run

The database (--database-url, default $AGORA_BENCH_DATABASE_URL or agora_bench on the
local server) is emptied first; the role needs CREATEDB if it does not exist yet.
"""
import random
import shutil
import statistics
import tempfile
import time

DEFAULT_URL = "postgresql+psycopg://agora:agora@127.0.0.1:5432/agora_bench"
ENGINES = (("whoosh", "Whoosh"), ("postgres", "PostgreSQL"))


def empty_database(url):
    """Create the database if needed and drop everything in it."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    url = make_url(url)
    admin = sqlalchemy.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s",
                                        {"n": url.database}).scalar():
                conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    finally:
        admin.dispose()
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


def make_queries(maker, theme_slugs, count, ranks, seed=11):
    """The same query mix as bench/search.py, generated once for both engines."""
    rng = random.Random(seed)
    low, high = ranks
    words = {lang: maker.vocabulary(lang)[low:high] for lang in ("nl", "fr")}

    def language():
        return "nl" if rng.random() < 0.7 else "fr"

    def word():
        return rng.choice(words[language()])

    def two_words():
        lang = language()
        known = set(words[lang])
        pool = sorted({w for w in maker.content(lang) if w in known})
        if len(pool) < 2:
            return f"{word()} {word()}"
        a, b = rng.sample(pool, 2)
        return f"{a} {b}"

    def phrase():
        content = maker.content(language())
        i = rng.randrange(len(content) - 1)
        return f'"{content[i]} {content[i + 1]}"'

    makers = {
        "single word": lambda: {"q": word()},
        "two words": lambda: {"q": two_words()},
        "phrase": lambda: {"q": phrase()},
        "filtered": lambda: {"q": word(), "kind": "question", "theme": rng.choice(theme_slugs)},
    }
    queries = {name: [make() for _ in range(count)] for name, make in makers.items()}
    typos = []
    for _ in range(count // 2 or 1):
        w = rng.choice(words["nl"])
        if len(w) >= 6:
            i = rng.randint(1, len(w) - 2)
            typos.append(w[:i] + w[i + 1] + w[i] + w[i + 2:])
    return queries, typos


def measure(app, engine, threads, queries, typos, pct):
    """One engine's figures: indexing, commit to searchable, queries, did you mean."""
    from werkzeug.datastructures import MultiDict

    from forum.extensions import db
    from forum.models import Thread, User
    from forum.threads import services
    from search.backend import get_backend
    from search.indexing import drain, rebuild
    from search.query import parse
    from search.service import params_from, search_threads

    figures = {}
    with app.app_context():
        t0 = time.perf_counter()
        count = rebuild()
        elapsed = time.perf_counter() - t0
        status = get_backend().status()
        figures["index"] = (count, elapsed, status["size_bytes"])
        print(f"  {engine}: indexed {count} posts in {elapsed:.1f} s", flush=True)

        rng = random.Random(5)
        latencies = []
        for i in range(20):
            thread = db.session.get(Thread, rng.randint(1, threads))
            author = db.session.get(User, rng.randint(1, 1000))
            word = f"benchmarkwoord{i}x{time.time_ns() % 10**12}"
            services.create_reply(author, thread, f"Nieuwe reactie met {word} over armoede.")
            committed = time.perf_counter()
            drain()
            with app.test_request_context("/nl/search"):
                outcome = search_threads(author, params_from(MultiDict({"q": word})))
            assert outcome.total == 1, (engine, outcome.total)
            latencies.append((time.perf_counter() - committed) * 1000)
        figures["commit"] = latencies

    with app.test_request_context("/nl/search"):
        backend = get_backend()
        for warm in ("armoede", "pauvreté"):
            search_threads(None, params_from(MultiDict({"q": warm})))
        figures["queries"] = {}
        for name, batch in queries.items():
            app_times, bare_times, hits = [], [], []
            for q_args in batch:
                params = params_from(MultiDict(q_args))
                t = time.perf_counter()
                outcome = search_threads(None, params)
                app_times.append((time.perf_counter() - t) * 1000)
                hits.append(outcome.total)
                parsed = parse(params.q)
                if engine == "whoosh":
                    searcher = backend.bare_searcher()
                    q, _covering = backend.build_query(parsed, searcher, [])
                    t = time.perf_counter()
                    if q is not None:
                        searcher.search(q, limit=10)
                else:
                    t = time.perf_counter()
                    backend.top_posts(parsed, limit=10)
                bare_times.append((time.perf_counter() - t) * 1000)
            figures["queries"][name] = (app_times, bare_times, hits)
        times = []
        for typo in typos:
            t = time.perf_counter()
            backend.suggest([typo])
            times.append((time.perf_counter() - t) * 1000)
        figures["suggest"] = times
    return figures


def compare(args, populate, pct, ranks):
    """bench/search.py --backend postgres: both engines, one database, side by side."""
    from sqlalchemy import text

    from forum import create_app
    from forum.extensions import db
    from forum.models import Theme

    url = args.database_url or DEFAULT_URL
    empty_database(url)
    folder = args.keep or tempfile.mkdtemp(prefix="agora-bench-pg-")
    if args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    base = {"INSTANCE_PATH": folder, "SECRET_KEY": "bench", "TESTING": False, "RATELIMIT_ENABLED": False,
            "PREMODERATE_FIRST_POSTS": 0, "SQLALCHEMY_DATABASE_URI": url}
    apps = {engine: create_app(dict(base, SEARCH_BACKEND=engine)) for engine, _label in ENGINES}
    print(f"Agora search benchmark, Whoosh and PostgreSQL side by side: {args.posts} posts in "
          f"{url.rsplit('@', 1)[-1]}, Whoosh index in {folder}")
    t0 = time.perf_counter()
    maker, threads = populate(apps["whoosh"], args.posts)
    app = apps["whoosh"]
    with app.app_context():
        # populate() gives threads explicit ids; PostgreSQL's sequence must follow.
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('thread', 'id'), max(id)) FROM thread"))
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        theme_slugs = [t.slug for t in db.session.scalars(db.select(Theme))]
        server = db.session.scalar(text("SHOW server_version"))
    print(f"  generated {threads} threads / {args.posts} posts in {time.perf_counter() - t0:.1f} s "
          f"(PostgreSQL {server})")
    queries, typos = make_queries(maker, theme_slugs, args.queries, ranks)
    results = {}
    for engine, _label in ENGINES:
        results[engine] = measure(apps[engine], engine, threads, queries, typos, pct)
    report(results, args, pct, ranks)
    for engine_app in apps.values():
        with engine_app.app_context():
            db.engine.dispose()
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def report(results, args, pct, ranks):
    w, p = results["whoosh"], results["postgres"]
    print(f"\n{'':<34} {'Whoosh':>18} {'PostgreSQL':>18}")
    (wc, we, ws), (pc, pe, ps) = w["index"], p["index"]
    print(f"{'Bulk indexing (search reindex)':<34} {wc / we:>12.0f} p/s {pc / pe:>12.0f} p/s")
    print(f"{'  time':<34} {we:>16.1f} s {pe:>16.1f} s")
    print(f"{'  index size':<34} {ws / 1048576:>14.0f} MiB {ps / 1048576:>14.0f} MiB")
    for label, key in (("Commit to searchable, median", 50), ("Commit to searchable, p95", 95)):
        wv = statistics.median(w["commit"]) if key == 50 else pct(w["commit"], 95)
        pv = statistics.median(p["commit"]) if key == 50 else pct(p["commit"], 95)
        print(f"{label:<34} {wv:>15.0f} ms {pv:>15.0f} ms")
    low, high = ranks
    print(f"\nQueries ({args.queries} per category, the same queries for both, anonymous reader, words of "
          f"frequency rank {low}-{high}; app = search_threads with permission filter, facets, grouping per "
          "thread, database check, snippets; bare = the engine's own top 10 posts for the same query)")
    print(f"{'':<13} {'Whoosh app':>17} {'bare':>15} {'PostgreSQL app':>17} {'bare':>15} {'threads':>9}")
    print(f"{'category':<13} {'median':>8} {'p95':>8} {'median':>7} {'p95':>7} {'median':>8} {'p95':>8} "
          f"{'median':>7} {'p95':>7} {'W / PG':>9}")
    for name in w["queries"]:
        wa, wb, wh = w["queries"][name]
        pa, pb, ph = p["queries"][name]
        print(f"{name:<13} {statistics.median(wa):>8.1f} {pct(wa, 95):>8.1f} {statistics.median(wb):>7.1f} "
              f"{pct(wb, 95):>7.1f} {statistics.median(pa):>8.1f} {pct(pa, 95):>8.1f} "
              f"{statistics.median(pb):>7.1f} {pct(pb, 95):>7.1f} "
              f"{statistics.median(wh):>4.0f}/{statistics.median(ph):<4.0f}")
    print("(milliseconds)")
    if w["suggest"]:
        print(f"\n'Did you mean' lookup: Whoosh median {statistics.median(w['suggest']):.1f} ms, "
              f"p95 {pct(w['suggest'], 95):.1f} ms; PostgreSQL median {statistics.median(p['suggest']):.1f} ms, "
              f"p95 {pct(p['suggest'], 95):.1f} ms")
