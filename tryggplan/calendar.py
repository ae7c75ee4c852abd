"""The Swedish calendar effects that matter for crime at night (docs/architecture.md, "Time rules").

Features are per *activity day*: the local date a night starts on, so the hours after
midnight of New Year's Eve count towards 31 December. ``holidays.SE`` keeps the eves
(Walpurgis, Midsummer Eve, Christmas Eve, New Year's Eve) in its ``de_facto`` category,
which Prophet's ``add_country_holidays`` leaves out; they are added here by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import holidays
import numpy as np
import pandas as pd

from tryggplan.domain import DEFAULT_TZ

#: Default school holidays as ISO weeks (vary by municipality: configure them).
#: Sportlov is week 7-10 depending on the region; höstlov is week 44 almost everywhere.
DEFAULT_SCHOOL_HOLIDAY_WEEKS: tuple[int, ...] = (8, 44)

#: Calendar feature names, each a 0/1 column per activity day.
CALENDAR_FEATURES: tuple[str, ...] = (
    "walpurgis",
    "end_of_school",
    "midsummer_eve",
    "christmas_eve",
    "new_years_eve",
    "public_holiday_eve",
    "payday_weekend",
    "school_holiday",
    "summer_break",
)


def midsummer_eve(year: int) -> dt.date:
    """Midsummer Eve: the Friday between 19 and 25 June."""
    d = dt.date(year, 6, 19)
    return d + dt.timedelta(days=(4 - d.weekday()) % 7)


def end_of_school(year: int) -> dt.date:
    """Default end of the school year: the Friday between 10 and 16 June (skolavslutning)."""
    d = dt.date(year, 6, 10)
    return d + dt.timedelta(days=(4 - d.weekday()) % 7)


def payday(year: int, month: int, day_of_month: int = 25) -> dt.date:
    """Swedish salary day: the 25th, or the weekday before it when it falls on a weekend."""
    d = dt.date(year, month, day_of_month)
    while d.weekday() >= 5:
        d -= dt.timedelta(days=1)
    return d


@dataclass(frozen=True)
class SwedishCalendar:
    """Calendar configuration of one municipality.

    Parameters
    ----------
    tz : local time zone
    school_holiday_weeks : ISO weeks of sportlov/höstlov etc. for this municipality
    school_holidays : extra explicit holiday date ranges ``(first, last)``, inclusive
    end_of_school_dates : override the default end of school per year
    payday_day : day of month salaries are paid (25 in Sweden)
    """

    tz: str = DEFAULT_TZ
    school_holiday_weeks: tuple[int, ...] = DEFAULT_SCHOOL_HOLIDAY_WEEKS
    school_holidays: tuple[tuple[dt.date, dt.date], ...] = ()
    end_of_school_dates: dict[int, dt.date] = field(default_factory=dict)
    payday_day: int = 25

    def end_of_school(self, year: int) -> dt.date:
        return self.end_of_school_dates.get(year, end_of_school(year))

    def features(self, days: Iterable[dt.date] | pd.DatetimeIndex) -> pd.DataFrame:
        """0/1 calendar features indexed by activity day (see :data:`CALENDAR_FEATURES`)."""
        index = pd.DatetimeIndex(pd.to_datetime(list(days) if not isinstance(days, pd.DatetimeIndex) else days))
        index = index.tz_localize(None) if index.tz is not None else index
        index = index.normalize()
        dates = index.date
        years = sorted({d.year for d in dates}) or [dt.date.today().year]
        se = holidays.country_holidays("SE", years=years, categories=("public",))
        eve_of_holiday = {d - dt.timedelta(days=1) for d in se}
        ends = {y: self.end_of_school(y) for y in years}
        mids = {y: midsummer_eve(y) for y in years}
        paydays = {payday(y, m, self.payday_day) for y in years for m in range(1, 13)}
        # the payday itself and the Friday/Saturday nights of the three days after it
        payday_nights = {
            p + dt.timedelta(days=k)
            for p in paydays
            for k in range(4)
            if k == 0 or (p + dt.timedelta(days=k)).weekday() in (4, 5)
        }
        explicit = [(a, b) for a, b in self.school_holidays]
        rows = []
        for d in dates:
            week = d.isocalendar()[1]
            rows.append(
                (
                    d.month == 4 and d.day == 30,
                    d == ends[d.year],
                    d == mids[d.year],
                    d.month == 12 and d.day == 24,
                    d.month == 12 and d.day == 31,
                    d in eve_of_holiday and d.weekday() < 4,
                    d in payday_nights,
                    week in self.school_holiday_weeks or any(a <= d <= b for a, b in explicit),
                    ends[d.year] < d <= dt.date(d.year, 8, 17),
                )
            )
        arr = np.asarray(rows, dtype=float).reshape(len(dates), len(CALENDAR_FEATURES))
        return pd.DataFrame(arr, index=index, columns=list(CALENDAR_FEATURES))

    def holiday_frame(self, years: Sequence[int]) -> pd.DataFrame:
        """Prophet-style holidays frame (``ds``, ``holiday``) with the eves included."""
        rows: list[tuple[dt.date, str]] = []
        se = holidays.country_holidays("SE", years=list(years), categories=("public",))
        rows += [(d, str(name)) for d, name in se.items()]
        for y in years:
            rows += [
                (dt.date(y, 4, 30), "Valborgsmässoafton"),
                (midsummer_eve(y), "Midsommarafton"),
                (dt.date(y, 12, 24), "Julafton"),
                (dt.date(y, 12, 31), "Nyårsafton"),
                (self.end_of_school(y), "Skolavslutning"),
            ]
        frame = pd.DataFrame(rows, columns=["ds", "holiday"]).drop_duplicates()
        frame["ds"] = pd.to_datetime(frame["ds"])
        return frame.sort_values("ds").reset_index(drop=True)


def activity_day(slots: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Local date each slot's night belongs to (slot minus six hours, as a naive midnight)."""
    local = pd.DatetimeIndex(slots)
    return (local - pd.Timedelta(hours=6)).tz_localize(None).normalize()
