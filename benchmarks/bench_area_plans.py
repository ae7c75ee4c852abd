"""An area plan run over every municipality of the Swedish police feed: one week's plan per town,
each from its own resources spec, one after the other and on a local Dask cluster.

    .venv/bin/python benchmarks/bench_area_plans.py [--se ../shared/data/se_police_events_2022_2025.csv.gz]
        [--workers 2] [--towns 290]

The feed's places are its municipalities (one place each); every town gets the demo resources for its
place (one walking area, five associations, a guard contract) with a weekly budget of 12 000 SEK. One
area-wide forecast (the default model) covers them all. Prints one line per engine: towns planned,
seconds, and seconds per town.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import pandas as pd

from tryggplan.allocation.spec import demo_resources
from tryggplan.readers import load_incidents
from tryggplan.storage.database import open_database
from tryggplan.storage.incidents import import_incidents, read_places
from tryggplan.usecases import area, forecasts, plans

ROOT = Path(__file__).resolve().parents[1]
SE_DEFAULT = ROOT.parent / "shared" / "data" / "se_police_events_2022_2025.csv.gz"
TZ = "Europe/Stockholm"


def prepare(path: Path, db: Path, towns: int) -> tuple[str, str]:
    """The feed imported (its ``towns`` busiest municipalities), a spec per town, one forecast; returns
    the database URL and the ISO week planned (the week after the data ends)."""
    read = load_incidents(path, tz=TZ)
    incidents, places = read.incidents, read.places
    assert places is not None
    busiest = incidents["place_id"].value_counts().index[:towns]
    incidents = incidents[incidents["place_id"].isin(busiest)]
    places = places[places["place_id"].isin(busiest)]
    url = f"sqlite:///{db}"
    engine = open_database(url)
    import_incidents(engine, incidents, places, source_file="police feed", actor="bench")
    for town in read_places(engine).itertuples(index=False):
        spec = demo_resources(pd.DataFrame([town._asdict()]))
        plans.store_resources(engine, str(town.municipality), spec, "bench", municipality=str(town.municipality))
    start = (incidents["occurred_at"].max().tz_convert(TZ) + pd.Timedelta(days=1)).date()
    run = forecasts.start_run(engine, model="default", start=start, days=14, tz=TZ, municipality=None, actor="bench")
    forecasts.run_forecast(engine, run.id)
    engine.dispose()
    monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    year, week, _ = monday.isocalendar()
    return url, f"{year}-W{week:02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--se", type=Path, default=SE_DEFAULT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--towns", type=int, default=290)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tryggplan-area-bench-") as tmp:
        t0 = time.perf_counter()
        url, week = prepare(args.se, Path(tmp) / "area.db", args.towns)
        print(f"prepared {args.towns} towns (import, specs, one forecast) in {time.perf_counter() - t0:.1f} s")
        engine = open_database(url)
        monday = dt.date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
        now = pd.Timestamp(dt.datetime.combine(monday, dt.time()) - dt.timedelta(hours=6), tz=TZ).to_pydatetime()
        for parallel in ("local", "dask"):
            t0 = time.perf_counter()
            towns = area.plan_area(
                engine, week, now=now, parallel=parallel, workers=args.workers, time_limit=60.0, actor="bench"
            )  # type: ignore[arg-type]
            seconds = time.perf_counter() - t0
            planned = sum(t.plan is not None for t in towns)
            failed = [t for t in towns if t.plan is None]
            print(
                f"{parallel:5s}: {planned} of {len(towns)} towns planned for {week} in {seconds:.1f} s "
                f"({seconds / max(1, len(towns)):.2f} s a town)"
                + (f"; first refusal: {failed[0].municipality}: {failed[0].error}" if failed else "")
            )
        engine.dispose()


if __name__ == "__main__":
    main()
