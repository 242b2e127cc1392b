"""Events for bench/pages.py: `count` events in bulk (past and future, some series, public,
members-only and province audiences), so the upcoming-events page is measured at size."""
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from benchapp import bench_app  # bench/benchapp.py

KINDS = ("general_assembly", "regional", "training", "webinar", "information", "other")
PROVINCES = ("NL-UT", "NL-GE", "NL-NH", "NL-ZH", "BE-VAN", "BE-WNA", "BE-WLG", "BE-BRU")


def populate_events(folder, count, database_url=None, seed=11):
    from forum.events.models import Event
    from forum.events.repeat import series_times
    from forum.extensions import db
    from forum.models import Organisation, User, utcnow

    rng = random.Random(seed)
    app = bench_app(folder, database_url)
    with app.app_context():
        org_ids = db.session.scalars(db.select(Organisation.id)).all()
        user_id = db.session.scalar(db.select(User.id).order_by(User.id).limit(1))
        now = utcnow()
        rows = []
        for i in range(count):
            zone = "Europe/Amsterdam" if i % 3 else "Europe/Brussels"
            day = date.today() + timedelta(days=rng.randrange(-400, 400))
            local = datetime.combine(day, time(rng.choice((10, 13, 19)), rng.choice((0, 30))), ZoneInfo(zone))
            starts = local.astimezone(timezone.utc).replace(tzinfo=None)
            ends = starts + timedelta(hours=2)
            series = i % 25 == 0
            until = day + timedelta(days=300) if series else None
            last = series_times("monthly_weekday", starts, ends, zone, until, ())[-1][1] if series else ends
            audience = ("public", "public", "members", "provinces")[i % 4]
            rows.append(dict(
                title=f"Bijeenkomst {i}: {rng.choice(('armoede', 'mantelzorg', 'jeugdzorg', 'de Wmo'))}",
                description="Agenda en aanmelding.", description_html="<p>Agenda en aanmelding.</p>",
                kind=KINDS[i % len(KINDS)], language=("nl", "fr", "both")[i % 3],
                organisation_id=org_ids[i % len(org_ids)] if i % 2 else None, created_by_id=user_id,
                starts_at=starts, ends_at=ends, timezone=zone, all_day=False, venue="Zaal", address="Markt 1",
                municipality=f"Gemeente {i % 250}", province=PROVINCES[i % len(PROVINCES)], online_url="",
                online_private=False, audience=audience,
                audience_provinces=PROVINCES[i % len(PROVINCES)] if audience == "provinces" else "",
                capacity=rng.choice((None, 30, 120)), status="cancelled" if i % 40 == 0 else "scheduled",
                sequence=0, held=False, repeat="monthly_weekday" if series else "", repeat_until=until,
                repeat_skip="", last_ends_at=last, created_at=now, updated_at=now))
        db.session.execute(db.insert(Event), rows)
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()
