"""The advice register: recording the municipality's answer, the filtered list with its
facet counts, the CSV rows, the umbrella's statistics and the 8-week reminder."""
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote, urlencode

from flask import current_app

from .. import outbox
from ..extensions import db
from ..models import LANGUAGES, AdviceRevision, Post, Tag, Theme, Thread, User, thread_tags
from ..permissions import can_edit_advice, can_record_answer, is_member
from ..places import find_province
from ..transactions import unit_of_work
from .fields import ANSWERED, STATUSES, AdviceError, clean, clean_answer, parse_bool

log = logging.getLogger(__name__)

PER_PAGE = 20


# The register filters, sorts and counts on the thread's advice columns: indexed copies of
# the JSON fields that forum.models.advice_columns keeps in step (see README "Advice register").
def status_expr():
    return Thread.answer_status


def sent_expr():
    return Thread.sent_on


def year_expr():
    return Thread.sent_year


def requested_expr():
    return Thread.requested


@unit_of_work()
def record_answer(user, thread, status, answered_on=None, follow_up="", prepared=(), today=None):
    """Record (or correct) the municipality's answer and what happened next; the answer
    document is attached to the opening post. Commits."""
    if not can_record_answer(user, thread):
        raise AdviceError("forbidden")
    fields = dict(thread.fields or {})
    status, answered = clean_answer(status, answered_on, fields.get("sent_on"), today)
    follow_up = str(follow_up or "").replace("\r\n", "\n").strip()
    if len(follow_up) > 4000:
        raise AdviceError("field_too_long", field="follow_up")
    fields.update(answer_status=status, answered_on=answered, follow_up=follow_up)
    if prepared or _shown(fields, thread.municipality, thread.province) != _shown(
            thread.fields, thread.municipality, thread.province):
        keep_revision(user, thread, "answer")
    if prepared:
        from ..attachments.services import add_attachments

        opening = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        rows = add_attachments(opening, user.id, prepared)
        db.session.flush()
        fields["answer_documents"] = [*fields.get("answer_documents", []), *(r.id for r in rows)]
    thread.fields = fields  # a new dict: JSON columns do not track changes inside
    outbox.enqueue("thread", thread.id)
    return thread


# -- correcting an advice, with its history ---------------------------------------------

# The fields the history compares and shows, in the order of the advice's card.
HISTORY_FIELDS = ("requested", "sent_on", "addressee", "municipality", "province", "summary",
                  "answer_status", "answered_on", "follow_up")


def _shown(fields, municipality, province):
    values = dict(fields or {}, municipality=municipality, province=province)
    return {name: values.get(name, "") for name in HISTORY_FIELDS}


def keep_revision(user, thread, change):
    """Keep the advice's fields as they are now (before `change`, "edit" or "answer")."""
    db.session.add(AdviceRevision(thread_id=thread.id, editor_id=user.id if user else None, change=change,
                                  fields=_shown(thread.fields, thread.municipality, thread.province)))


@unit_of_work()
def edit_advice(user, thread, values, today=None):
    """Correct an advice's own fields (requested, sent_on, addressee, municipality, province,
    summary) after posting; the earlier values go into its history. The answer and what
    happened next stay as recorded (their own form). Returns whether anything changed. Commits."""
    if not can_edit_advice(user, thread):
        raise AdviceError("forbidden")
    current = dict(thread.fields or {})
    columns, extra = clean(dict(
        values, answer_status=current.get("answer_status"), answered_on=current.get("answered_on"),
        follow_up=current.get("follow_up"), text_only=current.get("text_only")), today)
    fields = dict(current, **extra)
    if _shown(fields, columns["municipality"], columns["province"]) == _shown(
            current, thread.municipality, thread.province):
        return False
    keep_revision(user, thread, "edit")
    thread.municipality, thread.province = columns["municipality"], columns["province"]
    thread.fields = fields  # a new dict: JSON columns do not track changes inside
    outbox.enqueue("thread", thread.id)
    return True


@dataclass
class Version:
    """One state of an advice's fields: who made it, when, how ("post", "edit", "answer"),
    its values and the names of those that differ from the state before it."""
    editor: object
    made_at: object
    change: str
    values: dict
    changed: list


def history(thread):
    """The advice's versions, newest first. A revision keeps the state *before* a change,
    so version k was made by revision k-1's editor; the first is the posting."""
    revisions = db.session.scalars(db.select(AdviceRevision).where(AdviceRevision.thread_id == thread.id)
                                   .order_by(AdviceRevision.id)).all()
    states = [r.fields for r in revisions] + [_shown(thread.fields, thread.municipality, thread.province)]
    makers = [(thread.author, thread.created_at, "post")] + [(r.editor, r.created_at, r.change) for r in revisions]
    versions = []
    for i, (values, (editor, made_at, change)) in enumerate(zip(states, makers)):
        before = states[i - 1] if i else None
        changed = [n for n in HISTORY_FIELDS if before is not None and before.get(n, "") != values.get(n, "")]
        versions.append(Version(editor, made_at, change, values, changed))
    return versions[::-1]


# -- the register ----------------------------------------------------------------------

# "Topic" in the issue: the theme and the tags.
FACETS = ("municipality", "province", "year", "theme", "tag", "requested", "status", "language")


@dataclass
class Filters:
    municipality: str = ""
    province: str = ""
    year: str = ""
    theme: str = ""
    tag: str = ""
    requested: str = ""  # "requested" or "own"
    status: str = ""
    language: str = ""
    sort: str = "new"
    page: int = 1

    @classmethod
    def from_args(cls, args):
        """Filters from query arguments; unknown values are dropped, not refused."""
        year = (args.get("year") or "").strip()
        province = (args.get("province") or "").strip()
        try:
            page = max(int(args.get("page", 1)), 1)
        except ValueError:
            page = 1
        return cls(
            municipality=(args.get("municipality") or "").strip()[:120],
            province=(find_province(province) or "") if province else "",
            year=year if year.isdigit() and len(year) == 4 else "",
            theme=(args.get("theme") or "").strip()[:80],
            tag=(args.get("tag") or "").strip().lower()[:40],
            requested=args.get("requested") if args.get("requested") in ("requested", "own") else "",
            status=args.get("status") if args.get("status") in STATUSES else "",
            language=args.get("language") if args.get("language") in LANGUAGES else "",
            sort="old" if args.get("sort") == "old" else "new",
            page=min(page, 1000),
        )

    def args(self, **changes):
        """Query arguments of these filters with some changed (None drops one)."""
        values = {name: getattr(self, name) for name in FACETS}
        values["sort"] = self.sort if self.sort != "new" else ""
        values.update(changes)
        return {k: v for k, v in values.items() if v}

    def link(self, base, **changes):
        """`base` (the register's path, built once a page) with these filters' query: the
        facet links are many, and url_for for each cost more than the page's queries."""
        args = self.args(**changes)
        return base + ("?" + urlencode(args, quote_via=quote) if args else "")

    @property
    def active(self):
        return any(getattr(self, name) for name in FACETS)


def _conditions(filters, skip=None):
    conds = []
    if filters.municipality and skip != "municipality":
        conds.append(db.func.lower(Thread.municipality) == filters.municipality.lower())
    if filters.province and skip != "province":
        conds.append(Thread.province == filters.province)
    if filters.year and skip != "year":
        conds.append(year_expr() == int(filters.year))
    if filters.theme and skip != "theme":
        conds.append(Theme.slug == filters.theme)
    if filters.tag and skip != "tag":
        conds.append(Thread.tags.any(Tag.name == filters.tag))
    if filters.requested and skip != "requested":
        conds.append(requested_expr().is_(filters.requested == "requested"))
    if filters.status and skip != "status":
        conds.append(status_expr() == filters.status)
    if filters.language and skip != "language":
        conds.append(Thread.language == filters.language)
    return conds


def visible_advice(user):
    """Advice threads the user may see: visible, in a theme they may read, not merged away."""
    # `sent_on IS NOT NULL` (every advice has it) is the predicate of the partial indexes.
    query = (db.select(Thread).join(Thread.theme)
             .where(Thread.sent_on.is_not(None), Thread.kind == "advice", Thread.status == "visible",
                    Thread.merged_into_id.is_(None)))
    if not is_member(user):
        query = query.where(Theme.visibility == "public")
    return query


def advice_query(user, filters):
    """The filtered, sorted register (newest sent first unless sort=old)."""
    query = visible_advice(user).where(*_conditions(filters))
    order = (sent_expr().asc(), Thread.id.asc()) if filters.sort == "old" else (sent_expr().desc(), Thread.id.desc())
    return query.order_by(*order)


def _facet_column(name):
    return {
        "municipality": Thread.municipality, "province": Thread.province, "year": year_expr(),
        "theme": Theme.slug, "tag": Tag.name, "requested": requested_expr(), "status": status_expr(),
        "language": Thread.language,
    }[name]


FACET_LIMIT = 30  # values shown per facet (the most frequent); the chosen one always shows
CACHE_MAX = 512  # filter sets whose counts a worker keeps
_CACHE_LOCK = threading.Lock()


def register_stamp():
    """What the register's counts depend on, each read from one entry of an index: the
    highest id of the advice rows (a new advice, bulk inserts too), their latest register
    change (Thread.register_changed_at, set by the ORM hooks when a counted column changes;
    a reply does not), and the number and latest change of the themes (visibility, slug,
    names). Posting, answering, correcting, hiding, moving, merging or deleting an advice
    (threads are never deleted outright: their status changes), or changing a theme, gives
    a new stamp on every worker, whichever code path made it."""
    advice = Thread.sent_on.is_not(None)
    return tuple(db.session.execute(db.select(
        db.select(db.func.max(Thread.id)).where(advice).scalar_subquery(),
        db.select(db.func.max(Thread.register_changed_at)).where(advice).scalar_subquery(),
        db.select(db.func.count(Theme.id)).scalar_subquery(),
        db.select(db.func.max(Theme.updated_at)).scalar_subquery())).one())


def _compute_counts(user, filters):
    result = {}
    for name in FACETS:
        column = _facet_column(name)
        stmt = visible_advice(user)
        if name == "tag":  # tags are set with the thread (creation, import): the stamp sees them
            stmt = stmt.join(thread_tags, thread_tags.c.thread_id == Thread.id).join(Tag, Tag.id == thread_tags.c.tag_id)
        stmt = (stmt.where(*_conditions(filters, skip=name))
                .with_only_columns(column, db.func.count(Thread.id)).group_by(column))
        rows = [(value, count) for value, count in db.session.execute(stmt) if value not in (None, "")]
        if name == "requested":
            rows = [("requested" if value else "own", count) for value, count in rows]
        elif name == "year":
            rows.sort(key=lambda r: r[0], reverse=True)
        else:
            rows.sort(key=lambda r: (-r[1], str(r[0])))
        result[name] = rows
    total = db.session.scalar(visible_advice(user).where(*_conditions(filters))
                              .with_only_columns(db.func.count(Thread.id)))
    return result, total


def _cache():
    return current_app.extensions.setdefault("advice_counts", OrderedDict())


@dataclass
class Counts:
    """A filter set's facet counts (bounded) and total, with the facets' HTML per language
    (filled by the view)."""
    facets: dict
    total: int
    fragments: dict


def register_counts(user, filters):
    """Counts for the register: per facet [(value, count), ...] from one grouped query under
    the other filters, so each count says how many entries choosing that value would show;
    and the number of entries under all filters. Kept per worker for each filter set and
    audience until register_stamp() changes (bounded: the least recently used set goes first)."""
    # The sort too: the facets' links keep it (the counts do not depend on it).
    key = (is_member(user), tuple(str(getattr(filters, name)) for name in FACETS), filters.sort, register_stamp())
    cache = _cache()
    with _CACHE_LOCK:
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
    if found is None:
        facets, total = _compute_counts(user, filters)
        found = Counts({name: bounded(name, rows, filters) for name, rows in facets.items()}, total, {})
        with _CACHE_LOCK:
            cache[key] = found
            while len(cache) > CACHE_MAX:
                cache.popitem(last=False)
    return found


def bounded(name, rows, filters):
    """At most FACET_LIMIT values of a facet (they come most frequent first), keeping the
    chosen value; years (one a year) are all shown."""
    if name == "year" or len(rows) <= FACET_LIMIT:
        return rows
    chosen = str(getattr(filters, name))
    kept = rows[:FACET_LIMIT]
    if chosen and all(str(value) != chosen for value, _count in kept):
        kept += [row for row in rows if str(row[0]) == chosen]
    return kept


def csv_rows(rows, lang, base_url):
    """Header and one formula-safe row per advice, for the register's CSV export."""
    from ..moderation.services import csv_safe
    from ..places import province_name

    yield ["id", "title", "language", "council", "municipality", "province", "theme", "requested",
           "sent_on", "addressee", "answer_status", "answered_on", "summary", "follow_up", "url"]
    for thread in rows:
        f = thread.fields or {}
        yield [csv_safe(v) for v in (
            thread.id, thread.title, thread.language,
            thread.organisation.name if thread.organisation else "", thread.municipality,
            province_name(thread.province, lang) if thread.province else "", thread.theme.name(lang),
            "requested" if f.get("requested") else "own", f.get("sent_on", ""), f.get("addressee", ""),
            f.get("answer_status", ""), f.get("answered_on", ""), f.get("summary", ""),
            f.get("follow_up", ""), f"{base_url}/{lang}/t/{thread.id}",
        )]


# -- statistics for the umbrella -------------------------------------------------------

@dataclass
class StatusTable:
    """Counts per row label (a year or a theme) and answer status, with totals and shares."""
    rows: list  # [(key, label, {status: count})]

    def total(self, counts):
        return sum(counts.values())

    @property
    def totals(self):
        out = {s: 0 for s in STATUSES}
        for _key, _label, counts in self.rows:
            for s, n in counts.items():
                out[s] += n
        return out

    @property
    def answered_shares(self):
        """Percent of all advice per status (awaiting included), rounded to whole numbers."""
        totals = self.totals
        grand = sum(totals.values())
        return {s: (round(100 * n / grand) if grand else 0) for s, n in totals.items()}


def _status_table(user, column, label_of):
    status = status_expr()  # one object in SELECT and GROUP BY: PostgreSQL compares them as written
    stmt = (visible_advice(user).with_only_columns(column, status, db.func.count(Thread.id))
            .group_by(column, status))
    table = {}
    for key, status, count in db.session.execute(stmt):
        counts = table.setdefault(key, {s: 0 for s in STATUSES})
        counts[status if status in STATUSES else "awaiting"] += count
    return StatusTable([(key, label_of(key), counts) for key, counts in table.items()])


def statistics(user, lang):
    """(per year, per theme) StatusTables: two grouped queries."""
    per_year = _status_table(user, year_expr(), str)
    per_year.rows.sort(key=lambda r: r[0] or "")
    names = {t.id: t.name(lang) for t in db.session.scalars(db.select(Theme))}
    per_theme = _status_table(user, Thread.theme_id, lambda key: names.get(key, ""))
    per_theme.rows.sort(key=lambda r: r[1])
    return per_year, per_theme


# -- the reminder ----------------------------------------------------------------------

def due_for_reminder(today):
    """Advice still awaiting an answer, sent more than the setting's weeks ago, not reminded yet."""
    weeks = current_app.config["ADVICE_REMINDER_WEEKS"]
    cutoff = today - timedelta(weeks=weeks)
    return db.session.scalars(
        db.select(Thread).where(
            Thread.kind == "advice", Thread.status == "visible", status_expr() == "awaiting",
            sent_expr() <= cutoff, Thread.fields["reminded_on"].as_string().is_(None))
        .order_by(Thread.id)
    ).all()


REMINDER_RECIPIENTS_MAX = 30


def reminder_recipients(thread):
    """Who hears that an advice still awaits its answer: the member who posted it while they
    are an active member of that council; when they left it (or their account did), the
    council's active members, so the reminder still reaches the council."""
    def active(user):
        return user is not None and user.deleted_at is None and user.status == "active"

    author = db.session.get(User, thread.author_id) if thread.author_id else None
    if active(author) and (thread.organisation_id is None or author.organisation_id == thread.organisation_id):
        return [author]
    if thread.organisation_id is None:
        return []
    return db.session.scalars(
        db.select(User).where(User.organisation_id == thread.organisation_id, User.status == "active",
                              User.deleted_at.is_(None)).order_by(User.id).limit(REMINDER_RECIPIENTS_MAX)).all()


def send_reminders(today=None):
    """Remind the council of each advice without an answer after the set weeks (see
    reminder_recipients), each person in their own language, once: the thread is marked
    before the mail leaves (a failed mail is not retried, a second run sends nothing).
    Returns how many mails were sent. Runs inside the job's unit."""
    from flask_babel import gettext as _

    from auth.mail import send_mail

    from ..threads.notifications import external_url

    today = today or date.today()
    sent = 0
    for thread in due_for_reminder(today):
        thread.fields = dict(thread.fields, reminded_on=today.isoformat())
        db.session.commit()  # claimed: a second run finds it marked
        for person in reminder_recipients(thread):
            lang = person.locale if person.locale in LANGUAGES else "nl"
            try:
                send_mail(person.email, "advice_reminder", lang,
                          subject=lambda: _("Has the municipality answered your advice?"),
                          headers={"Auto-Submitted": "auto-generated"}, user=person, thread=thread,
                          weeks=current_app.config["ADVICE_REMINDER_WEEKS"],
                          link=external_url("threads.thread", thread_id=thread.id, lang=lang),
                          answer_link=external_url("advice.record_answer", thread_id=thread.id, lang=lang))
                sent += 1
            except Exception:  # one refused address must not stop the others
                log.exception("advice reminder for thread %s to user %s failed", thread.id, person.id)
    return sent


def is_answered(thread):
    return (thread.fields or {}).get("answer_status") in ANSWERED


__all__ = ["record_answer", "edit_advice", "history", "Filters", "register_counts", "advice_query", "csv_rows", "statistics",
           "send_reminders", "parse_bool"]
