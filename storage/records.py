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


@dataclass(frozen=True)
class WalkRecordInfo:
    id: int
    plan_id: int
    shift_index: int
    status: str
    note: str | None
    recorded_at: dt.datetime
    actor: str | None


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
class TokenRecord:
    id: int
    role: str
    name: str | None
    prefix: str
    created_at: dt.datetime
    revoked: bool
    #: the municipalities the token is scoped to; ``None`` = area-wide
    municipalities: tuple[str, ...] | None = None


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
