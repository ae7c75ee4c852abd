"""Peer models: daily totals, hour-of-week spreading, and each peer fitted on a tiny town."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tryggplan.counts import CountMatrix
from tryggplan.domain import InvalidInputError
from tryggplan.forecasting.peers import CrostonPeer, DailyPeer, ProphetPeer, daily_totals, hour_of_week_share
from tryggplan.forecasting.registry import available_models, get_model
from tryggplan.timeutil import local_slots

TZ = "Europe/Stockholm"


def matrix(days: int = 56, start: dt.date = dt.date(2025, 1, 6), seed: int = 0) -> CountMatrix:
    slots = local_slots(start, days, TZ)
    rng = np.random.default_rng(seed)
    evening = np.where(slots.hour >= 20, 0.3, 0.02)
    values = np.vstack([rng.poisson(evening), rng.poisson(evening / 3), np.zeros(len(slots))])
    return CountMatrix(np.array(["a", "b", "quiet"]), slots, values.astype(float))


class FlatDaily(DailyPeer):
    """Forecasts 2.4 incidents every day at every place."""

    name = "flat"

    def _fit_daily(self, days: pd.DatetimeIndex, daily: np.ndarray) -> None:
        self.n_ = daily.shape[0]

    def _forecast_daily(self, h: int) -> np.ndarray:
        return np.full((self.n_, h), 2.4)


def test_daily_totals_follow_local_days_across_dst() -> None:
    slots = local_slots(dt.date(2025, 3, 29), 3, TZ)  # 24 + 23 + 24 hours
    counts = CountMatrix(np.array(["a"]), slots, np.ones((1, len(slots))))
    days, daily = daily_totals(counts)
    assert [d.date().isoformat() for d in days] == ["2025-03-29", "2025-03-30", "2025-03-31"]
    assert daily.tolist() == [[24.0, 23.0, 24.0]]


def test_hour_of_week_share_sums_to_one_per_weekday_and_shrinks() -> None:
    share = hour_of_week_share(matrix())
    assert share.reshape(3, 7, 24).sum(axis=2) == pytest.approx(np.ones((3, 7)))
    # the place without incidents gets the pooled shape, evenings dominate
    quiet = share[2].reshape(7, 24)
    assert quiet[:, 20:].sum(axis=1).min() > 0.5


def test_spreading_keeps_the_daily_total_also_on_a_dst_day() -> None:
    model = FlatDaily().fit(matrix(days=82))  # training ends 2025-03-28; forecast covers 30 March
    grid = model.predict(dt.date(2025, 3, 29), 3)
    day = pd.DatetimeIndex(grid["slot_start"]).tz_localize(None).normalize()
    totals = grid.groupby([grid["place_id"], day])["expected"].sum()
    assert totals.to_numpy() == pytest.approx(2.4)
    assert (grid["nb_alpha"] == 0).all()


def test_daily_peer_refuses_to_forecast_inside_its_training_data() -> None:
    model = FlatDaily().fit(matrix())
    with pytest.raises(InvalidInputError, match="start on or after 2025-03-03"):
        model.predict(dt.date(2025, 2, 1), 7)


def test_peers_are_registered() -> None:
    assert {"prophet", "croston", "tsb", "autoets"} <= set(available_models())


@pytest.mark.parametrize("name", ["croston", "tsb", "autoets"])
def test_statsforecast_peers_forecast_the_level(name: str) -> None:
    counts = matrix()
    grid = get_model(name).fit(counts).predict(dt.date(2025, 3, 3), 7)
    assert len(grid) == 3 * 168 and (grid["model"] == name).all()
    per_day = grid.groupby("place_id")["expected"].sum() / 7
    observed = counts.values.sum(axis=1) / 56
    # an intermittent-demand level is a smoothed mean: within a factor 2 of the history's
    assert per_day["a"] == pytest.approx(observed[0], rel=0.5)
    assert per_day["quiet"] == 0.0


def test_croston_daily_level_matches_statsforecast_directly() -> None:
    from statsforecast.models import CrostonOptimized

    counts = matrix()
    model = CrostonPeer().fit(counts)
    _, daily = daily_totals(counts)
    direct = CrostonOptimized().forecast(y=daily[0], h=2)["mean"]
    assert model._forecast_daily(2)[0] == pytest.approx(direct)


def test_prophet_peer_cap_and_fit() -> None:
    with pytest.raises(InvalidInputError, match="capped at 2 places, got 3"):
        ProphetPeer(max_places=2).fit(matrix())
    grid = ProphetPeer().fit(matrix()).predict(dt.date(2025, 3, 3), 7)
    assert (grid["expected"] >= 0).all()
    assert grid.loc[grid["place_id"] == "quiet", "expected"].sum() == 0.0
    assert grid.loc[grid["place_id"] == "a", "expected"].sum() > 0.0
