"""The `events` section of `forum import` / `forum export`: the form's rules with paths, past
events accepted, idempotent on ref, and a round trip into an empty site."""
import json

from forum.events.models import Event
from forum.extensions import db
from forum.models import Thread, count
from tests.test_import_export import example, write


def events_section():
    return [
        {"ref": "ev-alv-2025", "title": "Algemene ledenvergadering 2025", "kind": "general_assembly",
         "language": "both", "organiser": None, "starts_at": "2025-06-14T13:30:00+02:00",
         "ends_at": "2025-06-14T17:00:00+02:00", "timezone": "Europe/Amsterdam", "all_day": False,
         "venue": "Stadsschouwburg", "address": "Lucasbolwerk 24", "municipality": "Utrecht", "province": "NL-UT",
         "online_url": "", "audience": "members", "capacity": 120, "description": "Agenda; jaarverslag, begroting"},
        {"ref": "ev-namur", "title": "Concertation régionale", "kind": "regional", "language": "fr",
         "organiser": "org-namur", "starts_at": "2031-10-26T18:30:00Z", "ends_at": "2031-10-26T20:30:00Z",
         "timezone": "Europe/Brussels", "all_day": False, "venue": "", "address": "", "municipality": "Namur",
         "province": "BE-WNA", "online_url": "https://meet.example.org/namur", "audience": "public",
         "capacity": None, "description": "", "theme": "wmo"},
    ]


def test_events_import_with_past_ones_and_twice_adds_nothing(app, runner, tmp_path):
    data = dict(example(), events=events_section())
    path = write(tmp_path, data)
    result = runner.invoke(args=["forum", "import", path])
    assert result.exit_code == 0, result.output
    assert "2 events" in result.output
    with app.app_context():
        events = {e.import_ref: e for e in db.session.scalars(db.select(Event))}
        alv = events["ev-alv-2025"]
        assert alv.is_past and alv.audience == "members" and alv.capacity == 120 and alv.organisation_id is None
        namur = events["ev-namur"]
        assert namur.organisation.slug == "ccs-namur" and namur.theme.slug == "wmo"
        # 18:30 UTC on the day summer time ends is 19:30 in Brussels.
        from forum.events.services import local_time

        start = local_time(namur.starts_at, namur)
        assert (start.hour, start.minute) == (19, 30) and start.utcoffset().total_seconds() == 3600
    again = runner.invoke(args=["forum", "import", path])
    assert again.exit_code == 0 and "2 events" in again.output.split("skipped")[-1]
    with app.app_context():
        assert count(Event) == 2


def test_bad_events_are_reported_with_paths_and_nothing_is_written(app, runner, tmp_path):
    events = events_section()
    events[0]["ends_at"] = "2025-06-14T12:00:00+02:00"
    events[1]["province"] = "XX-ZZ"
    events[1]["online_url"] = "http://meet.example.org/namur"
    events.append(dict(events_section()[0], ref="ev-3", starts_at="2025-06-14T13:30:00",
                       online_url="javascript:alert(1)"))
    events.append(dict(events_section()[0], ref="ev-4", description="x" * (2 * 1024 * 1024)))
    events.append(dict(events_section()[0], ref="ev-5", organiser="org-unknown", capacity=0, theme="geen-thema"))
    result = runner.invoke(args=["forum", "import", write(tmp_path, dict(example(), events=events))])
    assert result.exit_code != 0
    assert "events[0].ends_at: The event cannot end before it starts." in result.output
    assert "events[1].province: 'XX-ZZ' is not a province" in result.output
    assert "events[2].starts_at: needs its offset from UTC" in result.output
    assert "events[3].description: The description can be at most 20000 characters." in result.output
    assert "events[4].organiser: unknown organisation ref 'org-unknown'" in result.output
    assert "events[4].capacity: Enter a number of seats of 1 or more" in result.output
    assert "events[4].theme: unknown theme 'geen-thema'" in result.output
    with app.app_context():
        assert count(Event) == 0 and count(Thread) == 0  # the whole file or nothing


def test_events_export_and_import_into_an_empty_site(app, empty_site, runner, tmp_path):
    data = dict(example(), events=events_section())
    data["events"][1].update(repeat="monthly_weekday", repeat_until="2032-06-30", repeat_skip=["2031-12-28"])
    assert runner.invoke(args=["forum", "import", write(tmp_path, data)]).exit_code == 0
    path = tmp_path / "export.json"
    assert runner.invoke(args=["forum", "export", str(path)]).exit_code == 0
    exported = json.loads(path.read_text(encoding="utf-8"))["events"]
    namur = next(e for e in exported if e["ref"] == "ev-namur")
    assert namur["starts_at"] == "2031-10-26T19:30:00+01:00" and namur["organiser"] == "org-namur"
    assert namur["repeat"] == "monthly_weekday" and namur["repeat_skip"] == ["2031-12-28"] and namur["theme"] == "wmo"
    other = empty_site()
    result = other.test_cli_runner().invoke(args=["forum", "import", str(path)])
    assert result.exit_code == 0, result.output
    second = tmp_path / "second.json"
    assert other.test_cli_runner().invoke(args=["forum", "export", str(second)]).exit_code == 0
    assert json.loads(second.read_text(encoding="utf-8"))["events"] == exported
