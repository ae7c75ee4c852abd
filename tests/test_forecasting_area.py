"""A police area: risk levels within each municipality, and sparse towns borrowing strength
(municipality -> police area -> all) in the default model. Synthetic towns with planted truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tryggplan.counts import CountMatrix
from tryggplan.domain import InvalidInputError
from tryggplan.forecasting.base import place_groups
from tryggplan.forecasting.models import PooledCountModel
from tryggplan.forecasting.registry import BASELINES, get_model
from tryggplan.riskgrid import RiskLevels, finish_grid, relabel
from tryggplan.timeutil import hour_of_week, local_slots

TZ = "Europe/Stockholm"
FRI_22 = 4 * 24 + 22


# --------------------------------------------------------------------------- risk levels


def two_town_grid(groups: bool) -> pd.DataFrame:
    """One place per town, 100 hours each: the small town 0.001..0.010, the busy one 0.1..1.0."""
    slots = local_slots(dt.date(2026, 1, 5), 5, TZ)[:100]
    expected = np.vstack([np.linspace(0.001, 0.010, 100), np.linspace(0.1, 1.0, 100)])
    town = np.array(["Kungsör", "Köping"]) if groups else None
    return finish_grid(np.array(["k1", "p1"]), slots, expected, 0.0, "test", "1", slots[0], RiskLevels(), town)


@pytest.mark.parametrize(
    ("groups", "small_high", "small_elevated", "big_high", "big_elevated"),
    [(False, 0, 0, 10, 30), (True, 5, 15, 5, 15)],
)
def test_risk_levels_within_each_municipality(
    groups: bool, small_high: int, small_elevated: int, big_high: int, big_elevated: int
) -> None:
    grid = two_town_grid(groups)
    levels = grid.groupby("place_id")["risk_level"].value_counts().unstack(fill_value=0)
    assert (levels.loc["k1", "high"] if "high" in levels else 0) == small_high
    assert (levels.loc["k1", "elevated"] if "elevated" in levels else 0) == small_elevated
    assert levels.loc["p1", "high"] == big_high
    assert levels.loc["p1", "elevated"] == big_elevated
    if groups:  # the small town's riskiest hours are its own top five
        top = grid[(grid["place_id"] == "k1") & (grid["risk_level"] == "high")]["expected"]
        np.testing.assert_allclose(sorted(top), np.linspace(0.001, 0.010, 100)[-5:])


def test_relabel_gives_the_same_levels_as_finish_grid() -> None:
    pooled = two_town_grid(groups=False)
    again = relabel(pooled, {"k1": "Kungsör", "p1": "Köping"})
    assert list(again["risk_level"]) == list(two_town_grid(groups=True)["risk_level"])
    assert list(pooled["risk_level"]) == list(relabel(again)["risk_level"])  # no groups: one town again
    assert (pooled["risk_level"] != again["risk_level"]).any()  # the caller's frame is untouched


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: RiskLevels().label(np.ones(4), np.array(["a", "b"])), "groups have shape"),
        (lambda: RiskLevels(high_share=0.0).label(np.ones(4)), "shares must lie between 0 and 1"),
        (
            lambda: finish_grid(
                np.array(["a"]),
                local_slots(dt.date(2026, 1, 5), 1, TZ),
                np.ones((1, 24)),
                0.0,
                "m",
                "1",
                pd.Timestamp("2026-01-05", tz=TZ),
                None,
                np.array(["x", "y"]),
            ),
            "groups has 2 entries: give one per place",
        ),
        (lambda: relabel(pd.DataFrame({"place_id": ["a"]})), r"lacks columns \['expected'\]"),
        (lambda: relabel(pd.DataFrame({"place_id": ["a"], "expected": [-1.0]})), "expected must be a number >= 0"),
    ],
)
def test_risk_level_mistakes_are_named(call, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call()


# --------------------------------------------------------------------------- the places frame


def test_place_groups_fill_police_areas() -> None:
    places = pd.DataFrame(
        {
            "place_id": ["k1", "k2", "a1", "v1"],
            "municipality": ["Kungsör", "Kungsör", "Arboga", None],
            "police_area": ["Köping LPO", "", "Köping LPO", None],
        }
    )
    got = place_groups(places, np.array(["a1", "k2", "v1"]))
    assert got.to_dict("list") == {
        "place_id": ["a1", "k2", "v1"],
        "municipality": ["Arboga", "Kungsör", ""],
        # k2's empty area is Kungsör's (named by k1); a place without any area is pooled alone
        "police_area": ["Köping LPO", "Köping LPO", "municipality:"],
    }


@pytest.mark.parametrize(
    ("places", "message"),
    [
        (pd.DataFrame({"place_id": ["k1"]}), r"places lacks columns \['municipality'\]"),
        (pd.DataFrame({"place_id": ["k1"], "municipality": ["Kungsör"]}), "places lacks 1 counted place.*'p1'"),
        (
            pd.DataFrame({"place_id": ["k1", "k1", "p1"], "municipality": ["Kungsör", "Köping", "Köping"]}),
            "gives 1 place.* two municipalities or police areas, e.g. 'k1'",
        ),
        (
            pd.DataFrame({"place_id": ["k1", "p1"], "municipality": ["Kungsör", "Kungsör"], "police_area": ["A", "B"]}),
            "municipality 'Kungsör' lies in more than one police area",
        ),
        ("k1,Kungsör", "places must be the places frame"),
    ],
)
def test_bad_places_are_refused(places, message: str) -> None:
    counts = CountMatrix(np.array(["k1", "p1"]), local_slots(dt.date(2026, 1, 5), 2, TZ), np.zeros((2, 48)))
    with pytest.raises(InvalidInputError, match=message):
        get_model("default").fit(counts, places=places)


# --------------------------------------------------------------------------- the area check's towns


@pytest.fixture(scope="module")
def kungsor_koping() -> tuple[CountMatrix, pd.DataFrame]:
    """Two years: Kungsör 3 places ~1 incident a week in all, Köping 5 places ~25 a week; evenings
    and weekends heavy (the acceptance check's area)."""
    rng = np.random.default_rng(11)
    slots = local_slots(dt.date(2023, 1, 2), 728, TZ)
    evening = np.array([0.2] * 7 + [0.5] * 10 + [1.5] * 4 + [3.0] * 3)
    shape = evening[slots.hour] * np.where(slots.dayofweek >= 4, 1.8, 1.0)
    shape = shape / shape.mean()
    places = pd.DataFrame(
        {"place_id": ["k1", "k2", "k3", "p1", "p2", "p3", "p4", "p5"], "municipality": ["Kungsör"] * 3 + ["Köping"] * 5}
    )
    rate = np.array([1 / 168 / 3] * 3 + [25 / 168 / 5] * 5)
    values = rng.poisson(rate[:, None] * shape[None, :]).astype(float)
    return CountMatrix(places["place_id"].to_numpy(), slots, values), places


@pytest.mark.parametrize("name", ["default", "how_mean"])
@pytest.mark.parametrize("with_places", [False, True])
def test_small_town_gets_its_own_high_hours(kungsor_koping, name: str, with_places: bool) -> None:
    counts, places = kungsor_koping
    model = get_model(name).fit(counts, places=places if with_places else None)
    grid = model.predict(dt.date(2025, 1, 6), 14)
    small = grid[grid["place_id"].str.startswith("k")]
    share = (small["risk_level"] == "high").mean()
    if with_places:
        assert share >= 0.01  # the acceptance check's bar; about 5% by construction
    else:
        assert share == 0.0  # area-wide levels: every high hour is Köping's


# --------------------------------------------------------------------------- borrowing strength


def peaked(dow: int, hour: int) -> np.ndarray:
    """An hour-of-week shape (mean 1) peaking at ``hour`` on weekday ``dow``."""
    how = np.arange(168)
    shape = (0.3 + 3 * np.exp(-0.5 * ((how % 24 - hour) / 2.0) ** 2)) * np.where(how // 24 == dow, 2.5, 1.0)
    return shape / shape.mean()


@pytest.fixture(scope="module")
def three_towns() -> tuple[CountMatrix, pd.DataFrame, np.ndarray]:
    """Two years. Town A (3 places, ~8 incidents a week each) peaks Friday 22:00; town B (3 places)
    Tuesday 14:00; town S, in A's police area, has one place and exactly 20 incidents drawn from
    A's shape."""
    rng = np.random.default_rng(0)
    slots = local_slots(dt.date(2023, 1, 2), 728, TZ)
    how = hour_of_week(slots)
    shape_a, shape_b = peaked(4, 22), peaked(1, 14)
    rows = [rng.poisson(8 / 168 * shape_a[how]) for _ in range(3)] + [
        rng.poisson(8 / 168 * shape_b[how]) for _ in range(3)
    ]
    p = shape_a[how] / shape_a[how].sum()
    rows.append(np.bincount(rng.choice(len(slots), 20, p=p), minlength=len(slots)))
    places = pd.DataFrame(
        {
            "place_id": ["a1", "a2", "a3", "b1", "b2", "b3", "s1"],
            "municipality": ["A"] * 3 + ["B"] * 3 + ["S"],
            "police_area": ["X"] * 3 + ["Y"] * 3 + ["X"],
        }
    )
    return CountMatrix(places["place_id"].to_numpy(), slots, np.array(rows, dtype=float)), places, shape_a


def small_town_week(model: PooledCountModel) -> tuple[float, int, float]:
    """The small town's forecast for a plain week: correlation of its hour-of-week shape with A's
    planted one, its peak hour of week, and its expected count [incidents/week]."""
    grid = model.predict(dt.date(2025, 2, 3), 7)
    s = grid[grid["place_id"] == "s1"]
    by_how = s.groupby(hour_of_week(pd.DatetimeIndex(s["slot_start"])))["expected"].sum()
    return float(np.corrcoef(by_how.to_numpy(), peaked(4, 22))[0, 1]), int(by_how.idxmax()), float(s["expected"].sum())


def test_a_town_with_20_incidents_borrows_its_areas_shape_at_its_own_level(three_towns) -> None:
    counts, places, _ = three_towns
    own_rate = 20 / 104  # incidents a week
    corr, peak, weekly = small_town_week(PooledCountModel().fit(counts, places=places))
    assert corr > 0.95
    assert peak in (FRI_22, FRI_22 + 1)
    assert 0.6 * own_rate < weekly < 1.4 * own_rate
    # pooled flat with B (another police area, another shape), the shape and the level are wrong
    corr_flat, _, weekly_flat = small_town_week(PooledCountModel(hierarchy=False).fit(counts, places=places))
    assert corr_flat < 0.9 and weekly_flat > 1.5 * own_rate
    # alone, 20 incidents give a blurred shape
    alone = CountMatrix(counts.places[-1:], counts.slots, counts.values[-1:])
    corr_alone, _, _ = small_town_week(PooledCountModel().fit(alone))
    assert corr_alone < 0.85


def test_busy_towns_keep_their_own_shape(three_towns) -> None:
    counts, places, _ = three_towns
    model = PooledCountModel().fit(counts, places=places)
    assert np.argmax(model.profile_[3]) in (1 * 24 + 14, 1 * 24 + 13, 1 * 24 + 15)  # b1: Tuesday afternoon
    assert np.argmax(model.profile_[0]) in (FRI_22, FRI_22 + 1)  # a1: Friday night
    assert set(model.kappa_levels_) == {"police_area", "municipality"}


@pytest.fixture(scope="module")
def walpurgis_area() -> tuple[CountMatrix, pd.DataFrame]:
    """Three years, five towns of 3 places; town A's Walpurgis nights are 6x busier, the others'
    ordinary; town E is sparse (about 20 incidents)."""
    rng = np.random.default_rng(0)
    slots = local_slots(dt.date(2022, 1, 3), 365 * 3, TZ)
    night = (slots - pd.Timedelta(hours=6)).tz_localize(None).normalize()
    walpurgis = np.asarray(night.isin([pd.Timestamp(f"{y}-04-30") for y in range(2022, 2026)]))
    shape = np.where((slots.hour >= 20) | (slots.hour < 3), 3.0, 0.5)
    rows, ids, towns = [], [], []
    for town, rate, spike in (
        ("A", 0.01, 6.0),
        ("B", 0.01, 1.0),
        ("C", 0.01, 1.0),
        ("D", 0.01, 1.0),
        ("E", 0.0003, 1.0),
    ):
        for i in range(3):
            rows.append(rng.poisson(rate * shape * np.where(walpurgis, spike, 1.0)))
            ids.append(f"{town}{i}")
            towns.append(town)
    places = pd.DataFrame({"place_id": ids, "municipality": towns})
    return CountMatrix(np.array(ids), slots, np.array(rows, dtype=float)), places


def walpurgis_ratio(model: PooledCountModel) -> pd.Series:
    """Per town, expected incidents on the night of Walpurgis 2025 over the mean of three plain nights."""
    grid = model.predict(dt.date(2025, 4, 23), 10)
    local = pd.DatetimeIndex(grid["slot_start"])
    at_night = (local.hour >= 20) | (local.hour < 3)
    nights = grid[at_night].assign(
        night=(local[at_night] - pd.Timedelta(hours=6)).date, town=grid["place_id"].str[0][at_night]
    )
    total = nights.groupby(["town", "night"])["expected"].sum().unstack()
    plain = total[[dt.date(2025, 4, 23), dt.date(2025, 4, 24), dt.date(2025, 5, 1)]].mean(axis=1)
    return total[dt.date(2025, 4, 30)] / plain


def test_a_busy_town_keeps_its_own_calendar_effect_a_sparse_one_its_areas(walpurgis_area) -> None:
    counts, places = walpurgis_area
    assert counts.values[12:].sum() < 40  # town E is sparse
    model = PooledCountModel().fit(counts, places=places)
    flat = walpurgis_ratio(PooledCountModel(hierarchy=False).fit(counts, places=places))
    ratio = walpurgis_ratio(model)
    assert ratio["A"] > 1.5 * flat["A"]  # A's own spike (planted 6x) is not averaged away
    assert ratio["A"] > ratio.drop("A").max()
    # the sparse town's own Walpurgis deviation is shrunk (almost) all the way to the area's
    walpurgis = 6  # design column: intercept, trend, 4 season terms, then the calendar (walpurgis first)
    shrink = model.day_shrinkage_["municipality"]
    assert shrink[4, walpurgis] < 0.1 < shrink[0, walpurgis]
    assert ratio["E"] == pytest.approx(flat["E"], rel=0.25)


def test_without_places_the_model_is_unchanged_by_the_hierarchy(three_towns) -> None:
    counts, places, _ = three_towns
    one_town = places.assign(municipality="T", police_area="")
    a = PooledCountModel().fit(counts).predict(dt.date(2025, 2, 3), 2)
    b = PooledCountModel().fit(counts, places=one_town).predict(dt.date(2025, 2, 3), 2)
    np.testing.assert_allclose(a["expected"], b["expected"], rtol=1e-9)
    assert list(a["risk_level"]) == list(b["risk_level"])


# --------------------------------------------------------------------------- weighted counts


@pytest.mark.parametrize("name", ["default", *BASELINES])
def test_weighted_counts_are_accepted(kungsor_koping, name: str) -> None:
    counts, places = kungsor_koping
    half = CountMatrix(counts.places, counts.slots, counts.values * 0.5)
    grid = get_model(name).fit(half, places=places).predict(dt.date(2025, 1, 6), 7)
    full = get_model(name).fit(counts, places=places).predict(dt.date(2025, 1, 6), 7)
    assert np.isfinite(grid["expected"]).all() and (grid["lo_80"] <= grid["hi_80"]).all()
    # every incident weighs 0.5: the forecast halves (exactly for the unpooled baselines)
    ratio = grid["expected"].sum() / full["expected"].sum()
    assert ratio == pytest.approx(0.5, rel=1e-9 if name in BASELINES else 0.05)
