"""The service's CLI: ``token create|list|revoke``, ``db upgrade``, ``run-demo`` (idempotent) and
``serve`` (security headers, the docs offline in headless Chromium; the dashboard itself is driven in
tests/test_ui_browser.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

TRYGGPLAN = str(Path(sys.executable).parent / "tryggplan")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def tp(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRYGGPLAN, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """Run ``tryggplan ARGS`` in this process (as the console script does: exit code, one-line errors)."""
    from tryggplan.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return Result(int(info.value.code or 0), out.out, out.err)


def test_token_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'x' / 't.db'}"
    made = tp("token", "create", "--role", "reader", "--name", "wall", "--db", db)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.split()[-1]
    assert re.fullmatch(r"tp_[A-Za-z0-9_-]{43}", secret)
    with sqlite3.connect(tmp_path / "x" / "t.db") as c:
        stored = c.execute("select token_hash, role from api_tokens").fetchall()
    assert len(stored) == 1 and stored[0][1] == "reader" and secret not in stored[0][0]
    listed = cli(capsys, "token", "list", "--db", db)
    assert listed.returncode == 0 and "reader" in listed.stdout and secret not in listed.stdout
    revoked = cli(capsys, "token", "revoke", "1", "--db", db)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert "reader" not in cli(capsys, "token", "list", "--db", db).stdout
    assert "revoked" in cli(capsys, "token", "list", "--all", "--db", db).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("token", "create", "--role", "boss"),
            "unknown role 'boss': choose one of reader, coordinator, analyst, admin",
        ),
        (("token", "revoke", "42"), "no token with id 42"),
        (("db", "upgrade", "--db", "mysql://x@y/z"), "unsupported database 'mysql'"),
    ],
)
def test_cli_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    db = ("--db", f"sqlite:///{tmp_path / 't.db'}") if "--db" not in args else ()
    r = cli(capsys, *args, *db)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_db_upgrade_uses_database_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    r = cli(capsys, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "env.db").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    first = tp("run-demo", "--dir", str(directory), "--no-serve")
    assert first.returncode == 0, first.stderr
    return directory


def test_run_demo_is_idempotent(demo: Path) -> None:
    db = demo / "tryggplan.db"
    with sqlite3.connect(db) as c:
        before = [c.execute(f"select count(*) from {t}").fetchone()[0] for t in ("incidents", "forecast_runs", "plans")]
    again = tp("run-demo", "--dir", str(demo), "--no-serve")
    assert again.returncode == 0, again.stderr
    assert "0 added now" in again.stdout
    assert re.search(r"^reader token: tp_\S+$", again.stdout, re.M)
    assert re.search(r"^coordinator token: tp_\S+$", again.stdout, re.M)
    with sqlite3.connect(db) as c:
        after = [c.execute(f"select count(*) from {t}").fetchone()[0] for t in ("incidents", "forecast_runs", "plans")]
        plan = json.loads(c.execute("select plan from plans").fetchone()[0])
    # next week's plan, and one for the rest of this week unless no shift fits in it (late on a Sunday)
    rest_of_week = re.search(
        r"^plan: 2 for the rest of this week \(\d{4}-W\d\d\), shown on the dashboard$", again.stdout, re.M
    )
    none_fits = re.search(
        r"^no plan for the rest of this week \(\d{4}-W\d\d\): no shift fits in it", again.stdout, re.M
    )
    assert (rest_of_week is None) != (none_fits is None), again.stdout
    assert after == before and before[0] > 500 and before[1:] == [1, 2 if rest_of_week else 1]
    assert plan["status"] == "optimal" and plan["shifts"]
    assert {p.name for p in demo.iterdir()} >= {
        "places.csv",
        "incidents.csv",
        "resources.yaml",
        "tryggplan.db",
    }


@pytest.fixture(scope="module")
def server(demo: Path) -> Iterator[str]:
    port = free_port()
    db = f"sqlite:///{demo / 'tryggplan.db'}"
    log = open(demo / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [TRYGGPLAN, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("tryggplan serve did not answer /healthz: " + (demo / "serve.log").read_text()[-500:])
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_serve_answers_with_security_headers(server: str) -> None:
    with urllib.request.urlopen(server + "/logga-in") as r:  # where / sends anybody not signed in
        assert r.status == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    with urllib.request.urlopen(server + "/?nyckel") as r:  # the dashboard for a wall screen's key
        assert r.status == 200
        assert "script-src 'self'" in r.headers["content-security-policy"]
        html = r.read().decode()
    assert "/static/dashboard.js" in html and "http" not in html.split("<body>")[0].replace("http-equiv", "")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRYGGPLAN_TZ": "Mars/Olympus"}, "setting tz (TRYGGPLAN_TZ): unknown time zone 'Mars/Olympus'"),
        ({"TRYGGPLAN_LOG_LEVEL": "loud"}, "setting log_level (TRYGGPLAN_LOG_LEVEL): Input should be"),
    ],
)
def test_bad_settings_are_one_line_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    r = cli(capsys, "db", "upgrade", "--db", f"sqlite:///{tmp_path / 't.db'}")
    assert r.returncode == 2 and message in r.stderr


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium)")
def test_docs_render_offline_from_local_files(server: str, tmp_path: Path) -> None:
    with urllib.request.urlopen(server + "/docs") as r:
        html = r.read().decode()
    assert "cdn" not in html and "/docs/static/swagger-ui-bundle.js" in html
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        f"{server}/docs",
    ]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    assert "opblock" in dom and "/api/v1/incidents/upload" in dom, dom[-1500:]
