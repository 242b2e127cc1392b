"""The job process: `python -m forum.jobs.runner --app wsgi` (started by `make run`).

Every few minutes it closes vacancies past their date and drains the search outbox;
every few seconds it sends queued account mails the web workers left (auth/outbox.py)
and indexes the search outbox rows writing requests left during a burst;
after 07:00 local time it sends the daily digest, and from Monday 07:00 the weekly one;
once a day it prunes. Every job is idempotent (digests are claimed per member and
period in the database), so restarting the runner, or running two, sends nothing twice.
"""
import argparse
import importlib
import logging
import signal
import sys
import threading
import time

log = logging.getLogger("forum.jobs.runner")


def load_app(spec):
    """`module` or `module:attribute` as for `flask --app`; a factory is called."""
    from flask import Flask

    module_name, _, attr = spec.partition(":")
    sys.path.insert(0, ".")
    module = importlib.import_module(module_name)
    obj = getattr(module, attr or "app", None)
    if obj is None and not attr:
        obj = getattr(module, "create_app", None)
    if obj is None:
        raise SystemExit(f"no app found in {spec!r}")
    return obj if isinstance(obj, Flask) else obj()


def run_round(app, state, now=None):
    """One pass over the jobs that are due; `state` remembers what this process already did."""
    from ..extensions import db
    from ..transactions import unit_of_work
    from .clock import local_now, period_key, period_started
    from .digest import send_digests
    from .tasks import close_vacancies, drain_search_outbox, prune
    from auth.outbox import deliver_queued

    done = []
    with app.app_context():
        now = now or local_now()

        def job(name, fn):
            try:
                with unit_of_work():  # a failing job leaves nothing half-written behind
                    result = fn()
                done.append(name)
                return result
            except Exception:  # one failing job must not stop the others, nor the runner
                log.exception("job %s failed", name)
                return None

        closed = job("close-vacancies", lambda: close_vacancies(today=now.date()))
        if closed:
            log.info("closed %d vacancies", closed)
        from ..advice.services import send_reminders as advice_reminders
        reminded = job("advice-reminders", lambda: advice_reminders(today=now.date()))
        if reminded:
            log.info("sent %d advice reminders", reminded)
        from ..attachments.services import run_jobs as attachment_jobs
        job("attachments", lambda: attachment_jobs(today=now.date()))  # text for search, before the sync
        job("search-sync", drain_search_outbox)
        job("account-mail", deliver_queued)
        from ..events.reminders import send_reminders
        job("event-reminders", send_reminders)  # the day before, once per registration
        for period in ("daily", "weekly"):
            key = period_key(period, now)
            if period_started(period, now) and state.get(period) != key:
                report = job(f"digest-{period}", lambda p=period, k=key: send_digests(p, k))
                if report is not None:
                    log.info("%s digest %s: %d sent, %d empty, %d failed", period, key,
                             report.sent, report.empty, report.failed)
                    if not report.failed:
                        state[period] = key  # failures are retried next round
        today = now.date().isoformat()
        if state.get("prune") != today and job("prune", prune) is not None:
            state["prune"] = today
        db.session.remove()
    return done


def between_rounds(app):
    """Every few seconds: account mails (a reset link must not wait five minutes), and the
    search outbox rows that writing requests left during a burst (SEARCH_DRAIN_INTERVAL):
    a post is found by search within seconds even when no request follows it."""
    from auth.outbox import deliver_queued
    from search.indexing import backlog, sync_outbox

    from ..extensions import db

    with app.app_context():
        try:
            deliver_queued()
        except Exception:
            log.exception("sending account mails failed")
        try:
            if backlog():
                sync_outbox(wait=1.0)
        except Exception:
            log.exception("indexing the search outbox failed; the next look tries again")
        db.session.remove()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m forum.jobs.runner", description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="wsgi", help="module[:attribute] holding the Flask app (default wsgi)")
    parser.add_argument("--interval", type=int, default=300, help="seconds between rounds (default 300)")
    parser.add_argument("--mail-interval", type=int, default=5,
                        help="seconds between looks at the queued account mails and the search "
                             "outbox (default 5)")
    parser.add_argument("--once", action="store_true", help="run one round and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s jobs %(levelname)s %(message)s")

    app = load_app(args.app)
    state = {}
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("job runner started (every %d s)", args.interval)
    while True:
        run_round(app, state)
        if args.once:
            break
        rounds_due = time.monotonic() + max(args.interval, 1)
        while not stop.wait(max(min(args.mail_interval, rounds_due - time.monotonic()), 0.1)):
            if time.monotonic() >= rounds_due:
                break
            between_rounds(app)
        if stop.is_set():
            break
    log.info("job runner stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
