"""Load test: a bounded async client against a real ``tryggplan serve`` on loopback, demo town.

    .venv/bin/python benchmarks/load.py                         # SQLite and PostgreSQL, 10/50/200 clients
    .venv/bin/python benchmarks/load.py --db sqlite --clients 50 --requests 2000
    .venv/bin/python benchmarks/load.py --json var/load.json    # also write the figures as JSON

What it does, per database:

1. prepares the demo town (``tryggplan.usecases.demo.prepare_town_demo``: 16 places, ~1 100 incidents, a 14-day
   forecast, a resources spec, next week's plan) in a fresh SQLite file, or in a fresh PostgreSQL
   database it creates (``tryggplan_load_<pid>`` on ``--pg-url``'s server) and drops afterwards;
2. starts ``tryggplan serve --host 127.0.0.1 --port <free port>`` as a subprocess (loopback only);
3. for each concurrency level, ``--clients`` workers share a fixed budget of ``--requests``
   requests and stop early at ``--time-bound`` seconds; each worker sends its next request as soon
   as the previous one answered (closed loop, no think time: the harshest reading of "N concurrent
   clients"), or, with ``--think S``, after a pause of 0.5-1.5 x S seconds (a person looking at the
   dashboard between clicks). The mix is what a dashboard and a coordinator do:

   ======  ===================================================  =====
   kind    request                                              share
   ======  ===================================================  =====
   read    GET /api/v1/forecasts/latest/grid (one day)          25 %
   read    GET /api/v1/forecasts/latest/heatmap                 20 %
   read    GET /api/v1/plans/current                            20 %
   read    GET /api/v1/forecasts/latest/daily                   10 %
   read    GET /api/v1/forecasts/latest/windows                 10 %
   read    GET /api/v1/places                                    5 %
   write   POST /api/v1/resources (a coordinator saves a spec)  10 %
   ======  ===================================================  =====

   With ``--mix windows`` (issue 16: reads that miss the cache) every request is
   ``GET /api/v1/forecasts/latest/grid?start=..&end=..``: a 24-hour window starting at a random hour of
   the forecast's 14 days, a third of them for one random place, so almost no two requests are the
   same; add ``--no-cache`` to serve them with the response cache switched off
   (``TRYGGPLAN_READ_CACHE=false``), so every answer is read from the run's grid.

Reported per level: requests, seconds, requests/s, p50/p95/p99 latency of reads and of writes
[ms], and errors (transport errors and any status other than the expected 200/201).

    .venv/bin/python benchmarks/load.py --mix windows --no-cache --clients 50 --requests 3000
    .venv/bin/python benchmarks/load.py --db sqlite --mix windows --no-cache --clients 50 --http-workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa

from tryggplan.usecases.demo import prepare_town_demo

ROOT = Path(__file__).resolve().parent.parent
TRYGGPLAN = str(Path(sys.executable).with_name("tryggplan"))
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TODAY = dt.date(2025, 12, 3)


@dataclass
class LevelResult:
    database: str
    mix: str
    cache: bool
    think_s: float
    clients: int
    requests: int
    seconds: float
    rps: float
    read_p50_ms: float
    read_p95_ms: float
    read_p99_ms: float
    write_p50_ms: float
    write_p95_ms: float
    write_p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_database(kind: str, pg_url: str, tmp: Path) -> Iterator[str]:
    """A database URL holding the prepared demo town (a PostgreSQL database is dropped after)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'load.db'}"
        prepare_town_demo(tmp, url, today=TODAY)
        yield url
        return

    name = f"tryggplan_load_{os.getpid()}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}"'))
        conn.execute(sa.text(f'create database "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    try:
        prepare_town_demo(tmp, url, today=TODAY)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@contextmanager
def serve(url: str, log: Path, cache: bool = True, http_workers: int | None = None) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TRYGGPLAN_LOG_LEVEL": "warning", "TRYGGPLAN_READ_CACHE": "true" if cache else "false"}
    if http_workers is not None:
        env["TRYGGPLAN_HTTP_WORKERS"] = str(http_workers)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [TRYGGPLAN, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _token(url: str, role: str) -> str:
    out = subprocess.run(
        [TRYGGPLAN, "token", "create", "--role", role, "--name", "load test", "--db", url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return out.stdout.split()[-1]


def _windows_mix(
    day: dt.date, days: int, places: list[str], seed: int, count: int = 5000
) -> list[tuple[float, str, str, str, dict[str, Any] | None]]:
    """``count`` different 24-hour windows of the forecast (equal shares): start at a random local hour
    of its ``days`` days, a third of them for one random place."""
    rng = random.Random(seed)
    mix = []
    for _ in range(count):
        start = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=rng.randrange((days - 1) * 24))
        end = start + dt.timedelta(hours=24)
        path = f"/api/v1/forecasts/latest/grid?start={start:%Y-%m-%dT%H:%M}&end={end:%Y-%m-%dT%H:%M}"
        if rng.random() < 1 / 3:
            path += f"&place_id={rng.choice(places)}"
        mix.append((1.0, "read", "GET", path, None))
    return mix


def _mix(day: str, spec: dict[str, Any]) -> list[tuple[float, str, str, str, dict[str, Any] | None]]:
    """(share, kind, method, path, json body)."""
    nxt = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    return [
        (0.25, "read", "GET", f"/api/v1/forecasts/latest/grid?start={day}&end={nxt}", None),
        (0.20, "read", "GET", "/api/v1/forecasts/latest/heatmap", None),
        (0.20, "read", "GET", "/api/v1/plans/current", None),
        (0.10, "read", "GET", "/api/v1/forecasts/latest/daily", None),
        (0.10, "read", "GET", "/api/v1/forecasts/latest/windows", None),
        (0.05, "read", "GET", "/api/v1/places", None),
        (0.10, "write", "POST", "/api/v1/resources", {"name": "load test", "spec": spec}),
    ]


async def run_level(
    base: str,
    tokens: dict[str, str],
    clients: int,
    requests: int,
    time_bound: float,
    mix: list[tuple[float, str, str, str, dict[str, Any] | None]],
    seed: int,
    think: float = 0.0,
) -> dict[str, Any]:
    rng = random.Random(seed)
    shares = np.cumsum([m[0] for m in mix])
    plan = [mix[int(np.searchsorted(shares, rng.random() * shares[-1], side="right"))] for _ in range(requests)]
    latencies: dict[str, list[float]] = {"read": [], "write": []}
    errors = 0
    next_index = 0
    t0 = time.perf_counter()
    # one client (one keep-alive connection) per worker, like one browser per person: a single shared
    # httpx pool of 200 connections costs the *client* seconds per request and would be measured instead
    sessions = [
        httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=1), timeout=60.0) for _ in range(clients)
    ]
    try:

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal next_index, errors
            while next_index < len(plan) and time.perf_counter() - t0 < time_bound:
                _, kind, method, path, body = plan[next_index]
                next_index += 1
                headers = {"Authorization": f"Bearer {tokens['coordinator' if kind == 'write' else 'reader']}"}
                start = time.perf_counter()
                try:
                    r = await client.request(method, path, json=body, headers=headers)
                    ok = r.status_code == (201 if method == "POST" else 200)
                except httpx.HTTPError:
                    ok = False
                latencies[kind].append(1000 * (time.perf_counter() - start))
                errors += 0 if ok else 1
                if think > 0:  # a person reading the dashboard: 0.5-1.5 x think seconds
                    await asyncio.sleep(think * (0.5 + rng.random()))

        await asyncio.gather(*(worker(client) for client in sessions))
    finally:
        for client in sessions:
            await client.aclose()
    seconds = time.perf_counter() - t0
    done = len(latencies["read"]) + len(latencies["write"])

    def pct(kind: str, q: float) -> float:
        values = latencies[kind]
        return float(np.percentile(values, q)) if values else float("nan")

    return {
        "clients": clients,
        "requests": done,
        "seconds": round(seconds, 2),
        "rps": round(done / seconds, 1),
        "read_p50_ms": round(pct("read", 50), 1),
        "read_p95_ms": round(pct("read", 95), 1),
        "read_p99_ms": round(pct("read", 99), 1),
        "write_p50_ms": round(pct("write", 50), 1),
        "write_p95_ms": round(pct("write", 95), 1),
        "write_p99_ms": round(pct("write", 99), 1),
        "errors": errors,
    }


def run_database(kind: str, args: argparse.Namespace) -> list[LevelResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="tryggplan-load-") as tmp_name:
        tmp = Path(tmp_name)
        with (
            demo_database(kind, args.pg_url, tmp) as url,
            serve(url, tmp / "server.log", cache=not args.no_cache, http_workers=args.http_workers) as base,
        ):
            tokens = {role: _token(url, role) for role in ("reader", "coordinator")}
            h = {"Authorization": f"Bearer {tokens['coordinator']}"}
            if args.mix == "windows":
                places = [p["place_id"] for p in httpx.get(base + "/api/v1/places", headers=h).json()]
                mix = _windows_mix(TODAY, 14, places, seed=1)
            else:
                spec = httpx.get(base + "/api/v1/resources", headers=h).json()[0]["spec"]
                mix = _mix(TODAY.isoformat(), spec)
            asyncio.run(run_level(base, tokens, 5, 50, 30, mix, seed=0))  # warm-up
            for clients in args.clients:
                row = asyncio.run(
                    run_level(
                        base, tokens, clients, args.requests, args.time_bound, mix, seed=clients, think=args.think
                    )
                )
                results.append(
                    LevelResult(database=kind, think_s=args.think, mix=args.mix, cache=not args.no_cache, **row)
                )
                print(_line(results[-1]), flush=True)
    return results


def _line(r: LevelResult) -> str:
    return (
        f"| {r.database} | {r.mix} | {'on' if r.cache else 'off'} | {r.think_s:g} | {r.clients} | {r.requests} | "
        f"{r.seconds} | {r.rps} | {r.read_p50_ms} | "
        f"{r.read_p95_ms} | {r.read_p99_ms} | {r.write_p50_ms} | {r.write_p95_ms} | {r.write_p99_ms} | "
        f"{r.errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[10, 50, 200])
    parser.add_argument("--requests", type=int, default=3000, help="requests per concurrency level")
    parser.add_argument("--time-bound", type=float, default=120.0, help="seconds per level at most")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean pause [s] of each client between its requests (0: closed loop, no pause)",
    )
    parser.add_argument("--mix", choices=["dashboard", "windows"], default="dashboard", help="what the clients ask")
    parser.add_argument("--no-cache", action="store_true", help="serve with the response cache off")
    parser.add_argument(
        "--http-workers", type=int, default=None, help="HTTP processes of the server (default its setting: 1)"
    )
    parser.add_argument("--pg-url", default=PG_URL, help="a PostgreSQL server where databases may be created")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    print(
        "| database | mix | cache | think s | clients | requests | s | req/s | read p50 ms | read p95 ms | "
        "read p99 ms | write p50 ms | write p95 ms | write p99 ms | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    results: list[LevelResult] = []
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        results += run_database(kind, args)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
