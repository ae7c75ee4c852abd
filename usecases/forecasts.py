"""Forecasts: train a model on the incidents before a start day and predict the risk grid; store
runs; read a run's grid and the views dashboards ask for (heatmap, windows, daily totals, GeoJSON).

The history window is defined once (:func:`history_window`): the local days from the first incident
up to the start day (or the day after the last incident, when that is earlier). The CLI forecasts
from a file, the API from the stored incidents; both call :func:`forecast_grid`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from tryggplan.calendar import SwedishCalendar
from tryggplan.counts import hourly_count_matrix
from tryggplan.domain import DEFAULT_TZ, InvalidInputError, NotFoundError, TryggplanError
from tryggplan.forecasting.grid import high_risk_windows, hour_of_week_heatmap
from tryggplan.forecasting.parallel import fit_predict_groups
from tryggplan.forecasting.registry import resolve_name
from tryggplan.i18n import Lang
from tryggplan.spreadsheet import frame_csv
from tryggplan.storage import forecasts as runs
from tryggplan.storage import gridfiles
from tryggplan.storage import incidents as stored
from tryggplan.storage import places as stored_places
from tryggplan.storage.records import ForecastRunRecord, PlaceRecord
from tryggplan.storage.scope import Scope
from tryggplan.timeutil import check_tz, local_midnight
from tryggplan.usecases.moments import LAST_DATE, check_date, parse_time
from tryggplan.usecases.places import category_selection, place_id_of, places_with_areas

log = logging.getLogger("tryggplan.usecases.forecasts")

ParallelEngine = Literal["local", "dask"]
MAX_DAYS = 92


def check_horizon(start: dt.date, days: int) -> None:
    """A forecast of local days ``[start, start + days)``: ``days`` in 1..:data:`MAX_DAYS` and every day
    within :func:`check_date`'s range (422 at the request, not an overflow in the job)."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInputError(f"days must be 1..{MAX_DAYS}, got {days}")
    check_date(start, "start")
    if start + dt.timedelta(days=days - 1) > LAST_DATE:
        raise InvalidInputError(
            f"a forecast of {days} days from {start} runs past {LAST_DATE}, the last date tryggplan handles: "
            "start earlier or forecast fewer days"
        )


# --------------------------------------------------------------------------- training and prediction


def history_window(incidents: pd.DataFrame, start: dt.date, tz: str) -> tuple[dt.date, dt.date]:
    """Local days ``[first, end)`` a forecast starting ``start`` learns from: from the first incident
    to ``start``, or to the day after the last incident when that comes first."""
    local = incidents["occurred_at"].dt.tz_convert(tz)
    first = local.min().date()
    end = min(local.max().date() + dt.timedelta(days=1), start)
    return first, end


def forecast_grid(
    incidents: pd.DataFrame,
    start: dt.date,
    days: int = 14,
    *,
    tz: str = DEFAULT_TZ,
    model: str = "default",
    places: pd.DataFrame | None = None,
    group_by: str | None = None,
    engine: ParallelEngine = "local",
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    categories: dict[str, list[str]] | list[str] | None = None,
    weighted: bool = False,
) -> pd.DataFrame:
    """The risk grid for local days ``[start, start + days)`` from the incidents before ``start``.

    Parameters
    ----------
    incidents : canonical incidents (``occurred_at`` tz-aware)
    places : canonical places; places without incidents are forecast too (``None``: the incidents' places)
    group_by : a places column (e.g. ``municipality``): fit each group of places separately
    engine, scheduler : fit the groups serially or on Dask (a local cluster, or the scheduler's)
    categories : count only these categories (a list), or each municipality's (a mapping; the places'
        ``municipality`` says which applies), e.g. the night-walk group
    weighted : sum the incidents' ``weight`` instead of counting them
    """
    check_tz(tz)
    resolve_name(model)
    check_horizon(start, days)
    if engine not in ("local", "dask"):
        raise InvalidInputError(f"engine {engine!r}: use local or dask")
    before = incidents[incidents["occurred_at"] < local_midnight(start, tz)] if len(incidents) else incidents
    if before.empty:
        first = f" (the first is on {incidents['occurred_at'].min().tz_convert(tz).date()})" if len(incidents) else ""
        raise InvalidInputError(
            f"no incidents before {start} to learn from{first}: forecast a later period or import earlier incidents"
        )
    history_start, history_end = history_window(before, start, tz)
    known = set(places["place_id"].astype(str)) if places is not None else set()
    all_places = sorted(set(before["place_id"].astype(str)) | known)
    groups = _groups(all_places, places, group_by)
    town_of = (
        {str(p): str(m or "") for p, m in zip(places["place_id"], places["municipality"], strict=True)}
        if places is not None and "municipality" in places.columns
        else None
    )
    if isinstance(categories, dict) and town_of is not None:
        town_of.update({p: "" for p in all_places if p not in town_of})
    matrices = {
        g: hourly_count_matrix(
            before,
            tz,
            history_start,
            history_end,
            places=ids,
            weighted=weighted,
            categories=categories,
            municipality_of=town_of if isinstance(categories, dict) else None,
        )
        for g, ids in groups.items()
    }
    return fit_predict_groups(
        matrices,
        model,
        start,
        days,
        SwedishCalendar(tz=tz),
        engine=engine,
        scheduler=scheduler,
        progress=progress,
        places=places,
    )


def _groups(place_ids: list[str], places: pd.DataFrame | None, group_by: str | None) -> dict[str, list[str]]:
    if not group_by:
        return {"all": place_ids}
    if places is None or group_by not in places.columns:
        raise InvalidInputError(f"--group-by {group_by} needs places with a {group_by!r} column (--places FILE)")
    key = places.set_index("place_id")[group_by].astype(str).reindex(place_ids).fillna("")
    return {g: list(ids.index) for g, ids in key.groupby(key, sort=True)}


# --------------------------------------------------------------------------- stored runs


def start_run(
    engine: Engine,
    *,
    model: str,
    start: dt.date,
    days: int,
    tz: str,
    municipality: str | None,
    actor: str,
    category_group: str | None = None,
    weighted: bool = False,
) -> ForecastRunRecord:
    """A queued run; :func:`run_forecast` (a background job) trains it. ``category_group`` counts only
    that group's categories (each municipality's own group), ``weighted`` sums the weights."""
    check_tz(tz)
    resolve_name(model)
    check_horizon(start, days)
    if municipality is not None and not stored_places.has_municipality(engine, municipality):
        raise NotFoundError(f"no places in municipality {municipality[:80]!r}: see GET /api/v1/places")
    if category_group is not None:
        category_selection(engine, category_group, places_with_areas(engine, municipality))
    return runs.new_run(engine, model, start, days, tz, municipality, actor, category_group, weighted)


def replacement_warning(
    engine: Engine, start: dt.date, days: int, tz: str, now: dt.datetime | None = None, municipality: str | None = None
) -> str | None:
    """What a new run of ``[start, start + days)`` would do to ``latest`` when it finishes, when that
    is worth a warning: it would replace a run trained on later incidents (``None`` otherwise).

    The new run becomes ``latest`` (:func:`tryggplan.storage.forecasts.latest_run`) when its horizon
    covers ``now``, or when the current ``latest`` does not either; it learns from the incidents
    before local midnight of ``start``. A run for one ``municipality`` competes with that town's
    ``latest`` only; an area-wide one with the area's."""
    now = now or dt.datetime.now(dt.UTC)
    current = runs.latest_run(engine, now, [municipality] if municipality is not None else None)
    if current is None or current.trained_until is None:
        return None
    today = now.astimezone(ZoneInfo(tz)).date()
    becomes_latest = start <= today < start + dt.timedelta(days=days) or not runs.covers(current, now)
    learns_until = local_midnight(start, tz)
    if not becomes_latest or pd.Timestamp(current.trained_until) <= learns_until:
        return None
    return (
        f"this run learns from the incidents before {start} and will replace forecast {current.id} (trained "
        f"until {pd.Timestamp(current.trained_until).tz_convert(tz):%Y-%m-%d %H:%M}) as latest for every "
        f"dashboard, although that one was trained on later incidents; start at {today} to forecast from "
        "the newest incidents"
    )


def run_forecast(engine: Engine, run_id: int, grid_dir: str | None = None) -> None:
    """Train the run's model on the stored incidents and store its risk grid (and, with ``grid_dir``,
    its columnar copy for window reads). Never raises: a failure ends the run as ``failed`` with a
    one-line reason (the traceback goes to the log, without data)."""
    run = runs.mark_running(engine, run_id)
    if run is None:
        return
    try:
        incidents = stored.read_incidents(engine, municipality=run.municipality)
        places = places_with_areas(engine, run.municipality)
        categories = category_selection(engine, run.category_group, places)[0] if run.category_group else None
        grid = forecast_grid(
            incidents,
            run.start_date,
            run.days,
            tz=run.tz,
            model=run.model,
            places=places if len(places) else None,
            categories=categories,
            weighted=run.weighted,
        )
        runs.store_grid(engine, run_id, grid, Path(grid_dir) if grid_dir else None)
    except Exception as exc:  # noqa: BLE001 - a job must always end in a state the client can read
        runs.mark_failed(engine, run_id, job_failure(exc, f"forecast run {run_id}"))


def job_failure(exc: BaseException, what: str) -> str:
    """The one-line reason a background job stores; unexpected errors are logged with their traceback."""
    if isinstance(exc, TryggplanError | ValueError):
        return " ".join(str(exc).split())[:1000]
    log.error("%s failed: %s\n%s", what, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
    return f"internal error ({type(exc).__name__}): see the server log"


def list_runs(engine: Engine, limit: int = 50) -> list[ForecastRunRecord]:
    return runs.list_runs(engine, limit)


def get_run(engine: Engine, ref: str, done: bool = True, municipalities: list[str] | None = None) -> ForecastRunRecord:
    """A run by id or ``latest`` (for a read of one municipality: the newest run of it or of the whole
    area; for an area-wide read: the newest area-wide run, :func:`tryggplan.storage.forecasts.latest_run`)."""
    return runs.get_run(engine, ref, done=done, municipalities=municipalities)


def readable_run(run: ForecastRunRecord, scope: Scope) -> ForecastRunRecord:
    """``run`` when ``scope`` may read it (403 otherwise, not saying whose it is): a run of one
    municipality for that municipality's callers; an area-wide run for everyone, who read it through
    their places only."""
    if run.municipality is not None:
        scope.check_row(run.municipality, f"forecast {run.id}")
    return run


# --------------------------------------------------------------------------- reading a run


@dataclass(frozen=True)
class GridSelection:
    """A finished run and (part of) its risk grid: ``cells`` as read (arrays sorted by place and slot),
    ``grid`` the contract's frame of them (built on first use)."""

    run: ForecastRunRecord
    cells: gridfiles.Cells

    @cached_property
    def grid(self) -> pd.DataFrame:
        return runs.grid_frame(self.cells, self.run)

    @property
    def meta(self) -> dict[str, Any]:
        """Provenance every forecast payload carries."""
        return {
            "run_id": self.run.id,
            "model": self.run.model,
            "model_version": self.run.model_version,
            "trained_until": self.run.trained_until,
            "generated_at": self.run.generated_at,
            "tz": self.run.tz,
        }


def grid_folder(engine: Engine, configured: Path | None = None) -> Path:
    """Where finished runs' grids are kept in columnar form: ``configured``, else beside a SQLite
    database (a ``grids`` folder), else a folder of the temporary directory
    (:func:`tryggplan.storage.gridfiles.default_dir`)."""
    return configured if configured is not None else gridfiles.default_dir(engine)


def select_grid(
    engine: Engine,
    run_ref: str,
    *,
    place_ids: list[str] | None = None,
    municipalities: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    grid_dir: Path | None = None,
) -> GridSelection:
    """The finished run ``run_ref`` (an id or ``latest``: the newest one covering ``municipalities``) and
    its grid filtered by places, municipalities and the local time range ``[start, end)`` (dates or ISO
    times in the run's zone). With ``grid_dir`` the grid is read from the run's columnar file (O(rows
    returned), :func:`grid_folder`)."""
    run = runs.get_run(engine, run_ref, municipalities=municipalities)
    t0 = parse_time(start, run.tz, "start")
    t1 = parse_time(end, run.tz, "end")
    ids = [place_id_of(p) for p in place_ids] if place_ids else place_ids
    return GridSelection(run, runs.read_cells(engine, run, ids, municipalities, t0, t1, grid_dir=grid_dir))


def heatmap(selection: GridSelection) -> list[dict[str, Any]]:
    """Hour-of-week profile: per local weekday (0 = Monday) and hour, the expected count summed over the
    places, averaged over the dates [incidents/h]."""
    if selection.grid.empty:
        return []
    table = hour_of_week_heatmap(selection.grid, selection.run.tz)
    return [
        {"weekday": day, "hour": int(hour), "expected": float(table.iat[day, hour])}
        for day in range(7)
        for hour in range(24)
        if not np.isnan(table.iat[day, hour])
    ]


def grid_windows(
    grid: pd.DataFrame,
    *,
    tz: str,
    place_names: dict[str, str] | None = None,
    levels: list[str] | None = None,
    max_gap_hours: int = 0,
    town_of: dict[str, str] | None = None,
    town_rates: dict[str, float] | None = None,
    lang: Lang = "en",
) -> pd.DataFrame:
    """Neighbouring high-risk hours of a place merged into windows ("Torget, Fri 21:00–02:00, 0.9
    expected (80% range 0–2, at least one: 59%)"), largest expected count first, keeping only windows
    whose expected count is meaningful against the town's base rate
    (:func:`tryggplan.forecasting.grid.high_risk_windows`).

    ``town_of`` maps places to municipalities; ``town_rates`` are the towns' base rates over the whole
    forecast when ``grid`` is only part of it."""
    return high_risk_windows(
        grid,
        levels=levels or ["high"],
        tz=tz,
        place_names=place_names,
        max_gap_hours=max_gap_hours,
        groups=town_of,
        base_rates=town_rates,
        lang=lang,
    )


def windows(
    engine: Engine,
    selection: GridSelection,
    levels: list[str] | None = None,
    max_gap_hours: int = 0,
    lang: Lang = "en",
) -> list[dict[str, Any]]:
    """The high-risk windows of a selection (:func:`grid_windows`), named by the places' names, labelled
    in ``lang`` (``sv``: ``Stortorget, fre 4 dec 21:00–02:00, ...``)."""
    grid = selection.grid
    if grid.empty:
        return []
    ids = sorted(set(grid["place_id"].astype(str)))
    known = stored_places.list_places(engine, place_ids=ids)
    frame = grid_windows(
        grid,
        tz=selection.run.tz,
        place_names={p.place_id: p.name or p.place_id for p in known},
        levels=levels,
        max_gap_hours=max_gap_hours,
        town_of={p.place_id: p.municipality or "" for p in known},
        town_rates=runs.town_base_rates(engine, selection.run),
        lang=lang,
    )
    return [
        {
            "place_id": str(r.place_id),
            "name": str(r.name),
            "start": pd.Timestamp(r.start).to_pydatetime(),
            "end": pd.Timestamp(r.end).to_pydatetime(),
            "hours": int(r.hours),
            "expected": float(r.expected),
            "peak": float(r.peak),
            "night": r.night,
            "label": str(r.label),
            "p_any": float(r.p_any),
            "lo_80": int(r.lo_80),
            "hi_80": int(r.hi_80),
        }
        for r in frame.itertuples(index=False)
    ]


def grid_csv(grid: pd.DataFrame) -> str:
    """The risk grid as CSV (the contract's columns, times ISO 8601 with offset) that a spreadsheet reads
    as data: every text cell through :func:`tryggplan.spreadsheet.excel_safe` (a place id
    ``"\\r=7+7"`` does not become a formula), fields holding CR or LF quoted (:func:`frame_csv`)."""
    out = grid.copy()
    # ISO 8601 with offset, vectorised ("2026-12-04 21:00:00+01:00" -> "2026-12-04T21:00:00+01:00")
    out["slot_start"] = out["slot_start"].astype(str).str.replace(" ", "T", n=1, regex=False)
    for col in ("trained_until", "generated_at"):
        value = out[col].iloc[0] if len(out) else pd.NaT
        out[col] = "" if pd.isna(value) else pd.Timestamp(value).isoformat()
    return frame_csv(out)


def daily(selection: GridSelection) -> list[dict[str, Any]]:
    """Per place and local date: the expected count [incidents/day] and the number of high-risk hours."""
    grid = selection.grid
    if grid.empty:
        return []
    local = pd.DatetimeIndex(grid["slot_start"])
    frame = pd.DataFrame(
        {
            "place_id": grid["place_id"].to_numpy(),
            "date": local.date,
            "expected": grid["expected"].to_numpy(),
            "high": (grid["risk_level"] == "high").to_numpy(),
        }
    )
    out = frame.groupby(["place_id", "date"], as_index=False).agg(
        expected=("expected", "sum"), high_hours=("high", "sum")
    )
    return [
        {"place_id": str(p), "date": d, "expected": float(e), "high_hours": int(h)}
        for p, d, e, h in out.itertuples(index=False)
    ]


#: A place's level within its own town (``town_level``), by its expected total over the town's mean
#: place's: ``high`` from 1.5 times when also among the town's top fifth of places, ``elevated`` from 1.2.
TOWN_LEVEL_RATIOS: dict[str, float] = {"high": 1.5, "elevated": 1.2}
TOWN_HIGH_SHARE = 0.2


def town_levels(totals: dict[str, float], town_of: dict[str, str]) -> dict[str, tuple[str, float]]:
    """Each place's level within its own municipality and its ratio to the town's mean place.

    ``totals`` are the places' expected counts over a range [incidents]; ``ratio`` = total / mean total
    of the places of the same municipality. ``high``: a ratio of at least 1.5 and among the town's top
    fifth of places (so a town's few hot spots stand out whatever its size, and never most of a town);
    ``elevated``: a ratio of at least 1.2; else ``normal`` (a town with one place, or where nothing is
    expected, is ``normal`` throughout)."""
    by_town: dict[str, list[float]] = {}
    for place, total in totals.items():
        by_town.setdefault(town_of.get(place, ""), []).append(total)
    out: dict[str, tuple[str, float]] = {}
    for place, total in totals.items():
        values = by_town[town_of.get(place, "")]
        mean = float(np.mean(values))
        ratio = total / mean if mean > 0 else 0.0
        rank = sum(v > total for v in values)  # places of the town with more expected
        top = rank < max(1, math.ceil(TOWN_HIGH_SHARE * len(values)))
        if ratio >= TOWN_LEVEL_RATIOS["high"] and top:
            level = "high"
        elif ratio >= TOWN_LEVEL_RATIOS["elevated"]:
            level = "elevated"
        else:
            level = "normal"
        out[place] = (level, ratio)
    return out


def geojson(engine: Engine, selection: GridSelection) -> dict[str, Any]:
    """Places as GeoJSON points with the risk over the selected range as properties: ``expected_total``
    [incidents], ``expected_max`` [incidents/h], ``peak_slot``, ``high_hours``, ``risk_level`` (the
    highest level reached in any hour), ``town_level`` and ``town_ratio`` (the place's level within its
    own municipality, :func:`town_levels`: what the map colours by)."""
    grid = selection.grid
    meta = selection.meta
    ids = sorted(set(grid["place_id"].astype(str)))
    found = {p.place_id: p for p in stored_places.list_places(engine, place_ids=ids)} if ids else {}
    order = {"high": 2, "elevated": 1, "normal": 0}
    by_place = dict(iter(grid.groupby("place_id"))) if not grid.empty else {}
    levels = town_levels(
        {p: float(by_place[p]["expected"].sum()) for p in ids},
        {p: (found[p].municipality or "") if p in found else "" for p in ids},
    )
    features = []
    for place_id in ids:
        place = found.get(place_id) or PlaceRecord(place_id, None, None, None, None, None, None)
        g = by_place[place_id]
        peak = g.loc[g["expected"].idxmax()]
        props = {
            "place_id": place.place_id,
            "name": place.name,
            "municipality": place.municipality,
            "kind": place.kind,
            "area": place.area,
            "expected_total": float(g["expected"].sum()),
            "expected_max": float(g["expected"].max()),
            "peak_slot": pd.Timestamp(peak["slot_start"]).isoformat(),
            "p_any_max": float(g["p_any"].max()),
            "high_hours": int((g["risk_level"] == "high").sum()),
            "risk_level": max(g["risk_level"], key=lambda x: order.get(x, 0)),
            "town_level": levels[place_id][0],
            "town_ratio": round(levels[place_id][1], 3),
            "model": meta["model"],
            "model_version": meta["model_version"],
        }
        located = place.lat is not None and place.lon is not None and np.isfinite([place.lat, place.lon]).all()
        geometry = {"type": "Point", "coordinates": [place.lon, place.lat]} if located else None
        features.append({"type": "Feature", "id": place.place_id, "geometry": geometry, "properties": props})
    return {
        "type": "FeatureCollection",
        "features": features,
        "model": meta["model"],
        "model_version": meta["model_version"],
        "trained_until": _iso(meta["trained_until"]),
        "generated_at": _iso(meta["generated_at"]),
        "run_id": meta["run_id"],
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
