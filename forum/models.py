"""The domain model: organisations, people, themes, threads, posts and their satellites."""
import secrets
from datetime import date, datetime, timezone

from flask_login import UserMixin
from sqlalchemy import func
from sqlalchemy import inspect as sa_inspect

from .extensions import db
from .places import COUNTRIES  # noqa: F401  (re-exported: forms and validation import it from here)

LANGUAGES = ("nl", "fr")
MEMBERSHIP_STATUSES = ("pending", "active", "lapsed", "ended")
ORGANISATION_KINDS = ("adviesraad", "clientenraad", "regional", "other")
ROLES = ("member", "moderator", "admin")
USER_STATUSES = ("unconfirmed", "pending", "active", "suspended")
NOTIFY_MODES = ("immediate", "daily", "weekly", "never")
THEME_VISIBILITIES = ("public", "members")
THEME_POST_POLICIES = ("everyone", "moderators")
# "event": the discussion thread of an event (questions before, minutes and slides after), only
# opened by forum/events/, never chosen on the new-topic form.
THREAD_KINDS = ("question", "practice", "initiative", "vacancy", "advice", "discussion", "announcement", "event")
POST_STATUSES = ("visible", "held", "hidden", "deleted")
FLAG_REASONS = ("spam", "offensive", "off_topic", "privacy", "other")


def utcnow():
    """Naive UTC timestamps everywhere: SQLite has no time zones, and one rule is simpler."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_token():
    return secrets.token_urlsafe(24)


class TimestampMixin:
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Organisation(TimestampMixin, db.Model):
    """A member council; its membership status and dates are what badges certify."""

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    slug = db.Column(db.String(120), nullable=False, unique=True)
    kind = db.Column(db.String(20), nullable=False, default="adviesraad")
    municipality = db.Column(db.String(120), nullable=False, default="")
    province = db.Column(db.String(120), nullable=False, default="")
    country = db.Column(db.String(2), nullable=False, default="NL")
    language = db.Column(db.String(2), nullable=False, default="nl")
    website = db.Column(db.String(300), nullable=False, default="")
    membership_status = db.Column(db.String(10), nullable=False, default="pending", index=True)
    member_since = db.Column(db.Date)
    member_until = db.Column(db.Date)
    # Bumped on every change that alters what a badge says; part of the badge ETag.
    badge_version = db.Column(db.Integer, nullable=False, default=1)
    merged_into_id = db.Column(db.Integer, db.ForeignKey("organisation.id"))
    import_ref = db.Column(db.String(80), unique=True)  # set by `forum import`

    users = db.relationship("User", back_populates="organisation", foreign_keys="User.organisation_id")

    @property
    def is_member(self):
        """Active membership today: the only state in which a badge says 'member'."""
        if self.membership_status != "active":
            return False
        today = date.today()
        if self.member_since and self.member_since > today:
            return False
        return not (self.member_until and self.member_until < today)

    def __repr__(self):
        return f"<Organisation {self.slug}>"


class User(UserMixin, TimestampMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    # Stored lower-cased: e-mail addresses are unique regardless of case.
    email = db.Column(db.String(254), nullable=False, unique=True)
    name = db.Column(db.String(80), nullable=False)
    password_hash = db.Column(db.String(255))
    locale = db.Column(db.String(2), nullable=False, default="nl")
    role = db.Column(db.String(10), nullable=False, default="member", index=True)
    status = db.Column(db.String(12), nullable=False, default="unconfirmed", index=True)
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisation.id"), index=True)
    # Part of the login cookie (Flask-Login's alternative token): changing it signs out
    # every session of this user, which logout and a password change do.
    session_token = db.Column(db.String(40), nullable=False, default=new_token)
    confirmed_at = db.Column(db.DateTime)
    approved_at = db.Column(db.DateTime)
    last_seen_at = db.Column(db.DateTime)
    terms_accepted_at = db.Column(db.DateTime)
    # An e-mail change waits here until the new address is confirmed.
    new_email = db.Column(db.String(254))
    bio = db.Column(db.Text, nullable=False, default="")
    notify_mode = db.Column(db.String(10), nullable=False, default="weekly")
    silenced_until = db.Column(db.DateTime)
    suspended_until = db.Column(db.DateTime)
    sanction_reason = db.Column(db.Text, nullable=False, default="")
    deleted_at = db.Column(db.DateTime)
    import_ref = db.Column(db.String(80), unique=True)  # set by `forum import`

    organisation = db.relationship("Organisation", back_populates="users", foreign_keys=[organisation_id])

    def set_password(self, password):
        # Hashing has one door (auth/passwords.py); request code hashes before its write
        # transaction and assigns password_hash itself.
        from auth.passwords import hash_password

        self.password_hash = hash_password(password)

    def check_password(self, password):
        from auth.passwords import password_matches

        return bool(self.password_hash) and password_matches(self.password_hash, password)

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self):
        self.session_token = new_token()

    @property
    def is_active(self):
        # Flask-Login refuses to log in inactive users; suspension is checked in auth.
        return self.deleted_at is None

    @property
    def is_moderator(self):
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def is_silenced(self):
        return bool(self.silenced_until and self.silenced_until > utcnow())

    @property
    def is_suspended(self):
        if self.status != "suspended":
            return False
        return self.suspended_until is None or self.suspended_until > utcnow()

    def __repr__(self):
        return f"<User {self.id} {self.email}>"


class Theme(TimestampMixin, db.Model):
    """A category with a name in both languages and a visibility."""

    id = db.Column(db.Integer, primary_key=True)
    slug = db.Column(db.String(80), nullable=False, unique=True)
    name_nl = db.Column(db.String(120), nullable=False)
    name_fr = db.Column(db.String(120), nullable=False)
    description_nl = db.Column(db.Text, nullable=False, default="")
    description_fr = db.Column(db.Text, nullable=False, default="")
    position = db.Column(db.Integer, nullable=False, default=0)
    visibility = db.Column(db.String(10), nullable=False, default="members")
    post_policy = db.Column(db.String(12), nullable=False, default="everyone")

    def name(self, lang):
        return self.name_fr if lang == "fr" else self.name_nl

    def description(self, lang):
        return self.description_fr if lang == "fr" else self.description_nl


thread_tags = db.Table(
    "thread_tag",
    db.Column("thread_id", db.Integer, db.ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False, unique=True)


class Thread(TimestampMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    theme_id = db.Column(db.Integer, db.ForeignKey("theme.id"), nullable=False)
    kind = db.Column(db.String(12), nullable=False)
    title = db.Column(db.String(200), nullable=False)
    language = db.Column(db.String(2), nullable=False, default="nl")
    author_id = db.Column(db.Integer, db.ForeignKey("user.id"), index=True)
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisation.id"), index=True)
    status = db.Column(db.String(10), nullable=False, default="visible")
    # Kind-specific, queryable fields get columns; the rest live in `fields`.
    municipality = db.Column(db.String(120), nullable=False, default="", index=True)
    province = db.Column(db.String(120), nullable=False, default="")
    closes_on = db.Column(db.Date)
    closed = db.Column(db.Boolean, nullable=False, default=False)
    fields = db.Column(db.JSON, nullable=False, default=dict)
    accepted_post_id = db.Column(db.Integer, db.ForeignKey("post.id", use_alter=True, ondelete="SET NULL"))
    locked = db.Column(db.Boolean, nullable=False, default=False)
    pinned = db.Column(db.String(6), nullable=False, default="")  # "", "theme" or "site"
    last_post_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    last_post_id = db.Column(db.Integer)
    post_count = db.Column(db.Integer, nullable=False, default=0)
    thanks_count = db.Column(db.Integer, nullable=False, default=0)
    merged_into_id = db.Column(db.Integer, db.ForeignKey("thread.id"))
    import_ref = db.Column(db.String(80), unique=True)
    # Raised with every change to the thread or one of its posts (forum/pagecache.py, at
    # commit, whatever the code path): the thread page kept per worker is valid while it is.
    cache_revision = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    # Advice only (NULL on every other kind): indexed copies of the register's fields in
    # `fields`, so the register filters, sorts and counts on columns. Written only through
    # advice_columns() below: the ORM hooks at the end of this module for every ORM writer,
    # a direct call in every bulk insert (forum/io/importer.py, bench/advice.py).
    sent_on = db.Column(db.Date)
    sent_year = db.Column(db.Integer)
    answer_status = db.Column(db.String(12))
    requested = db.Column(db.Boolean)
    # When something the register counts last changed on this advice (kind, fields, status,
    # theme, merge, place, language); a reply does not touch it. NULL on other kinds.
    register_changed_at = db.Column(db.DateTime)

    theme = db.relationship("Theme")
    author = db.relationship("User", foreign_keys=[author_id])
    organisation = db.relationship("Organisation")
    tags = db.relationship("Tag", secondary=thread_tags, order_by="Tag.name")
    accepted_post = db.relationship("Post", foreign_keys=[accepted_post_id], post_update=True)

    # One index per list filter (none, theme, kind) and sort (activity, newest, thanks), each
    # ending in the sort columns, so a list page reads its rows in index order and stops
    # after one page instead of sorting every thread (tests/test_list_queries.py reads the
    # plans). They also serve the plain theme_id, kind and status look-ups.
    __table_args__ = (
        db.Index("ix_thread_status_activity", "status", "last_post_at", "id"),
        db.Index("ix_thread_status_created", "status", "created_at", "id"),
        db.Index("ix_thread_status_thanks", "status", "thanks_count", "last_post_at", "id"),
        db.Index("ix_thread_theme_activity", "theme_id", "status", "last_post_at", "id"),
        db.Index("ix_thread_theme_created", "theme_id", "status", "created_at", "id"),
        db.Index("ix_thread_theme_thanks", "theme_id", "status", "thanks_count", "last_post_at", "id"),
        db.Index("ix_thread_kind_activity", "kind", "status", "last_post_at", "id"),
        db.Index("ix_thread_kind_created", "kind", "status", "created_at", "id"),
        db.Index("ix_thread_kind_thanks", "kind", "status", "thanks_count", "last_post_at", "id"),
        db.Index("ix_thread_author_created", "author_id", "status", "created_at", "id"),
        # Partial: only the few pinned threads, so the planner knows the look-up is small.
        db.Index("ix_thread_pinned", "pinned", sqlite_where=db.text("pinned != ''"),
                 postgresql_where=db.text("pinned != ''")),
        # The advice register (forum/advice/services.py): partial, on advice rows only (the
        # register's queries say `sent_on IS NOT NULL`, a predicate with no bound value, so
        # SQLite and PostgreSQL's generic plans can both prove the index applies).
        db.Index("ix_thread_advice_sent", "status", "sent_on", "id",
                 sqlite_where=db.text("sent_on IS NOT NULL"), postgresql_where=db.text("sent_on IS NOT NULL")),
        db.Index("ix_thread_advice_status", "answer_status", "status", "sent_on", "id",
                 sqlite_where=db.text("sent_on IS NOT NULL"), postgresql_where=db.text("sent_on IS NOT NULL")),
        db.Index("ix_thread_advice_year", "sent_year", "status", "sent_on", "id",
                 sqlite_where=db.text("sent_on IS NOT NULL"), postgresql_where=db.text("sent_on IS NOT NULL")),
        db.Index("ix_thread_advice_changed", "register_changed_at",
                 sqlite_where=db.text("sent_on IS NOT NULL"), postgresql_where=db.text("sent_on IS NOT NULL")),
        db.Index("ix_thread_advice_id", "id",
                 sqlite_where=db.text("sent_on IS NOT NULL"), postgresql_where=db.text("sent_on IS NOT NULL")),
    )

    @property
    def is_open_vacancy(self):
        return self.kind == "vacancy" and not self.closed and not (
            self.closes_on and self.closes_on < date.today()
        )


class Post(TimestampMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    thread_id = db.Column(db.Integer, db.ForeignKey("thread.id", ondelete="CASCADE"), nullable=False, index=True)
    author_id = db.Column(db.Integer, db.ForeignKey("user.id"), index=True)
    number = db.Column(db.Integer, nullable=False)  # 1 is the opening post
    body_source = db.Column(db.Text, nullable=False)
    body_html = db.Column(db.Text, nullable=False)
    status = db.Column(db.String(10), nullable=False, default="visible", index=True)
    hidden_reason = db.Column(db.Text, nullable=False, default="")
    edited_at = db.Column(db.DateTime)
    edit_count = db.Column(db.Integer, nullable=False, default=0)
    thanks_count = db.Column(db.Integer, nullable=False, default=0)
    reply_to_id = db.Column(db.Integer, db.ForeignKey("post.id", ondelete="SET NULL"))
    import_ref = db.Column(db.String(80), unique=True)

    thread = db.relationship("Thread", foreign_keys=[thread_id], backref=db.backref("posts", order_by="Post.number", lazy="dynamic", passive_deletes=True))
    author = db.relationship("User", foreign_keys=[author_id])

    __table_args__ = (db.UniqueConstraint("thread_id", "number", name="uq_post_thread_number"),)


class PostRevision(db.Model):
    """An earlier version of a post, kept on every edit."""

    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.Integer, db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    editor_id = db.Column(db.Integer, db.ForeignKey("user.id"))
    title = db.Column(db.String(200))
    body_source = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    editor = db.relationship("User")


class AdviceRevision(db.Model):
    """An advice's register fields as they were before one edit or recorded answer
    (forum/advice/services.py); the advice's history page lists them."""

    id = db.Column(db.Integer, primary_key=True)
    thread_id = db.Column(db.Integer, db.ForeignKey("thread.id", ondelete="CASCADE"), nullable=False, index=True)
    editor_id = db.Column(db.Integer, db.ForeignKey("user.id"))
    change = db.Column(db.String(10), nullable=False, default="edit")  # "edit" or "answer"
    # municipality and province (the thread's columns) with the JSON fields, before the change
    fields = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    editor = db.relationship("User")


class Reaction(db.Model):
    """A 'thanks' from one member for one post."""

    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.Integer, db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (db.UniqueConstraint("post_id", "user_id", name="uq_reaction_post_user"),)


class Flag(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.Integer, db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    reason = db.Column(db.String(12), nullable=False)
    note = db.Column(db.Text, nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    resolved_at = db.Column(db.DateTime)
    resolution = db.Column(db.String(12))  # dismissed, hidden, deleted, restored
    resolved_by_id = db.Column(db.Integer, db.ForeignKey("user.id"))

    __table_args__ = (db.UniqueConstraint("post_id", "user_id", name="uq_flag_post_user"),)


class ModerationAction(db.Model):
    """The audit log: append-only, written by every moderator and admin action."""

    id = db.Column(db.Integer, primary_key=True)
    actor_id = db.Column(db.Integer, db.ForeignKey("user.id"))
    action = db.Column(db.String(40), nullable=False, index=True)
    target_type = db.Column(db.String(20), nullable=False)
    target_id = db.Column(db.Integer)
    reason = db.Column(db.Text, nullable=False, default="")
    details = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)

    actor = db.relationship("User", foreign_keys=[actor_id])


class Notification(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = db.Column(db.String(20), nullable=False)  # reply, mention, accepted, thanks, moderation, ...
    actor_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="SET NULL"))
    thread_id = db.Column(db.Integer, db.ForeignKey("thread.id", ondelete="CASCADE"))
    post_id = db.Column(db.Integer, db.ForeignKey("post.id", ondelete="CASCADE"))
    data = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    read_at = db.Column(db.DateTime)
    emailed_at = db.Column(db.DateTime)

    actor = db.relationship("User", foreign_keys=[actor_id])
    thread = db.relationship("Thread")

    # A member's notification page, newest first, read in index order; the header's count
    # of unread ones reads only the unread entries of the member (many never open the page).
    __table_args__ = (
        db.Index("ix_notification_user_created", "user_id", "created_at", "id"),
        db.Index("ix_notification_user_unread", "user_id",
                 sqlite_where=db.text("read_at IS NULL"), postgresql_where=db.text("read_at IS NULL")),
    )


class Watch(db.Model):
    """A member following a thread or a whole theme."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    thread_id = db.Column(db.Integer, db.ForeignKey("thread.id", ondelete="CASCADE"), index=True)
    theme_id = db.Column(db.Integer, db.ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        db.UniqueConstraint("user_id", "thread_id", "theme_id", name="uq_watch_user_thread_theme"),
    )


class ThreadRead(db.Model):
    """Where a member stopped reading a thread: drives the unread markers."""

    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    thread_id = db.Column(db.Integer, db.ForeignKey("thread.id", ondelete="CASCADE"), primary_key=True)
    last_read_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class DigestSent(db.Model):
    """One row per member and digest period: a digest is never sent twice."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    period = db.Column(db.String(10), nullable=False)  # daily / weekly
    period_key = db.Column(db.String(20), nullable=False)  # e.g. 2026-11-23 or 2026-W48
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (db.UniqueConstraint("user_id", "period", "period_key", name="uq_digest_user_period"),)


class SearchOutbox(db.Model):
    """Index work written in the same transaction as the change it follows.

    Ids are never given twice (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): a drain
    deletes the rows it read by id after its index commit, and a freed id taken again by a
    newer row meanwhile would be deleted unindexed (search/indexing.py)."""

    __table_args__ = {"sqlite_autoincrement": True}

    id = db.Column(db.Integer, primary_key=True)
    object_type = db.Column(db.String(20), nullable=False)  # post, thread, theme, user, organisation
    object_id = db.Column(db.Integer, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class PageGeneration(db.Model):
    """One row: counters raised at commit by forum/pagecache.py. `site` with any change a
    page may show (a member's name, a council, a theme, a tag, an event, ...), `lists` with
    any change to a thread or a post; the pages kept per worker are valid while they are."""

    id = db.Column(db.Integer, primary_key=True)
    site = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    lists = db.Column(db.Integer, nullable=False, default=0, server_default="0")


class RateLimitEvent(db.Model):
    """One counted attempt; kept in the database so limits hold across worker processes."""

    id = db.Column(db.Integer, primary_key=True)
    key = db.Column(db.String(200), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (db.Index("ix_rate_limit_event_key_created", "key", "created_at"),)


class AccountMail(db.Model):
    """An account mail asked for in a request, composed and sent after it (auth/outbox.py).

    The row says what was asked ('reset' for a typed address, 'approved' for a user, ...);
    whether the address has an account is decided only when it is sent, so the request
    does the same work either way.

    Ids are never given twice (see SearchOutbox): a sender deletes its row by id after
    sending, possibly after another process took over a stale claim and deleted it.
    """

    __table_args__ = {"sqlite_autoincrement": True}

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(30), nullable=False)
    address = db.Column(db.String(254), nullable=False)
    data = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # Set by the process sending it; a claim older than a few minutes is taken over.
    claimed_at = db.Column(db.DateTime)
    attempts = db.Column(db.Integer, nullable=False, default=0)


class SigninLink(db.Model):
    """A sign-in link a member asked for by mail (auth/links.py): single use, short-lived,
    valid only in the browser that asked. Token and browser nonce are kept as SHA-256
    digests, so a copy of the database signs nobody in."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    nonce_hash = db.Column(db.String(64), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False)
    used_at = db.Column(db.DateTime)


class TotpCredential(db.Model):
    """A member's authenticator app (auth/second_factor.py); confirmed_at is empty while enrolling."""

    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    secret = db.Column(db.String(64), nullable=False)
    # The last 30-second step a code was accepted for: a code is never accepted twice.
    last_step = db.Column(db.BigInteger)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    confirmed_at = db.Column(db.DateTime)


class RecoveryCode(db.Model):
    """One of ten single-use codes for a member who lost their authenticator (SHA-256 stored)."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    code_hash = db.Column(db.String(64), nullable=False)
    used_at = db.Column(db.DateTime)


class Passkey(db.Model):
    """A member's passkey (WebAuthn credential, auth/passkeys.py): signs in alone, and counts
    as the second factor for staff. Only the public key is kept; the private key never
    leaves the member's device or password manager."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    # base64url of the authenticator's credential id (at most 1023 bytes, so 1364 characters).
    credential_id = db.Column(db.String(1400), nullable=False, unique=True)
    public_key = db.Column(db.LargeBinary, nullable=False)  # COSE key, as the library verifies it
    # The authenticator's signature counter: a value that does not grow betrays a cloned key.
    sign_count = db.Column(db.BigInteger, nullable=False, default=0)
    # The user handle given to the authenticator (base64url): compared when it is sent back.
    user_handle = db.Column(db.String(100), nullable=False)
    name = db.Column(db.String(60), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime)


class WebauthnChallenge(db.Model):
    """A challenge handed to the browser for one passkey ceremony: single use, short-lived,
    kept in the database so any worker can check the answer (the session holds its id)."""

    __tablename__ = "webauthn_challenge"

    id = db.Column(db.Integer, primary_key=True)
    challenge = db.Column(db.String(100), nullable=False, unique=True)  # base64url
    purpose = db.Column(db.String(20), nullable=False)  # register, signin, confirm
    # Empty for a sign-in (the passkey tells whose account it is).
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False, index=True)


class SecurityEvent(db.Model):
    """The member's security log: sign-ins, failures, second-factor changes (settings page)."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(30), nullable=False)
    ip = db.Column(db.String(45), nullable=False, default="")
    user_agent = db.Column(db.String(200), nullable=False, default="")
    details = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (db.Index("ix_security_event_user_created", "user_id", "created_at"),)


class OrganisationChangeRequest(db.Model):
    """A member asking to move to another organisation; a moderator decides."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisation.id", ondelete="CASCADE"), nullable=False)
    status = db.Column(db.String(10), nullable=False, default="open")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    decided_at = db.Column(db.DateTime)

    user = db.relationship("User")
    organisation = db.relationship("Organisation")


def advice_columns(kind, fields):
    """The advice register's column copies of a thread's `fields`: {sent_on, sent_year,
    answer_status, requested}, all None for any other kind (or an advice whose fields were
    erased). Every writer of Thread.kind or Thread.fields goes through this: the ORM hooks
    below, and bulk inserters by hand (`row.update(advice_columns(row["kind"], row["fields"]))`)."""
    fields = fields or {}
    sent = fields.get("sent_on") if kind == "advice" else None
    if isinstance(sent, str):
        try:
            sent = date.fromisoformat(sent[:10])
        except ValueError:
            sent = None
    elif isinstance(sent, datetime):
        sent = sent.date()
    elif not isinstance(sent, date):
        sent = None
    if sent is None:
        return {"sent_on": None, "sent_year": None, "answer_status": None, "requested": None}
    status = fields.get("answer_status") or "awaiting"
    requested = fields.get("requested")
    if isinstance(requested, str):
        requested = requested.strip().lower() in ("1", "true", "yes", "on", "requested")
    return {"sent_on": sent, "sent_year": sent.year, "answer_status": str(status)[:12],
            "requested": bool(requested)}


# What the register's counts read from a thread row (forum/advice/services.py).
REGISTER_ATTRIBUTES = ("kind", "fields", "status", "theme_id", "merged_into_id", "municipality", "province",
                       "language")


@db.event.listens_for(Thread, "before_insert")
@db.event.listens_for(Thread, "before_update")
def _thread_advice_columns(_mapper, _connection, thread):
    for name, value in advice_columns(thread.kind, thread.fields).items():
        if getattr(thread, name) != value:
            setattr(thread, name, value)
    state = sa_inspect(thread)
    if thread.sent_on is None:
        thread.register_changed_at = None
    elif state.pending or any(state.attrs[name].history.has_changes() for name in REGISTER_ATTRIBUTES):
        thread.register_changed_at = utcnow()


def count(query_or_model):
    """SELECT COUNT(*) of a model or select()."""
    return db.session.scalar(db.select(func.count()).select_from(query_or_model))
