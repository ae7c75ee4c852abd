"""`tryggplan validate` and `tryggplan import`: exit codes, messages, all-or-nothing, idempotence,
--skip-invalid with the rejected file, places from the file, the database or the incidents."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.test_data_validation import BAD
from tryggplan.cli import main

HEADER = "incident_id,occurred_at,place_id,category,source,weight\n"
PLACES = (
    "place_id,name,municipality,lat,lon,kind,area\n"
    "parken,Parken,Arboga,59.3936,15.8386,park,centrum\n"
    "skolan,Skolan,Arboga,59.3960,15.8420,school,centrum\n"
)
GOOD = (
    HEADER + "k1,2025-08-15T21:10:00+02:00,parken,vandalism,reporter,1\n"
    "k2,2025-08-16 00:20,skolan,disorder,police,1\n"
    "k3,2025-08-16T23:05:00+02:00,parken,assault,police,2\n"
)


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def rows(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("select count(*) from incidents").fetchone()[0])


@pytest.fixture
def work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Path]:
    (tmp_path / "places.csv").write_text(PLACES)
    (tmp_path / "good.csv").write_text(GOOD)
    db = tmp_path / "t.db"
    code, out, err = run(
        capsys,
        "import",
        tmp_path / "good.csv",
        "--places",
        tmp_path / "places.csv",
        "--db",
        f"sqlite:///{db}",
    )
    assert code == 0, err
    assert out.splitlines()[-1] == "good.csv: 3 added, 0 already stored, 0 rejected (import 1)"
    return {"dir": tmp_path, "db": db, "places": tmp_path / "places.csv"}


def test_reimport_adds_nothing(work: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "import",
        work["dir"] / "good.csv",
        "--places",
        work["places"],
        "--db",
        f"sqlite:///{work['db']}",
    )
    assert code == 0
    assert out.splitlines()[-1] == "good.csv: 0 added, 3 already stored, 0 rejected (import 2)"
    assert rows(work["db"]) == 3
    with sqlite3.connect(work["db"]) as con:
        stored = con.execute(
            "select incident_id, place_id, category, source, weight from incidents order by incident_id"
        ).fetchall()
    assert stored == [
        ("k1", "parken", "vandalism", "reporter", 1.0),
        ("k2", "skolan", "disorder", "police", 1.0),
        ("k3", "parken", "assault", "police", 2.0),
    ]


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_exits_2_and_stores_nothing(
    work: dict[str, Path], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    data, expected = BAD[name]
    path = work["dir"] / f"{name}.csv"
    path.write_bytes(data)
    code, out, err = run(capsys, "import", path, "--places", work["places"], "--db", f"sqlite:///{work['db']}")
    assert code == 2
    assert rows(work["db"]) == 3
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"tryggplan: error: nothing imported: {name}.csv: ")
    assert "Traceback" not in out + err
    if name != "future":  # its message names the current time
        assert expected[0][3][:30] in " ".join(err.split())


def test_database_conflict_is_refused_then_skipped(work: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    changed = work["dir"] / "changed.csv"
    changed.write_text(
        HEADER + "k1,2025-08-15T21:10:00+02:00,skolan,vandalism,reporter,1\n"
        "k4,2025-08-17T22:00:00+02:00,skolan,theft,guard,1\n"
    )
    db = f"sqlite:///{work['db']}"
    code, _, err = run(capsys, "import", changed, "--places", work["places"], "--db", db)
    assert code == 2 and rows(work["db"]) == 3
    assert "incident k1 is already stored with different content (place_id parken -> skolan)" in " ".join(err.split())
    code, out, _ = run(capsys, "import", changed, "--places", work["places"], "--db", db, "--skip-invalid")
    assert code == 0 and rows(work["db"]) == 4
    rejected = pd.read_csv(work["dir"] / "changed.rejected.csv", encoding="utf-8-sig")
    assert rejected["incident_id"].tolist() == ["k1"]
    assert rejected["row"].tolist() == [2]
    assert rejected["reason"].iloc[0] == (
        "incident_id: incident k1 is already stored with different content (place_id parken -> skolan)"
    )
    assert out.splitlines()[-1] == "changed.csv: 1 added, 0 already stored, 1 rejected (import 2)"


def test_skip_invalid_writes_the_rejected_rows(work: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    mixed = work["dir"] / "mixed.csv"
    mixed.write_text(
        HEADER + "m1,2025-08-18T21:00:00+02:00,parken,theft,police,1\n"
        "m2,2026-03-29 02:15,parken,theft,police,1\n"
        "m3,2025-08-18T22:00:00+02:00,atlantis,theft,police,1\n"
        "m4,2025-08-18T23:00:00+02:00,skolan,theft,police,0,5\n"
    )
    target = work["dir"] / "out" / "rej.csv"
    code, out, _ = run(
        capsys,
        "import",
        mixed,
        "--places",
        work["places"],
        "--db",
        f"sqlite:///{work['db']}",
        "--skip-invalid",
        "--rejected",
        target,
    )
    assert code == 0
    assert rows(work["db"]) == 4
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    rejected = pd.read_csv(target, encoding="utf-8-sig", dtype=str)
    assert rejected["incident_id"].tolist() == ["m2", "m3", "m4"]
    assert rejected["row"].tolist() == ["3", "4", "5"]
    assert rejected["reason"].tolist() == [
        "occurred_at: local time '2026-03-29 02:15' does not exist in Europe/Stockholm "
        "(clocks spring forward that night)",
        "place_id: unknown place 'atlantis'",
        "row: the row has 7 fields but the header has 6",
    ]
    assert out.splitlines()[-1] == "mixed.csv: 1 added, 0 already stored, 3 rejected (import 2)"


def test_skip_invalid_cannot_rescue_a_file_level_problem(
    work: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = work["dir"] / "nocol.csv"
    path.write_text("incident_id,place_id\nx,parken\n")
    code, _, err = run(capsys, "import", path, "--db", f"sqlite:///{work['db']}", "--skip-invalid")
    assert code == 2 and rows(work["db"]) == 3
    assert not (work["dir"] / "nocol.rejected.csv").exists()


def test_header_only_is_a_noop(work: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = work["dir"] / "header.csv"
    path.write_text(HEADER)
    code, out, _ = run(capsys, "import", path, "--places", work["places"], "--db", f"sqlite:///{work['db']}")
    assert code == 0 and rows(work["db"]) == 3
    assert out.splitlines()[-1] == "header.csv: no incident rows (header only): nothing to import"


def test_unknown_places_are_refused_unless_created_from_the_file(
    work: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    more = work["dir"] / "more.csv"
    more.write_text(HEADER + "n1,2025-08-19T21:00:00+02:00,skolan,,,\n" + "n2,2025-08-19T21:00:00+02:00,ny,,,\n")
    code, _, err = run(capsys, "import", more, "--db", f"sqlite:///{work['db']}")  # places known in the DB
    assert code == 2 and "unknown place 'ny'" in err
    fresh = work["dir"] / "fresh.db"
    # an empty database knows no place: the first import into a named town creates them, unless told not to
    code, _, err = run(capsys, "import", more, "--db", f"sqlite:///{fresh}")
    assert (
        code == 2
        and "unknown place 'skolan' -> no place is known yet: name the file's town" in err
        and rows(fresh) == 0
    )
    args = ("--db", f"sqlite:///{fresh}", "--municipality", "Arboga")
    code, _, err = run(capsys, "import", more, *args, "--no-create-places")
    assert code == 2 and "unknown place 'skolan'" in err and rows(fresh) == 0
    code, out, err = run(capsys, "import", more, *args)
    assert code == 0 and rows(fresh) == 2, err
    assert "2 new place(s) created from the file's place ids: ny, skolan" in out
    with sqlite3.connect(fresh) as con:
        assert con.execute("select place_id, name, municipality from places order by place_id").fetchall() == [
            ("ny", "ny", "Arboga"),
            ("skolan", "skolan", "Arboga"),
        ]
    # with places stored, only the new one is created: a stored place keeps its name
    code, _, err = run(capsys, "import", more, "--db", f"sqlite:///{work['db']}", "--create-places")
    assert code == 0, err
    with sqlite3.connect(work["db"]) as con:
        assert con.execute(
            "select name from places where place_id in ('ny', 'skolan') order by place_id"
        ).fetchall() == [
            ("ny",),
            ("Skolan",),
        ]


def test_excel_swedish_file_imports(work: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = work["dir"] / "excel.csv"
    path.write_bytes(
        "Id;Datum;Tid;Plats;Händelsetyp;Vikt\r\nm1;2025-08-22;22:30;parken;Skadegörelse;0,5\r\n"
        "m2;2025-08-23;01:15;skolan;Ordningsstörning;1\r\n".encode("cp1252")
    )
    code, _, err = run(capsys, "import", path, "--places", work["places"], "--db", f"sqlite:///{work['db']}")
    assert code == 0, err
    with sqlite3.connect(work["db"]) as con:
        got = con.execute(
            "select category, weight from incidents where incident_id like 'm%' order by incident_id"
        ).fetchall()
    assert got == [("vandalism", 0.5), ("disorder", 1.0)]


def test_validate_reports_and_exits(work: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", work["dir"] / "good.csv", "--places", work["places"])
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "good.csv: format canonical, 3 row(s), 3 valid, 0 invalid",
        "import would add 3 incident(s) (0 already stored) and store 2 new place(s): parken, skolan",
        "good.csv: valid",
    ]
    bad = work["dir"] / "bad.csv"
    bad.write_text(HEADER + "b1,2025-02-30 24:61,parken,,,\n" + "b2,2025-08-15 21:10,atlantis,,,-1\n")
    code, out, err = run(capsys, "validate", bad, "--places", work["places"], "--max-problems", "2")
    assert code == 2
    assert out.splitlines()[0] == "bad.csv: format canonical, 2 row(s), 0 valid, 2 invalid"
    assert "problems per kind" in out and "first 2 of 3 problem(s)" in out
    full = (
        "tryggplan: error: bad.csv: 3 problem(s) in 2 row(s) (1 bad_timestamp, 1 unknown_place, "
        "1 bad_weight); first: bad.csv, row 2, column 'occurred_at': occurred_at "
        "'2025-02-30 24:61' is not a timestamp: February 2025 has 28 days; hour 24 does not exist (midnight is "
        "00:00 of the next day); minute 61 does not exist -> write local time as YYYY-MM-DD HH:MM (e.g. "
        "2025-08-15 21:10) or ISO 8601 with offset (e.g. 2025-08-15T21:10:00+02:00)"
    )
    assert err.strip() == full[: len("tryggplan: error: ") + 397] + "..."  # the CLI cuts the reason at 400
    assert rows(work["db"]) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--format", "xml"],
            "tryggplan: error: unknown --format 'xml': use one of auto, canonical, excel, police, mapped",
        ),
        (["--tz", "Mars/Olympus"], "tryggplan: error: unknown time zone 'Mars/Olympus'"),
        (
            ["--columns", "when=Date"],
            "tryggplan: error: --columns names unknown canonical column(s) ['when']",
        ),
    ],
)
def test_bad_options(work: dict[str, Path], capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run(capsys, "validate", work["dir"] / "good.csv", *args)
    assert code == 2
    assert err.startswith(message)


def test_missing_file(work: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "import", work["dir"] / "nope.csv", "--db", f"sqlite:///{work['db']}")
    assert code == 2
    assert err.strip().endswith("nope.csv: no such file: check the path")


def test_validate_against_the_database_reads_only(work: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    changed = work["dir"] / "changed.csv"
    changed.write_text(
        HEADER + "k1,2025-08-15T21:10:00+02:00,skolan,vandalism,reporter,1\n"
        "k2,2025-08-16 00:20,skolan,disorder,police,1\n" + "k9,2025-08-16 01:20,nowhere,,,\n"
    )
    code, out, err = run(capsys, "validate", changed, "--db", f"sqlite:///{work['db']}")
    assert code == 2 and rows(work["db"]) == 3
    assert out.splitlines()[0] == "changed.csv: format canonical, 3 row(s), 1 valid, 2 invalid"
    assert err.strip().startswith(
        "tryggplan: error: changed.csv: 2 problem(s) in 2 row(s) (1 duplicate_id, "
        "1 unknown_place); first: changed.csv, row 2, column 'incident_id': incident k1 "
        "is already stored with different content (place_id parken -> skolan)"
    )
    missing = work["dir"] / "none.db"
    code, _, err = run(capsys, "validate", changed, "--db", f"sqlite:///{missing}")
    assert code == 2 and not missing.exists()
    assert (
        err.strip()
        == f"tryggplan: error: no database at sqlite:///{missing}: import something first, or leave out --db"
    )
