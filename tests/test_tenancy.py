"""Towns stay apart (issue 22, docs/tenancy.md): every finding reproduced and refused with nothing
changed, and a property test that sends random requests across the API with credentials of one town
and checks that no answer (error bodies included) shows the other town's rows and that none of the
other town's stored rows changes.

The world: two towns of one police area, Arboga (the caller's) and Kungsör (the other), each with
places, incidents (Kungsör's partly from a reporter), an import, a resources spec with the *same*
association and area names, a published plan with an offer, a walk record, a payout, an association
link, a meeting note, forecast runs (area-wide, Kungsör's, Arboga's), tokens and a queued job.
Everything Kungsör wrote carries the word ``KHEMLIG`` (and its places unusual coordinates, its incidents
the second :37:13), which no request ever sends: an answer holding one has read Kungsör's rows.

The callers are made by :data:`CREDENTIALS`, one entry per kind of credential: a token and a signed-in
user's session (its cookie and CSRF token), every role scoped to Arboga; the property test runs for each.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support import SYNTHETIC_NOW, auth
from tryggplan.allocation.spec import demo_resources
from tryggplan.cli import main
from tryggplan.domain import ROLES
from tryggplan.service.app import create_app
from tryggplan.service.deps import CSRF_HEADER, SIGNIN_COOKIE
from tryggplan.service.settings import Settings
from tryggplan.storage import jobs as queue
from tryggplan.storage.database import open_database
from tryggplan.storage.tokens import create_token, list_tokens
from tryggplan.usecases import forecasts, jobs, plans, reports, season, users

TZ = "Europe/Stockholm"
OWN, OTHER = "Arboga", "Kungsör"
SECRET = "KHEMLIG"
PASSWORD = "tre ord i rad"
NOW = SYNTHETIC_NOW  # 2025-09-01 00:00 local: the apps' frozen clock
WEEK = "2025-W36"
#: what only Kungsör's rows hold, and no request ever sends
MARKERS = (SECRET, "59.4201", "16.0999", "37:13")
#: what names Kungsör's rows, and may come back only as an echo of the request itself
ECHOED = re.compile(r"\bk-i\d+-\d+\b|\bk-rapport-\d+\b|\bk-nygatan\b|\bk-torget\b|Kungsör")

PLACES = pd.DataFrame(
    {
        "place_id": ["a-torget", "a-parken", "k-nygatan", "k-torget"],
        "name": ["Stortorget", "Parken", f"Nygatan {SECRET}", f"Torget {SECRET}"],
        "municipality": [OWN, OWN, OTHER, OTHER],
        "lat": [59.39, 59.391, 59.4201, 59.4207],
        "lon": [15.84, 15.841, 16.0999, 16.0993],
        "kind": ["square", "park", "street", "square"],
        "area": ["Centrum", "Centrum", "Centrum", "Centrum"],
    }
)


def _incidents(town: str, days: int = 84, seed: int = 7) -> pd.DataFrame:
    """Evening incidents of ``town``'s places up to 2025-09-01; Kungsör's at second :37:13."""
    rng = np.random.default_rng(seed + (town == OTHER))
    ids = PLACES.loc[PLACES["municipality"] == town, "place_id"].tolist()
    end = dt.date(2025, 9, 1)
    rows = []
    for d in range(days):
        day = end - dt.timedelta(days=days - d)
        for k in range(int(rng.poisson(2.5 if day.weekday() in (4, 5) else 0.8))):
            hour = int(rng.choice([20, 21, 22, 23]))
            minute, second = (37, 13) if town == OTHER else (10, 0)
            when = dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZoneInfo(TZ))
            prefix = "k" if town == OTHER else "a"
            rows.append((f"{prefix}-i{d}-{k}", when.isoformat(), str(rng.choice(ids)), "vandalism", "police", 1.0))
    return pd.DataFrame(rows, columns=["incident_id", "occurred_at", "place_id", "category", "source", "weight"])


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


# --------------------------------------------------------------------------- callers (credential kinds)


@dataclass(frozen=True)
class Caller:
    """Sends requests as one principal (a token today; a signed-in user's session is the same interface)."""

    kind: str
    role: str
    headers: dict[str, str]

    def send(self, client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**kwargs.pop("headers", {}), **self.headers}
        return client.request(method, path, headers=headers, **kwargs)


def token_callers(engine: Any, town: str) -> dict[str, Caller]:
    """A token of every role scoped to ``town``."""
    return {role: Caller("token", role, auth(create_token(engine, role, f"A-{role}", [town])[0])) for role in ROLES}


def user_callers(client: TestClient, town: str) -> dict[str, Caller]:
    """A signed-in user of every role of ``town``: its session cookie and CSRF token, sent as its pages
    send them (the client's own cookie jar is left empty, so callers do not share a session)."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    callers = {}
    for role in ROLES:
        username = f"a-{role}"
        users.create_user(engine, username=username, role=role, password=PASSWORD, municipalities=[town])
        page = client.get("/logga-in")
        form = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert form, page.text[:300]
        signed = client.post(
            "/logga-in",
            data={"username": username, "password": PASSWORD, "csrf": form.group(1)},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text[:300]
        cookie = client.cookies.get(SIGNIN_COOKIE)
        client.cookies.clear()
        headers = {"Cookie": f"{SIGNIN_COOKIE}={cookie}"}
        start = client.get("/rapportera" if role == "reporter" else "/", headers=headers)
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', start.text)
        assert csrf, start.text[:300]
        same_site = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
        callers[role] = Caller("user", role, {**headers, CSRF_HEADER: csrf.group(1), **same_site})
    return callers


def token_kind(client: TestClient, town: str) -> dict[str, Caller]:
    return token_callers(client.app.state.engine, town)  # type: ignore[attr-defined]


#: Each kind of credential a person or script of one town can hold: a function of (client, town) giving
#: a caller per role: a token (scripts, dashboards) and a signed-in user's session (people).
CREDENTIALS: dict[str, Callable[[TestClient, str], dict[str, Caller]]] = {"token": token_kind, "user": user_callers}


# --------------------------------------------------------------------------- the two-town world


@dataclass
class World:
    db: Path
    client: TestClient
    callers: dict[str, dict[str, Caller]]  # kind -> role -> caller of Arboga
    area_admin: dict[str, str]
    other: dict[str, dict[str, str]]  # Kungsör's tokens by role
    ids: dict[str, Any] = field(default_factory=dict)

    @property
    def engine(self) -> Any:
        return self.client.app.state.engine  # type: ignore[attr-defined]


def _build(db: Path) -> dict[str, Any]:
    """The two towns, stored through the API (as each town's own callers) and the use cases."""
    app = create_app(Settings(database_url=f"sqlite:///{db}", frozen_now=NOW, job_workers=0))
    ids: dict[str, Any] = {}
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = app.state.engine
        area_admin = create_token(engine, "admin", "områdesadmin")
        other = {
            role: auth(create_token(engine, role, f"K-{role} {SECRET}", [OTHER])[0])
            for role in ("analyst", "coordinator", "admin", "reporter", "reader")
        }
        ids["area_admin"] = area_admin[1].id
        ids["other_tokens"] = [t.id for t in list_tokens(engine) if t.municipalities]
        a_analyst = auth(create_token(engine, "analyst", "A-importör", [OWN])[0])
        for town, headers, name in ((OTHER, other["analyst"], f"kungsor-{SECRET}.csv"), (OWN, a_analyst, "arboga.csv")):
            files = {
                "file": (name, _csv(_incidents(town)), "text/csv"),
                "places": ("places.csv", _csv(PLACES[PLACES["municipality"] == town]), "text/csv"),
            }
            r = client.post("/api/v1/incidents/upload", files=files, headers=headers)
            assert r.status_code == 201, r.text
        users.create_user(
            engine, username="k-samordnare", role="coordinator", password=PASSWORD, municipalities=[OTHER],
            display_name=f"Kim {SECRET}",
        )  # fmt: skip
        users.create_user(engine, username="omradet", role="admin", password=PASSWORD, display_name="Områdesadmin")
        reported = [
            {
                "incident_id": f"k-rapport-{i}",
                "occurred_at": f"2025-08-3{i} 22:37:13",
                "place_id": "k-torget",
                "category": "vandalism",
                "note": f"{SECRET} klotter",
            }
            for i in (0, 1)
        ]
        r = client.post("/api/v1/incidents", json={"incidents": reported}, headers=other["reporter"])
        assert r.status_code == 201, r.text
        # forecasts: the area's first, then Kungsör's and Arboga's (newer than the area's)
        ids["runs"] = {}
        for town in (None, OTHER, OWN):
            run = forecasts.start_run(
                engine, model="how_mean", start=dt.date(2025, 9, 1), days=14, tz=TZ, municipality=town, actor="test"
            )
            forecasts.run_forecast(engine, run.id)
            ids["runs"][town] = run.id
        # each town's spec, by its own coordinator, with the same association and area names
        ids["specs"] = {}
        for town, headers in ((OTHER, other["coordinator"]), (OWN, None)):
            spec = demo_resources(PLACES[PLACES["municipality"] == town])
            body = {"name": f"{town} {SECRET}" if town == OTHER else town, "spec": spec, "municipality": town}
            r = client.post("/api/v1/resources", json=body, headers=headers or auth(area_admin[0]))
            assert r.status_code == 201, r.text
            ids["specs"][town] = r.json()["id"]
        ids["plans"] = {}
        for town in (OTHER, OWN):
            plan = plans.plan_from_store(engine, WEEK, now=NOW, municipality=town, actor=f"{town}-samordnare")
            ids["plans"][town] = plan.id
        published = season.publish(engine, ids["plans"][OTHER], now=NOW)
        assert published.offers, "Kungsör's plan offers no walk: the world needs one"
        kungsor = season.season_of(engine, OTHER)
        walk = season.record_walk(
            engine,
            kungsor,
            association="Lions",
            night=dt.date(2025, 8, 28),
            status="completed",
            actor=f"K {SECRET}",
            now=NOW,
            note=f"{SECRET} promenad",
        )
        ids["walk"] = walk.record.id
        season.pay(engine, kungsor, "Lions", actor=f"K {SECRET}", now=NOW)
        ids["link"] = season.create_link(engine, kungsor, "Lions", f"K {SECRET}", NOW)[1].id
        reports.add_note(engine, f"{SECRET} beslut: mer vakt", ["k-torget"], actor=f"K {SECRET}", now=NOW)
        job = jobs.submit_forecast(
            engine,
            model="how_mean",
            start=dt.date(2025, 9, 1),
            days=7,
            tz=TZ,
            municipality=OTHER,
            actor=f"token:0:K {SECRET}",
            limits=jobs.QueueLimits(per_caller=10, overall=100),
        )
        ids["job"] = job.job.id
        ids["backtests"] = []
        for town in (OTHER, None):
            backtest, _ = jobs.submit_backtest(
                engine,
                {"models": ["how_mean"], "municipality": town, "origins": 2},
                f"token:0:K {SECRET}",
                TZ,
                jobs.QueueLimits(per_caller=10, overall=100),
            )
            ids["backtests"].append(backtest.id)
    app.state.engine.dispose()
    return {"ids": ids, "area_admin": area_admin[0], "other": other}


def _other_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row that is Kungsör's or the whole area's (what a caller of Arboga may not change)."""
    queries = {
        "places": "select * from places where municipality is null or municipality != 'Arboga'",
        "incidents": "select * from incidents where place_id in (select place_id from places "
        "where municipality is null or municipality != 'Arboga') or incident_id like 'k-i%' "
        "or incident_id like 'k-rapport-%'",
        "imports": "select * from imports where municipality is null or municipality != 'Arboga'",
        "forecast_runs": "select * from forecast_runs where municipality is null or municipality != 'Arboga'",
        "risk_cells": "select run_id, count(*), sum(expected) from risk_cells group by run_id",
        "resources": "select * from resources where municipality is null or municipality != 'Arboga'",
        "plans": "select * from plans where municipality is null or municipality != 'Arboga'",
        "walk_records": "select * from walk_records where municipality != 'Arboga'",
        "walk_offers": "select * from walk_offers where municipality != 'Arboga'",
        "payouts": "select * from payouts where municipality != 'Arboga'",
        "payout_walks": "select * from payout_walks where municipality != 'Arboga'",
        "association_links": "select * from association_links where municipality != 'Arboga'",
        "season_ledgers": "select * from season_ledgers where municipality != 'Arboga'",
        "situation_notes": "select * from situation_notes where municipality is null or municipality != 'Arboga'",
        "api_tokens": "select id, token_hash, role, name, revoked, revoked_at, municipalities, expires_at "
        "from api_tokens where municipalities is null or municipalities != '[\"Arboga\"]'",
        "jobs": "select id, kind, status, params, owner, cancel_requested, municipality from jobs "
        "where municipality is null or municipality != 'Arboga'",
        "municipalities": "select * from municipalities where name != 'Arboga'",
        "backtest_jobs": "select * from backtest_jobs where coalesce(json_extract(params, '$.municipality'), '') "
        "!= 'Arboga'",
        "users": "select id, username, display_name, role, municipalities, password_hash, disabled, disabled_at, "
        "password_changed_at from users where municipalities is null or municipalities != '[\"Arboga\"]'",
        "user_sessions": "select id, user_id, expires_at, ended_at from user_sessions where user_id in "
        "(select id from users where municipalities is null or municipalities != '[\"Arboga\"]')",
        "walk_reports": "select * from walk_reports where municipality != 'Arboga'",
    }
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {name: sorted(conn.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("tenancy") / "two-towns.db"
    built = _build(db)
    app = create_app(Settings(database_url=f"sqlite:///{db}", frozen_now=NOW, job_workers=0, job_wait_seconds=0.01))
    with TestClient(app, raise_server_exceptions=False) as client:
        callers = {kind: make(client, OWN) for kind, make in CREDENTIALS.items()}
        yield World(db, client, callers, auth(built["area_admin"]), built["other"], built["ids"])
    app.state.engine.dispose()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def leaks(request_text: str, response_text: str) -> list[str]:
    """What of Kungsör's rows an answer shows: a marker no request sends, or a name of Kungsör's rows
    the request did not send itself (a JSON answer is read with its escapes undone too)."""
    try:
        response_text += " " + dumps(json.loads(response_text))
    except ValueError:
        pass
    found = [m for m in MARKERS if m in response_text]
    found += sorted({m for m in ECHOED.findall(response_text) if m not in request_text})
    return found


# --------------------------------------------------------------------------- finding 1: no takeover


def test_finding_1_a_scoped_analyst_cannot_take_over_another_towns_place(world: World) -> None:
    c, analyst = world.client, world.callers["token"]["analyst"]
    before = _other_rows(world.db)
    body = {
        "incidents": [{"incident_id": "take-1", "occurred_at": "2025-08-20 21:10", "place_id": "k-nygatan"}],
        "places": [{"place_id": "k-nygatan", "municipality": OWN}],
    }
    r = analyst.send(c, "POST", "/api/v1/incidents", json=body)
    assert r.status_code == 403
    assert r.json()["detail"] == (
        "this token is for Arboga: place(s) 'k-nygatan' are not theirs; nothing was stored: import only your "
        "municipalities' places and incidents, or use an area-wide token"
    )
    # a place given with only an id, and one given with its own (true) municipality: the same refusal
    for places in ([{"place_id": "k-nygatan"}], [{"place_id": "k-nygatan", "municipality": OTHER}]):
        r = analyst.send(c, "POST", "/api/v1/incidents", json={**body, "places": places})
        assert r.status_code == 403, r.text
    # the upload with a places file that claims the place for Arboga
    files = {
        "file": ("x.csv", b"incident_id,occurred_at,place_id\ntake-2,2025-08-20 21:10,k-nygatan\n", "text/csv"),
        "places": ("places.csv", b"place_id,name,municipality\nk-nygatan,Min gata,Arboga\n", "text/csv"),
    }
    r = analyst.send(c, "POST", "/api/v1/incidents/upload", files=files)
    assert r.status_code == 403 and "'k-nygatan' are not theirs" in r.json()["detail"]
    # and the place routes: no rename, no move, no new place with its id, no delete
    for method, path, payload in (
        ("PUT", "/api/v1/places/k-nygatan", {"name": "Min gata"}),
        ("PUT", "/api/v1/places/k-nygatan", {"municipality": OWN}),
        ("PUT", "/api/v1/places/a-torget", {"municipality": OTHER}),
        ("DELETE", "/api/v1/places/k-nygatan", None),
    ):
        r = world.callers["token"]["admin"].send(c, method, path, json=payload)
        assert r.status_code == 403, (method, path, r.text)
        assert not leaks(dumps(payload) + path, r.text)
    r = analyst.send(c, "POST", "/api/v1/places", json={"place_id": "k-nygatan", "name": "Min gata"})
    assert (r.status_code, r.json()["detail"]) == (422, "place id 'k-nygatan' is taken: give the new place another id")
    assert _other_rows(world.db) == before
    place = world.client.get("/api/v1/places/k-nygatan", headers=world.area_admin).json()
    assert (place["municipality"], place["name"], place["lat"]) == (OTHER, f"Nygatan {SECRET}", 59.4201)


# --------------------------------------------------------------------------- finding 2: error bodies


def test_finding_2_duplicate_ids_never_show_rows_the_caller_may_not_read(world: World) -> None:
    c = world.client
    before = _other_rows(world.db)
    stored = _incidents(OTHER)["incident_id"].tolist()[:40] + ["k-rapport-0", "k-rapport-1"]
    batch = [
        {"incident_id": i, "occurred_at": "2025-08-25 21:10", "place_id": "a-torget", "category": "disorder"}
        for i in stored
    ]
    for role in ("reporter", "analyst"):
        r = world.callers["token"][role].send(c, "POST", "/api/v1/incidents", json={"incidents": batch})
        assert r.status_code == 422, r.text
        body = r.json()
        assert not leaks(dumps(batch), r.text), r.text[:400]
        assert [(p["row"], p["kind"]) for p in body["problems"]] == [(i, "duplicate_id") for i in range(1, 43)]
        assert (
            body["problems"][0]["message"] == f"incident id {stored[0]} is already used by an incident you cannot read"
        )
        assert body["summary"] == [
            {
                "kind": "duplicate_id",
                "count": 42,
                "rows": [1, 2, 3, 4, 5],
                "row_count": 42,
                "message": f"incident id {stored[0]} is already used by an incident you cannot read",
                "fix": "give this incident another id",
            }
        ]
    # another reporter's incident of the same town is not the reporter's to read either
    mine = {"incident_id": "a-own-1", "occurred_at": "2025-08-26 21:10", "place_id": "a-parken", "category": "theft"}
    assert (
        world.callers["token"]["analyst"].send(c, "POST", "/api/v1/incidents", json={"incidents": [mine]}).status_code
        == 201
    )
    r = world.callers["token"]["reporter"].send(
        c, "POST", "/api/v1/incidents", json={"incidents": [{**mine, "category": "disorder"}]}
    )
    assert r.status_code == 422 and "already used by an incident you cannot read" in r.text
    assert "theft" not in r.text and "2025-08-26" not in r.text.replace(mine["occurred_at"], "")
    assert _other_rows(world.db) == before


# --------------------------------------------------------------------------- finding 3: scoped admins


def test_finding_3_a_scoped_admin_manages_only_its_towns_tokens(world: World) -> None:
    c, admin = world.client, world.callers["token"]["admin"]
    before = _other_rows(world.db)
    listed = admin.send(c, "GET", "/api/v1/tokens").json()
    assert listed and all(t["municipalities"] == [OWN] for t in listed)
    assert not leaks("", dumps(listed))
    for token_id in [world.ids["area_admin"], *world.ids["other_tokens"]]:
        r = admin.send(c, "DELETE", f"/api/v1/tokens/{token_id}")
        assert (r.status_code, r.json()["detail"]) == (
            403,
            f"this token is for Arboga: token {token_id} is not theirs; use a token for that municipality or an "
            "area-wide one",
        )
    # and users: its own town's only
    listed_users = admin.send(c, "GET", "/api/v1/users").json()
    assert listed_users and all(u["municipalities"] == [OWN] for u in listed_users)
    for username in ("k-samordnare", "omradet"):
        for action, body in (("disable", None), ("password", {"password": "ett annat lösenord"})):
            r = admin.send(c, "POST", f"/api/v1/users/{username}/{action}", json=body)
            assert r.status_code in (403, 404) and not leaks(username, r.text), (username, action, r.text)
    made_user = admin.send(c, "POST", "/api/v1/users", json={"username": "k-ny", "role": "admin", "password": PASSWORD,
                                                              "municipalities": [OTHER]})  # fmt: skip
    assert made_user.status_code == 403
    # it makes tokens of its own town only, never an area-wide one
    assert admin.send(c, "POST", "/api/v1/tokens", json={"role": "admin", "municipalities": [OTHER]}).status_code == 403
    made = admin.send(c, "POST", "/api/v1/tokens", json={"role": "reader"})
    assert made.status_code == 201 and made.json()["municipalities"] == [OWN]
    assert admin.send(c, "DELETE", f"/api/v1/tokens/{made.json()['id']}").status_code == 200
    assert _other_rows(world.db) == before
    assert c.get("/api/v1/tokens", headers=world.area_admin).status_code == 200  # the area's admin still works


# --------------------------------------------------------------------------- finding 5: latest


def test_finding_5_the_area_wide_latest_is_an_area_wide_run(world: World) -> None:
    c, runs = world.client, world.ids["runs"]
    assert c.get("/api/v1/forecasts/latest", headers=world.area_admin).json()["id"] == runs[None]
    towns = {
        f["properties"]["municipality"]
        for f in c.get("/api/v1/forecasts/latest/places.geojson", headers=world.area_admin).json()["features"]
    }
    assert towns == {OWN, OTHER}
    # one town's latest: its own run when newer than the area's
    mine = world.callers["token"]["reader"].send(c, "GET", "/api/v1/forecasts/latest").json()
    assert mine["id"] == runs[OWN]
    named = c.get("/api/v1/forecasts/latest", params={"municipality": OTHER}, headers=world.area_admin)
    assert named.status_code == 200 and named.json()["id"] == runs[OTHER]
    # another town's run by id: 403 without saying whose
    r = world.callers["token"]["reader"].send(c, "GET", f"/api/v1/forecasts/{runs[OTHER]}/grid")
    assert (r.status_code, r.json()["detail"]) == (
        403,
        f"this token is for Arboga: forecast {runs[OTHER]} is not theirs; use a token for that municipality or an "
        "area-wide one",
    )


# --------------------------------------------------------------------------- finding 9: lists


def test_finding_9_imports_are_listed_by_town(world: World) -> None:
    c = world.client
    mine = world.callers["token"]["analyst"].send(c, "GET", "/api/v1/imports").json()
    assert mine and {i["municipality"] for i in mine} == {OWN}
    assert not leaks("", dumps(mine))
    everyone = c.get("/api/v1/imports", headers=world.area_admin).json()
    assert {i["municipality"] for i in everyone} == {OWN, OTHER}
    assert any(i["source_file"] == f"kungsor-{SECRET}.csv" for i in everyone)


def test_finding_9_job_list_active_shows_every_active_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "jobs.db"
    engine = open_database(f"sqlite:///{db}")
    now = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    rows = [
        {"kind": "forecast", "status": "queued", "params": {}, "owner": f"token:{i % 7}:x", "created_at": now,
         "cancel_requested": False}
        for i in range(200)
    ]  # fmt: skip
    queue.add_jobs(engine, rows)
    engine.dispose()
    with pytest.raises(SystemExit):
        main(["job", "list", "--active", "--db", f"sqlite:///{db}"])
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if " forecast " in line]
    assert listed == [str(i) for i in range(200, 0, -1)]
    with pytest.raises(SystemExit):
        main(["job", "list", "--db", f"sqlite:///{db}", "--limit", "60", "--offset", "150"])
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 50 and "151-200 of 200 jobs" not in out.err
    with pytest.raises(SystemExit):
        main(["job", "list", "--db", f"sqlite:///{db}"])
    assert "1-50 of 200 jobs: the next with --offset 50" in capsys.readouterr().err


def test_a_scoped_admin_sees_its_towns_jobs_only(world: World) -> None:
    c, admin = world.client, world.callers["token"]["admin"]
    listed = admin.send(c, "GET", "/api/v1/jobs").json()
    assert all(j["municipality"] == OWN for j in listed)
    r = admin.send(c, "GET", f"/api/v1/jobs/{world.ids['job']}")
    assert r.status_code == 403 and not leaks("", r.text)
    assert admin.send(c, "POST", f"/api/v1/jobs/{world.ids['job']}/cancel").status_code == 403
    kungsor_admin = world.other["admin"]
    assert c.get(f"/api/v1/jobs/{world.ids['job']}", headers=kungsor_admin).json()["status"] == "queued"


# --------------------------------------------------------------------------- names per municipality


def test_the_same_association_in_two_towns_is_two_associations(world: World) -> None:
    """Both towns have "Lions" in area "Centrum": Arboga's coordinator records and pays its own Lions'
    walks; Kungsör's Lions keep their ledger."""
    c, coordinator = world.client, world.callers["token"]["coordinator"]
    before = _other_rows(world.db)
    ours = coordinator.send(c, "GET", "/api/v1/season").json()
    walk = {"association": "Lions", "night": "2025-08-28", "status": "completed", "area": "Centrum"}
    r = coordinator.send(c, "POST", "/api/v1/season/walks", json=walk)
    assert r.status_code == 201, r.text
    after = coordinator.send(c, "GET", "/api/v1/season").json()
    assert after["walks_done"] == ours["walks_done"] + 1
    paid = coordinator.send(c, "POST", "/api/v1/season/payouts", json={"association": "Lions"})
    assert paid.status_code == 201 and paid.json()["nights"] == ["2025-08-28"]
    kungsor = c.get("/api/v1/season", params={"municipality": OTHER}, headers=world.area_admin).json()
    assert next(a for a in kungsor["associations"] if a["name"] == "Lions")["paid_sek"] == 1000
    assert _other_rows(world.db) == before


def test_a_spec_names_only_its_towns_places(world: World) -> None:
    c, coordinator = world.client, world.callers["token"]["coordinator"]
    spec = demo_resources(PLACES.iloc[[0, 2]])  # a-torget and k-nygatan
    r = coordinator.send(c, "POST", "/api/v1/resources", json={"name": "Arboga", "spec": spec})
    assert (r.status_code, r.json()["detail"]) == (
        403,
        "the resources spec of 'Arboga' names place(s) 'k-nygatan' that are not its own: a spec names only its "
        "municipality's places",
    )


def test_a_scoped_coordinator_never_names_its_town(world: World) -> None:
    """A caller of one town need not name it: its season, payouts, plans and report."""
    c, coordinator = world.client, world.callers["token"]["coordinator"]
    assert coordinator.send(c, "GET", "/api/v1/season").json()["municipality"] == OWN
    assert coordinator.send(c, "GET", "/api/v1/season/payouts.csv").status_code == 200
    assert coordinator.send(c, "GET", "/api/v1/plans/current").json()["id"] == world.ids["plans"][OWN]
    report = coordinator.send(c, "GET", "/api/v1/reports/situation", params={"to": "2025-08-31"}).json()
    assert report["municipalities"] == [OWN]


def test_notes_are_read_by_their_town(world: World) -> None:
    c = world.client
    assert world.callers["token"]["reader"].send(c, "GET", "/api/v1/reports/situation/notes").json() == []
    theirs = c.get("/api/v1/reports/situation/notes", headers=world.other["reader"]).json()
    assert [n["text"] for n in theirs] == [f"{SECRET} beslut: mer vakt"]


# --------------------------------------------------------------------------- the property test


MUNICIPALITY = st.sampled_from([OWN, OTHER, None, "Köping"])
PLACE = st.sampled_from(["a-torget", "a-parken", "k-nygatan", "k-torget", "ny-plats"])
#: incident ids: Kungsör's (stored: never Arboga's to take), Arboga's and new ones
OTHER_IDS = _incidents(OTHER)["incident_id"].tolist()
INCIDENT_ID = st.sampled_from([*OTHER_IDS[::25], "k-rapport-0", _incidents(OWN)["incident_id"].iloc[3], "ny-1", "ny-2"])
DAY = st.sampled_from(["2025-08-20", "2025-08-28", "2025-08-31"])
ROLE = st.sampled_from(sorted(ROLES))


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None

    def text(self) -> str:
        """Everything the request sends (what an answer may echo)."""
        files = "".join(f"{n}{d.decode(errors='replace')}" for n, d, _ in (self.files or {}).values())
        return f"{self.path} {dumps(self.params)} {dumps(self.json)} {files}"


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@st.composite
def incident(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "incident_id": draw(INCIDENT_ID),
        "occurred_at": f"{draw(DAY)} 21:10",
        "place_id": draw(PLACE),
        "category": draw(st.sampled_from(["vandalism", "disorder", "theft"])),
    }


@st.composite
def place(draw: st.DrawFn) -> dict[str, Any]:
    return _params(
        place_id=draw(PLACE),
        municipality=draw(MUNICIPALITY),
        name=draw(st.sampled_from([None, "Ny plats", "Min gata"])),
        lat=draw(st.sampled_from([None, 59.5])),
        lon=draw(st.sampled_from([None, 16.2])),
    )


def _read_requests(ids: dict[str, Any]) -> st.SearchStrategy[Request]:
    run = st.sampled_from(["latest", *[str(r) for r in ids["runs"].values()]])
    plan = st.sampled_from(["current", *[str(p) for p in ids["plans"].values()], "999"])
    lists = st.sampled_from(
        [
            "/api/v1/places", "/api/v1/incidents", "/api/v1/aggregates/incidents", "/api/v1/categories",
            "/api/v1/imports", "/api/v1/forecasts", "/api/v1/resources", "/api/v1/plans", "/api/v1/season",
            "/api/v1/season/walks", "/api/v1/season/payouts", "/api/v1/season/payouts.csv", "/api/v1/season/offers",
            "/api/v1/season/links", "/api/v1/reports/situation/notes", "/api/v1/municipalities", "/api/v1/area",
            "/api/v1/jobs", "/api/v1/tokens", "/api/v1/backtests", "/api/v1/evaluation/walks", "/api/v1/users",
            "/api/v1/me",
        ]
    )  # fmt: skip
    report = st.sampled_from(["/api/v1/reports/situation", "/api/v1/reports/situation.csv"])
    grid = st.sampled_from(["", "/grid", "/grid.csv", "/places.geojson", "/heatmap", "/daily", "/windows"])
    by_id = st.one_of(
        st.builds(lambda p: f"/api/v1/places/{p}", PLACE),
        st.builds(lambda r, g: f"/api/v1/forecasts/{r}{g}", run, grid),
        st.builds(
            lambda p, x: f"/api/v1/plans/{p}{x}", plan, st.sampled_from(["", "/plan.csv", "/plan.ics", "/walks"])
        ),
        st.builds(lambda r: f"/api/v1/resources/{r}", st.sampled_from([*ids["specs"].values(), 999])),
        st.builds(lambda j: f"/api/v1/jobs/{j}", st.sampled_from([ids["job"], 1, 999])),
        st.builds(
            lambda b, x: f"/api/v1/backtests/{b}{x}",
            st.sampled_from([*ids["backtests"], 999]),
            st.sampled_from(["", "/metrics.csv", "/report.md"]),
        ),
    )
    return st.one_of(
        st.builds(lambda p, m: Request("GET", p, _params(municipality=m)), lists, MUNICIPALITY),
        st.builds(lambda p, m: Request("GET", p, _params(municipality=m)), by_id, MUNICIPALITY),
        st.builds(lambda p, m: Request("GET", p, _params(to="2025-08-31", municipality=m)), report, MUNICIPALITY),
    )


def _post(path: str, **body: Any) -> Request:
    return Request("POST", path, json=_params(**body))


def _write_requests(ids: dict[str, Any]) -> st.SearchStrategy[Request]:
    plan_id = st.sampled_from([*ids["plans"].values(), 999])
    spec_id = st.sampled_from([*ids["specs"].values(), 999])
    run_id = st.one_of(st.none(), st.sampled_from(list(ids["runs"].values())))
    tokens = st.sampled_from([ids["area_admin"], *ids["other_tokens"], 9999])
    towns = st.one_of(st.none(), st.lists(st.sampled_from([OWN, OTHER]), min_size=1, max_size=2, unique=True))
    spec = st.builds(
        lambda chosen: demo_resources(PLACES[PLACES["place_id"].isin(chosen)]),
        st.lists(st.sampled_from(PLACES["place_id"].tolist()), min_size=1, max_size=3, unique=True),
    )

    def upload(rows: list[dict[str, Any]], places: list[dict[str, Any]] | None, create: bool | None) -> Request:
        files = {"file": ("u.csv", _csv(pd.DataFrame(rows)), "text/csv")}
        if places:
            files["places"] = ("p.csv", _csv(pd.DataFrame(places)), "text/csv")
        return Request("POST", "/api/v1/incidents/upload", _params(create_places=create), files=files)

    def batch(rows: list[dict[str, Any]], places: Any, create: bool | None, skip: bool) -> Request:
        return _post("/api/v1/incidents", incidents=rows, places=places, create_places=create, skip_invalid=skip)

    def change_place(place_id: str, fields: dict[str, Any]) -> Request:
        return Request("PUT", f"/api/v1/places/{place_id}", json={k: v for k, v in fields.items() if k != "place_id"})

    def walk(town: str | None, night: str, status: str, plan: int | None) -> Request:
        return _post(
            "/api/v1/season/walks", association="Lions", night=night, status=status, municipality=town, plan_id=plan
        )

    incidents = st.lists(incident(), min_size=1, max_size=4)
    places = st.one_of(st.none(), st.lists(place(), min_size=1, max_size=2))
    create = st.sampled_from([None, True, False])
    status = st.sampled_from(["completed", "no_show", "cancelled"])
    return st.one_of(
        st.builds(batch, incidents, places, create, st.booleans()),
        st.builds(upload, incidents, places, create),
        st.builds(lambda p: Request("POST", "/api/v1/places", json=p), place()),
        st.builds(change_place, PLACE, place()),
        st.builds(lambda pid: Request("DELETE", f"/api/v1/places/{pid}"), PLACE),
        st.builds(lambda s, m: _post("/api/v1/resources", name="ny", spec=s, municipality=m), spec, MUNICIPALITY),
        st.builds(lambda i, s: Request("PUT", f"/api/v1/resources/{i}", json={"name": "ny", "spec": s}), spec_id, spec),
        st.builds(
            lambda m, r, f: _post("/api/v1/plans", week=WEEK, municipality=m, resource_id=r, forecast_run_id=f),
            MUNICIPALITY,
            st.one_of(st.none(), spec_id),
            run_id,
        ),
        st.builds(lambda p: _post(f"/api/v1/plans/{p}/publish"), plan_id),
        st.builds(lambda p: _post(f"/api/v1/plans/{p}/walks", shift_index=0, status="cancelled"), plan_id),
        st.builds(walk, MUNICIPALITY, DAY, status, st.one_of(st.none(), plan_id)),
        st.builds(lambda m: _post("/api/v1/season/payouts", association="Lions", municipality=m), MUNICIPALITY),
        st.builds(lambda m: _post("/api/v1/season/links", association="Lions", municipality=m), MUNICIPALITY),
        st.builds(lambda i: Request("DELETE", f"/api/v1/season/links/{i}"), st.sampled_from([ids["link"], 999])),
        st.builds(
            lambda p: _post("/api/v1/reports/situation/notes", text="mer vakt", place_ids=p),
            st.lists(PLACE, max_size=2, unique=True),
        ),
        st.builds(lambda r, m: _post("/api/v1/tokens", role=r, municipalities=m), ROLE, towns),
        st.builds(lambda t: Request("DELETE", f"/api/v1/tokens/{t}"), tokens),
        st.builds(lambda j: _post(f"/api/v1/jobs/{j}/cancel"), st.sampled_from([ids["job"], 999])),
        st.builds(
            lambda u, a: _post(
                f"/api/v1/users/{u}/{a}", **({"password": "ett nytt lösenord"} if a == "password" else {})
            ),
            st.sampled_from(["k-samordnare", "omradet", "okand"]),
            st.sampled_from(["disable", "password"]),
        ),
        st.builds(
            lambda r, m: _post("/api/v1/users", username="ny-person", role=r, password=PASSWORD, municipalities=m),
            ROLE,
            towns,
        ),
        st.builds(lambda m: _post("/api/v1/forecasts", model="how_mean", days=3, municipality=m), MUNICIPALITY),
        st.builds(lambda m: _post("/api/v1/backtests", models=["how_mean"], municipality=m), MUNICIPALITY),
        st.builds(
            lambda m: Request("PUT", f"/api/v1/municipalities/{m}", json={"police_area": "LPO"}),
            st.sampled_from([OWN, OTHER]),
        ),
    )


def _check_requests(world: World, kind: str, sent: list[tuple[str, Request]]) -> None:
    before = _other_rows(world.db)
    for role, req in sent:
        caller = world.callers[kind][role]
        r = caller.send(world.client, req.method, req.path, params=req.params, json=req.json, files=req.files)
        event(f"{req.method} {r.status_code}")
        assert r.status_code < 500, (role, req, r.status_code, r.text[:300])
        found = leaks(req.text(), r.text)
        assert not found, (role, req, r.status_code, found, r.text[:600])
    assert _other_rows(world.db) == before, [role_req for role_req in sent]


#: who sends a request: every role of the town, most often its admin (who may try the most)
SENDER = st.sampled_from(["admin", "admin", "admin", "analyst", "coordinator", "reader", "reporter"])


def _requests(world: World) -> st.SearchStrategy[list[tuple[str, Request]]]:
    reads, writes = _read_requests(world.ids), _write_requests(world.ids)
    # as many reads as writes (``one_of`` would weigh each of the many write routes like all reads together)
    either = st.booleans().flatmap(lambda read: reads if read else writes)
    return st.lists(st.tuples(SENDER, either), min_size=1, max_size=4)


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_random_requests_of_one_town_never_read_or_change_the_other(world: World, kind: str) -> None:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(sent=_requests(world))
    def run(sent: list[tuple[str, Request]]) -> None:
        _check_requests(world, kind, sent)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_many_random_requests_of_one_town_never_read_or_change_the_other(world: World, kind: str) -> None:
    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(sent=_requests(world))
    def run(sent: list[tuple[str, Request]]) -> None:
        _check_requests(world, kind, sent)

    run()


# --------------------------------------------------------------------------- imports that meet a first-time user


def _excel_export(rows: int, places: list[str]) -> bytes:
    lines = ["Id;Datum;Tid;Plats;Händelsetyp"]
    for i in range(rows):
        lines.append(f"e{i};2025-08-{1 + i % 28:02d};21:{i % 60:02d};{places[i % len(places)]};Skadegörelse")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_the_first_import_into_a_town_creates_its_places_in_the_cli_and_the_upload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One rule for both front ends: a town without places gets them from its first file (as that town's
    places); validate says so before; the next file naming a place the town does not know is refused."""
    export = tmp_path / "export.csv"
    export.write_bytes(_excel_export(80, ["Torget", "Parken", "Skolan", "Stationen"]))
    cli_db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out, err = _cli(capsys, "validate", export, "--municipality", OWN)
    assert code == 0, err
    assert out.splitlines()[1:] == [
        "import would add 80 incident(s) (0 already stored) and store 4 new place(s): Parken, Skolan, Stationen, "
        "Torget",
        "export.csv: valid",
    ]
    code, out, err = _cli(capsys, "import", export, "--db", cli_db, "--municipality", OWN)
    assert code == 0, err
    assert "4 new place(s) created from the file's place ids: Parken, Skolan, Stationen, Torget" in out
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}", frozen_now=NOW, job_workers=0))
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = app.state.engine
        # the town exists (another town's places are stored), but has no place yet
        create_token(engine, "admin", "x")
        from tryggplan.storage.incidents import upsert_places

        upsert_places(engine, PLACES[PLACES["municipality"] == OTHER])
        analyst = auth(create_token(engine, "analyst", "Arboga", [OWN])[0])
        files = {"file": ("export.csv", export.read_bytes(), "text/csv")}
        dry = client.post("/api/v1/incidents/upload", files=files, headers=analyst, params={"dry_run": "true"})
        assert dry.status_code == 201 and dry.json()["dry_run"] and dry.json()["import_id"] is None
        r = client.post("/api/v1/incidents/upload", files=files, headers=analyst)
        assert r.status_code == 201, r.text
        assert (dry.json()["added"], dry.json()["new_places"]) == (r.json()["added"], r.json()["new_places"])
        assert r.json()["new_places"] == ["Parken", "Skolan", "Stationen", "Torget"]
        api_places = client.get("/api/v1/places", headers=analyst).json()
        assert {(p["place_id"], p["municipality"]) for p in api_places} == {
            (p, OWN) for p in ("Parken", "Skolan", "Stationen", "Torget")
        }
        later = _excel_export(3, ["Kiosken"])
        r = client.post("/api/v1/incidents/upload", files={"file": ("later.csv", later, "text/csv")}, headers=analyst)
        assert r.status_code == 422 and r.json()["summary"][0]["kind"] == "unknown_place"
    app.state.engine.dispose()
    cli_engine = open_database(cli_db)
    try:
        from tryggplan.storage.incidents import read_places

        stored = read_places(cli_engine)
        assert stored["place_id"].tolist() == ["Parken", "Skolan", "Stationen", "Torget"]
        assert set(stored["municipality"]) == {OWN}
    finally:
        cli_engine.dispose()


def test_validate_says_exactly_what_import_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Against a database: the same counts, the same problems, the same refusal."""
    db = f"sqlite:///{tmp_path / 't.db'}"
    first = tmp_path / "first.csv"
    first.write_bytes(_excel_export(10, ["Torget", "Parken"]))
    assert _cli(capsys, "import", first, "--db", db, "--municipality", OWN)[0] == 0
    again = tmp_path / "again.csv"
    again.write_bytes(_excel_export(14, ["Torget", "Parken"]))  # 10 stored, 4 new
    code, out, _ = _cli(capsys, "validate", again, "--db", db)
    assert code == 0 and "import would add 4 incident(s) (10 already stored)" in out
    code, out, _ = _cli(capsys, "import", again, "--db", db)
    assert code == 0 and out.splitlines()[-1] == "again.csv: 4 added, 10 already stored, 0 rejected (import 2)"
    changed = tmp_path / "changed.csv"
    changed.write_bytes(_excel_export(14, ["Parken", "Torget"]).replace(b"e3;", b"e3x;"))  # 13 conflicts, 1 new
    code, vout, verr = _cli(capsys, "validate", changed, "--db", db)
    code2, _, ierr = _cli(capsys, "import", changed, "--db", db)
    assert (code, code2) == (2, 2)
    assert verr.splitlines()[-1].removeprefix("tryggplan: error: ") == ierr.splitlines()[-1].removeprefix(
        "tryggplan: error: nothing imported: "
    )
    assert (
        "import would refuse the file and store nothing; with --skip-invalid it would add 1 incident(s) "
        "(0 already stored) and reject 13 row(s)" in vout
    )
    code, out, _ = _cli(capsys, "import", changed, "--db", db, "--skip-invalid")
    assert code == 0 and out.splitlines()[-1].startswith("changed.csv: 1 added, 0 already stored, 13 rejected")


def test_repeated_problems_are_summarised_by_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """80 rows naming places the town does not know (one of them also a date that does not exist): one line
    per kind, not 80 copies of the same fix."""
    db = f"sqlite:///{tmp_path / 't.db'}"
    places = tmp_path / "places.csv"
    places.write_text("place_id,name,municipality\nhamnen,Hamnen,Arboga\n")
    export = tmp_path / "export.csv"
    export.write_bytes(
        _excel_export(80, ["Torget", "Parken"]).replace(b"e79;2025-08-24;21:19", b"e79;2025-02-30;21:19")
    )
    code, out, err = _cli(capsys, "import", export, "--places", places, "--db", db)
    assert code == 2
    lines = err.splitlines()
    assert lines[:3] == [
        "export.csv: format excel, 80 row(s), 0 valid, 80 invalid",
        "problems per kind:",
        "  unknown_place: 80 (rows 2, 3, 4, 5, 6 and 75 more): unknown place 'Torget' -> add it to the places file "
        "(--places / the upload's places file), correct the place_id, or create the file's new places from their "
        "ids (--create-places / create_places=true)",
    ]
    assert lines[3].startswith("  bad_timestamp: 1 (row 81): ")
    assert len(lines) == 5  # the two kinds, then the one-line reason


# --------------------------------------------------------------------------- migration 0010


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_migration_0010_gives_imports_notes_and_jobs_their_town(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Rows stored before 0010 get the municipality of what they refer to; rows of several towns or of
    none stay area-wide (null)."""
    import sqlalchemy as sa

    from tests.support import PG_URL
    from tryggplan.storage.database import create_db_engine, upgrade_database

    if backend == "sqlite":
        url, kwargs = f"sqlite:///{tmp_path / 'old.db'}", {}
    else:
        url, kwargs = PG_URL, request.getfixturevalue("pg_schema")
    engine = create_db_engine(url, **kwargs)
    upgrade_database(engine, "0009")  # the newest revision before 0010
    at = dt.datetime(2025, 8, 1, 12, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for pid, town in (("k1", OTHER), ("k2", OTHER), ("a1", OWN)):
            conn.execute(
                sa.text("insert into places (place_id, name, municipality, updated_at) values (:p, :p, :m, :t)"),
                {"p": pid, "m": town, "t": at},
            )
        for import_id in (1, 2, 3):
            conn.execute(
                sa.text(
                    "insert into imports (id, actor, created_at, source_file, rows_added, rows_unchanged, "
                    "rows_rejected, places_upserted) values (:i, 'cli', :t, 'f.csv', 0, 0, 0, 0)"
                ),
                {"i": import_id, "t": at},
            )
        for iid, pid, import_id in (("x1", "k1", 1), ("x2", "k2", 1), ("x3", "k1", 2), ("x4", "a1", 2)):
            conn.execute(
                sa.text(
                    "insert into incidents (incident_id, occurred_at, place_id, weight, import_id) "
                    "values (:i, :t, :p, 1.0, :imp)"
                ),
                {"i": iid, "t": at, "p": pid, "imp": import_id},
            )
        for note_id, places in ((1, ["k1", "k2"]), (2, ["k1", "a1"]), (3, [])):
            conn.execute(
                sa.text(
                    "insert into situation_notes (id, at, text, place_ids, created_at) values (:i, :t, 'x', :p, :t)"
                ),
                {"i": note_id, "t": at, "p": json.dumps(places)},
            )
        for job_id, params in ((1, {"municipality": OWN}), (2, {"municipalities": [OTHER]}), (3, {})):
            conn.execute(
                sa.text(
                    "insert into jobs (id, kind, status, params, owner, created_at, cancel_requested) "
                    "values (:i, 'forecast', 'done', :p, 'cli', :t, :c)"
                ),
                {"i": job_id, "p": json.dumps(params), "t": at, "c": False},
            )
    upgrade_database(engine)
    try:
        with engine.connect() as conn:
            found = {
                table: dict(conn.execute(sa.text(f"select id, municipality from {table} order by id")).all())
                for table in ("imports", "situation_notes", "jobs")
            }
        assert found == {
            "imports": {1: OTHER, 2: None, 3: None},
            "situation_notes": {1: OTHER, 2: None, 3: None},
            "jobs": {1: OWN, 2: OTHER, 3: None},
        }
    finally:
        engine.dispose()
