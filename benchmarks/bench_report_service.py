"""Situation picture from the database: what ``tryggplan report situation`` and ``GET
/api/v1/reports/situation(.html)`` cost on a large area.

Synthetic, in a fresh SQLite file: ``--incidents`` incidents over two years at ``--places`` places
in five municipalities, a stored 14-day forecast for the fortnight after 2026-11-29 (every place,
each evening 20:00-01:00 high-risk on Fridays and Saturdays), a weekly plan per week of the period
and the fortnight ahead with a walk per municipality and night on Fridays and Saturdays (recorded
completed in the period) and meeting notes. Times the use case (JSON, every municipality's section)
and the two routes through the in-process test client (the HTML draws two charts per municipality).
Prints a markdown table of wall and CPU seconds with the load average (a shared machine's wall
time includes waiting for a core).

Usage::

    .venv/bin/python benchmarks/bench_report_service.py
    .venv/bin/python benchmarks/bench_report_service.py --incidents 20000 --places 40
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage import forecasts as runs
from tryggplan.storage import plans as stored_plans
from tryggplan.storage import reports as stored_reports
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import import_incidents
from tryggplan.storage.tokens import create_token
from tryggplan.usecases import reports

TZ = "Europe/Stockholm"
TO = dt.date(2026, 11, 29)


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def build(db: Path, n: int, n_places: int) -> None:
    rng = np.random.default_rng(0)
    pids = [f"p{i}" for i in range(n_places)]
    towns = [f"M{i % 5}" for i in range(n_places)]
    places = pd.DataFrame(
        {"place_id": pids, "name": [f"Plats {i}" for i in range(n_places)], "municipality": towns, "area": towns}
    )
    incidents = pd.DataFrame(
        {
            "incident_id": [f"i{k}" for k in range(n)],
            "occurred_at": pd.Timestamp("2024-12-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 729 * 86400, n), unit="s"),
            "place_id": rng.choice(pids, n),
            "category": rng.choice([f"kategori {i}" for i in range(10)], n),
            "source": "police",
            "weight": 1.0,
        }
    )
    engine = open_database(f"sqlite:///{db}")
    import_incidents(engine, incidents, places, source_file="bench.csv", actor="bench")
    first = TO + dt.timedelta(days=1)
    slots = pd.date_range(pd.Timestamp(first).tz_localize(TZ), periods=14 * 24, freq="h")
    night = (slots - pd.Timedelta(hours=6)).weekday
    hot = np.asarray(((slots.hour >= 20) | (slots.hour < 1)) & ((night == 4) | (night == 5)))
    expected = np.where(hot, 0.3, 0.02)
    grid = pd.DataFrame(
        {
            "place_id": np.repeat(pids, len(slots)),
            "slot_start": np.tile(slots, n_places),
            "expected": np.tile(expected, n_places),
            "risk_level": np.tile(np.where(hot, "high", "normal"), n_places),
        }
    )
    grid = grid.assign(
        p_any=1 - np.exp(-grid["expected"]), lo_80=0, hi_80=1, nb_alpha=0.0, model="bench", model_version="1",
        trained_until=pd.Timestamp(first).tz_localize(TZ), generated_at=pd.Timestamp("2026-11-30", tz="UTC"),
    )  # fmt: skip
    run = runs.new_run(engine, "bench", first, 14, TZ, None, "bench")
    runs.store_grid(engine, run.id, grid)
    spec = stored_plans.store_resources(engine, "bench", {}, "bench")
    for week_start in pd.date_range(TO - dt.timedelta(days=13), TO + dt.timedelta(days=14), freq="W-MON"):
        shifts = []
        for day in (4, 5):
            night_date = (week_start + pd.Timedelta(days=day)).date()
            for town in sorted(set(towns)):
                start = pd.Timestamp(f"{night_date} 20:00").tz_localize(TZ)
                shifts.append(
                    {
                        "kind": "night_walk", "association": f"Förening {town}", "area": town,
                        "place_ids": [p for p, t in zip(pids, towns, strict=True) if t == town][:4],
                        "start": start.isoformat(), "end": (start + pd.Timedelta(hours=4)).isoformat(),
                        "night": night_date.isoformat(),
                    }
                )  # fmt: skip
        iso = week_start.isocalendar()
        week = f"{iso[0]}-W{iso[1]:02d}"
        plan = stored_plans.store_plan(
            engine,
            stored_plans.NewPlan("week", week, {"kind": "week", "week": week, "shifts": shifts}, spec.id, run.id, "b"),
        )
        for k, shift in enumerate(shifts):
            if dt.date.fromisoformat(shift["night"]) <= TO:
                stored_plans.record_walk(engine, plan.id, k, "completed", None, "bench")
    for k in range(6):
        at = pd.Timestamp(f"2026-11-{17 + k} 10:00").tz_localize(TZ).to_pydatetime()
        stored_reports.add_note(engine, at, f"Beslut {k}", [pids[k], pids[k + 5]], "bench")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=200_000)
    ap.add_argument("--places", type=int, default=200)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tryggplan-bench-report-"))
    db = tmp / "bench.db"
    _, wb, _ = timed(lambda: build(db, args.incidents, args.places))
    engine = open_database(f"sqlite:///{db}")
    rep, w1, c1 = timed(lambda: reports.situation(engine, TO, days=14, tz=TZ))
    one, w2, c2 = timed(lambda: reports.situation(engine, TO, days=14, tz=TZ, municipalities=["M0"]))
    reader = create_token(engine, "reader", "bench")[0]
    engine.dispose()
    app = create_app(Settings(database_url=f"sqlite:///{db}"))
    head = {"Authorization": f"Bearer {reader}"}
    with TestClient(app) as client:
        q = {"to": TO.isoformat(), "days": 14}
        r1, w3, c3 = timed(lambda: client.get("/api/v1/reports/situation", params=q, headers=head))
        r2, w4, c4 = timed(lambda: client.get("/api/v1/reports/situation.html", params=q, headers=head))
    app.state.engine.dispose()
    assert r1.status_code == r2.status_code == 200
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out = [
        f"{args.incidents} incidents, {args.places} places, 5 municipalities, {len(rep['ahead']['windows'])} windows "
        f"ahead, {rep['done']['walks_completed']} walks in the period (load average {load:.1f}; data built in "
        f"{wb:.1f} s)",
        "",
        "| step | wall [s] | CPU [s] |",
        "|---|---|---|",
        f"| use case, whole area (JSON with {len(rep['sections'])} sections) | {w1:.2f} | {c1:.2f} |",
        f"| use case, one municipality ({one['totals']['count']} incidents in the period) | {w2:.2f} | {c2:.2f} |",
        f"| GET /api/v1/reports/situation ({len(r1.content) / 1e6:.1f} MB) | {w3:.2f} | {c3:.2f} |",
        f"| GET /api/v1/reports/situation.html ({len(r2.content) / 1e6:.1f} MB) | {w4:.2f} | {c4:.2f} |",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
