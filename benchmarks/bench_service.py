"""Service benchmark: storage import throughput and API latency on the demo town (SQLite).

    .venv/bin/python benchmarks/bench_service.py [--incidents 100000] [--repeat 20]

Prints one line per figure: import of N incidents into a fresh SQLite file (and the idempotent
re-import), a 5 000-row CSV upload through the API, and the median latency of the read routes a
dashboard calls (risk grid JSON/CSV, GeoJSON, heatmap, windows, daily) for 16 places x 14 days.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from tryggplan.demo import generate_town
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import import_incidents
from tryggplan.storage.tokens import create_token


def synthetic(n: int, places: list[str], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-01-01", tz="UTC").value
    span = pd.Timedelta(days=5 * 365).value
    return pd.DataFrame(
        {
            "incident_id": [f"b{i}" for i in range(n)],
            "occurred_at": pd.to_datetime(start + rng.integers(0, span, n), utc=True).floor("min"),
            "place_id": rng.choice(places, n),
            "category": rng.choice(["vandalism", "theft", "assault", "disorder"], n),
            "source": "police",
            "weight": 1.0,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    town = generate_town(seed=7, end=dt.date(2026, 11, 22))
    places = list(town.places["place_id"])
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        frame = synthetic(args.incidents, places)
        t = time.perf_counter()
        import_incidents(engine, frame, town.places, source_file="bench")
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = import_incidents(engine, frame, None, source_file="bench")
        second = time.perf_counter() - t
        assert again.unchanged == args.incidents
        print(
            f"import {args.incidents} incidents into SQLite: {first:.2f} s ({args.incidents / first:,.0f} rows/s); "
            f"idempotent re-import: {second:.2f} s"
        )
        engine.dispose()

        app = create_app(Settings(database_url=f"sqlite:///{Path(tmp) / 'api.db'}"))
        token = create_token(app.state.engine, "admin")[0]
        h = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as c:
            c.post("/api/v1/places", json={"place_id": "p", "name": "P"}, headers=h)
            rows = "".join(
                f"u{i},2025-0{1 + i % 9}-1{i % 10}T21:{i % 60:02d}:00+02:00,p,theft,police,1\n" for i in range(5000)
            )
            data = ("incident_id,occurred_at,place_id,category,source,weight\n" + rows).encode()
            t = time.perf_counter()
            r = c.post("/api/v1/incidents/upload", files={"file": ("u.csv", data, "text/csv")}, headers=h)
            assert r.status_code == 201, r.text
            print(f"upload 5000-row CSV through the API: {time.perf_counter() - t:.2f} s")
            import_incidents(app.state.engine, town.incidents, town.places, source_file="demo")
            r = c.post("/api/v1/forecasts", json={"start": "2026-11-23", "days": 14}, headers=h)
            assert c.get(f"/api/v1/forecasts/{r.json()['id']}", headers=h).json()["status"] == "done"
            for path in ("grid", "grid.csv", "places.geojson", "heatmap", "windows", "daily"):
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    resp = c.get(f"/api/v1/forecasts/latest/{path}", headers=h)
                    times.append(time.perf_counter() - t)
                    assert resp.status_code == 200
                print(
                    f"GET /forecasts/latest/{path} (16 places x 14 days, {len(resp.content) / 1e3:.0f} kB): "
                    f"median {1000 * statistics.median(times):.0f} ms"
                )
        app.state.engine.dispose()


if __name__ == "__main__":
    main()
