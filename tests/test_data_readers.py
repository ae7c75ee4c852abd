"""Readers: canonical CSV/Parquet, Swedish Excel CSVs, the police feed, mapped files, places."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tryggplan.domain import INCIDENT_COLUMNS, PLACE_COLUMNS, InvalidInputError
from tryggplan.readers import (
    SWEDISH_CATEGORIES,
    detect_format,
    load_incidents,
    parse_columns,
    places_from_incidents,
    read_incidents,
    read_places,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CANONICAL = (
    "incident_id,occurred_at,place_id,category,source,weight\n"
    "k1,2025-08-15T21:10:00+02:00,parken,vandalism,reporter,1\n"
    "k2,2025-08-16 00:20,skolan,,,\n"
    "k3,2025-08-16T23:05:00Z,parken,Assault,police,2.5\n"
)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_canonical_csv(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(CANONICAL, encoding="utf-8")
    frame = read_incidents(path)
    assert list(frame.columns) == list(INCIDENT_COLUMNS)
    assert frame["incident_id"].tolist() == ["k1", "k2", "k3"]
    assert frame["occurred_at"].tolist() == [
        utc("2025-08-15 19:10"),
        utc("2025-08-15 22:20"),
        utc("2025-08-16 23:05"),
    ]
    assert str(frame["occurred_at"].dt.tz) == "UTC"
    assert frame["category"].tolist() == ["vandalism", "unknown", "assault"]
    assert frame["source"].tolist() == ["reporter", "reporter", "police"]
    assert frame["weight"].tolist() == [1.0, 1.0, 2.5]
    assert frame["weight"].dtype == np.float64


def test_canonical_semicolon_gzip_and_source_default(tmp_path: Path) -> None:
    path = tmp_path / "in.csv.gz"
    path.write_bytes(gzip.compress(CANONICAL.replace(",", ";").encode("utf-8")))
    result = load_incidents(path, source="guard")
    assert result.ok and result.format == "canonical" and result.separator == ";"
    assert result.incidents["source"].tolist() == ["reporter", "guard", "police"]


def test_excel_swedish_cp1252_date_and_time_columns(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "Id;Datum;Tid;Plats;Händelsetyp;Källa;Vikt\r\n"
        "m1;2025-08-22;22:30;parken;Skadegörelse;Väktare;0,5\r\n"
        "m2;2025-08-23;01.15;skolan;Ordningsstörning;;1\r\n"
        ";;;;;;\r\n"
        "m3;2025-12-24;19:00;torget;Fyrverkeri;;\r\n".encode("cp1252")
    )
    result = load_incidents(path)
    assert result.ok, result.problems
    assert (result.format, result.encoding, result.separator) == ("excel", "cp1252", ";")
    frame = result.incidents
    assert frame["incident_id"].tolist() == ["m1", "m2", "m3"]
    assert frame["occurred_at"].tolist() == [
        utc("2025-08-22 20:30"),
        utc("2025-08-22 23:15"),
        utc("2025-12-24 18:00"),
    ]
    assert frame["category"].tolist() == ["vandalism", "disorder", "fyrverkeri"]  # unknown label kept
    assert frame["source"].tolist() == ["Väktare", "reporter", "reporter"]
    assert frame["weight"].tolist() == [0.5, 1.0, 1.0]
    assert result.valid["row"].tolist() == [2, 3, 5]  # the blank ';;;' row still counts as a row


def test_excel_utf8_bom_with_tidpunkt_and_kategori(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffHändelse-id;Tidpunkt;Platsid;Kategori;Vikt\n"
        "a;2025-08-22 22:30;parken;Misshandel;1,25\n"
        "b;2025-08-22 23:30;parken;Narkotikabrott;2\n".encode("utf-8")
    )
    result = load_incidents(path)
    assert result.ok and result.encoding == "utf-8-sig"
    assert result.incidents["category"].tolist() == ["assault", "drugs"]
    assert result.incidents["weight"].tolist() == [1.25, 2.0]


def test_utf16_excel_unicode_text(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes("Id\tTidpunkt\tPlats\nu1\t2025-08-22 22:30\tparken\n".encode("utf-16"))
    assert read_incidents(path)["place_id"].tolist() == ["parken"]


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("Skadegörelse", "vandalism"),
        ("Ordningsstörning", "disorder"),
        ("Misshandel", "assault"),
        ("Stöld", "theft"),
        ("Narkotikabrott", "drugs"),
        ("stöld", "theft"),
    ],
)
def test_swedish_category_table(label: str, category: str) -> None:
    assert SWEDISH_CATEGORIES[label.lower()] == category


def test_parquet_with_tz_aware_and_naive_times(tmp_path: Path) -> None:
    aware = pd.DataFrame(
        {
            "incident_id": ["p1", "p2"],
            "occurred_at": pd.to_datetime(["2025-08-15T21:10:00+02:00", "2025-08-16T01:00:00+02:00"], utc=True),
            "place_id": ["parken", "skolan"],
            "category": ["theft", None],
            "source": ["police", "police"],
            "weight": [1.0, None],
        }
    )
    aware.to_parquet(tmp_path / "a.parquet")
    frame = read_incidents(tmp_path / "a.parquet")
    assert frame["occurred_at"].tolist() == [utc("2025-08-15 19:10"), utc("2025-08-15 23:00")]
    assert frame["category"].tolist() == ["theft", "unknown"]
    assert frame["weight"].tolist() == [1.0, 1.0]  # a null weight means the default
    naive = aware.assign(occurred_at=pd.to_datetime(["2025-08-15 21:10", "2025-08-16 01:00"]))
    naive.to_parquet(tmp_path / "n.parquet")
    assert read_incidents(tmp_path / "n.parquet")["occurred_at"].tolist() == [
        utc("2025-08-15 19:10"),
        utc("2025-08-15 23:00"),
    ]


def test_parquet_nan_weight_is_a_problem(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "incident_id": ["p1"],
            "occurred_at": ["2025-08-15 21:10"],
            "place_id": ["x"],
            "weight": pa.array([float("nan")], from_pandas=False),
        }
    )  # a real NaN, not a null
    pq.write_table(table, tmp_path / "w.parquet")
    result = load_incidents(tmp_path / "w.parquet")
    assert [(p.row, p.column, p.message) for p in result.problems] == [(2, "weight", "weight is NaN: 'nan'")]


def test_mapped_generates_stable_distinct_ids(tmp_path: Path) -> None:
    path = tmp_path / "van.csv"
    path.write_text(
        "Date,Neighbourhood,Type\n"
        "2018-01-01T00:00,West End,Mischief\n"
        "2018-01-01T00:00,West End,Mischief\n"
        "2018-07-01 12:00,Strathcona,Theft from Vehicle\n"
    )
    first = read_incidents(
        path, columns="occurred_at=Date,place_id=Neighbourhood,category=Type", tz="America/Vancouver"
    )
    again = read_incidents(
        path,
        columns={"occurred_at": "Date", "place_id": "Neighbourhood", "category": "Type"},
        tz="America/Vancouver",
    )
    ids = first["incident_id"].tolist()
    assert len(set(ids)) == 3 and ids == again["incident_id"].tolist()
    assert ids[0].startswith("gen-") and ids[0].endswith("-1") and ids[1].endswith("-2")
    assert ids[0][:-2] == ids[1][:-2]
    assert first["occurred_at"].tolist() == [
        utc("2018-01-01 08:00"),
        utc("2018-01-01 08:00"),
        utc("2018-07-01 19:00"),
    ]
    assert first["category"].tolist() == ["mischief", "mischief", "theft from vehicle"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("occurred_at", "--columns entry 'occurred_at' is not CANONICAL=HEADER"),
        ("when=Date", "--columns names unknown canonical column(s) ['when']"),
    ],
)
def test_parse_columns_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_columns(spec)
    assert str(err.value).startswith(message)


def test_mapped_names_a_missing_header(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("Date,Area\n2018-01-01T00:00,West End\n")
    result = load_incidents(path, columns="occurred_at=Date,place_id=Neighbourhood", format="mapped")
    assert [(p.row, p.column, p.kind) for p in result.problems] == [
        (1, "Neighbourhood", "missing_column"),
        (1, "place_id", "missing_column"),
    ]
    assert (
        result.problems[0].message == "column 'Neighbourhood' named in --columns is not in the file (found: Date, Area)"
    )


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        (["incident_id", "occurred_at", "place_id"], "canonical"),
        (["Id", "Datum", "Tid", "Plats"], "excel"),
        (["id", "published_at", "occurred_local", "type", "location_name", "title", "lat", "lon"], "police"),
    ],
)
def test_detect_format(header: list[str], fmt: str) -> None:
    assert detect_format(header) == fmt


POLICE = (
    "id,published_at,occurred_local,type,location_name,title,lat,lon,summary\n"
    '1,2025-08-22T18:10:00+02:00,2025-08-22T17:59,Misshandel,Arboga,"22 augusti 17.59, Misshandel, Arboga",'
    "59.39,15.84,x\n"
    "2,2025-08-23T06:00:00+02:00,2025-08-23T06:00,Sammanfattning natt,Västmanlands län,"
    '"23 augusti 06.00, Sammanfattning natt, Västmanlands län",59.6,16.5,digest\n'
    "3,2025-08-23T10:00:00+02:00,2025-08-23T09:40,Stöld,Västmanlands län,"
    '"23 augusti 09.40, Stöld, Arboga",59.6,16.5,mapped to Arboga\n'
    "4,2025-08-23T11:00:00+02:00,2025-08-23T10:40,Stöld,Västmanlands län,"
    '"23 augusti 10.40, Stöld, Västmanlands län",59.6,16.5,county only\n'
    "5,2025-08-23T12:00:00+02:00,2025-08-23T11:40,Trafikolycka,Köping,"
    '"23 augusti 11.40, Trafikolycka, Köping",59.51,15.99,traffic\n'
    "6,2025-10-26T03:10:00+01:00,2025-10-26T02:30,Skadegörelse,Köping,"
    '"26 oktober 02.30, Skadegörelse, Köping",59.51,15.99,ambiguous hour\n'
    "7,2025-10-26T02:40:00+02:00,2025-10-26T02:30,Rån,Köping,"
    '"26 oktober 02.30, Rån, Köping",59.51,15.99,ambiguous hour published early\n'
    '8,2026-01-02T09:00:00+01:00,,Stöld,Arboga,"31 december 23.10, Stöld, Arboga",59.39,15.84,'
    "time from title\n"
)


def test_police_feed(tmp_path: Path) -> None:
    path = tmp_path / "police.csv"
    path.write_text(POLICE, encoding="utf-8")
    result = load_incidents(path)
    assert result.ok, result.problems
    assert result.format == "police"
    assert result.notes == {
        "rows_read": 8,
        "digests_dropped": 1,
        "noncrime_dropped": 1,
        "county_rows_mapped": 1,
        "county_rows_dropped": 1,
        "types_unmapped": 0,
        "ambiguous_times_resolved": 2,
        "incidents": 5,
    }
    frame = result.incidents
    assert frame["incident_id"].tolist() == ["polisen-1", "polisen-3", "polisen-6", "polisen-7", "polisen-8"]
    assert frame["place_id"].tolist() == ["Arboga", "Arboga", "Köping", "Köping", "Arboga"]
    assert frame["category"].tolist() == ["assault", "theft", "vandalism", "robbery", "theft"]
    assert frame["source"].unique().tolist() == ["police"]
    assert frame["occurred_at"].tolist() == [
        utc("2025-08-22 15:59"),
        utc("2025-08-23 07:40"),
        utc("2025-10-26 01:30"),  # published 03:10+01:00, so the second 02:30 (+01:00)
        utc("2025-10-26 00:30"),  # published 02:40+02:00, so the first 02:30 (+02:00)
        utc("2025-12-31 22:10"),  # year from publication (January) minus one
    ]
    places = result.places
    assert places is not None
    assert places["place_id"].tolist() == ["Arboga", "Köping"]
    assert places[["lat", "lon"]].to_numpy().tolist() == [[59.39, 15.84], [59.51, 15.99]]
    assert places["kind"].unique().tolist() == ["municipality"]


def test_police_feed_can_keep_noncrime(tmp_path: Path) -> None:
    path = tmp_path / "police.csv"
    path.write_text(POLICE, encoding="utf-8")
    result = load_incidents(path, include_noncrime=True)
    assert "noncrime_dropped" not in result.notes
    kept = result.incidents.set_index("incident_id")
    assert kept.loc["polisen-5", "category"] == "traffic_accident"


def test_places_swedish_headers_and_decimal_comma(tmp_path: Path) -> None:
    path = tmp_path / "platser.csv"
    path.write_bytes(
        "Platsid;Namn;Kommun;Latitud;Longitud;Typ;Område\r\n"
        "parken;Parken;Arboga;59,3936;15,8386;park;Centrum\r\n"
        "torget;;Arboga;;;;\r\n".encode("cp1252")
    )
    places = read_places(path)
    assert list(places.columns) == list(PLACE_COLUMNS)
    assert places["name"].tolist() == ["Parken", "torget"]
    assert places.loc[0, "lat"] == 59.3936 and places.loc[0, "lon"] == 15.8386
    assert np.isnan(places.loc[1, "lat"])
    assert places["area"].tolist() == ["Centrum", ""]


def test_places_problems(tmp_path: Path) -> None:
    path = tmp_path / "places.csv"
    path.write_text("place_id,lat,lon\nparken,95,15.8\nparken,59.4,east\n,59.4,15.8\n")
    with pytest.raises(InvalidInputError) as err:
        read_places(path)
    got = [(p.row, p.column, p.message) for p in err.value.problems]
    assert got == [
        (4, "place_id", "place_id is empty"),
        (3, "place_id", "place_id 'parken' appears twice"),
        (2, "lat", "lat '95' is not a number in [-90, 90]"),
        (3, "lon", "lon 'east' is not a number in [-180, 180]"),
    ]


def test_places_from_incidents() -> None:
    frame = pd.DataFrame({"place_id": ["b", "a", "b"]})
    places = places_from_incidents(frame)
    assert list(places.columns) == list(PLACE_COLUMNS)
    assert places["place_id"].tolist() == ["a", "b"]


@pytest.mark.skipif(
    not (SHARED / "se_police_events_2022_2025.csv.gz").exists(),
    reason="../shared/data/se_police_events_2022_2025.csv.gz is not present",
)
def test_police_reader_on_the_real_file() -> None:
    result = load_incidents(SHARED / "se_police_events_2022_2025.csv.gz")
    assert result.ok
    assert result.notes == {
        "rows_read": 70289,
        "digests_dropped": 11796,
        "noncrime_dropped": 28250,
        "county_rows_mapped": 1,
        "county_rows_dropped": 584,
        "types_unmapped": 146,
        "ambiguous_times_resolved": 4,
        "incidents": 29659,
    }
    assert len(result.places) == 290
    arboga = result.incidents[result.incidents["place_id"] == "Arboga"]
    assert len(arboga) == 46


@pytest.mark.skipif(
    not (SHARED / "vancouver_2018.csv.gz").exists(),
    reason="../shared/data/vancouver_2018.csv.gz is not present",
)
def test_vancouver_loads_with_a_mapping() -> None:
    result = load_incidents(
        SHARED / "vancouver_2018.csv.gz",
        columns="occurred_at=occurred_at,place_id=place",
        tz="America/Vancouver",
    )
    assert result.rows == 44252
    assert len(result.valid) == 44246
    kinds = sorted((p.kind, p.value) for p in result.problems)
    assert (
        kinds
        == [("ambiguous_time", "2018-11-04T01:30")] * 3
        + [("ambiguous_time", "2018-11-04T01:52")]
        + [("empty_place", None)] * 2
    )
    assert result.incidents["incident_id"].is_unique
    assert result.incidents["place_id"].nunique() == 24


def test_auto_accepts_swedish_headers_next_to_canonical_ones(tmp_path: Path) -> None:
    path = tmp_path / "mix.csv"
    path.write_text('incident_id,occurred_at,place_id,Kategori,Vikt\na,2025-08-15 21:00,p,Misshandel,"0,5"\n')
    auto = read_incidents(path)
    assert (auto.loc[0, "category"], auto.loc[0, "weight"]) == ("assault", 0.5)
    strict = read_incidents(path, format="canonical")  # only canonical names: the Swedish ones are ignored
    assert (strict.loc[0, "category"], strict.loc[0, "weight"]) == ("unknown", 1.0)
