"""Resources (coordinator/admin write, any role read) and plans (coordinator/admin make, publish and
record walks; any role reads and downloads). ``{plan}`` is a plan id or ``current``. Resources and
plans belong to one municipality: a scoped token sees only its own (403 naming another)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from tryggplan.i18n import Lang
from tryggplan.service.deps import EngineDep, NowDep, SettingsDep, TextLangDep, require
from tryggplan.service.routes.jobs import outcome_or_accepted, queue_limits
from tryggplan.service.routes.season import offer_out, walk_out
from tryggplan.service.schemas import (
    AreaPlanOut,
    AreaPlanRequest,
    BusyOut,
    ErrorOut,
    JobOut,
    PlanOut,
    PlanRequest,
    PlanSummary,
    PublishOut,
    ResourceIn,
    ResourceOut,
    TownPlanOut,
    WalkIn,
    WalkOut,
)
from tryggplan.storage.records import PlanRecordInfo, ResourceRecord, WalkRecordInfo
from tryggplan.usecases import access, forecasts, jobs, plans, season
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
    return ResourceOut(id=r.id, name=r.name, spec=r.spec, created_at=r.created_at, municipality=r.municipality)


def plan_out(p: PlanRecordInfo, lang: Lang = "en") -> PlanOut:
    """A stored plan as the API answers it; ``warnings`` in ``lang`` (the stored ``plan`` keeps the
    planner's English)."""
    return PlanOut(
        id=p.id,
        kind=p.kind,
        week=p.week,
        status=p.status,
        state=p.state,  # type: ignore[arg-type]
        municipality=p.municipality,
        resource_id=p.resource_id,
        forecast_run_id=p.forecast_run_id,
        parent_id=p.parent_id,
        created_at=p.created_at,
        published_at=p.published_at,
        warnings=plans.plan_warnings(p.plan, lang),
        plan=p.plan,
    )


def _plan(engine: Any, ref: str, principal: Principal, municipality: str | None = None) -> PlanRecordInfo:
    """A plan the caller may see (``current``: the one in force among its municipalities' plans, or the
    named municipality's)."""
    return plans.get_plan(engine, ref, principal.scope.narrowed(municipality))


def _resources(engine: Any, resource_id: int, principal: Principal) -> ResourceRecord:
    return plans.get_resources(engine, resource_id, principal.scope)


Town = Annotated[
    str | None,
    Query(max_length=400, description="for ``current``: the plan in force in this municipality (default: yours)"),
]


@router.post("/resources", response_model=ResourceOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def create_resources(body: ResourceIn, principal: Coordinator, engine: EngineDep) -> ResourceOut:
    """Store a resources spec (validated by ``tryggplan.allocation.parse_resources``; 422 names the bad field)
    for a municipality (default: the token's own; none for a single-town deployment)."""
    town = access.own_municipality(principal, body.municipality)
    return _res_out(plans.store_resources(engine, body.name, body.spec, principal.actor, town))


@router.get("/resources", response_model=list[ResourceOut], responses=_ERRORS)
def list_resources(
    principal: Reader, engine: EngineDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[ResourceOut]:
    """Resources specs, newest first (a scoped token sees its municipalities' specs only)."""
    return [_res_out(r) for r in plans.list_resources(engine, limit, principal.scope)]


@router.get("/resources/{resource_id}", response_model=ResourceOut, responses=_ERRORS)
def get_resources(resource_id: ResId, principal: Reader, engine: EngineDep) -> ResourceOut:
    return _res_out(_resources(engine, resource_id, principal))


@router.put("/resources/{resource_id}", response_model=ResourceOut, responses=_ERRORS)
def replace_resources(resource_id: ResId, body: ResourceIn, principal: Coordinator, engine: EngineDep) -> ResourceOut:
    """Replace a spec (plans made from it keep the copy of the plan they stored); it stays in its municipality."""
    return _res_out(plans.replace_resources(engine, resource_id, body.name, body.spec, principal.scope))


_SOLVE: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "the solve takes longer than job_wait_seconds: poll GET /api/v1/jobs/{id}"},
    409: {"model": ErrorOut},
    429: {"model": BusyOut},
    503: {"model": ErrorOut},
}


@router.post(
    "/plans",
    response_model=PlanOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, **_SOLVE},
)
async def create_plan(
    body: PlanRequest,
    request: Request,
    principal: Coordinator,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    lang: TextLangDep,
) -> PlanOut | JSONResponse:
    """Make the optimal plan for an ISO week (or, with ``kind`` season, place every remaining walk of the
    season) from a stored forecast and resources spec and the season ledger, at this moment: nothing that
    starts earlier is placed, and only what is left of the week's budget is spent (``warnings`` say so).
    The plan is a draft until published. An infeasible request answers 422 naming the constraints that
    conflict; without a season block and without ``walks`` the refusal names both fixes.

    The solve runs in the worker pool; the answer waits for it (201 with the plan) up to
    ``job_wait_seconds``, else 202 with the job to poll. 429 when the caller's or the whole queue is full."""
    town = access.own_municipality(principal, body.municipality)
    await run_in_threadpool(_check_plan_refs, engine, body, principal)
    job = await run_in_threadpool(
        partial(
            jobs.submit_plan,
            engine,
            body.week,
            now=now,
            kind=body.kind,
            resource_id=body.resource_id,
            forecast_run_id=body.forecast_run_id,
            municipality=town,
            walks=body.walks,
            actor=principal.actor,
            limits=queue_limits(settings),
            workers=settings.job_workers,
            time_limit=settings.solver_time_limit,
        )
    )
    result = await outcome_or_accepted(request, engine, job, settings.job_wait_seconds)
    if isinstance(result, JSONResponse):
        return result
    return plan_out(await run_in_threadpool(plans.get_plan, engine, str(result["plan_id"])), lang)


def _check_plan_refs(engine: Any, body: PlanRequest, principal: Principal) -> None:
    """403 for a resources spec or forecast of another municipality, before anything is queued."""
    if body.resource_id is not None:
        _resources(engine, body.resource_id, principal)
    if body.forecast_run_id is not None:
        forecasts.readable_run(forecasts.get_run(engine, str(body.forecast_run_id)), principal.scope)


@router.post(
    "/plans/area",
    response_model=AreaPlanOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, **_SOLVE},
)
async def create_area_plans(
    body: AreaPlanRequest,
    request: Request,
    principal: Coordinator,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
) -> AreaPlanOut | JSONResponse:
    """Every municipality's plan for the week in one run (a scoped token: its own municipalities), each
    from its own resources, forecast and season ledger and within its own budget; in parallel on the
    Dask cluster of ``TRYGGPLAN_DASK_SCHEDULER`` when one is set. A town that cannot be planned gets the
    reason in ``error``; the others are stored as drafts all the same. The run is a job of the worker
    pool, answered as ``POST /plans`` is (201 when done within ``job_wait_seconds``, else 202)."""
    job = await run_in_threadpool(
        partial(
            jobs.submit_area,
            engine,
            body.week,
            now=now,
            kind=body.kind,
            municipalities=access.municipality_filter(principal, None),
            police_area=body.police_area,
            scheduler=settings.dask_scheduler,
            actor=principal.actor,
            limits=queue_limits(settings),
            workers=settings.job_workers,
            time_limit=settings.solver_time_limit,
        )
    )
    result = await outcome_or_accepted(request, engine, job, settings.job_wait_seconds)
    if isinstance(result, JSONResponse):
        return result
    return await run_in_threadpool(_area_out, engine, body.week, result)


def _area_out(engine: Any, week: str, result: dict[str, Any]) -> AreaPlanOut:
    towns = []
    for town in result["towns"]:
        plan = plans.get_plan(engine, str(town["plan_id"])) if town.get("plan_id") is not None else None
        towns.append(
            TownPlanOut(municipality=town["municipality"], plan=_summary(plan) if plan else None, error=town["error"])
        )
    return AreaPlanOut(week=week, engine=result["engine"], towns=towns)


@router.get("/plans", response_model=list[PlanSummary], responses=_ERRORS)
def list_plans(
    principal: Reader,
    engine: EngineDep,
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[PlanSummary]:
    """Plans, newest first, with cost and share of risk covered (a scoped token sees its municipalities' plans)."""
    return [_summary(p) for p in plans.list_plans(engine, week, limit, principal.scope)]


def _summary(p: PlanRecordInfo) -> PlanSummary:
    return PlanSummary(
        id=p.id,
        kind=p.kind,
        week=p.week,
        status=p.status,
        state=p.state,  # type: ignore[arg-type]
        municipality=p.municipality,
        parent_id=p.parent_id,
        created_at=p.created_at,
        cost_sek=p.plan.get("cost_sek"),
        risk_covered_share=p.plan.get("risk_covered_share"),
    )


@router.get("/plans/{plan}", response_model=PlanOut, responses=_ERRORS)
def get_plan(plan: str, principal: Reader, engine: EngineDep, lang: TextLangDep, municipality: Town = None) -> PlanOut:
    """A plan (``current`` = the newest published plan of this ISO week, else its newest plan, else the
    newest plan, among the caller's municipalities' plans or ``municipality``'s); ``warnings`` in the
    language asked for (``?lang=sv`` or ``Accept-Language: sv``)."""
    return plan_out(_plan(engine, plan, principal, municipality), lang)


@router.post("/plans/{plan}/publish", response_model=PublishOut, responses=_ERRORS)
def publish_plan(plan: str, principal: Coordinator, engine: EngineDep, now: NowDep, lang: TextLangDep) -> PublishOut:
    """Publish a plan: each of its walks still ahead is offered to its association (answered through the
    association's link); earlier offers of the same weeks that are not in this plan are withdrawn (an
    accepted walk stays accepted). Publishing again re-offers what changed."""
    record = _plan(engine, plan, principal)
    done = season.publish(engine, record.id, now=now)
    tz = str(done.plan.plan.get("tz") or "Europe/Stockholm")
    return PublishOut(
        plan=plan_out(done.plan, lang),
        offered=[offer_out(o, tz) for o in done.offers],
        withdrawn=[offer_out(o, tz) for o in done.withdrawn],
        notes=done.notes,
    )


@router.get(
    "/plans/{plan}/plan.ics",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/calendar": {}}}},
)
def plan_ics(plan: str, principal: Reader, engine: EngineDep, lang: Lang = "sv", municipality: Town = None) -> Response:
    """The plan's shifts as an iCalendar file (one event per shift), in Swedish (``lang=en``: English)
    with the places' names."""
    record = _plan(engine, plan, principal, municipality)
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
def plan_csv(plan: str, principal: Reader, engine: EngineDep, lang: Lang = "sv", municipality: Town = None) -> Response:
    """The plan's shifts as CSV (one row per shift) for Excel: Swedish (``;``, decimal comma), ``lang=en``:
    English (``,``, decimal point); places by name."""
    record = _plan(engine, plan, principal, municipality)
    return Response(
        plans.plan_csv(record.plan, lang, engine),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="plan-{record.id}.csv"'},
    )


@router.get("/plans/{plan}/walks", response_model=list[WalkOut], responses=_ERRORS)
def list_walks(plan: str, principal: Reader, engine: EngineDep) -> list[WalkOut]:
    """The season ledger's records made from this plan's shifts."""
    record = _plan(engine, plan, principal)
    return [walk_out(w) for w in plans.walks_of(engine, str(record.id))]


@router.post(
    "/plans/{plan}/walks",
    response_model=WalkOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, **_SOLVE},
)
async def record_walk(
    plan: str,
    body: WalkIn,
    request: Request,
    principal: Coordinator,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
) -> WalkOut | JSONResponse:
    """Record a night walk of the plan in the season ledger (as ``POST /season/walks`` with ``plan_id`` and
    ``shift_index``): completed or no_show once it has ended (422 says from when), cancelled any time. A
    cancellation with ``replan`` makes a new plan for the rest of the week (the other shifts still ahead
    kept, the cancelled one moved; published when this plan is) and returns its id as ``new_plan_id``:
    that re-solve runs in the worker pool and the answer waits for it as ``POST /plans`` does."""
    record = await run_in_threadpool(_plan, engine, plan, principal)
    if not (body.status == "cancelled" and body.replan):
        outcome = await run_in_threadpool(
            partial(
                plans.record_walk,
                engine,
                str(record.id),
                body.shift_index,
                body.status,
                now=now,
                note=body.note,
                replan_cancelled=False,
                actor=principal.actor,
            )
        )
        return _walk_out(outcome.walk, outcome.new_plan_id)
    await run_in_threadpool(plans.check_walk, engine, str(record.id), body.shift_index, body.note)
    job = await run_in_threadpool(
        partial(
            jobs.submit_walk,
            engine,
            str(record.id),
            body.shift_index,
            body.status,
            now=now,
            note=body.note,
            actor=principal.actor,
            limits=queue_limits(settings),
            workers=settings.job_workers,
            time_limit=settings.solver_time_limit,
            municipality=record.municipality,
        )
    )
    result = await outcome_or_accepted(request, engine, job, settings.job_wait_seconds)
    if isinstance(result, JSONResponse):
        return result
    walk = await run_in_threadpool(plans.get_walk, engine, int(result["walk_id"]))
    return _walk_out(walk, result.get("new_plan_id"))


def _walk_out(walk: WalkRecordInfo, new_plan_id: int | None) -> WalkOut:
    out = walk_out(walk)
    out.new_plan_id = new_plan_id
    return out
