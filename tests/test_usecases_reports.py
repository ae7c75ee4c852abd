"""The situation picture from the database (tryggplan.usecases.reports): the planted town of
../shared/checks/report.py with a walk, a cancelled walk and a guard shift in the period, a forecast
and a plan for the fortnight ahead, and meeting notes; which plan is in force; the notes' rules;
the walk evaluation from stored walks, forecasts and incidents (a planted effect is found, no effect
is not claimed)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from tests.test_reporting_evaluation import GROUPS, WEEKS, _grid, _incidents, _walks
from tests.test_reporting_evaluation import PLACES as EVAL_PLACES
from tests.test_reporting_evaluation import START as EVAL_START
from tests.test_reporting_situation import DAYS, PLANTED, TO, TZ, YTD, YTD_LAST, planted_town
from tryggplan.domain import InvalidInputError, PermissionDeniedError
from tryggplan.storage import forecasts as runs
from tryggplan.storage import plans as stored_plans
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import import_incidents
from tryggplan.storage.records import PlanRecordInfo
from tryggplan.usecases import evaluation, reports
from tryggplan.usecases.access import Principal

#: the clock of these tests: two days after the period (guard shifts of the period have ended)
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _t(text: str) -> str:
    """A local time in the town's zone with its offset."""
    return pd.Timestamp(text).tz_localize(TZ).isoformat()


def _shift(kind: str, who: str, places: list[str], start: str, hours: float, area: str = "Centrum") -> dict[str, Any]:
    a = pd.Timestamp(start).tz_localize(TZ)
    b = a + pd.Timedelta(hours=hours)
    shift = {
        "kind": kind,
        "place_ids": places,
        "start": a.isoformat(),
        "end": b.isoformat(),
        "hours": hours,
        "cost_sek": 1000.0 if kind == "night_walk" else 500.0 * hours,
        "expected_prevented": 0.1,
        "expected_covered": 0.5,
        "why": "planted",
    }
    if kind == "night_walk":
        shift.update(association=who, area=area, night=a.date().isoformat())
    else:
        shift["guard"] = who
    return shift


def forecast_grid(places: list[str], first: dt.date, days: int, high: dict[str, list[int]]) -> pd.DataFrame:
    """A stored-forecast grid: 0.02 incidents/h, 0.3 in the high-risk hours ``{place: [weekday, ...]}``
    20:00-01:00 (the night of those weekdays)."""
    slots = pd.date_range(pd.Timestamp(first).tz_localize(TZ), periods=days * 24, freq="h")
    rows = []
    for p in places:
        for s in slots:
            night = (s - pd.Timedelta(hours=6)).weekday()
            hot = night in high.get(p, []) and (s.hour >= 20 or s.hour < 1)
            rows.append((p, s, 0.3 if hot else 0.02, "high" if hot else "normal"))
    frame = pd.DataFrame(rows, columns=["place_id", "slot_start", "expected", "risk_level"])
    frame["p_any"] = 1 - np.exp(-frame["expected"])
    frame["lo_80"], frame["hi_80"], frame["nb_alpha"] = 0, 1, 0.0
    frame["model"], frame["model_version"] = "planted", "1"
    frame["trained_until"] = pd.Timestamp(first).tz_localize(TZ)
    frame["generated_at"] = pd.Timestamp("2026-11-29T12:00:00Z")
    return frame


def store_forecast(engine: Engine, grid: pd.DataFrame, first: dt.date, days: int) -> int:
    run = runs.new_run(engine, "planted", first, days, TZ, None, "test")
    runs.store_grid(engine, run.id, grid)
    return run.id


def store_plan(engine: Engine, week: str, shifts: list[dict[str, Any]], run_id: int, resource_id: int) -> int:
    doc = {"kind": "week", "week": week, "status": "optimal", "tz": TZ, "shifts": shifts}
    new = stored_plans.NewPlan(
        kind="week", week=week, plan=doc, resource_id=resource_id, forecast_run_id=run_id, actor="test"
    )
    return stored_plans.store_plan(engine, new).id


def plant_report_town(engine: Engine) -> dict[str, int]:
    """The planted town of the acceptance check, and around its period (16-29 November 2026):

    * week 47: Lions walks Stortorget and Stadsparken on Friday 20 November 20:00-24:00 (completed);
    * week 48: Lions' walk of Friday 27 November is cancelled; a guard at Stortorget on Saturday
      28 November 21:00-02:00 (5 h);
    * a forecast of 30 November - 13 December: Stortorget high-risk on Friday and Saturday nights;
    * week 49's plan: Lions at Stortorget Friday 4 December 20:00-24:00, a guard Saturday 5 December
      21:00-02:00.
    """
    incidents, places = planted_town()
    import_incidents(engine, incidents, places, source_file="planted.csv", actor="test")
    resource = stored_plans.store_resources(engine, "planted", {"effects": {"walk": 0.1, "guard": 0.2}}, "test")
    first = TO + dt.timedelta(days=1)
    run_id = store_forecast(engine, forecast_grid(list(PLANTED), first, 14, {"torget": [4, 5]}), first, 14)
    w47 = store_plan(
        engine,
        "2026-W47",
        [_shift("night_walk", "Lions", ["torget", "parken"], "2026-11-20 20:00", 4)],
        run_id,
        resource.id,
    )
    w48 = store_plan(
        engine,
        "2026-W48",
        [
            _shift("night_walk", "Lions", ["torget"], "2026-11-27 20:00", 4),
            _shift("guard", "Väktarbolaget", ["torget"], "2026-11-28 21:00", 5),
        ],
        run_id,
        resource.id,
    )
    w49 = store_plan(
        engine,
        "2026-W49",
        [
            _shift("night_walk", "Lions", ["torget"], "2026-12-04 20:00", 4),
            _shift("guard", "Väktarbolaget", ["torget"], "2026-12-05 21:00", 5),
        ],
        run_id,
        resource.id,
    )
    stored_plans.record_walk(engine, w47, 0, "completed", None, "test")
    stored_plans.record_walk(engine, w48, 0, "cancelled", "sjukdom", "test")
    return {"run": run_id, "w47": w47, "w48": w48, "w49": w49, "resource": resource.id}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    e = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    yield e  # type: ignore[misc]
    e.dispose()


def test_the_planted_town_from_the_database(engine: Engine) -> None:
    plant_report_town(engine)
    reports.add_note(engine, "Fler vandringar vid torget", ["torget"], at="2026-11-18T10:00:00+01:00", now=NOW)
    rep = reports.situation(engine, "2026-11-29", days=DAYS, now=NOW)
    n, p, ly = (sum(c[i] for c in PLANTED.values()) for i in range(3))
    assert (rep["totals"]["count"], rep["totals"]["previous"], rep["totals"]["last_year"]) == (n, p, ly) == (27, 14, 14)
    assert rep["totals"]["change_vs_previous_pct"] == 92.9 and rep["totals"]["flag"] is None
    assert rep["ytd"] == {"count": YTD, "last_year": YTD_LAST, "change_pct": -18.1}
    by_place = {r["place_id"]: (r["count"], r["previous"], r["last_year"], r["flag"]) for r in rep["places"]}
    assert by_place == {"torget": (20, 4, 6, "up"), "parken": (5, 4, 5, None), "skolan": (2, 6, 3, None)}
    done = rep["done"]
    # the walk of 20 November (2 places x 4 h) and the guard of 28 November (5 h) covered 13 place-hours,
    # in which 3 of the period's 27 incidents happened (Stortorget on the 20th twice, on the 28th once)
    assert (done["walks_completed"], done["walks_no_show"], done["walks_cancelled"]) == (1, 0, 1)
    assert done["guard_hours"] == 5.0
    assert (done["covered_place_hours"], done["incidents_covered"], done["covered_share"]) == (13, 3, 0.1111)
    assert done["associations"] == [{"association": "Lions", "completed": 1, "no_show": 0, "cancelled": 1}]
    ahead = rep["ahead"]
    assert ahead["trained_until"] == "2026-11-30T00:00:00+01:00"
    assert [(w["place_id"], w["start"], w["end"]) for w in ahead["windows"]] == [
        ("torget", "2026-12-04T20:00:00+01:00", "2026-12-05T01:00:00+01:00"),
        ("torget", "2026-12-05T20:00:00+01:00", "2026-12-06T01:00:00+01:00"),
        ("torget", "2026-12-11T20:00:00+01:00", "2026-12-12T01:00:00+01:00"),
        ("torget", "2026-12-12T20:00:00+01:00", "2026-12-13T01:00:00+01:00"),
    ]
    assert [w["expected"] for w in ahead["windows"]] == pytest.approx([1.5] * 4)
    assert [(s["kind"], s["who"], s["start"]) for s in ahead["plan"]] == [
        ("night_walk", "Lions", "2026-12-04T20:00:00+01:00"),
        ("guard", "Väktarbolaget", "2026-12-05T21:00:00+01:00"),
    ]
    assert [w["planned"] for w in ahead["windows"]] == [[0], [1], [], []]
    # the note of 18 November is the last meeting's decision, followed up at Stortorget
    (previous,) = rep["previous_decisions"]
    assert previous["text"] == "Fler vandringar vid torget" and previous["at"] == "2026-11-18T10:00:00+01:00"
    (place,) = previous["places"]
    assert (place["place_id"], place["since"], place["before"]) == ("torget", 17, 6)
    assert rep["decisions"] == []


def test_this_meetings_notes_and_the_next_report(engine: Engine) -> None:
    plant_report_town(engine)
    note = reports.add_note(
        engine, "  Väktare på torget lördagar  ", ["torget", "torget"], at="2026-11-30 18:00", now=NOW
    )
    assert (note.text, note.place_ids, note.at) == (
        "Väktare på torget lördagar",
        ("torget",),
        dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC),
    )
    rep = reports.situation(engine, TO, now=NOW)
    assert rep["decisions"] == [
        {"at": "2026-11-30T18:00:00+01:00", "text": "Väktare på torget lördagar", "place_ids": ["torget"]}
    ]
    # two weeks later the same note is the previous meeting's decision
    later = reports.situation(engine, TO + dt.timedelta(days=14), now=NOW)
    assert [d["text"] for d in later["previous_decisions"]] == ["Väktare på torget lördagar"]
    assert later["decisions"] == []


@pytest.mark.parametrize(
    ("text", "places", "at", "message"),
    [
        ("   ", [], None, "the note has no text: write what was decided"),
        ("x" * 2001, [], None, "the note is 2001 characters long: keep it to 2000"),
        ("ok", ["torget", "nowhere"], None, "unknown place 'nowhere': a note names stored places by their place_id"),
        ("ok", [" "], None, "a place id of the note is empty: name each place by its place_id"),
        ("ok", [], "2026-12-24", "at 2026-12-24T00:00:00+01:00 is in the future"),
        ("ok", [], "igår", "at 'igår' is not a date or time"),
    ],
)
def test_bad_notes_are_refused(engine: Engine, text: str, places: list[str], at: str | None, message: str) -> None:
    plant_report_town(engine)
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        reports.add_note(engine, text, places, at=at, now=NOW)


def test_scoped_notes(engine: Engine) -> None:
    plant_report_town(engine)
    kungsor = Principal(1, "coordinator", "k", ("Kungsör",))
    arboga = Principal(2, "coordinator", "a", ("Arboga",))
    with pytest.raises(PermissionDeniedError, match="this token is for Arboga: place 'torget' is not theirs"):
        reports.add_note(engine, "x", ["torget"], principal=arboga, now=NOW)
    with pytest.raises(InvalidInputError, match="this token is for Kungsör: name the places the note concerns"):
        reports.add_note(engine, "x", [], principal=kungsor, now=NOW)
    reports.add_note(engine, "om torget", ["torget"], principal=kungsor, now=NOW)
    reports.add_note(engine, "hela området", [], now=NOW)
    assert [n.text for n in reports.list_notes(engine)] == ["om torget", "hela området"]
    assert [n.text for n in reports.list_notes(engine, principal=kungsor)] == ["om torget"]
    assert reports.list_notes(engine, principal=arboga) == []


@pytest.mark.parametrize(
    ("to", "days", "towns", "message"),
    [
        ("2026-11-31", 14, None, "to '2026-11-31' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-29"),
        ("29/11", 14, None, "to '29/11' is not a date"),
        ("0001-01-01", 14, None, "to 0001-01-01 is out of range: give a date from 1900-01-01 to 2199-12-31"),
        ("9999-12-31", 14, None, "to 9999-12-31 is out of range"),
        (TO, 0, None, "days must be a whole number from 1 to 366, got 0"),
        (TO, 367, None, "days must be a whole number from 1 to 366, got 367"),
        (TO, 14, ["Arboga"], "unknown municipality 'Arboga': the places name Kungsör"),
        (TO, 14, [""], "municipality is empty"),
    ],
)
def test_bad_report_requests(engine: Engine, to: Any, days: int, towns: list[str] | None, message: str) -> None:
    plant_report_town(engine)
    with pytest.raises(InvalidInputError, match=message):
        reports.situation(engine, to, days=days, municipalities=towns, now=NOW)


def _plan(pid: int, created: str, shifts: list[dict[str, Any]]) -> PlanRecordInfo:
    return PlanRecordInfo(
        id=pid, kind="week", week="2026-W48", status="optimal", resource_id=1, forecast_run_id=1, parent_id=None,
        plan={"shifts": shifts}, created_at=pd.Timestamp(created).to_pydatetime(), actor=None,
    )  # fmt: skip


def test_the_plan_in_force() -> None:
    """A later plan of the same week replaces the shifts that had not started when it was made; shifts
    a re-plan keeps count once."""
    walk_tue = _shift("night_walk", "Lions", ["torget"], "2026-11-24 20:00", 4)
    walk_fri = _shift("night_walk", "Lions", ["torget"], "2026-11-27 20:00", 4)
    guard_sat = _shift("guard", "G", ["torget"], "2026-11-28 21:00", 5)
    walk_sat = _shift("night_walk", "Scouterna", ["parken"], "2026-11-28 20:00", 4)
    first = _plan(1, "2026-11-20T12:00:00Z", [walk_tue, walk_fri, guard_sat])
    # made on Wednesday after Lions cancelled Friday: keeps Tuesday's walk, moves Friday's to Saturday
    second = _plan(2, "2026-11-25T12:00:00Z", [walk_tue, walk_sat, guard_sat])
    kept = reports.shifts_in_force([first, second])
    assert [(k.plan_id, k.shift.get("association") or k.shift.get("guard"), k.start.day) for k in kept] == [
        (1, "Lions", 24),
        (2, "Scouterna", 28),
        (2, "G", 28),
    ]
    # a plan made after its week (a late re-plan) replaces nothing that was walked
    late = _plan(3, "2026-12-10T12:00:00Z", [walk_sat])
    assert len(reports.shifts_in_force([first, late])) == 4
    # the guard shift ends at 02:00 local, 01:00 UTC: worked from then on
    assert reports.guard_shifts_worked(kept, pd.Timestamp("2026-11-29T00:59:59Z")) == []
    assert [k.plan_id for k in reports.guard_shifts_worked(kept, pd.Timestamp("2026-11-29T01:00:00Z"))] == [2]


def test_the_newest_forecast_of_each_municipality(engine: Engine) -> None:
    plant_report_town(engine)
    first = TO + dt.timedelta(days=1)
    # a newer forecast of Kungsör alone with Stadsparken high on Saturday nights wins over the area-wide one
    run = runs.new_run(engine, "planted", first, 7, TZ, "Kungsör", "test")
    runs.store_grid(engine, run.id, forecast_grid(list(PLANTED), first, 7, {"parken": [5]}))
    rep = reports.situation(engine, TO, now=NOW)
    assert [(w["place_id"], w["start"]) for w in rep["ahead"]["windows"]] == [("parken", "2026-12-05T20:00:00+01:00")]
    # a report of a past fortnight takes the forecast that covered the days after it: none here
    old = reports.situation(engine, "2026-06-30", now=NOW)
    assert old["ahead"]["trained_until"] is None and old["ahead"]["windows"] == []


# --------------------------------------------------------------------------- did the walks work?


def plant_walked_town(engine: Engine, factor: float, seed: int) -> None:
    """The evaluation library's planted town in the database: 8 places, 16 weeks from 5 January 2026,
    one forecast per fortnight (the library test's grid), one plan per week with the two walks
    (Friday and Saturday 20:00-24:00, the town's halves in turn), each recorded completed, and
    incidents at the forecast's rate times ``factor`` in the walked place-hours."""
    grid, walks = _grid(WEEKS), _walks(WEEKS)
    incidents = _incidents(grid, walks, factor, seed)
    incidents = incidents.assign(
        incident_id=[f"e{i}" for i in range(len(incidents))], category="skadegörelse", source="police", weight=1.0
    )
    places = pd.DataFrame(
        {"place_id": EVAL_PLACES, "name": EVAL_PLACES, "municipality": "Kungsör", "area": ["A"] * 4 + ["B"] * 4}
    )
    import_incidents(engine, incidents, places, source_file="walked.csv", actor="test")
    resource = stored_plans.store_resources(engine, "planted", {"effects": {"walk": 0.1, "guard": 0.2}}, "test")
    full = grid.assign(
        p_any=1 - np.exp(-grid["expected"]), lo_80=0, hi_80=1, nb_alpha=0.0, risk_level="normal", model="planted",
        model_version="1", generated_at=pd.Timestamp("2026-01-01T00:00:00Z"),
    )  # fmt: skip
    for fortnight in range(WEEKS // 2):
        first = EVAL_START + dt.timedelta(days=14 * fortnight)
        lo, hi = pd.Timestamp(first).tz_localize(TZ), pd.Timestamp(first + dt.timedelta(days=14)).tz_localize(TZ)
        part = full[(full["slot_start"] >= lo) & (full["slot_start"] < hi)].assign(trained_until=lo)
        run_id = store_forecast(engine, part, first, 14)
        for week in (2 * fortnight, 2 * fortnight + 1):
            shifts = [
                {**w, "area": "A" if w["place_ids"] == GROUPS[0] else "B", "hours": 4.0, "cost_sek": 1000.0}
                for w in walks[2 * week : 2 * week + 2]
            ]
            iso = (EVAL_START + dt.timedelta(days=7 * week)).isocalendar()
            plan_id = store_plan(engine, f"{iso[0]}-W{iso[1]:02d}", shifts, run_id, resource.id)
            for index in range(2):
                stored_plans.record_walk(engine, plan_id, index, "completed", None, "test")


@pytest.mark.parametrize(("factor", "verdict"), [(0.6, "fewer"), (1.0, "cannot_tell")])
def test_the_walk_evaluation_from_the_database(engine: Engine, factor: float, verdict: str) -> None:
    plant_walked_town(engine, factor, seed=1)
    ev = evaluation.evaluate_walks(engine, now=NOW)
    assert (ev["kind"], ev["shifts"], ev["place_hours"], ev["verdict"]) == ("night_walk", 32, 512, verdict)
    assert ev["expected"] == pytest.approx(0.3 * 4 * 4 * 32)
    assert len(ev["forecast_run_ids"]) == 8 and ev["prior"] == 0.1
    if verdict == "fewer":
        assert ev["did_lo"] > 0 and ev["forecast_lo"] > 0 and ev["more_needed"] == 0
        assert ev["text"].startswith("Färre händelser än väntat där nattvandringar fanns. 32 nattvandringar")
    else:
        assert ev["more_needed"] > 0
        assert ev["text"].startswith("Underlaget räcker inte för att avgöra det än.")
        assert evaluation.evaluate_walks(engine, now=NOW, lang="en")["text"].startswith("The data cannot tell yet.")


def test_nothing_to_evaluate(engine: Engine) -> None:
    plant_report_town(engine)
    with pytest.raises(InvalidInputError, match="no guard shifts worked in Kungsör are recorded yet"):
        evaluation.evaluate_walks(
            engine, kind="guard", municipalities=["Kungsör"], now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        )
    with pytest.raises(InvalidInputError, match=r"kind 'patrol' is not one of \['night_walk', 'guard'\]"):
        evaluation.evaluate_walks(engine, kind="patrol", now=NOW)
