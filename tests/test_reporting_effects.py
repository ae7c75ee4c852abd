"""The gamma-Poisson walk-effect update (tryggplan.reporting.effects): follows the data, shrinks to
the prior, and refuses input it cannot use."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from scipy import stats

from tryggplan.domain import InvalidInputError
from tryggplan.reporting.effects import estimate_walk_effect, gamma_poisson_effect


def _grid(expected: float = 0.5) -> pd.DataFrame:
    """Four places, one week of local hours from Monday 2026-03-23, ``expected`` in every place-hour."""
    slots = pd.date_range("2026-03-23", periods=7 * 24, freq="h", tz="Europe/Stockholm")
    places = [f"P{i:02d}" for i in range(4)]
    return pd.DataFrame(
        {
            "place_id": [p for p in places for _ in slots],
            "slot_start": list(slots) * len(places),
            "expected": expected,
        }
    )


WALK = {
    "kind": "night_walk",
    "place_ids": ["P00", "P01"],
    "start": "2026-03-27T20:00:00+01:00",
    "end": "2026-03-28T00:00:00+01:00",
}  # 8 place-hours: E = 4


def _incidents() -> pd.DataFrame:
    hours = pd.date_range("2026-03-27T19:00Z", periods=4, freq="h")
    return pd.DataFrame(
        {"occurred_at": [h + pd.Timedelta(minutes=5) for h in hours[:2]], "place_id": ["P00", "P01"]}
    )  # O = 2, both in walked place-hours


def test_walk_effect_update_follows_the_data_and_shrinks_to_the_prior() -> None:
    grid, incidents = _grid(), _incidents()
    est = estimate_walk_effect([WALK], incidents, grid, prior=0.10, strength=20.0)
    assert (est.expected, est.observed, est.place_hours) == (4.0, 2.0, 8)
    assert est.effect == pytest.approx(1 - 22 / (20 / 0.9 + 4))  # posterior mean of theta = 0.838...
    lo_theta, hi_theta = stats.gamma.ppf([0.1, 0.9], 22, scale=1 / (20 / 0.9 + 4))
    assert (est.lo, est.hi) == pytest.approx((max(0.0, 1 - hi_theta), 1 - lo_theta))
    weak = estimate_walk_effect([WALK], incidents, grid, prior=0.10, strength=0.5)
    assert weak.effect == pytest.approx(1 - 2.5 / (0.5 / 0.9 + 4)) and weak.effect > est.effect


def test_guard_shifts_are_not_walks_and_weights_count() -> None:
    guard = {**WALK, "kind": "guard"}
    incidents = _incidents().assign(weight=[0.5, 1.0])
    est = estimate_walk_effect([WALK, guard], incidents, _grid(), prior=0.10, strength=20.0)
    assert (est.expected, est.observed, est.place_hours) == (4.0, 1.5, 8)


def test_unclipped_effect_can_be_negative() -> None:
    effect, lo, hi = gamma_poisson_effect(expected=10.0, observed=30.0, prior=0.1, strength=1.0)
    assert effect == pytest.approx(1 - 31 / (1 / 0.9 + 10)) and lo < hi < 0


@pytest.mark.parametrize(
    ("walks", "grid", "kwargs", "match"),
    [
        ([], _grid(), {}, "no walks given"),
        ([{**WALK, "kind": "guard"}], _grid(), {}, "no walks given"),
        ([WALK], _grid(), {"prior": 1.0}, "prior must lie in"),
        ([{**WALK, "start": "2026-03-27T20:00"}], _grid(), {}, "need an offset"),
        ([{k: v for k, v in WALK.items() if k != "place_ids"}], _grid(), {}, "needs place_ids"),
        ([{**WALK, "end": "2026-03-27T19:00:00+01:00"}], _grid(), {}, "is not after start"),
        ([{**WALK, "start": "2026-04-27T20:00:00+02:00", "end": "2026-04-27T22:00:00+02:00"}], _grid(), {}, "no row"),
        ([WALK], _grid().drop(columns="expected"), {}, "lacks the risk-grid columns"),
    ],
)
def test_bad_input(walks: list[dict[str, Any]], grid: pd.DataFrame, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        estimate_walk_effect(walks, _incidents(), grid, **kwargs)
