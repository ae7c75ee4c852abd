"""Plans: resources specs, weekly and season plans, re-plans after a cancelled walk, walk records,
ICS and CSV exports.

:func:`make_plan` is the one way a plan is made: ``tryggplan plan`` calls it with a grid and a spec
read from files, ``POST /api/v1/plans`` (:func:`plan_from_store`) with the stored forecast and spec.
Plans are stored as the documents the library writes (``Plan.to_dict()``, the same as ``plan.json``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from tryggplan.allocation.export import plan_csv as export_csv
from tryggplan.allocation.export import plan_ics as export_ics
from tryggplan.allocation.model import SolverName
from tryggplan.allocation.pacing import SeasonPlan
from tryggplan.allocation.plan import Baseline, Plan, Shift, SolverInfo
from tryggplan.allocation.season import replan, season_plan
from tryggplan.allocation.spec import Resources, parse_resources
from tryggplan.allocation.weekly import plan_week
from tryggplan.domain import InvalidInputError
from tryggplan.i18n import Lang
from tryggplan.storage import forecasts as runs
from tryggplan.storage import incidents as stored
from tryggplan.storage import places as stored_places
from tryggplan.storage import plans as stored_plans
from tryggplan.storage.records import PlanRecordInfo, ResourceRecord, WalkRecordInfo
from tryggplan.timeutil import iso_week_of, parse_iso_week

PlanKind = Literal["week", "season"]
SOLVERS: tuple[str, ...] = ("highs", "cbc")


def check_solver(name: str) -> SolverName:
    low = name.strip().lower()
    if low not in SOLVERS:
        raise InvalidInputError(f"solver {name!r} is not known: use 'highs' (default) or 'cbc'")
    return low  # type: ignore[return-value]


# --------------------------------------------------------------------------- resources


def validate_resources(spec: dict[str, Any], name: str = "resources") -> dict[str, Any]:
    """The spec as :func:`tryggplan.allocation.parse_resources` normalises it (422 naming the bad field)."""
    return parse_resources(spec, source=name).to_dict()


def store_resources(engine: Engine, name: str, spec: dict[str, Any], actor: str | None) -> ResourceRecord:
    return stored_plans.store_resources(engine, name, validate_resources(spec, name), actor)


def replace_resources(engine: Engine, resource_id: int, name: str, spec: dict[str, Any]) -> ResourceRecord:
    """Replace a spec (plans made from it keep the copy they stored)."""
    return stored_plans.replace_resources(engine, resource_id, name, validate_resources(spec, name))


def get_resources(engine: Engine, resource_id: int | None = None) -> ResourceRecord:
    return stored_plans.get_resources(engine, resource_id)


def list_resources(engine: Engine, limit: int = 50) -> list[ResourceRecord]:
    return stored_plans.list_resources(engine, limit)


# --------------------------------------------------------------------------- making plans


def make_plan(
    grid: pd.DataFrame,
    resources: Resources,
    week: str,
    *,
    kind: PlanKind = "week",
    walks: int | None = None,
    history: pd.DataFrame | None = None,
    solver: SolverName = "highs",
    time_limit: float = 60.0,
    marginal: bool = True,
) -> Plan | SeasonPlan:
    """The optimal plan of ISO ``week`` (``kind="week"``), or the season pacing from ``week`` on with the
    weekly plans of the weeks the grid covers (``kind="season"``)."""
    parse_iso_week(week)
    if time_limit <= 0:
        raise InvalidInputError(f"time limit must be > 0 seconds, got {time_limit}")
    if kind == "season":
        return pace_season(grid, resources, week, history=history, solver=solver, time_limit=time_limit)
    return plan_week(
        grid,
        resources,
        week,
        walks=walks,
        solver=solver,
        time_limit=time_limit,
        with_marginal=marginal,
        history=history,
    )


def pace_season(
    grid: pd.DataFrame,
    resources: Resources,
    first_week: str,
    *,
    history: pd.DataFrame | None = None,
    solver: SolverName = "highs",
    time_limit: float = 60.0,
    detail: bool = True,
) -> SeasonPlan:
    """The season's remaining walks spread over its remaining weeks from ``first_week`` on (with
    ``detail``, also the weekly plan of every week the grid covers)."""
    parse_iso_week(first_week)
    if time_limit <= 0:
        raise InvalidInputError(f"time limit must be > 0 seconds, got {time_limit}")
    return season_plan(
        grid, resources, first_week, history=history, solver=solver, time_limit=time_limit, detail=detail
    )


def replan_after(
    grid: pd.DataFrame,
    resources: Resources,
    previous: dict[str, Any],
    *,
    week: str | None = None,
    cancel: list[tuple[str, dt.date]] | None = None,
    keep: Literal["all", "pinned"] = "all",
    walks: int | None = None,
    solver: SolverName = "highs",
    time_limit: float = 60.0,
    marginal: bool = True,
) -> Plan:
    """The week planned again: the earlier plan's shifts kept (all, or only those marked pinned), the
    cancelled walks ``(association, night)`` moved elsewhere."""
    if not isinstance(previous, dict):
        raise InvalidInputError("the earlier plan is not a plan.json (expected an object)")
    if keep not in ("all", "pinned"):
        raise InvalidInputError(f"keep {keep!r}: use 'all' or 'pinned'")
    if previous.get("kind", "week") != "week":
        raise InvalidInputError("re-planning works on weekly plans: record the walk on the week's plan")
    target = week or str(previous.get("week") or "")
    parse_iso_week(target)
    return replan(
        grid,
        resources,
        target,
        previous,
        cancel=cancel or [],
        walks=walks,
        keep=keep,
        solver=solver,
        time_limit=time_limit,
        with_marginal=marginal,
    )


def first_week_of(grid: pd.DataFrame) -> str:
    """The first ISO week a grid covers from its first midnight on."""
    if grid.empty:
        raise InvalidInputError("the forecast has no rows: give the first week to pace")
    first = grid["slot_start"].min()
    return iso_week_of(first.date() if first.hour == 0 else first.date() + dt.timedelta(days=1))


def plan_document(result: Plan | SeasonPlan, kind: PlanKind, week: str) -> dict[str, Any]:
    """The stored form of a plan (``plan.json``), with ``kind``; a season plan carries the summed
    cost, objective and shifts of its weekly plans."""
    if isinstance(result, SeasonPlan):
        weekly = list(result.weekly.values())
        doc = result.to_dict()
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
    return dict(result.to_dict(), kind=kind)


def _covered_share(plans: list[Plan]) -> float | None:
    total = sum(p.risk_total for p in plans)
    if total <= 0:
        return None
    return float(sum(p.risk_total * p.risk_covered_share for p in plans) / total)


def plan_from_store(
    engine: Engine,
    week: str,
    *,
    kind: PlanKind = "week",
    resource_id: int | None = None,
    forecast_run_id: int | None = None,
    actor: str | None = None,
    time_limit: float = 60.0,
) -> PlanRecordInfo:
    """Make and store the plan of ``week`` from a stored spec and forecast (default: the newest of each);
    the incidents before the forecast's training end are the pacing history."""
    resources = stored_plans.get_resources(engine, resource_id)
    run = runs.get_run(engine, "latest" if forecast_run_id is None else forecast_run_id)
    grid = runs.read_grid(engine, run)
    trained_until = pd.Timestamp(run.trained_until) if run.trained_until else None
    history = stored.read_incidents(engine, end=trained_until)
    result = make_plan(
        grid,
        parse_resources(resources.spec, source="stored resources"),
        week,
        kind=kind,
        history=history if len(history) else None,
        time_limit=time_limit,
    )
    return stored_plans.store_plan(
        engine,
        stored_plans.NewPlan(
            kind=kind,
            week=week,
            plan=plan_document(result, kind, week),
            resource_id=resources.id,
            forecast_run_id=run.id,
            actor=actor,
        ),
    )


def get_plan(engine: Engine, ref: str) -> PlanRecordInfo:
    """A plan by id or ``current`` (the newest plan of this ISO week, else the newest plan)."""
    return stored_plans.get_plan(engine, ref)


def list_plans(engine: Engine, week: str | None = None, limit: int = 50) -> list[PlanRecordInfo]:
    return stored_plans.list_plans(engine, week, limit)


# --------------------------------------------------------------------------- walks


@dataclass(frozen=True)
class WalkOutcome:
    walk: WalkRecordInfo
    new_plan_id: int | None


def walks_of(engine: Engine, plan_ref: str) -> list[WalkRecordInfo]:
    return stored_plans.walks_of(engine, stored_plans.get_plan(engine, plan_ref).id)


def record_walk(
    engine: Engine,
    plan_ref: str,
    shift_index: int,
    status: Literal["completed", "cancelled"],
    *,
    note: str | None = None,
    replan_cancelled: bool = True,
    actor: str | None = None,
) -> WalkOutcome:
    """Record a night walk of a plan as completed or cancelled. A cancellation with ``replan_cancelled``
    stores a new plan for the week (the other shifts kept, the association unavailable that night)."""
    record = stored_plans.get_plan(engine, plan_ref)
    shifts = record.plan.get("shifts", [])
    if shift_index >= len(shifts):
        raise InvalidInputError(f"plan {record.id} has {len(shifts)} shift(s): shift_index must be below that")
    shift = shifts[shift_index]
    if shift.get("kind") != "night_walk":
        raise InvalidInputError(
            f"shift {shift_index} is a {shift.get('kind')} shift: record walks only for night_walk shifts"
        )
    new_plan = None
    if status == "cancelled" and replan_cancelled:
        if record.kind != "week":
            raise InvalidInputError("re-planning works on weekly plans: record the walk on the week's plan")
        resources = stored_plans.get_resources(engine, record.resource_id)
        run = runs.get_run(engine, record.forecast_run_id)
        night = dt.date.fromisoformat(str(shift.get("night") or shift["start"][:10]))
        remade = replan_after(
            runs.read_grid(engine, run),
            parse_resources(resources.spec, source="stored resources"),
            record.plan,
            cancel=[(shift["association"], night)],
        )
        new_plan = stored_plans.NewPlan(
            kind=record.kind,
            week=record.week,
            plan=plan_document(remade, "week", str(record.week)),
            resource_id=record.resource_id,
            forecast_run_id=record.forecast_run_id,
            parent_id=record.id,
            actor=actor,
        )
    walk, stored_new = stored_plans.record_walk(engine, record.id, shift_index, status, note, actor, new_plan)
    return WalkOutcome(walk, stored_new.id if stored_new is not None else None)


# --------------------------------------------------------------------------- exports


def typed_plan(doc: dict[str, Any]) -> Plan:
    """Rebuild :class:`tryggplan.allocation.plan.Plan` from its stored document (a season plan becomes
    one plan holding the shifts of all its weeks)."""

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
    return build(Plan, fields)  # type: ignore[no-any-return]


def place_names(engine: Engine | None, doc: dict[str, Any]) -> dict[str, str]:
    """The stored names of the places a plan document's shifts cover (``{}`` without a database)."""
    ids = sorted({p for s in doc.get("shifts", []) for p in s.get("place_ids", [])})
    if engine is None or not ids:
        return {}
    return {p.place_id: p.name for p in stored_places.list_places(engine, place_ids=ids) if p.name}


def plan_ics(doc: dict[str, Any], lang: Lang = "sv", engine: Engine | None = None) -> bytes:
    """The plan as iCalendar (one event per shift), as ``tryggplan plan --ics`` writes it; texts in
    ``lang`` with the stored places' names (with ``engine``)."""
    return bytes(export_ics(typed_plan(doc), lang, place_names(engine, doc)))


def plan_csv(doc: dict[str, Any], lang: Lang = "sv", engine: Engine | None = None) -> bytes:
    """The plan as CSV for Excel, as ``tryggplan plan --csv`` writes it (Swedish; ``lang="en"``
    English), with the stored places' names (with ``engine``)."""
    return bytes(export_csv(typed_plan(doc), lang, place_names(engine, doc)))
