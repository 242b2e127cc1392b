"""A bounded load test on 127.0.0.1: gunicorn with 2 workers, N concurrent members reading
threads, listing, searching and posting for a fixed time.

No 5xx, no lost post: every acknowledged post (302) is in the database once and, after
`search sync`, found by search. Latencies (median, p95, max per kind of request) are
printed and written to artifacts/load.txt.

AGORA_LOAD_SECONDS (default 60) and AGORA_LOAD_CLIENTS (default 50) size the run.
"""
import json
import os
import random
import secrets
import statistics
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from tests.live import LiveServer

from . import support
from .conftest import golden_members, mail_env, site_from
from .webclient import WebClient

pytestmark = pytest.mark.slow  # `-m "e2e and not slow"` leaves the load and fault tests out
SECONDS = float(os.environ.get("AGORA_LOAD_SECONDS", "60"))
CLIENTS = int(os.environ.get("AGORA_LOAD_CLIENTS", "50"))
# What the members do, by weight.
MIX = (("thread", 45), ("list", 15), ("search", 20), ("post", 20))
QUERIES = ("gemeente", "adviesraad", "schulden", "vrijwilligers", "participatie", "jeugd", "wonen", "armoede",
           "mantelzorg", "bijstand", "conseil", "logement", "inwoners", "werving", "cliëntenraad")
# Posting limits are per member per minute; a member clicking every second or two would hit
# them, which is a different test (tests/test_moderation*.py). Here they are off.
OVERRIDES = {"RATELIMIT_ENABLED": False, "PREMODERATE_FIRST_POSTS": 0, "NEW_MEMBER_POSTS": 0}


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


@pytest.fixture(scope="module")
def load_server(tmp_path_factory, smtp_server, golden_site):
    instance = site_from(golden_site, tmp_path_factory.mktemp("load-instance"))
    server = LiveServer(instance, workers=2, app="tests.e2e.live_app:app", env={
        **mail_env(smtp_server), "AGORA_TEST_OVERRIDES": json.dumps(OVERRIDES)})
    server.members = golden_members(CLIENTS)
    if CLIENTS > len(server.members):
        server.members += support.create_members(server, CLIENTS - len(server.members), prefix="extra")
    server.start()
    yield server
    server.stop()


class Member(threading.Thread):
    """One signed-in member clicking around until the deadline."""

    def __init__(self, server, email, threads, deadline, results, seed):
        super().__init__(daemon=True)
        self.client = WebClient(server.url)
        self.email = email
        self.threads = threads
        self.deadline = deadline
        self.results = results
        self.random = random.Random(seed)

    def record(self, kind, answer=None, error=None):
        with self.results["lock"]:
            if error is not None:
                self.results["errors"].append(f"{kind}: {error!r}")
                return
            self.results["latency"][kind].append(answer.seconds)
            self.results["finished"].append((time.monotonic(), answer.seconds))
            self.results["status"][(kind, answer.status)] += 1
            if answer.status >= 500:
                self.results["errors"].append(f"{kind}: HTTP {answer.status}")

    def run(self):
        try:
            self.client.sign_in(self.email, support.MEMBER_PASSWORD)
        except Exception as exc:  # noqa: BLE001 - reported as an error of the run
            self.record("sign-in", error=exc)
            return
        kinds = [k for k, w in MIX for _ in range(w)]
        n = 0
        while time.monotonic() < self.deadline:
            kind = self.random.choice(kinds)
            try:
                if kind == "thread":
                    answer = self.client.get(f"/nl/t/{self.random.choice(self.threads)}")
                elif kind == "list":
                    answer = self.client.get(f"/nl/latest?page={self.random.randint(1, 3)}")
                elif kind == "search":
                    answer = self.client.get(f"/nl/search?q={quote(self.random.choice(QUERIES))}")
                else:
                    n += 1
                    token = f"lt{secrets.token_hex(5)}"
                    thread_id = self.random.choice(self.threads)
                    answer = self.client.post(f"/nl/t/{thread_id}/reply", {
                        "body": f"Bij ons werkt de cliëntenraad mee aan het beleid ({token}, bericht {n})."})
                    if answer.status == 302:
                        with self.results["lock"]:
                            self.results["posted"].append((token, thread_id))
                    elif answer.status < 500:
                        self.record("post", answer)
                        self.results["errors"].append(f"post answered {answer.status}")
                        continue
                self.record(kind, answer)
            except Exception as exc:  # noqa: BLE001 - a refused or reset connection is a failure
                self.record(kind, error=exc)


def test_fifty_members_reading_searching_and_posting(load_server, artifacts):
    server = load_server
    threads = support.writable_threads(server)
    assert threads
    results = {"lock": threading.Lock(), "latency": defaultdict(list), "status": defaultdict(int),
               "errors": [], "posted": [], "finished": []}
    started = time.monotonic()
    deadline = started + SECONDS
    members = [Member(server, email, threads, deadline, results, seed=i) for i, email in enumerate(server.members)]
    for member in members:
        member.start()
    for member in members:
        member.join(timeout=SECONDS + 120)
    elapsed = time.monotonic() - started
    assert not any(m.is_alive() for m in members), "a client hung"

    # Every acknowledged post is in the database, exactly once, in the thread it was sent to.
    posted = results["posted"]
    rows = support.query(server, "SELECT id, thread_id, body_source, status FROM post WHERE body_source LIKE '%(lt%'")
    by_token = defaultdict(list)
    for post_id, thread_id, body, status in rows:
        token = body.split("(", 1)[1].split(",", 1)[0]
        by_token[token].append((post_id, thread_id, status))
    lost = [t for t, _ in posted if t not in by_token]
    doubled = [t for t, found in by_token.items() if len(found) > 1]
    misplaced = [t for t, thread_id in posted if t in by_token and by_token[t][0][1] != thread_id]

    # ... and found by search once the outbox is drained (what the job process does).
    sync = server.flask("search", "sync")
    assert sync.returncode == 0, sync.stderr
    reader = WebClient(server.url)
    reader.sign_in(server.members[0], support.MEMBER_PASSWORD)

    def unfindable(item):
        token, _thread = item
        answer = reader.get(f"/api/v1/search?q={token}")
        data = json.loads(answer.body)
        found = {r["post_id"] for r in data.get("results", [])}
        return None if by_token.get(token) and by_token[token][0][0] in found else token

    with ThreadPoolExecutor(max_workers=4) as pool:
        not_found = [t for t in pool.map(unfindable, posted) if t]

    # The report.
    lines = [f"Load test: {len(members)} members, {SECONDS:.0f} s, gunicorn 2 workers on 127.0.0.1",
             f"requests: {sum(results['status'].values())} in {elapsed:.1f} s "
             f"({sum(results['status'].values()) / elapsed:.1f}/s); posts acknowledged: {len(posted)}"]
    every = []
    latency = results["latency"]
    for kind in ("thread", "list", "search", "post"):
        values = latency.get(kind, [])
        every += values
        if values:
            lines.append(f"{kind:7} n={len(values):5}  median {statistics.median(values) * 1000:7.0f} ms  "
                         f"p95 {percentile(values, 0.95) * 1000:7.0f} ms  max {max(values) * 1000:7.0f} ms")
    lines.append(f"all     n={len(every):5}  median {statistics.median(every) * 1000:7.0f} ms  "
                 f"p95 {percentile(every, 0.95) * 1000:7.0f} ms  max {max(every) * 1000:7.0f} ms")
    # Throughput per 10 s: the first seconds include the 50 sign-ins; later ones longer threads.
    windows = defaultdict(list)
    for moment, seconds in results["finished"]:
        windows[int((moment - started) // 10)].append(seconds)
    shown = [w for w in sorted(windows) if w < SECONDS // 10]
    lines.append("requests/s per 10 s: " + " ".join(f"{len(windows[w]) / 10:.0f}" for w in shown))
    lines.append("p95 per 10 s (ms): " + " ".join(f"{percentile(windows[w], 0.95) * 1000:.0f}" for w in shown))
    lines.append(f"status codes: {dict(sorted((f'{k} {s}', n) for (k, s), n in results['status'].items()))}")
    lines.append(f"errors: {len(results['errors'])}; lost posts: {len(lost)}; duplicated: {len(doubled)}; "
                 f"misplaced: {len(misplaced)}; not found by search: {len(not_found)}")
    report = "\n".join(lines)
    print("\n" + report)
    (artifacts / "load.txt").write_text(report + "\n", encoding="utf-8")

    assert not results["errors"], results["errors"][:20]
    assert posted, "no post went through"
    assert len(latency["post"]) == len(posted)
    assert not lost and not doubled and not misplaced, (lost[:5], doubled[:5], misplaced[:5])
    if not_found:
        # What tells a lost index write from a stale reader or a held post.
        backlog = support.scalar(server, "SELECT count(*) FROM search_outbox")
        details = []
        for token in not_found[:5]:
            post_id, thread_id, status = by_token[token][0]
            thread_status = support.scalar(server, "SELECT status FROM thread WHERE id = ?", thread_id)
            again = json.loads(reader.get(f"/api/v1/search?q={token}").body)
            details.append(f"{token}: post {post_id} ({status}) in thread {thread_id} ({thread_status}); "
                           f"asked again: {[r['post_id'] for r in again.get('results', [])]}")
        print(f"outbox backlog after sync: {backlog}\n" + "\n".join(details))
    assert not not_found, f"{len(not_found)} acknowledged posts not found by search: {not_found[:10]}"
    assert "Traceback" not in server.log(), server.log()[-3000:]
