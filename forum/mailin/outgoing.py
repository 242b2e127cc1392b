"""What notification and digest mails carry so that a reply lands in the right thread.

- Reply-To: the member's reply address for the thread (addresses.reply_address);
- Message-ID unique per mail, In-Reply-To and References pointing at one id per thread,
  so mail programs show every mail about a thread as one conversation.
Without MAIL_DOMAIN (mail-in off) only the threading headers are added.
"""
from . import addresses


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
