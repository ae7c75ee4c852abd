"""The situation-picture routes: who may read and note, municipality scopes, the page's own
Content-Security-Policy, CSV for Excel, the aggregates that answer the obvious questions, and the
page the API serves printed by headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.support import Server, auth
from tests.test_reporting_html import CHROMIUM, HEADINGS_SV, pages_and_text, print_url_to_pdf
from tests.test_reporting_situation import TZ, planted_town
from tests.test_usecases_reports import plant_report_town
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import import_incidents
from tryggplan.storage.tokens import create_token

QUERY = {"to": "2026-11-29", "days": 14}
ROUTES = ("/api/v1/reports/situation", "/api/v1/reports/situation.html", "/api/v1/reports/situation.csv")


def plant_two_towns(db: Path) -> None:
    """The planted Kungsör town and Arboga's Kyrkbacken with 3 incidents in the period."""
    engine = open_database(f"sqlite:///{db}")
    try:
        plant_report_town(engine)
        when = pd.DatetimeIndex(["2026-11-20 22:00", "2026-11-21 22:00", "2026-11-22 22:00"]).tz_localize(TZ)
        import_incidents(
            engine,
            pd.DataFrame(
                {
                    "incident_id": ["a1", "a2", "a3"],
                    "occurred_at": when.tz_convert("UTC"),
                    "place_id": "kyrkan",
                    "category": "stöld",
                    "source": "police",
                    "weight": 1.0,
                }
            ),
            pd.DataFrame(
                {"place_id": ["kyrkan"], "name": ["Kyrkbacken"], "municipality": ["Arboga"], "area": ["Kyrkan"]}
            ),
            actor="test",
        )
    finally:
        engine.dispose()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    db = tmp_path / "r.db"
    plant_two_towns(db)
    app = create_app(Settings(database_url=f"sqlite:///{db}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        e = app.state.engine
        heads = {
            role: auth(create_token(e, role, f"test {role}")[0])
            for role in ("reader", "coordinator", "analyst", "admin")
        }
        heads["kungsor_reader"] = auth(create_token(e, "reader", "k reader", ["Kungsör"])[0])
        heads["kungsor_coordinator"] = auth(create_token(e, "coordinator", "k coordinator", ["Kungsör"])[0])
        yield client, heads
    app.state.engine.dispose()


def test_every_role_reads_and_nobody_without_a_token(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, heads = api
    for path in (*ROUTES, "/api/v1/reports/situation/notes", "/api/v1/evaluation/walks"):
        r = client.get(path, params=QUERY)
        assert r.status_code == 401 and r.json()["detail"].startswith("missing bearer token"), path
    for role in ("reader", "coordinator", "analyst", "admin"):
        for path in ROUTES:
            assert client.get(path, params=QUERY, headers=heads[role]).status_code == 200, (role, path)
    assert client.post("/api/v1/reports/situation/notes", json={"text": "x"}).status_code == 401
    for role in ("reader", "analyst"):
        r = client.post("/api/v1/reports/situation/notes", json={"text": "x"}, headers=heads[role])
        assert r.status_code == 403
        assert r.json()["detail"] == f"role '{role}' may not note the meeting's decisions: needs admin or coordinator"


def test_an_area_wide_report_has_a_section_per_municipality(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, heads = api
    rep = client.get("/api/v1/reports/situation", params=QUERY, headers=heads["reader"]).json()
    assert rep["municipalities"] == ["Arboga", "Kungsör"] and rep["totals"]["count"] == 30
    assert [(s["municipality"], s["totals"]["count"]) for s in rep["sections"]] == [("Arboga", 3), ("Kungsör", 27)]
    only = client.get("/api/v1/reports/situation", params={**QUERY, "municipality": "Arboga"}, headers=heads["reader"])
    assert only.json()["municipalities"] == ["Arboga"] and only.json()["totals"]["count"] == 3
    both = client.get(
        "/api/v1/reports/situation", params={**QUERY, "municipality": ["Kungsör", "Arboga"]}, headers=heads["reader"]
    ).json()
    assert both["municipalities"] == ["Kungsör", "Arboga"] and both["totals"]["count"] == 30


def test_a_scoped_token_sees_its_municipality_only(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, heads = api
    k_read, k_coord = heads["kungsor_reader"], heads["kungsor_coordinator"]
    rep = client.get("/api/v1/reports/situation", params=QUERY, headers=k_read).json()
    assert rep["municipalities"] == ["Kungsör"] and "sections" not in rep
    assert {p["place_id"] for p in rep["places"]} == {"torget", "parken", "skolan"} and rep["totals"]["count"] == 27
    refused = (
        "this token is for Kungsör: it may not read or change 'Arboga'; use a token for that municipality or an "
        "area-wide one"
    )
    for path in (*ROUTES, "/api/v1/evaluation/walks"):
        r = client.get(path, params={**QUERY, "municipality": "Arboga"}, headers=k_read)
        assert (r.status_code, r.json()["detail"]) == (403, refused), path
    page = client.get("/api/v1/reports/situation.html", params=QUERY, headers=k_read).text
    assert "Stortorget" in page and "Kyrkbacken" not in page
    # notes: only its own places, and it must name them
    r = client.post(
        "/api/v1/reports/situation/notes", json={"text": "Kyrkan", "place_ids": ["kyrkan"]}, headers=k_coord
    )
    assert r.status_code == 403
    assert r.json()["detail"].startswith("this token is for Kungsör: place 'kyrkan' is not theirs")
    r = client.post("/api/v1/reports/situation/notes", json={"text": "Allt"}, headers=k_coord)
    assert (r.status_code, r.json()["detail"]) == (422, "this token is for Kungsör: name the places the note concerns")
    at = "2026-11-30T18:00:00+01:00"
    assert (
        client.post(
            "/api/v1/reports/situation/notes",
            json={"text": "Torget", "place_ids": ["torget"], "at": at},
            headers=k_coord,
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/reports/situation/notes",
            json={"text": "Kyrkan", "place_ids": ["kyrkan"], "at": at},
            headers=heads["admin"],
        ).status_code
        == 201
    )
    seen = client.get("/api/v1/reports/situation/notes", headers=k_read).json()
    assert [n["text"] for n in seen] == ["Torget"]
    assert [n["text"] for n in client.get("/api/v1/reports/situation/notes", headers=heads["reader"]).json()] == [
        "Torget",
        "Kyrkan",
    ]
    assert [
        d["text"] for d in client.get("/api/v1/reports/situation", params=QUERY, headers=k_read).json()["decisions"]
    ] == ["Torget"]


def test_notes_round_trip(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    """A decision noted at the meeting after 29 November is this meeting's; two weeks on, the next
    report shows it with what happened at its places since."""
    client, heads = api
    r = client.post(
        "/api/v1/reports/situation/notes",
        json={"text": "Väktare på Stortorget", "place_ids": ["torget"], "at": "2026-11-30T18:00:00+01:00"},
        headers=heads["coordinator"],
    )
    assert r.status_code == 201
    note = r.json()
    assert note["actor"] == "token:2:test coordinator" and note["created_at"] >= "2026-12-01"
    now = client.get("/api/v1/reports/situation", params=QUERY, headers=heads["reader"]).json()
    assert [d["text"] for d in now["decisions"]] == ["Väktare på Stortorget"] and now["previous_decisions"] == []
    later = client.get(
        "/api/v1/reports/situation", params={"to": "2026-12-13", "days": 14}, headers=heads["reader"]
    ).json()
    (previous,) = later["previous_decisions"]
    assert previous["text"] == "Väktare på Stortorget"
    # no incident at Stortorget after the note (the planted town ends on 29 November); 18 in as long
    # before (13 days 6 hours: from 17 November 12:00)
    assert [(p["place_id"], p["since"], p["before"]) for p in previous["places"]] == [("torget", 0, 18)]
    page = client.get("/api/v1/reports/situation.html", params={"to": "2026-12-13"}, headers=heads["reader"]).text
    assert "Från förra mötet" in page and "Väktare på Stortorget" in page


def test_the_page_brings_its_own_policy(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, heads = api
    r = client.get("/api/v1/reports/situation.html", params=QUERY, headers=heads["reader"])
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    (style,) = re.findall(r"<style>(.*?)</style>", r.text, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policies = r.headers.get_list("content-security-policy")
    assert policies == [
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ]
    assert "<script" not in r.text and "http://" not in r.text and "https://" not in r.text
    for heading in HEADINGS_SV:
        assert f">{heading}</h2>" in r.text
    # the rest of the service keeps its strict policy
    strict = client.get("/api/v1/reports/situation", params=QUERY, headers=heads["reader"])
    assert strict.headers.get_list("content-security-policy") == [
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https://tile.openstreetmap.org; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ]
    en = client.get("/api/v1/reports/situation.html", params={**QUERY, "lang": "en"}, headers=heads["reader"]).text
    assert '<html lang="en">' in en and ">Look back</h2>" in en


def test_csv_for_swedish_excel(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, heads = api
    r = client.get(
        "/api/v1/reports/situation.csv", params={**QUERY, "municipality": "Kungsör"}, headers=heads["reader"]
    )
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="lagesbild-2026-11-29.csv"'
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Del;Kommun;Plats-id;Namn;Perioden;Perioden före;I fjol;")
    assert lines[1] == "Totalt;Kungsör;;;27;14;14;92,9;92,9;0,05958;;inom normal variation;"
    assert lines[2].startswith("Plats;Kungsör;torget;Stortorget;20;4;6;400,0;233,3;0,001")
    assert lines[2].endswith(";upp;ökning utöver normal variation;0,004632")


# --------------------------------------------------------------------------- aggregates


def test_aggregates_answer_the_obvious_questions(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, heads = api
    h = heads["reader"]

    def get(**params: Any) -> Any:
        r = client.get("/api/v1/aggregates/incidents", params=params, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    # per year: 2025 holds 387 up to 29 November and 30 after it
    years = get(by="year", municipality="Kungsör")
    assert [(t["period"], t["count"]) for t in years["totals"]] == [("2025", 387 + 30), ("2026", 317)]
    # year to date: 1 January to 29 November in every year, as the report's ytd
    ytd = get(by="year", municipality="Kungsör", ytd="2026-11-29")
    assert [(t["period"], t["count"]) for t in ytd["totals"]] == [("2025", 387), ("2026", 317)]
    assert sum(r["count"] for r in ytd["rows"] if r["period"] == "2026") == 317
    total = get(by="total")
    assert [(t["period"], t["count"]) for t in total["totals"]] == [("total", 387 + 30 + 317 + 3)]
    assert {(r["place_id"], r["period"]) for r in total["rows"]} == {
        ("kyrkan", "total"), ("parken", "total"), ("skolan", "total"), ("torget", "total")
    }  # fmt: skip
    # by category and source (case-insensitive)
    incidents, _ = planted_town()
    skolan = int((incidents["place_id"] == "skolan").sum())
    theft = get(by="total", category="STÖLD")
    assert [(r["place_id"], r["count"]) for r in theft["rows"]] == [("kyrkan", 3), ("skolan", skolan)]
    assert get(by="total", source="police")["totals"] == [{"period": "total", "count": 3, "weighted": 3.0}]
    # a scoped token: only its own categories are known
    r = client.get("/api/v1/aggregates/incidents", params={"category": "stöld"}, headers=heads["kungsor_reader"])
    assert r.status_code == 200 and {x["place_id"] for x in r.json()["rows"]} == {"skolan"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"category": "vandalism"},
            "unknown category 'vandalism': the known ones are ordningsstörning, skadegörelse, stöld",
        ),
        (
            {"category": ["stöld", "rån"]},
            "unknown category 'rån': the known ones are ordningsstörning, skadegörelse, stöld",
        ),
        ({"source": "väktare"}, "unknown source 'väktare': the known ones are police, reporter"),
        ({"ytd": "29 nov"}, "ytd '29 nov' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-29"),
        ({"ytd": "9999-12-31"}, "ytd 9999-12-31 is out of range: give a date from 1900-01-01 to 2199-12-31"),
    ],
)
def test_unknown_filters_are_refused(
    api: tuple[TestClient, dict[str, dict[str, str]]], params: dict[str, Any], message: str
) -> None:
    client, heads = api
    r = client.get("/api/v1/aggregates/incidents", params=params, headers=heads["reader"])
    assert (r.status_code, r.json()["detail"]) == (422, message)


# --------------------------------------------------------------------------- printed by Chromium


class _TokenProxy(BaseHTTPRequestHandler):
    """Forwards GETs to the API with a bearer token (a browser opening a link cannot send one) and
    returns the API's answer: status, content type, Content-Security-Policy and body."""

    base = ""
    token: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        r = httpx.get(self.base + self.path, headers=self.token, timeout=120)
        self.send_response(r.status_code)
        for name in ("content-type", "content-security-policy"):
            for value in r.headers.get_list(name):
                self.send_header(name, value)
        self.send_header("content-length", str(len(r.content)))
        self.end_headers()
        self.wfile.write(r.content)

    def log_message(self, *args: Any) -> None:
        pass


def _page_size(pdf: bytes) -> tuple[float, float]:
    """Width and height [pt] of the first page's MediaBox."""
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert box is not None, "no MediaBox in the PDF"
    return float(box.group(1)), float(box.group(2))


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_the_served_page_prints_on_a4_in_chromium(tmp_path: Path) -> None:
    """Chromium loads the page from a real server (through a proxy that adds the token), under the
    page's own Content-Security-Policy: the style must apply (A4 paper comes from it: without it
    Chromium prints on Letter), and each municipality fits two pages."""
    db = tmp_path / "r.db"
    plant_two_towns(db)
    engine = open_database(f"sqlite:///{db}")
    reader = create_token(engine, "reader", "printer")[0]
    engine.dispose()
    server = Server(f"sqlite:///{db}", tmp_path / "serve.log").start()
    proxy = ThreadingHTTPServer(
        ("127.0.0.1", 0), type("Proxy", (_TokenProxy,), {"base": server.base, "token": auth(reader)})
    )
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{proxy.server_port}/api/v1/reports/situation.html?to=2026-11-29&days=14"
        html = httpx.get(url, timeout=120).text
        pdf = print_url_to_pdf(url + "&municipality=Kungs%C3%B6r", tmp_path, "kungsor")
        pages, text = pages_and_text(pdf)
        width, height = _page_size(pdf)
        assert (round(width), round(height)) in ((595, 842), (594, 841)), (width, height)  # A4, not Letter
        assert 1 <= pages <= 2
        for heading in HEADINGS_SV:
            assert heading in (text if text is not None else html)
        pages, _ = pages_and_text(print_url_to_pdf(url, tmp_path, "both"))
        assert 2 <= pages <= 4  # each municipality on its own pages, two at most
    finally:
        proxy.shutdown()
        server.stop()
