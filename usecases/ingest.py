"""Ingest: check an incident file, import a file or a JSON batch (all or nothing, idempotent).

One rule set for ``tryggplan validate|import`` and ``POST /api/v1/incidents[/upload]``:

* every incident names a known place: one of the places file given (upserted), of those stored, or of
  those the file brings itself (the police feed's municipalities);
* **the first import into a town creates its places** (:func:`creates_places`, one rule for the CLI and
  the upload): when the import is for a known town (the caller's only municipality, or the one named)
  that has no place yet, and no places are given with it, the file's place ids become new places of
  that town (with no coordinates or area yet); afterwards an unknown place id is a problem (a typo never
  makes a place silently) unless ``create_places`` asks for it; ``create_places=False`` refuses unknown
  places even on a first import;
* **towns stay apart**: the caller's :class:`~tryggplan.storage.scope.Scope` goes to the storage's
  transaction, which refuses (403) changing, moving or referring to a place of another municipality,
  judged by the stored place, and never describes a stored incident the caller may not read;
* all or nothing: any problem refuses the file with :class:`ImportRefusedError` (a 422, exit 2)
  listing every problem, and nothing is stored; with ``skip_invalid`` the valid rows are stored
  and the others returned as ``rejected`` (their raw fields plus ``row`` and ``reason``), except
  for file-level problems (:func:`is_file_level`), which always refuse the file;
* idempotent: ids stored with the same content count as ``unchanged``; an id stored with other
  content is a problem of its row;
* **validate is the import's dry run**: :func:`check_file` runs :func:`import_file` with ``dry_run``
  (against the database, or an empty one in memory), so it says exactly what the import would do.
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
from tryggplan.storage.database import scratch_database
from tryggplan.storage.scope import AREA_WIDE, Scope
from tryggplan.text import forbidden_character
from tryggplan.usecases.access import Principal
from tryggplan.validation import row_text_problems, validate_incidents, validate_places

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
    """What an import did (or, with ``dry_run``, would do). ``added + unchanged`` rows are now stored."""

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
    #: ids of the places the import created (by the first-import rule or ``create_places``)
    new_places: tuple[str, ...] = ()
    #: nothing was stored: this is what the import would do
    dry_run: bool = False
    #: (dry run) the import without ``skip_invalid`` would refuse the file because of ``problems``
    would_refuse: bool = False


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
#: the fix of an unknown place when no place is known at all: the first import of a town not named
FIRST_IMPORT_FIX = (
    "no place is known yet: name the file's town (--municipality / municipality=) to make its first import "
    "create them, give a places file (--places), or create them (--create-places / create_places=true)"
)


def unknown_place_fix(known: pd.DataFrame | None) -> str:
    """What to do about an unknown place: create it or correct it, or, when no place is known yet, name
    the town so that its first import creates them."""
    return FIRST_IMPORT_FIX if known is None else CREATE_PLACES_FIX


def target_town(scope: Scope, municipality: str | None) -> str | None:
    """The municipality an import is for: the one named (checked against the scope), else the caller's
    only one, else ``None`` (an area-wide caller, or one of several towns, naming none)."""
    if municipality is not None:
        scope.check(municipality)
        return municipality
    return scope.single


def creates_places(engine: Engine, town: str | None, create_places: bool | None, places_given: bool) -> bool:
    """The first-import rule, one for ``tryggplan import|validate`` and the upload: ``create_places`` when
    it is given; otherwise the file's unknown place ids become new places exactly on the first import
    into a town: the import is for a known town (:func:`target_town`: the caller's only municipality, or
    the one named), no places are given with it (a places file, JSON places) and that town has no stored
    place yet. Afterwards, or for an import of no named town, an unknown place id is a problem of its
    row: a typo never makes a place silently, and a place always belongs to a town."""
    if create_places is not None:
        return create_places
    if places_given or town is None:
        return False
    return not stored_places.any_place(engine, Scope((town,)))


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
    limits: ReadLimits = DEFAULT_LIMITS,
) -> IncidentFile:
    """The file read with the place rule of the module docstring (the police feed is checked against the
    municipalities it brings when no place is known)."""

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
    result = read(known if known is not None else set())
    if known is None and result.format == "police":
        result = read(None)
    result.problems = [
        dataclasses.replace(p, fix=unknown_place_fix(known)) if p.kind == "unknown_place" else p
        for p in result.problems
    ]
    return result


def _with_new_places(
    incidents: pd.DataFrame, known: pd.DataFrame | None, given: pd.DataFrame | None, town: str | None
) -> pd.DataFrame | None:
    """The places to store with ``create_places``: those given, plus bare places of ``town`` for the
    place ids of ``incidents`` that are neither known nor given (stored places are never overwritten)."""
    have = {str(p) for frame in (known, given) if frame is not None for p in frame["place_id"]}
    fresh = places_from_incidents(incidents)
    fresh = fresh[~fresh["place_id"].astype(str).isin(have)].reset_index(drop=True)
    fresh = fresh.assign(municipality=pd.Series([town] * len(fresh), dtype="object"))
    if not len(fresh):
        return given
    if given is None:
        return fresh
    return pd.concat([given, fresh], ignore_index=True)


def _in_town(places: pd.DataFrame | None, town: str | None, engine: Engine) -> pd.DataFrame | None:
    """``places`` with ``town`` as the municipality of the new ones that name none (a caller of one town,
    or a town named for the import, need not write it in every row); stored places keep theirs."""
    if places is None or town is None or not len(places):
        return places
    out = places.copy()
    if "municipality" not in out.columns:
        out["municipality"] = None
    stored_ids = set(stored_places.place_municipalities(engine, [str(p) for p in out["place_id"]]))
    missing = out["municipality"].isna() | (out["municipality"].astype(str).str.strip() == "")
    new = ~out["place_id"].astype(str).isin(stored_ids)
    out["municipality"] = out["municipality"].astype(object).where(~(missing & new), town)
    return out


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
    create_places: bool | None = None,
    municipality: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> ImportOutcome:
    """What ``import_file`` with the same options would do, storing nothing: the import's own code run as a
    dry run against ``engine`` (only read), or without one against an empty database in memory. Every
    problem is listed (reading and against the database, as ``skip_invalid`` finds them);
    ``would_refuse`` says whether the import without ``--skip-invalid`` would refuse the file. A file over
    one of ``limits`` raises :class:`tryggplan.domain.InputTooLargeError`."""
    scratch = scratch_database() if engine is None else None
    try:
        return import_file(
            engine if engine is not None else scratch,  # type: ignore[arg-type]
            path,
            places_path=places_path,
            fmt=fmt,
            tz=tz,
            columns=columns,
            source=source,
            include_noncrime=include_noncrime,
            skip_invalid=False,
            create_places=create_places,
            municipality=municipality,
            limits=limits,
            dry_run=True,
        )
    finally:
        if scratch is not None:
            scratch.dispose()


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
    create_places: bool | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    scope: Scope = AREA_WIDE,
    municipality: str | None = None,
    dry_run: bool = False,
) -> ImportOutcome:
    """Read, check and store an incident file (see the module docstring for the rules) for a caller of
    ``scope``, into ``municipality`` (:func:`target_town`: what new places belong to). ``create_places``
    ``None`` applies the first-import rule (:func:`creates_places`). The file and the places file are
    read within ``limits`` (:class:`tryggplan.domain.InputTooLargeError` when one is passed, before
    anything is stored). ``dry_run``: every problem is collected and nothing is stored (``check_file``)."""
    town = target_town(scope, municipality)
    places_file = read_places(places_path, limits=limits) if places_path is not None else None
    known = known_places(engine, places_file)
    given = places_file is not None and len(places_file) > 0
    create = creates_places(engine, town, create_places, given)
    result = _load(
        path,
        known,
        fmt=fmt,
        tz=tz,
        columns=columns,
        source=source,
        include_noncrime=include_noncrime,
        create_places=create,
        limits=limits,
    )
    refuse = bool(result.problems) and (not skip_invalid or not result.rows or any(map(is_file_level, result.problems)))
    if refuse and (not dry_run or not result.rows or any(map(is_file_level, result.problems))):
        raise ImportRefusedError(
            f"nothing imported: {summarize(result.problems, result.file)}", result.problems, result
        )
    if result.rows == 0:
        return ImportOutcome(result.file, None, 0, 0, 0, result.rejected, [], result, dry_run=dry_run)
    upsert = places_file if places_file is not None else result.places
    if create:
        upsert = _with_new_places(result.valid, known, upsert, town)
    outcome = _store(
        engine,
        result.valid,
        _in_town(upsert, town, engine),
        result.file,
        _Writer(actor, scope, skip_invalid or dry_run, dry_run),
        result.problems,
        result.rejected,
        lambda rows: raw_rows(path, rows, limits),
        result,
    )
    return dataclasses.replace(outcome, would_refuse=dry_run and bool(outcome.problems) and not skip_invalid)


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
    #: the caller's scope (an area-wide operator by default)
    scope: Scope = AREA_WIDE
    #: the municipality the file is for (new places are its); default the caller's only one
    municipality: str | None = None
    #: ``None``: the first-import rule (:func:`creates_places`)
    create_places: bool | None = None
    limits: ReadLimits = DEFAULT_LIMITS
    dry_run: bool = False


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
        scope=options.scope,
        municipality=options.municipality,
        create_places=options.create_places,
        limits=options.limits,
        dry_run=options.dry_run,
    )


def import_records(
    engine: Engine,
    incidents: list[dict[str, Any]],
    places: list[dict[str, Any]] | None = None,
    *,
    tz: str = DEFAULT_TZ,
    skip_invalid: bool = False,
    actor: str = "api",
    create_places: bool | None = None,
    scope: Scope = AREA_WIDE,
    municipality: str | None = None,
    dry_run: bool = False,
) -> ImportOutcome:
    """Check and store incidents given as records (a JSON batch); ``row`` in problems is the 1-based
    position in ``incidents`` (``places``). Same rules as :func:`import_file` (the first-import rule, the
    caller's ``scope``, the town new places belong to)."""
    name = "request.incidents"
    town = target_town(scope, municipality)
    places_frame: pd.DataFrame | None = None
    if places:
        raw_places = _strings(pd.DataFrame(places))
        places_frame, place_problems = validate_places(raw_places, "request.places")
        if place_problems:
            raise ImportRefusedError(summarize(place_problems, "request.places"), place_problems)
    known = known_places(engine, places_frame)
    create = creates_places(engine, town, create_places, bool(places))
    raw = _strings(pd.DataFrame(incidents, columns=list(INCIDENT_COLUMNS)))
    notes, note_problems = _notes(incidents, name)
    header = list(INCIDENT_COLUMNS)
    # NUL and control characters are refused as the file readers refuse them (PostgreSQL cannot store NUL)
    text_problems = [
        p
        for i, fields in enumerate(raw[header].itertuples(index=False, name=None), start=1)
        for p in row_text_problems(name, i, header, list(fields))
    ]
    allowed = None if create else (set() if known is None else set(known["place_id"].astype(str)))
    check = validate_incidents(raw, name, tz=tz, places=allowed)
    # a control character is one problem, not one from each check
    problems = unique_problems(sorted(text_problems + note_problems + check.problems, key=lambda p: p.row or 0))
    problems = [
        dataclasses.replace(p, fix=unknown_place_fix(known)) if p.kind == "unknown_place" else p for p in problems
    ]
    bad = {p.row for p in problems if p.row is not None}
    valid = check.frame[~check.frame["row"].isin(bad) & ~check.frame["row"].isin(check.duplicate_rows)]
    valid = valid.reset_index(drop=True)
    if notes:
        valid = valid.assign(note=valid["row"].map(lambda r: notes.get(int(r))))
    if problems and not skip_invalid and not dry_run:
        raise ImportRefusedError(f"nothing imported: {summarize(problems, name)}", problems)
    upsert = places_frame
    if create:
        upsert = _with_new_places(valid, known, upsert, town)
    rejected = _with_reasons(raw[raw["row"].isin(bad)], problems)
    outcome = _store(
        engine,
        valid,
        _in_town(upsert, town, engine),
        "request",
        _Writer(actor, scope, skip_invalid or dry_run, dry_run),
        problems,
        rejected,
        lambda rows: raw[raw["row"].isin(rows)],
    )
    return dataclasses.replace(outcome, would_refuse=dry_run and bool(outcome.problems) and not skip_invalid)


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
    create_places: bool | None = None,
    municipality: str | None = None,
) -> ImportOutcome:
    """``POST /api/v1/incidents`` for every role that may create incidents: :func:`import_records`, in
    the caller's scope, recorded as the caller's (``created_by``). A reporter creates incidents only:
    never places (403; the first-import rule never applies to it), and its rows' ``source`` is
    ``reporter`` unless it names one."""
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
        create_places = False
        incidents = [{**rec, "source": rec.get("source") or "reporter"} for rec in incidents]
    return import_records(
        engine,
        incidents,
        places,
        tz=tz,
        skip_invalid=skip_invalid,
        actor=principal.actor,
        create_places=create_places,
        scope=principal.scope,
        municipality=municipality,
    )


@dataclass(frozen=True)
class _Writer:
    """Who stores an import and how: the actor recorded, the caller's scope, whether rows the database
    refuses are set aside (``skip_invalid``, and every dry run, which collects all problems) and whether
    anything is written."""

    actor: str
    scope: Scope
    skip_invalid: bool
    dry_run: bool


def _store(
    engine: Engine,
    valid: pd.DataFrame,
    places: pd.DataFrame | None,
    name: str,
    writer: _Writer,
    problems: list[Problem],
    rejected: pd.DataFrame,
    raw_of: Any,
    file: IncidentFile | None = None,
) -> ImportOutcome:
    """Store ``valid`` (all in one transaction per attempt, in the caller's scope); with ``skip_invalid``
    rows that conflict with the database move to ``rejected`` and the rest is stored."""
    problems = list(problems)
    while True:
        try:
            result = stored.import_incidents(
                engine,
                valid,
                places,
                source_file=name,
                actor=writer.actor,
                rejected=len(rejected),
                scope=writer.scope,
                dry_run=writer.dry_run,
            )
            break
        except InvalidInputError as exc:
            rows = {p.row for p in exc.problems if p.row is not None}
            if not writer.skip_invalid or not rows or not valid["row"].isin(rows).any():
                # the same one line as every other refusal (and as ``validate`` says it)
                reason = summarize(list(exc.problems), name) if exc.problems else str(exc)
                raise ImportRefusedError(f"nothing imported: {reason}", list(exc.problems), file) from exc
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
        problems=sorted(problems, key=lambda p: p.row or 0),
        file=file,
        new_places=result.new_places,
        dry_run=writer.dry_run,
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
