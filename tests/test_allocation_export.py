"""Exports: ICS parsed back (zone and times right across DST), CSV for Swedish Excel, JSON."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import icalendar
import pytest

from tryggplan.allocation.export import plan_csv, plan_ics
from tryggplan.allocation.grid import normalise_grid, week_risk
from tryggplan.allocation.plan import Plan, Shift, SolverInfo
from tryggplan.allocation.spec import parse_resources
from tryggplan.allocation.synthetic import synthetic_grid, synthetic_resources
from tryggplan.allocation.weekly import plan_from_risk
from tryggplan.spreadsheet import excel_safe

TZ = "Europe/Stockholm"


def _dst_plan(week: str, night: str) -> Plan:
    spec = synthetic_resources(
        6,
        2,
        templates=[{"name": "late", "start": "00:00", "end": "04:00"}],
        associations=[{"name": "Lions", "nights": ["sat"]}],
        pinned=[
            {"kind": "night_walk", "association": "Lions", "area": "Centrum", "night": night, "template": "late"},
            {"kind": "guard", "place_id": "P01", "start": f"{night}T23:00", "hours": 4},
        ],
        guard={"hourly_rate_sek": 450, "min_block_hours": 3, "max_hours_per_week": 4, "concurrent_guards": 1},
    )
    risk = week_risk(normalise_grid(synthetic_grid(6, week, seed=4), TZ), week, TZ)
    return plan_from_risk(risk, parse_resources(spec), 1, now=risk.slots[0], with_baselines=False, with_marginal=False)


@pytest.mark.parametrize(
    ("week", "night", "walk_hours", "guard_end"),
    [
        ("2026-W13", "2026-03-28", 3, dt.datetime(2026, 3, 29, 4, 0)),  # spring forward: 23:00 + 4 h -> 04:00 CEST
        ("2026-W43", "2026-10-24", 5, dt.datetime(2026, 10, 25, 2, 0)),  # fall back: 23:00 CEST + 4 h -> 02:00 CET
    ],
)
def test_ics_parses_back_with_right_zone_and_times_across_dst(
    week: str, night: str, walk_hours: int, guard_end: dt.datetime
) -> None:
    plan = _dst_plan(week, night)
    cal = icalendar.Calendar.from_ical(plan_ics(plan))
    assert [c.name for c in cal.walk() if c.name == "VTIMEZONE"] == ["VTIMEZONE"]
    assert next(c for c in cal.walk("VTIMEZONE"))["TZID"] == TZ
    events = list(cal.walk("VEVENT"))
    assert len(events) == len(plan.shifts) == 2
    assert len({str(e["UID"]) for e in events}) == 2 and all(str(e["UID"]).endswith("@tryggplan") for e in events)
    for e in events:
        assert e["DTSTAMP"].dt.tzinfo is not None and e.get("LOCATION") and e.get("DESCRIPTION")
        assert e["DTSTART"].params["TZID"] == TZ
        # the second 02:00 of the fall-back night cannot be written with TZID: it is in UTC
        assert e["DTEND"].params.get("TZID") == TZ or e["DTEND"].dt.utcoffset() == dt.timedelta(0)
    walk = next(e for e in events if str(e["SUMMARY"]).startswith("Nattvandring"))
    start, end = walk["DTSTART"].dt, walk["DTEND"].dt
    day = dt.date.fromisoformat(night) + dt.timedelta(days=1)
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) == (
        dt.datetime.combine(day, dt.time(0)),
        dt.datetime.combine(day, dt.time(4)),
    )
    # same-tzinfo aware datetimes subtract in wall time in Python: compare in UTC
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=walk_hours)
    guard = next(e for e in events if str(e["SUMMARY"]).startswith("Väktare"))
    assert guard["DTEND"].dt.astimezone(ZoneInfo(TZ)).replace(tzinfo=None) == guard_end
    assert guard["DTEND"].dt.astimezone(dt.UTC) - guard["DTSTART"].dt.astimezone(dt.UTC) == dt.timedelta(hours=4)
    assert "Centrum: P00, P02, P04" == str(walk["LOCATION"])


def _plan_with(why: str, association: str = "Förening 1") -> Plan:
    shift = Shift(
        kind="night_walk",
        start="2026-03-27T20:00:00+01:00",
        end="2026-03-28T00:00:00+01:00",
        hours=4.0,
        cost_sek=1000.0,
        expected_prevented=0.0421,
        expected_covered=0.421,
        why=why,
        place_ids=["P00"],
        association=association,
        area="Centrum",
        template="t20",
        night="2026-03-27",
    )
    return Plan(
        week="2026-W13",
        tz=TZ,
        status="optimal",
        objective=0.0421,
        risk_total=2.0,
        risk_covered_share=0.21,
        cost_sek=1000.0,
        walks=1,
        walks_share=1,
        guard_hours=0.0,
        shifts=[shift],
        solver=SolverInfo("highs", "optimal", 0.0, 0.1),
    )


def test_csv_is_excel_swedish_and_formula_safe() -> None:
    plan = _plan_with("covers Centrum (P00) Fri 20-00: 0.42 expected incidents, top 2% of the week's walk options")
    raw = plan_csv(plan, names={"P00": '=HYPERLINK("http://evil")'})
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3:].decode("utf-8").split("\r\n")
    header = lines[0].split(";")
    assert header[:3] == ["vecka", "typ", "förening_eller_väktare"] and "varför" in header
    row = lines[1]
    assert ';"\'=HYPERLINK(""http://evil"")";' in row  # the place name cell cannot run as a formula
    assert ";4,0;1000;0,421;0,042;nej;" in row
    assert ";2026-03-27 20:00;2026-03-28 00:00;2026-03-27T20:00:00+01:00;" in row
    assert row.endswith(
        'täcker Centrum (=HYPERLINK(""http://evil"")) fre 27 mar 20:00–00:00: ungefär en händelse på två '
        'sådana kvällar (0,42 väntade), bland de 2\u00a0% bästa av veckans pass"'
    )
    assert ";'@Lions;" in plan_csv(_plan_with("x", association="@Lions"))[3:].decode("utf-8")


def test_csv_and_ics_in_english_with_place_names() -> None:
    plan = _plan_with("covers Centrum (P00): top 2% of the week's walk options; must-cover 'fokusgruppen'")
    lines = plan_csv(plan, "en", {"P00": "Stortorget"})[3:].decode("utf-8").split("\r\n")
    assert lines[0].split(",")[:3] == ["week", "kind", "association_or_guard"]
    assert lines[1].split(",")[1:5] == ["night walk", "Förening 1", "Centrum", "Stortorget"]
    assert ",4.0,1000,0.421,0.042,no," in lines[1]
    assert lines[1].endswith(
        "covers Centrum (Stortorget) Fri 27 Mar 20:00–00:00: about one incident in two such evenings "
        "(0.42 expected), top 2% of the week's walk options; must-cover: 'fokusgruppen'\""
    )
    assert lines[3].endswith("status optimal; share of the week's risk covered 21.0%")
    ev = next(iter(icalendar.Calendar.from_ical(plan_ics(plan, "en", {"P00": "Stortorget"})).walk("VEVENT")))
    assert str(ev["SUMMARY"]) == "Night walk: Förening 1 – Centrum" and str(ev["LOCATION"]) == "Centrum: Stortorget"
    assert str(ev["DESCRIPTION"]).endswith("Cost SEK\u00a01,000; expected incidents prevented 0.042.")
    sv = next(iter(icalendar.Calendar.from_ical(plan_ics(plan, names={"P00": "Stortorget"})).walk("VEVENT")))
    assert str(sv["LOCATION"]) == "Centrum: Stortorget"
    assert str(sv["DESCRIPTION"]).endswith("Kostnad 1\u00a0000\u00a0kr; förväntat förhindrade 0,042 händelser.")


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=1+1", "'=1+1"), ("+46", "'+46"), ("-3", "'-3"), ("@x", "'@x"), ("\tx", "'\tx"), ("Torget", "Torget"), ("", "")],
)
def test_excel_safe(cell: str, safe: str) -> None:
    assert excel_safe(cell) == safe


def test_plan_json_has_the_interface_fields_and_no_nan() -> None:
    plan = _plan_with("covers Centrum")
    d = json.loads(plan.to_json())
    assert d["week"] == "2026-W13" and d["shifts"][0]["start"] == "2026-03-27T20:00:00+01:00"
    inf = Plan(**{**plan.__dict__, "solver": SolverInfo("highs", "time_limit", float("inf"), 1.0)})
    assert json.loads(inf.to_json())["solver"]["gap"] is None


def test_ics_times_are_local_wall_times() -> None:
    plan = _plan_with("x")
    ev = next(iter(icalendar.Calendar.from_ical(plan_ics(plan)).walk("VEVENT")))
    assert ev["DTSTART"].dt == dt.datetime(2026, 3, 27, 20, 0, tzinfo=ZoneInfo(TZ))


def test_walks_ics_feed_of_placed_walks() -> None:
    from tryggplan.allocation.export import walks_ics

    walks = [
        {
            "association": "Lions",
            "area": "Centrum",
            "night": "2026-05-01",
            "start": "2026-05-01T20:00:00+02:00",
            "end": "2026-05-02T00:00:00+02:00",
        },
        {
            "association": "Lions",
            "area": "Norr",
            "night": "2026-10-24",
            "start": "2026-10-24T22:00:00+02:00",
            "end": "2026-10-25T02:00:00+02:00",
        },
    ]
    stamp = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)
    cal = icalendar.Calendar.from_ical(walks_ics(walks, TZ, "Lions nattvandringar", stamp=stamp))
    assert str(cal["X-WR-CALNAME"]) == "Lions nattvandringar"
    events = list(cal.walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == ["Nattvandring: Lions – Centrum", "Nattvandring: Lions – Norr"]
    assert [e["DTSTART"].dt.isoformat() for e in events] == ["2026-05-01T20:00:00+02:00", "2026-10-24T22:00:00+02:00"]
    assert events[1]["DTEND"].dt.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 0, tzinfo=dt.UTC)
    assert all(e["DTSTAMP"].dt == stamp for e in events)
    moved = walks_ics([dict(walks[0], area="Söder")], TZ, "x", stamp=stamp)
    again = icalendar.Calendar.from_ical(moved).walk("VEVENT")[0]
    assert str(again["UID"]) == str(events[0]["UID"])  # the same walk keeps its UID when its area changes
