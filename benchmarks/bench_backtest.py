"""Benchmark: a rolling-origin backtest over 100 weekly origins of the Swedish data.

    .venv/bin/python benchmarks/bench_backtest.py [--origins 100] [--models default,how_mean,...]
                                                  [--engine local|dask] [--data ../shared/data]

Builds the canonical Swedish incidents like ``backtests/se_police.py`` (290 municipalities,
hourly, 2023-04-01 to 2025-12-31), then times :func:`tryggplan.forecasting.evaluation.backtest` with the
four baselines and the default model (leakage audit included), and reports the wall time, the
time per origin, the summed fit+predict time per model and the process's peak resident set size.
Skips with a message (exit 0) when the shared data is absent.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backtests"))

from _common import SHARED_DATA, swedish_incidents  # noqa: E402

from tryggplan.forecasting.evaluation import backtest  # noqa: E402
from tryggplan.forecasting.registry import BASELINES  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--origins", type=int, default=100)
    p.add_argument("--models", default=",".join(("default", *BASELINES)))
    p.add_argument("--engine", choices=("local", "dask"), default="local")
    p.add_argument("--data", type=Path, default=SHARED_DATA)
    args = p.parse_args()
    path = args.data / "se_police_events_2022_2025.csv.gz"
    if not path.is_file():
        print(f"skipped: {path} not found (the benchmark needs the shared Swedish data)")
        return
    incidents = swedish_incidents(path)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    t0 = time.perf_counter()
    result = backtest(incidents, models, origins=args.origins, tz="Europe/Stockholm", engine=args.engine)
    wall = time.perf_counter() - t0
    s = result.settings
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(s['origins'])} weekly origins {s['origins'][0]}..{s['origins'][-1]}, {s['places']} places,"
        f" {int(s['incidents'])} incidents, models {','.join(models)}, engine {args.engine}"
    )
    print(f"wall {wall:.1f} s ({wall / len(s['origins']):.2f} s per origin), peak RSS {rss_mb:.0f} MB")
    fit = result.origins.groupby("model", sort=False)["seconds"].sum()
    print("fit+predict per model [s]: " + ", ".join(f"{m} {v:.1f}" for m, v in fit.items()))
    print(f"scoring and bookkeeping [s]: {wall - fit.sum():.1f}")


if __name__ == "__main__":
    main()
