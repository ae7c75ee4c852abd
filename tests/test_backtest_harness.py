"""Rolling origins: what a model is given, leakage, and exact results on synthetic counts."""

from __future__ import annotations

import datetime as dt
import inspect
import math

import numpy as np
import pandas as pd
import pytest

from tryggplan.counts import CountMatrix, hourly_count_matrix
from tryggplan.domain import InvalidInputError
from tryggplan.forecasting.base import Forecaster
from tryggplan.forecasting.evaluation import LeakageError, backtest, make_origins
from tryggplan.forecasting.evaluation import metrics as m
from tryggplan.timeutil import local_midnight, local_slots

TZ = "Europe/Stockholm"


def synthetic_incidents(
    start: str = "2025-01-06", days: int = 84, places: int = 3, seed: int = 1, empty_days: tuple[str, str] | None = None
) -> pd.DataFrame:
    """Poisson incidents, busier in the evening and at place ``p0``; optionally a quiet stretch."""
    rng = np.random.default_rng(seed)
    slots = local_slots(dt.date.fromisoformat(start), days, TZ)
    rows = []
    for i in range(places):
        rate = 0.02 * (i + 1) * np.where(slots.hour >= 18, 4.0, 1.0)
        n = rng.poisson(rate)
        for t, k in zip(slots, n, strict=True):
            rows += [(t, f"p{i}")] * int(k)
    frame = pd.DataFrame(rows, columns=["occurred_at", "place_id"])
    frame["occurred_at"] = pd.DatetimeIndex(frame["occurred_at"]).tz_convert("UTC")
    if empty_days:
        lo, hi = (local_midnight(dt.date.fromisoformat(d), TZ) for d in empty_days)
        frame = frame[(frame["occurred_at"] < lo) | (frame["occurred_at"] >= hi)]
    return frame.reset_index(drop=True)


class Constant(Forecaster):
    """0.1 incidents/h everywhere (Poisson): every cell tied."""

    name = "constant"

    def _fit(self, counts: CountMatrix) -> None:
        self.n_ = len(counts.places)

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        return np.full((self.n_, len(slots)), 0.1), 0.0


class Recorder(Forecaster):
    """Records what the harness hands to ``fit``."""

    name = "recorder"
    seen: list[tuple[pd.Timestamp, int, bool, bool]] = []

    def _fit(self, counts: CountMatrix) -> None:
        Recorder.seen.append(
            (counts.slots[-1], len(counts.slots), counts.values.base is None, counts.values.flags.writeable)
        )
        self.rate_ = counts.values.mean(axis=1)

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        return np.repeat(self.rate_[:, None], len(slots), axis=1), 0.0


class Peeker(Forecaster):
    """Cheats: finds the harness's full count matrix up the call stack and forecasts the future
    from it. It reads no argument it was given, so slicing alone cannot stop it."""

    name = "peeker"

    def _fit(self, counts: CountMatrix) -> None:
        self.full_ = None
        for frame in inspect.stack()[1:]:
            for value in frame.frame.f_locals.values():
                if isinstance(value, CountMatrix) and len(value.slots) > len(counts.slots):
                    self.full_ = value
                    break
            if self.full_ is not None:
                break

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        assert self.full_ is not None
        idx = self.full_.slots.get_indexer(slots)
        return np.maximum(self.full_.values[:, idx], 0.0), 0.0


def test_make_origins_mondays_with_a_full_horizon() -> None:
    slots = local_slots(dt.date(2025, 1, 1), 59, TZ)  # data end 2025-03-01 (Saturday), exclusive
    got = make_origins(slots, 3)
    assert got == [dt.date(2025, 2, 3), dt.date(2025, 2, 10), dt.date(2025, 2, 17)]
    assert all(o.weekday() == 0 for o in got)
    assert make_origins(slots, 1, weekday=None) == [dt.date(2025, 2, 22)]
    with pytest.raises(InvalidInputError, match=r"at most 3 origins \(--origins 3\)"):
        make_origins(slots, 5)
    with pytest.raises(InvalidInputError, match="too short for one origin with 28 days of training"):
        make_origins(local_slots(dt.date(2025, 1, 1), 30, TZ), 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": "rolling"}, "window must be"),
        ({"window": "sliding"}, "sliding window needs window_days"),
        ({"engine": "spark"}, "engine must be"),
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
        ({"models": ["nope"]}, "unknown model 'nope'"),
        ({"models": []}, "no models"),
        ({"origins": 0}, "at least 1"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        backtest(synthetic_incidents(days=42), origins=kwargs.pop("origins", 1), **kwargs)


def test_constant_model_gives_exact_metrics() -> None:
    incidents = synthetic_incidents()
    result = backtest(incidents, {"constant": Constant}, origins=3, tz=TZ)
    matrix = hourly_count_matrix(incidents, TZ)
    assert result.settings["origins"] == ["2025-03-10", "2025-03-17", "2025-03-24"]
    for _, row in result.origins.iterrows():
        origin = dt.date.fromisoformat(row["origin"])
        a = matrix.slots.searchsorted(local_midnight(origin, TZ))
        b = matrix.slots.searchsorted(local_midnight(origin + dt.timedelta(days=7), TZ))
        y = matrix.values[:, a:b]
        # the week of 2025-03-24 has 167 hours (clocks spring forward on Sunday 30 March)
        assert row["n_cells"] == 3 * (167 if row["origin"] == "2025-03-24" else 168)
        assert row["poisson_deviance"] == pytest.approx(m.poisson_deviance(y, np.full(y.shape, 0.1)))
        assert row["pit_coverage_80"] == pytest.approx(m.pit_coverage_80(y, np.full(y.shape, 0.1)))
        assert row["observed"] == y.sum()
        assert row["hit_rate@10"] == pytest.approx(0.1)  # every cell tied: exactly chance
    summary = result.summary()["constant"]
    assert summary["hit_rate@10"] == pytest.approx(0.1)
    assert summary["pai@10"] == pytest.approx(1.0)
    assert summary["origins"] == 3


def test_per_place_rows_add_up_to_origin_metrics() -> None:
    result = backtest(synthetic_incidents(), ["how_mean", "place_only"], origins=2, tz=TZ)
    assert len(result.metrics) == 2 * 2 * 3  # origins x models x places
    per = result.metrics.groupby(["origin", "model"])[["observed", "hits@10"]].sum()
    o = result.origins.set_index(["origin", "model"])
    assert (per["hits@10"] / per["observed"]).to_numpy() == pytest.approx(o.loc[per.index, "hit_rate@10"])
    assert result.resolved == {"how_mean": "how_mean", "place_only": "place_only"}


def test_all_zero_week_is_left_out_of_hit_rate() -> None:
    incidents = synthetic_incidents(empty_days=("2025-03-17", "2025-03-24"))
    result = backtest(incidents, {"place_only": _place_only()}, origins=3, tz=TZ)
    hr = result.origins.set_index("origin")["hit_rate@10"]
    assert math.isnan(hr["2025-03-17"])
    assert result.summary()["place_only"]["hit_rate@10"] == pytest.approx((hr["2025-03-10"] + hr["2025-03-24"]) / 2)


def _place_only():  # noqa: ANN202
    from tryggplan.forecasting.baselines import PlaceOnly

    return PlaceOnly


def test_models_get_only_a_copy_of_the_counts_before_the_origin() -> None:
    Recorder.seen.clear()
    backtest(synthetic_incidents(), {"recorder": Recorder}, origins=2, tz=TZ, audit=False)
    (last1, n1, copy1, w1), (last2, n2, _, _) = Recorder.seen
    assert last1 == local_midnight(dt.date(2025, 3, 17), TZ) - pd.Timedelta(hours=1)
    assert last2 == local_midnight(dt.date(2025, 3, 24), TZ) - pd.Timedelta(hours=1)
    assert n2 - n1 == 168
    assert copy1 and not w1  # its own read-only array, not a view of the full matrix


def test_sliding_window_length() -> None:
    Recorder.seen.clear()
    backtest(
        synthetic_incidents(), {"recorder": Recorder}, origins=2, window="sliding", window_days=30, tz=TZ, audit=False
    )
    assert [n for _, n, _, _ in Recorder.seen] == [30 * 24, 30 * 24]


def test_peeking_model_is_caught() -> None:
    incidents = synthetic_incidents()
    # without the audit the cheat looks perfect: its forecast is the future itself
    cheat = backtest(incidents, {"peeker": Peeker, "recorder": Recorder}, origins=2, tz=TZ, audit=False)
    s = cheat.summary()
    assert s["peeker"]["mae"] == 0.0
    assert s["peeker"]["poisson_deviance"] < s["recorder"]["poisson_deviance"]
    with pytest.raises(LeakageError, match="model peeker leaks"):
        backtest(incidents, {"recorder": Recorder, "peeker": Peeker}, origins=2, tz=TZ)


def test_honest_models_pass_the_audit_and_count_input_works() -> None:
    incidents = synthetic_incidents()
    counts = hourly_count_matrix(incidents, TZ).to_frame()
    a = backtest(incidents, ["how_mean", "seasonal_naive", "last_14_days"], origins=2, tz=TZ)
    b = backtest(counts, ["how_mean", "seasonal_naive", "last_14_days"], origins=2, tz=TZ)
    cols = ["poisson_deviance", "hit_rate@10", "pit_coverage_80"]
    pd.testing.assert_frame_equal(a.origins[cols], b.origins[cols])


def test_places_without_incidents_are_scored() -> None:
    result = backtest(synthetic_incidents(), ["place_only"], origins=1, tz=TZ, places=["p0", "p1", "p2", "quiet"])
    quiet = result.metrics[result.metrics["place_id"] == "quiet"].iloc[0]
    assert quiet["observed"] == 0 and quiet["expected"] == 0


@pytest.mark.slow
def test_dask_engine_matches_local() -> None:
    incidents = synthetic_incidents()
    local = backtest(incidents, ["how_mean", "place_only"], origins=3, tz=TZ)
    dask = backtest(incidents, ["how_mean", "place_only"], origins=3, tz=TZ, engine="dask", workers=2)
    cols = ["origin", "model", "poisson_deviance", "hit_rate@10", "coverage_80"]
    pd.testing.assert_frame_equal(local.origins[cols], dask.origins[cols])


class Grouped(Forecaster):
    """Records the municipality of each place that ``fit`` was given; forecasts place p0 busiest."""

    name = "grouped"
    towns: list[list[str]] = []

    def _fit(self, counts: CountMatrix) -> None:
        assert self.place_groups_ is not None
        Grouped.towns.append(list(self.place_groups_["municipality"]))
        self.n_ = len(counts.places)

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        return np.repeat(np.array([[0.3], [0.2], [0.1]])[: self.n_], len(slots), axis=1), 0.0


TOWNS = pd.DataFrame({"place_id": ["p0", "p1", "p2"], "municipality": ["Köping", "Kungsör", "Kungsör"]})


def test_a_places_frame_reaches_every_fit_and_scores_each_town() -> None:
    incidents = synthetic_incidents()
    Grouped.towns = []
    result = backtest(incidents, {"constant": Constant, "grouped": Grouped}, origins=2, tz=TZ, places=TOWNS)
    # audit (twice) + two origins, each fit told every place's municipality
    assert Grouped.towns == [["Köping", "Kungsör", "Kungsör"]] * 4
    table = result.by_town().set_index(["model", "municipality"])
    metrics = result.metrics
    for model in ("constant", "grouped"):
        for town, ids in (("Köping", ["p0"]), ("Kungsör", ["p1", "p2"]), ("(all)", ["p0", "p1", "p2"])):
            rows = metrics[(metrics["model"] == model) & metrics["place_id"].isin(ids)]
            assert table.loc[(model, town), "observed"] == rows["observed"].sum()
            assert table.loc[(model, town), "places"] == len(ids)
    # all hours tied within a town: the constant model's town hit rate is exactly chance
    for town in ("Köping", "Kungsör", "(all)"):
        assert table.loc[("constant", town), "hit_rate@10"] == pytest.approx(0.1)
    # within Kungsör (2 places x 168 h, or 167 in the DST week), p1 (0.2/h) outranks p2 (0.1/h):
    # the top 10% of Kungsör's place-hours are all p1's, its tied hours each in with weight 0.2
    kungsor = metrics[(metrics["model"] == "grouped") & metrics["place_id"].isin(["p1", "p2"])]
    p1 = kungsor[kungsor["place_id"] == "p1"]
    assert (kungsor.loc[kungsor["place_id"] == "p2", "town_hits@10"] == 0).all()
    assert p1["town_hits@10"].to_numpy() == pytest.approx(0.2 * p1["observed"].to_numpy())
    assert table.loc[("grouped", "Kungsör"), "hit_rate@10"] == pytest.approx(
        kungsor["town_hits@10"].sum() / kungsor["observed"].sum()
    )
    # deviance of a town: the mean over its place-hours
    dev = result.metrics.query("model == 'constant' and place_id == 'p0'")["poisson_deviance"]
    cells = result.origins.query("model == 'constant'")["n_cells"].to_numpy() / 3
    assert table.loc[("constant", "Köping"), "poisson_deviance"] == pytest.approx((dev * cells).sum() / cells.sum())


def test_by_town_needs_a_places_frame() -> None:
    result = backtest(synthetic_incidents(), {"constant": Constant}, origins=1, tz=TZ, audit=False)
    with pytest.raises(InvalidInputError, match="by_town needs a backtest run with a places frame"):
        result.by_town()
    with pytest.raises(InvalidInputError, match="places frame lacks place_id or municipality"):
        backtest(synthetic_incidents(), {"constant": Constant}, origins=1, tz=TZ, places=TOWNS[["place_id"]])
