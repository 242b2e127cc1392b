"""Benchmark: the advice register at 10,000 advices under gunicorn, next to a static file.

    .venv/bin/python bench/advice.py                  # 10,000 advices
    .venv/bin/python bench/advice.py --advices 2000   # a quick run
    .venv/bin/python bench/advice.py --database-url postgresql+psycopg://agora:agora@127.0.0.1:5432/agora_bench_advice

Bulk-inserts advices (with their opening posts; insert_advice, which bench/pages.py can call
to add the register to its own forum) into a fresh SQLite instance, serves it with
gunicorn (2 workers), signs in as a member and loads, in interleaved rounds, the register,
the register filtered on status and year, its CSV of one year, and a static file. Prints
median and p95 per page and each median as a multiple of the static file's (the aim in
bench/pages.py: within 5x), with the CPU time of one request in-process, warm and first
(the first fills the facet counts of its filter set).
"""
import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadclient import HOST, free_port, load, start_gunicorn, stop, summarise, warm_up  # noqa: E402
from pages import PASSWORD, sign_in  # noqa: E402

from benchapp import bench_app  # bench/benchapp.py

# bench/search.py would hide the search package: the project's root comes first from here on.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "bench")]
sys.modules.pop("search", None)

STATUSES = ("awaiting", "adopted", "adopted", "partly", "not_adopted", "no_answer")
ADDRESSEES = ("college", "council", "college_communal", "cpas", "other")
PROVINCES = ("NL-UT", "NL-OV", "NL-NB", "NL-GR", "BE-VAN", "BE-VLI", "BE-WNA", "BE-WLG")


def insert_advice(count, authors, theme_ids, rng, municipalities=None):
    """Bulk-insert `count` advices with their opening posts into the current app's database,
    next to whatever is there (bench/pages.py may call it to put the register in its run):
    `authors` is a list of (user id, organisation id), `municipalities` maps an organisation
    id to (municipality, province). Ids come from the database (RETURNING), so it works on
    SQLite and PostgreSQL alike. Every row goes through advice_columns (a bulk insert skips
    the ORM hooks that keep the register's columns)."""
    from forum.extensions import db
    from forum.models import Post, Thread, advice_columns, utcnow

    now, today = utcnow(), date.today()
    for start in range(0, count, 2000):
        threads = []
        for t in range(start, min(start + 2000, count)):
            author, org = rng.choice(authors)
            municipality, province = (municipalities or {}).get(org) or (f"Gemeente {org}", PROVINCES[org % len(PROVINCES)])
            sent = today - timedelta(days=rng.randrange(10, 365 * 8))
            status = rng.choice(STATUSES)
            created = now - timedelta(days=(today - sent).days)
            fields = {"requested": rng.random() < 0.5, "sent_on": sent.isoformat(),
                      "addressee": rng.choice(ADDRESSEES), "summary": "Verhoog de inkomensgrens en vereenvoudig de aanvraag.",
                      "answer_status": status, "answered_on": "" if status == "awaiting" else sent.isoformat(),
                      "follow_up": ""}
            threads.append(dict(
                theme_id=theme_ids[t % len(theme_ids)], kind="advice", title=f"Advies {t} over het minimabeleid",
                language="nl" if rng.random() < 0.7 else "fr", author_id=author, organisation_id=org,
                status="visible", municipality=municipality, province=province, closed=False, fields=fields,
                locked=False, pinned="", last_post_at=created, post_count=1, thanks_count=0,
                created_at=created, updated_at=created, **advice_columns("advice", fields)))
        ids = db.session.scalars(db.insert(Thread).returning(Thread.id, sort_by_parameter_order=True), threads).all()
        db.session.execute(db.insert(Post), [dict(
            thread_id=thread_id, author_id=row["author_id"], number=1, body_source="Zie de bijlage.",
            body_html="<p>Zie de bijlage.</p>", status="visible", hidden_reason="", edit_count=0, thanks_count=0,
            created_at=row["created_at"], updated_at=row["created_at"]) for thread_id, row in zip(ids, threads)])
    db.session.commit()


def add_to_forum(folder, count, database_url=None, seed=11):
    """Put `count` advices into an existing bench forum (bench/pages.py), by its members."""
    from forum.extensions import db
    from forum.models import Theme, User

    app = bench_app(folder, database_url)
    with app.app_context():
        theme_ids = db.session.scalars(db.select(Theme.id)).all()
        authors = db.session.execute(db.select(User.id, User.organisation_id).where(
            User.organisation_id.is_not(None)).order_by(User.id).limit(600)).all()
        insert_advice(count, [tuple(a) for a in authors], theme_ids, random.Random(seed))
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()


def populate(folder, advices, seed=11, database_url=None):
    from forum.admin.themes import ensure_default_themes
    from forum.extensions import db
    from forum.models import Organisation, Theme, User, utcnow

    rng = random.Random(seed)
    app = bench_app(folder, database_url)
    with app.app_context():
        if database_url:
            db.drop_all()
        db.create_all()
        ensure_default_themes()
        db.session.commit()
        theme_ids = db.session.scalars(db.select(Theme.id)).all()
        now = utcnow()
        db.session.execute(db.insert(Organisation), [dict(
            name=f"Adviesraad {i}", slug=f"adviesraad-{i}", municipality=f"Gemeente {i}",
            province=PROVINCES[i % len(PROVINCES)], country=PROVINCES[i % len(PROVINCES)][:2],
            language="nl", membership_status="active", created_at=now, updated_at=now) for i in range(300)])
        org_ids = db.session.scalars(db.select(Organisation.id).order_by(Organisation.id)).all()
        probe = User(email="x@x", name="x")
        probe.set_password(PASSWORD)
        db.session.execute(db.insert(User), [dict(
            email=f"lid{i}@bench.example", name=f"Lid {i}", password_hash=probe.password_hash, locale="nl",
            role="member", status="active", organisation_id=org_ids[i % len(org_ids)], session_token=f"t{i}",
            notify_mode="never", bio="", sanction_reason="", created_at=now, updated_at=now) for i in range(600)])
        authors = db.session.execute(db.select(User.id, User.organisation_id).order_by(User.id)).all()
        insert_advice(advices, [tuple(a) for a in authors], theme_ids, rng)
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()


def in_process(folder, pages, repeat=30, database_url=None):
    """{page: (median CPU ms warm, CPU ms of the first request)} through the Flask test client,
    signed in. CPU time (time.process_time): on a shared machine wall time mostly measures the
    wait for a core. The first request of a page fills the per-worker facet counts."""

    app = bench_app(folder, database_url)
    client = app.test_client()
    page = client.get("/nl/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/nl/login", data={"csrf_token": token, "email": "lid2@bench.example", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    results = {}
    for name, path in pages:
        started = time.process_time()
        assert client.get(path).status_code == 200, path
        first = (time.process_time() - started) * 1000
        times = []
        for _ in range(repeat):
            started = time.process_time()
            client.get(path)
            times.append(time.process_time() - started)
        results[name] = (statistics.median(times) * 1000, first)
    with app.app_context():
        from forum.extensions import db

        db.engine.dispose()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advices", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=6.0, help="per page (upper bound)")
    parser.add_argument("--requests", type=int, default=1000, help="per page (upper bound)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="a PostgreSQL database to use instead of SQLite (emptied!)")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="agora-bench-advice-"))
    env = dict(os.environ)
    env.update({"AGORA_INSTANCE_PATH": str(folder / "instance"), "AGORA_SECRET_KEY": "bench-only",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))})
    if options.database_url:
        env["AGORA_DATABASE_URL"] = options.database_url
    os.environ.update({k: env[k] for k in ("AGORA_INSTANCE_PATH", "AGORA_SECRET_KEY")})
    server = None
    year = date.today().year - 2
    pages = [
        ("register", "/nl/advice"),
        ("register, filtered", f"/nl/advice?status=adopted&year={year}"),
        ("register, page 5", "/nl/advice?page=5&sort=old"),
        ("CSV of one year", f"/nl/advice.csv?year={year}"),
        ("static file", "/static/agora.css"),
    ]
    try:
        started = time.monotonic()
        populate(folder, options.advices, database_url=options.database_url)
        generated = time.monotonic() - started
        inproc = in_process(folder, pages, database_url=options.database_url)
        shutil.copy(ROOT / "wsgi.py", folder / "wsgi.py")
        port = free_port()
        server = start_gunicorn(folder, "wsgi:app", port, env)
        headers = {"Cookie": sign_in(port, "lid1@bench.example")}
        for _name, path in pages:
            warm_up(port, path, headers, 200)
        totals = {name: ([], 0, 0.0) for name, _ in pages}
        for _round in range(options.rounds):
            for name, path in pages:
                lat, err, elapsed = load(port, path, headers, options.seconds / options.rounds,
                                         options.requests // options.rounds, options.concurrency)
                prev = totals[name]
                totals[name] = (prev[0] + lat, prev[1] + err, prev[2] + elapsed)
        rows = [(name, summarise(*totals[name])) for name, _ in pages]
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(folder, ignore_errors=True)

    database = "PostgreSQL" if options.database_url else "SQLite"
    print(f"\nAdvice register: {options.advices} advices on {database} (generated in {generated:.0f} s); gunicorn 2 sync "
          f"workers on {HOST}, signed-in member, {options.concurrency} connections, {options.rounds} rounds; "
          f"{os.cpu_count()} CPUs shared by server and client\n")
    static = dict(rows)["static file"]["median_ms"]
    print(f"{'page':<20}{'requests':>9}{'errors':>8}{'req/s':>8}{'median ms':>11}{'p95 ms':>9}{'x static':>10}"
          f"{'in-process ms':>15}{'first request':>15}")  # CPU ms, see in_process()
    for name, r in rows:
        warm, first = inproc.get(name, (None, None))
        print(f"{name:<20}{r['requests']:>9}{r['errors']:>8}{r['rps']:>8.0f}{r['median_ms']:>11.1f}"
              f"{r['p95_ms']:>9.1f}{r['median_ms'] / static:>10.1f}"
              f"{'' if warm is None else f'{warm:.1f}':>15}{'' if first is None else f'{first:.1f}':>15}")
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return 1 if any(r["errors"] for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
