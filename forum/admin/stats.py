"""Figures for the overview page: people and organisations by status, posts per week, open flags."""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..extensions import db
from ..models import Flag, Organisation, Post, Theme, Thread, User, utcnow

WEEKS = 52


def members_by_status():
    """{status: count} of accounts that were not deleted, plus 'silenced' (a state, not a status)."""
    rows = db.session.execute(
        db.select(User.status, db.func.count(User.id)).where(User.deleted_at.is_(None)).group_by(User.status)
    ).all()
    result = dict(rows)
    result["silenced"] = db.session.scalar(
        db.select(db.func.count(User.id)).where(User.deleted_at.is_(None), User.silenced_until > utcnow())
    ) or 0
    return result


def members_by_role():
    rows = db.session.execute(
        db.select(User.role, db.func.count(User.id))
        .where(User.deleted_at.is_(None), User.status == "active").group_by(User.role)
    ).all()
    return dict(rows)


def organisations_by_status():
    rows = db.session.execute(
        db.select(Organisation.membership_status, db.func.count(Organisation.id))
        .where(Organisation.merged_into_id.is_(None)).group_by(Organisation.membership_status)
    ).all()
    return dict(rows)


def open_flags():
    """(number of unresolved flags, age of the oldest as a timedelta or None)."""
    number, oldest = db.session.execute(
        db.select(db.func.count(Flag.id), db.func.min(Flag.created_at)).where(Flag.resolved_at.is_(None))
    ).one()
    if isinstance(oldest, str):  # SQLite aggregates lose the column type
        oldest = datetime.fromisoformat(oldest)
    return int(number or 0), (utcnow() - oldest) if oldest else None


def week_start(day):
    return day - timedelta(days=day.weekday())


@dataclass
class WeeklyPosts:
    """Posts per week per theme: `weeks` (Mondays, oldest first) and one row of counts per theme."""

    weeks: list
    series: list = field(default_factory=list)  # [(theme, [count per week])]

    @property
    def totals(self):
        return [sum(counts[i] for _theme, counts in self.series) for i in range(len(self.weeks))]

    @property
    def total(self):
        return sum(self.totals)


def posts_per_week(today=None, weeks=WEEKS):
    """Visible posts per ISO week (Monday start) and theme over the last `weeks` weeks.

    Grouped by day in SQL (date() exists in SQLite and PostgreSQL), by week in Python:
    at most a year of days per theme comes back, however busy the forum is.
    """
    today = today or utcnow().date()
    first = week_start(today) - timedelta(weeks=weeks - 1)
    week_list = [first + timedelta(weeks=i) for i in range(weeks)]
    index = {w: i for i, w in enumerate(week_list)}
    day = db.func.date(Post.created_at)
    rows = db.session.execute(
        db.select(Thread.theme_id, day, db.func.count(Post.id))
        .join(Thread, Post.thread_id == Thread.id)
        .where(Post.status == "visible", Thread.status == "visible",
               Post.created_at >= datetime.combine(first, datetime.min.time()))
        .group_by(Thread.theme_id, day)
    ).all()
    themes = db.session.scalars(db.select(Theme).order_by(Theme.position, Theme.id)).all()
    counts = {t.id: [0] * weeks for t in themes}
    for theme_id, value, number in rows:
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        elif isinstance(value, datetime):
            value = value.date()
        i = index.get(week_start(value))
        if i is not None and theme_id in counts:
            counts[theme_id][i] += number
    return WeeklyPosts(weeks=week_list, series=[(t, counts[t.id]) for t in themes])
