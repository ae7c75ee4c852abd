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
    of each canonical column.

A file without an id column (in any format) gets derived ids, ``gen-<sha1>-<n>``
(:func:`tryggplan.validation.derived_ids`): the same incident gets the same id each time the file is
read, so re-importing it adds nothing.

Every file is read within :class:`ReadLimits` (decompressed bytes, rows, columns, field and row
length), checked before the data is materialised; passing one raises
:class:`tryggplan.domain.InputTooLargeError`. A text file is decoded in one encoding for all rows.
Ids, places, categories and sources are normalised (NFC) and refused with control or invisible
characters (:mod:`tryggplan.text`).

Every reader returns an :class:`IncidentFile`: the valid incidents (``incident_id`` str,
``occurred_at`` tz-aware UTC, ``place_id``, ``category``, ``source``, ``weight`` float), the rejected
rows with their reasons, and every problem found (see :mod:`tryggplan.validation`).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import itertools
import re
import unicodedata
import zlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tryggplan.domain import (
    DEFAULT_TZ,
    INCIDENT_COLUMNS,
    PLACE_COLUMNS,
    InputTooLargeError,
    InvalidInputError,
    Problem,
    empty_incidents,
)
from tryggplan.i18n import month_name
from tryggplan.text import normalize_series
from tryggplan.timeutil import check_tz
from tryggplan.validation import (
    CLOCK_FIX,
    DATE_FIX,
    LINE_BYTES,
    LINE_TEXT,
    MAX_FIELD_CHARS,
    Encoding,
    RowCheck,
    clock_text_problem,
    date_text_problem,
    derived_ids,
    detect_encoding,
    encoding_problem,
    row_text_problems,
    too_many_problems,
    validate_incidents,
    validate_places,
)

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

_SWEDISH_MONTHS = {month_name(number, "sv"): number for number in range(1, 13)}
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

    def frame(self, rows: Collection[int] | None = None) -> pd.DataFrame:
        """Records as a string frame named by the header (ragged rows padded/cut), plus ``row``;
        only the records of ``rows`` (spreadsheet row numbers) when given."""
        width = len(self.header)
        if rows is None:
            records, numbers = self.records, self.rows
        else:
            wanted = set(rows)
            picked = [(rec, r) for rec, r in zip(self.records, self.rows, strict=True) if r in wanted]
            records, numbers = [rec for rec, _ in picked], [r for _, r in picked]
        fixed = [rec if len(rec) == width else (rec + [""] * width)[:width] for rec in records]
        names = [h if h else f"column_{i + 1}" for i, h in enumerate(self.header)]
        frame = (
            pd.DataFrame(fixed, columns=pd.Index(names), dtype=object)
            if fixed
            else pd.DataFrame({n: pd.Series(dtype=object) for n in dict.fromkeys(names)})
        )
        frame["row"] = np.asarray(numbers, dtype=int)
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


@dataclass(frozen=True)
class ProblemKind:
    """The problems of one kind, summarised: how many, the first rows, and the first one as the example
    (its message and the fix, which every problem of a kind shares)."""

    kind: str
    count: int
    #: the first :data:`KIND_ROWS_SHOWN` rows (spreadsheet numbering), in file order
    rows: tuple[int, ...]
    #: rows with a problem of this kind (a row counts once however many columns are wrong)
    row_count: int
    first: Problem


#: row numbers shown per kind of problem
KIND_ROWS_SHOWN = 5


def problem_kinds(problems: list[Problem]) -> list[ProblemKind]:
    """One :class:`ProblemKind` per kind of problem, most frequent first (then in order of first
    appearance): 80 rows naming unknown places are one line, not 80 of the same fix."""
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.kind or "problem", []).append(p)
    out = []
    for kind, found in groups.items():
        rows = sorted({p.row for p in found if p.row is not None})
        out.append(ProblemKind(kind, len(found), tuple(rows[:KIND_ROWS_SHOWN]), len(rows), found[0]))
    return sorted(out, key=lambda k: -k.count)


def rows_text(kind: ProblemKind) -> str:
    """``rows 2, 3, 4, 5, 6 and 75 more`` (``row 2``; empty for problems of the whole file)."""
    if not kind.rows:
        return ""
    shown = ", ".join(str(r) for r in kind.rows)
    more = kind.row_count - len(kind.rows)
    return f"row{'s' if kind.row_count > 1 else ''} {shown}{f' and {more} more' if more > 0 else ''}"


def summarize(problems: list[Problem], file: str) -> str:
    """One line: how many problems of which kinds, and the first one."""
    kinds: dict[str, int] = {}
    for p in problems:
        kinds[p.kind or "problem"] = kinds.get(p.kind or "problem", 0) + 1
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    rows = {p.row for p in problems if p.row is not None}
    where = f" in {len(rows)} row(s)" if rows else ""
    return f"{file}: {len(problems)} problem(s){where} ({counts}); first: {problems[0]}"


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class ReadLimits:
    """How big an input file may be. Every reader checks these *before* it materialises the data,
    and refuses a file that passes one with :class:`tryggplan.domain.InputTooLargeError` (``limit``
    = the field name, ``value`` = the configured limit; the HTTP service answers 413).

    The defaults keep reading one file under the service's 512 MB memory budget however the file is
    made: the worst files at the defaults (``benchmarks/bench_input_limits.py``: at the row, byte,
    value and problem limits) raise the peak resident memory by 280-360 MB, and the bombs of issue 16
    by at most 50 MB. They leave room for real files: the Swedish police's events feed for all of
    Sweden, 2022-2025, is 70,289 rows and 13.9 MB of text; a year of Vancouver's open crime data is
    44,252 rows and 4.3 MB; a Swedish town has a few hundred to a few thousand incidents a year. A
    bigger history is imported as several files (e.g. one per year): imports are idempotent.

    Attributes
    ----------
    max_decompressed_bytes : [bytes] the data of one file after decompression: the text of a CSV
        (a ``.csv.gz`` counted inflated: gzip's trailer is checked first, then the stream is inflated
        1 MiB at a time and stopped here), the decoded columns of a Parquet file (from its metadata,
        then per row group from its dictionaries before any value is decoded). A file larger than this
        on disk is refused before it is opened. Reading costs about 10x the text in memory (Python
        strings and the checked frame): 32 MiB of distinct values peaks 340 MB over the baseline
    max_rows : rows of one file besides the header, as a spreadsheet numbers them (blank rows count:
        they cost as much time to read; a file of 30 million line breaks is refused at once); ~1 kB
        of memory each through reading and checking (300,000 canonical rows: 312 MB)
    max_cells : rows x header columns. Each value is a Python string of ~60 bytes however short it is,
        so a file of many tiny values costs more than its bytes suggest: 3 million three-character
        values (14 MiB) peak 362 MB. The police feed has 9 columns, the canonical format 6, so this
        binds only files of 11 or more columns at the row limit
    max_columns : columns of the header; the canonical format has 6, the police feed 9, exports with
        all their bookkeeping columns a few dozen. A longer header is refused at once, before it is
        split into names (a header of 10^6 columns: 0.05 s)
    max_field_chars : [characters] the longest value of a field. A longer one is a ``long_field``
        problem of its row, not a refusal of the file (``--skip-invalid`` imports the other rows); an
        id, place or category is never this long. The same number as
        :data:`tryggplan.validation.MAX_FIELD_CHARS`
    max_record_chars : [characters] the longest row: one line, or a quoted value running over several
        lines. A longer one refuses the file, because it is almost always an unclosed quote that
        swallows the rest of the file, and it would otherwise be held whole in memory
    max_problems : problems listed for one file (each holds its message, ~400 bytes). A file with more
        is refused with the first ones: that many bad rows almost always means another layout (the
        wrong ``--format`` or ``--columns``, or another town's places). The police feed of all of
        Sweden read with one town's places has 29,613 (every other town's rows are unknown places)
    """

    max_decompressed_bytes: int = 32 * 2**20
    max_rows: int = 300_000
    max_cells: int = 3_000_000
    max_columns: int = 200
    max_field_chars: int = MAX_FIELD_CHARS
    max_record_chars: int = 1_000_000
    max_problems: int = 100_000

    def __post_init__(self) -> None:
        for name in LIMIT_NAMES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"ReadLimits.{name} must be a whole number >= 1, got {value!r}")


#: The names of the limits, as :class:`InputTooLargeError` reports them in ``limit``.
LIMIT_NAMES: tuple[str, ...] = (
    "max_decompressed_bytes",
    "max_rows",
    "max_cells",
    "max_columns",
    "max_field_chars",
    "max_record_chars",
    "max_problems",
)
DEFAULT_LIMITS = ReadLimits()
_BOM = b"\xef\xbb\xbf"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def _too_large(
    file: str, limit: str, value: int, what: str, fix: str, actual: int | None = None, row: int | None = None
) -> InputTooLargeError:
    """The refusal of a file over one of its limits; the message names the limit and the fix."""
    where = f"{file}, row {row}" if row is not None else file
    message = f"{where}: {what}, over the limit {limit}={value} -> {fix}, or raise the {limit} setting"
    problem = Problem(
        file, row, None, f"{what}, over the limit {limit}={value}", f"{fix}, or raise {limit}", kind="too_large"
    )
    return InputTooLargeError(message, limit=limit, value=value, actual=actual, problems=[problem])


_SPLIT = "split the file into smaller files (e.g. one per year; importing is idempotent)"


def _too_many_bytes(file: str, limits: ReadLimits, what: str, actual: int | None) -> InputTooLargeError:
    return _too_large(
        file,
        "max_decompressed_bytes",
        limits.max_decompressed_bytes,
        f"{what} (the limit is {_size(limits.max_decompressed_bytes)})",
        _SPLIT,
        actual,
    )


def _too_many_columns(file: str, limits: ReadLimits, columns: int, exact: bool = True) -> InputTooLargeError:
    return _too_large(
        file,
        "max_columns",
        limits.max_columns,
        f"the header has {'' if exact else 'at least '}{columns} columns",
        "keep only the columns needed (id, time, place, category, source, weight) and check the separator",
        columns,
    )


def _too_many_rows(file: str, limits: ReadLimits, rows: int | None) -> InputTooLargeError:
    return _too_large(
        file,
        "max_rows",
        limits.max_rows,
        f"the file has {'more than ' + str(limits.max_rows) if rows is None else rows} rows",
        _SPLIT,
        rows,
    )


def _too_many_cells(file: str, limits: ReadLimits, cells: int | None, width: int) -> InputTooLargeError:
    return _too_large(
        file,
        "max_cells",
        limits.max_cells,
        f"the file has {'more than ' + str(limits.max_cells) if cells is None else cells} values "
        f"(rows x {width} columns)",
        "leave out the columns that are not needed, or " + _SPLIT,
        cells,
    )


def _too_long_record(file: str, limits: ReadLimits, row: int) -> InputTooLargeError:
    return _too_large(
        file,
        "max_record_chars",
        limits.max_record_chars,
        f"the row is longer than {limits.max_record_chars} characters",
        "check that quotes are balanced (an unclosed quote swallows the rest of the file) and that the "
        "file has line breaks",
        None,
        row,
    )


# --------------------------------------------------------------------------- raw tables


def read_table(path: str | Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> RawTable:
    """Read a CSV (plain or gzip; any of ``, ; TAB |``; UTF-8, UTF-8-BOM, UTF-16 or cp1252) or a
    Parquet file into a :class:`RawTable` of strings. File-level problems (empty, binary, wrong
    encoding) are returned in ``problems`` with no records; row-level text problems (field count,
    NUL bytes, long values, a row in another encoding than the file) are returned per row.

    Raises :class:`InputTooLargeError` when the file passes one of ``limits`` (checked before the
    data is materialised: the file's size on disk, gzip's trailer and then its inflated stream, the
    header, each row as it is read, Parquet's metadata and dictionaries)."""
    p = Path(path)
    file = p.name
    if not p.exists():
        raise InvalidInputError(f"{path}: no such file: check the path")
    if p.is_dir():
        raise InvalidInputError(f"{path} is a directory: give the incident file itself")
    size = p.stat().st_size
    with p.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1" or p.suffix.lower() == ".parquet":
        return _parquet_table(p, limits)
    cap = limits.max_decompressed_bytes
    if size > cap:
        raise _too_many_bytes(file, limits, f"the file is {_size(size)}", size)
    if magic[:2] == b"\x1f\x8b":
        data = _gunzip(p, size, limits)
        if isinstance(data, Problem):
            return RawTable(file, [], [], [], [data])
    else:
        with p.open("rb") as fh:
            data = fh.read(cap + 1)
        if len(data) > cap:  # the file grew while it was read
            raise _too_many_bytes(file, limits, f"the file is more than {_size(cap)}", None)
    return parse_csv_bytes(data, file, limits=limits)


def _gunzip(p: Path, size: int, limits: ReadLimits) -> bytes | Problem:
    """The inflated bytes of a gzip file, never more than ``max_decompressed_bytes``.

    gzip's trailer gives the inflated size (mod 2**32) of the last member: a bomb that declares more
    than the limit is refused without inflating a byte. The trailer can lie, so the stream is then
    inflated 1 MiB at a time and stopped as soon as it passes the limit."""
    file = p.name
    cap = limits.max_decompressed_bytes
    if size >= 18:
        with p.open("rb") as fh:
            fh.seek(-4, io.SEEK_END)
            declared = int.from_bytes(fh.read(4), "little")
        if declared > cap:
            raise _too_many_bytes(file, limits, f"the gzip file inflates to {_size(declared)}", declared)
    chunks: list[bytes] = []
    total = 0
    try:
        with gzip.open(p, "rb") as gz:
            while chunk := gz.read(1 << 20):
                total += len(chunk)
                if total > cap:
                    raise _too_many_bytes(file, limits, f"the gzip file inflates to more than {_size(cap)}", None)
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        return Problem(
            file,
            None,
            None,
            f"the gzip file is damaged ({exc})",
            "compress the CSV again or give it uncompressed",
            kind="binary_file",
        )
    return b"".join(chunks)


class _LineTooLong(Exception):
    """A physical line over ``max_record_chars``; ``source[start:end]`` is the line."""

    def __init__(self, source: bytes | str, start: int, end: int) -> None:
        super().__init__("line too long")
        self.source, self.start, self.end = source, start, end

    def columns(self) -> int:
        """Fields of the line for the most frequent separator (a header's width, quotes ignored)."""
        seps = [s.encode() if isinstance(self.source, bytes) else s for s in _SEPARATORS]
        return 1 + max(self.source.count(s, self.start, self.end) for s in seps)  # type: ignore[arg-type]


def _byte_lines(data: bytes, encoding: Encoding, limits: ReadLimits) -> Iterator[tuple[int, str]]:
    """``(line index, text)`` of each physical line, decoded in the file's one encoding."""
    codec = "utf-8" if encoding.name == "utf-8-sig" else encoding.name
    start = len(_BOM) if data.startswith(_BOM) else 0
    longest = 4 * limits.max_record_chars  # a character is at most 4 bytes of UTF-8
    for i, m in enumerate(LINE_BYTES.finditer(data, start)):
        a, b = m.span()
        if b - a > longest:
            raise _LineTooLong(data, a, b)
        # lines that do not decode are in encoding.bad_lines and become problems of their rows
        line = m.group().decode(codec, "replace")
        if len(line) > limits.max_record_chars:
            raise _LineTooLong(data, a, b)
        yield i, line


def _text_lines(text: str, limits: ReadLimits) -> Iterator[tuple[int, str]]:
    for i, m in enumerate(LINE_TEXT.finditer(text)):
        a, b = m.span()
        if b - a > limits.max_record_chars:
            raise _LineTooLong(text, a, b)
        yield i, m.group()


def parse_csv_bytes(data: bytes, file: str, *, limits: ReadLimits = DEFAULT_LIMITS) -> RawTable:
    """Split the bytes of a CSV file into records: one encoding for the whole file
    (:func:`tryggplan.validation.detect_encoding`), the separator sniffed from the header line,
    every limit checked row by row as the file is read."""
    if len(data) > limits.max_decompressed_bytes:
        raise _too_many_bytes(file, limits, f"the file is {_size(len(data))}", len(data))
    encoding, problems = detect_encoding(data, file)
    if encoding is None:
        return RawTable(file, [], [], [], problems)
    if encoding.name == "utf-16":
        text = data.decode("utf-16")
        return _parse_lines(_text_lines(text, limits), file, encoding, limits)
    return _parse_lines(_byte_lines(data, encoding, limits), file, encoding, limits)


def parse_csv_text(text: str, file: str, encoding: str = "utf-8", *, limits: ReadLimits = DEFAULT_LIMITS) -> RawTable:
    """Split decoded CSV text into records; sniff the separator from the header line."""
    return _parse_lines(_text_lines(text.lstrip("\ufeff"), limits), file, Encoding(encoding), limits)


def _parse_lines(lines: Iterator[tuple[int, str]], file: str, encoding: Encoding, limits: ReadLimits) -> RawTable:
    # the header line decides the separator; blank lines before it are counted, not kept (a file of
    # millions of line breaks must not become a list of them)
    blank = 0
    peeked: list[tuple[int, str]] = []
    try:
        for item in lines:
            if item[1].strip():
                peeked.append(item)
                break
            blank += 1
            if blank > limits.max_rows:
                raise _too_many_rows(file, limits, None)
    except _LineTooLong as exc:
        # the header line itself: a header of a million columns is refused before it is split
        columns = exc.columns()
        if columns > limits.max_columns:
            raise _too_many_columns(file, limits, columns, exact=False) from None
        raise _too_long_record(file, limits, blank + 1) from None
    first = peeked[-1][1] if peeked else ""
    sep = max(_SEPARATORS, key=lambda s: (first.count(s), s == ","))
    pending: list[str] = []

    def feed() -> Iterator[str]:
        # a blank line (no non-ASCII byte, so never in bad_lines) is one empty record to csv, as "\n" is
        yield from itertools.repeat("\n", blank)
        for i, line in itertools.chain(peeked, lines):
            why = encoding.bad_lines.get(i)
            if why is not None:
                pending.append(why)
            yield line

    records: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    header: list[str] | None = None
    width = 0
    ordinal = 0
    # csv's field limit is one setting for the whole process, and uploads are read in threads:
    # it is only ever raised (never restored to a lower value another thread may be relying on),
    # and the row length is checked here, per record
    if csv.field_size_limit() < limits.max_record_chars:
        csv.field_size_limit(limits.max_record_chars)
    reader = csv.reader(feed(), delimiter=sep)
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except _LineTooLong:
            raise _too_long_record(file, limits, ordinal + 1) from None
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise _too_long_record(file, limits, ordinal + 1) from None
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
        if ordinal > limits.max_rows + 1:  # blank rows count: they cost as much time to read
            raise _too_many_rows(file, limits, None)
        joined = "".join(rec)
        if len(joined) > limits.max_record_chars:
            raise _too_long_record(file, limits, ordinal)
        why = pending[0] if pending else None
        pending.clear()
        if header is None:
            if not joined.strip():
                continue
            if len(rec) > limits.max_columns:
                raise _too_many_columns(file, limits, len(rec))
            header = [h.strip().lstrip("\ufeff") for h in rec]
            width = len(header)
            if why is not None:
                problems.append(encoding_problem(file, ordinal, why))
            continue
        if not joined.strip():
            continue  # blank lines and Excel's trailing ';;;;' rows
        if (len(records) + 1) * width > limits.max_cells:
            raise _too_many_cells(file, limits, None, width)
        if why is not None:
            problems.append(encoding_problem(file, ordinal, why))
        problems.extend(row_text_problems(file, ordinal, header, rec, limits.max_field_chars))
        if len(problems) > limits.max_problems:
            raise too_many_problems(file, limits.max_problems, problems)
        # fields past the header are reported (field_count) and dropped, so a row of a million
        # separators costs no more than a row of the header's width
        records.append(rec if len(rec) <= width else rec[:width])
        rows.append(ordinal)
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
            encoding.name,
            sep,
        )
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
    return RawTable(file, header, records, rows, problems, encoding.name, sep)


def _parquet_table(p: Path, limits: ReadLimits) -> RawTable:
    """A Parquet file as strings, checked against ``limits`` from its metadata first (rows, columns,
    uncompressed size of every column chunk), then one row group at a time from its dictionaries
    (a dictionary-encoded column decodes to rows x value length, which the metadata does not show)
    before any value is decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = p.name
    size = p.stat().st_size
    cap = limits.max_decompressed_bytes
    if size > cap:
        raise _too_many_bytes(file, limits, f"the file is {_size(size)}", size)

    def unreadable(exc: Exception) -> RawTable:
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

    try:
        meta = pq.ParquetFile(p).metadata
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError, ValueError) as exc:
        return unreadable(exc)
    columns = max(len(schema.names), meta.num_columns)
    if columns > limits.max_columns:
        raise _too_many_columns(file, limits, columns)
    if meta.num_rows > limits.max_rows:
        raise _too_many_rows(file, limits, meta.num_rows)
    if meta.num_rows * len(schema.names) > limits.max_cells:
        raise _too_many_cells(file, limits, meta.num_rows * len(schema.names), len(schema.names))
    stored = sum(
        meta.row_group(g).column(c).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.row_group(g).num_columns)
    )
    if stored > cap:
        raise _too_many_bytes(file, limits, f"the Parquet data is {_size(stored)} uncompressed", stored)
    # read text columns as dictionaries: what they decode to is computed before they are decoded
    text_columns = [f.name for f in schema if _is_text(f.type)]
    header = [str(n) for n in schema.names]
    records: list[list[str]] = []
    decoded = 0
    try:
        reader = pq.ParquetFile(p, read_dictionary=text_columns)
        for g in range(meta.num_row_groups):
            group = reader.read_row_group(g, use_threads=False)
            decoded += sum(_decoded_bytes(column) for column in group.columns)
            if decoded > cap:
                raise _too_many_bytes(file, limits, f"the Parquet data decodes to at least {_size(decoded)}", decoded)
            cells = [_column_cells(column) for column in group.columns]
            del group
            records.extend(list(r) for r in zip(*cells, strict=True))
    except InputTooLargeError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        return unreadable(exc)
    rows = list(range(2, len(records) + 2))
    problems: list[Problem] = []
    for rec, row in zip(records, rows, strict=True):
        problems.extend(row_text_problems(file, row, header, rec, limits.max_field_chars))
        if len(problems) > limits.max_problems:
            raise too_many_problems(file, limits.max_problems, problems)
    return RawTable(file, header, records, rows, problems, "parquet", "")


def _is_text(kind: object) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        return True
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _decoded_bytes(column: object) -> int:
    """[bytes] what a column decodes to: a dictionary's value lengths taken at its indices (so one
    1000-character value in a million rows counts 1 GB), other arrays their buffers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for chunk in column.chunks:  # type: ignore[attr-defined]
        if isinstance(chunk, pa.DictionaryArray):
            values = chunk.dictionary
            if _is_text(values.type) and not pa.types.is_dictionary(values.type):
                lengths = pc.binary_length(values)
                total += int(pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0) + 4 * len(chunk)
            else:
                total += values.nbytes * max(1, len(chunk)) // max(1, len(values)) + chunk.indices.nbytes
        else:
            total += chunk.nbytes
    return total


def _column_cells(column: object) -> list[str]:
    """A column as strings; a dictionary's values are converted once and shared by their rows."""
    import pyarrow as pa

    out: list[str] = []
    for chunk in column.chunks:  # type: ignore[attr-defined]
        if isinstance(chunk, pa.DictionaryArray):
            values = [_cell(v) for v in chunk.dictionary.to_pylist()]
            out.extend("" if i is None else values[i] for i in chunk.indices.to_pylist())
        else:
            out.extend(_cell(v) for v in chunk.to_pylist())
    return out


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
    """Header key: NFC, lower-case, spaces and dashes as ``_``, no BOM."""
    text = unicodedata.normalize("NFC", name.strip().lstrip("\ufeff").strip('"'))
    return re.sub(r"[\s\-_]+", "_", text.lower())


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
    """Index of the source column of each target; also the --columns names not found. Linear in the
    header's length (dictionaries of first positions, no list searches)."""
    keys = [norm_header(h) for h in header]
    first_raw: dict[str, int] = {}
    first_key: dict[str, int] = {}
    for i, (h, k) in enumerate(zip(header, keys, strict=True)):
        first_raw.setdefault(h, i)
        first_key.setdefault(k, i)
    found: dict[str, int] = {}
    missing: list[str] = []
    for target, source in explicit.items():
        if source in first_raw:
            found[target] = first_raw[source]
        elif norm_header(source) in first_key:
            found[target] = first_key[norm_header(source)]
        else:
            missing.append(source)
    used = set(found.values())
    for target, names in aliases.items():
        if target in found:
            continue
        for name in names[:1] if strict else names:
            index = first_key.get(name)
            if index is not None and index not in used:
                found[target] = index
                used.add(index)
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
    limits: ReadLimits = DEFAULT_LIMITS,
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
    limits : size limits checked before the data is materialised (:class:`ReadLimits`)

    A file without an id column gets derived ids in every format (:func:`tryggplan.validation.derived_ids`,
    ``gen-<sha1>-<n>``, counted in ``notes["ids_derived"]``). Problems name the file's own columns
    (``Datum``, ``Tid``, ``Plats``) and say what is wrong with the value, once per row and column.

    Raises
    ------
    InputTooLargeError : the file passes one of ``limits``
    InvalidInputError : bad arguments (format, columns, time zone) or a missing file
    """
    check_tz(tz)
    if format not in FORMATS:
        raise InvalidInputError(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    explicit = parse_columns(columns)
    if format == "mapped" and not explicit:
        raise InvalidInputError("--format mapped needs --columns, e.g. --columns occurred_at=Date,place_id=Area")
    table = read_table(path, limits=limits)
    file = table.file
    if not table.header:
        return _finish(table, "unknown", None, [], None, {})
    fmt = (
        format
        if format != "auto"
        else ("mapped" if explicit and detect_format(table.header) != "police" else detect_format(table.header))
    )
    seen: set[str] = set()
    dups: dict[str, None] = {}
    for h in table.header:
        key = norm_header(h)
        if h and key in seen:
            dups[h] = None
        seen.add(key)
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
                for h in dups
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
        mapping = _Mapping({c: c for c in INCIDENT_COLUMNS} | _POLICE_LABELS, False, None, set())
    else:
        canon, problems, mapping = _canonical_frame(
            table, fmt, explicit, strict=(format == "canonical"), max_problems=limits.max_problems
        )
        default_source = source or "reporter"
    if canon is None:
        return _finish(table, fmt, None, problems, None, notes)
    check = validate_incidents(
        canon,
        file,
        tz=tz,
        places=known,
        now=now,
        default_source=default_source,
        labels=mapping.labels,
        max_problems=limits.max_problems,
        found_before=[*table.problems, *problems, *mapping.problems],
        # a bad date or clock is reported once, on its own column, not again as a bad timestamp
        time_reported=mapping.checked_time_rows,
    )
    found = check.problems
    if mapping.derive_ids and mapping.id_category is not None:
        frame = check.frame
        check.frame = frame.assign(
            incident_id=derived_ids(
                frame["occurred_at"].astype(object).where(frame["occurred_at"].notna(), canon["occurred_at"]),
                frame["place_id"],
                mapping.id_category,
            ).astype("string")
        )
        notes["ids_derived"] = len(frame)
    if check.duplicate_rows:
        notes["exact_duplicates_dropped"] = len(check.duplicate_rows)
    return _finish(table, fmt, check, problems + mapping.problems + found, derived, notes)


_POLICE_LABELS = {"incident_id": "id", "occurred_at": "occurred_local", "place_id": "location_name", "category": "type"}


@dataclass
class _Mapping:
    """How the file's columns became the canonical ones."""

    #: canonical column -> the user's name for it (``Plats``, ``Datum + Tid``)
    labels: dict[str, str]
    #: no id column: ids are derived from the content after validation
    derive_ids: bool
    #: the category label each derived id is built from (lower-cased, NFC), by row index
    id_category: pd.Series | None
    #: rows whose separate date or clock column is already reported
    checked_time_rows: set[int]
    problems: list[Problem] = field(default_factory=list)


def _finish(
    table: RawTable,
    fmt: str,
    check: RowCheck | None,
    problems: list[Problem],
    derived: pd.DataFrame | None,
    notes: dict[str, int],
) -> IncidentFile:
    all_problems = unique_problems(sorted(table.problems + problems, key=lambda p: p.row or 0))
    if check is None:
        raw = table.frame()
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
    # one reason string per bad row, joined as the row's problems are met (they are sorted by row)
    reasons: dict[int, str] = {}
    with_row = [p for p in all_problems if p.row is not None]
    for row, group in itertools.groupby(with_row, key=lambda p: p.row):
        reasons[int(row)] = "; ".join(f"{p.column or 'row'}: {p.message}" for p in group)  # type: ignore[arg-type]
    bad_rows = set(reasons)
    typed = check.frame
    keep = ~typed["row"].isin(bad_rows) & ~typed["row"].isin(check.duplicate_rows)
    valid = typed[keep].reset_index(drop=True)
    rejected = table.frame(bad_rows)
    rejected["reason"] = [reasons[int(r)] for r in rejected["row"]]
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


def unique_problems(problems: list[Problem]) -> list[Problem]:
    """Each problem once: a control character already reported as ``nul_bytes`` (by
    :func:`tryggplan.validation.row_text_problems`) in the same row and column is not reported again
    as ``control_character`` (by :func:`tryggplan.validation.validate_incidents`). For callers that run
    both on their own rows, as the JSON import does."""
    nul = {(p.row, p.column) for p in problems if p.kind == "nul_bytes"}
    if not nul:
        return problems
    return [p for p in problems if not (p.kind == "control_character" and (p.row, p.column) in nul)]


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
    table: RawTable, fmt: str, explicit: Mapping[str, str], strict: bool, max_problems: int | None = None
) -> tuple[pd.DataFrame | None, list[Problem], _Mapping]:
    """Map headers to canonical columns (``strict``: only the canonical names) as strings, with the
    user's name of each column, and the problems of separate date and clock columns."""
    file, header = table.file, table.header
    problems: list[Problem] = []
    found, unknown = _resolve(header, INCIDENT_ALIASES, strict=strict, explicit=explicit)
    labels = {c: c for c in INCIDENT_COLUMNS} | {t: header[i] for t, i in found.items() if t in INCIDENT_COLUMNS}
    mapping = _Mapping(labels, "incident_id" not in found, None, set())
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
    for col in ["occurred_at", "place_id"]:
        if col == "occurred_at" and not has_time:
            if "date" in found:
                problems.append(
                    Problem(
                        file,
                        1,
                        "time",
                        f"the file has a date column ({header[found['date']]!r}) but no time column ('Tid')",
                        "add the clock time of each incident (HH:MM) in a 'Tid' "
                        "column, or give date and time together in 'Tidpunkt'",
                        kind="missing_column",
                    )
                )
            else:
                problems.append(_missing_column(file, col, header, fmt))
        elif col == "place_id" and col not in found:
            problems.append(_missing_column(file, col, header, fmt))
    if problems:
        return None, problems, mapping
    raw = table.frame()
    width = len(header)

    def source_col(target: str) -> pd.Series:
        return (
            raw.iloc[:, found[target]]
            if target in found and found[target] < width
            else pd.Series([""] * len(raw), index=raw.index, dtype=object)
        )

    out = pd.DataFrame(index=raw.index)
    # derived ids are set after validation, from the typed content; a placeholder per row until then
    out["incident_id"] = source_col("incident_id") if "incident_id" in found else "row-" + raw["row"].astype(str)
    if "occurred_at" in found:
        out["occurred_at"] = source_col("occurred_at")
    else:
        date, time = source_col("date"), source_col("time")
        out["occurred_at"] = _join_date_time(date, time)
        date_label, time_label = header[found["date"]], header[found["time"]]
        mapping.labels["occurred_at"] = f"{date_label} + {time_label}"
        mapping.problems, mapping.checked_time_rows = _date_time_problems(
            file, raw["row"].to_numpy(dtype=int), date, time, date_label, time_label, table.problems, max_problems
        )
    out["place_id"] = source_col("place_id").fillna("").astype(str).str.strip()
    category = normalize_series(source_col("category"))
    lowered = category.str.lower()
    mapped = lowered.map(SWEDISH_CATEGORIES).astype(object)
    out["category"] = mapped.where(mapped.notna(), lowered)
    mapping.id_category = lowered
    out["source"] = source_col("source")
    out["weight"] = source_col("weight")
    out["row"] = raw["row"]
    return out, [], mapping


def _date_time_problems(
    file: str,
    rows: np.ndarray,
    date: pd.Series,
    time: pd.Series,
    date_label: str,
    time_label: str,
    before: list[Problem],
    max_problems: int | None,
) -> tuple[list[Problem], set[int]]:
    """Problems of Excel's separate date and clock columns, on the column that holds the mistake and
    in words (``month 13 does not exist``, ``February 2025 has 28 days``, ``hour 25 does not exist``).
    Returns the problems and the rows they are on."""
    d = date.fillna("").astype(str).str.strip()
    t = time.fillna("").astype(str).str.strip()
    day = d.str.extract(r"^(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00)?)?$", expand=False)
    ok_date = pd.to_datetime(day, format="%Y-%m-%d", errors="coerce").notna()
    ok_time = t.str.fullmatch(r"(?:[01]?\d|2[0-3])[:.][0-5]\d(?:[:.][0-5]\d)?")
    problems: list[Problem] = []
    rows_hit: set[int] = set()
    for i in np.flatnonzero(~(ok_date & ok_time).to_numpy(dtype=bool)):
        row = int(rows[i])
        for label, value, why, fix in (
            (date_label, d.iloc[i], None if ok_date.iloc[i] else date_text_problem(d.iloc[i]), DATE_FIX),
            (time_label, t.iloc[i], None if ok_time.iloc[i] else clock_text_problem(t.iloc[i]), CLOCK_FIX),
        ):
            if why is not None:
                problems.append(Problem(file, row, label, f"{label} {why}", fix, value=value, kind="bad_timestamp"))
                rows_hit.add(row)
                if max_problems is not None and len(before) + len(problems) > max_problems:
                    raise too_many_problems(file, max_problems, [*before, *problems])
    return problems, rows_hit


def _join_date_time(date: pd.Series, time: pd.Series) -> pd.Series:
    """Excel's separate date and clock columns -> ``YYYY-MM-DD HH:MM`` (time ``22.30`` accepted)."""
    d = date.fillna("").astype(str).str.strip().str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]00:00(:00)?$", r"\1", regex=True)
    t = time.fillna("").astype(str).str.strip().str.replace(r"^(\d{1,2})\.(\d{2})(?:\.(\d{2}))?$", _colons, regex=True)
    joined = (d + " " + t).str.strip()
    return joined.where((d != "") & (t != ""), d + t)


def _colons(m: re.Match[str]) -> str:
    return f"{m.group(1)}:{m.group(2)}" + (f":{m.group(3)}" if m.group(3) else "")


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
    limits: ReadLimits = DEFAULT_LIMITS,
) -> pd.DataFrame:
    """The canonical incident frame of any file :func:`load_incidents` reads (same parameters: a
    Swedish Excel export, the police feed, a mapped file, ``.csv.gz``, Parquet); raises
    :class:`InvalidInputError` (listing every problem) if any row is invalid, and
    :class:`InputTooLargeError` if the file passes one of ``limits``."""
    result = load_incidents(
        path,
        format=format,
        tz=tz,
        columns=columns,
        source=source,
        places=places,
        now=now,
        include_noncrime=include_noncrime,
        limits=limits,
    )
    result.raise_for_problems()
    return result.incidents


# --------------------------------------------------------------------------- places


def read_places(path: str | Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """The canonical places frame (``place_id, name, municipality, lat, lon, kind, area``).

    Swedish headers (:data:`PLACE_ALIASES`) and decimal commas are accepted; only ``place_id``
    is required (``name`` defaults to the id). Text is normalised and checked as identifying text
    (:mod:`tryggplan.text`). Raises :class:`InvalidInputError` listing every problem, and
    :class:`InputTooLargeError` if the file passes one of ``limits``.
    """
    table = read_table(path, limits=limits)
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
    problems = unique_problems(problems)
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
