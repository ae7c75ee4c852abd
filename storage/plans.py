"""Resources specs and plans (the walks recorded against plans are in :mod:`tryggplan.storage.ledger`).

Plans are stored as the JSON documents the allocation library writes (``Plan.to_dict()``, the same
as ``plan.json`` of ``tryggplan plan``) with the resources spec and forecast run they were made from.
A spec, and the plans made from it, belong to one municipality (``None``: a single-town deployment).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tryggplan.domain import InvalidInputError, NotFoundError
from tryggplan.storage.models import PlanRecord, ResourceSpec, WalkRecord, utcnow
from tryggplan.storage.places import Municipalities
from tryggplan.storage.records import PlanRecordInfo, ResourceRecord, WalkRecordInfo


def _resource(r: ResourceSpec) -> ResourceRecord:
    return ResourceRecord(
        id=r.id, name=r.name, spec=r.spec, created_at=r.created_at, actor=r.actor, municipality=r.municipality
    )


def _plan(p: PlanRecord) -> PlanRecordInfo:
    return PlanRecordInfo(
        id=p.id,
        kind=p.kind,
        week=p.week,
        status=p.status,
        resource_id=p.resource_id,
        forecast_run_id=p.forecast_run_id,
        parent_id=p.parent_id,
        plan=p.plan,
        created_at=p.created_at.astimezone(dt.UTC),
        actor=p.actor,
        municipality=p.municipality,
        state=p.state,
        published_at=p.published_at.astimezone(dt.UTC) if p.published_at is not None else None,
    )


def _within(stmt: Select[Any], column: Any, municipalities: Municipalities) -> Select[Any]:
    """``stmt`` limited to rows of ``municipalities`` (a row without one belongs to none of them)."""
    if municipalities is None:
        return stmt
    names = [municipalities] if isinstance(municipalities, str) else list(municipalities)
    return stmt.where(column.in_(names))


# --------------------------------------------------------------------------- resources


def store_resources(
    engine: Engine, name: str, spec: dict[str, Any], actor: str | None, municipality: str | None = None
) -> ResourceRecord:
    with Session(engine) as session, session.begin():
        row = ResourceSpec(name=name, spec=spec, actor=actor, created_at=utcnow(), municipality=municipality)
        session.add(row)
        session.flush()
        return _resource(row)


def replace_resources(engine: Engine, resource_id: int, name: str, spec: dict[str, Any]) -> ResourceRecord:
    with Session(engine) as session, session.begin():
        row = _get_resource(session, resource_id)
        row.spec = spec
        row.name = name
        session.flush()
        return _resource(row)


def get_resources(engine: Engine, resource_id: int | None = None) -> ResourceRecord:
    """A spec by id, or the newest one when ``resource_id`` is ``None``."""
    with Session(engine) as session:
        return _resource(_get_resource(session, resource_id))


def _get_resource(session: Session, resource_id: int | None) -> ResourceSpec:
    if resource_id is None:
        newest = session.scalars(select(ResourceSpec).order_by(ResourceSpec.id.desc()).limit(1)).first()
        if newest is None:
            raise NotFoundError("no resources spec stored yet: POST one to /api/v1/resources")
        return newest
    row = session.get(ResourceSpec, resource_id) if 0 < resource_id < 2**63 else None
    if row is None:
        raise NotFoundError(f"no resources spec {resource_id}: see GET /api/v1/resources")
    return row


def list_resources(engine: Engine, limit: int = 50, municipalities: Municipalities = None) -> list[ResourceRecord]:
    """Specs, newest first (only those of ``municipalities`` when given)."""
    stmt = _within(select(ResourceSpec), ResourceSpec.municipality, municipalities)
    with Session(engine) as session:
        rows = session.scalars(stmt.order_by(ResourceSpec.id.desc()).limit(limit))
        return [_resource(r) for r in rows]


def newest_resources(engine: Engine, municipality: str | None) -> ResourceRecord | None:
    """The newest spec of ``municipality`` (``None``: the newest spec without a municipality)."""
    cond = ResourceSpec.municipality.is_(None) if municipality is None else ResourceSpec.municipality == municipality
    with Session(engine) as session:
        row = session.scalars(select(ResourceSpec).where(cond).order_by(ResourceSpec.id.desc()).limit(1)).first()
        return _resource(row) if row is not None else None


def resource_municipalities(engine: Engine) -> list[str | None]:
    """The municipalities that have a stored spec (``None`` for specs without one)."""
    with Session(engine) as session:
        return list(session.scalars(select(ResourceSpec.municipality).distinct()))


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class NewPlan:
    """A plan to store: its document and what it was made from."""

    kind: str
    week: str | None
    plan: dict[str, Any]
    resource_id: int
    forecast_run_id: int
    actor: str | None
    parent_id: int | None = None
    municipality: str | None = None
    #: the moment the plan was made (its ``now``); default: when it is stored
    created_at: dt.datetime | None = None


def add_plan(session: Session, new: NewPlan) -> PlanRecord:
    """Add a plan (a draft) to an open session (:mod:`tryggplan.storage.ledger` stores re-made plans
    with the ledger's writes)."""
    row = PlanRecord(
        kind=new.kind,
        week=new.week,
        status=str(new.plan.get("status", "")),
        resource_id=new.resource_id,
        forecast_run_id=new.forecast_run_id,
        parent_id=new.parent_id,
        plan=new.plan,
        actor=new.actor,
        created_at=new.created_at or utcnow(),
        municipality=new.municipality,
        state="draft",
    )
    session.add(row)
    session.flush()
    return row


def plan_info(row: PlanRecord) -> PlanRecordInfo:
    return _plan(row)


def store_plan(engine: Engine, new: NewPlan) -> PlanRecordInfo:
    with Session(engine) as session, session.begin():
        return _plan(add_plan(session, new))


def get_plan(
    engine: Engine, ref: str | int, today: dt.date | None = None, municipalities: Municipalities = None
) -> PlanRecordInfo:
    """A plan by id, or ``current``: the newest published plan of ``today``'s ISO week, else the newest
    plan of that week, else the newest plan (among the plans of ``municipalities`` when given)."""
    with Session(engine) as session:
        if ref == "current":
            week = "{}-W{:02d}".format(*(today or dt.date.today()).isocalendar()[:2])
            mine = _within(select(PlanRecord), PlanRecord.municipality, municipalities).order_by(PlanRecord.id.desc())
            found = (
                session.scalars(mine.where(PlanRecord.week == week, PlanRecord.state == "published").limit(1)).first()
                or session.scalars(mine.where(PlanRecord.week == week).limit(1)).first()
                or session.scalars(mine.limit(1)).first()
            )
            if found is None:
                raise NotFoundError("no plan yet: make one with POST /api/v1/plans")
            return _plan(found)
        try:
            plan_id = int(ref)
        except ValueError as exc:
            raise InvalidInputError(f"plan id {str(ref)[:40]!r} is not a number or 'current'") from exc
        row = session.get(PlanRecord, plan_id) if 0 < plan_id < 2**63 else None
        if row is None:
            raise NotFoundError(f"no plan {plan_id}: see GET /api/v1/plans")
        return _plan(row)


def find_plan(engine: Engine, week: str, resource_id: int, forecast_run_id: int) -> PlanRecordInfo | None:
    """The newest plan of ``week`` made from this spec and forecast, if any."""
    with Session(engine) as session:
        row = session.scalars(
            select(PlanRecord)
            .where(
                PlanRecord.week == week,
                PlanRecord.forecast_run_id == forecast_run_id,
                PlanRecord.resource_id == resource_id,
            )
            .order_by(PlanRecord.id.desc())
            .limit(1)
        ).first()
        return _plan(row) if row is not None else None


def list_plans(
    engine: Engine, week: str | None = None, limit: int = 50, municipalities: Municipalities = None
) -> list[PlanRecordInfo]:
    """Plans, newest first (only those of ``municipalities`` when given)."""
    stmt = _within(select(PlanRecord), PlanRecord.municipality, municipalities).order_by(PlanRecord.id.desc())
    stmt = stmt.limit(limit)
    if week is not None:
        stmt = stmt.where(PlanRecord.week == week)
    with Session(engine) as session:
        return [_plan(p) for p in session.scalars(stmt)]


# --------------------------------------------------------------------------- walks recorded from a plan


def walk_info(w: WalkRecord) -> WalkRecordInfo:
    """A stored record of the season ledger (times in UTC, ``municipality`` ``None`` for ``''``)."""
    return WalkRecordInfo(
        id=w.id,
        municipality=w.municipality or None,
        association=w.association,
        night=w.night,
        status=w.status,
        recorded_at=w.recorded_at.astimezone(dt.UTC),
        actor=w.actor,
        area=w.area,
        plan_id=w.plan_id,
        shift_index=w.shift_index,
        corrects=w.corrects,
        note=w.note,
    )


def walks_of(engine: Engine, plan_id: int) -> list[WalkRecordInfo]:
    """The season ledger's records made from this plan's shifts, in the order they were made (the
    whole ledger: :mod:`tryggplan.storage.ledger`)."""
    with Session(engine) as session:
        stmt = select(WalkRecord).where(WalkRecord.plan_id == plan_id).order_by(WalkRecord.id)
        return [walk_info(w) for w in session.scalars(stmt)]


def get_walk(engine: Engine, walk_id: int) -> WalkRecordInfo:
    with Session(engine) as session:
        found = session.get(WalkRecord, walk_id)
        if found is None:
            raise NotFoundError(f"no walk record {walk_id}")
        return walk_info(found)


def record_walk(
    engine: Engine,
    plan_id: int,
    shift_index: int,
    status: str,
    note: str | None,
    actor: str | None,
    new_plan: NewPlan | None = None,
) -> tuple[WalkRecordInfo, PlanRecordInfo | None]:
    """The old storage call (one record per plan shift), kept for its callers: store the record of a
    plan shift's night walk in the season ledger (association, night and area from the shift), and
    ``new_plan`` with it. The ledger's rules are the use case's
    (:func:`tryggplan.usecases.season.record_walk`, which every front end calls); here only the
    database's guards hold: a second first record of the walk is refused with :class:`InvalidInputError`."""
    with Session(engine) as session:
        plan = session.get(PlanRecord, plan_id)
        shifts = (plan.plan.get("shifts") or []) if plan is not None else []
        if plan is None or not 0 <= shift_index < len(shifts) or shifts[shift_index].get("kind") != "night_walk":
            raise InvalidInputError(f"plan {plan_id} has no night walk at shift {shift_index}")
        shift = shifts[shift_index]
        row = WalkRecord(
            municipality=plan.municipality or "",
            association=str(shift["association"]),
            night=dt.date.fromisoformat(str(shift.get("night") or shift["start"][:10])),
            status=status,
            recorded_at=utcnow(),
            actor=actor or "unknown",
            area=shift.get("area"),
            plan_id=plan_id,
            shift_index=shift_index,
            note=note,
        )
        session.add(row)
        made = add_plan(session, new_plan) if new_plan is not None else None
        try:
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            raise InvalidInputError(
                f"the walk of shift {shift_index} of plan {plan_id} is already recorded: "
                "correct it in the season ledger"
            ) from exc
        return walk_info(row), (_plan(made) if made is not None else None)
