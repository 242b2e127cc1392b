"""Public JSON shapes of themes, threads, posts and organisations."""
from flask import current_app, url_for


def iso(value):
    """Naive UTC datetime → ISO 8601 with 'Z'; dates as YYYY-MM-DD; None stays None."""
    if value is None:
        return None
    if hasattr(value, "hour"):
        return value.replace(microsecond=0).isoformat() + "Z"
    return value.isoformat()


def absolute(endpoint, **values):
    """An absolute link (BASE_URL)."""
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def solved(thread):
    """Questions are solved or not; other kinds have no such state."""
    return thread.accepted_post_id is not None if thread.kind == "question" else None


def theme_json(theme, lang):
    return {
        "slug": theme.slug,
        "name_nl": theme.name_nl,
        "name_fr": theme.name_fr,
        "description_nl": theme.description_nl,
        "description_fr": theme.description_fr,
        "visibility": theme.visibility,
        "url": absolute("threads.theme", slug=theme.slug, lang=lang),
    }


def thread_json(thread, lang):
    return {
        "id": thread.id,
        "title": thread.title,
        "kind": thread.kind,
        "theme": thread.theme.slug,
        "language": thread.language,
        "url": absolute("threads.thread", thread_id=thread.id, lang=lang),
        "created_at": iso(thread.created_at),
        "last_post_at": iso(thread.last_post_at),
        "post_count": thread.post_count,
        "thanks_count": thread.thanks_count,
        "tags": [tag.name for tag in thread.tags],
        "municipality": thread.municipality,
        "province": thread.province,
        "organisation": thread.organisation.slug if thread.organisation is not None else None,
        "solved": solved(thread),
        "open": (thread.is_open_vacancy if thread.kind == "vacancy" else None),
        "closes_on": iso(thread.closes_on),
        "locked": thread.locked,
        "fields": dict(thread.fields or {}),
    }


def post_json(post):
    author = post.author if post.author is not None and post.author.deleted_at is None else None
    org = author.organisation if author is not None else None
    return {
        "id": post.id,
        "number": post.number,
        "status": post.status,
        "author": author.name if author is not None else None,
        "organisation": {"slug": org.slug, "name": org.name} if org is not None else None,
        "created_at": iso(post.created_at),
        "edited_at": iso(post.edited_at),
        "reply_to": post.reply_to_id,
        "thanks_count": post.thanks_count,
        "body_html": str(post.body_html),
    }


def organisation_json(org):
    return {
        "slug": org.slug,
        "name": org.name,
        "kind": org.kind,
        "municipality": org.municipality,
        "province": org.province,
        "country": org.country,
        "language": org.language,
        "website": org.website or None,
        "member_since": iso(org.member_since),
    }
