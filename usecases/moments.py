"""The dates and times the front ends pass as text, read once for every use case: a query time
(``YYYY-MM-DD`` or ISO 8601), a report's day, and the range of dates tryggplan handles.

Kept apart from the forecasting use cases so that reading a file (``tryggplan import``) does not load the
models to parse a date.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytz

from tryggplan.domain import InvalidInputError
from tryggplan.timeutil import local_midnight

#: The dates forecasts and time filters may name: the time rules (pandas timestamps, the zone
#: database, the Swedish calendar) handle them all, and no history or horizon lies outside.
FIRST_DATE = dt.date(1970, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)


def check_date(day: dt.date, name: str, shown: str | None = None) -> dt.date:
    """``day`` when it lies in :data:`FIRST_DATE`..:data:`LAST_DATE`, else :class:`InvalidInputError`
    (quoting ``shown``, what the caller wrote, or the date)."""
    if not FIRST_DATE <= day <= LAST_DATE:
        raise InvalidInputError(
            f"{name} {(shown or day.isoformat())[:40]!r} is outside the dates tryggplan handles ({FIRST_DATE} to "
            f"{LAST_DATE}): give a date in that range, e.g. today's"
        )
    return day


#: the dates a report may end on: a year and two periods of a year back, and a period ahead, stay
#: within what the time stamps hold (pandas: 1677-2262)
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)


def parse_day(value: str | dt.date, what: str = "to") -> dt.date:
    """A local date ``YYYY-MM-DD`` from :data:`FIRST_DAY` to :data:`LAST_DAY`; :class:`InvalidInputError`
    saying how to write it otherwise."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise InvalidInputError(
                f"{what} {str(value)[:40]!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-29"
            ) from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInputError(f"{what} {day.isoformat()} is out of range: give a date from {FIRST_DAY} to {LAST_DAY}")
    return day


# pandas raises pytz's NonExistentTimeError / AmbiguousTimeError, which are not ValueErrors
_LOCALIZE_ERRORS = (ValueError, TypeError, OverflowError, pytz.NonExistentTimeError, pytz.AmbiguousTimeError)


def parse_time(value: str | None, tz: str, name: str) -> pd.Timestamp | None:
    """A query time: ``YYYY-MM-DD`` (local midnight) or ISO 8601 (local time if no offset)."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return local_midnight(check_date(dt.date.fromisoformat(text), name, value), tz)
        ts = _iso_time(text)
    except (ValueError, TypeError, OverflowError) as exc:  # OutOfBoundsDatetime is a ValueError
        if isinstance(exc, InvalidInputError):
            raise
        _check_iso_date(text, name, value)
        raise InvalidInputError(
            f"{name} {value[:40]!r} is not a date or time: write e.g. 2026-12-07 or 2026-12-07T18:00:00+01:00"
        ) from exc
    check_date(ts.date(), name, value)
    if ts is pd.NaT:
        raise InvalidInputError(f"{name} is empty: write e.g. 2026-12-07")
    if ts.tzinfo is None:
        try:
            ts = ts.tz_localize(tz, nonexistent="raise", ambiguous="raise")
        except _LOCALIZE_ERRORS as exc:
            raise InvalidInputError(
                f"{name} {value[:40]!r} does not exist or is ambiguous in {tz}: add the offset, e.g. +02:00"
            ) from exc
    return ts


def _iso_time(text: str) -> pd.Timestamp:
    """An ISO time read by the standard library (fast: every dashboard window names two), else by pandas
    (the other forms it reads)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return pd.Timestamp(text)
    if not FIRST_DATE <= moment.date() <= LAST_DATE:
        raise ValueError("outside the dates tryggplan handles")
    return pd.Timestamp(moment)


def _check_iso_date(text: str, name: str, shown: str) -> None:
    """Say "outside the dates tryggplan handles" for an ISO time pandas cannot hold (year 9999)."""
    try:
        day = dt.datetime.fromisoformat(text).date()
    except ValueError:
        return
    check_date(day, name, shown)
