"""Evaluation: rolling-origin backtests of forecast models against baselines and peers, and "did the
walks work?".

``tryggplan backtest`` runs :func:`backtest` on a file's incidents and writes its outputs to a folder;
``POST /api/v1/backtests`` stores a job that :func:`run_backtest` runs on the stored incidents with
the same function and keeps the summary, metrics and report.

``tryggplan evaluate walks`` and ``GET /api/v1/evaluation/walks`` both call :func:`evaluate_walks`:
the completed walks (or the guard shifts worked) against the forecasts their plans were made from
(:func:`tryggplan.reporting.evaluation.evaluate_coverage`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from tryggplan.allocation.spec import Effects
from tryggplan.domain import DEFAULT_TZ, InvalidInputError, NotFoundError, TryggplanError
from tryggplan.forecasting import evaluation
from tryggplan.forecasting.evaluation.harness import BacktestResult
from tryggplan.forecasting.registry import resolve_name
from tryggplan.i18n import check_lang
from tryggplan.reporting.evaluation import evaluate_coverage
from tryggplan.spreadsheet import frame_csv
from tryggplan.storage import backtests as jobs
from tryggplan.storage import forecasts as runs
from tryggplan.storage import incidents as stored
from tryggplan.storage import plans as stored_plans
from tryggplan.storage import reports as stored_reports
from tryggplan.storage.records import BacktestRecord
from tryggplan.timeutil import check_tz
from tryggplan.usecases import reports
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
    places_frame: pd.DataFrame | None = None,
    categories: dict[str, list[str]] | list[str] | None = None,
    weighted: bool = False,
) -> BacktestResult:
    """Rolling-origin evaluation of ``models`` on ``incidents`` (see
    :func:`tryggplan.forecasting.evaluation.backtest` for the parameters). ``places_frame`` (with
    ``municipality``) scores per town and gives each municipality its own ``categories``."""
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
        places=places_frame if places_frame is not None else places,
        audit=audit,
        workers=workers,
        categories=categories,
        weighted=weighted,
    )


def write_backtest(result: BacktestResult, out: Path, plots: bool = True) -> dict[str, Any]:
    """Write summary.json, metrics.csv, report.md (and plots) into ``out``; returns the summary."""
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} is a file: give a directory")
    summary = evaluation.write_report(result, out, default="default", plots=plots)
    _neutralise_csv(out / "metrics.csv")
    return summary


def _neutralise_csv(path: Path) -> None:
    """Rewrite a CSV the evaluation wrote so a spreadsheet reads it as data: place ids and model names
    come from the incidents (a place id ``=HYPERLINK(...)`` must not become a formula)."""
    if path.exists():
        frame = pd.read_csv(path)
        path.write_text(frame_csv(frame), encoding="utf-8", newline="")


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
            _neutralise_csv(out / "metrics.csv")
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


# --------------------------------------------------------------------------- did the walks work?

SHIFT_KINDS: tuple[str, ...] = ("night_walk", "guard")


def assumed_effect(engine: Engine, kind: str) -> float:
    """The effect the newest resources spec assumes for ``kind`` [0-1] (``effects.walk`` or
    ``effects.guard``), else the spec's documented default: the prior the evaluation updates."""
    default = Effects()
    try:
        spec = stored_plans.get_resources(engine).spec
        effects = Effects.model_validate(spec.get("effects") or {})
    except (NotFoundError, ValueError):
        effects = default
    value = effects.walk if kind == "night_walk" else effects.guard
    if not 0 < value < 1:  # the update needs an effect strictly between none and all
        value = default.walk if kind == "night_walk" else default.guard
    return float(value)


def evaluate_walks(
    engine: Engine,
    *,
    kind: str = "night_walk",
    municipalities: Sequence[str] | None = None,
    tz: str = DEFAULT_TZ,
    lang: str = "sv",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Did the walks (``kind="night_walk"``) or the guards (``"guard"``) work? The completed walks with
    their plan shifts (:func:`tryggplan.usecases.reports.walk_records`) and the guard shifts of the
    plans in force that have ended (both kinds: neither serves as comparison), the incidents at their
    places, and the forecasts their plans were made from (the newest plan's first), up to the newest
    stored incident (or ``now``). Returns :class:`tryggplan.reporting.evaluation.CoverageEvaluation`'s
    dict (figures and ``text`` in ``lang``) plus ``municipalities``, ``until``, ``forecast_run_ids``."""
    language = check_lang(lang)
    check_tz(tz)
    if kind not in SHIFT_KINDS:
        raise InvalidInputError(f"kind {kind!r} is not one of {list(SHIFT_KINDS)}")
    scope = reports.check_municipalities(engine, municipalities)
    moment = reports.now_utc(now)
    plans = stored_reports.plans_for_weeks(engine)
    run_of_plan = {p.id: p.forecast_run_id for p in plans}
    done: list[tuple[dict[str, Any], int | None, int | None]] = []  # shift, plan id, forecast run id
    for walk in reports.walk_records(engine):
        shift = walk.shift()
        if walk.status == "completed" and shift is not None:
            done.append((shift, walk.plan_id, run_of_plan.get(walk.plan_id) if walk.plan_id is not None else None))
    for item in reports.guard_shifts_worked(reports.shifts_in_force(plans), moment):
        done.append((item.shift, item.plan_id, item.forecast_run_id))
    if scope is not None:
        in_scope = set(stored.read_places(engine, municipality=scope)["place_id"].astype(str))
        done = [
            ({**s, "place_ids": [p for p in s["place_ids"] if p in in_scope]}, plan, run)
            for s, plan, run in done
            if any(p in in_scope for p in s["place_ids"])
        ]
    if not any(s.get("kind") == kind for s, _, _ in done):
        what = "completed night walks with their plan shifts" if kind == "night_walk" else "guard shifts worked"
        where = f" in {', '.join(scope)}" if scope else ""
        raise InvalidInputError(f"no {what}{where} are recorded yet: there is nothing to evaluate")
    last = stored_reports.last_incident_at(engine, scope)
    if last is None:
        raise InvalidInputError("no incidents stored: import the incidents before evaluating the walks")
    until = min(pd.Timestamp(last).floor("h") + pd.Timedelta(hours=1), moment)
    # the forecasts the plans were made from, the newest plan's first (it wins where forecasts overlap)
    order = sorted({(plan, run) for _, plan, run in done if run is not None and plan is not None}, reverse=True)
    run_ids = list(dict.fromkeys(run for _, run in order))
    place_ids = sorted({p for s, _, _ in done for p in s["place_ids"]})
    grids = [
        g for g in (runs.read_grid(engine, runs.get_run(engine, r), place_ids=place_ids) for r in run_ids) if len(g)
    ]
    if not grids:
        raise InvalidInputError("the forecasts the plans were made from hold none of the walked places")
    start = min(pd.Timestamp(g["slot_start"].min()) for g in grids)
    end = max(pd.Timestamp(g["slot_start"].max()) for g in grids) + pd.Timedelta(hours=1)
    incidents = stored.read_incidents(engine, start=start, end=end, place_ids=place_ids)
    effect = assumed_effect(engine, kind)
    result = evaluate_coverage(
        [s for s, _, _ in done],
        incidents,
        grids,
        kind=kind,  # type: ignore[arg-type]
        tz=tz,
        until=until,
        prior=effect,
    )
    return {
        **result.to_dict(language),
        "municipalities": scope,
        "until": until.tz_convert(tz).isoformat(),
        "forecast_run_ids": run_ids,
        "lang": language,
    }
