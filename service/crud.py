"""Database reads and writes behind the routes (no HTTP here: errors are ``LookupError`` -> 404 and
:class:`InvalidInputError` -> 422, mapped by the app)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytz
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tryggplan.domain import RISK_GRID_COLUMNS, InvalidInputError
from tryggplan.storage.models import (
    BacktestJob,
    ForecastRun,
    ImportRecord,
    Incident,
    Place,
    PlanRecord,
    ResourceSpec,
    RiskCell,
    WalkRecord,
    utcnow,
)
from tryggplan.timeutil import local_midnight

# --------------------------------------------------------------------------- time parameters


# pandas raises pytz's NonExistentTimeError / AmbiguousTimeError, which are not ValueErrors
_LOCALIZE_ERRORS = (ValueError, TypeError, OverflowError, pytz.NonExistentTimeError, pytz.AmbiguousTimeError)


def parse_time(value: str | None, tz: str, name: str) -> pd.Timestamp | None:
    """A query time: ``YYYY-MM-DD`` (local midnight) or ISO 8601 (local time if no offset)."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return local_midnight(dt.date.fromisoformat(text), tz)
        ts = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError) as exc:  # OutOfBoundsDatetime is a ValueError
        raise InvalidInputError(
            f"{name} {value[:40]!r} is not a date or time: write e.g. 2026-12-07 or 2026-12-07T18:00:00+01:00"
        ) from exc
    if ts is pd.NaT:
        raise InvalidInputError(f"{name} is empty: write e.g. 2026-12-07")
    if ts.tzinfo is None:
        try:
            ts = ts.tz_localize(tz, nonexistent="raise", ambiguous="raise")
        except _LOCALIZE_ERRORS as exc:
            raise InvalidInputError(
                f"{name} {value[:40]!r} does not exist or is ambiguous in {tz}: add the offset, e.g. +02:00"
            ) from exc
    return ts


# --------------------------------------------------------------------------- places


def place_dict(p: Place) -> dict[str, Any]:
    return {
        "place_id": p.place_id,
        "name": p.name,
        "municipality": p.municipality,
        "lat": p.lat,
        "lon": p.lon,
        "kind": p.kind,
        "area": p.area,
    }


def get_place(session: Session, place_id: str) -> Place:
    place = session.get(Place, place_id)
    if place is None:
        raise LookupError(f"no place {place_id[:80]!r}: see GET /api/v1/places")
    return place


def delete_place(session: Session, place_id: str) -> None:
    place = get_place(session, place_id)
    used = session.scalar(select(func.count()).select_from(Incident).where(Incident.place_id == place_id))
    if used:
        raise InvalidInputError(
            f"place {place_id[:80]!r} has {used} incident(s): it cannot be deleted while incidents refer to it"
        )
    session.delete(place)


# --------------------------------------------------------------------------- forecasts


def get_run(session: Session, ref: str, done: bool = True) -> ForecastRun:
    """A forecast run by id, or ``latest`` (the newest finished run)."""
    if ref == "latest":
        run = session.scalars(
            select(ForecastRun).where(ForecastRun.status == "done").order_by(ForecastRun.id.desc()).limit(1)
        ).first()
        if run is None:
            raise LookupError("no finished forecast yet: start one with POST /api/v1/forecasts")
        return run
    try:
        run_id = int(ref)
    except ValueError as exc:
        raise InvalidInputError(f"forecast id {ref[:40]!r} is not a number or 'latest'") from exc
    run = session.get(ForecastRun, run_id) if -(2**63) < run_id < 2**63 else None
    if run is None:
        raise LookupError(f"no forecast {run_id}: see GET /api/v1/forecasts")
    if done and run.status != "done":
        raise InvalidInputError(
            f"forecast {run_id} is {run.status}" + (f" ({run.error})" if run.error else "") + ": wait until it is done"
        )
    return run


def grid_frame(
    session: Session,
    run: ForecastRun,
    place_ids: list[str] | None = None,
    municipality: str | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The stored risk grid of ``run`` (columns of the contract; ``slot_start`` in the run's tz)."""
    stmt = select(
        RiskCell.place_id,
        RiskCell.slot_start,
        RiskCell.expected,
        RiskCell.p_any,
        RiskCell.lo_80,
        RiskCell.hi_80,
        RiskCell.nb_alpha,
        RiskCell.risk_level,
    ).where(RiskCell.run_id == run.id)
    if place_ids:
        stmt = stmt.where(RiskCell.place_id.in_(place_ids))
    if municipality is not None:
        stmt = stmt.where(RiskCell.place_id.in_(select(Place.place_id).where(Place.municipality == municipality)))
    if start is not None:
        stmt = stmt.where(RiskCell.slot_start >= start.tz_convert("UTC").to_pydatetime())
    if end is not None:
        stmt = stmt.where(RiskCell.slot_start < end.tz_convert("UTC").to_pydatetime())
    stmt = stmt.order_by(RiskCell.place_id, RiskCell.slot_start)
    rows = session.execute(stmt).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["place_id", "slot_start", "expected", "p_any", "lo_80", "hi_80", "nb_alpha", "risk_level"],
    )
    frame["slot_start"] = pd.to_datetime(frame["slot_start"], utc=True).dt.tz_convert(run.tz)
    for col in ("expected", "p_any", "nb_alpha"):
        frame[col] = frame[col].astype(float)
    for col in ("lo_80", "hi_80"):
        frame[col] = frame[col].astype(int)
    frame["model"] = run.model
    frame["model_version"] = run.model_version
    frame["trained_until"] = pd.Timestamp(run.trained_until).tz_convert(run.tz) if run.trained_until else pd.NaT
    frame["generated_at"] = pd.Timestamp(run.generated_at) if run.generated_at else pd.NaT
    return frame[list(RISK_GRID_COLUMNS)]


def run_meta(run: ForecastRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "model": run.model,
        "model_version": run.model_version,
        "trained_until": run.trained_until,
        "generated_at": run.generated_at,
        "tz": run.tz,
    }


def heatmap(grid: pd.DataFrame, tz: str) -> list[dict[str, Any]]:
    """Hour-of-week profile (:func:`tryggplan.forecasting.grid.hour_of_week_heatmap`): per local weekday and
    hour, the expected count summed over the places, averaged over the dates [incidents/h]."""
    from tryggplan.forecasting.grid import hour_of_week_heatmap

    if grid.empty:
        return []
    table = hour_of_week_heatmap(grid, tz)
    return [
        {"weekday": day, "hour": int(hour), "expected": float(table.iat[day, hour])}
        for day in range(7)
        for hour in range(24)
        if not np.isnan(table.iat[day, hour])
    ]


def windows(
    grid: pd.DataFrame, tz: str, names: dict[str, str], levels: list[str], max_gap_hours: int
) -> list[dict[str, Any]]:
    """Neighbouring high-risk hours per place merged into windows
    (:func:`tryggplan.forecasting.grid.high_risk_windows`), largest expected count first."""
    from tryggplan.forecasting.grid import high_risk_windows

    if grid.empty:
        return []
    frame = high_risk_windows(grid, levels=levels, tz=tz, place_names=names, max_gap_hours=max_gap_hours)
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
        }
        for r in frame.itertuples(index=False)
    ]


def daily(grid: pd.DataFrame) -> list[dict[str, Any]]:
    """Per place and local date: the expected count [incidents/day] and the number of high-risk hours."""
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


def geojson(grid: pd.DataFrame, places: list[Place], meta: dict[str, Any]) -> dict[str, Any]:
    """Places as GeoJSON points with risk properties summed over the grid's time range."""
    order = {"high": 2, "elevated": 1, "normal": 0}
    features = []
    by_place = {pid: g for pid, g in grid.groupby("place_id")} if not grid.empty else {}
    for place in places:
        g = by_place.get(place.place_id)
        if g is None:
            continue
        peak = g.loc[g["expected"].idxmax()]
        level = max(g["risk_level"], key=lambda x: order.get(x, 0))
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
            "risk_level": level,
            "model": meta["model"],
            "model_version": meta["model_version"],
        }
        geometry = (
            {"type": "Point", "coordinates": [place.lon, place.lat]}
            if place.lat is not None and place.lon is not None and np.isfinite([place.lat, place.lon]).all()
            else None
        )
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


def delete_run(session: Session, run: ForecastRun) -> None:
    session.execute(delete(RiskCell).where(RiskCell.run_id == run.id))
    session.delete(run)


# --------------------------------------------------------------------------- resources and plans


def get_resource(session: Session, resource_id: int | None) -> ResourceSpec:
    if resource_id is None:
        res = session.scalars(select(ResourceSpec).order_by(ResourceSpec.id.desc()).limit(1)).first()
        if res is None:
            raise LookupError("no resources spec stored yet: POST one to /api/v1/resources")
        return res
    res = session.get(ResourceSpec, resource_id) if 0 < resource_id < 2**63 else None
    if res is None:
        raise LookupError(f"no resources spec {resource_id}: see GET /api/v1/resources")
    return res


def get_plan(session: Session, ref: str) -> PlanRecord:
    """A plan by id, or ``current`` (the newest plan of this ISO week, else the newest plan)."""
    if ref == "current":
        week = "{}-W{:02d}".format(*dt.date.today().isocalendar()[:2])
        plan = session.scalars(
            select(PlanRecord).where(PlanRecord.week == week).order_by(PlanRecord.id.desc()).limit(1)
        ).first()
        plan = plan or session.scalars(select(PlanRecord).order_by(PlanRecord.id.desc()).limit(1)).first()
        if plan is None:
            raise LookupError("no plan yet: make one with POST /api/v1/plans")
        return plan
    try:
        plan_id = int(ref)
    except ValueError as exc:
        raise InvalidInputError(f"plan id {ref[:40]!r} is not a number or 'current'") from exc
    plan = session.get(PlanRecord, plan_id) if 0 < plan_id < 2**63 else None
    if plan is None:
        raise LookupError(f"no plan {plan_id}: see GET /api/v1/plans")
    return plan


def walks_of(session: Session, plan_id: int) -> list[WalkRecord]:
    return list(session.scalars(select(WalkRecord).where(WalkRecord.plan_id == plan_id).order_by(WalkRecord.id)))


# --------------------------------------------------------------------------- imports, backtests


def list_imports(session: Session, limit: int, offset: int) -> list[ImportRecord]:
    return list(session.scalars(select(ImportRecord).order_by(ImportRecord.id.desc()).limit(limit).offset(offset)))


def get_backtest(session: Session, job_id: int) -> BacktestJob:
    job = session.get(BacktestJob, job_id) if 0 < job_id < 2**63 else None
    if job is None:
        raise LookupError(f"no backtest {job_id}: see GET /api/v1/backtests")
    return job


def new_forecast_run(
    session: Session, model: str, start: dt.date, days: int, tz: str, municipality: str | None, actor: str
) -> ForecastRun:
    run = ForecastRun(
        status="queued",
        model=model,
        start_date=start,
        days=days,
        tz=tz,
        municipality=municipality,
        actor=actor,
        created_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run
