"""Does each ingredient of the default model earn its place? Backtest it with one part off.

    .venv/bin/python backtests/ablation.py                 # demo town, Vancouver and Sweden
    .venv/bin/python backtests/ablation.py --datasets demo --origins 26

Variants (all :class:`tryggplan.forecasting.models.PooledCountModel` unless named):
``default`` (everything on), ``no_near_repeat``, ``no_calendar`` (no Swedish calendar
effects), ``no_season`` (no yearly Fourier terms), ``no_recency`` (place level from all
history, no trend), ``prophet_pooled`` (Prophet's daily totals in place of the GLM day
effects) and the ``how_mean`` baseline (the unpooled hour-of-week profile).
Writes ``var/backtests/ablation/<dataset>/`` and prints one table per data set.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

from _common import SHARED_DATA, require, swedish_incidents, vancouver_incidents

from tryggplan.demo import generate_town
from tryggplan.forecasting.evaluation import backtest, write_report
from tryggplan.forecasting.evaluation.report import markdown_table
from tryggplan.forecasting.models import PooledCountModel, ProphetPooledModel

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "default": PooledCountModel,
    "no_near_repeat": functools.partial(PooledCountModel, near_repeat=False),
    "no_calendar": functools.partial(PooledCountModel, calendar_effects=False),
    "no_season": functools.partial(PooledCountModel, season=False),
    "no_recency": functools.partial(PooledCountModel, level_half_life_days=100_000.0),
    "prophet_pooled": ProphetPooledModel,
    "how_mean": "how_mean",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=SHARED_DATA)
    p.add_argument("--datasets", default="demo,vancouver,se")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--origins", type=int, default=26)
    p.add_argument("--out", type=Path, default=ROOT / "var" / "backtests" / "ablation")
    args = p.parse_args()
    loaders = {
        "demo": lambda: (generate_town(seed=7).incidents, "Europe/Stockholm"),
        "vancouver": lambda: (vancouver_incidents(require(args.data / "vancouver_2018.csv.gz")), "America/Vancouver"),
        "se": lambda: (swedish_incidents(require(args.data / "se_police_events_2022_2025.csv.gz")), "Europe/Stockholm"),
    }
    models = {v: VARIANTS[v] for v in args.variants.split(",")}
    for name in args.datasets.split(","):
        incidents, tz = loaders[name]()
        t0 = time.perf_counter()
        result = backtest(incidents, models, origins=args.origins, horizon_days=7, tz=tz, audit=False)
        doc = write_report(result, args.out / name)
        print(f"\n{name}: {args.origins} weekly origins, horizon 7 days ({time.perf_counter() - t0:.0f} s)\n")
        print(markdown_table(doc["models"]))


if __name__ == "__main__":
    main()
