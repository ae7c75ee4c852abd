"""Reading stored incidents: rows for analysts, counts per place and period for every role, the
import history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlalchemy import Engine

from tryggplan.storage import incidents as stored
from tryggplan.storage import places as stored_places
from tryggplan.storage.records import ImportRecordInfo
from tryggplan.timeutil import check_tz
from tryggplan.usecases.forecasts import parse_time

Period = Literal["day", "week", "month"]


@dataclass(frozen=True)
class IncidentPage:
    total: int
    limit: int
    offset: int
    incidents: pd.DataFrame


def stored_incidents(engine: Engine, municipality: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Every stored incident (of a municipality) and the places (``None`` when none are stored)."""
    places = stored.read_places(engine, municipality=municipality)
    return stored.read_incidents(engine, municipality=municipality), (places if len(places) else None)


def list_incidents(
    engine: Engine,
    *,
    tz: str,
    place_ids: list[str] | None = None,
    municipality: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> IncidentPage:
    """Raw incident rows, oldest first, with the total matching the filters."""
    check_tz(tz)
    t0 = parse_time(start, tz, "start")
    t1 = parse_time(end, tz, "end")
    frame = stored.read_incidents(
        engine, start=t0, end=t1, place_ids=place_ids, municipality=municipality, limit=limit, offset=offset
    )
    total = stored.count_incidents(engine, start=t0, end=t1, place_ids=place_ids, municipality=municipality)
    return IncidentPage(total, limit, offset, frame)


def aggregate(
    engine: Engine,
    *,
    tz: str,
    by: Period = "week",
    municipality: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Incidents per place and local day / ISO week / month: ``place_id, period, count, weighted``."""
    t0 = parse_time(start, tz, "start")
    t1 = parse_time(end, tz, "end")
    frame = stored.read_incidents(engine, start=t0, end=t1, municipality=municipality)
    if frame.empty:
        return pd.DataFrame({"place_id": [], "period": [], "count": [], "weighted": []})
    local = pd.DatetimeIndex(frame["occurred_at"]).tz_convert(tz)
    if by == "day":
        period = local.strftime("%Y-%m-%d")
    elif by == "month":
        period = local.strftime("%Y-%m")
    else:
        iso = local.isocalendar()
        period = pd.Index([f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"], strict=True)])
    grouped = pd.DataFrame(
        {
            "place_id": frame["place_id"].astype(str).to_numpy(),
            "period": period.to_numpy(),
            "weight": frame["weight"].to_numpy(),
        }
    ).groupby(["place_id", "period"])
    out = grouped["weight"].agg(["size", "sum"]).reset_index()
    return out.rename(columns={"size": "count", "sum": "weighted"})


def list_imports(engine: Engine, limit: int = 100, offset: int = 0) -> list[ImportRecordInfo]:
    """Import history, newest first: who, when, which file, rows added / unchanged / rejected."""
    return stored_places.list_imports(engine, limit, offset)
