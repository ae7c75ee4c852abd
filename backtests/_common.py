"""Shared by the analyst scripts: canonical incidents from ../shared/data and one backtest run.

The canonical frames are built exactly as the acceptance check's ``canonical_data.py`` does
(explicit offsets; Swedish crime-type events at municipality level from 2023-04-01;
Vancouver without time-suppressed rows), so the scripts reproduce its figures.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import pandas as pd

from tryggplan.forecasting.evaluation import backtest, write_report
from tryggplan.forecasting.evaluation.report import markdown_table
from tryggplan.forecasting.peers import ProphetPeer
from tryggplan.forecasting.registry import BASELINES

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
ALL_MODELS = ("default", *BASELINES, "croston", "tsb", "autoets", "prophet")

#: Swedish police event types that are crimes or public-order incidents (the check's list).
SE_CRIME = frozenset(
    {
        "Misshandel",
        "Misshandel, grov",
        "Stöld",
        "Stöld/inbrott",
        "Skadegörelse",
        "Rån",
        "Rån, försök",
        "Narkotikabrott",
        "Olaga hot",
        "Fylleri/LOB",
        "Ordningslagen",
        "Bråk",
        "Brand",
        "Inbrott",
        "Inbrott, försök",
        "Mord/dråp, försök",
        "Skottlossning",
        "Våld/hot mot tjänsteman",
        "Rån väpnat",
        "Vapenlagen",
        "Stöld, försök",
        "Ofredande/förargelse",
        "Knivlagen",
        "Explosion",
        "Skottlossning, misstänkt",
        "Våldtäkt",
        "Mord/dråp",
        "Rån övrigt",
        "Motorfordon, stöld",
    }
)


def _localize(values: pd.Series, tz: str) -> pd.Series:
    t = pd.to_datetime(values, errors="coerce")
    return t.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")


def swedish_incidents(path: Path, since: str = "2023-04-01") -> pd.DataFrame:
    """Canonical incidents from the police events feed: crime types, municipality level."""
    s = pd.read_csv(path)
    s = s[s["type"].isin(SE_CRIME) & ~s["location_name"].str.endswith("län")]
    t = _localize(s["occurred_local"], "Europe/Stockholm")
    keep = t.notna() & (t >= pd.Timestamp(since, tz="Europe/Stockholm"))
    s, t = s[keep], t[keep]
    return pd.DataFrame(
        {
            "incident_id": "se-" + s["id"].astype(str),
            "occurred_at": t.dt.tz_convert("UTC"),
            "place_id": s["location_name"],
            "category": s["type"],
            "source": "police",
            "weight": 1.0,
        }
    ).reset_index(drop=True)


def vancouver_incidents(path: Path) -> pd.DataFrame:
    """Canonical incidents from the VPD 2018 extract, neighbourhoods as places."""
    v = pd.read_csv(path)
    v = v[~v["time_suppressed"].astype(bool)].dropna(subset=["place"]).reset_index(drop=True)
    t = _localize(v["occurred_at"], "America/Vancouver")
    v, t = v[t.notna()], t[t.notna()]
    return pd.DataFrame(
        {
            "incident_id": "van-" + v.index.astype(str),
            "occurred_at": t.dt.tz_convert("UTC"),
            "place_id": v["place"].str.lower().str.replace(r"[^a-z0-9]+", "-", regex=True).str.strip("-"),
            "category": v["category"],
            "source": "police",
            "weight": 1.0,
        }
    ).reset_index(drop=True)


def arguments(name: str, doc: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=SHARED_DATA, help="directory with the raw files")
    p.add_argument("--out", type=Path, default=ROOT / "var" / "backtests" / name, help="output directory")
    p.add_argument("--models", default=",".join(ALL_MODELS), help="comma-separated model names")
    p.add_argument("--origins", type=int, default=26)
    p.add_argument("--horizon-days", type=int, default=7)
    p.add_argument("--engine", choices=("local", "dask"), default="local")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (with --engine dask)")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args()


def require(path: Path) -> Path:
    if not path.is_file():
        sys.exit(f"{path} not found: point --data at the directory holding the shared data files")
    return path


def run(name: str, incidents: pd.DataFrame, tz: str, args: argparse.Namespace) -> None:
    """Backtest ``args.models`` on ``incidents``; write the report and ``accuracy_table.md``."""
    models: dict[str, object] = {}
    for m in (x.strip() for x in args.models.split(",") if x.strip()):
        # this script lifts Prophet's place cap on purpose: it is the reference run
        models[m] = functools.partial(ProphetPeer, max_places=None) if m == "prophet" else m
    t0 = time.perf_counter()
    result = backtest(
        incidents,
        models,
        origins=args.origins,
        horizon_days=args.horizon_days,
        tz=tz,
        engine=args.engine,
        scheduler=args.scheduler,
        progress=not args.no_progress,
    )
    seconds = time.perf_counter() - t0
    doc = write_report(result, args.out)
    table = markdown_table(doc["models"])
    s = result.settings
    head = (
        f"{name}: {s['places']} places, {s['incidents']:.0f} incidents, {len(s['origins'])} weekly "
        f"origins {s['origins'][0]} to {s['origins'][-1]}, horizon {s['horizon_days']} days; `default` = "
        f"`{doc['default_model']}`; {seconds:.0f} s on engine {args.engine}."
    )
    (args.out / "accuracy_table.md").write_text(head + "\n\n" + table + "\n", encoding="utf-8")
    print(head)
    print(table)
