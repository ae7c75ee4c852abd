"""Forecast metrics for sparse hourly counts (docs/architecture.md, "Forecasting").

Every function takes numpy arrays of the same shape and returns a float (or a small
frame for the calibration table). ``y`` is the observed count per place-hour
[incidents/h], ``mu`` the forecast's expected count [incidents/h] and ``alpha`` its
negative-binomial dispersion (variance ``mu + alpha mu^2``; ``0`` = Poisson), exactly as
in the risk grid.

Conventions
-----------
* Means are over cells (place-hours). An empty input gives ``nan``.
* Where ``mu`` enters a logarithm it is clipped at :data:`MU_FLOOR` = 1e-9 incidents/h,
  so a model that predicts exactly zero where an incident happened gets a large but finite
  penalty (``-log(1e-9)`` ~ 20.7 nats) instead of ``inf``.
* Hit rate and PAI need at least one incident; over a window with none (an all-zero
  week) they are undefined and return ``nan``. :func:`nanmean_over_origins` then leaves
  that origin out of the average.

References
----------
* Czado, C., Gneiting, T. and Held, L. (2009). Predictive model assessment for count data.
  Biometrics 65(4), 1254-1261 (nonrandomized PIT, logarithmic score).
* Chainey, S., Tompson, L. and Uhlig, S. (2008). The utility of hotspot mapping for
  predicting spatial patterns of crime. Security Journal 21, 4-28 (hit rate, PAI).
* McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., sec. 2.3
  (Poisson deviance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tryggplan.riskgrid import nb_cdf

MU_FLOOR = 1e-9
"""Lower clip for the expected count inside logarithms [incidents/h]."""

PIT_LOW, PIT_HIGH = 0.1, 0.9


def _arrays(*arrays: np.ndarray | float) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in out))
    return [np.broadcast_to(a, shape) for a in out]


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean Poisson unit deviance per place-hour [dimensionless, lower is better].

    ``d(y, mu) = 2 (y log(y / mu) - (y - mu))`` with ``0 log 0 = 0``; ``mu`` is clipped at
    :data:`MU_FLOOR`. A perfect forecast of ``mu = y`` scores 0.

    Examples
    --------
    >>> poisson_deviance(np.array([0, 1]), np.array([1.0, 1.0]))
    1.0
    """
    y, mu = _arrays(y, mu)
    if y.size == 0:
        return float("nan")
    return float(np.mean(unit_deviance(y, mu)))


def unit_deviance(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson unit deviance per cell (see :func:`poisson_deviance`)."""
    y, mu = _arrays(y, mu)
    mu = np.maximum(mu, MU_FLOOR)
    ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return 2.0 * (ylogy - (y - mu))


def mae(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean absolute error of the expected count [incidents/h, lower is better]."""
    y, mu = _arrays(y, mu)
    return float(np.mean(np.abs(y - mu))) if y.size else float("nan")


def log_pmf(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Log predictive probability of ``y`` under NB(mean ``mu``, dispersion ``alpha``) [nats].

    ``alpha <= 1e-9`` is the Poisson limit; ``mu`` is clipped at :data:`MU_FLOOR`.
    """
    y, mu, alpha = _arrays(y, mu, alpha)
    mu = np.maximum(mu, MU_FLOOR)
    pois = alpha <= 1e-9
    out = stats.poisson.logpmf(y, mu)
    if (~pois).any():
        size = 1.0 / np.where(pois, 1.0, alpha)
        out = np.where(pois, out, stats.nbinom.logpmf(y, size, size / (size + mu)))
    return out


def log_score(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float = 0.0) -> float:
    """Mean logarithmic score ``-log p(y)`` [nats per place-hour, lower is better].

    The proper scoring rule of Czado, Gneiting & Held (2009), computed under the model's own
    predictive distribution (Poisson or negative binomial).
    """
    y, mu, alpha = _arrays(y, mu, alpha)
    return float(-np.mean(log_pmf(y, mu, alpha))) if y.size else float("nan")


def coverage_80(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of counts inside the integer interval ``[lo, hi]`` [0-1].

    With sparse counts an integer 80% interval covers far more than 80% even when the
    forecast is calibrated (docs/architecture.md); judge calibration by :func:`pit_coverage_80`.
    """
    y, lo, hi = _arrays(y, lo, hi)
    return float(np.mean((y >= lo) & (y <= hi))) if y.size else float("nan")


def pit_share(
    y: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float, low: float = PIT_LOW, high: float = PIT_HIGH
) -> np.ndarray:
    """Per cell, the share of the nonrandomized PIT interval ``[F(y-1), F(y)]`` inside ``[low, high]``.

    This is ``F(high | y) - F(low | y)`` for the conditional PIT distribution of Czado,
    Gneiting & Held (2009), eq. (1): uniform on ``[F(y-1), F(y)]``. When the interval is
    degenerate (``F(y-1) == F(y)`` to machine precision) the PIT is the point ``F(y)``.
    """
    y, mu, alpha = _arrays(y, mu, alpha)
    upper = nb_cdf(y, mu, alpha)
    lower = nb_cdf(y - 1, mu, alpha)
    width = upper - lower
    overlap = np.clip(np.minimum(upper, high) - np.maximum(lower, low), 0.0, None)
    point = ((upper >= low) & (upper <= high)).astype(float)
    return np.where(width > 1e-12, overlap / np.where(width > 1e-12, width, 1.0), point)


def pit_coverage_80(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float = 0.0) -> float:
    """Mean share of the nonrandomized PIT in [0.1, 0.9] [0-1; 0.80 when calibrated].

    Predictive CDF: negative binomial with mean ``mu`` and dispersion ``alpha`` (0 =
    Poisson), :func:`tryggplan.forecasting.base.nb_cdf`. Below 0.80 the forecast is overconfident (too
    many counts in its tails), above 0.80 underconfident.

    References
    ----------
    Czado, Gneiting & Held (2009), Biometrics 65, 1254-1261, section 2.1.
    """
    y, mu, alpha = _arrays(y, mu, alpha)
    return float(np.mean(pit_share(y, mu, alpha))) if y.size else float("nan")


def top_k_weights(mu: np.ndarray, k: float) -> np.ndarray:
    """Inclusion weight of each cell in the top ``k`` percent of cells by ``mu`` [0-1].

    The top ``n = k/100 * N`` cells are selected (``n`` may be fractional). Cells strictly
    above the threshold value get weight 1; the cells tied at the threshold share the
    remaining ``n - n_above`` places equally, which is the expected result of breaking the
    tie at random. The weights therefore sum to exactly ``n`` and a forecast that ranks all
    cells equal gets a hit rate of exactly ``k/100`` (PAI 1). Ties are exact float equality.
    """
    mu = np.asarray(mu, dtype=float)
    flat = mu.reshape(-1)
    if not 0 < k <= 100:
        raise ValueError(f"k must be a percentage in (0, 100], got {k}")
    weights = np.zeros(flat.shape)
    if flat.size == 0:
        return weights.reshape(mu.shape)
    n = k / 100.0 * flat.size
    order = np.sort(flat)[::-1]
    threshold = order[int(np.ceil(n - 1e-9)) - 1]
    above = flat > threshold
    tied = flat == threshold
    weights[above] = 1.0
    weights[tied] = (n - above.sum()) / tied.sum()
    return weights.reshape(mu.shape)


def hit_rate(y: np.ndarray, mu: np.ndarray, k: float) -> float:
    """Share of the actual incidents that fall in the top ``k`` percent of cells by ``mu`` [0-1].

    Ties at the cut-off are shared as in :func:`top_k_weights`. ``nan`` when ``y`` holds no
    incident (the hit rate of an all-zero window is undefined).

    References
    ----------
    Chainey, Tompson & Uhlig (2008), Security Journal 21, 4-28.
    """
    y, mu = _arrays(y, mu)
    total = y.sum()
    if total <= 0:
        return float("nan")
    return float((top_k_weights(mu, k) * y).sum() / total)


def pai(y: np.ndarray, mu: np.ndarray, k: float) -> float:
    """Predictive accuracy index: hit rate divided by the area share ``k/100`` [>= 0; 1 = chance].

    The area here is the share of place-hours flagged, so ``PAI@10 = hit_rate@10 / 0.10``.
    """
    return hit_rate(y, mu, k) / (k / 100.0)


def calibration_deciles(y: np.ndarray, mu: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs mean observed count per decile of predicted risk.

    Cells are sorted by ``mu`` (a stable sort, so ties keep their input order) and split into
    ``bins`` groups of (nearly) equal size; ties at a group edge can thus fall in two groups.

    Returns a frame ``decile (1 = lowest), n, mean_expected, mean_observed`` [incidents/h].
    """
    y, mu = _arrays(y, mu)
    y, mu = y.reshape(-1), mu.reshape(-1)
    order = np.argsort(mu, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        rows.append(
            {
                "decile": i,
                "n": int(idx.size),
                "mean_expected": float(mu[idx].mean()) if idx.size else float("nan"),
                "mean_observed": float(y[idx].mean()) if idx.size else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def night_index(slots: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """For each slot, the index of the night it belongs to (``-1`` for day hours) and the nights.

    A night runs 18:00-06:00 local and belongs to the date it starts on (docs/architecture.md, "Time rules").
    Hours before 06:00 on the first day belong to the night before the window and are
    left out (``-1``), so every night counted starts inside the window; the last night may
    be cut short by the window's end.
    """
    local = pd.DatetimeIndex(slots)
    hours = local.hour.to_numpy()
    night = (hours >= 18) | (hours < 6)
    dates = np.asarray((local - pd.Timedelta(hours=6)).normalize().date) if len(local) else np.array([])
    first = local[0].date() if len(local) else None
    nights = np.array(sorted({d for d, n in zip(dates, night, strict=True) if n and d >= first}))
    code = np.full(len(local), -1)
    if len(nights):
        lookup = {d: i for i, d in enumerate(nights)}
        code = np.array([lookup.get(d, -1) if n else -1 for d, n in zip(dates, night, strict=True)])
    return code, nights


def night_totals(values: np.ndarray, code: np.ndarray, n_nights: int) -> np.ndarray:
    """Sum ``values[..., slot]`` per night (``code`` from :func:`night_index`) -> ``(..., n_nights)``."""
    values = np.asarray(values, dtype=float)
    keep = code >= 0
    out = np.zeros(values.shape[:-1] + (n_nights,))
    if n_nights and keep.any():
        np.add.at(out.T, code[keep], values[..., keep].T)
    return out


def riskiest_night_hit(y_nights: np.ndarray, mu_nights: np.ndarray) -> np.ndarray:
    """Per row: 1.0 if the night with the highest expected count is one of the nights with the
    most actual incidents, 0.0 if not, ``nan`` if no night had an incident.

    Ties in the prediction are broken towards the earliest night.
    """
    y_nights = np.atleast_2d(np.asarray(y_nights, dtype=float))
    mu_nights = np.atleast_2d(np.asarray(mu_nights, dtype=float))
    if y_nights.shape[-1] == 0:
        return np.full(y_nights.shape[0], np.nan)
    pick = np.argmax(mu_nights, axis=-1)
    best = y_nights.max(axis=-1)
    picked = np.take_along_axis(y_nights, pick[:, None], axis=-1)[:, 0]
    return np.where(best > 0, (picked == best).astype(float), np.nan)


def nanmean_over_origins(values: np.ndarray | pd.Series) -> float:
    """Average of per-origin values, leaving out undefined (``nan``) ones; ``nan`` if none left."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")
