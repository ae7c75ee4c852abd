"""Allocation benchmark: weekly MILP solve time vs places, and a season of weekly plans.

Targets (issue 5): a week with 50 places, 7 nights, 4 templates, 8 associations and 168
guard hours solves to a proven optimum (gap <= 0.1%) in under 2 s; a 30-week season in
under 30 s. Prints a markdown table (wall and CPU seconds; the machine's load average is
printed too, since wall time on a shared machine includes waiting for a core).

Usage::

    .venv/bin/python benchmarks/bench_allocation.py            # full table
    .venv/bin/python benchmarks/bench_allocation.py --quick    # 10/20 places, 5 weeks
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from tryggplan.allocation.baselines import greedy
from tryggplan.allocation.grid import normalise_grid, week_risk
from tryggplan.allocation.model import WeekModel, make_setup, solve
from tryggplan.allocation.season import season_plan
from tryggplan.allocation.spec import parse_resources
from tryggplan.allocation.synthetic import synthetic_grid, synthetic_resources

TZ = "Europe/Stockholm"
WEEK = "2026-W13"


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
    sp = season_plan(grid, res, WEEK, with_baselines=False)
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


if __name__ == "__main__":
    main()
