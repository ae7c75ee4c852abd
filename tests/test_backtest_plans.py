"""backtests/plans.py: scoring past plans against what actually happened."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tryggplan.allocation.spec import Effects

PLANS_PY = Path(__file__).resolve().parents[1] / "backtests" / "plans.py"


def load_plans():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("backtest_plans", PLANS_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_score_week_by_hand() -> None:
    plans = load_plans()
    effects = Effects(walk=0.1, guard=0.2, walk_stacking=[1.0, 0.5])
    actual = np.array([[2.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    risk = np.array([[0.5, 0.1, 0.2], [0.1, 0.3, 0.0]])
    walks = np.array([[2, 0, 0], [0, 1, 0]])
    guard = np.array([[False, False, True], [False, False, False]])
    got = plans.score_week(actual, risk, walks, guard, effects)
    # covered cells: (0,0) two walks -> 0.15, (1,1) one walk -> 0.1, (0,2) guard -> 0.2
    assert got["actual_incidents"] == 4.0
    assert got["actual_covered"] == 4.0
    assert got["actual_covered_share"] == 1.0
    assert got["actual_prevented"] == pytest.approx(2 * 0.15 + 1 * 0.1 + 1 * 0.2)
    assert got["risk_covered_share"] == pytest.approx((0.5 + 0.3 + 0.2) / 1.2)
    assert got["objective"] == pytest.approx(0.5 * 0.15 + 0.3 * 0.1 + 0.2 * 0.2)
    quiet = plans.score_week(np.zeros_like(actual), risk, walks, guard, effects)
    assert math.isnan(quiet["actual_covered_share"]) and quiet["actual_prevented"] == 0.0


def test_summary_pools_the_covered_share_over_weeks() -> None:
    plans = load_plans()
    frame = pd.DataFrame(
        {
            "week": ["W1", "W2"] * 3,
            "plan": ["optimal"] * 2 + ["greedy"] * 2 + ["fixed_fri_sat"] * 2,
            "actual_covered": [1, 0, 1, 2, 0, 0],
            "actual_incidents": [1, 9, 1, 9, 1, 9],
            "actual_prevented": [0.1, 0.0, 0.1, 0.2, 0.0, 0.0],
            "risk_covered_share": [0.1] * 6,
            "objective": [0.05] * 6,
            "cost_sek": [1000] * 6,
        }
    )
    table = plans.summary_table(frame)
    assert "| optimal | 0.100 | 0.050 |" in table  # 1 of 10 incidents, not the mean of 1.0 and 0.0
    assert "| greedy | 0.300 | 0.150 |" in table
    assert table.splitlines()[2].startswith("| optimal")


@pytest.mark.slow
def test_backtest_plans_on_a_small_demo_town() -> None:
    from tryggplan.allocation.spec import demo_resources, parse_resources
    from tryggplan.demo import generate_town

    plans = load_plans()
    town = generate_town(seed=3, years=1.0)
    resources = parse_resources(demo_resources(town.places))
    frame = plans.backtest_plans(
        town.incidents,
        resources,
        weeks=2,
        walks=2,
        model="how_mean",
        places=town.places["place_id"].astype(str).tolist(),
    )
    assert list(frame["plan"]) == ["optimal", "greedy", "fixed_fri_sat"] * 2
    assert frame["week"].nunique() == 2
    opt = frame[frame["plan"] == "optimal"].set_index("week")
    for plan in ("greedy", "fixed_fri_sat"):
        other = frame[frame["plan"] == plan].set_index("week")
        # the optimum is optimal for the forecast it was given
        assert (opt["objective"] >= other["objective"] - 1e-9).all()
