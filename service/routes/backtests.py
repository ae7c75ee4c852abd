"""Backtests (analyst/admin): start a rolling-origin evaluation of the stored incidents (background
job, ``tryggplan.forecasting.evaluation``), poll its status, read the summary, metrics CSV and report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Response, status
from sqlalchemy import select

from tryggplan.service import crud, jobs
from tryggplan.service.deps import EngineDep, SessionDep, SettingsDep, require
from tryggplan.service.schemas import BacktestOut, BacktestRequest, ErrorOut
from tryggplan.storage.models import BacktestJob, utcnow
from tryggplan.storage.tokens import DATA, Principal

router = APIRouter(prefix="/backtests", tags=["backtests"])

Analyst = Annotated[Principal, Depends(require(DATA, "run or read backtests"))]
JobId = Annotated[int, Path(ge=1, le=2**62)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def _out(job: BacktestJob) -> BacktestOut:
    return BacktestOut.model_validate(job, from_attributes=True)


@router.post("", response_model=BacktestOut, status_code=status.HTTP_202_ACCEPTED, responses=_ERRORS)
def start_backtest(
    body: BacktestRequest,
    principal: Analyst,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> BacktestOut:
    """Start a backtest; poll ``GET /backtests/{id}`` until ``status`` is ``done`` or ``failed``."""
    from tryggplan.forecasting.registry import resolve_name

    for name in body.models:
        resolve_name(name)
    job = BacktestJob(status="queued", params=body.model_dump(), actor=principal.actor, created_at=utcnow())
    session.add(job)
    session.commit()
    background.add_task(jobs.run_backtest, engine, job.id, settings.tz)
    return _out(job)


@router.get("", response_model=list[BacktestOut], responses=_ERRORS)
def list_backtests(
    principal: Analyst, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[BacktestOut]:
    return [_out(j) for j in session.scalars(select(BacktestJob).order_by(BacktestJob.id.desc()).limit(limit))]


@router.get("/{job_id}", response_model=BacktestOut, responses=_ERRORS)
def get_backtest(job_id: JobId, principal: Analyst, session: SessionDep) -> BacktestOut:
    """Status, parameters and (when done) the summary ``{"default": ..., "models": {...}}``."""
    return _out(crud.get_backtest(session, job_id))


def _done(session: SessionDep, job_id: int) -> BacktestJob:
    job = crud.get_backtest(session, job_id)
    if job.status != "done":
        from tryggplan.domain import InvalidInputError

        raise InvalidInputError(
            f"backtest {job_id} is {job.status}" + (f" ({job.error})" if job.error else "") + ": wait until it is done"
        )
    return job


@router.get(
    "/{job_id}/metrics.csv",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
)
def backtest_metrics(job_id: JobId, principal: Analyst, session: SessionDep) -> Response:
    """Per origin, model and place metrics as CSV."""
    job = _done(session, job_id)
    return Response(job.metrics_csv or "", media_type="text/csv; charset=utf-8")


@router.get(
    "/{job_id}/report.md",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/markdown": {}}}},
)
def backtest_report(job_id: JobId, principal: Analyst, session: SessionDep) -> Response:
    """The backtest report (Markdown)."""
    job = _done(session, job_id)
    return Response(job.report_md or "", media_type="text/markdown; charset=utf-8")
