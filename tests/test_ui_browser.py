"""The dashboard (/) and the reporters' form (/rapportera) in a real browser: Debian's headless Chromium
driven by Playwright (``executable_path=/usr/bin/chromium``; Playwright never downloads a browser here),
at phone (390x844) and desktop size, against ``tryggplan serve`` on the built-in demo (the four towns of
LPO Köping: the dashboard and the area page read with an area-wide reader token, the form with a reporter
of Arboga).

* the Swedish dashboard renders the map (places on a plain outline: the tile server cannot be reached in
  tests), the heatmap, the history and the plan with data, place names and Swedish dates and numbers;
  its downloads are plain links that work through the download-session cookie (no token in any URL);
* a reporter submits the form from a phone and the incident appears (in "Mina senaste rapporter", in
  the API, and in the readers' aggregates);
* axe-core (vendored under tests/vendor/axe-core, injected by the test) finds no serious or critical
  violation on / and /rapportera;
* on an empty database, the Swedish Excel export (``Datum;Tid;Plats;Händelsetyp``, cp1252, no id) is
  uploaded through the dashboard's form, then a forecast and a plan are made from the dashboard: no
  hand edits; a bad file shows each problem's row and fix in Swedish.

Skipped, with the reason, only where /usr/bin/chromium is missing (``.ci/run`` installs it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support import Server, excel_export
from tryggplan import i18n
from tryggplan.allocation.spec import demo_resources

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TRYGGPLAN = str(Path(sys.executable).parent / "tryggplan")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# chromium refuses this port at once (ERR_UNSAFE_PORT): tiles fail fast and for sure, as offline
UNREACHABLE_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"
SV_DAY = r"(mån|tis|ons|tors|fre|lör|sön) \d{1,2} (jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec)"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(db: str, role: str, name: str, *towns: str) -> str:
    scope = [arg for town in towns for arg in ("--municipality", town)]
    made = subprocess.run(
        [TRYGGPLAN, "token", "create", "--role", role, "--name", name, "--db", db, *scope],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.split()[-1]


@dataclass
class Demo:
    base: str
    db: str
    tokens: dict[str, str]

    def get(self, path: str, role: str) -> tuple[int, Any]:
        req = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.tokens[role]}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("ui-demo")
    made = subprocess.run(
        [TRYGGPLAN, "run-demo", "--dir", str(directory), "--no-serve"], capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr
    db = f"sqlite:///{directory / 'tryggplan.db'}"
    tokens = {role: _token(db, role, name) for role, name in [("reader", "skärm"), ("analyst", "analys")]}
    tokens["reporter"] = _token(db, "reporter", "Anna", "Arboga")
    port = _free_port()
    log = open(directory / "serve.log", "w")  # noqa: SIM115 - closed below
    env = {**os.environ, "TRYGGPLAN_TILE_URL": UNREACHABLE_TILES}
    proc = subprocess.Popen(
        [TRYGGPLAN, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("tryggplan serve did not answer /healthz: " + (directory / "serve.log").read_text()[-500:])
        yield Demo(base, db, tokens)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield b
        b.close()


def _page(browser: Any, viewport: dict[str, int], **kwargs: Any) -> tuple[Any, Any, list[str]]:
    phone = viewport == PHONE
    context = browser.new_context(
        viewport=viewport, is_mobile=phone, has_touch=phone, locale="sv-SE", timezone_id="Europe/Stockholm", **kwargs
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def _loaded(page: Any) -> str:
    page.wait_for_selector("body[data-loaded]:not([data-loaded='loading'])", state="attached", timeout=60_000)
    return str(page.get_attribute("body", "data-loaded"))


def _visible_boxes(page: Any, selector: str) -> list[dict[str, float]]:
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].filter((e) => e.offsetParent !== null).map((e) => {
            const r = e.getBoundingClientRect();
            return {x1: r.left, y1: r.top, x2: r.right, y2: r.bottom};
        })""",
        selector,
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_swedish_dashboard_renders_map_heatmap_history_and_plan(browser: Any, demo: Demo, viewport: dict) -> None:
    context, page, errors = _page(browser, viewport)
    page.goto(f"{demo.base}/?token={demo.tokens['reader']}")
    assert _loaded(page) == "true", page.inner_text("#status")
    assert page.get_attribute("html", "lang") == "sv"
    assert "token=" not in page.url and demo.tokens["reader"] not in page.inner_html("main")

    # the map: every place of the four towns, on the plain outline (no tile server in tests), one outline per
    # town, coloured within its town: each town has its own high places, most places normal
    features = demo.get("/api/v1/forecasts/latest/places.geojson", "reader")[1]["features"]
    town_of = {f["properties"]["place_id"]: f["properties"]["municipality"] for f in features}
    assert len(town_of) == 53 and sorted(set(town_of.values())) == ["Arboga", "Hallstahammar", "Kungsör", "Köping"]
    assert page.locator("path.place-marker").count() == 53
    assert page.get_attribute("#map", "data-tiles") == "none" and page.is_visible("#map-note")
    assert page.locator("path.outline-town").count() == 4
    levels = page.eval_on_selector_all("path.place-marker", "els => els.map((e) => [e.dataset.place, e.dataset.level])")
    for town in set(town_of.values()):
        mine = [level for place, level in levels if town_of[place] == town]
        assert 1 <= mine.count("high") <= 4 and mine.count("normal") >= len(mine) / 2, (town, mine)
    labels = _visible_boxes(page, ".place-label")
    assert len(labels) >= 8
    overlaps = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :] if a["x1"] < b["x2"] and b["x1"] < a["x2"]
                and a["y1"] < b["y2"] and b["y1"] < a["y2"]]  # fmt: skip
    assert overlaps == []
    area = page.eval_on_selector(
        "#map", "e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"
    )
    assert all(b["x1"] >= area[0] and b["x2"] <= area[2] and b["y1"] >= area[1] and b["y2"] <= area[3] for b in labels)

    # the next 14 days, the windows, the heatmap: Swedish days, decimal commas, place names
    assert page.locator("#daily-table tbody tr").count() == 53
    assert page.locator("#daily-table tbody th", has_text="Stortorget").count() == 1
    assert re.fullmatch(r"\d+,\d\d( ▲\d+)?", page.inner_text("#daily-table tbody td >> nth=0"))
    assert re.match(r"(mån|tis|ons|tors|fre|lör|sön)\s", page.inner_text("#daily-table thead th >> nth=1"))
    # the windows the API gives for the dashboard's 14 days, in Swedish (the demo town is busy enough for
    # windows over the floor in every season: 22 to 27 in the winter fortnights tried)
    code, api = demo.get(f"/api/v1/forecasts/latest/windows?start={_local_day(0)}&end={_local_day(14)}", "reader")
    assert code == 200 and api["windows"]
    shown = page.locator("#windows li").all_inner_texts()
    assert len(shown) == min(12, len(api["windows"]))
    assert re.fullmatch(
        rf"[^,]+, {SV_DAY} \d\d:\d\d–\d\d:\d\d: (ungefär|färre).+ \(\d+,\d väntade, minst en: \d+\xa0%\)",
        shown[0],
    )
    cells = page.eval_on_selector_all("#heatmap rect.cell", "els => els.map((e) => Number(e.dataset.value))")
    assert len(cells) == 7 * 24 and max(cells) > 0
    assert page.locator("#heatmap text", has_text="lör").count() == 1

    # the history: last weeks by place and by category, named
    assert page.locator("#history-places tbody tr").count() >= 3
    categories = page.inner_text("#history-categories")
    assert "Händelsetyp" in categories and re.search(r"Skadegörelse|Ordningsstörning|Stöld|Misshandel", categories)
    assert re.search(r"v\.\xa0\d+", page.inner_text("#history-places thead"))

    # the plan: Swedish money and shares, place names, never an id like coop-abylund
    assert page.locator("#plan-table tr.shift").count() >= 1
    assert re.fullmatch(r"\d{1,3}(\xa0\d{3})*\xa0kr", page.inner_text("#plan-cost"))
    assert re.fullmatch(r"\d+,\d\xa0%", page.inner_text("#plan-covered"))
    assert re.fullmatch(rf"{SV_DAY} \d\d:\d\d–\d\d:\d\d", page.inner_text("#plan-table tr.shift td.when >> nth=0"))
    # its warnings in Swedish: the demo's season pacing always says how many walks this week gets
    notes = page.locator("#plan-warnings li:not(.title)").all_inner_texts()
    assert notes and notes[0].startswith("säsongens fördelning: ") and "återstående passen denna vecka" in notes[0]
    assert not [n for n in notes if re.search(r"\b(walks|season pacing|planned at|SEK)\b", n)], notes
    text = page.inner_text("main")
    ids = [
        f["properties"]["place_id"]
        for f in demo.get("/api/v1/forecasts/latest/places.geojson", "reader")[1]["features"]
    ]
    assert [i for i in ids if "-" in i] and not [i for i in ids if "-" in i and i in text]
    assert re.search(
        r"Prognos \d+: modell \w+ v\w+, tränad på händelser till och med \d+ \w+ 20\d\d", page.inner_text("footer")
    )

    # downloads are plain links (no token in them) that the download-session cookie opens
    ics = page.get_attribute("#plan-ics", "href")
    assert re.fullmatch(r"/api/v1/plans/\d+/plan\.ics\?lang=sv", ics)
    got = page.evaluate("async (u) => { const r = await fetch(u); return [r.status, await r.text()]; }", ics)
    assert got[0] == 200 and "BEGIN:VCALENDAR" in got[1] and re.search(r"SUMMARY:(Nattvandring|Väktare)", got[1])
    with page.expect_download() as info:
        page.click("#plan-csv")
    csv_bytes = Path(info.value.path()).read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbfvecka;typ;f\xc3\xb6rening_eller_v\xc3\xa4ktare;")
    with pytest.raises(urllib.error.HTTPError) as no_cookie:
        urllib.request.urlopen(demo.base + ics)  # the same link without the browser's session: 401
    assert no_cookie.value.code == 401

    # panels of routes other branches build: shown exactly when their route answers; an area-wide reader of
    # four towns that each keep a season is asked to name one (422), so the page shows no season
    assert demo.get("/api/v1/season", "reader")[0] == 422 and page.is_hidden("#season-section")
    assert demo.get("/api/v1/area", "reader")[0] == 200 and page.is_visible("#area-section")

    if viewport == PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    else:
        # a click on a place opens it: recent counts (no rows), the next 14 days, this week's shifts (the event
        # goes to the marker itself: zoomed out to four towns, Arboga's markers overlap)
        page.dispatch_event("path.place-marker[data-place='stortorget']", "click")
        panel = page.inner_text("#place-panel")
        assert panel.startswith("Stortorget") and "Senaste fyra veckorna" in panel and "Veckans pass här" in panel
        assert re.search(r"\d+,\d\d väntade – ", panel)
        # the formatting helpers write what tryggplan.i18n writes
        values = [0.0, 0.004, 0.1, 0.34, 0.9, 2.4, 13.6]
        js = page.evaluate("(xs) => xs.map((x) => TP.expectedInWords(x))", values)
        assert js == [i18n.expected_in_words(x) for x in values]
        js_numbers = page.evaluate(
            "() => [TP.number(1234.5, 1), TP.number(-0.25, 2), TP.sek(12000), TP.percent(-18.1, 1, true)]"
        )
        assert js_numbers == [i18n.format_number(1234.5, 1), i18n.format_number(-0.25, 2), i18n.format_sek(12000),
                              i18n.format_percent(-18.1)]  # fmt: skip
        start, end = "2026-12-04T20:00:00+01:00", "2026-12-05T02:00:00+01:00"
        assert page.evaluate("([a, b]) => TP.timeRange(a, b)", [start, end]) == i18n.format_time_range(start, end)
        # English on request, remembered
        page.click("button[data-lang='en']")
        assert _loaded(page) == "true"
        assert page.get_attribute("html", "lang") == "en" and page.inner_text("#map-title").startswith("Map:")
        assert re.fullmatch(r"SEK\xa0\d{1,3}(,\d{3})*", page.inner_text("#plan-cost"))
        page.reload()
        assert _loaded(page) == "true" and page.get_attribute("html", "lang") == "en"
        page.click("button[data-lang='sv']")
    assert errors == []
    context.close()


def test_a_reporter_submits_the_form_and_the_incident_appears(browser: Any, demo: Demo) -> None:
    yesterday = _local_day(-1)
    before = demo.get(f"/api/v1/aggregates/incidents?by=day&start={yesterday}", "reader")[1]
    context, page, errors = _page(browser, PHONE)
    page.goto(f"{demo.base}/rapportera?token={demo.tokens['reporter']}")
    assert _loaded(page) == "true", page.inner_text("#status")
    assert page.inner_text("#status") == "Inloggad som Anna."
    assert page.input_value("#f-date") == _local_day(0) and re.fullmatch(r"\d\d:\d\d", page.input_value("#f-time"))
    assert page.locator("#f-category option", has_text="Skadegörelse").count() == 1

    # nothing chosen: Swedish messages on the fields, nothing sent
    page.click("#report-form button[type=submit]")
    assert page.inner_text("#e-place") == "Välj en plats i listan eller på kartan."
    assert page.inner_text("#e-category") == "Välj vad som hände."
    page.fill("#f-date", "2099-01-01")
    page.click("#report-form button[type=submit]")
    assert page.inner_text("#e-time") == "Tiden ligger i framtiden: ange när det hände."
    page.fill("#f-date", yesterday)
    page.fill("#f-time", "21:30")

    # a tap on the map chooses the place; the rest from the lists
    page.locator("path.place-marker[data-place='stortorget']").tap(force=True)
    assert page.input_value("#f-place") == "stortorget"
    page.select_option("#f-category", "vandalism")
    page.fill("#f-note", "Klotter på busskuren\nvid Stortorget")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#form-result p.ok", timeout=20_000)
    assert re.fullmatch(
        rf"Tack! Händelsen är sparad: Stortorget, {SV_DAY} 21:30, Skadegörelse\.", page.inner_text("#form-result")
    )
    page.wait_for_selector("#mine li.mine", timeout=20_000)
    mine = page.inner_text("#mine li >> nth=0")
    assert re.fullmatch(rf"{SV_DAY} 21:30 · Stortorget · Skadegörelse\nKlotter på busskuren vid Stortorget", mine)

    # the reporter reads back only its own incident, with who and when; readers see it counted
    status, own = demo.get("/api/v1/incidents", "reporter")
    assert status == 200 and own["total"] == 1
    row = own["incidents"][0]
    assert row["place_id"] == "stortorget" and row["category"] == "vandalism" and row["source"] == "reporter"
    assert row["note"] == "Klotter på busskuren vid Stortorget" and re.fullmatch(r"token:\d+:Anna", row["created_by"])
    assert row["created_at"] is not None
    after = demo.get(f"/api/v1/aggregates/incidents?by=day&start={yesterday}", "reader")[1]
    count = lambda doc: sum(r["count"] for r in doc["rows"] if r["place_id"] == "stortorget")  # noqa: E731
    assert count(after) == count(before) + 1
    assert errors == []
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_area_page_shows_each_town_in_swedish(browser: Any, demo: Demo, viewport: dict) -> None:
    context, page, errors = _page(browser, viewport)
    page.goto(f"{demo.base}/omrade?token={demo.tokens['reader']}")
    assert _loaded(page) == "true", page.inner_text("#status")
    assert page.get_attribute("html", "lang") == "sv"
    towns = page.locator("section.town h2").all_inner_texts()
    status, view = demo.get("/api/v1/area", "reader")
    names = [t["municipality"] for t in view["municipalities"]]
    assert status == 200 and towns == names == ["Arboga", "Hallstahammar", "Kungsör", "Köping"]
    for i, town in enumerate(view["municipalities"]):
        card = page.inner_text(f"section.town >> nth={i}")
        last = town["last_days"]
        assert "polisområde LPO Köping" in card
        assert "Senaste 14 dagarna" in card and f"{i18n.format_number(last['count'], 0)} händelser" in card
        assert "Kommande 14 dagar" in card and "Veckans plan" in card and "Säsongen" in card
        assert f"{i18n.format_number(town['ahead']['expected'], 1)} väntade händelser" in card
        assert town["ahead"]["windows"] and town["plan"]["walks"] >= 1, town  # each town its own windows and plan
        walks = town["season"]["walks_total"]
        assert f"{walks} pass kvar av {walks}" in card  # each town its own season: nothing walked yet
    page.click("button[data-lang='en']")
    page.wait_for_function("() => document.querySelector('section.town dt')?.textContent === 'Last 14 days'")
    assert "Year to date" in page.inner_text("section.town")
    assert errors == []
    context.close()


def _local_day(offset: int) -> str:
    """Today + ``offset`` days in Stockholm (the service's zone), YYYY-MM-DD."""
    return (dt.datetime.now(ZoneInfo("Europe/Stockholm")).date() + dt.timedelta(days=offset)).isoformat()


@pytest.mark.parametrize(("path", "role"), [("/", "reader"), ("/rapportera", "reporter"), ("/omrade", "reader")])
def test_no_serious_or_critical_accessibility_violations(browser: Any, demo: Demo, path: str, role: str) -> None:
    context, page, _ = _page(browser, DESKTOP)
    page.goto(f"{demo.base}{path}?token={demo.tokens[role]}")
    assert _loaded(page) == "true"
    # injected through DevTools, not a <script> (the page's CSP allows only its own scripts)
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => await axe.run(document, { resultTypes: ['violations'] })")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []
    assert result["testEngine"]["version"] == "4.14.1"
    context.close()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Demo]:
    """``tryggplan serve`` on an empty database, with an admin token (one person doing everything)."""
    db = f"sqlite:///{tmp_path / 'tom.db'}"
    admin = _token(db, "admin", "samordnare")
    server = Server(db, tmp_path / "serve.log", env={"TRYGGPLAN_TILE_URL": UNREACHABLE_TILES}).start()
    try:
        yield Demo(server.base, db, {"admin": admin})
    finally:
        server.stop()


def test_excel_export_through_the_dashboard_upload_to_forecast_and_plan(
    browser: Any, empty: Demo, tmp_path: Path
) -> None:
    export = excel_export(tmp_path / "händelser.csv")
    bad = tmp_path / "fel.csv"
    bad.write_bytes("Datum;Tid;Plats;Händelsetyp\r\n2026-13-01;22:30;Stortorget;Skadegörelse\r\n".encode("cp1252"))
    context, page, errors = _page(browser, DESKTOP)
    page.goto(f"{empty.base}/?token={empty.tokens['admin']}")
    assert _loaded(page) == "no-forecast"
    assert page.inner_text("#status") == "Det finns ingen prognos ännu: gör en prognos (analytiker eller samordnare)."

    # a bad file: nothing stored, each problem with its row, column and fix, in Swedish
    page.set_input_files("#upload-file", str(bad))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-result ul.problems", timeout=20_000)
    assert page.inner_text("#upload-result p.error") == "Uppgifterna kunde inte användas:"
    assert page.inner_text("#upload-result li") == (
        "rad 2, Datum: Datum: ”2026-13-01” är inget datum: månad 13 finns inte "
        "Åtgärd: skriv datumet som ÅÅÅÅ-MM-DD, t.ex. 2025-08-22"
    )

    # the export as Excel wrote it: places made from the file, ids derived
    page.set_input_files("#upload-file", str(export))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-result p.ok", timeout=30_000)
    assert page.inner_text("#upload-result") == "Klart: 320 nya händelser, 0 fanns redan, 4 platser sparade."
    assert _loaded(page) == "no-forecast"  # the page reloads its panels after an upload
    assert page.locator("#history-places tbody tr").count() == 4

    # a forecast from the dashboard, then (with the coordinator's resources stored) next week's plan
    page.click("#run-forecast")
    page.wait_for_selector("#run-result:has-text('är klar')", timeout=120_000)
    assert re.fullmatch(r"Prognos \d+ är klar\.", page.inner_text("#run-result"))
    assert _loaded(page) == "true" and page.locator("path.place-marker").count() == 0  # no coordinates in the file
    assert page.is_hidden("#map") and page.inner_text("#map-note").startswith("Platserna har inga koordinater ännu")
    assert page.locator("#daily-table tbody tr").count() == 4
    places = [{"place_id": p, "area": "Centrum"} for p in ("Stortorget", "Stadsparken", "Resecentrum", "Skolgården")]
    import pandas as pd

    spec = demo_resources(pd.DataFrame(places), season_until=dt.date.today() + dt.timedelta(days=90))
    body = json.dumps({"name": "kommunen", "spec": spec}).encode()
    req = urllib.request.Request(
        empty.base + "/api/v1/resources",
        data=body,
        headers={"Authorization": f"Bearer {empty.tokens['admin']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 201
    page.click("#run-plan")
    page.wait_for_selector("#run-result:has-text('för vecka')", timeout=120_000)
    assert re.fullmatch(r"Plan \d+ för vecka \d+ är klar\.", page.inner_text("#run-result"))
    assert _loaded(page) == "true"
    assert page.locator("#plan-table tr.shift[data-kind='night_walk']").count() >= 1
    assert "Stortorget" in page.inner_text("#plan-table") or "Stadsparken" in page.inner_text("#plan-table")
    assert errors == []
    context.close()
