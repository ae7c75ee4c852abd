"""Baselines every model is judged against (docs/architecture.md, "Forecasting").

* ``how_mean``: historical hour-of-week mean per place.
* ``seasonal_naive``: the same hour last week.
* ``last_14_days``: the last two weeks' hour-of-day profile per place, what a
  situation-picture meeting does by hand.
* ``place_only``: the place's historical rate spread evenly over the hours.

All are Poisson (``nb_alpha = 0``): they make no claim about dispersion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tryggplan.counts import CountMatrix
from tryggplan.forecasting.base import Forecaster
from tryggplan.timeutil import hour_of_week


def _profile_mean(values: np.ndarray, keys: np.ndarray, n_keys: int) -> np.ndarray:
    """Mean of ``values[:, j]`` over the columns j sharing a key; ``(n_rows, n_keys)``."""
    sums = np.zeros((values.shape[0], n_keys))
    np.add.at(sums.T, keys, values.T)
    n = np.bincount(keys, minlength=n_keys).astype(float)
    return sums / np.maximum(n, 1.0)


class HourOfWeekMean(Forecaster):
    """Historical hour-of-week mean per place [incidents/h]."""

    name = "how_mean"
    version = "1"

    def _fit(self, counts: CountMatrix) -> None:
        self.profile_ = _profile_mean(counts.values, hour_of_week(counts.slots), 168)

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        return self.profile_[:, hour_of_week(slots)], 0.0


class SeasonalNaive(Forecaster):
    """The count of the same hour of the last observed week, repeated [incidents/h]."""

    name = "seasonal_naive"
    version = "1"

    def _fit(self, counts: CountMatrix) -> None:
        last = counts.values[:, -168:]
        keys = hour_of_week(counts.slots[-168:])
        self.profile_ = _profile_mean(last, keys, 168)

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        return self.profile_[:, hour_of_week(slots)], 0.0


class Last14Days(Forecaster):
    """Hour-of-day mean per place over the last 14 days [incidents/h]."""

    name = "last_14_days"
    version = "1"

    def _fit(self, counts: CountMatrix) -> None:
        window = counts.slots[-14 * 24 :]
        self.profile_ = _profile_mean(counts.values[:, -14 * 24 :], window.hour.to_numpy(), 24)

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        return self.profile_[:, slots.hour.to_numpy()], 0.0


class PlaceOnly(Forecaster):
    """The place's mean hourly rate over the whole history, flat over the hours [incidents/h]."""

    name = "place_only"
    version = "1"

    def _fit(self, counts: CountMatrix) -> None:
        self.rate_ = counts.values.mean(axis=1)

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        return np.repeat(self.rate_[:, None], len(slots), axis=1), 0.0
