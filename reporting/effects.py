"""Update the walk-effect assumption from the coordinator's own walks (walks done vs incidents).

In the place-hours the walks covered, the forecast expected ``E`` incidents [incidents] and
``O`` happened. With the incidents Poisson with rate ``theta * expected`` and a gamma prior on
``theta = 1 - effect`` centred on the assumed effect (``strength`` pseudo-incidents of
weight), the posterior is ``Gamma(strength + O, strength / (1 - prior) + E)`` (gamma-Poisson
conjugacy; Gelman et al., *Bayesian Data Analysis*, 3rd ed., section 2.6). The estimate is
``1 - posterior mean``; with few walks it stays near the prior, with many it follows the data.

The forecast is the no-walk counterfactual only approximately (it was trained on a history
that already had walks), so treat the estimate as an update of the assumption, not a trial;
:mod:`tryggplan.reporting.evaluation` adds the comparison with uncovered place-hours.
Put it in the resources spec as ``effects.walk``.

References
----------
Gelman, Carlin, Stern, Dunson, Vehtari, Rubin (2013). *Bayesian Data Analysis*, 3rd ed., 2.6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tryggplan.domain import InvalidInputError
from tryggplan.reporting.coverage import grid_expected, incident_times, shift_cells


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


def gamma_poisson_effect(
    expected: float, observed: float, prior: float = 0.10, strength: float = 20.0, level: float = 0.80
) -> tuple[float, float, float]:
    """``(effect, lo, hi)``: posterior mean of ``1 - theta`` and its central ``level`` credible
    interval, unclipped (an effect below 0 means more incidents than the forecast expected).

    ``expected`` [incidents] the forecast's sum over the covered place-hours, ``observed``
    [incidents] what happened there, ``prior`` the assumed effect, ``strength`` its weight in
    pseudo-incidents.
    """
    if not 0 <= prior < 1 or strength <= 0:
        raise InvalidInputError("prior must lie in [0, 1) and strength be > 0 (pseudo-incidents)")
    if not 0 < level < 1:
        raise InvalidInputError(f"level must lie in (0, 1), e.g. 0.8, got {level}")
    shape, rate = strength + observed, strength / (1.0 - prior) + expected
    tail = (1 - level) / 2
    lo_t, hi_t = stats.gamma.ppf([tail, 1 - tail], shape, scale=1.0 / rate)
    return 1 - shape / rate, float(1 - hi_t), float(1 - lo_t)


def estimate_walk_effect(
    walks: Sequence[Mapping[str, Any]],
    incidents: pd.DataFrame,
    grid: pd.DataFrame,
    *,
    prior: float = 0.10,
    strength: float = 20.0,
) -> WalkEffectEstimate:
    """Posterior walk effect from walks done (plan.json shifts of kind ``night_walk`` with
    ``place_ids``, ``start``, ``end``), the incidents (``occurred_at``, ``place_id``, optional
    ``weight``) and the risk grid that was used to plan them. The effect and its interval are
    clipped to [0, 0.9], the range the resources spec accepts for ``effects.walk``."""
    if not 0 <= prior < 1 or strength <= 0:
        raise InvalidInputError("prior must lie in [0, 1) and strength be > 0 (pseudo-incidents)")
    cells = shift_cells([s for s in walks if s.get("kind", "night_walk") == "night_walk"], "walks")
    if cells.empty:
        raise InvalidInputError("no walks given: pass the night_walk shifts that were done")
    idx = pd.MultiIndex.from_frame(cells[["place_id", "hour"]]).unique().sort_values()
    exp = grid_expected(grid, "risk grid").reindex(idx)
    if exp.isna().any():
        missing = exp[exp.isna()].index[0]
        raise InvalidInputError(
            f"the risk grid has no row for {missing[0]} at {missing[1]}: give the forecast "
            "that covered the walked weeks"
        )
    occ = incident_times(incidents).dt.floor("h")
    weight = incidents["weight"].astype(float) if "weight" in incidents.columns else pd.Series(1.0, index=occ.index)
    hits = pd.Series(weight.to_numpy(), index=pd.MultiIndex.from_arrays([incidents["place_id"].astype(str), occ]))
    hits = hits[hits.index.isin(idx)]
    e_sum, o_sum = float(exp.sum()), float(hits.sum())
    effect, lo, hi = gamma_poisson_effect(e_sum, o_sum, prior, strength)
    clip = lambda x: float(np.clip(x, 0.0, 0.9))  # noqa: E731
    return WalkEffectEstimate(clip(effect), clip(lo), clip(hi), e_sum, o_sum, len(idx), prior, strength)
