"""Peer models: what an analyst would try off the shelf, run in the same backtest harness.

* ``prophet``: Prophet alone, one model per place on daily counts (weekly and yearly
  seasonality, the Swedish holidays and eves of :meth:`SwedishCalendar.holiday_frame`).
* ``croston``: statsforecast ``CrostonOptimized`` per place on daily counts.
* ``tsb``: statsforecast ``TSB`` (Teunter-Syntetos-Babai) per place on daily counts,
  ``alpha_d = alpha_p = 0.1``.
* ``autoets``: statsforecast ``AutoETS(season_length=7, model="ZNA")`` per place on daily
  counts: error type chosen by AICc, no trend, additive weekly season. The full ``ZZZ``
  search is about 10x slower (0.3 s per series of 900 days) for no gain on sparse counts.

All four forecast **daily** counts per place [incidents/day] and spread each day over its
hours by the place's hour-of-week share (:func:`hour_of_week_share`). Daily series are far
less sparse than hourly ones (the intermittent-demand models are built for them), fitting is
24x cheaper, and every peer then gets the same hour-of-week shape, so the comparison is about
the level each one forecasts. The peers make no claim about dispersion: their predictive
distribution is Poisson (``nb_alpha = 0``).

Prophet is slow (~0.25 s per place and origin), so ``prophet`` refuses more than
``max_places`` places (default 60, a town): backtest it per town, or raise the cap
explicitly (``ProphetPeer(max_places=None)``, see ``backtests/se_police.py``).

References
----------
* Taylor, S. J. and Letham, B. (2018). Forecasting at scale. The American Statistician 72(1).
* Syntetos, A. A. and Boylan, J. E. (2005). The accuracy of intermittent demand estimates.
  International Journal of Forecasting 21(2), 303-314 (optimised Croston).
* Teunter, R. H., Syntetos, A. A. and Babai, M. Z. (2011). Intermittent demand: linking
  forecasting to inventory obsolescence. European Journal of Operational Research 214(3).
* Hyndman, R. J. et al. (2008). Forecasting with Exponential Smoothing. Springer (ETS).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.counts import CountMatrix
from tryggplan.domain import InvalidInputError
from tryggplan.forecasting.base import Forecaster
from tryggplan.riskgrid import RiskLevels
from tryggplan.timeutil import hour_of_week


def local_days(slots: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The local calendar day of each slot, as naive midnights."""
    return pd.DatetimeIndex(slots).tz_localize(None).normalize()


def daily_totals(counts: CountMatrix) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Local days and the counts per place and day ``(n_places, n_days)`` [incidents/day]."""
    days = local_days(counts.slots)
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    return days[starts], np.add.reduceat(counts.values, starts, axis=1)


def hour_of_week_share(counts: CountMatrix, prior: float = 24.0) -> np.ndarray:
    """Per place, the share of a weekday's incidents that falls in each hour ``(n_places, 168)``.

    Shares are shrunk towards the share of all places pooled, with ``prior`` pseudo-incidents
    per weekday: ``(n[p, h] + prior * q[h]) / (n[p, d] + prior)``, where ``n[p, d]`` counts the
    place's incidents on weekday ``d`` of hour-of-week ``h`` and ``q`` is the pooled share
    (itself smoothed with 0.01 incident per hour so that no hour is impossible). The 24 shares
    of each weekday sum to 1.
    """
    keys = hour_of_week(counts.slots).astype(int)
    n = np.zeros((len(counts.places), 168))
    np.add.at(n.T, keys, counts.values.T)
    pooled = n.sum(axis=0) + 0.01
    day_of = np.arange(168) // 24
    pooled_share = pooled / np.bincount(day_of, weights=pooled, minlength=7)[day_of]
    per_day = np.add.reduceat(n, np.arange(0, 168, 24), axis=1)[:, day_of]
    return (n + prior * pooled_share) / (per_day + prior)


class DailyPeer(Forecaster):
    """A per-place model of daily counts, spread over the hours by :func:`hour_of_week_share`.

    Subclasses implement ``_fit_daily(days, daily)`` and ``_forecast_daily(h)`` (the next ``h``
    days after the training data, ``(n_places, h)`` [incidents/day]).
    """

    def _fit(self, counts: CountMatrix) -> None:
        days, daily = daily_totals(counts)
        self.share_ = hour_of_week_share(counts)
        self.first_day_ = (days[-1] + pd.Timedelta(days=1)).date()
        self._fit_daily(days, daily)

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        days = local_days(slots)
        offset = np.asarray((days - pd.Timestamp(self.first_day_)).days)
        if len(offset) and offset.min() < 0:
            raise InvalidInputError(
                f"{self.name} forecasts only after its training data: start on or after {self.first_day_}"
            )
        h = int(offset.max()) + 1 if len(offset) else 0
        daily = np.clip(np.nan_to_num(self._forecast_daily(h), nan=0.0), 0.0, None)
        weights = self.share_[:, hour_of_week(slots).astype(int)]
        day_sum = np.zeros((weights.shape[0], h))
        np.add.at(day_sum.T, offset, weights.T)
        return daily[:, offset] * weights / day_sum[:, offset], 0.0

    @abstractmethod
    def _fit_daily(self, days: pd.DatetimeIndex, daily: np.ndarray) -> None: ...

    @abstractmethod
    def _forecast_daily(self, h: int) -> np.ndarray: ...


class StatsForecastPeer(DailyPeer):
    """A statsforecast model fitted to every place's daily series at once."""

    def _model(self) -> Any:
        raise NotImplementedError

    def _fit_daily(self, days: pd.DatetimeIndex, daily: np.ndarray) -> None:
        from statsforecast import StatsForecast

        n_places, n_days = daily.shape
        frame = pd.DataFrame(
            {
                "unique_id": np.repeat(np.arange(n_places), n_days),
                "ds": np.tile(days.to_numpy(), n_places),
                "y": daily.reshape(-1).astype(float),
            }
        )
        self.sf_ = StatsForecast(models=[self._model()], freq="D", n_jobs=1).fit(frame)

    def _forecast_daily(self, h: int) -> np.ndarray:
        out = self.sf_.predict(h=h)
        value = [c for c in out.columns if c not in ("unique_id", "ds")][0]
        out = out.sort_values(["unique_id", "ds"])
        return out[value].to_numpy(dtype=float).reshape(len(self.places_), h)


class CrostonPeer(StatsForecastPeer):
    """statsforecast ``CrostonOptimized`` on daily counts per place [incidents/h after spreading]."""

    name = "croston"
    version = "1"

    def _model(self) -> Any:
        from statsforecast.models import CrostonOptimized

        return CrostonOptimized()


class TSBPeer(StatsForecastPeer):
    """statsforecast ``TSB`` (alpha_d = alpha_p = 0.1) on daily counts per place."""

    name = "tsb"
    version = "1"

    def __init__(self, alpha_d: float = 0.1, alpha_p: float = 0.1, levels: RiskLevels | None = None) -> None:
        super().__init__(levels)
        self.alpha_d, self.alpha_p = alpha_d, alpha_p

    def _model(self) -> Any:
        from statsforecast.models import TSB

        return TSB(alpha_d=self.alpha_d, alpha_p=self.alpha_p)


class AutoETSPeer(StatsForecastPeer):
    """statsforecast ``AutoETS(season_length=7, model="ZNA")`` on daily counts per place."""

    name = "autoets"
    version = "1"

    def _model(self) -> Any:
        from statsforecast.models import AutoETS

        return AutoETS(season_length=7, model="ZNA")


class ProphetPeer(DailyPeer):
    """Prophet alone, one model per place on daily counts, with the Swedish holidays and eves.

    Places without any incident in the training data forecast zero without a fit.
    """

    name = "prophet"
    version = "1"

    def __init__(self, max_places: int | None = 60, levels: RiskLevels | None = None) -> None:
        super().__init__(levels)
        self.max_places = max_places

    def _fit_daily(self, days: pd.DatetimeIndex, daily: np.ndarray) -> None:
        if self.max_places is not None and daily.shape[0] > self.max_places:
            raise InvalidInputError(
                f"prophet fits one model per place (~0.25 s each) and is capped at {self.max_places} places,"
                f" got {daily.shape[0]}: backtest it per town, or use ProphetPeer(max_places=None)"
                " (backtests/se_police.py --prophet-all)"
            )
        prophet_cls = quiet_prophet()
        years = range(days[0].year, days[-1].year + 2)
        holidays = self.calendar_.holiday_frame(list(years))
        self.last_day_ = days[-1]
        self.models_: list[Any | None] = []
        for row in daily:
            if row.sum() <= 0:
                self.models_.append(None)
                continue
            # uncertainty_samples=0: only yhat is used (the peer is Poisson), and the simulated
            # intervals would triple the time predict takes
            model = prophet_cls(
                weekly_seasonality=True,
                daily_seasonality=False,
                yearly_seasonality=len(days) >= 365,
                holidays=holidays,
                uncertainty_samples=0,
            )
            model.fit(pd.DataFrame({"ds": days, "y": row}))
            self.models_.append(model)

    def _forecast_daily(self, h: int) -> np.ndarray:
        first = self.last_day_ + pd.Timedelta(days=1)
        future = pd.DataFrame({"ds": pd.date_range(first, periods=h, freq="D")})
        out = np.zeros((len(self.models_), h))
        for i, model in enumerate(self.models_):
            if model is not None:
                out[i] = model.predict(future)["yhat"].to_numpy()
        return out


def quiet_prophet() -> Any:
    """Import Prophet with its and cmdstanpy's chatter turned down to warnings."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    get_logger().setLevel(logging.WARNING)  # its first call would set DEBUG on a bare logger
    logging.getLogger("prophet").setLevel(logging.WARNING)
    return Prophet


PEERS: tuple[str, ...] = ("prophet", "croston", "tsb", "autoets")


__all__ = [
    "PEERS",
    "AutoETSPeer",
    "CrostonPeer",
    "DailyPeer",
    "ProphetPeer",
    "TSBPeer",
    "daily_totals",
    "hour_of_week_share",
    "local_days",
]
