"""Backtests (analyst/admin): start a rolling-origin evaluation of the stored incidents (a job of the
worker pool, :mod:`tryggplan.usecases.jobs`), poll its status, read the summary, metrics CSV and report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from tryggplan.service.deps import EngineDep, SettingsDep, require
from tryggplan.service.routes.jobs import queue_limits, wake
from tryggplan.service.schemas import BacktestOut, BacktestRequest, BusyOut, ErrorOut
from tryggplan.storage.records import BacktestRecord
from tryggplan.usecases import access, evaluation, jobs
from tryggplan.usecases.access import DATA, Principal

router = APIRouter(prefix="/backtests", tags=["backtests"])

Analyst = Annotated[Principal, Depends(require(DATA, "run or read backtests"))]
JobId = Annotated[int, Path(ge=1, le=2**62)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def _out(job: BacktestRecord) -> BacktestOut:
    return BacktestOut.model_validate(job, from_attributes=True)


@router.post(
    "",
    response_model=BacktestOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**_ERRORS, 429: {"model": BusyOut}},
)
def start_backtest(
    body: BacktestRequest,
    request: Request,
    principal: Analyst,
    engine: EngineDep,
    settings: SettingsDep,
) -> BacktestOut:
    """Queue a backtest for the worker pool; poll ``GET /backtests/{id}`` until ``status`` is ``done``,
    ``failed`` or ``cancelled``. 429 when the caller's or the whole queue is full."""
    params = body.model_dump()
    params["municipality"] = access.own_municipality(principal, body.municipality)
    backtest, job = jobs.submit_backtest(
        engine, params, principal.actor, settings.tz, queue_limits(settings), settings.job_workers
    )
    wake(request)
    out = _out(backtest)
    out.job_id = job.id
    return out


@router.get("", response_model=list[BacktestOut], responses=_ERRORS)
def list_backtests(
    principal: Analyst, engine: EngineDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[BacktestOut]:
    """Backtests, newest first: of the caller's municipalities (an area-wide backtest, whose metrics are
    per place of every town, only for area-wide callers)."""
    jobs = evaluation.list_backtests(engine, limit)
    return [_out(j) for j in jobs if principal.scope.allows(j.params.get("municipality"))]


def _readable(job: BacktestRecord, principal: Principal) -> BacktestRecord:
    """``job`` when the caller may read it: 403 for another town's, or an area-wide one for a scoped caller."""
    principal.scope.check_row(job.params.get("municipality"), f"backtest {job.id}")
    return job


@router.get("/{job_id}", response_model=BacktestOut, responses=_ERRORS)
def get_backtest(job_id: JobId, principal: Analyst, engine: EngineDep) -> BacktestOut:
    """Status, parameters and (when done) the summary ``{"default": ..., "models": {...}}``."""
    return _out(_readable(evaluation.get_backtest(engine, job_id), principal))


@router.get(
    "/{job_id}/metrics.csv",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
)
def backtest_metrics(job_id: JobId, principal: Analyst, engine: EngineDep) -> Response:
    """Per origin, model and place metrics as CSV."""
    job = _readable(evaluation.get_backtest(engine, job_id, done=True), principal)
    return Response(job.metrics_csv or "", media_type="text/csv; charset=utf-8")


@router.get(
    "/{job_id}/report.md",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/markdown": {}}}},
)
def backtest_report(job_id: JobId, principal: Analyst, engine: EngineDep) -> Response:
    """The backtest report (Markdown)."""
    job = _readable(evaluation.get_backtest(engine, job_id, done=True), principal)
    return Response(job.report_md or "", media_type="text/markdown; charset=utf-8")
