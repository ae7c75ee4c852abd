"""Benchmark: incidents -> zero-filled hourly counts per place and local slot.

    .venv/bin/python benchmarks/bench_counts.py [--incidents 100000] [--places 300] [--years 3] [--repeat 3]

Reports the best wall time of ``hourly_count_matrix`` (dense matrix) and ``hourly_counts`` (the
long frame, one row per place and hour) and the peak memory each allocates (tracemalloc, which
numpy and pandas report to) plus the process's peak resident set size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.counts import hourly_count_matrix, hourly_counts


def synthetic_incidents(n: int, n_places: int, years: float, seed: int = 0) -> tuple[pd.DataFrame, dt.date, dt.date]:
    rng = np.random.default_rng(seed)
    start = dt.date(2023, 1, 1)
    end = start + dt.timedelta(days=round(365.25 * years))
    first = pd.Timestamp(start, tz="Europe/Stockholm").tz_convert("UTC").value
    span = pd.Timestamp(end, tz="Europe/Stockholm").tz_convert("UTC").value - first
    times = pd.to_datetime(np.sort(first + rng.integers(0, span, n)), utc=True)
    places = np.array([f"place-{i:04d}" for i in range(n_places)])
    share = rng.dirichlet(np.ones(n_places))
    frame = pd.DataFrame(
        {
            "incident_id": [f"i{i}" for i in range(n)],
            "occurred_at": times,
            "place_id": places[rng.choice(n_places, n, p=share)],
            "category": "theft",
            "source": "police",
            "weight": 1.0,
        }
    )
    return frame, start, end


def measure(call: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - t0)
        del result
    tracemalloc.start()
    result = call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--places", type=int, default=300)
    parser.add_argument("--years", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frame, start, end = synthetic_incidents(args.incidents, args.places, args.years)
    places = sorted(frame["place_id"].unique())
    t_m, mem_m, matrix = measure(lambda: hourly_count_matrix(frame, start=start, end=end, places=places), args.repeat)
    assert matrix.values.sum() == args.incidents
    shape = matrix.values.shape
    del matrix
    t_f, mem_f, long = measure(lambda: hourly_counts(frame, start=start, end=end, places=places), args.repeat)
    assert len(long) == shape[0] * shape[1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.incidents} incidents x {shape[0]} places x {shape[1]} hourly slots ({args.years:g} years)")
    print(f"hourly_count_matrix: {t_m:.3f} s, peak {mem_m:.0f} MiB allocated")
    print(f"hourly_counts (long frame, {len(long):,} rows): {t_f:.3f} s, peak {mem_f:.0f} MiB allocated")
    print(f"process peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
