"""One encoding per file: a file mixing UTF-8 and cp1252 rows is never read as mojibake; the rows
that do not decode in the file's encoding are problems naming their row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tryggplan.readers import load_incidents, read_table
from tryggplan.validation import decode_text, detect_encoding

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
HEADER = "Id;Datum;Tid;Plats;Händelsetyp\r\n"
FIX = (
    "save the whole file again in one encoding (Excel: 'CSV UTF-8'), or correct this row; a file is read in one "
    "encoding for all rows"
)


def row(i: int, label: str = "Skadegörelse", place: str = "Malmö") -> str:
    return f"m{i};2025-08-2{i};22:30;{place};{label}\r\n"


def problems(result: object) -> list[tuple[int | None, str, str]]:
    return [(p.row, p.kind, p.message) for p in result.problems]  # type: ignore[attr-defined]


def test_a_utf8_row_in_a_cp1252_file_is_refused_not_read_as_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes((HEADER + row(1)).encode("cp1252") + row(2).encode("utf-8") + (row(3) + row(4)).encode("cp1252"))
    result = load_incidents(path, now=NOW)
    assert result.encoding == "cp1252"
    assert problems(result) == [
        (3, "encoding", "the row is UTF-8 but the rest of the file is cp1252 ('ö' would be read as 'Ã¶')")
    ]
    assert result.problems[0].fix == FIX
    assert result.valid["row"].tolist() == [2, 4, 5]
    assert set(result.incidents["place_id"]) == {"Malmö"} and set(result.incidents["category"]) == {"vandalism"}
    assert result.rejected["row"].tolist() == [3]


def test_a_cp1252_row_in_a_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    head = (HEADER + row(1) + row(2)).encode("utf-8")
    path.write_bytes(head + row(3).encode("cp1252") + row(4).encode("utf-8"))
    offset = len(head) + row(3).encode("cp1252").index(b"\xf6")  # the ö of Malmö
    result = load_incidents(path, now=NOW)
    assert result.encoding == "utf-8"
    assert problems(result) == [
        (
            4,
            "encoding",
            f"byte {offset} (0xf6) is not UTF-8 but the rest of the file is: the row was saved in another "
            "encoding (cp1252?)",
        )
    ]
    assert set(result.incidents["place_id"]) == {"Malmö"}


def test_a_tie_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "tie.csv"
    lines = ["Id;Tidpunkt;Plats\r\n", "a;2025-08-21 22:00;Malmö\r\n", "b;2025-08-21 22:00;Malmö\r\n"]
    path.write_bytes(lines[0].encode() + lines[1].encode() + lines[2].encode("cp1252"))
    result = load_incidents(path, now=NOW)
    assert result.encoding == "utf-8" and [p.row for p in result.problems] == [3]


def test_a_bad_line_inside_a_quoted_value_names_the_row_of_the_record(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_bytes(
        b"Id;Tidpunkt;Plats;Beskrivning\r\n"
        + 'a;2025-08-21 22:00;Malmö;"två\r\nrader"\r\n'.encode()
        + 'b;2025-08-21 22:00;Malmö;"två\r\n'.encode()
        + "rader, den andra i cp1252: ö\r\n".encode("cp1252")
        + '"\r\nc;2025-08-21 22:00;Malmö;ok\r\n'.encode()
    )
    result = load_incidents(path, now=NOW)
    assert [(p.row, p.kind) for p in result.problems] == [(3, "encoding")]
    assert result.valid["incident_id"].tolist() == ["a", "c"]


def test_bom_file_with_a_row_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    data = b"\xef\xbb\xbf" + (HEADER + row(1)).encode() + row(2).encode("cp1252")
    path.write_bytes(data)
    offset = data.index(b"\xf6")
    result = load_incidents(path, now=NOW)
    assert result.encoding == "utf-8-sig"
    assert problems(result) == [
        (3, "encoding", f"the file starts with a UTF-8 byte-order mark but byte {offset} (0xf6) is not UTF-8")
    ]


def test_a_byte_cp1252_does_not_define(tmp_path: Path) -> None:
    path = tmp_path / "undefined.csv"
    data = (HEADER + row(1)).encode("cp1252") + b"m2;2025-08-22;22:30;p\x81rken;St\xf6ld\r\n"
    path.write_bytes(data)
    offset = data.index(b"\x81")
    result = load_incidents(path, now=NOW)
    assert problems(result) == [
        (3, "encoding", f"byte {offset} (0x81) cannot be read as cp1252, the encoding of the rest of the file")
    ]


@pytest.mark.parametrize(("encoding", "name"), [("cp1252", "cp1252"), ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")])
def test_files_in_one_encoding(tmp_path: Path, encoding: str, name: str) -> None:
    path = tmp_path / "one.csv"
    path.write_bytes((HEADER + row(1) + row(2, "Stöld", "Åby")).encode(encoding))
    result = load_incidents(path, now=NOW)
    assert result.ok and result.encoding == name
    assert result.incidents["place_id"].tolist() == ["Malmö", "Åby"]


def test_old_mac_line_ends_still_split_rows(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"incident_id,occurred_at,place_id\ra,2025-08-21 22:00,p\rb,2025-08-21 23:00,p\r")
    table = read_table(path)
    assert (table.header, table.records, table.rows) == (
        ["incident_id", "occurred_at", "place_id"],
        [["a", "2025-08-21 22:00", "p"], ["b", "2025-08-21 23:00", "p"]],
        [2, 3],
    )


def test_detect_and_decode() -> None:
    mixed = "a;ö\n".encode() + "b;ö\n".encode("cp1252") + "c;ö\n".encode("cp1252")
    enc, found = detect_encoding(mixed, "f")
    assert found == [] and enc is not None
    assert (enc.name, enc.bad_lines) == (
        "cp1252",
        {0: "the row is UTF-8 but the rest of the file is cp1252 ('ö' would be read as 'Ã¶')"},
    )
    text, name, found = decode_text(mixed, "f")
    assert (text, name, [(p.row, p.kind) for p in found]) == (None, "cp1252", [(1, "encoding")])
