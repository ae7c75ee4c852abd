"""High-risk windows: only meaningful ones (relative and absolute floors), with their uncertainty."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tryggplan.domain import InvalidInputError
from tryggplan.forecasting.grid import WINDOW_COLUMNS, WindowFloor, base_rates, high_risk_windows

START = pd.Timestamp("2025-12-05T12:00:00+01:00")  # a Friday


def grid(rows: dict[str, list[float]], high: dict[str, list[int]], alpha: float | None = None) -> pd.DataFrame:
    """A grid of the places in ``rows`` (expected per hour from Friday 12:00); ``high`` names the
    hours (0-based) that are ``high``, every other hour is ``normal``."""
    parts = []
    for place, values in rows.items():
        slots = pd.date_range(START, periods=len(values), freq="h")
        level = np.where(np.isin(np.arange(len(values)), high.get(place, [])), "high", "normal")
        parts.append(pd.DataFrame({"place_id": place, "slot_start": slots, "expected": values, "risk_level": level}))
    out = pd.concat(parts, ignore_index=True)
    if alpha is not None:
        out["nb_alpha"] = alpha
    return out


def test_a_window_of_nothing_is_not_called_high_risk() -> None:
    """The issue's "Kungsör, Fri 14:00–15:00, 0.0 expected": a high hour of a quiet town."""
    hours = [0.004] * 24
    hours[2] = 0.02  # Fri 14:00, five times the town's base rate but 0.02 expected
    hours[9:12] = [0.1, 0.2, 0.1]  # Fri 21:00-24:00
    g = grid({"kungsor": hours}, {"kungsor": [2, 9, 10, 11]})
    kept = high_risk_windows(g, place_names={"kungsor": "Kungsör"})
    assert kept["label"].tolist() == ["Kungsör, Fri 21:00–00:00, 0.4 expected (80% range 0–1, at least one: 33%)"]
    everything = high_risk_windows(g, place_names={"kungsor": "Kungsör"}, floor=None)
    assert everything["label"].tolist()[1] == "Kungsör, Fri 14:00–15:00, 0.0 expected (80% range 0, at least one: 2%)"
    assert list(kept.columns) == list(WINDOW_COLUMNS)


def test_the_top_of_a_flat_profile_is_not_a_peak() -> None:
    hours = [0.5] * 20 + [0.6] * 4  # the "high" hours are 1.2x the base rate
    g = grid({"torget": hours}, {"torget": [20, 21, 22, 23]})
    assert high_risk_windows(g).empty
    loose = high_risk_windows(g, floor=WindowFloor(min_rate_ratio=1.0))
    assert loose["rate_ratio"].tolist() == pytest.approx([0.6 / (0.5 * 20 / 24 + 0.6 * 4 / 24)])
    assert loose["base_rate"].tolist() == pytest.approx([0.5 * 20 / 24 + 0.6 * 4 / 24])


@pytest.mark.parametrize(("grouped", "kept"), [(True, ["k1", "p1"]), (False, ["p1"])])
def test_the_base_rate_is_the_towns_own(grouped: bool, kept: list[str]) -> None:
    """A small town's evening (10x its own base rate) is a peak; next to a busy town's base rate it is not."""
    small = [0.01] * 20 + [0.1] * 4
    busy = [1.0] * 20 + [5.0] * 4
    g = grid({"k1": small, "p1": busy}, {"k1": [20, 21, 22, 23], "p1": [20, 21, 22, 23]})
    towns = {"k1": "Kungsör", "p1": "Köping"} if grouped else None
    windows = high_risk_windows(g, groups=towns)
    assert sorted(windows["place_id"]) == kept
    if grouped:
        assert windows.set_index("place_id")["municipality"].to_dict() == {"k1": "Kungsör", "p1": "Köping"}
        # base rate (20 x 0.01 + 4 x 0.1) / 24 = 0.025, so the evening is 4x it
        assert windows.set_index("place_id").loc["k1", "rate_ratio"] == pytest.approx(4.0)


def test_a_cut_of_the_grid_keeps_the_towns_base_rate() -> None:
    """The service cuts a forecast (one place, one evening) before asking for its windows."""
    small = [0.01] * 20 + [0.1] * 4
    quiet = [0.01] * 24
    g = grid({"k1": small, "k2": quiet}, {"k1": [20, 21, 22, 23]})
    towns = {"k1": "Kungsör", "k2": "Kungsör"}
    whole = high_risk_windows(g, groups=towns)
    assert base_rates(g, towns) == pytest.approx({"Kungsör": (0.01 * 44 + 0.1 * 4) / 48})
    cut = g[(g["place_id"] == "k1") & (g["slot_start"] >= START + pd.Timedelta(hours=18))]
    # alone, the cut's own mean (0.07) would make the evening a mere 1.4x: no window
    assert high_risk_windows(cut, groups=towns).empty
    kept = high_risk_windows(cut, groups=towns, base_rates=base_rates(g, towns))
    pd.testing.assert_frame_equal(kept, whole)
    with pytest.raises(InvalidInputError, match="base_rates lacks municipality 'Kungsör'"):
        high_risk_windows(cut, groups=towns, base_rates={"Köping": 1.0})


def test_negative_binomial_uncertainty_of_a_window() -> None:
    mu = np.array([0.3, 0.6, 0.9])
    alpha = 0.5
    g = grid({"torget": [0.05] * 9 + list(mu)}, {"torget": [9, 10, 11]}, alpha=alpha)
    w = high_risk_windows(g).iloc[0]
    # P(no incident) of each hour is (1 + alpha mu)^(-1/alpha); the range is the NB with the sum's moments
    assert w["p_any"] == pytest.approx(1 - np.prod((1 + alpha * mu) ** (-1 / alpha)))
    total, extra = mu.sum(), alpha * (mu**2).sum()
    size = total**2 / extra
    assert (w["lo_80"], w["hi_80"]) == tuple(int(stats.nbinom.ppf(q, size, size / (size + total))) for q in (0.1, 0.9))
    assert w["label"] == f"torget, Fri 21:00–00:00, 1.8 expected (80% range 0–{w['hi_80']}, at least one: 79%)"


def test_swedish_label() -> None:
    g = grid({"torget": [0.05] * 9 + [0.5, 1.0, 1.2]}, {"torget": [9, 10, 11]})
    w = high_risk_windows(g, place_names={"torget": "Torget"}, lang="sv")
    assert w["label"].tolist() == ["Torget, fre 21:00–00:00, 2,7 väntade (80 %-intervall 1–5, minst en: 93 %)"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: WindowFloor(min_rate_ratio=-1.0), "min_rate_ratio must be a number >= 0, e.g. 1.5"),
        (lambda: WindowFloor(min_expected=float("nan")), "min_expected must be a number >= 0"),
        (lambda: high_risk_windows(grid({"a": [1.0]}, {"a": [0]}), lang="de"), "lang 'de': use 'sv' or 'en'"),
        (
            lambda: high_risk_windows(grid({"a": [1.0]}, {"a": [0]}, alpha=-0.1)),
            "nb_alpha must be a number >= 0 in every row",
        ),
    ],
)
def test_window_mistakes_are_named(call, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call()


def test_no_window_passes_gives_the_columns() -> None:
    g = grid({"a": [0.01] * 24}, {"a": [3]})
    out = high_risk_windows(g)
    assert out.empty and list(out.columns) == list(WINDOW_COLUMNS)
    assert high_risk_windows(g, floor=None)["night"].tolist() == [dt.date(2025, 12, 5)]
