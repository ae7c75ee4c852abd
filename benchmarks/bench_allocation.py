"""Allocation benchmark: weekly MILP solve time vs places, a season of weekly plans, the whole
season placed beyond the forecast, and the season ledger's arithmetic.

Targets (issue 5): a week with 50 places, 7 nights, 4 templates, 8 associations and 168
guard hours solves to a proven optimum (gap <= 0.1%) in under 2 s; a 30-week season in
under 30 s. Issue 12: a 40-week season with a 2-week forecast placed walk by walk (2 MILP
weeks + 38 profile weeks) in a few seconds; the ledger's status and payout list over a
season's records in milliseconds. Prints markdown tables (wall and CPU seconds; the
machine's load average is printed too, since wall time on a shared machine includes waiting
for a core).

Usage::

    .venv/bin/python benchmarks/bench_allocation.py            # full table
    .venv/bin/python benchmarks/bench_allocation.py --quick    # 10/20 places, 5 weeks
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from tryggplan.allocation.baselines import greedy
from tryggplan.allocation.grid import normalise_grid, week_risk
from tryggplan.allocation.ledger import PayoutRecord, WalkRecord, payouts_csv, payouts_due, season_status
from tryggplan.allocation.model import WeekModel, make_setup, solve
from tryggplan.allocation.season import season_plan
from tryggplan.allocation.spec import parse_resources
from tryggplan.allocation.synthetic import synthetic_grid, synthetic_resources

TZ = "Europe/Stockholm"
WEEK = "2026-W13"
MONDAY = pd.Timestamp("2026-03-23 00:00", tz=TZ)  # the season is planned as its first week begins


def week_case(n_places: int, guard_hours: list[int], max_guard: int, repeats: int, gap: float) -> dict[str, Any]:
    """Build and solve one week ``repeats`` times; median wall/CPU seconds of build and solve."""
    grid = normalise_grid(synthetic_grid(n_places, WEEK, seed=2), TZ)
    spec = synthetic_resources(
        n_places,
        max(1, n_places // 5),
        n_assocs=8,
        n_templates=4,
        budget=40000,
        max_guard_hours=max_guard,
        guard_hours=guard_hours,
    )
    res = parse_resources(spec)
    risk = week_risk(grid, WEEK, res.tz)
    rows = []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        setup = make_setup(risk, res, 8)
        model = WeekModel(setup)
        t1, c1 = time.perf_counter(), time.process_time()
        cov, ok = greedy(setup, extend=True)  # the starting plan, as tryggplan.allocation.weekly does
        info = solve(model.prob, "highs", 120, gap, start=model.start_from(cov.chosen, cov.guard) if ok else None)
        t2, c2 = time.perf_counter(), time.process_time()
        rows.append((t1 - t0, c1 - c0, t2 - t1, c2 - c1, info))
    info = rows[-1][4]
    return {
        "places": n_places,
        "guard cells": len(model.y),
        "variables": len(model.prob.variables()),
        "build s": statistics.median(r[0] for r in rows),
        "start+solve s": statistics.median(r[2] for r in rows),
        "start+solve cpu s": statistics.median(r[3] for r in rows),
        "status": info.status,
        "gap": info.gap,
    }


def season_case(n_places: int, weeks: int) -> dict[str, Any]:
    """Pace a season and solve the weekly plan of every week (demo-town-like resources)."""
    grid = synthetic_grid(n_places, WEEK, weeks=weeks + 1, seed=3)
    spec = synthetic_resources(
        n_places,
        4,
        n_assocs=5,
        n_templates=3,
        budget=12000,
        max_guard_hours=24,
        guard_hours=[18, 19, 20, 21, 22, 23, 0, 1, 2, 3],
        season={"walks": 40, "horizon_weeks": weeks, "min_walks_per_week": 1},
    )
    res = parse_resources(spec)
    t0, c0 = time.perf_counter(), time.process_time()
    sp = season_plan(grid, res, WEEK, now=MONDAY, walks_left=40, with_baselines=False)
    t1, c1 = time.perf_counter(), time.process_time()
    worst_gap = max((p.solver.gap for p in sp.weekly.values()), default=0.0)
    return {
        "places": n_places,
        "weeks": weeks,
        "weekly plans": len(sp.weekly),
        "walks": sp.planned_walks,
        "total s": t1 - t0,
        "cpu s": c1 - c0,
        "worst gap": worst_gap,
    }


def placement_case(n_places: int, weeks: int, forecast_weeks: int) -> dict[str, Any]:
    """Place every walk of a ``weeks``-week season whose forecast covers ``forecast_weeks`` weeks."""
    grid = synthetic_grid(n_places, WEEK, weeks=forecast_weeks, seed=3)
    spec = synthetic_resources(
        n_places,
        4,
        n_assocs=5,
        n_templates=3,
        budget=12000,
        max_guard_hours=24,
        guard_hours=[18, 19, 20, 21, 22, 23, 0, 1, 2, 3],
        season={"walks": 60, "horizon_weeks": weeks, "min_walks_per_week": 1},
    )
    res = parse_resources(spec)
    t0, c0 = time.perf_counter(), time.process_time()
    sp = season_plan(grid, res, WEEK, now=MONDAY, walks_left=60, with_baselines=False)
    t1, c1 = time.perf_counter(), time.process_time()
    profile = [p for p in sp.placed if p.source == "profile"]
    return {
        "places": n_places,
        "weeks": weeks,
        "MILP weeks": len(sp.weekly),
        "walks placed": len(sp.placed),
        "by profile": len(profile),
        "total s": t1 - t0,
        "cpu s": c1 - c0,
    }


def ledger_case(n_records: int) -> dict[str, Any]:
    """Season status and payout list over ``n_records`` walk records (a tenth of them corrections)
    and a payout per association every 50 records but the last 100."""
    res = parse_resources(synthetic_resources(12, 4, n_assocs=8, season={"walks": n_records}))
    names = [a.name for a in res.associations]
    tz = ZoneInfo(res.tz)
    records: list[WalkRecord] = []
    payouts: list[PayoutRecord] = []
    at = dt.datetime(2026, 12, 31, 12, tzinfo=tz)
    for k in range(n_records):
        night = dt.date(2026, 1, 1) + dt.timedelta(days=k // len(names))
        name = names[k % len(names)]
        if k % 10 == 9:  # a correction of the previous record of this association
            prev = records[-len(names)]
            records.append(WalkRecord(prev.association, prev.night, "no_show", at, "bench", corrects=prev.id, id=k))
        else:
            records.append(WalkRecord(name, night, "completed", at, "bench", id=k))
        if k % 50 == 49 and k < n_records - 100:  # the last 100 records stay unpaid
            for due in payouts_due(res, records, payouts):
                payouts.append(PayoutRecord(due.association, due.nights, due.amount_sek, at, "bench", id=len(payouts)))
    t0 = time.perf_counter()
    status = season_status(res, records, payouts)
    t1 = time.perf_counter()
    due = payouts_due(res, records, payouts)
    data = payouts_csv(due)
    t2 = time.perf_counter()
    assert abs(status.owed_sek + status.paid_sek - status.walks_done * res.cost_per_walk_sek) < 0.005
    return {
        "records": n_records,
        "payouts": len(payouts),
        "walks done": status.walks_done,
        "status ms": 1000 * (t1 - t0),
        "payouts + csv ms": 1000 * (t2 - t1),
        "csv bytes": len(data),
    }


def table(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    fmt = [
        f"{v:.2f}"
        if isinstance(v, float) and k != "gap" and k != "worst gap"
        else (f"{v:.1e}" if isinstance(v, float) else str(v))
        for r in rows
        for k, v in r.items()
    ]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for i in range(len(rows)):
        lines.append("| " + " | ".join(fmt[i * len(keys) : (i + 1) * len(keys)]) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gap", type=float, default=1e-3, help="relative MIP gap to prove (0.001 = 0.1%%)")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    sizes = [10, 20] if args.quick else [10, 20, 30, 50]
    all_hours = list(range(24))
    night = [18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5]
    print("\nWeek: 7 nights, 4 templates, 8 associations, 8 walks, budget 40 000 SEK; guard at any place,")
    print("any of the week's 168 hours, up to 168 guard hours (24/7) or night hours only (18-06).\n")
    rows = []
    for n in sizes:
        rows.append({"guard hours": "24/7", **week_case(n, all_hours, 168, args.repeats, args.gap)})
        rows.append({"guard hours": "18-06", **week_case(n, night, 84, args.repeats, args.gap)})
    print(table(rows))
    print("\nSeason: pacing + one weekly MILP per week (demo-town-like resources, 40 walks).\n")
    weeks = [5] if args.quick else [5, 10, 30]
    print(table([season_case(16, w) for w in weeks]))
    print("\nThe whole season placed: 60 walks; MILP weeks inside the forecast, the night profile beyond.\n")
    print(table([placement_case(16, w, 2) for w in ([10] if args.quick else [10, 40])]))
    print("\nSeason ledger: status and payout list (pure arithmetic, no database).\n")
    print(table([ledger_case(n) for n in ([1000] if args.quick else [1000, 10000])]))


if __name__ == "__main__":
    main()
