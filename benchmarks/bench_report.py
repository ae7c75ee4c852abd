"""Situation-picture benchmark: the JSON, the HTML and the walk evaluation on a large area.

Synthetic: ``--incidents`` incidents over two years at ``--places`` places in five municipalities,
the report for the 14 days to 2026-11-29 (one section per municipality), and the evaluation of
100 walks against a 26-week grid. Prints a markdown table of wall and CPU seconds (the machine's
load average too: wall time on a shared machine includes waiting for a core).

Usage::

    .venv/bin/python benchmarks/bench_report.py
    .venv/bin/python benchmarks/bench_report.py --incidents 20000 --places 40
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.reporting.evaluation import evaluate_coverage
from tryggplan.reporting.html import situation_html
from tryggplan.reporting.situation import situation_picture

TZ = "Europe/Stockholm"


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=200_000)
    ap.add_argument("--places", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    pids = [f"p{i}" for i in range(args.places)]
    places = pd.DataFrame(
        {
            "place_id": pids,
            "name": [f"Plats {i}" for i in range(args.places)],
            "municipality": [f"M{i % 5}" for i in range(args.places)],
        }
    )
    incidents = pd.DataFrame(
        {
            "occurred_at": pd.Timestamp("2025-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 700 * 86400, args.incidents), unit="s"),
            "place_id": rng.choice(pids, args.incidents),
            "category": rng.choice([f"kategori {i}" for i in range(10)], args.incidents),
        }
    )
    report, w1, c1 = timed(lambda: situation_picture(incidents, places, "2026-11-29", tz=TZ))
    _, w2, c2 = timed(lambda: situation_html(report))
    slots = pd.date_range(pd.Timestamp("2026-05-04", tz=TZ), periods=26 * 7 * 24, freq="h")
    grid = pd.DataFrame(
        {"place_id": np.repeat(pids, len(slots)), "slot_start": np.tile(slots, len(pids)), "expected": 0.01}
    )
    walks = [
        {
            "kind": "night_walk",
            "place_ids": pids[(4 * k) % len(pids) : (4 * k) % len(pids) + 4],
            "start": (slots[0] + pd.Timedelta(days=k, hours=20)).isoformat(),
            "end": (slots[0] + pd.Timedelta(days=k, hours=24)).isoformat(),
        }
        for k in range(100)
    ]
    _, w3, c3 = timed(lambda: evaluate_coverage(walks, incidents, grid, tz=TZ, until=slots[-1]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out = [
        f"{args.incidents} incidents, {args.places} places, 5 municipalities (load average {load:.1f})",
        "",
        "| step | wall s | CPU s |",
        "|---|---|---|",
        f"| situation_picture (JSON, 5 sections) | {w1:.2f} | {c1:.2f} |",
        f"| situation_html (5 sections, 10 charts) | {w2:.2f} | {c2:.2f} |",
        f"| evaluate_coverage (100 walks, {len(grid)} grid rows) | {w3:.2f} | {c3:.2f} |",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
