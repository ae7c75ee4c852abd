"""Readers: incident and place files -> canonical frames (docs/architecture.md, "Data contracts").

Formats (``--format``; ``auto`` picks one from the header row):

``canonical``
    ``incident_id, occurred_at, place_id[, category, source, weight]`` as CSV (``,`` or ``;``,
    optionally gzip-compressed) or Parquet.
``excel``
    what Excel on a Swedish computer writes: ``;`` separators, cp1252 or UTF-8 with BOM, decimal
    commas, Swedish headers (:data:`INCIDENT_ALIASES`), date and time in separate columns
    (``Datum`` + ``Tid``) or together (``Tidpunkt``), Swedish category labels
    (:data:`SWEDISH_CATEGORIES`).
``police``
    the Swedish Police Authority's public events feed (``id, published_at, occurred_local, type,
    location_name, title, lat, lon, summary``); see :func:`police_frame`.
``mapped``
    any CSV, with ``--columns occurred_at=Date,place_id=Neighbourhood,...`` naming the source column
    of each canonical column; ids are generated when the file has none (:func:`generated_ids`).

Every reader returns an :class:`IncidentFile`: the valid incidents (``incident_id`` str,
``occurred_at`` tz-aware UTC, ``place_id``, ``category``, ``source``, ``weight`` float), the rejected
rows with their reasons, and every problem found (see :mod:`tryggplan.validation`).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tryggplan.domain import (
    DEFAULT_TZ,
    INCIDENT_COLUMNS,
    PLACE_COLUMNS,
    InvalidInputError,
    Problem,
    empty_incidents,
)
from tryggplan.timeutil import check_tz
from tryggplan.validation import decode_text, row_text_problems, validate_incidents, validate_places

Format = Literal["auto", "canonical", "excel", "police", "mapped"]
FORMATS: tuple[str, ...] = ("auto", "canonical", "excel", "police", "mapped")

#: Accepted header names per canonical column (compared lower-cased, with spaces/dashes as ``_``).
#: ``date`` and ``time`` are the separate date and clock columns of Excel exports.
INCIDENT_ALIASES: dict[str, tuple[str, ...]] = {
    "incident_id": (
        "incident_id",
        "id",
        "händelse_id",
        "händelseid",
        "händelsenummer",
        "händelsenr",
        "ärendenummer",
        "ärende_id",
        "ärendeid",
        "diarienummer",
        "löpnummer",
    ),
    "occurred_at": (
        "occurred_at",
        "tidpunkt",
        "datum_och_tid",
        "datum_tid",
        "händelsetidpunkt",
        "inträffade",
        "inträffad",
    ),
    "date": ("datum", "händelsedatum", "date"),
    "time": ("tid", "klockslag", "klocka", "kl", "time"),
    "place_id": ("place_id", "plats", "platsid", "plats_id", "platskod"),
    "category": ("category", "händelsetyp", "kategori", "brottstyp", "typ", "brottskategori"),
    "source": ("source", "källa", "rapportör", "inrapportör", "rapporterad_av"),
    "weight": ("weight", "vikt", "viktning"),
}

PLACE_ALIASES: dict[str, tuple[str, ...]] = {
    "place_id": ("place_id", "platsid", "plats_id", "plats", "id"),
    "name": ("name", "namn", "platsnamn"),
    "municipality": ("municipality", "kommun"),
    "lat": ("lat", "latitud", "latitude"),
    "lon": ("lon", "lng", "long", "longitud", "longitude"),
    "kind": ("kind", "typ", "platstyp"),
    "area": ("area", "område", "omrade", "rutt", "slinga"),
}

#: Swedish incident labels (lower-cased) -> canonical category. Unknown labels are kept lower-cased.
SWEDISH_CATEGORIES: dict[str, str] = {
    "skadegörelse": "vandalism",
    "klotter": "vandalism",
    "skadegörelse/klotter": "vandalism",
    "ordningsstörning": "disorder",
    "bråk": "disorder",
    "fylleri": "disorder",
    "fylleri/lob": "disorder",
    "ordningslagen": "disorder",
    "ofredande/förargelse": "disorder",
    "störning": "disorder",
    "misshandel": "assault",
    "misshandel, grov": "assault",
    "våld": "assault",
    "stöld": "theft",
    "stöld, försök": "theft",
    "snatteri": "theft",
    "cykelstöld": "theft",
    "häleri": "theft",
    "motorfordon, stöld": "vehicle_theft",
    "inbrott": "burglary",
    "inbrott, försök": "burglary",
    "stöld/inbrott": "burglary",
    "rån": "robbery",
    "rån, försök": "robbery",
    "rån väpnat": "robbery",
    "rån övrigt": "robbery",
    "narkotikabrott": "drugs",
    "narkotika": "drugs",
    "alkohollagen": "drugs",
    "olaga hot": "threat",
    "hot": "threat",
    "våld/hot mot tjänsteman": "threat",
    "bombhot": "threat",
    "knivlagen": "weapons",
    "vapenlagen": "weapons",
    "skottlossning": "shooting",
    "skottlossning, misstänkt": "shooting",
    "explosion": "explosion",
    "detonation": "explosion",
    "smällar": "explosion",
    "brand": "fire",
    "mordbrand": "fire",
    "mord/dråp": "homicide",
    "mord/dråp, försök": "homicide",
    "våldtäkt": "sexual",
    "våldtäkt, försök": "sexual",
    "sexualbrott": "sexual",
    "sedlighetsbrott": "sexual",
    "bedrägeri": "fraud",
    "förfalskningsbrott": "fraud",
    "missbruk av urkund": "fraud",
    "ekobrott": "fraud",
    "rattfylleri": "traffic_offence",
    "trafikbrott": "traffic_offence",
    "olovlig körning": "traffic_offence",
    "olaga intrång": "trespass",
    "hemfridsbrott": "trespass",
    "åldringsbrott": "fraud",
    "olaga frihetsberövande/människorov": "kidnapping",
    "hets mot folkgrupp": "hate_crime",
}

#: Event types of the police feed that are not crimes (accidents, controls, notices). Dropped
#: by default; kept with their own category when ``include_noncrime`` is set.
POLICE_NONCRIME: dict[str, str] = {
    "trafikolycka": "traffic_accident",
    "trafikolycka, personskada": "traffic_accident",
    "trafikolycka, vilt": "traffic_accident",
    "trafikolycka, singel": "traffic_accident",
    "trafikolycka, smitning från": "traffic_accident",
    "trafikkontroll": "police_control",
    "kontroll person/fordon": "police_control",
    "kontroll": "police_control",
    "trafikhinder": "traffic_obstruction",
    "övrigt": "other_notice",
    "arbetsplatsolycka": "accident",
    "sjukdom/olycksfall": "accident",
    "vållande till kroppsskada": "accident",
    "försvunnen person": "missing_person",
    "efterlyst person": "missing_person",
    "fjällräddning": "rescue",
    "räddningsinsats": "rescue",
    "djur": "animal",
    "anträffad död": "found_dead",
    "anträffat gods": "found_property",
    "motorfordon, anträffat stulet": "found_property",
    "polisinsats/kommendering": "police_operation",
    "uppdatering": "other_notice",
    "information": "other_notice",
    "larm inbrott": "alarm",
    "larm överfall": "alarm",
    "brand automatlarm": "alarm",
    "varningslarm/haveri": "alarm",
    "farligt föremål, misstänkt": "suspicious_object",
    "spridning smitta/kemikalier": "other_notice",
}

_SWEDISH_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "januari",
            "februari",
            "mars",
            "april",
            "maj",
            "juni",
            "juli",
            "augusti",
            "september",
            "oktober",
            "november",
            "december",
        ]
    )
}
_POLICE_HEADERS = {"occurred_local", "location_name", "type", "title"}
_SEPARATORS = (",", ";", "\t", "|")


@dataclass
class RawTable:
    """A text table as read: header, records (lists of strings) and their spreadsheet row numbers."""

    file: str
    header: list[str]
    records: list[list[str]]
    rows: list[int]
    problems: list[Problem] = field(default_factory=list)
    encoding: str = ""
    separator: str = ","

    def frame(self) -> pd.DataFrame:
        """Records as a string frame named by the header (ragged rows padded/cut), plus ``row``."""
        width = len(self.header)
        fixed = [(r + [""] * width)[:width] for r in self.records]
        names = [h if h else f"column_{i + 1}" for i, h in enumerate(self.header)]
        frame = (
            pd.DataFrame(fixed, columns=pd.Index(names), dtype=object)
            if fixed
            else pd.DataFrame({n: pd.Series(dtype=object) for n in dict.fromkeys(names)})
        )
        frame["row"] = np.asarray(self.rows, dtype=int)
        return frame


@dataclass
class IncidentFile:
    """An incident file read and checked: what can be imported, what cannot, and why."""

    file: str
    format: str
    #: data rows in the file (blank lines not counted)
    rows: int
    #: valid rows, canonical columns plus ``row`` (spreadsheet row number)
    valid: pd.DataFrame
    #: invalid rows as they were in the file plus ``row`` and ``reason``
    rejected: pd.DataFrame
    problems: list[Problem]
    #: places derived from the file (police format) or ``None``
    places: pd.DataFrame | None = None
    #: counts of rows dropped or changed on purpose (digests, county-only rows, duplicates, ...)
    notes: dict[str, int] = field(default_factory=dict)
    encoding: str = ""
    separator: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def incidents(self) -> pd.DataFrame:
        """The valid incidents with exactly the canonical columns."""
        return self.valid.loc[:, list(INCIDENT_COLUMNS)].reset_index(drop=True)

    def raise_for_problems(self) -> None:
        """Raise :class:`InvalidInputError` listing every problem, if there is any."""
        if self.problems:
            raise InvalidInputError(summarize(self.problems, self.file), self.problems)


def summarize(problems: list[Problem], file: str) -> str:
    """One line: how many problems of which kinds, and the first one."""
    kinds: dict[str, int] = {}
    for p in problems:
        kinds[p.kind or "problem"] = kinds.get(p.kind or "problem", 0) + 1
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    rows = {p.row for p in problems if p.row is not None}
    where = f" in {len(rows)} row(s)" if rows else ""
    return f"{file}: {len(problems)} problem(s){where} ({counts}); first: {problems[0]}"


# --------------------------------------------------------------------------- raw tables


def read_table(path: str | Path) -> RawTable:
    """Read a CSV (plain or gzip; any of ``, ; TAB |``; UTF-8, UTF-8-BOM, UTF-16 or cp1252) or a
    Parquet file into a :class:`RawTable` of strings. File-level problems (empty, binary, wrong
    encoding) are returned in ``problems`` with no records; row-level text problems (field count,
    NUL bytes, long values) are returned per row."""
    p = Path(path)
    file = p.name
    if not p.exists():
        raise InvalidInputError(f"{path}: no such file: check the path")
    if p.is_dir():
        raise InvalidInputError(f"{path} is a directory: give the incident file itself")
    data = p.read_bytes()
    if data[:4] == b"PAR1" or p.suffix.lower() == ".parquet":
        return _parquet_table(p, data)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            return RawTable(
                file,
                [],
                [],
                [],
                [
                    Problem(
                        file,
                        None,
                        None,
                        f"the gzip file is damaged ({exc})",
                        "compress the CSV again or give it uncompressed",
                        kind="binary_file",
                    )
                ],
            )
    text, encoding, problems = decode_text(data, file)
    if text is None:
        return RawTable(file, [], [], [], problems)
    return parse_csv_text(text, file, encoding)


def parse_csv_text(text: str, file: str, encoding: str = "utf-8") -> RawTable:
    """Split decoded CSV text into records; sniff the separator from the header line."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    sep = max(_SEPARATORS, key=lambda s: (first.count(s), s == ","))
    old_limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    records: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    header: list[str] | None = None
    ordinal = 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.append(
                    Problem(
                        file,
                        ordinal + 1,
                        None,
                        f"the CSV cannot be parsed here ({exc})",
                        "check the quotes on this row",
                        kind="csv_syntax",
                    )
                )
                break
            ordinal += 1
            if header is None:
                if not any(f.strip() for f in rec):
                    continue
                header = [h.strip().lstrip("\ufeff") for h in rec]
                continue
            if not any(f.strip() for f in rec):
                continue  # blank lines and Excel's trailing ';;;;' rows
            records.append(rec)
            rows.append(ordinal)
    finally:
        csv.field_size_limit(old_limit)
    if header is None:
        return RawTable(
            file,
            [],
            [],
            [],
            [
                Problem(
                    file,
                    None,
                    None,
                    "the file is empty (no header row)",
                    "export the incidents again with a header row",
                    kind="empty_file",
                )
            ],
            encoding,
            sep,
        )
    for rec, row in zip(records, rows, strict=True):
        problems.extend(row_text_problems(file, row, header, rec))
    long_header = [h for h in header if len(h) > 200 or "\x00" in h]
    if long_header:
        problems.append(
            Problem(
                file,
                1,
                None,
                "the header row is not a list of column names",
                "the first row must name the columns, e.g. incident_id,occurred_at,place_id",
                kind="missing_column",
            )
        )
    return RawTable(file, header, records, rows, problems, encoding, sep)


def _parquet_table(p: Path, data: bytes) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = p.name
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        return RawTable(
            file,
            [],
            [],
            [],
            [
                Problem(
                    file,
                    None,
                    None,
                    f"the Parquet file cannot be read ({exc})",
                    "write it again with pandas.DataFrame.to_parquet or give a CSV",
                    kind="binary_file",
                )
            ],
        )
    header = [str(n) for n in table.column_names]
    columns = [[_cell(v) for v in table.column(i).to_pylist()] for i in range(table.num_columns)]
    records = [list(r) for r in zip(*columns, strict=True)] if columns else []
    rows = list(range(2, len(records) + 2))
    problems = [q for rec, row in zip(records, rows, strict=True) for q in row_text_problems(file, row, header, rec)]
    return RawTable(file, header, records, rows, problems, "parquet", "")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat() if value.tzinfo else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --------------------------------------------------------------------------- header mapping


def norm_header(name: str) -> str:
    """Header key: lower-case, spaces and dashes as ``_``, no BOM."""
    return re.sub(r"[\s\-_]+", "_", name.strip().lstrip("\ufeff").strip('"').lower())


def parse_columns(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """``occurred_at=Date,place_id=Neighbourhood`` -> ``{"occurred_at": "Date", ...}``."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        pairs = dict(spec)
    else:
        pairs = {}
        for part in [s for s in spec.split(",") if s.strip()]:
            if "=" not in part:
                raise InvalidInputError(
                    f"--columns entry {part.strip()!r} is not CANONICAL=HEADER: write e.g. "
                    "--columns occurred_at=Date,place_id=Neighbourhood"
                )
            key, value = part.split("=", 1)
            pairs[key.strip()] = value.strip()
    allowed = set(INCIDENT_ALIASES)
    wrong = sorted(set(pairs) - allowed)
    if wrong:
        raise InvalidInputError(
            f"--columns names unknown canonical column(s) {wrong}: use {', '.join(INCIDENT_ALIASES)}"
        )
    return pairs


def _resolve(
    header: list[str], aliases: Mapping[str, tuple[str, ...]], strict: bool, explicit: Mapping[str, str]
) -> tuple[dict[str, int], list[str]]:
    """Index of the source column of each target; also the --columns names not found."""
    keys = [norm_header(h) for h in header]
    found: dict[str, int] = {}
    missing: list[str] = []
    for target, source in explicit.items():
        if source in header:
            found[target] = header.index(source)
        elif norm_header(source) in keys:
            found[target] = keys.index(norm_header(source))
        else:
            missing.append(source)
    for target, names in aliases.items():
        if target in found:
            continue
        for name in names[:1] if strict else names:
            if name in keys and keys.index(name) not in found.values():
                found[target] = keys.index(name)
                break
    return found, missing


def detect_format(header: list[str]) -> str:
    """Guess the format from the header row."""
    keys = {norm_header(h) for h in header}
    if _POLICE_HEADERS <= keys:
        return "police"
    if {"incident_id", "occurred_at", "place_id"} <= keys:
        return "canonical"
    return "excel"


# --------------------------------------------------------------------------- incidents


def load_incidents(
    path: str | Path,
    *,
    format: Format = "auto",
    tz: str = DEFAULT_TZ,
    columns: str | Mapping[str, str] | None = None,
    source: str | None = None,
    places: Collection[str] | pd.DataFrame | None = None,
    now: dt.datetime | pd.Timestamp | None = None,
    include_noncrime: bool = False,
) -> IncidentFile:
    """Read and check an incident file; never raises for bad rows (they are in ``problems``).

    Parameters
    ----------
    path : CSV (``.csv``, ``.csv.gz``, any separator) or Parquet file
    format : ``auto`` detects canonical / excel / police from the header; ``mapped`` needs ``columns``
    tz : time zone of timestamps without an offset (IANA name)
    columns : ``CANONICAL=HEADER`` pairs naming source columns (also usable with canonical/excel)
    source : ``source`` of rows that have none (default ``reporter``; ``police`` for the police feed)
    places : known place ids (or a places frame); rows naming another place are invalid.
        ``None`` skips that rule (for the police feed, the municipalities found in the file are used)
    now : the present [UTC] for the "in the future" rule (default: the clock)
    include_noncrime : police feed only: keep accidents, controls and notices (see
        :data:`POLICE_NONCRIME`) instead of dropping them
    """
    check_tz(tz)
    if format not in FORMATS:
        raise InvalidInputError(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    explicit = parse_columns(columns)
    if format == "mapped" and not explicit:
        raise InvalidInputError("--format mapped needs --columns, e.g. --columns occurred_at=Date,place_id=Area")
    table = read_table(path)
    file = table.file
    if not table.header:
        return _finish(table, "unknown", None, [], None, {})
    fmt = (
        format
        if format != "auto"
        else ("mapped" if explicit and detect_format(table.header) != "police" else detect_format(table.header))
    )
    keys = [norm_header(h) for h in table.header]
    dups = [h for i, h in enumerate(table.header) if h and keys.index(keys[i]) != i]
    if dups:
        return _finish(
            table,
            fmt,
            None,
            [
                Problem(
                    file,
                    1,
                    h,
                    f"column {h!r} appears more than once in the header",
                    "keep one column of that name",
                    kind="duplicate_column",
                )
                for h in dict.fromkeys(dups)
            ],
            None,
            {},
        )
    known = _place_ids(places)
    notes: dict[str, int] = {}
    derived: pd.DataFrame | None = None
    if fmt == "police":
        canon, derived, notes, problems = police_frame(table, tz, include_noncrime)
        if known is None and derived is not None:
            known = set(derived["place_id"].astype(str))
        default_source = source or "police"
    else:
        canon, problems = _canonical_frame(table, fmt, explicit, strict=(format == "canonical"))
        default_source = source or "reporter"
    if canon is None:
        return _finish(table, fmt, None, problems, None, notes)
    check = validate_incidents(canon, file, tz=tz, places=known, now=now, default_source=default_source)
    if check.duplicate_rows:
        notes["exact_duplicates_dropped"] = len(check.duplicate_rows)
    return _finish(table, fmt, check, problems + check.problems, derived, notes)


def _finish(
    table: RawTable,
    fmt: str,
    check: object,
    problems: list[Problem],
    derived: pd.DataFrame | None,
    notes: dict[str, int],
) -> IncidentFile:
    from tryggplan.validation import RowCheck

    all_problems = sorted(table.problems + problems, key=lambda p: p.row or 0)
    raw = table.frame()
    if not isinstance(check, RowCheck):
        valid = empty_incidents().assign(row=pd.Series(dtype=int))
        rejected = raw.assign(reason="")
        if table.records and all_problems:
            rejected["reason"] = "; ".join(sorted({p.message for p in all_problems if p.row is None}))
        return IncidentFile(
            table.file,
            fmt,
            len(table.records),
            valid,
            rejected,
            all_problems,
            derived,
            notes,
            table.encoding,
            table.separator,
        )
    reasons: dict[int, list[str]] = {}
    for p in all_problems:
        if p.row is not None:
            reasons.setdefault(p.row, []).append(f"{p.column or 'row'}: {p.message}")
    bad_rows = set(reasons)
    typed = check.frame
    keep = ~typed["row"].isin(bad_rows) & ~typed["row"].isin(check.duplicate_rows)
    valid = typed[keep].reset_index(drop=True)
    rejected = raw[raw["row"].isin(bad_rows)].copy()
    rejected["reason"] = rejected["row"].map(lambda r: "; ".join(reasons.get(int(r), [])))
    return IncidentFile(
        table.file,
        fmt,
        len(table.records),
        valid,
        rejected.reset_index(drop=True),
        all_problems,
        derived,
        notes,
        table.encoding,
        table.separator,
    )


def _place_ids(places: Collection[str] | pd.DataFrame | None) -> set[str] | None:
    if places is None:
        return None
    if isinstance(places, pd.DataFrame):
        return set(places["place_id"].astype(str))
    return {str(p) for p in places}


def _missing_column(file: str, column: str, header: list[str], fmt: str) -> Problem:
    hint = {
        "occurred_at": "add it (e.g. 2025-08-15T21:10:00+02:00); Swedish exports may name it 'Tidpunkt' "
        "or give 'Datum' and 'Tid'",
        "incident_id": "add a unique id per row (Swedish: 'Id' or 'Händelse-id'), or use --format mapped "
        "to generate ids",
        "place_id": "add it (Swedish: 'Plats' or 'Platsid')",
    }.get(column, "add it")
    found = ", ".join(h for h in header[:12]) or "no columns"
    return Problem(
        file,
        1,
        column,
        f"required column {column!r} is missing (found: {found})",
        f"{hint}; or name the source column with --columns {column}=HEADER",
        kind="missing_column",
    )


def _canonical_frame(
    table: RawTable, fmt: str, explicit: Mapping[str, str], strict: bool
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Map headers to canonical columns (``strict``: only the canonical names) as strings."""
    file, header = table.file, table.header
    problems: list[Problem] = []
    found, unknown = _resolve(header, INCIDENT_ALIASES, strict=strict, explicit=explicit)
    for name in unknown:
        problems.append(
            Problem(
                file,
                1,
                name,
                f"column {name!r} named in --columns is not in the file (found: {', '.join(header[:12])})",
                "correct the --columns mapping",
                kind="missing_column",
            )
        )
    has_time = "occurred_at" in found or ("date" in found and "time" in found)
    required = ["place_id"] + ([] if fmt == "mapped" else ["incident_id"])
    for col in ["incident_id", "occurred_at", "place_id"]:
        if col == "occurred_at" and not has_time:
            if "date" in found:
                problems.append(
                    Problem(
                        file,
                        1,
                        "time",
                        "the file has a date column but no time column ('Tid')",
                        "add the clock time of each incident (HH:MM) in a 'Tid' "
                        "column, or give date and time together in 'Tidpunkt'",
                        kind="missing_column",
                    )
                )
            else:
                problems.append(_missing_column(file, col, header, fmt))
        elif col in required and col not in found:
            problems.append(_missing_column(file, col, header, fmt))
    if problems:
        return None, problems
    raw = table.frame()
    width = len(header)

    def source_col(target: str) -> pd.Series:
        return (
            raw.iloc[:, found[target]]
            if target in found and found[target] < width
            else pd.Series([""] * len(raw), index=raw.index, dtype=object)
        )

    out = pd.DataFrame(index=raw.index)
    if "incident_id" in found:
        out["incident_id"] = source_col("incident_id")
    else:
        out["incident_id"] = generated_ids(table.records)
    if "occurred_at" in found:
        out["occurred_at"] = source_col("occurred_at")
    else:
        out["occurred_at"] = _join_date_time(source_col("date"), source_col("time"))
    out["place_id"] = source_col("place_id").fillna("").astype(str).str.strip()
    category = source_col("category").fillna("").astype(str).str.strip()
    lowered = category.str.lower()
    mapped = lowered.map(SWEDISH_CATEGORIES).astype(object)
    out["category"] = mapped.where(mapped.notna(), lowered)
    out["source"] = source_col("source")
    out["weight"] = source_col("weight")
    out["row"] = raw["row"]
    return out, []


def _join_date_time(date: pd.Series, time: pd.Series) -> pd.Series:
    """Excel's separate date and clock columns -> ``YYYY-MM-DD HH:MM`` (time ``22.30`` accepted)."""
    d = date.fillna("").astype(str).str.strip().str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]00:00(:00)?$", r"\1", regex=True)
    t = time.fillna("").astype(str).str.strip().str.replace(r"^(\d{1,2})\.(\d{2})", r"\1:\2", regex=True)
    joined = (d + " " + t).str.strip()
    return joined.where((d != "") & (t != ""), d + t)


def generated_ids(records: list[list[str]]) -> pd.Series:
    """Deterministic ids for files without any: a hash of the row's content plus its occurrence
    number among identical rows, so identical rows stay distinct incidents and re-importing the
    same file gives the same ids."""
    seen: dict[str, int] = {}
    out = []
    for rec in records:
        digest = hashlib.sha1("\x1f".join(rec).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        k = seen.get(digest, 0) + 1
        seen[digest] = k
        out.append(f"gen-{digest}-{k}")
    return pd.Series(out, dtype=object)


# --------------------------------------------------------------------------- police feed


def police_frame(
    table: RawTable, tz: str = DEFAULT_TZ, include_noncrime: bool = False
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict[str, int], list[Problem]]:
    """The police events feed -> canonical string rows, places and counts of what was dropped.

    * incident time: ``occurred_local`` (Swedish wall time parsed from the title by the archive);
      when it is empty, the ``"22 augusti 17.59"`` at the start of ``title`` with the year of
      ``published_at``. A wall time that happens twice (fall back) is resolved with
      ``published_at``: the latest of the two instants not after publication.
    * ``Sammanfattning ...`` rows are digests of many incidents: dropped (``digests_dropped``).
    * county-only rows (``location_name`` "X län"): mapped to the municipality that ends the title
      when it is one (``county_rows_mapped``), otherwise dropped (``county_rows_dropped``).
    * event types -> categories by :data:`SWEDISH_CATEGORIES`; non-crime types
      (:data:`POLICE_NONCRIME`) dropped (``noncrime_dropped``) unless ``include_noncrime``.
    * places: one per municipality, with the feed's centroid lat/lon, ``kind`` "municipality".
    """
    file = table.file
    raw = table.frame()
    keys = {norm_header(h): h for h in table.header}
    missing = [c for c in ("id", "type", "location_name", "title") if c not in keys]
    if missing:
        return None, None, {}, [_missing_column(file, c, table.header, "police") for c in missing]

    def col(name: str) -> pd.Series:
        return (
            raw[keys[name]].fillna("").astype(str).str.strip()
            if name in keys
            else pd.Series([""] * len(raw), index=raw.index, dtype=object)
        )

    notes: dict[str, int] = {"rows_read": len(raw)}
    etype, location, title = col("type"), col("location_name"), col("title")
    digest = etype.str.lower().str.startswith("sammanfattning")
    notes["digests_dropped"] = int(digest.sum())
    label = etype.str.lower()
    noncrime = label.isin(list(POLICE_NONCRIME)) & ~digest
    if not include_noncrime:
        notes["noncrime_dropped"] = int(noncrime.sum())
    keep = ~digest & (include_noncrime | ~noncrime)
    county = location.str.endswith(" län") | location.str.endswith(" lan")
    municipalities = set(location[~county & (location != "")])
    title_place = title.str.rsplit(",", n=1).str[-1].str.strip()
    mappable = county & title_place.isin(municipalities)
    notes["county_rows_mapped"] = int((keep & mappable).sum())
    notes["county_rows_dropped"] = int((keep & county & ~mappable).sum())
    keep &= ~county | mappable
    place = location.where(~county, title_place)
    category = label.map(SWEDISH_CATEGORIES).astype(object)
    category = category.where(category.notna(), label.map(POLICE_NONCRIME).astype(object))
    notes["types_unmapped"] = int((keep & category.isna()).sum())
    category = category.where(category.notna(), label)

    occurred = col("occurred_local")
    published = pd.to_datetime(col("published_at"), utc=True, errors="coerce", format="ISO8601")
    from_title = occurred == ""
    if from_title.any():
        occurred = occurred.where(~from_title, _time_from_title(title, published, tz))
    occurred, resolved = _resolve_ambiguous(occurred, published, tz)
    notes["ambiguous_times_resolved"] = int((keep & resolved).sum())

    out = pd.DataFrame(
        {
            "incident_id": ("polisen-" + col("id")).where(col("id") != "", ""),
            "occurred_at": occurred,
            "place_id": place,
            "category": category,
            "source": "",
            "weight": "",
            "row": raw["row"],
        }
    )[keep.to_numpy()]
    notes["incidents"] = len(out)
    lat = pd.to_numeric(col("lat"), errors="coerce")
    lon = pd.to_numeric(col("lon"), errors="coerce")
    cents = pd.DataFrame({"place_id": location, "lat": lat, "lon": lon})[~county & (location != "")]
    cents = cents.groupby("place_id", sort=True).agg(lat=("lat", "first"), lon=("lon", "first")).reset_index()
    places = pd.DataFrame(
        {
            "place_id": cents["place_id"],
            "name": cents["place_id"],
            "municipality": cents["place_id"],
            "lat": cents["lat"],
            "lon": cents["lon"],
            "kind": "municipality",
            "area": cents["place_id"],
        }
    )
    return out.reset_index(drop=True), places, notes, []


def _time_from_title(title: pd.Series, published: pd.Series, tz: str) -> pd.Series:
    """``"22 augusti 17.59, Brand, Kävlinge"`` -> ``YYYY-MM-DD HH:MM`` with the year of publication
    (the year before when the month lies after the publication month)."""
    m = title.str.extract(r"^\s*(\d{1,2})\s+([a-zåäö]+)\s+(\d{1,2})[.:](\d{2})", flags=re.IGNORECASE)
    month = m[1].str.lower().map(_SWEDISH_MONTHS)
    pub_local = published.dt.tz_convert(tz)
    year = pub_local.dt.year - (month > pub_local.dt.month).astype(int)
    ok = m[0].notna() & month.notna() & year.notna()
    text = pd.Series("", index=title.index, dtype=object)
    text[ok] = (
        year[ok].astype(int).astype(str)
        + "-"
        + month[ok].astype(int).map("{:02d}".format)
        + "-"
        + m[0][ok].astype(int).map("{:02d}".format)
        + " "
        + m[2][ok].astype(int).map("{:02d}".format)
        + ":"
        + m[3][ok]
    )
    return text


def _resolve_ambiguous(occurred: pd.Series, published: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """Give wall times that happen twice an explicit offset using the publication instant."""
    naive = pd.to_datetime(
        occurred.where(~occurred.str.contains(r"[+-]\d{2}:\d{2}$|Z$", regex=True)), errors="coerce", format="ISO8601"
    )
    resolved = pd.Series(False, index=occurred.index)
    valid = naive.notna()
    if not valid.any():
        return occurred, resolved
    local = naive[valid].dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    amb = local.isna() & naive[valid].dt.tz_localize(tz, ambiguous=True, nonexistent="NaT").notna()
    if not amb.any():
        return occurred, resolved
    idx = amb[amb].index
    first = naive[idx].dt.tz_localize(tz, ambiguous=np.ones(len(idx), dtype=bool))
    second = naive[idx].dt.tz_localize(tz, ambiguous=np.zeros(len(idx), dtype=bool))
    pub = published[idx]
    use_second = pub.notna() & (second <= pub)
    chosen = first.where(~use_second, second)
    out = occurred.copy()
    out[idx] = chosen.map(lambda t: t.isoformat())
    resolved[idx] = True
    return out, resolved


def read_incidents(
    path: str | Path,
    *,
    format: Format = "auto",
    tz: str = DEFAULT_TZ,
    columns: str | Mapping[str, str] | None = None,
    source: str | None = None,
    places: Collection[str] | pd.DataFrame | None = None,
    now: dt.datetime | pd.Timestamp | None = None,
    include_noncrime: bool = False,
) -> pd.DataFrame:
    """The canonical incident frame of a file; raises :class:`InvalidInputError` (listing every
    problem) if any row is invalid. Parameters as :func:`load_incidents`."""
    result = load_incidents(
        path,
        format=format,
        tz=tz,
        columns=columns,
        source=source,
        places=places,
        now=now,
        include_noncrime=include_noncrime,
    )
    result.raise_for_problems()
    return result.incidents


# --------------------------------------------------------------------------- places


def read_places(path: str | Path) -> pd.DataFrame:
    """The canonical places frame (``place_id, name, municipality, lat, lon, kind, area``).

    Swedish headers (:data:`PLACE_ALIASES`) and decimal commas are accepted; only ``place_id``
    is required (``name`` defaults to the id). Raises :class:`InvalidInputError` listing every problem.
    """
    table = read_table(path)
    problems = list(table.problems)
    if table.header:
        found, _ = _resolve(table.header, PLACE_ALIASES, strict=False, explicit={})
        if "place_id" not in found:
            problems.append(
                Problem(
                    table.file,
                    1,
                    "place_id",
                    f"required column 'place_id' is missing (found: {', '.join(table.header[:12])})",
                    "add a place_id column (Swedish: 'Platsid')",
                    kind="missing_column",
                )
            )
        else:
            raw = table.frame()
            frame = pd.DataFrame({t: raw.iloc[:, i] for t, i in found.items()})
            frame["row"] = raw["row"]
            places, more = validate_places(frame, table.file)
            problems += more
            if not problems:
                return places.loc[:, list(PLACE_COLUMNS)]
    if not problems:
        problems.append(
            Problem(table.file, None, None, "the places file has no header", "add a header row", kind="empty_file")
        )
    raise InvalidInputError("places " + summarize(problems, table.file), problems)


def places_from_incidents(incidents: pd.DataFrame) -> pd.DataFrame:
    """Minimal places for the place ids of an incident frame (no coordinates, no areas)."""
    ids = sorted(set(incidents["place_id"].astype(str)))
    return pd.DataFrame(
        {
            "place_id": pd.Series(ids, dtype="string"),
            "name": pd.Series(ids, dtype="string"),
            "municipality": pd.Series([""] * len(ids), dtype="string"),
            "lat": np.full(len(ids), np.nan),
            "lon": np.full(len(ids), np.nan),
            "kind": pd.Series([""] * len(ids), dtype="string"),
            "area": pd.Series([""] * len(ids), dtype="string"),
        }
    )
