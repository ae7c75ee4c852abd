"""Request and response bodies of the HTTP API (pydantic v2), with OpenAPI examples."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tryggplan.domain import LAT_RANGE, LON_RANGE, MAX_ID_CHARS, MAX_NAME_CHARS, Role

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]


class ProblemOut(BaseModel):
    """One problem with one row (``row`` as a spreadsheet shows it, header = 1) or the whole input."""

    file: str
    row: int | None = None
    column: str | None = None
    message: str
    fix: str = ""
    kind: str | None = None


class ProblemKindOut(BaseModel):
    """The problems of one kind summarised: how many, the first rows, one example and the fix they share."""

    kind: str
    count: int
    rows: list[int] = Field(description="the first few rows with a problem of this kind (header = 1)")
    row_count: int = Field(description="rows with a problem of this kind")
    message: str = Field(description="the first problem's message")
    fix: str = ""


class ErrorOut(BaseModel):
    detail: str = Field(examples=["incidents.csv: 1 problem(s), nothing imported"])
    problems: list[ProblemOut] = Field(default_factory=list)
    summary: list[ProblemKindOut] = Field(
        default_factory=list, description="the problems by kind, most frequent first (one line each)"
    )


class BusyOut(ErrorOut):
    """429: the caller's or everyone's job queue is full; ``retry_after`` [s] is also the Retry-After header."""

    retry_after: int


class TooLargeOut(ErrorOut):
    """413: the request or its file passed a limit; ``limit`` names the setting, ``value`` its value."""

    detail: str = Field(examples=["upload.csv.gz: the gzip file inflates to 1024.0 MiB, over the limit ..."])
    limit: str = Field(examples=["max_decompressed_bytes"])
    value: int = Field(description="the configured limit")
    actual: int | None = Field(default=None, description="what the file has, when known")


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
    create_places: bool | None = Field(
        default=None,
        description="create the places the incidents name that are not known (true), never (false); default: "
        "only on the first import into a town that has no places yet",
    )
    municipality: str | None = Field(
        default=None,
        max_length=MAX_NAME_CHARS,
        description="the municipality the incidents are for (new places are its); default: the caller's only one",
    )


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
    new_places: list[str] = Field(default_factory=list, description="ids of the places the import created")
    dry_run: bool = Field(default=False, description="nothing was stored: this is what the import would do")
    problems: list[ProblemOut] = Field(default_factory=list, description="rows skipped with skip_invalid")
    summary: list[ProblemKindOut] = Field(default_factory=list, description="the problems by kind")


class ImportRecordOut(BaseModel):
    id: int
    actor: str
    created_at: dt.datetime
    source_file: str | None
    rows_added: int
    rows_unchanged: int
    rows_rejected: int
    places_upserted: int
    municipality: str | None = Field(default=None, description="the one municipality the import's places are in")


class AggregateRow(BaseModel):
    place_id: str
    period: str
    count: int
    weighted: float
    category: str | None = Field(default=None, description="with by_category=true: the rows' category")


class AggregateTotal(BaseModel):
    period: str
    count: int
    weighted: float


class AggregateOut(BaseModel):
    by: Literal["day", "week", "month", "year", "total"]
    tz: str
    rows: list[AggregateRow]
    totals: list[AggregateTotal] = Field(default_factory=list, description="per period, summed over the places")


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
    category_group: str | None = Field(
        default=None,
        max_length=100,
        description="count only this category group (each municipality's own; e.g. nattvandring, what night "
        "walks address)",
    )
    weighted: bool = Field(default=False, description="sum the incidents' weights instead of counting them")


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
    category_group: str | None = None
    weighted: bool = False
    job_id: int | None = Field(default=None, description="the job that computes it (GET /api/v1/jobs/{id})")
    warning: str | None = Field(
        default=None, description="set when this run will replace a run trained on later incidents as 'latest'"
    )


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
    municipality: str | None = Field(
        default=None,
        max_length=400,
        description="the municipality the spec, its plans and its season belong to (default: the token's own "
        "municipality; none for a single-town deployment)",
    )


class ResourceOut(BaseModel):
    id: int
    name: str
    spec: dict[str, Any]
    created_at: dt.datetime
    municipality: str | None = None


class PlanRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"week": "2026-W50", "resource_id": 1}]})

    week: str = Field(pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2026-W50")
    resource_id: int | None = Field(default=None, description="default: the newest resources spec")
    forecast_run_id: int | None = Field(default=None, description="default: the newest finished forecast")
    kind: Literal["week", "season"] = Field(
        default="week",
        description="week: the week's plan; season: every remaining walk of the season placed from this week on",
    )
    municipality: str | None = Field(
        default=None, max_length=MAX_NAME_CHARS, description="the municipality planned for"
    )
    walks: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="walks to place this week (default: the week's share of the season's walks left, which "
        "needs a season block in the resources)",
    )


PlanState = Literal["draft", "published", "superseded"]


class PlanOut(BaseModel):
    id: int
    kind: str
    week: str | None
    status: str
    state: PlanState = Field(description="draft until published (its walks offered to the associations)")
    municipality: str | None = None
    resource_id: int
    forecast_run_id: int
    parent_id: int | None
    created_at: dt.datetime = Field(description="the moment the plan was made: nothing in it starts earlier")
    published_at: dt.datetime | None = None
    warnings: list[str] = Field(
        default_factory=list,
        description="every pacing decision (weekly minimum dropped, capacity hit, walks moved between weeks), "
        "what was already over or spent when the plan was made",
    )
    plan: dict[str, Any]


class PlanSummary(BaseModel):
    id: int
    kind: str
    week: str | None
    status: str
    state: PlanState = "draft"
    municipality: str | None = None
    parent_id: int | None
    created_at: dt.datetime
    cost_sek: float | None = None
    risk_covered_share: float | None = None


class AreaPlanRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"week": "2026-W50", "police_area": "LPO Köping"}]})

    week: str = Field(pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2026-W50")
    kind: Literal["week", "season"] = "week"
    police_area: str | None = Field(default=None, max_length=MAX_NAME_CHARS, description="only this police area")


class TownPlanOut(BaseModel):
    municipality: str
    plan: PlanSummary | None = Field(description="the stored draft; null when the town could not be planned")
    error: str | None = Field(description="why the town has no plan (e.g. no resources spec of its own)")


class AreaPlanOut(BaseModel):
    week: str
    engine: Literal["local", "dask"]
    towns: list[TownPlanOut]


WalkStatus = Literal["completed", "no_show", "cancelled"]


class WalkIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"shift_index": 0, "status": "cancelled", "note": "association cancelled", "replan": True}]
        }
    )

    shift_index: int = Field(ge=0, le=100_000, description="index into the plan's shifts")
    status: WalkStatus
    note: str | None = Field(default=None, max_length=2000)
    replan: bool = Field(default=True, description="for a cancelled walk: make a new plan without it")


class WalkReportOut(BaseModel):
    """An association's report-back on a walk it did (from its page, ``/forening/{secret}``)."""

    id: int
    association: str
    night: dt.date
    area: str | None = Field(description="the walk's area (from its walk record)")
    walkers: int = Field(description="how many walked")
    observations: str | None = Field(description="what they saw, as written (free text)")
    walk_record_id: int = Field(description="the completed walk record it belongs to (GET /api/v1/season/walks)")
    offer_id: int | None
    created_at: dt.datetime
    actor: str = Field(description="the association's link that sent it (link:ID:ASSOCIATION)")


class WalkOut(BaseModel):
    """One record of the season ledger."""

    id: int
    association: str
    night: dt.date
    status: str
    area: str | None = None
    plan_id: int | None
    shift_index: int | None
    corrects: int | None = Field(default=None, description="the record this one corrects")
    note: str | None
    recorded_at: dt.datetime
    actor: str = Field(description="who recorded it")
    new_plan_id: int | None = None


# --------------------------------------------------------------------------- season ledger


class SeasonAssociationOut(BaseModel):
    name: str
    walks_done: int
    walks_no_show: int
    walks_planned: int
    owed_sek: float
    paid_sek: float
    share: float | None = Field(description="its share of the walks done and planned (fairness), 0-1")


class SeasonOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "municipality": None,
                    "resource_id": 1,
                    "walks_total": 40,
                    "walks_done": 3,
                    "walks_no_show": 1,
                    "walks_planned": 4,
                    "walks_left": 33,
                    "pot_sek": 40000.0,
                    "owed_sek": 1000.0,
                    "paid_sek": 2000.0,
                    "pot_left_sek": 33000.0,
                    "cost_per_walk_sek": 1000.0,
                    "associations": [],
                    "warnings": [],
                }
            ]
        }
    )

    municipality: str | None
    resource_id: int = Field(description="the resources spec that defines the season")
    walks_total: int | None
    walks_done: int
    walks_no_show: int
    walks_planned: int
    walks_left: int | None = Field(description="walks_total - walks_done - walks_planned")
    pot_sek: float | None
    owed_sek: float
    paid_sek: float
    pot_left_sek: float | None = Field(description="pot_sek - owed_sek - paid_sek - walks_planned x cost_per_walk_sek")
    cost_per_walk_sek: float
    associations: list[SeasonAssociationOut]
    warnings: list[str] = Field(default_factory=list)


class SeasonWalkIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"association": "Lions", "night": "2026-11-27", "status": "completed", "area": "Centrum"}]
        }
    )

    association: str = Field(min_length=1, max_length=400)
    night: dt.date = Field(description="the date the night starts on (a night runs 18:00-06:00)")
    status: WalkStatus
    area: str | None = Field(default=None, max_length=400)
    plan_id: int | None = Field(default=None, ge=1, le=2**62, description="the plan whose walk this is")
    shift_index: int | None = Field(default=None, ge=0, le=100_000, description="the walk's index in plan_id's shifts")
    corrects: int | None = Field(
        default=None, ge=1, le=2**62, description="the id of the walk's current record this record corrects"
    )
    note: str | None = Field(default=None, max_length=2000)
    municipality: str | None = Field(default=None, max_length=400)


class PayoutIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"association": "Lions"}]})

    association: str = Field(min_length=1, max_length=400)
    nights: list[dt.date] | None = Field(
        default=None, max_length=1000, description="pay only these walks (default: every completed, unpaid one)"
    )
    municipality: str | None = Field(default=None, max_length=400)


class PayoutOut(BaseModel):
    id: int
    association: str
    walks: int
    nights: list[dt.date]
    amount_sek: float
    paid_at: dt.datetime
    actor: str


OfferStatus = Literal["offered", "accepted", "declined", "withdrawn"]


class OfferOut(BaseModel):
    id: int
    association: str
    night: dt.date
    area: str
    template: str
    start: dt.datetime = Field(description="local time with offset")
    end: dt.datetime
    plan_id: int
    shift_index: int | None
    status: OfferStatus
    offered_at: dt.datetime
    answered_at: dt.datetime | None
    note: str | None


class PublishOut(BaseModel):
    plan: PlanOut
    offered: list[OfferOut] = Field(description="the plan's walks as offered now (new, or standing and kept)")
    withdrawn: list[OfferOut] = Field(description="earlier offers of the same weeks that are not in this plan")
    notes: list[str] = Field(description="walks not offered and why; accepted walks kept although not in the plan")


class LinkIn(BaseModel):
    association: str = Field(min_length=1, max_length=400)
    municipality: str | None = Field(default=None, max_length=400)


class LinkOut(BaseModel):
    id: int
    association: str
    municipality: str | None
    prefix: str
    created_at: dt.datetime
    revoked: bool


class LinkCreated(LinkOut):
    secret: str = Field(description="the link's secret; shown only once")
    offers_url: str = Field(description="GET: the association's walks; POST .../{offer_id}: accept or decline")
    calendar_url: str = Field(description="the association's accepted walks as a subscribable iCalendar feed")


class LinkOffersOut(BaseModel):
    association: str
    municipality: str | None
    offers: list[OfferOut]


class AnswerIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"answer": "accept"}]})

    answer: Literal["accept", "decline"]
    note: str | None = Field(default=None, max_length=2000)


class AnswerOut(BaseModel):
    offer: OfferOut
    new_plan_id: int | None = Field(description="after a decline: the re-made plan that offers the walk elsewhere")
    notes: list[str]


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
    job_id: int | None = Field(default=None, description="the job that runs it (GET /api/v1/jobs/{id})")


# --------------------------------------------------------------------------- jobs


class JobOut(BaseModel):
    """A queued, running or finished job of the worker pool."""

    id: int
    kind: Literal["forecast", "backtest", "plan", "walk", "area"]
    status: JobStatus
    ref_id: int | None = Field(description="the forecast run or backtest it computes")
    result: dict[str, Any] | None = Field(description="e.g. {'plan_id': 12} when done")
    error: str | None
    owner: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    cancel_requested: bool
    municipality: str | None = Field(default=None, description="the municipality it is for (null: area-wide)")


# --------------------------------------------------------------------------- tokens


class TokenCreate(BaseModel):
    role: Role
    name: str | None = Field(default=None, max_length=200)
    municipalities: list[str] | None = Field(
        default=None, min_length=1, max_length=300, description="scope the token to these municipalities"
    )
    expires: str | None = Field(
        default=None,
        max_length=20,
        examples=["90d"],
        description="the token expires after this long: 90d (days), 12h (hours) or 8w (weeks); default never",
    )


class TokenOut(BaseModel):
    id: int
    role: Role
    name: str | None
    prefix: str
    created_at: dt.datetime
    revoked: bool
    municipalities: list[str] | None = Field(default=None, description="null: area-wide")
    expires_at: dt.datetime | None = Field(default=None, description="null: never expires")
    last_used_at: dt.datetime | None = Field(default=None, description="last request it made (to the minute)")


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown only once")


# --------------------------------------------------------------------------- users, the caller


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, description="what the person types at /logga-in (any case)")
    role: Role
    name: str | None = Field(default=None, max_length=200, description="the person's name as pages show it")
    municipalities: list[str] | None = Field(
        default=None, min_length=1, max_length=300,
        description="scope the user to these municipalities (default: a scoped admin's own; else area-wide)",
    )  # fmt: skip
    password: str = Field(min_length=1, max_length=1024, description="at least 10 characters")


class PasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=1024, description="at least 10 characters")


class UserOut(BaseModel):
    username: str
    name: str | None
    role: Role
    municipalities: list[str] | None = Field(description="null: area-wide")
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    last_sign_in_at: dt.datetime | None


class UserChanged(UserOut):
    sessions_ended: int = Field(description="sign-in sessions of the user ended by this change")


class MeOut(BaseModel):
    """Who the caller is: a token or a signed-in user, with the role and municipalities that decide what it
    may do."""

    kind: Literal["token", "user"]
    role: Role
    name: str
    username: str | None = Field(description="a signed-in user's username; null for a token")
    municipalities: list[str] | None = Field(description="null: area-wide")


# --------------------------------------------------------------------------- municipalities, the area


class MunicipalityIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"police_area": "LPO Köping", "category_groups": {"nattvandring": ["disorder", "vandalism", "assault"]}}
            ]
        }
    )

    police_area: str | None = Field(default=None, max_length=MAX_NAME_CHARS, description="the local police area")
    category_groups: dict[str, list[str]] | None = Field(
        default=None, max_length=50, description="group name -> canonical categories; null: the default groups"
    )


class MunicipalityOut(BaseModel):
    name: str
    police_area: str | None
    category_groups: dict[str, list[str]]
    places: int
    configured: bool


class AreaOut(BaseModel):
    today: dt.date
    days: int
    forecast: dict[str, Any] | None
    municipalities: list[dict[str, Any]]


# --------------------------------------------------------------------------- situation picture, evaluation (issue 13)

Flag = Literal["up", "down"]


class _Open(BaseModel):
    """A report part: the fields DESIGN.md fixes, and the extras the report adds kept as they are."""

    model_config = ConfigDict(extra="allow")


class SituationCounts(_Open):
    count: int = Field(description="incidents (rows, not weights) in the period")
    previous: int = Field(description="in the period before")
    last_year: int = Field(description="on the same dates a year earlier")
    change_vs_previous_pct: float | None = Field(
        description="100 * (count - previous) / previous to one decimal, halves away from zero; null when previous "
        "is 0 or the days compared are not all in the data"
    )
    change_vs_last_year_pct: float | None
    p_value: float | None = Field(description="two-sided exact test of equal rates, count against previous")
    flag: Flag | None = Field(description="up or down when p_value < 0.05")
    text: str = Field(examples=["inom normal variation"])


class SituationPlace(SituationCounts):
    place_id: str
    name: str
    municipality: str | None


class SituationCategory(SituationCounts):
    category: str


class SituationYtd(_Open):
    count: int
    last_year: int
    change_pct: float | None = Field(description="null when ref is 0 or a window lies outside the data")
    p_value: float | None = Field(description="two-sided exact test of equal rates, count against last_year")
    flag: Flag | None = Field(description="up or down when p_value < 0.05")


class SituationDone(_Open):
    walks_completed: int
    walks_no_show: int
    guard_hours: float = Field(description="[h] guard shifts worked in the period")


class SituationWindow(_Open):
    place_id: str
    label: str
    start: str
    end: str
    expected: float = Field(description="[incidents] over the window")


class SituationAhead(_Open):
    trained_until: str | None
    windows: list[SituationWindow]


class SituationDecision(_Open):
    at: str
    text: str
    place_ids: list[str]


class SituationOut(_Open):
    """The situation picture (DESIGN.md, "Situation picture"); docs/coordinator/situation.md lists the extra keys."""

    to: str = Field(examples=["2026-11-29"])
    days: int
    from_: str = Field(alias="from", examples=["2026-11-16"])
    totals: SituationCounts
    ytd: SituationYtd
    places: list[SituationPlace]
    categories: list[SituationCategory]
    done: SituationDone
    ahead: SituationAhead
    decisions: list[SituationDecision]
    data_until: str | None = Field(description="the newest local date holding an incident in scope (null: none)")
    warnings: list[str] = Field(description="where the data end and what was therefore not compared; [] when none")


class NoteIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"text": "Två vandringar till vid Stortorget fredagar", "place_ids": ["torget"]}]
        }
    )

    text: str = Field(min_length=1, max_length=2000, description="what was decided")
    place_ids: list[str] = Field(default_factory=list, max_length=200, description="the places it concerns")
    at: str | None = Field(
        default=None, max_length=40, description="when it was decided (default now; ISO 8601, or local)"
    )


class NoteOut(BaseModel):
    id: int
    at: dt.datetime
    text: str
    place_ids: list[str]
    created_at: dt.datetime
    actor: str | None


class EvaluationLeftOut(_Open):
    who: str = Field(description="the association (or the guard)")
    night: str
    municipality: str | None
    status: str
    reason: Literal["no_show", "cancelled", "no_area", "unknown_area", "after_data", "no_forecast", "no_data"]
    text: str


class EvaluationOut(_Open):
    """Did the walks (or guards) work? (``tryggplan.reporting.evaluation.CoverageEvaluation``)"""

    kind: Literal["night_walk", "guard"]
    shifts: int = Field(description="walks (or guard shifts) evaluated")
    shifts_given: int = Field(description="walks recorded (or guard shifts worked) in scope")
    place_hours: int
    expected: float = Field(description="[incidents] the forecast expected in the covered place-hours")
    observed: int
    control_place_hours: int
    control_expected: float
    control_observed: int
    forecast_effect: float | None = Field(description="1 - observed / expected; null when nothing was expected")
    forecast_lo: float | None
    forecast_hi: float | None
    calibration: float | None = Field(
        description="the forecast's expected / observed in the comparable hours without a shift (null: none observed)"
    )
    calibration_lo: float | None
    calibration_hi: float | None = Field(description="null: no upper end")
    did_effect: float | None
    did_lo: float | None = Field(description="null: no lower end (or no comparison)")
    did_hi: float | None
    did_p_value: float | None
    prevented: float | None = Field(description="[incidents]")
    level: float
    verdict: Literal["fewer", "more", "cannot_tell"]
    detect_effect: float
    more_needed: int | None
    assumed_effect: float = Field(description="the resources spec's assumed effect: the default detect_effect only")
    not_evaluated: list[EvaluationLeftOut]
    text: str
    municipalities: list[str] | None
    until: str | None = Field(description="where the incident data end (null: no incidents)")
    forecast_run_ids: list[int]
    lang: Literal["sv", "en"]
