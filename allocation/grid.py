"""Read the risk grid (the forecast contract) and cut out one week.

Allocation knows the grid's columns, never a model: ``place_id, slot_start (tz-aware),
expected [incidents/h], p_any, lo_80, hi_80, nb_alpha, model, ..., risk_level``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tryggplan.domain import InvalidInputError
from tryggplan.timeutil import local_midnight, parse_iso_week

#: Columns allocation needs from the grid; the others are carried along but unused.
NEEDED_COLUMNS: tuple[str, ...] = ("place_id", "slot_start", "expected")


def read_risk_grid(path: str | Path, tz: str) -> pd.DataFrame:
    """Read a risk grid file (``.csv``, ``.parquet`` or ``.json`` by suffix).

    ``slot_start`` is read as UTC and converted to ``tz``. Returns a new frame with at least
    ``place_id`` (str), ``slot_start`` (tz-aware in ``tz``) and ``expected`` (float >= 0).
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"forecast file {str(path)!r} not found: check the path or run 'tryggplan forecast'")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype={"place_id": str}, encoding="utf-8-sig")
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".json":
            frame = pd.read_json(path, orient="records", dtype={"place_id": str}, convert_dates=False)
        else:
            raise InvalidInputError(f"{path.name}: unknown forecast format {suffix!r}: use .csv, .parquet or .json")
    except InvalidInputError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"{path.name}: cannot read the risk grid ({exc}): write it with 'tryggplan forecast'"
        ) from exc
    return normalise_grid(frame, tz, path.name)


def normalise_grid(grid: pd.DataFrame, tz: str, source: str = "risk grid") -> pd.DataFrame:
    """Check the contract columns and return a copy with typed ``place_id/slot_start/expected``."""
    missing = [c for c in NEEDED_COLUMNS if c not in grid.columns]
    if missing:
        raise InvalidInputError(
            f"{source}: lacks the risk-grid columns {missing}: "
            "give a forecast written by 'tryggplan forecast' (place_id, slot_start, expected, ...)"
        )
    out = grid.copy()
    out["place_id"] = out["place_id"].astype(str)
    if pd.api.types.is_datetime64_any_dtype(out["slot_start"]) and getattr(out["slot_start"].dt, "tz", None) is None:
        raise InvalidInputError(f"{source}: slot_start has no time zone: the grid needs tz-aware slot starts")
    slot = (
        pd.to_datetime(out["slot_start"], utc=True, errors="coerce", format="ISO8601")
        if not pd.api.types.is_datetime64_any_dtype(out["slot_start"])
        else out["slot_start"].dt.tz_convert("UTC")
    )
    if slot.isna().any():
        row = int(np.flatnonzero(slot.isna().to_numpy())[0])
        raise InvalidInputError(
            f"{source}: slot_start {out['slot_start'].iloc[row]!r} (row {row + 2}) is not a "
            "timestamp with offset: write ISO 8601 such as 2026-03-27T21:00:00+01:00"
        )
    out["slot_start"] = slot.dt.tz_convert(tz)
    expected = pd.to_numeric(out["expected"], errors="coerce")
    bad = expected.isna() | ~np.isfinite(expected) | (expected < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidInputError(
            f"{source}: expected {out['expected'].iloc[row]} (row {row + 2}) must be a number >= 0 [incidents/h]"
        )
    out["expected"] = expected.astype(float)
    dup = out.duplicated(["place_id", "slot_start"])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InvalidInputError(
            f"{source}: place {out['place_id'].iloc[row]!r} at {out['slot_start'].iloc[row]} "
            f"appears twice (row {row + 2}): keep one row per place and hour"
        )
    return out


@dataclass(frozen=True)
class WeekRisk:
    """The risk of one ISO week as a matrix over places and UTC hours.

    ``slots`` runs from local Monday 00:00 to the next Monday 06:00 (the night of Sunday
    ends then), one slot per UTC hour; ``n_week`` of them belong to the ISO week itself.
    ``risk[i, j]`` [incidents/h] is the grid's ``expected`` (0 where the grid has no row).
    """

    week: str
    tz: str
    monday: dt.date
    places: tuple[str, ...]
    slots: pd.DatetimeIndex
    n_week: int
    risk: np.ndarray
    covered: np.ndarray  # bool per slot: the grid has rows for this slot

    def slot_index(self, ts: pd.Timestamp) -> int:
        """Index of the slot starting at ``ts`` (may be out of range)."""
        return int((ts.tz_convert("UTC") - self.slots[0].tz_convert("UTC")) // pd.Timedelta(hours=1))


def week_risk(grid: pd.DataFrame, week: str, tz: str) -> WeekRisk:
    """Cut the week ``YYYY-Www`` out of a normalised grid (see :func:`normalise_grid`)."""
    monday = parse_iso_week(week)
    first = local_midnight(monday, tz).tz_convert("UTC")
    week_end = local_midnight(monday + dt.timedelta(days=7), tz).tz_convert("UTC")
    horizon_end = (local_midnight(monday + dt.timedelta(days=7), tz) + pd.Timedelta(hours=6)).tz_convert("UTC")
    slots_utc = pd.date_range(first, horizon_end, freq="h", inclusive="left")
    n_week = int((week_end - first) // pd.Timedelta(hours=1))
    places = tuple(sorted(grid["place_id"].astype(str).unique()))
    risk = np.zeros((len(places), len(slots_utc)))
    covered = np.zeros(len(slots_utc), dtype=bool)
    utc = grid["slot_start"].dt.tz_convert("UTC")
    inside = (utc >= first) & (utc < horizon_end)
    if inside.any():
        sub = grid.loc[inside]
        j = ((utc[inside] - first) // pd.Timedelta(hours=1)).to_numpy().astype(int)
        pidx = {p: i for i, p in enumerate(places)}
        i = sub["place_id"].map(pidx).to_numpy().astype(int)
        risk[i, j] = sub["expected"].to_numpy()
        covered[np.unique(j)] = True
    if not covered[:n_week].any():
        span = (
            f"{grid['slot_start'].min():%Y-%m-%d %H:%M} to {grid['slot_start'].max():%Y-%m-%d %H:%M}"
            if len(grid)
            else "no rows"
        )
        raise InvalidInputError(
            f"the forecast does not cover week {week} (it covers {span}): forecast that week "
            f"with 'tryggplan forecast --start {monday} --days 7' or plan a week it covers"
        )
    return WeekRisk(week, tz, monday, places, slots_utc.tz_convert(tz), n_week, risk, covered)
