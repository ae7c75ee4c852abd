"""Update the walk-effect assumption from the coordinator's own walks (walks done vs incidents).

In the place-hours the walks covered, the forecast expected ``E`` incidents [incidents] and
``O`` happened. With the incidents Poisson with rate ``theta * expected`` and a gamma prior on
``theta = 1 - effect`` centred on the assumed effect (``strength`` pseudo-incidents of
weight), the posterior is ``Gamma(strength + O, strength / (1 - prior) + E)`` (gamma-Poisson
conjugacy; Gelman et al., *Bayesian Data Analysis*, 3rd ed., section 2.6). The estimate is
``1 - posterior mean``; with few walks it stays near the prior, with many it follows the data.

The forecast is the no-walk counterfactual only approximately (it was trained on a history
that already had walks), so treat the estimate as an update of the assumption, not a trial.
Put it in the resources spec as ``effects.walk``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tryggplan.allocation.grid import normalise_grid
from tryggplan.domain import InvalidInputError


@dataclass(frozen=True)
class WalkEffectEstimate:
    """``effect`` [0-1] posterior mean, ``lo``/``hi`` its 80% credible interval;
    ``expected``/``observed`` [incidents] in the walked place-hours."""

    effect: float
    lo: float
    hi: float
    expected: float
    observed: float
    place_hours: int
    prior: float
    strength: float


def estimate_walk_effect(
    walks: list[dict[str, Any]],
    incidents: pd.DataFrame,
    grid: pd.DataFrame,
    *,
    tz: str = "Europe/Stockholm",
    prior: float = 0.10,
    strength: float = 20.0,
) -> WalkEffectEstimate:
    """Posterior walk effect from walks done (plan.json shifts of kind ``night_walk`` with
    ``place_ids``, ``start``, ``end``), the incidents (``occurred_at``, ``place_id``, optional
    ``weight``) and the risk grid that was used to plan them."""
    if not 0 <= prior < 1 or strength <= 0:
        raise InvalidInputError("prior must lie in [0, 1) and strength be > 0 (pseudo-incidents)")
    g = normalise_grid(grid, tz)
    utc = g["slot_start"].dt.tz_convert("UTC")
    expected = pd.Series(g["expected"].to_numpy(), index=pd.MultiIndex.from_arrays([g["place_id"], utc]))
    cells: set[tuple[str, pd.Timestamp]] = set()
    for k, s in enumerate(walks):
        if s.get("kind", "night_walk") != "night_walk":
            continue
        try:
            a = pd.Timestamp(s["start"]).tz_convert("UTC")
            b = pd.Timestamp(s["end"]).tz_convert("UTC")
            places = list(s["place_ids"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"walks[{k}]: needs place_ids, start and end with offsets ({exc})") from exc
        for h in pd.date_range(a, b, freq="h", inclusive="left"):
            cells.update((p, h) for p in places)
    if not cells:
        raise InvalidInputError("no walks given: pass the night_walk shifts that were done")
    idx = pd.MultiIndex.from_tuples(sorted(cells))
    exp = expected.reindex(idx)
    if exp.isna().any():
        missing = exp[exp.isna()].index[0]
        raise InvalidInputError(
            f"the risk grid has no row for {missing[0]} at {missing[1]}: give the forecast "
            "that covered the walked weeks"
        )
    if "occurred_at" not in incidents.columns or "place_id" not in incidents.columns:
        raise InvalidInputError("incidents need the columns occurred_at and place_id")
    occ = pd.to_datetime(incidents["occurred_at"], utc=True, errors="coerce", format="ISO8601").dt.floor("h")
    weight = incidents["weight"].astype(float) if "weight" in incidents.columns else pd.Series(1.0, index=occ.index)
    hits = pd.Series(weight.to_numpy(), index=pd.MultiIndex.from_arrays([incidents["place_id"].astype(str), occ]))
    hits = hits[hits.index.isin(idx)]
    e_sum, o_sum = float(exp.sum()), float(hits.sum())
    shape, rate = strength + o_sum, strength / (1.0 - prior) + e_sum
    theta = shape / rate
    lo_t, hi_t = stats.gamma.ppf([0.1, 0.9], shape, scale=1.0 / rate)
    clip = lambda x: float(np.clip(x, 0.0, 0.9))  # noqa: E731
    return WalkEffectEstimate(
        clip(1 - theta), clip(1 - hi_t), clip(1 - lo_t), e_sum, o_sum, len(cells), prior, strength
    )
