"""The site's local time: digests go out after 07:00 in the members' time zone, not the server's."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def timezone():
    name = current_app.config["TIMEZONE"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_now():
    return datetime.now(timezone())


def local_today():
    """The date in the site's time zone: a vacancy "closing today" closes at local midnight."""
    return local_now().date()


def period_key(period, when=None):
    """The digest period a local moment belongs to: 2026-11-23 (daily) or 2026-W48 (weekly)."""
    when = when or local_now()
    if period == "daily":
        return when.date().isoformat()
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def period_started(period, when=None, hour=7):
    """Whether this period's digest is due: after 07:00 today (daily), after Monday 07:00 (weekly)."""
    when = when or local_now()
    if period == "daily":
        return when.hour >= hour
    return when.weekday() > 0 or when.hour >= hour
