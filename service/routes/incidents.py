"""Incidents (analyst/admin): list, JSON batch import, file upload; import history; aggregates
(any role: counts per place and period, never raw rows).

Uploads go through the same reader and validation as ``tryggplan import``
(:func:`tryggplan.readers.load_incidents`) and the same storage call
(:func:`tryggplan.storage.incidents.import_incidents`): all or nothing unless ``skip_invalid=true``,
idempotent by incident id, 422 with every row-level problem.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, File, Query, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tryggplan.domain import InvalidInputError, Problem
from tryggplan.service import crud
from tryggplan.service.deps import EngineDep, SessionDep, SettingsDep, require
from tryggplan.service.schemas import (
    AggregateOut,
    AggregateRow,
    ErrorOut,
    ImportOut,
    ImportRecordOut,
    IncidentBatch,
    IncidentOut,
    IncidentPage,
    ProblemOut,
)
from tryggplan.storage.incidents import import_incidents, read_incidents, read_places
from tryggplan.storage.models import Incident, Place
from tryggplan.storage.tokens import DATA, READ, Principal
from tryggplan.timeutil import check_tz

router = APIRouter(tags=["incidents"])

Analyst = Annotated[Principal, Depends(require(DATA, "see or import incident rows"))]
Reader = Annotated[Principal, Depends(require(READ, "read aggregates"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def _problem_out(p: Problem) -> ProblemOut:
    return ProblemOut(
        file=p.file, row=p.row, column=p.column, message=p.message, fix=p.fix, kind=getattr(p, "kind", None)
    )


def _tz(settings_tz: str, tz: str | None) -> str:
    tz = tz or settings_tz
    check_tz(tz)
    return tz


@router.get("/incidents", response_model=IncidentPage, responses=_ERRORS)
def list_incidents(
    principal: Analyst,
    engine: EngineDep,
    settings: SettingsDep,
    place_id: Annotated[list[str] | None, Query(max_length=500)] = None,
    municipality: Annotated[str | None, Query(max_length=400)] = None,
    start: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD or ISO time")] = None,
    end: Annotated[str | None, Query(max_length=40, description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> IncidentPage:
    """Raw incident rows, oldest first (analyst/admin only: readers get 403)."""
    t0 = crud.parse_time(start, settings.tz, "start")
    t1 = crud.parse_time(end, settings.tz, "end")
    frame = read_incidents(
        engine, start=t0, end=t1, place_ids=place_id, municipality=municipality, limit=limit, offset=offset
    )
    stmt = select(func.count()).select_from(Incident)
    if place_id:
        stmt = stmt.where(Incident.place_id.in_(place_id))
    if municipality is not None:
        stmt = stmt.where(Incident.place_id.in_(select(Place.place_id).where(Place.municipality == municipality)))
    if t0 is not None:
        stmt = stmt.where(Incident.occurred_at >= t0.tz_convert("UTC").to_pydatetime())
    if t1 is not None:
        stmt = stmt.where(Incident.occurred_at < t1.tz_convert("UTC").to_pydatetime())
    with engine.connect() as conn:
        total = int(conn.execute(stmt).scalar_one())
    rows = [
        IncidentOut(
            incident_id=str(r.incident_id),
            occurred_at=r.occurred_at.to_pydatetime(),
            place_id=str(r.place_id),
            category=None if pd.isna(r.category) else str(r.category),
            source=None if pd.isna(r.source) else str(r.source),
            weight=float(r.weight),
        )
        for r in frame.itertuples(index=False)
    ]
    return IncidentPage(total=total, limit=limit, offset=offset, incidents=rows)


def _import_checked(
    engine: Engine,
    valid: pd.DataFrame,
    problems: list[Problem],
    places: pd.DataFrame | None,
    file: str,
    actor: str,
    skip_invalid: bool,
    summary: str,
) -> ImportOut:
    if problems and (
        not skip_invalid
        or (
            valid.empty
            and any(
                p.row is None
                or p.kind in ("missing_column", "duplicate_column", "empty_file", "binary_file", "workbook", "encoding")
                for p in problems
            )
        )
    ):
        raise InvalidInputError(summary, problems)
    bad_rows = {p.row for p in problems if p.row is not None}
    result = import_incidents(engine, valid, places, source_file=file, actor=actor, rejected=len(bad_rows))
    return ImportOut(
        import_id=result.import_id,
        source_file=result.source_file,
        added=result.added,
        unchanged=result.unchanged,
        rejected=result.rejected,
        places_upserted=result.places_upserted,
        problems=[_problem_out(p) for p in problems[:1000]],
    )


@router.post("/incidents", response_model=ImportOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_incidents(batch: IncidentBatch, principal: Analyst, engine: EngineDep, settings: SettingsDep) -> ImportOut:
    """Import a JSON batch. ``row`` in problems is the 1-based position in ``incidents``
    (``places``). Idempotent by ``incident_id``; all or nothing unless ``skip_invalid``."""
    from tryggplan.readers import summarize
    from tryggplan.validation import row_text_problems, validate_incidents, validate_places

    tz = _tz(settings.tz, batch.tz)
    problems: list[Problem] = []
    places: pd.DataFrame | None = None
    known = set(read_places(engine)["place_id"])
    if batch.places:
        raw_places = pd.DataFrame([p.model_dump() for p in batch.places]).astype(object)
        raw_places = raw_places.where(raw_places.notna(), "").astype(str)
        raw_places["row"] = range(1, len(raw_places) + 1)
        places, place_problems = validate_places(raw_places, "request.places")
        problems += place_problems
        known |= set(places["place_id"].astype(str))
    raw = pd.DataFrame(
        [i.model_dump() for i in batch.incidents],
        columns=["incident_id", "occurred_at", "place_id", "category", "source", "weight"],
    )
    raw = raw.astype(object).where(raw.notna(), "").astype(str)
    raw["row"] = range(1, len(raw) + 1)
    # NUL and control characters, as the file readers refuse them (PostgreSQL cannot store NUL)
    header = list(raw.columns[:-1])
    text_problems = [
        p
        for i, fields in enumerate(raw[header].itertuples(index=False, name=None), start=1)
        for p in row_text_problems("request.incidents", i, header, list(fields))
    ]
    check = validate_incidents(raw, "request.incidents", tz=tz, places=known)
    problems += text_problems + check.problems
    bad = {p.row for p in text_problems + check.problems if p.row is not None}
    frame = check.frame
    valid = frame[~frame["row"].isin(bad) & ~frame["row"].isin(check.duplicate_rows)].reset_index(drop=True)
    if place_problems_only := [p for p in problems if p.file == "request.places"]:
        raise InvalidInputError(summarize(place_problems_only, "request.places"), place_problems_only)
    summary = summarize(problems, "request.incidents") if problems else ""
    return _import_checked(engine, valid, problems, places, "request", principal.actor, batch.skip_invalid, summary)


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str | None, default: str) -> str:
    base = Path((name or "").replace("\\", "/")).name
    base = _SAFE.sub("_", base).strip("._")[:100]
    return base or default


@router.post(
    "/incidents/upload",
    response_model=ImportOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 413: {"model": ErrorOut}},
)
async def upload_incidents(
    principal: Analyst,
    engine: EngineDep,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(description="incident file: CSV (any separator, UTF-8 or cp1252, optionally gzip) or Parquet"),
    ],
    places: Annotated[UploadFile | None, File(description="optional places CSV")] = None,
    skip_invalid: Annotated[bool, Query(description="import the valid rows and report the others")] = False,
    tz: Annotated[str | None, Query(max_length=64, description="zone of times without offset")] = None,
    format: Annotated[Literal["auto", "canonical", "excel", "police"], Query()] = "auto",
) -> ImportOut:
    """Upload an incident file, read and checked exactly like ``tryggplan import``."""
    zone = _tz(settings.tz, tz)
    data = await file.read()
    places_data = await places.read() if places is not None else None
    name = _safe_name(file.filename, "upload.csv")
    places_name = _safe_name(places.filename if places is not None else None, "places.csv")
    return await run_in_threadpool(
        _upload, engine, data, name, places_data, places_name, zone, format, skip_invalid, principal.actor
    )


def _upload(
    engine: Engine,
    data: bytes,
    name: str,
    places_data: bytes | None,
    places_name: str,
    tz: str,
    fmt: Literal["auto", "canonical", "excel", "police"],
    skip_invalid: bool,
    actor: str,
) -> ImportOut:
    from tryggplan.readers import load_incidents, summarize
    from tryggplan.readers import read_places as read_places_file

    with tempfile.TemporaryDirectory(prefix="tryggplan-upload-") as tmp:
        places_frame: pd.DataFrame | None = None
        if places_data is not None:
            places_path = Path(tmp) / ("places-" + places_name)
            places_path.write_bytes(places_data)
            places_frame = read_places_file(places_path)
        known = set(read_places(engine)["place_id"])
        if places_frame is not None:
            known |= set(places_frame["place_id"].astype(str))
        path = Path(tmp) / name
        path.write_bytes(data)
        result = load_incidents(path, format=fmt, tz=tz, places=known if known or fmt != "police" else None)
    if result.places is not None:
        derived = result.places
        places_frame = (
            derived
            if places_frame is None
            else pd.concat(
                [places_frame, derived[~derived["place_id"].isin(places_frame["place_id"])]],
                ignore_index=True,
            )
        )
    summary = summarize(result.problems, name) if result.problems else ""
    return _import_checked(engine, result.valid, result.problems, places_frame, name, actor, skip_invalid, summary)


@router.get("/imports", response_model=list[ImportRecordOut], tags=["incidents"], responses=_ERRORS)
def list_imports(
    principal: Analyst,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[ImportRecordOut]:
    """Import history, newest first: who, when, which file, rows added / unchanged / rejected."""
    return [ImportRecordOut.model_validate(r, from_attributes=True) for r in crud.list_imports(session, limit, offset)]


@router.get("/aggregates/incidents", response_model=AggregateOut, tags=["incidents"], responses=_ERRORS)
def aggregate_incidents(
    principal: Reader,
    engine: EngineDep,
    settings: SettingsDep,
    by: Literal["day", "week", "month"] = "week",
    municipality: Annotated[str | None, Query(max_length=400)] = None,
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
) -> AggregateOut:
    """Incident counts per place and local day / ISO week / month (any role; no raw rows)."""
    t0 = crud.parse_time(start, settings.tz, "start")
    t1 = crud.parse_time(end, settings.tz, "end")
    frame = read_incidents(engine, start=t0, end=t1, municipality=municipality)
    rows: list[AggregateRow] = []
    if not frame.empty:
        local = pd.DatetimeIndex(frame["occurred_at"]).tz_convert(settings.tz)
        if by == "day":
            period = pd.Series(local.strftime("%Y-%m-%d"))
        elif by == "month":
            period = pd.Series(local.strftime("%Y-%m"))
        else:
            iso = local.isocalendar()
            period = pd.Series([f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"], strict=True)])
        grouped = pd.DataFrame(
            {
                "place_id": frame["place_id"].astype(str).to_numpy(),
                "period": period.to_numpy(),
                "weight": frame["weight"].to_numpy(),
            }
        ).groupby(["place_id", "period"])
        out = grouped["weight"].agg(["size", "sum"]).reset_index()
        rows = [
            AggregateRow(place_id=p, period=str(per), count=int(n), weighted=float(w))
            for p, per, n, w in out.itertuples(index=False)
        ]
    return AggregateOut(by=by, tz=settings.tz, rows=rows)
