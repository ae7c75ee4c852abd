"""Request and response bodies of the HTTP API (pydantic v2), with OpenAPI examples."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tryggplan.domain import LAT_RANGE, LON_RANGE, MAX_ID_CHARS, MAX_NAME_CHARS, Role

JobStatus = Literal["queued", "running", "done", "failed"]


class ProblemOut(BaseModel):
    """One problem with one row (``row`` as a spreadsheet shows it, header = 1) or the whole input."""

    file: str
    row: int | None = None
    column: str | None = None
    message: str
    fix: str = ""
    kind: str | None = None


class ErrorOut(BaseModel):
    detail: str = Field(examples=["incidents.csv: 1 problem(s), nothing imported"])
    problems: list[ProblemOut] = Field(default_factory=list)


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    database: str
    version: str


# --------------------------------------------------------------------------- places


class PlaceIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "place_id": "torget",
                    "name": "Stora torget",
                    "municipality": "Arboga",
                    "lat": 59.3939,
                    "lon": 15.8383,
                    "kind": "square",
                    "area": "centrum",
                }
            ]
        }
    )

    place_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=r"\S")
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    municipality: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    lat: float | None = Field(default=None, ge=LAT_RANGE[0], le=LAT_RANGE[1], description="WGS84 latitude [deg]")
    lon: float | None = Field(default=None, ge=LON_RANGE[0], le=LON_RANGE[1], description="WGS84 longitude [deg]")
    kind: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    area: str | None = Field(
        default=None, max_length=MAX_NAME_CHARS, description="walking route a night-walk team covers"
    )


class PlaceUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    municipality: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    lat: float | None = Field(default=None, ge=LAT_RANGE[0], le=LAT_RANGE[1])
    lon: float | None = Field(default=None, ge=LON_RANGE[0], le=LON_RANGE[1])
    kind: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    area: str | None = Field(default=None, max_length=MAX_NAME_CHARS)


class PlaceOut(PlaceIn):
    pass


# --------------------------------------------------------------------------- incidents


class IncidentIn(BaseModel):
    """One incident as a client sends it. ``occurred_at`` without offset is local time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "incident_id": "r-2025-0815-1",
                    "occurred_at": "2025-08-15T21:10:00+02:00",
                    "place_id": "torget",
                    "category": "vandalism",
                    "source": "reporter",
                    "weight": 1.0,
                }
            ]
        }
    )

    incident_id: str = Field(max_length=MAX_ID_CHARS)
    occurred_at: str = Field(max_length=100, description="ISO 8601 with offset, or YYYY-MM-DD HH:MM local time")
    place_id: str = Field(max_length=MAX_ID_CHARS)
    category: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    source: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    weight: float | str | None = Field(default=None, description="number >= 0, default 1.0")
    note: str | None = Field(
        default=None,
        max_length=5000,
        description="a reporter's short text (at most 500 characters; line breaks become spaces); never shown "
        "to readers",
    )


class IncidentBatch(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "incidents": [
                        {
                            "incident_id": "r-1",
                            "occurred_at": "2025-08-15 21:10",
                            "place_id": "torget",
                            "category": "vandalism",
                            "source": "reporter",
                            "weight": 1,
                        }
                    ],
                    "places": None,
                    "skip_invalid": False,
                }
            ]
        }
    )

    incidents: list[IncidentIn] = Field(max_length=100_000)
    places: list[PlaceIn] | None = Field(default=None, max_length=100_000)
    skip_invalid: bool = False
    tz: str | None = Field(default=None, description="time zone of times without offset (default the service's)")


class IncidentOut(BaseModel):
    incident_id: str
    occurred_at: dt.datetime
    place_id: str
    category: str | None
    source: str | None
    weight: float
    note: str | None = Field(default=None, description="the reporter's short text")
    created_by: str | None = Field(default=None, description="who stored it (token:ID:NAME, cli, ...)")
    created_at: dt.datetime | None = Field(default=None, description="when it was stored")


class IncidentPage(BaseModel):
    total: int
    limit: int
    offset: int
    incidents: list[IncidentOut]


class ImportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "import_id": 3,
                    "source_file": "incidents.csv",
                    "added": 120,
                    "unchanged": 4,
                    "rejected": 0,
                    "places_upserted": 0,
                    "problems": [],
                }
            ]
        }
    )

    import_id: int | None = Field(description="the import's id in GET /imports; null when the file held no rows")
    source_file: str | None
    added: int
    unchanged: int
    rejected: int
    places_upserted: int
    problems: list[ProblemOut] = Field(default_factory=list, description="rows skipped with skip_invalid")


class ImportRecordOut(BaseModel):
    id: int
    actor: str
    created_at: dt.datetime
    source_file: str | None
    rows_added: int
    rows_unchanged: int
    rows_rejected: int
    places_upserted: int


class AggregateRow(BaseModel):
    place_id: str
    period: str
    count: int
    weighted: float
    category: str | None = Field(default=None, description="with by_category=true: the rows' category")


class AggregateOut(BaseModel):
    by: Literal["day", "week", "month"]
    tz: str
    rows: list[AggregateRow]


class CategoryOut(BaseModel):
    category: str = Field(examples=["vandalism"])
    label: str = Field(examples=["Skadegörelse"], description="the name shown to a reader, in the request's language")
    count: int | None = Field(
        description="stored incidents of this category (in the caller's municipalities); null for reporters"
    )


class CategoriesOut(BaseModel):
    lang: Literal["sv", "en"]
    categories: list[CategoryOut]


class SessionOut(BaseModel):
    """A download session: the cookie is set on the answer (HttpOnly, SameSite=Strict, path /api/v1)."""

    role: Role
    name: str
    municipalities: list[str] | None = Field(description="the token's municipalities; null: area-wide")
    expires_at: dt.datetime


# --------------------------------------------------------------------------- forecasts


class ForecastRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"model": "default", "start": "2026-12-07", "days": 14, "municipality": None}]}
    )

    model: str | None = Field(
        default=None, max_length=100, description="a name from GET /api/v1/models (default: the service's)"
    )
    start: dt.date | None = Field(default=None, description="first local day (default: today)")
    days: int = Field(default=14, ge=1, le=92)
    municipality: str | None = Field(
        default=None, max_length=MAX_NAME_CHARS, description="only this municipality's places"
    )


class ForecastRunOut(BaseModel):
    id: int
    status: JobStatus
    model: str
    model_version: str | None
    start_date: dt.date
    days: int
    tz: str
    municipality: str | None
    trained_until: dt.datetime | None
    generated_at: dt.datetime | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None


class ForecastMeta(BaseModel):
    run_id: int
    model: str
    model_version: str | None
    trained_until: dt.datetime | None
    generated_at: dt.datetime | None
    tz: str


class RiskRow(BaseModel):
    place_id: str
    slot_start: dt.datetime = Field(description="local hour start with offset")
    expected: float = Field(description="[incidents/h]")
    p_any: float
    lo_80: int
    hi_80: int
    nb_alpha: float
    risk_level: Literal["high", "elevated", "normal"]


class RiskGridOut(ForecastMeta):
    rows: list[RiskRow]


class HeatCell(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    hour: int = Field(ge=0, le=23)
    expected: float = Field(description="mean over the horizon's days of the summed expected count [incidents/h]")


class HeatmapOut(ForecastMeta):
    places: list[str]
    cells: list[HeatCell]


class RiskWindow(BaseModel):
    place_id: str
    name: str
    start: dt.datetime
    end: dt.datetime
    hours: int
    expected: float = Field(description="sum over the window [incidents]")
    peak: float = Field(description="largest hourly expected count [incidents/h]")
    night: dt.date = Field(description="the date the night belongs to (a night runs 18:00-06:00)")
    label: str = Field(examples=["Stortorget, Fri 21:00–02:00, 0.9 expected"])
    p_any: float | None = Field(default=None, description="probability of at least one incident in the window")
    lo_80: int | None = Field(default=None, description="80% range of the window's count, low end [incidents]")
    hi_80: int | None = Field(default=None, description="80% range of the window's count, high end [incidents]")


class WindowsOut(ForecastMeta):
    windows: list[RiskWindow]


class DailyRisk(BaseModel):
    place_id: str
    date: dt.date
    expected: float = Field(description="[incidents/day]")
    high_hours: int


class DailyOut(ForecastMeta):
    rows: list[DailyRisk]


class ModelsOut(BaseModel):
    default: str
    models: list[str]


# --------------------------------------------------------------------------- resources, plans


class ResourceIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Arboga 2026", "spec": {"season_walks_left": 40, "budget_sek": 60000}}]
        }
    )

    name: str = Field(default="resources", min_length=1, max_length=200)
    spec: dict[str, Any] = Field(description="the coordinator's resources spec (tryggplan.allocation.spec)")


class ResourceOut(BaseModel):
    id: int
    name: str
    spec: dict[str, Any]
    created_at: dt.datetime


class PlanRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"week": "2026-W50", "resource_id": 1}]})

    week: str = Field(pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2026-W50")
    resource_id: int | None = Field(default=None, description="default: the newest resources spec")
    forecast_run_id: int | None = Field(default=None, description="default: the newest finished forecast")
    kind: Literal["week", "season"] = "week"
    municipality: str | None = Field(
        default=None, max_length=MAX_NAME_CHARS, description="the municipality planned for"
    )


class PlanOut(BaseModel):
    id: int
    kind: str
    week: str | None
    status: str
    resource_id: int
    forecast_run_id: int
    parent_id: int | None
    created_at: dt.datetime
    plan: dict[str, Any]


class PlanSummary(BaseModel):
    id: int
    kind: str
    week: str | None
    status: str
    parent_id: int | None
    created_at: dt.datetime
    cost_sek: float | None = None
    risk_covered_share: float | None = None


class WalkIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"shift_index": 0, "status": "cancelled", "note": "association cancelled", "replan": True}]
        }
    )

    shift_index: int = Field(ge=0, description="index into the plan's shifts")
    status: Literal["cancelled", "completed"]
    note: str | None = Field(default=None, max_length=2000)
    replan: bool = Field(default=True, description="for a cancelled walk: make a new plan without it")


class WalkOut(BaseModel):
    id: int
    plan_id: int
    shift_index: int
    status: str
    note: str | None
    recorded_at: dt.datetime
    new_plan_id: int | None = None


# --------------------------------------------------------------------------- backtests


class BacktestRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"models": ["default", "how_mean", "last_14_days"], "origins": 8, "horizon_days": 7}]
        }
    )

    models: list[str] = Field(
        default_factory=lambda: ["default", "how_mean", "last_14_days"], min_length=1, max_length=20
    )
    origins: int = Field(default=8, ge=1, le=104)
    horizon_days: int = Field(default=7, ge=1, le=28)
    municipality: str | None = Field(default=None, max_length=MAX_NAME_CHARS)


class BacktestOut(BaseModel):
    id: int
    status: JobStatus
    params: dict[str, Any]
    summary: dict[str, Any] | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


# --------------------------------------------------------------------------- tokens


class TokenCreate(BaseModel):
    role: Role
    name: str | None = Field(default=None, max_length=200)
    municipalities: list[str] | None = Field(
        default=None, min_length=1, max_length=300, description="scope the token to these municipalities"
    )


class TokenOut(BaseModel):
    id: int
    role: Role
    name: str | None
    prefix: str
    created_at: dt.datetime
    revoked: bool
    municipalities: list[str] | None = Field(default=None, description="null: area-wide")


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown only once")
