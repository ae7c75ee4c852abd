"""Metric functions against hand-computed values on tiny arrays."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from tryggplan.forecasting.evaluation import metrics as m
from tryggplan.timeutil import local_slots

LN2 = math.log(2.0)


@pytest.mark.parametrize(
    ("y", "mu", "want"),
    [
        ([0, 1], [1.0, 1.0], 1.0),  # 2*(0 - (0-1)) = 2 and 0
        ([2], [1.0], 4 * LN2 - 2),  # 2*(2 ln 2 - 1)
        ([1], [0.0], 2 * (-math.log(1e-9) - (1 - 1e-9))),  # mu clipped at 1e-9
        ([0, 0], [0.0, 0.0], 2e-9),  # clipped mu costs 2*mu per zero cell
        ([3, 0], [3.0, 0.5], 0.5),  # perfect cell 0, zero cell 2*0.5 -> mean 0.5
    ],
)
def test_poisson_deviance(y: list[float], mu: list[float], want: float) -> None:
    assert m.poisson_deviance(np.array(y), np.array(mu)) == pytest.approx(want, rel=1e-12)


def test_empty_input_gives_nan() -> None:
    assert math.isnan(m.poisson_deviance(np.array([]), np.array([])))
    assert math.isnan(m.mae(np.array([]), np.array([])))


def test_mae() -> None:
    assert m.mae(np.array([0, 2, 1]), np.array([0.5, 1.0, 1.0])) == pytest.approx(0.5)


def test_log_score_poisson_and_nb() -> None:
    # Poisson(1): P(0) = P(1) = e^-1 -> -log = 1
    assert m.log_score(np.array([0, 1]), np.array([1.0, 1.0]), 0.0) == pytest.approx(1.0)
    # NB mean 1, alpha 1 is geometric with p = 1/2: P(0) = 1/2, P(2) = 1/8
    assert m.log_score(np.array([0, 2]), np.array([1.0, 1.0]), 1.0) == pytest.approx((LN2 + 3 * LN2) / 2)


def test_coverage_80() -> None:
    y = np.array([0, 1, 2, 5])
    assert m.coverage_80(y, np.array([0, 0, 0, 0]), np.array([1, 1, 2, 4])) == pytest.approx(0.75)


def test_pit_coverage_hand_computed() -> None:
    mu = np.full(3, LN2)  # Poisson with F(0) = 1/2
    f0 = 0.5
    f1 = f0 + 0.5 * LN2
    # y=0: PIT uniform on [0, 0.5] -> 0.4 / 0.5 = 0.8 inside [0.1, 0.9]
    # y=1: [0.5, 0.8466] entirely inside -> 1
    # y=3: [F(2), F(3)] = [0.9667, 0.9944] entirely above 0.9 -> 0
    shares = m.pit_share(np.array([0, 1, 3]), mu, 0.0)
    assert shares == pytest.approx([0.8, 1.0, 0.0])
    assert f1 == pytest.approx(0.846574, abs=1e-6)
    assert m.pit_coverage_80(np.array([0, 1, 3]), mu, 0.0) == pytest.approx(0.6)


def test_pit_degenerate_interval_is_a_point() -> None:
    # mu ~ 0 and y = 1: F(0) = F(1) = 1 -> PIT is the point 1, outside [0.1, 0.9]
    assert m.pit_share(np.array([1]), np.array([0.0]), 0.0) == pytest.approx([0.0])


def test_pit_coverage_of_calibrated_forecast_is_near_080() -> None:
    rng = np.random.default_rng(3)
    mu = rng.gamma(2.0, 0.5, size=40_000)
    y = rng.poisson(mu)
    assert m.pit_coverage_80(y, mu, 0.0) == pytest.approx(0.80, abs=0.01)
    # a forecast that ignores the over-dispersion is overconfident
    y_nb = rng.negative_binomial(0.5, 0.5 / (0.5 + mu))
    assert m.pit_coverage_80(y_nb, mu, 0.0) < 0.75
    assert m.pit_coverage_80(y_nb, mu, 2.0) == pytest.approx(0.80, abs=0.015)


def test_hit_rate_and_pai_without_ties() -> None:
    y = np.array([[0, 1, 0, 2], [1, 0, 0, 0]])
    mu = np.array([[0.1, 0.5, 0.2, 0.9], [0.3, 0.0, 0.05, 0.4]])
    # top 25% of 8 cells = the 2 cells with 0.9 (y=2) and 0.5 (y=1): 3 of 4 incidents
    assert m.hit_rate(y, mu, 25) == pytest.approx(0.75)
    assert m.pai(y, mu, 25) == pytest.approx(3.0)


def test_hit_rate_ties_are_shared() -> None:
    # all cells tied: each of 4 cells gets weight 2/4, hit rate = k/100 exactly
    assert m.hit_rate(np.array([1, 0, 0, 3]), np.ones(4), 50) == pytest.approx(0.5)
    # one cell above, three tied at the cut for the one remaining place: weight 1/3 each
    y, mu = np.array([0, 1, 0, 2, 5]), np.array([3.0, 2.0, 2.0, 2.0, 1.0])
    assert m.top_k_weights(mu, 40) == pytest.approx([1, 1 / 3, 1 / 3, 1 / 3, 0])
    assert m.hit_rate(y, mu, 40) == pytest.approx((0 + (1 + 0 + 2) / 3) / 8)
    # fractional number of cells: 10% of 5 cells = half the top cell
    assert m.top_k_weights(mu, 10) == pytest.approx([0.5, 0, 0, 0, 0])
    # the result does not depend on the order of the tied cells
    assert m.hit_rate(y[::-1], mu[::-1], 40) == m.hit_rate(y, mu, 40)


@pytest.mark.parametrize("k", [0, -5, 101])
def test_hit_rate_refuses_bad_k(k: float) -> None:
    with pytest.raises(ValueError, match="percentage"):
        m.hit_rate(np.ones(3), np.ones(3), k)


def test_all_zero_week_is_undefined_and_left_out() -> None:
    assert math.isnan(m.hit_rate(np.zeros(10), np.linspace(0, 1, 10), 10))
    assert math.isnan(m.pai(np.zeros(10), np.linspace(0, 1, 10), 10))
    assert m.nanmean_over_origins([0.5, float("nan"), 0.25]) == pytest.approx(0.375)
    assert math.isnan(m.nanmean_over_origins([float("nan")]))


def test_calibration_deciles() -> None:
    mu = np.arange(20, dtype=float)
    y = 2 * mu
    cal = m.calibration_deciles(y, mu)
    assert list(cal["decile"]) == list(range(1, 11))
    assert list(cal["n"]) == [2] * 10
    assert cal["mean_expected"].tolist() == pytest.approx([0.5 + 2 * i for i in range(10)])
    assert cal["mean_observed"].tolist() == pytest.approx([1.0 + 4 * i for i in range(10)])


def test_riskiest_night_hit() -> None:
    y_n = np.array([[0, 2, 1], [0, 0, 0], [1, 1, 0]])
    mu_n = np.array([[0, 0.5, 0.6], [1, 0, 0], [0.2, 0.2, 0.1]])
    got = m.riskiest_night_hit(y_n, mu_n)
    assert got[0] == 0.0  # predicted night 3 (1 incident), the worst was night 2
    assert math.isnan(got[1])  # no incident at night: undefined
    assert got[2] == 1.0  # predicted tie -> first night, which ties for the most


def test_nights_over_a_dst_week() -> None:
    # 2025-03-24 (Mon) .. 2025-03-31: clocks spring forward on Sunday 30 March at 02:00
    slots = local_slots(dt.date(2025, 3, 24), 7, "Europe/Stockholm")
    code, nights = m.night_index(slots)
    assert len(slots) == 167
    assert [d.isoformat() for d in nights][0] == "2025-03-24" and len(nights) == 7
    assert (code[:6] == -1).all()  # Monday 00-06 belongs to the night before the window
    hours = m.night_totals(np.ones(len(slots)), code, len(nights))
    assert hours.tolist() == [12, 12, 12, 12, 12, 11, 6]  # Sat night lost an hour; Sun night cut at 24:00
