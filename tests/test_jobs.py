"""Scheduled jobs: digests (never twice), closing vacancies, pruning and the runner."""
import os
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from forum.extensions import db
from forum.jobs.clock import period_key
from forum.jobs.runner import run_round
from forum.models import DigestSent, Notification, RateLimitEvent, SearchOutbox, Thread, User, Watch, utcnow

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def replied(make_user, make_thread, make_post, make_theme):
    """A daily-digest member whose question got a reply (one unread notification)."""
    theme = make_theme(visibility="public")
    asker = make_user(name="Marieke de Vries", notify_mode="daily", email="marieke@example.org")
    helper = make_user(name="Jan Jansen")
    thread = make_thread(author=asker, theme=theme, title="Hoe organiseren jullie de inspraak?")
    reply = make_post(thread, author=helper, body="Met een **inloopavond** in het buurthuis.")
    return dict(theme=theme, asker=asker, helper=helper, thread=thread, reply=reply)


def notifications_of(app, user):
    with app.app_context():
        return db.session.scalars(db.select(Notification).where(Notification.user_id == user.id)).all()


def test_daily_digest_is_sent_once(app, runner, mail, replied):
    first = runner.invoke(args=["jobs", "digest", "daily"])
    assert first.exit_code == 0, first.output
    assert "1 sent" in first.output
    msg = mail.last("marieke@example.org")
    body = mail.body(msg)
    assert "Marieke de Vries" in body
    assert "Jan Jansen" in body and "Hoe organiseren jullie de inspraak?" in body
    assert f"http://agora.test/nl/p/{replied['reply'].id}" in mail.links(msg)
    unsubscribe = msg["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://agora.test/nl/unsubscribe/") and unsubscribe.endswith(">")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The header is the RFC 8058 one-click address; the mail's text links to the page that asks.
    assert unsubscribe.endswith("/one-click>")
    assert unsubscribe[1:-1].removesuffix("/one-click") in mail.links(msg)
    assert all(n.emailed_at is not None for n in notifications_of(app, replied["asker"]))

    second = runner.invoke(args=["jobs", "digest", "daily"])
    assert second.exit_code == 0, second.output
    assert len(mail.to("marieke@example.org")) == 1
    with app.app_context():
        rows = db.session.scalars(db.select(DigestSent).where(DigestSent.user_id == replied["asker"].id)).all()
        assert [(r.period, r.period_key) for r in rows] == [("daily", period_key("daily"))]


def test_new_notification_after_digest_waits_for_next_period(app, runner, mail, replied, make_post):
    assert runner.invoke(args=["jobs", "digest", "daily"]).exit_code == 0
    make_post(replied["thread"], author=replied["helper"], body="Nog een idee: een enquête.")
    assert runner.invoke(args=["jobs", "digest", "daily"]).exit_code == 0
    assert len(mail.to("marieke@example.org")) == 1


def test_one_click_unsubscribe_from_digest(app, runner, mail, replied, client):
    runner.invoke(args=["jobs", "digest", "daily"])
    link = mail.last("marieke@example.org")["List-Unsubscribe"][1:-1]
    response = client.post(link.replace("http://agora.test", ""))  # RFC 8058: a POST, no session
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(User, replied["asker"].id).notify_mode == "never"


def test_concurrent_digest_runs_send_one_mail(app, mail, replied):
    from forum.jobs.digest import send_digests

    results = []

    def run():
        with app.app_context():
            results.append(send_digests("daily"))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and sum(r.sent for r in results) == 1
    assert len(mail.to("marieke@example.org")) == 1


def test_digest_in_members_language_and_only_for_their_mode(app, runner, mail, make_user, make_thread, make_post,
                                                            make_theme):
    theme = make_theme(visibility="public")
    people = {mode: make_user(notify_mode=mode, locale="fr", email=f"{mode}@example.org")
              for mode in ("daily", "weekly", "immediate", "never")}
    suspended = make_user(notify_mode="daily", email="suspended@example.org")
    for user in list(people.values()) + [suspended]:
        thread = make_thread(author=user, theme=theme)
        make_post(thread, body="Een reactie voor de samenvatting.")
    with app.app_context():
        db.session.get(User, suspended.id).status = "suspended"
        db.session.commit()
    mail.clear()
    assert runner.invoke(args=["jobs", "digest", "daily"]).exit_code == 0
    assert [m["To"] for m in mail.messages] == ["daily@example.org"]
    assert "http://agora.test/fr/" in mail.body(mail.last("daily@example.org"))
    assert runner.invoke(args=["jobs", "digest", "weekly"]).exit_code == 0
    assert sorted(m["To"] for m in mail.messages) == ["daily@example.org", "weekly@example.org"]


def test_read_notifications_make_no_digest(app, runner, mail, replied):
    with app.app_context():
        for n in db.session.scalars(db.select(Notification)):
            n.read_at = utcnow()
        db.session.commit()
    result = runner.invoke(args=["jobs", "digest", "daily"])
    assert "0 sent" in result.output and "1 with nothing new" in result.output
    assert mail.to("marieke@example.org") == []


def test_weekly_digest_lists_new_practices_in_followed_themes(app, runner, mail, make_user, make_thread, make_theme):
    theme = make_theme(name_nl="Armoede en schulden", visibility="members")
    other = make_theme()
    reader = make_user(notify_mode="weekly", email="lezer@example.org")
    # Started before the reader followed the theme: no notification, but news for the digest.
    practice = make_thread(theme=theme, kind="practice", title="Schuldhulp via de huisarts")
    make_thread(theme=theme, kind="question", title="Een vraag, geen praktijk")
    make_thread(theme=other, kind="initiative", title="Initiatief in een ander thema")
    with app.app_context():
        db.session.add(Watch(user_id=reader.id, theme_id=theme.id))
        db.session.commit()
    assert runner.invoke(args=["jobs", "digest", "weekly"]).exit_code == 0
    body = mail.body(mail.last("lezer@example.org"))
    assert "Schuldhulp via de huisarts (Armoede en schulden)" in body
    assert f"http://agora.test/nl/t/{practice.id}" in body
    assert "Een vraag, geen praktijk" not in body and "Initiatief in een ander thema" not in body


def test_failed_mail_is_retried_later(app, runner, mail, replied):
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # nothing listens there
    failed = runner.invoke(args=["jobs", "digest", "daily"])
    assert failed.exit_code == 1 and "1 failed" in failed.output
    with app.app_context():
        assert db.session.scalar(db.select(DigestSent.id)) is None
    assert all(n.emailed_at is None for n in notifications_of(app, replied["asker"]))
    app.config["MAIL_PORT"] = port
    assert "1 sent" in runner.invoke(args=["jobs", "digest", "daily"]).output
    assert len(mail.to("marieke@example.org")) == 1


def test_close_vacancies(app, runner, client, make_thread, make_theme):
    theme = make_theme(visibility="public")
    yesterday = date.today() - timedelta(days=1)
    past = make_thread(theme=theme, kind="vacancy", title="Gezocht: penningmeester", closes_on=yesterday)
    future = make_thread(theme=theme, kind="vacancy", title="Gezocht: voorzitter",
                         fields={"closes_on": (date.today() + timedelta(days=5)).isoformat()})
    assert {t["title"] for t in client.get("/api/v1/threads?open=true").get_json()["results"]} == {
        "Gezocht: voorzitter"}  # the API already treats a passed date as closed
    with app.app_context():
        queued_before = db.session.scalar(db.select(db.func.count(SearchOutbox.id)))
    result = runner.invoke(args=["jobs", "close-vacancies"])
    assert result.exit_code == 0 and "1 vacancies closed" in result.output
    with app.app_context():
        assert db.session.get(Thread, past.id).closed is True
        assert db.session.get(Thread, future.id).closed is False
        assert db.session.scalar(db.select(db.func.count(SearchOutbox.id))) == queued_before + 1
    assert "0 vacancies closed" in runner.invoke(args=["jobs", "close-vacancies"]).output


def test_prune(app, runner):
    with app.app_context():
        db.session.add_all([RateLimitEvent(key="login:old", created_at=utcnow() - timedelta(days=3)),
                            RateLimitEvent(key="login:new")])
        db.session.commit()
    result = runner.invoke(args=["jobs", "prune"])
    assert result.exit_code == 0 and "Removed 1 rate-limit events" in result.output
    with app.app_context():
        assert db.session.scalars(db.select(RateLimitEvent.key)).all() == ["login:new"]


def test_runner_sends_digests_after_seven_once(app, mail, replied, make_user, make_thread, make_post):
    weekly = make_user(notify_mode="weekly", email="wekelijks@example.org")
    make_post(make_thread(author=weekly), body="Reactie voor de weekmail.")
    state = {}
    monday_early = datetime(2026, 11, 23, 6, 30, tzinfo=TZ)
    early = run_round(app, state, now=monday_early)
    assert "digest-daily" not in early and "digest-weekly" not in early and "prune" in early
    assert mail.to("marieke@example.org") == [] and mail.to("wekelijks@example.org") == []

    monday = monday_early.replace(hour=7, minute=5)
    later = run_round(app, state, now=monday)
    assert {"digest-daily", "digest-weekly", "close-vacancies"} <= set(later) and "prune" not in later
    assert len(mail.to("marieke@example.org")) == 1 and len(mail.to("wekelijks@example.org")) == 1
    run_round(app, state, now=monday.replace(hour=9))
    run_round(app, {}, now=monday.replace(hour=10))  # a restarted runner remembers nothing
    assert len(mail.to("marieke@example.org")) == 1 and len(mail.to("wekelijks@example.org")) == 1
    with app.app_context():
        keys = set(db.session.execute(db.select(DigestSent.period, DigestSent.period_key)).all())
    assert keys == {("daily", "2026-11-23"), ("weekly", "2026-W48")}


def test_runner_process_runs_a_round(app, app_config, make_thread, make_theme):
    thread = make_thread(theme=make_theme(), kind="vacancy", closes_on=date.today() - timedelta(days=2))
    env = dict(os.environ, AGORA_INSTANCE_PATH=app_config["INSTANCE_PATH"], AGORA_SECRET_KEY="test-secret-key",
               AGORA_MAIL_SERVER="127.0.0.1", AGORA_MAIL_PORT=str(app_config["MAIL_PORT"]))
    env.pop("AGORA_DATABASE_URL", None)
    if "SQLALCHEMY_DATABASE_URI" in app_config:  # the PostgreSQL run: the job process uses it too
        env.update(AGORA_DATABASE_URL=app_config["SQLALCHEMY_DATABASE_URI"],
                   AGORA_SEARCH_BACKEND=app_config["SEARCH_BACKEND"])
    done = subprocess.run([sys.executable, "-m", "forum.jobs.runner", "--app", "wsgi", "--once"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "job runner stopped" in done.stderr
    with app.app_context():
        assert db.session.get(Thread, thread.id).closed is True
