"""Plans: resources specs, weekly and season plans, re-plans after a cancelled walk, walk records
made from a plan's shifts, ICS and CSV exports.

:func:`make_plan` is the one way a plan is made: ``tryggplan plan`` calls it with a grid and a spec
read from files, ``POST /api/v1/plans`` and ``tryggplan plan --db`` (:func:`plan_from_store`) with the
stored forecast and spec. Every plan is made at a moment ``now`` (nothing in it starts earlier; stored
as its ``created_at``) and, with a database, takes the season ledger
(:func:`tryggplan.usecases.season.planning_inputs`): the walks left, the walks done per association,
the accepted walks (pinned), the nights associations declined or cancelled, and what the week has
already spent. Plans are stored as the documents the library writes (``Plan.to_dict()``, the same as
``plan.json``), as drafts until published (:func:`tryggplan.usecases.season.publish`).
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
from tryggplan.allocation.warning_text import warnings_text
from tryggplan.allocation.weekly import plan_week
from tryggplan.domain import InvalidInputError, PermissionDeniedError
from tryggplan.i18n import Lang
from tryggplan.storage import forecasts as runs
from tryggplan.storage import incidents as stored
from tryggplan.storage import places as stored_places
from tryggplan.storage import plans as stored_plans
from tryggplan.storage.records import PlanRecordInfo, ResourceRecord, WalkRecordInfo
from tryggplan.storage.scope import AREA_WIDE, Scope
from tryggplan.text import normalize_free_text, normalize_text
from tryggplan.timeutil import iso_week_of, parse_iso_week
from tryggplan.usecases import season as ledger
from tryggplan.usecases.season import PlanningInputs, Season, check_now, with_unavailable

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


def resources_name(name: str) -> str:
    """The name of a stored spec as identifying text (:func:`tryggplan.text.normalize_text`)."""
    cleaned = normalize_text(name, "name")
    if not cleaned:
        raise InvalidInputError("name is empty: name the resources spec, e.g. 'Arboga 2026'")
    return cleaned


def store_resources(
    engine: Engine, name: str, spec: dict[str, Any], actor: str | None, municipality: str | None = None
) -> ResourceRecord:
    """Store a spec for ``municipality`` (``None``: a single-town deployment); its plans and season
    ledger belong to that municipality, and it names no other municipality's places (403)."""
    name = resources_name(name)
    checked = validate_resources(spec, name)
    _check_own_places(engine, checked, municipality)
    return stored_plans.store_resources(engine, name, checked, actor, municipality)


def replace_resources(
    engine: Engine, resource_id: int, name: str, spec: dict[str, Any], scope: Scope = AREA_WIDE
) -> ResourceRecord:
    """Replace a spec of ``scope`` (plans made from it keep the copy they stored); it stays in its
    municipality and names no other municipality's places (403)."""
    name = resources_name(name)
    checked = validate_resources(spec, name)
    _check_own_places(engine, checked, get_resources(engine, resource_id, scope).municipality)
    return stored_plans.replace_resources(engine, resource_id, name, checked)


def _check_own_places(engine: Engine, spec: dict[str, Any], municipality: str | None) -> None:
    """Refuse (403) a spec of ``municipality`` that names a stored place of another municipality (its
    areas, guard places, must-cover windows or pinned guard shifts): a town's plan never sends its walks
    or guards to another town's places. Places not stored yet are left to the plan, which refuses places
    its forecast does not hold."""
    if municipality is None:
        return
    ids = sorted(parse_resources(spec, source="resources").place_ids())
    others = sorted(p for p, m in stored_places.place_municipalities(engine, ids).items() if m != municipality)
    if others:
        shown = ", ".join(repr(p[:60]) for p in others[:5]) + (" and more" if len(others) > 5 else "")
        raise PermissionDeniedError(
            f"the resources spec of {municipality[:80]!r} names place(s) {shown} that are not its own: a spec names "
            "only its municipality's places"
        )


def get_resources(engine: Engine, resource_id: int | None = None, scope: Scope = AREA_WIDE) -> ResourceRecord:
    """A spec by id (403 for another municipality's), or the newest one."""
    found = stored_plans.get_resources(engine, resource_id)
    scope.check_row(found.municipality, f"resources spec {found.id}")
    return found


def list_resources(engine: Engine, limit: int = 50, scope: Scope = AREA_WIDE) -> list[ResourceRecord]:
    """Specs of ``scope``'s municipalities, newest first."""
    return stored_plans.list_resources(engine, limit, scope.names)


# --------------------------------------------------------------------------- making plans


def make_plan(
    grid: pd.DataFrame,
    resources: Resources,
    week: str,
    *,
    now: dt.datetime | None,
    kind: PlanKind = "week",
    walks: int | None = None,
    history: pd.DataFrame | None = None,
    solver: SolverName = "highs",
    time_limit: float = 60.0,
    marginal: bool = True,
    ledger_inputs: PlanningInputs | None = None,
) -> Plan | SeasonPlan:
    """The optimal plan of ISO ``week`` (``kind="week"``), or the season from ``week`` on with every
    remaining walk placed (``kind="season"``), made at ``now`` (``None``: as if the week had not begun,
    for backtests). ``ledger_inputs``: the season ledger's figures (without them the deprecated
    ``season.used`` and ``walks_done`` of the resources are read, and the warnings say so)."""
    parse_iso_week(week)
    if now is not None:
        check_now(now)
    if time_limit <= 0:
        raise InvalidInputError(f"time limit must be > 0 seconds, got {time_limit}")
    if kind == "season":
        return pace_season(
            grid, resources, week, now=now, history=history, solver=solver, time_limit=time_limit,
            ledger_inputs=ledger_inputs,
        )  # fmt: skip
    spec = resources if ledger_inputs is None else with_unavailable(resources, ledger_inputs.unavailable)
    return plan_week(
        grid,
        spec,
        week,
        now=now,
        walks=walks,
        walks_left=ledger_inputs.walks_left if ledger_inputs is not None else None,
        done=ledger_inputs.done if ledger_inputs is not None else None,
        accepted=ledger_inputs.accepted if ledger_inputs is not None else (),
        spent_sek=ledger_inputs.spent_sek if ledger_inputs is not None else 0.0,
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
    now: dt.datetime | None,
    history: pd.DataFrame | None = None,
    solver: SolverName = "highs",
    time_limit: float = 60.0,
    detail: bool = True,
    ledger_inputs: PlanningInputs | None = None,
) -> SeasonPlan:
    """The season's remaining walks spread over its remaining weeks from ``first_week`` on; with
    ``detail`` every one placed on a week, night, association and area (the weekly MILP where the grid
    covers the week, the night profile beyond), the accepted walks kept where they are."""
    parse_iso_week(first_week)
    if time_limit <= 0:
        raise InvalidInputError(f"time limit must be > 0 seconds, got {time_limit}")
    spec = resources if ledger_inputs is None else with_unavailable(resources, ledger_inputs.unavailable)
    return season_plan(
        grid,
        spec,
        first_week,
        now=now,
        walks_left=ledger_inputs.walks_left if ledger_inputs is not None else None,
        done=ledger_inputs.done if ledger_inputs is not None else None,
        accepted=ledger_inputs.accepted if ledger_inputs is not None else (),
        history=history,
        solver=solver,
        time_limit=time_limit,
        detail=detail,
    )


def replan_after(
    grid: pd.DataFrame,
    resources: Resources,
    previous: dict[str, Any],
    *,
    now: dt.datetime | None,
    week: str | None = None,
    cancel: list[tuple[str, dt.date]] | None = None,
    keep: Literal["all", "pinned"] = "all",
    walks: int | None = None,
    done: dict[str, int] | None = None,
    solver: SolverName = "highs",
    time_limit: float = 60.0,
    marginal: bool = True,
) -> Plan:
    """The week planned again at ``now``: the earlier plan's shifts still ahead kept (all, or only those
    marked pinned), the cancelled walks ``(association, night)`` moved elsewhere."""
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
        now=now,
        cancel=cancel or [],
        walks=walks,
        keep=keep,
        done=done,
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


def check_plan_request(week: str, kind: str) -> None:
    """What a plan request can be refused for before it is queued: the week and the kind (422)."""
    parse_iso_week(week)
    if kind not in ("week", "season"):
        raise InvalidInputError(f"kind {kind!r}: use 'week' or 'season'")


def season_for_plan(engine: Engine, municipality: str | None, resource_id: int | None) -> Season:
    """The season (spec and ledger) a plan is made for: the spec ``resource_id`` (which must belong to
    ``municipality`` when one is named), else the newest spec of ``municipality``
    (:func:`tryggplan.usecases.season.season_of`)."""
    if resource_id is None:
        return ledger.season_of(engine, municipality)
    found = stored_plans.get_resources(engine, resource_id)
    if municipality is not None and found.municipality != municipality:
        raise InvalidInputError(
            f"resources spec {resource_id} is for {found.municipality or 'no municipality'}, "
            f"not {municipality[:80]!r}: name a spec of that municipality or leave out resource_id"
        )
    return ledger.season_from(found)


@dataclass(frozen=True)
class PlanInputs:
    """Everything one municipality's plan is made from (picklable: an area run solves these in other
    processes)."""

    week: str
    kind: PlanKind
    now: dt.datetime
    grid: pd.DataFrame
    spec: Resources
    history: pd.DataFrame | None
    ledger_inputs: PlanningInputs
    walks: int | None
    municipality: str | None
    resource_id: int
    forecast_run_id: int


def _days_needed(week: str, now: dt.datetime, tz: str) -> tuple[dt.date, dt.date]:
    """The local days of ``week`` a plan made at ``now`` places walks on: from today (or the Monday)
    to the Sunday (a season plan's first week: later weeks may be paced from the night profile)."""
    monday = parse_iso_week(week)
    today = pd.Timestamp(now).tz_convert(tz).date()
    sunday = monday + dt.timedelta(days=6)
    return min(max(monday, today), sunday), sunday


def gather_plan_inputs(
    engine: Engine,
    week: str,
    *,
    now: dt.datetime,
    kind: PlanKind = "week",
    resource_id: int | None = None,
    forecast_run_id: int | None = None,
    municipality: str | None = None,
    walks: int | None = None,
) -> PlanInputs:
    """What the plan of ``week`` at ``now`` is made from: the spec (``resource_id``, else the newest of
    the municipality's), the forecast (``forecast_run_id``, else the newest covering the municipality,
    preferring one whose horizon holds the days left of the week)
    restricted to its places, the incidents before the forecast's training end (pacing history) and
    the season ledger's figures."""
    check_now(now)
    parse_iso_week(week)
    season = season_for_plan(engine, municipality, resource_id)
    if forecast_run_id is None:
        run = runs.latest_run_for(engine, season.municipality, _days_needed(week, now, season.tz))
    else:
        run = runs.get_run(engine, forecast_run_id)
        if run.municipality is not None and run.municipality != season.municipality:
            raise InvalidInputError(
                f"forecast {run.id} is for {run.municipality[:80]!r}, not for "
                f"{season.municipality or 'this single-town season'}: name a forecast of that municipality"
            )
    towns = [season.municipality] if season.municipality is not None else None
    trained_until = pd.Timestamp(run.trained_until) if run.trained_until else None
    history = stored.read_incidents(engine, end=trained_until, municipality=towns)
    return PlanInputs(
        week=week,
        kind=kind,
        now=now,
        grid=runs.read_grid(engine, run, municipality=towns),
        spec=season.spec,
        history=history if len(history) else None,
        ledger_inputs=ledger.planning_inputs(engine, season, week, now, weekly=kind == "week"),
        walks=walks,
        municipality=season.municipality,
        resource_id=season.resource_id,
        forecast_run_id=run.id,
    )


def solve_plan(
    inputs: PlanInputs, *, solver: SolverName = "highs", time_limit: float = 60.0, marginal: bool = True
) -> dict[str, Any]:
    """The plan document of ``inputs`` (no database: what an area run sends to its workers)."""
    result = make_plan(
        inputs.grid,
        inputs.spec,
        inputs.week,
        now=inputs.now,
        kind=inputs.kind,
        walks=inputs.walks,
        history=inputs.history,
        solver=solver,
        time_limit=time_limit,
        marginal=marginal,
        ledger_inputs=inputs.ledger_inputs,
    )
    return plan_document(result, inputs.kind, inputs.week)


def store_plan_of(engine: Engine, inputs: PlanInputs, document: dict[str, Any], actor: str | None) -> PlanRecordInfo:
    """Store a plan made from ``inputs`` as a draft, made at ``inputs.now``."""
    return stored_plans.store_plan(
        engine,
        stored_plans.NewPlan(
            kind=inputs.kind,
            week=inputs.week,
            plan=document,
            resource_id=inputs.resource_id,
            forecast_run_id=inputs.forecast_run_id,
            actor=actor,
            municipality=inputs.municipality,
            created_at=inputs.now,
        ),
    )


def plan_from_store(
    engine: Engine,
    week: str,
    *,
    now: dt.datetime,
    kind: PlanKind = "week",
    resource_id: int | None = None,
    forecast_run_id: int | None = None,
    municipality: str | None = None,
    walks: int | None = None,
    actor: str | None = None,
    time_limit: float = 60.0,
    solver: SolverName = "highs",
    marginal: bool = True,
) -> PlanRecordInfo:
    """Make and store (as a draft) the plan of ``week`` at ``now`` from a stored spec and forecast
    (default: the newest of the municipality's, or area-wide, ones that covers the week) and the season
    ledger; the
    incidents before the forecast's training end are the pacing history. Its ``created_at`` is ``now``."""
    inputs = gather_plan_inputs(
        engine,
        week,
        now=now,
        kind=kind,
        resource_id=resource_id,
        forecast_run_id=forecast_run_id,
        municipality=municipality,
        walks=walks,
    )
    return store_plan_of(
        engine, inputs, solve_plan(inputs, solver=solver, time_limit=time_limit, marginal=marginal), actor
    )


def get_plan(engine: Engine, ref: str, scope: Scope = AREA_WIDE) -> PlanRecordInfo:
    """A plan by id (403 for a plan outside ``scope``) or ``current``: the plan in force within ``scope``
    (the newest published plan of this ISO week, else its newest plan, else the newest plan, among the
    plans of ``scope``'s municipalities: a caller of one town never gets another town's)."""
    found = stored_plans.get_plan(engine, ref, municipalities=scope.names)
    scope.check_row(found.municipality, f"plan {found.id}")
    return found


def list_plans(
    engine: Engine, week: str | None = None, limit: int = 50, scope: Scope = AREA_WIDE
) -> list[PlanRecordInfo]:
    """Plans of ``scope``'s municipalities, newest first."""
    return stored_plans.list_plans(engine, week, limit, scope.names)


# --------------------------------------------------------------------------- walks


@dataclass(frozen=True)
class WalkOutcome:
    walk: WalkRecordInfo
    new_plan_id: int | None


def walks_of(engine: Engine, plan_ref: str) -> list[WalkRecordInfo]:
    """The ledger's records made from this plan's shifts."""
    return ledger.records_of_plan(engine, stored_plans.get_plan(engine, plan_ref).id)


def check_walk(
    engine: Engine, plan_ref: str, shift_index: int, note: str | None = None
) -> tuple[PlanRecordInfo, dict[str, Any], str | None]:
    """The plan, the shift and the note (free text, :func:`tryggplan.text.normalize_free_text`) of a walk
    to record; 404 for an unknown plan, 422 for a shift that is not a night walk of it."""
    cleaned = (normalize_free_text(note, "note") or None) if note is not None else None
    record = stored_plans.get_plan(engine, plan_ref)
    shifts = record.plan.get("shifts", [])
    if shift_index >= len(shifts):
        raise InvalidInputError(f"plan {record.id} has {len(shifts)} shift(s): shift_index must be below that")
    shift = shifts[shift_index]
    if shift.get("kind") != "night_walk":
        raise InvalidInputError(
            f"shift {shift_index} is a {shift.get('kind')} shift: record walks only for night_walk shifts"
        )
    return record, shift, cleaned


def get_walk(engine: Engine, walk_id: int) -> WalkRecordInfo:
    return stored_plans.get_walk(engine, walk_id)


def record_walk(
    engine: Engine,
    plan_ref: str,
    shift_index: int,
    status: str,
    *,
    now: dt.datetime,
    note: str | None = None,
    replan_cancelled: bool = True,
    actor: str,
    time_limit: float = 60.0,
) -> WalkOutcome:
    """Record a night walk of a plan (``completed``, ``no_show`` or ``cancelled``) in the season ledger,
    as ``POST /api/v1/season/walks`` does with ``plan_id`` and ``shift_index``. A cancellation with
    ``replan_cancelled`` also stores a re-made plan for the rest of the week (the other shifts still
    ahead kept, the association unavailable that night), published when the plan was."""
    check_now(now)
    record, shift, note = check_walk(engine, plan_ref, shift_index, note)
    association = str(shift["association"])
    night = dt.date.fromisoformat(str(shift.get("night") or shift["start"][:10]))
    season = ledger.season_of(engine, record.municipality, infer=False)
    fields: dict[str, Any] = {
        "association": association,
        "night": night,
        "status": status,
        "actor": actor,
        "now": now,
        "plan_id": record.id,
        "shift_index": shift_index,
        "note": note,
    }
    remade = None
    if status == "cancelled" and replan_cancelled:
        if record.kind != "week":
            raise InvalidInputError("re-planning works on weekly plans: record the walk on the week's plan")
        ledger.check_walk(engine, season, **fields)  # refused before the solver runs
        inputs = ledger.planning_inputs(engine, season, str(record.week), now, weekly=False)
        spec = parse_resources(stored_plans.get_resources(engine, record.resource_id).spec, source="stored resources")
        towns = [record.municipality] if record.municipality is not None else None
        new = replan_after(
            runs.read_grid(engine, runs.get_run(engine, record.forecast_run_id), municipality=towns),
            with_unavailable(spec, inputs.unavailable),
            record.plan,
            now=now,
            cancel=[(association, night)],
            done=inputs.done,
            time_limit=time_limit,
        )
        remade = stored_plans.NewPlan(
            kind=record.kind,
            week=record.week,
            plan=plan_document(new, "week", str(record.week)),
            resource_id=record.resource_id,
            forecast_run_id=record.forecast_run_id,
            parent_id=record.id,
            actor=actor,
            municipality=record.municipality,
            created_at=now,
        )
    outcome = ledger.record_walk(engine, season, remade=remade, **fields)
    return WalkOutcome(outcome.record, outcome.new_plan_id)


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


def plan_warnings(doc: dict[str, Any], lang: Lang = "sv") -> list[str]:
    """A stored plan's warnings in ``lang`` (stored in the planner's English)."""
    return warnings_text([str(w) for w in doc.get("warnings") or []], lang)


def plan_csv(doc: dict[str, Any], lang: Lang = "sv", engine: Engine | None = None) -> bytes:
    """The plan as CSV for Excel, as ``tryggplan plan --csv`` writes it (Swedish; ``lang="en"``
    English), with the stored places' names (with ``engine``)."""
    return bytes(export_csv(typed_plan(doc), lang, place_names(engine, doc)))
