"""Time rules (docs/architecture.md, "Time rules"): local slots across DST, nights, ISO weeks, parsing to UTC."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tryggplan.domain import InvalidInputError
from tryggplan.timeutil import (
    check_tz,
    hour_of_week,
    is_night,
    iso_week_of,
    local_midnight,
    local_slots,
    night_of,
    parse_iso_week,
    to_utc,
    week_slots,
)


@pytest.mark.parametrize(
    ("day", "tz", "n_slots"),
    [
        (dt.date(2026, 3, 29), "Europe/Stockholm", 23),  # spring forward
        (dt.date(2026, 10, 25), "Europe/Stockholm", 25),  # fall back
        (dt.date(2026, 6, 19), "Europe/Stockholm", 24),
        (dt.date(2018, 11, 4), "America/Vancouver", 25),
        (dt.date(2018, 3, 11), "America/Vancouver", 23),
    ],
)
def test_local_day_has_23_24_or_25_slots(day: dt.date, tz: str, n_slots: int) -> None:
    slots = local_slots(day, 1, tz)
    assert len(slots) == n_slots
    assert str(slots.tz) == tz
    assert slots[0] == local_midnight(day, tz)
    assert (np.diff(slots.tz_convert("UTC").asi8) == 3_600_000_000_000).all()


def test_fall_back_day_labels_the_doubled_hour_twice() -> None:
    slots = local_slots(dt.date(2026, 10, 25), 1, "Europe/Stockholm")
    labels = [t.strftime("%H:%M%z") for t in slots[:5]]
    assert labels == ["00:00+0200", "01:00+0200", "02:00+0200", "02:00+0100", "03:00+0100"]


def test_spring_forward_day_skips_two_oclock() -> None:
    slots = local_slots(dt.date(2026, 3, 29), 1, "Europe/Stockholm")
    assert [t.hour for t in slots[:4]] == [0, 1, 3, 4]


def test_local_slots_refuses_zero_days() -> None:
    with pytest.raises(InvalidInputError, match="days must be at least 1, got 0"):
        local_slots(dt.date(2026, 1, 1), 0)


@pytest.mark.parametrize(
    ("local", "night"),
    [
        ("2026-12-04 18:00", dt.date(2026, 12, 4)),  # Friday evening -> night of Friday
        ("2026-12-05 02:00", dt.date(2026, 12, 4)),  # Saturday 02:00 still the night of Friday
        ("2026-12-05 05:59", dt.date(2026, 12, 4)),
        ("2026-12-05 06:00", dt.date(2026, 12, 5)),
        ("2026-12-05 23:30", dt.date(2026, 12, 5)),
        ("2027-01-01 01:00", dt.date(2026, 12, 31)),  # New Year's night belongs to New Year's Eve
    ],
)
def test_night_belongs_to_the_date_it_starts_on(local: str, night: dt.date) -> None:
    ts = pd.Timestamp(local, tz="Europe/Stockholm")
    assert night_of(ts) == night
    assert night_of(pd.DatetimeIndex([ts]))[0] == night


def test_is_night_is_18_to_06_local() -> None:
    idx = local_slots(dt.date(2026, 12, 4), 1)
    expected = [h >= 18 or h < 6 for h in range(24)]
    assert is_night(idx).tolist() == expected


def test_hour_of_week_monday_midnight_is_zero() -> None:
    idx = pd.DatetimeIndex(
        [
            pd.Timestamp("2026-12-07 00:00", tz="Europe/Stockholm"),
            pd.Timestamp("2026-12-11 22:00", tz="Europe/Stockholm"),
            pd.Timestamp("2026-12-13 23:00", tz="Europe/Stockholm"),
        ]
    )
    assert hour_of_week(idx).tolist() == [0, 4 * 24 + 22, 167]


@pytest.mark.parametrize(
    ("week", "monday"),
    [
        ("2026-W49", dt.date(2026, 11, 30)),
        ("2026-W01", dt.date(2025, 12, 29)),  # ISO week 1 starts in the previous calendar year
        ("2026-W53", dt.date(2026, 12, 28)),  # 2026 has 53 ISO weeks
        ("2020-W53", dt.date(2020, 12, 28)),
        (" 2025-W10 ", dt.date(2025, 3, 3)),
    ],
)
def test_parse_iso_week(week: str, monday: dt.date) -> None:
    assert parse_iso_week(week) == monday
    assert iso_week_of(monday) == week.strip()


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2025-W53", "week '2025-W53' does not exist: 2025 has 52 ISO weeks"),
        ("2026-W00", "week '2026-W00' does not exist: 2026 has 53 ISO weeks"),
        ("2026-49", "week '2026-49' is not an ISO week: write it as YYYY-Www, e.g. 2026-W49"),
        ("vecka 49", "week 'vecka 49' is not an ISO week: write it as YYYY-Www, e.g. 2026-W49"),
        ("2026-W4", "week '2026-W4' is not an ISO week: write it as YYYY-Www, e.g. 2026-W49"),
        ("", "week '' is not an ISO week: write it as YYYY-Www, e.g. 2026-W49"),
    ],
)
def test_invalid_week_strings(week: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_iso_week(week)
    assert str(err.value) == message


def test_week_slots_across_dst() -> None:
    assert len(week_slots("2026-W13")) == 167  # contains 29 March 2026
    assert len(week_slots("2026-W43")) == 169  # contains 25 October 2026
    assert len(week_slots("2026-W49")) == 168
    assert week_slots("2026-W49")[0] == pd.Timestamp("2026-11-30 00:00", tz="Europe/Stockholm")


def test_check_tz() -> None:
    assert check_tz("America/Vancouver") == "America/Vancouver"
    with pytest.raises(InvalidInputError, match="unknown time zone 'Europe/Arboga'"):
        check_tz("Europe/Arboga")


@pytest.mark.parametrize(
    ("text", "utc", "reason"),
    [
        ("2025-08-15T21:10:00+02:00", "2025-08-15 19:10", ""),
        ("2025-08-15T19:10:00Z", "2025-08-15 19:10", ""),
        ("2025-08-15 21:10", "2025-08-15 19:10", ""),  # naive = Stockholm local time
        ("2025-08-15T21:10", "2025-08-15 19:10", ""),
        ("2025-08-15 21.10", "2025-08-15 19:10", ""),  # Swedish clock with a dot
        ("2025-08-15 9:05", "2025-08-15 07:05", ""),
        ("2025-01-15 21:10:30", "2025-01-15 20:10:30", ""),
        ("2026-10-25T02:45:00+01:00", "2026-10-25 01:45", ""),  # ambiguous but with offset: fine
        ("2026-03-29 02:15", None, "nonexistent local time (clocks spring forward)"),
        ("2026-10-25 02:45", None, "ambiguous local time (clocks fall back)"),
        ("2025-02-30 24:61", None, "not a timestamp"),
        ("2025-08-15", None, "not a timestamp"),  # a date is not an hour
        ("15/08/2025 21:10", None, "not a timestamp"),  # day/month order differs by country
        ("now", None, "not a timestamp"),
        ("today", None, "not a timestamp"),
        ("", None, "empty timestamp"),
    ],
)
def test_to_utc(text: str, utc: str | None, reason: str) -> None:
    parsed, why = to_utc(pd.Series([text]))
    assert why.iloc[0] == reason
    if utc is None:
        assert pd.isna(parsed.iloc[0])
    else:
        assert parsed.iloc[0] == pd.Timestamp(utc, tz="UTC")


def test_to_utc_other_zone_and_index_kept() -> None:
    values = pd.Series(["2018-11-04 01:30", "2018-07-01 12:00"], index=[10, 20])
    parsed, why = to_utc(values, "America/Vancouver")
    assert why.tolist() == ["ambiguous local time (clocks fall back)", ""]
    assert parsed.index.tolist() == [10, 20]
    assert parsed.loc[20] == pd.Timestamp("2018-07-01 19:00", tz="UTC")
