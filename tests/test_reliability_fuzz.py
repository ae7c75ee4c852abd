"""Schema-driven fuzzing: schemathesis generates requests from the app's own OpenAPI document and
sends them in-process (ASGI) to an app on a copy of the demo town, with an admin token so every
route is exercised beyond 401. Every response must be below 500 and conform to its documented
schema (status code, content type, body).

The non-slow run is bounded to a few examples per operation; ``-m slow`` runs many more.

Jobs run in the app's worker pool as in production, but only plan solves, re-plans and area runs
(``job_kinds=["plan", "walk", "area"]``): forecast and backtest jobs are queued and stay queued (a generated
request may ask for a Prophet backtest over 104 origins); the test checks that every accepted one is
in the queue. The job runners are tested in ``tests/test_service_api.py`` and
``tests/test_reliability_jobs.py``; what is fuzzed here is the HTTP layer, validation, the queue and
storage. The per-caller bound is raised so that generated requests keep reaching the use cases
(the bound itself is tested in ``tests/test_reliability_jobs.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.support import auth, copy_demo
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.models import ApiToken, BacktestJob, ForecastRun, Job
from tryggplan.storage.tokens import create_token


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = copy_demo(tmp_path_factory.mktemp("fuzz") / "tryggplan.db")
    app = create_app(
        Settings(
            database_url=f"sqlite:///{db}",
            max_upload_bytes=1_000_000,
            job_workers=1,
            job_kinds=["plan", "walk", "area"],
            max_jobs_per_caller=100_000,
            max_queued_jobs=100_000,
            job_wait_seconds=60,
        )
    )
    secret, info = create_token(app.state.engine, "admin", "fuzzer")
    app.state.fuzz_token = secret
    app.state.fuzz_token_id = info.id
    with TestClient(app):  # runs the lifespan: the worker pool
        yield app
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def _operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation of the OpenAPI document (an app on an in-memory DB)."""
    app = create_app(Settings(database_url="sqlite://"))
    try:
        doc = app.openapi()
    finally:
        app.state.engine.dispose()
    methods = ("get", "put", "post", "delete", "patch")
    return sorted((m.upper(), p) for p, item in doc["paths"].items() for m in item if m in methods)


OPERATIONS = _operations()


def _keep_admin(app: Any) -> dict[str, str]:
    """The fuzzer may revoke its own token (DELETE /tokens/{id}): un-revoke it between examples."""
    with Session(app.state.engine) as session, session.begin():
        session.execute(update(ApiToken).where(ApiToken.id == app.state.fuzz_token_id).values(revoked=False))
    return auth(app.state.fuzz_token)


_HEALTH = list(HealthCheck)
#: What must hold for every generated request. ``positive_data_acceptance`` is left out: many
#: parameters are free text by design (dates "2026-12-07" or ISO times, ids) whose meaning the
#: schema cannot express, and the app answers those with a 422 that says how to fix them.
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


def _fuzz(api_schema: Any, app: Any, method: str, path: str, examples: int, seed: int | None) -> None:
    operation = api_schema[path][method]

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=_HEALTH,
        derandomize=seed is not None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(headers=_keep_admin(app), checks=CHECKS)

    run()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_5xx_and_responses_match_the_schema(api_schema: Any, fuzz_app: Any, method: str, path: str) -> None:
    _fuzz(api_schema, fuzz_app, method, path, examples=6, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_5xx_and_responses_match_the_schema_long(api_schema: Any, fuzz_app: Any, method: str, path: str) -> None:
    _fuzz(api_schema, fuzz_app, method, path, examples=150, seed=None)


def test_accepted_forecasts_and_backtests_are_in_the_queue(fuzz_app: Any) -> None:
    """Every forecast run and backtest a fuzzed request created has its job, queued (or cancelled by a
    fuzzed cancel): nothing was accepted that nobody will run (one of each is queued here too)."""
    client = TestClient(fuzz_app)  # the fixture's client runs the app's lifespan (its pool) already
    h = _keep_admin(fuzz_app)
    assert client.post("/api/v1/forecasts", json={"model": "how_mean"}, headers=h).status_code == 202
    assert client.post("/api/v1/backtests", json={"models": ["how_mean"]}, headers=h).status_code == 202
    with Session(fuzz_app.state.engine) as session:
        runs = set(session.scalars(select(ForecastRun.id).where(ForecastRun.id > 1)))
        backtests = set(session.scalars(select(BacktestJob.id)))
        jobs = session.execute(select(Job.kind, Job.ref_id, Job.status)).all()
    queued = {(kind, ref) for kind, ref, status in jobs if status in ("queued", "cancelled")}
    assert runs and backtests
    assert {("forecast", r) for r in runs} <= queued
    assert {("backtest", b) for b in backtests} <= queued


def test_the_fuzzer_reached_the_routes(api_schema: Any) -> None:
    """The schema the fuzzer works from holds every API route (none hidden from fuzzing)."""
    paths = set(api_schema.raw_schema["paths"])
    for path in (
        "/api/v1/incidents",
        "/api/v1/incidents/upload",
        "/api/v1/forecasts/{run}/grid.csv",
        "/api/v1/plans",
        "/api/v1/plans/{plan}/plan.csv",
        "/api/v1/tokens/{token_id}",
        "/api/v1/jobs/{job_id}/cancel",
    ):
        assert path in paths
    assert Path(__file__).name.startswith("test_reliability_")
