"""Views derived from the risk grid: high-risk windows, hour-of-week heatmap, per-night totals.

Everything here reads the risk grid contract only (DESIGN.md): any model's output, or a
grid file written by ``tryggplan forecast``, works the same.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from tryggplan.domain import DEFAULT_TZ, RISK_GRID_COLUMNS, InvalidInputError
from tryggplan.timeutil import night_of

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def check_grid(grid: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Validate a risk grid and return a copy with ``slot_start`` tz-aware in ``tz``.

    Raises :class:`InvalidInputError` naming the missing columns or bad values.
    """
    need = {"place_id", "slot_start", "expected"}
    missing = sorted(need - set(grid.columns))
    if missing:
        raise InvalidInputError(
            f"risk grid lacks columns {missing}: expected the forecast contract "
            f"({', '.join(RISK_GRID_COLUMNS)}), e.g. the output of `tryggplan forecast`"
        )
    out = grid.copy()
    slot = out["slot_start"]
    if not isinstance(slot.dtype, pd.DatetimeTZDtype):
        slot = pd.to_datetime(slot.astype(str), utc=True, format="ISO8601", errors="coerce")
        if slot.isna().any():
            row = int(np.flatnonzero(slot.isna().to_numpy())[0])
            raise InvalidInputError(
                f"risk grid row {row + 1}: slot_start {grid['slot_start'].iloc[row]!r} is not a timestamp "
                "with an offset, e.g. 2026-12-04T21:00:00+01:00"
            )
    out["slot_start"] = slot.dt.tz_convert(tz)
    expected = pd.to_numeric(out["expected"], errors="coerce")
    if expected.isna().any() or (expected < 0).any():
        raise InvalidInputError("risk grid: expected must be a number >= 0 in every row")
    out["expected"] = expected.astype(float)
    out["place_id"] = out["place_id"].astype(str)
    return out


def high_risk_windows(
    grid: pd.DataFrame,
    levels: Collection[str] = ("high",),
    tz: str = DEFAULT_TZ,
    place_names: dict[str, str] | None = None,
    max_gap_hours: int = 0,
) -> pd.DataFrame:
    """Merge neighbouring high-risk hours per place into windows.

    Returns one row per window: ``place_id, name, start, end, hours, expected`` (sum over the
    window [incidents]), ``peak`` (largest hourly expected count [incidents/h]), ``night`` (the
    date the night belongs to) and ``label`` such as ``"Torget, Fri 21:00–02:00, 0.9 expected"``,
    sorted by expected count, largest first.

    Parameters
    ----------
    levels : risk levels that count as high risk (column ``risk_level``)
    max_gap_hours : join windows separated by at most this many normal hours
    """
    g = check_grid(grid, tz)
    if "risk_level" not in g.columns:
        raise InvalidInputError("risk grid lacks risk_level: re-run `tryggplan forecast` to get it")
    hot = g[g["risk_level"].isin(list(levels))].sort_values(["place_id", "slot_start"])
    columns = ["place_id", "name", "start", "end", "hours", "expected", "peak", "night", "label"]
    if hot.empty:
        return pd.DataFrame(columns=columns)
    step = pd.Timedelta(hours=1 + max_gap_hours)
    starts = hot["slot_start"]
    new_window = (hot["place_id"] != hot["place_id"].shift()) | (starts - starts.shift() > step)
    hot = hot.assign(window=new_window.cumsum())
    agg = hot.groupby("window").agg(
        place_id=("place_id", "first"),
        start=("slot_start", "min"),
        last=("slot_start", "max"),
        hours=("slot_start", "size"),
        expected=("expected", "sum"),
        peak=("expected", "max"),
    )
    agg["end"] = agg["last"] + pd.Timedelta(hours=1)
    names = place_names or {}
    agg["name"] = agg["place_id"].map(lambda p: names.get(p, p))
    agg["night"] = [night_of(s, tz) for s in agg["start"]]
    agg["label"] = [
        f"{n}, {_span(s, e)}, {x:.1f} expected"
        for n, s, e, x in zip(agg["name"], agg["start"], agg["end"], agg["expected"], strict=True)
    ]
    out = agg[columns].sort_values("expected", ascending=False, kind="stable").reset_index(drop=True)
    return out


def _span(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """``Fri 21:00–02:00``, or with the end's weekday when the window runs past the next morning."""
    text = f"{_DAY_NAMES[start.dayofweek]} {start:%H:%M}–"
    if end - start > pd.Timedelta(hours=18):
        text += f"{_DAY_NAMES[end.dayofweek]} "
    return text + f"{end:%H:%M}"


def hour_of_week_heatmap(grid: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Mean expected count [incidents/h] summed over places, by local weekday (rows) and hour (columns)."""
    g = check_grid(grid, tz)
    total = g.groupby("slot_start", sort=True)["expected"].sum()
    idx = pd.DatetimeIndex(total.index)
    frame = pd.DataFrame({"day": idx.dayofweek, "hour": idx.hour, "expected": total.to_numpy()})
    table = frame.pivot_table(index="day", columns="hour", values="expected", aggfunc="mean")
    table = table.reindex(index=range(7), columns=range(24))
    table.index = [_DAY_NAMES[d] for d in table.index]
    return table


def per_night(grid: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Expected incidents per place and night (18:00-06:00, dated by its start) [incidents]."""
    g = check_grid(grid, tz)
    hours = g["slot_start"].dt.hour
    nights = g[(hours >= 18) | (hours < 6)]
    night = night_of(pd.DatetimeIndex(nights["slot_start"]), tz)
    out = nights.assign(night=night).groupby(["place_id", "night"], as_index=False)["expected"].sum()
    return out.sort_values(["night", "expected"], ascending=[True, False]).reset_index(drop=True)
