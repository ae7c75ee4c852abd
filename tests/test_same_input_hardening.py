"""The hardening use cases through both front ends (issue 16): a file over a read limit, cancelling a
job, a token's expiry and a name with an invisible character are refused with the same message by
``tryggplan ...`` (one line on stderr) and by the API (``detail``)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.support import GOOD_CSV, PLACES_CSV, auth
from tryggplan.allocation.synthetic import synthetic_resources
from tryggplan.cli import build_app
from tryggplan.cli.common import run_guarded
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.tokens import create_token


@dataclass
class Fronts:
    tmp: Path
    db: str
    api: TestClient
    h: dict[str, dict[str, str]]
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: object) -> tuple[int, str, str]:
        """Exit code, stdout and the last line on stderr of ``tryggplan ARGS``."""
        self.capsys.readouterr()
        code = run_guarded(lambda: build_app()(args=[str(a) for a in args], prog_name="tryggplan"))
        out = self.capsys.readouterr()
        err = [line for line in out.err.splitlines() if line.strip()]
        return code, out.out, err[-1] if err else ""


@pytest.fixture
def fronts(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Fronts]:
    # one database for both: the CLI and the API act on the same jobs and tokens
    monkeypatch.setenv("TRYGGPLAN_MAX_ROWS", "2")  # the CLI reads the same settings as the service
    db = f"sqlite:///{tmp_path / 'same.db'}"
    app = create_app(Settings(database_url=db, job_workers=0, job_wait_seconds=0.1))
    assert app.state.settings.max_rows == 2
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = app.state.engine
        h = {role: auth(create_token(engine, role, f"same {role}")[0]) for role in ("analyst", "admin", "coordinator")}
        yield Fronts(tmp_path, db, client, h, capsys)
    app.state.engine.dispose()


def test_a_file_over_a_read_limit(fronts: Fronts) -> None:
    (fronts.tmp / "three.csv").write_text(GOOD_CSV, encoding="utf-8")  # 3 rows, the limit is 2
    (fronts.tmp / "places.csv").write_text(PLACES_CSV, encoding="utf-8")
    code, _, err = fronts.cli(
        "import", fronts.tmp / "three.csv", "--places", fronts.tmp / "places.csv", "--db", fronts.db
    )
    files = {
        "file": ("three.csv", GOOD_CSV.encode(), "text/csv"),
        "places": ("places.csv", PLACES_CSV.encode(), "text/csv"),
    }
    r = fronts.api.post("/api/v1/incidents/upload", files=files, headers=fronts.h["analyst"])
    assert (code, r.status_code) == (2, 413)
    assert (r.json()["limit"], r.json()["value"]) == ("max_rows", 2)
    assert err == f"tryggplan: error: {r.json()['detail']}"
    assert "over the limit max_rows=2" in err
    code, _, err = fronts.cli("validate", fronts.tmp / "three.csv", "--places", fronts.tmp / "places.csv")
    assert code == 2 and err == f"tryggplan: error: {r.json()['detail']}"


def test_cancelling_jobs(fronts: Fronts) -> None:
    code, _, err = fronts.cli("job", "cancel", 999, "--db", fronts.db)
    r = fronts.api.post("/api/v1/jobs/999/cancel", headers=fronts.h["admin"])
    assert (code, r.status_code) == (1, 404)
    assert (
        err
        == f"tryggplan: error: {r.json()['detail']}"
        == ("tryggplan: error: no job 999: see GET /api/v1/jobs or `tryggplan job list`")
    )
    plan = fronts.api.post("/api/v1/plans", json={"week": "2026-W10"}, headers=fronts.h["coordinator"])
    assert plan.status_code == 202  # no pool runs here: the solve stays queued
    job_id = plan.json()["id"]
    code, out, _ = fronts.cli("job", "cancel", job_id, "--db", fronts.db)
    assert code == 0 and out.strip() == f"job {job_id} (plan) cancelled"
    listed = fronts.api.get(f"/api/v1/jobs/{job_id}", headers=fronts.h["admin"]).json()
    assert (listed["status"], listed["error"]) == ("cancelled", "cancelled by cli")
    code, _, err = fronts.cli("job", "cancel", job_id, "--db", fronts.db)
    r = fronts.api.post(f"/api/v1/jobs/{job_id}/cancel", headers=fronts.h["admin"])
    assert (code, r.status_code) == (1, 409)
    assert (
        err
        == f"tryggplan: error: {r.json()['detail']}"
        == (f"tryggplan: error: job {job_id} is cancelled already: there is nothing to cancel")
    )


def test_token_expiry_and_last_use(fronts: Fronts) -> None:
    code, _, err = fronts.cli("token", "create", "--role", "reader", "--expires", "soon", "--db", fronts.db)
    r = fronts.api.post("/api/v1/tokens", json={"role": "reader", "expires": "soon"}, headers=fronts.h["admin"])
    assert (code, r.status_code) == (2, 422)
    assert (
        err
        == f"tryggplan: error: {r.json()['detail']}"
        == ("tryggplan: error: expires 'soon' is not a duration: write e.g. 90d (days), 12h or 8w")
    )
    code, out, _ = fronts.cli(
        "token", "create", "--role", "reader", "--expires", "90d", "--name", "cli", "--db", fronts.db
    )
    assert code == 0 and ", expires 20" in out
    made = fronts.api.post(
        "/api/v1/tokens", json={"role": "reader", "expires": "90d", "name": "api"}, headers=fronts.h["admin"]
    ).json()
    listed = {t["name"]: t for t in fronts.api.get("/api/v1/tokens", headers=fronts.h["admin"]).json()}
    days = [
        (dt.datetime.fromisoformat(listed[n]["expires_at"]) - dt.datetime.fromisoformat(listed[n]["created_at"])).days
        for n in ("cli", "api")
    ]
    assert days == [90, 90]
    assert listed["api"]["last_used_at"] is None
    assert fronts.api.get("/api/v1/places", headers=auth(made["token"])).status_code == 200
    for _ in range(100):  # the last use is written off the request path
        _, out, _ = fronts.cli("token", "list", "--db", fronts.db)
        if "used 20" in next(line for line in out.splitlines() if line.split()[-1] == "api"):
            break
        time.sleep(0.05)
    line = next(line for line in out.splitlines() if line.split()[-1] == "api")
    assert " used 20" in line and " expires 20" in line
    used = fronts.api.get("/api/v1/tokens", headers=fronts.h["admin"]).json()
    assert next(t for t in used if t["name"] == "api")["last_used_at"] is not None


def test_a_name_with_an_invisible_character(fronts: Fronts) -> None:
    spec = synthetic_resources(2, 2)
    spec["associations"][0]["name"] = "Nattvandrarna\u202e"
    path = fronts.tmp / "resources.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    r = fronts.api.post("/api/v1/resources", json={"name": "vår", "spec": spec}, headers=fronts.h["coordinator"])
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith(
        "vår: associations[0].name contains the invisible character U+202E (right-to-left override)"
    )
    grid = fronts.tmp / "grid.csv"
    grid.write_text("place_id,slot_start,expected\n", encoding="utf-8")
    code, _, err = fronts.cli(
        "plan", "--forecast", grid, "--resources", path, "--week", "2026-W10", "--out", fronts.tmp / "p.json"
    )
    assert code == 2
    assert err == "tryggplan: error: " + detail.replace("vår:", "resources.yaml:", 1)
