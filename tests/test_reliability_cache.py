"""The dashboard read cache (tryggplan.service.cache): same answers, never past a bad token, fresh after new
data (a new forecast run, a changed place)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.support import DEMO_TODAY, auth, finished


def test_cached_answers_equal_fresh_ones_and_still_need_a_valid_token(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    reader = auth(demo_tokens["reader"])
    urls = [
        "/api/v1/forecasts/latest/heatmap",
        "/api/v1/forecasts/latest/grid?start=2025-12-03&end=2025-12-04",
        "/api/v1/forecasts/1/grid.csv",
        "/api/v1/plans/current",
    ]
    first = [demo_client.get(u, headers=reader) for u in urls]
    again = [demo_client.get(u, headers=reader) for u in urls]
    for a, b in zip(first, again, strict=True):
        assert a.status_code == b.status_code == 200
        assert a.content == b.content
        assert a.headers["content-type"] == b.headers["content-type"]
        assert b.headers["x-content-type-options"] == "nosniff"
    for u in urls:
        assert demo_client.get(u).status_code == 401
        assert demo_client.get(u, headers=auth(demo_tokens["reader"] + "x")).status_code == 401
    admin = auth(demo_tokens["admin"])
    tokens = demo_client.get("/api/v1/tokens", headers=admin).json()
    reader_id = next(t["id"] for t in tokens if t["name"] == "test reader")
    assert demo_client.delete(f"/api/v1/tokens/{reader_id}", headers=admin).status_code == 200
    time.sleep(1.1)  # the cache re-checks a token at least every second
    for u in urls:  # revoked: the cached answer is not served
        assert demo_client.get(u, headers=reader).status_code == 401


def test_latest_follows_a_new_run_and_places_follow_edits(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    h = auth(demo_tokens["admin"])
    before = demo_client.get("/api/v1/forecasts/latest/heatmap", headers=h).json()
    assert before["run_id"] == 1
    r = demo_client.post(
        "/api/v1/forecasts", json={"model": "how_mean", "start": str(DEMO_TODAY), "days": 7}, headers=h
    )
    assert r.status_code == 202
    assert finished(demo_client, f"/api/v1/forecasts/{r.json()['id']}", h)["status"] == "done"
    time.sleep(1.1)  # what "latest" means is re-read at least every second
    after = demo_client.get("/api/v1/forecasts/latest/heatmap", headers=h).json()
    assert after["run_id"] == r.json()["id"] and after["model"] == "how_mean"

    geo = demo_client.get("/api/v1/forecasts/1/places.geojson", headers=h).json()
    first = geo["features"][0]
    pid = first["properties"]["place_id"]
    assert demo_client.put(f"/api/v1/places/{pid}", json={"name": "Nytt namn"}, headers=h).status_code == 200
    time.sleep(1.1)
    geo = demo_client.get("/api/v1/forecasts/1/places.geojson", headers=h).json()
    assert next(f for f in geo["features"] if f["properties"]["place_id"] == pid)["properties"]["name"] == "Nytt namn"
