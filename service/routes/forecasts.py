"""Forecasts: start a run (background job) and read its risk grid as JSON, CSV or GeoJSON, an
hour-of-week heatmap and daily totals. Every payload carries ``model``, ``model_version``,
``trained_until`` and ``generated_at``. ``{run}`` is a run id or ``latest``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from tryggplan.domain import MAX_NAME_CHARS
from tryggplan.forecasting.registry import DEFAULT_MODEL, available_models
from tryggplan.service.deps import EngineDep, GridDirDep, SettingsDep, require
from tryggplan.service.routes.jobs import queue_limits, wake
from tryggplan.service.schemas import (
    BusyOut,
    DailyOut,
    ErrorOut,
    ForecastMeta,
    ForecastRequest,
    ForecastRunOut,
    HeatCell,
    HeatmapOut,
    ModelsOut,
    RiskGridOut,
    RiskWindow,
    WindowsOut,
)
from tryggplan.storage.gridfiles import Cells, row_json
from tryggplan.storage.records import ForecastRunRecord
from tryggplan.usecases import access, forecasts, jobs
from tryggplan.usecases.access import FORECAST, READ, Principal
from tryggplan.usecases.forecasts import GridSelection

router = APIRouter(tags=["forecasts"])

Reader = Annotated[Principal, Depends(require(READ, "read forecasts"))]
Runner = Annotated[Principal, Depends(require(FORECAST, "start forecasts"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}

PlaceFilter = Annotated[list[str] | None, Query(max_length=500, description="only these places")]
MunicipalityFilter = Annotated[str | None, Query(max_length=MAX_NAME_CHARS)]
TimeFilter = Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD (local) or ISO time")]


def _run_out(run: ForecastRunRecord) -> ForecastRunOut:
    return ForecastRunOut.model_validate(run, from_attributes=True)


@router.get("/models", response_model=ModelsOut, responses=_ERRORS)
def list_models(principal: Reader) -> ModelsOut:
    """Model names accepted by POST /forecasts (``default`` is the backtested best)."""
    return ModelsOut(default=DEFAULT_MODEL, models=available_models())


@router.post(
    "/forecasts",
    response_model=ForecastRunOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**_ERRORS, 429: {"model": BusyOut}},
)
def start_forecast(
    body: ForecastRequest,
    request: Request,
    principal: Runner,
    engine: EngineDep,
    settings: SettingsDep,
) -> ForecastRunOut:
    """Train ``model`` on the stored incidents before ``start`` and forecast ``days`` local days, in the
    worker pool. Answers 202 at once; poll ``GET /forecasts/{id}`` until ``status`` is ``done``,
    ``failed`` or ``cancelled`` (cancel with ``POST /jobs/{job_id}/cancel``). ``warning`` says when the
    run will replace a run trained on later incidents as ``latest``. 429 when the queue is full."""
    submitted = jobs.submit_forecast(
        engine,
        model=body.model or settings.default_model,
        start=body.start or pd.Timestamp.now(tz=settings.tz).date(),
        days=body.days,
        tz=settings.tz,
        municipality=access.own_municipality(principal, body.municipality),
        actor=principal.actor,
        category_group=body.category_group,
        weighted=body.weighted,
        limits=queue_limits(settings),
        workers=settings.job_workers,
    )
    wake(request)
    out = _run_out(submitted.run)
    out.job_id = submitted.job.id
    out.warning = submitted.warning
    return out


@router.get("/forecasts", response_model=list[ForecastRunOut], responses=_ERRORS)
def list_forecasts(
    principal: Reader, engine: EngineDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[ForecastRunOut]:
    """Forecast runs, newest first (a scoped token sees the area-wide runs and its municipalities')."""
    return [
        _run_out(r)
        for r in forecasts.list_runs(engine, limit)
        if r.municipality is None or principal.may_see(r.municipality)
    ]


@router.get("/forecasts/{run}", response_model=ForecastRunOut, responses=_ERRORS)
def get_forecast(
    run: str, principal: Reader, engine: EngineDep, municipality: MunicipalityFilter = None
) -> ForecastRunOut:
    """One run's state and provenance (``latest`` = the newest finished run covering today: for one
    municipality, its own or an area-wide one; for the whole area, an area-wide one)."""
    scope = principal.scope.narrowed(municipality)
    found = forecasts.get_run(engine, run, done=False, municipalities=scope.names)
    return _run_out(forecasts.readable_run(found, scope))


def selected_grid(
    run: str,
    principal: Reader,
    engine: EngineDep,
    grid_dir: GridDirDep,
    place_id: PlaceFilter = None,
    municipality: MunicipalityFilter = None,
    start: TimeFilter = None,
    end: TimeFilter = None,
) -> GridSelection:
    """The finished run and its risk grid, filtered by place, municipality (a scoped token sees only
    its own) and local time range."""
    scope = principal.scope.narrowed(municipality)
    selection = forecasts.select_grid(
        engine, run, place_ids=place_id, municipalities=scope.names, start=start, end=end, grid_dir=grid_dir
    )
    forecasts.readable_run(selection.run, scope)
    return selection


# declared after the caller's role in every route, so a missing token is a 401 before any lookup
SelectedGrid = Annotated[GridSelection, Depends(selected_grid)]


@router.get("/forecasts/{run}/grid", response_model=RiskGridOut, responses=_ERRORS)
async def forecast_grid(
    principal: Reader,
    selected: SelectedGrid,
) -> Response:
    """The risk grid as JSON: one row per place and local hour."""
    # Written straight from the cells' arrays (what RiskGridOut would write, without building a model
    # per row): a dashboard's window of 384 rows costs well under a millisecond this way
    meta = ForecastMeta(**selected.meta).model_dump_json()
    return Response(
        meta[:-1] + ',"rows":' + grid_rows_json(selected.cells, selected.run.tz) + "}",
        media_type="application/json",
    )


def grid_rows_json(cells: Cells, tz: str) -> str:
    """The cells as the JSON array of :class:`RiskRow` objects (kept with the run's file, else written now)."""
    texts = cells.json.tolist() if cells.json is not None else row_json(cells, tz)
    return "[" + ",".join(texts) + "]"


@router.get(
    "/forecasts/{run}/grid.csv",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}, "description": "the risk grid as CSV"}},
)
def forecast_csv(
    principal: Reader,
    selected: SelectedGrid,
) -> Response:
    """The risk grid as CSV (columns of the contract; times ISO 8601 with offset)."""
    record = selected.run
    return Response(
        forecasts.grid_csv(selected.grid),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="forecast-{record.id}.csv"'},
    )


@router.get(
    "/forecasts/{run}/places.geojson",
    responses={
        **_ERRORS,
        200: {"content": {"application/geo+json": {}}, "description": "places with risk properties"},
    },
)
def forecast_geojson(
    principal: Reader,
    selected: SelectedGrid,
    engine: EngineDep,
) -> JSONResponse:
    """Places as GeoJSON points (lon, lat) with the risk over the selected time range as properties:
    ``expected_total`` [incidents], ``expected_max`` [incidents/h], ``peak_slot``, ``high_hours``,
    ``risk_level`` (the highest level reached)."""
    return JSONResponse(forecasts.geojson(engine, selected), media_type="application/geo+json")


@router.get("/forecasts/{run}/heatmap", response_model=HeatmapOut, responses=_ERRORS)
def forecast_heatmap(
    principal: Reader,
    selected: SelectedGrid,
) -> HeatmapOut:
    """Hour-of-week heatmap: per local weekday (0 = Monday) and hour, the expected count summed over
    the selected places, averaged over the dates of the range [incidents/h]."""
    cells = [HeatCell(**c) for c in forecasts.heatmap(selected)]
    places = sorted(set(selected.grid["place_id"].astype(str)))
    return HeatmapOut(**selected.meta, places=places, cells=cells)


@router.get("/forecasts/{run}/daily", response_model=DailyOut, responses=_ERRORS)
def forecast_daily(
    principal: Reader,
    selected: SelectedGrid,
) -> DailyOut:
    """Per place and local date: expected incidents [incidents/day] and high-risk hours."""
    return DailyOut(**selected.meta, rows=forecasts.daily(selected))  # type: ignore[arg-type]


@router.get("/forecasts/{run}/windows", response_model=WindowsOut, responses=_ERRORS)
def forecast_windows(
    principal: Reader,
    selected: SelectedGrid,
    engine: EngineDep,
    level: Annotated[list[Literal["high", "elevated"]] | None, Query(description="levels that count")] = None,
    max_gap_hours: Annotated[int, Query(ge=0, le=6)] = 0,
    lang: Annotated[Literal["en", "sv"], Query(description="language of the labels")] = "en",
) -> WindowsOut:
    """High-risk windows for the situation-picture meeting: neighbouring high-risk hours of a place
    merged, e.g. ``"Stortorget, Fri 21:00–02:00, 0.9 expected"`` (``lang=sv``: ``"Stortorget, fre
    21:00–02:00, 0,9 väntade ..."``), largest first."""
    found = forecasts.windows(engine, selected, list(level or ["high"]), max_gap_hours, lang)
    return WindowsOut(**selected.meta, windows=[RiskWindow(**w) for w in found])
