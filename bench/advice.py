"""Benchmark: the advice register at 10,000 advices under gunicorn, next to a static file.

    .venv/bin/python bench/advice.py                  # 10,000 advices
    .venv/bin/python bench/advice.py --advices 2000   # a quick run

Bulk-inserts advices (with their opening posts) into a fresh SQLite instance, serves it with
gunicorn (2 workers), signs in as a member and loads, in interleaved rounds, the register,
the register filtered on status and year, its CSV of one year, and a static file. Prints
median and p95 per page and each median as a multiple of the static file's (the aim in
bench/pages.py: within 5x).
"""
import argparse
import os
import random
import shutil
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

# bench/search.py would hide the search package: the project's root comes first from here on.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "bench")]
sys.modules.pop("search", None)

STATUSES = ("awaiting", "adopted", "adopted", "partly", "not_adopted", "no_answer")
ADDRESSEES = ("college", "council", "college_communal", "cpas", "other")
PROVINCES = ("NL-UT", "NL-OV", "NL-NB", "NL-GR", "BE-VAN", "BE-VLI", "BE-WNA", "BE-WLG")


def populate(folder, advices, seed=11):
    from forum import create_app
    from forum.admin.themes import ensure_default_themes
    from forum.extensions import db
    from forum.models import Organisation, Post, Theme, Thread, User, utcnow

    rng = random.Random(seed)
    app = create_app({"INSTANCE_PATH": str(folder / "instance")})
    with app.app_context():
        db.create_all()
        ensure_default_themes()
        db.session.commit()
        themes = db.session.scalars(db.select(Theme)).all()
        now = utcnow()
        db.session.execute(db.insert(Organisation), [dict(
            name=f"Adviesraad {i}", slug=f"adviesraad-{i}", municipality=f"Gemeente {i}",
            province=PROVINCES[i % len(PROVINCES)], country=PROVINCES[i % len(PROVINCES)][:2],
            language="nl", membership_status="active", created_at=now, updated_at=now) for i in range(300)])
        org_ids = db.session.scalars(db.select(Organisation.id)).all()
        probe = User(email="x@x", name="x")
        probe.set_password(PASSWORD)
        db.session.execute(db.insert(User), [dict(
            email=f"lid{i}@bench.example", name=f"Lid {i}", password_hash=probe.password_hash, locale="nl",
            role="member", status="active", organisation_id=org_ids[i % len(org_ids)], session_token=f"t{i}",
            notify_mode="never", bio="", sanction_reason="", created_at=now, updated_at=now) for i in range(600)])
        user_ids = db.session.scalars(db.select(User.id).order_by(User.id)).all()
        threads, posts = [], []
        today = date.today()
        for t in range(advices):
            author = rng.choice(user_ids)
            org = (author - 1) % len(org_ids)
            sent = today - timedelta(days=rng.randrange(10, 365 * 8))
            status = rng.choice(STATUSES)
            lang = "nl" if rng.random() < 0.7 else "fr"
            created = now - timedelta(days=(today - sent).days)
            threads.append(dict(
                id=t + 1, theme_id=themes[t % len(themes)].id, kind="advice", title=f"Advies {t} over het minimabeleid",
                language=lang, author_id=author, organisation_id=org_ids[org], status="visible",
                municipality=f"Gemeente {org}", province=PROVINCES[org % len(PROVINCES)], closed=False,
                fields={"requested": rng.random() < 0.5, "sent_on": sent.isoformat(),
                        "addressee": rng.choice(ADDRESSEES), "summary": "Verhoog de inkomensgrens en vereenvoudig de aanvraag.",
                        "answer_status": status, "answered_on": "" if status == "awaiting" else sent.isoformat(),
                        "follow_up": ""},
                locked=False, pinned="", last_post_at=created, post_count=1, thanks_count=0,
                created_at=created, updated_at=created))
            posts.append(dict(thread_id=t + 1, author_id=author, number=1, body_source="Zie de bijlage.",
                              body_html="<p>Zie de bijlage.</p>", status="visible", hidden_reason="", edit_count=0,
                              thanks_count=0, created_at=created, updated_at=created))
        db.session.execute(db.insert(Thread), threads)
        db.session.execute(db.insert(Post), posts)
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advices", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=6.0, help="per page (upper bound)")
    parser.add_argument("--requests", type=int, default=1000, help="per page (upper bound)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="agora-bench-advice-"))
    env = dict(os.environ)
    env.update({"AGORA_INSTANCE_PATH": str(folder / "instance"), "AGORA_SECRET_KEY": "bench-only",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))})
    os.environ.update({k: env[k] for k in ("AGORA_INSTANCE_PATH", "AGORA_SECRET_KEY")})
    server = None
    year = date.today().year - 2
    try:
        started = time.monotonic()
        populate(folder, options.advices)
        generated = time.monotonic() - started
        shutil.copy(ROOT / "wsgi.py", folder / "wsgi.py")
        port = free_port()
        server = start_gunicorn(folder, "wsgi:app", port, env)
        headers = {"Cookie": sign_in(port, "lid1@bench.example")}
        pages = [
            ("register", "/nl/advice"),
            ("register, filtered", f"/nl/advice?status=adopted&year={year}"),
            ("CSV of one year", f"/nl/advice.csv?year={year}"),
            ("static file", "/static/agora.css"),
        ]
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

    print(f"\nAdvice register: {options.advices} advices (generated in {generated:.0f} s); gunicorn 2 sync "
          f"workers on {HOST}, signed-in member, {options.concurrency} connections, {options.rounds} rounds; "
          f"{os.cpu_count()} CPUs shared by server and client\n")
    static = dict(rows)["static file"]["median_ms"]
    print(f"{'page':<20}{'requests':>9}{'errors':>8}{'req/s':>8}{'median ms':>11}{'p95 ms':>9}{'x static':>10}")
    for name, r in rows:
        print(f"{name:<20}{r['requests']:>9}{r['errors']:>8}{r['rps']:>8.0f}{r['median_ms']:>11.1f}"
              f"{r['p95_ms']:>9.1f}{r['median_ms'] / static:>10.1f}")
    return 1 if any(r["errors"] for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
