"""The whole season and re-plans: weekly plans of every week the forecast covers, paced by
:mod:`tryggplan.allocation.pacing`, and a week planned again after a cancellation or a new forecast.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pandas as pd

from tryggplan.allocation.grid import WeekRisk, normalise_grid, week_risk
from tryggplan.allocation.model import SolverName
from tryggplan.allocation.pacing import SeasonPlan, pace
from tryggplan.allocation.plan import Plan
from tryggplan.allocation.spec import PinnedGuard, PinnedWalk, Resources
from tryggplan.allocation.weekly import plan_from_risk, plan_week
from tryggplan.domain import InvalidInputError


def season_plan(
    grid: pd.DataFrame,
    resources: Resources,
    first_week: str,
    *,
    history: pd.DataFrame | None = None,
    solver: SolverName = "highs",
    time_limit: float | None = 60.0,
    gap: float = 1e-4,
    detail: bool = True,
    with_baselines: bool = False,
) -> SeasonPlan:
    """Pace the season and, with ``detail``, solve the weekly plan of every week the grid covers."""
    g = normalise_grid(grid, resources.tz)
    sp = pace(resources, first_week, g, history)
    if not detail:
        return sp
    weekly: dict[str, Plan] = {}
    res = resources
    for w in sp.weeks:
        try:
            risk: WeekRisk = week_risk(g, w.week, res.tz)
        except InvalidInputError:
            continue  # the forecast does not reach this week
        if not risk.covered[: risk.n_week].all():
            continue
        p = plan_from_risk(
            risk,
            res,
            w.walks,
            solver=solver,
            time_limit=time_limit,
            gap=gap,
            with_baselines=with_baselines,
            with_marginal=False,
        )
        weekly[w.week] = p
        res = _after_week(res, p)
    return SeasonPlan(
        sp.first_week, sp.last_week, sp.remaining_walks, sp.planned_walks, sp.weeks, sp.uplifts, weekly, sp.warnings
    )


def _after_week(resources: Resources, plan: Plan) -> Resources:
    """The spec as it stands after ``plan``'s walks are done (walks_done, season used)."""
    done: dict[str, int] = {}
    for s in plan.shifts:
        if s.kind == "night_walk" and s.association:
            done[s.association] = done.get(s.association, 0) + 1
    assocs = [a.model_copy(update={"walks_done": a.walks_done + done.get(a.name, 0)}) for a in resources.associations]
    season = resources.season.model_copy(
        update={"used": min(resources.season.walks, resources.season.used + plan.walks)}
    )
    return resources.model_copy(update={"associations": assocs, "season": season})


# ------------------------------------------------------------------- re-plan
def pins_from_plan(
    plan: dict[str, Any], cancel: list[tuple[str, dt.date]] | None = None, keep: Literal["all", "pinned"] = "all"
) -> tuple[list[PinnedWalk | PinnedGuard], list[tuple[str, dt.date]]]:
    """Turn an earlier plan.json's shifts into pinned shifts, leaving out cancelled walks.

    ``cancel``: ``(association, night)`` pairs; each must match a walk of the plan.
    ``keep``: ``all`` shifts of the earlier plan (after a cancellation), or only those it
    marks ``pinned`` (already agreed; after a new forecast the rest is planned afresh).
    Returns the pins and the cancellations applied.
    """
    cancel = list(cancel or [])
    pins: list[PinnedWalk | PinnedGuard] = []
    matched: list[tuple[str, dt.date]] = []
    shifts = plan.get("shifts")
    if not isinstance(shifts, list):
        raise InvalidInputError("the earlier plan has no 'shifts' list: give a plan.json written by 'tryggplan plan'")
    for k, s in enumerate(shifts):
        if not isinstance(s, dict):
            raise InvalidInputError(f"earlier plan, shifts[{k}]: not a shift object")
        try:
            if s["kind"] == "night_walk":
                night = dt.date.fromisoformat(s.get("night") or s["start"][:10])
                if (s["association"], night) in cancel:
                    matched.append((s["association"], night))
                    continue
                if keep == "pinned" and not s.get("pinned"):
                    continue
                pins.append(
                    PinnedWalk(association=s["association"], area=s["area"], night=night, template=s["template"])
                )
            elif s["kind"] == "guard":
                if keep == "pinned" and not s.get("pinned"):
                    continue
                start = dt.datetime.fromisoformat(s["start"])
                hours = int(
                    round(float(s.get("hours") or (dt.datetime.fromisoformat(s["end"]) - start).total_seconds() / 3600))
                )
                for pid in s["place_ids"]:
                    pins.append(PinnedGuard(place_id=pid, start=start, hours=hours))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"earlier plan, shifts[{k}]: cannot read it as a pinned shift ({exc}): "
                "give a plan.json written by 'tryggplan plan'"
            ) from exc
    missing = [c for c in cancel if c not in matched]
    if missing:
        walks = sorted({(s.get("association"), s.get("night")) for s in shifts if s.get("kind") == "night_walk"})
        raise InvalidInputError(
            f"cannot cancel {[f'{a}@{d}' for a, d in missing]}: the earlier plan has no such "
            f"walk; its walks are {[f'{a}@{d}' for a, d in walks]}"
        )
    return pins, matched


def replan(
    grid: pd.DataFrame,
    resources: Resources,
    week: str,
    previous: dict[str, Any],
    *,
    cancel: list[tuple[str, dt.date]] | None = None,
    keep: Literal["all", "pinned"] = "all",
    walks: int | None = None,
    solver: SolverName = "highs",
    time_limit: float | None = 60.0,
    gap: float = 1e-4,
    with_baselines: bool = True,
    with_marginal: bool = True,
) -> Plan:
    """Re-plan ``week`` after a cancellation or a new forecast.

    The earlier plan's shifts (``keep="all"``, or only its pinned ones with ``keep="pinned"``)
    are kept (pinned) except the cancelled walks; a cancelling
    association is marked unavailable that night, and the week keeps its number of walks
    (the earlier plan's ``walks_share`` unless ``walks`` is given), so the cancelled walk
    moves to another association, area or night.
    """
    pins, cancelled = pins_from_plan(previous, cancel, keep)
    unavailable: dict[str, list[dt.date]] = {}
    for a, d in cancelled:
        unavailable.setdefault(a, []).append(d)
    assocs = [
        a.model_copy(update={"unavailable_dates": [*a.unavailable_dates, *unavailable.get(a.name, [])]})
        for a in resources.associations
    ]
    spec = resources.model_copy(update={"associations": assocs, "pinned": [*resources.pinned, *pins]})
    n = walks if walks is not None else int(previous.get("walks_share", previous.get("walks", 0)) or 0)
    return plan_week(
        grid,
        spec,
        week,
        walks=n,
        solver=solver,
        time_limit=time_limit,
        gap=gap,
        with_baselines=with_baselines,
        with_marginal=with_marginal,
    )
