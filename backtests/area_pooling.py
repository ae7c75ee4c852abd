"""Does pooling across the police area beat fitting each town alone? (issue 14, "Done when")

    .venv/bin/python backtests/area_pooling.py                  # 104 weekly origins, ~3 min
    .venv/bin/python backtests/area_pooling.py --origins 26 --since 2023-04-01
    .venv/bin/python backtests/area_pooling.py --country --origins 26   # all 290 municipalities

The Swedish police events feed (``../shared/data/se_police_events_2022_2025.csv.gz``, read with
:func:`tryggplan.readers.read_incidents`: crime types, one place per municipality) for the
Kungsör police area: Kungsör, Arboga, Köping and Hallstahammar. Rolling weekly origins
(:func:`tryggplan.forecasting.evaluation.backtest`, horizon 7 days), each model refitted on the
incidents before the origin:

* ``alone``: the default model (:class:`PooledCountModel`) fitted on each town by itself;
* ``area_flat``: one default model on the four towns, pooled flat (no places: today's model
  fitted on the area, one set of calendar effects);
* ``area``: one default model on the four towns with the places frame: municipality ->
  police area -> all (here each town is one place, so the profile and the levels pool as in
  ``area_flat``; the towns' own season and calendar effects are added, shrunk by empirical Bayes);
* ``county``: the same on all ten municipalities of Västmanland, the four towns as one police
  area and the other six as a second (a stand-in: it tests the three levels, it is not the
  police's own map of local areas), scored on the four towns only;
* ``how_mean``: the hour-of-week mean baseline, fitted on the four towns.

Per town: mean Poisson deviance per place-hour (lower is better; also its paired difference to
``alone`` with the standard error over origins) and the hit rate at the top 10% and 20% of the
town's own hours (the share of its incidents in the hours its forecast ranked riskiest,
pooled over origins). Writes ``var/backtests/area_pooling/`` (``by_town.csv``, ``table.md``).

``--country`` instead backtests the default model on all 290 municipalities of the feed with
and without the places frame (each municipality its own place; with it, every municipality
gets its own season and calendar deviations, shrunk, and risk levels within itself): does
passing the places cost accuracy where the accuracy check measures it?
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tryggplan.counts import CountMatrix
from tryggplan.forecasting.base import Forecaster
from tryggplan.forecasting.evaluation import BacktestResult, backtest
from tryggplan.forecasting.models import PooledCountModel
from tryggplan.readers import read_incidents

ROOT = Path(__file__).resolve().parents[1]
AREA = ("Kungsör", "Arboga", "Köping", "Hallstahammar")
COUNTY = (*AREA, "Västerås", "Sala", "Fagersta", "Norberg", "Skinnskatteberg", "Surahammar")
TZ = "Europe/Stockholm"


class TownsAlone(Forecaster):
    """The default model fitted on each municipality by itself (no borrowing between towns)."""

    name = "alone"

    def _fit(self, counts: CountMatrix) -> None:
        town = (
            self.place_groups_["municipality"].to_numpy(dtype=object)
            if self.place_groups_ is not None
            else np.zeros(len(counts.places))
        )
        self.parts_ = []
        for name in pd.unique(town):
            rows = np.flatnonzero(town == name)
            part = CountMatrix(counts.places[rows], counts.slots, counts.values[rows])
            self.parts_.append((rows, PooledCountModel().fit(part, self.calendar_)))

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        mu = np.zeros((len(self.places_), len(slots)))
        alpha = np.zeros_like(mu)
        for rows, model in self.parts_:
            # the sub-model's own matrix, so every town keeps its own dispersion
            mu[rows], alpha[rows] = model._predict_matrix(slots)
        return mu, alpha


def places_frame(towns: tuple[str, ...]) -> pd.DataFrame:
    """One place per municipality; the Kungsör area's four towns form one police area."""
    return pd.DataFrame(
        {
            "place_id": list(towns),
            "municipality": list(towns),
            "police_area": ["Kungsör area" if t in AREA else "rest of Västmanland" for t in towns],
        }
    )


def run(incidents: pd.DataFrame, towns: tuple[str, ...], models: dict, origins: int) -> BacktestResult:
    mine = incidents[incidents["place_id"].isin(towns)]
    return backtest(mine, models, origins=origins, horizon_days=7, tz=TZ, places=places_frame(towns))


def paired_difference(result: BacktestResult, model: str, reference: str, towns: tuple[str, ...]) -> pd.DataFrame:
    """Per town (and all four): mean over origins of the deviance difference model - reference, and its SE."""
    m = result.metrics[result.metrics["place_id"].isin(towns)]
    wide = m.pivot_table(index=["origin", "place_id"], columns="model", values="poisson_deviance")
    diff = (wide[model] - wide[reference]).rename("diff").reset_index()
    rows = []
    for town, part in [*diff.groupby("place_id"), ("(all four)", diff.groupby("origin")["diff"].mean().reset_index())]:
        d = part["diff"].to_numpy()
        rows.append({"municipality": town, "diff": d.mean(), "se": d.std(ddof=1) / np.sqrt(len(d))})
    return pd.DataFrame(rows).set_index("municipality")


def country(incidents: pd.DataFrame, origins: int, out: Path) -> None:
    """The default model on every municipality, without and with the places frame."""
    ids = sorted(set(incidents["place_id"].astype(str)))
    places = pd.DataFrame({"place_id": ids, "municipality": ids})
    t0 = time.perf_counter()
    plain = backtest(incidents, {"default": "default"}, origins=origins, tz=TZ, places=ids, audit=False)
    grouped = backtest(incidents, {"with_places": "default"}, origins=origins, tz=TZ, places=places, audit=False)
    lines = [
        f"All {len(ids)} municipalities, {origins} weekly origins, horizon 7 days ({time.perf_counter() - t0:.0f} s).",
        "",
        "| model | poisson_deviance | hit_rate@10 | pai@10 | pit_coverage_80 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, result in (("default", plain), ("with_places", grouped)):
        row = result.summary()[name]
        lines.append(
            f"| {name} | {row['poisson_deviance']:.5f} | {row['hit_rate@10']:.3f} | {row['pai@10']:.2f} | "
            f"{row['pit_coverage_80']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "country.md").write_text(text, encoding="utf-8")
    print(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--origins", type=int, default=104)
    p.add_argument("--since", default="2023-04-01", help="drop the feed's first months (it fills up in spring 2023)")
    p.add_argument("--out", type=Path, default=ROOT / "var" / "backtests" / "area_pooling")
    p.add_argument("--country", action="store_true", help="all municipalities, with and without the places frame")
    args = p.parse_args()
    t0 = time.perf_counter()
    incidents = read_incidents(args.data / "se_police_events_2022_2025.csv.gz")
    incidents = incidents[incidents["occurred_at"] >= pd.Timestamp(args.since, tz=TZ)]
    if args.country:
        country(incidents, args.origins, args.out)
        return
    area = run(
        incidents,
        AREA,
        {
            "alone": TownsAlone,
            "area_flat": lambda: PooledCountModel(hierarchy=False),
            "area": PooledCountModel,
            "how_mean": "how_mean",
        },
        args.origins,
    )
    county = run(incidents, COUNTY, {"county": PooledCountModel}, args.origins)
    table = pd.concat([area.by_town(), county.by_town()], ignore_index=True)
    # the county run scores all ten towns; keep the four and re-pool its overall row over them
    county_four = county.metrics[county.metrics["place_id"].isin(AREA)]
    keep = table["municipality"].isin(AREA) | ((table["model"] != "county") & (table["municipality"] == "(all)"))
    table = table[keep].copy()
    overall = {
        "model": "county",
        "municipality": "(all)",
        "places": 4,
        "observed": county_four["observed"].sum(),
        "expected": county_four["expected"].sum(),
        "poisson_deviance": county_four["poisson_deviance"].mean(),  # equal cells per town and origin
        **{f"hit_rate@{k}": county_four[f"town_hits@{k}"].sum() / county_four["observed"].sum() for k in (5, 10, 20)},
    }
    table = pd.concat([table, pd.DataFrame([overall])], ignore_index=True)
    table["municipality"] = table["municipality"].replace("(all)", "(all four)")
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "by_town.csv", index=False)

    merged = area.metrics.merge(
        county.metrics[county.metrics["place_id"].isin(AREA)], how="outer"
    )  # one frame for the paired differences
    both = BacktestResult(
        merged, area.origins, area.calibration, area.how_errors, {**area.resolved, "county": "county"}
    )
    lines = [
        f"Kungsör police area, Swedish police feed since {args.since}: {len(area.settings['origins'])} weekly origins "
        f"{area.settings['origins'][0]} to {area.settings['origins'][-1]}, horizon 7 days "
        f"({time.perf_counter() - t0:.0f} s).",
        "",
        "| town | incidents | model | deviance | vs alone (± SE) | HR@10 | HR@20 |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    diffs = {m: paired_difference(both, m, "alone", AREA) for m in ("area_flat", "area", "county", "how_mean")}
    for town in (*AREA, "(all four)"):
        for model in ("alone", "area_flat", "area", "county", "how_mean"):
            row = table[(table["model"] == model) & (table["municipality"] == town)].iloc[0]
            vs = (
                ""
                if model == "alone"
                else f"{diffs[model].loc[town, 'diff']:+.5f} ± {diffs[model].loc[town, 'se']:.5f}"
            )
            lines.append(
                f"| {town} | {row['observed']:.0f} | {model} | {row['poisson_deviance']:.5f} | {vs} | "
                f"{row['hit_rate@10']:.3f} | {row['hit_rate@20']:.3f} |"
            )
    text = "\n".join(lines) + "\n"
    (args.out / "table.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
