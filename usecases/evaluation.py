"""Evaluation: rolling-origin backtests of forecast models against baselines and peers.

``tryggplan backtest`` runs :func:`backtest` on a file's incidents and writes its outputs to a folder;
``POST /api/v1/backtests`` stores a job that :func:`run_backtest` runs on the stored incidents with
the same function and keeps the summary, metrics and report.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from tryggplan.domain import DEFAULT_TZ, InvalidInputError, TryggplanError
from tryggplan.forecasting import evaluation
from tryggplan.forecasting.evaluation.harness import BacktestResult
from tryggplan.forecasting.registry import resolve_name
from tryggplan.storage import backtests as jobs
from tryggplan.storage import incidents as stored
from tryggplan.storage.records import BacktestRecord
from tryggplan.timeutil import check_tz
from tryggplan.usecases.forecasts import job_failure

DEFAULT_MODELS: tuple[str, ...] = ("default", "how_mean", "place_only", "last_14_days", "seasonal_naive")


def check_models(names: Sequence[str]) -> list[str]:
    """The model names, each known to the registry; :class:`InvalidInputError` otherwise."""
    cleaned = [n.strip() for n in names if n.strip()]
    if not cleaned:
        raise InvalidInputError("no models named: name at least one model, e.g. default,how_mean")
    for name in cleaned:
        resolve_name(name)
    return cleaned


def backtest(
    incidents: pd.DataFrame,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    origins: int = 26,
    horizon_days: int = 7,
    step_days: int = 7,
    window: Literal["expanding", "sliding"] = "expanding",
    window_days: int | None = None,
    tz: str = DEFAULT_TZ,
    places: list[str] | None = None,
    engine: Literal["local", "dask"] = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    audit: bool = True,
    progress: bool = False,
) -> BacktestResult:
    """Rolling-origin evaluation of ``models`` on ``incidents`` (see
    :func:`tryggplan.forecasting.evaluation.backtest` for the parameters)."""
    check_tz(tz)
    if scheduler and engine != "dask":
        raise InvalidInputError("a scheduler address needs the dask engine (--engine dask)")
    if incidents.empty:
        raise InvalidInputError("no incidents to backtest on: import or give incidents first")
    return evaluation.backtest(
        incidents,
        models=check_models(models),
        origins=origins,
        horizon_days=horizon_days,
        step_days=step_days,
        window=window,
        window_days=window_days,
        tz=tz,
        engine=engine,
        scheduler=scheduler,
        progress=progress,
        places=places,
        audit=audit,
        workers=workers,
    )


def write_backtest(result: BacktestResult, out: Path, plots: bool = True) -> dict[str, Any]:
    """Write summary.json, metrics.csv, report.md (and plots) into ``out``; returns the summary."""
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} is a file: give a directory")
    return evaluation.write_report(result, out, default="default", plots=plots)


def start_backtest(engine: Engine, params: dict[str, Any], actor: str | None) -> BacktestRecord:
    """A queued backtest job on the stored incidents; :func:`run_backtest` runs it."""
    check_models(params.get("models") or [])
    return jobs.new_job(engine, params, actor)


def run_backtest(engine: Engine, job_id: int, tz: str) -> None:
    """Run a stored backtest job; never raises (a failure ends the job as ``failed`` with a reason)."""
    job = jobs.mark_running(engine, job_id)
    if job is None:
        return
    params = job.params
    try:
        incidents = stored.read_incidents(engine, municipality=params.get("municipality"))
        if incidents.empty:
            raise TryggplanError("no incidents stored: import incidents before running a backtest")
        places = list(stored.read_places(engine, municipality=params.get("municipality"))["place_id"]) or None
        result = backtest(
            incidents,
            models=params["models"],
            origins=params["origins"],
            horizon_days=params["horizon_days"],
            tz=tz,
            places=places,
        )
        with tempfile.TemporaryDirectory(prefix="tryggplan-backtest-") as tmp:
            out = Path(tmp)
            summary = evaluation.write_report(result, out, plots=False)
            metrics = _text(out / "metrics.csv")
            report = _text(out / "report.md")
        jobs.store_result(engine, job_id, summary, metrics, report)
    except Exception as exc:  # noqa: BLE001 - a job must always end in a state the client can read
        jobs.mark_failed(engine, job_id, job_failure(exc, f"backtest {job_id}"))


def get_backtest(engine: Engine, job_id: int, done: bool = False) -> BacktestRecord:
    """A job; with ``done``, one that has not finished is refused saying its state."""
    job = jobs.get_job(engine, job_id)
    if done and job.status != "done":
        raise InvalidInputError(
            f"backtest {job_id} is {job.status}" + (f" ({job.error})" if job.error else "") + ": wait until it is done"
        )
    return job


def list_backtests(engine: Engine, limit: int = 50) -> list[BacktestRecord]:
    return jobs.list_jobs(engine, limit)


def _text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None
