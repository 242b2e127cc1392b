"""Read-side queries for the forum pages: lists, filters, unread markers, the thread page.

Every function builds its result in a fixed number of queries (eager loading, one query for
'thanked by me', one for read markers) so that pages do not slow down as threads grow.
"""
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import (
    LANGUAGES, Post, Reaction, Theme, Thread, ThreadRead, User, Watch,
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
    """Threads a user may see in lists: visible status, and public themes for non-members."""
    query = db.select(Thread).join(Thread.theme).where(Thread.status == "visible")
    if not is_member(user):
        query = query.where(Theme.visibility == "public")
    return query


def list_options():
    """Eager loads for thread lists: theme, author and organisation, tags."""
    return (
        joinedload(Thread.theme),
        joinedload(Thread.author).joinedload(User.organisation),
        joinedload(Thread.organisation),
        selectinload(Thread.tags),
    )


def ordered(query, args, pinned=("site",)):
    """Apply the language filter and sort; pinned threads (of the given levels) come first."""
    if args.language:
        query = query.where(Thread.language == args.language)
    order = []
    if pinned:
        # Site-wide pins before theme pins before the rest (`pinned` lists them by rank).
        order.append(db.case(*[(Thread.pinned == level, rank) for rank, level in enumerate(pinned)],
                             else_=len(pinned)))
    if args.sort == "newest":
        order.append(Thread.created_at.desc())
    elif args.sort == "thanks":
        order += [Thread.thanks_count.desc(), Thread.last_post_at.desc()]
    else:
        order.append(Thread.last_post_at.desc())
    order.append(Thread.id.desc())
    return query.options(*list_options()).order_by(*order)


# Far beyond any real list; keeps OFFSET inside PostgreSQL's bigint for ?page=9999...
MAX_PAGE = 100_000


def paginate(query, page, per_page=PER_PAGE):
    return db.paginate(query, page=min(page, MAX_PAGE), per_page=per_page, error_out=False, count=True)


def top(query, n):
    """The first n rows of a list query, without the count a pagination needs."""
    return list(db.session.scalars(query.limit(n)))


def open_vacancy_clause(today=None):
    today = today or date.today()
    return db.and_(
        Thread.kind == "vacancy", Thread.closed.is_(False),
        db.or_(Thread.closes_on.is_(None), Thread.closes_on >= today),
    )


def closed_vacancy_clause(today=None):
    today = today or date.today()
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
    ids = [t.id for t in threads]
    read = dict(db.session.execute(
        db.select(ThreadRead.thread_id, ThreadRead.last_read_at)
        .where(ThreadRead.user_id == user.id, ThreadRead.thread_id.in_(ids))
    ).all())
    joined = user.created_at
    result = set()
    for t in threads:
        seen = read.get(t.id)
        if (seen is None and (joined is None or t.last_post_at > joined)) or (seen is not None and t.last_post_at > seen):
            result.add(t.id)
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


def watching_theme(user, theme):
    if not is_member(user):
        return False
    return db.session.scalar(db.select(Watch.id).where(
        Watch.user_id == user.id, Watch.theme_id == theme.id, Watch.thread_id.is_(None))) is not None


def watching_thread(user, thread):
    if not is_member(user):
        return False
    return db.session.scalar(db.select(Watch.id).where(
        Watch.user_id == user.id, Watch.thread_id == thread.id)) is not None


def load_thread(thread_id):
    """A thread with its theme, author, organisation and tags (one query plus tags)."""
    return db.session.scalar(
        db.select(Thread).where(Thread.id == thread_id).options(
            joinedload(Thread.theme), joinedload(Thread.author).joinedload(User.organisation),
            joinedload(Thread.organisation), selectinload(Thread.tags),
        )
    )


def thread_posts(thread, user, page, per_page=POSTS_PER_PAGE):
    """The replies shown on a page of the thread (opening post excluded), eager-loaded.

    Held posts are left out for everyone except moderators and their author.
    """
    query = db.select(Post).where(Post.thread_id == thread.id, Post.number > 1)
    if not can_moderate(user):
        if getattr(user, "is_authenticated", False):
            query = query.where(db.or_(Post.status != "held", Post.author_id == user.id))
        else:
            query = query.where(Post.status != "held")
    query = query.options(
        joinedload(Post.author).joinedload(User.organisation)
    ).order_by(Post.number)
    return paginate(query, page, per_page)


def opening_post(thread):
    return db.session.scalar(
        db.select(Post).where(Post.thread_id == thread.id, Post.number == 1)
        .options(joinedload(Post.author).joinedload(User.organisation))
    )


def accepted_post(thread):
    if not thread.accepted_post_id:
        return None
    return db.session.scalar(
        db.select(Post).where(Post.id == thread.accepted_post_id, Post.thread_id == thread.id)
        .options(joinedload(Post.author).joinedload(User.organisation))
    )


def thanked_by(user, post_ids):
    """Ids among post_ids that the member has thanked (one query)."""
    if not is_member(user) or not post_ids:
        return set()
    return set(db.session.scalars(
        db.select(Reaction.post_id).where(Reaction.user_id == user.id, Reaction.post_id.in_(list(post_ids)))
    ))


def last_read_at(user, thread):
    if not is_member(user):
        return None
    row = db.session.get(ThreadRead, (user.id, thread.id))
    return row.last_read_at if row is not None else None


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


def profile_stats(user_id):
    """Threads started, accepted answers and thanks received by a member (visible posts)."""
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
    return {"accepted": accepted, "thanks": thanks, "posts": posts}
