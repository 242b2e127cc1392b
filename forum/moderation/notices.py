"""Moderation notices: what members are told when moderators act on their messages or
account, as a notification on the site and a mail in their own language."""
from datetime import datetime

from flask_babel import gettext as _

from ..extensions import db
from ..models import Notification, utcnow


def _language(user):
    return user.locale if user.locale in ("nl", "fr") else "nl"


def add_notice(user, action, reason="", thread=None, post=None, actor=None, **data):
    """Add a "moderation" notification (rendered per viewer language from `action`) and
    return what deliver_notices needs to mail it after commit. None when there is nobody to tell."""
    if user is None or user.deleted_at is not None:
        return None
    payload = {"action": action, "reason": reason or ""}
    payload.update({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()})
    # A deleted message (or topic) cannot be opened: link to what is left, if anything.
    gone = action == "post_deleted"
    n = Notification(
        user_id=user.id, kind="moderation", actor_id=None,  # moderators act as "the moderators"
        thread_id=thread.id if thread is not None and not (gone and post is not None and post.number == 1) else None,
        post_id=post.id if post is not None and not gone else None, data=payload,
    )
    db.session.add(n)
    return (n, user, action, reason, thread, post, data)


def _subject(action):
    subjects = {
        "post_hidden": lambda: _("A moderator hid your message"),
        "post_auto_hidden": lambda: _("Your message has been hidden pending review"),
        "post_restored": lambda: _("Your message is visible again"),
        "post_deleted": lambda: _("A moderator deleted your message"),
        "warned": lambda: _("A message from the moderators"),
        "silenced": lambda: _("You cannot post for a while"),
        "suspended": lambda: _("Your account has been suspended"),
        "silence_lifted": lambda: _("You can post again"),
        "suspension_lifted": lambda: _("Your account is active again"),
    }
    return subjects[action]


def deliver_notices(notices):
    """Mail the moderation notices in each member's own language; call after commit.

    Always mailed, whatever the member's notification settings: people must learn what
    happened to their messages and account. A failing mail server is logged by send_mail.
    """
    from auth.mail import send_mail

    from ..threads.notifications import external_url

    sent = False
    for notice in notices:
        if notice is None:
            continue
        n, user, action, reason, thread, post, data = notice
        lang = _language(user)
        link = None
        if post is not None and action in ("post_hidden", "post_auto_hidden", "post_restored"):
            link = external_url("threads.post", post_id=post.id, lang=lang)
        elif thread is not None and thread.status == "visible":
            link = external_url("threads.thread", thread_id=thread.id, lang=lang)
        ok = send_mail(
            user.email, f"moderation_{action}", lang, subject=_subject(action),
            user=user, reason=reason, thread=thread, post=post, link=link,
            until=data.get("until"), terms_url=external_url("main.terms", lang=lang),
        )
        if ok:
            n.emailed_at = utcnow()
            sent = True
    if sent:
        db.session.commit()


def notice_text(data):
    """The translated sentence for a moderation notification, in the current language."""
    action = (data or {}).get("action")
    until = (data or {}).get("until")
    texts = {
        "post_hidden": lambda: _("A moderator hid your message"),
        "post_auto_hidden": lambda: _("Your message was hidden after reports by several members, until a moderator has looked at it"),
        "post_restored": lambda: _("Your message is visible again"),
        "post_deleted": lambda: _("A moderator deleted your message"),
        "warned": lambda: _("The moderators sent you a warning"),
        "silenced": lambda: _("You cannot post until %(date)s", date=_format_until(until)),
        "suspended": lambda: (_("Your account is suspended until %(date)s", date=_format_until(until))
                              if until else _("Your account is suspended")),
        "silence_lifted": lambda: _("You can post again"),
        "suspension_lifted": lambda: _("Your suspension has been lifted"),
        "attachment_removed": lambda: _("A moderator removed the file %(name)s from your message",
                                        name=(data or {}).get("filename", "")),
    }
    text = texts.get(action)
    return text() if text else _("A message from the moderators")


def _format_until(value):
    from flask_babel import format_datetime

    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_datetime(value, "short") if value else ""

