"""Check a whole import file before anything is written, naming every problem by its path.

The result is a Plan: the new rows to write, with references resolved either to rows
already in the database (ids) or to other new rows in the same file (refs). Rows whose
ref (or natural key: theme slug, organisation slug, user e-mail) already exists are not
written again, which is what makes an import idempotent.
"""
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from ..extensions import db
from ..models import (
    COUNTRIES, LANGUAGES, MEMBERSHIP_STATUSES, NOTIFY_MODES, ORGANISATION_KINDS, ROLES,
    THEME_POST_POLICIES, THEME_VISIBILITIES, THREAD_KINDS, Organisation, Post, Theme, Thread, User,
)
from ..places import find_province

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
TOP_LEVEL = {"format", "version", "exported_at", "themes", "organisations", "users", "threads", "events"}
REF_MAX = 80
CHUNK = 500

PROVINCE_HINT = "use a code such as NL-UT or BE-VAN, or the name in Dutch or French"
# Messages for the errors that forum.threads.services raises while checking fields and tags.
FORUM_ERRORS = {
    "field_too_long": "is too long",
    "invalid_province": f"is not a province ({PROVINCE_HINT})",
    "invalid_website": "must be a web address starting with http:// or https://",
    "invalid_date": "must be a date like 2025-03-31",
    "too_many_tags": "has more tags than allowed",
    "tag_too_long": "has a tag that is too long",
    # advice (forum.advice.fields)
    "municipality_required": "is required", "province_required": "is required",
    "sent_on_required": "is required", "summary_required": "is required",
    "summary_too_long": "is too long", "sent_in_future": "cannot be in the future",
    "invalid_addressee": "must be one of college, council, college_communal, cpas, other",
    "answered_before_sent": "is before sent_on",
}


class Problems:
    """Every problem found, as 'path: message' lines in file order."""

    def __init__(self):
        self.items = []

    def add(self, path, message):
        self.items.append(f"{path}: {message}")

    def __bool__(self):
        return bool(self.items)


class Item:
    """One JSON object being read, with the path used in problem reports."""

    def __init__(self, obj, path, problems, allowed):
        self.obj, self.path, self.problems = obj, path, problems
        for key in obj:
            if key not in allowed:
                problems.add(f"{path}.{key}", "unknown field")

    def error(self, key, message):
        self.problems.add(f"{self.path}.{key}" if key else self.path, message)

    def text(self, key, required=False, max_length=None, pattern=None, default=""):
        value = self.obj.get(key)
        if value is None:
            if required:
                self.error(key, "is required")
            return default
        if not isinstance(value, str):
            self.error(key, "must be a string")
            return default
        value = value.strip()
        if required and not value:
            self.error(key, "must not be empty")
            return default
        if max_length and len(value) > max_length:
            self.error(key, f"is longer than {max_length} characters")
            return default
        if pattern and value and not re.fullmatch(pattern, value):
            self.error(key, f"{value!r} is not valid")
            return default
        return value

    def ref(self, key, required=True):
        value = self.obj.get(key)
        if value is not None and not isinstance(value, str):
            self.error(key, "must be a string")
            return None
        value = self.text(key, required=required, max_length=REF_MAX)
        return value or None

    def choice(self, key, choices, default):
        value = self.text(key)
        if not value:
            return default
        if value not in choices:
            self.error(key, f"{value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def province(self, key, country=None):
        """A province by code or by name (older exports wrote organisations' names): its code."""
        value = self.text(key, max_length=120)
        if not value:
            return ""
        code = find_province(value, country)
        if code is None:
            where = f" of {country}" if country else ""
            self.error(key, f"{value!r} is not a province{where} ({PROVINCE_HINT})")
            return ""
        return code

    def boolean(self, key, default=False):
        value = self.obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(key, "must be true or false")
            return default
        return value

    def integer(self, key, default=0):
        value = self.obj.get(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(key, "must be a whole number")
            return default
        return value

    def date(self, key):
        value = self.text(key)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.error(key, f"{value!r} is not a date like 2025-03-31")
            return None

    def datetime(self, key):
        value = self.text(key)
        if not value:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.error(key, f"{value!r} is not a date and time like 2025-03-31T14:00:00Z")
            return None
        if parsed.tzinfo is not None:  # stored as naive UTC, like every timestamp
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        return parsed

    def obj_(self, key):
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(key, "must be an object")
            return None
        return value

    def list_(self, key, required=False):
        value = self.obj.get(key)
        if value is None:
            if required:
                self.error(key, "is required")
            return []
        if not isinstance(value, list):
            self.error(key, "must be a list")
            return []
        return value


@dataclass
class Plan:
    """What an import will write; refs point into the file, *_ids into the database."""

    themes: list = field(default_factory=list)
    organisations: list = field(default_factory=list)
    users: list = field(default_factory=list)
    threads: list = field(default_factory=list)
    events: list = field(default_factory=list)  # checked by forum/events/transfer.py
    # Existing rows matched on their natural key that get their import ref recorded.
    adopt_organisations: list = field(default_factory=list)  # (id, ref)
    adopt_users: list = field(default_factory=list)  # (id, ref)
    # Posts with new refs in threads imported earlier: (thread_id, [posts], accepted ref).
    appends: list = field(default_factory=list)
    theme_ids: dict = field(default_factory=dict)  # slug -> id (existing)
    organisation_ids: dict = field(default_factory=dict)  # ref -> id (existing)
    user_ids: dict = field(default_factory=dict)  # ref -> id (existing)
    skipped: dict = field(default_factory=lambda: {"themes": 0, "organisations": 0, "users": 0, "threads": 0, "posts": 0})

    @property
    def new_posts(self):
        return sum(len(t["posts"]) for t in self.threads) + sum(len(p) for _, p, _ in self.appends)


def _objects(data, key, problems):
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        problems.add(key, "must be a list")
        return []
    good = []
    for i, obj in enumerate(items):
        if not isinstance(obj, dict):
            problems.add(f"{key}[{i}]", "must be an object")
            continue
        good.append((i, obj))
    return good


def _lookup(column, key_column, values):
    """{value: id} for rows whose column is in values, queried in chunks."""
    values = sorted({v for v in values if v})
    found = {}
    for start in range(0, len(values), CHUNK):
        chunk = values[start:start + CHUNK]
        for key, value in db.session.execute(db.select(key_column, column).where(key_column.in_(chunk))):
            found[key] = value
    return found


def validate(data, base_dir=None):
    """Return (plan, problems); the plan may only be written when problems is empty.

    `base_dir` is the import file's folder: post attachments are paths relative to it."""
    problems = Problems()
    plan = Plan()
    if not isinstance(data, dict):
        problems.add("(file)", "must be a JSON object with themes, organisations, users and threads")
        return plan, problems
    for key in data:
        if key not in TOP_LEVEL:
            problems.add(key, "unknown section")
    _themes(data, plan, problems)
    _organisations(data, plan, problems)
    _users(data, plan, problems)
    _threads(data, plan, problems, base_dir)
    from ..events.transfer import validate_events

    validate_events(data, plan, problems, _objects, Item)
    return plan, problems


def _themes(data, plan, problems):
    existing = dict(db.session.execute(db.select(Theme.slug, Theme.id)).all())
    plan.theme_ids.update(existing)
    seen = set()
    for i, obj in _objects(data, "themes", problems):
        item = Item(obj, f"themes[{i}]", problems, {
            "slug", "name_nl", "name_fr", "visibility", "description_nl", "description_fr", "position",
            "post_policy"})
        row = dict(
            slug=item.text("slug", required=True, max_length=80, pattern=SLUG),
            name_nl=item.text("name_nl", required=True, max_length=120),
            name_fr=item.text("name_fr", required=True, max_length=120),
            visibility=item.choice("visibility", THEME_VISIBILITIES, "members"),
            description_nl=item.text("description_nl"),
            description_fr=item.text("description_fr"),
            position=item.integer("position", i),
            post_policy=item.choice("post_policy", THEME_POST_POLICIES, "everyone"),
        )
        if not row["slug"]:
            continue
        if row["slug"] in seen:
            item.error("slug", f"duplicate theme slug {row['slug']!r}")
            continue
        seen.add(row["slug"])
        if row["slug"] in existing:
            plan.skipped["themes"] += 1
        else:
            plan.themes.append(row)


def _organisations(data, plan, problems):
    rows = db.session.execute(db.select(Organisation.id, Organisation.import_ref, Organisation.slug)).all()
    by_ref = {r.import_ref: r for r in rows if r.import_ref}
    by_slug = {r.slug: r for r in rows}
    plan.organisation_ids.update({ref: r.id for ref, r in by_ref.items()})
    refs, slugs = set(), set()
    for i, obj in _objects(data, "organisations", problems):
        item = Item(obj, f"organisations[{i}]", problems, {
            "ref", "name", "slug", "kind", "municipality", "province", "country", "language", "membership",
            "website"})
        ref = item.ref("ref")
        country = item.choice("country", COUNTRIES, "NL")
        row = dict(
            import_ref=ref,
            name=item.text("name", required=True, max_length=200),
            slug=item.text("slug", required=True, max_length=120, pattern=SLUG),
            kind=item.choice("kind", ORGANISATION_KINDS, "adviesraad"),
            municipality=item.text("municipality", max_length=120),
            province=item.province("province", country),
            country=country,
            language=item.choice("language", LANGUAGES, "nl"),
            website=item.text("website", max_length=300, pattern=r"https?://\S+"),
            membership_status="pending", member_since=None, member_until=None,
        )
        membership = item.obj_("membership")
        if membership is not None:
            m = Item(membership, f"{item.path}.membership", problems, {"status", "since", "until"})
            row["membership_status"] = m.choice("status", MEMBERSHIP_STATUSES, "pending")
            row["member_since"] = m.date("since")
            row["member_until"] = m.date("until")
            if row["member_since"] and row["member_until"] and row["member_until"] < row["member_since"]:
                m.error("until", "is before since")
        if not ref:
            continue
        if ref in refs:
            item.error("ref", f"duplicate organisation ref {ref!r}")
            continue
        refs.add(ref)
        if row["slug"] in slugs:
            item.error("slug", f"duplicate organisation slug {row['slug']!r}")
        slugs.add(row["slug"])
        if ref in by_ref:
            plan.skipped["organisations"] += 1
            continue
        same_slug = by_slug.get(row["slug"])
        if same_slug is not None:
            if same_slug.import_ref:
                item.error("slug", f"{row['slug']!r} belongs to an organisation imported as {same_slug.import_ref!r}")
            else:
                plan.adopt_organisations.append((same_slug.id, ref))
                plan.organisation_ids[ref] = same_slug.id
            continue
        plan.organisations.append(row)


def _users(data, plan, problems):
    rows = db.session.execute(db.select(User.id, User.import_ref, User.email)).all()
    by_ref = {r.import_ref: r for r in rows if r.import_ref}
    by_email = {r.email.lower(): r for r in rows}
    plan.user_ids.update({ref: r.id for ref, r in by_ref.items()})
    new_org_refs = {o["import_ref"] for o in plan.organisations}
    refs, emails = set(), set()
    for i, obj in _objects(data, "users", problems):
        item = Item(obj, f"users[{i}]", problems, {
            "ref", "email", "name", "organisation", "locale", "role", "notify_mode"})
        ref = item.ref("ref")
        email = item.text("email", required=True, max_length=254, pattern=EMAIL).lower()
        org_ref = item.ref("organisation", required=False)
        row = dict(
            import_ref=ref, email=email,
            name=item.text("name", required=True, max_length=80),
            organisation_ref=org_ref,
            locale=item.choice("locale", LANGUAGES, "nl"),
            role=item.choice("role", ROLES, "member"),
            notify_mode=item.choice("notify_mode", NOTIFY_MODES, "weekly"),
        )
        if org_ref and org_ref not in new_org_refs and org_ref not in plan.organisation_ids:
            item.error("organisation", f"unknown organisation ref {org_ref!r}")
        if not ref:
            continue
        if ref in refs:
            item.error("ref", f"duplicate user ref {ref!r}")
            continue
        refs.add(ref)
        if email and email in emails:
            item.error("email", f"duplicate e-mail address {email!r}")
        emails.add(email)
        if ref in by_ref:
            plan.skipped["users"] += 1
            continue
        same_email = by_email.get(email)
        if same_email is not None:
            if same_email.import_ref:
                item.error("email", f"{email!r} belongs to a user imported as {same_email.import_ref!r}")
            else:
                plan.adopt_users.append((same_email.id, ref))
                plan.user_ids[ref] = same_email.id
            continue
        plan.users.append(row)


def _attachment_paths(item, base_dir):
    """A post's attachments: paths relative to the import file, each checked like an upload."""
    paths = item.list_("attachments")
    if not paths:
        return []
    from ..attachments.imports import check_import_files

    files, found = check_import_files(paths, base_dir)
    for index, message in found:
        item.error("attachments" if index is None else f"attachments[{index}]", message)
    return files


def _threads(data, plan, problems, base_dir=None):
    from ..threads.services import ForumError, clean_fields, normalise_tags

    items = _objects(data, "threads", problems)
    thread_refs = [obj.get("ref") for _, obj in items if isinstance(obj.get("ref"), str)]
    post_refs = [p.get("ref") for _, obj in items if isinstance(obj.get("posts"), list)
                 for p in obj["posts"] if isinstance(p, dict) and isinstance(p.get("ref"), str)]
    existing_threads = _lookup(Thread.id, Thread.import_ref, [r.strip() for r in thread_refs])
    existing_posts = _lookup(Post.thread_id, Post.import_ref, [r.strip() for r in post_refs])
    new_user_refs = {u["import_ref"] for u in plan.users}
    new_theme_slugs = {t["slug"] for t in plan.themes}

    def known_user(ref):
        return ref in new_user_refs or ref in plan.user_ids

    seen_threads, seen_posts = set(), set()
    for i, obj in items:
        item = Item(obj, f"threads[{i}]", problems, {
            "ref", "theme", "kind", "title", "language", "author", "created_at", "tags", "municipality",
            "province", "fields", "posts", "accepted", "locked", "closed"})
        ref = item.ref("ref")
        theme = item.text("theme", required=True)
        kind = item.choice("kind", THREAD_KINDS, None)
        if "kind" not in obj:
            item.error("kind", "is required")
        # Required, but may be null: threads of deleted accounts have no author.
        author = item.ref("author", required="author" not in obj)
        row = dict(
            import_ref=ref, theme=theme, kind=kind,
            title=re.sub(r"\s+", " ", item.text("title", required=True, max_length=200)),
            language=item.choice("language", LANGUAGES, "nl"),
            author=author, created_at=item.datetime("created_at"),
            municipality=item.text("municipality", max_length=120),
            province=item.province("province"),
            locked=item.boolean("locked"), closed=item.boolean("closed"),
            accepted=item.ref("accepted", required=False),
        )
        if theme and theme not in plan.theme_ids and theme not in new_theme_slugs:
            item.error("theme", f"unknown theme slug {theme!r}")
        if author and not known_user(author):
            item.error("author", f"unknown user ref {author!r}")

        tags = item.list_("tags")
        if any(not isinstance(t, str) for t in tags):
            item.error("tags", "must be a list of strings")
            tags = []
        try:
            row["tags"] = normalise_tags(tags)
        except ForumError as exc:
            item.error("tags", FORUM_ERRORS.get(exc.code, "is not valid"))
            row["tags"] = []

        fields = item.obj_("fields") or {}
        row["columns"], row["fields"] = {"municipality": "", "province": "", "closes_on": None}, {}
        if kind:
            from ..threads.services import KIND_FIELDS

            for name in fields:
                if name not in KIND_FIELDS[kind]:
                    problems.add(f"{item.path}.fields.{name}", f"is not a field of kind {kind!r}")
            try:
                row["columns"], row["fields"] = clean_fields(kind, fields)
            except ForumError as exc:
                message = FORUM_ERRORS.get(exc.code, "is not valid")
                if exc.code == "invalid_status":
                    message = f"unknown status {exc.params.get('status')!r}"
                problems.add(f"{item.path}.fields.{exc.field}", message)
        # A top-level municipality/province applies to every kind (the API filters on it).
        row["municipality"] = row["municipality"] or row["columns"]["municipality"]
        row["province"] = row["province"] or row["columns"]["province"]
        row["closes_on"] = row["columns"]["closes_on"]

        posts = []
        raw_posts = item.list_("posts", required=True)
        if "posts" in obj and isinstance(obj["posts"], list) and not raw_posts:
            item.error("posts", "needs at least the opening post")
        for j, pobj in enumerate(raw_posts):
            ppath = f"{item.path}.posts[{j}]"
            if not isinstance(pobj, dict):
                problems.add(ppath, "must be an object")
                continue
            p = Item(pobj, ppath, problems, {"ref", "author", "body", "created_at", "attachments"})
            pref = p.ref("ref")
            pauthor = p.ref("author", required=False)
            body = pobj.get("body")
            if not isinstance(body, str) or not body.strip():
                p.error("body", "is required" if body is None else "must be a non-empty string")
                body = ""
            else:
                from ..threads.services import BODY_MAX

                body = body.replace("\r\n", "\n")
                if len(body) > BODY_MAX:
                    p.error("body", f"is longer than {BODY_MAX} characters")
            if pauthor and not known_user(pauthor):
                p.error("author", f"unknown user ref {pauthor!r}")
            if j == 0 and not pauthor:
                pauthor = author  # the opening post is the thread author's unless told otherwise
            if pref:
                if pref in seen_posts:
                    p.error("ref", f"duplicate post ref {pref!r}")
                seen_posts.add(pref)
                owner = existing_posts.get(pref)
                if owner is not None and owner != existing_threads.get(ref):
                    p.error("ref", f"post ref {pref!r} already belongs to another thread")
            posts.append(dict(import_ref=pref, author=pauthor, body=body, created_at=p.datetime("created_at"),
                              existing=pref in existing_posts, attachments=_attachment_paths(p, base_dir)))
        row["posts"] = posts

        accepted = row["accepted"]
        if accepted:
            refs_here = [p["import_ref"] for p in posts]
            if kind and kind != "question":
                item.error("accepted", "only questions have an accepted answer")
            elif accepted not in refs_here:
                item.error("accepted", f"{accepted!r} is not a post of this thread")
            elif refs_here.index(accepted) == 0:
                item.error("accepted", "the opening post cannot be the answer")

        if not ref:
            continue
        if ref in seen_threads:
            item.error("ref", f"duplicate thread ref {ref!r}")
            continue
        seen_threads.add(ref)
        # Timestamps default along the thread: the opening post dates the thread and vice versa.
        if row["created_at"] is None:
            row["created_at"] = next((p["created_at"] for p in posts if p["created_at"]), None)
        for p in posts:
            p["created_at"] = p["created_at"] or row["created_at"]
        if ref in existing_threads:
            new = [p for p in posts if not p["existing"]]
            plan.skipped["threads"] += 1
            plan.skipped["posts"] += len(posts) - len(new)
            if new or accepted:
                plan.appends.append((existing_threads[ref], new, accepted))
            continue
        plan.threads.append(row)
