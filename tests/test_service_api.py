"""HTTP API: roles on every route, incidents (upload, batch, listing), places, forecasts, backtests,
tokens, error mapping (422 with problems, 413, never 500)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.support import GOOD_CSV, HEADER, PLACES_CSV, auth, finished, places_frame, synthetic_incidents, upload
from tryggplan.domain import ROLES
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.incidents import count_incidents, import_incidents

FIRST = "k1,2025-08-15T21:10:00+02:00,parken,vandalism,reporter,1\n"


# --------------------------------------------------------------------------- roles, every route


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """(full path, route) of every API route, also inside included routers (any FastAPI version)."""
    out = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):  # FastAPI >= 0.120 keeps included routers nested
            out += _api_routes(route.original_router.routes, prefix + route.include_context.prefix)
    return out


LINK_ROUTES = "/api/v1/associations/"


def route_table() -> list[tuple[str, str, frozenset[str]]]:
    app = create_app(Settings(database_url="sqlite://"))
    table = []
    for path, route in _api_routes(app.routes):
        # an association's link routes are outside the bearer-token scheme: the link's secret in the
        # path is the credential (unknown or revoked: 404; tests/test_season_ledger.py)
        if not path.startswith("/api/v1") or path.startswith(LINK_ROUTES):
            continue
        roles = None
        stack = list(route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            if hasattr(dep.call, "roles"):
                roles = dep.call.roles
            stack.extend(dep.dependencies)
        assert roles is not None, f"{path} has no role dependency"
        for method in route.methods:
            table.append((method, path, roles))
    app.state.engine.dispose()
    return sorted(table)


ROUTES = route_table()


def test_route_table_is_complete() -> None:
    assert len(ROUTES) >= 30
    by_path = {(m, p): r for m, p, r in ROUTES}
    staff = frozenset(ROLES) - {"reporter"}
    assert by_path[("GET", "/api/v1/incidents")] == frozenset({"analyst", "admin", "reporter"})
    assert by_path[("POST", "/api/v1/incidents")] == frozenset({"analyst", "admin", "reporter"})
    assert by_path[("POST", "/api/v1/incidents/upload")] == frozenset({"analyst", "admin"})
    assert by_path[("GET", "/api/v1/forecasts/{run}/grid")] == staff
    assert by_path[("GET", "/api/v1/aggregates/incidents")] == staff
    assert by_path[("GET", "/api/v1/places")] == frozenset(ROLES)
    assert by_path[("GET", "/api/v1/categories")] == frozenset(ROLES)
    assert by_path[("POST", "/api/v1/session")] == frozenset(ROLES)
    assert by_path[("POST", "/api/v1/places")] == frozenset({"analyst", "admin"})
    assert by_path[("POST", "/api/v1/plans")] == frozenset({"coordinator", "admin"})
    assert by_path[("POST", "/api/v1/tokens")] == frozenset({"admin"})
    assert by_path[("POST", "/api/v1/backtests")] == frozenset({"analyst", "admin"})


def _concrete(path: str) -> str:
    # ids that exist nowhere, so no call below changes what the others see (e.g. revoking a token)
    return re.sub(r"\{[^}]+\}", "999999", path)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One app for the whole route table (creating one per route is slow)."""
    from tryggplan.storage.tokens import create_token

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('roles') / 'r.db'}"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, {role: create_token(app.state.engine, role, role)[0] for role in ROLES}
    app.state.engine.dispose()


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_needs_a_token_and_the_right_role(
    shared: tuple[TestClient, dict[str, str]], method: str, path: str, allowed: frozenset[str]
) -> None:
    client, tokens = shared
    client.cookies.clear()  # POST /api/v1/session sets a download cookie: each request here names its token itself
    url = _concrete(path)
    body = {} if method in ("POST", "PUT") else None
    assert client.request(method, url, json=body).status_code == 401
    assert client.request(method, url, json=body, headers=auth("tp_unknown")).status_code == 401
    for role in ROLES:
        status = client.request(method, url, json=body, headers=auth(tokens[role])).status_code
        if role in allowed:
            assert status not in (401, 403) and status < 500, (role, status)
        else:
            assert status == 403, (role, status)


def test_401_says_how_to_get_a_token(client: TestClient) -> None:
    r = client.get("/api/v1/incidents")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "tryggplan token create" in r.json()["detail"]


def test_403_names_the_roles_needed(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/api/v1/incidents", headers=auth(tokens["reader"]))
    assert r.status_code == 403
    assert r.json()["detail"] == "role 'reader' may not see incident rows: needs admin or analyst or reporter"


def test_revoked_token_gets_401(client: TestClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    listed = client.get("/api/v1/tokens", headers=admin).json()
    reader_id = next(t["id"] for t in listed if t["role"] == "reader")
    assert client.delete(f"/api/v1/tokens/{reader_id}", headers=admin).json()["revoked"] is True
    assert client.get("/api/v1/places", headers=auth(tokens["reader"])).status_code == 401


def test_admin_creates_a_token_that_works(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/api/v1/tokens", json={"role": "reader", "name": "wall screen"}, headers=auth(tokens["admin"]))
    assert r.status_code == 201
    secret = r.json()["token"]
    assert secret.startswith("tp_") and len(secret) == 46
    assert client.get("/api/v1/places", headers=auth(secret)).status_code == 200
    assert "token" not in client.get("/api/v1/tokens", headers=auth(tokens["admin"])).json()[0]
    bad = client.post("/api/v1/tokens", json={"role": "superuser"}, headers=auth(tokens["admin"]))
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "body.role"


# --------------------------------------------------------------------------- health, docs, errors


def test_health_docs_and_security_headers(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["database"] == "sqlite"
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    spec = client.get("/openapi.json").json()
    assert spec["components"]["schemas"]["IncidentIn"]["examples"][0]["place_id"] == "torget"


def test_cors_is_closed_by_default(client: TestClient) -> None:
    r = client.options(
        "/api/v1/places", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b'{"role": 5}', "application/json"),
        (b"", "application/json"),
    ],
)
def test_malformed_bodies_get_422(client: TestClient, tokens: dict[str, str], body: bytes, ctype: str) -> None:
    r = client.post("/api/v1/tokens", content=body, headers={**auth(tokens["admin"]), "Content-Type": ctype})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("invalid request")


def test_body_over_the_limit_gets_413(tmp_path: Any, tokens: dict[str, str]) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", max_upload_bytes=1000))
    with TestClient(app) as c:
        r = upload(c, "tp_x", "big.csv", (HEADER + FIRST * 100).encode())
        assert r.status_code == 413
        assert "TRYGGPLAN_MAX_UPLOAD_BYTES" in r.json()["detail"]
    app.state.engine.dispose()


def test_unknown_ids_get_404_and_bad_ids_422(client: TestClient, tokens: dict[str, str]) -> None:
    a = auth(tokens["admin"])
    assert client.get("/api/v1/places/nowhere", headers=a).status_code == 404
    assert client.get("/api/v1/forecasts/99", headers=a).status_code == 404
    assert client.get("/api/v1/forecasts/latest/grid", headers=a).status_code == 404
    assert client.get("/api/v1/forecasts/abc", headers=a).status_code == 422
    assert client.get("/api/v1/plans/abc", headers=a).status_code == 422
    assert client.get("/api/v1/backtests/0", headers=a).status_code == 422
    assert client.get("/api/v1/backtests/99999999999999999999999", headers=a).status_code == 422


# --------------------------------------------------------------------------- incidents


def test_upload_good_file_then_again(client: TestClient, tokens: dict[str, str]) -> None:
    r = upload(client, tokens["analyst"], "good.csv", GOOD_CSV.encode(), PLACES_CSV.encode())
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("added", "unchanged", "rejected", "places_upserted")} == {
        "added": 3,
        "unchanged": 0,
        "rejected": 0,
        "places_upserted": 2,
    }
    r = upload(client, tokens["analyst"], "good.csv", GOOD_CSV.encode())
    assert (r.json()["added"], r.json()["unchanged"]) == (0, 3)
    listing = client.get("/api/v1/incidents", headers=auth(tokens["analyst"])).json()
    assert listing["total"] == 3
    assert [i["incident_id"] for i in listing["incidents"]] == ["k1", "k2", "k3"]
    assert listing["incidents"][1]["occurred_at"] == "2025-08-15T22:20:00Z"
    history = client.get("/api/v1/imports", headers=auth(tokens["analyst"])).json()
    assert [(h["rows_added"], h["rows_unchanged"], h["source_file"]) for h in history] == [
        (0, 3, "good.csv"),
        (3, 0, "good.csv"),
    ]
    assert history[0]["actor"].endswith("test analyst")


def test_swedish_excel_export_uploads(client: TestClient, tokens: dict[str, str]) -> None:
    upload(client, tokens["analyst"], "good.csv", GOOD_CSV.encode(), PLACES_CSV.encode())
    data = (
        "Id;Datum;Tid;Plats;Händelsetyp;Vikt\r\nm1;2025-08-22;22:30;parken;Skadegörelse;0,5\r\n"
        "m2;2025-08-23;01:15;skolan;Ordningsstörning;1\r\n"
    ).encode("cp1252")
    r = upload(client, tokens["analyst"], "export.csv", data)
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 2
    rows = client.get(
        "/api/v1/incidents",
        params={"place_id": "parken", "start": "2025-08-20"},
        headers=auth(tokens["admin"]),
    ).json()["incidents"]
    assert [(i["incident_id"], i["weight"], i["category"]) for i in rows] == [("m1", 0.5, "vandalism")]


BAD = {
    "missing_column": ("incident_id,place_id,weight\nk1,parken,1\n", "missing_column"),
    "bad_timestamp": (HEADER + FIRST + "k9,2025-02-30 24:61,parken,theft,police,1\n", "bad_timestamp"),
    "dst_nonexistent": (HEADER + FIRST + "k9,2026-03-29 02:15,parken,theft,police,1\n", "nonexistent_time"),
    "dst_ambiguous": (HEADER + FIRST + "k9,2026-10-25 02:45,parken,theft,police,1\n", "ambiguous_time"),
    "future": (HEADER + FIRST + "k9,2091-06-01T23:00:00+02:00,parken,theft,police,1\n", "future"),
    "unknown_place": (
        HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,atlantis,theft,police,1\n",
        "unknown_place",
    ),
    "negative_weight": (
        HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken,theft,police,-0.5\n",
        "bad_weight",
    ),
    "nan_weight": (HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken,theft,police,NaN\n", "bad_weight"),
    "empty": ("", "empty_file"),
    "long_field": (
        HEADER + FIRST + "k9,2025-08-15T22:00:00+02:00,parken," + "x" * 150_000 + ",police,1\n",
        "long_field",
    ),
    "binary": (bytes(range(256)) * 40, "binary_file"),
    "nul_bytes": (
        (HEADER + FIRST).encode() + b"k9,2025-08-15T22:00:00+02:00,par\x00ken,theft,police,1\n",
        "nul_bytes",
    ),
    "dup_in_file": (
        HEADER + FIRST + "k1,2025-08-16T01:00:00+02:00,skolan,assault,police,1\n",
        "duplicate_id",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_upload_gets_422_for_its_own_reason_and_stores_nothing(
    client: TestClient, tokens: dict[str, str], name: str
) -> None:
    upload(client, tokens["analyst"], "good.csv", GOOD_CSV.encode(), PLACES_CSV.encode())
    data, kind = BAD[name]
    body = data if isinstance(data, bytes) else data.encode()
    engine = client.app.state.engine  # type: ignore[attr-defined]
    before = count_incidents(engine)
    r = upload(client, tokens["analyst"], f"{name}.csv", body)
    assert r.status_code == 422, r.text
    kinds = {p["kind"] for p in r.json()["problems"]}
    assert kind in kinds
    assert all(p["fix"] for p in r.json()["problems"])
    assert count_incidents(engine) == before


def test_conflicting_reupload_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    upload(client, tokens["analyst"], "good.csv", GOOD_CSV.encode(), PLACES_CSV.encode())
    changed = HEADER + "k1,2025-08-16T01:00:00+02:00,skolan,assault,police,1\n"
    r = upload(client, tokens["analyst"], "changed.csv", changed.encode())
    assert r.status_code == 422
    assert "already stored with different content" in r.json()["problems"][0]["message"]


def test_skip_invalid_imports_the_rest(client: TestClient, tokens: dict[str, str]) -> None:
    upload(client, tokens["analyst"], "good.csv", GOOD_CSV.encode(), PLACES_CSV.encode())
    data = (
        HEADER
        + "k7,2025-08-17T21:00:00+02:00,parken,theft,police,1\n"
        + "k8,2025-08-17T22:00:00+02:00,atlantis,theft,police,1\n"
    )
    r = upload(client, tokens["analyst"], "mixed.csv", data.encode(), skip_invalid="true")
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["added"], out["rejected"]) == (1, 1)
    assert [(p["row"], p["kind"]) for p in out["problems"]] == [(3, "unknown_place")]


def test_skip_invalid_does_not_rescue_an_unreadable_file(client: TestClient, tokens: dict[str, str]) -> None:
    r = upload(client, tokens["analyst"], "empty.csv", b"", skip_invalid="true")
    assert r.status_code == 422


def test_header_only_file_imports_nothing(client: TestClient, tokens: dict[str, str]) -> None:
    r = upload(client, tokens["analyst"], "h.csv", HEADER.encode())
    assert r.status_code == 201 and r.json()["added"] == 0


def test_json_batch(client: TestClient, tokens: dict[str, str]) -> None:
    body = {
        "places": [{"place_id": "torget", "name": "Torget", "municipality": "Arboga", "lat": 59.39, "lon": 15.84}],
        "incidents": [
            {"incident_id": "j1", "occurred_at": "2025-08-15 21:10", "place_id": "torget", "weight": "0,5"},
            {"incident_id": "j2", "occurred_at": "2025-08-15T22:10:00+02:00", "place_id": "torget"},
        ],
    }
    r = client.post("/api/v1/incidents", json=body, headers=auth(tokens["analyst"]))
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 2
    rows = client.get("/api/v1/incidents", headers=auth(tokens["analyst"])).json()["incidents"]
    assert [(i["occurred_at"], i["weight"], i["source"]) for i in rows] == [
        ("2025-08-15T19:10:00Z", 0.5, "reporter"),
        ("2025-08-15T20:10:00Z", 1.0, "reporter"),
    ]
    again = client.post("/api/v1/incidents", json=body, headers=auth(tokens["analyst"]))
    assert again.json()["unchanged"] == 2


@pytest.mark.parametrize(
    ("incident", "kind"),
    [
        ({"incident_id": "j1", "occurred_at": "2026-03-29 02:30", "place_id": "parken"}, "nonexistent_time"),
        ({"incident_id": "j1", "occurred_at": "yesterday", "place_id": "parken"}, "bad_timestamp"),
        ({"incident_id": "j1", "occurred_at": "2025-08-15 21:10", "place_id": "nowhere"}, "unknown_place"),
        (
            {"incident_id": "j1", "occurred_at": "2025-08-15 21:10", "place_id": "parken", "weight": -2},
            "bad_weight",
        ),
        ({"incident_id": "", "occurred_at": "2025-08-15 21:10", "place_id": "parken"}, "empty_id"),
    ],
)
def test_json_batch_bad_rows(client: TestClient, tokens: dict[str, str], incident: dict[str, Any], kind: str) -> None:
    import_incidents(client.app.state.engine, synthetic_incidents().iloc[:0], places_frame())  # type: ignore[attr-defined]
    r = client.post("/api/v1/incidents", json={"incidents": [incident]}, headers=auth(tokens["analyst"]))
    assert r.status_code == 422
    assert r.json()["problems"][0]["kind"] == kind
    assert r.json()["problems"][0]["row"] == 1


def test_aggregates_for_readers(client: TestClient, tokens: dict[str, str]) -> None:
    upload(client, tokens["analyst"], "good.csv", GOOD_CSV.encode(), PLACES_CSV.encode())
    r = client.get("/api/v1/aggregates/incidents", params={"by": "day"}, headers=auth(tokens["reader"]))
    assert r.status_code == 200
    assert [(x["place_id"], x["period"], x["count"], x["weighted"]) for x in r.json()["rows"]] == [
        ("parken", "2025-08-15", 1, 1.0),
        ("parken", "2025-08-16", 1, 2.0),
        ("skolan", "2025-08-16", 1, 1.0),
    ]
    assert "incident_id" not in r.text
    bad = client.get("/api/v1/aggregates/incidents", params={"start": "15/8"}, headers=auth(tokens["reader"]))
    assert bad.status_code == 422 and "write e.g. 2026-12-07" in bad.json()["detail"]
    for start, message in (
        ("2026-03-29T02:30", "does not exist or is ambiguous"),
        ("2026-10-25T02:30", "does not exist or is ambiguous"),
        ("99999-01-01T00:00", "is not a date or time"),
    ):
        r = client.get("/api/v1/aggregates/incidents", params={"start": start}, headers=auth(tokens["reader"]))
        assert r.status_code == 422 and message in r.json()["detail"], r.text


# --------------------------------------------------------------------------- places


def test_places_crud(client: TestClient, tokens: dict[str, str]) -> None:
    a = auth(tokens["analyst"])
    place = {"place_id": "torget", "name": "Torget", "municipality": "Arboga", "lat": 59.39, "lon": 15.84}
    assert client.post("/api/v1/places", json=place, headers=a).status_code == 201
    assert client.post("/api/v1/places", json=place, headers=a).status_code == 422
    assert client.post("/api/v1/places", json={**place, "place_id": "x", "lat": 123}, headers=a).status_code == 422
    r = client.put("/api/v1/places/torget", json={"kind": "square"}, headers=a)
    assert r.json() == {**place, "kind": "square", "area": None}
    assert (
        client.get("/api/v1/places", params={"municipality": "Arboga"}, headers=auth(tokens["reader"])).json()[0][
            "kind"
        ]
        == "square"
    )
    client.post(
        "/api/v1/incidents",
        json={"incidents": [{"incident_id": "t1", "occurred_at": "2025-08-15 21:10", "place_id": "torget"}]},
        headers=a,
    )
    r = client.delete("/api/v1/places/torget", headers=a)
    assert r.status_code == 422 and "1 incident(s)" in r.json()["detail"]
    client.post("/api/v1/places", json={**place, "place_id": "empty"}, headers=a)
    assert client.delete("/api/v1/places/empty", headers=a).status_code == 204
    assert client.get("/api/v1/places/empty", headers=a).status_code == 404


# --------------------------------------------------------------------------- forecasts


@pytest.fixture
def forecast(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    import_incidents(client.app.state.engine, synthetic_incidents(), places_frame())  # type: ignore[attr-defined]
    r = client.post(
        "/api/v1/forecasts",
        json={"model": "how_mean", "start": "2025-09-01", "days": 14},
        headers=auth(tokens["analyst"]),
    )
    assert r.status_code == 202, r.text
    run = finished(client, f"/api/v1/forecasts/{r.json()['id']}", auth(tokens["reader"]))
    assert run["status"] == "done", run
    return run


def test_forecast_run_and_json_grid(client: TestClient, tokens: dict[str, str], forecast: dict[str, Any]) -> None:
    assert forecast["model"] == "how_mean" and forecast["trained_until"] == "2025-08-31T22:00:00Z"
    r = client.get("/api/v1/forecasts/latest/grid", headers=auth(tokens["reader"]))
    doc = r.json()
    assert {"model", "model_version", "trained_until", "generated_at"} <= set(doc)
    assert len(doc["rows"]) == 2 * 14 * 24
    assert doc["rows"][0]["slot_start"] == "2025-09-01T00:00:00+02:00"
    one = client.get(
        "/api/v1/forecasts/latest/grid",
        params={"place_id": "skolan", "start": "2025-09-05", "end": "2025-09-06"},
        headers=auth(tokens["reader"]),
    ).json()["rows"]
    assert len(one) == 24 and {x["place_id"] for x in one} == {"skolan"}
    friday_night = max(one, key=lambda x: x["expected"])
    assert friday_night["slot_start"][11:13] in ("20", "21", "22", "23")


def test_forecast_csv_geojson_heatmap_daily(
    client: TestClient, tokens: dict[str, str], forecast: dict[str, Any]
) -> None:
    h = auth(tokens["reader"])
    text = client.get(f"/api/v1/forecasts/{forecast['id']}/grid.csv", params={"municipality": "Arboga"}, headers=h).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 * 14 * 24
    assert list(rows[0]) == [
        "place_id",
        "slot_start",
        "expected",
        "p_any",
        "lo_80",
        "hi_80",
        "nb_alpha",
        "model",
        "model_version",
        "trained_until",
        "generated_at",
        "risk_level",
    ]
    assert rows[0]["model"] == "how_mean" and rows[0]["trained_until"] == "2025-09-01T00:00:00+02:00"
    geo = client.get("/api/v1/forecasts/latest/places.geojson", headers=h)
    assert geo.headers["content-type"] == "application/geo+json"
    doc = geo.json()
    assert doc["type"] == "FeatureCollection" and doc["model"] == "how_mean"
    parken = next(f for f in doc["features"] if f["id"] == "parken")
    assert parken["geometry"] == {"type": "Point", "coordinates": [15.8386, 59.3936]}
    assert (
        parken["properties"]["expected_total"]
        > next(f for f in doc["features"] if f["id"] == "skolan")["properties"]["expected_total"]
    )
    heat = client.get("/api/v1/forecasts/latest/heatmap", headers=h).json()
    assert len(heat["cells"]) == 7 * 24 and heat["places"] == ["parken", "skolan"]
    top = max(heat["cells"], key=lambda c: c["expected"])
    assert top["weekday"] in (4, 5) and 20 <= top["hour"] <= 23
    daily = client.get("/api/v1/forecasts/latest/daily", headers=h).json()
    assert len(daily["rows"]) == 2 * 14
    total = sum(r["expected"] for r in daily["rows"])
    assert total == pytest.approx(sum(float(r["expected"]) for r in rows), rel=1e-9)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "crystal_ball"}, 422),
        ({"days": 0}, 422),
        ({"days": 1000}, 422),
        ({"start": "2025-13-01"}, 422),
        ({"municipality": "Atlantis"}, 404),
    ],
)
def test_forecast_bad_requests(client: TestClient, tokens: dict[str, str], body: dict[str, Any], status: int) -> None:
    r = client.post("/api/v1/forecasts", json=body, headers=auth(tokens["analyst"]))
    assert r.status_code == status
    assert r.json()["detail"]


def test_forecast_without_incidents_fails_with_a_reason(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/forecasts",
        json={"model": "how_mean", "start": "2025-09-01"},
        headers=auth(tokens["coordinator"]),
    )
    run = finished(client, f"/api/v1/forecasts/{r.json()['id']}", auth(tokens["reader"]))
    assert run["status"] == "failed"
    assert run["error"] == (
        "no incidents before 2025-09-01 to learn from: forecast a later period or import earlier incidents"
    )
    grid = client.get(f"/api/v1/forecasts/{run['id']}/grid", headers=auth(tokens["reader"]))
    assert grid.status_code == 422 and "is failed" in grid.json()["detail"]


# --------------------------------------------------------------------------- backtests


def test_backtest_job(client: TestClient, tokens: dict[str, str]) -> None:
    import_incidents(client.app.state.engine, synthetic_incidents(days=70), places_frame())  # type: ignore[attr-defined]
    h = auth(tokens["analyst"])
    r = client.post(
        "/api/v1/backtests",
        json={"models": ["how_mean", "last_14_days"], "origins": 2, "horizon_days": 7},
        headers=h,
    )
    assert r.status_code == 202, r.text
    job = finished(client, f"/api/v1/backtests/{r.json()['id']}", h)
    assert job["status"] == "done", job
    assert set(job["summary"]["models"]) == {"how_mean", "last_14_days"}
    assert "poisson_deviance" in job["summary"]["models"]["how_mean"]
    metrics = client.get(f"/api/v1/backtests/{job['id']}/metrics.csv", headers=h)
    assert metrics.status_code == 200 and "model" in metrics.text.splitlines()[0].split(",")
    report = client.get(f"/api/v1/backtests/{job['id']}/report.md", headers=h)
    assert report.text.startswith("# Backtest report")
    bad = client.post("/api/v1/backtests", json={"models": ["nope"]}, headers=h)
    assert bad.status_code == 422 and "unknown model 'nope'" in bad.json()["detail"]


def test_high_risk_windows(client: TestClient, tokens: dict[str, str], forecast: dict[str, Any]) -> None:
    h = auth(tokens["reader"])
    doc = client.get("/api/v1/forecasts/latest/windows", params={"place_id": "parken"}, headers=h).json()
    assert doc["model"] == "how_mean" and doc["windows"]
    top = doc["windows"][0]
    assert top["place_id"] == "parken" and top["name"] == "Parken"
    label = r"Parken, (Fri|Sat) \d\d:00–\d\d:00, \d+\.\d expected \(80% range \d+(–\d+)?, at least one: (>99|\d+)%\)"
    assert re.fullmatch(label, top["label"]), top["label"]
    assert top["expected"] == max(w["expected"] for w in doc["windows"])
    wider = client.get("/api/v1/forecasts/latest/windows", params={"level": ["high", "elevated"]}, headers=h).json()
    assert sum(w["hours"] for w in wider["windows"]) > sum(w["hours"] for w in doc["windows"])
    bad = client.get("/api/v1/forecasts/latest/windows", params={"level": "extreme"}, headers=h)
    assert bad.status_code == 422


# --------------------------------------------------------------------------- success and bad input on the rest


@pytest.mark.parametrize(
    ("role", "path", "key"),
    [
        ("reader", "/api/v1/models", "default"),
        ("reader", "/api/v1/forecasts", None),
        ("reader", "/api/v1/resources", None),
        ("reader", "/api/v1/plans", None),
        ("reader", "/api/v1/places", None),
        ("analyst", "/api/v1/imports", None),
        ("analyst", "/api/v1/backtests", None),
        ("admin", "/api/v1/tokens", None),
    ],
)
def test_listings_answer_for_their_roles(
    client: TestClient, tokens: dict[str, str], role: str, path: str, key: str | None
) -> None:
    r = client.get(path, headers=auth(tokens[role]))
    assert r.status_code == 200
    body = r.json()
    assert key in body if key else isinstance(body, list)


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/api/v1/imports", {"limit": 0}),
        ("GET", "/api/v1/incidents", {"limit": 100000}),
        ("GET", "/api/v1/incidents", {"offset": -1}),
        ("GET", "/api/v1/forecasts", {"limit": "many"}),
        ("GET", "/api/v1/plans", {"week": "week 49"}),
        ("GET", "/api/v1/resources/0", {}),
        ("GET", "/api/v1/backtests/abc", {}),
        ("DELETE", "/api/v1/tokens/0", {}),
        ("GET", "/api/v1/aggregates/incidents", {"by": "decade"}),
        ("POST", "/api/v1/incidents/upload", {}),  # no file
        ("GET", "/api/v1/forecasts/latest/grid", {"start": "tomorrow"}),
    ],
)
def test_bad_parameters_get_422_with_a_message(
    client: TestClient, tokens: dict[str, str], method: str, path: str, params: dict[str, Any]
) -> None:
    import_incidents(client.app.state.engine, synthetic_incidents(), places_frame())  # type: ignore[attr-defined]
    r = client.post(
        "/api/v1/forecasts", json={"model": "how_mean", "start": "2025-09-01", "days": 1}, headers=auth(tokens["admin"])
    )
    finished(client, f"/api/v1/forecasts/{r.json()['id']}", auth(tokens["admin"]))
    r = client.request(method, path, params=params, headers=auth(tokens["admin"]))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_resources_read_and_replace(client: TestClient, tokens: dict[str, str]) -> None:
    from tryggplan.allocation import demo_resources

    c = auth(tokens["coordinator"])
    spec = demo_resources(places_frame())
    made = client.post("/api/v1/resources", json={"name": "v1", "spec": spec}, headers=c).json()
    assert client.get(f"/api/v1/resources/{made['id']}", headers=auth(tokens["reader"])).json()["name"] == "v1"
    changed = client.put(
        f"/api/v1/resources/{made['id']}", json={"name": "v2", "spec": {**spec, "cost_per_walk_sek": 900}}, headers=c
    ).json()
    assert (changed["name"], changed["spec"]["cost_per_walk_sek"]) == ("v2", 900.0)
    bad = client.put(f"/api/v1/resources/{made['id']}", json={"spec": {**spec, "cost_per_walk_sek": -1}}, headers=c)
    assert bad.status_code == 422 and "cost_per_walk_sek" in bad.json()["detail"]


def test_parquet_and_gzip_uploads(client: TestClient, tokens: dict[str, str]) -> None:
    import gzip

    import pandas as pd

    upload(client, tokens["analyst"], "good.csv", GOOD_CSV.encode(), PLACES_CSV.encode())
    frame = pd.DataFrame(
        {
            "incident_id": ["p1", "p2"],
            "occurred_at": ["2025-08-20T21:00:00+02:00", "2025-08-20 22:30"],
            "place_id": ["parken", "skolan"],
            "category": ["theft", "theft"],
            "source": ["police", "police"],
            "weight": ["1", "0,5"],
        }
    )
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    r = upload(client, tokens["analyst"], "export.parquet", buf.getvalue())
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 2
    data = gzip.compress((HEADER + "g1,2025-08-21T21:00:00+02:00,parken,theft,police,1\n").encode())
    r = upload(client, tokens["analyst"], "export.csv.gz", data)
    assert r.status_code == 201 and r.json()["added"] == 1, r.text
