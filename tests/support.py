"""Helpers shared by the tests: small towns, the demo-town template database, a real server on
loopback, request helpers. Fixtures are in ``tests/conftest.py``.

The demo town (16 places, ~1100 incidents, a finished forecast, a resources spec and a plan) is
prepared once per test process into a template database (about 10 s) and copied for each test with
the online backup API, so every test starts from the same full database and may change it freely.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from tryggplan.storage.backup import backup_sqlite
from tryggplan.usecases.demo import prepare_town_demo

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


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def finished(client: Any, path: str, headers: dict[str, str], timeout: float = 180.0) -> dict[str, Any]:
    """GET ``path`` (a forecast run, backtest or job) until its status is done, failed or cancelled:
    jobs run in the worker pool, not in the request that queued them."""
    deadline = time.monotonic() + timeout
    while True:
        doc: dict[str, Any] = client.get(path, headers=headers).json()
        if doc.get("status") in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return doc
        time.sleep(0.05)


def upload(
    client: TestClient, token: str, name: str, data: bytes, places: bytes | None = None, **params: object
) -> object:
    files = {"file": (name, data, "text/csv")}
    if places is not None:
        files["places"] = ("places.csv", places, "text/csv")
    return client.post("/api/v1/incidents/upload", files=files, headers=auth(token), params=params)


#: The demo town's "today": its incidents end the day before, the forecast starts on it.
DEMO_TODAY = dt.date(2025, 12, 3)
DEMO_WEEK = "2025-W50"
#: When the demo town's plans were made (local midnight starting DEMO_TODAY): the demo apps' clock.
DEMO_NOW = dt.datetime(2025, 12, 3, tzinfo=dt.timezone(dt.timedelta(hours=1)))
#: When ``synthetic_incidents`` end (local midnight starting 2025-09-01): the plain apps' clock.
SYNTHETIC_NOW = dt.datetime(2025, 9, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def set_clock(client: TestClient, when: dt.datetime) -> None:
    """Stop the app's clock at ``when`` (tz-aware): what plans, walk records and offers take as now."""
    assert when.tzinfo is not None
    client.app.state.clock = lambda: when  # type: ignore[attr-defined]


ROOT = Path(__file__).resolve().parent.parent
TRYGGPLAN = str(Path(sys.executable).with_name("tryggplan"))


@functools.cache
def demo_template() -> Path:
    """A prepared demo-town SQLite database (built once per process, never written to afterwards)."""
    directory = Path(tempfile.mkdtemp(prefix="tryggplan-demo-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    db = directory / "tryggplan.db"
    prepare_town_demo(directory, f"sqlite:///{db}", seed=7, today=DEMO_TODAY)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def copy_demo(target: Path) -> Path:
    """A private copy of the demo database at ``target`` (online backup API)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    backup_sqlite(demo_template(), target)
    return target


#: Columns a request may change without changing data: a token's last use is written when it is used.
BOOKKEEPING = {("api_tokens", "last_used_at")}
#: Tables of bookkeeping only: every plan request leaves its job (done or failed) in the queue's history.
BOOKKEEPING_TABLES = {"jobs"}


def table_dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: what "the database is unchanged" compares (bookkeeping
    columns left out)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute("select name from sqlite_master where type='table' order by name")
            if not r[0].startswith("sqlite_") and r[0] not in BOOKKEEPING_TABLES
        ]
        dump = {}
        for t in tables:
            cols = [r[1] for r in conn.execute(f'pragma table_info("{t}")') if (t, r[1]) not in BOOKKEEPING]
            listed = ", ".join(f'"{c}"' for c in cols)
            dump[t] = sorted(conn.execute(f'select {listed} from "{t}"').fetchall(), key=repr)
        return dump
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real ``tryggplan serve`` subprocess on loopback (for fault tests and the load script); its clock
    stands at ``now`` (``TRYGGPLAN_FROZEN_NOW``) when given."""

    def __init__(
        self, db_url: str, log_path: Path, env: dict[str, str] | None = None, now: dt.datetime | None = None
    ) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        if now is not None:
            self.env["TRYGGPLAN_FROZEN_NOW"] = now.isoformat()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Server:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [TRYGGPLAN, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--db", self.db_url],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=ROOT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz within {timeout} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


EXCEL_PLACES = ("Stortorget", "Stadsparken", "Resecentrum", "Skolgården")
EXCEL_CATEGORIES = ("Skadegörelse", "Ordningsstörning", "Stöld", "Misshandel")


def excel_export(path: Path, days: int = 84, n: int = 320, seed: int = 15) -> Path:
    """What Excel writes when a coordinator saves the municipality's incident list as CSV: ``;``,
    cp1252, CRLF, ``Datum;Tid;Plats;Händelsetyp`` (no id column), Swedish place names and categories;
    ``n`` evening incidents over the ``days`` days up to yesterday (Stockholm)."""
    rng = np.random.default_rng(seed)
    last = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Europe/Stockholm")).date() - dt.timedelta(days=1)
    rows = []
    for _ in range(n):
        day = last - dt.timedelta(days=int(rng.integers(days)))
        hour = int(rng.choice([18, 19, 20, 21, 22, 23]))
        place = EXCEL_PLACES[int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))]
        category = EXCEL_CATEGORIES[int(rng.integers(4))]
        rows.append(f"{day:%Y-%m-%d};{hour:02d}:{int(rng.integers(60)):02d};{place};{category}")
    path.write_bytes(("Datum;Tid;Plats;Händelsetyp\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    return path
