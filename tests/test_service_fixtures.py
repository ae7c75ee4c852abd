"""Shared fixtures of the service tests (a tiny town, an app on a temporary SQLite file, tokens).

Imported by the other ``test_service_*`` modules; holds no tests itself.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.tokens import ROLES, create_token

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

HEADER = "incident_id,occurred_at,place_id,category,source,weight\n"
PLACES_CSV = (
    "place_id,name,municipality,lat,lon,kind,area\n"
    "parken,Parken,Arboga,59.3936,15.8386,park,centrum\n"
    "skolan,Skolan,Arboga,59.3960,15.8420,school,centrum\n"
)
GOOD_CSV = (
    HEADER + "k1,2025-08-15T21:10:00+02:00,parken,vandalism,reporter,1\n"
    "k2,2025-08-16 00:20,skolan,disorder,police,1\n"
    "k3,2025-08-16T23:05:00+02:00,parken,assault,police,2\n"
)


def places_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "place_id": ["parken", "skolan"],
            "name": ["Parken", "Skolan"],
            "municipality": ["Arboga", "Arboga"],
            "lat": [59.3936, 59.3960],
            "lon": [15.8386, 15.8420],
            "kind": ["park", "school"],
            "area": ["centrum", "centrum"],
        }
    )


def synthetic_incidents(days: int = 56, end: dt.date = dt.date(2025, 9, 1), seed: int = 3) -> pd.DataFrame:
    """Incidents on Friday/Saturday evenings at two places over ``days`` days before ``end``."""
    rng = np.random.default_rng(seed)
    rows = []
    start = end - dt.timedelta(days=days)
    for d in range(days):
        day = start + dt.timedelta(days=d)
        n = rng.poisson(3.0 if day.weekday() in (4, 5) else 0.5)
        for k in range(n):
            hour = int(rng.choice([20, 21, 22, 23]))
            ts = pd.Timestamp(
                dt.datetime(day.year, day.month, day.day, hour, int(rng.integers(0, 60))),
                tz="Europe/Stockholm",
            )
            rows.append(
                (
                    f"s{d}-{k}",
                    ts.tz_convert("UTC"),
                    "parken" if rng.random() < 0.7 else "skolan",
                    "disorder",
                    "police",
                    1.0,
                )
            )
    return pd.DataFrame(rows, columns=["incident_id", "occurred_at", "place_id", "category", "source", "weight"])


def pg_available() -> bool:
    if shutil.which("pg_isready") is None:
        return False
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False).returncode == 0


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
    return Settings(database_url=f"sqlite:///{tmp_path / 'db' / 'service.db'}", max_upload_bytes=2_000_000)


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


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(
    client: TestClient, token: str, name: str, data: bytes, places: bytes | None = None, **params: object
) -> object:
    files = {"file": (name, data, "text/csv")}
    if places is not None:
        files["places"] = ("places.csv", places, "text/csv")
    return client.post("/api/v1/incidents/upload", files=files, headers=auth(token), params=params)
