"""Write a validated import plan in one transaction, with bulk inserts for threads and posts."""
import json
import time
from dataclasses import dataclass, field

from sqlalchemy import insert, update

from ..extensions import db
from ..models import Organisation, Post, SearchOutbox, Tag, Theme, Thread, User, advice_columns, thread_tags, utcnow
from ..transactions import end_read, unit_of_work
from .validation import validate

BATCH = 2000


class ImportInvalid(Exception):
    """The file has problems; nothing was written. `problems` lists them with their paths."""

    def __init__(self, problems):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class ImportResult:
    created: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    seconds: float = 0.0


def load_file(path):
    """Parse a JSON file; a syntax error becomes an ImportInvalid with its line and column."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise ImportInvalid([f"(file): not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]) from None
    except UnicodeDecodeError:
        raise ImportInvalid(["(file): not UTF-8 text"]) from None


def import_data(data, dry_run=False, base_dir=None):
    """Validate `data` completely, then write everything new in one transaction.

    Raises ImportInvalid (writing nothing) when the file has any problem. Idempotent:
    rows whose ref already exists are skipped, so importing a file twice adds nothing.
    `base_dir` is the import file's folder (post attachments are paths relative to it).
    """
    started = time.monotonic()
    plan, problems = validate(data, base_dir=base_dir)
    if problems:
        end_read()
        raise ImportInvalid(problems.items)
    result = ImportResult(skipped=dict(plan.skipped))
    if dry_run:
        end_read()
        result.created = {"themes": len(plan.themes), "organisations": len(plan.organisations),
                          "users": len(plan.users), "threads": len(plan.threads), "posts": plan.new_posts,
                          "events": len(plan.events)}
        result.seconds = time.monotonic() - started
        return result
    with unit_of_work():
        result.created = _write(plan)
    result.seconds = time.monotonic() - started
    return result


def _write(plan):
    now = utcnow()
    # Few rows: themes, organisations and users go through the ORM.
    themes = [Theme(**row) for row in plan.themes]
    orgs = [Organisation(**row) for row in plan.organisations]
    db.session.add_all(themes + orgs)
    for org_id, ref in plan.adopt_organisations:
        db.session.get(Organisation, org_id).import_ref = ref
    db.session.flush()
    theme_ids = dict(plan.theme_ids, **{t.slug: t.id for t in themes})
    org_ids = dict(plan.organisation_ids, **{o.import_ref: o.id for o in orgs})

    users = []
    for row in plan.users:
        row = dict(row)
        org_ref = row.pop("organisation_ref")
        # No password: imported members set one through "forgot password".
        users.append(User(**row, organisation_id=org_ids.get(org_ref), status="active",
                          password_hash=None, confirmed_at=now, approved_at=now))
    db.session.add_all(users)
    for user_id, ref in plan.adopt_users:
        db.session.get(User, user_id).import_ref = ref
    db.session.flush()
    user_ids = dict(plan.user_ids, **{u.import_ref: u.id for u in users})
    user_orgs = dict(db.session.execute(db.select(User.id, User.organisation_id).where(
        User.id.in_(set(user_ids.values())))).all()) if user_ids else {}

    tag_ids = _tag_ids({name for t in plan.threads for name in t["tags"]})
    posts_written = 0
    for start in range(0, len(plan.threads), BATCH):
        posts_written += _write_threads(plan.threads[start:start + BATCH], theme_ids, user_ids, user_orgs, tag_ids, now)
    posts_written += _append_posts(plan.appends, user_ids, now)
    from ..events.transfer import write_events

    events = write_events(plan.events, org_ids, theme_ids)
    return {"themes": len(themes), "organisations": len(orgs), "users": len(users),
            "threads": len(plan.threads), "posts": posts_written, "events": events}


def _tag_ids(names):
    if not names:
        return {}
    existing = dict(db.session.execute(db.select(Tag.name, Tag.id).where(Tag.name.in_(names))).all())
    missing = sorted(names - set(existing))
    if missing:
        rows = db.session.execute(insert(Tag).returning(Tag.name, Tag.id, sort_by_parameter_order=True),
                                  [{"name": n} for n in missing]).all()
        existing.update(dict(rows))
    return existing


def _render(body):
    from ..threads.services import render_body

    return str(render_body(body))


def _write_threads(threads, theme_ids, user_ids, user_orgs, tag_ids, now):
    thread_rows = []
    for t in threads:
        created = t["created_at"] or now
        author_id = user_ids.get(t["author"])
        closes_on = t["closes_on"]
        thread_rows.append(dict(
            theme_id=theme_ids[t["theme"]], kind=t["kind"], title=t["title"], language=t["language"],
            author_id=author_id, organisation_id=user_orgs.get(author_id), status="visible",
            municipality=t["municipality"], province=t["province"], closes_on=closes_on,
            closed=t["closed"] or bool(closes_on and closes_on < now.date()),
            fields=t["fields"], locked=t["locked"], pinned="", last_post_at=created,
            post_count=len(t["posts"]), thanks_count=0, import_ref=t["import_ref"],
            created_at=created, updated_at=created,
            **advice_columns(t["kind"], t["fields"]),  # a bulk insert skips the ORM hooks
        ))
    thread_ids = db.session.scalars(
        insert(Thread).returning(Thread.id, sort_by_parameter_order=True), thread_rows).all()

    post_rows = []
    for t, thread_id in zip(threads, thread_ids):
        for number, p in enumerate(t["posts"], start=1):
            created = p["created_at"] or t["created_at"] or now
            post_rows.append(dict(
                thread_id=thread_id, author_id=user_ids.get(p["author"]), number=number,
                body_source=p["body"], body_html=_render(p["body"]), status="visible",
                import_ref=p["import_ref"], created_at=created, updated_at=created,
            ))
    post_ids = db.session.scalars(
        insert(Post).returning(Post.id, sort_by_parameter_order=True), post_rows).all()

    updates, links, outbox = [], [], []
    cursor = 0
    for t, thread_id in zip(threads, thread_ids):
        ids = post_ids[cursor:cursor + len(t["posts"])]
        rows = post_rows[cursor:cursor + len(t["posts"])]
        cursor += len(t["posts"])
        refs = [p["import_ref"] for p in t["posts"]]
        accepted = ids[refs.index(t["accepted"])] if t["accepted"] else None
        updates.append({"id": thread_id, "last_post_id": ids[-1], "last_post_at": rows[-1]["created_at"],
                        "accepted_post_id": accepted})
        links.extend({"thread_id": thread_id, "tag_id": tag_ids[name]} for name in t["tags"])
        # A "thread" row makes the search area re-index the thread with all its posts.
        outbox.append({"object_type": "thread", "object_id": thread_id, "created_at": now})
    db.session.execute(update(Thread), updates)
    _attach_files([p for t in threads for p in t["posts"]], post_ids, post_rows)
    if links:
        db.session.execute(insert(thread_tags), links)
    # The search job indexes these after commit, like any other change.
    db.session.execute(insert(SearchOutbox), outbox)
    return len(post_rows)


def _attach_files(posts, post_ids, rows):
    """Store the checked attachments of new posts (files named relative to the import file)."""
    if not any(p.get("attachments") for p in posts):
        return
    from ..attachments.imports import attach_imported

    for p, post_id, row in zip(posts, post_ids, rows):
        if p.get("attachments"):
            attach_imported(post_id, row["author_id"], p["attachments"], created_at=row["created_at"])


def _append_posts(appends, user_ids, now):
    """New posts in threads imported earlier: numbered after the last one, stats recounted."""
    from ..threads.services import refresh_thread_stats

    written = 0
    for thread_id, posts, accepted in appends:
        thread = db.session.get(Thread, thread_id)
        if not posts and (thread.accepted_post_id is not None or not accepted):
            continue  # nothing new: a second run must change nothing
        number = db.session.scalar(db.select(db.func.max(Post.number)).where(Post.thread_id == thread_id)) or 0
        new = []
        for p in posts:
            number += 1
            created = p["created_at"] or now
            post = Post(thread_id=thread_id, author_id=user_ids.get(p["author"]), number=number,
                        body_source=p["body"], body_html=_render(p["body"]), import_ref=p["import_ref"],
                        created_at=created, updated_at=created)
            db.session.add(post)
            new.append(post)
        db.session.flush()
        _attach_files(posts, [post.id for post in new], [{"author_id": post.author_id, "created_at": post.created_at}
                                                         for post in new])
        if accepted and thread.accepted_post_id is None:
            thread.accepted_post_id = db.session.scalar(
                db.select(Post.id).where(Post.import_ref == accepted, Post.thread_id == thread_id, Post.number > 1))
        refresh_thread_stats(thread)
        db.session.add(SearchOutbox(object_type="thread", object_id=thread_id))
        written += len(new)
    return written
