"""A small load client for the benchmarks: gunicorn on 127.0.0.1 and bounded keep-alive bursts.

Only ever targets 127.0.0.1. Each burst is bounded both in requests and in seconds.
"""
import http.client
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


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
