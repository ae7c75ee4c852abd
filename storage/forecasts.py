"""Forecast runs and their risk grids in the database.

A run row moves ``queued -> running -> done | failed``; a finished run's grid is stored cell by cell
(``risk_cells``, one row per place and hourly slot, UTC) and read back in the contract's columns
with ``slot_start`` in the run's zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine, bindparam, delete, func, insert, select, union_all, update
from sqlalchemy.orm import Session

from tryggplan.domain import RISK_GRID_COLUMNS, InvalidInputError, NotFoundError
from tryggplan.storage import gridfiles
from tryggplan.storage.models import ForecastRun, Place, RiskCell, rows_changed, utcnow
from tryggplan.storage.places import Municipalities, places_in
from tryggplan.storage.records import ForecastRunRecord

_INSERT_CHUNK = 5000
log = logging.getLogger("tryggplan.storage.forecasts")
#: the longest horizon a run may have [days] (tryggplan.usecases.forecasts.MAX_DAYS)
MAX_HORIZON_DAYS = 92


def _record(run: ForecastRun) -> ForecastRunRecord:
    return ForecastRunRecord(
        id=run.id,
        status=run.status,
        model=run.model,
        model_version=run.model_version,
        start_date=run.start_date,
        days=run.days,
        tz=run.tz,
        municipality=run.municipality,
        trained_until=run.trained_until,
        generated_at=run.generated_at,
        created_at=run.created_at,
        finished_at=run.finished_at,
        actor=run.actor,
        error=run.error,
        category_group=run.category_group,
        weighted=bool(run.weighted),
    )


def new_run(
    engine: Engine,
    model: str,
    start: dt.date,
    days: int,
    tz: str,
    municipality: str | None,
    actor: str,
    category_group: str | None = None,
    weighted: bool = False,
) -> ForecastRunRecord:
    """A queued run (the job that trains it is started by the caller)."""
    with Session(engine) as session, session.begin():
        run = ForecastRun(
            status="queued",
            model=model,
            start_date=start,
            days=days,
            tz=tz,
            municipality=municipality,
            actor=actor,
            created_at=utcnow(),
            category_group=category_group,
            weighted=weighted,
        )
        session.add(run)
        session.flush()
        return _record(run)


_RUN_COLUMNS = [getattr(ForecastRun, f.name) for f in dataclasses.fields(ForecastRunRecord)]
# Core statements built once (with bound parameters): ``latest`` and a run by id are read on every
# dashboard request, and building a statement costs more than running it on SQLite
_NEWEST = (ForecastRun.generated_at.desc().nulls_last(), ForecastRun.id.desc())
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DONE = select(*_RUN_COLUMNS).where(ForecastRun.status == "done")
_RUN_BY_ID = select(*_RUN_COLUMNS).where(ForecastRun.id == bindparam("id"))


def covers(run: ForecastRunRecord, now: dt.datetime) -> bool:
    """Whether the run's horizon (local days ``[start, start + days)`` in its zone) holds ``now``."""
    today = now.astimezone(ZoneInfo(run.tz)).date()
    return run.start_date <= today < run.start_date + dt.timedelta(days=run.days)


def _candidates_within(municipalities: list[str]) -> Any:
    """The finished runs that may cover today, and the newest of them, in one round trip: among the
    area-wide runs and those of ``municipalities``."""
    done = _DONE.where(ForecastRun.municipality.is_(None) | ForecastRun.municipality.in_(municipalities))
    return _newest_and_covering(done)


def _newest_and_covering(done: Any) -> Any:
    """Of the finished runs ``done``: those that may cover today (``lo``..``hi``) and the newest of all."""
    newest = done.order_by(*_NEWEST).limit(1).with_only_columns(ForecastRun.id).scalar_subquery()
    return union_all(
        done.where(ForecastRun.start_date.between(bindparam("lo"), bindparam("hi"))),
        select(*_RUN_COLUMNS).where(ForecastRun.id.in_(newest)),
    )


# an area-wide ``latest`` is an area-wide run: a run made for one town would show only that town
_AREA_CANDIDATES = _newest_and_covering(_DONE.where(ForecastRun.municipality.is_(None)))


def latest_run(
    engine: Engine, now: dt.datetime | None = None, municipalities: list[str] | None = None
) -> ForecastRunRecord | None:
    """What ``latest`` means: the newest generated finished run whose horizon covers ``now`` (default the
    clock), else the newest generated finished run; ``None`` when no run has finished. A forecast made
    for a past period does not become every dashboard's ``latest`` while a current one exists.

    Which runs count is decided by the town the read is for (``municipalities``): one town, its own runs
    and the area-wide ones; none (an area-wide read) or several, only area-wide runs, so an area-wide
    ``latest`` is always an area-wide run and never one town's (issue 22: a run made for Arboga became
    the area's ``latest`` and the area's map showed only Arboga)."""
    now = now or dt.datetime.now(dt.UTC)
    window = {"lo": now.date() - dt.timedelta(days=MAX_HORIZON_DAYS + 1), "hi": now.date() + dt.timedelta(days=1)}
    one_town = municipalities is not None and len(set(municipalities)) == 1
    statement = _candidates_within(list(set(municipalities or ()))) if one_town else _AREA_CANDIDATES
    # Core rows from statements built once, not ORM objects: this runs on every dashboard read of ``latest``
    with engine.connect() as conn:
        rows = [ForecastRunRecord(**row._mapping) for row in conn.execute(statement, window)]
    if not rows:
        return None
    rows.sort(key=lambda r: (r.generated_at is not None, r.generated_at or _EPOCH, r.id), reverse=True)
    return next((r for r in rows if covers(r, now)), rows[0])


def get_run(
    engine: Engine,
    ref: str | int,
    done: bool = True,
    now: dt.datetime | None = None,
    municipalities: list[str] | None = None,
) -> ForecastRunRecord:
    """A run by id, or ``latest`` (:func:`latest_run` at ``now``, among the area-wide runs and those of
    ``municipalities`` when given). With ``done``, a run that has not finished is refused
    (:class:`InvalidInputError`) saying its state."""
    with engine.connect() as session:
        if ref == "latest":
            found = latest_run(engine, now, municipalities)
            if found is None:
                one = municipalities is not None and len(set(municipalities)) == 1
                raise NotFoundError(
                    f"no finished forecast for {municipalities[0][:80]!r} yet: start one with POST /api/v1/forecasts"
                    if one and municipalities
                    else "no finished area-wide forecast yet: start one with POST /api/v1/forecasts without a "
                    "municipality, or ask for one town's (municipality=...)"
                )
            return found
        try:
            run_id = int(ref)
        except ValueError as exc:
            raise InvalidInputError(f"forecast id {str(ref)[:40]!r} is not a number or 'latest'") from exc
        row = session.execute(_RUN_BY_ID, {"id": run_id}).first() if -(2**63) < run_id < 2**63 else None
        found = ForecastRunRecord(**row._mapping) if row is not None else None
        if found is None:
            raise NotFoundError(f"no forecast {run_id}: see GET /api/v1/forecasts")
        if done and found.status != "done":
            raise InvalidInputError(
                f"forecast {run_id} is {found.status}"
                + (f" ({found.error})" if found.error else "")
                + ": wait until it is done"
            )
        return found


def latest_run_for(
    engine: Engine, municipality: str | None, days: tuple[dt.date, dt.date] | None = None
) -> ForecastRunRecord:
    """The newest finished run that covers ``municipality``: one made for it or an area-wide one
    (``None``: the newest finished run of any kind). With ``days`` (the first and last local day a plan
    needs), the newest of those whose horizon holds all of them, else the newest that holds some, else
    the newest: a newer short forecast does not hide an older one that covers the week being planned."""
    stmt = select(ForecastRun).where(ForecastRun.status == "done")
    if municipality is not None:
        stmt = stmt.where((ForecastRun.municipality == municipality) | ForecastRun.municipality.is_(None))
    with Session(engine) as session:
        found = list(session.scalars(stmt.order_by(ForecastRun.id.desc()).limit(1 if days is None else 200)))
    if not found:
        where = f" for {municipality[:80]!r}" if municipality is not None else ""
        raise NotFoundError(f"no finished forecast{where} yet: start one with POST /api/v1/forecasts")
    if days is None:
        return _record(found[0])
    first, last = days

    def horizon(run: ForecastRun) -> tuple[dt.date, dt.date]:
        return run.start_date, run.start_date + dt.timedelta(days=run.days - 1)

    whole = next((r for r in found if horizon(r)[0] <= first and last <= horizon(r)[1]), None)
    some = next((r for r in found if horizon(r)[0] <= last and first <= horizon(r)[1]), None)
    return _record(whole or some or found[0])


def list_runs(engine: Engine, limit: int = 50) -> list[ForecastRunRecord]:
    """Runs, newest first."""
    with Session(engine) as session:
        return [_record(r) for r in session.scalars(select(ForecastRun).order_by(ForecastRun.id.desc()).limit(limit))]


def find_finished_run(engine: Engine, start: dt.date, days: int, tz: str) -> ForecastRunRecord | None:
    """The newest finished run of exactly this range, if any."""
    with Session(engine) as session:
        run = session.scalars(
            select(ForecastRun)
            .where(
                ForecastRun.status == "done",
                ForecastRun.start_date == start,
                ForecastRun.days == days,
                ForecastRun.tz == tz,
            )
            .order_by(ForecastRun.id.desc())
            .limit(1)
        ).first()
        return _record(run) if run is not None else None


def mark_running(engine: Engine, run_id: int) -> ForecastRunRecord | None:
    """Move a run to ``running``; ``None`` when it no longer exists."""
    with Session(engine) as session, session.begin():
        run = session.get(ForecastRun, run_id)
        if run is None:
            return None
        run.status = "running"
        session.flush()
        return _record(run)


def store_grid(engine: Engine, run_id: int, grid: pd.DataFrame, grid_dir: Path | None = None) -> None:
    """Store a finished run's risk grid and provenance in one transaction; the run becomes ``done``.
    With ``grid_dir``, its columnar file is written there afterwards (:mod:`tryggplan.storage.gridfiles`)."""
    rows = _cells(run_id, grid)
    with Session(engine) as session, session.begin():
        for i in range(0, len(rows), _INSERT_CHUNK):
            session.execute(insert(RiskCell), rows[i : i + _INSERT_CHUNK])
        run = session.get(ForecastRun, run_id)
        if run is None:
            raise NotFoundError(f"forecast run {run_id} was deleted while it ran")
        first = grid.iloc[0] if len(grid) else None
        if first is not None:
            run.model = str(first["model"])
            run.model_version = str(first["model_version"])
            run.trained_until = pd.Timestamp(first["trained_until"]).to_pydatetime()
            run.generated_at = pd.Timestamp(first["generated_at"]).to_pydatetime()
        else:
            run.generated_at = utcnow()
        run.status = "done"
        run.finished_at = utcnow()
        generated_at = run.generated_at
    if grid_dir is not None and len(grid):
        try:
            gridfiles.write(grid_dir, run_id, grid, generated_at)
        except OSError as exc:  # derived data: the first read builds it from the database
            log.warning("could not write the grid file of forecast %d in %s: %s", run_id, grid_dir, exc.strerror)


def mark_failed(engine: Engine, run_id: int, reason: str) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(ForecastRun)
            .where(ForecastRun.id == run_id)
            .values(status="failed", error=reason[:1000], finished_at=utcnow())
        )


def fail_unfinished(engine: Engine, reason: str, keep: Collection[int] = ()) -> int:
    """Mark runs left queued or running (by a server that stopped) as failed, except those in ``keep``
    (a queued or running job still computes them); returns how many."""
    with Session(engine) as session, session.begin():
        stmt = update(ForecastRun).where(ForecastRun.status.in_(["queued", "running"]))
        if keep:
            stmt = stmt.where(ForecastRun.id.not_in(list(keep)))
        result = session.execute(stmt.values(status="failed", error=reason, finished_at=utcnow()))
        return rows_changed(result)


def end_unfinished(engine: Engine, ref_id: int, status: str, reason: str) -> None:
    """End a queued or running one as ``failed`` or ``cancelled`` (one already finished stays)."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(ForecastRun)
            .where(ForecastRun.id == ref_id, ForecastRun.status.in_(["queued", "running"]))
            .values(status=status, error=reason[:1000], finished_at=utcnow())
        )


def delete_run(engine: Engine, run_id: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(RiskCell).where(RiskCell.run_id == run_id))
        run = session.get(ForecastRun, run_id)
        if run is not None:
            session.delete(run)


def read_grid(
    engine: Engine,
    run: ForecastRunRecord,
    place_ids: list[str] | None = None,
    municipality: Municipalities = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    grid_dir: Path | None = None,
) -> pd.DataFrame:
    """The stored risk grid of ``run`` in the contract's columns (``slot_start`` in the run's zone),
    filtered by places, municipality and ``[start, end)`` (see :func:`read_cells`)."""
    return grid_frame(read_cells(engine, run, place_ids, municipality, start, end, grid_dir), run)


def grid_frame(cells: gridfiles.Cells, run: ForecastRunRecord) -> pd.DataFrame:
    """Cells of ``run`` as the risk-grid contract's frame, with the run's provenance."""
    return _with_provenance(cells.frame(run.tz), run)


def read_cells(
    engine: Engine,
    run: ForecastRunRecord,
    place_ids: list[str] | None = None,
    municipality: Municipalities = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    grid_dir: Path | None = None,
) -> gridfiles.Cells:
    """The cells of ``run`` filtered by places, municipality and ``[start, end)``, sorted by place and slot.

    With ``grid_dir``, read from the run's columnar file there (:mod:`tryggplan.storage.gridfiles`: a
    window costs O(rows returned)), built from the database first when it is missing."""
    if grid_dir is None:
        return gridfiles.Cells.from_frame(_read_cells(engine, run, place_ids, municipality, start, end))
    wanted = place_ids
    if municipality is not None:
        with engine.connect() as conn:
            towns = set(conn.execute(places_in(municipality)).scalars())
        wanted = sorted(towns if place_ids is None else towns & set(place_ids))
    path = gridfiles.path_of(grid_dir, run.id)
    cells = gridfiles.read_window(path, run.generated_at, start, end, wanted)
    if cells is None:
        with gridfiles.build_lock(grid_dir, run.id):
            cells = gridfiles.read_window(path, run.generated_at, start, end, wanted)
            if cells is None:
                write_grid_file(engine, run, grid_dir)
                cells = gridfiles.read_window(path, run.generated_at, start, end, wanted)
    if cells is None:
        raise NotFoundError(f"the grid file of forecast {run.id} cannot be read: check {grid_dir}")
    return cells


def write_grid_file(engine: Engine, run: ForecastRunRecord, grid_dir: Path) -> Path:
    """(Re)write a finished run's columnar file from the database."""
    return gridfiles.write(grid_dir, run.id, _read_cells(engine, run), run.generated_at)


_CELL_COLUMNS = ["place_id", "slot_start", "expected", "p_any", "lo_80", "hi_80", "nb_alpha", "risk_level"]


def _read_cells(
    engine: Engine,
    run: ForecastRunRecord,
    place_ids: list[str] | None = None,
    municipality: Municipalities = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
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
        stmt = stmt.where(RiskCell.place_id.in_(places_in(municipality)))
    if start is not None:
        stmt = stmt.where(RiskCell.slot_start >= start.tz_convert("UTC").to_pydatetime())
    if end is not None:
        stmt = stmt.where(RiskCell.slot_start < end.tz_convert("UTC").to_pydatetime())
    stmt = stmt.order_by(RiskCell.place_id, RiskCell.slot_start)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=_CELL_COLUMNS)
    frame["slot_start"] = pd.to_datetime(frame["slot_start"], utc=True).dt.tz_convert(run.tz)
    for col in ("expected", "p_any", "nb_alpha"):
        frame[col] = frame[col].astype(float)
    for col in ("lo_80", "hi_80"):
        frame[col] = frame[col].astype(int)
    return frame


def _with_provenance(cells: pd.DataFrame, run: ForecastRunRecord) -> pd.DataFrame:
    frame = cells
    frame["model"] = run.model
    frame["model_version"] = run.model_version
    frame["trained_until"] = pd.Timestamp(run.trained_until).tz_convert(run.tz) if run.trained_until else pd.NaT
    frame["generated_at"] = pd.Timestamp(run.generated_at) if run.generated_at else pd.NaT
    return frame[list(RISK_GRID_COLUMNS)]


def town_base_rates(engine: Engine, run: ForecastRunRecord) -> dict[str, float]:
    """Each municipality's mean expected count per place-hour over the whole run [incidents/h]
    (``""`` for places without a municipality), computed in the database."""
    town = func.coalesce(Place.municipality, "")
    stmt = (
        select(town, func.avg(RiskCell.expected))
        .select_from(RiskCell)
        .join(Place, Place.place_id == RiskCell.place_id, isouter=True)
        .where(RiskCell.run_id == run.id)
        .group_by(town)
    )
    with engine.connect() as conn:
        return {str(name): float(rate) for name, rate in conn.execute(stmt).all()}


def _cells(run_id: int, grid: pd.DataFrame) -> list[dict[str, Any]]:
    slots = pd.DatetimeIndex(grid["slot_start"]).tz_convert("UTC")
    return [
        {
            "run_id": run_id,
            "place_id": str(place),
            "slot_start": slot.to_pydatetime(),
            "expected": float(expected),
            "p_any": float(p_any),
            "lo_80": int(lo),
            "hi_80": int(hi),
            "nb_alpha": float(alpha),
            "risk_level": str(level),
        }
        for place, slot, expected, p_any, lo, hi, alpha, level in zip(
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
