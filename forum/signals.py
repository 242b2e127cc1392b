"""The signals one area sends and other areas react to; each lists who listens.

Decision (design.md points 12-13): areas react to each other's events only through the
blinker signals declared here, or through a direct call; never through lists of callables
kept in app.extensions. The rule for choosing:
- A step that decides what the sender does is a direct call. The anti-abuse checks
  (forum.moderation.abuse.screen_post) refuse or hold a post, so forum.threads.services
  calls them by name, and a caller that must skip them (demo content, test factories)
  says so with an argument (check_abuse=False) instead of switching shared app state.
- A reaction that changes nothing for the sender is a signal: the sender does not need
  to know who listens, and this module tells a reader who does.

Signals are sent inside the sender's transaction, before its commit: what a receiver
writes stands or falls with the change itself. Receivers are plain module-level
functions, connected once by their area's init_app (blinker ignores a second connect of
the same function, so many apps in one process, as in the tests, are fine).
"""
from blinker import Namespace

_signals = Namespace()

post_edited = _signals.signal("post-edited", doc="""\
Sent by forum.threads.services.edit_post with the Post as sender; keywords `editor` (a User)
and `audited` (True when the moderation area called the service and wrote its own entry).
Receivers: forum.moderation.forum_audit.record_edit (audit entry when a moderator
edits someone's post on the forum's own edit page).""")

post_deleted = _signals.signal("post-deleted", doc="""\
Sent by forum.threads.services.delete_post with the Post as sender; keywords `actor` (a User)
and `audited` (as above).
Receivers: forum.attachments.services.remove_deleted_post_files (the post's files leave the
disk after commit); forum.moderation.forum_audit.record_delete (audit entry, reports
closed and the author told, when a moderator deletes someone's post with the forum's
delete button).""")
