"""ORM tables (SQLAlchemy 2, typed ``Mapped[...]``). The schema itself is created by the Alembic
migrations in ``service/migrations``; these classes must stay in step with them.

All timestamps are stored in UTC (:class:`UTCDateTime`) and come back tz-aware in UTC, on SQLite
as on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC. Binding a naive datetime is refused (it would be ambiguous)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column: attach a time zone first")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Place(Base):
    __tablename__ = "places"

    place_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(400))
    municipality: Mapped[str | None] = mapped_column(String(1000), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str | None] = mapped_column(String(1000))
    area: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ImportRecord(Base):
    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source_file: Mapped[str | None] = mapped_column(String(500))
    rows_added: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    places_upserted: Mapped[int] = mapped_column(Integer, default=0)


class Incident(Base):
    __tablename__ = "incidents"

    incident_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    place_id: Mapped[str] = mapped_column(ForeignKey("places.place_id"), index=True)
    category: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str | None] = mapped_column(String(1000))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    #: who stored it and when (migration 0007; null for rows stored before), the reporter's short text
    created_by: Mapped[str | None] = mapped_column(String(1000), index=True)
    created_at: Mapped[dt.datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    #: the municipalities the token may read and write (migration 0003); null = area-wide
    municipalities: Mapped[list[str] | None] = mapped_column(JSON)


class ForecastRun(Base):
    __tablename__ = "forecast_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    model: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(100))
    start_date: Mapped[dt.date] = mapped_column()
    days: Mapped[int] = mapped_column(Integer)
    tz: Mapped[str] = mapped_column(String(64))
    municipality: Mapped[str | None] = mapped_column(String(1000))
    trained_until: Mapped[dt.datetime | None] = mapped_column()
    generated_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(Text)


class RiskCell(Base):
    __tablename__ = "risk_cells"
    __table_args__ = (Index("ix_risk_cells_run_slot", "run_id", "slot_start"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True)
    place_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    slot_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    expected: Mapped[float] = mapped_column(Float)
    p_any: Mapped[float] = mapped_column(Float)
    lo_80: Mapped[int] = mapped_column(Integer)
    hi_80: Mapped[int] = mapped_column(Integer)
    nb_alpha: Mapped[float] = mapped_column(Float)
    risk_level: Mapped[str] = mapped_column(String(20))


class ResourceSpec(Base):
    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(1000))
    spec: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(1000))


class PlanRecord(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), default="week")
    week: Mapped[str | None] = mapped_column(String(10), index=True)
    status: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    forecast_run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    plan: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(1000))


class WalkRecord(Base):
    __tablename__ = "walk_records"
    #: one record per plan shift (migration 0002): concurrent recordings cannot double count
    __table_args__ = (Index("uq_walk_records_plan_shift", "plan_id", "shift_index", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    shift_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(1000))


class BacktestJob(Base):
    __tablename__ = "backtest_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column()
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    metrics_csv: Mapped[str | None] = mapped_column(Text)
    report_md: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(1000))


# --------------------------------------------------------------------------- reporters and sessions (migration 0007)
# ``incidents.created_by`` / ``created_at`` / ``note`` are declared on :class:`Incident` above.


class AppSecret(Base):
    """Random keys the service makes on first use (e.g. the one that signs download-session cookies)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
