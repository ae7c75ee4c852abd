"""Background jobs: forecast runs and backtests. Each job row moves queued -> running -> done|failed;
a failure stores a one-line reason (the traceback goes to the log, without input data).

The jobs call the libraries exactly as the CLI does: stored incidents ->
:func:`tryggplan.counts.hourly_counts` -> ``tryggplan.forecasting.registry.get_model(name).fit(counts)
.predict(start, days)``, and ``tryggplan.forecasting.evaluation`` for backtests.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, update
from sqlalchemy.orm import Session

from tryggplan.domain import TryggplanError
from tryggplan.storage.incidents import read_incidents, read_places
from tryggplan.storage.models import BacktestJob, ForecastRun, RiskCell, utcnow
from tryggplan.timeutil import local_midnight

log = logging.getLogger("tryggplan.service.jobs")


def fail_interrupted(engine: Engine) -> None:
    """Mark jobs left queued or running by a stopped server as failed (called on start)."""
    reason = "interrupted: the server stopped before the job finished; start it again"
    with Session(engine) as session, session.begin():
        for table in (ForecastRun, BacktestJob):
            session.execute(
                update(table)
                .where(table.status.in_(["queued", "running"]))
                .values(status="failed", error=reason, finished_at=utcnow())
            )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TryggplanError | ValueError):
        return " ".join(str(exc).split())[:1000]
    return f"internal error ({type(exc).__name__}): see the server log"


def training_counts(
    engine: Engine, start: dt.date, tz: str, municipality: str | None
) -> tuple[pd.DataFrame, list[str]]:
    """Hourly counts of the stored incidents before local ``start``, for all (selected) places."""
    from tryggplan.counts import hourly_counts

    places = read_places(engine, municipality=municipality)
    cutoff = local_midnight(start, tz)
    incidents = read_incidents(engine, end=cutoff, municipality=municipality)
    if incidents.empty:
        where = f" in {municipality}" if municipality else ""
        raise TryggplanError(f"no incidents stored before {start}{where}: import incidents first")
    place_ids = list(places["place_id"]) or sorted(incidents["place_id"].unique())
    first = incidents["occurred_at"].min().tz_convert(tz).date()
    last = incidents["occurred_at"].max().tz_convert(tz).date() + dt.timedelta(days=1)
    counts = hourly_counts(incidents, tz=tz, start=first, end=min(last, start), places=place_ids)
    return counts, place_ids


def run_forecast(engine: Engine, run_id: int) -> None:
    """Train the run's model on the stored incidents and store its risk grid."""
    from tryggplan.forecasting.registry import get_model

    with Session(engine) as session, session.begin():
        run = session.get(ForecastRun, run_id)
        if run is None:
            return
        run.status = "running"
        model_name, start, days, tz, municipality = (
            run.model,
            run.start_date,
            run.days,
            run.tz,
            run.municipality,
        )
    try:
        counts, _ = training_counts(engine, start, tz, municipality)
        model = get_model(model_name)
        grid = model.fit(counts).predict(start, days)
        rows = _cells(run_id, grid)
        with Session(engine) as session, session.begin():
            for i in range(0, len(rows), 5000):
                session.execute(insert(RiskCell), rows[i : i + 5000])
            run = session.get(ForecastRun, run_id)
            assert run is not None
            first = grid.iloc[0] if len(grid) else None
            run.model = str(first["model"]) if first is not None else model_name
            run.model_version = str(first["model_version"]) if first is not None else None
            run.trained_until = pd.Timestamp(first["trained_until"]).to_pydatetime() if first is not None else None
            run.generated_at = pd.Timestamp(first["generated_at"]).to_pydatetime() if first is not None else utcnow()
            run.status = "done"
            run.finished_at = utcnow()
    except Exception as exc:  # noqa: BLE001 - a job must always end in a state the client can read
        if not isinstance(exc, TryggplanError | ValueError):
            log.error(
                "forecast run %s failed: %s\n%s",
                run_id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
        with Session(engine) as session, session.begin():
            session.execute(
                update(ForecastRun)
                .where(ForecastRun.id == run_id)
                .values(status="failed", error=_reason(exc), finished_at=utcnow())
            )


def _cells(run_id: int, grid: pd.DataFrame) -> list[dict[str, Any]]:
    slots = pd.DatetimeIndex(grid["slot_start"]).tz_convert("UTC")
    return [
        {
            "run_id": run_id,
            "place_id": str(p),
            "slot_start": s.to_pydatetime(),
            "expected": float(e),
            "p_any": float(pa),
            "lo_80": int(lo),
            "hi_80": int(hi),
            "nb_alpha": float(a),
            "risk_level": str(r),
        }
        for p, s, e, pa, lo, hi, a, r in zip(
            grid["place_id"],
            slots,
            grid["expected"].to_numpy(dtype=float),
            grid["p_any"].to_numpy(dtype=float),
            grid["lo_80"].to_numpy(),
            grid["hi_80"].to_numpy(),
            np.asarray(grid["nb_alpha"], dtype=float),
            grid["risk_level"],
            strict=True,
        )
    ]


def run_backtest(engine: Engine, job_id: int, tz: str) -> None:
    """Rolling-origin evaluation of the stored incidents (``tryggplan.forecasting.evaluation``)."""
    with Session(engine) as session, session.begin():
        job = session.get(BacktestJob, job_id)
        if job is None:
            return
        job.status = "running"
        params = dict(job.params)
    try:
        from tryggplan.forecasting import evaluation

        incidents = read_incidents(engine, municipality=params.get("municipality"))
        if incidents.empty:
            raise TryggplanError("no incidents stored: import incidents before running a backtest")
        with tempfile.TemporaryDirectory(prefix="tryggplan-backtest-") as tmp:
            out = Path(tmp)
            places = list(read_places(engine, municipality=params.get("municipality"))["place_id"]) or None
            result = evaluation.backtest(
                incidents,
                models=params["models"],
                origins=params["origins"],
                horizon_days=params["horizon_days"],
                tz=tz,
                places=places,
            )
            summary = evaluation.write_report(result, out, plots=False)
            metrics = (out / "metrics.csv").read_text(encoding="utf-8") if (out / "metrics.csv").exists() else None
            report = (out / "report.md").read_text(encoding="utf-8") if (out / "report.md").exists() else None
        with Session(engine) as session, session.begin():
            job = session.get(BacktestJob, job_id)
            assert job is not None
            job.summary = summary
            job.metrics_csv = metrics
            job.report_md = report
            job.status = "done"
            job.finished_at = utcnow()
    except Exception as exc:  # noqa: BLE001 - a job must always end in a state the client can read
        if not isinstance(exc, TryggplanError | ValueError):
            log.error(
                "backtest %s failed: %s\n%s",
                job_id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
        with Session(engine) as session, session.begin():
            session.execute(
                update(BacktestJob)
                .where(BacktestJob.id == job_id)
                .values(status="failed", error=_reason(exc), finished_at=utcnow())
            )
