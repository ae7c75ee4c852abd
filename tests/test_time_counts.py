"""Hourly counts (zero-filled, DST-proof) and the Swedish calendar features."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tryggplan.calendar import SwedishCalendar, activity_day, end_of_school, midsummer_eve, payday
from tryggplan.counts import CountMatrix, hourly_count_matrix, hourly_counts
from tryggplan.domain import InvalidInputError


def incidents(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "incident_id": [f"i{i}" for i in range(len(rows))],
            "occurred_at": pd.to_datetime([r[0] for r in rows], utc=True, format="ISO8601"),
            "place_id": [r[1] for r in rows],
            "weight": [r[2] for r in rows],
        }
    )


def test_counts_are_zero_filled_per_place_and_slot() -> None:
    frame = incidents(
        [
            ("2026-06-01T21:10:00+02:00", "torget", 1.0),
            ("2026-06-01T21:50:00+02:00", "torget", 0.5),
            ("2026-06-02T03:05:00+02:00", "parken", 1.0),
        ]
    )
    counts = hourly_counts(
        frame, start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 3), places=["torget", "parken", "skolan"]
    )
    assert list(counts.columns) == ["place_id", "slot_start", "count"]
    assert len(counts) == 3 * 48
    assert counts["count"].sum() == 3
    hit = counts[counts["count"] > 0]
    assert hit["place_id"].tolist() == ["torget", "parken"]
    assert hit["count"].tolist() == [2.0, 1.0]
    assert hit["slot_start"].tolist() == [
        pd.Timestamp("2026-06-01 21:00", tz="Europe/Stockholm"),
        pd.Timestamp("2026-06-02 03:00", tz="Europe/Stockholm"),
    ]
    assert counts.loc[counts["place_id"] == "skolan", "count"].sum() == 0
    weighted = hourly_counts(frame, start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 3), weighted=True)
    assert weighted["count"].sum() == 2.5


def test_counts_across_fall_back_keep_both_two_oclock_hours() -> None:
    frame = incidents(
        [
            ("2026-10-25T02:30:00+02:00", "torget", 1.0),  # first 02:30 (summer time)
            ("2026-10-25T02:30:00+01:00", "torget", 1.0),  # second 02:30 (winter time)
            ("2026-10-25T02:40:00+01:00", "torget", 1.0),
        ]
    )
    m = hourly_count_matrix(frame, start=dt.date(2026, 10, 25), end=dt.date(2026, 10, 26))
    assert m.values.shape == (1, 25)
    assert m.values[0, 2] == 1 and m.values[0, 3] == 2
    assert m.values.sum() == 3


def test_counts_across_spring_forward() -> None:
    frame = incidents([("2026-03-29T01:59:00+01:00", "torget", 1.0), ("2026-03-29T03:00:00+02:00", "torget", 1.0)])
    m = hourly_count_matrix(frame, start=dt.date(2026, 3, 29), end=dt.date(2026, 3, 30))
    assert m.values.shape == (1, 23)
    assert m.values[0, 1] == 1 and m.values[0, 2] == 1  # 01:00 and 03:00 are neighbours


def test_counts_default_range_and_outside_incidents_ignored() -> None:
    frame = incidents([("2026-06-01T00:10:00+02:00", "a", 1.0), ("2026-06-02T23:59:00+02:00", "b", 1.0)])
    m = hourly_count_matrix(frame)
    assert m.values.shape == (2, 48)
    assert m.places.tolist() == ["a", "b"]
    narrow = hourly_count_matrix(frame, start=dt.date(2026, 6, 2), end=dt.date(2026, 6, 3))
    assert narrow.values.sum() == 1


def test_count_matrix_round_trip() -> None:
    frame = incidents([("2026-06-01T21:10:00+02:00", "torget", 1.0), ("2026-06-01T23:10:00+02:00", "park", 1.0)])
    m = hourly_count_matrix(frame, start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 2))
    back = CountMatrix.from_frame(m.to_frame())
    assert back.places.tolist() == m.places.tolist()
    assert (back.slots == m.slots).all()
    np.testing.assert_array_equal(back.values, m.values)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"place_id": ["a"]}), "incidents lack columns ['occurred_at']"),
        (
            pd.DataFrame({"occurred_at": pd.to_datetime(["2026-06-01 21:00"]), "place_id": ["a"]}),
            "incidents.occurred_at must be tz-aware",
        ),
    ],
)
def test_counts_refuse_bad_frames(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        hourly_counts(frame)
    assert str(err.value).startswith(message)


def test_empty_incidents_need_a_range() -> None:
    empty = incidents([])
    with pytest.raises(InvalidInputError, match="no incidents: give start and end"):
        hourly_counts(empty)
    m = hourly_count_matrix(empty, start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 2), places=["a"])
    assert m.values.shape == (1, 24) and m.values.sum() == 0


@pytest.mark.parametrize(
    ("year", "day"),
    [
        (2024, dt.date(2024, 6, 21)),
        (2025, dt.date(2025, 6, 20)),
        (2026, dt.date(2026, 6, 19)),
        (2027, dt.date(2027, 6, 25)),
    ],
)
def test_midsummer_eve(year: int, day: dt.date) -> None:
    assert midsummer_eve(year) == day
    assert day.weekday() == 4


def test_payday_moves_to_the_weekday_before() -> None:
    assert payday(2026, 7, 25) == dt.date(2026, 7, 24)  # Saturday -> Friday
    assert payday(2026, 10, 25) == dt.date(2026, 10, 23)  # Sunday -> Friday
    assert payday(2026, 11, 25) == dt.date(2026, 11, 25)


def test_calendar_features_on_known_days() -> None:
    cal = SwedishCalendar()
    days = pd.DatetimeIndex(
        [
            "2026-04-30",
            "2026-06-19",
            "2026-12-31",
            "2026-12-24",
            "2026-03-11",
            end_of_school(2026).isoformat(),
            "2026-07-24",
            "2026-07-25",
            "2026-10-28",
        ]
    )
    f = cal.features(days)
    assert f.loc["2026-04-30", "walpurgis"] == 1
    assert f.loc["2026-06-19", "midsummer_eve"] == 1
    assert f.loc["2026-12-31", "new_years_eve"] == 1
    assert f.loc["2026-12-24", "christmas_eve"] == 1
    assert f.loc[end_of_school(2026).isoformat(), "end_of_school"] == 1
    assert f.loc["2026-07-24", "payday_weekend"] == 1 and f.loc["2026-07-25", "payday_weekend"] == 1
    assert f.loc["2026-10-28", "school_holiday"] == 1  # ISO week 44 (höstlov)
    assert f.loc["2026-03-11"].sum() == 0


def test_activity_day_puts_early_hours_on_the_evening_before() -> None:
    slots = pd.DatetimeIndex(
        [
            pd.Timestamp("2027-01-01 01:00", tz="Europe/Stockholm"),
            pd.Timestamp("2027-01-01 07:00", tz="Europe/Stockholm"),
        ]
    )
    assert activity_day(slots).tolist() == [pd.Timestamp("2026-12-31"), pd.Timestamp("2027-01-01")]


def test_holiday_frame_includes_the_eves() -> None:
    frame = SwedishCalendar().holiday_frame([2026])
    names = set(frame.loc[frame["ds"] == pd.Timestamp("2026-06-19"), "holiday"])
    assert "Midsommarafton" in names
    assert pd.Timestamp("2026-04-30") in set(frame["ds"])
