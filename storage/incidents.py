"""Incidents and places in the database: import (all or nothing, idempotent by id) and read.

```python
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import import_incidents
engine = open_database("sqlite:///var/tryggplan.db")
result = import_incidents(engine, incidents, places, source_file="x.csv", actor="cli")
```
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tryggplan.domain import (
    LAT_RANGE,
    LON_RANGE,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    PLACE_COLUMNS,
    REQUIRED_INCIDENT_COLUMNS,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)
from tryggplan.storage.models import ImportRecord, Incident, Place, utcnow
from tryggplan.storage.places import Municipalities, in_municipalities, places_in
from tryggplan.storage.scope import AREA_WIDE, Scope

#: Longest text stored in an id, place id, category or source column [characters].
MAX_TEXT = MAX_ID_CHARS
_CHUNK = 500
#: concurrent imports of the same rows: attempts before the conflict is reported
_ATTEMPTS = 5
_SQLITE_BUSY_SNAPSHOT = 517


@dataclass(frozen=True)
class ImportResult:
    """What one import did (or, as a dry run, would do). ``added + unchanged`` rows of the file are now
    stored; ``new_places`` are the ids of the places it created (among ``places_upserted``)."""

    import_id: int | None
    source_file: str | None
    added: int
    unchanged: int
    rejected: int
    places_upserted: int
    new_places: tuple[str, ...] = ()
    #: ``True`` for a dry run: nothing was stored (``import_id`` is ``None``)
    dry_run: bool = False


# --------------------------------------------------------------------------- helpers


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value)
    return text


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _utc_datetime(value: Any) -> dt.datetime:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise ValueError("naive")
    return ts.tz_convert("UTC").floor("us").to_pydatetime()


def _rows(frame: pd.DataFrame) -> list[int | None]:
    """1-based spreadsheet rows of all frame rows (a ``row`` column if the reader kept one)."""
    if "row" not in frame.columns:
        return [None] * len(frame)
    return [_row_of(frame, i) for i in range(len(frame))]


def _utc_times(column: pd.Series) -> list[dt.datetime | None] | None:
    """All times as UTC datetimes (None for NaT) when the column is tz-aware, else ``None`` (then
    each value is checked on its own and naive ones are refused)."""
    if not isinstance(column.dtype, pd.DatetimeTZDtype):
        return None
    utc = column.dt.tz_convert("UTC").dt.floor("us")
    return [None if pd.isna(t) else t.to_pydatetime() for t in utc]


def _same_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _row_of(frame: pd.DataFrame, position: int) -> int | None:
    """1-based spreadsheet row of a frame row: a ``row`` column if the reader kept one."""
    if "row" in frame.columns:
        try:
            return int(frame["row"].iloc[position])
        except (TypeError, ValueError):
            return None
    return None


def _place_rows(places: pd.DataFrame, source_file: str, problems: list[Problem]) -> list[dict[str, Any]]:
    if "place_id" not in places.columns:
        problems.append(
            Problem(
                source_file,
                None,
                "place_id",
                "the places file has no place_id column",
                "add a place_id column (the id incidents refer to)",
            )
        )
        return []
    rows: dict[str, dict[str, Any]] = {}
    for position, rec in enumerate(places.to_dict("records")):
        pid = _text(rec.get("place_id"))
        if not pid or not pid.strip():
            problems.append(
                Problem(
                    source_file,
                    _row_of(places, position),
                    "place_id",
                    "empty place_id",
                    "give every place an id",
                )
            )
            continue
        if len(pid) > MAX_TEXT:
            problems.append(
                Problem(
                    source_file,
                    _row_of(places, position),
                    "place_id",
                    f"place_id is {len(pid)} characters long",
                    f"keep ids under {MAX_TEXT}",
                )
            )
            continue
        row: dict[str, Any] = {"place_id": pid}
        for col in ("name", "municipality", "kind", "area"):
            val = _text(rec.get(col))
            val = val if val is None or val.strip() else None  # an empty cell names nothing
            if val is not None and len(val) > MAX_NAME_CHARS:
                problems.append(
                    Problem(
                        source_file,
                        _row_of(places, position),
                        col,
                        f"{col} is {len(val)} characters long",
                        f"keep it under {MAX_NAME_CHARS}",
                    )
                )
                val = None
            row[col] = val
        for col in ("lat", "lon"):
            val = rec.get(col)
            try:
                num = None if val is None or _text(val) is None else float(val)
            except (TypeError, ValueError):
                problems.append(
                    Problem(
                        source_file,
                        _row_of(places, position),
                        col,
                        f"{col} {val!r} is not a number",
                        "write decimal degrees, e.g. 59.39",
                    )
                )
                continue
            low, high = LAT_RANGE if col == "lat" else LON_RANGE
            if num is not None and (not math.isfinite(num) or not low <= num <= high):
                problems.append(
                    Problem(
                        source_file,
                        _row_of(places, position),
                        col,
                        f"{col} {num} is out of range",
                        "write WGS84 decimal degrees",
                    )
                )
                num = None
            row[col] = num
        rows[pid] = row
    return list(rows.values())


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class _IncidentRow:
    """One incident as it is stored (UTC time), with the spreadsheet row it came from."""

    incident_id: str
    occurred_at: dt.datetime
    place_id: str
    category: str | None
    source: str | None
    weight: float
    row: int | None = field(default=None, compare=False)
    #: a reporter's short text (not part of the incident's identity: a re-sent id with another text is
    #: the same incident)
    note: str | None = field(default=None, compare=False)

    def stored(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _STORED_COLUMNS}


_STORED_COLUMNS = ("incident_id", "occurred_at", "place_id", "category", "source", "weight")


@dataclass
class _Batch:
    """The rows of one import, one per incident id in file order, and what was found on the way."""

    name: str
    rows: dict[str, _IncidentRow] = field(default_factory=dict)
    repeated: int = 0  # identical repeats of an id within the file
    problems: list[Problem] = field(default_factory=list)

    def problem(self, row: int | None, column: str, message: str, fix: str, kind: str = "") -> None:
        self.problems.append(Problem(self.name, row, column, message, fix, kind=kind))


def import_incidents(
    engine: Engine,
    incidents: pd.DataFrame,
    places: pd.DataFrame | None = None,
    source_file: str | None = None,
    actor: str = "cli",
    rejected: int = 0,
    *,
    scope: Scope = AREA_WIDE,
    dry_run: bool = False,
) -> ImportResult:
    """Store canonical incidents (and places) in one transaction; all or nothing.

    Parameters
    ----------
    incidents : canonical frame ``incident_id, occurred_at (tz-aware), place_id, category,
        source, weight`` (as :mod:`tryggplan.readers` returns it). Not modified.
    places : canonical places to upsert first, or ``None`` (then every ``place_id`` must be stored)
    source_file : file name recorded in the import history
    actor : who imports (``cli``, a token name, ...)
    rejected : rows the caller dropped before (``--skip-invalid``), recorded in the history
    scope : what the caller may read and write (:class:`tryggplan.storage.scope.Scope`), checked in the
        import's transaction against the stored places: a place of another municipality is neither
        changed, moved nor referred to (:class:`PermissionDeniedError`, nothing stored), and a stored
        incident the caller may not read is never described in a problem
    dry_run : check everything against the database and say what would be stored, then roll back

    A place given without a value for a field keeps its stored value (``None`` never erases).
    Ids new to the database are inserted; ids stored with identical content count as
    ``unchanged``, also when another import stores the same rows at the same moment (the import is
    tried again on the conflict, so identical concurrent uploads all succeed, one adding the rows).
    An id stored with different content, an unknown ``place_id`` or an unusable
    value raises :class:`InvalidInputError` listing every problem, and nothing is stored.
    """
    for attempt in range(_ATTEMPTS):
        try:
            return _import_once(engine, incidents, places, source_file, actor, rejected, scope, dry_run)
        except (IntegrityError, OperationalError) as exc:
            # another import stored some of the same ids between our read and our write (PostgreSQL:
            # a unique violation; SQLite: the snapshot the transaction read is stale). Nothing of this
            # attempt was stored; the next one reads those rows and counts identical ones as unchanged.
            if attempt == _ATTEMPTS - 1 or not _lost_race(exc):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _lost_race(exc: IntegrityError | OperationalError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlite_errorcode", None) == _SQLITE_BUSY_SNAPSHOT


def _import_once(
    engine: Engine,
    incidents: pd.DataFrame,
    places: pd.DataFrame | None,
    source_file: str | None,
    actor: str,
    rejected: int,
    scope: Scope = AREA_WIDE,
    dry_run: bool = False,
) -> ImportResult:
    batch = _Batch(source_file or "incidents")
    _check_columns(incidents, batch.name)
    place_rows = _place_rows(places, batch.name, batch.problems) if places is not None else []
    _read_rows(incidents, batch)
    with Session(engine) as session, session.begin():
        given = {r["place_id"] for r in place_rows}
        stored_towns = _stored_towns(session, given | {r.place_id for r in batch.rows.values()})
        town_of = _check_scope(scope, place_rows, batch, stored_towns)
        _check_places_known(batch, given | set(stored_towns))
        new, unchanged = _compare_with_stored(session, batch, scope)
        if batch.problems:
            session.rollback()
            raise InvalidInputError(
                f"{batch.name}: {len(batch.problems)} problem(s), nothing imported; first: {batch.problems[0]}",
                batch.problems,
            )
        created = tuple(sorted(given - set(stored_towns)))
        if dry_run:
            session.rollback()
            return ImportResult(
                import_id=None,
                source_file=source_file,
                added=len(new),
                unchanged=unchanged + batch.repeated,
                rejected=int(rejected),
                places_upserted=len(place_rows),
                new_places=created,
                dry_run=True,
            )
        touched = {town_of.get(p) for p in given | {r.place_id for r in batch.rows.values()}}
        record = _record_import(session, source_file, actor, len(new), unchanged + batch.repeated, rejected, place_rows)
        # the import's town: that of every place it touched; an import that touched none (every row set
        # aside) is the caller's own town's
        record.municipality = next(iter(touched)) if len(touched) == 1 else (scope.single if not touched else None)
        if place_rows:
            _upsert_places(session, place_rows)
        session.flush()
        # who stored each incident and when (a reporter reads only its own)
        now = utcnow()
        rows = [
            dict(row.stored(), import_id=record.id, created_by=actor[:MAX_TEXT], created_at=now, note=row.note)
            for row in new
        ]
        for i in range(0, len(rows), 5000):
            session.execute(insert(Incident), rows[i : i + 5000])
        return ImportResult(
            import_id=record.id,
            source_file=source_file,
            added=len(new),
            unchanged=unchanged + batch.repeated,
            rejected=int(rejected),
            places_upserted=len(place_rows),
            new_places=created,
        )


def _stored_towns(session: Session, place_ids: set[str]) -> dict[str, str | None]:
    """The stored municipality of each of these places that is stored (read in the import's transaction)."""
    found: dict[str, str | None] = {}
    for chunk in _chunks(sorted(place_ids)):
        found.update(session.execute(select(Place.place_id, Place.municipality).where(Place.place_id.in_(chunk))).all())
    return found


def _check_scope(
    scope: Scope, place_rows: list[dict[str, Any]], batch: _Batch, stored_towns: dict[str, str | None]
) -> dict[str, str | None]:
    """Each place's municipality once the import is stored; refuses (403) a place of another municipality
    that the import would change, move or refer to, judged by the *stored* place, never by what the import
    says about it (a place given with another municipality is a move). A new place of a scoped caller
    without a municipality is a 422 (name the town)."""
    town_of = dict(stored_towns)
    outside: list[str] = []
    unnamed: list[str] = []
    for row in place_rows:
        pid, given = row["place_id"], row.get("municipality")
        if pid in stored_towns:
            if not scope.allows(stored_towns[pid]) or (given is not None and not scope.allows(given)):
                outside.append(pid)
            if given is not None:
                town_of[pid] = given
        elif given is None and scope.scoped:
            unnamed.append(pid)
        else:
            if not scope.allows(given):
                outside.append(pid)
            town_of[pid] = given
    for incident in batch.rows.values():
        pid = incident.place_id
        if pid in town_of and not scope.allows(town_of[pid]) and pid not in outside:
            outside.append(pid)
    if outside:
        shown = ", ".join(repr(p[:60]) for p in sorted(outside)[:5]) + (" and more" if len(outside) > 5 else "")
        raise PermissionDeniedError(
            f"{scope.who} is for {', '.join(scope.municipalities or ())}: place(s) {shown} are not theirs; nothing "
            "was stored: import only your municipalities' places and incidents, or use an area-wide token"
        )
    if unnamed:
        shown = ", ".join(repr(p[:60]) for p in sorted(unnamed)[:5]) + (" and more" if len(unnamed) > 5 else "")
        raise InvalidInputError(
            f"new place(s) {shown} name no municipality: give them one of {', '.join(scope.municipalities or ())} "
            "(the places file's municipality column, or municipality=... / --municipality)"
        )
    return town_of


def _check_columns(incidents: pd.DataFrame, name: str) -> None:
    missing = [c for c in REQUIRED_INCIDENT_COLUMNS if c not in incidents.columns]
    if missing:
        raise InvalidInputError(
            f"{name}: missing columns {missing}: give at least {', '.join(REQUIRED_INCIDENT_COLUMNS)}",
            [Problem(name, None, c, "missing column", f"add a {c} column") for c in missing],
        )


def _read_rows(incidents: pd.DataFrame, batch: _Batch) -> None:
    """Every usable row into ``batch.rows`` (first occurrence of an id wins; an identical repeat is
    counted, a different one is a problem); unusable values become problems."""
    has = {c: c in incidents.columns for c in ("category", "source", "weight", "note")}
    rows = _rows(incidents)
    times = _utc_times(incidents["occurred_at"])
    for position, rec in enumerate(incidents.to_dict("records")):
        row = _incident_row(rec, rows[position], times[position] if times is not None else None, has, batch)
        if row is None:
            continue
        earlier = batch.rows.get(row.incident_id)
        if earlier is None:
            batch.rows[row.incident_id] = row
        elif _differs(earlier.stored(), row.stored()):
            batch.problem(
                row.row,
                "incident_id",
                f"incident {row.incident_id[:40]} appears twice in the file with different content",
                "give each incident its own id, or drop the duplicate row",
            )
        else:
            batch.repeated += 1


def _incident_row(
    rec: dict[str, Any], row: int | None, utc_time: dt.datetime | None, has: dict[str, bool], batch: _Batch
) -> _IncidentRow | None:
    """One record checked and typed, or ``None`` (with its problems added to ``batch``)."""
    iid = _text(rec.get("incident_id"))
    if iid is None or not iid.strip():
        batch.problem(row, "incident_id", "empty incident_id", "give every incident an id")
        return None
    try:
        occurred = utc_time if utc_time is not None else _utc_datetime(rec.get("occurred_at"))
    except (ValueError, TypeError):
        occurred = None
    if occurred is None:
        batch.problem(
            row,
            "occurred_at",
            f"incident {iid[:40]}: occurred_at {rec.get('occurred_at')!s:.40} is not a tz-aware time",
            "read the file with tryggplan.readers (it attaches the offset)",
        )
        return None
    place_id = _text(rec.get("place_id"))
    weight_raw = rec.get("weight") if has["weight"] else 1.0
    try:
        weight = float(weight_raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        weight = float("nan")
    candidate = _IncidentRow(
        incident_id=iid,
        occurred_at=occurred,
        place_id=place_id or "",
        category=_text(rec.get("category")) if has["category"] else None,
        source=_text(rec.get("source")) if has["source"] else None,
        weight=weight,
        row=row,
        note=_text(rec.get("note")) if has["note"] else None,
    )
    usable = True
    for column in ("incident_id", "place_id", "category", "source"):
        value = getattr(candidate, column)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            batch.problem(
                row,
                column,
                f"incident {iid[:40]}: {column} is {len(value)} characters long",
                f"shorten it to at most {MAX_TEXT} characters",
            )
            usable = False
    if not place_id:
        batch.problem(row, "place_id", f"incident {iid[:40]}: empty place_id", "name the place of every incident")
        usable = False
    if not math.isfinite(weight) or weight < 0:
        batch.problem(
            row,
            "weight",
            f"incident {iid[:40]}: weight {weight_raw!r} is not a number >= 0",
            "use a finite weight >= 0 (1 by default)",
        )
        usable = False
    return candidate if usable else None


def _check_places_known(batch: _Batch, known: set[str]) -> None:
    """Every incident's place is given with the import or already stored."""
    for row in batch.rows.values():
        if row.place_id not in known:
            batch.problem(
                row.row,
                "place_id",
                f"incident {row.incident_id[:40]}: unknown place {row.place_id[:60]!r}",
                "add the place to the places file (or import places first)",
                kind="unknown_place",
            )


def _compare_with_stored(session: Session, batch: _Batch, scope: Scope = AREA_WIDE) -> tuple[list[_IncidentRow], int]:
    """The rows new to the database and how many are stored with identical content; an id stored with
    other content is a problem. A stored row the caller may not read (another municipality's, or for a
    reporter another caller's) is never described: its id is only said to be taken, whatever its content,
    so an error cannot be used to read other towns' rows or to confirm a guess about them."""
    stored: dict[str, dict[str, Any]] = {}
    readable: dict[str, bool] = {}
    columns = [getattr(Incident, c) for c in _STORED_COLUMNS]
    for chunk in _chunks(list(batch.rows), 2000):
        stmt = (
            select(*columns, Incident.created_by, Place.municipality)
            .outerjoin(Place, Place.place_id == Incident.place_id)
            .where(Incident.incident_id.in_(chunk))
        )
        for found in session.execute(stmt):
            stored[found.incident_id] = {c: getattr(found, c) for c in _STORED_COLUMNS}
            readable[found.incident_id] = scope.reads_incident(found.municipality, found.created_by)
    new: list[_IncidentRow] = []
    unchanged = 0
    for iid, row in batch.rows.items():
        old = stored.get(iid)
        if old is None:
            new.append(row)
        elif not readable[iid]:
            batch.problem(
                row.row,
                "incident_id",
                f"incident id {iid[:40]} is already used by an incident you cannot read",
                "give this incident another id",
                kind="duplicate_id",
            )
        elif _differs(old, row.stored()):
            batch.problem(
                row.row,
                "incident_id",
                f"incident {iid[:40]} is already stored with different content ({_diff_text(old, row.stored())})",
                "keep ids stable and content unchanged, or give a corrected incident a new id",
                kind="duplicate_id",
            )
        else:
            unchanged += 1
    return new, unchanged


def _record_import(
    session: Session,
    source_file: str | None,
    actor: str,
    added: int,
    unchanged: int,
    rejected: int,
    place_rows: list[dict[str, Any]],
) -> ImportRecord:
    record = ImportRecord(
        actor=actor[:200],
        source_file=(source_file or None) and source_file[:500],
        rows_added=added,
        rows_unchanged=unchanged,
        rows_rejected=int(rejected),
        places_upserted=len(place_rows),
        created_at=utcnow(),
    )
    session.add(record)
    session.flush()
    return record


def _differs(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["occurred_at"] != b["occurred_at"]
        or a["place_id"] != b["place_id"]
        or (a["category"] or None) != (b["category"] or None)
        or (a["source"] or None) != (b["source"] or None)
        or not _same_float(a["weight"], b["weight"])
    )


def _diff_text(old: dict[str, Any], new: dict[str, Any]) -> str:
    parts = []
    for col in ("occurred_at", "place_id", "category", "source", "weight"):
        a, b = old[col], new[col]
        same = _same_float(a, b) if col == "weight" else (a or None) == (b or None)
        if not same:
            parts.append(f"{col} {str(a)[:40]} -> {str(b)[:40]}")
    return "; ".join(parts)


def _upsert_places(session: Session, rows: list[dict[str, Any]]) -> None:
    ids = [r["place_id"] for r in rows]
    existing: dict[str, Place] = {}
    for chunk in _chunks(ids):
        for place in session.scalars(select(Place).where(Place.place_id.in_(chunk))):
            existing[place.place_id] = place
    now = utcnow()
    for row in rows:
        found = existing.get(row["place_id"])
        if found is None:
            session.add(Place(**row, updated_at=now))
        else:
            # a field the import leaves empty keeps its stored value: a places file without names or
            # coordinates, or a JSON place with only an id, never erases them
            for key, value in row.items():
                if value is not None:
                    setattr(found, key, value)
            found.updated_at = now
    session.flush()


def upsert_places(engine: Engine, places: pd.DataFrame, source_file: str = "places") -> int:
    """Insert or update canonical places; returns how many were given. All or nothing."""
    problems: list[Problem] = []
    rows = _place_rows(places, source_file, problems)
    if problems:
        raise InvalidInputError(f"{source_file}: {len(problems)} problem(s); first: {problems[0]}", problems)
    with Session(engine) as session, session.begin():
        _upsert_places(session, rows)
    return len(rows)


# --------------------------------------------------------------------------- reading


def read_places(engine: Engine, municipality: Municipalities = None) -> pd.DataFrame:
    """Stored places as the canonical frame ``place_id, name, municipality, lat, lon, kind, area``."""
    stmt = select(*(getattr(Place, c) for c in PLACE_COLUMNS)).order_by(Place.place_id)
    if municipality is not None:
        stmt = stmt.where(in_municipalities(municipality))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(PLACE_COLUMNS))
    for col in ("lat", "lon"):
        frame[col] = frame[col].astype(float)
    return frame


def _filtered(
    stmt: Any,
    start: dt.datetime | pd.Timestamp | None,
    end: dt.datetime | pd.Timestamp | None,
    place_ids: Iterable[str] | None,
    municipality: Municipalities,
    created_by: str | None = None,
) -> Any:
    if created_by is not None:
        stmt = stmt.where(Incident.created_by == created_by)
    if start is not None:
        stmt = stmt.where(Incident.occurred_at >= _utc_datetime(start))
    if end is not None:
        stmt = stmt.where(Incident.occurred_at < _utc_datetime(end))
    if place_ids is not None:
        stmt = stmt.where(Incident.place_id.in_(list(place_ids)))
    if municipality is not None:
        stmt = stmt.where(Incident.place_id.in_(places_in(municipality)))
    return stmt


def read_incidents(
    engine: Engine,
    start: dt.datetime | pd.Timestamp | None = None,
    end: dt.datetime | pd.Timestamp | None = None,
    place_ids: Iterable[str] | None = None,
    municipality: Municipalities = None,
    limit: int | None = None,
    offset: int = 0,
    created_by: str | None = None,
    details: bool = False,
) -> pd.DataFrame:
    """Stored incidents as the canonical frame (``occurred_at`` tz-aware UTC), oldest first.

    ``start``/``end`` (tz-aware, end exclusive), ``place_ids``/``municipality`` and ``created_by`` (the
    actor that stored them) filter. ``details`` adds ``created_by``, ``created_at`` (UTC) and ``note``.
    """
    extra = [Incident.created_by, Incident.created_at, Incident.note] if details else []
    stmt = select(
        Incident.incident_id,
        Incident.occurred_at,
        Incident.place_id,
        Incident.category,
        Incident.source,
        Incident.weight,
        *extra,
    )
    stmt = _filtered(stmt, start, end, place_ids, municipality, created_by)
    stmt = stmt.order_by(Incident.occurred_at, Incident.incident_id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["incident_id", "occurred_at", "place_id", "category", "source", "weight"]
        + (["created_by", "created_at", "note"] if details else []),
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    if details:
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["weight"] = frame["weight"].astype(float)
    for col in ("incident_id", "place_id", "category", "source"):
        frame[col] = frame[col].astype("string")
    return frame


def count_incidents(
    engine: Engine,
    start: dt.datetime | pd.Timestamp | None = None,
    end: dt.datetime | pd.Timestamp | None = None,
    place_ids: Iterable[str] | None = None,
    municipality: Municipalities = None,
    created_by: str | None = None,
) -> int:
    """How many incidents are stored (matching the filters of :func:`read_incidents`)."""
    stmt = _filtered(select(func.count()).select_from(Incident), start, end, place_ids, municipality, created_by)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def category_counts(engine: Engine, municipality: Municipalities = None) -> list[tuple[str, int]]:
    """The stored incidents' categories (of these municipalities) with how many each, most first."""
    n = func.count().label("n")
    stmt = select(Incident.category, n).where(Incident.category.is_not(None)).group_by(Incident.category)
    if municipality is not None:
        stmt = stmt.where(Incident.place_id.in_(places_in(municipality)))
    with engine.connect() as conn:
        found = [(str(c), int(k)) for c, k in conn.execute(stmt.order_by(n.desc(), Incident.category)) if c]
    return found


__all__ = [
    "category_counts",
    "ImportResult",
    "MAX_TEXT",
    "count_incidents",
    "import_incidents",
    "read_incidents",
    "read_places",
    "upsert_places",
]
