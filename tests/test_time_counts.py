"""Hourly counts (zero-filled, DST-proof) and the Swedish calendar features."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tryggplan.calendar import SwedishCalendar, activity_day, end_of_school, midsummer_eve, payday
from tryggplan.counts import (
    DEFAULT_CATEGORY_GROUPS,
    CountMatrix,
    category_group,
    hourly_count_matrix,
    hourly_counts,
    select_categories,
)
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


def categorised() -> pd.DataFrame:
    """Five incidents on 1 June 2026: two places in Kungsör, one in Köping, four categories."""
    frame = incidents(
        [
            ("2026-06-01T21:10:00+02:00", "torget", 1.0),
            ("2026-06-01T21:20:00+02:00", "torget", 2.0),
            ("2026-06-01T22:05:00+02:00", "parken", 0.5),
            ("2026-06-01T22:15:00+02:00", "parken", 1.0),
            ("2026-06-01T23:30:00+02:00", "hamnen", 3.0),
        ]
    )
    frame["category"] = ["vandalism", "assault", " Disorder", "theft", "disorder"]
    return frame


TOWN_OF = {"torget": "Kungsör", "parken": "Kungsör", "hamnen": "Köping"}
DAY = {"start": dt.date(2026, 6, 1), "end": dt.date(2026, 6, 2), "places": ["torget", "parken", "hamnen"]}


@pytest.mark.parametrize(
    ("categories", "weighted", "want"),
    [
        (None, False, {"torget": 2.0, "parken": 2.0, "hamnen": 1.0}),
        (None, True, {"torget": 3.0, "parken": 1.5, "hamnen": 3.0}),
        (["disorder", "vandalism"], False, {"torget": 1.0, "parken": 1.0, "hamnen": 1.0}),
        (["disorder", "vandalism"], True, {"torget": 1.0, "parken": 0.5, "hamnen": 3.0}),
        (["DISORDER"], True, {"torget": 0.0, "parken": 0.5, "hamnen": 3.0}),
        ({"Kungsör": ["assault"], "Köping": None}, True, {"torget": 2.0, "parken": 0.0, "hamnen": 3.0}),
        ({"Kungsör": None, "Köping": ["theft"]}, False, {"torget": 2.0, "parken": 2.0, "hamnen": 0.0}),
    ],
)
def test_counts_by_category_and_weight(categories, weighted: bool, want: dict[str, float]) -> None:
    counts = hourly_count_matrix(
        categorised(), weighted=weighted, categories=categories, municipality_of=TOWN_OF, **DAY
    )
    assert dict(zip(counts.places, counts.values.sum(axis=1), strict=True)) == want
    # each place's incidents stay in their local hour: torget 21:00, parken 22:00, hamnen 23:00
    hours = {p: set(np.flatnonzero(row)) for p, row in zip(counts.places, counts.values, strict=True)}
    assert all(hours[p] <= {h} for p, h in (("torget", 21), ("parken", 22), ("hamnen", 23)))


def test_category_groups() -> None:
    assert category_group("ordning_och_skadegorelse") == ("disorder", "vandalism")
    assert set(DEFAULT_CATEGORY_GROUPS) == {"nattvandring", "ordning_och_skadegorelse", "bevakning"}
    own = {"kvällar": ["Vandalism", "drugs"]}
    assert category_group("kvällar", own) == ("vandalism", "drugs")
    counts = hourly_count_matrix(categorised(), categories=category_group("nattvandring"), **DAY)
    assert counts.values.sum() == 4.0  # theft is not what a night walk changes


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: category_group("natt"), "unknown category group 'natt': choose one of bevakning, nattvandring,"),
        (lambda f: category_group("x", {"x": []}), "category group 'x' is empty"),
        (lambda f: select_categories(f, "vandalism"), r"is a single string: give a list, e.g. \['vandalism'\]"),
        (lambda f: select_categories(f, {"Kungsör": None}), "categories per municipality need municipality_of"),
        (lambda f: select_categories(f, {"Kungsör": None}, TOWN_OF), "no entry for municipality 'Köping'"),
        (lambda f: select_categories(f, {"Kungsör": None}, {"torget": "Kungsör"}), "place 'parken' has no munic"),
        (lambda f: select_categories(f.drop(columns="category"), ["theft"]), "incidents lack a category column"),
        (lambda f: hourly_count_matrix(f.drop(columns="weight"), weighted=True), "weighted counts need a weight"),
        (lambda f: hourly_count_matrix(f.assign(weight=-1.0), weighted=True), "weights must be finite numbers >= 0"),
        (lambda f: hourly_count_matrix(f, categories=["fire"]), "no incidents of the selected categories: give start"),
    ],
)
def test_category_and_weight_mistakes_are_named(call, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call(categorised())


def test_select_categories_leaves_the_callers_frame_alone() -> None:
    frame = categorised()
    before = frame.copy()
    kept = select_categories(frame, ["theft"])
    pd.testing.assert_frame_equal(frame, before)
    assert kept["place_id"].tolist() == ["parken"] and kept.index.tolist() == [0]


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
