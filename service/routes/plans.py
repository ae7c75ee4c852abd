"""Resources (coordinator/admin write, any role read) and plans (coordinator/admin make and record
walks; any role reads and downloads). ``{plan}`` is a plan id or ``current``."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tryggplan.domain import InvalidInputError
from tryggplan.service import crud, planning
from tryggplan.service.deps import EngineDep, SessionDep, require
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
from tryggplan.storage.incidents import read_incidents
from tryggplan.storage.models import PlanRecord, ResourceSpec, WalkRecord, utcnow
from tryggplan.storage.tokens import PLAN, READ, Principal

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


def _res_out(r: ResourceSpec) -> ResourceOut:
    return ResourceOut(id=r.id, name=r.name, spec=r.spec, created_at=r.created_at)


def _plan_out(p: PlanRecord) -> PlanOut:
    return PlanOut.model_validate(p, from_attributes=True)


@router.post("/resources", response_model=ResourceOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def create_resources(body: ResourceIn, principal: Coordinator, session: SessionDep) -> ResourceOut:
    """Store a resources spec (validated by ``tryggplan.allocation.parse_resources``; 422 names the bad field)."""
    spec = planning.validate_resources(body.spec, body.name)
    row = ResourceSpec(name=body.name, spec=spec, actor=principal.actor, created_at=utcnow())
    session.add(row)
    session.commit()
    return _res_out(row)


@router.get("/resources", response_model=list[ResourceOut], responses=_ERRORS)
def list_resources(
    principal: Reader, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[ResourceOut]:
    """Resources specs, newest first (the newest is used when a plan names none)."""
    return [_res_out(r) for r in session.scalars(select(ResourceSpec).order_by(ResourceSpec.id.desc()).limit(limit))]


@router.get("/resources/{resource_id}", response_model=ResourceOut, responses=_ERRORS)
def get_resources(resource_id: ResId, principal: Reader, session: SessionDep) -> ResourceOut:
    return _res_out(crud.get_resource(session, resource_id))


@router.put("/resources/{resource_id}", response_model=ResourceOut, responses=_ERRORS)
def replace_resources(resource_id: ResId, body: ResourceIn, principal: Coordinator, session: SessionDep) -> ResourceOut:
    """Replace a spec (plans made from it keep the copy of the plan they stored)."""
    row = crud.get_resource(session, resource_id)
    row.spec = planning.validate_resources(body.spec, body.name)
    row.name = body.name
    session.commit()
    return _res_out(row)


@router.post(
    "/plans",
    response_model=PlanOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 409: {"model": ErrorOut}},
)
def create_plan(body: PlanRequest, principal: Coordinator, session: SessionDep, engine: EngineDep) -> PlanOut:
    """Make the optimal plan for an ISO week from a stored forecast and resources spec.
    An infeasible request answers 422 naming the constraints that conflict."""
    resources = crud.get_resource(session, body.resource_id)
    run = crud.get_run(session, "latest" if body.forecast_run_id is None else str(body.forecast_run_id))
    grid = crud.grid_frame(session, run)
    trained_until = pd.Timestamp(run.trained_until) if run.trained_until else None
    history = read_incidents(engine, end=trained_until)
    plan = planning.make_plan(
        grid, resources.spec, body.week, run.tz, kind=body.kind, history=history if len(history) else None
    )
    row = PlanRecord(
        kind=body.kind,
        week=body.week,
        status=str(plan.get("status", "")),
        resource_id=resources.id,
        forecast_run_id=run.id,
        plan=plan,
        actor=principal.actor,
        created_at=utcnow(),
    )
    session.add(row)
    session.commit()
    return _plan_out(row)


@router.get("/plans", response_model=list[PlanSummary], responses=_ERRORS)
def list_plans(
    principal: Reader,
    session: SessionDep,
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[PlanSummary]:
    """Plans, newest first, with cost and share of risk covered."""
    stmt = select(PlanRecord).order_by(PlanRecord.id.desc()).limit(limit)
    if week is not None:
        stmt = stmt.where(PlanRecord.week == week)
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
        for p in session.scalars(stmt)
    ]


@router.get("/plans/{plan}", response_model=PlanOut, responses=_ERRORS)
def get_plan(plan: str, principal: Reader, session: SessionDep) -> PlanOut:
    """A plan (``current`` = the newest plan of this ISO week, else the newest plan)."""
    return _plan_out(crud.get_plan(session, plan))


@router.get(
    "/plans/{plan}/plan.ics",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/calendar": {}}}},
)
def plan_ics(plan: str, principal: Reader, session: SessionDep) -> Response:
    """The plan's shifts as an iCalendar file (one event per shift)."""
    record = crud.get_plan(session, plan)
    return Response(
        planning.plan_ics(record.plan),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="plan-{record.id}.ics"'},
    )


@router.get(
    "/plans/{plan}/plan.csv",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
)
def plan_csv(plan: str, principal: Reader, session: SessionDep) -> Response:
    """The plan's shifts as CSV (one row per shift)."""
    record = crud.get_plan(session, plan)
    return Response(
        planning.plan_csv(record.plan),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="plan-{record.id}.csv"'},
    )


@router.get("/plans/{plan}/walks", response_model=list[WalkOut], responses=_ERRORS)
def list_walks(plan: str, principal: Reader, session: SessionDep) -> list[WalkOut]:
    record = crud.get_plan(session, plan)
    return [WalkOut.model_validate(w, from_attributes=True) for w in crud.walks_of(session, record.id)]


@router.post("/plans/{plan}/walks", response_model=WalkOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def record_walk(plan: str, body: WalkIn, principal: Coordinator, session: SessionDep) -> WalkOut:
    """Record a night walk as completed or cancelled. A cancellation with ``replan`` makes a new plan
    for the rest of the week (shifts already past stay pinned; the cancelled one is excluded) and
    returns its id as ``new_plan_id``."""
    record = crud.get_plan(session, plan)
    shifts = record.plan.get("shifts", [])
    if body.shift_index >= len(shifts):
        raise InvalidInputError(f"plan {record.id} has {len(shifts)} shift(s): shift_index must be below that")
    shift = shifts[body.shift_index]
    if shift.get("kind") != "night_walk":
        raise InvalidInputError(
            f"shift {body.shift_index} is a {shift.get('kind')} shift: record walks only for night_walk shifts"
        )
    earlier = [w for w in crud.walks_of(session, record.id) if w.shift_index == body.shift_index]
    if earlier:
        raise InvalidInputError(
            f"shift {body.shift_index} of plan {record.id} is already recorded as {earlier[0].status}: "
            "record walks of the re-made plan instead"
        )
    walk = WalkRecord(
        plan_id=record.id,
        shift_index=body.shift_index,
        status=body.status,
        note=body.note,
        actor=principal.actor,
        recorded_at=utcnow(),
    )
    session.add(walk)
    new_id: int | None = None
    if body.status == "cancelled" and body.replan:
        resources = crud.get_resource(session, record.resource_id)
        run = crud.get_run(session, str(record.forecast_run_id))
        new_plan = planning.replan(crud.grid_frame(session, run), resources.spec, record.plan, body.shift_index)
        row = PlanRecord(
            kind=record.kind,
            week=record.week,
            status=str(new_plan.get("status", "")),
            resource_id=record.resource_id,
            forecast_run_id=record.forecast_run_id,
            parent_id=record.id,
            plan=new_plan,
            actor=principal.actor,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        new_id = row.id
    try:
        session.commit()
    except IntegrityError as exc:  # the unique index of migration 0002: someone was faster
        session.rollback()
        raise InvalidInputError(
            f"shift {body.shift_index} of plan {record.id} was recorded by someone else a moment ago: "
            "reload the plan's walks"
        ) from exc
    out = WalkOut.model_validate(walk, from_attributes=True)
    out.new_plan_id = new_id
    return out
