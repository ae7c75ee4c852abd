"""Resources and plans over HTTP: validated specs, weekly and season plans from a stored forecast,
ICS/CSV downloads, recording walks and re-planning after a cancellation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import auth, finished, places_frame, set_clock, synthetic_incidents
from tryggplan.storage.incidents import import_incidents

WEEK = "2025-W36"  # Monday 2025-09-01, the first day of the forecast below


def demo_spec() -> dict[str, Any]:
    from tryggplan.allocation import demo_resources

    return demo_resources(places_frame())


@pytest.fixture
def planned(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    import_incidents(client.app.state.engine, synthetic_incidents(), places_frame())  # type: ignore[attr-defined]
    run = client.post(
        "/api/v1/forecasts",
        json={"model": "how_mean", "start": "2025-09-01", "days": 14},
        headers=auth(tokens["analyst"]),
    )
    assert run.status_code == 202
    assert finished(client, f"/api/v1/forecasts/{run.json()['id']}", auth(tokens["analyst"]))["status"] == "done"
    c = auth(tokens["coordinator"])
    res = client.post("/api/v1/resources", json={"name": "test town", "spec": demo_spec()}, headers=c)
    assert res.status_code == 201, res.text
    plan = client.post("/api/v1/plans", json={"week": WEEK}, headers=c)
    assert plan.status_code == 201, plan.text
    return plan.json()


def test_plan_document(planned: dict[str, Any]) -> None:
    plan = planned["plan"]
    assert planned["week"] == WEEK and planned["status"] == "optimal" and planned["parent_id"] is None
    for key in (
        "objective",
        "risk_covered_share",
        "cost_sek",
        "shifts",
        "baselines",
        "marginal_value",
        "solver",
    ):
        assert key in plan
    assert plan["objective"] >= max(b["objective"] for b in plan["baselines"].values()) - 1e-9
    assert 0 < plan["cost_sek"] <= demo_spec()["weekly_budget_sek"]
    walks = [s for s in plan["shifts"] if s["kind"] == "night_walk"]
    assert walks and all(s["start"].startswith("2025-09") for s in walks)


def test_plan_reads_and_downloads(client: TestClient, tokens: dict[str, str], planned: dict[str, Any]) -> None:
    r = auth(tokens["reader"])
    assert client.get(f"/api/v1/plans/{planned['id']}", headers=r).json()["plan"] == planned["plan"]
    assert client.get("/api/v1/plans/current", headers=r).json()["id"] == planned["id"]
    listing = client.get("/api/v1/plans", params={"week": WEEK}, headers=r).json()
    assert [(p["id"], p["cost_sek"]) for p in listing] == [(planned["id"], planned["plan"]["cost_sek"])]
    ics = client.get(f"/api/v1/plans/{planned['id']}/plan.ics", headers=r)
    assert ics.headers["content-type"].startswith("text/calendar")
    assert ics.text.count("BEGIN:VEVENT") == len(planned["plan"]["shifts"])
    assert "BEGIN:VTIMEZONE" in ics.text
    csv = client.get(f"/api/v1/plans/{planned['id']}/plan.csv", headers=r)
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len([x for x in lines[1:] if x.startswith(WEEK + ";")]) == len(planned["plan"]["shifts"]) + 1


def test_completed_and_cancelled_walks(client: TestClient, tokens: dict[str, str], planned: dict[str, Any]) -> None:
    c = auth(tokens["coordinator"])
    shifts = planned["plan"]["shifts"]
    walks = [i for i, s in enumerate(shifts) if s["kind"] == "night_walk"]
    guards = [i for i, s in enumerate(shifts) if s["kind"] == "guard"]
    assert len(walks) >= 2 and guards, [s["kind"] for s in shifts]
    assert shifts[walks[0]]["start"] < shifts[walks[-1]]["start"]
    url = f"/api/v1/plans/{planned['id']}/walks"
    first_end = dt.datetime.fromisoformat(shifts[walks[0]]["end"])
    early = client.post(url, json={"shift_index": walks[0], "status": "completed"}, headers=c)
    assert early.status_code == 422 and early.json()["detail"] == (
        f"the walk of {shifts[walks[0]]['association']!r} on the night of {shifts[walks[0]]['night']} has not ended "
        f"yet: it can be recorded as completed from {first_end:%Y-%m-%d %H:%M} (Europe/Stockholm); until then only "
        "'cancelled' can be recorded"
    )
    set_clock(client, first_end)  # the first walk is over, the last one is still ahead
    done = client.post(url, json={"shift_index": walks[0], "status": "completed"}, headers=c)
    assert done.status_code == 201 and done.json()["new_plan_id"] is None
    assert (done.json()["association"], done.json()["night"]) == (
        shifts[walks[0]]["association"],
        shifts[walks[0]]["night"],
    )
    again = client.post(url, json={"shift_index": walks[0], "status": "cancelled"}, headers=c)
    assert again.status_code == 422 and "already recorded as completed" in again.json()["detail"]
    assert client.post(url, json={"shift_index": 999, "status": "completed"}, headers=c).status_code == 422
    if guards:  # always true here (asserted above)
        g = client.post(url, json={"shift_index": guards[0], "status": "completed"}, headers=c)
        assert g.status_code == 422 and "record walks only for night_walk" in g.json()["detail"]
    cancelled = shifts[walks[-1]]
    r = client.post(url, json={"shift_index": walks[-1], "status": "cancelled", "note": "sick"}, headers=c)
    assert r.status_code == 201, r.text
    new = client.get(f"/api/v1/plans/{r.json()['new_plan_id']}", headers=c).json()
    assert new["parent_id"] == planned["id"] and new["created_at"] == first_end.astimezone(dt.UTC).isoformat().replace(
        "+00:00", "Z"
    )
    assert not any(
        s.get("association") == cancelled["association"] and s.get("night") == cancelled["night"]
        for s in new["plan"]["shifts"]
        if s["kind"] == "night_walk"
    )
    # the walks that began before the re-plan are history: the rest of the week keeps its number of walks
    begun = sum(1 for i in walks if dt.datetime.fromisoformat(shifts[i]["start"]) < first_end)
    assert new["plan"]["walks"] == planned["plan"]["walks"] - begun
    assert all(dt.datetime.fromisoformat(s["start"]) >= first_end for s in new["plan"]["shifts"])
    recorded = client.get(url, headers=auth(tokens["reader"])).json()
    assert [w["status"] for w in recorded] == ["completed", "cancelled"]


def test_season_plan(client: TestClient, tokens: dict[str, str], planned: dict[str, Any]) -> None:
    r = client.post("/api/v1/plans", json={"week": WEEK, "kind": "season"}, headers=auth(tokens["coordinator"]))
    assert r.status_code == 201, r.text
    doc = r.json()["plan"]
    assert doc["kind"] == "season" and doc["first_week"] == WEEK
    assert WEEK in doc["weekly"]
    assert sum(w["walks"] for w in doc["weeks"]) == doc["planned_walks"]
    ics = client.get(f"/api/v1/plans/{r.json()['id']}/plan.ics", headers=auth(tokens["reader"]))
    assert ics.status_code == 200 and ics.text.count("BEGIN:VEVENT") == len(doc["shifts"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"templates": []}, "templates"),
        ({"associations": [{"name": "X", "nights": ["someday"]}]}, "associations[0].nights[0]"),
        ({"colour": "blue"}, "colour: unknown setting"),
    ],
)
def test_bad_resources_name_the_field(
    client: TestClient, tokens: dict[str, str], spec: dict[str, Any], message: str
) -> None:
    r = client.post("/api/v1/resources", json={"spec": {**demo_spec(), **spec}}, headers=auth(tokens["coordinator"]))
    assert r.status_code == 422
    assert message in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"week": "2025-36"}, 422, "body.week"),
        ({"week": "2025-W60"}, 422, "2025-W60"),
        ({"week": WEEK, "resource_id": 99}, 404, "no resources spec 99"),
        ({"week": WEEK, "forecast_run_id": 99}, 404, "no forecast 99"),
        ({"week": "2026-W10"}, 422, ""),
    ],
)
def test_bad_plan_requests(
    client: TestClient,
    tokens: dict[str, str],
    planned: dict[str, Any],
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    r = client.post("/api/v1/plans", json=body, headers=auth(tokens["coordinator"]))
    assert r.status_code == status, r.text
    assert message in r.text


def test_plan_without_resources_or_forecast(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/api/v1/plans", json={"week": WEEK}, headers=auth(tokens["coordinator"]))
    assert r.status_code == 404 and "POST one to /api/v1/resources" in r.json()["detail"]
    assert client.get("/api/v1/plans/current", headers=auth(tokens["reader"])).status_code == 404


def test_a_plans_warnings_are_in_the_language_asked_for(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    h = auth(demo_tokens["reader"])
    english = demo_client.get("/api/v1/plans/1", headers=h).json()
    assert english["warnings"] and english["warnings"][0].startswith("season pacing: ")
    # the dashboard's way (Accept-Language) and a link's (?lang=sv): Swedish; the stored plan keeps English
    for params, headers in (({}, {**h, "Accept-Language": "sv-SE,sv;q=0.9"}), ({"lang": "sv"}, h)):
        swedish = demo_client.get("/api/v1/plans/1", params=params, headers=headers).json()
        assert swedish["warnings"][0].startswith("säsongens fördelning: ")
        assert len(swedish["warnings"]) == len(english["warnings"])
        assert swedish["plan"]["warnings"] == english["plan"]["warnings"] == english["warnings"]
    r = demo_client.get("/api/v1/plans/1", params={"lang": "de"}, headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["column"] == "query.lang"
