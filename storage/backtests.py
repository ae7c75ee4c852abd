"""Backtest jobs in the database: parameters, state, and the summary, metrics and report they wrote."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tryggplan.domain import NotFoundError
from tryggplan.storage.models import BacktestJob, rows_changed, utcnow
from tryggplan.storage.records import BacktestRecord


def _record(job: BacktestJob) -> BacktestRecord:
    return BacktestRecord(
        id=job.id,
        status=job.status,
        params=dict(job.params),
        summary=job.summary,
        metrics_csv=job.metrics_csv,
        report_md=job.report_md,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        actor=job.actor,
    )


def new_job(engine: Engine, params: dict[str, Any], actor: str | None) -> BacktestRecord:
    with Session(engine) as session, session.begin():
        job = BacktestJob(status="queued", params=params, actor=actor, created_at=utcnow())
        session.add(job)
        session.flush()
        return _record(job)


def get_job(engine: Engine, job_id: int) -> BacktestRecord:
    with Session(engine) as session:
        job = session.get(BacktestJob, job_id) if 0 < job_id < 2**63 else None
        if job is None:
            raise NotFoundError(f"no backtest {job_id}: see GET /api/v1/backtests")
        return _record(job)


def list_jobs(engine: Engine, limit: int = 50) -> list[BacktestRecord]:
    with Session(engine) as session:
        return [_record(j) for j in session.scalars(select(BacktestJob).order_by(BacktestJob.id.desc()).limit(limit))]


def mark_running(engine: Engine, job_id: int) -> BacktestRecord | None:
    with Session(engine) as session, session.begin():
        job = session.get(BacktestJob, job_id)
        if job is None:
            return None
        job.status = "running"
        session.flush()
        return _record(job)


def store_result(
    engine: Engine, job_id: int, summary: dict[str, Any], metrics_csv: str | None, report_md: str | None
) -> None:
    with Session(engine) as session, session.begin():
        job = session.get(BacktestJob, job_id)
        if job is None:
            raise NotFoundError(f"backtest {job_id} was deleted while it ran")
        job.summary = summary
        job.metrics_csv = metrics_csv
        job.report_md = report_md
        job.status = "done"
        job.finished_at = utcnow()


def mark_failed(engine: Engine, job_id: int, reason: str) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(BacktestJob)
            .where(BacktestJob.id == job_id)
            .values(status="failed", error=reason[:1000], finished_at=utcnow())
        )


def fail_unfinished(engine: Engine, reason: str, keep: Collection[int] = ()) -> int:
    """Mark jobs left queued or running (by a server that stopped) as failed, except those in ``keep``
    (a queued or running job still computes them); returns how many."""
    with Session(engine) as session, session.begin():
        stmt = update(BacktestJob).where(BacktestJob.status.in_(["queued", "running"]))
        if keep:
            stmt = stmt.where(BacktestJob.id.not_in(list(keep)))
        result = session.execute(stmt.values(status="failed", error=reason, finished_at=utcnow()))
        return rows_changed(result)


def end_unfinished(engine: Engine, ref_id: int, status: str, reason: str) -> None:
    """End a queued or running one as ``failed`` or ``cancelled`` (one already finished stays)."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(BacktestJob)
            .where(BacktestJob.id == ref_id, BacktestJob.status.in_(["queued", "running"]))
            .values(status=status, error=reason[:1000], finished_at=utcnow())
        )
