"""Season pacing: the quota goes where the risk is (Walpurgis, Midsummer, New Year's Eve),
every week gets its minimum, the associations' capacity is respected, and re-planning keeps
pinned shifts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tryggplan.allocation.pacing import DEFAULT_UPLIFT, estimate_uplifts, pace, week_share
from tryggplan.allocation.season import pins_from_plan, replan
from tryggplan.allocation.spec import PinnedGuard, PinnedWalk, parse_resources
from tryggplan.allocation.synthetic import synthetic_grid, synthetic_resources
from tryggplan.domain import InvalidInputError

MONDAY = pd.Timestamp("2026-03-23 00:00", tz="Europe/Stockholm")  # 2026-W13 begins


def _res(**season: Any) -> Any:
    return parse_resources(synthetic_resources(8, 2, season={"walks": 40, **season}))


def test_pacing_spends_on_walpurgis_midsummer_and_new_years_eve() -> None:
    res = _res(until="2026-12-31", min_walks_per_week=0)
    sp = pace(res, "2026-W14", walks_left=40)  # no grid: the default night profile and calendar uplifts
    by_week = {w.week: w for w in sp.weeks}
    assert sp.planned_walks == 40 and sum(w.walks for w in sp.weeks) == 40
    assert len(sp.weeks) == 40 and sum(w.walks == 0 for w in sp.weeks) >= 20  # quiet weeks get none
    walpurgis, midsummer, nye = "2026-W18", "2026-W25", "2026-W53"
    ordinary = "2026-W37"
    for special in (walpurgis, midsummer, nye):
        assert by_week[special].walks > by_week[ordinary].walks, special
        assert by_week[special].notable_nights
    assert any("walpurgis" in n for n in by_week[walpurgis].notable_nights)
    assert any("new_years_eve" in n for n in by_week[nye].notable_nights)
    assert all(w.walks <= w.capacity for w in sp.weeks)


def test_every_week_gets_its_minimum() -> None:
    sp = pace(_res(until="2026-12-31", min_walks_per_week=1), "2026-W14", walks_left=40)
    assert all(w.walks >= 1 for w in sp.weeks) and sp.planned_walks == 40


def test_pacing_uses_the_grid_where_it_covers_the_season() -> None:
    res = _res(horizon_weeks=3, min_walks_per_week=0, walks=4)
    grid = synthetic_grid(8, "2026-W13", weeks=2, seed=1)
    ids = grid["slot_start"].dt.strftime("%G-W%V") == "2026-W14"
    grid.loc[ids, "expected"] *= 10  # week 14 is far riskier
    sp = pace(res, "2026-W13", grid.assign(slot_start=grid["slot_start"]), walks_left=4)
    shares = {w.week: w.walks for w in sp.weeks}
    assert shares["2026-W14"] > shares["2026-W13"] and sum(shares.values()) == 4
    assert sp.weeks[0].source.startswith("forecast")


def test_week_share_is_zero_after_the_season() -> None:
    res = _res(until="2026-06-30")
    n, why = week_share(None, res, "2026-W40", walks_left=40)
    assert n == 0 and why == "2026-W40 is outside the season: 0 walks"


def test_capacity_limits_the_pacing_and_says_so() -> None:
    spec = synthetic_resources(
        8,
        2,
        season={"walks": 40, "horizon_weeks": 2},
        associations=[{"name": "Only", "nights": ["fri"], "max_walks_per_week": 1}],
    )
    sp = pace(parse_resources(spec), "2026-W13", walks_left=40)
    assert [w.walks for w in sp.weeks] == [1, 1]
    assert sp.warnings == [
        "the associations can walk only 2 of the 40 remaining walks in the season: "
        "add nights or raise max_walks_per_week"
    ]


def test_uplifts_are_estimated_from_history_and_shrunk() -> None:
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    rows = []
    for d in days:
        n = 12 if (d.month == 4 and d.day == 30) else 1  # Walpurgis night 12x an ordinary night
        rows += [pd.Timestamp(d.date()).tz_localize("Europe/Stockholm") + pd.Timedelta(hours=22)] * n
    hist = pd.DataFrame({"occurred_at": pd.Series(rows).dt.tz_convert("UTC")})
    up = estimate_uplifts(hist, "Europe/Stockholm")
    # two Walpurgis nights at ~12x, shrunk with 4 pseudo-nights towards the default 2.5
    assert DEFAULT_UPLIFT["walpurgis"] < up["walpurgis"] < 12
    assert up["walpurgis"] == pytest.approx((4 * 2.5 + 2 * 12) / 6, rel=0.1)
    assert estimate_uplifts(None, "Europe/Stockholm") == DEFAULT_UPLIFT


def test_pins_from_plan_and_unknown_cancellation() -> None:
    plan = {
        "shifts": [
            {
                "kind": "night_walk",
                "association": "A",
                "area": "Centrum",
                "night": "2026-03-27",
                "template": "t20",
                "start": "2026-03-27T20:00:00+01:00",
                "end": "2026-03-28T00:00:00+01:00",
                "place_ids": ["P00"],
            },
            {
                "kind": "guard",
                "place_ids": ["P01"],
                "start": "2026-03-28T21:00:00+01:00",
                "end": "2026-03-29T00:00:00+01:00",
                "hours": 3.0,
            },
        ]
    }
    pins, cancelled = pins_from_plan(plan, [("A", dt.date(2026, 3, 27))])
    assert cancelled == [("A", dt.date(2026, 3, 27))]
    assert pins == [PinnedGuard(place_id="P01", start=dt.datetime.fromisoformat("2026-03-28T21:00:00+01:00"), hours=3)]
    pins, _ = pins_from_plan(plan)
    assert isinstance(pins[0], PinnedWalk) and pins[0].template == "t20"
    with pytest.raises(
        InvalidInputError,
        match=r"cannot cancel \['B@2026-03-27'\]: the earlier plan has no such "
        r"walk; its walks are \['A@2026-03-27'\]",
    ):
        pins_from_plan(plan, [("B", dt.date(2026, 3, 27))])


def test_replan_with_a_new_forecast_keeps_pinned_and_moves_the_rest() -> None:
    from tryggplan.allocation.weekly import plan_week

    res = parse_resources(synthetic_resources(8, 2))
    grid = synthetic_grid(8, "2026-W13", seed=1)
    first = plan_week(grid, res, "2026-W13", now=MONDAY, walks=2, with_marginal=False, with_baselines=False)
    keep = [s for s in first.to_dict()["shifts"] if s["kind"] == "night_walk"][:1]
    new_grid = grid.copy()
    rng = np.random.default_rng(9)
    new_grid["expected"] = new_grid["expected"] * rng.gamma(2, 0.5, len(new_grid))
    second = replan(new_grid, res, "2026-W13", {"shifts": keep, "walks_share": 2}, now=MONDAY, with_marginal=False)
    walks = [s for s in second.shifts if s.kind == "night_walk"]
    assert len(walks) == 2
    kept = [s for s in walks if s.pinned]
    assert len(kept) == 1 and (kept[0].association, kept[0].night) == (keep[0]["association"], keep[0]["night"])


def test_keep_only_the_agreed_shifts_after_a_new_forecast() -> None:
    plan = {
        "shifts": [
            {
                "kind": "night_walk",
                "association": "A",
                "area": "Centrum",
                "night": "2026-03-27",
                "template": "t20",
                "pinned": True,
            },
            {"kind": "night_walk", "association": "B", "area": "Norr", "night": "2026-03-28", "template": "t21"},
            {"kind": "guard", "place_ids": ["P01"], "start": "2026-03-28T21:00:00+01:00", "hours": 3.0},
        ]
    }
    pins, _ = pins_from_plan(plan, keep="pinned")
    assert pins == [PinnedWalk(association="A", area="Centrum", night=dt.date(2026, 3, 27), template="t20")]
    assert len(pins_from_plan(plan)[0]) == 3


# ------------------------------------------------------------------ no hidden defaults
NO_SEASON = (
    "the resources have no 'season' block, so the number of walks is unknown: give the week's walks "
    "(the 'walks' field of POST /api/v1/plans, or --walks of `tryggplan plan`), or add a season block "
    "to the resources, e.g. season: {walks: 40, until: 2026-12-31}"
)


def _no_season() -> Any:
    spec = synthetic_resources(8, 2)
    spec.pop("season")
    return parse_resources(spec)


def test_resources_without_a_season_have_none() -> None:
    assert _no_season().season is None
    with pytest.raises(InvalidInputError) as info:
        parse_resources(synthetic_resources(8, 2, season={"until": "2026-12-31"}))
    assert str(info.value) == "resources: season.walks: required setting is missing: add it"


@pytest.mark.parametrize("call", ["plan_week", "pace", "week_share", "season_plan"])
def test_without_a_season_a_plan_needs_its_walks(call: str) -> None:
    from tryggplan.allocation.season import season_plan
    from tryggplan.allocation.weekly import plan_week

    res, grid = _no_season(), synthetic_grid(8, "2026-W13", seed=1)
    calls = {
        "plan_week": lambda: plan_week(grid, res, "2026-W13", now=MONDAY),
        "pace": lambda: pace(res, "2026-W13", walks_left=10),
        "week_share": lambda: week_share(grid, res, "2026-W13", walks_left=10),
        "season_plan": lambda: season_plan(grid, res, "2026-W13", now=MONDAY, walks_left=10),
    }
    with pytest.raises(InvalidInputError) as info:
        calls[call]()
    assert str(info.value) == NO_SEASON


def test_without_a_season_the_given_walks_are_planned() -> None:
    from tryggplan.allocation.weekly import plan_week

    plan = plan_week(synthetic_grid(8, "2026-W13", seed=1), _no_season(), "2026-W13", now=MONDAY, walks=2)
    assert plan.walks == 2 and plan.warnings == []


# ------------------------------------------------------------------ pacing warnings
def _r(season: dict[str, Any], **extra: Any) -> Any:
    return parse_resources(synthetic_resources(8, 2, season=season, **extra))


def _grid_w14_risky() -> pd.DataFrame:
    grid = synthetic_grid(8, "2026-W13", weeks=3, seed=1)
    grid.loc[grid["slot_start"].dt.strftime("%G-W%V") == "2026-W14", "expected"] *= 10
    return grid


TWO = [{"name": "A", "nights": ["fri"]}, {"name": "B", "nights": ["sat"]}]
PACING_CASES = [
    pytest.param(
        _r({"walks": 40, "horizon_weeks": 5, "min_walks_per_week": 1}),
        "2026-W14",
        None,
        {"walks_left": 3},
        [0, 0, 0, 1, 2],
        [
            "3 walks left cannot give every one of the 5 weeks its minimum of 1: the riskiest weeks get walks first; "
            "3 weeks get fewer (2026-W14, 2026-W15, 2026-W16)"
        ],
        id="the quota cannot give every week its minimum",
    ),
    pytest.param(
        _r(
            {"walks": 40, "horizon_weeks": 3, "min_walks_per_week": 2},
            associations=[{"name": "Only", "nights": ["fri"], "max_walks_per_week": 1}],
        ),
        "2026-W14",
        None,
        {"walks_left": 3},
        [1, 1, 1],
        [
            "2026-W14, 2026-W15, 2026-W16: the associations can walk fewer walks than the weekly minimum of 2 "
            "(their nights, unavailable dates and weekly maxima, the season's start and end, the nights already "
            "over): those weeks get what they can take",
            "2026-W14 is full at 1 walk (the associations' nights and weekly maxima): its risk would draw 2, "
            "so 1 go to other weeks",
        ],
        id="capacity below the weekly minimum",
    ),
    pytest.param(
        _r({"walks": 40, "horizon_weeks": 3}, associations=TWO),
        "2026-W13",
        _grid_w14_risky(),
        {"walks_left": 5},
        [1, 2, 2],
        [
            "2026-W14 is full at 2 walks (the associations' nights and weekly maxima): its risk would draw 5, "
            "so 3 go to other weeks"
        ],
        id="a full week moves walks to other weeks",
    ),
    pytest.param(
        _r({"walks": 40, "horizon_weeks": 4, "min_walks_per_week": 0}),
        "2026-W14",
        None,
        {
            "walks_left": 4,
            "accepted": [
                PinnedWalk(association="Förening 3", area="Centrum", night=dt.date(2026, 4, 15), template="t20"),
                PinnedWalk(association="Förening 3", area="Norr", night=dt.date(2026, 4, 17), template="t20"),
            ],
        },
        [0, 0, 2, 2],
        ["2026-W16 holds 2 accepted walks, 2 more than its share by risk (0): the other weeks get that many fewer"],
        id="accepted walks stay and move the rest",
    ),
    pytest.param(
        _r({"walks": 40, "used": 5, "horizon_weeks": 2}),
        "2026-W14",
        None,
        {},
        [6, 6],
        [
            "walks left 35 = season.walks 40 - season.used 5 from the resources (deprecated: record walks in the "
            "season ledger, whose walks left every plan takes)",
            "the associations can walk only 12 of the 35 remaining walks in the season: add nights or raise "
            "max_walks_per_week",
        ],
        id="deprecated season.used fallback",
    ),
    pytest.param(
        _r({"walks": 40, "used": 5, "horizon_weeks": 2}, associations=TWO),
        "2026-W14",
        None,
        {"walks_left": 2},
        [2, 0],  # Easter weekend (Good Friday eve, payday) draws both
        ["season.used (5) in the resources is ignored: the season ledger's walks left (2) count"],
        id="the ledger's walks left win over season.used",
    ),
    pytest.param(
        _r(
            {"walks": 40, "horizon_weeks": 2},
            associations=[
                {"name": "A", "nights": ["fri"], "walks_done": 2, "max_walks_per_season": 3},
                {"name": "B", "nights": ["sat"], "max_walks_per_season": 3},
            ],
        ),
        "2026-W14",
        None,
        {"walks_left": 10, "done": {"A": 0, "B": 3}},
        [2, 1],
        [
            "walks_done in the resources is ignored: the season ledger's walks done per association count",
            "the associations' season maxima allow only 3 more walks: 7 of the 10 walks left cannot be placed; "
            "raise max_walks_per_season",
        ],
        id="season maxima with the ledger's walks done",
    ),
]


@pytest.mark.parametrize(("res", "first", "grid", "kwargs", "walks", "warnings"), PACING_CASES)
def test_every_pacing_decision_is_said(
    res: Any, first: str, grid: pd.DataFrame | None, kwargs: dict[str, Any], walks: list[int], warnings: list[str]
) -> None:
    sp = pace(res, first, grid, **kwargs)
    assert [w.walks for w in sp.weeks] == walks
    assert sp.warnings == warnings


def test_a_weekly_plan_repeats_the_pacing_warnings_of_its_week() -> None:
    from tryggplan.allocation.weekly import plan_week

    res = _r({"walks": 40, "horizon_weeks": 3}, associations=TWO)
    plan = plan_week(_grid_w14_risky(), res, "2026-W14", now=MONDAY, walks_left=5, with_marginal=False)
    assert plan.walks == 2
    assert plan.warnings[1:] == [
        "2026-W14 is full at 2 walks (the associations' nights and weekly maxima): its risk would draw 5, "
        "so 3 go to other weeks"
    ]


def test_pacing_from_a_moment_mid_week() -> None:
    res = _r({"walks": 40, "horizon_weeks": 3, "min_walks_per_week": 0}, associations=TWO)
    sp = pace(res, "2026-W12", walks_left=4, now=pd.Timestamp("2026-03-28 12:00", tz="Europe/Stockholm"))
    assert [(w.week, w.walks, w.capacity) for w in sp.weeks] == [
        ("2026-W13", 1, 1),
        ("2026-W14", 2, 2),
        ("2026-W15", 1, 2),
    ]
    assert sp.warnings == [
        "weeks before 2026-W13 are over at sat 2026-03-28 12:00: the pacing starts at 2026-W13",
        "2026-W13 is paced from sat 2026-03-28 12:00 on: the 5 nights over by then get no walks",
        "2026-W13 is full at 1 walk (the associations' nights and weekly maxima): its risk would draw 2, "
        "so 1 go to other weeks",
    ]


# ------------------------------------------------------------------ the whole season placed
def _season_res(**season: Any) -> Any:
    spec = synthetic_resources(8, 2, season={"walks": 30, "until": "2026-06-30", "min_walks_per_week": 1, **season})
    for a in spec["associations"]:
        a["max_walks_per_season"] = 10
    return parse_resources(spec)


@pytest.fixture(scope="module")
def whole_season() -> Any:
    from tryggplan.allocation.season import season_plan

    grid = synthetic_grid(8, "2026-W13", weeks=2, seed=1)
    return season_plan(grid, _season_res(), "2026-W13", now=MONDAY, walks_left=30, done={"Förening 0": 3})


def test_every_remaining_walk_gets_a_week_night_association_and_area(whole_season: Any) -> None:
    res = _season_res()
    sp = whole_season
    assert sp.planned_walks == len(sp.placed) == 30
    assert sorted(sp.weekly) == ["2026-W13", "2026-W14"]
    assert {p.source for p in sp.placed if p.week in sp.weekly} == {"forecast"}
    assert {p.source for p in sp.placed if p.week not in sp.weekly} == {"profile"}
    for w in sp.weeks:  # each week holds exactly its paced walks
        assert sum(p.week == w.week for p in sp.placed) == w.walks, w.week
    per_week: dict[tuple[str, str], int] = {}
    per_night: set[tuple[str, str]] = set()
    teams: dict[tuple[str, str], int] = {}
    for p in sp.placed:
        a = res.association(p.association)
        night = dt.date.fromisoformat(p.night)
        assert dt.date(2026, 3, 23) <= night <= dt.date(2026, 6, 30) and p.week == night.strftime("%G-W%V")
        assert ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[night.weekday()] in a.nights, p
        assert p.area in {"Centrum", "Norr"} and p.template in {"t20", "t21", "t22"}
        assert (p.association, p.night) not in per_night
        per_night.add((p.association, p.night))
        per_week[(p.association, p.week)] = per_week.get((p.association, p.week), 0) + 1
        teams[(p.area, p.night)] = teams.get((p.area, p.night), 0) + 1
        assert p.start == res.template(p.template).window(night, res.tz)[0].isoformat()
    assert all(n <= res.association(a).max_walks_per_week for (a, _), n in per_week.items())
    assert all(n <= res.max_teams_per_area_night for n in teams.values())
    by_assoc = {a.name: sum(p.association == a.name for p in sp.placed) for a in res.associations}
    assert by_assoc["Förening 0"] <= 10 - 3 and all(n <= 10 for n in by_assoc.values())  # season maxima with done


def test_a_profile_week_is_placed_on_its_riskiest_nights() -> None:
    from tryggplan.allocation.season import season_plan

    spec = synthetic_resources(
        8,
        2,
        season={"walks": 40, "start": "2026-04-27", "until": "2026-05-03"},
        associations=[
            {"name": "Lions", "nights": ["thu", "fri", "sat"], "max_walks_per_week": 2},
            {"name": "IFK", "nights": ["sat"]},
        ],
    )
    sp = season_plan(synthetic_grid(8, "2026-W13", seed=1), parse_resources(spec), "2026-W18", now=MONDAY, walks_left=3)
    assert [(p.night, p.association, p.area, p.template, p.source) for p in sp.placed] == [
        ("2026-04-30", "Lions", "Centrum", "t20", "profile"),  # Walpurgis night first
        ("2026-05-02", "IFK", "Centrum", "t20", "profile"),
        ("2026-05-01", "Lions", "Centrum", "t20", "profile"),
    ]
    assert sp.warnings == []


def test_a_new_forecast_repaces_only_what_is_not_accepted(whole_season: Any) -> None:
    from tryggplan.allocation.season import season_plan

    acc = [
        PinnedWalk(association=p.association, area=p.area, night=dt.date.fromisoformat(p.night), template=p.template)
        for p in whole_season.placed
        if p.week in ("2026-W14", "2026-W20")
    ]
    assert len(acc) >= 2
    new_grid = synthetic_grid(8, "2026-W13", weeks=2, seed=1)
    new_grid["expected"] = new_grid["expected"].to_numpy()[::-1]  # a very different forecast
    sp = season_plan(
        new_grid, _season_res(), "2026-W13", now=MONDAY, walks_left=30, done={"Förening 0": 3}, accepted=acc
    )
    kept = sorted((p.association, p.night, p.area, p.template) for p in sp.placed if p.accepted)
    assert kept == sorted((a.association, a.night.isoformat(), a.area, a.template) for a in acc)
    assert len(sp.placed) == 30


def test_the_season_plan_document_lists_every_placed_walk(whole_season: Any) -> None:
    doc = whole_season.to_dict()
    assert len(doc["placed"]) == 30 and doc["placed"][0]["kind"] == "night_walk"
    assert set(doc["placed"][0]) == {
        "kind",
        "week",
        "night",
        "association",
        "area",
        "template",
        "start",
        "end",
        "source",
        "accepted",
        "value",
    }
