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
``bad_timestamp``         ``occurred_at`` is ISO 8601 with offset, or ``YYYY-MM-DD HH:MM`` local time
``nonexistent_time``      a local time skipped when clocks spring forward is refused
``ambiguous_time``        a local time that happens twice when clocks fall back needs an offset
``future``                a timestamp later than now + 1 day is refused
``too_old``               a timestamp before :data:`EARLIEST` (1900) is refused
``empty_place``           ``place_id`` must not be empty
``unknown_place``         ``place_id`` must name a known place (when places are known)
``bad_weight``            ``weight`` is a finite number >= 0 (decimal comma accepted); empty = 1.0
``duplicate_id``          the same ``incident_id`` twice in one file with different content
``long_field``            a value longer than :data:`MAX_FIELD_CHARS` characters
``nul_bytes``             a row containing NUL or other control characters
``field_count``           a row with more or fewer fields than the header
========================  =====================================================================

File-level problems: ``empty_file``, ``binary_file``, ``workbook``, ``encoding``, ``missing_column``,
``duplicate_column``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tryggplan.domain import DEFAULT_TZ, DEFAULT_WEIGHT, INCIDENT_COLUMNS, Problem
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


def decode_text(data: bytes, file: str) -> tuple[str | None, str, list[Problem]]:
    """Decode the bytes of a text file; detect empty, binary and wrongly encoded files.

    Tries, in order: a byte-order mark (UTF-8, UTF-16), strict UTF-8, strict cp1252 (what
    Excel on Swedish Windows writes). Returns ``(text or None, encoding, problems)``; the text
    has no BOM. NUL bytes inside an otherwise readable text file are left in the text and
    reported per row by the reader (``nul_bytes``), so ``--skip-invalid`` can drop just those rows.
    """
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        return (
            None,
            "",
            [
                Problem(
                    file,
                    None,
                    None,
                    "the file is empty (no header row, no data)",
                    "export the incidents again; a valid file has at least the header incident_id,occurred_at,place_id",
                    kind="empty_file",
                )
            ],
        )
    if data[:4] == b"PK\x03\x04":
        return (
            None,
            "",
            [
                Problem(
                    file,
                    None,
                    None,
                    "the file is a zip archive or an Excel workbook (.xlsx), not CSV text",
                    _SAVE_AS_CSV,
                    kind="workbook",
                )
            ],
        )
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return (
            None,
            "",
            [
                Problem(
                    file,
                    None,
                    None,
                    "the file is an old Excel workbook (.xls), not CSV text",
                    _SAVE_AS_CSV,
                    kind="workbook",
                )
            ],
        )
    text: str | None = None
    encoding = ""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252"]
    error: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            text = data.decode(enc)
            encoding = enc
            break
        except UnicodeDecodeError as exc:
            error = error or exc
    controls = len(_CONTROL.findall(text)) if text is not None else 0
    if text is None or controls > max(8, BINARY_CONTROL_SHARE * len(text)):
        if text is None and error is not None and candidates == ["utf-8-sig"]:
            return (
                None,
                "",
                [
                    Problem(
                        file,
                        None,
                        None,
                        f"the file starts with a UTF-8 byte-order mark but byte {error.start + 3} "
                        f"(0x{data[error.start + 3]:02x}) is not UTF-8",
                        f"re-save the file as UTF-8; {_SAVE_AS_CSV}",
                        kind="encoding",
                    )
                ],
            )
        if text is None and error is not None and b"\x00" not in data[:4096]:
            bad_byte = (
                data[error.start : error.start + 1].hex()
                if candidates[-1] != "cp1252"
                else next((f"{b:02x}" for b in data if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)), "??")
            )
            return (
                None,
                "",
                [
                    Problem(
                        file,
                        None,
                        None,
                        f"the file is neither UTF-8 nor cp1252 text (byte 0x{bad_byte} cannot be decoded)",
                        f"re-save the file as UTF-8; {_SAVE_AS_CSV}",
                        kind="encoding",
                    )
                ],
            )
        return (
            None,
            "",
            [
                Problem(
                    file,
                    None,
                    None,
                    "the file is not a text file (binary data)",
                    f"give the incident file as CSV or Parquet; {_SAVE_AS_CSV}",
                    kind="binary_file",
                )
            ],
        )
    return text, encoding, []


def row_text_problems(file: str, row: int, header: list[str], fields: list[str]) -> list[Problem]:
    """Problems of one raw CSV record: field count, control characters, absurdly long values."""
    problems: list[Problem] = []
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
        if len(value) > MAX_FIELD_CHARS:
            problems.append(
                Problem(
                    file,
                    row,
                    name,
                    f"the value is {len(value)} characters long (limit {MAX_FIELD_CHARS})",
                    "shorten it or check that quotes are balanced (an unclosed quote swallows the rest of the file)",
                    kind="long_field",
                    value=_clip(value),
                )
            )
    return problems


def _clip(value: object, n: int = 60) -> str:
    text = "" if value is None else str(value)
    text = _CONTROL.sub("?", text)
    return text if len(text) <= n else text[: n - 3] + "..."


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


def validate_incidents(
    raw: pd.DataFrame,
    file: str,
    tz: str = DEFAULT_TZ,
    places: Collection[str] | None = None,
    now: dt.datetime | pd.Timestamp | None = None,
    default_source: str = "reporter",
) -> RowCheck:
    """Check canonical incident rows given as strings and type them.

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
    """
    frame = raw.copy()
    n = len(frame)
    rows = frame["row"].to_numpy(dtype=int)
    problems: list[Problem] = []
    bad: set[int] = set()

    def add(
        mask: pd.Series | np.ndarray, column: str, message: str, fix: str, kind: str, values: pd.Series | None = None
    ) -> None:
        hits = np.flatnonzero(np.asarray(mask, dtype=bool))
        for i in hits:
            value = None if values is None else _clip(values.iloc[i])
            msg = message.format(value=value)
            problems.append(Problem(file, int(rows[i]), column, msg, fix, value=value, kind=kind))
            bad.add(int(rows[i]))

    def text(col: str) -> pd.Series:
        if col not in frame:
            return pd.Series([""] * n, index=frame.index, dtype="object")
        return frame[col].fillna("").astype(str).str.strip()

    ids = text("incident_id")
    add(
        ids == "",
        "incident_id",
        "incident_id is empty",
        "give every incident a unique id (or use --format mapped, which generates ids)",
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
    add(
        reason.isin(["not a timestamp", "empty timestamp"]),
        "occurred_at",
        "occurred_at {value!r} is not a timestamp",
        TIMESTAMP_FIX,
        "bad_timestamp",
        shown,
    )
    for i in np.flatnonzero(reason.str.startswith("nonexistent").to_numpy()):
        value = _clip(shown.iloc[i])
        later = _localize(shown.iloc[i], tz, nonexistent=pd.Timedelta(hours=1))
        problems.append(
            Problem(
                file,
                int(rows[i]),
                "occurred_at",
                f"local time {value!r} does not exist in {tz} (clocks spring forward that night)",
                "check the time: that hour is skipped on that day; if the clock really showed it, write the "
                f"instant with its offset, e.g. {later}",
                value=value,
                kind="nonexistent_time",
            )
        )
        bad.add(int(rows[i]))
    for i in np.flatnonzero(reason.str.startswith("ambiguous").to_numpy()):
        value = _clip(shown.iloc[i])
        first = _localize(shown.iloc[i], tz, ambiguous=True)
        second = _localize(shown.iloc[i], tz, ambiguous=False)
        problems.append(
            Problem(
                file,
                int(rows[i]),
                "occurred_at",
                f"local time {value!r} happens twice in {tz} (clocks fall back that night)",
                f"add the offset: {first} for the first pass (summer time), {second} for the second",
                value=value,
                kind="ambiguous_time",
            )
        )
        bad.add(int(rows[i]))
    present = pd.Timestamp(now if now is not None else pd.Timestamp.now(tz="UTC"))
    present = present.tz_localize("UTC") if present.tzinfo is None else present.tz_convert("UTC")
    limit = present + FUTURE_TOLERANCE
    add(
        (utc > limit).fillna(False),
        "occurred_at",
        f"occurred_at {{value!r}} is in the future (after {limit:%Y-%m-%d %H:%M} UTC)",
        "check the year and the clock of the exporting system",
        "future",
        shown,
    )
    add(
        (utc < EARLIEST).fillna(False),
        "occurred_at",
        f"occurred_at {{value!r}} is before {EARLIEST:%Y-%m-%d}",
        "check the year (a date the exporting system shows for 'no date' is not an incident time)",
        "too_old",
        shown,
    )

    place = text("place_id")
    add(place == "", "place_id", "place_id is empty", "name the place of every incident", "empty_place")
    if places is not None:
        known = {str(p) for p in places}
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
            why + ": {value!r}",
            "write a number >= 0 such as 1 or 0,5 (empty means 1.0)",
            "bad_weight",
            text("weight"),
        )

    category = text("category").str.lower()
    category = category.where(category != "", "unknown")
    source = text("source")
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
                problems.append(
                    Problem(
                        file,
                        int(rows[k]),
                        "incident_id",
                        f"incident_id {key!r} already appears on row {rows[j]} with different {', '.join(differ)}",
                        "give each incident its own id, or keep only the correct version",
                        kind="duplicate_id",
                        value=_clip(key),
                    )
                )
                bad.add(int(rows[k]))
            else:
                duplicate_rows.add(int(rows[k]))
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


def stored_conflicts(valid: pd.DataFrame, stored: pd.DataFrame, file: str) -> list[Problem]:
    """Rows whose ``incident_id`` is already stored with different content.

    ``valid`` is a typed canonical frame with ``row``; ``stored`` the canonical frame of the
    database (e.g. ``tryggplan.storage.incidents.read_incidents``). Identical content is fine (re-import).
    """
    if valid.empty or stored.empty:
        return []
    left = valid.assign(incident_id=valid["incident_id"].astype(str))
    right = stored.assign(incident_id=stored["incident_id"].astype(str))
    both = left.merge(right, on="incident_id", suffixes=("", "_stored"))
    problems: list[Problem] = []
    for rec in both.to_dict("records"):
        differ = []
        for col in ("occurred_at", "place_id", "category", "source"):
            a, b = rec[col], rec[f"{col}_stored"]
            if not (pd.isna(a) and pd.isna(b)) and str(pd.Timestamp(a) if col == "occurred_at" else a) != str(
                pd.Timestamp(b) if col == "occurred_at" else b
            ):
                differ.append(f"{col} {b} -> {a}")
        if not math.isclose(float(rec["weight"]), float(rec["weight_stored"]), rel_tol=1e-9, abs_tol=1e-12):
            differ.append(f"weight {rec['weight_stored']} -> {rec['weight']}")
        if differ:
            changes = "; ".join(differ)
            problems.append(
                Problem(
                    file,
                    int(rec["row"]),
                    "incident_id",
                    f"incident {rec['incident_id']} is already stored with different content ({changes})",
                    "keep ids stable and content unchanged, or give a corrected incident a new id",
                    kind="duplicate_id",
                    value=_clip(rec["incident_id"]),
                )
            )
    return sorted(problems, key=lambda p: p.row or 0)


def validate_places(raw: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a places table given as strings (columns of PLACE_COLUMNS and ``row``) and type it."""
    problems: list[Problem] = []
    frame = raw.copy()
    rows = frame["row"].to_numpy(dtype=int)

    def col(name: str) -> pd.Series:
        if name not in frame:
            return pd.Series([""] * len(frame), index=frame.index, dtype="object")
        return frame[name].fillna("").astype(str).str.strip()

    pid = col("place_id")
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
    name = col("name")
    typed = pd.DataFrame(
        {
            "place_id": pid.astype("string"),
            "name": name.where(name != "", pid).astype("string"),
            "municipality": col("municipality").astype("string"),
            "lat": coords["lat"],
            "lon": coords["lon"],
            "kind": col("kind").astype("string"),
            "area": col("area").astype("string"),
        },
        index=frame.index,
    )
    return typed.reset_index(drop=True), problems
