"""Forecasting models on synthetic data with planted truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tryggplan.calendar import midsummer_eve
from tryggplan.counts import CountMatrix
from tryggplan.domain import RISK_GRID_COLUMNS, InvalidInputError, NotFittedError
from tryggplan.forecasting.registry import BASELINES, available_models, get_model
from tryggplan.riskgrid import nb_cdf, nb_quantile
from tryggplan.timeutil import hour_of_week, local_slots

TZ = "Europe/Stockholm"
PEAK_HOW = 4 * 24 + 22  # Friday 22:00
MIDSUMMER_FACTOR = 4.0


def planted_town(years: int = 3, n_places: int = 6, seed: int = 1) -> tuple[CountMatrix, np.ndarray]:
    """Poisson counts with a Friday-22:00 peak, a Midsummer Eve spike and place rates 1:2:...:n."""
    rng = np.random.default_rng(seed)
    start = dt.date(2022, 1, 3)
    slots = local_slots(start, 365 * years, TZ)
    how = hour_of_week(slots)
    hour = slots.hour.to_numpy()
    profile = np.where((hour >= 20) | (hour < 3), 3.0, 0.5)
    profile[how == PEAK_HOW] = 12.0
    night_date = (slots - pd.Timedelta(hours=6)).tz_localize(None).normalize()
    spike = np.ones(len(slots))
    for year in range(2022, 2022 + years + 1):
        spike[night_date == pd.Timestamp(midsummer_eve(year))] = MIDSUMMER_FACTOR
    rates = 0.004 * np.arange(1, n_places + 1)
    mu = rates[:, None] * profile[None, :] * spike[None, :]
    values = rng.poisson(mu).astype(float)
    places = np.array([f"p{i}" for i in range(n_places)])
    return CountMatrix(places, slots, values), rates


@pytest.fixture(scope="module")
def town() -> tuple[CountMatrix, np.ndarray]:
    return planted_town()


@pytest.fixture(scope="module")
def fitted(town):
    counts, _ = town
    return get_model("default").fit(counts)


def test_default_recovers_planted_hour_of_week_peak(fitted) -> None:
    grid = fitted.predict(dt.date(2025, 3, 3), 7)
    by_how = grid.groupby(hour_of_week(pd.DatetimeIndex(grid["slot_start"])))["expected"].sum()
    assert int(by_how.idxmax()) == PEAK_HOW


def test_default_recovers_planted_midsummer_spike(fitted) -> None:
    eve = midsummer_eve(2025)  # Friday 20 June 2025
    grid = fitted.predict(eve - dt.timedelta(days=14), 21)
    local = pd.DatetimeIndex(grid["slot_start"])
    at_22 = grid[(local.hour == 22) & (local.dayofweek == 4)].groupby(
        local[(local.hour == 22) & (local.dayofweek == 4)].date
    )
    friday = at_22["expected"].sum()
    ratio = friday[eve] / np.mean([friday[eve - dt.timedelta(days=7)], friday[eve - dt.timedelta(days=14)]])
    assert 2.5 < ratio < 6.0, ratio


def test_place_levels_follow_planted_rates(fitted, town) -> None:
    _, rates = town
    grid = fitted.predict(dt.date(2025, 3, 3), 7)
    per_place = grid.groupby("place_id")["expected"].mean().to_numpy()
    assert np.corrcoef(per_place, rates)[0, 1] > 0.97
    assert np.all(np.diff(per_place) > 0)


@pytest.mark.parametrize("name", ["default", *BASELINES])
def test_grid_contract(name: str, town) -> None:
    counts, _ = town
    short = CountMatrix(counts.places, counts.slots[-24 * 120 :], counts.values[:, -24 * 120 :])
    grid = get_model(name).fit(short).predict(dt.date(2025, 1, 1), 3)
    assert list(grid.columns) == list(RISK_GRID_COLUMNS)
    assert len(grid) == len(counts.places) * 72
    assert (grid["expected"] >= 0).all() and np.isfinite(grid["expected"]).all()
    assert ((grid["p_any"] >= 0) & (grid["p_any"] <= 1)).all()
    assert (grid["lo_80"] <= grid["hi_80"]).all()
    assert set(grid["risk_level"]) <= {"high", "elevated", "normal"}
    assert str(pd.DatetimeIndex(grid["slot_start"]).tz) == TZ


@pytest.mark.parametrize(
    ("day", "slots"), [(dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25), (dt.date(2026, 6, 1), 24)]
)
def test_forecast_across_dst_has_no_gaps_or_duplicates(fitted, day: dt.date, slots: int) -> None:
    grid = fitted.predict(day - dt.timedelta(days=1), 3)
    one = pd.DatetimeIndex(grid.loc[grid["place_id"] == "p0", "slot_start"])
    on_day = one[one.date == day]
    assert len(on_day) == slots
    utc = one.tz_convert("UTC")
    assert utc.is_unique and (np.diff(utc.asi8) == 3_600_000_000_000).all()


def test_place_without_history_gets_finite_shrunk_forecast(town) -> None:
    counts, _ = town
    places = np.append(counts.places, "new_place")
    values = np.vstack([counts.values, np.zeros(counts.values.shape[1])])
    grid = get_model("default").fit(CountMatrix(places, counts.slots, values)).predict(dt.date(2025, 3, 3), 7)
    per_place = grid.groupby("place_id")["expected"].mean()
    assert np.isfinite(per_place["new_place"]) and per_place["new_place"] > 0
    assert per_place["new_place"] < per_place.drop("new_place").min()


@pytest.mark.parametrize("name", ["default", *BASELINES])
def test_predict_before_fit_raises(name: str) -> None:
    with pytest.raises(NotFittedError, match=r"is not fitted: call fit\(counts\) before predict\(\)"):
        get_model(name).predict(dt.date(2025, 1, 1), 7)


def test_unknown_model_names_the_choices() -> None:
    with pytest.raises(InvalidInputError, match="unknown model 'nope': choose one of default, "):
        get_model("nope")
    assert available_models()[0] == "default"


def test_fit_refuses_negative_counts(town) -> None:
    counts, _ = town
    bad = CountMatrix(counts.places[:1], counts.slots[:48], -np.ones((1, 48)))
    with pytest.raises(InvalidInputError, match="counts must be finite and >= 0"):
        get_model("default").fit(bad)


def test_fit_accepts_the_long_frame(town) -> None:
    counts, _ = town
    tail = CountMatrix(counts.places, counts.slots[-24 * 60 :], counts.values[:, -24 * 60 :])
    from_frame = get_model("default").fit(tail.to_frame()).predict(dt.date(2025, 1, 1), 2)
    from_matrix = get_model("default").fit(tail).predict(dt.date(2025, 1, 1), 2)
    np.testing.assert_allclose(from_frame["expected"], from_matrix["expected"])


def test_baselines_exact_values() -> None:
    slots = local_slots(dt.date(2025, 1, 6), 14, TZ)  # two whole weeks from a Monday
    values = np.zeros((1, len(slots)))
    values[0, 22] = 2.0  # week 1 Monday 22:00
    values[0, 168 + 22] = 1.0  # week 2 Monday 22:00
    values[0, 168 + 5] = 1.0  # week 2 Monday 05:00
    counts = CountMatrix(np.array(["a"]), slots, values)
    start = dt.date(2025, 1, 20)

    def first_day(name: str) -> np.ndarray:
        return get_model(name).fit(counts).predict(start, 1)["expected"].to_numpy()

    how = first_day("how_mean")
    assert how[22] == pytest.approx(1.5) and how[5] == pytest.approx(0.5) and how[0] == 0
    naive = first_day("seasonal_naive")
    assert naive[22] == 1.0 and naive[5] == 1.0 and naive.sum() == 2.0
    last14 = first_day("last_14_days")
    assert last14[22] == pytest.approx(3 / 14) and last14[5] == pytest.approx(1 / 14)
    flat = first_day("place_only")
    assert np.allclose(flat, 4 / len(slots))


def test_nb_distribution_helpers() -> None:
    mu = np.array([0.5, 2.0])
    assert nb_cdf(np.array([0, 1]), mu, 0.0) == pytest.approx([np.exp(-0.5), 3 * np.exp(-2.0)])
    assert list(nb_cdf(np.array([-1, -1]), mu, 0.3)) == [0.0, 0.0]
    # with alpha -> small the NB approaches the Poisson
    assert nb_cdf(np.array([2]), np.array([2.0]), 1e-6)[0] == pytest.approx(5 * np.exp(-2.0), rel=1e-4)
    assert list(nb_quantile(0.9, np.array([0.01, 3.0]), 0.0)) == [0.0, 5.0]


def test_one_sparse_place_gets_a_smooth_profile_not_its_raw_hours() -> None:
    """With one place the pooled profile is that place's: it is shrunk towards hour x weekday."""
    rng = np.random.default_rng(0)
    slots = local_slots(dt.date(2024, 1, 1), 70, TZ)
    counts = CountMatrix(np.array(["only"]), slots, rng.poisson(0.01, (1, len(slots))).astype(float))
    grid = get_model("default").fit(counts).predict(dt.date(2024, 3, 11), 7)
    assert grid["expected"].min() > 0.002
    assert grid["expected"].max() < 0.03  # the raw hour-of-week mean would reach ~0.2 here


def test_history_without_incidents_gives_a_small_finite_forecast() -> None:
    slots = local_slots(dt.date(2024, 1, 1), 60, TZ)
    counts = CountMatrix(np.array(["a", "b"]), slots, np.zeros((2, len(slots))))
    grid = get_model("default").fit(counts).predict(dt.date(2024, 3, 1), 2)
    assert np.isfinite(grid["expected"]).all()
    # a prior of half an incident over the town's whole history, shrunk: over as many hours as
    # the history, each place would expect between 0.1 and 0.5 incidents
    per_place_over_history = grid.groupby("place_id")["expected"].mean() * len(slots)
    assert ((per_place_over_history > 0.1) & (per_place_over_history < 0.5)).all()
