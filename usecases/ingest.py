"""Ingest: check an incident file, import a file or a JSON batch (all or nothing, idempotent).

One rule set for ``tryggplan validate|import`` and ``POST /api/v1/incidents[/upload]``:

* every incident names a known place: one of the places file given (upserted), of those stored, or of
  those the file brings itself (the police feed's municipalities); with ``create_places``, place ids the
  file names that are not known yet are created as new places (with no name, coordinates or area), so a
  typo never makes a place silently;
* all or nothing: any problem refuses the file with :class:`ImportRefusedError` (a 422, exit 2)
  listing every problem, and nothing is stored; with ``skip_invalid`` the valid rows are stored
  and the others returned as ``rejected`` (their raw fields plus ``row`` and ``reason``), except
  for file-level problems (:func:`is_file_level`), which always refuse the file;
* idempotent: ids stored with the same content count as ``unchanged``; an id stored with other
  content is a problem of its row.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from tryggplan.domain import DEFAULT_TZ, INCIDENT_COLUMNS, InvalidInputError, PermissionDeniedError, Problem
from tryggplan.readers import (
    DEFAULT_LIMITS,
    FORMATS,
    Format,
    IncidentFile,
    ReadLimits,
    load_incidents,
    places_from_incidents,
    read_places,
    read_table,
    summarize,
    unique_problems,
)
from tryggplan.storage import incidents as stored
from tryggplan.storage import places as stored_places
from tryggplan.text import forbidden_character
from tryggplan.usecases.access import Principal
from tryggplan.validation import row_text_problems, stored_conflicts, validate_incidents, validate_places

#: Longest reporter's text [characters].
MAX_NOTE_CHARS = 500

#: Problems that concern the whole file, not a row: they refuse it even with ``skip_invalid``.
FILE_LEVEL_KINDS: frozenset[str] = frozenset(
    {"empty_file", "binary_file", "workbook", "encoding", "missing_column", "duplicate_column"}
)


def is_file_level(problem: Problem) -> bool:
    """Whether ``problem`` is about the file as a whole (no row of it can be trusted)."""
    return problem.row is None or problem.kind in FILE_LEVEL_KINDS


class ImportRefusedError(InvalidInputError):
    """Nothing was imported. ``file`` is what was read (for the report), ``problems`` every problem."""

    def __init__(self, message: str, problems: list[Problem], file: IncidentFile | None = None) -> None:
        super().__init__(message, problems)
        self.file = file


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did. ``added + unchanged`` rows are now stored."""

    source_file: str
    import_id: int | None
    added: int
    unchanged: int
    places_upserted: int
    #: rows not imported (``skip_invalid``): raw fields as in the input plus ``row`` and ``reason``
    rejected: pd.DataFrame
    #: every problem found (reading and against the database)
    problems: list[Problem]
    #: the file as read (``None`` for a JSON batch)
    file: IncidentFile | None = field(default=None, compare=False)


def check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt  # type: ignore[return-value]


def known_places(engine: Engine | None, places_file: pd.DataFrame | None) -> pd.DataFrame | None:
    """The places a file is checked against: the places file's and the stored ones (``None``: none known)."""
    frames = [f for f in (places_file, stored.read_places(engine) if engine is not None else None) if f is not None]
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True).drop_duplicates("place_id")


CREATE_PLACES_FIX = (
    "add it to the places file (--places / the upload's places file), correct the place_id, or create the "
    "file's new places from their ids (--create-places / create_places=true)"
)


def _load(
    path: Path,
    known: pd.DataFrame | None,
    *,
    fmt: str,
    tz: str,
    columns: str | None,
    source: str | None,
    include_noncrime: bool,
    create_places: bool,
    strict: bool = True,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> IncidentFile:
    """The file read with the place rule of the module docstring: with ``strict`` and no place known,
    every place is unknown (the police feed is checked against the municipalities it brings)."""

    def read(places: pd.DataFrame | set[str] | None) -> IncidentFile:
        return load_incidents(
            path,
            format=check_format(fmt),
            tz=tz,
            columns=columns,
            source=source,
            places=places,
            include_noncrime=include_noncrime,
            limits=limits,
        )

    if create_places:
        return read(None)
    result = read(known if known is not None else (set() if strict else None))
    if known is None and strict and result.format == "police":
        result = read(None)
    result.problems = [
        dataclasses.replace(p, fix=CREATE_PLACES_FIX) if p.kind == "unknown_place" else p for p in result.problems
    ]
    return result


def _with_new_places(
    incidents: pd.DataFrame, known: pd.DataFrame | None, given: pd.DataFrame | None
) -> pd.DataFrame | None:
    """The places to store with ``create_places``: those given, plus bare places for the place ids of
    ``incidents`` that are neither known nor given (stored places are never overwritten)."""
    have = {str(p) for frame in (known, given) if frame is not None for p in frame["place_id"]}
    fresh = places_from_incidents(incidents)
    fresh = fresh[~fresh["place_id"].astype(str).isin(have)].reset_index(drop=True)
    if given is None:
        return fresh if len(fresh) else None
    return pd.concat([given, fresh], ignore_index=True)


def check_file(
    path: Path,
    *,
    engine: Engine | None = None,
    places_path: Path | None = None,
    fmt: str = "auto",
    tz: str = DEFAULT_TZ,
    columns: str | None = None,
    source: str | None = None,
    include_noncrime: bool = False,
    create_places: bool = False,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> IncidentFile:
    """Read and check an incident file without storing anything (within ``limits``: a file over one
    raises :class:`tryggplan.domain.InputTooLargeError`).

    Place ids are checked against the places file and (with ``engine``) the stored places, when any are
    known. With ``engine``, also ids stored with other content are problems; the database is only read.
    """
    places_file = read_places(places_path, limits=limits) if places_path is not None else None
    known = known_places(engine, places_file)
    result = _load(
        path,
        known,
        fmt=fmt,
        tz=tz,
        columns=columns,
        source=source,
        include_noncrime=include_noncrime,
        create_places=create_places,
        strict=False,
        limits=limits,
    )
    if engine is not None and not result.valid.empty:
        conflicts = stored_conflicts(result.valid, stored.read_incidents(engine), result.file)
        if conflicts:
            bad = {p.row for p in conflicts}
            moved = set(result.valid.loc[result.valid["row"].isin(bad), "row"])
            result.problems = sorted(result.problems + conflicts, key=lambda p: p.row or 0)
            result.valid = result.valid[~result.valid["row"].isin(bad)].reset_index(drop=True)
            result.rejected = pd.concat([result.rejected, raw_rows(path, moved, limits)], ignore_index=True)
    return result


def read_file(
    path: Path,
    *,
    places_path: Path | None = None,
    fmt: str = "auto",
    tz: str = DEFAULT_TZ,
    columns: str | None = None,
    source: str | None = None,
    include_noncrime: bool = False,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The incidents of a file ``import`` would accept and the places of the places file (``None``
    without one), for commands that work on a file without a database; any problem refuses it."""
    places_file = read_places(places_path, limits=limits) if places_path is not None else None
    result = load_incidents(
        path,
        format=check_format(fmt),
        tz=tz,
        columns=columns,
        source=source,
        places=places_file,
        include_noncrime=include_noncrime,
        limits=limits,
    )
    result.raise_for_problems()
    return result.incidents, places_file


def import_file(
    engine: Engine,
    path: Path,
    *,
    places_path: Path | None = None,
    fmt: str = "auto",
    tz: str = DEFAULT_TZ,
    columns: str | None = None,
    source: str | None = None,
    include_noncrime: bool = False,
    skip_invalid: bool = False,
    actor: str = "cli",
    municipalities: list[str] | None = None,
    create_places: bool = False,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> ImportOutcome:
    """Read, check and store an incident file (see the module docstring for the rules). With
    ``municipalities``, only incidents of places in them may be imported (:func:`check_scope`). The
    file and the places file are read within ``limits`` (:class:`tryggplan.domain.InputTooLargeError`
    when one is passed, before anything is stored)."""
    places_file = read_places(places_path, limits=limits) if places_path is not None else None
    known = known_places(engine, places_file)
    result = _load(
        path,
        known,
        fmt=fmt,
        tz=tz,
        columns=columns,
        source=source,
        include_noncrime=include_noncrime,
        create_places=create_places,
        limits=limits,
    )
    if result.problems and (not skip_invalid or not result.rows or any(map(is_file_level, result.problems))):
        raise ImportRefusedError(
            f"nothing imported: {summarize(result.problems, result.file)}", result.problems, result
        )
    if result.rows == 0:
        return ImportOutcome(result.file, None, 0, 0, 0, result.rejected, [], result)
    upsert = places_file if places_file is not None else result.places
    if create_places:
        upsert = _with_new_places(result.valid, known, upsert)
    check_scope(engine, result.valid, upsert, municipalities)
    return _store(
        engine,
        result.valid,
        upsert,
        result.file,
        actor,
        skip_invalid,
        result.problems,
        result.rejected,
        lambda rows: raw_rows(path, rows, limits),
        result,
    )


@dataclass(frozen=True)
class ImportOptions:
    """How a file is imported (the options of ``tryggplan import`` and of the upload route)."""

    tz: str = DEFAULT_TZ
    fmt: str = "auto"
    columns: str | None = None
    source: str | None = None
    include_noncrime: bool = False
    skip_invalid: bool = False
    actor: str = "cli"
    municipalities: list[str] | None = None
    create_places: bool = False
    limits: ReadLimits = DEFAULT_LIMITS


def import_upload(engine: Engine, path: Path, places_path: Path | None, options: ImportOptions) -> ImportOutcome:
    """:func:`import_file` with the options of one request."""
    return import_file(
        engine,
        path,
        places_path=places_path,
        fmt=options.fmt,
        tz=options.tz,
        columns=options.columns,
        source=options.source,
        include_noncrime=options.include_noncrime,
        skip_invalid=options.skip_invalid,
        actor=options.actor,
        municipalities=options.municipalities,
        create_places=options.create_places,
        limits=options.limits,
    )


def import_records(
    engine: Engine,
    incidents: list[dict[str, Any]],
    places: list[dict[str, Any]] | None = None,
    *,
    tz: str = DEFAULT_TZ,
    skip_invalid: bool = False,
    actor: str = "api",
    municipalities: list[str] | None = None,
    create_places: bool = False,
) -> ImportOutcome:
    """Check and store incidents given as records (a JSON batch); ``row`` in problems is the 1-based
    position in ``incidents`` (``places``). Same rules as :func:`import_file`."""
    name = "request.incidents"
    places_frame: pd.DataFrame | None = None
    if places:
        raw_places = _strings(pd.DataFrame(places))
        places_frame, place_problems = validate_places(raw_places, "request.places")
        if place_problems:
            raise ImportRefusedError(summarize(place_problems, "request.places"), place_problems)
    known = known_places(engine, places_frame)
    raw = _strings(pd.DataFrame(incidents, columns=list(INCIDENT_COLUMNS)))
    notes, note_problems = _notes(incidents, name)
    header = list(INCIDENT_COLUMNS)
    # NUL and control characters are refused as the file readers refuse them (PostgreSQL cannot store NUL)
    text_problems = [
        p
        for i, fields in enumerate(raw[header].itertuples(index=False, name=None), start=1)
        for p in row_text_problems(name, i, header, list(fields))
    ]
    allowed = None if create_places else (set() if known is None else set(known["place_id"].astype(str)))
    check = validate_incidents(raw, name, tz=tz, places=allowed)
    # a control character is one problem, not one from each check
    problems = unique_problems(sorted(text_problems + note_problems + check.problems, key=lambda p: p.row or 0))
    problems = [dataclasses.replace(p, fix=CREATE_PLACES_FIX) if p.kind == "unknown_place" else p for p in problems]
    bad = {p.row for p in problems if p.row is not None}
    valid = check.frame[~check.frame["row"].isin(bad) & ~check.frame["row"].isin(check.duplicate_rows)]
    valid = valid.reset_index(drop=True)
    if notes:
        valid = valid.assign(note=valid["row"].map(lambda r: notes.get(int(r))))
    if problems and not skip_invalid:
        raise ImportRefusedError(f"nothing imported: {summarize(problems, name)}", problems)
    upsert = places_frame
    if create_places:
        upsert = _with_new_places(valid, known, upsert)
    check_scope(engine, valid, upsert, municipalities)
    rejected = _with_reasons(raw[raw["row"].isin(bad)], problems)
    return _store(
        engine,
        valid,
        upsert,
        "request",
        actor,
        skip_invalid,
        problems,
        rejected,
        lambda rows: raw[raw["row"].isin(rows)],
    )


def _notes(incidents: list[dict[str, Any]], name: str) -> tuple[dict[int, str], list[Problem]]:
    """The reporters' texts by 1-based position (whitespace and line breaks collapsed to single spaces)
    and their problems: longer than :data:`MAX_NOTE_CHARS`, or holding a control character."""
    notes: dict[int, str] = {}
    problems: list[Problem] = []
    for i, rec in enumerate(incidents, start=1):
        raw = rec.get("note")
        if raw is None:
            continue
        text = " ".join(str(raw).split())
        if not text:
            continue
        found = forbidden_character(text)
        if found is not None and found[2] == "control_character":
            problems.append(
                Problem(
                    name,
                    i,
                    "note",
                    f"note contains the control character U+{ord(found[1]):04X} at position {found[0] + 1}",
                    "remove it",
                    kind="control_character",
                )
            )
        elif len(text) > MAX_NOTE_CHARS:
            problems.append(
                Problem(
                    name,
                    i,
                    "note",
                    f"note is {len(text)} characters long (at most {MAX_NOTE_CHARS})",
                    f"shorten it to at most {MAX_NOTE_CHARS} characters",
                    kind="long_note",
                )
            )
        else:
            notes[i] = text
    return notes, problems


def report_incidents(
    engine: Engine,
    principal: Principal,
    incidents: list[dict[str, Any]],
    places: list[dict[str, Any]] | None = None,
    *,
    tz: str = DEFAULT_TZ,
    skip_invalid: bool = False,
    create_places: bool = False,
) -> ImportOutcome:
    """``POST /api/v1/incidents`` for every role that may create incidents: :func:`import_records`, in
    the caller's municipalities, recorded as the caller's (``created_by``). A reporter creates incidents
    only: never places (403), and its rows' ``source`` is ``reporter`` unless it names one."""
    if principal.role == "reporter":
        if places:
            raise PermissionDeniedError(
                "a reporter may not create or change places: choose one of the places from GET /api/v1/places, "
                "or ask an analyst to add the place"
            )
        if create_places:
            raise PermissionDeniedError(
                "a reporter may not create places: choose one of the places from GET /api/v1/places, "
                "or ask an analyst to add the place"
            )
        incidents = [{**rec, "source": rec.get("source") or "reporter"} for rec in incidents]
    return import_records(
        engine,
        incidents,
        places,
        tz=tz,
        skip_invalid=skip_invalid,
        actor=principal.actor,
        municipalities=list(principal.municipalities) if principal.municipalities is not None else None,
        create_places=create_places,
    )


def check_scope(
    engine: Engine, incidents: pd.DataFrame, places: pd.DataFrame | None, municipalities: list[str] | None
) -> None:
    """Refuse (403) incidents of places outside ``municipalities`` (``None``: any place may be imported).
    A place's municipality is the one given with the upload, else the stored one."""
    if municipalities is None or incidents.empty:
        return
    ids = sorted(set(incidents["place_id"].astype(str)))
    town = {p: m for p, m in stored_places.place_municipalities(engine, ids).items()}
    if places is not None and "municipality" in places.columns:
        town.update(zip(places["place_id"].astype(str), places["municipality"], strict=True))
    outside = [p for p in ids if not (isinstance(town.get(p), str) and town[p] in municipalities)]
    if outside:
        raise PermissionDeniedError(
            f"this token may import incidents of {', '.join(municipalities)} only: place(s) "
            f"{', '.join(map(repr, outside[:5]))}{' and more' if len(outside) > 5 else ''} belong to another "
            "or to no municipality; give them in the places file with their municipality, or use an area-wide token"
        )


def _store(
    engine: Engine,
    valid: pd.DataFrame,
    places: pd.DataFrame | None,
    name: str,
    actor: str,
    skip_invalid: bool,
    problems: list[Problem],
    rejected: pd.DataFrame,
    raw_of: Any,
    file: IncidentFile | None = None,
) -> ImportOutcome:
    """Store ``valid``; with ``skip_invalid``, rows that conflict with the database move to ``rejected``
    and the rest is stored (all in one transaction per attempt)."""
    problems = list(problems)
    while True:
        try:
            result = stored.import_incidents(
                engine, valid, places, source_file=name, actor=actor, rejected=len(rejected)
            )
            break
        except InvalidInputError as exc:
            rows = {p.row for p in exc.problems if p.row is not None}
            if not skip_invalid or not rows or not valid["row"].isin(rows).any():
                raise ImportRefusedError(f"nothing imported: {exc}", list(exc.problems), file) from exc
            problems += exc.problems
            rejected = pd.concat([rejected, _with_reasons(raw_of(rows), exc.problems)], ignore_index=True)
            valid = valid[~valid["row"].isin(rows)].reset_index(drop=True)
    return ImportOutcome(
        source_file=name,
        import_id=result.import_id,
        added=result.added,
        unchanged=result.unchanged,
        places_upserted=result.places_upserted,
        rejected=rejected,
        problems=problems,
        file=file,
    )


def _with_reasons(raw: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    reasons: dict[int, list[str]] = {}
    for p in problems:
        if p.row is not None:
            reasons.setdefault(p.row, []).append(f"{p.column or 'row'}: {p.message}")
    out = raw.copy()
    out["reason"] = ["; ".join(reasons.get(int(r), [])) for r in out["row"]]
    return out


def _strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as text ('' for missing), plus the 1-based ``row``, as the readers hand rows over."""
    out = frame.astype(object).where(frame.notna(), "").astype(str)
    out["row"] = range(1, len(out) + 1)
    return out


def raw_rows(path: Path, rows: set[int], limits: ReadLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """The rows of ``path`` with these spreadsheet row numbers, as they are in the file."""
    raw = read_table(path, limits=limits).frame()
    return raw[raw["row"].isin(rows)].copy()
