"""Fixtures shared by the tests: an app on a temporary SQLite file with tokens, the same on a copy
of the demo town, and a fresh PostgreSQL schema. Helpers live in ``tests/support.py``.

Both apps run on a stopped clock (``Settings.frozen_now``): plans never place anything before the
moment they are made, so a test of a past week passes that moment explicitly. ``client`` stands at
:data:`tests.support.SYNTHETIC_NOW` (when ``synthetic_incidents`` end and their forecasts begin),
``demo_client`` at :data:`tests.support.DEMO_NOW` (when the demo town's plans were made); a test
moves it with :func:`tests.support.set_clock`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.support import DEMO_NOW, PG_URL, SYNTHETIC_NOW, copy_demo, pg_available
from tryggplan.domain import ROLES
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.tokens import create_token


@pytest.fixture
def pg_schema() -> Iterator[dict[str, object]]:
    """Engine kwargs that put every table in a fresh PostgreSQL schema (dropped afterwards)."""
    if not pg_available():
        pytest.skip("PostgreSQL is not answering on 127.0.0.1:5432 (pg_isready failed): start it as .ci/run does")
    schema = f"tp_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'create schema "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL answers on 127.0.0.1:5432 but {PG_URL} cannot be used ({str(exc.orig)[:200]}): "
            "the tests need database 'test' with trust auth for user postgres"
        )
    try:
        yield {"connect_args": {"options": f"-csearch_path={schema}"}}
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'db' / 'service.db'}", max_upload_bytes=2_000_000, frozen_now=SYNTHETIC_NOW
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.engine.dispose()


@pytest.fixture
def tokens(client: TestClient) -> dict[str, str]:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    return {role: create_token(engine, role, f"test {role}")[0] for role in ROLES}


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    return copy_demo(tmp_path / "db" / "tryggplan.db")


@pytest.fixture
def demo_settings(demo_db: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{demo_db}", max_upload_bytes=2_000_000, frozen_now=DEMO_NOW)


@pytest.fixture
def demo_client(demo_settings: Settings) -> Iterator[TestClient]:
    app = create_app(demo_settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.engine.dispose()


@pytest.fixture
def demo_tokens(demo_client: TestClient) -> dict[str, str]:
    engine = demo_client.app.state.engine  # type: ignore[attr-defined]
    return {role: create_token(engine, role, f"test {role}")[0] for role in ROLES}
