"""Export forum content in the import format, so that an export imports into another site."""
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Organisation, Post, Theme, Thread, User
from ..events.transfer import export_events
from .validation import REF_MAX

FORMAT = "agora"
VERSION = 1
CHUNK = 1000


def _iso(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    return value.isoformat()


class Refs:
    """Stable references: the import ref a row came with, or one made from this site's host
    and the id (so two sites' exports never use the same ref for different rows)."""

    def __init__(self):
        host = urlsplit(current_app.config["BASE_URL"]).netloc or "agora"
        self.prefix = host[:40]

    def __call__(self, kind, row):
        return row.import_ref or f"{self.prefix}/{kind}/{row.id}"[:REF_MAX]


def export_data():
    """Everything published, as a dict in the import format.

    Themes, organisations and accounts that are not deleted; threads that are visible with a
    visible opening post, and their visible posts (held, hidden and deleted posts stay
    behind: an export is what the forum shows, not a backup).
    """
    ref = Refs()
    themes = db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id)).all()
    orgs = db.session.scalars(db.select(Organisation).order_by(Organisation.id)).all()
    users = db.session.scalars(db.select(User).where(User.deleted_at.is_(None)).order_by(User.id)).all()
    org_refs = {o.id: ref("organisation", o) for o in orgs}
    user_refs = {u.id: ref("user", u) for u in users}
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(datetime.now(timezone.utc).replace(tzinfo=None)),
        "themes": [{
            "slug": t.slug, "name_nl": t.name_nl, "name_fr": t.name_fr, "visibility": t.visibility,
            "description_nl": t.description_nl, "description_fr": t.description_fr,
            "position": t.position, "post_policy": t.post_policy,
        } for t in themes],
        "organisations": [{
            "ref": org_refs[o.id], "name": o.name, "slug": o.slug, "kind": o.kind,
            "municipality": o.municipality, "province": o.province, "country": o.country,
            "language": o.language, "website": o.website,
            "membership": {"status": o.membership_status, "since": _iso(o.member_since),
                           "until": _iso(o.member_until)},
        } for o in orgs],
        "users": [{
            "ref": user_refs[u.id], "email": u.email, "name": u.name,
            "organisation": org_refs.get(u.organisation_id), "locale": u.locale, "role": u.role,
            "notify_mode": u.notify_mode,
        } for u in users],
        "threads": list(_threads(ref, user_refs)),
        "events": export_events(ref, org_refs),
    }


def _threads(ref, user_refs):
    from ..threads.services import COLUMN_FIELDS, KIND_FIELDS

    opening_visible = db.select(Post.id).where(Post.thread_id == Thread.id, Post.number == 1,
                                               Post.status == "visible").exists()
    ids = db.session.scalars(db.select(Thread.id).where(Thread.status == "visible", opening_visible)
                             .order_by(Thread.id)).all()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        threads = db.session.scalars(db.select(Thread).where(Thread.id.in_(chunk)).order_by(Thread.id)
                                     .options(selectinload(Thread.tags), selectinload(Thread.theme))).all()
        posts = {}
        for post in db.session.scalars(db.select(Post).where(Post.thread_id.in_(chunk), Post.status == "visible")
                                       .order_by(Post.thread_id, Post.number)):
            posts.setdefault(post.thread_id, []).append(post)
        for t in threads:
            # Only the kind's own fields: an advice also keeps internal marks (answer
            # document ids, the reminder date) that mean nothing on another site.
            fields = {k: v for k, v in (t.fields or {}).items() if k in KIND_FIELDS[t.kind]}
            for name in COLUMN_FIELDS:
                value = getattr(t, name)
                if name in KIND_FIELDS[t.kind] and value:
                    fields[name] = _iso(value) if name == "closes_on" else value
            post_refs = {p.id: ref("post", p) for p in posts.get(t.id, [])}
            accepted = post_refs.get(t.accepted_post_id) if t.accepted_post_id in post_refs else None
            if accepted is not None and posts[t.id][0].id == t.accepted_post_id:
                accepted = None
            yield {
                "ref": ref("thread", t), "theme": t.theme.slug, "kind": t.kind, "title": t.title,
                "language": t.language, "author": user_refs.get(t.author_id),
                "created_at": _iso(t.created_at), "tags": [tag.name for tag in t.tags],
                "municipality": t.municipality, "province": t.province, "fields": fields,
                "locked": t.locked, "closed": t.closed,
                "posts": [{
                    "ref": post_refs[p.id], "author": user_refs.get(p.author_id), "body": p.body_source,
                    "created_at": _iso(p.created_at),
                } for p in posts.get(t.id, [])],
                "accepted": accepted,
            }
