"""Jobs off the request path (issue 16, item 2): the queue in the database, its bounds (429 with
Retry-After), cancelling, recovery after a crash, plan solves through the pool, and the service
answering while jobs queue. Timing assertions are in the ``slow`` tests of
``tests/test_reliability_attack.py``."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.support import DEMO_WEEK, auth, finished
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage import jobs as queue
from tryggplan.storage.models import ForecastRun, Job, utcnow
from tryggplan.storage.tokens import create_token
from tryggplan.usecases import jobs


def _app(db: Path, **settings: Any) -> Any:
    return create_app(Settings(database_url=f"sqlite:///{db}", **settings))


@pytest.fixture
def idle(demo_db: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The demo town served with no worker pool: jobs stay queued."""
    app = _app(demo_db, job_workers=0, max_jobs_per_caller=2, max_queued_jobs=3, job_wait_seconds=0.2)
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = app.state.engine
        tokens = {
            name: auth(create_token(engine, role, name)[0])
            for name, role in (("ana", "analyst"), ("bo", "analyst"), ("coord", "coordinator"), ("admin", "admin"))
        }
        yield client, tokens
    app.state.engine.dispose()


FORECAST = {"model": "how_mean", "start": "2025-12-03", "days": 7}


def test_the_queue_is_bounded_per_caller_and_overall_with_retry_after(
    idle: tuple[TestClient, dict[str, str]],
) -> None:
    client, h = idle
    for _ in range(2):
        assert client.post("/api/v1/forecasts", json=FORECAST, headers=h["ana"]).status_code == 202
    r = client.post("/api/v1/forecasts", json=FORECAST, headers=h["ana"])
    assert r.status_code == 429
    assert r.json()["detail"] == (
        "this token has 2 jobs queued or running, the most one token may have (2): wait until one finishes "
        "(GET /api/v1/jobs) or cancel one, then try again"
    )
    # nothing has finished yet (30 s a job is assumed), 2 queued for 1 worker: 60 s
    assert r.headers["retry-after"] == str(r.json()["retry_after"]) == "60"
    # the refused request left nothing behind: two runs, two jobs
    assert len(client.get("/api/v1/forecasts", headers=h["ana"]).json()) == 1 + 2
    # another caller still has room, until the whole queue (3) is full
    assert client.post("/api/v1/backtests", json={"models": ["how_mean"]}, headers=h["bo"]).status_code == 202
    r = client.post("/api/v1/backtests", json={"models": ["how_mean"]}, headers=h["bo"])
    assert r.status_code == 429
    assert r.json()["detail"] == "the job queue is full (3 jobs queued or running, at most 3): try again in 90 s"
    # a plan solve queues the same way
    r = client.post("/api/v1/plans", json={"week": DEMO_WEEK}, headers=h["coord"])
    assert r.status_code == 429 and r.headers["retry-after"] == "90"


def test_a_queued_job_is_cancelled_at_once_and_a_finished_one_not(idle: tuple[TestClient, dict[str, str]]) -> None:
    client, h = idle
    run = client.post("/api/v1/forecasts", json=FORECAST, headers=h["ana"]).json()
    assert run["status"] == "queued" and run["job_id"] is not None
    # only the owner or an admin may see or cancel it
    other = client.post(f"/api/v1/jobs/{run['job_id']}/cancel", headers=h["bo"])
    assert other.status_code == 403
    assert (
        other.json()["detail"]
        == f"job {run['job_id']} is another caller's: only its owner or an admin of its town may see it"
    )
    r = client.post(f"/api/v1/jobs/{run['job_id']}/cancel", headers=h["ana"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["error"].startswith("cancelled by token:")
    after = client.get(f"/api/v1/forecasts/{run['id']}", headers=h["ana"]).json()
    assert after["status"] == "cancelled" and after["error"] == r.json()["error"]
    again = client.post(f"/api/v1/jobs/{run['job_id']}/cancel", headers=h["admin"])
    assert again.status_code == 409
    assert again.json()["detail"] == f"job {run['job_id']} is cancelled already: there is nothing to cancel"
    # the cancelled job frees the caller's place in the queue
    listed = client.get("/api/v1/jobs", params={"active": True}, headers=h["ana"]).json()
    assert listed == []


def test_a_plan_that_waits_longer_than_job_wait_seconds_answers_202_with_its_job(
    idle: tuple[TestClient, dict[str, str]],
) -> None:
    client, h = idle
    r = client.post("/api/v1/plans", json={"week": DEMO_WEEK}, headers=h["coord"])
    assert r.status_code == 202, r.text
    job = r.json()
    assert (job["kind"], job["status"]) == ("plan", "queued")
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=h["coord"]).json()] == [job["id"]]
    # a bad week is refused at the request, before anything is queued
    bad = client.post("/api/v1/plans", json={"week": "2025-W53"}, headers=h["coord"])
    assert bad.status_code == 422 and bad.json()["detail"] == "week '2025-W53' does not exist: 2025 has 52 ISO weeks"


def test_healthz_and_reads_answer_with_100_jobs_queued(demo_db: Path) -> None:
    """Functional half of item 2's "/healthz in under 1 s with 100 queued jobs" (the timing is in
    tests/test_reliability_attack.py, -m slow): the queue lives in the database, not in request slots."""
    app = _app(demo_db, job_workers=0, max_jobs_per_caller=100, max_queued_jobs=100)
    with TestClient(app, raise_server_exceptions=False) as client:
        h = auth(create_token(app.state.engine, "analyst", "many")[0])
        for _ in range(100):
            assert client.post("/api/v1/backtests", json={"models": ["how_mean"]}, headers=h).status_code == 202
        assert client.post("/api/v1/backtests", json={"models": ["how_mean"]}, headers=h).status_code == 429
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/places", headers=h).status_code == 200
        assert queue.count_active(app.state.engine) == {"queued": 100, "running": 0}
    app.state.engine.dispose()


def test_jobs_left_running_by_a_crash_fail_on_restart_and_queued_ones_run(demo_db: Path) -> None:
    """A server killed with jobs running: on restart those are failed (with their runs); a job still
    queued is run by the new server's pool."""
    app = _app(demo_db, job_workers=0)
    with TestClient(app) as client:
        h = auth(create_token(app.state.engine, "analyst", "crash")[0])
        running = client.post("/api/v1/forecasts", json=FORECAST, headers=h).json()
        waiting = client.post("/api/v1/forecasts", json=FORECAST, headers=h).json()
    engine = app.state.engine
    # what a pool on this host that was killed leaves behind: a claim of a process that is gone
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    claim = f"{socket.gethostname()}:{int(dead.stdout)}:deadbeef"
    now = utcnow()
    with Session(engine) as session, session.begin():
        session.execute(
            update(Job)
            .where(Job.id == running["job_id"])
            .values(status="running", claimed_by=claim, started_at=now, heartbeat_at=now)
        )
        session.execute(update(ForecastRun).where(ForecastRun.id == running["id"]).values(status="running"))
    engine.dispose()
    app = _app(demo_db, job_workers=1)
    with TestClient(app) as client:
        crashed = client.get(f"/api/v1/jobs/{running['job_id']}", headers=h).json()
        assert crashed["status"] == "failed"
        assert crashed["error"] == jobs.INTERRUPTED
        run = client.get(f"/api/v1/forecasts/{running['id']}", headers=h).json()
        assert (run["status"], run["error"]) == ("failed", jobs.INTERRUPTED)
        ran = finished(client, f"/api/v1/forecasts/{waiting['id']}", h)
        assert ran["status"] == "done", ran
    app.state.engine.dispose()


def test_a_job_whose_pool_stopped_beating_is_failed_and_a_live_one_kept(demo_db: Path) -> None:
    app = _app(demo_db, job_workers=0)
    engine = app.state.engine
    now = utcnow()
    rows = [
        {"kind": "plan", "status": "running", "params": {}, "owner": "t", "created_at": now, "started_at": now,
         "heartbeat_at": now - dt.timedelta(seconds=jobs.STALE_SECONDS + 5), "claimed_by": "elsewhere:1:aa",
         "cancel_requested": False},
        {"kind": "plan", "status": "running", "params": {}, "owner": "t", "created_at": now, "started_at": now,
         "heartbeat_at": now, "claimed_by": "elsewhere:2:bb", "cancel_requested": False},
    ]  # fmt: skip
    queue.add_jobs(engine, rows)
    assert jobs.recover(engine) == 1
    with Session(engine) as session:
        states = dict(session.execute(select(Job.claimed_by, Job.status)).all())
    assert states == {"elsewhere:1:aa": "failed", "elsewhere:2:bb": "running"}
    engine.dispose()


def test_a_running_job_is_cancelled_by_stopping_its_process(demo_db: Path) -> None:
    app = _app(demo_db, job_workers=1)
    with TestClient(app) as client:
        h = auth(create_token(app.state.engine, "analyst", "cancel")[0])
        # 30 origins of every default model: many seconds of work
        r = client.post(
            "/api/v1/backtests",
            json={"models": ["default", "how_mean", "last_14_days"], "origins": 30, "horizon_days": 7},
            headers=h,
        )
        backtest = r.json()
        pool: jobs.WorkerPool = app.state.job_pool
        deadline = time.monotonic() + 60
        # running in the database from its claim; in the pool once its process has started
        while backtest["job_id"] not in pool.running_ids:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.get(f"/api/v1/jobs/{backtest['job_id']}", headers=h).json()["status"] == "running"
        child = pool._running[backtest["job_id"]].process  # noqa: SLF001 - the process the pool started
        assert child.is_alive()
        r = client.post(f"/api/v1/jobs/{backtest['job_id']}/cancel", headers=h)
        assert r.status_code == 200 and r.json()["cancel_requested"] is True
        job = finished(client, f"/api/v1/jobs/{backtest['job_id']}", h, timeout=30)
        assert job["status"] == "cancelled"
        assert not child.is_alive()
        assert client.get(f"/api/v1/backtests/{backtest['id']}", headers=h).json()["status"] == "cancelled"
    app.state.engine.dispose()


def test_pid_liveness_is_what_recovery_reads() -> None:
    assert jobs._alive(os.getpid())  # noqa: SLF001
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert not jobs._alive(int(dead.stdout))  # noqa: SLF001


def test_tryggplan_worker_runs_the_queue_and_stops_on_sigterm(demo_db: Path, tmp_path: Path) -> None:
    """A server without a pool (``job_workers=0``) queues; ``tryggplan worker`` on the same database runs
    the jobs and stops cleanly on SIGTERM."""
    app = _app(demo_db, job_workers=0)
    with TestClient(app) as client:
        h = auth(create_token(app.state.engine, "analyst", "worker")[0])
        run = client.post("/api/v1/forecasts", json=FORECAST, headers=h).json()
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("tryggplan")), "worker", "--db", f"sqlite:///{demo_db}",
             "--workers", "1", "--kinds", "forecast"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            done = finished(client, f"/api/v1/forecasts/{run['id']}", h, timeout=120)
            assert done["status"] == "done", done
            # the run is done before its job records the result: the job is what to wait on for that
            job = finished(client, f"/api/v1/jobs/{run['job_id']}", h, timeout=30)
            assert job["status"] == "done" and job["result"] == {"forecast_run_id": run["id"]}
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0
            log.close()
    out = (tmp_path / "worker.log").read_text()
    assert "1 at a time, kinds forecast" in out and out.rstrip().endswith("worker pool stopped")
    app.state.engine.dispose()


def test_a_forecast_job_is_claimed_only_once_its_run_exists(demo_db: Path) -> None:
    """The job is queued before its run is stored (so a full queue refuses before anything is made): a
    pool must not take it in between, and one left without a run by a stopped request is failed."""
    app = _app(demo_db, job_workers=0)
    engine = app.state.engine
    old = utcnow() - dt.timedelta(seconds=jobs.STALE_SECONDS + 5)
    queue.add_jobs(
        engine,
        [
            {
                "kind": "forecast",
                "status": "queued",
                "params": {},
                "owner": "t",
                "created_at": old,
                "cancel_requested": False,
            }
        ],
    )
    assert queue.claim_next(engine, "test:1:x") is None
    plan = queue.enqueue(engine, "plan", {"week": DEMO_WEEK}, "t", per_caller=10, overall=10)
    claimed = queue.claim_next(engine, "test:1:x")
    assert claimed is not None and claimed.id == plan.id
    jobs.recover(engine)
    with Session(engine) as session:
        left = session.scalars(select(Job).where(Job.kind == "forecast")).one()
    assert (left.status, left.error) == ("failed", "the request that queued it stopped before its run was stored")
    engine.dispose()
