"""Incidents (analyst/admin): list, JSON batch import, file upload; import history; aggregates
(any role: counts per place and period, never raw rows). Reporters create incidents (``POST
/incidents``, never places) and list only their own; every role but reporters reads aggregates, and
every role the category list.

Uploads are imported by the same use case as ``tryggplan import``
(:func:`tryggplan.usecases.ingest.import_file`): all or nothing unless ``skip_invalid=true``,
idempotent by incident id, places from the places file or the file itself, 422 with every
row-level problem.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

import pandas as pd
from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from tryggplan.domain import MAX_NAME_CHARS, Problem
from tryggplan.i18n import request_lang
from tryggplan.readers import problem_kinds
from tryggplan.service.deps import EngineDep, SettingsDep, require
from tryggplan.service.limits import ReadBudget
from tryggplan.service.schemas import (
    AggregateOut,
    AggregateRow,
    AggregateTotal,
    CategoriesOut,
    CategoryOut,
    ErrorOut,
    ImportOut,
    ImportRecordOut,
    IncidentBatch,
    IncidentOut,
    IncidentPage,
    ProblemKindOut,
    ProblemOut,
    TooLargeOut,
)
from tryggplan.timeutil import check_tz
from tryggplan.usecases import access, incidents, ingest
from tryggplan.usecases.access import DATA, PLACES, READ, REPORT, Principal

router = APIRouter(tags=["incidents"])

Analyst = Annotated[Principal, Depends(require(DATA, "see or import incident rows"))]
Reader = Annotated[Principal, Depends(require(READ, "read aggregates"))]
Reporter = Annotated[Principal, Depends(require(REPORT, "create incidents"))]
RowReader = Annotated[Principal, Depends(require(REPORT, "see incident rows"))]
Anyone = Annotated[Principal, Depends(require(PLACES, "read the category list"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def _problem_out(p: Problem) -> ProblemOut:
    return ProblemOut(file=p.file, row=p.row, column=p.column, message=p.message, fix=p.fix, kind=p.kind or None)


def _import_out(outcome: ingest.ImportOutcome) -> ImportOut:
    return ImportOut(
        import_id=outcome.import_id,
        source_file=outcome.source_file,
        added=outcome.added,
        unchanged=outcome.unchanged,
        rejected=len(outcome.rejected),
        places_upserted=outcome.places_upserted,
        new_places=list(outcome.new_places),
        dry_run=outcome.dry_run,
        problems=[_problem_out(p) for p in outcome.problems[:1000]],
        summary=[
            ProblemKindOut(
                kind=k.kind, count=k.count, rows=list(k.rows), row_count=k.row_count, message=k.first.message,
                fix=k.first.fix,
            )
            for k in problem_kinds(outcome.problems)
        ],
    )  # fmt: skip


def _tz(settings_tz: str, tz: str | None) -> str:
    tz = tz or settings_tz
    check_tz(tz)
    return tz


@router.get("/incidents", response_model=IncidentPage, responses=_ERRORS)
def list_incidents(
    principal: RowReader,
    engine: EngineDep,
    settings: SettingsDep,
    place_id: Annotated[list[str] | None, Query(max_length=500)] = None,
    municipality: Annotated[str | None, Query(max_length=MAX_NAME_CHARS)] = None,
    start: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD or ISO time")] = None,
    end: Annotated[str | None, Query(max_length=40, description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> IncidentPage:
    """Raw incident rows, oldest first, with who stored each and when (analyst/admin; a reporter sees
    only the incidents it created; readers get 403)."""
    scope = principal.scope.narrowed(municipality)
    page = incidents.list_incidents(
        engine,
        tz=settings.tz,
        place_ids=place_id,
        municipality=scope.names,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
        created_by=scope.own_rows_of,
    )
    rows = [
        IncidentOut(
            incident_id=str(r.incident_id),
            occurred_at=r.occurred_at.to_pydatetime(),
            place_id=str(r.place_id),
            category=None if pd.isna(r.category) else str(r.category),
            source=None if pd.isna(r.source) else str(r.source),
            weight=float(r.weight),
            note=None if pd.isna(r.note) else str(r.note),
            created_by=None if pd.isna(r.created_by) else str(r.created_by),
            created_at=None if pd.isna(r.created_at) else r.created_at.to_pydatetime(),
        )
        for r in page.incidents.itertuples(index=False)
    ]
    return IncidentPage(total=page.total, limit=limit, offset=offset, incidents=rows)


@router.post("/incidents", response_model=ImportOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def post_incidents(
    request: Request, batch: IncidentBatch, principal: Reporter, engine: EngineDep, settings: SettingsDep
) -> ImportOut:
    """Import a JSON batch. ``row`` in problems is the 1-based position in ``incidents``
    (``places``). Idempotent by ``incident_id``; all or nothing unless ``skip_invalid``. Each incident
    records who stored it and when. A reporter (the form at ``/rapportera``) may send incidents only,
    no places; ``note`` carries its short text. A caller may not create, move, rename or refer to a place
    of another municipality (403, nothing stored). ``create_places`` left out: the first import into a town
    without places creates them (``new_places``). Read in turn with uploads, within the memory budget.
    Send ``Accept-Language: sv`` for Swedish problems."""
    budget: ReadBudget = request.app.state.read_budget
    async with budget.turn(request):
        outcome = await run_in_threadpool(
            partial(
                ingest.report_incidents,
                engine,
                principal,
                [i.model_dump() for i in batch.incidents],
                [p.model_dump() for p in batch.places] if batch.places else None,
                tz=_tz(settings.tz, batch.tz),
                skip_invalid=batch.skip_invalid,
                create_places=batch.create_places,
                municipality=batch.municipality,
            )
        )
    return _import_out(outcome)


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str | None, default: str) -> str:
    base = Path((name or "").replace("\\", "/")).name
    base = _SAFE.sub("_", base).strip("._")[:100]
    return base or default


@router.post(
    "/incidents/upload",
    response_model=ImportOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 413: {"model": TooLargeOut}, 507: {"model": ErrorOut}},
)
async def upload_incidents(
    request: Request,
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
    format: Annotated[Literal["auto", "canonical", "excel", "police", "mapped"], Query()] = "auto",
    columns: Annotated[
        str | None,
        Query(max_length=2000, description="source column per canonical column, e.g. occurred_at=Tid,place_id=Plats"),
    ] = None,
    source: Annotated[str | None, Query(max_length=200, description="source of rows that have none")] = None,
    create_places: Annotated[
        bool | None,
        Query(
            description="create the places the file names that are not known yet (true), never (false); default: "
            "only on the first import into a town that has no places yet"
        ),
    ] = None,
    municipality: Annotated[
        str | None,
        Query(max_length=MAX_NAME_CHARS, description="the town the file is for (new places are its); default yours"),
    ] = None,
    dry_run: Annotated[bool, Query(description="store nothing: answer what the import would do")] = False,
) -> ImportOut:
    """Upload an incident file, read, checked and stored exactly like ``tryggplan import``. A file over
    one of the read limits (decompressed size, rows, values, columns, row length, problems) is refused
    with 413 naming the limit; uploads are read one (or a few) at a time within the memory budget. A
    caller may not create, move, rename or refer to a place of another municipality (403, nothing
    stored: judged by the stored place, never by the places file). ``dry_run=true`` answers what the
    import would do (``tryggplan validate``), storing nothing."""
    zone = _tz(settings.tz, tz)
    name = _safe_name(file.filename, "upload.csv")
    places_name = _safe_name(places.filename if places is not None else None, "places.csv")
    budget: ReadBudget = request.app.state.read_budget
    async with budget.turn(request):
        outcome = await run_in_threadpool(
            _upload,
            engine,
            _Upload(file.file, name, places.file if places is not None else None, places_name),
            ingest.ImportOptions(
                tz=zone,
                fmt=format,
                columns=columns,
                source=source,
                skip_invalid=skip_invalid,
                actor=principal.actor,
                scope=principal.scope,
                municipality=municipality,
                create_places=create_places,
                limits=settings.read_limits(),
                dry_run=dry_run,
            ),
        )
    return _import_out(outcome)


@dataclass(frozen=True)
class _Upload:
    """The uploaded files as Starlette spooled them (in memory up to 1 MB, else in a temporary file)."""

    data: BinaryIO
    name: str
    places: BinaryIO | None
    places_name: str


def _upload(engine: Engine, upload: _Upload, options: ingest.ImportOptions) -> ingest.ImportOutcome:
    """Copy the uploads into a private folder chunk by chunk (never whole into memory) and import them."""
    with tempfile.TemporaryDirectory(prefix="tryggplan-upload-") as tmp:
        places_path = None
        if upload.places is not None:
            places_path = Path(tmp) / ("places-" + upload.places_name)
            _copy(upload.places, places_path)
        path = Path(tmp) / upload.name
        _copy(upload.data, path)
        return ingest.import_upload(engine, path, places_path, options)


def _copy(source: BinaryIO, target: Path) -> None:
    source.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


@router.get("/imports", response_model=list[ImportRecordOut], tags=["incidents"], responses=_ERRORS)
def list_imports(
    principal: Analyst,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[ImportRecordOut]:
    """Import history, newest first: who, when, which file, rows added / unchanged / rejected. A scoped
    caller sees its municipalities' imports and its own, never other towns' files or reporters."""
    return [
        ImportRecordOut(**asdict(r))
        for r in incidents.list_imports(engine, limit, offset, principal.scope, principal.actor)
    ]


@router.get("/aggregates/incidents", response_model=AggregateOut, tags=["incidents"], responses=_ERRORS)
def aggregate_incidents(
    principal: Reader,
    engine: EngineDep,
    settings: SettingsDep,
    by: Literal["day", "week", "month", "year", "total"] = "week",
    municipality: Annotated[str | None, Query(max_length=MAX_NAME_CHARS)] = None,
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
    category: Annotated[
        list[str] | None, Query(max_length=100, description="only these categories (an unknown one is a 422)")
    ] = None,
    source: Annotated[
        list[str] | None, Query(max_length=100, description="only these sources (an unknown one is a 422)")
    ] = None,
    ytd: Annotated[
        str | None,
        Query(
            max_length=40,
            description="year to date, YYYY-MM-DD: in every year only 1 January to this day and month (and "
            "nothing after the date): years compare like for like",
        ),
    ] = None,
    by_category: Annotated[bool, Query(description="one row per place, period and category")] = False,
) -> AggregateOut:
    """Incident counts per place and local day / ISO week / month / year, or in all (``by=total``), with
    ``totals`` per period over the places (any role; no raw rows). ``by=year&ytd=2026-11-29`` answers
    "how many so far this year, against the same dates of earlier years"."""
    towns = access.municipality_filter(principal, municipality)
    frame = incidents.aggregate(
        engine,
        tz=settings.tz,
        by=by,
        municipality=towns,
        start=start,
        end=end,
        category=category,
        source=source,
        ytd=ytd,
        by_category=by_category,
    )
    if not by_category:
        frame = frame.assign(category=None)
    rows = [
        AggregateRow(place_id=str(p), period=str(per), count=int(n), weighted=float(w), category=c)
        for p, per, n, w, c in frame[["place_id", "period", "count", "weighted", "category"]].itertuples(index=False)
    ]
    totals = [
        AggregateTotal(period=str(per), count=int(n), weighted=float(w))
        for per, n, w in incidents.aggregate_totals(frame).itertuples(index=False)
    ]
    return AggregateOut(by=by, tz=settings.tz, rows=rows, totals=totals)


@router.get("/categories", response_model=CategoriesOut, tags=["incidents"], responses=_ERRORS)
def list_categories(
    principal: Anyone,
    engine: EngineDep,
    request: Request,
    municipality: Annotated[str | None, Query(max_length=MAX_NAME_CHARS)] = None,
    lang: Annotated[Literal["sv", "en"] | None, Query(description="language of the labels (default: Swedish)")] = None,
) -> CategoriesOut:
    """The town's incident categories (those of its stored incidents, most frequent first, then the ones a
    reporter can always choose) with their names in Swedish (``lang=en`` or ``Accept-Language: en``: English)
    and how many are stored (not for reporters)."""
    towns = access.municipality_filter(principal, municipality)
    chosen = request_lang(lang, request.headers.get("accept-language"))
    found = incidents.categories(engine, towns, chosen)
    counts = principal.role in READ  # a reporter sees the list, not how often each happened
    return CategoriesOut(
        lang=chosen,
        categories=[CategoryOut(category=c.category, label=c.label, count=c.count if counts else None) for c in found],
    )
