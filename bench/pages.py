"""Benchmark: the main forum pages of a realistic forum under gunicorn, next to a static file.

    .venv/bin/python bench/pages.py                       # 2,500 members, 20,000 threads, 200,000 posts
    .venv/bin/python bench/pages.py --threads 5000 --posts 50000   # a quick run
    .venv/bin/python bench/pages.py --database-url postgresql+psycopg://agora:agora@127.0.0.1:5432/agora_bench
    .venv/bin/python bench/pages.py --profile thread     # cProfile of one page in-process, then stop
    .venv/bin/python bench/pages.py --data /tmp/forum --only thread   # keep/reuse the data, one page

Generates a forum with bulk inserts into a fresh instance folder (SQLite), serves it with
gunicorn (2 workers) on 127.0.0.1, signs in as a member and loads, in interleaved rounds,
the latest-activity page, a theme page, a thread page of a 100-post thread (first page of
replies), the upcoming-events page (with --events, 5,000 by default: bench/events_data.py),
and a static file served by the same server, as a signed-in member and as an
anonymous reader (the theme and the thread are in a public theme). Prints median and p95
latency and requests/s per page, each page's median as a multiple of the static file's, so the
figures read as ratios on any machine, and the in-process time of one request (Flask test
client, no HTTP, no queueing): from the page kept by forum/pagecache.py, and "rendered" with
that cache off (what a request pays after a change to what the page shows). With --database-url the forum lives in that (emptied!)
PostgreSQL database instead of SQLite.
"""
import argparse
import cProfile
import hashlib
import json
import pstats
import statistics
import http.client
import os
import random
import re
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
# The project first: bench/search.py must not shadow the search package. bench/ itself is
# on the path already (the script's folder), for loadclient.
sys.path.insert(0, str(ROOT))
from loadclient import HOST, free_port, load, start_gunicorn, stop, summarise, warm_up  # noqa: E402

from benchapp import bench_app  # noqa: E402 (bench/benchapp.py)

PASSWORD = "Bench-wachtwoord-2026"
NL_SUBJECTS = ["armoedebeleid", "schuldhulpverlening", "mantelzorg", "de Wmo", "jeugdzorg",
               "de bijstand", "participatie", "eenzaamheid", "de voedselbank", "vervoer op maat"]
FR_SUBJECTS = ["la pauvreté", "la médiation de dettes", "les aidants proches", "le CPAS",
               "le logement social", "les bénévoles", "la participation", "la solitude"]
NL_BODIES = [
    "Onze raad heeft de gemeente gevraagd om {s} beter af te stemmen op wat inwoners echt nodig hebben. "
    "We hebben gesprekken gevoerd met **vrijwilligers** en het wijkteam.\n\n- wat werkte\n- wat niet\n\n"
    "Heeft iemand ervaring met een aanpak die het verschil maakte?",
    "Bij ons is {s} dit jaar een vast agendapunt. De wethouder reageerde positief op ons ongevraagd advies; "
    "we delen graag de tekst met andere raden.",
    "Goede vraag. In onze gemeente loopt een pilot rond {s}; de eerste resultaten zijn bemoedigend, "
    "vooral voor gezinnen met een laag inkomen.",
]
FR_BODIES = [
    "Notre conseil a interpellé la commune sur {s}. Nous avons rencontré des **bénévoles** et le CPAS.\n\n"
    "- ce qui a fonctionné\n- ce qui reste difficile\n\nQuelqu'un a-t-il une expérience similaire ?",
    "Chez nous, {s} est à l'ordre du jour de chaque réunion. L'échevin a bien accueilli notre avis.",
]


def populate(folder, members, threads, posts, seed=7, database_url=None):
    """Bulk-insert a forum; returns (public theme slug, id of the 100-post thread in it)."""
    from forum.admin.themes import ensure_default_themes
    from forum.extensions import db
    from forum.markup import render_markdown
    from forum.models import Organisation, Post, Theme, Thread, User, utcnow

    rng = random.Random(seed)
    app = bench_app(folder, database_url)
    with app.app_context():
        if database_url:
            db.drop_all()
        db.create_all()
        ensure_default_themes()
        db.session.commit()
        themes = db.session.scalars(db.select(Theme).order_by(Theme.position)).all()
        # The measured theme and thread are public, so an anonymous reader sees them too.
        public = next(t for t in themes if t.visibility == "public")
        now = utcnow()
        orgs = [dict(name=f"Adviesraad Sociaal Domein Gemeente {i}", slug=f"adviesraad-{i}",
                     municipality=f"Gemeente {i}", province="NL-UT" if i % 4 else "BE-VAN", country="NL" if i % 4 else "BE",
                     language="nl" if i % 5 else "fr", membership_status="active",
                     created_at=now, updated_at=now) for i in range(max(1, members // 10))]
        db.session.execute(db.insert(Organisation), orgs)
        org_ids = db.session.scalars(db.select(Organisation.id)).all()
        probe = User(email="x@x", name="x")
        probe.set_password(PASSWORD)
        users = [dict(email=f"lid{i}@bench.example", name=f"Lid {i}", password_hash=probe.password_hash,
                      locale="nl" if i % 5 else "fr", role="member", status="active",
                      organisation_id=org_ids[i % len(org_ids)], session_token=f"t{i}",
                      notify_mode="never", bio="", sanction_reason="", created_at=now, updated_at=now)
                 for i in range(members)]
        db.session.execute(db.insert(User), users)
        user_ids = db.session.scalars(db.select(User.id).order_by(User.id)).all()
        bodies = {lang: [str(render_markdown(b.format(s=s))) for b in tpl for s in subj]
                  for lang, tpl, subj in (("nl", NL_BODIES, NL_SUBJECTS), ("fr", FR_BODIES, FR_SUBJECTS))}

        # Posts per thread: the first thread has exactly 100, the rest share the remainder.
        counts = [100] + [1] * (threads - 1)
        for _ in range(max(0, posts - sum(counts))):
            counts[rng.randrange(1, threads)] += 1
        thread_rows, post_rows = [], []
        kinds = ["question", "question", "practice", "initiative", "discussion", "vacancy"]
        for t in range(threads):
            lang = "nl" if rng.random() < 0.7 else "fr"
            start = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 700))
            author = rng.choice(user_ids)
            subject = rng.choice(NL_SUBJECTS if lang == "nl" else FR_SUBJECTS)
            title = (f"Hoe pakt uw raad {subject} aan?" if lang == "nl" else f"Comment votre conseil aborde-t-il {subject} ?")
            last = start + timedelta(minutes=counts[t] * 7)
            thread_rows.append(dict(
                id=t + 1, theme_id=public.id if t == 0 else themes[t % len(themes)].id, kind=kinds[t % len(kinds)], title=title,
                language=lang, author_id=author, organisation_id=org_ids[author % len(org_ids)],
                status="visible", municipality="", province="", closed=False, fields={}, locked=False,
                pinned="", last_post_at=last, post_count=counts[t], thanks_count=0,
                created_at=start, updated_at=last))
            for n in range(counts[t]):
                body = rng.choice(bodies[lang])
                post_rows.append(dict(
                    thread_id=t + 1, author_id=author if n == 0 else rng.choice(user_ids), number=n + 1,
                    body_source=body, body_html=body, status="visible", hidden_reason="", edit_count=0,
                    thanks_count=rng.choice((0, 0, 0, 1, 2)), created_at=start + timedelta(minutes=7 * n),
                    updated_at=start + timedelta(minutes=7 * n)))
            if len(post_rows) >= 20000:
                db.session.execute(db.insert(Thread), thread_rows)
                db.session.execute(db.insert(Post), post_rows)
                thread_rows, post_rows = [], []
        if thread_rows:
            db.session.execute(db.insert(Thread), thread_rows)
        if post_rows:
            db.session.execute(db.insert(Post), post_rows)
        db.session.commit()
        if database_url:  # explicit ids leave the sequences behind
            for table in ("thread", "post", '"user"', "organisation"):
                db.session.execute(db.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        slug = public.slug
        db.engine.dispose()
    return slug, 1


def _data_key(options):
    """What the kept data depends on: the sizes, the database and the models (schema)."""
    models = (ROOT / "forum" / "models.py").read_bytes()
    return {"members": options.members, "threads": options.threads, "posts": options.posts,
            "events": options.events, "advices": options.advices, "database_url": options.database_url, "models": hashlib.blake2b(models, digest_size=8).hexdigest()}


def prepared(folder, options):
    """(theme slug, thread id) of a forum in `folder`: kept from an earlier run with --data
    when that run had the same sizes and models, generated otherwise."""
    marker = folder / "bench-pages.json"
    key = _data_key(options)
    if options.data and marker.exists():
        kept = json.loads(marker.read_text())
        if kept.get("key") == key:
            return kept["slug"], kept["thread_id"]
    if options.data:
        shutil.rmtree(folder / "instance", ignore_errors=True)
        marker.unlink(missing_ok=True)
    slug, thread_id = populate(folder, options.members, options.threads, options.posts,
                               database_url=options.database_url)
    from events_data import populate_events  # bench/events_data.py

    populate_events(folder, options.events, database_url=options.database_url)
    from advice import add_to_forum  # bench/advice.py: every row through advice_columns

    add_to_forum(folder, options.advices, database_url=options.database_url)
    if options.data:
        marker.write_text(json.dumps({"key": key, "slug": slug, "thread_id": thread_id}))
    return slug, thread_id


def sign_in(port, email):
    """A member's session cookie, obtained through the real login form."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", "/nl/login")
    response = conn.getresponse()
    html = response.read().decode()
    cookie = "; ".join(c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie"))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    body = urlencode({"csrf_token": token, "email": email, "password": PASSWORD})
    conn.request("POST", "/nl/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"sign-in failed with {response.status}")
    cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie")]
    return "; ".join(c for c in cookies if c.startswith("session="))


def _client_sign_in(client, email):
    html = client.get("/nl/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/nl/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"in-process sign-in failed with {response.status_code}")


def in_process(folder, pages, database_url=None, repeat=20, profile=None):
    """Median CPU ms of one request per (page, reader) through the Flask test client.

    CPU time of this process (time.process_time), not wall time: on a machine shared with
    other jobs, wall time mostly measures how long we waited for a core.
    """

    app = bench_app(folder, database_url)
    results = {}
    for reader in ("member", "anonymous"):
        client = app.test_client()
        if reader == "member":
            _client_sign_in(client, "lid2@bench.example")
        for name, path in pages:
            for _ in range(3):  # warm: read markers written, caches filled
                assert client.get(path).status_code == 200, (reader, path)
            if profile and (profile == "all" or profile in name):
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(repeat):
                    client.get(path)
                profiler.disable()
                print(f"\n--- cProfile: {name}, {reader}, {repeat} requests ---")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
            timings = {}
            # Kept pages (forum/pagecache.py), then every request rendering its page: a page
            # is rendered again after each change to what it shows.
            for kept in (True, False):
                app.config["PAGE_CACHE"] = kept
                times = []
                for _ in range(repeat):
                    started = time.process_time()
                    client.get(path)
                    times.append(time.process_time() - started)
                timings[kept] = statistics.median(times) * 1000
            app.config["PAGE_CACHE"] = True
            results[(name, reader)] = (timings[True], timings[False])
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2500)
    parser.add_argument("--threads", type=int, default=20000)
    parser.add_argument("--posts", type=int, default=200000)
    parser.add_argument("--events", type=int, default=5000, help="events (the upcoming-events page)")
    parser.add_argument("--advices", type=int, default=10000, help="advices (the advice register)")
    # 2 s a page: eleven pages (five forum pages for two readers and the static file) keep
    # the quick run (--threads 5000 --posts 50000) under a minute with its generation; a page
    # still gets 200-300 requests in three rounds, enough for a steady median and p95.
    parser.add_argument("--seconds", type=float, default=2.0, help="per page (upper bound)")
    parser.add_argument("--requests", type=int, default=3000, help="per page (upper bound)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL database to fill (its tables are dropped first)")
    parser.add_argument("--profile", default="",
                        help="print a cProfile of the pages whose name contains this ('all' for "
                             "every page, 'none' for in-process figures only), then stop")
    parser.add_argument("--data", default="",
                        help="keep the generated forum in this folder and reuse it on the next run "
                             "with the same sizes (regenerated when forum/models.py changed)")
    parser.add_argument("--only", default="",
                        help="measure only the pages whose name contains this (the static file "
                             "is always measured)")
    options = parser.parse_args()

    if options.data:
        folder = Path(options.data).resolve()
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="agora-bench-pages-"))
    env = dict(os.environ)
    env.update({"AGORA_INSTANCE_PATH": str(folder / "instance"), "AGORA_SECRET_KEY": "bench-only",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))})
    if options.database_url:
        env["AGORA_DATABASE_URL"] = options.database_url
    os.environ.update({k: env[k] for k in ("AGORA_INSTANCE_PATH", "AGORA_SECRET_KEY")})
    server = None
    try:
        started = time.monotonic()
        theme_slug, thread_id = prepared(folder, options)
        generated = time.monotonic() - started
        forum_pages = [
            ("latest activity", "/nl/latest"),
            ("theme page", f"/nl/themes/{theme_slug}"),
            ("thread, 100 posts", f"/nl/t/{thread_id}"),
            ("upcoming events", "/nl/events"),
            ("advice register", "/nl/advice"),
        ]
        forum_pages = [(name, path) for name, path in forum_pages if options.only in name]
        inproc = in_process(folder, forum_pages, options.database_url, profile=options.profile)
        if options.profile:  # in-process only: print those figures and stop
            for (name, reader), (ms, rendered) in inproc.items():
                print(f"{name:<20}{reader:<11}{ms:>8.1f} ms in-process ({rendered:.1f} ms rendered)")
            return 0
        shutil.copy(ROOT / "wsgi.py", folder / "wsgi.py")
        port = free_port()
        server = start_gunicorn(folder, "wsgi:app", port, env)
        member = {"Cookie": sign_in(port, "lid1@bench.example")}
        pages = [(name, "member", path, member) for name, path in forum_pages]
        pages += [(name, "anonymous", path, {}) for name, path in forum_pages]
        pages.append(("static file", "", "/static/agora.css", {}))
        for _name, _reader, path, headers in pages:
            warm_up(port, path, headers, 200)
        totals = {(name, reader): ([], 0, 0.0) for name, reader, _, _ in pages}
        for _round in range(options.rounds):
            for name, reader, path, headers in pages:
                lat, err, elapsed = load(port, path, headers, options.seconds / options.rounds,
                                         options.requests // options.rounds, options.concurrency)
                prev = totals[(name, reader)]
                totals[(name, reader)] = (prev[0] + lat, prev[1] + err, prev[2] + elapsed)
        rows = [((name, reader), summarise(*totals[(name, reader)])) for name, reader, _, _ in pages]
    finally:
        if server is not None:
            stop(server)
        if not options.data:
            shutil.rmtree(folder, ignore_errors=True)

    database = "PostgreSQL" if options.database_url else "SQLite"
    print(f"\nForum: {options.members} members, {options.threads} threads, {options.posts} posts "
          f"({database}, generated in {generated:.0f} s); gunicorn 2 sync workers on {HOST}, "
          f"{options.concurrency} connections, {options.rounds} interleaved rounds; {os.cpu_count()} CPUs "
          f"shared by server and client; 'in-process' is the CPU time of one request through the Flask test client, "
          f"'rendered' the same with the page cache off\n")
    static = dict(rows)[("static file", "")]["median_ms"]
    print(f"{'page':<20}{'reader':<11}{'requests':>9}{'errors':>8}{'req/s':>8}{'median ms':>11}{'p95 ms':>9}"
          f"{'x static':>10}{'in-process ms':>15}{'rendered ms':>13}")  # CPU ms, see in_process()
    for (name, reader), r in rows:
        own, rendered = inproc.get((name, reader), (None, None))
        print(f"{name:<20}{reader:<11}{r['requests']:>9}{r['errors']:>8}{r['rps']:>8.0f}{r['median_ms']:>11.1f}"
              f"{r['p95_ms']:>9.1f}{r['median_ms'] / static:>10.1f}{'' if own is None else f'{own:.1f}':>15}"
              f"{'' if rendered is None else f'{rendered:.1f}':>13}")
    return 1 if any(r["errors"] for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
