"""The service's bridge to the ``allocation`` library: validate a resources spec, make a weekly or
season plan from a stored risk grid, re-plan after a cancelled walk, export ICS and CSV.

Plans are stored as the JSON documents the library writes (``Plan.to_dict()``, the same as
``plan.json`` of ``tryggplan plan``); exports rebuild the typed plan from that document.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

import pandas as pd

from tryggplan.domain import InvalidInputError


def validate_resources(spec: dict[str, Any], name: str = "resources") -> dict[str, Any]:
    """The spec as ``tryggplan.allocation.parse_resources`` normalises it; InvalidInputError (422) naming the
    bad field otherwise."""
    from tryggplan.allocation import parse_resources

    return parse_resources(spec, source=name).to_dict()


def _resources(spec: dict[str, Any]) -> Any:
    from tryggplan.allocation import parse_resources

    return parse_resources(spec, source="stored resources")


def make_plan(
    grid: pd.DataFrame,
    spec: dict[str, Any],
    week: str,
    tz: str,
    kind: Literal["week", "season"] = "week",
    history: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The plan document for ISO ``week`` (``kind="week"``), or the season pacing from ``week`` on
    with the weekly plans of the weeks the grid covers (``kind="season"``)."""
    from tryggplan.allocation.season import season_plan
    from tryggplan.allocation.weekly import plan_week

    _check_week(week)
    resources = _resources(spec)
    if kind == "season":
        sp = season_plan(grid, resources, week, history=history)
        doc = sp.to_dict()
        weekly = list(sp.weekly.values())
        doc.update(
            {
                "kind": "season",
                "week": week,
                "status": "paced",
                "cost_sek": float(sum(p.cost_sek for p in weekly)),
                "objective": float(sum(p.objective for p in weekly)),
                "risk_covered_share": _covered_share(weekly),
                "shifts": [s.to_dict() for p in weekly for s in p.shifts],
            }
        )
        return doc
    return dict(plan_week(grid, resources, week, history=history).to_dict(), kind="week")


def _covered_share(plans: list[Any]) -> float | None:
    total = sum(p.risk_total for p in plans)
    if total <= 0:
        return None
    return float(sum(p.risk_total * p.risk_covered_share for p in plans) / total)


def _check_week(week: str) -> None:
    from tryggplan.timeutil import parse_iso_week

    parse_iso_week(week)


def replan(grid: pd.DataFrame, spec: dict[str, Any], plan: dict[str, Any], shift_index: int) -> dict[str, Any]:
    """A new weekly plan after the night walk ``plan["shifts"][shift_index]`` was cancelled: the other
    shifts stay, the association is unavailable that night, the walk moves elsewhere."""
    from tryggplan.allocation.season import replan as allocation_replan

    if plan.get("kind", "week") != "week":
        raise InvalidInputError("re-planning works on weekly plans: record the walk on the week's plan")
    shift = plan["shifts"][shift_index]
    night = dt.date.fromisoformat(str(shift.get("night") or shift["start"][:10]))
    new = allocation_replan(grid, _resources(spec), plan["week"], plan, cancel=[(shift["association"], night)])
    return dict(new.to_dict(), kind="week")


def typed_plan(doc: dict[str, Any]) -> Any:
    """Rebuild ``tryggplan.allocation.plan.Plan`` from its stored document (a season plan becomes one plan
    holding the shifts of all its weeks)."""
    from tryggplan.allocation.plan import Baseline, Plan, Shift, SolverInfo

    def build(cls: Any, data: dict[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    if doc.get("kind") == "season":
        weekly = [typed_plan(w) for w in doc.get("weekly", {}).values()]
        first = weekly[0] if weekly else None
        return Plan(
            week=f"{doc.get('first_week')}..{doc.get('last_week')}",
            tz=first.tz if first else "Europe/Stockholm",
            status="optimal",
            objective=float(doc.get("objective") or 0.0),
            risk_total=float(sum(p.risk_total for p in weekly)),
            risk_covered_share=float(doc.get("risk_covered_share") or 0.0),
            cost_sek=float(doc.get("cost_sek") or 0.0),
            walks=sum(p.walks for p in weekly),
            walks_share=sum(p.walks_share for p in weekly),
            guard_hours=sum(p.guard_hours for p in weekly),
            shifts=[s for p in weekly for s in p.shifts],
            solver=first.solver if first else SolverInfo("none", "none", 0.0, 0.0),
        )
    fields = dict(doc)
    fields["shifts"] = [build(Shift, s) for s in doc.get("shifts", [])]
    fields["solver"] = build(SolverInfo, doc.get("solver") or {"name": "?", "status": "?", "gap": 0.0, "seconds": 0.0})
    fields["baselines"] = {k: build(Baseline, v) for k, v in (doc.get("baselines") or {}).items()}
    return build(Plan, fields)


def plan_ics(doc: dict[str, Any]) -> bytes:
    """The plan as iCalendar (one event per shift), as ``tryggplan plan --ics`` writes it."""
    from tryggplan.allocation.export import plan_ics as export_ics

    return bytes(export_ics(typed_plan(doc)))


def plan_csv(doc: dict[str, Any]) -> bytes:
    """The plan as CSV for Swedish Excel, as ``tryggplan plan --csv`` writes it."""
    from tryggplan.allocation.export import plan_csv as export_csv

    return bytes(export_csv(typed_plan(doc)))
