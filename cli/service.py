"""CLI commands of the service: ``serve``, ``worker``, ``job list|cancel``, ``run-demo``."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from tryggplan.cli.common import DbOption, command_group, settings_for, stderr, stdout
from tryggplan.domain import InvalidInputError
from tryggplan.service.app import configure_logging, create_app
from tryggplan.service.settings import Settings
from tryggplan.usecases import forecasts, jobs
from tryggplan.usecases.demo import prepare_demo
from tryggplan.usecases.maintenance import database


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    job_app = command_group("Jobs of the worker pool: list and cancel.")
    app.add_typer(job_app, name="job")

    @job_app.command("list")
    def job_list(
        db: DbOption = None,
        active: Annotated[bool, typer.Option("--active", help="only queued and running jobs (all of them)")] = False,
        limit: Annotated[
            int | None,
            typer.Option(min=1, max=100_000, help="at most this many, newest first (default 50; --active: all)"),
        ] = None,
        offset: Annotated[int, typer.Option(min=0, help="skip this many first (page on through the list)")] = 0,
    ) -> None:
        """List jobs (forecast runs, backtests, plan solves): id, kind, status, owner, times, error. With
        --active every queued and running job; otherwise the newest 50 (page on with --offset)."""
        engine = database(settings_for(db).database_url)
        shown = limit if limit is not None else (None if active else 50)
        try:
            found = jobs.list_jobs(engine, active_only=active, limit=shown, offset=offset)
            total = jobs.count_jobs(engine, active_only=active)
        finally:
            engine.dispose()
        for j in found:
            ran = f"{j.started_at:%Y-%m-%d %H:%M:%S}Z" if j.started_at else "-"
            stdout.print(
                f"{j.id}\t{j.kind}\t{j.status}{' (cancel requested)' if j.cancel_requested else ''}\t{j.owner}\t"
                f"queued {j.created_at:%Y-%m-%d %H:%M:%S}Z\tstarted {ran}\t{j.error or ''}"
            )
        if not found:
            stderr.print("no jobs" if offset == 0 else f"no jobs after the first {offset} ({total} in all)")
        elif offset + len(found) < total:
            stderr.print(
                f"{offset + 1}-{offset + len(found)} of {total} jobs: the next with --offset {offset + len(found)}"
            )

    @job_app.command("cancel")
    def job_cancel(
        job_id: Annotated[int, typer.Argument(help="id from `tryggplan job list`")], db: DbOption = None
    ) -> None:
        """Cancel a job: a queued one at once, a running one within a second (its process is stopped)."""
        engine = database(settings_for(db).database_url)
        try:
            job = jobs.cancel_job(engine, job_id, "cli")
        finally:
            engine.dispose()
        state = "cancelled" if job.status == "cancelled" else "is running: it stops within a second"
        stdout.print(f"job {job.id} ({job.kind}) {state}")

    @app.command("worker")
    def worker(
        db: DbOption = None,
        workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="jobs run at once")] = 2,
        kinds: Annotated[
            str | None, typer.Option("--kinds", help="only these kinds, e.g. forecast,backtest (default all)")
        ] = None,
        drain_seconds: Annotated[
            float, typer.Option("--drain-seconds", min=0, help="on SIGTERM: time running jobs get to finish [s]")
        ] = 10.0,
    ) -> None:
        """Run queued jobs from the database until SIGTERM or Ctrl-C (a pool beside or instead of the
        server's: `serve` runs TRYGGPLAN_JOB_WORKERS jobs itself, 0 leaves them to workers)."""
        settings = settings_for(db)
        chosen = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
        for kind in chosen or ():
            if kind not in jobs.JOB_KINDS:
                raise InvalidInputError(f"--kinds {kind!r}: use {', '.join(jobs.JOB_KINDS)}")
        engine = database(settings.database_url)
        options = jobs.JobOptions(
            database_url=engine.url.render_as_string(hide_password=False),
            solver_time_limit=settings.solver_time_limit,
            grid_dir=str(forecasts.grid_folder(engine, settings.grid_dir)),
        )
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        pool = jobs.WorkerPool(engine, options, workers=workers, kinds=chosen).start()
        stdout.print(f"worker pool {pool.claim}: {workers} at a time, kinds {', '.join(chosen or ['all'])}")
        try:
            while not stop.wait(1.0):
                pass
        finally:
            stopped = pool.stop(drain_seconds)
            engine.dispose()
        stdout.print(f"worker pool stopped{f': {len(stopped)} running job(s) stopped' if stopped else ''}")

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
        db: DbOption = None,
    ) -> None:
        """Run the HTTP service (API under /api/v1, docs at /docs, dashboard at /)."""
        _serve(settings_for(db), host, port)

    @app.command("run-demo")
    def run_demo(
        dir: Annotated[Path, typer.Option("--dir", help="where the demo database and files go")] = Path("var/demo"),
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
        seed: Annotated[int, typer.Option(help="seed of the demo area")] = 7,
        model: Annotated[str, typer.Option(help="forecast model")] = "default",
        no_serve: Annotated[bool, typer.Option("--no-serve", help="prepare everything, do not serve")] = False,
    ) -> None:
        """The demo end to end: the four towns of LPO Köping (Kungsör, Arboga, Köping, Hallstahammar)
        imported, each with its resources and season; the forecast trained; each town's next week and the
        rest of this week planned; reader and coordinator tokens printed, then serve. Running it again
        reuses what exists (docs/demo.md)."""
        settings = settings_for(f"sqlite:///{(dir / 'tryggplan.db').resolve()}")
        summary = prepare_demo(
            dir, settings.database_url, tz=settings.tz, seed=seed, model=model, now=dt.datetime.now(dt.UTC)
        )
        for line in summary.lines():
            stdout.print(line)
        if summary.logins is not None:
            for line in summary.logins.lines(f"http://{host}:{port}"):
                stdout.print(line)
        if not no_serve:
            stdout.print(f"dashboard: http://{host}:{port}/?token={summary.reader_token}")
            _serve(settings, host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    common = {
        "host": host,
        "port": port,
        "log_level": settings.log_level,
        "proxy_headers": False,
        "server_header": False,
        # uvicorn's access log prints query strings, and the dashboard link carries ?token=...: the
        # service writes its own access log (method, path, status, duration; escaped) instead
        "access_log": False,
        # SIGTERM: requests in flight get the drain time, then the app's shutdown gives running jobs the
        # same time and stops what is left, so the server exits within about twice the drain time
        "timeout_graceful_shutdown": settings.drain_seconds,
    }
    if settings.http_workers == 1:
        configure_logging()
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    # several processes: each builds the app from the environment (the settings given here included)
    os.environ["TRYGGPLAN_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "tryggplan.service.app:app_from_environment",
        factory=True,
        workers=settings.http_workers,
        **common,  # type: ignore[arg-type]
    )
