"""Shared helpers of the reliability tests (holds no tests itself).

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.backup import backup_sqlite
from tryggplan.storage.tokens import ROLES, create_token
from tryggplan.usecases.demo import prepare_demo

#: The demo town's "today": its incidents end the day before, the forecast starts on it.
DEMO_TODAY = dt.date(2025, 12, 3)
DEMO_WEEK = "2025-W50"
ROOT = Path(__file__).resolve().parent.parent
TRYGGPLAN = str(Path(sys.executable).with_name("tryggplan"))


@functools.cache
def demo_template() -> Path:
    """A prepared demo-town SQLite database (built once per process, never written to afterwards)."""
    directory = Path(tempfile.mkdtemp(prefix="tryggplan-demo-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    db = directory / "tryggplan.db"
    prepare_demo(directory, f"sqlite:///{db}", seed=7, today=DEMO_TODAY)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def copy_demo(target: Path) -> Path:
    """A private copy of the demo database at ``target`` (online backup API)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    backup_sqlite(demo_template(), target)
    return target


def table_dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: what "the database is unchanged" compares."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute("select name from sqlite_master where type='table' order by name")
            if not r[0].startswith("sqlite_")
        ]
        return {t: sorted(conn.execute(f'select * from "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    return copy_demo(tmp_path / "db" / "tryggplan.db")


@pytest.fixture
def demo_settings(demo_db: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{demo_db}", max_upload_bytes=2_000_000)


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real ``tryggplan serve`` subprocess on loopback (for fault tests and the load script)."""

    def __init__(self, db_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
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
