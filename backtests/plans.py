"""Backtest *plans*: how much of what actually happened would past plans have covered?

For each past week: fit the model on the incidents before that Monday (the forecast available
then), plan the week with it (the MILP of ``allocation``, with ``--walks`` walks), and score
the optimal plan, the greedy plan and the fixed Friday/Saturday plan under the same budget
against the incidents that actually happened that week:

* ``actual_covered_share``: share of the week's actual incidents that fell in place-hours the
  plan covered (a walk or a guard present) [0-1]; the summary pools it over the weeks
  (incidents covered / all incidents)
* ``actual_prevented``: actual incidents x the plan's assumed coverage effect, i.e. what the
  plan would have prevented had the effect sizes held [incidents]
* ``risk_covered_share`` / ``objective``: the same two, as the plan itself expected them

Usage::

    .venv/bin/python backtests/plans.py                          # the demo town, 26 weeks
    .venv/bin/python backtests/plans.py --dir var/demo --weeks 26 --walks 2
    .venv/bin/python backtests/plans.py --dir DIR --model how_mean  # DIR: places.csv, incidents.csv,
                                                                    # resources.yaml (tryggplan demo-data)

Writes ``var/backtests/plans/plans.csv`` (per week and plan) and ``plans.md`` (the means).
The week's walks are fixed (``--walks``) so the three plans compare like for like; each week
uses the resources spec as it is (season quota pacing is the coordinator's tool, not this one's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tryggplan.allocation.baselines import fixed_fri_sat, greedy
from tryggplan.allocation.grid import normalise_grid, week_risk
from tryggplan.allocation.model import make_setup
from tryggplan.allocation.plan import Plan, coverage_reduction
from tryggplan.allocation.spec import Effects, Resources, demo_resources, load_resources, parse_resources
from tryggplan.allocation.weekly import plan_from_risk
from tryggplan.counts import CountMatrix, hourly_count_matrix
from tryggplan.demo import generate_town
from tryggplan.forecasting.evaluation import make_origins
from tryggplan.forecasting.registry import get_model, resolve_name
from tryggplan.readers import read_incidents, read_places
from tryggplan.timeutil import iso_week_of, local_midnight

ROOT = Path(__file__).resolve().parents[1]
PLANS = ("optimal", "greedy", "fixed_fri_sat")


def plan_coverage(plan: Plan, places: tuple[str, ...], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Walk counts and guard presence per place-hour of the plan's week matrix."""
    index = {p: i for i, p in enumerate(places)}
    walks = np.zeros(shape, dtype=int)
    guard = np.zeros(shape, dtype=bool)
    for s in plan.shifts:
        rows = [index[p] for p in s.place_ids]
        if s.kind == "night_walk":
            walks[np.ix_(rows, range(s.slot_from, s.slot_to))] += 1
        else:
            guard[np.ix_(rows, range(s.slot_from, s.slot_to))] = True
    return walks, guard


def score_week(
    actual: np.ndarray, risk: np.ndarray, walks: np.ndarray, guard: np.ndarray, effects: Effects
) -> dict[str, float]:
    """The four scores of one plan against one week (see the module docstring)."""
    reduction = coverage_reduction(walks, guard, effects)
    covered = reduction > 0
    total, expected = float(actual.sum()), float(risk.sum())
    return {
        "actual_incidents": total,
        "actual_covered": float(actual[covered].sum()),
        "actual_covered_share": float(actual[covered].sum() / total) if total > 0 else float("nan"),
        "actual_prevented": float((actual * reduction).sum()),
        "risk_covered_share": float(risk[covered].sum() / expected) if expected > 0 else float("nan"),
        "objective": float((risk * reduction).sum()),
    }


def backtest_plans(
    incidents: pd.DataFrame,
    resources: Resources,
    weeks: int,
    walks: int,
    model: str = "default",
    places: list[str] | None = None,
) -> pd.DataFrame:
    """One row per past week and plan with the scores of :func:`score_week`."""
    tz = resources.tz
    matrix = hourly_count_matrix(incidents, tz, places=places)
    # 8 days: a week's plan runs to the next Monday 06:00 (the night of Sunday)
    origins = make_origins(matrix.slots, weeks, horizon_days=8, step_days=7)
    rows = []
    for origin in origins:
        stop = int(matrix.slots.searchsorted(local_midnight(origin, tz)))
        train = CountMatrix(matrix.places, matrix.slots[:stop], matrix.values[:, :stop].copy())
        grid = get_model(model).fit(train).predict(origin, 8)
        week = iso_week_of(origin)
        risk = week_risk(normalise_grid(grid, tz), week, tz)
        cols = matrix.slots.get_indexer(risk.slots)
        rows_idx = pd.Index(matrix.places.astype(str)).get_indexer(list(risk.places))
        actual = matrix.values[np.ix_(rows_idx, cols)]
        made = local_midnight(origin, tz)  # each plan is made as its week begins, with the forecast of then
        plan = plan_from_risk(risk, resources, walks, now=made, with_baselines=False, with_marginal=False)
        setup = make_setup(risk, resources, walks, now=made)
        gcov, _ = greedy(setup)
        fcov = fixed_fri_sat(setup)
        n_walks = sum(1 for sh in plan.shifts if sh.kind == "night_walk")
        coverages = {
            "optimal": (*plan_coverage(plan, risk.places, risk.risk.shape), plan.cost_sek, n_walks),
            "greedy": (gcov.walks, gcov.guard, gcov.cost, len(gcov.chosen)),
            "fixed_fri_sat": (fcov.walks, fcov.guard, fcov.cost, len(fcov.chosen)),
        }
        for name, (w, g, cost, n) in coverages.items():
            rows.append(
                {
                    "week": week,
                    "plan": name,
                    "cost_sek": float(cost),
                    "walks": n,
                    "guard_hours": float(np.asarray(g).sum()),
                    **score_week(actual, risk.risk, w, g, resources.effects),
                }
            )
    frame = pd.DataFrame(rows)
    return frame


def summary_table(frame: pd.DataFrame) -> str:
    """Per plan over all weeks: the pooled share of actual incidents covered (covered / all,
    so quiet weeks weigh little), and the weekly means of the other scores."""
    g = frame.groupby("plan")
    pooled = (g["actual_covered"].sum() / g["actual_incidents"].sum()).reindex(list(PLANS))
    mean = g[["actual_prevented", "risk_covered_share", "objective", "cost_sek"]].mean().reindex(list(PLANS))
    lines = [
        "| plan | actual incidents covered | actual prevented / week | risk covered share | "
        "objective / week | cost SEK / week |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for plan, r in mean.iterrows():
        lines.append(
            f"| {plan} | {pooled[plan]:.3f} | {r.actual_prevented:.3f} | "
            f"{r.risk_covered_share:.3f} | {r.objective:.3f} | {r.cost_sek:.0f} |"
        )
    return "\n".join(lines)


def _inputs(args: argparse.Namespace) -> tuple[pd.DataFrame, Resources, list[str]]:
    if args.dir is None:
        town = generate_town(seed=42)
        spec = parse_resources(demo_resources(town.places), "demo resources")
        return town.incidents, spec, town.places["place_id"].astype(str).tolist()
    need = [args.dir / n for n in ("places.csv", "incidents.csv", "resources.yaml")]
    missing = [str(p) for p in need if not p.is_file()]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: write them with 'tryggplan demo-data --out {args.dir}'")
    resources = load_resources(need[2])
    places = read_places(need[0])["place_id"].astype(str).tolist()
    return read_incidents(need[1], tz=resources.tz, places=places), resources, places


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="places.csv, incidents.csv, resources.yaml (default: the built-in demo town)",
    )
    p.add_argument("--weeks", type=int, default=26, help="past weeks to plan")
    p.add_argument("--walks", type=int, default=2, help="night walks to place each week")
    p.add_argument("--model", default="default", help="forecast model")
    p.add_argument("--out", type=Path, default=ROOT / "var" / "backtests" / "plans")
    args = p.parse_args()
    incidents, resources, places = _inputs(args)
    frame = backtest_plans(incidents, resources, args.weeks, args.walks, args.model, places)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "plans.csv", index=False, float_format="%.6g")
    head = (
        f"{frame['week'].nunique()} weeks {frame['week'].iloc[0]} to {frame['week'].iloc[-1]}, "
        f"{args.walks} walks a week, forecast `{resolve_name(args.model)}`; generated {dt.date.today()}"
    )
    table = summary_table(frame)
    (args.out / "plans.md").write_text(f"{head}\n\n{table}\n", encoding="utf-8")
    print(head)
    print(table)


if __name__ == "__main__":
    main()
