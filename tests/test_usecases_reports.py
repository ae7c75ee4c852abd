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
from tryggplan.storage import ledger as stored_ledger
from tryggplan.storage import plans as stored_plans
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import import_incidents, upsert_places
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


def store_plan(
    engine: Engine,
    week: str,
    shifts: list[dict[str, Any]],
    run_id: int,
    resource_id: int,
    *,
    municipality: str | None = None,
    published: str | None = "2026-11-01T12:00:00Z",
) -> int:
    """A weekly plan of ``shifts``, published at ``published`` (``None``: left a draft)."""
    doc = {"kind": "week", "week": week, "status": "optimal", "tz": TZ, "shifts": shifts}
    new = stored_plans.NewPlan(
        kind="week",
        week=week,
        plan=doc,
        resource_id=resource_id,
        forecast_run_id=run_id,
        actor="test",
        municipality=municipality,
        created_at=pd.Timestamp(published or "2026-11-01T12:00:00Z").to_pydatetime(),
    )
    plan_id = stored_plans.store_plan(engine, new).id
    if published is not None:
        publish(engine, plan_id, published, municipality)
    return plan_id


def publish(engine: Engine, plan_id: int, at: str, municipality: str | None = None) -> None:
    """Mark a stored plan published at ``at`` (what publishing does to the plan; no offers made)."""
    with stored_ledger.writing(engine, municipality) as w:
        w.set_plan_state(plan_id, "published", pd.Timestamp(at).to_pydatetime())


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
    assert (rep["ytd"]["count"], rep["ytd"]["last_year"], rep["ytd"]["change_pct"]) == (YTD, YTD_LAST, -18.1)
    assert (rep["ytd"]["flag"], round(rep["ytd"]["p_value"], 4)) == ("down", 0.0093)
    assert (rep["data_until"], rep["warnings"], rep["feed"]) == ("2026-11-29", [], None)
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


def _plan(
    pid: int, published: str | None, shifts: list[dict[str, Any]], town: str | None = None, state: str = "published"
) -> PlanRecordInfo:
    """A weekly plan of week 48, published at ``published`` (``None``: a draft)."""
    at = pd.Timestamp(published or "2026-11-20T12:00:00Z").to_pydatetime()
    return PlanRecordInfo(
        id=pid, kind="week", week="2026-W48", status="optimal", resource_id=1, forecast_run_id=1, parent_id=None,
        plan={"shifts": shifts}, created_at=at, actor=None, municipality=town,
        state=state if published is not None else "draft", published_at=at if published is not None else None,
    )  # fmt: skip


def test_the_plan_in_force() -> None:
    """A later published plan of the same week replaces the shifts that had not started when it was
    published; shifts a re-plan keeps count once."""
    walk_tue = _shift("night_walk", "Lions", ["torget"], "2026-11-24 20:00", 4)
    walk_fri = _shift("night_walk", "Lions", ["torget"], "2026-11-27 20:00", 4)
    guard_sat = _shift("guard", "G", ["torget"], "2026-11-28 21:00", 5)
    walk_sat = _shift("night_walk", "Scouterna", ["parken"], "2026-11-28 20:00", 4)
    first = _plan(1, "2026-11-20T12:00:00Z", [walk_tue, walk_fri, guard_sat], state="superseded")
    # published on Wednesday after Lions cancelled Friday: keeps Tuesday's walk, moves Friday's to Saturday
    second = _plan(2, "2026-11-25T12:00:00Z", [walk_tue, walk_sat, guard_sat])
    kept = reports.shifts_in_force([first, second])
    assert [(k.plan_id, k.shift.get("association") or k.shift.get("guard"), k.start.day) for k in kept] == [
        (1, "Lions", 24),
        (2, "Scouterna", 28),
        (2, "G", 28),
    ]
    # a plan published after its week (a late re-plan) replaces nothing that was walked
    late = _plan(3, "2026-12-10T12:00:00Z", [walk_sat])
    assert len(reports.shifts_in_force([first, late])) == 4
    # the guard shift ends at 02:00 local, 01:00 UTC: worked from then on
    assert reports.guard_shifts_worked(kept, pd.Timestamp("2026-11-29T00:59:59Z")) == []
    assert [k.plan_id for k in reports.guard_shifts_worked(kept, pd.Timestamp("2026-11-29T01:00:00Z"))] == [2]


def test_a_draft_is_never_in_force() -> None:
    """A draft's shifts are nobody's commitment: its guard hours are never done, and a draft made after a
    published plan replaces none of its shifts."""
    guard_sat = _shift("guard", "G", ["torget"], "2026-11-28 21:00", 5)
    guard_fri = _shift("guard", "G", ["parken"], "2026-11-27 21:00", 3)
    published = _plan(1, "2026-11-20T12:00:00Z", [guard_sat])
    draft = _plan(2, None, [guard_fri])
    kept = reports.shifts_in_force([published, draft])
    assert [(k.plan_id, k.shift["place_ids"]) for k in kept] == [(1, ["torget"])]
    assert reports.shifts_in_force([draft]) == []
    worked = reports.guard_shifts_worked(kept, pd.Timestamp("2026-12-01T00:00:00Z"))
    assert [k.plan_id for k in worked] == [1]


def test_plans_replace_each_other_only_within_their_town() -> None:
    """Kungsör's week-48 plan, published later, does not replace Arboga's published one."""
    arboga = _plan(1, "2026-11-20T12:00:00Z", [_shift("guard", "G", ["a-torget"], "2026-11-28 21:00", 5)], "Arboga")
    kungsor = _plan(2, "2026-11-25T12:00:00Z", [_shift("guard", "G", ["k-torget"], "2026-11-28 21:00", 5)], "Kungsör")
    kept = reports.shifts_in_force([arboga, kungsor])
    assert [(k.plan_id, k.municipality, k.shift["place_ids"]) for k in kept] == [
        (1, "Arboga", ["a-torget"]),
        (2, "Kungsör", ["k-torget"]),
    ]


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
    assert len(ev["forecast_run_ids"]) == 8 and ev["assumed_effect"] == 0.1
    assert (ev["shifts_given"], ev["not_evaluated"]) == (32, [])
    # the data end with the hour after the newest incident of the source (police) anywhere (the grid's
    # 16 x 168 hours from 5 January end at 01:00 on 27 April: the spring-forward hour is not in a day)
    assert ev["until"] == "2026-04-27T01:00:00+02:00"
    if verdict == "fewer":
        assert ev["did_lo"] > 0 and ev["forecast_lo"] > 0 and ev["more_needed"] == 0
        assert ev["text"].startswith("Färre händelser än väntat där nattvandringar fanns. 32 nattvandringar")
    else:
        assert ev["more_needed"] > 0
        assert ev["text"].startswith("Kan inte avgöra ännu: underlaget räcker inte. 32 nattvandringar täckte 512")
        assert evaluation.evaluate_walks(engine, now=NOW, lang="en")["text"].startswith("The data cannot tell yet.")


def test_nothing_to_evaluate(engine: Engine) -> None:
    plant_report_town(engine)
    with pytest.raises(InvalidInputError, match="no guard shifts worked in Kungsör are recorded yet"):
        evaluation.evaluate_walks(
            engine, kind="guard", municipalities=["Kungsör"], now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        )
    with pytest.raises(InvalidInputError, match=r"kind 'patrol' is not one of \['night_walk', 'guard'\]"):
        evaluation.evaluate_walks(engine, kind="patrol", now=NOW)


# --------------------------------------------------------------------------- done means done, towns apart


def test_a_draft_plans_guard_hours_are_not_done(engine: Engine) -> None:
    ids = plant_report_town(engine)
    # a draft of week 48 made later, with a guard on Friday at Stadsparken: never published, never done
    store_plan(
        engine,
        "2026-W48",
        [_shift("guard", "Väktarbolaget", ["parken"], "2026-11-27 21:00", 3)],
        ids["run"],
        ids["resource"],
        published=None,
    )
    rep = reports.situation(engine, "2026-11-29", days=DAYS, now=NOW)
    assert rep["done"]["guard_hours"] == 5.0  # the published plan's Saturday guard only, not 5 + 3
    assert rep["done"]["covered_place_hours"] == 13
    # and a draft of week 49 does not change what is planned ahead
    store_plan(
        engine,
        "2026-W49",
        [_shift("guard", "Väktarbolaget", ["skolan"], "2026-12-04 21:00", 3)],
        ids["run"],
        ids["resource"],
        published=None,
    )
    ahead = reports.situation(engine, "2026-11-29", days=DAYS, now=NOW)["ahead"]["plan"]
    assert [(s["kind"], s["place_ids"]) for s in ahead] == [("night_walk", ["torget"]), ("guard", ["torget"])]


def test_a_period_past_the_data_from_the_database(engine: Engine) -> None:
    plant_report_town(engine)
    rep = reports.situation(engine, "2026-12-05", days=DAYS, now=NOW)
    assert (rep["data_until"], rep["sources_until"], rep["compared"]["previous"]) == ("2026-11-29", "2026-11-29", False)
    planted, _ = planted_town()
    local = planted["occurred_at"].dt.tz_convert(TZ).dt.date
    in_period = int(((local >= dt.date(2026, 11, 22)) & (local <= dt.date(2026, 12, 5))).sum())
    assert (rep["totals"]["count"], rep["totals"]["flag"], rep["totals"]["p_value"]) == (in_period, None, None)
    assert [r["flag"] for r in rep["places"]] == [None, None, None]
    assert rep["warnings"][0].startswith(
        "Uppgifterna når bara till 29 november 2026, men perioden slutar 5 december 2026: de sista 6 dagarna saknar "
        "uppgifter."
    )
    html = reports.situation_as_html(rep)
    assert '<p class="warning">Uppgifterna når bara till 29 november 2026' in html
    assert "bedöms inte (uppgifter saknas för en del av tiden)" in html


TWO_TOWNS = pd.DataFrame(
    {
        "place_id": ["a-torget", "a-station", "k-torget", "k-station"],
        "name": ["Torget", "Stationen", "Torget", "Stationen"],
        "municipality": ["Arboga", "Arboga", "Kungsör", "Kungsör"],
        "area": ["Centrum", "Stationen", "Centrum", "Stationen"],
        "lat": 59.4,
        "lon": 16.0,
        "kind": "square",
    }
)


def plant_two_towns(engine: Engine) -> dict[str, int]:
    """Arboga and Kungsör, each with an area "Centrum" and one "Stationen", on the police feed:

    * incidents: Arboga 2 a day at Torget, Kungsör 1 a day at Torget, 1 January 2025 to 29 November 2026;
    * Kungsör's ledger: Lions walked Centrum on the night of 20 November (recorded by association and
      night, no plan); Arboga's ledger is empty;
    * week 48: Arboga's plan (published 20 November) has a guard at its Torget on Saturday 28 November
      21:00-02:00 (5 h); Kungsör's plan (published later, 25 November) a guard at its Stationen the
      same night 21:00-00:00 (3 h);
    * week 49: Kungsör's plan has Lions walking its Centrum on Friday 4 December.
    """
    days = pd.date_range("2025-01-01", "2026-11-29", freq="D")
    rows = [(d, "a-torget", k) for d in days for k in range(2)] + [(d, "k-torget", 0) for d in days]
    incidents = pd.DataFrame(
        {
            "incident_id": [f"p{i}" for i in range(len(rows))],
            "occurred_at": [
                pd.Timestamp(f"{d.date().isoformat()} 21:{10 * k:02d}").tz_localize(TZ).tz_convert("UTC")
                for d, _, k in rows
            ],
            "place_id": [p for _, p, _ in rows],
            "category": "skadegörelse",
            "source": "police",
            "weight": 1.0,
        }
    )
    import_incidents(engine, incidents, TWO_TOWNS, source_file="feed.csv", actor="test")
    resource = stored_plans.store_resources(engine, "area", {"effects": {"walk": 0.1}}, "test")
    run = store_forecast(engine, forecast_grid(list(TWO_TOWNS["place_id"]), TO + dt.timedelta(days=1), 14, {}), TO, 14)
    with stored_ledger.writing(engine, "Kungsör") as w:
        w.add_record(
            association="Lions", night=dt.date(2026, 11, 20), status="completed",
            recorded_at=pd.Timestamp("2026-11-21T10:00Z").to_pydatetime(), actor="test", area="Centrum",
        )  # fmt: skip
    arboga = store_plan(
        engine, "2026-W48", [_shift("guard", "Väktarna", ["a-torget"], "2026-11-28 21:00", 5)], run, resource.id,
        municipality="Arboga", published="2026-11-20T12:00:00Z",
    )  # fmt: skip
    kungsor = store_plan(
        engine, "2026-W48", [_shift("guard", "Väktarna", ["k-station"], "2026-11-28 21:00", 3)], run, resource.id,
        municipality="Kungsör", published="2026-11-25T12:00:00Z",
    )  # fmt: skip
    ahead = store_plan(
        engine, "2026-W49", [_shift("night_walk", "Lions", ["k-torget"], "2026-12-04 20:00", 4)], run, resource.id,
        municipality="Kungsör", published="2026-11-30T12:00:00Z",
    )  # fmt: skip
    return {"arboga": arboga, "kungsor": kungsor, "ahead": ahead, "run": run}


def test_two_towns_with_the_same_area_names_stay_apart(engine: Engine) -> None:
    plant_two_towns(engine)
    arboga = reports.situation(engine, TO, municipalities=["Arboga"], now=NOW)
    kungsor = reports.situation(engine, TO, municipalities=["Kungsör"], now=NOW)
    # Kungsör's walk in its "Centrum" is not Arboga's; each town keeps its own week-48 plan in force
    assert (arboga["done"]["walks_completed"], arboga["done"]["guard_hours"]) == (0, 5.0)
    assert (kungsor["done"]["walks_completed"], kungsor["done"]["guard_hours"]) == (1, 3.0)
    assert kungsor["done"]["associations"] == [{"association": "Lions", "completed": 1, "no_show": 0, "cancelled": 0}]
    # Lions' walk of 20 November covered Kungsör's Centrum (k-torget) 20:00-00:00, its usual default hours
    assert (kungsor["done"]["covered_place_hours"], kungsor["done"]["incidents_covered"]) == (4 + 3, 1)
    assert arboga["ahead"]["plan"] == []
    assert [(s["who"], s["place_ids"]) for s in kungsor["ahead"]["plan"]] == [("Lions", ["k-torget"])]
    # the area-wide report's sections say the same
    both = reports.situation(engine, TO, now=NOW)
    by_town = {s["municipality"]: s for s in both["sections"]}
    assert (by_town["Arboga"]["done"]["walks_completed"], by_town["Arboga"]["done"]["guard_hours"]) == (0, 5.0)
    assert (by_town["Kungsör"]["done"]["walks_completed"], by_town["Kungsör"]["done"]["guard_hours"]) == (1, 3.0)
    assert (both["done"]["walks_completed"], both["done"]["guard_hours"]) == (1, 8.0)


def test_the_whole_feed_beside_the_town_from_the_database(engine: Engine) -> None:
    plant_two_towns(engine)
    rep = reports.situation(engine, TO, municipalities=["Kungsör"], now=NOW)
    assert (rep["totals"]["count"], rep["totals"]["previous"]) == (14, 14)
    # the whole feed: Arboga's 2 a day and Kungsör's 1 a day; last year's YTD is 1 January - 29 November 2025
    feed = rep["feed"]
    assert (feed["municipalities"], feed["count"], feed["previous"], feed["last_year"]) == (2, 42, 42, 42)
    assert (feed["change_vs_previous_pct"], feed["ytd"]["count"], feed["ytd"]["last_year"]) == (0.0, 999, 999)
    assert "Hela polisens händelseflöde i databasen (2 kommuner): 42 händelser under perioden" in (
        reports.situation_as_html(rep)
    )
    # the feed is the same beside either town
    assert reports.situation(engine, TO, municipalities=["Arboga"], now=NOW)["feed"] == feed


# --------------------------------------------------------------------------- walks recorded by association and night

SPEC = {
    "tz": TZ,
    "templates": [
        {"name": "tidig", "start": "18:00", "end": "21:00"},
        {"name": "kväll", "start": "20:00", "end": "00:00"},
    ],
    "areas": [{"name": "A", "place_ids": EVAL_PLACES[:4]}, {"name": "B", "place_ids": EVAL_PLACES[4:]}],
    "associations": [{"name": "Lions", "templates": ["kväll"]}, {"name": "Scouterna", "areas": ["B"]}],
    "effects": {"walk": 0.1, "guard": 0.2},
}


def plant_walked_by_night(engine: Engine, factor: float, seed: int, *, incidents: bool = True) -> None:
    """The evaluation's planted town (8 places in areas A and B, 16 weeks, a forecast per fortnight)
    with its 32 walks recorded the walkthrough's way: by association, night and area, no plan. Lions'
    usual template in Kungsör's spec is 20:00-00:00, the walks' hours in the library's town."""
    grid, walks = _grid(WEEKS), _walks(WEEKS)
    frame = _incidents(grid, walks, factor, seed)
    frame = frame.assign(
        incident_id=[f"e{i}" for i in range(len(frame))], category="skadegörelse", source="police", weight=1.0
    )
    places = pd.DataFrame(
        {"place_id": EVAL_PLACES, "name": EVAL_PLACES, "municipality": "Kungsör", "area": ["A"] * 4 + ["B"] * 4}
    )
    if incidents:
        import_incidents(engine, frame, places, source_file="walked.csv", actor="test")
    else:
        upsert_places(engine, places)
    stored_plans.store_resources(engine, "Kungsör", SPEC, "test", municipality="Kungsör")
    full = grid.assign(
        p_any=1 - np.exp(-grid["expected"]), lo_80=0, hi_80=1, nb_alpha=0.0, risk_level="normal", model="planted",
        model_version="1", generated_at=pd.Timestamp("2026-01-01T00:00:00Z"),
    )  # fmt: skip
    for fortnight in range(WEEKS // 2):
        first = EVAL_START + dt.timedelta(days=14 * fortnight)
        lo, hi = pd.Timestamp(first).tz_localize(TZ), pd.Timestamp(first + dt.timedelta(days=14)).tz_localize(TZ)
        store_forecast(engine, full[(full["slot_start"] >= lo) & (full["slot_start"] < hi)].assign(trained_until=lo),
                       first, 14)  # fmt: skip
    with stored_ledger.writing(engine, "Kungsör") as w:
        for walk in walks:
            night = pd.Timestamp(walk["start"]).date()
            area = "A" if walk["place_ids"] == GROUPS[0] else "B"
            w.add_record(association="Lions", night=night, status="completed", actor="test", area=area,
                         recorded_at=pd.Timestamp("2026-06-01T10:00Z").to_pydatetime())  # fmt: skip


def test_walks_recorded_by_association_and_night_count_through_their_area(engine: Engine) -> None:
    """They used to be "no completed night walks ... recorded yet"; through their area's places and Lions'
    usual hours they give the same figures as the same walks recorded against plan shifts."""
    plant_walked_by_night(engine, 0.6, seed=1)
    walks = reports.walk_records(engine)
    assert len(walks) == 32 and {w.places_from for w in walks} == {"area"}
    first = walks[0]
    assert (first.municipality, first.area, first.place_ids) == ("Kungsör", "A", tuple(GROUPS[0]))
    assert (first.start, first.end) == ("2026-01-09T20:00:00+01:00", "2026-01-10T00:00:00+01:00")
    ev = evaluation.evaluate_walks(engine, now=NOW)
    assert (ev["shifts"], ev["shifts_given"], ev["place_hours"], ev["verdict"]) == (32, 32, 512, "fewer")
    assert ev["expected"] == pytest.approx(0.3 * 4 * 4 * 32)
    assert ev["not_evaluated"] == [] and len(ev["forecast_run_ids"]) == 8
    scoped = evaluation.evaluate_walks(engine, municipalities=["Kungsör"], now=NOW)
    assert (scoped["shifts"], scoped["observed"]) == (32, ev["observed"])


def test_every_walk_is_evaluated_or_listed(engine: Engine) -> None:
    plant_walked_by_night(engine, 1.0, seed=2)
    with stored_ledger.writing(engine, "Kungsör") as w:
        at = pd.Timestamp("2026-06-01T10:00Z").to_pydatetime()
        w.add_record(association="Scouterna", night=dt.date(2026, 2, 3), status="no_show", recorded_at=at, actor="t")
        # Scouterna walk only area B: without an area recorded, B is where they went, in the spec's first hours
        w.add_record(association="Scouterna", night=dt.date(2026, 2, 4), status="completed", recorded_at=at, actor="t")
        w.add_record(association="Lions", night=dt.date(2026, 2, 4), status="completed", recorded_at=at, actor="t")
        w.add_record(association="Lions", night=dt.date(2026, 9, 4), status="completed", recorded_at=at, actor="t",
                     area="A")  # fmt: skip
    by_night = {(w.association, w.night): w for w in reports.walk_records(engine)}
    scouts = by_night[("Scouterna", dt.date(2026, 2, 4))]
    assert (scouts.area, scouts.places_from, scouts.start) == ("B", "area", "2026-02-04T18:00:00+01:00")
    assert (by_night[("Lions", dt.date(2026, 2, 4))].reason, by_night[("Lions", dt.date(2026, 2, 4))].place_ids) == (
        "no_area",
        (),
    )
    ev = evaluation.evaluate_walks(engine, now=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    assert (ev["shifts_given"], ev["shifts"]) == (36, 33)
    assert [(x["who"], x["night"], x["reason"], x["text"]) for x in ev["not_evaluated"]] == [
        ("Scouterna", "2026-02-03", "no_show", "uteblev: ingen vandring att jämföra"),
        ("Lions", "2026-02-04", "no_area", "varken plan, erbjudande, återrapport eller område säger var den gick"),
        ("Lions", "2026-09-04", "after_data", "efter att uppgifterna slutar (mån 27 apr 00:00)"),
    ]
    assert ev["text"].endswith("3 av 36 nattvandringar kunde inte jämföras (se listan).")


def test_no_incidents_at_all_cannot_tell(engine: Engine) -> None:
    plant_walked_by_night(engine, 1.0, seed=1, incidents=False)
    ev = evaluation.evaluate_walks(engine, now=NOW)
    assert (ev["verdict"], ev["shifts"], ev["shifts_given"], ev["until"], ev["observed"]) == (
        "cannot_tell", 0, 32, None, 0,
    )  # fmt: skip
    assert {x["reason"] for x in ev["not_evaluated"]} == {"no_data"} and len(ev["not_evaluated"]) == 32
    assert ev["text"] == (
        "Kan inte avgöra ännu: underlaget räcker inte. Ingen av 32 nattvandringar kunde jämföras, "
        "så det finns inga händelser att räkna."
    )
    assert ev["not_evaluated"][0]["text"] == "det finns inga händelser i databasen"


def test_an_all_covered_evaluation_from_the_database(engine: Engine) -> None:
    """Every incident falls in walked hours: no crash, "cannot tell" with the walks and incidents behind it."""
    plant_walked_by_night(engine, 1.0, seed=1, incidents=False)
    walks = _walks(WEEKS)
    hits = [pd.Timestamp(w["start"]) + pd.Timedelta(minutes=30) for w in walks[:3]]
    frame = pd.DataFrame(
        {"incident_id": ["h0", "h1", "h2"], "occurred_at": [h.tz_convert("UTC") for h in hits],
         "place_id": [w["place_ids"][0] for w in walks[:3]], "category": "skadegörelse", "source": "police",
         "weight": 1.0}
    )  # fmt: skip
    import_incidents(engine, frame, None, source_file="three.csv", actor="test")
    ev = evaluation.evaluate_walks(engine, now=NOW)
    # the data end the hour after the third walk's incident (20:30): the walks after it are listed, not
    # compared, and of the third walk only its first hour counts (2 x 16 + 4 place-hours)
    assert (ev["verdict"], ev["shifts"], ev["place_hours"], ev["observed"], ev["control_observed"]) == (
        "cannot_tell", 3, 36, 3, 0,
    )  # fmt: skip
    assert ev["did_lo"] is None and len(ev["not_evaluated"]) == 29
    assert "Alla 3 händelser inträffade under passen och ingen i de jämförbara timmarna" in ev["text"]
    assert ev["text"].startswith("Kan inte avgöra ännu: underlaget räcker inte. 3 nattvandringar täckte 36 platstimmar")
