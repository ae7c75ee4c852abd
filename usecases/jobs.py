"""Jobs: forecast runs, backtests and plan solves, queued in the database and run by a worker pool in
processes of their own, outside the HTTP workers.

Why the database is the queue (and no job library): the queue must live where the runs it computes
live, on SQLite (the default, one file) and on PostgreSQL alike, under the same migrations and
transactions. The maintained queues are either bound to one backend (procrastinate and pgqueuer:
PostgreSQL only), need a broker the service does not run (Celery, RQ, arq, Dramatiq: Redis or
RabbitMQ), or keep their own store beside ours (huey: its own SQLite file, or peewee over
PostgreSQL) where neither the per-caller bound nor the stopping of a running job can be expressed.
What remains is small and lives here: a ``jobs`` table (:mod:`tryggplan.storage.jobs`), claims by
compare-and-set, one child process per running job (started by a fork server that has the models
imported already, so a job starts in milliseconds), a heartbeat, and killing the child to cancel.

* **Bounded**: at most ``per_caller`` active (queued or running) jobs per token and ``overall`` in
  all; one more is refused with :class:`QueueFullError` (429 with ``Retry-After``).
* **Off the request path**: a route only queues (a few milliseconds); :class:`WorkerPool` runs
  ``workers`` jobs at once, each in a child process, so neither CPU nor memory of a job is taken
  from the HTTP workers. Routes that answer with the result (``POST /plans``) wait without holding
  a request slot.
* **Crashes**: a running job whose pool is gone (its process ended, or its heartbeat stopped) is
  marked failed when a pool starts (:func:`recover`) and every minute after; queued jobs stay queued
  and run after a restart.
* **Cancel**: a queued job ends at once; a running one is stopped by killing its child process.
* **Drain**: :meth:`WorkerPool.stop` stops taking jobs, lets running ones finish for the drain time,
  then stops them and marks them failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import multiprocessing
import os
import socket
import statistics
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any, Literal, get_args

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from tryggplan.allocation.errors import SolverError
from tryggplan.domain import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    TryggplanError,
)
from tryggplan.storage import backtests as stored_backtests
from tryggplan.storage import forecasts as stored_runs
from tryggplan.storage import jobs as queue
from tryggplan.storage.database import create_db_engine
from tryggplan.storage.models import utcnow
from tryggplan.storage.records import BacktestRecord, ForecastRunRecord, JobRecord
from tryggplan.storage.scope import AREA_WIDE, Scope
from tryggplan.usecases import area, evaluation, forecasts, plans

log = logging.getLogger("tryggplan.usecases.jobs")

JobKind = Literal["forecast", "backtest", "plan", "walk", "area"]
#: every kind of job, in the order the docs list them
JOB_KINDS: tuple[str, ...] = get_args(JobKind)
#: How often a pool says it still runs its jobs, and after how long without that a job is orphaned [s].
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 60.0
INTERRUPTED = "interrupted: the server stopped before the job finished; start it again"


# --------------------------------------------------------------------------- errors


class QueueFullError(TryggplanError):
    """The caller (or everyone) has as many jobs queued or running as allowed; ``retry_after`` [s]."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JobFinishedError(TryggplanError):
    """A finished job cannot be cancelled (409)."""


#: HTTP status of a job that failed, by ``error_kind`` (the ones domain errors do not carry).
FAILURE_STATUS: dict[str, int] = {"conflict": 409, "full": 507, "busy": 503, "solver": 503, "internal": 500}


class JobFailedError(TryggplanError):
    """A job that ended in a failure no domain error describes (``kind`` in :data:`FAILURE_STATUS`)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = FAILURE_STATUS.get(kind, 500)


# --------------------------------------------------------------------------- limits and submission


@dataclass(frozen=True)
class QueueLimits:
    """Active jobs allowed per caller (token) and in all."""

    per_caller: int = 4
    overall: int = 200


@dataclass(frozen=True)
class SubmittedRun:
    run: ForecastRunRecord
    job: JobRecord
    #: set when the run would replace a run trained on later incidents as ``latest``
    warning: str | None = None


def retry_after(engine: Engine, workers: int = 1) -> int:
    """Seconds until a place in the queue is likely to be free: the median run time of recent jobs times
    the queued jobs per worker, between 1 s and an hour (30 s while nothing has finished yet)."""
    recent = queue.recent_seconds(engine)
    typical = statistics.median(recent) if recent else 30.0
    counts = queue.count_active(engine)
    waves = max(1.0, counts["queued"] / max(1, workers))
    return int(min(3600, max(1, math.ceil(typical * waves))))


def _enqueue(
    engine: Engine,
    kind: JobKind,
    params: dict[str, Any],
    owner: str,
    limits: QueueLimits,
    workers: int,
    ref_id: int | None = None,
    municipality: str | None = None,
) -> JobRecord:
    """Queue a job for ``municipality`` (default the one its ``params`` name: ``municipality``, or an area
    run's only one; ``None``: area-wide), so scoped callers see their towns' jobs only."""
    if municipality is None:
        towns = params.get("municipalities")
        municipality = params.get("municipality") or (towns[0] if isinstance(towns, list) and len(towns) == 1 else None)
    try:
        return queue.enqueue(
            engine,
            kind,
            params,
            owner,
            per_caller=limits.per_caller,
            overall=limits.overall,
            ref_id=ref_id,
            municipality=municipality,
        )
    except queue.QueueFull as full:
        wait = retry_after(engine, workers)
        if full.scope == "caller":
            message = (
                f"this token has {full.active} jobs queued or running, the most one token may have "
                f"({full.limit}): wait until one finishes (GET /api/v1/jobs) or cancel one, then try again"
            )
        else:
            message = (
                f"the job queue is full ({full.active} jobs queued or running, at most {full.limit}): "
                f"try again in {wait} s"
            )
        raise QueueFullError(message, wait) from None


def submit_forecast(
    engine: Engine,
    *,
    model: str,
    start: dt.date,
    days: int,
    tz: str,
    municipality: str | None,
    actor: str,
    limits: QueueLimits,
    workers: int = 1,
    category_group: str | None = None,
    weighted: bool = False,
) -> SubmittedRun:
    """Check a forecast request (422 for a bad model, zone, dates or category group, 404 for an unknown
    municipality), queue it (429 when full) and store its run as ``queued``."""
    job = _enqueue(engine, "forecast", {}, actor, limits, workers, municipality=municipality)
    try:
        run = forecasts.start_run(
            engine,
            model=model,
            start=start,
            days=days,
            tz=tz,
            municipality=municipality,
            actor=actor,
            category_group=category_group,
            weighted=weighted,
        )
    except BaseException:
        queue.delete_job(engine, job.id)
        raise
    queue.set_ref(engine, job.id, run.id)
    # checked by start_run: a known zone
    warning = forecasts.replacement_warning(engine, start, days, tz, municipality=municipality)
    return SubmittedRun(run, queue.get_job(engine, job.id), warning)


def submit_backtest(
    engine: Engine, params: dict[str, Any], actor: str, tz: str, limits: QueueLimits, workers: int = 1
) -> tuple[BacktestRecord, JobRecord]:
    """Check and queue a backtest of the stored incidents (422 for an unknown model, 429 when full)."""
    evaluation.check_models(params.get("models") or [])
    job = _enqueue(engine, "backtest", {"tz": tz}, actor, limits, workers, municipality=params.get("municipality"))
    try:
        backtest = evaluation.start_backtest(engine, params, actor)
    except BaseException:
        queue.delete_job(engine, job.id)
        raise
    queue.set_ref(engine, job.id, backtest.id)
    return backtest, queue.get_job(engine, job.id)


def submit_plan(
    engine: Engine,
    week: str,
    *,
    now: dt.datetime,
    kind: str,
    resource_id: int | None,
    forecast_run_id: int | None,
    actor: str,
    limits: QueueLimits,
    municipality: str | None = None,
    walks: int | None = None,
    workers: int = 1,
    time_limit: float | None = None,
) -> JobRecord:
    """Queue a plan solve (:func:`tryggplan.usecases.plans.plan_from_store` in the worker pool) made at
    ``now`` (the moment of the request, not of the solve: a queued plan places nothing the request
    could not), with the solver's ``time_limit`` [s] of the request (default the pool's)."""
    plans.check_plan_request(week, kind)
    params: dict[str, Any] = {
        "week": week,
        "now": now.isoformat(),
        "kind": kind,
        "resource_id": resource_id,
        "forecast_run_id": forecast_run_id,
        "municipality": municipality,
        "walks": walks,
    }
    if time_limit is not None:
        params["time_limit"] = time_limit
    return _enqueue(engine, "plan", params, actor, limits, workers)


def submit_walk(
    engine: Engine,
    plan_ref: str,
    shift_index: int,
    status: str,
    *,
    now: dt.datetime,
    note: str | None,
    actor: str,
    limits: QueueLimits,
    workers: int = 1,
    time_limit: float | None = None,
    municipality: str | None = None,
) -> JobRecord:
    """Queue recording a cancelled walk (at ``now``) together with the re-plan of the rest of the week
    (of the plan's ``municipality``)."""
    params: dict[str, Any] = {
        "plan_ref": plan_ref,
        "shift_index": shift_index,
        "status": status,
        "note": note,
        "now": now.isoformat(),
    }
    if time_limit is not None:
        params["time_limit"] = time_limit
    return _enqueue(engine, "walk", params, actor, limits, workers, municipality=municipality)


def submit_area(
    engine: Engine,
    week: str,
    *,
    now: dt.datetime,
    kind: str,
    municipalities: list[str] | None,
    police_area: str | None,
    scheduler: str | None,
    actor: str,
    limits: QueueLimits,
    workers: int = 1,
    time_limit: float | None = None,
) -> JobRecord:
    """Queue an area plan run (:func:`tryggplan.usecases.area.plan_area`: every municipality's plan of
    ``week``, on the Dask cluster at ``scheduler`` when one is given)."""
    plans.check_plan_request(week, kind)
    params: dict[str, Any] = {
        "week": week,
        "now": now.isoformat(),
        "kind": kind,
        "municipalities": municipalities,
        "police_area": police_area,
        "scheduler": scheduler,
    }
    if time_limit is not None:
        params["time_limit"] = time_limit
    return _enqueue(engine, "area", params, actor, limits, workers)


# --------------------------------------------------------------------------- reading and cancelling


def get_job(engine: Engine, job_id: int) -> JobRecord:
    return queue.get_job(engine, job_id)


def list_jobs(
    engine: Engine,
    owner: str | None = None,
    active_only: bool = False,
    limit: int | None = 100,
    offset: int = 0,
    scope: Scope = AREA_WIDE,
) -> list[JobRecord]:
    """Jobs, newest first (``limit`` ``None``: all of them, from ``offset``); ``owner`` limits them to one
    caller's, ``scope`` to its municipalities' jobs (with ``owner``: the owner's own or its towns')."""
    return queue.list_jobs(engine, owner, active_only, limit, offset, scope)


def count_jobs(engine: Engine, owner: str | None = None, active_only: bool = False, scope: Scope = AREA_WIDE) -> int:
    """How many jobs :func:`list_jobs` would list without a limit."""
    return queue.count_jobs(engine, owner, active_only, scope)


def cancel_job(engine: Engine, job_id: int, by: str) -> JobRecord:
    """Cancel a job: a queued one ends at once (its run or backtest is ``cancelled``); a running one is
    stopped by its pool within a second. A finished job is refused (:class:`JobFinishedError`)."""
    found = queue.get_job(engine, job_id)
    if found.finished:
        raise JobFinishedError(f"job {job_id} is {found.status} already: there is nothing to cancel")
    job = queue.request_cancel(engine, job_id, f"cancelled by {by}")
    if job.status == "cancelled":
        _end_ref(engine, job, "cancelled", job.error or "cancelled")
    return job


def outcome(job: JobRecord) -> dict[str, Any]:
    """The result of a job that is done; for one that failed, the domain error it failed with (raised:
    the API answers it as if the route had raised it)."""
    if job.status == "done":
        return dict(job.result or {})
    if job.status == "cancelled":
        raise JobFailedError(job.error or f"job {job.id} was cancelled", "conflict")
    if job.status != "failed":
        raise InvalidInputError(f"job {job.id} is {job.status}: wait until it is done")
    message = job.error or f"job {job.id} failed"
    kind = job.error_kind or "internal"
    if kind == "invalid":
        problems = [
            Problem(
                str(p.get("file") or ""),
                p.get("row"),
                p.get("column"),
                str(p.get("message") or ""),
                str(p.get("fix") or ""),
                kind=str(p.get("kind") or ""),
            )
            for p in job.problems or []
        ]
        raise InvalidInputError(message, problems)
    if kind == "not_found":
        raise NotFoundError(message)
    if kind == "forbidden":
        raise PermissionDeniedError(message)
    raise JobFailedError(message, kind)


def failure_of(exc: BaseException, what: str) -> tuple[str, str, list[dict[str, Any]] | None]:
    """``(error_kind, message, problems)`` of a job that raised ``exc``: what the route would have answered."""
    if isinstance(exc, InvalidInputError):
        problems = [
            {"file": p.file, "row": p.row, "column": p.column, "message": p.message, "fix": p.fix, "kind": p.kind}
            for p in exc.problems[:1000]
        ] + [
            {
                "file": "resources",
                "row": None,
                "column": None,
                "message": str(c),
                "fix": "relax one of them",
                "kind": "conflict",
            }
            for c in getattr(exc, "conflicts", [])[:1000]
        ]
        return "invalid", str(exc), problems
    if isinstance(exc, NotFoundError):
        return "not_found", str(exc), None
    if isinstance(exc, PermissionDeniedError):
        return "forbidden", str(exc), None
    if isinstance(exc, SolverError):
        return "solver", str(exc), None
    if isinstance(exc, TryggplanError):
        return "conflict", str(exc), None
    if isinstance(exc, IntegrityError):
        return (
            "conflict",
            (
                "the change conflicts with stored data (another request may have made the same change): "
                "reload and try again"
            ),
            None,
        )
    if isinstance(exc, OperationalError):
        reason = str(exc.orig).lower()
        if "full" in reason or "could not extend" in reason:
            return (
                "full",
                "the disk holding the database is full: nothing was stored; free space there, then try again",
                None,
            )
        return "busy", "the database is busy or unreachable: try again shortly", None
    return "internal", forecasts.job_failure(exc, what), None


def _end_ref(engine: Engine, job: JobRecord, status: str, reason: str) -> None:
    """End the forecast run or backtest a job computes (when it has not finished)."""
    if job.ref_id is None:
        return
    if job.kind == "forecast":
        stored_runs.end_unfinished(engine, job.ref_id, status, reason)
    elif job.kind == "backtest":
        stored_backtests.end_unfinished(engine, job.ref_id, status, reason)


# --------------------------------------------------------------------------- running one job


@dataclass(frozen=True)
class JobOptions:
    """What a child process needs besides the job: where the database is and how to run."""

    database_url: str
    solver_time_limit: float = 60.0
    grid_dir: str | None = None


def execute(engine: Engine, job: JobRecord, options: JobOptions) -> dict[str, Any]:
    """Run one job in this process and return its result; a failure raises (see :func:`run_claimed`)."""
    if job.kind == "forecast":
        if job.ref_id is None:
            raise TryggplanError(f"job {job.id} names no forecast run")
        forecasts.run_forecast(engine, job.ref_id, grid_dir=options.grid_dir)
        run = stored_runs.get_run(engine, job.ref_id, done=False)
        if run.status != "done":
            raise TryggplanError(run.error or f"forecast run {run.id} is {run.status}")
        return {"forecast_run_id": run.id}
    if job.kind == "backtest":
        if job.ref_id is None:
            raise TryggplanError(f"job {job.id} names no backtest")
        evaluation.run_backtest(engine, job.ref_id, str(job.params.get("tz") or "Europe/Stockholm"))
        found = stored_backtests.get_job(engine, job.ref_id)
        if found.status != "done":
            raise TryggplanError(found.error or f"backtest {found.id} is {found.status}")
        return {"backtest_id": found.id}
    p = job.params
    time_limit = float(p.get("time_limit") or options.solver_time_limit)
    if job.kind == "plan":
        record = plans.plan_from_store(
            engine,
            p["week"],
            now=_moment(p),
            kind=p.get("kind", "week"),
            resource_id=p.get("resource_id"),
            forecast_run_id=p.get("forecast_run_id"),
            municipality=p.get("municipality"),
            walks=p.get("walks"),
            actor=job.owner,
            time_limit=time_limit,
        )
        return {"plan_id": record.id}
    if job.kind == "walk":
        done = plans.record_walk(
            engine,
            str(p["plan_ref"]),
            int(p["shift_index"]),
            p["status"],
            now=_moment(p),
            note=p.get("note"),
            replan_cancelled=True,
            actor=job.owner,
            time_limit=time_limit,
        )
        return {"walk_id": done.walk.id, "new_plan_id": done.new_plan_id}
    if job.kind == "area":
        towns = area.plan_area(
            engine,
            p["week"],
            now=_moment(p),
            kind=p.get("kind", "week"),
            municipalities=p.get("municipalities"),
            police_area=p.get("police_area"),
            parallel="dask" if p.get("scheduler") else "local",
            scheduler=p.get("scheduler"),
            actor=job.owner,
            time_limit=time_limit,
        )
        return {
            "engine": "dask" if p.get("scheduler") else "local",
            "towns": [
                {"municipality": t.municipality, "plan_id": t.plan.id if t.plan else None, "error": t.error}
                for t in towns
            ],
        }
    raise TryggplanError(f"job {job.id} is of an unknown kind {job.kind!r}")


def _moment(params: dict[str, Any]) -> dt.datetime:
    """The ``now`` a job was queued with (older jobs without one: the clock)."""
    raw = params.get("now")
    return dt.datetime.fromisoformat(raw) if raw else dt.datetime.now(dt.UTC)


def run_claimed(engine: Engine, job: JobRecord, claimer: str, options: JobOptions) -> None:
    """Run a claimed job and record how it ended (never raises)."""
    try:
        result = execute(engine, job, options)
    except Exception as exc:  # noqa: BLE001 - a job must always end in a state the client can read
        kind, message, problems = failure_of(exc, f"{job.kind} job {job.id}")
        queue.finish(engine, job.id, claimer, "failed", error=message, error_kind=kind, problems=problems)
        _end_ref(engine, job, "failed", message)
        return
    queue.finish(engine, job.id, claimer, "done", result=result)


def _child(job_id: int, claimer: str, options: JobOptions, pool_pid: int) -> None:
    """The body of a job's process: watch the pool (exit when it is gone), run the job."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent or not _alive(pool_pid):
                os._exit(3)  # the pool died (SIGKILL): recovery marks the job failed

    threading.Thread(target=watch, daemon=True, name="tryggplan-job-watch").start()
    engine = create_db_engine(options.database_url, pool_size=1, max_overflow=1)
    try:
        run_claimed(engine, queue.get_job(engine, job_id), claimer, options)
    finally:
        engine.dispose()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- crashed pools


#: the claims of the pools running in this process (a claim of this pid with another boot is a dead pool's)
_LIVE_CLAIMS: set[str] = set()


def new_claim() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim_is_dead(job: JobRecord, now: dt.datetime) -> bool:
    """Whether nobody runs this running job any more: its pool's process on this host is gone (or is this
    process under another boot, e.g. pid 1 of a restarted container), or its heartbeat stopped."""
    if job.claimed_by is None:
        return True
    host, _, rest = job.claimed_by.partition(":")
    pid_text, _, _boot = rest.partition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return job.claimed_by not in _LIVE_CLAIMS
        if not _alive(pid):
            return True
    beat = job.heartbeat_at or job.started_at
    return beat is None or (now - beat).total_seconds() > STALE_SECONDS


def recover(engine: Engine) -> int:
    """Mark running jobs whose pool is gone as failed (with their runs and backtests), and runs and
    backtests left unfinished without a job; returns how many jobs were failed. Queued jobs stay queued."""
    now = utcnow()
    failed = 0
    for job in queue.running(engine):
        if claim_is_dead(job, now) and queue.finish(
            engine, job.id, job.claimed_by, "failed", error=INTERRUPTED, error_kind="busy"
        ):
            _end_ref(engine, job, "failed", INTERRUPTED)
            failed += 1
    queue.fail_unreferenced(
        engine,
        now - dt.timedelta(seconds=STALE_SECONDS),
        "the request that queued it stopped before its run was stored",
    )
    stored_runs.fail_unfinished(engine, INTERRUPTED, keep=queue.active_refs(engine, "forecast"))
    stored_backtests.fail_unfinished(engine, INTERRUPTED, keep=queue.active_refs(engine, "backtest"))
    return failed


# --------------------------------------------------------------------------- the pool


def _context() -> multiprocessing.context.ForkServerContext:
    """Fork server with the use cases (pandas, the models, the solver) imported once: each job's process
    is a fork of it, started in milliseconds, with nothing of the HTTP server's state."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tryggplan.usecases.jobs"])
    return ctx


@dataclass
class _Running:
    job: JobRecord
    process: BaseProcess
    started: float = field(default_factory=time.monotonic)


class WorkerPool:
    """Runs queued jobs (of ``kinds``: default all), ``workers`` at a time, each in a child process (see
    the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        options: JobOptions,
        workers: int = 2,
        poll_seconds: float = 0.5,
        on_event: Callable[[str, JobRecord], None] | None = None,
        kinds: Collection[str] | None = None,
    ) -> None:
        self.engine = engine
        self.kinds = kinds
        self.options = options
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.on_event = on_event
        self.claim = new_claim()
        self._running: dict[int, _Running] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = 0.0
        self._last_sweep = 0.0

    # -- control

    def start(self) -> WorkerPool:
        _LIVE_CLAIMS.add(self.claim)
        recover(self.engine)
        if self.workers > 0:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="tryggplan-jobs")
            self._thread.start()
        return self

    def wake(self) -> None:
        """Look at the queue now (a job was just queued or cancelled)."""
        self._wake.set()

    def stop(self, drain_seconds: float) -> list[int]:
        """Take no more jobs; give running ones ``drain_seconds`` to finish, then stop them and mark them
        failed. Returns the ids of the jobs stopped."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        deadline = time.monotonic() + drain_seconds
        while self._running and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        stopped = []
        for job_id, running in list(self._running.items()):
            self._kill(running.process)
            if queue.finish(
                self.engine,
                job_id,
                self.claim,
                "failed",
                error=f"stopped: the server shut down before the job finished (drain time {drain_seconds:g} s)",
                error_kind="busy",
            ):
                _end_ref(self.engine, running.job, "failed", INTERRUPTED)
            stopped.append(job_id)
        self._running.clear()
        _LIVE_CLAIMS.discard(self.claim)
        return stopped

    @property
    def running_ids(self) -> list[int]:
        return sorted(self._running)

    # -- the loop

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick()
            except SQLAlchemyError as exc:  # the database is away for a moment: try again next tick
                log.warning("job pool: database error %s; retrying", type(exc).__name__)
            except Exception:  # noqa: BLE001 - the pool must outlive any one bad moment
                log.error("job pool error:\n%s", traceback.format_exc())
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _tick(self) -> None:
        self._reap()
        self._cancel_requested()
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_SECONDS:
            queue.heartbeat(self.engine, self.claim, list(self._running))
            self._last_beat = now
        if now - self._last_sweep >= STALE_SECONDS:
            recover(self.engine)
            self._last_sweep = now
        while len(self._running) < self.workers and not self._stopping.is_set():
            job = queue.claim_next(self.engine, self.claim, self.kinds)
            if job is None:
                break
            self._start(job)

    def _start(self, job: JobRecord) -> None:
        process = _context().Process(
            target=_child,
            args=(job.id, self.claim, self.options, os.getpid()),
            name=f"tryggplan-job-{job.id}",
            daemon=False,
        )
        try:
            process.start()
        except OSError as exc:  # no memory or processes left: the job fails, the pool goes on
            queue.finish(self.engine, job.id, self.claim, "failed", error=f"could not start: {exc}", error_kind="busy")
            _end_ref(self.engine, job, "failed", f"could not start: {exc}")
            return
        self._running[job.id] = _Running(job, process)
        self._event("started", job)

    def _reap(self) -> None:
        for job_id, running in list(self._running.items()):
            if running.process.is_alive():
                continue
            running.process.join(timeout=1)
            code = running.process.exitcode
            found = queue.get_job(self.engine, job_id)
            if found.status == "running":  # the child ended without recording an outcome
                why = "killed, e.g. out of memory" if code is not None and code < 0 else "it crashed"
                reason = f"the job's process ended unexpectedly (exit code {code}: {why})"
                if queue.finish(self.engine, job_id, self.claim, "failed", error=reason, error_kind="internal"):
                    _end_ref(self.engine, found, "failed", reason)
                found = queue.get_job(self.engine, job_id)
            del self._running[job_id]
            self._event(found.status, found)

    def _cancel_requested(self) -> None:
        for job in queue.cancelled_running(self.engine, self.claim):
            running = self._running.get(job.id)
            if running is not None:
                self._kill(running.process)
                del self._running[job.id]
            reason = job.error or "cancelled"
            if queue.finish(self.engine, job.id, self.claim, "cancelled", error=reason, error_kind="cancelled"):
                _end_ref(self.engine, job, "cancelled", reason)
            self._event("cancelled", job)

    @staticmethod
    def _kill(process: BaseProcess) -> None:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()
            process.join(timeout=2)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)

    def _event(self, what: str, job: JobRecord) -> None:
        if self.on_event is not None:
            self.on_event(what, job)
