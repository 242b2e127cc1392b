"""Every route of the app, for every kind of visitor: who gets a page, a sign-in redirect, 403 or 404.

The routes come from app.url_map, so a new route cannot be forgotten: a rule without an
entry in GET_EXPECTED / POST_EXPECTED fails the test with its endpoint named. To update
after an area changes its routes, add or change one line in the tables below.

The URLs carry real ids: a thread in a members-only theme started by another member, a
reply by that member, their notification, an organisation slug, ... so that guessing an
id never gives a member more than the policy allows.
"""
import pytest

from forum.extensions import db
from forum.models import Notification, OrganisationChangeRequest, Post, User, utcnow
from tests.conftest import CSRF_META, login

VISITORS = ("anonymous", "unconfirmed", "pending", "member", "silenced", "suspended", "moderator", "admin")

LOGIN = "login"        # 302 to the sign-in page
REDIRECT = "redirect"  # 302 anywhere else
OPEN = "open"          # POST only: allowed through the policy (any answer but 403, 404 or 5xx)


def expect(anonymous, nonmember=None, member=None, silenced=None, moderator=None, admin=None):
    """The expected answer per visitor; each argument defaults to the one before it.

    A suspended visitor's session is refused on every request, so they count as anonymous;
    unconfirmed and pending people are signed in but not (yet) members.
    """
    nonmember = anonymous if nonmember is None else nonmember
    member = nonmember if member is None else member
    silenced = member if silenced is None else silenced
    moderator = member if moderator is None else moderator
    admin = moderator if admin is None else admin
    return {"anonymous": anonymous, "suspended": anonymous, "unconfirmed": nonmember, "pending": nonmember,
            "member": member, "silenced": silenced, "moderator": moderator, "admin": admin}


PUBLIC = expect(200)
# Members-only content: anyone who may not read it gets the 404 an unknown id gets.
HIDDEN = expect(404, 404, 200)
SIGNED_IN = expect(LOGIN, 200)
MEMBERS = expect(LOGIN, 403, 200)
MODERATORS = expect(LOGIN, 403, 403, moderator=200)
ADMINS = expect(LOGIN, 403, 403, moderator=403, admin=200)
WRITERS = expect(LOGIN, 403, 200, silenced=403)  # silenced members read but do not write
MODERATOR_ONLY_EDIT = expect(LOGIN, 403, 403, moderator=200)  # another member's post

GET_EXPECTED = {
    # site pages
    "main.root": expect(REDIRECT),
    "main.home": PUBLIC, "main.about": PUBLIC, "main.privacy": PUBLIC, "main.terms": PUBLIC,
    "main.healthz": PUBLIC, "static": PUBLIC,
    # accounts
    "auth.login": expect(200, REDIRECT), "auth.register": expect(200, REDIRECT),
    "auth.registered": PUBLIC, "auth.resend_confirmation": PUBLIC, "auth.reset_request": PUBLIC,
    "auth.confirm": expect(400), "auth.reset_password": expect(400), "auth.confirm_email_change": expect(400),
    "auth.signin_link": expect(400), "auth.signin_link_request": expect(200, REDIRECT),
    "auth.login_code": expect(LOGIN),  # nobody is half-way through signing in
    "auth.settings_security": SIGNED_IN,
    "auth.totp_enrol": expect(LOGIN, REDIRECT), "auth.confirm_factor": expect(LOGIN, REDIRECT),  # nothing to confirm
    "auth.settings": SIGNED_IN, "auth.settings_email": SIGNED_IN, "auth.settings_password": SIGNED_IN,
    "auth.approvals": MODERATORS,
    # forum
    "threads.latest": PUBLIC, "threads.questions": PUBLIC, "threads.practices": PUBLIC,
    "threads.initiatives": PUBLIC, "threads.vacancies": PUBLIC, "threads.themes": PUBLIC,
    "threads.theme": HIDDEN,  # a members-only theme
    "threads.thread": HIDDEN,  # a thread in it (both rules: with and without slug)
    "threads.post": expect(404, 404, REDIRECT),
    "threads.edit_post": MODERATOR_ONLY_EDIT,
    "threads.post_history": MODERATOR_ONLY_EDIT,
    "threads.reply": WRITERS, "threads.new_thread": WRITERS,
    "threads.notifications": MEMBERS, "threads.profile": MEMBERS,
    "threads.unsubscribe": expect(404),  # a token that is not valid
    "threads_root.member_redirect": expect(REDIRECT),
    # moderation
    "moderation.queue": MODERATORS, "moderation.log": MODERATORS, "moderation.log_csv": ADMINS,
    "moderation.post": MODERATORS, "moderation.thread": MODERATORS, "moderation.user": MODERATORS,
    "moderation.edit_post": MODERATORS,
    "moderation.flag": MEMBERS,  # flagging another member's post
    # administration
    "admin.overview": MODERATORS, "admin.org_requests": MODERATORS,
    "admin.themes": ADMINS, "admin.new_theme": ADMINS, "admin.edit_theme": ADMINS,
    "admin.users": ADMINS, "admin.delete_user": ADMINS,
    "admin.organisations": ADMINS, "admin.new_organisation": ADMINS, "admin.edit_organisation": ADMINS,
    "admin.merge_organisation": ADMINS,
    "org_change.request": MEMBERS,
    # privacy
    "privacy.export": SIGNED_IN, "privacy.delete": SIGNED_IN,
    # badges
    "badges.directory": PUBLIC, "badges.verify": PUBLIC, "badges.svg": PUBLIC, "badges.png": PUBLIC,
    "badges.static": PUBLIC, "badges.member_badge": MEMBERS,
    # attachments (an image on the other member's reply in the members-only theme)
    "attachments.download": HIDDEN, "attachments.thumbnail": HIDDEN, "attachments.static": PUBLIC,
    "attachments_pages.remove": MODERATOR_ONLY_EDIT,
    # feeds, API, search
    "feeds.latest": PUBLIC, "feeds.kind": PUBLIC, "feeds.theme": PUBLIC,  # a public theme
    "api.index": PUBLIC, "api.themes": PUBLIC, "api.threads": PUBLIC, "api.organisations": PUBLIC,
    "api.thread": HIDDEN,  # members-only thread: not revealed to others
    "search.search": PUBLIC, "search_api.api_search": PUBLIC,
    # advice register (the world's thread is a question: recording an answer on it is a 404)
    "advice.register": PUBLIC, "advice.register_csv": PUBLIC, "advice.statistics": MODERATORS,
    "advice.record_answer": expect(LOGIN, 403, 404), "api.advice": PUBLIC,
    "advice.edit": expect(LOGIN, 403, 404), "advice.history": expect(404),
    # events (a members-only event of the owner's council)
    "events.upcoming": PUBLIC, "events.month": PUBLIC, "events.feed_ics": PUBLIC, "api.events": PUBLIC,
    "events.event": HIDDEN, "events.event_ics": HIDDEN, "events.new": WRITERS,
    "events.edit": MODERATOR_ONLY_EDIT, "events.participants_csv": MODERATOR_ONLY_EDIT,
    # mail-in: the member's own settings; the incoming-mail log and a raw message are staff only
    "mailin.settings": SIGNED_IN, "mailin.log": MODERATORS, "mailin.raw": MODERATORS,
    "events.calendar_page": MEMBERS, "events.personal_feed": expect(404),  # a token that is not valid
}


def refused(member=403, anonymous=LOGIN):
    return {"anonymous": anonymous, "member": member}


MOD_POST = refused(403)
ADMIN_POST = refused(403)
MEMBER_POST = refused(OPEN)

POST_EXPECTED = {
    # accounts: public forms answer (400 for an empty form); signed-in forms need an account
    "auth.login": refused(OPEN, OPEN), "auth.register": refused(OPEN, OPEN),
    "auth.resend_confirmation": refused(OPEN, OPEN), "auth.reset_request": refused(OPEN, OPEN),
    "auth.reset_password": refused(OPEN, OPEN),
    "auth.signin_link": refused(OPEN, OPEN),
    "auth.signin_link_request": refused(OPEN, OPEN), "auth.login_code": refused(OPEN, OPEN),
    "auth.totp_start": MEMBER_POST, "auth.totp_enrol": MEMBER_POST, "auth.totp_remove": MEMBER_POST,
    "auth.recovery_codes": MEMBER_POST, "auth.confirm_factor": MEMBER_POST, "auth.password_off": MEMBER_POST,
    "auth.reset_second_factor": ADMIN_POST,
    # passkeys: sign-in is public (JSON; an empty form is a 400); the owner's passkey is a 404 to others
    "auth.passkey_login_options": refused(OPEN, OPEN), "auth.passkey_login": refused(OPEN, OPEN),
    "auth.passkey_register_options": MEMBER_POST, "auth.passkey_register": MEMBER_POST,
    "auth.passkey_rename": refused(404), "auth.passkey_remove": refused(404),
    "auth.passkey_confirm_options": MEMBER_POST, "auth.passkey_confirm": MEMBER_POST,
    "auth.logout": refused(None),  # a member posting here would end the session used below
    "auth.settings": MEMBER_POST, "auth.settings_email": MEMBER_POST, "auth.settings_password": MEMBER_POST,
    "mailin.settings": MEMBER_POST,
    "auth.approve": MOD_POST, "auth.reject": MOD_POST,
    # forum: the post and thread belong to another member
    "threads.new_thread": MEMBER_POST, "threads.reply": MEMBER_POST, "threads.preview": refused(OPEN, 403),
    "threads.edit_post": refused(403), "threads.delete_post": refused(403),
    "threads.accept": refused(403), "threads.unaccept": refused(403),
    "threads.thank": MEMBER_POST, "threads.watch_thread": MEMBER_POST, "threads.watch_theme": MEMBER_POST,
    "threads.notification_read": refused(404),  # someone else's notification
    "threads.notifications_read_all": MEMBER_POST,
    "threads.unsubscribe": refused(404, 404),
    "threads.unsubscribe_one_click": refused(404, 404),  # forged token; no CSRF by design (RFC 8058)
    # moderation
    "moderation.flag": MEMBER_POST,
    "moderation.hide_post": MOD_POST, "moderation.restore_post": MOD_POST, "moderation.dismiss_flags": MOD_POST,
    "moderation.approve_post": MOD_POST, "moderation.delete_post": MOD_POST, "moderation.edit_post": MOD_POST,
    "moderation.lock_thread": MOD_POST, "moderation.pin_thread": MOD_POST, "moderation.move_thread": MOD_POST,
    "moderation.merge_thread": MOD_POST, "moderation.vacancy": MOD_POST, "moderation.change_kind": MOD_POST,
    "moderation.sanction": MOD_POST, "moderation.lift": MOD_POST,
    # administration
    "admin.new_theme": ADMIN_POST, "admin.edit_theme": ADMIN_POST, "admin.move_theme": ADMIN_POST,
    "admin.set_role": ADMIN_POST, "admin.delete_user": ADMIN_POST,
    "admin.new_organisation": ADMIN_POST, "admin.edit_organisation": ADMIN_POST,
    "admin.set_membership": ADMIN_POST, "admin.merge_organisation": ADMIN_POST,
    "admin.approve_org_request": MOD_POST, "admin.refuse_org_request": MOD_POST,
    "org_change.request": MEMBER_POST, "org_change.withdraw": MEMBER_POST,
    "attachments_pages.remove": refused(403),
    "advice.record_answer": refused(404), "advice.edit": refused(404),
    # privacy
    "privacy.export_download": MEMBER_POST, "privacy.delete": MEMBER_POST,
    # events: the event belongs to the owner's council
    "events.new": MEMBER_POST, "events.register": MEMBER_POST, "events.unregister": MEMBER_POST,
    "events.edit": refused(403), "events.cancel": refused(403),
    "events.approve": MOD_POST, "events.refuse": MOD_POST,
    "events.calendar_new": MEMBER_POST, "events.calendar_revoke": MEMBER_POST,
}

# URL arguments: by name from the fixture's ids, with per-endpoint exceptions.
ARGUMENT_OVERRIDES = {
    "badges.verify": {"slug": "org_slug"}, "badges.svg": {"slug": "org_slug"}, "badges.png": {"slug": "org_slug"},
    "badges.static": {"filename": "badge_css"},
    "feeds.theme": {"slug": "public_theme_slug"},
    "threads.thread": {"slug": "thread_slug"},
    "attachments.static": {"filename": "attachments_js"},
    "attachments.download": {"name": "attachment_name"},
}


def _attach_image(app, post_id, uploader_id):
    """A small PNG on the post; its ids for the URLs."""
    import io

    from PIL import Image

    from forum.attachments import services as attachments

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    with app.app_context():
        post = db.session.get(Post, post_id)
        prepared = attachments.check_file(buffer.getvalue(), "schema.png")
        row = attachments.add_attachments(post, uploader_id, [prepared])[0]
        db.session.commit()
        return {"attachment_id": row.id, "attachment_name": row.filename, "attachments_js": "attachments.js"}


def _passkey(app, owner_id):
    """A passkey of the owner (the key bytes need not verify: nobody may reach it); its id."""
    from forum.models import Passkey

    with app.app_context():
        passkey = Passkey(user_id=owner_id, credential_id="b3duZXItcGFzc2tleQ", public_key=b"\xa5",
                          user_handle="aGFuZGxl", name="Sleutel van de eigenaar")
        db.session.add(passkey)
        db.session.commit()
        return passkey.id


def _members_event(app, owner_id, org_id):
    """A members-only event planned by the owner for their council; its id."""
    from datetime import datetime, timedelta

    from forum.events import services as events
    from forum.models import Organisation

    starts = (datetime.now() + timedelta(days=30)).replace(hour=19, minute=0, second=0, microsecond=0)
    with app.app_context():
        event = events.create_event(db.session.get(User, owner_id), db.session.get(Organisation, org_id), {
            "title": "Besloten informatieavond", "kind": "information", "language": "nl",
            "timezone": "Europe/Amsterdam", "starts_at": starts, "ends_at": starts + timedelta(hours=2),
            "audience": "members"})
        return event.id


@pytest.fixture
def app_config(app_config):
    # Cheap password hashing: this test signs in eight people.
    return dict(app_config, PASSWORD_HASH_METHOD="scrypt:4096:8:1")


@pytest.fixture
def world(app, make_org, make_user, make_theme, make_thread, make_post):
    """Content owned by one member ('owner') that every visitor tries to reach."""
    org = make_org(name="Adviesraad Matrixdorp", slug="adviesraad-matrixdorp")
    other_org = make_org(name="Adviesraad Elders")
    owner = make_user(name="Eigen Aar", organisation=org)
    members_theme = make_theme(visibility="members")
    public_theme = make_theme(visibility="public")
    thread = make_thread(author=owner, theme=members_theme, kind="question",
                         title="Vraag in een besloten thema over de Wmo")
    reply = make_post(thread, author=owner, body="Een reactie van de eigenaar zelf.")
    with app.app_context():
        notification = Notification(user_id=owner.id, kind="reply", thread_id=thread.id, post_id=reply.id)
        change = OrganisationChangeRequest(user_id=owner.id, organisation_id=other_org.id)
        db.session.add_all([notification, change])
        db.session.commit()
        ids = {
            "lang": "nl", "thread_id": thread.id, "post_id": reply.id, "user_id": owner.id,
            "theme_id": members_theme.id, "org_id": org.id, "request_id": change.id,
            "notification_id": notification.id, "token": "not-a-valid-token", "kind": "question",
            "filename": "agora.css", "badge_css": "badges.css", "slug": members_theme.slug,
            "org_slug": org.slug, "public_theme_slug": public_theme.slug, "thread_slug": "vraag",
        }
    ids.update(_attach_image(app, reply.id, owner.id))
    ids["event_id"] = _members_event(app, owner.id, org.id)
    ids["passkey_id"] = _passkey(app, owner.id)
    ids["mail_id"] = _incoming_mail(app, owner.id)
    return {"ids": ids, "owner": owner, "reply": reply, "thread": thread}


def _incoming_mail(app, user_id):
    from forum.mailin.models import IncomingMail

    with app.app_context():
        row = IncomingMail(message_id="<matrix@example.org>", sender="lid@example.org", status="posted",
                           user_id=user_id, raw=b"From: lid@example.org\r\n\r\nTekst\r\n")
        db.session.add(row)
        db.session.commit()
        return row.id


def _visitor_clients(app, make_user):
    """One test client per kind of visitor, signed in where that applies."""
    clients = {"anonymous": app.test_client()}
    people = {
        "unconfirmed": make_user(), "pending": make_user(), "member": make_user(),
        "silenced": make_user(silenced_until=utcnow().replace(year=utcnow().year + 1)),
        "suspended": make_user(), "moderator": make_user(role="moderator"), "admin": make_user(role="admin"),
    }
    for kind, person in people.items():
        client = app.test_client()
        login(client, person)
        clients[kind] = client
    # Sessions that started before the status changed: the status counts, not the cookie.
    with app.app_context():
        for kind in ("unconfirmed", "pending", "suspended"):
            db.session.get(User, people[kind].id).status = kind
        db.session.commit()
    return clients


def _path(rule, ids):
    overrides = ARGUMENT_OVERRIDES.get(rule.endpoint, {})
    values = {}
    for arg in rule.arguments:
        key = overrides.get(arg, arg)
        if key not in ids:
            raise AssertionError(f"{rule.endpoint}: no test value for URL argument <{arg}> (add it to ids)")
        values[arg] = ids[key]
    return rule.build(values, append_unknown=False)[1]


def _matches(expected, response):
    status = response.status_code
    location = response.headers.get("Location", "")
    if expected == LOGIN:
        return status == 302 and "/login" in location
    if expected == REDIRECT:
        return status in (301, 302, 303, 308) and "/login" not in location
    if expected == OPEN:
        return status < 500 and status not in (403, 404)
    return status == expected


def _describe(response):
    location = response.headers.get("Location")
    return f"{response.status_code}" + (f" → {location}" if location else "")


def _rules(app, method):
    rules = [r for r in app.url_map.iter_rules() if method in (r.methods or ())]
    return sorted(rules, key=lambda r: (r.endpoint, r.rule))


def test_every_route_has_an_expectation(app):
    missing = sorted({r.endpoint for r in _rules(app, "GET")} - GET_EXPECTED.keys())
    missing += sorted({f"{r.endpoint} (POST)" for r in _rules(app, "POST")} - {f"{e} (POST)" for e in POST_EXPECTED})
    assert not missing, "routes without an entry in the authorisation matrix: " + ", ".join(missing)
    stale = sorted(GET_EXPECTED.keys() - {r.endpoint for r in _rules(app, "GET")})
    stale += sorted(POST_EXPECTED.keys() - {r.endpoint for r in _rules(app, "POST")})
    assert not stale, "matrix entries for routes that no longer exist: " + ", ".join(stale)


SIGNED_IN_VISITORS = ("unconfirmed", "pending", "member", "silenced", "moderator", "admin")


def _cache_problem(rule, response):
    """What is wrong with the caching headers of an answer to a signed-in person, or None.

    One rule (forum/security.py): pages and JSON are `private, no-store` (or stricter, or
    `private, no-cache` where they revalidate); other answers carry an explicit policy of
    their own (badges and feeds are public: the same for everyone)."""
    control = response.cache_control
    if response.mimetype in ("text/html", "application/json"):
        if control.public or not (control.no_store or (control.private and control.no_cache)):
            return f"Cache-Control {response.headers.get('Cache-Control')!r} on {response.mimetype}"
    elif "Cache-Control" not in response.headers:
        return f"no Cache-Control on {response.mimetype}"
    return None


def test_get_routes_for_every_kind_of_visitor(app, world, make_user):
    """Every route for every visitor: the expected answer and, for signed-in people, answers
    no shared cache may keep."""
    clients = _visitor_clients(app, make_user)
    failures = []
    checked = cache_checked = 0
    for rule in _rules(app, "GET"):
        expected = GET_EXPECTED.get(rule.endpoint)
        if expected is None:
            failures.append(f"{rule.endpoint} {rule.rule}: no expectation in GET_EXPECTED")
            continue
        path = _path(rule, world["ids"])
        for visitor in VISITORS:
            response = clients[visitor].get(path)
            checked += 1
            if not _matches(expected[visitor], response):
                failures.append(f"{rule.endpoint} GET {path} as {visitor}: expected {expected[visitor]}, "
                                f"got {_describe(response)}")
            if visitor in SIGNED_IN_VISITORS:
                cache_checked += 1
                problem = _cache_problem(rule, response)
                if problem:
                    failures.append(f"{rule.endpoint} GET {path} as {visitor}: {problem}")
    assert not failures, f"{len(failures)} of {checked} checks failed:\n" + "\n".join(failures)
    assert checked >= len(GET_EXPECTED) * len(VISITORS)
    assert cache_checked >= len(GET_EXPECTED) * len(SIGNED_IN_VISITORS)


def test_post_routes_refuse_anonymous_and_members_where_they_must(app, world, make_user):
    clients = _visitor_clients(app, make_user)
    failures = []
    for rule in _rules(app, "POST"):
        expected = POST_EXPECTED.get(rule.endpoint)
        if expected is None:
            failures.append(f"{rule.endpoint} {rule.rule}: no expectation in POST_EXPECTED")
            continue
        path = _path(rule, world["ids"])
        for visitor in ("anonymous", "member"):
            if expected[visitor] is None:
                continue
            # A valid CSRF token: the refusal must come from the policy, not from CSRF.
            response = clients[visitor].post_form(path, {})
            if not _matches(expected[visitor], response):
                failures.append(f"{rule.endpoint} POST {path} as {visitor}: expected {expected[visitor]}, "
                                f"got {_describe(response)}")
    assert not failures, "\n".join(failures)
    # Nothing a member tried on someone else's post got through.
    with app.app_context():
        post = db.session.get(Post, world["reply"].id)
        assert post.status == "visible" and post.body_source == "Een reactie van de eigenaar zelf."
        assert db.session.get(User, world["owner"].id).role == "member"
        from forum.models import Passkey
        passkey = db.session.get(Passkey, world["ids"]["passkey_id"])
        assert passkey is not None and passkey.name == "Sleutel van de eigenaar"


@pytest.mark.parametrize("method,path", [
    ("get", "/nl/p/{post_id}/edit"), ("get", "/nl/p/{post_id}/history"),
    ("post", "/nl/p/{post_id}/edit"), ("post", "/nl/p/{post_id}/delete"),
    ("post", "/nl/mod/p/{post_id}/hide"), ("post", "/nl/mod/p/{post_id}/delete"),
])
def test_a_member_cannot_touch_another_members_post_by_guessing_its_id(app, world, make_user, method, path):
    member = make_user()
    client = app.test_client()
    login(client, member)
    url = path.format(post_id=world["reply"].id)
    response = client.get(url) if method == "get" else client.post_form(url, {"body": "Overschreven!"})
    assert response.status_code == 403, f"{method.upper()} {url}: {response.status_code}"
    with app.app_context():
        post = db.session.get(Post, world["reply"].id)
        assert post.status == "visible" and post.body_source == "Een reactie van de eigenaar zelf."


@pytest.mark.parametrize("visitor", ["anonymous", "pending"])
def test_members_only_content_answers_exactly_like_an_unknown_id(app, world, make_user, visitor):
    """Someone who may not read members-only content cannot tell it from content that does not
    exist: same status, same page (apart from the address asked for, which the sign-in link
    echoes), so ids cannot be enumerated. Threads, posts, themes, attachments, histories,
    feeds and the API agree."""
    ids = world["ids"]
    client = app.test_client()
    if visitor == "pending":
        person = make_user()
        login(client, person)
        with app.app_context():
            db.session.get(User, person.id).status = "pending"
            db.session.commit()
    missing = 2**31 - 1
    # A new session settles in two requests (CSRF token, then Flask-Login's "not fresh"
    # mark), whatever is asked for: let it settle before comparing Set-Cookie.
    for _ in range(2):
        client.get(f"/nl/t/{missing}")
    pairs = [
        (f"/nl/t/{ids['thread_id']}", f"/nl/t/{missing}"),
        (f"/nl/t/{ids['thread_id']}/vraag", f"/nl/t/{missing}/vraag"),
        (f"/nl/p/{ids['post_id']}", f"/nl/p/{missing}"),
        (f"/nl/p/{ids['post_id']}/history", f"/nl/p/{missing}/history"),
        (f"/nl/themes/{ids['slug']}", "/nl/themes/bestaat-niet"),
        (f"/nl/themes/{ids['slug']}/feed.atom", "/nl/themes/bestaat-niet/feed.atom"),
        (f"/attachments/{ids['attachment_id']}/schema.png", f"/attachments/{missing}/schema.png"),
        (f"/attachments/{ids['attachment_id']}/wat-dan-ook.exe", f"/attachments/{missing}/wat-dan-ook.exe"),
        (f"/attachments/{ids['attachment_id']}/thumbnail", f"/attachments/{missing}/thumbnail"),
        (f"/api/v1/threads/{ids['thread_id']}", f"/api/v1/threads/{missing}"),
    ]
    def without(text, path):
        # The address asked for, in either language (the page links its other-language twin),
        # and the CSRF token, which carries the second it was signed in.
        token = CSRF_META.search(text)
        if token:
            text = text.replace(token.group(1), "")
        return text.replace(path, "").replace(path.replace("/nl/", "/fr/", 1), "")

    for known, unknown in pairs:
        a, b = client.get(known), client.get(unknown)
        assert a.status_code == b.status_code and a.status_code in (302, 403, 404), (known, a.status_code, b.status_code)
        page = without(a.get_data(as_text=True), known)
        assert page == without(b.get_data(as_text=True), unknown), known
        assert without(a.headers.get("Location", ""), known) == without(b.headers.get("Location", ""), unknown)
        for header in ("Content-Type", "Cache-Control", "Vary", "Set-Cookie"):
            assert a.headers.get(header) == b.headers.get(header), (known, header)
        assert f"/p/{ids['post_id']}" not in page
    page = client.get(pairs[0][0]).get_data(as_text=True)
    if visitor == "anonymous":
        # The 404 page offers to sign in and come back to the same address.
        assert f'href="/nl/login?next={pairs[0][0]}"' in page
    else:
        assert "/nl/login?next=" not in page


def test_public_pages_for_anonymous_readers_stay_cacheable(app, make_theme, make_thread):
    """The private rule is for signed-in people: public pages read anonymously carry no
    `no-store` and no `private`, and say that they vary by the session cookie."""
    thread = make_thread(theme=make_theme(visibility="public"))
    client = app.test_client()
    for path in ("/nl/", "/nl/latest", "/nl/themes", f"/nl/t/{thread.id}", "/nl/members", "/fr/about",
                 "/nl/feed.atom", "/api/v1/threads"):
        response = client.get(path)
        control = response.cache_control
        assert response.status_code == 200, path
        assert not control.no_store and not control.private and not control.no_cache, (path, control)
        if response.mimetype == "text/html":
            assert "cookie" in response.headers.get("Vary", "").lower(), path
