"""The model interface and the risk grid every model returns (docs/architecture.md, "Data contracts").

A model sees only the long count frame ``place_id, slot_start (tz-aware local), count``
[incidents/h], the calendar and, optionally, the places frame (which municipality and police
area each place belongs to). ``fit`` returns ``self``; fitted state ends in ``_``;
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

    def fit(
        self,
        counts: pd.DataFrame | CountMatrix,
        calendar: SwedishCalendar | None = None,
        places: pd.DataFrame | None = None,
    ) -> Self:
        """Fit on hourly counts; returns ``self``.

        Parameters
        ----------
        counts : long frame ``place_id, slot_start, count`` [incidents/h] or a :class:`CountMatrix`
            (weighted counts, non-integer, are accepted)
        calendar : the calendar of special days; default the Swedish one in the counts' zone
        places : the canonical places frame (``place_id, municipality``, optionally
            ``police_area``) covering every counted place. ``risk_level`` is then set within each
            municipality, and models that pool (the default) pool municipality -> police area ->
            all. ``None``: all places are one municipality (one group).
        """
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
        self.place_groups_ = None if places is None else place_groups(places, self.places_)
        self._fit(matrix)
        return self

    def predict(self, start: dt.date | str, days: int = 14) -> pd.DataFrame:
        if not hasattr(self, "trained_until_"):
            raise NotFittedError(f"{self.name} is not fitted: call fit(counts) before predict()")
        start = pd.Timestamp(start).date() if not isinstance(start, dt.date) else start
        slots = local_slots(start, days, self.tz_)
        expected, alpha = self._predict_matrix(slots)
        groups = None if self.place_groups_ is None else self.place_groups_["municipality"].to_numpy(dtype=object)
        return finish_grid(
            self.places_, slots, expected, alpha, self.name, self.version, self.trained_until_, self.levels, groups
        )

    @abstractmethod
    def _fit(self, counts: CountMatrix) -> None: ...

    @abstractmethod
    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray | float]:
        """Expected counts ``(n_places, n_slots)`` [incidents/h] and their NB dispersion."""


def place_groups(places: pd.DataFrame, place_ids: np.ndarray) -> pd.DataFrame:
    """``municipality`` and ``police_area`` of each of ``place_ids``, in that order.

    ``places`` is the canonical places frame (``place_id, municipality``; ``police_area``
    optional). An empty municipality is a group of its own (``""``); a place without a police
    area is pooled only within its municipality (its area is the municipality alone). Raises
    :class:`InvalidInputError` when a counted place is missing, a place has two
    municipalities, or a municipality lies in two police areas.
    """
    if not isinstance(places, pd.DataFrame):
        raise InvalidInputError("places must be the places frame (place_id, municipality[, police_area])")
    missing_cols = sorted({"place_id", "municipality"} - set(places.columns))
    if missing_cols:
        raise InvalidInputError(
            f"places lacks columns {missing_cols}: give the places frame with place_id and municipality "
            "(and optionally police_area)"
        )

    def text(col: str) -> pd.Series:
        return places[col].astype("string").fillna("").str.strip().astype(str)

    frame = pd.DataFrame({"place_id": places["place_id"].astype(str), "municipality": text("municipality")})
    frame["police_area"] = text("police_area") if "police_area" in places.columns else ""
    frame = frame.drop_duplicates()
    twice = frame["place_id"][frame["place_id"].duplicated()].unique()
    if len(twice):
        raise InvalidInputError(
            f"places gives {len(twice)} place(s) two municipalities or police areas, e.g. {twice[0]!r}: "
            "give each place_id one row"
        )
    frame = frame.set_index("place_id")
    ids = [str(p) for p in place_ids]
    absent = [p for p in ids if p not in frame.index]
    if absent:
        raise InvalidInputError(
            f"places lacks {len(absent)} counted place(s), e.g. {', '.join(map(repr, absent[:5]))}: "
            "give every place of the counts a row (place_id, municipality)"
        )
    out = frame.loc[ids].reset_index()
    # a place whose row leaves the area empty takes its municipality's area, if another row names it
    named = frame[frame["police_area"] != ""].drop_duplicates("municipality").set_index("municipality")["police_area"]
    empty = out["police_area"] == ""
    out.loc[empty, "police_area"] = out.loc[empty, "municipality"].map(named).fillna("")
    # a municipality without a police area forms an area of its own; the prefix keeps it apart
    # from a real area that happens to carry the same name
    own = out["police_area"] == ""
    out.loc[own, "police_area"] = "municipality:" + out.loc[own, "municipality"]
    areas = out.groupby("municipality")["police_area"].nunique()
    split = areas[areas > 1]
    if len(split):
        raise InvalidInputError(
            f"municipality {split.index[0]!r} lies in more than one police area: give each municipality one police_area"
        )
    return out
