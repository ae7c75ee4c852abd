"""The risk grid, the forecast contract (docs/architecture.md, "Data contracts"): columns, the
predictive distribution every row carries and the risk levels.

Every model returns per place and local hour the expected count [incidents/h] and the
negative-binomial dispersion ``nb_alpha`` of its predictive distribution; :func:`finish_grid`
derives ``p_any``, the 80% count interval and ``risk_level`` from those, so that every producer
of a grid (models, synthetic grids for tests) reports them the same way. ``risk_level`` is set
within each municipality (``groups``) when the producer knows them (:class:`RiskLevels`);
:func:`relabel` sets it again on any grid. Consumers (allocation,
dashboards, backtests) read this contract and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from tryggplan.domain import RISK_GRID_COLUMNS, InvalidInputError


@dataclass(frozen=True)
class RiskLevels:
    """Thresholds on a town's distribution of expected counts over the forecast horizon.

    A place-hour is ``high`` when its expected count is in the top ``high_share`` of the
    place-hours of its group (its municipality; the whole grid when no groups are given),
    ``elevated`` in the next ``elevated_share``, else ``normal``. Levels are relative within
    each group on purpose: a small town's riskiest hours are ``high`` next to a busy town's,
    whose absolute expected counts are far larger (``expected`` still carries those).
    """

    high_share: float = 0.05
    elevated_share: float = 0.15

    def label(self, expected: np.ndarray, groups: np.ndarray | Sequence[str] | None = None) -> np.ndarray:
        """``high`` / ``elevated`` / ``normal`` for each expected count [incidents/h].

        Parameters
        ----------
        expected : expected counts, any shape
        groups : group (municipality) of each element, the same shape as ``expected``; the
            thresholds are the quantiles within each group. ``None``: one group.
        """
        if not 0 < self.high_share < 1 or not 0 <= self.elevated_share < 1:
            raise InvalidInputError("risk-level shares must lie between 0 and 1, e.g. high 0.05, elevated 0.15")
        expected = np.asarray(expected, dtype=float)
        if groups is None:
            return self._label_one(expected)
        codes = np.asarray(groups, dtype=object)
        if codes.shape != expected.shape:
            raise InvalidInputError(
                f"risk-level groups have shape {codes.shape} but expected has {expected.shape}: give one group "
                "(municipality) per expected count"
            )
        out = np.full(expected.shape, "normal", dtype=object)
        flat_out, flat_x = out.reshape(-1), expected.reshape(-1)
        _, inverse = np.unique(codes.reshape(-1).astype(str), return_inverse=True)
        for g in range(int(inverse.max()) + 1 if inverse.size else 0):
            member = inverse == g
            flat_out[member] = self._label_one(flat_x[member])
        return out

    def _label_one(self, expected: np.ndarray) -> np.ndarray:
        out = np.full(expected.shape, "normal", dtype=object)
        if expected.size == 0:
            return out
        hi_cut = np.quantile(expected, 1 - self.high_share)
        el_cut = np.quantile(expected, max(0.0, 1 - self.high_share - self.elevated_share))
        positive = expected > 0
        out[(expected >= el_cut) & positive] = "elevated"
        out[(expected >= hi_cut) & positive] = "high"
        return out


def nb_cdf(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """P(Y <= y) for a negative binomial with mean ``mu`` and variance ``mu + alpha mu^2``.

    ``alpha == 0`` is the Poisson limit. ``y < 0`` gives 0.
    """
    y = np.asarray(y, dtype=float)
    mu = np.maximum(np.asarray(mu, dtype=float), 1e-12)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), mu.shape)
    out = np.where(y < 0, 0.0, 0.0)
    pois = alpha <= 1e-9
    yy = np.maximum(y, 0)
    out = np.where(pois, stats.poisson.cdf(yy, mu), 0.0)
    if (~pois).any():
        size = 1.0 / np.where(pois, 1.0, alpha)
        prob = size / (size + mu)
        out = np.where(pois, out, stats.nbinom.cdf(yy, size, prob))
    return np.where(y < 0, 0.0, out)


def nb_quantile(q: float, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Smallest integer y with P(Y <= y) >= q under the negative binomial above."""
    mu = np.maximum(np.asarray(mu, dtype=float), 1e-12)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), mu.shape)
    pois = alpha <= 1e-9
    out = stats.poisson.ppf(q, mu)
    if (~pois).any():
        size = 1.0 / np.where(pois, 1.0, alpha)
        out = np.where(pois, out, stats.nbinom.ppf(q, size, size / (size + mu)))
    return np.nan_to_num(out, nan=0.0)


def finish_grid(
    place_ids: np.ndarray,
    slots: pd.DatetimeIndex,
    expected: np.ndarray,
    nb_alpha: np.ndarray | float,
    model: str,
    model_version: str,
    trained_until: pd.Timestamp,
    levels: RiskLevels | None = None,
    groups: np.ndarray | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Assemble the risk grid from a ``(n_places, n_slots)`` matrix of expected counts.

    Parameters
    ----------
    expected : [incidents/h], one row per place in ``place_ids``, one column per slot
    nb_alpha : negative-binomial dispersion, scalar or the same shape as ``expected``
    trained_until : the end of the training data (exclusive), tz-aware
    groups : the group (municipality) of each place, one per row of ``expected``: ``risk_level``
        is then set within each group (:meth:`RiskLevels.label`); ``None`` = one group
    """
    expected = np.asarray(expected, dtype=float)
    if expected.shape != (len(place_ids), len(slots)):
        raise InvalidInputError(f"expected has shape {expected.shape}, want {(len(place_ids), len(slots))}")
    if not np.isfinite(expected).all() or (expected < 0).any():
        raise InvalidInputError(f"{model}: expected counts must be finite and >= 0")
    n_places, n_slots = expected.shape
    cell_groups = None
    if groups is not None:
        groups = np.asarray(groups, dtype=object)
        if groups.shape != (n_places,):
            raise InvalidInputError(f"groups has {groups.shape[0] if groups.ndim else 0} entries: give one per place")
        cell_groups = np.repeat(groups, n_slots)
    alpha = np.broadcast_to(np.asarray(nb_alpha, dtype=float), expected.shape).reshape(-1)
    mu = expected.reshape(-1)
    p_zero = nb_cdf(np.zeros_like(mu), mu, alpha)
    grid = pd.DataFrame(
        {
            "place_id": np.repeat(np.asarray(place_ids, dtype=object), n_slots),
            "slot_start": np.tile(slots, n_places) if n_places else slots[:0],
            "expected": mu,
            "p_any": np.clip(1.0 - p_zero, 0.0, 1.0),
            "lo_80": nb_quantile(0.1, mu, alpha).astype(int),
            "hi_80": nb_quantile(0.9, mu, alpha).astype(int),
            "nb_alpha": alpha,
        }
    )
    grid["model"] = model
    grid["model_version"] = model_version
    grid["trained_until"] = trained_until
    grid["generated_at"] = pd.Timestamp.now(tz="UTC").floor("s")
    grid["risk_level"] = (levels or RiskLevels()).label(mu, cell_groups)
    return grid[list(RISK_GRID_COLUMNS)]


def relabel(
    grid: pd.DataFrame, groups: Mapping[str, str] | None = None, levels: RiskLevels | None = None
) -> pd.DataFrame:
    """A copy of ``grid`` with ``risk_level`` set again, within each place's group.

    For grids made elsewhere (concatenated per-town runs, stored grids, older files).

    Parameters
    ----------
    groups : ``place_id`` -> group (municipality); places missing from it form one group
        of their own (named ``""``). ``None``: the whole grid is one group.
    """
    missing = sorted({"place_id", "expected"} - set(grid.columns))
    if missing:
        raise InvalidInputError(f"risk grid lacks columns {missing}: give a grid in the forecast contract")
    out = grid.copy()
    expected = pd.to_numeric(out["expected"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(expected).any() or (expected < 0).any():
        raise InvalidInputError("risk grid: expected must be a number >= 0 in every row")
    cell_groups = None
    if groups is not None:
        cell_groups = out["place_id"].astype(str).map(lambda p: groups.get(p, "")).to_numpy(dtype=object)
    out["risk_level"] = (levels or RiskLevels()).label(expected, cell_groups)
    return out
