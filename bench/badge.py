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
import http.client
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
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


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


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
            municipality="Sneek", province="Friesland", country="NL", language="nl",
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


def start_gunicorn(folder, target, port, env):
    cmd = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"{HOST}:{port}",
           "--chdir", str(folder), "--log-level", "warning", target]
    proc = subprocess.Popen(cmd, env=env, cwd=str(folder), start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn for {target} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"gunicorn for {target} did not start")


def stop(proc):
    """Stop the gunicorn master we started (it stops its workers), by its own pid."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _client_process(args):
    """One load process: `threads` threads, each with its own keep-alive connection."""
    port, path, headers, threads, deadline, budget, expect = args
    latencies, errors, lock = [], [0], threading.Lock()
    remaining = [budget]

    def worker():
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine = []
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == expect
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            mine.append(time.perf_counter() - start)
            if not ok:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, errors[0]


def warm_up(port, path, headers, expect):
    """Connections, each worker's first lookups and its in-memory cache."""
    _client_process((port, path, headers, 2, time.monotonic() + 5, 200, expect))


def load(port, path, headers, seconds, requests, concurrency, expect=200):
    """One bounded burst against one URL: latencies, errors and the wall time it took."""
    processes = max(1, min(2, concurrency))
    threads = max(1, concurrency // processes)
    started = time.monotonic()
    deadline = started + seconds
    jobs = [(port, path, headers, threads, deadline, max(1, requests // processes), expect)] * processes
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_client_process, jobs)
    return [x for lat, _ in results for x in lat], sum(e for _, e in results), time.monotonic() - started


def summarise(latencies, errors, elapsed):
    latencies = sorted(latencies)
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan")
    return {
        "requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": p95 * 1000,
    }


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
