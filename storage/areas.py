"""Municipalities as data: each one's local police area and its category groups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tryggplan.storage.models import Municipality, utcnow
from tryggplan.storage.records import MunicipalityRecord


def _record(row: Municipality) -> MunicipalityRecord:
    groups = {str(k): [str(c) for c in v] for k, v in row.category_groups.items()} if row.category_groups else None
    return MunicipalityRecord(
        name=row.name, police_area=row.police_area, category_groups=groups, updated_at=row.updated_at
    )


def list_municipalities(engine: Engine, names: list[str] | None = None) -> list[MunicipalityRecord]:
    """Stored municipality settings, sorted by name (optionally only these)."""
    stmt = select(Municipality).order_by(Municipality.name)
    if names is not None:
        stmt = stmt.where(Municipality.name.in_(names))
    with Session(engine) as session:
        return [_record(r) for r in session.scalars(stmt)]


def save_municipality(
    engine: Engine, name: str, police_area: str | None, category_groups: dict[str, Any] | None
) -> MunicipalityRecord:
    """Create or replace a municipality's settings."""
    with Session(engine) as session, session.begin():
        row = session.get(Municipality, name)
        if row is None:
            row = Municipality(name=name)
            session.add(row)
        row.police_area = police_area
        row.category_groups = category_groups
        row.updated_at = utcnow()
        session.flush()
        return _record(row)
