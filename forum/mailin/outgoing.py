"""What notification and digest mails carry so that a reply lands in the right thread.

- Reply-To: the member's reply address for the thread (addresses.reply_address);
- Message-ID unique per mail, In-Reply-To and References pointing at one id per thread,
  so mail programs show every mail about a thread as one conversation.
Without MAIL_DOMAIN (mail-in off) only the threading headers are added.
"""
from flask_babel import force_locale, gettext as _

from . import addresses

LANGUAGES = ("nl", "fr")


def _id_domain():
    return addresses.domain() or "agora.invalid"


def thread_message_id(thread):
    return f"<agora.thread.{thread.id}@{_id_domain()}>"


def thread_headers(user, thread, post=None, kind="notify"):
    """(headers, reply address or None) for a mail to `user` about `thread`."""
    root = thread_message_id(thread)
    headers = {"In-Reply-To": root, "References": root}
    if post is not None:
        headers["Message-ID"] = f"<agora.post.{post.id}.{kind}.{user.id}@{_id_domain()}>"
    reply = addresses.reply_address(user, thread)
    if reply:
        headers["Reply-To"] = reply
    return headers, reply


def reply_notice(lang, digest=False):
    """The line saying that replying posts to the forum and where to switch it off: in the
    member's language first, then in the other (a bilingual forum; a forwarded mail may
    reach a colleague who reads the other language)."""
    from ..threads.notifications import external_url

    lines = []
    for language in sorted(LANGUAGES, key=lambda code: code != lang):
        url = external_url("mailin.settings", lang=language)
        with force_locale(language):
            lines.append(_("A mail to a “Reply by mail” address is posted in that topic. Switch this off or get "
                           "new reply addresses: %(url)s", url=url) if digest else
                         _("Reply to this mail to post your reply in the topic (the quoted text is left out). "
                           "Switch this off or get new reply addresses: %(url)s", url=url))
    return "\n".join(lines)
