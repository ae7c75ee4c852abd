"""Resources specs, plans and the walks recorded against them.

Plans are stored as the JSON documents the allocation library writes (``Plan.to_dict()``, the same
as ``plan.json`` of ``tryggplan plan``) with the resources spec and forecast run they were made from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tryggplan.domain import InvalidInputError, NotFoundError
from tryggplan.storage.models import PlanRecord, ResourceSpec, WalkRecord, utcnow
from tryggplan.storage.records import PlanRecordInfo, ResourceRecord, WalkRecordInfo


def _resource(r: ResourceSpec) -> ResourceRecord:
    return ResourceRecord(id=r.id, name=r.name, spec=r.spec, created_at=r.created_at, actor=r.actor)


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
        created_at=p.created_at,
        actor=p.actor,
    )


def _walk(w: WalkRecord) -> WalkRecordInfo:
    return WalkRecordInfo(
        id=w.id,
        plan_id=w.plan_id,
        shift_index=w.shift_index,
        status=w.status,
        note=w.note,
        recorded_at=w.recorded_at,
        actor=w.actor,
    )


# --------------------------------------------------------------------------- resources


def store_resources(engine: Engine, name: str, spec: dict[str, Any], actor: str | None) -> ResourceRecord:
    with Session(engine) as session, session.begin():
        row = ResourceSpec(name=name, spec=spec, actor=actor, created_at=utcnow())
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


def list_resources(engine: Engine, limit: int = 50) -> list[ResourceRecord]:
    """Specs, newest first."""
    with Session(engine) as session:
        rows = session.scalars(select(ResourceSpec).order_by(ResourceSpec.id.desc()).limit(limit))
        return [_resource(r) for r in rows]


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


def _add_plan(session: Session, new: NewPlan) -> PlanRecord:
    row = PlanRecord(
        kind=new.kind,
        week=new.week,
        status=str(new.plan.get("status", "")),
        resource_id=new.resource_id,
        forecast_run_id=new.forecast_run_id,
        parent_id=new.parent_id,
        plan=new.plan,
        actor=new.actor,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def store_plan(engine: Engine, new: NewPlan) -> PlanRecordInfo:
    with Session(engine) as session, session.begin():
        return _plan(_add_plan(session, new))


def get_plan(engine: Engine, ref: str | int, today: dt.date | None = None) -> PlanRecordInfo:
    """A plan by id, or ``current`` (the newest plan of ``today``'s ISO week, else the newest plan)."""
    with Session(engine) as session:
        if ref == "current":
            week = "{}-W{:02d}".format(*(today or dt.date.today()).isocalendar()[:2])
            found = session.scalars(
                select(PlanRecord).where(PlanRecord.week == week).order_by(PlanRecord.id.desc()).limit(1)
            ).first()
            found = found or session.scalars(select(PlanRecord).order_by(PlanRecord.id.desc()).limit(1)).first()
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


def list_plans(engine: Engine, week: str | None = None, limit: int = 50) -> list[PlanRecordInfo]:
    """Plans, newest first."""
    stmt = select(PlanRecord).order_by(PlanRecord.id.desc()).limit(limit)
    if week is not None:
        stmt = stmt.where(PlanRecord.week == week)
    with Session(engine) as session:
        return [_plan(p) for p in session.scalars(stmt)]


# --------------------------------------------------------------------------- walks


def walks_of(engine: Engine, plan_id: int) -> list[WalkRecordInfo]:
    with Session(engine) as session:
        stmt = select(WalkRecord).where(WalkRecord.plan_id == plan_id).order_by(WalkRecord.id)
        return [_walk(w) for w in session.scalars(stmt)]


def record_walk(
    engine: Engine,
    plan_id: int,
    shift_index: int,
    status: str,
    note: str | None,
    actor: str | None,
    new_plan: NewPlan | None = None,
) -> tuple[WalkRecordInfo, PlanRecordInfo | None]:
    """Store a walk record (and the re-made plan, when given) in one transaction.

    A shift is recorded once: a second record of the same shift, also one racing in from another
    request (the unique index of migration 0002), is refused with :class:`InvalidInputError`.
    """
    with Session(engine) as session:
        earlier = session.scalars(
            select(WalkRecord).where(WalkRecord.plan_id == plan_id, WalkRecord.shift_index == shift_index).limit(1)
        ).first()
        if earlier is not None:
            raise InvalidInputError(
                f"shift {shift_index} of plan {plan_id} is already recorded as {earlier.status}: "
                "record walks of the re-made plan instead"
            )
        walk = WalkRecord(
            plan_id=plan_id,
            shift_index=shift_index,
            status=status,
            note=note,
            actor=actor,
            recorded_at=utcnow(),
        )
        session.add(walk)
        stored_plan = _add_plan(session, new_plan) if new_plan is not None else None
        try:
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            raise InvalidInputError(
                f"shift {shift_index} of plan {plan_id} was recorded by someone else a moment ago: "
                "reload the plan's walks"
            ) from exc
        return _walk(walk), (_plan(stored_plan) if stored_plan is not None else None)
