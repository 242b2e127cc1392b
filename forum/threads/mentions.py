"""@mentions: find them in post text and turn them into links to member profiles.

A handle is the member's display name without spaces, matched case-insensitively:
"Marieke de Vries" is mentioned as @MariekedeVries (or @mariekedevries),
"Jean-Pierre Dubois" as @Jean-PierreDubois. Members have no separate user name, and
this keeps mentions readable in the source. A handle that fits two active members
is ambiguous and stays plain text: we would rather not notify the wrong person.
"""
import re

from markupsafe import escape

from ..extensions import db
from ..models import User

# A handle starts after the start of the text or a character that cannot be part of an
# e-mail address or a URL, and ends on a letter or digit (so "@Jan." mentions Jan).
MENTION_RE = re.compile(r"(?<![\w@/.+-])@(\w(?:[\w.'’-]{0,58}\w)?)", re.UNICODE)
# Text inside these elements is never turned into mentions (code samples, existing links).
_SKIP_TAGS = ("code", "pre", "a")
_TAG_RE = re.compile(r"(<[^>]+>)")


def handle_of(name):
    """The handle other members type to mention this display name."""
    return re.sub(r"\s+", "", name or "")


def _key(handle):
    return handle.replace("’", "'").lower()


def find_handles(text):
    """Candidate handles (normalised) in Markdown source, code spans excluded roughly."""
    without_code = re.sub(r"```.*?```|`[^`\n]*`", " ", text or "", flags=re.S)
    return {_key(m.group(1)) for m in MENTION_RE.finditer(without_code)}


def resolve(handles):
    """Map normalised handles to the one active member they name (ambiguous ones left out)."""
    if not handles:
        return {}
    compact = db.func.lower(db.func.replace(User.name, " ", ""))
    rows = db.session.execute(
        db.select(User.id, User.name).where(
            compact.in_(sorted(handles)), User.status == "active", User.deleted_at.is_(None)
        )
    ).all()
    found, seen = {}, {}
    for user_id, name in rows:
        key = _key(handle_of(name))
        seen[key] = seen.get(key, 0) + 1
        found[key] = user_id
    return {k: v for k, v in found.items() if seen[k] == 1}


def mentioned_user_ids(text):
    """Ids of the members a Markdown source mentions."""
    return set(resolve(find_handles(text)).values())


def make_linker(text):
    """A render_markdown postprocess that links the mentions found in `text`."""
    members = resolve(find_handles(text))

    def link(html):
        if not members:
            return html
        out, skip = [], 0
        for part in _TAG_RE.split(html):
            if part.startswith("<"):
                m = re.match(r"<(/?)([a-zA-Z0-9]+)", part)
                if m and m.group(2).lower() in _SKIP_TAGS:
                    skip += -1 if m.group(1) else 1
                    skip = max(skip, 0)
                out.append(part)
            elif skip:
                out.append(part)
            else:
                out.append(MENTION_RE.sub(lambda mo: _replace(mo, members), part))
        return "".join(out)

    return link


def _replace(match, members):
    user_id = members.get(_key(match.group(1)))
    if user_id is None:
        return match.group(0)
    # Language-neutral address: the same HTML is shown on Dutch and French pages.
    return f'<a href="/members/{user_id}" class="mention">@{escape(match.group(1))}</a>'
