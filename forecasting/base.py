"""The model interface and the risk grid every model returns (DESIGN.md, "The risk grid").

A model sees only the long count frame ``place_id, slot_start (tz-aware local), count``
[incidents/h] and the calendar. ``fit`` returns ``self``; fitted state ends in ``_``;
``predict`` refuses to run unfitted. A model returns per place and slot the expected count
and its negative-binomial dispersion ``nb_alpha``; :func:`finish_grid` derives ``p_any``, the
80% interval and ``risk_level`` from those so that every model reports them the same way.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Self

import numpy as np
import pandas as pd

from tryggplan.calendar import SwedishCalendar
from tryggplan.counts import CountMatrix
from tryggplan.domain import InvalidInputError, NotFittedError
from tryggplan.riskgrid import RiskLevels, finish_grid
from tryggplan.timeutil import local_slots


class Forecaster(ABC):
    """A count model. Subclasses implement ``_fit`` and ``_predict_matrix``.

    ``fit(counts)`` takes the long frame ``place_id, slot_start, count`` (zero-filled or not;
    missing place-hours are zeros) and returns ``self``. ``predict(start, days)`` returns the
    risk grid for local days ``[start, start + days)`` for every place seen in training.
    """

    name: str = "forecaster"
    version: str = "1"

    def __init__(self, levels: RiskLevels | None = None) -> None:
        self.levels = levels or RiskLevels()

    def fit(self, counts: pd.DataFrame | CountMatrix, calendar: SwedishCalendar | None = None) -> Self:
        matrix = counts if isinstance(counts, CountMatrix) else CountMatrix.from_frame(counts)
        if matrix.values.shape[1] == 0 or matrix.values.shape[0] == 0:
            raise InvalidInputError(f"{self.name}: no counts to fit on: give at least one place and one day")
        if (matrix.values < 0).any() or not np.isfinite(matrix.values).all():
            raise InvalidInputError(f"{self.name}: counts must be finite and >= 0")
        tz = str(matrix.slots.tz)
        self.calendar_ = calendar or SwedishCalendar(tz=tz)
        self.tz_ = tz
        self.places_ = np.asarray(matrix.places, dtype=object)
        self.trained_until_ = matrix.slots[-1] + pd.Timedelta(hours=1)
        self._fit(matrix)
        return self

    def predict(self, start: dt.date | str, days: int = 14) -> pd.DataFrame:
        if not hasattr(self, "trained_until_"):
            raise NotFittedError(f"{self.name} is not fitted: call fit(counts) before predict()")
        start = pd.Timestamp(start).date() if not isinstance(start, dt.date) else start
        slots = local_slots(start, days, self.tz_)
        expected, alpha = self._predict_matrix(slots)
        return finish_grid(
            self.places_, slots, expected, alpha, self.name, self.version, self.trained_until_, self.levels
        )

    @abstractmethod
    def _fit(self, counts: CountMatrix) -> None: ...

    @abstractmethod
    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray | float]:
        """Expected counts ``(n_places, n_slots)`` [incidents/h] and their NB dispersion."""
