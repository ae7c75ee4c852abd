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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from tryggplan.allocation.spec import Effects
from tryggplan.domain import DEFAULT_TZ, InvalidInputError, NotFoundError, TryggplanError
from tryggplan.forecasting import evaluation
from tryggplan.forecasting.evaluation.harness import BacktestResult
from tryggplan.forecasting.registry import resolve_name
from tryggplan.i18n import Lang, check_lang, format_datetime, message, register_messages
from tryggplan.reporting.evaluation import evaluate_coverage, nothing_evaluated
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


def assumed_effect(engine: Engine, kind: str, municipality: str | None = None) -> float:
    """The effect the newest resources spec (of ``municipality`` when given and it has one) assumes for
    ``kind`` [0-1] (``effects.walk`` or ``effects.guard``), else the spec's documented default: the
    effect the "how many more walks" calculation asks to see, never a result."""
    default = Effects()
    try:
        own = stored_plans.newest_resources(engine, municipality) if municipality else None
        spec = (own or stored_plans.get_resources(engine)).spec
        effects = Effects.model_validate(spec.get("effects") or {})
    except (NotFoundError, ValueError):
        effects = default
    value = effects.walk if kind == "night_walk" else effects.guard
    if not 0 < value < 1:  # the power calculation needs an effect strictly between none and all
        value = default.walk if kind == "night_walk" else default.guard
    return float(value)


register_messages(
    {
        "evaluation.reason.no_show": {"sv": "uteblev: ingen vandring att jämföra", "en": "no-show: no walk to compare"},
        "evaluation.reason.cancelled": {
            "sv": "inställd: ingen vandring att jämföra",
            "en": "cancelled: no walk to compare",
        },
        "evaluation.reason.no_area": {
            "sv": "varken plan, erbjudande, återrapport eller område säger var den gick",
            "en": "neither a plan, an offer, a report-back nor an area says where it went",
        },
        "evaluation.reason.unknown_area": {
            "sv": "området {area} har inga platser",
            "en": "the area {area} has no places",
        },
        "evaluation.reason.after_data": {
            "sv": "efter att uppgifterna slutar ({until})",
            "en": "after the data end ({until})",
        },
        "evaluation.reason.no_forecast": {
            "sv": "ingen sparad prognos täcker den natten",
            "en": "no stored forecast covers that night",
        },
        "evaluation.reason.no_data": {
            "sv": "det finns inga händelser i databasen",
            "en": "the database holds no incidents",
        },
    }
)


def _in_scope(
    municipality: str | None, place_ids: Sequence[str], scope: Sequence[str] | None, places: set[str]
) -> bool:
    """Whether a walk or shift belongs to the municipalities in scope: by its own municipality (area
    names repeat across towns), else (a single-town ledger or plan) by its places."""
    if scope is None:
        return True
    if municipality:
        return municipality in scope
    return bool(set(map(str, place_ids)) & places)


def data_end(engine: Engine, scope: Sequence[str] | None) -> pd.Timestamp | None:
    """Where the incident data of ``scope`` end: the hour after the newest incident, anywhere in the
    database, of any source the scope's incidents come from (on the police feed: the feed's end, not
    the town's own last incident, so quiet weeks count). ``None``: no incidents in scope."""
    extents = stored_reports.incident_extents(engine)
    mine = [e for e in extents if scope is None or e.municipality in scope]
    if not mine:
        return None
    sources = {e.source for e in mine}
    newest = max(pd.Timestamp(e.last) for e in extents if e.source in sources)
    return newest.tz_convert("UTC").floor("h") + pd.Timedelta(hours=1)


@dataclass(frozen=True)
class _Done:
    """A walk recorded (or a guard shift worked) of the kind evaluated: its shift when its place-hours
    are known, the forecast it is compared against, and why it is left out (``None``: it is not)."""

    who: str
    night: dt.date
    municipality: str | None
    status: str
    shift: dict[str, Any] | None
    run: int | None
    reason: str | None
    area: str | None = None


def _newest_run(
    engine: Engine, night: dt.date, municipality: str | None, cache: dict[dt.date, list[int]]
) -> int | None:
    """The newest finished forecast of all incidents covering ``night`` for ``municipality`` (its own
    or an area-wide one): what a walk recorded without a plan is compared against."""
    if night not in cache:
        cache[night] = [
            run.id
            for run in (
                runs.get_run(engine, i)
                for i in stored_reports.runs_covering(engine, night, night + dt.timedelta(days=1))
            )
            if run.category_group is None and not run.weighted and run.municipality in (None, municipality)
        ]
    return cache[night][0] if cache[night] else None


def _walks_done(
    engine: Engine, scope: Sequence[str] | None, places: set[str], run_of_plan: dict[int, int]
) -> list[_Done]:
    """Every walk recorded in scope, with its place-hours where they can be known."""
    covering: dict[dt.date, list[int]] = {}
    out = []
    for walk in reports.walk_records(engine):
        if not _in_scope(walk.municipality, walk.place_ids, scope, places):
            continue
        shift = walk.shift()
        if walk.status != "completed":
            reason: str | None = walk.status
        elif shift is None:
            reason = walk.reason or "no_area"
        else:
            reason = None
        run = run_of_plan.get(walk.plan_id) if walk.plan_id is not None else None
        if run is None and shift is not None:
            run = _newest_run(engine, walk.night, walk.municipality, covering)
        out.append(_Done(walk.association, walk.night, walk.municipality, walk.status, shift, run, reason, walk.area))
    return out


def _guards_worked(
    shifts: Sequence[reports.ShiftInForce], scope: Sequence[str] | None, places: set[str], tz: str
) -> list[_Done]:
    return [
        _Done(str(g.shift.get("guard") or ""), g.start.tz_convert(tz).date(), g.municipality, "completed", g.shift,
              g.forecast_run_id, None)
        for g in shifts
        if _in_scope(g.municipality, g.shift["place_ids"], scope, places)
    ]  # fmt: skip


def _left_out(item: _Done, reason: str, until: pd.Timestamp | None, tz: str, lang: Lang) -> dict[str, Any]:
    values: dict[str, Any] = {"area": item.area or "?"}
    if until is not None:
        values["until"] = format_datetime(until.tz_convert(tz).isoformat(), lang, tz)
    return {
        "who": item.who,
        "night": item.night.isoformat(),
        "municipality": item.municipality,
        "status": item.status,
        "reason": reason,
        "text": message(f"evaluation.reason.{reason}", lang, **values),
    }


def evaluate_walks(
    engine: Engine,
    *,
    kind: str = "night_walk",
    municipalities: Sequence[str] | None = None,
    tz: str = DEFAULT_TZ,
    lang: str = "sv",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Did the walks (``kind="night_walk"``) or the guards (``"guard"``) work?

    Every walk recorded in the season ledgers of ``municipalities``
    (:func:`tryggplan.usecases.reports.walk_records`: with its plan shift, offer, report-back or area,
    wherever it was recorded) and the guard shifts of the published plans in force that have ended
    (both kinds: neither serves as comparison); the incidents at their places; the forecasts their
    plans were made from (the newest first where they overlap), and for a walk recorded without a plan
    the newest forecast covering its night; up to where the data end (:func:`data_end`, never after
    ``now``).

    Returns :class:`tryggplan.reporting.evaluation.CoverageEvaluation`'s dict (figures and ``text``
    in ``lang``) plus ``municipalities``, ``until`` (``None``: no incidents in scope) and
    ``forecast_run_ids``. ``shifts_given`` counts every walk recorded (or guard shift worked);
    ``not_evaluated`` lists each one not evaluated, ``{"who", "night", "municipality", "status",
    "reason", "text"}`` (reasons: ``no_show``, ``cancelled``, ``no_area``, ``unknown_area``,
    ``after_data``, ``no_forecast``, ``no_data``). Refused only when nothing of ``kind`` is recorded
    in scope at all."""
    language = check_lang(lang)
    check_tz(tz)
    if kind not in SHIFT_KINDS:
        raise InvalidInputError(f"kind {kind!r} is not one of {list(SHIFT_KINDS)}")
    scope = reports.check_municipalities(engine, municipalities)
    moment = reports.now_utc(now)
    places = set(stored.read_places(engine, municipality=scope)["place_id"].astype(str)) if scope else set()
    plans = stored_reports.plans_for_weeks(engine)
    run_of_plan = {p.id: p.forecast_run_id for p in plans}
    walks = _walks_done(engine, scope, places, run_of_plan)
    guards = _guards_worked(reports.guard_shifts_worked(reports.shifts_in_force(plans), moment), scope, places, tz)
    own, other = (walks, guards) if kind == "night_walk" else (guards, walks)
    if not own:
        what = "night walks" if kind == "night_walk" else "guard shifts worked"
        where = f" in {', '.join(scope)}" if scope else ""
        raise InvalidInputError(f"no {what}{where} are recorded yet: there is nothing to evaluate")
    end = data_end(engine, scope)
    until = None if end is None else min(end, pd.Timestamp(moment).tz_convert("UTC"))
    evaluable = [i for i in own if i.reason is None and i.shift is not None]
    others = [i.shift for i in other if i.reason is None and i.shift is not None]
    # the forecasts used, the newest first (it wins where forecasts overlap)
    run_ids = sorted({i.run for i in evaluable if i.run is not None}, reverse=True)
    place_ids = sorted({str(p) for i in evaluable for p in (i.shift or {}).get("place_ids", [])})
    grids = [
        g for g in (runs.read_grid(engine, runs.get_run(engine, r), place_ids=place_ids) for r in run_ids) if len(g)
    ]
    incidents = (
        stored.read_incidents(engine, place_ids=place_ids) if place_ids else stored.read_incidents(engine, limit=0)
    )
    effect = assumed_effect(engine, kind, scope[0] if scope is not None and len(scope) == 1 else None)
    left_out: list[dict[str, Any]] = []
    if evaluable:
        shifts: list[dict[str, Any]] = [i.shift for i in evaluable if i.shift is not None]
        result = evaluate_coverage(
            shifts + others,
            incidents,
            grids,
            kind=kind,  # type: ignore[arg-type]
            tz=tz,
            until=until,
            assumed_effect=effect,
        )
        left_out += [_left_out(evaluable[n["shift"]], n["reason"], until, tz, language) for n in result.not_evaluated]
    else:
        result = nothing_evaluated(kind, len(own), assumed_effect=effect)  # type: ignore[arg-type]
    left_out += [_left_out(i, str(i.reason), until, tz, language) for i in own if i.reason is not None]
    left_out.sort(key=lambda x: (x["night"], x["municipality"] or "", x["who"]))
    result = replace(result, shifts_given=len(own), not_evaluated=left_out)
    return {
        **result.to_dict(language),
        "municipalities": scope,
        "until": None if until is None else until.tz_convert(tz).isoformat(),
        "forecast_run_ids": run_ids,
        "lang": language,
    }
