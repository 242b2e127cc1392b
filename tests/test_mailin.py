"""Mail-in (forum/mailin): replies and new topics by e-mail, through the two real entry
points: an SMTP conversation with `flask mail serve` on 127.0.0.1 (smtplib) and
`flask mail receive` reading standard input (a subprocess, as an MTA's pipe runs it).

One site (SQLite file and Whoosh index, or the suite's PostgreSQL database; the session's
aiosmtpd mailbox for what the forum sends) and one `mail serve` process serve the whole module; every test makes its own
members and topics. The corpus in tests/data/mail/ is shaped like what Outlook (Dutch and
French), Gmail, Apple Mail and Thunderbird send; {{TO}}, {{FROM_ADDR}} and {{MESSAGE_ID}}
are filled in per test.
"""
import os
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from forum.extensions import db
from forum.mailin import addresses, services as mail_services
from forum.mailin.models import IncomingMail
from forum.models import Organisation, Post, Theme, Thread, User, utcnow
from tests.conftest import ON_POSTGRES, PASSWORD, TEST_DATABASE_URL, TEST_SEARCH_BACKEND, Mailbox, _free_port, login

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "data" / "mail"
DOMAIN = "forum.agora.test"
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


class Site:
    def __init__(self, app, env, smtp_port, mailbox):
        self.app, self.env, self.smtp_port, self.mailbox = app, env, smtp_port, mailbox
        self.counter = 0

    # -- content -------------------------------------------------------------------
    def member(self, locale="nl", **kw):
        self.counter += 1
        n = self.counter
        with self.app.app_context():
            org = Organisation(name=f"Adviesraad Maildorp {n}", slug=f"adviesraad-maildorp-{n}",
                               municipality=f"Maildorp {n}", province="NL-UT", country="NL", language="nl",
                               membership_status="active")
            db.session.add(org)
            db.session.flush()
            values = dict(email=f"lid{n}.{uuid.uuid4().hex[:6]}@example.org", name=f"Lid {n}", role="member",
                          status="active", organisation_id=org.id, locale=locale, confirmed_at=utcnow(),
                          approved_at=utcnow(), terms_accepted_at=utcnow(), notify_mode="immediate")
            values.update(kw)
            user = User(**values)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
            return user.id, user.email

    def theme(self, **kw):
        self.counter += 1
        with self.app.app_context():
            theme = Theme(slug=f"thema-mail-{self.counter}", name_nl=f"Thema {self.counter}",
                          name_fr=f"Thème {self.counter}", visibility="members", position=self.counter, **kw)
            db.session.add(theme)
            db.session.commit()
            return theme.id, theme.slug

    def thread(self, author_id, **kw):
        from forum.threads.services import create_thread

        theme_id, _slug = self.theme()
        with self.app.app_context():
            thread = create_thread(db.session.get(User, author_id), db.session.get(Theme, theme_id), "question",
                                   "Hoe regelen jullie de eigen bijdrage?", "Wij zijn benieuwd naar jullie ervaring.",
                                   check_abuse=False)
            for key, value in kw.items():
                setattr(thread, key, value)
            db.session.commit()
            return thread.id

    def reply_address(self, user_id, thread_id):
        with self.app.app_context():
            return addresses.reply_address(db.session.get(User, user_id), db.session.get(Thread, thread_id))

    def theme_address(self, user_id, slug):
        with self.app.app_context():
            theme = db.session.scalar(db.select(Theme).where(Theme.slug == slug))
            return addresses.theme_address(db.session.get(User, user_id), theme)

    def posts(self, thread_id):
        with self.app.app_context():
            return [(p.number, p.author_id, p.body_source, p.status, [a.filename for a in p.attachments])
                    for p in db.session.scalars(db.select(Post).where(Post.thread_id == thread_id).order_by(Post.number))]

    def log(self, message_id):
        with self.app.app_context():
            row = db.session.scalar(db.select(IncomingMail).where(IncomingMail.message_id == message_id))
            if row is not None:
                db.session.expunge(row)
            return row

    # -- sending ---------------------------------------------------------------------
    def smtp(self, raw, to, mail_from="sender@example.org"):
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=60) as smtp:
            return smtp.sendmail(mail_from, [to], raw)

    def pipe(self, raw, **env):
        return subprocess.run(FLASK + ["mail", "receive"], input=raw, capture_output=True,
                              env={**self.env, **env}, cwd=ROOT, timeout=120)


def corpus(name, to, sender, message_id=None):
    message_id = message_id or f"<{uuid.uuid4().hex}@mail.example.org>"
    raw = (CORPUS / name).read_bytes()
    for key, value in (("{{TO}}", to), ("{{FROM_ADDR}}", sender), ("{{MESSAGE_ID}}", message_id)):
        raw = raw.replace(key.encode(), value.encode())
    return raw, message_id


@pytest.fixture(scope="module")
def site(tmp_path_factory, smtp_server, template_cache, request):
    instance = tmp_path_factory.mktemp("mailin") / "instance"
    config = {
        "TEMPLATE_CACHE_DIR": template_cache, "TESTING": True, "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
        "BASE_URL": "http://agora.test", "SERVER_NAME": None, "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
        "PREMODERATE_FIRST_POSTS": 0, "NEW_MEMBER_POSTS": 0, "STAFF_SECOND_FACTOR": False,
        "STAFF_SECURITY_AUDIT": False, "NEW_DEVICE_MAIL": False, "MAIL_DOMAIN": DOMAIN,
        "SEARCH_BACKEND": TEST_SEARCH_BACKEND,
        **({"SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL} if ON_POSTGRES else {}),
    }
    from tests.conftest import prepared_app

    app = prepared_app(config, request)
    env = {**os.environ, **({"AGORA_DATABASE_URL": TEST_DATABASE_URL} if ON_POSTGRES else {}),
           "AGORA_SEARCH_BACKEND": TEST_SEARCH_BACKEND,
           "AGORA_INSTANCE_PATH": str(instance), "AGORA_SECRET_KEY": "test-secret-key",
           "AGORA_MAIL_SERVER": "127.0.0.1", "AGORA_MAIL_PORT": str(smtp_server.port),
           "AGORA_BASE_URL": "http://agora.test", "AGORA_MAIL_DOMAIN": DOMAIN,
           "AGORA_PREMODERATE_FIRST_POSTS": "0", "AGORA_MAIL_IN_MAX_PARTS": "100"}
    port = _free_port()
    server = subprocess.Popen(FLASK + ["mail", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    line = server.stdout.readline().decode()
    assert "Agora mail-in (SMTP) on 127.0.0.1" in line, line
    # Keep reading its log, so a full pipe never blocks the receiver.
    threading.Thread(target=server.stdout.read, daemon=True).start()
    yield Site(app, env, port, smtp_server.handler)
    server.terminate()
    server.wait(timeout=30)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def scene(site, locale="nl", **thread_values):
    """A thread by one member and a second member (the sender) with their reply address."""
    author_id, _ = site.member()
    member_id, member_email = site.member(locale=locale)
    thread_id = site.thread(author_id, **thread_values)
    return author_id, member_id, member_email, thread_id, site.reply_address(member_id, thread_id)


def refused(site, name, to, sender, reason):
    """Send a corpus message over SMTP; check it was refused for `reason`."""
    raw, message_id = corpus(name, to, sender)
    site.smtp(raw, to)
    assert site.log(message_id).reason == reason
    return message_id


def answers(site, address, count=None, wait=5):
    """The refusal answers the forum sent to `address` (waits a moment for `count`)."""
    deadline = time.monotonic() + wait
    while True:
        found = [m for m in site.mailbox.to(address) if "auto-replied" in (m["Auto-Submitted"] or "")]
        if count is None or len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# -- what a member sends, as their mail program sends it ------------------------------

REPLIES = {
    "outlook_nl.eml": ("Beste allemaal,\n\nBij ons in Testdorp kost de eigen bijdrage € 19 per maand; de cliëntenraad "
                       "heeft daar in 2025 over geadviseerd.\nMet vriendelijke groet,\nMarianne de Vries\n"
                       "Secretaris Adviesraad Testdorp", []),
    "gmail_nl.eml": ("Hoi Jan,\n\nWij gebruiken een vast spreekuur op dinsdag. Dat werkt goed!\n\nGroet,\nPieter", []),
    "gmail_fr_pdf.eml": ("Voici notre avis de l’an dernier, en pièce jointe.", ["Avis CPAS 2025.pdf"]),
    "apple_mail_image.eml": ("Hierbij de foto van de regiobijeenkomst in Zwolle.", ["IMG_0042.png"]),
    "thunderbird_nl.eml": ("Goedemiddag,\n\nIk sluit me aan bij Pieter: één vast moment per week is duidelijk voor "
                           "inwoners.", []),
}


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_a_reply_by_smtp_posts_the_members_own_text(site, name):
    author_id, _ = site.member()
    member_id, member_email = site.member()
    thread_id = site.thread(author_id)
    raw, message_id = corpus(name, site.reply_address(member_id, thread_id), member_email)

    assert site.smtp(raw, site.reply_address(member_id, thread_id)) == {}

    expected, files = REPLIES[name]
    posts = site.posts(thread_id)
    assert posts[-1][:4] == (2, member_id, expected, "visible")
    assert [f.rsplit(".", 1)[1] for f in posts[-1][4]] == [f.rsplit(".", 1)[1] for f in files]
    assert site.log(message_id).status == "posted"
    assert answers(site, member_email) == []  # nothing to answer when it went well


def test_html_only_outlook_in_french_keeps_the_text_and_leaves_out_the_original(site):
    author_id, _ = site.member()
    member_id, member_email = site.member(locale="fr")
    thread_id = site.thread(author_id)
    to = site.reply_address(member_id, thread_id)
    raw, _mid = corpus("outlook_fr_html.eml", to, member_email)

    site.smtp(raw, to)

    body = site.posts(thread_id)[-1][2]
    assert body.startswith("Bonjour à tous,")
    assert "se réunit **chaque mois** avec l’échevin." in body
    assert body.rstrip().endswith("Françoise")
    assert "Message d'origine" not in body and "Ancien texte" not in body and "Envoyé" not in body


def test_the_web_rules_apply_mentions_notifications_and_search(site):
    author_id, author_email = site.member()
    member_id, member_email = site.member()
    thread_id = site.thread(author_id)
    site.mailbox.clear()
    raw, _mid = corpus("gmail_nl.eml", site.reply_address(member_id, thread_id), member_email)
    site.smtp(raw, site.reply_address(member_id, thread_id))

    # The thread's author follows it and is mailed at once, with their own reply address.
    note = site.mailbox.last(author_email)
    assert note["Reply-To"] == site.reply_address(author_id, thread_id)
    assert note["References"] == f"<agora.thread.{thread_id}@{DOMAIN}>"
    assert "Wij gebruiken een vast spreekuur op dinsdag." in Mailbox.body(note)
    # Found by the site's search like a web post.
    client = site.app.test_client()
    login(client, member_email)
    data = client.get("/api/v1/search", query_string={"q": "spreekuur dinsdag"}).get_json()
    assert thread_id in [r.get("thread_id") for r in data["results"]]


def test_the_same_message_twice_posts_once(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    raw, message_id = corpus("gmail_nl.eml", to, member_email)
    site.smtp(raw, to)
    site.smtp(raw, to)
    assert [p[0] for p in site.posts(thread_id)] == [1, 2]


# -- never a loop, never a robot -----------------------------------------------------

@pytest.mark.parametrize("name,reason", [("auto_reply.eml", "auto_reply"), ("bounce.eml", "bounce")])
def test_auto_replies_and_bounces_are_dropped_silently(site, name, reason):
    author_id, member_id, member_email, thread_id, to = scene(site)
    raw, message_id = corpus(name, to, member_email)

    site.smtp(raw, to, mail_from="" if name == "bounce.eml" else member_email)

    assert len(site.posts(thread_id)) == 1
    row = site.log(message_id)
    assert (row.status, row.reason) == ("ignored", reason)
    assert answers(site, member_email, wait=1) == []


# -- refused, with one answer that says why ------------------------------------------

def test_a_locked_thread_refuses_and_answers_in_the_members_language(site):
    author_id, _ = site.member()
    member_id, member_email = site.member(locale="fr")
    thread_id = site.thread(author_id, locked=True)
    to = site.reply_address(member_id, thread_id)
    raw, message_id = corpus("outlook_nl.eml", to, member_email)

    site.smtp(raw, to)

    assert len(site.posts(thread_id)) == 1
    assert site.log(message_id).reason == "locked"
    (answer,) = answers(site, member_email, 1)
    assert answer["Content-Language"] == "fr"
    assert answer["In-Reply-To"] == message_id
    with site.app.test_request_context("/fr/"):
        from flask_babel import force_locale, gettext
        with force_locale("fr"):
            assert gettext("This topic is closed for new replies.") in Mailbox.body(answer)


def test_a_forged_sender_posts_nothing_and_is_answered_once_a_day(site):
    author_id, _ = site.member()
    member_id, _member_email = site.member()
    thread_id = site.thread(author_id)
    to = site.reply_address(member_id, thread_id)
    for _ in range(2):
        raw, message_id = corpus("gmail_nl.eml", to, "impostor@example.net")
        site.smtp(raw, to)
        assert site.log(message_id).reason == "wrong_sender"
    assert len(site.posts(thread_id)) == 1
    (answer,) = answers(site, "impostor@example.net", 1)
    assert answer["Content-Language"] == "nl, fr"  # unknown: in both languages
    assert answers(site, "impostor@example.net", 2, wait=1) == [answer]


def test_a_token_for_another_thread_or_member_does_not_work(site):
    author_id, _ = site.member()
    member_id, member_email = site.member()
    other_id, _ = site.member()
    thread_id = site.thread(author_id)
    other_thread = site.thread(author_id)
    good = site.reply_address(member_id, thread_id)
    token = good.split("@")[0].rsplit(".", 1)[1]
    for forged in (f"reply+{other_thread}.{member_id}.{token}@{DOMAIN}",  # another thread
                   f"reply+{thread_id}.{other_id}.{token}@{DOMAIN}"):    # another member
        raw, message_id = corpus("gmail_nl.eml", forged, member_email)
        site.smtp(raw, forged)
        assert site.log(message_id).reason == "bad_token"
    assert len(site.posts(thread_id)) == 1 and len(site.posts(other_thread)) == 1


def test_a_revoked_address_stops_working(site):
    author_id, _ = site.member()
    member_id, member_email = site.member()
    thread_id = site.thread(author_id)
    old = site.reply_address(member_id, thread_id)
    client = site.app.test_client()
    login(client, member_email)
    response = client.post_form("/nl/settings/mail", {"revoke": "1"})
    assert response.status_code == 302
    assert site.reply_address(member_id, thread_id) != old

    refused(site, "gmail_nl.eml", old, member_email, "bad_token")
    assert len(site.posts(thread_id)) == 1
    assert len(answers(site, member_email, 1)) == 1


def test_a_suspended_member_gets_a_polite_answer(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    with site.app.app_context():
        db.session.get(User, member_id).status = "suspended"
        db.session.commit()
    refused(site, "gmail_nl.eml", to, member_email, "suspended")
    assert len(site.posts(thread_id)) == 1
    assert len(answers(site, member_email, 1)) == 1


def test_winmail_dat_is_refused_with_a_clear_message(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    refused(site, "outlook_winmail.eml", to, member_email, "winmail")
    assert len(site.posts(thread_id)) == 1
    (answer,) = answers(site, member_email, 1)
    assert "winmail.dat" in Mailbox.body(answer)


# -- the SMTP receiver itself ----------------------------------------------------------

def test_no_open_relay(site):
    with smtplib.SMTP("127.0.0.1", site.smtp_port, timeout=60) as smtp:
        smtp.ehlo()
        smtp.mail("someone@example.org")
        code, _msg = smtp.rcpt("victim@example.com")
    assert code == 550


def test_a_30_mb_message_is_refused_during_the_conversation(site):
    member_id, member_email = site.member()
    to = f"reply+1.{member_id}.{'0' * 20}@{DOMAIN}"
    raw = (f"From: {member_email}\r\nTo: {to}\r\nSubject: groot\r\nMessage-ID: <big@example.org>\r\n\r\n"
           .encode() + b"x" * 76 + b"\r\n") * 1 + (b"y" * 998 + b"\r\n") * (30 * 1024 * 1024 // 1000)
    with pytest.raises(smtplib.SMTPException) as caught:
        site.smtp(raw, to)
    assert "552" in str(caught.value) or getattr(caught.value, "smtp_code", 0) == 552
    assert site.log("<big@example.org>") is None


def test_a_message_with_10000_mime_parts_is_refused(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(10_000))
    raw = (f"From: {member_email}\r\nTo: {to}\r\nSubject: parts\r\nMessage-ID: <parts@example.org>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n").encode() + parts + b"--b--\r\n"
    with pytest.raises(smtplib.SMTPDataError) as caught:
        site.smtp(raw, to)
    assert caught.value.smtp_code == 552
    # Parts need no headers of their own: the boundaries count too.
    bare = raw.replace(b"Content-Type: text/plain\r\n", b"").replace(b"<parts@", b"<bare-parts@")
    with pytest.raises(smtplib.SMTPDataError) as caught:
        site.smtp(bare, to)
    assert caught.value.smtp_code == 552
    assert len(site.posts(thread_id)) == 1


# -- standard input (an MTA's pipe) --------------------------------------------------

def test_mail_receive_on_standard_input(site):
    author_id, _ = site.member()
    member_id, member_email = site.member()
    thread_id = site.thread(author_id)
    raw, message_id = corpus("thunderbird_nl.eml", site.reply_address(member_id, thread_id), member_email)

    result = site.pipe(raw)

    assert result.returncode == 0, result.stderr
    with site.app.app_context():
        post_id = db.session.scalar(db.select(Post.id).where(Post.thread_id == thread_id, Post.number == 2))
    assert result.stdout.decode().strip() == f"posted http://agora.test/nl/p/{post_id}"
    assert site.posts(thread_id)[-1][2] == REPLIES["thunderbird_nl.eml"][0]
    # The MTA delivers it again: posted once.
    again = site.pipe(raw)
    assert (again.returncode, again.stdout.decode().strip()) == (0, "ignored: duplicate")
    assert len(site.posts(thread_id)) == 2


def test_mail_receive_says_75_when_the_database_is_unavailable(site, tmp_path):
    raw, _mid = corpus("gmail_nl.eml", f"reply+1.1.{'0' * 20}@{DOMAIN}", "a@example.org")
    env = {**site.env, "AGORA_DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/agora.db"}
    result = subprocess.run(FLASK + ["mail", "receive"], input=raw, capture_output=True, env=env, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 75, (result.stdout, result.stderr)


def test_mail_receive_refuses_an_auto_reply_and_a_30_mb_message(site):
    member_id, member_email = site.member()
    author_id, _ = site.member()
    thread_id = site.thread(author_id)
    to = site.reply_address(member_id, thread_id)
    raw, _mid = corpus("auto_reply.eml", to, member_email)
    assert site.pipe(raw).stdout.decode().strip() == "ignored: auto_reply"
    big = (f"From: {member_email}\r\nTo: {to}\r\nSubject: groot\r\nMessage-ID: <big-pipe@example.org>\r\n\r\n"
           .encode() + (b"y" * 998 + b"\r\n") * (30 * 1024 * 1024 // 1000))
    result = site.pipe(big)
    assert (result.returncode, result.stdout.decode().strip()) == (0, "refused: too_large")
    assert site.log("<big-pipe@example.org>").raw is None  # not kept
    assert len(site.posts(thread_id)) == 1


# -- starting a topic by mail ----------------------------------------------------------

def test_a_theme_address_starts_a_question_and_header_injection_goes_nowhere(site):
    member_id, member_email = site.member()
    _theme_id, slug = site.theme()
    to = site.theme_address(member_id, slug)
    assert to.startswith(f"theme+{slug}.{member_id}.")
    raw = (f"From: Lid <{member_email}>\r\nTo: {to}\r\nMessage-ID: <new-topic@example.org>\r\n"
           "Subject: =?utf-8?q?Wie_heeft_ervaring_met_de_wachtlijst=3F=0D=0ABcc:_victim@example.com?=\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nBij ons loopt de wachtlijst op.\r\n").encode()
    site.smtp(raw, to)
    with site.app.app_context():
        thread = db.session.scalar(db.select(Thread).join(Theme).where(Theme.slug == slug))
        assert thread.title == "Wie heeft ervaring met de wachtlijst? Bcc: victim@example.com"
        assert thread.kind == "discussion"
        assert thread.posts[0].body_source == "Bij ons loopt de wachtlijst op."
    assert site.mailbox.to("victim@example.com") == []


def test_a_refusal_answer_never_carries_an_injected_header(site):
    member_id, member_email = site.member()
    author_id, _ = site.member()
    thread_id = site.thread(author_id, locked=True)
    to = site.reply_address(member_id, thread_id)
    raw = (f"From: {member_email}\r\nTo: {to}\r\nMessage-ID: <inject@example.org>\r\n"
           "Subject: =?utf-8?q?Hallo=0D=0ABcc:_victim@example.com?=\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nTekst.\r\n").encode()
    site.smtp(raw, to)
    (answer,) = answers(site, member_email, 1)
    assert answer["Bcc"] is None and "victim" not in answer["Subject"]
    assert site.mailbox.to("victim@example.com") == []


# -- pages -----------------------------------------------------------------------------

def test_moderators_see_the_incoming_mail_log_and_members_do_not(site):
    mod_id, mod_email = site.member(role="moderator")
    member_id, member_email = site.member()
    raw, message_id = corpus("auto_reply.eml", f"reply+1.{member_id}.{'0' * 20}@{DOMAIN}", member_email)
    site.smtp(raw, f"reply+1.{member_id}.{'0' * 20}@{DOMAIN}")
    staff = site.app.test_client()
    login(staff, mod_email)
    page = staff.get("/nl/mod/mail")
    assert page.status_code == 200 and member_email in page.get_data(as_text=True)
    with site.app.test_request_context("/nl/"):
        from flask_babel import gettext

        assert gettext("ignored") in page.get_data(as_text=True)
    row = site.log(message_id)
    raw_page = staff.get(f"/nl/mod/mail/{row.id}/raw")
    assert raw_page.status_code == 200 and raw_page.mimetype == "text/plain"
    assert b"Ik ben afwezig" in raw_page.data
    member = site.app.test_client()
    login(member, member_email)
    assert member.get("/nl/mod/mail").status_code == 403
    assert member.get(f"/nl/mod/mail/{row.id}/raw").status_code == 403


def test_switching_reply_by_mail_off_removes_the_reply_to(site):
    member_id, member_email = site.member()
    author_id, _ = site.member()
    thread_id = site.thread(author_id)
    client = site.app.test_client()
    login(client, member_email)
    page = client.get("/nl/settings/mail").get_data(as_text=True)
    assert "theme+" in page
    client.post_form("/nl/settings/mail", {"switch": "1"})
    assert site.reply_address(member_id, thread_id) is None
    # An address mailed before is refused while it is off, with the reason.
    with site.app.app_context():
        mail_services.set_enabled(db.session.get(User, member_id), True)
        to = site.reply_address(member_id, thread_id)
        mail_services.set_enabled(db.session.get(User, member_id), False)
    raw, message_id = corpus("gmail_nl.eml", to, member_email)
    site.smtp(raw, to)
    assert site.log(message_id).reason == "mail_off"
    assert len(site.posts(thread_id)) == 1
    client.post_form("/nl/settings/mail", {"switch": "1"})
    assert site.reply_address(member_id, thread_id) == to


# -- the web's anti-abuse rules, DMARC, retry ----------------------------------------

def test_the_webs_rate_limit_applies_to_mail(site):
    """The receiver runs with the site's defaults: a new member may post twice a minute."""
    author_id, member_id, member_email, thread_id, to = scene(site)
    for n in range(3):
        raw = (f"From: {member_email}\r\nTo: {to}\r\nSubject: Re\r\nMessage-ID: <rate-{n}-{thread_id}@example.org>\r\n"
               f"Content-Type: text/plain; charset=utf-8\r\n\r\nReactie nummer {n} over de wachtlijst.\r\n").encode()
        site.smtp(raw, to)
    assert [p[0] for p in site.posts(thread_id)] == [1, 2, 3]
    assert site.log(f"<rate-2-{thread_id}@example.org>").reason == "too_fast"
    (answer,) = answers(site, member_email, 1)
    with site.app.test_request_context("/nl/"):
        from forum.moderation.abuse import PostingRefused

        assert PostingRefused("too_fast").message in Mailbox.body(answer)


AUTH = "Authentication-Results: mx.agora.test; spf=pass smtp.mailfrom=example.org; dkim=pass; dmarc={result}\r\n"


def test_dmarc_failure_is_refused_when_the_mta_is_trusted(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    raw, message_id = corpus("gmail_nl.eml", to, member_email)
    raw = AUTH.format(result="fail").encode() + raw
    result = site.pipe(raw, AGORA_MAIL_IN_AUTHSERV_ID="mx.agora.test")
    assert result.stdout.decode().strip() == "refused: dmarc_failed"
    assert len(site.posts(thread_id)) == 1
    # Without the setting the same header means nothing (anyone can write one).
    raw2, _mid = corpus("gmail_nl.eml", to, member_email)
    assert site.pipe(AUTH.format(result="fail").encode() + raw2).stdout.decode().startswith("posted ")


def test_the_shared_theme_address_needs_a_trusted_dmarc_pass(site):
    member_id, member_email = site.member()
    _theme_id, slug = site.theme()
    to = f"{slug}@{DOMAIN}"

    def message(n, auth):
        return (auth + f"From: {member_email}\r\nTo: {to}\r\nSubject: Wie kent een goede trainer?\r\n"
                f"Message-ID: <shared-{n}-{slug}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                "Wij zoeken een trainer voor onze nieuwe leden.\r\n").encode()

    forged = message(1, "Authentication-Results: elsewhere.example; dmarc=pass\r\n")
    assert site.pipe(forged, AGORA_MAIL_IN_AUTHSERV_ID="mx.agora.test").stdout.decode().strip() == \
        "refused: unknown_address"
    passed = site.pipe(message(2, AUTH.format(result="pass")), AGORA_MAIL_IN_AUTHSERV_ID="mx.agora.test")
    assert passed.stdout.decode().startswith("posted ")
    with site.app.app_context():
        thread = db.session.scalar(db.select(Thread).join(Theme).where(Theme.slug == slug))
        assert (thread.title, thread.kind, thread.author_id) == ("Wie kent een goede trainer?", "question", member_id)


def test_mail_retry_processes_a_kept_message_that_failed(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    raw, message_id = corpus("gmail_nl.eml", to, member_email)
    with site.app.app_context():
        db.session.add(IncomingMail(message_id=message_id, sender=member_email, status="failed", reason="error",
                                    raw=raw, size=len(raw)))
        db.session.commit()
    result = site.app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "posted http://agora.test/nl/p/" in result.output
    assert site.log(message_id).status == "posted"
    assert site.posts(thread_id)[-1][2] == REPLIES["gmail_nl.eml"][0]


def test_a_silenced_member_and_a_closed_vacancy_are_refused(site):
    from datetime import date, timedelta

    author_id, member_id, member_email, thread_id, to = scene(site)
    with site.app.app_context():
        db.session.get(User, member_id).silenced_until = utcnow() + timedelta(days=3)
        db.session.commit()
    refused(site, "gmail_nl.eml", to, member_email, "forbidden")
    assert len(site.posts(thread_id)) == 1

    author_id, member_id, member_email, vacancy_id, to = scene(
        site, kind="vacancy", closes_on=date.today() - timedelta(days=1))
    refused(site, "gmail_nl.eml", to, member_email, "closed_vacancy")
    assert len(site.posts(vacancy_id)) == 1
    (answer,) = answers(site, member_email, 1)
    with site.app.test_request_context("/nl/"):
        from flask_babel import gettext

        assert gettext("This vacancy is closed.") in Mailbox.body(answer)


def test_mail_serve_speaks_lmtp(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    port = _free_port()
    server = subprocess.Popen(FLASK + ["mail", "serve", "--lmtp", "--host", "127.0.0.1", "--port", str(port)],
                              env=site.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert "(LMTP) on 127.0.0.1" in server.stdout.readline().decode()
        raw, message_id = corpus("apple_mail_image.eml", to, member_email)
        with smtplib.LMTP("127.0.0.1", port, timeout=60) as lmtp:
            assert lmtp.sendmail(member_email, [to], raw) == {}
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert site.posts(thread_id)[-1][2] == REPLIES["apple_mail_image.eml"][0]


def test_a_new_members_first_reply_is_held_for_review_and_the_member_told(site):
    """The receiver runs with the site's default pre-moderation of a new member's first posts
    only when it is on: here a second receiver process with AGORA_PREMODERATE_FIRST_POSTS=2."""
    author_id, member_id, member_email, thread_id, to = scene(site)
    raw, message_id = corpus("gmail_nl.eml", to, member_email)
    result = site.pipe(raw, AGORA_PREMODERATE_FIRST_POSTS="2")
    assert result.stdout.decode().startswith("held http://agora.test/nl/p/")
    assert site.posts(thread_id)[-1][3] == "held"
    (notice,) = answers(site, member_email, 1)
    with site.app.test_request_context("/nl/"):
        from flask_babel import gettext

        assert gettext("Thank you. Your reply will appear once a moderator has looked at it.") in Mailbox.body(notice)
        assert gettext("Your mail to the forum awaits a moderator") == notice["Subject"]


def test_html_mail_goes_through_the_one_sanitiser(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    html = ('<p>Zie <a href="javascript:alert(1)">hier</a> en <a href="https://example.org/rapport">het rapport</a>.</p>'
            '<script>alert(2)</script><img src="x" onerror="alert(3)"><p onclick="alert(4)">Groet</p>')
    raw = (f"From: {member_email}\r\nTo: {to}\r\nSubject: Re\r\nMessage-ID: <xss-{thread_id}@example.org>\r\n"
           f"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n").encode()
    site.pipe(raw, AGORA_MAIL_IN_AUTHSERV_ID="")
    with site.app.app_context():
        post = db.session.scalar(db.select(Post).where(Post.thread_id == thread_id, Post.number == 2))
        rendered = post.body_html
    assert 'href="https://example.org/rapport"' in rendered and "Groet" in rendered
    for bad in ('href="javascript', "<script", "onerror", "onclick", "alert(2)"):
        assert bad not in rendered


def test_the_envelope_of_a_pipe_counts(site):
    """Postfix passes ${sender} and ${recipient}: a null sender is a bounce whatever the headers."""
    author_id, member_id, member_email, thread_id, to = scene(site)
    raw, _mid = corpus("gmail_nl.eml", "someone-else@example.org", member_email)
    result = subprocess.run(FLASK + ["mail", "receive", "--sender", "", "--recipient", to], input=raw,
                            capture_output=True, env=site.env, cwd=ROOT, timeout=120)
    assert result.stdout.decode().strip() == "ignored: bounce"
    raw, _mid = corpus("gmail_nl.eml", "someone-else@example.org", member_email)
    result = subprocess.run(FLASK + ["mail", "receive", "--sender", member_email, "--recipient", to.upper()],
                            input=raw, capture_output=True, env=site.env, cwd=ROOT, timeout=120)
    assert result.stdout.decode().startswith("posted ")
    assert len(site.posts(thread_id)) == 2


def test_an_attachment_the_web_refuses_is_refused_by_mail_too(site):
    import base64
    import io
    import zipfile

    author_id, member_id, member_email, thread_id, to = scene(site)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notulen.txt", "Notulen van de vergadering")
    payload = base64.encodebytes(buffer.getvalue()).decode()
    raw = (f"From: {member_email}\r\nTo: {to}\r\nSubject: Re\r\nMessage-ID: <zip-{thread_id}@example.org>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
           "--zz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDe notulen zitten erbij.\r\n"
           "--zz\r\nContent-Type: application/zip; name=notulen.zip\r\n"
           "Content-Disposition: attachment; filename=notulen.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           f"{payload}\r\n--zz--\r\n").encode()
    site.smtp(raw, to)
    assert site.log(f"<zip-{thread_id}@example.org>").reason == "attachment"
    assert len(site.posts(thread_id)) == 1  # neither the text nor the file
    (answer,) = answers(site, member_email, 1)
    with site.app.test_request_context("/nl/"):
        from forum.attachments.services import problem_message

        assert problem_message("archive", name="notulen.zip") in Mailbox.body(answer)


def test_raw_messages_are_emptied_after_the_set_days(site):
    from datetime import timedelta

    with site.app.app_context():
        old = IncomingMail(message_id="<old@example.org>", sender="a@example.org", status="posted", raw=b"x",
                           received_at=utcnow() - timedelta(days=31))
        recent = IncomingMail(message_id="<recent@example.org>", sender="a@example.org", status="posted",
                              raw=b"y", received_at=utcnow() - timedelta(days=29))
        db.session.add_all([old, recent])
        db.session.commit()
    raw, _mid = corpus("auto_reply.eml", f"reply+1.1.{'0' * 20}@{DOMAIN}", "a@example.org")
    site.smtp(raw, f"reply+1.1.{'0' * 20}@{DOMAIN}")
    assert site.log("<old@example.org>").raw is None
    assert site.log("<recent@example.org>").raw == b"y"


def test_an_interrupted_delivery_is_finished_when_the_mta_tries_again(site):
    from datetime import timedelta

    author_id, member_id, member_email, thread_id, to = scene(site)
    raw, message_id = corpus("gmail_nl.eml", to, member_email)
    with site.app.app_context():  # kept, then the process died before deciding
        db.session.add(IncomingMail(message_id=message_id, sender=member_email, recipient=to, status="received",
                                    raw=raw, size=len(raw), received_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    result = site.pipe(raw)
    assert result.stdout.decode().startswith("posted ")
    assert site.log(message_id).status == "posted"
    assert site.pipe(raw).stdout.decode().strip() == "ignored: duplicate"
    assert len(site.posts(thread_id)) == 2


def plain(sender, to, message_id, text, subject="Re: onderwerp"):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n").encode()


def test_mentions_notify_and_the_same_text_twice_is_refused_as_on_the_web(site):
    author_id, member_id, member_email, thread_id, to = scene(site)
    mentioned_id, mentioned_email = site.member(name=f"Greet Mail{uuid.uuid4().hex[:4]}")
    with site.app.app_context():
        from forum.threads.mentions import handle_of

        handle = handle_of(db.session.get(User, mentioned_id).name)
    text = f"Goede vraag. @{handle} weet hier meer van."
    site.smtp(plain(member_email, to, f"<m1-{thread_id}@example.org>", text), to)
    assert site.posts(thread_id)[-1][2] == text
    note = site.mailbox.last(mentioned_email)  # mailed at once, with a reply address of their own
    assert note["Reply-To"] == site.reply_address(mentioned_id, thread_id)
    site.smtp(plain(member_email, to, f"<m2-{thread_id}@example.org>", text), to)
    assert site.log(f"<m2-{thread_id}@example.org>").reason == "duplicate"
    assert len(site.posts(thread_id)) == 2


def test_a_theme_only_moderators_may_post_in_is_refused(site):
    member_id, member_email = site.member()
    _theme_id, slug = site.theme(post_policy="moderators")
    to = site.theme_address(member_id, slug)
    site.smtp(plain(member_email, to, f"<mods-{slug}@example.org>", "Een aankondiging van mij.",
                    subject="Aankondiging van de week"), to)
    assert site.log(f"<mods-{slug}@example.org>").reason == "forbidden"
    with site.app.app_context():
        assert db.session.scalar(db.select(Thread).join(Theme).where(Theme.slug == slug)) is None
    assert len(answers(site, member_email, 1)) == 1


# -- outgoing: what the notification and digest mails carry --------------------------

@pytest.fixture
def app_config(app_config):
    return {**app_config, "MAIL_DOMAIN": DOMAIN}


def test_a_demo_site_without_smtp_writes_the_reply_address_into_instance_mail(app, make_user, make_thread, make_post):
    app.config["MAIL_SERVER"] = ""
    author = make_user(notify_mode="immediate")
    thread = make_thread(author=author)
    make_post(thread)
    files = sorted(Path(app.config["MAIL_FOLDER"]).glob("*.eml"))
    msg = message_from_bytes(files[-1].read_bytes(), policy=default_policy)
    with app.app_context():
        expected = addresses.reply_address(db.session.get(User, author.id), db.session.get(Thread, thread.id))
    assert msg["Reply-To"] == expected and expected.startswith(f"reply+{thread.id}.{author.id}.")
    assert msg["In-Reply-To"] == f"<agora.thread.{thread.id}@{DOMAIN}>"
    body = Mailbox.body(msg)
    with app.test_request_context("/nl/"):
        from flask_babel import force_locale, gettext

        for lang in ("nl", "fr"):  # the member's language first, then the other
            with force_locale(lang):
                line = gettext("Reply to this mail to post your reply in the topic (the quoted text is left out). "
                               "Switch this off or get new reply addresses: %(url)s",
                               url=f"http://agora.test/{lang}/settings/mail")
            assert line in body
    assert body.index("/nl/settings/mail") < body.index("/fr/settings/mail")


def test_the_demo_writes_a_notification_with_a_reply_address_into_instance_mail(app, runner):
    """`make run` loads the demo with AGORA_MAIL_DOMAIN=agora.localhost and no SMTP server."""
    app.config["MAIL_SERVER"] = ""
    result = runner.invoke(args=["forum", "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    mails = [message_from_bytes(f.read_bytes(), policy=default_policy)
             for f in sorted(Path(app.config["MAIL_FOLDER"]).glob("*.eml"))]
    to_marieke = [m for m in mails if m["To"] == "marieke@agora.example" and m["Reply-To"]]
    assert to_marieke and all(m["Reply-To"].startswith("reply+") and m["Reply-To"].endswith(f"@{DOMAIN}")
                              for m in to_marieke)


def test_the_digest_lists_a_reply_address_per_topic(app, mail, make_user, make_thread, make_post):
    from forum.jobs.digest import send_digests

    author = make_user(notify_mode="daily")
    thread = make_thread(author=author)
    make_post(thread)
    with app.app_context():
        send_digests("daily")
        expected = addresses.reply_address(db.session.get(User, author.id), db.session.get(Thread, thread.id))
    body = Mailbox.body(mail.last(author.email))
    assert expected in body
