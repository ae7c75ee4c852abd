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


def test_walk_effect_update_follows_the_data_and_shrinks_to_the_prior() -> None:
    from tryggplan.allocation.effects import estimate_walk_effect

    grid = synthetic_grid(4, "2026-W13", weeks=1, seed=0)
    grid["expected"] = 0.5  # every place-hour expects 0.5 incidents
    walks = [
        {
            "kind": "night_walk",
            "place_ids": ["P00", "P01"],
            "start": "2026-03-27T20:00:00+01:00",
            "end": "2026-03-28T00:00:00+01:00",
        }
    ]  # 8 place-hours: E = 4
    hours = pd.date_range("2026-03-27T19:00Z", periods=4, freq="h")
    incidents = pd.DataFrame(
        {"occurred_at": [h + pd.Timedelta(minutes=5) for h in hours[:2]], "place_id": ["P00", "P01"]}
    )  # O = 2
    est = estimate_walk_effect(walks, incidents, grid, prior=0.10, strength=20.0)
    assert (est.expected, est.observed, est.place_hours) == (4.0, 2.0, 8)
    assert est.effect == pytest.approx(1 - 22 / (20 / 0.9 + 4))  # posterior mean of theta = 0.838...
    assert est.lo < est.effect < est.hi
    weak = estimate_walk_effect(walks, incidents, grid, prior=0.10, strength=0.5)
    assert weak.effect == pytest.approx(1 - 2.5 / (0.5 / 0.9 + 4)) and weak.effect > est.effect
    with pytest.raises(InvalidInputError, match="no walks given"):
        estimate_walk_effect([], incidents, grid)
