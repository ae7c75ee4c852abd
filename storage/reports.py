"""What the situation picture and the walk evaluation read and write: meeting notes (decisions),
the plans whose shifts touch a range of weeks, the finished forecast runs that cover a range of days,
the incident categories and sources stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from tryggplan.storage.models import ForecastRun, Incident, Place, PlanRecord, SituationNote, utcnow
from tryggplan.storage.places import Municipalities, places_in
from tryggplan.storage.plans import plan_info
from tryggplan.storage.records import IncidentExtent, NoteRecord, PlanRecordInfo
from tryggplan.storage.scope import AREA_WIDE, Scope

#: the longest forecast a run holds [days] (usecases.forecasts.MAX_DAYS): how far back a run that
#: still covers a day may start
MAX_RUN_DAYS = 92


def _note(n: SituationNote) -> NoteRecord:
    return NoteRecord(
        id=n.id,
        at=n.at,
        text=n.text,
        place_ids=tuple(str(p) for p in n.place_ids or ()),
        created_at=n.created_at,
        actor=n.actor,
    )


def add_note(
    engine: Engine,
    at: dt.datetime,
    text: str,
    place_ids: Sequence[str],
    actor: str | None,
    municipality: str | None = None,
) -> NoteRecord:
    """Store one meeting note (``at`` tz-aware) of ``municipality`` (``None``: the whole area, or places of
    several towns: read by area-wide callers only)."""
    with Session(engine) as session, session.begin():
        row = SituationNote(
            at=at, text=text, place_ids=list(place_ids), actor=actor, created_at=utcnow(), municipality=municipality
        )
        session.add(row)
        session.flush()
        return _note(row)


def list_notes(
    engine: Engine,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int | None = None,
    scope: Scope = AREA_WIDE,
) -> list[NoteRecord]:
    """Notes of ``scope``'s municipalities taken in ``[start, end)`` (tz-aware; ``None``: open), oldest
    first (with ``limit``: the newest ``limit`` of them, still oldest first)."""
    stmt = scope.where(select(SituationNote), SituationNote.municipality)
    if start is not None:
        stmt = stmt.where(SituationNote.at >= start)
    if end is not None:
        stmt = stmt.where(SituationNote.at < end)
    if limit is not None:
        stmt = stmt.order_by(SituationNote.at.desc(), SituationNote.id.desc()).limit(limit)
        with Session(engine) as session:
            return [_note(n) for n in session.scalars(stmt)][::-1]
    with Session(engine) as session:
        return [_note(n) for n in session.scalars(stmt.order_by(SituationNote.at, SituationNote.id))]


def plans_for_weeks(
    engine: Engine, first_week: str | None = None, last_week: str | None = None
) -> list[PlanRecordInfo]:
    """Plans that may hold shifts in ISO weeks ``first_week..last_week`` (``YYYY-Www``; ``None``: open),
    oldest first: weekly plans of those weeks and season plans starting by ``last_week`` (a season
    plan's ``week`` is its first week; its shifts run on)."""
    stmt = select(PlanRecord).order_by(PlanRecord.id)
    if last_week is not None:
        stmt = stmt.where(PlanRecord.week <= last_week)
    if first_week is not None:
        stmt = stmt.where(or_(PlanRecord.week >= first_week, PlanRecord.kind == "season"))
    with Session(engine) as session:
        return [plan_info(p) for p in session.scalars(stmt)]


def runs_covering(engine: Engine, first: dt.date, last: dt.date) -> list[int]:
    """Ids of the finished forecast runs whose days overlap ``first..last`` (local dates), newest first."""
    stmt = (
        select(ForecastRun.id, ForecastRun.start_date, ForecastRun.days)
        .where(
            ForecastRun.status == "done",
            ForecastRun.start_date <= last,
            ForecastRun.start_date >= first - dt.timedelta(days=MAX_RUN_DAYS),
        )
        .order_by(ForecastRun.id.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [int(i) for i, start, days in rows if start + dt.timedelta(days=int(days)) > first]


def distinct_values(engine: Engine, column: str, municipality: Municipalities = None) -> list[str]:
    """The distinct non-empty values of ``incidents.category`` or ``incidents.source`` (of the places of
    these municipalities), sorted."""
    if column not in ("category", "source"):
        raise ValueError(f"no such incident column {column!r}")
    col = getattr(Incident, column)
    stmt = select(col).where(col.is_not(None)).distinct()
    if municipality is not None:
        stmt = stmt.where(Incident.place_id.in_(places_in(municipality)))
    with engine.connect() as conn:
        return sorted(str(v) for (v,) in conn.execute(stmt) if v)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def incident_extents(engine: Engine) -> list[IncidentExtent]:
    """Per municipality (of the incident's place) and source, the oldest and newest stored incident
    (UTC) and how many there are: where each source's data begin and end, in the whole database."""
    stmt = (
        select(
            Place.municipality,
            Incident.source,
            func.min(Incident.occurred_at),
            func.max(Incident.occurred_at),
            func.count(),
        )
        .join(Place, Place.place_id == Incident.place_id)
        .group_by(Place.municipality, Incident.source)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    merged: dict[tuple[str | None, str], IncidentExtent] = {}
    for town, source, first, last, n in rows:
        key = (town or None, source or "unknown")  # a missing source and "" are one unknown source
        old = merged.get(key)
        a, b = _utc(first), _utc(last)
        if old is not None:
            a, b, n = min(a, old.first), max(b, old.last), n + old.count
        merged[key] = IncidentExtent(key[0], key[1], a, b, int(n))
    return sorted(merged.values(), key=lambda e: (e.municipality or "", e.source))


def count_between(engine: Engine, ranges: Sequence[tuple[dt.datetime, dt.datetime]], source: str) -> list[int]:
    """The stored incidents of ``source`` (every municipality) in each ``[start, end)`` (tz-aware)."""
    out = []
    with engine.connect() as conn:
        for start, end in ranges:
            stmt = select(func.count()).where(
                Incident.source == source, Incident.occurred_at >= start, Incident.occurred_at < end
            )
            out.append(int(conn.execute(stmt).scalar_one()))
    return out


def last_incident_at(engine: Engine, municipality: Municipalities = None) -> dt.datetime | None:
    """When the newest stored incident (of the places of these municipalities) happened (UTC)."""
    stmt = select(func.max(Incident.occurred_at))
    if municipality is not None:
        stmt = stmt.where(Incident.place_id.in_(places_in(municipality)))
    with Session(engine) as session:
        value = session.scalar(stmt)
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
