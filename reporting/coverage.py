"""Covered place-hours, incident hours and forecast cells: the common ground of the situation
picture and the walk evaluation.

A *place-hour* is a place and a UTC hour (``slot_start`` of the risk grid, labelled in local time
elsewhere). A shift (a night walk or a guard block, as in ``plan.json``: ``kind``, ``place_ids``,
``start`` and ``end`` or ``hours``, ISO 8601 with offsets) covers every place-hour of its places
that overlaps ``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.domain import InvalidInputError

#: Shift kinds of plan.json.
SHIFT_KINDS: tuple[str, ...] = ("night_walk", "guard")


def parse_shift(shift: Mapping[str, Any], where: str) -> tuple[str, list[str], pd.Timestamp, pd.Timestamp]:
    """``(kind, place_ids, start, end)`` of one shift, start/end in UTC; a clear error otherwise."""
    kind = str(shift.get("kind", "night_walk"))
    if kind not in SHIFT_KINDS:
        raise InvalidInputError(f"{where}: kind {kind!r} is not one of {list(SHIFT_KINDS)}")
    places = shift.get("place_ids")
    if isinstance(places, str) or not isinstance(places, Sequence) or not places:
        raise InvalidInputError(f"{where}: needs place_ids, a non-empty list of place ids")
    if shift.get("end") is None and shift.get("hours") is None:
        raise InvalidInputError(f"{where}: needs an end or hours (the shift's length [h])")
    try:
        start = pd.Timestamp(shift["start"])
        end = pd.Timestamp(shift["end"]) if shift.get("end") is not None else start + pd.Timedelta(hours=shift["hours"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{where}: needs start and end (or hours) as ISO 8601 times with offsets, e.g. "
            f"2026-12-04T20:00:00+01:00 ({exc})"
        ) from exc
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError(f"{where}: start and end need an offset, e.g. 2026-12-04T20:00:00+01:00")
    if end <= start:
        raise InvalidInputError(f"{where}: end {end.isoformat()} is not after start {start.isoformat()}")
    return kind, [str(p) for p in places], start.tz_convert("UTC"), end.tz_convert("UTC")


def shift_cells(shifts: Sequence[Mapping[str, Any]], source: str = "shifts") -> pd.DataFrame:
    """One row per shift and covered place-hour: ``shift, kind, place_id, hour`` (UTC hour start).

    A shift covers the hours that overlap ``[start, end)``: 20:30-23:00 covers 20:00, 21:00 and 22:00.
    """
    rows: list[tuple[int, str, str, pd.Timestamp]] = []
    for k, shift in enumerate(shifts):
        kind, places, start, end = parse_shift(shift, f"{source}[{k}]")
        hours = pd.date_range(start.floor("h"), end.ceil("h"), freq="h", inclusive="left")
        rows.extend((k, kind, p, h) for p in places for h in hours)
    frame = pd.DataFrame(rows, columns=["shift", "kind", "place_id", "hour"])
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    return frame


def incident_times(incidents: pd.DataFrame, source: str = "incidents") -> pd.Series:
    """``occurred_at`` as UTC timestamps. Naive values are read as UTC (the canonical frame stores
    UTC); text that is not a time is an error naming the first such row."""
    for column in ("occurred_at", "place_id"):
        if column not in incidents.columns:
            raise InvalidInputError(f"{source}: lacks the column {column!r} (the canonical incident frame)")
    raw = incidents["occurred_at"]
    if pd.api.types.is_datetime64_any_dtype(raw):
        out = raw.dt.tz_localize("UTC") if raw.dt.tz is None else raw.dt.tz_convert("UTC")
    else:
        out = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
    bad = out.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidInputError(
            f"{source}: occurred_at {raw.iloc[row]!r} (row {row + 1}) is not a time: give ISO 8601 with an offset"
        )
    return out


def grid_expected(grids: pd.DataFrame | Sequence[pd.DataFrame], source: str = "forecast") -> pd.Series:
    """Expected counts [incidents/h] of one or more risk grids, indexed by ``(place_id, UTC hour)``.

    Where grids overlap, the first grid given that covers a place-hour is used (pass the forecasts
    in the order they were used to plan).
    """
    frames = [grids] if isinstance(grids, pd.DataFrame) else list(grids)
    parts: list[pd.Series] = []
    for k, grid in enumerate(frames):
        name = source if len(frames) == 1 else f"{source}[{k}]"
        missing = [c for c in ("place_id", "slot_start", "expected") if c not in grid.columns]
        if missing:
            raise InvalidInputError(f"{name}: lacks the risk-grid columns {missing} (place_id, slot_start, expected)")
        slot = grid["slot_start"]
        if pd.api.types.is_datetime64_any_dtype(slot):
            if slot.dt.tz is None:
                raise InvalidInputError(f"{name}: slot_start has no time zone: the grid needs tz-aware slot starts")
            utc = slot.dt.tz_convert("UTC")
        else:
            utc = pd.to_datetime(slot, utc=True, errors="coerce", format="ISO8601")
        expected = pd.to_numeric(grid["expected"], errors="coerce")
        bad = utc.isna() | expected.isna() | ~np.isfinite(expected) | (expected < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InvalidInputError(
                f"{name}: row {row + 1} needs a slot_start with offset and an expected count >= 0 [incidents/h], "
                f"got {grid['slot_start'].iloc[row]!r} and {grid['expected'].iloc[row]!r}"
            )
        index = pd.MultiIndex.from_arrays([grid["place_id"].astype(str).to_numpy(), utc], names=["place_id", "hour"])
        part = pd.Series(expected.astype(float).to_numpy(), index=index)
        if part.index.has_duplicates:
            p, h = part.index[part.index.duplicated()][0]
            raise InvalidInputError(
                f"{name}: place {p!r} at {h.isoformat()} appears twice: keep one row per place-hour"
            )
        parts.append(part)
    if not parts:
        raise InvalidInputError(f"{source}: no risk grid given: pass the forecasts used to plan the shifts")
    out = pd.concat(parts)
    return out[~out.index.duplicated(keep="first")]
