"""Repeating events (a council meeting on the second Tuesday of each month), with dateutil's rrule.

A series is one Event row: its starts_at/ends_at are the first meeting, `repeat` says how it
repeats, `repeat_until` the last day, `repeat_skip` the local dates left out. Occurrences are
computed on the local wall clock of the event's zone, then converted, so a 19:30 meeting is at
19:30 in winter and in summer. Decision: one registration covers the whole series (a council's
monthly meeting has one set of regulars; a waiting list per meeting would mean a registration
per date that nobody asked for); cancelling the series cancels every meeting, skipping one date
is an edit that adds it to the skipped dates (calendars get an EXDATE and a higher SEQUENCE).
"""
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday

REPEATS = ("", "weekly", "monthly_weekday", "monthly_date")
MAX_SPAN = timedelta(days=2 * 366)  # a series runs at most two years; plan a new one after
MAX_OCCURRENCES = 200


def _local(value, zone_name):
    """Naive UTC as naive local wall-clock time in the zone."""
    return value.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone_name)).replace(tzinfo=None)


def nth_weekday(day):
    """(n, weekday) of a date in its month: the 2nd Tuesday is (2, 1); a fifth one counts as the last (-1)."""
    n = (day.day - 1) // 7 + 1
    return (-1 if n == 5 else n), day.weekday()


def rule(repeat, first_local, until):
    """The dateutil rrule of local start times (naive), or None for a single event."""
    if not repeat:
        return None
    end = datetime.combine(until, time(23, 59, 59))
    if repeat == "weekly":
        return rrule(WEEKLY, dtstart=first_local, until=end, count=None, cache=True)
    if repeat == "monthly_weekday":
        n, day = nth_weekday(first_local.date())
        return rrule(MONTHLY, dtstart=first_local, until=end, byweekday=weekday(day, n), cache=True)
    return rrule(MONTHLY, dtstart=first_local, until=end, bymonthday=first_local.day, cache=True)


def parse_skip(text):
    """'2027-01-12, 2027-02-09' as a sorted list of dates; ValueError on anything else."""
    days = set()
    for part in str(text or "").replace(",", " ").replace(";", " ").split():
        days.add(date.fromisoformat(part))
    return sorted(days)


def local_starts(repeat, first_local, until, skip):
    """Every local start (naive) of a series, skipped dates left out; just the first for one event."""
    series = rule(repeat, first_local, until)
    if series is None:
        return [first_local]
    skipped = set(skip)
    return [moment for moment in series[:MAX_OCCURRENCES] if moment.date() not in skipped]


def occurrences(event):
    """(start, end) of every meeting of `event` as naive UTC, in order."""
    if not event.repeat:
        return ((event.starts_at, event.ends_at),)
    return series_times(event.repeat, event.starts_at, event.ends_at, event.timezone, event.repeat_until,
                        tuple(skip_dates(event)))


@lru_cache(maxsize=4096)
def series_times(repeat, starts_at, ends_at, zone_name, until, skip):
    """(start, end) naive UTC of each meeting of a series whose first meeting is given in naive UTC.

    Cached per process on all its inputs (an edit changes them): lists show a series' next
    meeting on every page view, and expanding the rule is the page's main cost (bench/pages.py)."""
    zone = ZoneInfo(zone_name)
    first = _local(starts_at, zone_name)
    # The length on the wall clock stays the same (an evening of two hours), also across a change.
    length = _local(ends_at, zone_name) - first
    result = []
    for moment in local_starts(repeat, first, until, skip):
        start = moment.replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
        end = (moment + length).replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
        result.append((start, end))
    return tuple(result) or ((starts_at, ends_at),)


def skip_dates(event):
    try:
        return parse_skip(event.repeat_skip)
    except ValueError:
        return []


def next_occurrence(event, now):
    """The first meeting not yet over at `now` (naive UTC), else the last one."""
    meetings = occurrences(event)
    for start, end in meetings:
        if end >= now:
            return start, end
    return meetings[-1]


def between(event, start, end):
    """The meetings of `event` overlapping [start, end) (naive UTC)."""
    return [(s, e) for s, e in occurrences(event) if e > start and s < end]
