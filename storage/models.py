"""ORM tables (SQLAlchemy 2, typed ``Mapped[...]``). The schema itself is created by the Alembic
migrations in ``service/migrations``; these classes must stay in step with them.

All timestamps are stored in UTC (:class:`UTCDateTime`) and come back tz-aware in UTC, on SQLite
as on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

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
    false,
    text,
)
from sqlalchemy.engine import CursorResult, Dialect, Result
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


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (``Session.execute`` is typed to return a ``Result``; for
    these statements it is a ``CursorResult``, which counts them)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


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
    #: the one municipality of the places the import stored or touched (migration 0010); null = several,
    #: none, or a deployment without municipalities (area-wide callers only)
    municipality: Mapped[str | None] = mapped_column(String(400), index=True)


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
    #: after this moment the token answers 401 (migration 0006); null = never
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    #: when the token last authenticated a request, to the minute (migration 0006)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()


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
    #: incidents counted (migration 0008): only this category group (``None``: all), summed weights
    category_group: Mapped[str | None] = mapped_column(String(100))
    weighted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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
    #: the municipality the spec, its plans and its season ledger belong to (migration 0004);
    #: null = a single-town deployment
    municipality: Mapped[str | None] = mapped_column(String(400), index=True)


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
    #: the moment the plan was made (its ``now``: nothing in it starts earlier)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(1000))
    #: the municipality of its resources spec (migration 0004); null = a single-town deployment
    municipality: Mapped[str | None] = mapped_column(String(400), index=True)
    #: ``draft`` until published (its walks offered), ``published``, ``superseded`` by a newer
    #: published plan of the same week (or season)
    state: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    published_at: Mapped[dt.datetime | None] = mapped_column()


class WalkRecord(Base):
    """One record of one walk of the season ledger (migration 0004; was one row per plan shift).

    A walk is (``municipality``, ``association``, ``night``); ``municipality`` is ``''`` for a
    single-town deployment (not null, so the unique indexes below hold there too). Records are
    never changed: a correction is a new row naming the record it corrects. The indexes make
    two records racing in fail at the database: one first record per walk, one correction per
    record.
    """

    __tablename__ = "walk_records"
    __table_args__ = (
        Index("uq_walk_records_corrects", "corrects", unique=True),
        Index(
            "uq_walk_records_walk",
            "municipality",
            "association",
            "night",
            unique=True,
            sqlite_where=text("corrects IS NULL"),
            postgresql_where=text("corrects IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality: Mapped[str] = mapped_column(String(400), default="", server_default="")
    association: Mapped[str] = mapped_column(String(400))
    night: Mapped[dt.date] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(1000))
    area: Mapped[str | None] = mapped_column(String(400))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    shift_index: Mapped[int | None] = mapped_column(Integer)
    corrects: Mapped[int | None] = mapped_column(ForeignKey("walk_records.id"))
    note: Mapped[str | None] = mapped_column(Text)


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


# --------------------------------------------------------------------------- municipalities (issue 14)


class Municipality(Base):
    """A municipality's own settings (migration 0008): its local police area and category groups."""

    __tablename__ = "municipalities"

    name: Mapped[str] = mapped_column(String(400), primary_key=True)
    police_area: Mapped[str | None] = mapped_column(String(400), index=True)
    category_groups: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- situation picture (issue 13)


class SituationNote(Base):
    """A decision noted at a situation-picture meeting (migration 0005); never changed."""

    __tablename__ = "situation_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: when the decision was taken (UTC)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text)
    #: the place ids it concerns; empty = the whole area
    place_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(1000))
    #: the municipality of its places (migration 0010); null = the whole area or several towns
    municipality: Mapped[str | None] = mapped_column(String(400), index=True)


# --------------------------------------------------------------------------- season ledger (issue 12, migration 0004)


class SeasonLedger(Base):
    """One row per season ledger (``municipality``, ``''`` = a single-town deployment). Every write
    to a ledger (walk records, payouts, publishing, offers answered) first bumps ``version`` in its
    transaction: the row lock serialises the ledger's writers (their checks see each other's
    writes), and the sum of the versions tells the read cache that plans or offers changed."""

    __tablename__ = "season_ledgers"

    municipality: Mapped[str] = mapped_column(String(400), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Payout(Base):
    """One payment to one association for some of its completed walks (``payout_walks``)."""

    __tablename__ = "payouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality: Mapped[str] = mapped_column(String(400), default="", server_default="")
    association: Mapped[str] = mapped_column(String(400))
    amount_sek: Mapped[float] = mapped_column(Float)
    paid_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(1000))


class PayoutWalk(Base):
    """A walk paid by a payout; the primary key makes the database refuse paying a walk twice."""

    __tablename__ = "payout_walks"

    municipality: Mapped[str] = mapped_column(String(400), primary_key=True)
    association: Mapped[str] = mapped_column(String(400), primary_key=True)
    night: Mapped[dt.date] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), index=True)


class WalkOffer(Base):
    """A walk of a published plan offered to its association: ``offered``, ``accepted``,
    ``declined`` or ``withdrawn`` (by a newer plan or a cancellation). One row per walk
    (association and night) of a ledger; publishing again updates it."""

    __tablename__ = "walk_offers"
    __table_args__ = (Index("uq_walk_offers_walk", "municipality", "association", "night", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality: Mapped[str] = mapped_column(String(400), default="", server_default="")
    association: Mapped[str] = mapped_column(String(400))
    night: Mapped[dt.date] = mapped_column()
    area: Mapped[str] = mapped_column(String(400))
    template: Mapped[str] = mapped_column(String(400))
    start_at: Mapped[dt.datetime] = mapped_column()
    end_at: Mapped[dt.datetime] = mapped_column()
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    shift_index: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    offered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    answered_by: Mapped[str | None] = mapped_column(String(1000))
    note: Mapped[str | None] = mapped_column(Text)


class AssociationLink(Base):
    """An association's link to its offers and calendar: a revocable secret (only its SHA-256 is
    stored), no login."""

    __tablename__ = "association_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality: Mapped[str] = mapped_column(String(400), default="", server_default="")
    association: Mapped[str] = mapped_column(String(400))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(1000))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


# --------------------------------------------------------------------------- reporters and sessions (migration 0007)
# ``incidents.created_by`` / ``created_at`` / ``note`` are declared on :class:`Incident` above.


class AppSecret(Base):
    """Random keys the service makes on first use (e.g. the one that signs download-session cookies)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- hardening (issue 16, migration 0006)


class Job(Base):
    """A forecast run, backtest or plan solve waiting for or running in the worker pool: the queue
    is this table (``tryggplan.usecases.jobs``)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_id", "status", "id"),
        Index("ix_jobs_owner_status", "owner", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column()
    #: the forecast run or backtest the job computes (null for plan solves)
    ref_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    #: how the error answers over HTTP: invalid, not_found, forbidden, solver, conflict, full, busy, internal
    error_kind: Mapped[str | None] = mapped_column(String(20))
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    #: host:pid:boot of the worker pool that runs it
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the municipality the job is for (migration 0010); null = area-wide
    municipality: Mapped[str | None] = mapped_column(String(400), index=True)


# --------------------------------------------------------------------------- people who sign in (migration 0009)


class User(Base):
    """A person who signs in with a username and password (``tryggplan user create``). Role and
    municipalities work exactly as a token's; only an argon2 hash of the password is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: as the admin typed it (shown); ``username_key`` (casefolded) is the unique one, so "Kim" and "kim"
    #: are the same user on SQLite and PostgreSQL alike
    username: Mapped[str] = mapped_column(String(100))
    username_key: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(400))
    role: Mapped[str] = mapped_column(String(20))
    #: null = area-wide, as for tokens
    municipalities: Mapped[list[str] | None] = mapped_column(JSON)
    password_hash: Mapped[str] = mapped_column(String(400))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column()
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(1000))


class UserSession(Base):
    """A signed-in browser: only a SHA-256 of the session id (the cookie's value) is stored. It ends at
    ``expires_at`` (absolute), after the idle time since ``last_seen_at``, or when ``ended_at`` is set
    (signing out, the user disabled or given a new password)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the session's own secret for the CSRF token its pages send back
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column()


class SignInFailure(Base):
    """A failed sign-in (wrong password, unknown or disabled user): counted per username and per client
    address within a window to answer 429; rows older than the window are deleted as new ones come."""

    __tablename__ = "signin_failures"
    __table_args__ = (
        Index("ix_signin_failures_user_at", "username_key", "at"),
        Index("ix_signin_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username_key: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column()


class WalkReport(Base):
    """An association's report-back on a walk it did (``/forening/{secret}``): how many walked and what
    they saw, linked to the ``completed`` walk record it made."""

    __tablename__ = "walk_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    walk_record_id: Mapped[int] = mapped_column(ForeignKey("walk_records.id"), unique=True)
    municipality: Mapped[str] = mapped_column(String(400), default="", server_default="", index=True)
    association: Mapped[str] = mapped_column(String(400))
    night: Mapped[dt.date] = mapped_column()
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("walk_offers.id"))
    walkers: Mapped[int] = mapped_column(Integer)
    observations: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(1000))
