"""Signing in and the association's page in a real browser: Debian's headless Chromium driven by Playwright
(as tests/test_ui_browser.py does), against ``tryggplan serve`` on a copy of the demo town with its clock
stopped at the demo's "now" (``TRYGGPLAN_FROZEN_NOW``).

* a coordinator signs in at desktop size and lands on ``/``, whose script works with the session (no key);
  "Logga ut" ends it; a reporter lands on ``/rapportera``;
* on a phone (390x844) an association accepts a walk with "Tacka ja"; then, on the server restarted after
  the walk's end, sends its återrapport: the ledger's walks_done rises by one and the report-back is stored;
* axe-core finds no serious or critical violation on ``/logga-in`` and ``/forening/{secret}``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import DEMO_NOW, Server, auth, copy_demo
from tests.test_ui_browser import AXE, CHROMIUM, DESKTOP, PHONE, _page
from tryggplan.storage.database import open_database
from tryggplan.storage.tokens import create_token
from tryggplan.usecases import users

PASSWORD = "Kvällsvandring-2025"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
    ),
]


@dataclass
class Town:
    db: str
    directory: Path
    coordinator: str  # a token, for the API side of the story
    server: Server

    @property
    def base(self) -> str:
        return self.server.base

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        r = httpx.request(method, self.base + path, headers=auth(self.coordinator), timeout=60, **kwargs)
        assert r.status_code < 300, (path, r.status_code, r.text[:300])
        return r.json()

    def restart(self, now: dt.datetime) -> None:
        self.server.stop()
        self.server = Server(self.db, self.directory / "serve.log", now=now).start()


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    directory = tmp_path_factory.mktemp("signin-demo")
    db = f"sqlite:///{copy_demo(directory / 'tryggplan.db')}"
    engine = open_database(db)
    users.create_user(engine, username="kim", role="coordinator", password=PASSWORD, display_name="Kim Samordnare")
    users.create_user(engine, username="anna", role="reporter", password=PASSWORD, display_name="Anna")
    coordinator = create_token(engine, "coordinator", "test")[0]
    engine.dispose()
    server = Server(db, directory / "serve.log", now=DEMO_NOW).start()
    town = Town(db, directory, coordinator, server)
    try:
        yield town
    finally:
        town.server.stop()


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


def _sign_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "/logga-in")
    page.get_by_label("Användarnamn", exact=True).fill(username)
    page.get_by_label("Lösenord", exact=True).fill(password)
    page.get_by_role("button", name="Logga in", exact=True).click()


def _axe(page: Any) -> list[str]:
    page.evaluate(
        AXE.read_text(encoding="utf-8") + "\n;0"
    )  # injected through DevTools (the CSP allows no inline script)
    result = page.evaluate("async () => await axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_coordinator_signs_in_uses_the_dashboard_and_signs_out(browser: Any, town: Town) -> None:
    context, page, errors = _page(browser, DESKTOP)
    page.goto(town.base + "/")
    assert page.url == town.base + "/logga-in?next=%2F"  # no session, no key: the sign-in form
    _sign_in(page, town.base, "kim", "fel lösenord igen")
    assert (
        page.get_by_role("alert").inner_text() == "Fel användarnamn eller lösenord. Kontrollera båda och försök igen."
    )
    assert page.input_value("#username") == "kim" and page.input_value("#password") == ""
    _sign_in(page, town.base, "KIM")
    page.wait_for_url(town.base + "/")
    page.wait_for_selector("body[data-loaded]:not([data-loaded='loading'])", state="attached", timeout=60_000)
    assert page.get_attribute("body", "data-loaded") == "true", page.inner_text("#status")
    assert page.get_attribute("html", "lang") == "sv"
    assert page.get_by_label("Lösenord", exact=True).count() == 0 and page.locator("#token-form").count() == 0
    assert page.inner_text("form.signedin") == "Inloggad som Kim Samordnare\nLogga ut"
    assert page.locator("#plan-table tr.shift").count() >= 1  # read with the session, no key anywhere
    assert _axe(page) == []  # the signed-in header included
    status = page.evaluate(
        """async () => (await fetch("/api/v1/season", {credentials: "same-origin",
                                                        headers: {Accept: "application/json"}})).status"""
    )
    assert status == 200
    # the page's script sends the CSRF token on changes; without it the same call is refused
    sent = page.evaluate(
        """async () => {
            const name = (await TP.api("/season")).associations[0].name;
            const made = await TP.api("/season/links", {method: "POST", json: {association: name}});
            const bare = await fetch("/api/v1/season/links", {method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify({association: name})});
            return [made.association === name, bare.status];
        }"""
    )
    assert sent == [True, 403]
    page.get_by_role("button", name="Logga ut", exact=True).click()
    page.wait_for_url(town.base + "/logga-in?utloggad")
    assert page.get_by_role("status").inner_text() == "Du är utloggad."
    assert page.evaluate("async () => (await fetch('/api/v1/me')).status") == 401
    assert errors == []
    context.close()


def test_a_reporter_lands_on_the_report_form(browser: Any, town: Town) -> None:
    context, page, errors = _page(browser, PHONE)
    _sign_in(page, town.base, "anna")
    page.wait_for_url(town.base + "/rapportera")
    page.wait_for_selector("body[data-loaded]:not([data-loaded='loading'])", state="attached", timeout=60_000)
    assert page.get_attribute("body", "data-loaded") == "true"
    assert page.inner_text("#status") == "Inloggad som Anna."
    assert errors == []
    context.close()


def test_an_association_accepts_and_reports_back_on_a_phone(browser: Any, town: Town) -> None:
    offered = town.api("POST", "/api/v1/plans/1/publish")["offered"]
    offer = offered[0]
    secret = town.api("POST", "/api/v1/season/links", json={"association": offer["association"]})["secret"]
    context, page, errors = _page(browser, PHONE)
    page.goto(f"{town.base}/forening/{secret}")
    assert page.get_attribute("html", "lang") == "sv"
    walk = page.locator(f"#pass-{offer['id']}")
    text = walk.inner_text()
    start, end = offer["start"][11:16], offer["end"][11:16]
    assert re.search(rf"(mån|tis|ons|tors|fre|lör|sön) \d{{1,2}} [a-z]{{3}} {start}–{end}", text), text
    assert f"Område: {offer['area']}" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    walk.get_by_role("button", name="Tacka ja", exact=True).click()
    page.wait_for_selector("p.ok[role=status]")
    assert page.inner_text("p.ok") == "Tack! Ni har tackat ja till passet. Det finns nu i er kalender."
    status = {o["id"]: o["status"] for o in town.api("GET", "/api/v1/season/offers")}
    assert status[offer["id"]] == "accepted"
    assert _axe(page) == []
    context.close()

    # the night after: the walk has ended
    town.restart(dt.datetime.fromisoformat(offer["end"]) + dt.timedelta(hours=8))
    before = town.api("GET", "/api/v1/season")["walks_done"]
    context, page, errors = _page(browser, PHONE)
    page.goto(f"{town.base}/forening/{secret}")
    form = page.locator(f"#pass-{offer['id']} form")
    form.get_by_label("Antal vandrare", exact=True).fill("4")
    form.get_by_label("Iakttagelser", exact=True).fill("Lugn kväll.\nTre ungdomar vid busstationen kl 22.")
    form.get_by_role("button", name="Skicka återrapport", exact=True).click()
    page.wait_for_selector("p.ok[role=status]")
    assert page.inner_text("p.ok") == "Tack för återrapporten! Passet är registrerat som genomfört."
    assert town.api("GET", "/api/v1/season")["walks_done"] == before + 1
    reports = town.api("GET", "/api/v1/season/reports")
    assert [(r["association"], r["night"], r["walkers"], r["observations"]) for r in reports] == [
        (offer["association"], offer["night"], 4, "Lugn kväll.\nTre ungdomar vid busstationen kl 22.")
    ]
    assert page.locator(f"#pass-{offer['id']}").inner_text().endswith("Återrapporterat: 4 vandrare.")
    assert _axe(page) == []
    assert errors == []
    context.close()


def test_the_sign_in_page_has_no_serious_accessibility_violation(browser: Any, town: Town) -> None:
    context, page, _ = _page(browser, DESKTOP)
    page.goto(town.base + "/logga-in")
    assert _axe(page) == []
    _sign_in(page, town.base, "nobody", "fel lösenord igen")
    assert page.get_by_role("alert").count() == 1 and _axe(page) == []
    context.close()
