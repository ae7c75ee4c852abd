"""Validation: every bad input is reported with file, spreadsheet row, column, message and fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tryggplan.domain import InvalidInputError
from tryggplan.readers import load_incidents, read_incidents
from tryggplan.validation import MAX_FIELD_CHARS, decode_text, parse_weight

HEADER = "incident_id,occurred_at,place_id,category,source,weight\n"
FIRST = "k1,2025-08-15T21:10:00+02:00,parken,vandalism,reporter,1\n"
PLACES = ["parken", "skolan"]
NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")

#: name -> (file bytes, [(row, column, kind, message)])
BAD: dict[str, tuple[bytes, list[tuple[int | None, str | None, str, str]]]] = {
    "missing_column": (
        b"incident_id,place_id,weight\nk1,parken,1\n",
        [
            (
                1,
                "occurred_at",
                "missing_column",
                "required column 'occurred_at' is missing (found: incident_id, place_id, weight)",
            )
        ],
    ),
    "missing_two_columns": (
        # no id column is not a problem: ids are derived from the content
        b"Datum;Vikt\n2025-08-15;1\n",
        [
            (1, "time", "missing_column", "the file has a date column ('Datum') but no time column ('Tid')"),
            (1, "place_id", "missing_column", "required column 'place_id' is missing (found: Datum, Vikt)"),
        ],
    ),
    "duplicate_column": (
        (HEADER.strip() + ",place_id\n").encode() + FIRST.strip().encode() + b",x\n",
        [(1, "place_id", "duplicate_column", "column 'place_id' appears more than once in the header")],
    ),
    "bad_timestamp": (
        (HEADER + FIRST + "k9,2025-02-30 24:61,parken,theft,police,1\n").encode(),
        [
            (
                3,
                "occurred_at",
                "bad_timestamp",
                "occurred_at '2025-02-30 24:61' is not a timestamp: February 2025 has 28 days; hour 24 does not "
                "exist (midnight is 00:00 of the next day); minute 61 does not exist",
            )
        ],
    ),
    "empty_timestamp": (
        (HEADER + FIRST + "k9,,parken,theft,police,1\n").encode(),
        [(3, "occurred_at", "bad_timestamp", "occurred_at '' is not a timestamp")],
    ),
    "date_without_time": (
        (HEADER + FIRST + "k9,2025-08-15,parken,theft,police,1\n").encode(),
        [(3, "occurred_at", "bad_timestamp", "occurred_at '2025-08-15' is not a timestamp: the clock time is missing")],
    ),
    "dst_nonexistent": (
        (HEADER + FIRST + "k9,2026-03-29 02:15,parken,theft,police,1\n").encode(),
        [
            (
                3,
                "occurred_at",
                "nonexistent_time",
                "local time '2026-03-29 02:15' does not exist in Europe/Stockholm (clocks spring forward that night)",  # noqa: E501
            )
        ],
    ),
    "dst_ambiguous": (
        (HEADER + FIRST + "k9,2026-10-25 02:45,parken,theft,police,1\n").encode(),
        [
            (
                3,
                "occurred_at",
                "ambiguous_time",
                "local time '2026-10-25 02:45' happens twice in Europe/Stockholm (clocks fall back that night)",  # noqa: E501
            )
        ],
    ),
    "future": (
        (HEADER + FIRST + "k9,2091-06-01T23:00:00+02:00,parken,theft,police,1\n").encode(),
        [
            (
                3,
                "occurred_at",
                "future",
                "occurred_at '2091-06-01T23:00:00+02:00' is in the future (after 2026-11-27 12:00 UTC)",
            )
        ],
    ),
    "too_old": (
        (HEADER + FIRST + "k9,1899-12-31 23:00,parken,theft,police,1\n").encode(),
        [(3, "occurred_at", "too_old", "occurred_at '1899-12-31 23:00' is before 1900-01-01")],
    ),
    "unknown_place": (
        (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,atlantis,theft,police,1\n").encode(),
        [(3, "place_id", "unknown_place", "unknown place 'atlantis'")],
    ),
    "empty_place": (
        (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,,theft,police,1\n").encode(),
        [(3, "place_id", "empty_place", "place_id is empty")],
    ),
    "empty_id": (
        (HEADER + FIRST + ",2025-08-15T22:00:00+02:00,parken,theft,police,1\n").encode(),
        [(3, "incident_id", "empty_id", "incident_id is empty")],
    ),
    "dup_conflict": (
        (HEADER + FIRST + "k1,2025-08-16T01:00:00+02:00,skolan,assault,police,1\n").encode(),
        [
            (
                3,
                "incident_id",
                "duplicate_id",
                "incident_id 'k1' already appears on row 2 with different occurred_at, place_id, category, source",  # noqa: E501
            )
        ],
    ),
    "negative_weight": (
        (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken,theft,police,-0.5\n").encode(),
        [(3, "weight", "bad_weight", "weight is negative: '-0.5'")],
    ),
    "nan_weight": (
        (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken,theft,police,NaN\n").encode(),
        [(3, "weight", "bad_weight", "weight is NaN: 'NaN'")],
    ),
    "text_weight": (
        (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken,theft,police,hög\n").encode(),
        [(3, "weight", "bad_weight", "weight is not a number: 'hög'")],
    ),
    "infinite_weight": (
        (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken,theft,police,inf\n").encode(),
        [(3, "weight", "bad_weight", "weight is infinite: 'inf'")],
    ),
    "empty": (b"", [(None, None, "empty_file", "the file is empty (no header row, no data)")]),
    "blank_lines_only": (
        b"\r\n\r\n  \n",
        [(None, None, "empty_file", "the file is empty (no header row, no data)")],
    ),
    "binary": (
        bytes(range(256)) * 40,
        [(None, None, "binary_file", "the file is not a text file (binary data)")],
    ),
    "xlsx": (
        b"PK\x03\x04" + bytes(200),
        [(None, None, "workbook", "the file is a zip archive or an Excel workbook (.xlsx), not CSV text")],
    ),
    "wrong_encoding": (
        HEADER.encode() + b"k9,2025-08-15T22:00:00+02:00,p\x81rken,theft,police,1\n",
        [(None, None, "encoding", "the file is neither UTF-8 nor cp1252 text (byte 0x81 cannot be decoded)")],
    ),
    "nul_bytes": (
        (HEADER + FIRST).encode() + b"k9,2025-08-15T22:00:00+02:00,parken,th\x00eft,police,1\n",
        [(3, "category", "nul_bytes", "the value contains NUL bytes or other control characters")],
    ),
    "long_field": (
        (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken," + "x" * 150_000 + ",police,1\n").encode(),
        [(3, "category", "long_field", "the value is 150000 characters long (limit 1000)")],
    ),
    "unclosed_quote": (
        (
            HEADER
            + FIRST
            + 'k9,"2025-08-15T22:00:00+02:00,parken,theft,police,1\n'
            + "k10,2025-08-15T22:00:00+02:00,parken,theft,police,1\n" * 30
        ).encode(),
        [
            (3, None, "field_count", "the row has 2 fields but the header has 6"),
            (3, "occurred_at", "long_field", "the value is 1608 characters long (limit 1000)"),
            (
                3,
                "occurred_at",
                "bad_timestamp",
                "occurred_at '2025-08-15T22:00:00+02:00,parken,theft,police,1\\nk10,2025-...' is not a timestamp",  # noqa: E501
            ),
            (3, "place_id", "empty_place", "place_id is empty"),
        ],
    ),
    "extra_field": (
        (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken,theft,police,1,extra\n").encode(),
        [(3, None, "field_count", "the row has 7 fields but the header has 6")],
    ),
}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", sorted(BAD))
def test_every_bad_input_is_reported_exactly(tmp_path: Path, name: str) -> None:
    data, expected = BAD[name]
    result = load_incidents(write(tmp_path, name, data), places=PLACES, now=NOW)
    got = [(p.row, p.column, p.kind, p.message) for p in result.problems]
    assert got == expected
    assert all(p.file == f"{name}.csv" and p.fix for p in result.problems)
    assert not result.ok
    # the valid first row (if any) survives for --skip-invalid; the bad row is rejected with its reason
    if expected[0][0] not in (None, 1):
        assert result.valid["incident_id"].tolist() == ["k1"]
        assert result.rejected["row"].tolist() == [3]
        assert result.rejected["reason"].iloc[0].startswith(f"{expected[0][1] or 'row'}: {expected[0][3]}"[:40])
    with pytest.raises(InvalidInputError) as err:
        read_incidents(write(tmp_path, name, data), places=PLACES, now=NOW)
    assert str(err.value).startswith(f"{name}.csv: {len(expected)} problem(s)")
    assert len(err.value.problems) == len(expected)


def test_problem_text_names_file_row_column_and_fix(tmp_path: Path) -> None:
    data, _ = BAD["dst_ambiguous"]
    problem = load_incidents(write(tmp_path, "x", data), now=NOW).problems[0]
    assert str(problem) == (
        "x.csv, row 3, column 'occurred_at': local time '2026-10-25 02:45' happens twice in Europe/Stockholm "
        "(clocks fall back that night) -> add the offset: 2026-10-25T02:45:00+02:00 for the first pass "
        "(summer time), 2026-10-25T02:45:00+01:00 for the second"
    )


def test_all_problems_of_a_file_are_reported_not_only_the_first(tmp_path: Path) -> None:
    data = (
        HEADER + FIRST + "k2,2025-02-30 24:61,atlantis,theft,police,-1\nk3,2026-03-29 02:15,parken,theft,police,1\n"
    ).encode()
    result = load_incidents(write(tmp_path, "many", data), places=PLACES, now=NOW)
    assert [(p.row, p.kind) for p in result.problems] == [
        (3, "bad_timestamp"),
        (3, "unknown_place"),
        (3, "bad_weight"),
        (4, "nonexistent_time"),
    ]
    assert result.rejected["row"].tolist() == [3, 4]
    assert result.rejected["reason"].iloc[0] == (
        "occurred_at: occurred_at '2025-02-30 24:61' is not a timestamp: February 2025 has 28 days; hour 24 does "
        "not exist (midnight is 00:00 of the next day); minute 61 does not exist; place_id: unknown place "
        "'atlantis'; weight: weight is negative: '-1'"
    )


def test_header_only_is_valid_with_zero_rows(tmp_path: Path) -> None:
    result = load_incidents(write(tmp_path, "h", HEADER.encode()), places=PLACES, now=NOW)
    assert result.ok and result.rows == 0 and len(result.incidents) == 0
    assert list(result.incidents.columns) == [
        "incident_id",
        "occurred_at",
        "place_id",
        "category",
        "source",
        "weight",
    ]


def test_exact_duplicate_rows_are_dropped_not_refused(tmp_path: Path) -> None:
    result = load_incidents(write(tmp_path, "d", (HEADER + FIRST + FIRST).encode()), now=NOW)
    assert result.ok and result.incidents["incident_id"].tolist() == ["k1"]
    assert result.notes == {"exact_duplicates_dropped": 1}


def test_explicit_offset_resolves_ambiguity_and_future_margin(tmp_path: Path) -> None:
    data = (HEADER + "a,2026-10-25T02:45:00+01:00,parken,,,\n" + "b,2026-11-27T11:00:00Z,parken,,,\n").encode()
    result = load_incidents(write(tmp_path, "ok", data), now=NOW)
    assert result.ok  # b is within now + 1 day


@pytest.mark.parametrize(
    ("text", "value", "reason"),
    [
        ("1", 1.0, ""),
        ("0,5", 0.5, ""),
        ("2.25", 2.25, ""),
        ("", 1.0, ""),
        (" 3 ", 3.0, ""),
        ("0", 0.0, ""),
        ("-0,5", -0.5, "weight is negative"),
        ("nan", None, "weight is NaN"),
        ("abc", None, "weight is not a number"),
        ("-inf", None, "weight is infinite"),
    ],
)
def test_parse_weight(text: str, value: float | None, reason: str) -> None:
    weight, why = parse_weight(pd.Series([text]))
    assert why.iloc[0] == reason
    if value is not None:
        assert weight.iloc[0] == value


def test_decode_text_encodings() -> None:
    assert decode_text("a;ö\n".encode("cp1252"), "f")[:2] == ("a;ö\n", "cp1252")
    assert decode_text("a;ö\n".encode(), "f")[:2] == ("a;ö\n", "utf-8")
    assert decode_text(b"\xef\xbb\xbf" + "a;ö\n".encode(), "f")[:2] == ("a;ö\n", "utf-8-sig")
    assert decode_text("a;ö\n".encode("utf-16"), "f")[:2] == ("a;ö\n", "utf-16")
    text, _, problems = decode_text(b"\xef\xbb\xbfa,b\n\xff", "f")
    assert text is None
    assert problems[0].message == "the file starts with a UTF-8 byte-order mark but byte 7 (0xff) is not UTF-8"


def test_long_field_limit_is_exclusive(tmp_path: Path) -> None:
    ok = HEADER + "k1,2025-08-15T21:10:00+02:00,parken," + "x" * MAX_FIELD_CHARS + ",reporter,1\n"
    assert load_incidents(write(tmp_path, "ok", ok.encode()), now=NOW).ok


def test_mutated_files_never_crash_the_reader(tmp_path: Path) -> None:
    """Random byte edits of good files (seeded): the reader returns problems, it never raises."""
    import random

    good = (HEADER + FIRST + "k2,2025-08-16 00:20,skolan,disorder,police,1\n").encode()
    excel = "Id;Datum;Tid;Plats;Händelsetyp;Vikt\r\nm1;2025-08-22;22:30;parken;Skadegörelse;0,5\r\n".encode("cp1252")  # noqa: E501
    rnd = random.Random(7)
    alphabet = b',;"\n\r\x00\xff\xc3\xa5 0123456789-:T+Z.ab'
    outcomes = {"ok": 0, "problems": 0}
    for n in range(150):
        data = bytearray(rnd.choice([good, excel]))
        for _ in range(rnd.randint(1, 5)):
            pos = rnd.randrange(len(data) + 1)
            op = rnd.random()
            if op < 0.4 and data:
                data[min(pos, len(data) - 1)] = rnd.choice(alphabet)
            elif op < 0.7:
                data[pos:pos] = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 4)))
            elif op < 0.9:
                del data[pos : pos + rnd.randint(1, 10)]
            else:
                data = data[:pos]
        result = load_incidents(write(tmp_path, f"m{n}", bytes(data)), places=PLACES, now=NOW)
        outcomes["ok" if result.ok else "problems"] += 1
        assert all(p.message and p.fix for p in result.problems)
        assert len(result.valid) + len(result.rejected) <= result.rows
    assert outcomes["problems"] > 50 and outcomes["ok"] > 5
