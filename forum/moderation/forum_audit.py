"""Audit entries for moderators who edit or delete someone's post through the ordinary forum
pages (receivers of forum.signals.post_edited and post_deleted)."""
from flask import g, has_request_context
from sqlalchemy import inspect

from .audit import record
from .notices import add_notice, deliver_notices
from .services import resolve_flags


def record_edit(post, editor, audited=False, **_):
    """A moderator editing someone's post on the forum's own edit page is audited too."""
    if audited or editor is None or not editor.is_moderator or editor.id == post.author_id:
        return
    record(editor, "edit_post", "post", post.id, "", thread_id=post.thread_id, via="forum")


def record_delete(post, actor, audited=False, **_):
    """A moderator deleting someone's post with the forum's delete button: audit entry,
    reports closed, and the author told (mailed after the request, once committed)."""
    if audited or actor is None or not actor.is_moderator or actor.id == post.author_id:
        return
    flags = resolve_flags(post, actor, "deleted")
    record(actor, "delete_post", "post", post.id, "", flags=flags, thread_id=post.thread_id,
           thread_deleted=post.number == 1, via="forum")
    notice = add_notice(post.author, "post_deleted", "", thread=post.thread, post=post)
    if notice is not None and has_request_context():
        g.setdefault("moderation_notices", []).append(notice)


def deliver_pending(response):
    """after_request: mail the notices of this request that were committed."""
    notices = g.pop("moderation_notices", None)
    if notices:
        committed = [n for n in notices if inspect(n[0]).persistent]
        if committed:
            deliver_notices(committed)
    return response
