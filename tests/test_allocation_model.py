"""The weekly MILP on small fixed cases: infeasible requests name their conflicts, DST-aware
shift lengths and costs, pinned and must-cover shifts, time limit, baselines, marginal values."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tryggplan.allocation.audit import violations
from tryggplan.allocation.errors import InfeasiblePlanError
from tryggplan.allocation.grid import normalise_grid, week_risk
from tryggplan.allocation.model import WeekModel, make_setup
from tryggplan.allocation.spec import parse_resources
from tryggplan.allocation.synthetic import synthetic_grid, synthetic_resources
from tryggplan.allocation.weekly import plan_from_risk, plan_week

TZ = "Europe/Stockholm"
MONDAY = pd.Timestamp("2026-03-23 00:00", tz=TZ)  # the plan is made as 2026-W13 begins


def _risk(week: str = "2026-W13", n: int = 8):
    return week_risk(normalise_grid(synthetic_grid(n, week, seed=1), TZ), week, TZ)


def _spec(**kw: Any) -> dict[str, Any]:
    return synthetic_resources(8, 2, guard_hours=[20, 21, 22, 23], **kw)


INFEASIBLE = [
    pytest.param(
        {
            "must_cover": [
                {"place_id": "P00", "nights": ["fri", "sat"], "start": "20:00", "end": "00:00", "by": "night_walk"}
            ]
        },
        1,
        ["week share of the season quota: exactly 1 walks this week", "must-cover[0] 'P00 fri,sat 20:00-00:00'"],
        id="must-cover needs more walks than the quota",
    ),
    pytest.param(
        {"associations": [{"name": "Lions", "nights": [], "min_walks_per_week": 1}]},
        0,
        ["min walks of 'Lions' this week (1); 'Lions' can walk on 0 of the week's shift options"],
        id="association available on no night",
    ),
    pytest.param(
        {"weekly_budget_sek": 500},
        1,
        ["weekly budget 500 SEK", "week share of the season quota: exactly 1 walks"],
        id="budget below one shift",
    ),
    pytest.param(
        {
            "associations": [{"name": "Lions", "nights": ["fri"]}],
            "pinned": [
                {
                    "kind": "night_walk",
                    "association": "Lions",
                    "area": "Centrum",
                    "night": "2026-03-24",
                    "template": "t20",
                }
            ],
        },
        1,
        [
            "availability: 'Lions' does not walk on tue nights (nights ['fri'])",
            "pinned[0]: 'Lions' walks Centrum on the night of 2026-03-24 (t20)",
        ],
        id="pinned walk on a night the association cannot walk",
    ),
    pytest.param(
        {"pinned": [{"kind": "guard", "place_id": "P01", "start": "2026-03-27T14:00", "hours": 3}]},
        1,
        ["guard contract: no guard may be at P01 at", "pinned[0]: guard at P01"],
        id="pinned guard outside the contract's hours",
    ),
    pytest.param(
        {
            "must_cover": [{"place_id": "P00", "nights": ["fri"], "start": "20:00", "end": "23:00", "by": "guard"}],
            "weekly_budget_sek": 1500,
        },
        1,
        ["weekly budget 1500 SEK"],
        id="must-cover by guard that the budget cannot pay",
    ),
]


@pytest.mark.parametrize(("extra", "walks", "expected"), INFEASIBLE)
def test_infeasible_requests_name_the_conflicting_constraints(
    extra: dict[str, Any], walks: int, expected: list[str]
) -> None:
    res = parse_resources(_spec(**extra))
    with pytest.raises(InfeasiblePlanError) as info:
        plan_from_risk(_risk(), res, walks, now=MONDAY, with_baselines=False, with_marginal=False)
    conflicts = info.value.conflicts
    for want in expected:
        assert any(c.startswith(want) for c in conflicts), (want, conflicts)
    assert "conflicting:" in str(info.value) and "-> relax one of them" in str(info.value)


def test_infeasible_is_invalid_input_for_the_cli() -> None:
    from tryggplan.domain import InvalidInputError

    assert issubclass(InfeasiblePlanError, InvalidInputError)


def test_every_variable_and_constraint_is_named() -> None:
    res = parse_resources(_spec(must_cover=[{"place_id": "P00", "nights": ["fri"], "start": "21:00", "end": "23:00"}]))
    model = WeekModel(make_setup(_risk(), res, 2))
    names = [v.name for v in model.prob.variables()]
    assert len(names) == len(set(names)) and all(
        n.split("_")[0] in {"walk", "teams", "guard", "gstart", "wseg", "both"} for n in names
    )
    cons = (
        [c.name for c in model.prob.constraints()] if callable(model.prob.constraints) else list(model.prob.constraints)
    )
    assert "quota_week" in cons and "budget" in cons and "guard_hours" in cons
    assert any(c.startswith("mustcover_0_") for c in cons) and any(c.startswith("gblock_") for c in cons)
    assert not any(c.startswith("_C") for c in cons)  # PuLP's default names


@pytest.mark.parametrize(
    ("week", "night", "utc_hours"),
    [
        ("2026-W13", "2026-03-28", 3),  # clocks spring forward at 02:00 on 29 March: 00-04 lasts 3 h
        ("2026-W43", "2026-10-24", 5),  # clocks fall back at 03:00 on Sunday 25 October (ISO week 43): 5 h
        ("2026-W12", "2026-03-21", 4),
    ],
)
def test_walk_and_guard_lengths_and_costs_follow_utc_across_dst(week: str, night: str, utc_hours: int) -> None:
    spec = _spec(
        templates=[{"name": "late", "start": "00:00", "end": "04:00"}],
        associations=[{"name": "Lions", "nights": ["sat"]}],
        pinned=[
            {"kind": "night_walk", "association": "Lions", "area": "Centrum", "night": night, "template": "late"},
            {"kind": "guard", "place_id": "P00", "start": f"{night}T22:00", "hours": 3},
        ],
        guard={"hourly_rate_sek": 450, "min_block_hours": 3, "max_hours_per_week": 10, "concurrent_guards": 1},
        weekly_budget_sek=None,
    )
    res = parse_resources(spec)
    plan = plan_from_risk(_risk(week), res, 1, now=_risk(week).slots[0], with_baselines=False, with_marginal=False)
    walk = next(s for s in plan.shifts if s.kind == "night_walk")
    assert walk.start.endswith("T00:00:00+01:00" if week != "2026-W43" else "T00:00:00+02:00")
    assert walk.start[:10] != night and walk.night == night and walk.hours == utc_hours and walk.pinned
    assert walk.end.endswith("T04:00:00+02:00" if week == "2026-W13" else "T04:00:00+01:00")
    for g in (s for s in plan.shifts if s.kind == "guard"):
        assert g.cost_sek == pytest.approx(450 * g.hours)
    assert violations(plan, res, 1) == []


def test_must_cover_and_pinned_are_kept_and_explained() -> None:
    res = parse_resources(
        _spec(
            must_cover=[
                {
                    "place_id": "P03",
                    "name": "Skateparken",
                    "nights": ["sat"],
                    "start": "21:00",
                    "end": "23:00",
                    "by": "guard",
                }
            ],
            pinned=[
                {
                    "kind": "night_walk",
                    "association": "Förening 0",
                    "area": "Norr",
                    "night": "2026-03-27",
                    "template": "t21",
                }
            ],
        )
    )
    plan = plan_from_risk(_risk(), res, 2, now=MONDAY, with_baselines=True, with_marginal=False)
    assert violations(plan, res, 2) == []
    pinned = [s for s in plan.shifts if s.pinned]
    assert len(pinned) == 1 and pinned[0].why.startswith("pinned (already agreed); covers Norr")
    guard = [s for s in plan.shifts if s.kind == "guard" and "Skateparken" in s.why]
    assert guard and guard[0].place_ids == ["P03"]


def test_plan_reports_figures_baselines_and_marginal_values() -> None:
    grid = synthetic_grid(8, "2026-W13", seed=1)
    res = parse_resources(_spec())
    plan = plan_week(grid, res, "2026-W13", now=MONDAY, walks=2)
    d = plan.to_dict()
    for key in (
        "week",
        "status",
        "objective",
        "risk_covered_share",
        "cost_sek",
        "shifts",
        "baselines",
        "marginal_value",
        "solver",
    ):
        assert key in d
    assert d["status"] == "optimal" and d["solver"]["name"] == "highs" and d["solver"]["gap"] <= 1e-3
    assert set(d["baselines"]) == {"greedy", "fixed_fri_sat"}
    assert d["objective"] >= max(b["objective"] for b in d["baselines"].values()) - 1e-9
    assert d["marginal_value"]["walk"] > 0 and d["marginal_value"]["guard_hour"] >= 0
    assert 0 < d["risk_covered_share"] < 1
    assert d["cost_sek"] == sum(s["cost_sek"] for s in d["shifts"]) <= 12000
    walk = next(s for s in d["shifts"] if s["kind"] == "night_walk")
    assert walk["why"].startswith(f"covers {walk['area']} (") and "expected incidents, top " in walk["why"]
    assert walk["start"][-6:] in ("+01:00", "+02:00")


def test_time_limit_returns_the_best_plan_flagged() -> None:
    grid = synthetic_grid(30, "2026-W13", seed=2)
    spec = synthetic_resources(30, 6, n_assocs=8, n_templates=4, budget=40000, max_guard_hours=60)
    spec["guard"]["concurrent_guards"] = 3
    res = parse_resources(spec)
    plan = plan_week(
        grid, res, "2026-W13", now=MONDAY, walks=6, time_limit=1.0, with_marginal=False, with_baselines=False
    )
    assert plan.status in ("time_limit", "optimal")
    if plan.status == "time_limit":
        assert plan.solver.gap > 0 and any("time limit" in w for w in plan.warnings)
    assert violations(plan, res, 6) == []


def test_unknown_places_in_the_spec_are_refused() -> None:
    res = parse_resources(_spec(must_cover=[{"place_id": "Nowhere", "start": "21:00", "end": "23:00"}]))
    from tryggplan.domain import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"must_cover\[0\]\.place_id: unknown place 'Nowhere'"):
        plan_from_risk(_risk(), res, 1, now=MONDAY)


def test_week_outside_the_forecast_is_refused_with_the_fix() -> None:
    from tryggplan.domain import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"does not cover week 2026-W20 .* --start 2026-05-11 --days 7"):
        plan_week(synthetic_grid(8, "2026-W13"), parse_resources(_spec()), "2026-W20", now=MONDAY, walks=1)


def test_a_time_out_before_any_solution_returns_the_greedy_start() -> None:
    grid = synthetic_grid(30, "2026-W13", seed=2)
    spec = synthetic_resources(30, 6, n_assocs=8, n_templates=4, budget=40000, max_guard_hours=60)
    res = parse_resources(spec)
    plan = plan_week(grid, res, "2026-W13", now=MONDAY, walks=6, time_limit=1e-4, with_marginal=False)
    assert plan.status == "time_limit" and plan.shifts
    assert plan.objective >= plan.baselines["greedy"].objective - 1e-9
    assert plan.to_dict()["solver"]["gap"] is None or plan.solver.gap > 0
    assert violations(plan, res, 6) == []


def test_guards_are_numbered_without_overlaps() -> None:
    spec = _spec(
        weekly_budget_sek=None,
        guard={
            "hourly_rate_sek": 450,
            "min_block_hours": 3,
            "max_hours_per_week": 30,
            "concurrent_guards": 2,
            "hours": [19, 20, 21, 22, 23, 0, 1],
        },
    )
    res = parse_resources(spec)
    plan = plan_from_risk(_risk(), res, 1, now=MONDAY, with_baselines=False, with_marginal=False)
    names = {s.guard for s in plan.shifts if s.kind == "guard"}
    assert names == {"guard 1", "guard 2"} and plan.guard_hours == 30
    assert violations(plan, res, 1) == []


def test_guards_of_a_named_company_carry_its_name() -> None:
    guard = {
        "company": "Mälardalens Bevakning AB",
        "hourly_rate_sek": 450,
        "min_block_hours": 3,
        "max_hours_per_week": 30,
        "concurrent_guards": 2,
        "hours": [19, 20, 21, 22, 23, 0, 1],
    }
    res = parse_resources(_spec(weekly_budget_sek=None, guard=guard))
    plan = plan_from_risk(_risk(), res, 1, now=MONDAY, with_baselines=False, with_marginal=False)
    names = {s.guard for s in plan.shifts if s.kind == "guard"}
    assert names == {"Mälardalens Bevakning AB", "Mälardalens Bevakning AB 2"} and plan.guard_hours == 30
    assert violations(plan, res, 1) == []


def test_a_start_that_breaks_a_constraint_is_never_taken_as_the_plan() -> None:
    import pulp

    from tryggplan.allocation.model import _start_is_feasible

    prob = pulp.LpProblem("tiny", pulp.LpMaximize)
    x, y = (prob.add_variable(name, 0, 1, cat=pulp.LpBinary) for name in ("x", "y"))
    prob += x + y
    prob += x + y <= 1, "one_walk"
    assert _start_is_feasible(prob, {"x": 1.0, "y": 0.0}) is True
    assert _start_is_feasible(prob, {"x": 1.0, "y": 1.0}) is False
