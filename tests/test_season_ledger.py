"""The season ledger through the API and storage: records and corrections, the database's guards
(SQLite and PostgreSQL), the association links (offers, answers, calendar, revocation), plans made at
a moment from the ledger, the whole season placed and offered, municipalities (a Kungsör token),
the read cache, and the migration of the old one-record-per-plan-shift rows."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.support import PG_URL, auth, finished, set_clock
from tryggplan.allocation import demo_resources
from tryggplan.domain import InvalidInputError
from tryggplan.storage import ledger as stored
from tryggplan.storage.database import open_database, upgrade_database
from tryggplan.storage.incidents import import_incidents
from tryggplan.storage.tokens import create_token
from tryggplan.usecases import plans, season

TZ = ZoneInfo("Europe/Stockholm")


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)  # type: ignore[misc]


# --------------------------------------------------------------------------- a two-town area


PLACES = pd.DataFrame(
    {
        "place_id": ["torget", "parken", "stortorget", "kyrkparken"],
        "name": ["Torget", "Parken", "Stortorget", "Kyrkparken"],
        "municipality": ["Kungsör", "Kungsör", "Arboga", "Arboga"],
        "lat": [59.42, 59.421, 59.39, 59.391],
        "lon": [16.1, 16.101, 15.84, 15.841],
        "kind": ["square", "park", "square", "park"],
        "area": ["Centrum", "Centrum", "Centrum", "Centrum"],
    }
)


def incidents(days: int = 84, end: dt.date = dt.date(2025, 9, 1), seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(days):
        day = end - dt.timedelta(days=days - d)
        for k in range(int(rng.poisson(3.0 if day.weekday() in (4, 5) else 0.7))):
            when = pd.Timestamp(dt.datetime(day.year, day.month, day.day, int(rng.choice([20, 21, 22, 23]))), tz=TZ)
            rows.append((f"i{d}-{k}", when.tz_convert("UTC"), str(rng.choice(PLACES["place_id"])), "disorder"))
    frame = pd.DataFrame(rows, columns=["incident_id", "occurred_at", "place_id", "category"])
    return frame.assign(source="police", weight=1.0)


def town_spec(town: str) -> dict[str, Any]:
    return demo_resources(PLACES[PLACES["municipality"] == town])


@pytest.fixture
def area(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    """Two towns with a spec each (Kungsör's stored by its own token), an area-wide forecast, and tokens."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    import_incidents(engine, incidents(), PLACES)
    kungsor = create_token(engine, "coordinator", "Kungsör coordinator", ["Kungsör"])[0]
    kreader = create_token(engine, "reader", "Kungsör reader", ["Kungsör"])[0]
    admin = auth(tokens["admin"])
    r = client.post("/api/v1/forecasts", json={"model": "how_mean", "start": "2025-09-01", "days": 14}, headers=admin)
    assert r.status_code == 202
    assert finished(client, f"/api/v1/forecasts/{r.json()['id']}", admin)["status"] == "done"
    k = client.post("/api/v1/resources", json={"name": "Kungsör", "spec": town_spec("Kungsör")}, headers=auth(kungsor))
    a = client.post(
        "/api/v1/resources",
        json={"name": "Arboga", "spec": town_spec("Arboga"), "municipality": "Arboga"},
        headers=admin,
    )
    assert (k.status_code, a.status_code) == (201, 201), (k.text, a.text)
    assert (k.json()["municipality"], a.json()["municipality"]) == ("Kungsör", "Arboga")
    return {"kungsor": auth(kungsor), "kreader": auth(kreader), "admin": admin, "k": k.json(), "a": a.json()}


def test_a_kungsor_token_keeps_to_kungsor(client: TestClient, area: dict[str, Any]) -> None:
    k, admin = area["kungsor"], area["admin"]
    other = (
        "this token is for Kungsör: it may not read or change 'Arboga'; use a token for that municipality or an "
        "area-wide one"
    )
    # resources: its own only
    assert [r["name"] for r in client.get("/api/v1/resources", headers=k).json()] == ["Kungsör"]
    assert {r["name"] for r in client.get("/api/v1/resources", headers=admin).json()} == {"Kungsör", "Arboga"}
    r = client.get(f"/api/v1/resources/{area['a']['id']}", headers=k)
    assert r.status_code == 403 and r.json()["detail"] == (
        f"this token is for Kungsör: resources spec {area['a']['id']} is not theirs; "
        "use a token for that municipality or an area-wide one"
    )
    assert (
        client.put(f"/api/v1/resources/{area['a']['id']}", json={"spec": town_spec("Arboga")}, headers=k).status_code
        == 403
    )
    # the season: its own by default, 403 naming another, and an area-wide token must name one
    assert client.get("/api/v1/season", headers=k).json()["municipality"] == "Kungsör"
    assert client.get("/api/v1/season", headers=area["kreader"]).json()["municipality"] == "Kungsör"
    for method, url, body in [
        ("GET", "/api/v1/season?municipality=Arboga", None),
        ("GET", "/api/v1/season/walks?municipality=Arboga", None),
        ("GET", "/api/v1/season/payouts.csv?municipality=Arboga", None),
        ("GET", "/api/v1/season/offers?municipality=Arboga", None),
        (
            "POST",
            "/api/v1/season/walks",
            {"association": "Lions", "night": "2025-08-29", "status": "completed", "municipality": "Arboga"},
        ),
        ("POST", "/api/v1/season/payouts", {"association": "Lions", "municipality": "Arboga"}),
        ("POST", "/api/v1/season/links", {"association": "Lions", "municipality": "Arboga"}),
        ("POST", "/api/v1/plans", {"week": "2025-W36", "municipality": "Arboga"}),
        ("POST", "/api/v1/plans", {"week": "2025-W36", "resource_id": area["a"]["id"]}),
    ]:
        r = client.request(method, url, json=body, headers=k)
        assert r.status_code == 403, (url, r.text)
        if "resource_id" not in (body or {}):
            assert r.json()["detail"] == other, url
    r = client.get("/api/v1/season", headers=admin)
    assert r.status_code == 422 and r.json()["detail"] == (
        "seasons are kept for several municipalities (Arboga, Kungsör): name one (municipality=..., --municipality)"
    )
    # plans: each town's own places, and the Kungsör token sees only Kungsör's
    mine = client.post("/api/v1/plans", json={"week": "2025-W36"}, headers=k)
    theirs = client.post("/api/v1/plans", json={"week": "2025-W36", "municipality": "Arboga"}, headers=admin)
    assert (mine.status_code, theirs.status_code) == (201, 201), (mine.text, theirs.text)
    assert (mine.json()["municipality"], theirs.json()["municipality"]) == ("Kungsör", "Arboga")
    assert {p for s in mine.json()["plan"]["shifts"] for p in s["place_ids"]} <= {"torget", "parken"}
    assert {p for s in theirs.json()["plan"]["shifts"] for p in s["place_ids"]} <= {"stortorget", "kyrkparken"}
    assert [p["id"] for p in client.get("/api/v1/plans", headers=k).json()] == [mine.json()["id"]]
    assert client.get("/api/v1/plans/current", headers=k).json()["id"] == mine.json()["id"]
    for url in ("", "/plan.ics", "/plan.csv", "/walks"):
        r = client.get(f"/api/v1/plans/{theirs.json()['id']}{url}", headers=k)
        # refused without saying whose the plan is
        assert r.status_code == 403 and f"plan {theirs.json()['id']} is not theirs" in r.json()["detail"], url
        assert "Arboga" not in r.json()["detail"], url
    assert client.post(f"/api/v1/plans/{theirs.json()['id']}/publish", headers=k).status_code == 403
    # the ledgers are apart: a walk recorded in Kungsör leaves Arboga's season as it was (same association names)
    set_clock(client, local(2025, 9, 1, 12))
    r = client.post(
        "/api/v1/season/walks", json={"association": "Lions", "night": "2025-08-29", "status": "completed"}, headers=k
    )
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/season", headers=k).json()["walks_done"] == 1
    assert client.get("/api/v1/season?municipality=Arboga", headers=admin).json()["walks_done"] == 0
    link = client.post("/api/v1/season/links", json={"association": "Lions", "municipality": "Arboga"}, headers=admin)
    assert client.delete(f"/api/v1/season/links/{link.json()['id']}", headers=k).status_code == 403
    assert [x["association"] for x in client.get("/api/v1/season/links", headers=k).json()] == []


# --------------------------------------------------------------------------- records, corrections, guards


def test_records_corrections_and_their_refusals(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    c, h = demo_client, auth(demo_tokens["coordinator"])
    set_clock(c, local(2025, 12, 3, 12))
    walk = {"association": "Lions", "night": "2025-11-27", "status": "completed", "note": "before the tool"}
    first = c.post("/api/v1/season/walks", json=walk, headers=h)
    assert first.status_code == 201 and first.json()["actor"].endswith(":test coordinator")
    again = c.post("/api/v1/season/walks", json=walk, headers=h)
    rid = first.json()["id"]
    assert again.status_code == 422 and again.json()["detail"] == (
        f"the walk of 'Lions' on the night of 2025-11-27 is already recorded as completed by "
        f"{first.json()['actor']} at 2025-12-03 12:00 (record {rid}): to correct it, record it again with "
        f"corrects={rid}"
    )
    fixed = c.post("/api/v1/season/walks", json={**walk, "status": "no_show", "corrects": rid}, headers=h)
    assert fixed.status_code == 201 and fixed.json()["corrects"] == rid
    stale = c.post("/api/v1/season/walks", json={**walk, "status": "cancelled", "corrects": rid}, headers=h)
    assert stale.status_code == 422 and stale.json()["detail"] == (
        f"record {rid} is not the current record of the walk of 'Lions' on the night of 2025-11-27: the current one "
        f"is record {fixed.json()['id']} (no_show); correct that one"
    )
    s = c.get("/api/v1/season", headers=auth(demo_tokens["reader"])).json()
    assert (s["walks_done"], s["walks_no_show"], s["owed_sek"]) == (0, 1, 0.0)
    trail = c.get("/api/v1/season/walks", headers=auth(demo_tokens["reader"])).json()
    assert [(w["status"], w["corrects"]) for w in trail] == [("completed", None), ("no_show", rid)]
    for body, message in [
        ({**walk, "association": "Rotary"}, "unknown association 'Rotary': use one of ["),
        ({**walk, "area": "Månen"}, "unknown area 'Månen': use one of ["),
        ({**walk, "night": "2025-12-04"}, "has not ended yet: it can be recorded as completed from 2025-12-05 02:00"),
        ({**walk, "shift_index": 0}, "shift_index needs plan_id: name the plan the shift belongs to"),
        ({**walk, "plan_id": 1, "night": "2025-12-08"}, "plan 1 has no walk of 'Lions' on the night of 2025-12-08"),
        ({**walk, "corrects": 99}, "record 99 is not the current record of the walk of 'Lions'"),
    ]:
        r = c.post("/api/v1/season/walks", json=body, headers=h)
        assert r.status_code == 422 and message in r.json()["detail"], (body, r.text)
    assert c.post("/api/v1/season/walks", json={**walk, "status": "done"}, headers=h).status_code == 422
    assert c.post("/api/v1/season/walks", json={**walk, "night": "27/11"}, headers=h).status_code == 422


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = open_database(f"sqlite:///{tmp_path / 'ledger.db'}")
    else:
        eng = open_database(PG_URL, **request.getfixturevalue("pg_schema"))
    plans.store_resources(eng, "town", town_spec("Kungsör"), "test")
    yield eng
    eng.dispose()


def test_the_database_refuses_double_records_that_race_past_the_checks(engine: sa.Engine) -> None:
    at = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    walk = {
        "association": "Lions",
        "night": dt.date(2025, 8, 29),
        "status": "completed",
        "recorded_at": at,
        "actor": "t",
    }
    with pytest.raises(InvalidInputError, match="was recorded by someone else a moment ago"):
        with stored.writing(engine, None) as w:
            w.add_record(**walk)
            w.add_record(**walk)  # the partial unique index: one first record per walk
    with stored.writing(engine, None) as w:
        first = w.add_record(**walk)
    with pytest.raises(InvalidInputError, match="was recorded by someone else a moment ago"):
        with stored.writing(engine, None) as w:
            w.add_record(**{**walk, "status": "no_show", "corrects": first.id})
            w.add_record(**{**walk, "status": "cancelled", "corrects": first.id})  # a record is corrected once
    with pytest.raises(InvalidInputError, match="was paid by someone else a moment ago"):
        with stored.writing(engine, None) as w:
            w.add_payout("Lions", [walk["night"]], 1000.0, at, "t")
            w.add_payout("Lions", [walk["night"]], 1000.0, at, "t")  # a walk is paid once
    assert [r.id for r in stored.read_ledger(engine, None).records] == [first.id]  # nothing else was kept


def test_concurrent_recordings_and_payouts_store_one(engine: sa.Engine) -> None:
    s = season.season_of(engine, None)
    now = dt.datetime(2025, 9, 1, 12, tzinfo=dt.UTC)
    barrier = threading.Barrier(6)
    outcomes: list[object] = [None] * 6

    def run(i: int) -> None:
        barrier.wait()
        try:
            if i < 3:
                outcomes[i] = season.record_walk(
                    engine,
                    s,
                    association="Lions",
                    night=dt.date(2025, 8, 29),
                    status="completed",
                    actor=f"c{i}",
                    now=now,
                ).record.id
            else:
                outcomes[i] = season.record_walk(
                    engine,
                    s,
                    association="Lions",
                    night=dt.date(2025, 8, 30),
                    status="completed",
                    actor=f"c{i}",
                    now=now,
                ).record.id
        except InvalidInputError as exc:
            outcomes[i] = str(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for group in (outcomes[:3], outcomes[3:]):
        stored_ids = [o for o in group if isinstance(o, int)]
        assert len(stored_ids) == 1, group
        assert all("is already recorded as completed by" in str(o) for o in group if not isinstance(o, int))
    paid: list[object] = [None] * 3
    barrier = threading.Barrier(3)

    def pay(i: int) -> None:
        barrier.wait()
        try:
            paid[i] = season.pay(engine, s, "Lions", actor=f"c{i}", now=now).amount_sek
        except InvalidInputError as exc:
            paid[i] = str(exc)

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    nothing = "'Lions' has no completed, unpaid walks: nothing to pay"
    assert sorted(map(str, paid)) == sorted(["2000.0", nothing, nothing])
    figures = season.status(engine, s)
    assert (figures.walks_done, figures.owed_sek, figures.paid_sek) == (2, 0.0, 2000.0)


# --------------------------------------------------------------------------- links, offers, answers


def test_association_links(
    demo_client: TestClient, demo_tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    c, h = demo_client, auth(demo_tokens["coordinator"])
    plan = c.get("/api/v1/plans/1", headers=h).json()
    walk = next(s for s in plan["plan"]["shifts"] if s["kind"] == "night_walk")
    published = c.post("/api/v1/plans/1/publish", headers=h)
    assert published.status_code == 200 and published.json()["plan"]["state"] == "published"
    made = c.post("/api/v1/season/links", json={"association": walk["association"]}, headers=h)
    assert made.status_code == 201
    secret = made.json()["secret"]
    assert made.json()["offers_url"] == f"/api/v1/associations/{secret}/offers"
    assert c.post("/api/v1/season/links", json={"association": "Rotary"}, headers=h).status_code == 422
    assert (
        c.post(
            "/api/v1/season/links", json={"association": walk["association"]}, headers=auth(demo_tokens["reader"])
        ).status_code
        == 403
    )
    listed = c.get("/api/v1/season/links", headers=h).json()
    assert [x["prefix"] for x in listed] == [secret[:8]] and "secret" not in listed[0]
    with caplog.at_level(logging.INFO, logger="tryggplan.service.access"):
        mine = c.get(f"/api/v1/associations/{secret}/offers")
    assert mine.status_code == 200 and mine.json()["association"] == walk["association"]
    assert secret not in caplog.text and "/api/v1/associations/***/offers" in caplog.text
    offer = next(o for o in mine.json()["offers"] if o["night"] == walk["night"])
    assert (offer["status"], offer["start"]) == ("offered", walk["start"])  # local time, as the plan says
    other = c.post(
        "/api/v1/season/links",
        json={"association": "Föräldragruppen" if walk["association"] != "Föräldragruppen" else "Lions"},
        headers=h,
    ).json()
    r = c.post(f"/api/v1/associations/{other['secret']}/offers/{offer['id']}", json={"answer": "accept"})
    assert r.status_code == 404  # not its walk
    r = c.post(f"/api/v1/associations/{secret}/offers/{offer['id']}", json={"answer": "accept"})
    assert r.status_code == 200 and r.json()["offer"]["status"] == "accepted"
    again = c.post(f"/api/v1/associations/{secret}/offers/{offer['id']}", json={"answer": "accept"})
    assert again.status_code == 200 and again.json()["notes"] == [
        f"the walk on the night of {walk['night']} was already accepted"
    ]
    cal = c.get(f"/api/v1/associations/{secret}/walks.ics")
    assert cal.status_code == 200 and cal.headers["content-type"].startswith("text/calendar")
    assert cal.text.count("BEGIN:VEVENT") == 1 and f"X-WR-CALNAME:Nattvandringar: {walk['association']}" in cal.text
    assert "X-WR-CALNAME:Night walks: " in c.get(f"/api/v1/associations/{secret}/walks.ics?lang=en").text
    # an accepted walk is pinned in every later plan of its week
    replanned = c.post("/api/v1/plans", json={"week": plan["week"]}, headers=h).json()
    kept = [
        s
        for s in replanned["plan"]["shifts"]
        if (s.get("association"), s.get("night")) == (walk["association"], walk["night"])
    ]
    assert [(s["area"], s["template"], s["pinned"]) for s in kept] == [(walk["area"], walk["template"], True)]
    # too late to answer once it began; revoked: 404
    set_clock(c, dt.datetime.fromisoformat(walk["start"]))
    late = c.post(f"/api/v1/associations/{secret}/offers/{offer['id']}", json={"answer": "decline"})
    assert (
        late.status_code == 422 and "it can no longer be answered here; tell the coordinator" in late.json()["detail"]
    )
    gone = c.delete(f"/api/v1/season/links/{made.json()['id']}", headers=h)
    assert gone.status_code == 200 and gone.json()["revoked"] is True, gone.text
    for url in (f"/api/v1/associations/{secret}/offers", f"/api/v1/associations/{secret}/walks.ics"):
        r = c.get(url)
        assert (
            r.status_code == 404 and r.json()["detail"] == "unknown or revoked link: ask the coordinator for a new one"
        )
    assert c.get("/api/v1/associations/ta_unknown-secret/offers", headers=h).status_code == 404


def test_publishing_again_withdraws_what_a_newer_plan_drops(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    c, h = demo_client, auth(demo_tokens["coordinator"])
    first = c.post("/api/v1/plans/1/publish", headers=h).json()
    keys = {(o["association"], o["night"]) for o in first["offered"]}
    assert keys and all(o["status"] == "offered" for o in first["offered"])
    newer = c.post("/api/v1/plans", json={"week": "2025-W50", "walks": 1}, headers=h).json()
    second = c.post(f"/api/v1/plans/{newer['id']}/publish", headers=h).json()
    kept = {(o["association"], o["night"]) for o in second["offered"]}
    withdrawn = {(o["association"], o["night"]) for o in second["withdrawn"]}
    assert len(kept) == 1 and withdrawn == keys - kept
    assert c.get("/api/v1/plans/1", headers=h).json()["state"] == "superseded"
    s = c.get("/api/v1/season", headers=h).json()
    assert s["walks_planned"] == 1 and s["pot_left_sek"] == s["pot_sek"] - 1000.0


# --------------------------------------------------------------------------- plans at a moment, from the ledger


def test_a_plan_made_mid_week_looks_forward_and_spends_what_is_left(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    c, h = demo_client, auth(demo_tokens["coordinator"])
    assert c.post("/api/v1/plans/1/publish", headers=h).status_code == 200
    first = c.get("/api/v1/plans/1", headers=h).json()["plan"]
    now = local(2025, 12, 12, 23)  # Friday night of 2025-W50
    set_clock(c, now)
    spent = sum(s["cost_sek"] for s in first["shifts"] if dt.datetime.fromisoformat(s["start"]) < now)
    assert spent > 0
    r = c.post("/api/v1/plans", json={"week": "2025-W50"}, headers=h)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert dt.datetime.fromisoformat(plan["created_at"]) == now
    assert all(dt.datetime.fromisoformat(s["start"]) >= now for s in plan["plan"]["shifts"])
    assert plan["plan"]["spent_sek"] == spent
    assert (
        f"budget: 12000 SEK for the week - {spent:.0f} SEK already spent on shifts that started before the plan = "
        f"{12000 - spent:.0f} SEK left"
    ) in plan["warnings"]
    assert plan["plan"]["cost_sek"] <= 12000 - spent


def test_without_a_season_block_a_plan_takes_the_walks_it_is_given(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    c, h = demo_client, auth(demo_tokens["coordinator"])
    spec = c.get("/api/v1/resources/1", headers=h).json()["spec"]
    spec.pop("season")
    assert c.post("/api/v1/resources", json={"name": "no season", "spec": spec}, headers=h).status_code == 201
    r = c.post("/api/v1/plans", json={"week": "2025-W50"}, headers=h)
    assert r.status_code == 422 and r.json()["detail"] == (
        "the resources have no 'season' block, so the number of walks is unknown: give the week's walks (the "
        "'walks' field of POST /api/v1/plans, or --walks of `tryggplan plan`), or add a season block to the "
        "resources, e.g. season: {walks: 40, until: 2026-12-31}"
    )
    r = c.post("/api/v1/plans", json={"week": "2025-W50", "walks": 2}, headers=h)
    assert r.status_code == 201 and r.json()["plan"]["walks"] == 2
    s = c.get("/api/v1/season", headers=h).json()
    assert (s["walks_total"], s["walks_left"], s["pot_sek"]) == (None, None, None)
    assert s["warnings"][0].startswith("the resources have no 'season' block")
    sv = c.get("/api/v1/season", headers={**h, "Accept-Language": "sv"}).json()
    assert sv["warnings"] == [
        "resursfilen saknar blocket 'season': kvoten, potten och återstående pass är okända; lägg till "
        "season: {walks: N, until: ÅÅÅÅ-MM-DD} i resursfilen"
    ]


def test_the_whole_season_is_placed_offered_and_repaced_around_accepted_walks(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    c, h = demo_client, auth(demo_tokens["coordinator"])
    r = c.post("/api/v1/plans", json={"week": "2025-W50", "kind": "season"}, headers=h)
    assert r.status_code == 201, r.text
    doc = r.json()["plan"]
    placed = doc["placed"]
    assert len(placed) == doc["planned_walks"] == 40 and {p["source"] for p in placed} == {"forecast", "profile"}
    assert all({"week", "night", "association", "area", "template", "start", "end"} <= set(p) for p in placed)
    out = c.post(f"/api/v1/plans/{r.json()['id']}/publish", headers=h).json()
    assert len(out["offered"]) == 40 and max(o["night"] for o in out["offered"]) > "2026-03-01"  # months ahead
    s = c.get("/api/v1/season", headers=h).json()
    assert (s["walks_planned"], s["walks_left"], s["pot_left_sek"]) == (40, 0, 0.0)
    # three associations accept their first walks; a new forecast re-paces only the rest
    accepted = []
    for o in out["offered"][:3]:
        secret = c.post("/api/v1/season/links", json={"association": o["association"]}, headers=h).json()["secret"]
        assert c.post(f"/api/v1/associations/{secret}/offers/{o['id']}", json={"answer": "accept"}).status_code == 200
        accepted.append((o["association"], o["night"], o["area"], o["template"]))
    run = c.post(
        "/api/v1/forecasts",
        json={"model": "how_mean", "start": "2025-12-03", "days": 28},
        headers=auth(demo_tokens["analyst"]),
    )
    assert run.status_code == 202
    assert finished(c, f"/api/v1/forecasts/{run.json()['id']}", h)["status"] == "done"
    again = c.post("/api/v1/plans", json={"week": "2025-W50", "kind": "season"}, headers=h).json()
    assert again["forecast_run_id"] == run.json()["id"]
    keys = {(p["association"], p["night"], p["area"], p["template"]) for p in again["plan"]["placed"]}
    assert set(accepted) <= keys and len(again["plan"]["placed"]) == 40
    assert all(
        p["accepted"]
        for p in again["plan"]["placed"]
        if (p["association"], p["night"], p["area"], p["template"]) in set(accepted)
    )


def test_the_read_cache_follows_publishing(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    import time

    c, r = demo_client, auth(demo_tokens["reader"])
    assert c.get("/api/v1/plans/1", headers=r).json()["state"] == "draft"
    assert c.get("/api/v1/plans/1", headers=r).json()["state"] == "draft"  # now from the cache
    assert c.post("/api/v1/plans/1/publish", headers=auth(demo_tokens["coordinator"])).status_code == 200
    time.sleep(1.1)  # the cache re-reads the data generation at least every second
    assert c.get("/api/v1/plans/1", headers=r).json()["state"] == "published"


# --------------------------------------------------------------------------- migration 0004


def test_old_walk_records_move_into_the_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = sa.create_engine(url)
    upgrade_database(eng, "0003")
    shifts = [
        {"kind": "guard", "start": "2025-12-05T20:00:00+01:00", "place_ids": ["p"]},
        {"kind": "night_walk", "association": "Lions", "night": "2025-12-05", "area": "Centrum",
         "start": "2025-12-05T20:00:00+01:00", "end": "2025-12-06T00:00:00+01:00"},
    ]  # fmt: skip
    walks = sa.table(*("walk_records", *(sa.column(c) for c in ("id", "plan_id", "shift_index", "status", "note"))),
                     sa.column("recorded_at", sa.DateTime()), sa.column("actor"))  # fmt: skip
    at = dt.datetime(2025, 12, 1, 10)
    with eng.begin() as conn:
        conn.execute(sa.table("resources", *map(sa.column, ("id", "name", "spec", "created_at"))).insert(),
                     {"id": 1, "name": "r", "spec": "{}", "created_at": at})  # fmt: skip
        run = sa.table("forecast_runs", *map(sa.column, ("id", "status", "model", "start_date", "days", "tz")),
                       sa.column("created_at"))  # fmt: skip
        conn.execute(run.insert(), {"id": 1, "status": "done", "model": "m", "start_date": dt.date(2025, 12, 1),
                                    "days": 7, "tz": "Europe/Stockholm", "created_at": at})  # fmt: skip
        cols = ("id", "kind", "week", "status", "resource_id", "forecast_run_id", "parent_id", "plan", "created_at")
        for pid, parent in ((1, None), (2, 1)):
            conn.execute(sa.table("plans", *map(sa.column, cols)).insert(),
                         {"id": pid, "kind": "week", "week": "2025-W49", "status": "optimal", "resource_id": 1,
                          "forecast_run_id": 1, "parent_id": parent, "plan": json.dumps({"shifts": shifts}),
                          "created_at": at})  # fmt: skip
        for row in [
            (1, 1, 1, "cancelled", "sick", dt.datetime(2025, 12, 2, 9), "token:1:a"),
            (2, 2, 1, "completed", None, dt.datetime(2025, 12, 6, 9), None),  # the same walk, on the re-made plan
            (3, 2, 7, "completed", None, dt.datetime(2025, 12, 6, 10), "token:1:a"),  # a shift the plan lacks
        ]:
            conn.execute(
                walks.insert(),
                dict(zip(("id", "plan_id", "shift_index", "status", "note", "recorded_at", "actor"), row, strict=True)),
            )
    eng.dispose()
    engine = open_database(url)
    try:
        rows = stored.read_ledger(engine, None).records
        got = [
            (r.id, r.association, str(r.night), r.status, r.area, r.plan_id, r.shift_index, r.corrects, r.actor, r.note)
            for r in rows
        ]
        assert got == [
            (1, "Lions", "2025-12-05", "cancelled", "Centrum", 1, 1, None, "token:1:a", "sick"),
            (2, "Lions", "2025-12-05", "completed", "Centrum", 2, 1, 1, "unknown", None),
            (
                3,
                "(plan 2, shift 7)",
                "2025-12-06",
                "completed",
                None,
                2,
                7,
                None,
                "token:1:a",
                "migrated: the plan's shift names no walk",
            ),
        ]
        with stored.writing(engine, None) as w:  # new ids continue after the carried-over ones
            assert w.add_record(association="Lions", night=dt.date(2025, 12, 12), status="cancelled",
                                recorded_at=dt.datetime(2025, 12, 8, tzinfo=dt.UTC), actor="t").id == 4  # fmt: skip
        assert [r.id for r in plans.walks_of(engine, "2")] == [2, 3]
    finally:
        engine.dispose()


def test_the_old_storage_call_writes_the_ledger(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    """``storage.plans.record_walk`` (the old one-record-per-shift call, kept for its callers) stores a ledger
    record of the shift's walk; a second one of the same walk is refused by the database."""
    from tryggplan.storage import plans as stored_plans

    engine = demo_client.app.state.engine  # type: ignore[attr-defined]
    plan = demo_client.get("/api/v1/plans/1", headers=auth(demo_tokens["reader"])).json()
    index = next(i for i, s in enumerate(plan["plan"]["shifts"]) if s["kind"] == "night_walk")
    walk, _ = stored_plans.record_walk(engine, 1, index, "completed", None, "test")
    shift = plan["plan"]["shifts"][index]
    assert (walk.association, str(walk.night), walk.plan_id, walk.shift_index) == (
        shift["association"], shift["night"], 1, index,
    )  # fmt: skip
    with pytest.raises(InvalidInputError, match=f"the walk of shift {index} of plan 1 is already recorded"):
        stored_plans.record_walk(engine, 1, index, "cancelled", None, "test")
    with pytest.raises(InvalidInputError, match="plan 1 has no night walk at shift 999"):
        stored_plans.record_walk(engine, 1, 999, "completed", None, "test")
    assert demo_client.get("/api/v1/season", headers=auth(demo_tokens["reader"])).json()["walks_done"] == 1
