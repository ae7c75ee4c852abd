"""Each use case through both front ends: the same input gives the same outcome and the same error.

The CLI runs in-process (``tryggplan.cli.build_app``) on one SQLite file, the HTTP API through the
test client on another; both start from the same files. A refused input must be refused with the
same message: the CLI's one line on stderr is ``tryggplan: error: <message>``, the API's 422
``detail`` is ``<message>``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.support import auth, finished, set_clock
from tryggplan.allocation.synthetic import synthetic_resources
from tryggplan.cli import build_app
from tryggplan.cli.common import run_guarded
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import read_incidents, read_places
from tryggplan.storage.tokens import create_token

TZ = "Europe/Stockholm"
PLACES = ("P00", "P01", "P02", "P03")


@dataclass
class Fronts:
    """The two front ends on two databases, and the input files."""

    tmp: Path
    cli_db: str
    api: TestClient
    analyst: dict[str, str]
    coordinator: dict[str, str]
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: object) -> tuple[int, str]:
        """Exit code and the last line on stderr of ``tryggplan ARGS``."""
        self.capsys.readouterr()
        code = run_guarded(lambda: build_app()(args=[str(a) for a in args], prog_name="tryggplan"))
        err = [line for line in self.capsys.readouterr().err.splitlines() if line.strip()]
        return code, err[-1] if err else ""

    def upload(self, path: Path, **params: object) -> object:
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        return self.api.post("/api/v1/incidents/upload", files=files, headers=self.analyst, params=params)


def town(tmp: Path, days: int = 84, seed: int = 4) -> None:
    """incidents.csv (canonical, evenings, four places), places.csv and an Excel-Swedish file
    without a places file."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-05", tz=TZ)
    rows = []
    for i in range(days * 3):
        day = int(rng.integers(days))
        hour = int(rng.choice([19, 20, 21, 22, 23]))
        when = start + pd.Timedelta(days=day, hours=hour, minutes=int(rng.integers(60)))
        rows.append((f"i{i}", when.isoformat(), PLACES[int(rng.integers(4))], "vandalism", "police", 1.0))
    columns = ["incident_id", "occurred_at", "place_id", "category", "source", "weight"]
    pd.DataFrame(rows, columns=columns).to_csv(tmp / "incidents.csv", index=False)
    pd.DataFrame(
        {
            "place_id": list(PLACES),
            "name": [f"Plats {i}" for i in range(4)],
            "municipality": "Kungsör",
            "lat": 59.42,
            "lon": 16.1,
            "kind": "square",
            "area": ["Centrum", "Norr", "Centrum", "Norr"],
        }
    ).to_csv(tmp / "places.csv", index=False)
    excel = "Id;Datum;Tid;Plats;Händelsetyp;Vikt\r\nm1;2026-02-06;22:30;Torget;Skadegörelse;0,5\r\n"
    excel += "m2;2026-02-07;01.15;Parken;Ordningsstörning;1\r\n"
    (tmp / "excel.csv").write_bytes(excel.encode("cp1252"))
    bad = "incident_id,occurred_at,place_id\nb1,2026-13-01 21:00,P00\nb2,2026-02-01 21:00,\n"
    (tmp / "bad.csv").write_text(bad, encoding="utf-8")
    (tmp / "mixed.csv").write_text(bad + "g1,2026-02-01 21:00,P01\n", encoding="utf-8")


@pytest.fixture
def fronts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fronts]:
    town(tmp_path)
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = app.state.engine
        analyst = auth(create_token(engine, "analyst", "same-input analyst")[0])
        coordinator = auth(create_token(engine, "coordinator", "same-input coordinator")[0])
        yield Fronts(tmp_path, f"sqlite:///{tmp_path / 'cli.db'}", client, analyst, coordinator, capsys)
    app.state.engine.dispose()


def stored(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = open_database(url)
    try:
        return read_incidents(engine), read_places(engine)
    finally:
        engine.dispose()


def loaded(f: Fronts) -> None:
    """The same town imported through both front ends."""
    code, err = f.cli("import", f.tmp / "incidents.csv", "--places", f.tmp / "places.csv", "--db", f.cli_db)
    assert code == 0, err
    files = {
        "file": ("incidents.csv", (f.tmp / "incidents.csv").read_bytes(), "text/csv"),
        "places": ("places.csv", (f.tmp / "places.csv").read_bytes(), "text/csv"),
    }
    r = f.api.post("/api/v1/incidents/upload", files=files, headers=f.analyst)
    assert r.status_code == 201, r.text


# --------------------------------------------------------------------------- ingest


@pytest.mark.parametrize(
    ("file", "params", "cli_args"),
    [
        ("incidents.csv", {"create_places": "true"}, ("--create-places",)),
        # no places known: both front ends create them from the file's place ids when asked
        ("excel.csv", {"create_places": "true"}, ("--create-places",)),
        ("excel.csv", {"format": "excel", "create_places": "true"}, ("--format", "excel", "--create-places")),
    ],
)
def test_import_stores_the_same_rows_and_places(
    fronts: Fronts, file: str, params: dict[str, str], cli_args: tuple[str, ...]
) -> None:
    code, err = fronts.cli("import", fronts.tmp / file, "--db", fronts.cli_db, *cli_args)
    assert code == 0, err
    r = fronts.upload(fronts.tmp / file, **params)
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    cli_incidents, cli_places = stored(fronts.cli_db)
    api_incidents, api_places = stored(_api_url(fronts))
    pd.testing.assert_frame_equal(cli_incidents, api_incidents)
    pd.testing.assert_frame_equal(cli_places, api_places)
    assert len(cli_incidents) == (252 if file == "incidents.csv" else 2)


def test_the_first_import_creates_the_same_places(fronts: Fronts) -> None:
    """Into a town without places, both front ends create the file's places (one rule); the next file
    naming a place the town does not know is refused by both."""
    code, err = fronts.cli("import", fronts.tmp / "excel.csv", "--db", fronts.cli_db, "--municipality", "Kungsör")
    assert code == 0, err
    r = fronts.upload(fronts.tmp / "excel.csv", municipality="Kungsör")
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    assert r.json()["new_places"] == ["Parken", "Torget"]  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(stored(fronts.cli_db)[1], stored(_api_url(fronts))[1])
    assert list(stored(fronts.cli_db)[1]["place_id"]) == ["Parken", "Torget"]
    later = fronts.tmp / "later.csv"
    later.write_bytes("Id;Datum;Tid;Plats;Händelsetyp\r\nm3;2026-02-08;22:30;Kiosken;Skadegörelse\r\n".encode("cp1252"))
    code, err = fronts.cli("import", later, "--db", fronts.cli_db)
    r = fronts.upload(later)
    assert (code, r.status_code) == (2, 422)  # type: ignore[attr-defined]
    assert err == f"tryggplan: error: {r.json()['detail']}"  # type: ignore[attr-defined]
    assert "unknown place 'Kiosken'" in err


def test_unknown_places_are_refused_with_the_same_message(fronts: Fronts) -> None:
    code, err = fronts.cli("import", fronts.tmp / "excel.csv", "--db", fronts.cli_db)
    r = fronts.upload(fronts.tmp / "excel.csv")
    assert (code, r.status_code) == (2, 422)  # type: ignore[attr-defined]
    detail = r.json()["detail"]  # type: ignore[attr-defined]
    assert err == f"tryggplan: error: {detail}"
    # an empty database: the fix names the first import's town, a places file or creating them
    assert "unknown place 'Torget' -> no place is known yet: name the file's town (--municipality" in detail
    assert "(--create-places / create_places=true)" in detail


def test_a_bad_file_is_refused_with_the_same_message(fronts: Fronts) -> None:
    code, err = fronts.cli("import", fronts.tmp / "bad.csv", "--db", fronts.cli_db)
    r = fronts.upload(fronts.tmp / "bad.csv")
    assert (code, r.status_code) == (2, 422)  # type: ignore[attr-defined]
    detail = r.json()["detail"]  # type: ignore[attr-defined]
    assert err == f"tryggplan: error: {detail}"
    assert detail.startswith("nothing imported: bad.csv: 3 problem(s) in 2 row(s) (1 bad_timestamp, 1 unknown_place")


def test_skip_invalid_keeps_the_same_rows(fronts: Fronts) -> None:
    code, err = fronts.cli(
        "import", fronts.tmp / "mixed.csv", "--db", fronts.cli_db, "--skip-invalid", "--create-places"
    )
    assert code == 0, err
    r = fronts.upload(fronts.tmp / "mixed.csv", skip_invalid="true", create_places="true")
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    out = r.json()  # type: ignore[attr-defined]
    assert (out["added"], out["rejected"]) == (1, 2)
    assert [(p["row"], p["kind"]) for p in out["problems"]] == [(2, "bad_timestamp"), (3, "empty_place")]
    rejected = pd.read_csv(fronts.tmp / "mixed.rejected.csv", encoding="utf-8-sig")
    assert list(rejected["row"]) == [2, 3]
    pd.testing.assert_frame_equal(stored(fronts.cli_db)[0], stored(_api_url(fronts))[0])


def _api_url(f: Fronts) -> str:
    return str(f.api.app.state.settings.database_url)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- forecast


def test_forecast_from_the_database_gives_the_same_grid(fronts: Fronts) -> None:
    loaded(fronts)
    out = fronts.tmp / "grid.csv"
    code, err = fronts.cli(
        "forecast", "--db", fronts.cli_db, "--start", "2026-03-30", "--days", 7, "--model", "how_mean",
        "--out", out, "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    r = fronts.api.post(
        "/api/v1/forecasts", json={"model": "how_mean", "start": "2026-03-30", "days": 7}, headers=fronts.analyst
    )
    assert r.status_code == 202, r.text
    run = finished(fronts.api, f"/api/v1/forecasts/{r.json()['id']}", fronts.analyst)
    assert run["status"] == "done", run["error"]
    api = pd.read_csv(
        io.StringIO(fronts.api.get(f"/api/v1/forecasts/{run['id']}/grid.csv", headers=fronts.analyst).text)
    )
    cli = pd.read_csv(out)
    cols = ["place_id", "slot_start", "expected", "p_any", "lo_80", "hi_80", "risk_level"]
    assert len(cli) == 4 * 7 * 24
    pd.testing.assert_frame_equal(cli[cols], api[cols])


def test_forecast_before_the_first_incident_fails_the_same_way(fronts: Fronts) -> None:
    loaded(fronts)
    code, err = fronts.cli(
        "forecast", "--db", fronts.cli_db, "--start", "2025-12-01", "--out", fronts.tmp / "g.csv", "--no-progress"
    )
    r = fronts.api.post("/api/v1/forecasts", json={"start": "2025-12-01"}, headers=fronts.analyst)
    run = finished(fronts.api, f"/api/v1/forecasts/{r.json()['id']}", fronts.analyst)
    assert (code, run["status"]) == (2, "failed")
    assert err == f"tryggplan: error: {run['error']}"
    assert run["error"] == (
        "no incidents before 2025-12-01 to learn from (the first is on 2026-01-05): "
        "forecast a later period or import earlier incidents"
    )


# --------------------------------------------------------------------------- plan


def plan_inputs(f: Fronts) -> tuple[Path, Path, int]:
    """The API's forecast exported as the CLI's grid file, the resources as YAML and stored; returns
    the grid file, the resources file and the stored spec's id."""
    loaded(f)
    r = f.api.post(
        "/api/v1/forecasts", json={"model": "how_mean", "start": "2026-03-30", "days": 14}, headers=f.analyst
    )
    run = r.json()["id"]
    assert finished(f.api, f"/api/v1/forecasts/{run}", f.analyst)["status"] == "done"
    grid = f.tmp / "grid.csv"
    grid.write_text(f.api.get(f"/api/v1/forecasts/{run}/grid.csv", headers=f.analyst).text, encoding="utf-8")
    spec = synthetic_resources(4, 2, season={"walks": 20, "until": "2026-06-30", "min_walks_per_week": 1})
    spec["areas"] = [{"name": "Centrum", "place_ids": ["P00", "P02"]}, {"name": "Norr", "place_ids": ["P01", "P03"]}]
    resources = f.tmp / "resources.yaml"
    resources.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    stored_spec = f.api.post("/api/v1/resources", json={"name": "same", "spec": spec}, headers=f.coordinator)
    assert stored_spec.status_code == 201, stored_spec.text
    return grid, resources, stored_spec.json()["id"]


def test_a_week_is_planned_the_same(fronts: Fronts) -> None:
    grid, resources, _ = plan_inputs(fronts)
    out = fronts.tmp / "plan.json"
    now = dt.datetime(2026, 4, 5, 18, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # the Sunday before 2026-W15
    code, err = fronts.cli(
        "plan", "--forecast", grid, "--resources", resources, "--week", "2026-W15", "--out", out,
        "--history", fronts.tmp / "incidents.csv", "--now", now.isoformat(),
    )  # fmt: skip
    assert code == 0, err
    set_clock(fronts.api, now)
    r = fronts.api.post("/api/v1/plans", json={"week": "2026-W15"}, headers=fronts.coordinator)
    assert r.status_code == 201, r.text
    cli, api = json.loads(out.read_text(encoding="utf-8")), r.json()["plan"]
    keys = ("association", "area", "start", "end", "place_ids", "cost_sek")

    def walks(plan: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: s.get(k) for k in keys} for s in plan["shifts"] if s["kind"] == "night_walk"]

    assert walks(cli) == walks(api) and len(walks(cli)) == cli["walks"] > 0
    # guard blocks of equal worth may be cut differently (alternative optima): the figures must agree
    for figure in ("walks_share", "guard_hours", "cost_sek"):
        assert cli[figure] == api[figure], figure
    # from files there is no season ledger: the walks left come from the resources, and the plan says so
    note = (
        "walks left 20 = season.walks 20 - season.used 0 from the resources (deprecated: record walks in the "
        "season ledger, whose walks left every plan takes)"
    )
    assert cli["warnings"] == [api["warnings"][0], note, *api["warnings"][1:]]
    assert api["warnings"][0].startswith("season pacing: 1 of the 20 remaining walks this week")
    assert cli["objective"] == pytest.approx(api["objective"], rel=1e-9)


def test_a_week_outside_the_forecast_is_refused_the_same_way(fronts: Fronts) -> None:
    grid, resources, _ = plan_inputs(fronts)
    now = dt.datetime(2026, 4, 5, 18, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    code, err = fronts.cli(
        "plan", "--forecast", grid, "--resources", resources, "--week", "2026-W30", "--out", fronts.tmp / "p.json",
        "--now", now.isoformat(),
    )  # fmt: skip
    set_clock(fronts.api, now)
    r = fronts.api.post("/api/v1/plans", json={"week": "2026-W30"}, headers=fronts.coordinator)
    assert (code, r.status_code) == (2, 422)
    assert err == f"tryggplan: error: {r.json()['detail']}"
    assert "2026-W30" in r.json()["detail"]


# --------------------------------------------------------------------------- evaluation


def test_a_backtest_gives_the_same_summary(fronts: Fronts) -> None:
    loaded(fronts)
    out = fronts.tmp / "bt"
    code, err = fronts.cli(
        "backtest", "--db", fronts.cli_db, "--models", "how_mean,last_14_days", "--origins", 2,
        "--horizon-days", 7, "--out", out, "--no-plots", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    r = fronts.api.post(
        "/api/v1/backtests", json={"models": ["how_mean", "last_14_days"], "origins": 2, "horizon_days": 7},
        headers=fronts.analyst,
    )  # fmt: skip
    assert r.status_code == 202, r.text
    job = finished(fronts.api, f"/api/v1/backtests/{r.json()['id']}", fronts.analyst)
    assert job["status"] == "done", job["error"]
    cli = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert cli["models"].keys() == job["summary"]["models"].keys() == {"how_mean", "last_14_days"}
    for name, metrics in cli["models"].items():
        for metric in ("poisson_deviance", "mae", "hit_rate@10", "pit_coverage_80"):
            assert metrics[metric] == pytest.approx(job["summary"]["models"][name][metric], rel=1e-12), metric


def test_an_unknown_model_is_refused_the_same_way(fronts: Fronts) -> None:
    loaded(fronts)
    code, err = fronts.cli("backtest", "--db", fronts.cli_db, "--models", "magic", "--out", fronts.tmp / "bt")
    r = fronts.api.post("/api/v1/backtests", json={"models": ["magic"]}, headers=fronts.analyst)
    assert (code, r.status_code) == (2, 422)
    assert err == f"tryggplan: error: {r.json()['detail']}"
    assert r.json()["detail"].startswith("unknown model 'magic': choose one of default, ")
