"""The job queue in the database (table ``jobs``): forecast runs, backtests and plan solves waiting for
or running in a worker pool (:mod:`tryggplan.usecases.jobs`).

A job moves ``queued -> running -> done | failed | cancelled`` (a queued job may be cancelled at once).
Claims are compare-and-set updates (``... where id = ? and status = 'queued'``), so any number of
pools on any number of hosts may take jobs from one database; a pool's claim (``host:pid:boot``) and
heartbeat say whether a running job still has someone running it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from tryggplan.domain import NotFoundError
from tryggplan.storage.models import Job, rows_changed, utcnow
from tryggplan.storage.records import FINISHED_JOB_STATES, JobRecord
from tryggplan.storage.scope import AREA_WIDE, Scope

ACTIVE = ("queued", "running")
#: kinds of job that compute no stored run or backtest
_NO_REF = ("plan", "walk", "area")
FINISHED = FINISHED_JOB_STATES


def _record(row: Job) -> JobRecord:
    return JobRecord(
        id=row.id,
        kind=row.kind,
        status=row.status,
        params=dict(row.params or {}),
        ref_id=row.ref_id,
        result=row.result,
        error=row.error,
        error_kind=row.error_kind,
        problems=row.problems,
        owner=row.owner,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        claimed_by=row.claimed_by,
        cancel_requested=bool(row.cancel_requested),
        municipality=row.municipality,
    )


class QueueFull(Exception):  # noqa: N818 - a signal to the use case, which raises the domain error
    """The queue holds as many active jobs as allowed (``scope`` ``caller`` or ``overall``)."""

    def __init__(self, scope: str, active: int, limit: int) -> None:
        super().__init__(scope)
        self.scope = scope
        self.active = active
        self.limit = limit


def enqueue(
    engine: Engine,
    kind: str,
    params: dict[str, Any],
    owner: str,
    *,
    per_caller: int,
    overall: int,
    ref_id: int | None = None,
    municipality: str | None = None,
) -> JobRecord:
    """Queue a job unless ``owner`` has ``per_caller`` active jobs or the queue ``overall`` (raises
    :class:`QueueFull`). The insert comes first, so on SQLite the transaction holds the write lock while it
    counts and two callers cannot both take the last place; on PostgreSQL an advisory lock does that."""
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "postgresql":
            session.execute(text("select pg_advisory_xact_lock(7316501)"))  # serialises enqueues only
        row = Job(
            kind=kind,
            status="queued",
            params=params,
            ref_id=ref_id,
            owner=owner[:1000],
            created_at=utcnow(),
            cancel_requested=False,
            municipality=municipality,
        )
        session.add(row)
        session.flush()
        mine = session.scalar(
            select(func.count()).select_from(Job).where(Job.owner == row.owner, Job.status.in_(ACTIVE))
        )
        if mine is not None and mine > per_caller:
            session.rollback()
            raise QueueFull("caller", mine - 1, per_caller)
        everyone = session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(ACTIVE)))
        if everyone is not None and everyone > overall:
            session.rollback()
            raise QueueFull("overall", everyone - 1, overall)
        return _record(row)


def set_ref(engine: Engine, job_id: int, ref_id: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(ref_id=ref_id))


def delete_job(engine: Engine, job_id: int) -> None:
    with Session(engine) as session, session.begin():
        row = session.get(Job, job_id)
        if row is not None:
            session.delete(row)


def get_job(engine: Engine, job_id: int) -> JobRecord:
    with Session(engine) as session:
        row = session.get(Job, job_id) if 0 < job_id < 2**63 else None
        if row is None:
            raise NotFoundError(f"no job {job_id}: see GET /api/v1/jobs or `tryggplan job list`")
        return _record(row)


def _jobs(stmt: Any, owner: str | None, active_only: bool, scope: Scope) -> Any:
    """``stmt`` over ``jobs`` limited to ``owner``'s and/or ``scope``'s (with both: either), and to the
    queued and running ones with ``active_only``."""
    town = scope.condition(Job.municipality)
    if owner is not None and town is not None:
        stmt = stmt.where((Job.owner == owner) | town)
    elif owner is not None:
        stmt = stmt.where(Job.owner == owner)
    elif town is not None:
        stmt = stmt.where(town)
    if active_only:
        stmt = stmt.where(Job.status.in_(ACTIVE))
    return stmt


def list_jobs(
    engine: Engine,
    owner: str | None = None,
    active_only: bool = False,
    limit: int | None = 100,
    offset: int = 0,
    scope: Scope = AREA_WIDE,
) -> list[JobRecord]:
    """Jobs, newest first (of one owner and/or of ``scope``'s municipalities, only queued and running
    ones); ``limit`` ``None``: every one from ``offset``."""
    stmt = _jobs(select(Job), owner, active_only, scope).order_by(Job.id.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    with Session(engine) as session:
        return [_record(r) for r in session.scalars(stmt)]


def count_jobs(engine: Engine, owner: str | None = None, active_only: bool = False, scope: Scope = AREA_WIDE) -> int:
    """How many jobs :func:`list_jobs` would list without a limit."""
    with Session(engine) as session:
        return int(session.scalar(_jobs(select(func.count()).select_from(Job), owner, active_only, scope)) or 0)


def claim_next(engine: Engine, claimer: str, kinds: Collection[str] | None = None) -> JobRecord | None:
    """The oldest queued job (of ``kinds``), now ``running`` and claimed by ``claimer``; ``None`` when
    none is queued."""
    for _ in range(5):  # another pool may take the one we saw first
        # a forecast or backtest job is claimable once its run or backtest exists (set_ref)
        stmt = select(Job.id).where(Job.status == "queued", or_(Job.ref_id.is_not(None), Job.kind.in_(_NO_REF)))
        if kinds is not None:
            stmt = stmt.where(Job.kind.in_(list(kinds)))
        with Session(engine) as session:
            first = session.scalar(stmt.order_by(Job.id).limit(1))
        if first is None:
            return None
        now = utcnow()
        with Session(engine) as session, session.begin():
            taken = rows_changed(
                session.execute(
                    update(Job)
                    .where(Job.id == first, Job.status == "queued")
                    .values(status="running", claimed_by=claimer, started_at=now, heartbeat_at=now)
                )
            )
            if taken:
                row = session.get(Job, first)
                assert row is not None
                return _record(row)
    return None


def heartbeat(engine: Engine, claimer: str, job_ids: list[int]) -> None:
    """Say the pool ``claimer`` still runs these jobs."""
    if not job_ids:
        return
    with Session(engine) as session, session.begin():
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.claimed_by == claimer, Job.status == "running")
            .values(heartbeat_at=utcnow())
        )


def finish(
    engine: Engine,
    job_id: int,
    claimer: str | None,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    error_kind: str | None = None,
    problems: list[dict[str, Any]] | None = None,
) -> bool:
    """End a running job (only while ``claimer`` still holds it; ``None``: whoever does). Returns whether
    it was ended here (a job cancelled or failed by recovery meanwhile stays as it is)."""
    conditions = [Job.id == job_id, Job.status == "running"]
    if claimer is not None:
        conditions.append(Job.claimed_by == claimer)
    with Session(engine) as session, session.begin():
        done = rows_changed(
            session.execute(
                update(Job)
                .where(*conditions)
                .values(
                    status=status,
                    result=result,
                    error=error[:2000] if error else None,
                    error_kind=error_kind,
                    problems=problems,
                    finished_at=utcnow(),
                )
            )
        )
        return bool(done)


def request_cancel(engine: Engine, job_id: int, reason: str) -> JobRecord:
    """Cancel a queued job at once; mark a running one for its pool to stop. A finished job is
    returned unchanged (the caller says so)."""
    with Session(engine) as session, session.begin():
        row = session.get(Job, job_id) if 0 < job_id < 2**63 else None
        if row is None:
            raise NotFoundError(f"no job {job_id}: see GET /api/v1/jobs or `tryggplan job list`")
        if row.status == "queued":
            row.status = "cancelled"
            row.error = reason[:2000]
            row.error_kind = "cancelled"
            row.finished_at = utcnow()
        elif row.status == "running":
            row.cancel_requested = True
            row.error = reason[:2000]
        session.flush()
        return _record(row)


def cancelled_running(engine: Engine, claimer: str) -> list[JobRecord]:
    """The running jobs of ``claimer`` someone asked to cancel."""
    with Session(engine) as session:
        stmt = select(Job).where(Job.claimed_by == claimer, Job.status == "running", Job.cancel_requested.is_(True))
        return [_record(r) for r in session.scalars(stmt)]


def running(engine: Engine) -> list[JobRecord]:
    with Session(engine) as session:
        return [_record(r) for r in session.scalars(select(Job).where(Job.status == "running"))]


def count_active(engine: Engine) -> dict[str, int]:
    """Queued and running jobs."""
    with Session(engine) as session:
        rows = session.execute(
            select(Job.status, func.count()).where(Job.status.in_(ACTIVE)).group_by(Job.status)
        ).all()
    counts = {"queued": 0, "running": 0}
    counts.update({status: int(n) for status, n in rows})
    return counts


def recent_seconds(engine: Engine, limit: int = 20) -> list[float]:
    """How long the last finished jobs ran [s] (for ``Retry-After``)."""
    with Session(engine) as session:
        rows = session.execute(
            select(Job.started_at, Job.finished_at)
            .where(Job.status.in_(("done", "failed")), Job.started_at.is_not(None), Job.finished_at.is_not(None))
            .order_by(Job.id.desc())
            .limit(limit)
        ).all()
    return [max(0.0, (end - start).total_seconds()) for start, end in rows if start and end]


def active_refs(engine: Engine, kind: str) -> set[int]:
    """The forecast runs or backtests queued or running jobs compute."""
    with Session(engine) as session:
        stmt = select(Job.ref_id).where(Job.kind == kind, Job.status.in_(ACTIVE), Job.ref_id.is_not(None))
        return {int(r) for r in session.scalars(stmt) if r is not None}


def fail_unreferenced(engine: Engine, older_than: dt.datetime, reason: str) -> int:
    """Fail queued forecast and backtest jobs whose run or backtest was never stored (the request that
    queued them stopped in between); returns how many."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(Job)
            .where(
                Job.status == "queued",
                Job.ref_id.is_(None),
                Job.kind.not_in(_NO_REF),
                Job.created_at < older_than,
            )
            .values(status="failed", error=reason, error_kind="internal", finished_at=utcnow())
        )
        return rows_changed(result)


def add_jobs(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Insert jobs as given (tests and benchmarks filling a queue)."""
    with Session(engine) as session, session.begin():
        session.execute(insert(Job), rows)
