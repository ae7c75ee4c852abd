"""Speed and memory of fit + 14-day forecast with the default model.

Usage: .venv/bin/python benchmarks/bench_forecast.py [--se ../shared/data/se_police_events_2022_2025.csv.gz]

Three cases, each in a fresh process so peak memory (max RSS) is its own:
* the demo town (``tryggplan demo-data`` defaults): target under 5 s;
* every Swedish municipality x hour (the police events feed, crime types, 2023-04 on; or a
  synthetic stand-in of 290 places x 3 years when the file is absent): target under 60 s on
  2 cores and peak memory under 2 GB;
* the same with the places frame (``fit(counts, places=...)``): risk levels within each
  municipality and each municipality's own season and calendar effects, shrunk (290 small GLMs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SE_DEFAULT = ROOT.parent / "shared" / "data" / "se_police_events_2022_2025.csv.gz"


def warm_imports() -> None:
    """Import the model's libraries first: timings are of the work, not of Python imports
    (statsmodels alone takes 1-3 s to import; the CLI timing below includes it)."""
    import statsmodels.api  # noqa: F401

    import tryggplan.forecasting.models  # noqa: F401


def demo_case() -> dict[str, float | int | str]:
    warm_imports()
    from tryggplan.counts import hourly_count_matrix
    from tryggplan.demo import generate_town

    town = generate_town(seed=7)
    incidents, places = town.incidents, town.places
    t0 = time.perf_counter()
    counts = hourly_count_matrix(incidents, "Europe/Stockholm", places=places["place_id"])
    start = counts.slots[-1].date() + dt.timedelta(days=1)
    from tryggplan.forecasting.registry import get_model

    grid = get_model("default").fit(counts).predict(start, 14)
    seconds = time.perf_counter() - t0
    return {
        "case": "demo town",
        "places": len(places),
        "incidents": len(incidents),
        "hours": counts.values.shape[1],
        "grid_rows": len(grid),
        "seconds": round(seconds, 2),
    }


def se_case(path: str, with_places: bool = False) -> dict[str, float | int | str]:
    warm_imports()
    from tryggplan.counts import hourly_count_matrix
    from tryggplan.forecasting.registry import get_model

    if Path(path).exists():
        from tryggplan.readers import read_incidents

        incidents = read_incidents(path, tz="Europe/Stockholm")
        incidents = incidents[incidents["occurred_at"] >= pd.Timestamp("2023-04-01", tz="Europe/Stockholm")]
        source = "police events feed"
        ids = sorted(set(incidents["place_id"]))
    else:
        rng = np.random.default_rng(0)
        n = 25_000
        when = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 3 * 365 * 24, n), unit="h")
        incidents = pd.DataFrame({"occurred_at": when, "place_id": rng.integers(0, 290, n).astype(str)})
        source = "synthetic stand-in (file absent)"
        ids = sorted(set(incidents["place_id"]))
    # municipality-level places: each place is its own municipality
    places = pd.DataFrame({"place_id": ids, "municipality": ids}) if with_places else None
    t0 = time.perf_counter()
    counts = hourly_count_matrix(incidents, "Europe/Stockholm")
    start = counts.slots[-1].date() + dt.timedelta(days=1)
    grid = get_model("default").fit(counts, places=places).predict(start, 14)
    seconds = time.perf_counter() - t0
    return {
        "case": f"all municipalities ({source}){', with places' if with_places else ''}",
        "places": counts.values.shape[0],
        "incidents": len(incidents),
        "hours": counts.values.shape[1],
        "grid_rows": len(grid),
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--se", default=str(SE_DEFAULT))
    parser.add_argument("--case", choices=["demo", "se", "se_places"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        result = demo_case() if args.case == "demo" else se_case(args.se, with_places=args.case == "se_places")
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
        print(json.dumps(result))
        return
    print("| case | places | incidents | hours | seconds | peak RSS [MB] |")
    print("|---|---:|---:|---:|---:|---:|")
    for case in ("demo", "se", "se_places"):
        out = subprocess.run(
            [sys.executable, __file__, "--case", case, "--se", args.se], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        cells = [r["case"], r["places"], r["incidents"], r["hours"], r["seconds"], f"{r['peak_rss_mb']:.0f}"]
        print("| " + " | ".join(map(str, cells)) + " |")
    cli_seconds = cli_case()
    print(
        f"\nEnd to end, `tryggplan forecast --days 14` on the demo town (process start, imports, "
        f"reading the CSV, fit, writing the grid): {cli_seconds:.1f} s"
    )


def cli_case() -> float:
    import tempfile

    exe = str(Path(sys.executable).with_name("tryggplan"))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([exe, "demo-data", "--out", tmp, "--seed", "7"], check=True, capture_output=True)
        last = pd.read_csv(f"{tmp}/incidents.csv")["occurred_at"].max()[:10]
        start = (dt.date.fromisoformat(last) + dt.timedelta(days=1)).isoformat()
        t0 = time.perf_counter()
        subprocess.run(
            [
                exe,
                "forecast",
                "--incidents",
                f"{tmp}/incidents.csv",
                "--places",
                f"{tmp}/places.csv",
                "--start",
                start,
                "--days",
                "14",
                "--out",
                f"{tmp}/grid.csv",
                "--no-progress",
            ],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - t0


if __name__ == "__main__":
    main()
