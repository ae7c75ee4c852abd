"""The police area: municipalities as data, forecasts restricted to a category group, the area view,
and tokens scoped to one municipality across every route of the API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.support import auth, finished
from tryggplan.allocation.spec import demo_resources
from tryggplan.cli import build_app
from tryggplan.cli.common import run_guarded
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.incidents import import_incidents
from tryggplan.storage.tokens import create_token

TZ = "Europe/Stockholm"
SMALL, BIG = "Kungsör", "Köping"
PLACES = {"ks-torget": SMALL, "ks-parken": SMALL, "kp-stortorget": BIG, "kp-stationen": BIG, "kp-hamnen": BIG}
TODAY = pd.Timestamp.now(tz=TZ).date()
NOW = pd.Timestamp.now(tz=TZ).floor("s").isoformat()


def area_incidents(days: int = 400, seed: int = 2) -> pd.DataFrame:
    """Evenings: Kungsör ~2 incidents a week, Köping ~20; Köping has a share of thefts."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(days, 0, -1):
        day = TODAY - dt.timedelta(days=d)
        for place, town in PLACES.items():
            rate = (2 / 7 / 2) if town == SMALL else (20 / 7 / 3)
            for k in range(rng.poisson(rate)):
                hour = int(rng.choice([19, 20, 21, 22, 23]))
                when = pd.Timestamp(dt.datetime(day.year, day.month, day.day, hour, 10), tz=TZ)
                category = "theft" if town == BIG and (d + k) % 3 == 0 else "vandalism"
                rows.append((f"{place}-{d}-{k}", when.tz_convert("UTC"), place, category, "police", 1.0))
    return pd.DataFrame(rows, columns=["incident_id", "occurred_at", "place_id", "category", "source", "weight"])


def area_places() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "place_id": list(PLACES),
            "name": [p.split("-", 1)[1].title() for p in PLACES],
            "municipality": list(PLACES.values()),
            "lat": 59.4,
            "lon": 16.1,
            "kind": "square",
            "area": list(PLACES.values()),
        }
    )


@dataclass
class Area:
    client: TestClient
    db: str
    incidents: pd.DataFrame
    analyst: dict[str, str]
    coordinator: dict[str, str]
    small: dict[str, str]  # a coordinator token for Kungsör only


@pytest.fixture(scope="module")
def town_area(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Area]:
    tmp = tmp_path_factory.mktemp("area")
    db = f"sqlite:///{tmp / 'area.db'}"
    app = create_app(Settings(database_url=db))
    incidents = area_incidents()
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = app.state.engine
        import_incidents(engine, incidents, area_places(), source_file="area", actor="test")
        tokens = {
            "analyst": auth(create_token(engine, "analyst", "a")[0]),
            "coordinator": auth(create_token(engine, "coordinator", "c")[0]),
            "small": auth(create_token(engine, "coordinator", "k", [SMALL])[0]),
        }
        run = client.post("/api/v1/forecasts", json={"days": 14}, headers=tokens["analyst"]).json()
        assert finished(client, f"/api/v1/forecasts/{run['id']}", tokens["analyst"])["status"] == "done"
        yield Area(client, db, incidents, tokens["analyst"], tokens["coordinator"], tokens["small"])
    app.state.engine.dispose()


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_guarded(lambda: build_app()(args=[str(a) for a in args], prog_name="tryggplan"))
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- municipalities as data


def test_municipalities_are_set_the_same_through_both_front_ends(
    town_area: Area, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys, "area", "set", SMALL, "--police-area", "LPO Köping", "--group", "nattvandring=disorder,vandalism",
        "--db", town_area.db,
    )  # fmt: skip
    assert code == 0, err
    r = town_area.client.put(
        f"/api/v1/municipalities/{BIG}",
        json={"police_area": "LPO Köping", "category_groups": {"nattvandring": ["vandalism", "disorder"]}},
        headers=town_area.coordinator,
    )
    assert r.status_code == 200, r.text
    listed = {m["name"]: m for m in town_area.client.get("/api/v1/municipalities", headers=town_area.analyst).json()}
    assert listed[SMALL]["police_area"] == listed[BIG]["police_area"] == "LPO Köping"
    assert (
        listed[SMALL]["category_groups"]
        == listed[BIG]["category_groups"]
        == {"nattvandring": ["disorder", "vandalism"]}
    )
    assert (listed[SMALL]["places"], listed[BIG]["places"]) == (2, 3)
    assert json.loads(out)["category_groups"] == {"nattvandring": ["disorder", "vandalism"]}


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"category_groups": {"nattvandring": []}}, 422, "category group 'nattvandring' is empty"),
        ({"police_area": "LPO\u202eKöping"}, 422, "U+202E"),
    ],
)
def test_bad_municipality_settings_are_refused(
    town_area: Area, body: dict[str, object], status: int, detail: str
) -> None:
    r = town_area.client.put(f"/api/v1/municipalities/{SMALL}", json=body, headers=town_area.coordinator)
    assert r.status_code == status and detail in r.json()["detail"], r.text


def test_a_scoped_token_sets_and_lists_only_its_town(town_area: Area) -> None:
    r = town_area.client.put(f"/api/v1/municipalities/{BIG}", json={}, headers=town_area.small)
    assert r.status_code == 403 and "Kungsör" in r.json()["detail"]
    listed = town_area.client.get("/api/v1/municipalities", headers=town_area.small).json()
    assert [m["name"] for m in listed] == [SMALL]
    unknown = town_area.client.put("/api/v1/municipalities/Atlantis", json={}, headers=town_area.coordinator)
    assert unknown.status_code == 404


# --------------------------------------------------------------------------- what walks can change


def test_a_forecast_of_a_category_group_counts_only_that_group(town_area: Area) -> None:
    c, a = town_area.client, town_area.analyst
    groups = {"category_groups": {"kvall": ["vandalism", "disorder"]}}
    assert c.put(f"/api/v1/municipalities/{BIG}", json=groups, headers=town_area.coordinator).status_code == 200
    body = {"days": 7, "municipality": BIG, "category_group": "kvall"}
    group = c.post("/api/v1/forecasts", json=body, headers=a).json()
    every = c.post("/api/v1/forecasts", json={"days": 7, "municipality": BIG}, headers=a).json()
    assert finished(c, f"/api/v1/forecasts/{group['id']}", a)["category_group"] == "kvall"
    assert finished(c, f"/api/v1/forecasts/{every['id']}", a)["status"] == "done"
    total = {
        run: sum(r["expected"] for r in c.get(f"/api/v1/forecasts/{run}/grid", headers=a).json()["rows"])
        for run in (group["id"], every["id"])
    }
    # a third of Köping's incidents are thefts: the group's forecast expects about two thirds
    assert 0.55 < total[group["id"]] / total[every["id"]] < 0.8
    bad = c.post("/api/v1/forecasts", json={"category_group": "fotboll"}, headers=a)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("unknown category group 'fotboll': choose one of")


# --------------------------------------------------------------------------- the area view


def test_the_area_view_shows_each_town_with_exact_counts(town_area: Area) -> None:
    view = town_area.client.get("/api/v1/area", headers=town_area.analyst).json()
    local = town_area.incidents["occurred_at"].dt.tz_convert(TZ)
    town = town_area.incidents["place_id"].map(PLACES)
    first = TODAY - dt.timedelta(days=13)
    for row in view["municipalities"]:
        mine = town == row["municipality"]
        want = int((mine & (local.dt.date >= first) & (local.dt.date <= TODAY)).sum())
        before = int((mine & (local.dt.date >= first - dt.timedelta(days=14)) & (local.dt.date < first)).sum())
        assert (row["last_days"]["count"], row["last_days"]["previous"]) == (want, before)
        ytd = int((mine & (local.dt.date >= dt.date(TODAY.year, 1, 1))).sum())
        assert row["ytd"]["count"] == ytd
        assert row["ahead"]["expected"] > 0
    small = next(r for r in view["municipalities"] if r["municipality"] == SMALL)
    big = next(r for r in view["municipalities"] if r["municipality"] == BIG)
    # absolute counts differ ten-fold, yet the small town has its own high hours
    assert big["ahead"]["expected"] > 5 * small["ahead"]["expected"]
    assert small["ahead"]["high_hours"] > 0
    scoped = town_area.client.get("/api/v1/area", headers=town_area.small).json()
    assert [r["municipality"] for r in scoped["municipalities"]] == [SMALL]


def test_the_area_view_through_the_cli(town_area: Area, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "area", "show", "--db", town_area.db, "--json")
    assert code == 0, err
    cli_view = json.loads(out)
    api_view = town_area.client.get("/api/v1/area", headers=town_area.analyst).json()
    for a, b in zip(cli_view["municipalities"], api_view["municipalities"], strict=True):
        assert (a["municipality"], a["last_days"], a["ytd"]) == (b["municipality"], b["last_days"], b["ytd"])


# --------------------------------------------------------------------------- scoped tokens on every route


def _path(template: str) -> str:
    # job 1 is the area-wide analyst's forecast of the fixture
    fill = {
        "{run}": "latest",
        "{plan}": "current",
        "{place_id}": "kp-stortorget",
        "{resource_id}": "1",
        "{job_id}": "1",
    }
    for key, value in fill.items():
        template = template.replace(key, value)
    return template


def _value(parameter: dict[str, object]) -> str:
    """A valid value for a required query parameter (a date where one is asked for)."""
    schema = parameter.get("schema", {})
    if parameter["name"] == "to" or (isinstance(schema, dict) and schema.get("format") == "date"):
        return TODAY.isoformat()
    raise AssertionError(f"no test value for the required parameter {parameter['name']!r}: add one")


def test_a_scoped_token_never_sees_another_towns_rows(town_area: Area) -> None:
    """Every GET route of the OpenAPI document, read with a Kungsör token: no Köping place in any answer,
    and naming Köping (a path's place, a municipality filter) is a 403."""
    c = town_area.client
    spec = c.get("/openapi.json").json()
    checked = 0
    for template, operations in spec["paths"].items():
        operation = operations.get("get")
        if operation is None or "{token_id}" in template:
            continue
        params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        required = {
            p["name"]: _value(p) for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")
        }
        path = _path(template)
        r = c.get(path, params=required, headers=town_area.small)
        checked += 1
        if "{place_id}" in template or "{job_id}" in template:
            assert r.status_code == 403, (template, r.status_code, r.text[:200])
            continue
        assert r.status_code in (200, 403, 404, 422), (template, r.status_code)
        # no Köping place and no Köping row (its name as a value; "LPO Köping", a police area, may show)
        assert "kp-" not in r.text and f'"{BIG}"' not in r.text, (template, r.text[:300])
        if "municipality" in params:
            other = c.get(path, params={**required, "municipality": BIG}, headers=town_area.small)
            assert other.status_code == 403, (template, other.status_code)
    assert checked >= 15


def test_a_scoped_coordinator_may_not_plan_another_town(town_area: Area) -> None:
    week = "{}-W{:02d}".format(*(TODAY + dt.timedelta(days=7)).isocalendar()[:2])
    r = town_area.client.post("/api/v1/plans", json={"week": week, "municipality": BIG}, headers=town_area.small)
    assert r.status_code == 403 and r.json()["detail"].startswith("this token is for Kungsör")


def test_cli_token_create_refuses_an_unknown_municipality(town_area: Area, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = cli(
        capsys, "token", "create", "--role", "reader", "--municipality", "Kungsor", "--db", town_area.db
    )
    assert code == 2
    assert "unknown municipality 'Kungsor': the places name Kungsör, Köping" in err


# --------------------------------------------------------------------------- the area plan run


def _spec(town: str, budget: float) -> dict[str, object]:
    places = area_places()
    spec = demo_resources(places[places["municipality"] == town])
    spec["weekly_budget_sek"] = budget
    return spec


def _store_specs(area_: Area) -> None:
    """Each town's own resources spec (3000 and 9000 SEK a week), stored as its newest."""
    for town, budget in ((SMALL, 3000.0), (BIG, 9000.0)):
        r = area_.client.post(
            "/api/v1/resources",
            json={"name": town, "spec": _spec(town, budget), "municipality": town},
            headers=area_.coordinator,
        )
        assert r.status_code == 201, r.text


def test_an_area_run_plans_every_town_within_its_own_budget(town_area: Area) -> None:
    c, coordinator = town_area.client, town_area.coordinator
    _store_specs(town_area)
    week = "{}-W{:02d}".format(*(TODAY + dt.timedelta(days=7)).isocalendar()[:2])
    r = c.post("/api/v1/plans/area", json={"week": week}, headers=coordinator)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["engine"] == "local" and [t["municipality"] for t in out["towns"]] == [SMALL, BIG]
    for town, budget in ((SMALL, 3000.0), (BIG, 9000.0)):
        summary = next(t for t in out["towns"] if t["municipality"] == town)["plan"]
        plan = c.get(f"/api/v1/plans/{summary['id']}", headers=coordinator).json()
        assert plan["municipality"] == town and plan["state"] == "draft"
        assert 0 < plan["plan"]["cost_sek"] <= budget
        places = {p for s in plan["plan"]["shifts"] for p in s["place_ids"]}
        assert places and {PLACES[p] for p in places} == {town}
    # a coordinator of one town runs the area for its own town only
    scoped = c.post("/api/v1/plans/area", json={"week": week}, headers=town_area.small).json()
    assert [t["municipality"] for t in scoped["towns"]] == [SMALL]


def test_an_area_run_names_a_town_it_cannot_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    app = create_app(Settings(database_url=db))
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = app.state.engine
        import_incidents(engine, area_incidents(days=120), area_places(), source_file="area", actor="test")
        analyst = auth(create_token(engine, "analyst", "a")[0])
        coordinator = auth(create_token(engine, "coordinator", "c")[0])
        run = client.post("/api/v1/forecasts", json={"days": 14}, headers=analyst)
        assert finished(client, f"/api/v1/forecasts/{run.json()['id']}", analyst)["status"] == "done"
        spec = {"name": BIG, "spec": _spec(BIG, 9000.0), "municipality": BIG}
        assert client.post("/api/v1/resources", json=spec, headers=coordinator).status_code == 201
        week = "{}-W{:02d}".format(*(TODAY + dt.timedelta(days=7)).isocalendar()[:2])
        api = client.post("/api/v1/plans/area", json={"week": week}, headers=coordinator).json()
    app.state.engine.dispose()
    towns = {t["municipality"]: t for t in api["towns"]}
    assert towns[BIG]["plan"] is not None and towns[BIG]["error"] is None
    assert towns[SMALL]["plan"] is None
    assert towns[SMALL]["error"] == (
        f"no resources spec for '{SMALL}': POST one to /api/v1/resources with \"municipality\": '{SMALL}'"
    )
    code, out, err = cli(capsys, "area", "plan", "--week", week, "--db", db, "--json")
    assert code == 0, err
    cli_towns = {t["municipality"]: t for t in json.loads(out)}
    assert cli_towns[SMALL]["error"] == towns[SMALL]["error"] and cli_towns[BIG]["plan_id"] is not None


@pytest.mark.slow
def test_an_area_run_on_a_local_dask_cluster_plans_the_same(
    town_area: Area, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_specs(town_area)
    week = "{}-W{:02d}".format(*(TODAY + dt.timedelta(days=7)).isocalendar()[:2])
    code, out, err = cli(capsys, "area", "plan", "--week", week, "--db", town_area.db, "--json", "--now", NOW)
    assert code == 0, err
    local = {t["municipality"]: t["plan_id"] for t in json.loads(out)}
    assert all(local.values()), out
    code, out, err = cli(
        capsys, "area", "plan", "--week", week, "--db", town_area.db, "--json", "--now", NOW, "--engine", "dask",
        "--workers", 2,
    )  # fmt: skip
    assert code == 0, err
    on_dask = {t["municipality"]: t["plan_id"] for t in json.loads(out)}
    assert local.keys() == on_dask.keys() == {SMALL, BIG}
    c = town_area.client
    for town in (SMALL, BIG):
        a = c.get(f"/api/v1/plans/{local[town]}", headers=town_area.coordinator).json()["plan"]
        b = c.get(f"/api/v1/plans/{on_dask[town]}", headers=town_area.coordinator).json()["plan"]
        assert a["objective"] == pytest.approx(b["objective"], rel=1e-9)
        assert [s["start"] for s in a["shifts"]] == [s["start"] for s in b["shifts"]]


# every route that changes something, with a token for one town naming another
def _other_town_requests(area_: Area) -> dict[tuple[str, str], dict[str, object]]:
    """A request per changing route of the API that names Köping (or one of its places, plans or
    specs), as a Kungsör coordinator/analyst/admin would send it."""
    c, coordinator = area_.client, area_.coordinator
    spec = {"name": BIG, "spec": _spec(BIG, 9000.0), "municipality": BIG}
    big_spec = c.post("/api/v1/resources", json=spec, headers=coordinator).json()["id"]
    week = "{}-W{:02d}".format(*(TODAY + dt.timedelta(days=7)).isocalendar()[:2])
    big_plan = c.post("/api/v1/plans", json={"week": week, "municipality": BIG}, headers=coordinator).json()["id"]
    big_link = c.post(
        "/api/v1/season/links", json={"association": "Lions", "municipality": BIG}, headers=coordinator
    ).json()["id"]
    night = (TODAY - dt.timedelta(days=3)).isoformat()
    files = {"file": ("x.csv", b"incident_id,occurred_at,place_id\nq1,2025-08-15 21:10,kp-hamnen\n", "text/csv")}
    return {
        ("POST", "/api/v1/backtests"): {"json": {"models": ["how_mean"], "municipality": BIG}},
        ("POST", "/api/v1/forecasts"): {"json": {"municipality": BIG}},
        ("POST", "/api/v1/incidents"): {
            "json": {"incidents": [{"incident_id": "q1", "occurred_at": "2025-08-15 21:10", "place_id": "kp-hamnen"}]}
        },
        ("POST", "/api/v1/incidents/upload"): {"files": files},
        ("POST", "/api/v1/jobs/{job_id}/cancel"): {"path": "/api/v1/jobs/1/cancel"},
        ("PUT", "/api/v1/municipalities/{name}"): {"path": f"/api/v1/municipalities/{BIG}", "json": {}},
        ("POST", "/api/v1/places"): {"json": {"place_id": "kp-ny", "municipality": BIG}},
        ("PUT", "/api/v1/places/{place_id}"): {"path": "/api/v1/places/kp-hamnen", "json": {"name": "x"}},
        ("DELETE", "/api/v1/places/{place_id}"): {"path": "/api/v1/places/kp-hamnen"},
        ("POST", "/api/v1/plans"): {"json": {"week": week, "municipality": BIG}},
        ("POST", "/api/v1/plans/{plan}/publish"): {"path": f"/api/v1/plans/{big_plan}/publish"},
        ("POST", "/api/v1/plans/{plan}/walks"): {
            "path": f"/api/v1/plans/{big_plan}/walks",
            "json": {"shift_index": 0, "status": "cancelled"},
        },
        ("POST", "/api/v1/reports/situation/notes"): {"json": {"text": "mer vakt", "place_ids": ["kp-hamnen"]}},
        ("POST", "/api/v1/resources"): {"json": spec},
        ("PUT", "/api/v1/resources/{resource_id}"): {"path": f"/api/v1/resources/{big_spec}", "json": spec},
        ("POST", "/api/v1/season/links"): {"json": {"association": "Lions", "municipality": BIG}},
        ("DELETE", "/api/v1/season/links/{link_id}"): {"path": f"/api/v1/season/links/{big_link}"},
        ("POST", "/api/v1/season/payouts"): {"json": {"association": "Lions", "municipality": BIG}},
        ("POST", "/api/v1/season/walks"): {
            "json": {"association": "Lions", "night": night, "status": "completed", "municipality": BIG}
        },
        ("POST", "/api/v1/tokens"): {"json": {"role": "reader", "municipalities": [BIG]}},
        ("POST", "/api/v1/users"): {
            "json": {
                "username": "koping.k",
                "role": "coordinator",
                "password": "tre ord i rad",
                "municipalities": [BIG],
            }
        },
    }


#: Changing routes that name no municipality: the caller's own session, an association's own link (its
#: secret is its key), a token by id (admins only), the area run (it plans the token's towns only), and a
#: user by username (a user of another town is unknown to a scoped admin: 404; tests/test_signin.py).
NOT_TOWN_ROUTES = {
    ("POST", "/api/v1/associations/{secret}/offers/{offer_id}"),
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
    ("POST", "/api/v1/plans/area"),
    ("POST", "/api/v1/users/{username}/disable"),
    ("POST", "/api/v1/users/{username}/password"),
}


def test_a_scoped_token_may_change_nothing_of_another_town(town_area: Area) -> None:
    """Every changing route of the OpenAPI document, sent with a Kungsör-only admin token naming Köping:
    403, and nothing of Köping changes."""
    c = town_area.client
    engine = c.app.state.engine  # type: ignore[attr-defined]
    small_admin = auth(create_token(engine, "admin", "kungsör admin", [SMALL])[0])
    requests = _other_town_requests(town_area)
    spec = c.get("/openapi.json").json()
    changing = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("post", "put", "delete", "patch")
    }
    assert changing == set(requests) | NOT_TOWN_ROUTES, "a changing route is missing from this test"
    places_before = c.get("/api/v1/places", params={"municipality": BIG}, headers=town_area.analyst).json()
    for (method, template), request in sorted(requests.items()):
        path = str(request.get("path", template))
        r = c.request(method, path, json=request.get("json"), files=request.get("files"), headers=small_admin)
        assert r.status_code == 403, (method, template, r.status_code, r.text[:200])
    assert c.get("/api/v1/places", params={"municipality": BIG}, headers=town_area.analyst).json() == places_before
