"""Plain, frozen copies of stored rows that the use cases and front ends pass around.

A storage function never hands out an ORM object: sessions stay inside this layer, and a record
read here can be serialised (``dataclasses.asdict``, pydantic ``from_attributes``) without touching
the database again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlaceRecord:
    place_id: str
    name: str | None
    municipality: str | None
    lat: float | None
    lon: float | None
    kind: str | None
    area: str | None


@dataclass(frozen=True)
class ImportRecordInfo:
    id: int
    actor: str
    created_at: dt.datetime
    source_file: str | None
    rows_added: int
    rows_unchanged: int
    rows_rejected: int
    places_upserted: int
    municipality: str | None = None


@dataclass(frozen=True)
class ForecastRunRecord:
    id: int
    status: str
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
    actor: str | None
    error: str | None
    category_group: str | None = None
    weighted: bool = False


@dataclass(frozen=True)
class ResourceRecord:
    id: int
    name: str
    spec: dict[str, Any]
    created_at: dt.datetime
    actor: str | None
    #: the municipality it belongs to; ``None`` = a single-town deployment
    municipality: str | None = None


@dataclass(frozen=True)
class PlanRecordInfo:
    id: int
    kind: str
    week: str | None
    status: str
    resource_id: int
    forecast_run_id: int
    parent_id: int | None
    plan: dict[str, Any]
    created_at: dt.datetime
    actor: str | None
    municipality: str | None = None
    #: ``draft``, ``published`` or ``superseded``
    state: str = "draft"
    published_at: dt.datetime | None = None


@dataclass(frozen=True)
class IncidentExtent:
    """The stored incidents of one source at the places of one municipality (``None``: places without
    one): the oldest and newest (UTC) and how many."""

    municipality: str | None
    source: str
    first: dt.datetime
    last: dt.datetime
    count: int


@dataclass(frozen=True)
class WalkRecordInfo:
    """One stored record of the season ledger (``municipality`` ``None`` = a single-town deployment)."""

    id: int
    municipality: str | None
    association: str
    night: dt.date
    status: str
    recorded_at: dt.datetime
    actor: str
    area: str | None
    plan_id: int | None
    shift_index: int | None
    corrects: int | None
    note: str | None


@dataclass(frozen=True)
class PayoutInfo:
    id: int
    municipality: str | None
    association: str
    nights: tuple[dt.date, ...]
    amount_sek: float
    paid_at: dt.datetime
    actor: str


@dataclass(frozen=True)
class OfferInfo:
    """A walk offered to its association (``status``: offered, accepted, declined, withdrawn)."""

    id: int
    municipality: str | None
    association: str
    night: dt.date
    area: str
    template: str
    start: dt.datetime
    end: dt.datetime
    plan_id: int
    shift_index: int | None
    status: str
    offered_at: dt.datetime
    answered_at: dt.datetime | None
    answered_by: str | None
    note: str | None


@dataclass(frozen=True)
class LinkInfo:
    """An association's link (its secret is never stored; ``prefix`` = its first characters)."""

    id: int
    municipality: str | None
    association: str
    prefix: str
    created_at: dt.datetime
    actor: str
    revoked: bool


@dataclass(frozen=True)
class BacktestRecord:
    id: int
    status: str
    params: dict[str, Any]
    summary: dict[str, Any] | None
    metrics_csv: str | None
    report_md: str | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    actor: str | None


@dataclass(frozen=True)
class WalkReportInfo:
    """An association's report-back on a walk (``municipality`` ``None`` = a single-town deployment)."""

    id: int
    walk_record_id: int
    municipality: str | None
    association: str
    night: dt.date
    offer_id: int | None
    walkers: int
    observations: str | None
    created_at: dt.datetime
    actor: str


@dataclass(frozen=True)
class TokenRecord:
    id: int
    role: str
    name: str | None
    prefix: str
    created_at: dt.datetime
    revoked: bool
    #: the municipalities the token is scoped to; ``None`` = area-wide
    municipalities: tuple[str, ...] | None = None
    #: after this moment the token is refused; ``None`` = never
    expires_at: dt.datetime | None = None
    #: the last request it authenticated (to the minute); ``None`` = never used
    last_used_at: dt.datetime | None = None

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


FINISHED_JOB_STATES: tuple[str, ...] = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class JobRecord:
    id: int
    kind: str
    status: str
    params: dict[str, Any]
    ref_id: int | None
    result: dict[str, Any] | None
    error: str | None
    error_kind: str | None
    problems: list[dict[str, Any]] | None
    owner: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    claimed_by: str | None
    cancel_requested: bool
    #: the municipality the job is for (``None``: area-wide)
    municipality: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOB_STATES


@dataclass(frozen=True)
class MunicipalityRecord:
    name: str
    police_area: str | None
    #: group name -> canonical categories; ``None``: the default groups
    category_groups: dict[str, list[str]] | None
    updated_at: dt.datetime


# --------------------------------------------------------------------------- situation picture (issue 13)


@dataclass(frozen=True)
class NoteRecord:
    """A decision of a situation-picture meeting: ``at`` when it was taken (UTC), the places it
    concerns (empty: the whole area), who noted it and when it was stored."""

    id: int
    at: dt.datetime
    text: str
    place_ids: tuple[str, ...]
    created_at: dt.datetime
    actor: str | None
