"""Read-side queries for the forum pages: lists, filters, unread markers, the thread page.

Every function builds its result in a fixed number of queries (eager loading, one query for
'thanked by me', one for read markers) so that pages do not slow down as threads grow.
"""
import functools
from dataclasses import dataclass

from sqlalchemy.orm import joinedload, selectinload

from .. import pagecache
from ..extensions import db
from ..jobs.clock import local_today
from ..models import (
    LANGUAGES, PageGeneration, Post, Reaction, Theme, Thread, ThreadRead, User, Watch,
)
from ..permissions import can_moderate, is_member

SORTS = ("activity", "newest", "thanks")
PER_PAGE = 25
POSTS_PER_PAGE = 30


@dataclass
class ListArgs:
    """The filters a list page understands, read from request.args."""

    language: str = ""
    sort: str = "activity"
    page: int = 1

    @classmethod
    def from_request(cls, args):
        language = args.get("language", "")
        sort = args.get("sort", "activity")
        try:
            page = max(int(args.get("page", 1)), 1)
        except ValueError:
            page = 1
        return cls(
            language=language if language in LANGUAGES else "",
            sort=sort if sort in SORTS else "activity",
            page=page,
        )

    def as_dict(self):
        """Non-default values, for links that keep the filters (pagination, tabs)."""
        out = {}
        if self.language:
            out["language"] = self.language
        if self.sort != "activity":
            out["sort"] = self.sort
        return out


def visible_threads(user):
    """Threads a user may see in lists: visible status, and public themes for non-members.

    Public themes are a filter on theme_id, not a join: the join let SQLite start from the
    theme table and sort the threads afterwards instead of reading them in index order.
    """
    query = db.select(Thread).where(Thread.status == "visible")
    if not is_member(user):
        query = query.where(Thread.theme_id.in_(
            db.select(Theme.id).where(Theme.visibility == "public").scalar_subquery()))
    return query


def list_options():
    """Eager loads for thread lists: theme, author and organisation, tags."""
    return (
        joinedload(Thread.theme),
        joinedload(Thread.author).joinedload(User.organisation),
        joinedload(Thread.organisation),
        selectinload(Thread.tags),
    )


def sort_columns(sort):
    """The ORDER BY of a list sort; each has an index per filter (see Thread.__table_args__)."""
    if sort == "newest":
        return [Thread.created_at.desc(), Thread.id.desc()]
    if sort == "thanks":
        return [Thread.thanks_count.desc(), Thread.last_post_at.desc(), Thread.id.desc()]
    return [Thread.last_post_at.desc(), Thread.id.desc()]


def sorted_in_language(query, args):
    """Apply the language filter and the sort."""
    if args.language:
        query = query.where(Thread.language == args.language)
    return query.order_by(*sort_columns(args.sort))


def ordered(query, args):
    """The language filter and the sort, with the list's eager loads."""
    return sorted_in_language(query, args).options(*list_options())


# Far beyond any real list; keeps OFFSET inside PostgreSQL's bigint for ?page=9999...
MAX_PAGE = 100_000
# Pinned threads shown above a list; moderators pin a handful, this only bounds a mistake.
MAX_PINNED = 50


# What a list reads of each thread on its page: enough to order it, to find its item among
# those a worker keeps (forum/threads/fragments.py, thread_items: valid while the thread's
# revision and reply count and the site counter hold) and to fill the item's slots. The
# thread with its theme, author, council and tags is loaded only for items not kept: after
# a reply, the one thread it moved to the top. (Loading every listed thread through the
# ORM with those joins was most of a list page rendered again after each reply.)
LISTED = (Thread.id, Thread.cache_revision, Thread.post_count, Thread.last_post_at)


@dataclass
class ListPage:
    """One page of a thread list: pinned threads (first page only), then the page's threads.

    There is no total: counting every visible thread on each request was most of the
    latest page's time. `has_next` comes from reading one row more than the page shows.
    `items` are rows of LISTED columns (not Thread objects); pinned threads are Thread objects.
    """

    pinned: list
    items: list
    page: int
    has_next: bool

    @property
    def threads(self):
        return self.pinned + self.items


def list_page(query, args, pinned=("site",), per_page=PER_PAGE):
    """A page of a list query. Pinned threads (site-wide before theme pins) come first on
    page 1 and are left out of the pages below, which the list's index reads in order."""
    page = min(args.page, MAX_PAGE)
    top_rows = []
    if pinned:
        if page == 1:
            top_rows = pinned_threads(query, args, pinned)
        query = query.where(Thread.pinned.not_in(pinned))
    rows = db.session.execute(sorted_in_language(query.with_only_columns(*LISTED), args)
                              .limit(per_page + 1).offset((page - 1) * per_page)).all()
    return ListPage(pinned=top_rows, items=rows[:per_page], page=page, has_next=len(rows) > per_page)


def pinned_threads(query, args, levels):
    """The pinned threads of a list, site-wide pins first, each level in the list's sort.

    Read through the index on `pinned` and sorted here: the few pinned rows are found
    directly, where an ORDER BY would have the database walk the sort index past every
    unpinned thread (or sort them all by pin rank).
    """
    if args.language:
        query = query.where(Thread.language == args.language)
    # `pinned != ''` repeats the partial index's condition so that the index applies. The
    # ids first: most lists have no pinned thread, and a bare id query costs a fraction of
    # one with the list's eager loads.
    query = query.where(Thread.pinned != "", Thread.pinned.in_(levels)).limit(MAX_PINNED)
    ids = db.session.scalars(query.with_only_columns(Thread.id)).all()
    if not ids:
        return []
    rows = db.session.scalars(db.select(Thread).where(Thread.id.in_(ids)).options(*list_options())).all()
    rank = {level: n for n, level in enumerate(levels)}
    if args.sort == "newest":
        rows.sort(key=lambda t: (t.created_at, t.id), reverse=True)
    elif args.sort == "thanks":
        rows.sort(key=lambda t: (t.thanks_count, t.last_post_at, t.id), reverse=True)
    else:
        rows.sort(key=lambda t: (t.last_post_at, t.id), reverse=True)
    return sorted(rows, key=lambda t: rank[t.pinned])  # stable: keeps the sort within a level


def paginate(query, page, per_page=PER_PAGE):
    return db.paginate(query, page=min(page, MAX_PAGE), per_page=per_page, error_out=False, count=True)


def top(query, n):
    """The first n rows of a list query, without the count a pagination needs."""
    return list(db.session.scalars(query.limit(n)))


def open_vacancy_clause(today=None):
    today = today or local_today()
    return db.and_(
        Thread.kind == "vacancy", Thread.closed.is_(False),
        db.or_(Thread.closes_on.is_(None), Thread.closes_on >= today),
    )


def closed_vacancy_clause(today=None):
    today = today or local_today()
    return db.and_(
        Thread.kind == "vacancy", db.or_(Thread.closed.is_(True), Thread.closes_on < today),
    )


def unread_ids(user, threads):
    """Ids of the listed threads with activity the member has not seen (one query).

    A thread never opened counts as unread when its last activity is after the member
    joined: new members are not greeted with the whole archive in bold.
    """
    if not is_member(user) or not threads:
        return set()
    read = dict(db.session.execute(
        db.select(ThreadRead.thread_id, ThreadRead.last_read_at)
        .where(ThreadRead.user_id == user.id, ThreadRead.thread_id.in_([t.id for t in threads]))
    ).all())
    return _unread_of(user, [(t.id, t.last_post_at) for t in threads], read)


def _unread_of(user, threads, read):
    """The unread ones of (thread id, last activity) pairs, given the member's read markers."""
    joined = user.created_at
    result = set()
    for thread_id, last_post_at in threads:
        seen = read.get(thread_id)
        if (seen is None and (joined is None or last_post_at > joined)) or (seen is not None and last_post_at > seen):
            result.add(thread_id)
    return result


def theme_overview(user):
    """Themes the user may see with thread and post counts and the latest thread (3 queries)."""
    themes = db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id)).all()
    if not is_member(user):
        themes = [t for t in themes if t.visibility == "public"]
    counts = {
        theme_id: (threads, posts or 0)
        for theme_id, threads, posts in db.session.execute(
            db.select(Thread.theme_id, db.func.count(Thread.id), db.func.sum(Thread.post_count))
            .where(Thread.status == "visible").group_by(Thread.theme_id)
        ).all()
    }
    latest_ids = db.session.execute(
        db.select(Thread.theme_id, db.func.max(Thread.last_post_at))
        .where(Thread.status == "visible").group_by(Thread.theme_id)
    ).all()
    latest = {}
    if latest_ids:
        conditions = [db.and_(Thread.theme_id == tid, Thread.last_post_at == at) for tid, at in latest_ids]
        for thread in db.session.scalars(
            db.select(Thread).where(Thread.status == "visible", db.or_(*conditions))
        ):
            latest.setdefault(thread.theme_id, thread)
    return [(t, counts.get(t.id, (0, 0)), latest.get(t.id)) for t in themes]


@functools.cache
def _theme_statement():
    return db.select(Theme).where(Theme.slug == db.bindparam("slug"))


def theme_by_slug(slug):
    return db.session.scalar(_theme_statement(), {"slug": slug})


@functools.cache
def _thread_statement(light):
    options = [joinedload(Thread.theme)]
    if not light:
        options += [joinedload(Thread.author).joinedload(User.organisation),
                    joinedload(Thread.organisation), selectinload(Thread.tags)]
    return db.select(Thread).where(Thread.id == db.bindparam("tid")).options(*options)


def load_thread(thread_id, light=False):
    """A thread with its theme, author, organisation and tags (one query plus tags); with
    `light`, with its theme only (one query)."""
    return db.session.scalar(_thread_statement(light), {"tid": thread_id})


@dataclass
class PostPage:
    """One page of a thread's replies (what the thread page and its pagination read)."""

    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self):
        return -(-self.total // self.per_page) if self.total else 0


def _held_rule(user):
    """Which held posts a reader sees: all (moderators), their own (members), none."""
    if can_moderate(user):
        return "all"
    return "own" if getattr(user, "is_authenticated", False) else "none"


@functools.cache
def _thread_page_statements(held_rule):
    """(opening post, page of replies, page 1 with the opening post, count of replies) for
    one held rule; built once, with bound parameters (tid, uid, lim, off)."""
    shown = [Post.number > 1]
    if held_rule == "own":
        shown.append(db.or_(Post.status != "held", Post.author_id == db.bindparam("uid")))
    elif held_rule == "none":
        shown.append(Post.status != "held")
    with_author = joinedload(Post.author).joinedload(User.organisation)
    of_thread = Post.thread_id == db.bindparam("tid")
    opening = db.select(Post).where(of_thread, Post.number == 1).options(with_author)
    replies = (db.select(Post).where(of_thread, *shown).options(with_author).order_by(Post.number)
               .limit(db.bindparam("lim")).offset(db.bindparam("off")))
    first = (db.select(Post).where(of_thread, db.or_(Post.number == 1, db.and_(*shown))).options(with_author)
             .order_by(Post.number).limit(db.bindparam("lim")))
    count = db.select(db.func.count(Post.id)).where(of_thread, *shown)
    return opening, replies, first, count


def thread_page(thread, user, page, per_page=POSTS_PER_PAGE):
    """The opening post and a page of replies (a PostPage), eager-loaded with their authors:
    on the first page one statement for both, and one to count the replies.

    Held replies are left out for everyone except moderators and their author.
    """
    page = min(max(page, 1), MAX_PAGE)
    opening_statement, replies_statement, first_statement, count_statement = _thread_page_statements(_held_rule(user))
    values = {"tid": thread.id, "uid": getattr(user, "id", None)}
    if page == 1:
        rows = list(db.session.scalars(first_statement, {**values, "lim": per_page + 1}))
        opening = rows.pop(0) if rows and rows[0].number == 1 else None
    else:
        opening = db.session.scalar(opening_statement, values)
        rows = list(db.session.scalars(replies_statement, {**values, "lim": per_page,
                                                          "off": (page - 1) * per_page}))
    total = db.session.scalar(count_statement, values) or 0
    return opening, PostPage(items=rows, total=total, page=page, per_page=per_page)


def replies_after(thread, number, limit):
    """Up to `limit` visible replies after reply `number`, in order, with their authors (what
    a kept last page of the thread gets put in; forum/threads/views.py, _render_thread)."""
    return list(db.session.scalars(
        db.select(Post).where(Post.thread_id == thread.id, Post.number > number, Post.status == "visible")
        .options(joinedload(Post.author).joinedload(User.organisation)).order_by(Post.number).limit(limit + 1)))


def accepted_post(thread):
    if not thread.accepted_post_id:
        return None
    return db.session.scalar(
        db.select(Post).where(Post.id == thread.accepted_post_id, Post.thread_id == thread.id)
        .options(joinedload(Post.author).joinedload(User.organisation))
    )


def _unread_notes_part(no_time):
    """A UNION part ('notes', count, NULL): the member's (`:uid`) unread notifications for
    the header, counted up to UNREAD_SHOWN + 1 (forum/templating.py), in the page's statement."""
    from ..models import Notification
    from ..templating import UNREAD_SHOWN

    unread = (db.select(Notification.id).where(Notification.user_id == db.bindparam("uid"), Notification.read_at.is_(None))
              .limit(UNREAD_SHOWN + 1).subquery())
    return db.select(db.literal_column("'notes'"), db.func.count(), no_time).select_from(unread)


def _remember_notes(count):
    from flask import g

    g.agora_unread_notifications = count or 0


# The statements below run on every member's page view: built once per process with bound
# parameters (:uid, :tid, :ids, :theme), so a request pays neither their construction nor
# SQLAlchemy's cache key for them.

@functools.cache
def _list_facts_statement(with_threads, with_theme):
    no_time = db.cast(db.null(), db.DateTime)
    parts = [_unread_notes_part(no_time)]
    if with_threads:
        parts.append(db.select(db.literal_column("'read'"), ThreadRead.thread_id, ThreadRead.last_read_at)
                     .where(ThreadRead.user_id == db.bindparam("uid"),
                            ThreadRead.thread_id.in_(db.bindparam("ids", expanding=True))))
    if with_theme:
        parts.append(db.select(db.literal_column("'watch'"), Watch.id, no_time).where(
            Watch.user_id == db.bindparam("uid"), Watch.theme_id == db.bindparam("theme"), Watch.thread_id.is_(None)))
    return db.union_all(*parts)


def list_reader_facts(user, threads, theme=None):
    """For a kept thread list (forum/pagecache.py), in one statement: the ids of the listed
    (id, last activity) threads with activity the member has not seen (as unread_ids),
    whether they follow `theme`, and their unread notifications (kept for the header).
    Returns (unread ids, watching the theme)."""
    if not is_member(user):
        return set(), False
    params = {"uid": user.id}
    if threads:
        params["ids"] = [i for i, _at in threads]
    if theme is not None:
        params["theme"] = theme.id
    read, watching = {}, False
    for kind, ref, at in db.session.execute(_list_facts_statement(bool(threads), theme is not None), params).all():
        if kind == "notes":
            _remember_notes(ref)
        elif kind == "watch":
            watching = True
        else:
            read[ref] = at
    return _unread_of(user, threads, read), watching


@functools.cache
def _reader_state_statement():
    no_time = db.cast(db.null(), db.DateTime)
    uid, tid = db.bindparam("uid"), db.bindparam("tid")
    return db.union_all(
        db.select(db.literal_column("'read'").label("kind"), ThreadRead.thread_id.label("ref"),
                  ThreadRead.last_read_at.label("at"))
        .where(ThreadRead.user_id == uid, ThreadRead.thread_id == tid),
        db.select(db.literal_column("'watch'"), Watch.id, no_time).where(Watch.user_id == uid, Watch.thread_id == tid),
        db.select(db.literal_column("'thanked'"), Reaction.post_id, no_time)
        .where(Reaction.user_id == uid, Reaction.post_id.in_(db.select(Post.id).where(Post.thread_id == tid).scalar_subquery())),
        db.select(db.literal_column("'unseen'"), Post.id, no_time)
        .where(Post.thread_id == tid, Post.author_id == uid, Post.status != "visible"),
        _unread_notes_part(no_time),
        # The kept pages' counters (forum/pagecache.py) come along: one round trip less.
        db.select(db.literal_column("'site'"), PageGeneration.site, no_time).where(PageGeneration.id == 1),
        db.select(db.literal_column("'lists'"), PageGeneration.lists, no_time).where(PageGeneration.id == 1),
    )


def reader_state(user, thread):
    """(thanked post ids, watching, last read at, has a held or hidden post here) of a member
    on a thread, in one statement: small look-ups were round trips of ORM overhead. Thanks
    are read for the whole thread (a member thanks a handful), so no post ids are needed;
    the unread notifications for the header come along."""
    if not is_member(user):
        return set(), False, None, False
    thanked, watching, last_read, unseen = set(), False, None, False
    counters = {"site": 0, "lists": 0}
    for kind, ref, at in db.session.execute(_reader_state_statement(), {"uid": user.id, "tid": thread.id}).all():
        if kind == "thanked":
            thanked.add(ref)
        elif kind == "watch":
            watching = True
        elif kind == "unseen":
            unseen = True
        elif kind == "notes":
            _remember_notes(ref)
        elif kind in counters:
            counters[kind] = ref
        else:
            last_read = at
    pagecache.remember_counters(counters["site"], counters["lists"])
    return thanked, watching, last_read, unseen


def page_of_post(post, user, per_page=POSTS_PER_PAGE):
    """The page of the thread on which a reply appears."""
    if post.number <= 1:
        return 1
    query = db.select(db.func.count(Post.id)).where(
        Post.thread_id == post.thread_id, Post.number > 1, Post.number < post.number)
    if not can_moderate(user):
        query = query.where(Post.status != "held")
    before = db.session.scalar(query) or 0
    return before // per_page + 1


def initiative_places(user):
    """(province, municipality) pairs of visible initiatives, for the filter menus."""
    query = visible_threads(user).where(Thread.kind == "initiative")
    rows = db.session.execute(
        query.with_only_columns(Thread.province, Thread.municipality).distinct()
    ).all()
    provinces = sorted({p for p, _m in rows if p})
    return provinces, rows


def profile_stats(user_id, user=None):
    """Threads started (that the reader may see), accepted answers and thanks received by a
    member (visible posts)."""
    threads = db.session.scalar(
        visible_threads(user).where(Thread.author_id == user_id)
        .with_only_columns(db.func.count(Thread.id))
    ) or 0
    accepted = db.session.scalar(
        db.select(db.func.count(Thread.id)).join(Post, Post.id == Thread.accepted_post_id)
        .where(Post.author_id == user_id, Thread.status == "visible", Post.status == "visible")
    ) or 0
    thanks = db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Post.thanks_count), 0))
        .where(Post.author_id == user_id, Post.status == "visible")
    ) or 0
    posts = db.session.scalar(
        db.select(db.func.count(Post.id)).where(Post.author_id == user_id, Post.status == "visible")
    ) or 0
    return {"threads": threads, "accepted": accepted, "thanks": thanks, "posts": posts}
