"""Issue 15, item 5, end to end: a Swedish Excel export ``Datum;Tid;Plats;Händelsetyp`` (cp1252, no id
column) goes from import to a forecast and a plan through the CLI and through the HTTP upload the
dashboard uses, with no hand edits, and both front ends give the same rows, places, grid and walks.
A bad date is refused by both with the same message, and in Swedish when the caller asks for it.

The file's incidents end yesterday, so the forecast and the plan are for next week: a plan never
places a shift before the moment it is made.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.support import EXCEL_PLACES as PLACES
from tests.support import auth, excel_export, finished
from tryggplan.allocation.spec import demo_resources
from tryggplan.cli import build_app
from tryggplan.cli.common import run_guarded
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import read_incidents, read_places
from tryggplan.storage.tokens import create_token

TZ = ZoneInfo("Europe/Stockholm")


def next_monday() -> dt.date:
    today = dt.datetime.now(TZ).date()
    return today + dt.timedelta(days=7 - today.weekday())


@dataclass
class Fronts:
    tmp: Path
    cli_db: str
    api: TestClient
    admin: dict[str, str]
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: object) -> tuple[int, str, str]:
        """Exit code, stdout and the last line on stderr of ``tryggplan ARGS`` (in this process)."""
        self.capsys.readouterr()
        code = run_guarded(lambda: build_app()(args=[str(a) for a in args], prog_name="tryggplan"))
        out = self.capsys.readouterr()
        err = [line for line in out.err.splitlines() if line.strip()]
        return code, out.out, err[-1] if err else ""

    def upload(self, path: Path, headers: dict[str, str] | None = None) -> object:
        """The dashboard's upload: the file as it is, format ``auto``, no mapping, and (a town without
        places yet: the box the dashboard ticks) the file's places created."""
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        return self.api.post(
            "/api/v1/incidents/upload",
            files=files,
            headers={**self.admin, **(headers or {})},
            params={"format": "auto", "create_places": "true"},
        )


@pytest.fixture
def fronts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fronts]:
    excel_export(tmp_path / "händelser.csv")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        admin = auth(create_token(app.state.engine, "admin", "samordnare")[0])
        yield Fronts(tmp_path, f"sqlite:///{tmp_path / 'cli.db'}", client, admin, capsys)
    app.state.engine.dispose()


def stored(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = open_database(url)
    try:
        return read_incidents(engine), read_places(engine)
    finally:
        engine.dispose()


def test_swedish_excel_export_to_forecast_and_plan_through_both_front_ends(fronts: Fronts) -> None:
    export = fronts.tmp / "händelser.csv"
    start = next_monday()
    week = f"{start.isocalendar()[0]}-W{start.isocalendar()[1]:02d}"

    # import: ids derived from the content, places made from the file's 'Plats'; again: nothing added
    code, out, err = fronts.cli("import", export, "--db", fronts.cli_db, "--create-places")
    assert code == 0, err
    assert "format excel, 320 row(s), 320 valid, 0 invalid, ids derived: 320" in out
    assert (
        fronts.cli("import", export, "--db", fronts.cli_db, "--create-places")[1].count("0 added, 320 already stored")
        == 1
    )
    r = fronts.upload(export)
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    assert (r.json()["added"], r.json()["places_upserted"]) == (320, 4)  # type: ignore[attr-defined]
    assert fronts.upload(export).json()["added"] == 0  # type: ignore[attr-defined]
    cli_incidents, cli_places = stored(fronts.cli_db)
    api_incidents, api_places = stored(str(fronts.api.app.state.settings.database_url))  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(cli_incidents, api_incidents)
    pd.testing.assert_frame_equal(cli_places, api_places)
    assert sorted(cli_places["place_id"]) == sorted(PLACES) and cli_incidents["incident_id"].str.match(r"gen-").all()
    assert set(cli_incidents["category"]) == {"vandalism", "disorder", "theft", "assault"}

    # forecast: from the database and straight from the file give one grid; the API's is the same
    grid_db, grid_file = fronts.tmp / "grid.csv", fronts.tmp / "grid_file.csv"
    for source, out_file in ((("--db", fronts.cli_db), grid_db), (("--incidents", export), grid_file)):
        code, _, err = fronts.cli(
            "forecast", *source, "--start", start, "--days", 14, "--out", out_file, "--no-progress"
        )  # fmt: skip
        assert code == 0, err
    r = fronts.api.post("/api/v1/forecasts", json={"start": start.isoformat(), "days": 14}, headers=fronts.admin)
    assert r.status_code == 202, r.text
    run = finished(fronts.api, f"/api/v1/forecasts/{r.json()['id']}", fronts.admin)
    assert run["status"] == "done", run["error"]
    api_grid = pd.read_csv(
        io.StringIO(fronts.api.get(f"/api/v1/forecasts/{run['id']}/grid.csv", headers=fronts.admin).text)
    )
    cols = ["place_id", "slot_start", "expected", "p_any", "lo_80", "hi_80", "risk_level"]
    cli_grid = pd.read_csv(grid_db)
    assert len(cli_grid) == 4 * 14 * 24 and cli_grid["expected"].sum() > 0
    pd.testing.assert_frame_equal(cli_grid[cols], pd.read_csv(grid_file)[cols])
    pd.testing.assert_frame_equal(cli_grid[cols], api_grid[cols])

    # plan next week from the forecast and a resources spec made for the file's places
    # the coordinator's own resources: one walking area over the file's places
    spec = demo_resources(cli_places.assign(area="Centrum"), season_until=start + dt.timedelta(days=90))
    resources = fronts.tmp / "resurser.yaml"
    resources.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    plan_file = fronts.tmp / "plan.json"
    code, _, err = fronts.cli(
        "plan", "--forecast", grid_db, "--resources", resources, "--week", week, "--out", plan_file,
        "--history", export,
    )  # fmt: skip
    assert code == 0, err
    assert fronts.api.post(
        "/api/v1/resources", json={"name": "kommunen", "spec": spec}, headers=fronts.admin
    ).is_success
    r = fronts.api.post("/api/v1/plans", json={"week": week}, headers=fronts.admin)
    assert r.status_code == 201, r.text
    cli_plan, api_plan = json.loads(plan_file.read_text(encoding="utf-8")), r.json()["plan"]
    keys = ("association", "area", "start", "end", "place_ids", "cost_sek")
    walks = [
        [{k: s.get(k) for k in keys} for s in p["shifts"] if s["kind"] == "night_walk"] for p in (cli_plan, api_plan)
    ]
    assert walks[0] == walks[1] and len(walks[0]) == cli_plan["walks"] > 0
    assert cli_plan["cost_sek"] == api_plan["cost_sek"] and cli_plan["objective"] == pytest.approx(
        api_plan["objective"]
    )

    # the plan's downloads: Swedish Excel and calendar with the places' names
    plan_id = r.json()["id"]
    csv_text = fronts.api.get(f"/api/v1/plans/{plan_id}/plan.csv", headers=fronts.admin).content.decode("utf-8-sig")
    assert csv_text.startswith("vecka;typ;förening_eller_väktare;område;platser;")
    assert "nattvandring;" in csv_text and "täcker " in csv_text
    ics = fronts.api.get(f"/api/v1/plans/{plan_id}/plan.ics", headers=fronts.admin).text
    assert "SUMMARY:Nattvandring: " in ics


def test_a_bad_date_is_refused_by_both_the_same_way_and_in_swedish_on_request(fronts: Fronts) -> None:
    bad = fronts.tmp / "fel.csv"
    bad.write_bytes("Datum;Tid;Plats;Händelsetyp\r\n2026-13-01;22:30;Stortorget;Skadegörelse\r\n".encode("cp1252"))
    code, _, err = fronts.cli("import", bad, "--db", fronts.cli_db, "--create-places")
    r = fronts.upload(bad)
    assert (code, r.status_code) == (2, 422)  # type: ignore[attr-defined]
    english = r.json()  # type: ignore[attr-defined]
    assert err == f"tryggplan: error: {english['detail']}"
    assert english["problems"][0]["message"] == "Datum '2026-13-01' is not a date: month 13 does not exist"
    swedish = fronts.upload(bad, {"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"}).json()  # type: ignore[attr-defined]
    first = swedish["problems"][0]
    assert (first["row"], first["column"], first["kind"]) == (2, "Datum", "bad_timestamp")
    assert first["message"] == "Datum: ”2026-13-01” är inget datum: månad 13 finns inte"
    assert first["fix"] == "skriv datumet som ÅÅÅÅ-MM-DD, t.ex. 2025-08-22"
    assert swedish["detail"] == (
        "uppgifterna kunde inte användas, inget sparades: 1 problem; första: rad 2, Datum: "
        "Datum: ”2026-13-01” är inget datum: månad 13 finns inte"
    )
    assert stored(fronts.cli_db)[0].empty
