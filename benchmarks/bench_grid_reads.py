"""Window reads of a finished run's risk grid: from its columnar file against the database, as the run
grows (issue 16, item 3: a read costs O(rows returned), not O(run)).

    .venv/bin/python benchmarks/bench_grid_reads.py            # SQLite; --pg-url URL adds PostgreSQL

For runs of 16 places x 14 days (the demo town) up to 300 places x 92 days (a large town's longest
horizon), stores a synthetic finished run, then times ``tryggplan.usecases.forecasts.select_grid`` for
random 24-hour windows of all places and of one place, read from the file
(``grid_dir``) and from the database, and the JSON the grid route writes from the file. Prints a
Markdown table [ms per read, mean of 200].
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tryggplan.service.routes.forecasts import grid_rows_json
from tryggplan.storage import forecasts as stored_runs
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import upsert_places
from tryggplan.usecases import forecasts

TZ = "Europe/Stockholm"
START = dt.date(2026, 3, 2)


def synthetic_run(engine: sa.Engine, places: int, days: int, folder: Path) -> int:
    ids = [f"p{i:04d}" for i in range(places)]
    upsert_places(engine, pd.DataFrame({"place_id": ids, "name": ids, "municipality": "Stad"}))
    slots = pd.date_range(pd.Timestamp(START, tz=TZ).tz_convert("UTC"), periods=days * 24, freq="h").tz_convert(TZ)
    rng = np.random.default_rng(1)
    n = places * len(slots)
    grid = pd.DataFrame(
        {
            "place_id": np.repeat(ids, len(slots)),
            "slot_start": np.tile(slots, places),
            "expected": rng.gamma(0.5, 0.1, n),
            "p_any": rng.random(n),
            "lo_80": 0,
            "hi_80": rng.integers(0, 3, n),
            "nb_alpha": 0.3,
            "model": "synthetic",
            "model_version": "1",
            "trained_until": pd.Timestamp(START, tz=TZ),
            "generated_at": pd.Timestamp.now(tz="UTC"),
            "risk_level": rng.choice(["normal", "elevated", "high"], n),
        }
    )
    run = stored_runs.new_run(engine, "synthetic", START, days, TZ, None, "bench")
    stored_runs.store_grid(engine, run.id, grid, folder)
    return run.id


def timed(call: object, n: int = 200) -> float:
    call()  # type: ignore[operator]
    t = time.perf_counter()
    for _ in range(n):
        call()  # type: ignore[operator]
    return 1000 * (time.perf_counter() - t) / n


def bench(url: str, places: int, days: int, folder: Path) -> dict[str, object]:
    engine = open_database(url)
    try:
        run_id = str(synthetic_run(engine, places, days, folder))
        rng = random.Random(2)

        first = pd.Timestamp(START, tz=TZ).tz_convert("UTC")

        def window() -> tuple[str, str]:  # in UTC: no local hour that does not exist
            start = first + pd.Timedelta(hours=rng.randrange((days - 1) * 24))
            return start.isoformat(), (start + pd.Timedelta(hours=24)).isoformat()

        def read(grid_dir: Path | None, one: bool = False) -> object:
            start, end = window()
            ids = [f"p{rng.randrange(places):04d}"] if one else None
            return forecasts.select_grid(engine, run_id, place_ids=ids, start=start, end=end, grid_dir=grid_dir)

        def render() -> str:
            selection = read(folder)
            return grid_rows_json(selection.cells, TZ)  # type: ignore[attr-defined]

        return {
            "database": engine.dialect.name,
            "places": places,
            "days": days,
            "cells": places * days * 24,
            "rows_returned": places * 24,
            "file_all_ms": timed(lambda: read(folder)),
            "file_one_ms": timed(lambda: read(folder, one=True)),
            "file_json_ms": timed(render),
            "db_all_ms": timed(lambda: read(None), n=50),
            "db_one_ms": timed(lambda: read(None, one=True), n=50),
        }
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=None, help="also on this PostgreSQL server (a database is created)")
    args = parser.parse_args()
    sizes = [(16, 14), (100, 28), (300, 92)]
    print("| database | places | days | cells | rows of a 24 h window | file, all places [ms] | file, one place [ms] "
          "| file + JSON [ms] | database, all places [ms] | database, one place [ms] |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    urls: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.pg_url:
        urls.append(("postgresql", args.pg_url))
    for _kind, pg in urls:
        for places, days in sizes:
            with tempfile.TemporaryDirectory(prefix="tryggplan-bench-grid-") as tmp:
                if pg is None:
                    url = f"sqlite:///{Path(tmp) / 'b.db'}"
                    row = bench(url, places, days, Path(tmp) / "grids")
                else:
                    name = f"tp_bench_grid_{places}_{days}"
                    admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
                        conn.execute(sa.text(f'create database "{name}"'))
                    try:
                        row = bench(pg.rsplit("/", 1)[0] + "/" + name, places, days, Path(tmp) / "grids")
                    finally:
                        with admin.connect() as conn:
                            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
                        admin.dispose()
            print(
                f"| {row['database']} | {places} | {days} | {row['cells']:,} | {row['rows_returned']} | "
                f"{row['file_all_ms']:.2f} | {row['file_one_ms']:.2f} | {row['file_json_ms']:.2f} | "
                f"{row['db_all_ms']:.1f} | {row['db_one_ms']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
