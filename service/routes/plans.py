"""Resources (coordinator/admin write, any role read) and plans (coordinator/admin make and record
walks; any role reads and downloads). ``{plan}`` is a plan id or ``current``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from tryggplan.i18n import Lang
from tryggplan.service.deps import EngineDep, SettingsDep, require
from tryggplan.service.schemas import (
    ErrorOut,
    PlanOut,
    PlanRequest,
    PlanSummary,
    ResourceIn,
    ResourceOut,
    WalkIn,
    WalkOut,
)
from tryggplan.storage.records import PlanRecordInfo, ResourceRecord
from tryggplan.usecases import access, plans
from tryggplan.usecases.access import PLAN, READ, Principal

router = APIRouter(tags=["plans"])

Reader = Annotated[Principal, Depends(require(READ, "read plans"))]
Coordinator = Annotated[Principal, Depends(require(PLAN, "manage resources and plans"))]
ResId = Annotated[int, Path(ge=1, le=2**62)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def _res_out(r: ResourceRecord) -> ResourceOut:
    return ResourceOut(id=r.id, name=r.name, spec=r.spec, created_at=r.created_at)


def _plan_out(p: PlanRecordInfo) -> PlanOut:
    return PlanOut.model_validate(p, from_attributes=True)


@router.post("/resources", response_model=ResourceOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def create_resources(body: ResourceIn, principal: Coordinator, engine: EngineDep) -> ResourceOut:
    """Store a resources spec (validated by ``tryggplan.allocation.parse_resources``; 422 names the bad field)."""
    return _res_out(plans.store_resources(engine, body.name, body.spec, principal.actor))


@router.get("/resources", response_model=list[ResourceOut], responses=_ERRORS)
def list_resources(
    principal: Reader, engine: EngineDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[ResourceOut]:
    """Resources specs, newest first (the newest is used when a plan names none)."""
    return [_res_out(r) for r in plans.list_resources(engine, limit)]


@router.get("/resources/{resource_id}", response_model=ResourceOut, responses=_ERRORS)
def get_resources(resource_id: ResId, principal: Reader, engine: EngineDep) -> ResourceOut:
    return _res_out(plans.get_resources(engine, resource_id))


@router.put("/resources/{resource_id}", response_model=ResourceOut, responses=_ERRORS)
def replace_resources(resource_id: ResId, body: ResourceIn, principal: Coordinator, engine: EngineDep) -> ResourceOut:
    """Replace a spec (plans made from it keep the copy of the plan they stored)."""
    return _res_out(plans.replace_resources(engine, resource_id, body.name, body.spec))


@router.post(
    "/plans",
    response_model=PlanOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 409: {"model": ErrorOut}},
)
def create_plan(body: PlanRequest, principal: Coordinator, engine: EngineDep, settings: SettingsDep) -> PlanOut:
    """Make the optimal plan for an ISO week from a stored forecast and resources spec.
    An infeasible request answers 422 naming the constraints that conflict."""
    access.check_municipality(principal, body.municipality)
    record = plans.plan_from_store(
        engine,
        body.week,
        kind=body.kind,
        resource_id=body.resource_id,
        forecast_run_id=body.forecast_run_id,
        actor=principal.actor,
        time_limit=settings.solver_time_limit,
    )
    return _plan_out(record)


@router.get("/plans", response_model=list[PlanSummary], responses=_ERRORS)
def list_plans(
    principal: Reader,
    engine: EngineDep,
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[PlanSummary]:
    """Plans, newest first, with cost and share of risk covered."""
    return [
        PlanSummary(
            id=p.id,
            kind=p.kind,
            week=p.week,
            status=p.status,
            parent_id=p.parent_id,
            created_at=p.created_at,
            cost_sek=p.plan.get("cost_sek"),
            risk_covered_share=p.plan.get("risk_covered_share"),
        )
        for p in plans.list_plans(engine, week, limit)
    ]


@router.get("/plans/{plan}", response_model=PlanOut, responses=_ERRORS)
def get_plan(plan: str, principal: Reader, engine: EngineDep) -> PlanOut:
    """A plan (``current`` = the newest plan of this ISO week, else the newest plan)."""
    return _plan_out(plans.get_plan(engine, plan))


@router.get(
    "/plans/{plan}/plan.ics",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/calendar": {}}}},
)
def plan_ics(plan: str, principal: Reader, engine: EngineDep, lang: Lang = "sv") -> Response:
    """The plan's shifts as an iCalendar file (one event per shift), in Swedish (``lang=en``: English)
    with the places' names."""
    record = plans.get_plan(engine, plan)
    return Response(
        plans.plan_ics(record.plan, lang, engine),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="plan-{record.id}.ics"'},
    )


@router.get(
    "/plans/{plan}/plan.csv",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
)
def plan_csv(plan: str, principal: Reader, engine: EngineDep, lang: Lang = "sv") -> Response:
    """The plan's shifts as CSV (one row per shift) for Excel: Swedish (``;``, decimal comma), ``lang=en``:
    English (``,``, decimal point); places by name."""
    record = plans.get_plan(engine, plan)
    return Response(
        plans.plan_csv(record.plan, lang, engine),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="plan-{record.id}.csv"'},
    )


@router.get("/plans/{plan}/walks", response_model=list[WalkOut], responses=_ERRORS)
def list_walks(plan: str, principal: Reader, engine: EngineDep) -> list[WalkOut]:
    return [WalkOut.model_validate(w, from_attributes=True) for w in plans.walks_of(engine, plan)]


@router.post("/plans/{plan}/walks", response_model=WalkOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def record_walk(plan: str, body: WalkIn, principal: Coordinator, engine: EngineDep) -> WalkOut:
    """Record a night walk as completed or cancelled. A cancellation with ``replan`` makes a new plan
    for the rest of the week (shifts already past stay pinned; the cancelled one is excluded) and
    returns its id as ``new_plan_id``."""
    outcome = plans.record_walk(
        engine,
        plan,
        body.shift_index,
        body.status,
        note=body.note,
        replan_cancelled=body.replan,
        actor=principal.actor,
    )
    out = WalkOut.model_validate(outcome.walk, from_attributes=True)
    out.new_plan_id = outcome.new_plan_id
    return out
