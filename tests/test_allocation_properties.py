"""Property tests over random small resources specs (hypothesis).

Every solved plan passes the independent audit (quota, budget, availability, templates,
guard blocks, weekly guard hours, concurrency, pinned, must-cover); the optimum is never
below the greedy plan; adding a resource never lowers the objective; CBC and HiGHS agree.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tryggplan.allocation.audit import violations
from tryggplan.allocation.errors import InfeasiblePlanError
from tryggplan.allocation.grid import normalise_grid, week_risk
from tryggplan.allocation.spec import WEEKDAYS, Resources, parse_resources
from tryggplan.allocation.synthetic import synthetic_grid
from tryggplan.allocation.weekly import plan_from_risk

WEEK = "2026-W13"  # contains the spring-forward night of 28-29 March 2026
GAP = 1e-7
MONDAY = pd.Timestamp("2026-03-23 00:00", tz="Europe/Stockholm")  # the plan is made as the week begins
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=4)
def _grid(n_places: int) -> pd.DataFrame:
    return normalise_grid(synthetic_grid(n_places, WEEK, seed=n_places), "Europe/Stockholm")


def _risk(n_places: int):
    return week_risk(_grid(n_places), WEEK, "Europe/Stockholm")


@st.composite
def specs(draw: Any) -> tuple[dict[str, Any], int, int]:
    n_places = draw(st.integers(3, 6))
    n_areas = draw(st.integers(1, min(3, n_places)))
    areas = [
        {"name": f"A{k}", "place_ids": [f"P{i:02d}" for i in range(n_places) if i % n_areas == k]}
        for k in range(n_areas)
    ]
    starts = draw(st.lists(st.sampled_from([18, 20, 21, 22, 0]), min_size=1, max_size=3, unique=True))
    templates = [{"name": f"t{s}", "start": f"{s:02d}:00", "end": f"{(s + 4) % 24:02d}:00"} for s in starts]
    assocs = []
    for k in range(draw(st.integers(1, 4))):
        a: dict[str, Any] = {
            "name": f"F{k}",
            "nights": draw(st.lists(st.sampled_from(list(WEEKDAYS)), min_size=1, max_size=4, unique=True)),
            "max_walks_per_week": draw(st.integers(1, 2)),
        }
        if draw(st.booleans()):
            a["templates"] = [templates[0]["name"]]
        assocs.append(a)
    spec: dict[str, Any] = {
        "templates": templates,
        "areas": areas,
        "associations": assocs,
        "max_teams_per_area_night": draw(st.integers(1, 2)),
    }
    if draw(st.booleans()):
        spec["weekly_budget_sek"] = draw(st.sampled_from([1000, 2500, 4000, 7000]))
    if draw(st.booleans()):
        spec["guard"] = {
            "hourly_rate_sek": 450,
            "min_block_hours": draw(st.integers(1, 4)),
            "max_hours_per_week": draw(st.integers(0, 10)),
            "concurrent_guards": draw(st.integers(1, 2)),
            "hours": draw(st.sampled_from([list(range(24)), [19, 20, 21, 22, 23, 0, 1, 2]])),
        }
        if draw(st.booleans()):
            spec["guard"]["places"] = [f"P{i:02d}" for i in range(0, n_places, 2)]
    if draw(st.booleans()):
        spec["fairness"] = {
            "min_share": draw(st.sampled_from([0.0, 0.2])),
            "max_share": draw(st.sampled_from([0.5, 1.0])),
        }
    if draw(st.booleans()):
        spec["must_cover"] = [
            {
                "place_id": "P00",
                "nights": [draw(st.sampled_from(["fri", "sat"]))],
                "start": "21:00",
                "end": "23:00",
                "by": draw(st.sampled_from(["any", "night_walk"])),
            }
        ]
    if draw(st.booleans()):
        a0 = assocs[0]
        day = WEEKDAYS.index(a0["nights"][0])
        t = a0.get("templates", [templates[0]["name"]])[0]
        spec["pinned"] = [
            {
                "kind": "night_walk",
                "association": a0["name"],
                "area": "A0",
                "night": (dt.date(2026, 3, 23) + dt.timedelta(days=day)).isoformat(),
                "template": t,
            }
        ]
    walks = draw(st.integers(0, 3))
    return spec, n_places, walks


def _solve(
    spec: dict[str, Any],
    n_places: int,
    walks: int,
    solver: str = "highs",
    baselines: bool = True,
    now: pd.Timestamp = MONDAY,
    spent_sek: float = 0.0,
):
    res = parse_resources(spec)
    return res, plan_from_risk(
        _risk(n_places),
        res,
        walks,
        now=now,
        spent_sek=spent_sek,
        solver=solver,
        gap=GAP,  # type: ignore[arg-type]
        with_baselines=baselines,
        with_marginal=False,
    )


@FAST
@given(specs())
def test_every_plan_meets_every_hard_constraint_and_beats_greedy(case: tuple[dict[str, Any], int, int]) -> None:
    spec, n_places, walks = case
    try:
        res, plan = _solve(spec, n_places, walks)
    except InfeasiblePlanError as exc:
        assert exc.conflicts, "an infeasible request must name its conflicts"
        assert all(isinstance(c, str) and c for c in exc.conflicts)
        return
    assert violations(plan, res, walks) == []
    assert plan.status == "optimal" and plan.solver.gap <= 1e-4
    assert abs(plan.cost_sek - sum(s.cost_sek for s in plan.shifts)) < 1e-9
    assert all(s.why for s in plan.shifts)
    assert abs(sum(s.expected_prevented for s in plan.shifts) - plan.objective) < 1e-6
    greedy = plan.baselines["greedy"]
    if greedy.feasible:
        assert plan.objective >= greedy.objective - 1e-6
    assert (
        plan.objective >= plan.baselines["fixed_fri_sat"].objective - 1e-6
        or not plan.baselines["fixed_fri_sat"].feasible
        or spec.get("must_cover")
        or spec.get("pinned")
    )


@FAST
@given(specs(), st.integers(0, 7 * 24 - 1), st.sampled_from([0.0, 450.0, 2000.0]))
def test_a_plan_made_mid_week_never_looks_backwards(
    case: tuple[dict[str, Any], int, int], hours: int, spent: float
) -> None:
    """Made at any hour of the week (across the spring-forward night), with some budget spent:
    nothing starts before the moment, the budget left holds, every other rule holds too."""
    spec, n_places, walks = case
    now = (MONDAY.tz_convert("UTC") + pd.Timedelta(hours=hours)).tz_convert("Europe/Stockholm")
    try:
        res, plan = _solve(spec, n_places, walks, baselines=False, now=now, spent_sek=spent)
    except InfeasiblePlanError as exc:
        assert exc.conflicts
        return
    assert all(pd.Timestamp(sh.start) >= now for sh in plan.shifts)
    assert violations(plan, res, walks) == []
    if res.weekly_budget_sek is not None:
        assert plan.cost_sek <= max(0.0, res.weekly_budget_sek - spent) + 1e-6


def _more(spec: dict[str, Any], what: str) -> dict[str, Any]:
    out = {**spec}
    if what == "association":
        out["associations"] = [
            *spec["associations"],
            {"name": "Extra", "nights": list(WEEKDAYS), "max_walks_per_week": 1},
        ]
    elif what == "budget":
        if "weekly_budget_sek" in spec:
            out["weekly_budget_sek"] = spec["weekly_budget_sek"] + 1350
    elif what == "guard_hours":
        if "guard" in spec:
            out["guard"] = {**spec["guard"], "max_hours_per_week": spec["guard"]["max_hours_per_week"] + 3}
    elif what == "template":
        out["templates"] = [*spec["templates"], {"name": "extra", "start": "19:00", "end": "23:00"}]
    return out


@FAST
@given(specs(), st.sampled_from(["association", "budget", "guard_hours", "template"]))
def test_adding_a_resource_never_lowers_the_objective(case: tuple[dict[str, Any], int, int], what: str) -> None:
    spec, n_places, walks = case
    try:
        _, before = _solve(spec, n_places, walks, baselines=False)
    except InfeasiblePlanError:
        assume(False)
        return
    _, after = _solve(_more(spec, what), n_places, walks, baselines=False)
    assert after.objective >= before.objective * (1 - 1e-6) - 1e-9


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_cbc_and_highs_agree_on_the_objective(case: tuple[dict[str, Any], int, int]) -> None:
    spec, n_places, walks = case
    try:
        _, h = _solve(spec, n_places, walks, "highs", baselines=False)
    except InfeasiblePlanError as exc:
        with pytest.raises(InfeasiblePlanError):
            _solve(spec, n_places, walks, "cbc", baselines=False)
        assert exc.conflicts
        return
    _, c = _solve(spec, n_places, walks, "cbc", baselines=False)
    assert c.solver.name == "cbc" and c.status == "optimal"
    assert c.objective == pytest.approx(h.objective, rel=1e-4, abs=1e-7)


def test_resources_type_is_frozen_pydantic() -> None:
    res = parse_resources(
        {"templates": [{"name": "t", "start": "20:00", "end": "00:00"}], "areas": [{"name": "A", "place_ids": ["P00"]}]}
    )
    assert isinstance(res, Resources)
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        res.tz = "UTC"  # type: ignore[misc]
