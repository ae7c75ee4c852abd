"""Plans never look backwards: a plan made at ``now`` places nothing that starts before it, spends
only what is left of the week's budget and says so; a declined walk is re-planned alone, never
before ``now``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from tryggplan.allocation.audit import violations
from tryggplan.allocation.season import replan
from tryggplan.allocation.spec import parse_resources
from tryggplan.allocation.synthetic import synthetic_grid, synthetic_resources
from tryggplan.allocation.weekly import plan_week, spent_before
from tryggplan.domain import InvalidInputError

TZ = "Europe/Stockholm"
WEEK = "2026-W13"  # Monday 2026-03-23; clocks go forward in the night of Sat 28 March
MONDAY = pd.Timestamp("2026-03-23 00:00", tz=TZ)
GRID = synthetic_grid(8, WEEK, weeks=2, seed=1)
RES = parse_resources(synthetic_resources(8, 2))


def _plan(now: pd.Timestamp, **kw: Any) -> Any:
    return plan_week(GRID, RES, WEEK, now=now, with_marginal=False, with_baselines=False, **kw)


@pytest.mark.parametrize(
    ("now", "walks", "past_options"),
    [
        ("2026-03-25 12:00", 3, 12),  # Wednesday noon: Mon and Tue nights are over
        ("2026-03-27 21:30", 3, 28),  # Friday evening: the 20:00 and 21:00 walks have begun
        ("2026-03-29 19:00", 1, 36),  # Sunday evening: only Sunday night is left
    ],
)
def test_nothing_is_placed_before_the_plan_is_made(now: str, walks: int, past_options: int) -> None:
    t = pd.Timestamp(now, tz=TZ)
    plan = _plan(t, walks=walks)
    assert [s for s in plan.shifts if pd.Timestamp(s.start) < t] == []
    assert plan.walks == walks and violations(plan, RES) == []
    assert plan.planned_from == t.isoformat() and plan.generated_at == t.tz_convert("UTC").isoformat()
    assert plan.warnings[0] == (
        f"planned at {t:%a %Y-%m-%d %H:%M}: nothing that starts before then is placed "
        f"({past_options} of the week's 42 walk options are past)"
    )


def test_a_plan_made_before_its_week_says_nothing_about_the_past() -> None:
    plan = _plan(MONDAY - pd.Timedelta(days=3), walks=2)
    assert plan.warnings == [] and plan.spent_sek == 0.0


@pytest.mark.parametrize(
    ("spent", "note"),
    [
        (
            4000.0,
            "budget: 12000 SEK for the week - 4000 SEK already spent on shifts that started before the plan "
            "= 8000 SEK left",
        ),
        (
            12500.0,
            "budget: 12000 SEK for the week - 12500 SEK already spent on shifts that started before the plan "
            "= 0 SEK left",
        ),
    ],
)
def test_only_what_is_left_of_the_budget_is_spent(spent: float, note: str) -> None:
    t = pd.Timestamp("2026-03-27 12:00", tz=TZ)
    plan = _plan(t, walks=0 if spent > 12000 else 3, spent_sek=spent)
    assert note in plan.warnings and plan.spent_sek == spent
    assert plan.cost_sek <= max(0.0, 12000 - spent) + 1e-9 and violations(plan, RES) == []


def test_a_plan_that_needs_more_than_the_budget_left_names_it() -> None:
    from tryggplan.allocation.errors import InfeasiblePlanError

    with pytest.raises(InfeasiblePlanError) as info:
        _plan(pd.Timestamp("2026-03-27 12:00", tz=TZ), walks=2, spent_sek=11500)
    assert info.value.conflicts == [
        "week share of the season quota: exactly 2 walks this week",
        "weekly budget 500 SEK left after 11500 SEK spent before the plan was made "
        "(a walk costs 1000 SEK, a guard hour 450 SEK, min block 3 h)",
    ]


def test_pinned_shifts_that_began_are_left_out_and_named() -> None:
    spec = synthetic_resources(
        8,
        2,
        pinned=[
            {
                "kind": "night_walk",
                "association": "Förening 3",
                "area": "Centrum",
                "night": "2026-03-25",
                "template": "t20",
            },
            {"kind": "guard", "place_id": "P01", "start": "2026-03-25T21:00", "hours": 3},
            {
                "kind": "night_walk",
                "association": "Förening 0",
                "area": "Norr",
                "night": "2026-03-27",
                "template": "t21",
            },
        ],
        must_cover=[{"place_id": "P00", "nights": ["wed"], "start": "20:00", "end": "23:00"}],  # over by then
    )
    res = parse_resources(spec)
    t = pd.Timestamp("2026-03-26 10:00", tz=TZ)
    plan = plan_week(GRID, res, WEEK, now=t, walks=2, with_marginal=False, with_baselines=False)
    assert [(s.association, s.night) for s in plan.shifts if s.pinned] == [("Förening 0", "2026-03-27")]
    assert plan.warnings[1] == (
        "2 pinned shift(s) started before Thu 10:00 and are left out of this plan (count their cost in "
        "spent_sek): 'Förening 3' in Centrum Wed 20:00-00:00; guard at P01 Wed 21:00 (3 h)"
    )
    assert violations(plan, res) == []


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (
            pd.Timestamp("2026-03-30 00:00", tz=TZ),
            "week 2026-W13 ended at 2026-03-30 00:00 (Europe/Stockholm), before the plan is made "
            "(2026-03-30 00:00): nothing is left to plan; plan 2026-W14 or later",
        ),
        (
            dt.datetime(2026, 3, 25, 12),
            "now datetime.datetime(2026, 3, 25, 12, 0) has no time zone: give a tz-aware instant, "
            "e.g. 2026-03-25T14:00+01:00",
        ),
    ],
)
def test_bad_moments_are_refused(now: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        _plan(now, walks=1)
    assert str(info.value) == message


def test_now_is_required_and_none_plans_the_whole_week() -> None:
    with pytest.raises(TypeError, match="now"):
        plan_week(GRID, RES, WEEK, walks=1, with_marginal=False, with_baselines=False)  # type: ignore[call-arg]
    plan = plan_week(GRID, RES, WEEK, now=None, walks=1, with_marginal=False, with_baselines=False)
    assert plan.planned_from is None


def test_spent_before_counts_the_shifts_that_began() -> None:
    shifts = [
        {"start": "2026-03-26T22:00:00+01:00", "cost_sek": 1000.0},
        {"start": "2026-03-27T12:00:00+01:00", "cost_sek": 2250.0},  # starts at the moment: not yet spent
        {"start": "2026-03-27T21:00:00+01:00", "cost_sek": 1350.0},
    ]
    assert spent_before(shifts, pd.Timestamp("2026-03-27 12:00", tz=TZ)) == 1000.0
    assert spent_before(shifts, pd.Timestamp("2026-03-28 00:00", tz=TZ)) == 4600.0


# ---------------------------------------------------------------------- re-plans
@pytest.fixture(scope="module")
def first() -> dict[str, Any]:
    plan = plan_week(GRID, RES, WEEK, now=MONDAY, walks=5, with_marginal=False, with_baselines=False)
    return plan.to_dict()


@pytest.mark.parametrize("now", ["2026-03-23 00:00", "2026-03-26 12:00", "2026-03-27 12:00"])
def test_a_declined_walk_is_replanned_alone_and_never_before_now(first: dict[str, Any], now: str) -> None:
    t = pd.Timestamp(now, tz=TZ)
    ahead = [s for s in first["shifts"] if pd.Timestamp(s["start"]) >= t]
    declined = next(s for s in ahead if s["kind"] == "night_walk")
    night = dt.date.fromisoformat(declined["night"])
    new = replan(
        GRID,
        RES,
        WEEK,
        first,
        now=t,
        cancel=[(declined["association"], night)],
        with_marginal=False,
        with_baselines=False,
    )
    assert all(pd.Timestamp(s.start) >= t for s in new.shifts)
    # every other shift still ahead is kept as it was, pinned
    others = [s for s in ahead if s is not declined]
    kept = [(s.kind, s.start, s.association, s.area, s.place_ids) for s in new.shifts if s.pinned]
    assert kept == [(s["kind"], s["start"], s.get("association"), s.get("area"), s["place_ids"]) for s in others]
    # one replacement walk, not by the declining association that night
    fresh = [s for s in new.shifts if not s.pinned]
    assert len(fresh) == 1 and fresh[0].kind == "night_walk"
    assert (fresh[0].association, fresh[0].night) != (declined["association"], declined["night"])
    past_walks = sum(1 for s in first["shifts"] if s["kind"] == "night_walk" and pd.Timestamp(s["start"]) < t)
    assert new.walks == 5 - past_walks
    assert new.spent_sek == spent_before(first["shifts"], t)
    assert violations(new, RES) == []


def test_replan_names_the_shifts_that_are_history(first: dict[str, Any]) -> None:
    t = pd.Timestamp("2026-03-27 12:00", tz=TZ)
    declined = next(s for s in first["shifts"] if s["kind"] == "night_walk" and pd.Timestamp(s["start"]) >= t)
    new = replan(
        GRID,
        RES,
        WEEK,
        first,
        now=t,
        cancel=[(declined["association"], dt.date.fromisoformat(declined["night"]))],
        with_marginal=False,
        with_baselines=False,
    )
    assert new.warnings[:3] == [
        "re-planned at Fri 2026-03-27 12:00: 1 shift(s) of the earlier plan started before then "
        "(1 walk(s), 1000 SEK): kept as history, not placed again",
        "planned at Fri 2026-03-27 12:00: nothing that starts before then is placed "
        "(24 of the week's 42 walk options are past)",
        "budget: 12000 SEK for the week - 1000 SEK already spent on shifts that started before the plan "
        "= 11000 SEK left",
    ]


def test_a_declined_walk_nobody_can_take_leaves_the_week_one_walk_short(first: dict[str, Any]) -> None:
    t = pd.Timestamp("2026-03-28 19:00", tz=TZ)  # Saturday evening: who could walk is already walking
    declined = next(s for s in first["shifts"] if s["kind"] == "night_walk" and pd.Timestamp(s["start"]) >= t)
    assert (declined["association"], declined["night"]) == ("Förening 0", "2026-03-28")
    new = replan(
        GRID,
        RES,
        WEEK,
        first,
        now=t,
        cancel=[("Förening 0", dt.date(2026, 3, 28))],
        with_marginal=False,
        with_baselines=False,
    )
    assert new.walks == 2 and all(s.pinned for s in new.shifts)
    assert new.warnings[1] == (
        "no association can take the walk of 'Förening 0' on the night of 2026-03-28 (week share of the season "
        "quota: exactly 3 walks this week; max walks of 'Förening 2' this week (1: max_walks_per_week 1)): "
        "the week has 2 walks instead of 3"
    )
