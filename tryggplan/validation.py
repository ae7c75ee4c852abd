"""Validation of incident and place data at the boundary (docs/architecture.md, "Data contracts").

Every problem is reported, not only the first, as a :class:`tryggplan.domain.Problem` with
the file, the row as a spreadsheet shows it (header = row 1), the column and the fix.
Nothing here reads files: :mod:`tryggplan.readers` turns files into string tables and calls
:func:`decode_text` and :func:`validate_incidents`.

Rules for incident rows (each problem has a ``kind`` used to count them in reports):

========================  =====================================================================
kind                      rule
========================  =====================================================================
``empty_id``              ``incident_id`` must not be empty
``bad_timestamp``         ``occurred_at`` is ISO 8601 with offset, or ``YYYY-MM-DD HH:MM`` local time;
                          the message says what is wrong (``month 13 does not exist``,
                          ``February 2025 has 28 days``, ``hour 25 does not exist``)
``nonexistent_time``      a local time skipped when clocks spring forward is refused
``ambiguous_time``        a local time that happens twice when clocks fall back needs an offset
``future``                a timestamp later than now + 1 day is refused
``too_old``               a timestamp before :data:`EARLIEST` (1900) is refused
``empty_place``           ``place_id`` must not be empty
``unknown_place``         ``place_id`` must name a known place (when places are known)
``bad_weight``            ``weight`` is a finite number >= 0 (decimal comma accepted); empty = 1.0
``duplicate_id``          the same ``incident_id`` twice in one file with different content
``long_field``            a value longer than :data:`MAX_FIELD_CHARS` characters (the reader's
                          ``ReadLimits.max_field_chars``)
``nul_bytes``             a row containing NUL or other control characters
``control_character``     an id, place, category or source holding a control character (CR, LF,
                          tab, escape, ...; :mod:`tryggplan.text`)
``invisible_character``   an id, place, category or source holding a zero-width, byte-order-mark
                          or bidirectional-override character (it would look like another value)
``field_count``           a row with more or fewer fields than the header
``encoding``              a row that cannot be read in the encoding of the rest of its file
========================  =====================================================================

Problems name the column as the user's file does (``Plats``, ``Datum + Tid``), when the reader
passes ``labels``. File-level problems: ``empty_file``, ``binary_file``, ``workbook``, ``encoding``,
``missing_column``, ``duplicate_column``.
"""

from __future__ import annotations

import calendar
import codecs
import datetime as dt
import hashlib
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tryggplan.domain import DEFAULT_TZ, DEFAULT_WEIGHT, INCIDENT_COLUMNS, InputTooLargeError, Problem
from tryggplan.i18n import month_name
from tryggplan.text import forbidden_mask, normalize_series, text_problem
from tryggplan.timeutil import to_utc

#: Values longer than this [characters] are refused (an id, place or category is never this long).
MAX_FIELD_CHARS = 1000
#: Timestamps later than now plus this are refused as "in the future".
FUTURE_TOLERANCE = pd.Timedelta(days=1)
#: Timestamps before this are refused as "too old" (a mistyped year, a 0-date of the export).
EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")
#: More than this share of control characters marks a file as binary rather than text.
BINARY_CONTROL_SHARE = 0.01

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SAVE_AS_CSV = "save it from Excel as 'CSV UTF-8' or 'CSV (semikolonavgränsad)'"

TIMESTAMP_FIX = (
    "write local time as YYYY-MM-DD HH:MM (e.g. 2025-08-15 21:10) "
    "or ISO 8601 with offset (e.g. 2025-08-15T21:10:00+02:00)"
)


#: Physical lines as ``io.StringIO(newline="")`` splits them: ``\r\n``, ``\r`` or ``\n`` ends a line.
LINE_BYTES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
LINE_TEXT = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_CONTROL_BYTES = bytes([*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_ONE_ENCODING_FIX = (
    "save the whole file again in one encoding (Excel: 'CSV UTF-8'), or correct this row; "
    "a file is read in one encoding for all rows"
)


@dataclass
class Encoding:
    """How a text file is decoded: one encoding for every row (:func:`detect_encoding`)."""

    #: ``utf-8``, ``utf-8-sig`` (UTF-8 with a byte-order mark), ``utf-16`` or ``cp1252``
    name: str
    #: physical lines (0-based, split as :data:`LINE_BYTES` splits them) that cannot be read in
    #: ``name``, with the reason; the reader reports them as ``encoding`` problems of their rows
    bad_lines: dict[int, str] = field(default_factory=dict)


def _file_problem(file: str, message: str, fix: str, kind: str) -> list[Problem]:
    return [Problem(file, None, None, message, fix, kind=kind)]


def _utf8_ok(data: bytes | memoryview) -> bool:
    """Strict UTF-8 check in 1 MiB steps (no decoded copy of the whole file is kept)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(data)
    step = 1 << 20
    try:
        for start in range(0, len(view), step):
            decoder.decode(view[start : start + step], final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _mojibake_sample(line: bytes) -> str:
    text = line.decode("utf-8")
    ch = next(c for c in text if ord(c) > 127)
    return f"{ch!r} would be read as {ch.encode('utf-8').decode('cp1252', 'replace')!r}"


def detect_encoding(data: bytes, file: str) -> tuple[Encoding | None, list[Problem]]:
    """The one encoding of a text file, or file-level problems (empty, workbook, binary, unreadable).

    A byte-order mark decides (UTF-8, UTF-16). Otherwise every line with non-ASCII bytes votes:
    strict UTF-8, else cp1252 (what Excel on Swedish Windows writes), else neither. All UTF-8 ->
    UTF-8; no UTF-8 line -> cp1252; a mix -> the encoding of most such lines, and every line of the
    other kind is returned in ``bad_lines``: it would otherwise be read as mojibake
    (``skadegÃ¶relse``) or with replacement characters. A file none of whose lines decode is an
    ``encoding`` problem of the whole file. NUL bytes inside an otherwise readable text file are
    left to the reader, which reports them per row (``nul_bytes``).
    """
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        return None, _file_problem(
            file,
            "the file is empty (no header row, no data)",
            "export the incidents again; a valid file has at least the header incident_id,occurred_at,place_id",
            "empty_file",
        )
    if data[:4] == b"PK\x03\x04":
        return None, _file_problem(
            file, "the file is a zip archive or an Excel workbook (.xlsx), not CSV text", _SAVE_AS_CSV, "workbook"
        )
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return None, _file_problem(
            file, "the file is an old Excel workbook (.xls), not CSV text", _SAVE_AS_CSV, "workbook"
        )
    binary = _file_problem(
        file,
        "the file is not a text file (binary data)",
        f"give the incident file as CSV or Parquet; {_SAVE_AS_CSV}",
        "binary_file",
    )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None, binary
        if sum(text.count(chr(b)) for b in _CONTROL_BYTES) > max(8, BINARY_CONTROL_SHARE * len(text)):
            return None, binary
        return Encoding("utf-16"), []
    controls = 0
    for i in range(0, len(data), 1 << 20):  # in 1 MiB steps: no copy of the whole file
        chunk = data[i : i + (1 << 20)]
        controls += len(chunk) - len(chunk.translate(None, _CONTROL_BYTES))
    if controls > max(8, BINARY_CONTROL_SHARE * len(data)):
        return None, binary
    bom = data.startswith(b"\xef\xbb\xbf")
    if data.isascii() or _utf8_ok(data):
        return Encoding("utf-8-sig" if bom else "utf-8"), []
    utf8: dict[int, bytes] = {}  # line -> its bytes (valid UTF-8 with non-ASCII characters)
    cp1252: list[int] = []
    neither: dict[int, int] = {}  # line -> offset of its first undecodable byte
    first_bad: dict[int, tuple[int, int]] = {}  # line -> (file offset, byte) of the first non-UTF-8 byte
    for i, m in enumerate(LINE_BYTES.finditer(data)):
        line = m.group()
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8[i] = line
            continue
        except UnicodeDecodeError as exc:
            first_bad[i] = (m.start() + exc.start, line[exc.start])
        try:
            line.decode("cp1252")
            cp1252.append(i)
        except UnicodeDecodeError as exc:
            neither[i] = m.start() + exc.start
    if bom:
        return Encoding(
            "utf-8-sig",
            {
                i: f"the file starts with a UTF-8 byte-order mark but byte {off} (0x{b:02x}) is not UTF-8"
                for i, (off, b) in first_bad.items()
            },
        ), []
    if not utf8 and not cp1252:
        bad = next((f"{b:02x}" for b in data if b in _CP1252_UNDEFINED), "??")
        return None, _file_problem(
            file,
            f"the file is neither UTF-8 nor cp1252 text (byte 0x{bad} cannot be decoded)",
            f"re-save the file as UTF-8; {_SAVE_AS_CSV}",
            "encoding",
        )
    if len(utf8) >= len(cp1252):
        return Encoding(
            "utf-8",
            {
                i: f"byte {off} (0x{b:02x}) is not UTF-8 but the rest of the file is: the row was saved in "
                "another encoding (cp1252?)"
                for i, (off, b) in sorted(first_bad.items())
            },
        ), []
    bad_lines = {
        i: f"the row is UTF-8 but the rest of the file is cp1252 ({_mojibake_sample(line)})" for i, line in utf8.items()
    }
    for i, off in neither.items():
        bad_lines[i] = f"byte {off} (0x{data[off]:02x}) cannot be read as cp1252, the encoding of the rest of the file"
    return Encoding("cp1252", dict(sorted(bad_lines.items()))), []


def decode_text(data: bytes, file: str) -> tuple[str | None, str, list[Problem]]:
    """Decode the bytes of a text file in its one encoding (:func:`detect_encoding`).

    Returns ``(text or None, encoding, problems)``; the text has no BOM. When a line cannot be read in
    the file's encoding, the text is ``None`` and there is one ``encoding`` problem per such line
    (``row`` = the line number). The readers do not call this: they decode line by line
    (:func:`tryggplan.readers.read_table`) and name the spreadsheet row.
    """
    enc, problems = detect_encoding(data, file)
    if enc is None:
        return None, "", problems
    if enc.bad_lines:
        return (
            None,
            enc.name,
            [
                Problem(file, i + 1, None, why, _ONE_ENCODING_FIX, kind="encoding")
                for i, why in sorted(enc.bad_lines.items())
            ],
        )
    return data.decode(enc.name).lstrip("\ufeff"), enc.name, []


def encoding_problem(file: str, row: int, why: str) -> Problem:
    """The ``encoding`` problem of a row that cannot be read in its file's encoding."""
    return Problem(file, row, None, why, _ONE_ENCODING_FIX, kind="encoding")


def row_text_problems(
    file: str, row: int, header: list[str], fields: list[str], max_field_chars: int = MAX_FIELD_CHARS
) -> list[Problem]:
    """Problems of one raw CSV record: field count, control characters, values longer than
    ``max_field_chars`` [characters]."""
    problems: list[Problem] = []
    joined = "".join(fields)
    if len(fields) == len(header) and len(joined) <= max_field_chars and _CONTROL.search(joined) is None:
        return problems  # the common case, decided in C: no field can be too long or hold a control
    if len(fields) != len(header):
        problems.append(
            Problem(
                file,
                row,
                None,
                f"the row has {len(fields)} fields but the header has {len(header)}",
                "quote values that contain the separator, or remove the extra separators",
                kind="field_count",
            )
        )
    for name, value in zip(header, fields, strict=False):
        if "\x00" in value or _CONTROL.search(value):
            problems.append(
                Problem(
                    file,
                    row,
                    name,
                    "the value contains NUL bytes or other control characters",
                    "remove them (the export may be corrupted); then import again",
                    kind="nul_bytes",
                    value=_clip(value),
                )
            )
        if len(value) > max_field_chars:
            problems.append(
                Problem(
                    file,
                    row,
                    name,
                    f"the value is {len(value)} characters long (limit {max_field_chars})",
                    "shorten it or check that quotes are balanced (an unclosed quote swallows the rest of the file)",
                    kind="long_field",
                    value=_clip(value),
                )
            )
    return problems


def _stripped(values: pd.Series) -> pd.Series:
    """Values as stripped strings (empty for missing), as an object Series."""
    array = values.to_numpy(dtype=object, na_value="")
    return pd.Series([v.strip() if type(v) is str else str(v).strip() for v in array], index=values.index, dtype=object)


def _clip(value: object, n: int = 60) -> str:
    text = "" if value is None else str(value)
    text = _CONTROL.sub("?", text)
    return text if len(text) <= n else text[: n - 3] + "..."


_MONTHS = ("", *(month_name(number, "en") for number in range(1, 13)))
_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_CLOCK = r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,]\d{1,9})?)?"
_TIMESTAMP_PARTS = re.compile(rf"^{_DATE}(?:[T ]{_CLOCK})?\s*(?:Z|[+-]\d{{2}}:?\d{{2}})?$")
_DATE_ONLY = re.compile(rf"^{_DATE}(?:[T ]00:00(?::00)?)?$")
_CLOCK_ONLY = re.compile(rf"^{_CLOCK}$")
_OTHER_DATE = re.compile(r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
DATE_FIX = "write the date as YYYY-MM-DD, e.g. 2025-08-22"
CLOCK_FIX = "write the clock time as HH:MM from 00:00 to 23:59, e.g. 21:30"


def date_problem(year: int, month: int, day: int) -> str | None:
    """What is wrong with a calendar date, e.g. ``month 13 does not exist``,
    ``February 2025 has 28 days``; ``None`` when it exists."""
    if not 1 <= month <= 12:
        return f"month {month} does not exist"
    if day < 1:
        return f"day {day} does not exist"
    last = calendar.monthrange(year, month)[1]
    if day > last:
        return f"{_MONTHS[month]} {year} has {last} days"
    return None


def clock_problem(hour: int, minute: int, second: int = 0) -> str | None:
    """What is wrong with a clock time, e.g. ``hour 25 does not exist``; ``None`` when it exists."""
    reasons = []
    if hour > 23:
        reasons.append(f"hour {hour} does not exist" + (" (midnight is 00:00 of the next day)" if hour == 24 else ""))
    if minute > 59:
        reasons.append(f"minute {minute} does not exist")
    if second > 59:
        reasons.append(f"second {second} does not exist")
    return "; ".join(reasons) or None


def explain_timestamp(text: str) -> str:
    """Why ``text`` is not a timestamp, in words (``February 2025 has 28 days; hour 24 does not
    exist``), or ``""`` when no reason more specific than the layout can be given."""
    value = str(text).strip()
    if not value:
        return "it is empty"
    m = _TIMESTAMP_PARTS.match(value)
    if m is None:
        if _OTHER_DATE.match(value):
            return "the date is not written YYYY-MM-DD (day and month order differs between countries)"
        return ""
    year, month, day = (int(g) for g in m.group(1, 2, 3))
    reasons = [r for r in (date_problem(year, month, day),) if r]
    if not reasons and (len(m.group(2)) < 2 or len(m.group(3)) < 2):
        reasons.append("the date is not written YYYY-MM-DD (two digits for the month and the day)")
    if m.group(4) is None:
        reasons.append("the clock time is missing")
    else:
        clock = clock_problem(int(m.group(4)), int(m.group(5)), int(m.group(6) or 0))
        if clock:
            reasons.append(clock)
    return "; ".join(reasons)


def date_text_problem(text: str) -> str | None:
    """Why a date column's value (Excel's ``Datum``) is not a date, or ``None`` when it is one."""
    value = str(text).strip()
    if not value:
        return "is empty"
    m = _DATE_ONLY.match(value)
    if m is not None and (len(m.group(2)) < 2 or len(m.group(3)) < 2):
        return f"{value!r} is not written YYYY-MM-DD (two digits for the month and the day)"
    if m is None:
        if _OTHER_DATE.match(value):
            return (
                f"{value!r} is not written YYYY-MM-DD (day and month order differs between countries, so it is "
                "not guessed)"
            )
        return f"{value!r} is not a date"
    reason = date_problem(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return None if reason is None else f"{value!r} is not a date: {reason}"


def clock_text_problem(text: str) -> str | None:
    """Why a clock column's value (Excel's ``Tid``, ``21:30`` or ``21.30``) is not a clock time, or
    ``None`` when it is one."""
    value = str(text).strip()
    if not value:
        return "is empty"
    m = _CLOCK_ONLY.match(value)
    if m is None:
        return f"{value!r} is not a clock time"
    reason = clock_problem(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    return None if reason is None else f"{value!r} is not a clock time: {reason}"


def derived_ids(occurred_at: pd.Series, place_id: pd.Series, category: pd.Series) -> pd.Series:
    """Stable ids for incident files without an id column.

    ``gen-<h>-<n>``: ``h`` is the first 16 hex digits of the SHA-1 of the incident's instant in UTC
    (ISO 8601), its place and its category label as the file writes it (lower-cased, NFC), joined by
    ``|``; ``n`` counts identical (instant, place, category) rows in file order, so two incidents
    that really happened at the same minute and place stay two incidents. Re-reading the same file,
    or a later export that adds rows after the old ones, gives the same ids, so re-importing adds
    nothing; the ids do not depend on the file's other columns, their order, its encoding or format.
    ``occurred_at`` holds UTC timestamps (NaT where invalid) or the raw text.
    """
    when = [v.isoformat() if isinstance(v, pd.Timestamp) and not pd.isna(v) else str(v) for v in occurred_at]
    seen: dict[str, int] = {}
    out = []
    for w, p, c in zip(when, place_id.astype(str), category.astype(str), strict=True):
        digest = hashlib.sha1(f"{w}|{p}|{c}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
        k = seen.get(digest, 0) + 1
        seen[digest] = k
        out.append(f"gen-{digest}-{k}")
    return pd.Series(out, index=occurred_at.index, dtype=object)


def parse_weight(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Weights from strings: empty -> 1.0, decimal comma accepted. Returns ``(weight, reason)``."""
    raw = text.fillna("").astype(str).str.strip()
    cleaned = raw.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    cleaned = cleaned.str.replace(r"^([+-]?\d*),(\d+)$", r"\1.\2", regex=True)
    values = pd.to_numeric(cleaned.where(cleaned != "", str(DEFAULT_WEIGHT)), errors="coerce")
    lowered = cleaned.str.lower()
    reason = pd.Series("", index=text.index, dtype="object")
    nan_word = lowered.isin(["nan", "-nan", "+nan"])
    not_number = values.isna() & ~nan_word
    infinite = np.isinf(values.fillna(0.0))
    negative = values < 0
    reason[nan_word] = "weight is NaN"
    reason[not_number] = "weight is not a number"
    reason[infinite] = "weight is infinite"
    reason[negative & ~infinite] = "weight is negative"
    return values.astype(float), reason


@dataclass
class RowCheck:
    """The outcome of :func:`validate_incidents`."""

    #: typed canonical frame of all rows (invalid values are NaT/NaN), with ``row``
    frame: pd.DataFrame
    problems: list[Problem]
    #: rows (spreadsheet numbers) with at least one problem
    bad_rows: set[int]
    #: rows dropped as exact duplicates of an earlier row with the same id
    duplicate_rows: set[int]


#: Canonical incident columns holding identifying text (normalised and checked, :mod:`tryggplan.text`).
IDENTITY_COLUMNS: tuple[str, ...] = ("incident_id", "place_id", "category", "source")


def text_problems(
    values: pd.Series, rows: np.ndarray, column: str, file: str, *, skip: Collection[int] = ()
) -> list[Problem]:
    """``control_character`` / ``invisible_character`` problems of a column of identifying text
    (:func:`tryggplan.text.text_problem`); ``column`` names it; rows in ``skip`` are not reported."""
    hits = np.flatnonzero(forbidden_mask(values).to_numpy(dtype=bool))
    out = []
    for i in hits:
        if int(rows[i]) in skip:
            continue
        problem = text_problem(str(values.iloc[i]), column, file=file, row=int(rows[i]))
        if problem is not None:
            out.append(problem)
    return out


def too_many_problems(file: str, limit: int, first: Sequence[Problem] = ()) -> InputTooLargeError:
    """The refusal of a file with more than ``limit`` problems (``ReadLimits.max_problems``); its
    ``problems`` are the refusal and the first 20 problems found, to show what is wrong."""
    what = f"the file has more than {limit} problems"
    fix = (
        "check that the file is in the layout expected (--format, --columns, the places) and correct the "
        "first problems listed, or split the file"
    )
    problem = Problem(
        file,
        None,
        None,
        f"{what}, over the limit max_problems={limit}",
        f"{fix}, or raise max_problems",
        kind="too_large",
    )
    return InputTooLargeError(
        f"{file}: {what}, over the limit max_problems={limit} -> {fix}, or raise the max_problems setting",
        limit="max_problems",
        value=limit,
        problems=[problem, *first[:20]],
    )


def validate_incidents(
    raw: pd.DataFrame,
    file: str,
    tz: str = DEFAULT_TZ,
    places: Collection[str] | None = None,
    now: dt.datetime | pd.Timestamp | None = None,
    default_source: str = "reporter",
    labels: Mapping[str, str] | None = None,
    max_problems: int | None = None,
    found_before: Sequence[Problem] = (),
    time_reported: Collection[int] = (),
) -> RowCheck:
    """Check canonical incident rows given as strings and type them.

    Identifying text (``incident_id``, ``place_id``, ``category``, ``source``) is normalised (NFC,
    plain spaces, stripped) and refused when it holds control or invisible characters
    (:mod:`tryggplan.text`), so ids that look the same are the same.

    Parameters
    ----------
    raw : frame with the columns of :data:`INCIDENT_COLUMNS` as strings (empty = missing;
        ``occurred_at`` may instead already be tz-aware datetimes) and ``row``, the
        spreadsheet row number of each record
    file : file name used in problems
    tz : time zone of timestamps written without an offset
    places : known place ids; ``None`` skips the unknown-place rule
    now : the present [UTC]; later than ``now + 1 day`` is "in the future"
    default_source : source of rows whose ``source`` is empty
    labels : the user's name of each canonical column (e.g. ``{"place_id": "Plats", "occurred_at":
        "Datum + Tid"}``), used as ``column`` and in the messages of problems; default: the canonical names
    max_problems : refuse (:func:`too_many_problems`) before more than this many problems, counting
        ``found_before`` (what the caller found already), are made; ``None``: no limit
    time_reported : rows whose time the caller has reported already (a bad date or clock column):
        no ``bad_timestamp`` problem again
    """
    frame = raw.copy()
    n = len(frame)
    rows = frame["row"].to_numpy(dtype=int)
    problems: list[Problem] = []
    bad: set[int] = set()
    names = {c: c for c in INCIDENT_COLUMNS} | dict(labels or {})

    over = False

    def take(hits: np.ndarray) -> np.ndarray:
        """The hits to make problems of: all of them while they fit in ``max_problems`` (each problem
        costs ~400 bytes); past it, only enough for 20 examples, and the file is refused (:func:`refuse`)."""
        nonlocal over
        made = len(found_before) + len(problems)
        if max_problems is None or made + len(hits) <= max_problems:
            return hits
        over = True
        return hits[: max(0, 20 - made)]

    def refuse() -> None:
        if over:
            raise too_many_problems(file, max_problems or 0, [*found_before, *problems])

    def add(
        mask: pd.Series | np.ndarray, column: str, message: str, fix: str, kind: str, values: pd.Series | None = None
    ) -> None:
        """``message`` may hold ``{value}`` and ``{label}`` (the column's name for the user)."""
        hits = take(np.flatnonzero(np.asarray(mask, dtype=bool)))
        for i in hits:
            value = None if values is None else _clip(values.iloc[i])
            msg = message.format(value=value, label=names[column])
            problems.append(Problem(file, int(rows[i]), names[column], msg, fix, value=value, kind=kind))
            bad.add(int(rows[i]))
        refuse()

    stripped: dict[str, pd.Series] = {}

    def text(col: str) -> pd.Series:
        if col not in frame:
            return pd.Series([""] * n, index=frame.index, dtype="object")
        if col not in stripped:
            stripped[col] = _stripped(frame[col])
        return stripped[col]

    identity: dict[str, pd.Series] = {}
    for col in IDENTITY_COLUMNS:
        raw_text = text(col)
        hits = take(np.flatnonzero(forbidden_mask(raw_text).to_numpy(dtype=bool)))
        found = [text_problem(str(raw_text.iloc[i]), names[col], file=file, row=int(rows[i])) for i in hits]
        problems += [p for p in found if p is not None]
        bad.update(int(rows[i]) for i in hits)
        refuse()
        identity[col] = normalize_series(raw_text)

    ids = identity["incident_id"]
    add(
        ids == "",
        "incident_id",
        "{label} is empty",
        "give every incident a unique id (or leave the id column out: ids are then derived from the content)",
        "empty_id",
    )

    occurred = frame["occurred_at"] if "occurred_at" in frame else pd.Series([""] * n, index=frame.index)
    if isinstance(occurred.dtype, pd.DatetimeTZDtype):
        utc = occurred.dt.tz_convert("UTC")
        reason = pd.Series(np.where(utc.isna(), "empty timestamp", ""), index=frame.index)
        shown = utc.astype(str)
    else:
        shown = occurred.fillna("").astype(str)
        utc, reason = to_utc(shown, tz)
    if len(time_reported):
        already = np.isin(rows, np.fromiter(time_reported, dtype=int))
        bad.update(int(r) for r in rows[already])
        reason = reason.where(~already | ~reason.isin(["not a timestamp", "empty timestamp"]), "")
    for i in take(np.flatnonzero(reason.isin(["not a timestamp", "empty timestamp"]).to_numpy())):
        value = _clip(shown.iloc[i])
        why = explain_timestamp(shown.iloc[i]) if reason.iloc[i] == "not a timestamp" else ""
        problems.append(
            Problem(
                file,
                int(rows[i]),
                names["occurred_at"],
                f"{names['occurred_at']} {value!r} is not a timestamp" + (f": {why}" if why else ""),
                TIMESTAMP_FIX,
                value=value,
                kind="bad_timestamp",
            )
        )
        bad.add(int(rows[i]))
    refuse()
    for i in take(np.flatnonzero(reason.str.startswith("nonexistent").to_numpy())):
        value = _clip(shown.iloc[i])
        later = _localize(shown.iloc[i], tz, nonexistent=pd.Timedelta(hours=1))
        problems.append(
            Problem(
                file,
                int(rows[i]),
                names["occurred_at"],
                f"local time {value!r} does not exist in {tz} (clocks spring forward that night)",
                "check the time: that hour is skipped on that day; if the clock really showed it, write the "
                f"instant with its offset, e.g. {later}",
                value=value,
                kind="nonexistent_time",
            )
        )
        bad.add(int(rows[i]))
    refuse()
    for i in take(np.flatnonzero(reason.str.startswith("ambiguous").to_numpy())):
        value = _clip(shown.iloc[i])
        first = _localize(shown.iloc[i], tz, ambiguous=True)
        second = _localize(shown.iloc[i], tz, ambiguous=False)
        problems.append(
            Problem(
                file,
                int(rows[i]),
                names["occurred_at"],
                f"local time {value!r} happens twice in {tz} (clocks fall back that night)",
                f"add the offset: {first} for the first pass (summer time), {second} for the second",
                value=value,
                kind="ambiguous_time",
            )
        )
        bad.add(int(rows[i]))
    refuse()
    present = pd.Timestamp(now if now is not None else pd.Timestamp.now(tz="UTC"))
    present = present.tz_localize("UTC") if present.tzinfo is None else present.tz_convert("UTC")
    limit = present + FUTURE_TOLERANCE
    add(
        (utc > limit).fillna(False),
        "occurred_at",
        f"{{label}} {{value!r}} is in the future (after {limit:%Y-%m-%d %H:%M} UTC)",
        "check the year and the clock of the exporting system",
        "future",
        shown,
    )
    add(
        (utc < EARLIEST).fillna(False),
        "occurred_at",
        f"{{label}} {{value!r}} is before {EARLIEST:%Y-%m-%d}",
        "check the year (a date the exporting system shows for 'no date' is not an incident time)",
        "too_old",
        shown,
    )

    place = identity["place_id"]
    add(place == "", "place_id", "{label} is empty", "name the place of every incident", "empty_place")
    if places is not None:
        known = set(normalize_series(pd.Series([str(p) for p in places], dtype=object)))
        sample = ", ".join(sorted(known)[:8]) + (", ..." if len(known) > 8 else "")
        add(
            (place != "") & ~place.isin(known),
            "place_id",
            "unknown place {value!r}",
            f"add it to the places file (--places) or correct the place_id; known places: {sample or 'none'}",
            "unknown_place",
            place,
        )

    weight, wreason = parse_weight(text("weight"))
    for why in ("weight is NaN", "weight is not a number", "weight is infinite", "weight is negative"):
        add(
            wreason == why,
            "weight",
            "{label}" + why.removeprefix("weight") + ": {value!r}",
            "write a number >= 0 such as 1 or 0,5 (empty means 1.0)",
            "bad_weight",
            text("weight"),
        )

    category = identity["category"].str.lower()
    category = category.where(category != "", "unknown")
    source = identity["source"]
    source = source.where(source != "", default_source)

    typed = pd.DataFrame(
        {
            "incident_id": ids.astype("string"),
            "occurred_at": utc.astype("datetime64[ns, UTC]"),
            "place_id": place.astype("string"),
            "category": category.astype("string"),
            "source": source.astype("string"),
            "weight": weight.astype(float),
            "row": rows,
        },
        index=frame.index,
    )

    duplicate_rows: set[int] = set()
    dup_mask = (ids != "") & ids.duplicated(keep=False)
    if dup_mask.any():
        first_seen: dict[str, int] = {}
        for k in map(int, np.flatnonzero(dup_mask.to_numpy())):
            key = ids.iloc[k]
            if key not in first_seen:
                first_seen[key] = k
                continue
            j = first_seen[key]
            differ = [c for c in INCIDENT_COLUMNS[1:] if not _same(typed[c].iloc[k], typed[c].iloc[j])]
            if differ:
                if not len(take(np.array([k]))):
                    break
                problems.append(
                    Problem(
                        file,
                        int(rows[k]),
                        names["incident_id"],
                        f"{names['incident_id']} {key!r} already appears on row {rows[j]} with different "
                        f"{', '.join(names[c] for c in differ)}",
                        "give each incident its own id, or keep only the correct version",
                        kind="duplicate_id",
                        value=_clip(key),
                    )
                )
                bad.add(int(rows[k]))
            else:
                duplicate_rows.add(int(rows[k]))
        refuse()
    problems.sort(key=lambda p: p.row or 0)
    return RowCheck(typed, problems, bad, duplicate_rows)


def _localize(text: str, tz: str, **how: object) -> str:
    stamp = pd.Timestamp(re.sub(r"^(\d{4}-\d{2}-\d{2}[T ]\d{1,2})\.(\d{2})", r"\1:\2", str(text).strip()))
    try:
        return stamp.tz_localize(tz, **how).isoformat()  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return "YYYY-MM-DDTHH:MM:SS+HH:MM"


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if a is pd.NaT or b is pd.NaT or a is pd.NA or b is pd.NA:
        return bool(pd.isna(a) and pd.isna(b))
    return bool(a == b)


def validate_places(raw: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a places table given as strings (columns of PLACE_COLUMNS and ``row``) and type it.

    Text columns are normalised and refused with control or invisible characters as identifying text
    is (:mod:`tryggplan.text`), so two place ids that look the same are the same place."""
    problems: list[Problem] = []
    frame = raw.copy()
    rows = frame["row"].to_numpy(dtype=int)

    def col(name: str) -> pd.Series:
        if name not in frame:
            return pd.Series([""] * len(frame), index=frame.index, dtype="object")
        return frame[name].fillna("").astype(str).str.strip()

    for name in ("place_id", "name", "municipality", "kind", "area"):
        problems += text_problems(col(name), rows, name, file)
    pid = normalize_series(col("place_id"))
    for i in np.flatnonzero((pid == "").to_numpy()):
        problems.append(
            Problem(file, int(rows[i]), "place_id", "place_id is empty", "give every place an id", kind="empty_place")
        )
    for i in np.flatnonzero((pid.duplicated() & (pid != "")).to_numpy()):
        problems.append(
            Problem(
                file,
                int(rows[i]),
                "place_id",
                f"place_id {pid.iloc[i]!r} appears twice",
                "keep one row per place",
                kind="duplicate_id",
            )
        )
    coords: dict[str, pd.Series] = {}
    for name, lo, hi in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        text = col(name).str.replace(r"^([+-]?\d*),(\d+)$", r"\1.\2", regex=True)
        value = pd.to_numeric(text.where(text != ""), errors="coerce")
        wrong = ((text != "") & value.isna()) | (value < lo) | (value > hi)
        for i in np.flatnonzero(wrong.fillna(False).to_numpy()):
            problems.append(
                Problem(
                    file,
                    int(rows[i]),
                    name,
                    f"{name} {col(name).iloc[i]!r} is not a number in [{lo:g}, {hi:g}]",
                    "write decimal degrees (WGS84), e.g. 59.3936 (decimal comma accepted)",
                    kind="bad_coordinate",
                )
            )
        coords[name] = value.astype(float)
    name = normalize_series(col("name"))
    typed = pd.DataFrame(
        {
            "place_id": pid.astype("string"),
            "name": name.where(name != "", pid).astype("string"),
            "municipality": normalize_series(col("municipality")).astype("string"),
            "lat": coords["lat"],
            "lon": coords["lon"],
            "kind": normalize_series(col("kind")).astype("string"),
            "area": normalize_series(col("area")).astype("string"),
        },
        index=frame.index,
    )
    return typed.reset_index(drop=True), problems
