"""Benchmark: badge responses under gunicorn (2 workers) next to a static file and a bare WSGI callable.

    .venv/bin/python bench/badge.py [--seconds 3] [--requests 20000] [--concurrency 4] [--rounds 3]

Creates a throw-away instance folder (AGORA_INSTANCE_PATH) with a database made by
create_all() and one member organisation, serves the app and a bare WSGI callable with
gunicorn on 127.0.0.1, loads each URL for a bounded time and number of requests with a
Python client (processes x threads, http.client), prints a table, then stops the servers
and removes the folder. Targets: a cached badge is at least as fast as a static file of
the same size served by the app's own static route, and at least half as fast as the bare
callable returning the same bytes (the ceiling of gunicorn + this client on this machine).
"""
import argparse
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadclient import HOST, free_port, load, start_gunicorn, stop, summarise, warm_up  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SLUG = "adviesraad-sociaal-domein-bench"

WSGI_MODULE = textwrap.dedent('''
    """gunicorn entry points for bench/badge.py: the Agora app, and a bare callable."""
    import os

    from forum import create_app

    app = create_app()
    # The app's own static route and view (send_static_file), pointed at the bench's file.
    app.static_folder = os.environ["BENCH_STATIC"]

    with open(os.environ["BENCH_BODY"], "rb") as f:
        BODY = f.read()
    HEADERS = [("Content-Type", "image/svg+xml"), ("Content-Length", str(len(BODY)))]


    def bare(environ, start_response):
        start_response("200 OK", HEADERS)
        return [BODY]
''')


def prepare(folder):
    """Instance folder with a database and one member; warm the badge's disk cache."""
    from datetime import date

    from forum import create_app
    from forum.extensions import db
    from forum.models import Organisation

    app = create_app({"INSTANCE_PATH": str(folder / "instance")})
    with app.app_context():
        db.create_all()
        db.session.add(Organisation(
            name="Adviesraad Sociaal Domein Súdwest-Fryslân & Waadhoeke", slug=SLUG,
            municipality="Sneek", province="NL-FR", country="NL", language="nl",
            membership_status="active", member_since=date(2019, 1, 1),
        ))
        db.session.commit()
    client = app.test_client()
    svg = client.get(f"/badge/{SLUG}.svg?lang=nl&style=compact&theme=light")
    png = client.get(f"/badge/{SLUG}.png?lang=nl&style=compact&theme=light&scale=2")
    assert svg.status_code == png.status_code == 200
    static = folder / "static"
    static.mkdir()
    (static / "same-size.svg").write_bytes(svg.data)  # same bytes, same size
    (folder / "body.svg").write_bytes(svg.data)
    (folder / "bench_wsgi.py").write_text(WSGI_MODULE)
    with app.app_context():
        db.engine.dispose()
    return svg.headers["ETag"], len(svg.data), len(png.data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per scenario (upper bound)")
    parser.add_argument("--requests", type=int, default=20000, help="per scenario (upper bound)")
    parser.add_argument("--concurrency", type=int, default=4, help="client connections in flight")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per scenario")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="agora-bench-badge-"))
    env = dict(os.environ)
    env.update({
        "AGORA_INSTANCE_PATH": str(folder / "instance"), "AGORA_SECRET_KEY": "bench-only",
        "BENCH_STATIC": str(folder / "static"), "BENCH_BODY": str(folder / "body.svg"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), str(folder), env.get("PYTHONPATH")])),
    })
    os.environ.update({k: env[k] for k in ("AGORA_INSTANCE_PATH", "AGORA_SECRET_KEY")})
    servers = []
    try:
        etag, svg_size, png_size = prepare(folder)
        app_port, bare_port = free_port(), free_port()
        servers.append(start_gunicorn(folder, "bench_wsgi:app", app_port, env))
        servers.append(start_gunicorn(folder, "bench_wsgi:bare", bare_port, env))
        query = "lang=nl&style=compact&theme=light"
        scenarios = [
            ("badge SVG", app_port, f"/badge/{SLUG}.svg?{query}", {}, 200, svg_size),
            ("badge PNG 2x", app_port, f"/badge/{SLUG}.png?{query}&scale=2", {}, 200, png_size),
            ("badge SVG 304", app_port, f"/badge/{SLUG}.svg?{query}", {"If-None-Match": etag}, 304, 0),
            ("static file (app)", app_port, "/static/same-size.svg", {}, 200, svg_size),
            ("bare WSGI (ceiling)", bare_port, "/", {}, 200, svg_size),
        ]
        for _name, port, path, headers, expect, _size in scenarios:
            warm_up(port, path, headers, expect)
        # Interleaved rounds: a burst of background load on a shared machine then hits
        # every scenario alike instead of skewing one of them.
        totals = {name: ([], 0, 0.0) for name, *_ in scenarios}
        for _round in range(options.rounds):
            for name, port, path, headers, expect, _size in scenarios:
                lat, err, elapsed = load(port, path, headers, options.seconds / options.rounds,
                                         options.requests // options.rounds, options.concurrency, expect)
                prev = totals[name]
                totals[name] = (prev[0] + lat, prev[1] + err, prev[2] + elapsed)
        rows = [(name, size, summarise(*totals[name])) for name, _p, _path, _h, _e, size in scenarios]
    finally:
        for proc in servers:
            stop(proc)
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)

    print(f"\ngunicorn 2 sync workers on {HOST}; client: Python http.client, {options.concurrency} "
          f"connections; each scenario ≤ {options.seconds:g} s and ≤ {options.requests} requests "
          f"in {options.rounds} interleaved rounds; "
          f"{os.cpu_count()} CPUs shared by server and client\n")
    print(f"{'scenario':<22}{'bytes':>7}{'requests':>10}{'errors':>8}{'req/s':>9}{'median ms':>11}{'p95 ms':>9}")
    for name, size, r in rows:
        print(f"{name:<22}{size:>7}{r['requests']:>10}{r['errors']:>8}{r['rps']:>9.0f}"
              f"{r['median_ms']:>11.2f}{r['p95_ms']:>9.2f}")
    by_name = {name: r for name, _, r in rows}
    badge, static, bare = by_name["badge SVG"]["rps"], by_name["static file (app)"]["rps"], by_name["bare WSGI (ceiling)"]["rps"]
    print()
    print(f"badge SVG / static file : {badge / static:.2f}  (target ≥ 1.0, within noise)")
    print(f"badge SVG / bare WSGI   : {badge / bare:.2f}  (target ≥ 0.5)")
    if any(r["errors"] for _, _, r in rows):
        print("WARNING: some requests failed or had an unexpected status")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
