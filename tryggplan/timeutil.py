"""Time rules (docs/architecture.md, "Time rules").

* Store UTC; show and bin in a local zone (default Europe/Stockholm).
* Local hourly slots: a local day has 23, 24 or 25 of them. Slots are the UTC hours,
  labelled in local time, so none is missing or doubled across a DST change.
* A night belongs to the date it starts on: the night of Friday runs Friday 18:00 to
  Saturday 06:00 local time.
* Weeks are ISO weeks (Monday-Sunday), written ``YYYY-Www``.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from tryggplan.domain import DEFAULT_TZ, InvalidInputError

NIGHT_START_HOUR = 18
NIGHT_END_HOUR = 6
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def check_tz(tz: str) -> str:
    """Return ``tz`` if it names an IANA time zone, else raise with a hint."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(
            f"unknown time zone {tz!r}: use an IANA name such as 'Europe/Stockholm' or 'America/Vancouver'"
        ) from exc
    return tz


def local_midnight(day: dt.date, tz: str = DEFAULT_TZ) -> pd.Timestamp:
    """The first instant of local ``day`` (tz-aware)."""
    return pd.Timestamp(day).tz_localize(tz, nonexistent="shift_forward", ambiguous=True)


def local_slots(start: dt.date, days: int, tz: str = DEFAULT_TZ) -> pd.DatetimeIndex:
    """Hourly slot starts covering local days ``[start, start + days)``.

    Returns a tz-aware index in ``tz``: 24 slots a normal day, 23 on the spring-forward
    day and 25 on the fall-back day.
    """
    if days < 1:
        raise InvalidInputError(f"days must be at least 1, got {days}")
    first = local_midnight(start, tz).tz_convert("UTC")
    end = local_midnight(start + dt.timedelta(days=days), tz).tz_convert("UTC")
    return pd.date_range(first, end, freq="h", inclusive="left").tz_convert(tz)


def hour_of_week(slots: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Local hour of week, 0 = Monday 00:00 ... 167 = Sunday 23:00 (slots must be tz-aware, local)."""
    idx = pd.DatetimeIndex(slots)
    return (idx.dayofweek.to_numpy() * 24 + idx.hour.to_numpy()).astype(np.int16)


def night_of(ts: pd.Timestamp | pd.DatetimeIndex, tz: str = DEFAULT_TZ) -> dt.date | np.ndarray:
    """The date a local night starts on (the night of Friday includes Saturday 02:00).

    Times outside 18:00-06:00 still map to the date of the calendar day they fall on after
    subtracting six hours, so callers that need "is this a night hour" use :func:`is_night`.
    """
    if isinstance(ts, pd.Timestamp):
        local = ts.tz_convert(tz) if ts.tzinfo else ts.tz_localize(tz)
        return (local - pd.Timedelta(hours=NIGHT_END_HOUR)).date()
    local_idx = pd.DatetimeIndex(ts).tz_convert(tz)
    return np.asarray((local_idx - pd.Timedelta(hours=NIGHT_END_HOUR)).date)


def is_night(ts: pd.DatetimeIndex, tz: str = DEFAULT_TZ) -> np.ndarray:
    """True for local hours from 18:00 to 06:00."""
    hours = pd.DatetimeIndex(ts).tz_convert(tz).hour.to_numpy()
    return (hours >= NIGHT_START_HOUR) | (hours < NIGHT_END_HOUR)


def parse_iso_week(week: str) -> dt.date:
    """The Monday of an ISO week written ``YYYY-Www`` (e.g. ``2026-W49``)."""
    m = _ISO_WEEK.match(week.strip()) if isinstance(week, str) else None
    if not m:
        raise InvalidInputError(f"week {week!r} is not an ISO week: write it as YYYY-Www, e.g. 2026-W49")
    year, num = int(m.group(1)), int(m.group(2))
    if not 1678 <= year <= 2261:  # the range of pandas' nanosecond timestamps, with a margin
        raise InvalidInputError(f"week {week!r} is out of range: the year must be between 1678 and 2261")
    try:
        return dt.date.fromisocalendar(year, num, 1)
    except ValueError as exc:
        raise InvalidInputError(
            f"week {week!r} does not exist: {year} has {dt.date(year, 12, 28).isocalendar()[1]} ISO weeks"
        ) from exc


def iso_week_of(day: dt.date) -> str:
    """``YYYY-Www`` for the ISO week containing ``day``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_slots(week: str, tz: str = DEFAULT_TZ) -> pd.DatetimeIndex:
    """Local hourly slots of an ISO week (Monday 00:00 to the next Monday 00:00)."""
    return local_slots(parse_iso_week(week), 7, tz)


def to_utc(values: pd.Series, tz: str = DEFAULT_TZ) -> tuple[pd.Series, pd.Series]:
    """Parse timestamps to UTC under the time rules.

    Strings with an explicit offset (``2025-08-15T21:10:00+02:00``, ``...Z``) are taken as
    they are. Strings without one are local wall time in ``tz``; a local time that does not
    exist (spring forward) or that is ambiguous (fall back) is refused.

    Returns ``(utc, reason)``: ``utc`` is NaT where the value is refused and ``reason`` says
    why (empty string where accepted).
    """
    text = values.astype("string").str.strip()
    # Swedish clocks are often written with a dot (21.10): accept it in the time part only
    text = text.str.replace(r"^(\d{4}-\d{2}-\d{2}[T ]\d{1,2})\.(\d{2})(?:\.(\d{2}))?", _dot_time, regex=True)
    reason = pd.Series("", index=values.index, dtype="object")
    utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    empty = text.isna() | (text == "")
    reason[empty] = "empty timestamp"
    has_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True, na=False) & text.str.contains(
        r"\d[T ]\d", regex=True, na=False
    )
    with_offset = ~empty & has_offset
    if with_offset.any():
        parsed = pd.to_datetime(text[with_offset], utc=True, errors="coerce", format="ISO8601")
        bad = parsed.isna()
        utc[with_offset] = parsed
        reason[bad[bad].index] = "not a timestamp"
    naive = ~empty & ~has_offset
    if naive.any():
        # only unambiguous layouts: an ISO date and a clock time (no bare dates, no words such as
        # 'now', no day/month orders that differ between countries)
        layout = text[naive].str.fullmatch(_NAIVE_LAYOUT, na=False)
        parsed = pd.Series(pd.NaT, index=text[naive].index, dtype="datetime64[ns]")
        if layout.any():
            parsed[layout] = pd.to_datetime(text[naive][layout], errors="coerce", format="ISO8601")
        unparsed = parsed.isna()
        reason[unparsed[unparsed].index] = "not a timestamp"
        ok = parsed.dropna()
        if len(ok):
            local = ok.dt.tz_localize(tz, nonexistent="NaT", ambiguous="NaT")
            nonexistent = local.isna() & ok.dt.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT").notna()
            ambiguous = local.isna() & ~nonexistent
            reason[nonexistent[nonexistent].index] = "nonexistent local time (clocks spring forward)"
            reason[ambiguous[ambiguous].index] = "ambiguous local time (clocks fall back)"
            utc[local.index] = local.dt.tz_convert("UTC")
    return utc, reason


_NAIVE_LAYOUT = r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"


def _dot_time(m: re.Match[str]) -> str:
    return f"{m.group(1)}:{m.group(2)}" + (f":{m.group(3)}" if m.group(3) else "")
