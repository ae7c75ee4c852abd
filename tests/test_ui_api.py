"""Issue 15 behind the pages: reporters (create incidents, read only their own, who and when stored, in
the next forecast; scoped tokens keep to their town), download sessions (a signed HttpOnly cookie that
opens only file downloads), Swedish problems on request, the category list, aggregates by category,
town levels on the map, windows and plan exports in Swedish, the tile setting in the CSP, and the
static files (Leaflet vendored)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tests.support import GOOD_CSV, PLACES_CSV, auth, finished, synthetic_incidents, upload
from tryggplan.domain import InvalidInputError, Problem
from tryggplan.i18n import category_label, negotiate_lang, problem_text, request_lang
from tryggplan.service.app import content_security_policy, create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.incidents import import_incidents
from tryggplan.storage.tokens import create_token, revoke_token
from tryggplan.usecases.access import authenticate
from tryggplan.usecases.forecasts import town_levels
from tryggplan.usecases.sessions import SESSION_COOKIE, open_session, session_principal

KOPING = "place_id,name,municipality,lat,lon,kind,area\ntorget,Stora torget,Köping,59.51,15.99,square,centrum\n"


def _incident(iid: str, place: str = "parken", when: str = "2025-08-20 21:30", **extra: object) -> dict[str, object]:
    return {"incident_id": iid, "occurred_at": when, "place_id": place, "category": "vandalism", **extra}


@pytest.fixture
def town(client: TestClient, tokens: dict[str, str]) -> TestClient:
    """Two places in Arboga and one in Köping, three incidents uploaded by the admin."""
    r = upload(client, tokens["admin"], "incidents.csv", GOOD_CSV.encode(), PLACES_CSV.encode())
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    places = [dict(zip(KOPING.splitlines()[0].split(","), KOPING.splitlines()[1].split(","), strict=True))]
    r = client.post("/api/v1/incidents", json={"incidents": [], "places": places}, headers=auth(tokens["admin"]))
    assert r.status_code == 201, r.text
    return client


# --------------------------------------------------------------------------- reporters


def test_a_reporter_creates_incidents_and_reads_only_its_own(town: TestClient, tokens: dict[str, str]) -> None:
    engine = town.app.state.engine  # type: ignore[attr-defined]
    other = create_token(engine, "reporter", "Bertil")[0]
    mine = auth(tokens["reporter"])
    r = town.post(
        "/api/v1/incidents", json={"incidents": [_incident("r-1", note="Klotter\r\npå  väggen")]}, headers=mine
    )
    assert r.status_code == 201 and (r.json()["added"], r.json()["places_upserted"]) == (1, 0)

    own = town.get("/api/v1/incidents", headers=mine).json()
    assert own["total"] == 1
    row = own["incidents"][0]
    assert (row["incident_id"], row["source"], row["note"]) == ("r-1", "reporter", "Klotter på väggen")
    assert re.fullmatch(r"token:\d+:test reporter", row["created_by"])
    assert dt.datetime.fromisoformat(row["created_at"]) > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert town.get("/api/v1/incidents", headers=auth(other)).json()["total"] == 0
    everything = town.get("/api/v1/incidents", headers=auth(tokens["analyst"])).json()
    assert everything["total"] == 4
    assert {i["created_by"].split(":")[-1] for i in everything["incidents"]} == {"test admin", "test reporter"}

    # sending it again (a flaky phone) stores nothing more; other content under the same id is refused
    again = town.post("/api/v1/incidents", json={"incidents": [_incident("r-1", note="igen")]}, headers=mine)
    assert (again.status_code, again.json()["added"], again.json()["unchanged"]) == (201, 0, 1)
    changed = town.post("/api/v1/incidents", json={"incidents": [_incident("r-1", place="skolan")]}, headers=mine)
    assert changed.status_code == 422 and changed.json()["problems"][0]["kind"] == "duplicate_id"


def test_a_reporter_may_not_create_places_nor_read_anything_else(town: TestClient, tokens: dict[str, str]) -> None:
    mine = auth(tokens["reporter"])
    body = {"incidents": [_incident("r-2", place="ny")], "places": [{"place_id": "ny", "name": "Ny plats"}]}
    r = town.post("/api/v1/incidents", json=body, headers=mine)
    assert r.status_code == 403
    assert r.json()["detail"].startswith("a reporter may not create or change places")
    for path in (
        "/api/v1/forecasts/latest/grid",
        "/api/v1/aggregates/incidents",
        "/api/v1/plans/current",
        "/api/v1/imports",
    ):
        assert town.get(path, headers=mine).status_code == 403, path
    files = {"file": ("x.csv", GOOD_CSV.encode(), "text/csv")}
    assert town.post("/api/v1/incidents/upload", files=files, headers=mine).status_code == 403
    assert [p["place_id"] for p in town.get("/api/v1/places", headers=mine).json()] == ["parken", "skolan", "torget"]
    cats = town.get("/api/v1/categories", headers=mine).json()["categories"]
    assert cats[0] == {"category": "assault", "label": "Misshandel", "count": None}


def test_a_scoped_reporter_keeps_to_its_municipality(town: TestClient, tokens: dict[str, str]) -> None:
    engine = town.app.state.engine  # type: ignore[attr-defined]
    arboga = auth(create_token(engine, "reporter", "Arboga-rapportör", ["Arboga"])[0])
    r = town.post("/api/v1/incidents", json={"incidents": [_incident("k-1", place="torget")]}, headers=arboga)
    assert r.status_code == 403 and "place(s) 'torget' are not theirs" in r.json()["detail"]
    assert town.post("/api/v1/incidents", json={"incidents": [_incident("a-1")]}, headers=arboga).status_code == 201
    assert [p["place_id"] for p in town.get("/api/v1/places", headers=arboga).json()] == ["parken", "skolan"]
    assert town.get("/api/v1/places?municipality=Köping", headers=arboga).status_code == 403


@pytest.mark.parametrize(
    ("record", "column", "message", "fix"),
    [
        (
            _incident("b1", place="bron"),
            "place_id",
            "platsen ”bron” finns inte",
            "lägg till platsen i platsfilen eller rätta platsen",
        ),
        (
            _incident("b2", when="2025-13-01 21:00"),
            "occurred_at",
            "occurred_at: ”2025-13-01 21:00” är ingen tidpunkt: månad 13 finns inte",
            "skriv lokal tid som ÅÅÅÅ-MM-DD TT:MM (t.ex. 2025-08-15 21:10) eller ISO 8601 med tidszon "
            "(t.ex. 2025-08-15T21:10:00+02:00)",
        ),
        (_incident("b3", place=""), "place_id", "place_id är tom", "ange platsen för varje händelse"),
        (
            _incident("b4", note="x" * 501),
            "note",
            "note: texten är för lång",
            "korta texten till högst 500 tecken",
        ),
        (
            _incident("b5", when="2090-06-01 23:00"),
            "occurred_at",
            None,
            "kontrollera året och klockan i systemet som exporterade filen",
        ),
    ],
)
def test_a_reporters_mistakes_are_explained_in_swedish(
    town: TestClient, tokens: dict[str, str], record: dict[str, object], column: str, message: str | None, fix: str
) -> None:
    headers = {**auth(tokens["reporter"]), "Accept-Language": "sv-SE,sv;q=0.9"}
    r = town.post("/api/v1/incidents", json={"incidents": [record]}, headers=headers)
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert (problem["row"], problem["column"], problem["fix"]) == (1, column, fix)
    if message is None:  # the limit in the message moves with the clock
        assert re.fullmatch(
            r"occurred_at: ”2090-06-01 23:00” ligger i framtiden \(efter [0-9: -]+ UTC\)", problem["message"]
        )
    else:
        assert problem["message"] == message
    assert r.json()["detail"].startswith("uppgifterna kunde inte användas, inget sparades: 1 problem; första: rad 1")
    english = town.post("/api/v1/incidents", json={"incidents": [record]}, headers=auth(tokens["reporter"]))
    assert english.json()["problems"][0]["message"] != problem["message"]  # English unless asked
    asked = town.post("/api/v1/incidents?lang=sv", json={"incidents": [record]}, headers=auth(tokens["reporter"]))
    assert asked.json()["problems"][0]["message"] == problem["message"]


def test_a_reporters_incidents_are_in_the_next_forecast(client: TestClient, tokens: dict[str, str]) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    import_incidents(engine, synthetic_incidents(), pd.read_csv(__import__("io").StringIO(PLACES_CSV)), actor="cli")
    analyst = auth(tokens["analyst"])

    def skolan_expected() -> float:
        r = client.post("/api/v1/forecasts", json={"start": "2025-09-01", "days": 7}, headers=analyst)
        assert r.status_code == 202, r.text
        assert finished(client, f"/api/v1/forecasts/{r.json()['id']}", analyst)["status"] == "done"
        grid = client.get(f"/api/v1/forecasts/{r.json()['id']}/grid?place_id=skolan", headers=analyst).json()
        return sum(row["expected"] for row in grid["rows"])

    before = skolan_expected()
    seen = [_incident(f"rap-{d}", place="skolan", when=f"2025-08-{d} 22:15") for d in range(25, 32)]
    r = client.post("/api/v1/incidents", json={"incidents": seen}, headers=auth(tokens["reporter"]))
    assert r.status_code == 201 and r.json()["added"] == 7
    assert skolan_expected() > before * 1.2


# --------------------------------------------------------------------------- download sessions


def test_the_session_cookie_opens_downloads_only(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    c = demo_client
    r = c.post("/api/v1/session", headers=auth(demo_tokens["reader"]))
    assert r.status_code == 200 and r.json()["role"] == "reader"
    cookie = r.headers["set-cookie"]
    for part in (f"{SESSION_COOKIE}=", "HttpOnly", "Max-Age=28800", "Path=/api/v1", "SameSite=strict"):
        assert part in cookie, part
    plan = c.get("/api/v1/plans/current", headers=auth(demo_tokens["reader"])).json()["id"]
    # the test client keeps the cookie like a browser; no Authorization header from here on
    assert c.get(f"/api/v1/plans/{plan}/plan.csv").status_code == 200
    ics = c.get(f"/api/v1/plans/{plan}/plan.ics")
    assert ics.status_code == 200 and "BEGIN:VCALENDAR" in ics.text
    assert c.get("/api/v1/plans/current").status_code == 401  # JSON is not a download
    assert c.post("/api/v1/plans", json={"week": "2025-W50"}).status_code == 401  # never a change
    # revoking the token ends its sessions at once
    engine = c.app.state.engine  # type: ignore[attr-defined]
    revoke_token(engine, authenticate(engine, demo_tokens["reader"]).token_id)  # type: ignore[union-attr]
    assert c.get(f"/api/v1/plans/{plan}/plan.csv").status_code == 401


def test_a_session_value_is_signed_and_expires(client: TestClient, tokens: dict[str, str]) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    who = authenticate(engine, tokens["coordinator"])
    assert who is not None
    now = dt.datetime(2026, 12, 4, 20, tzinfo=dt.UTC)
    value, expires = open_session(engine, who, seconds=600, now=now)
    assert expires == now + dt.timedelta(seconds=600)
    assert session_principal(engine, value, now=now + dt.timedelta(seconds=599)) == who
    assert session_principal(engine, value, now=now + dt.timedelta(seconds=600)) is None  # expired
    token_id, stamp, mac = value.split(".")
    assert session_principal(engine, f"{int(token_id) + 1}.{stamp}.{mac}", now=now) is None  # another token
    assert session_principal(engine, f"{token_id}.{int(stamp) + 3600}.{mac}", now=now) is None  # longer
    assert session_principal(engine, f"{token_id}.{stamp}.{'0' * 64}", now=now) is None  # forged
    assert session_principal(engine, "tp_the_token_itself", now=now) is None
    with pytest.raises(InvalidInputError, match="a session lasts 60 to 28800 seconds, not 86400"):
        open_session(engine, who, seconds=86400)


def test_forgetting_the_key_removes_the_cookie(client: TestClient, tokens: dict[str, str]) -> None:
    client.post("/api/v1/session", headers=auth(tokens["reader"]))
    r = client.delete("/api/v1/session", headers=auth(tokens["reader"]))
    assert r.status_code == 204 and f'{SESSION_COOKIE}=""' in r.headers["set-cookie"]
    assert "Max-Age=0" in r.headers["set-cookie"]


# --------------------------------------------------------------------------- Swedish texts


@pytest.mark.parametrize(
    ("message", "kind", "column", "value", "swedish"),
    [
        ("Datum '2025-02-30' is not a date: February 2025 has 28 days", "bad_timestamp", "Datum", None,
         "Datum: ”2025-02-30” är inget datum: februari 2025 har 28 dagar"),
        ("Tid '25:10' is not a clock time: hour 25 does not exist", "bad_timestamp", "Tid", None,
         "Tid: ”25:10” är inget klockslag: timme 25 finns inte"),
        ("Tid '24:00' is not a clock time: hour 24 does not exist (midnight is 00:00 of the next day)",
         "bad_timestamp", "Tid", None,
         "Tid: ”24:00” är inget klockslag: timme 24 finns inte (midnatt är 00:00 nästa dag)"),
        ("Datum '22/08/2025' is not written YYYY-MM-DD (day and month order differs between countries, so it is "
         "not guessed)", "bad_timestamp", "Datum", None,
         "Datum: ”22/08/2025” är inte skrivet ÅÅÅÅ-MM-DD (ordningen mellan dag och månad skiljer sig mellan länder, "
         "så den gissas inte)"),
        ("required column 'place_id' is missing (found: Datum, Tid)", "missing_column", "place_id", None,
         "den obligatoriska kolumnen ”place_id (Plats)” saknas (filen har: Datum, Tid)"),
        ("the row has 3 fields but the header has 4", "field_count", None, None,
         "raden har 3 fält men rubrikraden har 4"),
        ("something new the readers may say one day", "encoding", None, None,
         "Raden kan inte läsas i filens teckenkodning"),
        ("Vikt is negative: '-1'", "bad_weight", "Vikt", "-1", "Vikt: ”-1” är inget tal ≥ 0"),
        ("a message of a kind nobody translated", "brand_new_kind", None, None,
         "a message of a kind nobody translated"),
    ],
)  # fmt: skip
def test_problems_in_swedish(message: str, kind: str, column: str | None, value: str | None, swedish: str) -> None:
    problem = Problem("f.csv", 2, column, message, "english fix", value=value, kind=kind)
    assert problem_text(problem, "sv")[0] == swedish
    assert problem_text(problem, "en") == (message, "english fix")


@pytest.mark.parametrize(
    ("header", "default", "lang"),
    [
        ("sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7", "en", "sv"),
        ("en-US,en;q=0.9,sv;q=0.8", "sv", "en"),
        ("de-DE,de;q=0.9", "sv", "sv"),
        ("de-DE,de;q=0.9", "en", "en"),
        ("en;q=0.2, sv;q=0.5", "en", "sv"),
        ("sv;q=0", "en", "en"),
        (None, "sv", "sv"),
        ("ä;;;q=x,,", "sv", "sv"),
    ],
)
def test_accept_language_is_negotiated(header: str | None, default: str, lang: str) -> None:
    assert negotiate_lang(header, default) == lang  # type: ignore[arg-type]


def test_lang_wins_over_the_header_and_is_checked() -> None:
    assert request_lang("en", "sv-SE") == "en"
    with pytest.raises(InvalidInputError, match="unknown language 'fi': use 'sv'"):
        request_lang("fi", None)
    assert [category_label(c) for c in ("vandalism", "fyrverkeri", "traffic_offence")] == [
        "Skadegörelse",
        "Fyrverkeri",
        "Trafikbrott",
    ]
    assert category_label("vandalism", "en") == "Vandalism"


def test_categories_aggregates_and_windows_in_the_readers_language(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    reader = auth(demo_tokens["reader"])
    cats = demo_client.get("/api/v1/categories", headers=reader).json()
    assert cats["lang"] == "sv" and cats["categories"][0]["count"] >= cats["categories"][-1]["count"]
    labels = {c["category"]: c["label"] for c in cats["categories"]}
    assert labels["vandalism"] == "Skadegörelse" and labels["disorder"] == "Ordningsstörning"
    english = demo_client.get("/api/v1/categories", headers={**reader, "Accept-Language": "en"}).json()
    assert english["lang"] == "en" and {c["label"] for c in english["categories"]} >= {"Vandalism", "Disorder"}

    plain = demo_client.get("/api/v1/aggregates/incidents?by=month", headers=reader).json()["rows"]
    split = demo_client.get("/api/v1/aggregates/incidents?by=month&by_category=true", headers=reader).json()["rows"]
    assert all(r["category"] is None for r in plain) and all(r["category"] for r in split)
    totals = pd.DataFrame(split).groupby(["place_id", "period"])["count"].sum()
    assert totals.to_dict() == {(r["place_id"], r["period"]): r["count"] for r in plain}

    windows = demo_client.get("/api/v1/forecasts/latest/windows?lang=sv", headers=reader).json()["windows"]
    assert windows and re.match(r"[^,]+, (mån|tis|ons|tor|fre|lör|sön) \d\d:\d\d–", windows[0]["label"])
    assert "väntade" in windows[0]["label"] and 0 < windows[0]["p_any"] < 1
    assert windows[0]["lo_80"] <= windows[0]["hi_80"]


def test_plan_downloads_in_swedish_with_names_and_in_english(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    reader = auth(demo_tokens["reader"])
    plan = demo_client.get("/api/v1/plans/current", headers=reader).json()
    ids = {p for s in plan["plan"]["shifts"] for p in s["place_ids"]}
    names = {p["place_id"]: p["name"] for p in demo_client.get("/api/v1/places", headers=reader).json()}
    sv = demo_client.get(f"/api/v1/plans/{plan['id']}/plan.csv", headers=reader).content.decode("utf-8-sig")
    en = demo_client.get(f"/api/v1/plans/{plan['id']}/plan.csv?lang=en", headers=reader).content.decode("utf-8-sig")
    assert sv.startswith("vecka;typ;") and en.startswith("week,kind,")
    assert all(names[p] in sv for p in ids)
    assert not [p for p in ids if names[p] != p and f";{p};" in sv]  # names, not ids
    assert demo_client.get(f"/api/v1/plans/{plan['id']}/plan.ics?lang=fi", headers=reader).status_code == 422


# --------------------------------------------------------------------------- the map


def test_town_levels_compare_a_place_with_its_own_town() -> None:
    totals = {"a": 4.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 1.0, "f": 2.2, "solo": 0.3, "quiet1": 0.0, "quiet2": 0.0}
    town = {p: "Stor" for p in "abcdef"} | {"solo": "Liten", "quiet1": "Tyst", "quiet2": "Tyst"}
    levels = town_levels(totals, town)
    assert {p: lv for p, (lv, _) in levels.items()} == {
        "a": "high",  # 4 / 1.7 = 2.35
        "b": "normal",
        "c": "normal",
        "d": "normal",
        "e": "normal",
        "f": "elevated",  # 2.2 / 1.7 = 1.29
        "solo": "normal",  # a town of one place: nothing to compare with
        "quiet1": "normal",
        "quiet2": "normal",
    }
    assert levels["a"][1] == pytest.approx(4 / (10.2 / 6))


def test_the_demo_map_is_not_all_high(demo_client: TestClient, demo_tokens: dict[str, str]) -> None:
    geo = demo_client.get("/api/v1/forecasts/latest/places.geojson", headers=auth(demo_tokens["reader"])).json()
    levels = [f["properties"]["town_level"] for f in geo["features"]]
    assert len(levels) == 16 and 1 <= levels.count("high") <= 4 and levels.count("normal") >= 8


@pytest.mark.parametrize(
    ("tile_url", "img_src"),
    [
        (None, "img-src 'self' data: https://tile.openstreetmap.org;"),
        ("https://{s}.tiles.example.se/{z}/{x}/{y}.png", "img-src 'self' data: https://*.tiles.example.se;"),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "img-src 'self' data: http://127.0.0.1:8080;"),
        ("", "img-src 'self' data:;"),
    ],
)
def test_the_tile_url_is_the_only_addition_to_the_csp(tmp_path: object, tile_url: str | None, img_src: str) -> None:
    settings = Settings(**({} if tile_url is None else {"tile_url": tile_url}))
    csp = content_security_policy(settings)
    assert img_src in csp and "script-src 'self';" in csp and "connect-src 'self';" in csp
    assert "unsafe" not in csp


@pytest.mark.parametrize(
    ("tile_url", "error"),
    [
        ("ftp://tiles.example.se/{z}/{x}/{y}.png", "is not a tile URL"),
        ("https://tiles.example.se/tile.png", "lacks {z}, {x}, {y}"),
        ("https://evil.example.se'; script-src *;/{z}/{x}/{y}.png", "is not a tile URL"),
        ("https://tiles.example.se/{z}/{x}/{y}.png?key=x", "is not a tile URL"),
    ],
)
def test_a_bad_tile_url_is_refused(tile_url: str, error: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(error)):
        Settings(tile_url=tile_url)


def test_pages_config_and_vendored_files(tmp_path: object, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"tile_url": "https://{s}.tiles.example.se/{z}/{x}/{y}.png"}))
    with TestClient(app) as c:
        for page in ("/", "/rapportera"):
            assert c.get(page, follow_redirects=False).headers["location"] == f"/logga-in?next=%2F{page[1:]}"
            r = c.get(page + "?nyckel")  # a wall screen's page (a key, no sign-in)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert "img-src 'self' data: https://*.tiles.example.se;" in r.headers["content-security-policy"]
            assert '<html lang="sv">' in r.text and "<script>" not in r.text and " style=" not in r.text
        config = c.get("/ui/config.json").json()
        assert config == {
            "tile_url": "https://{s}.tiles.example.se/{z}/{x}/{y}.png",
            "tile_attribution": "© OpenStreetMap contributors",
            "tile_max_zoom": 19,
            "tz": "Europe/Stockholm",
        }
        leaflet = c.get("/static/vendor/leaflet/leaflet.js")
        assert leaflet.status_code == 200 and leaflet.headers["content-type"].startswith("text/javascript")
        assert leaflet.text.startswith("/* @preserve\n * Leaflet 1.9.4")
        assert c.get("/static/vendor/leaflet/images/layers.png").headers["content-type"] == "image/png"
        for bad in ("vendor/leaflet/LICENSE", "../routes/dashboard.py", "vendor/../../app.py", ".hidden.js", "nope.js"):
            assert c.get(f"/static/{bad}").status_code == 404, bad
    app.state.engine.dispose()
