"""Jobs of the worker pool (coordinator/analyst/admin): list, read and cancel forecast runs, backtests
and plan solves (:mod:`tryggplan.usecases.jobs`). A caller sees and cancels its own jobs; an admin also
every job of its municipalities (an area-wide admin every job; a scoped admin never an area-wide job).

Also the helpers the routes that queue jobs share: the queue limits from the settings, waking the
pool, and waiting for a job without holding a request slot."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from tryggplan.domain import PermissionDeniedError
from tryggplan.service.deps import EngineDep, require
from tryggplan.service.limits import waiting
from tryggplan.service.schemas import ErrorOut, JobOut
from tryggplan.service.settings import Settings
from tryggplan.storage.records import JobRecord
from tryggplan.usecases import jobs
from tryggplan.usecases.access import FORECAST, PLAN, Principal

router = APIRouter(prefix="/jobs", tags=["jobs"])

Worker = Annotated[Principal, Depends(require(FORECAST | PLAN, "see or cancel jobs"))]
JobId = Annotated[int, Path(ge=1, le=2**62)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def job_out(job: JobRecord) -> JobOut:
    return JobOut.model_validate(job, from_attributes=True)


def queue_limits(settings: Settings) -> jobs.QueueLimits:
    return jobs.QueueLimits(per_caller=settings.max_jobs_per_caller, overall=settings.max_queued_jobs)


def wake(request: Request) -> None:
    """Tell this server's pool a job was queued or cancelled (a pool elsewhere finds it within a second)."""
    pool: jobs.WorkerPool | None = getattr(request.app.state, "job_pool", None)
    if pool is not None:
        pool.wake()


async def wait_for(request: Request, engine: Engine, job_id: int, timeout: float) -> JobRecord | None:
    """The job once it has finished, or ``None`` after ``timeout`` seconds. The request gives its
    in-flight place back meanwhile: waiting costs other users nothing."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    async with waiting(request):
        while True:
            job = await run_in_threadpool(jobs.get_job, engine, job_id)
            if job.finished:
                return job
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.5)


async def outcome_or_accepted(
    request: Request, engine: Engine, job: JobRecord, timeout: float
) -> dict[str, Any] | JSONResponse:
    """Wake the pool, wait up to ``timeout`` seconds for ``job``: its result when it is done in time (a
    failure raises its domain error), else a 202 with the job to poll."""
    wake(request)
    done = await wait_for(request, engine, job.id, timeout)
    if done is None:
        return JSONResponse(status_code=202, content=job_out(job).model_dump(mode="json"))
    return jobs.outcome(done)


def _admin(principal: Principal) -> bool:
    return principal.role == "admin"


def _check_owner(principal: Principal, job: JobRecord) -> None:
    """A caller sees its own jobs; an admin also every job of its municipalities (an area-wide admin
    every job)."""
    if job.owner == principal.actor:
        return
    if _admin(principal) and (principal.scope.municipalities is None or job.municipality is not None):
        principal.scope.check_row(job.municipality, f"job {job.id}")
        return
    raise PermissionDeniedError(f"job {job.id} is another caller's: only its owner or an admin of its town may see it")


@router.get("", response_model=list[JobOut], responses=_ERRORS)
def list_jobs(
    principal: Worker,
    engine: EngineDep,
    active: Annotated[bool, Query(description="only queued and running jobs")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[JobOut]:
    """Jobs, newest first, ``limit`` from ``offset`` (page on with ``offset``): the caller's own; an admin
    also every job of its municipalities (an area-wide admin everyone's)."""
    if _admin(principal) and principal.scope.municipalities is None:
        found = jobs.list_jobs(engine, None, active, limit, offset)
    elif _admin(principal):
        found = jobs.list_jobs(engine, principal.actor, active, limit, offset, principal.scope)
    else:
        found = jobs.list_jobs(engine, principal.actor, active, limit, offset)
    return [job_out(j) for j in found]


@router.get("/{job_id}", response_model=JobOut, responses=_ERRORS)
def get_job(job_id: JobId, principal: Worker, engine: EngineDep) -> JobOut:
    """A job: status, result (``{"plan_id": ...}``, ``{"forecast_run_id": ...}``) or error."""
    job = jobs.get_job(engine, job_id)
    _check_owner(principal, job)
    return job_out(job)


@router.post("/{job_id}/cancel", response_model=JobOut, responses={**_ERRORS, 409: {"model": ErrorOut}})
def cancel_job(job_id: JobId, request: Request, principal: Worker, engine: EngineDep) -> JobOut:
    """Cancel a job: a queued one at once (``cancelled``), a running one within a second (its process is
    stopped; ``cancel_requested`` until then). 409 for a job that has finished."""
    _check_owner(principal, jobs.get_job(engine, job_id))
    job = jobs.cancel_job(engine, job_id, principal.actor)
    wake(request)
    return job_out(job)
