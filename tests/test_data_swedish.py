"""Import that meets real files: a Swedish Excel export without an id column gets stable derived ids in
every format; problems name the file's own headers and say what is wrong with the value, once."""

from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path

import pandas as pd
import pytest

from tryggplan.readers import load_incidents, read_incidents

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
EXPORT = (
    "Datum;Tid;Plats;Händelsetyp\r\n"
    "2025-08-22;22:30;parken;Skadegörelse\r\n"
    "2025-08-22;22:30;parken;Skadegörelse\r\n"  # the same again: a second incident, not a duplicate
    "2025-08-23;01.15;skolan;Ordningsstörning\r\n"
)


def gen(instant_utc: str, place: str, label: str, n: int) -> str:
    """The documented scheme: gen-<first 16 hex of sha1(instant UTC|place|label)>-<n>."""
    return f"gen-{hashlib.sha1(f'{instant_utc}|{place}|{label}'.encode()).hexdigest()[:16]}-{n}"


IDS = [
    gen("2025-08-22T20:30:00+00:00", "parken", "skadegörelse", 1),
    gen("2025-08-22T20:30:00+00:00", "parken", "skadegörelse", 2),
    gen("2025-08-22T23:15:00+00:00", "skolan", "ordningsstörning", 1),
]


def test_swedish_export_without_ids_gets_the_documented_ids(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(EXPORT.encode("cp1252"))
    result = load_incidents(path, now=NOW)
    assert result.ok, result.problems
    assert (result.format, result.encoding, result.notes) == ("excel", "cp1252", {"ids_derived": 3})
    assert result.incidents["incident_id"].tolist() == IDS
    assert result.incidents["category"].tolist() == ["vandalism", "vandalism", "disorder"]
    assert read_incidents(path, now=NOW)["incident_id"].tolist() == IDS  # the same file, the same ids


def test_the_ids_do_not_depend_on_format_encoding_or_other_columns(tmp_path: Path) -> None:
    frame = pd.read_csv(io.StringIO(EXPORT), sep=";", dtype=str)
    variants = {
        "utf8-bom-comma.csv": lambda p: p.write_bytes(
            b"\xef\xbb\xbf" + frame.assign(Kommentar="x").to_csv(index=False).encode()
        ),
        "reordered.csv.gz": lambda p: p.write_bytes(
            gzip.compress(frame[["Händelsetyp", "Plats", "Tid", "Datum"]].to_csv(index=False, sep=";").encode())
        ),
        "export.parquet": lambda p: frame.to_parquet(p),
        "tidpunkt.csv": lambda p: p.write_text(
            "Tidpunkt,Plats,Kategori\n2025-08-22 22:30,parken,skadegörelse\n2025-08-22T22:30:00+02:00,parken,"
            "Skadegörelse\n2025-08-23 01:15,skolan,Ordningsstörning\n"
        ),
    }
    for name, write in variants.items():
        path = tmp_path / name
        write(path)
        assert read_incidents(path, now=NOW)["incident_id"].tolist() == IDS, name


def test_mapped_and_canonical_formats_derive_ids_too(tmp_path: Path) -> None:
    path = tmp_path / "mapped.csv"
    path.write_text("When,Where,What\n2025-08-22 22:30,parken,Skadegörelse\n")
    mapped = read_incidents(path, format="mapped", columns="occurred_at=When,place_id=Where,category=What", now=NOW)
    assert mapped["incident_id"].tolist() == IDS[:1]
    canonical = tmp_path / "canonical.csv"
    canonical.write_text("occurred_at,place_id,category\n2025-08-22T20:30:00Z,parken,skadegörelse\n")
    assert read_incidents(canonical, format="canonical", now=NOW)["incident_id"].tolist() == IDS[:1]


@pytest.mark.parametrize(
    ("date", "time", "expected"),
    [
        ("2025-13-01", "22:30", [("Datum", "Datum '2025-13-01' is not a date: month 13 does not exist")]),
        ("2025-02-30", "22:30", [("Datum", "Datum '2025-02-30' is not a date: February 2025 has 28 days")]),
        ("2024-02-30", "22:30", [("Datum", "Datum '2024-02-30' is not a date: February 2024 has 29 days")]),
        ("2025-04-00", "22:30", [("Datum", "Datum '2025-04-00' is not a date: day 0 does not exist")]),
        ("2025-08-22", "25:10", [("Tid", "Tid '25:10' is not a clock time: hour 25 does not exist")]),
        (
            "2025-08-22",
            "24:00",
            [("Tid", "Tid '24:00' is not a clock time: hour 24 does not exist (midnight is 00:00 of the next day)")],
        ),
        ("2025-08-22", "21:75", [("Tid", "Tid '21:75' is not a clock time: minute 75 does not exist")]),
        ("2025-08-22", "kväll", [("Tid", "Tid 'kväll' is not a clock time")]),
        ("2025-08-22", "", [("Tid", "Tid is empty")]),
        (
            "2025-8-2",
            "22:30",
            [("Datum", "Datum '2025-8-2' is not written YYYY-MM-DD (two digits for the month and the day)")],
        ),
        (
            "22/08/2025",
            "22:30",
            [
                (
                    "Datum",
                    "Datum '22/08/2025' is not written YYYY-MM-DD (day and month order differs between countries, "
                    "so it is not guessed)",
                )
            ],
        ),
        (
            "2025-02-29",
            "25:61",
            [
                ("Datum", "Datum '2025-02-29' is not a date: February 2025 has 28 days"),
                ("Tid", "Tid '25:61' is not a clock time: hour 25 does not exist; minute 61 does not exist"),
            ],
        ),
        ("", "", [("Datum", "Datum is empty"), ("Tid", "Tid is empty")]),
    ],
)
def test_date_and_time_problems_name_the_column_and_say_why_once(
    tmp_path: Path, date: str, time: str, expected: list[tuple[str, str]]
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        ("Datum;Tid;Plats;Händelsetyp\r\n2025-08-21;20:00;parken;Stöld\r\n" + f"{date};{time};parken;Stöld\r\n").encode(
            "cp1252"
        )
    )
    result = load_incidents(path, now=NOW)
    assert [(p.row, p.column, p.message) for p in result.problems] == [(3, c, m) for c, m in expected]
    assert {p.kind for p in result.problems} == {"bad_timestamp"}
    assert result.valid["row"].tolist() == [2]


def test_other_problems_name_the_users_headers(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        (
            "Datum;Tid;Plats;Händelsetyp;Vikt\r\n"
            "2025-08-21;20:00;;Stöld;1\r\n"
            "2025-08-21;20:00;atlantis;Stöld;1\r\n"
            "2025-08-21;20:00;parken;Stöld;-1\r\n"
            "2091-06-01;23:00;parken;Stöld;1\r\n"
            "2026-03-29;02:15;parken;Stöld;1\r\n"
        ).encode("cp1252")
    )
    result = load_incidents(path, places=["parken"], now=NOW)
    assert [(p.row, p.column, p.kind, p.message) for p in result.problems] == [
        (2, "Plats", "empty_place", "Plats is empty"),
        (3, "Plats", "unknown_place", "unknown place 'atlantis'"),
        (4, "Vikt", "bad_weight", "Vikt is negative: '-1'"),
        (5, "Datum + Tid", "future", "Datum + Tid '2091-06-01 23:00' is in the future (after 2026-11-27 12:00 UTC)"),
        (
            6,
            "Datum + Tid",
            "nonexistent_time",
            "local time '2026-03-29 02:15' does not exist in Europe/Stockholm (clocks spring forward that night)",
        ),
    ]


def test_a_single_timestamp_column_says_why_under_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Id;Tidpunkt;Plats\na;2025-13-01 22:00;parken\nb;2025-08-15;parken\n", encoding="utf-8")
    result = load_incidents(path, now=NOW)
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (2, "Tidpunkt", "Tidpunkt '2025-13-01 22:00' is not a timestamp: month 13 does not exist"),
        (3, "Tidpunkt", "Tidpunkt '2025-08-15' is not a timestamp: the clock time is missing"),
    ]


POLICE = (
    "id,published_at,occurred_local,type,location_name,title,lat,lon,summary\n"
    '1,2025-08-22T18:10:00+02:00,2025-08-22T17:59,Misshandel,Arboga,"22 augusti 17.59, Misshandel, Arboga",'
    "59.39,15.84,x\n"
)


@pytest.mark.parametrize(
    ("name", "content", "kwargs"),
    [
        ("export.csv", EXPORT.encode("cp1252"), {}),
        ("export.csv.gz", gzip.compress(EXPORT.encode("cp1252")), {}),
        ("police.csv", POLICE.encode(), {}),
        (
            "mapped.csv",
            b"When,Where\n2018-01-01T00:00,West End\n",
            {"format": "mapped", "columns": "occurred_at=When,place_id=Where", "tz": "America/Vancouver"},
        ),
        ("export.csv", EXPORT.encode("cp1252"), {"places": ["parken", "skolan"], "format": "excel"}),
    ],
)
def test_read_incidents_reads_what_load_incidents_reads(
    tmp_path: Path, name: str, content: bytes, kwargs: dict
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    frame = read_incidents(path, now=NOW, **kwargs)
    pd.testing.assert_frame_equal(frame, load_incidents(path, now=NOW, **kwargs).incidents)
    assert len(frame) > 0
