"""Places one at a time (the API's place routes) and the import history.

Bulk reads and upserts of places go with the incidents (:mod:`tryggplan.storage.incidents`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tryggplan.domain import InvalidInputError, NotFoundError
from tryggplan.storage.models import ImportRecord, Incident, Place, utcnow
from tryggplan.storage.records import ImportRecordInfo, PlaceRecord
from tryggplan.storage.scope import AREA_WIDE, Scope

PLACE_FIELDS: tuple[str, ...] = ("name", "municipality", "lat", "lon", "kind", "area")

#: A municipality filter: one name, several, or ``None`` for all.
Municipalities = str | Sequence[str] | None


def in_municipalities(municipalities: Municipalities) -> Any:
    """The condition "the place is in these municipalities" on ``places.municipality``."""
    names = [municipalities] if isinstance(municipalities, str) else list(municipalities or [])
    return Place.municipality.in_(names)


def places_in(municipalities: Municipalities) -> Any:
    """A subquery of the ids of the places in these municipalities."""
    return select(Place.place_id).where(in_municipalities(municipalities))


def _record(p: Place) -> PlaceRecord:
    return PlaceRecord(
        place_id=p.place_id,
        name=p.name,
        municipality=p.municipality,
        lat=p.lat,
        lon=p.lon,
        kind=p.kind,
        area=p.area,
    )


def list_places(
    engine: Engine,
    municipality: Municipalities = None,
    place_ids: list[str] | None = None,
    scope: Scope = AREA_WIDE,
) -> list[PlaceRecord]:
    """Places sorted by id, optionally of some municipalities or these ids, of the ``scope`` only."""
    stmt = scope.where(select(Place).order_by(Place.place_id), Place.municipality)
    if municipality is not None:
        stmt = stmt.where(in_municipalities(municipality))
    if place_ids is not None:
        stmt = stmt.where(Place.place_id.in_(place_ids))
    with Session(engine) as session:
        return [_record(p) for p in session.scalars(stmt)]


def get_place(engine: Engine, place_id: str, scope: Scope = AREA_WIDE) -> PlaceRecord:
    """A place by id (404 when unknown, 403 when outside ``scope``)."""
    with Session(engine) as session:
        return _record(_get(session, place_id, scope))


def _get(session: Session, place_id: str, scope: Scope = AREA_WIDE) -> Place:
    place = session.get(Place, place_id)
    if place is None:
        raise NotFoundError(f"no place {place_id[:80]!r}: see GET /api/v1/places")
    scope.check_row(place.municipality, f"place {place_id[:80]!r}")
    return place


def municipalities(engine: Engine, scope: Scope = AREA_WIDE) -> list[str]:
    """The municipalities the stored places name (of ``scope``), sorted."""
    with Session(engine) as session:
        stmt = scope.where(
            select(Place.municipality).where(Place.municipality.is_not(None)).distinct(), Place.municipality
        )
        return sorted(m for m in session.scalars(stmt) if m)


def place_municipalities(engine: Engine, place_ids: list[str]) -> dict[str, str | None]:
    """The municipality of each of these places (places not stored are left out)."""
    with Session(engine) as session:
        stmt = select(Place.place_id, Place.municipality).where(Place.place_id.in_(place_ids))
        return {pid: m for pid, m in session.execute(stmt)}


def any_place(engine: Engine, scope: Scope = AREA_WIDE) -> bool:
    """Whether a place of ``scope`` is stored (area-wide: any place at all)."""
    with Session(engine) as session:
        stmt = scope.where(select(Place.place_id), Place.municipality).limit(1)
        return session.scalars(stmt).first() is not None


def has_municipality(engine: Engine, municipality: str) -> bool:
    with Session(engine) as session:
        found = session.scalars(select(Place.place_id).where(Place.municipality == municipality).limit(1)).first()
        return found is not None


def create_place(engine: Engine, place_id: str, fields: dict[str, Any], scope: Scope = AREA_WIDE) -> PlaceRecord:
    """Create a place in a municipality of ``scope`` (403 for another; a caller scoped to one town need
    not name it); :class:`InvalidInputError` when the id exists (a place of the caller's is changed with
    an update; an id of a place it may not read is only said to be taken)."""
    fields = dict(fields, municipality=scope.own(fields.get("municipality")))
    with Session(engine) as session, session.begin():
        found = session.get(Place, place_id)
        if found is not None:
            if not scope.allows(found.municipality):
                raise InvalidInputError(f"place id {place_id[:80]!r} is taken: give the new place another id")
            raise InvalidInputError(
                f"place {place_id[:80]!r} exists already: change it with PUT /api/v1/places/{place_id[:80]}"
            )
        place = Place(place_id=place_id, **{k: fields.get(k) for k in PLACE_FIELDS}, updated_at=utcnow())
        session.add(place)
        session.flush()
        return _record(place)


def update_place(engine: Engine, place_id: str, changes: dict[str, Any], scope: Scope = AREA_WIDE) -> PlaceRecord:
    """Change the given fields (the id stays) of a place of ``scope``; moving it to a municipality outside
    the scope (or to none) is refused (403), in the same transaction that writes the change."""
    with Session(engine) as session, session.begin():
        place = _get(session, place_id, scope)
        if "municipality" in changes:
            scope.check_move(place_id, changes["municipality"])
        for key, value in changes.items():
            if key not in PLACE_FIELDS:
                raise InvalidInputError(f"unknown place field {key!r}: use one of {', '.join(PLACE_FIELDS)}")
            setattr(place, key, value)
        place.updated_at = utcnow()
        session.flush()
        return _record(place)


def delete_place(engine: Engine, place_id: str, scope: Scope = AREA_WIDE) -> None:
    """Delete a place of ``scope`` that no incident refers to."""
    with Session(engine) as session, session.begin():
        place = _get(session, place_id, scope)
        used = session.scalar(select(func.count()).select_from(Incident).where(Incident.place_id == place_id))
        if used:
            raise InvalidInputError(
                f"place {place_id[:80]!r} has {used} incident(s): it cannot be deleted while incidents refer to it"
            )
        session.delete(place)


def list_imports(
    engine: Engine, limit: int = 100, offset: int = 0, scope: Scope = AREA_WIDE, actor: str | None = None
) -> list[ImportRecordInfo]:
    """Import history, newest first: of ``scope``'s municipalities (an import of several towns, or of
    none, is area-wide), and ``actor``'s own."""
    stmt = select(ImportRecord)
    cond = scope.condition(ImportRecord.municipality)
    if cond is not None:
        stmt = stmt.where(cond | (ImportRecord.actor == actor[:200]) if actor is not None else cond)
    with Session(engine) as session:
        rows = session.scalars(stmt.order_by(ImportRecord.id.desc()).limit(limit).offset(offset))
        return [
            ImportRecordInfo(
                id=r.id,
                actor=r.actor,
                created_at=r.created_at,
                source_file=r.source_file,
                rows_added=r.rows_added,
                rows_unchanged=r.rows_unchanged,
                rows_rejected=r.rows_rejected,
                places_upserted=r.places_upserted,
                municipality=r.municipality,
            )
            for r in rows
        ]
