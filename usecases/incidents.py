"""Reading stored incidents: rows for analysts, counts per place and period (day, week, month, year,
in all; by category and source; year to date) for every role, the import history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlalchemy import Engine

from tryggplan.domain import InvalidInputError
from tryggplan.i18n import REPORTER_CATEGORIES, Lang, category_label
from tryggplan.storage import incidents as stored
from tryggplan.storage import places as stored_places
from tryggplan.storage import reports as stored_reports
from tryggplan.storage.records import ImportRecordInfo
from tryggplan.storage.scope import AREA_WIDE, Scope
from tryggplan.timeutil import check_tz, local_midnight
from tryggplan.usecases.moments import parse_day, parse_time

Period = Literal["day", "week", "month", "year", "total"]
PERIODS: tuple[str, ...] = ("day", "week", "month", "year", "total")


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
    created_by: str | None = None,
) -> IncidentPage:
    """Raw incident rows, oldest first, with the total matching the filters, each with who stored it,
    when, and the reporter's text. ``created_by`` keeps only the rows that actor stored (a reporter's own)."""
    check_tz(tz)
    t0 = parse_time(start, tz, "start")
    t1 = parse_time(end, tz, "end")
    frame = stored.read_incidents(
        engine,
        start=t0,
        end=t1,
        place_ids=place_ids,
        municipality=municipality,
        limit=limit,
        offset=offset,
        created_by=created_by,
        details=True,
    )
    total = stored.count_incidents(
        engine, start=t0, end=t1, place_ids=place_ids, municipality=municipality, created_by=created_by
    )
    return IncidentPage(total, limit, offset, frame)


def known_values(engine: Engine, column: Literal["category", "source"], municipality: list[str] | None) -> list[str]:
    """The categories or sources of the stored incidents (of these municipalities), sorted."""
    return stored_reports.distinct_values(engine, column, municipality)


def _check_known(
    engine: Engine, column: Literal["category", "source"], wanted: list[str] | None, municipality: list[str] | None
) -> set[str] | None:
    """The values asked for, case-insensitively; an unknown one is refused naming the known ones."""
    if not wanted:
        return None
    known = known_values(engine, column, municipality)
    folded = {k.casefold() for k in known}
    for value in wanted:
        if value.strip().casefold() not in folded:
            listed = ", ".join(known) if known else "none: no incidents stored"
            raise InvalidInputError(f"unknown {column} {value[:80]!r}: the known ones are {listed}")
    return {v.strip().casefold() for v in wanted}


def aggregate(
    engine: Engine,
    *,
    tz: str,
    by: Period = "week",
    municipality: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    category: list[str] | None = None,
    source: list[str] | None = None,
    ytd: str | None = None,
    by_category: bool = False,
) -> pd.DataFrame:
    """Incidents per place and local day / ISO week / month / year, or in all (``by="total"``, period
    ``total``): ``place_id, period, count, weighted``; with ``by_category`` per place, period and
    ``category`` (a missing category counts as ``unknown``).

    ``category`` and ``source`` keep those incidents only (case-insensitive; an unknown one is refused
    naming the known ones). ``ytd`` (a date) keeps, in every year, 1 January to that date's day and
    month (29 February is the last day of February), up to the date itself: years compare like for
    like."""
    t0 = parse_time(start, tz, "start")
    t1 = parse_time(end, tz, "end")
    if by not in PERIODS:
        raise InvalidInputError(f"by {by!r}: use one of {', '.join(PERIODS)}")
    cut: tuple[int, int] | None = None
    if ytd is not None:
        day = parse_day(ytd, "ytd")
        cut = (day.month, day.day)
        last = local_midnight(day + dt.timedelta(days=1), tz)
        t1 = last if t1 is None else min(t1, last)
    categories = _check_known(engine, "category", category, municipality)
    sources = _check_known(engine, "source", source, municipality)
    frame = stored.read_incidents(engine, start=t0, end=t1, municipality=municipality)
    if categories is not None:
        frame = frame[frame["category"].fillna("").str.casefold().isin(categories)]
    if sources is not None:
        frame = frame[frame["source"].fillna("").str.casefold().isin(sources)]
    local = pd.DatetimeIndex(frame["occurred_at"]).tz_convert(tz)
    if cut is not None:
        keep = (local.month < cut[0]) | ((local.month == cut[0]) & (local.day <= cut[1]))
        frame, local = frame[keep], local[keep]
    keys = ["place_id", "period"] + (["category"] if by_category else [])
    if frame.empty:
        return pd.DataFrame({k: [] for k in [*keys, "count", "weighted"]})
    if by == "day":
        period = local.strftime("%Y-%m-%d")
    elif by == "month":
        period = local.strftime("%Y-%m")
    elif by == "year":
        period = local.strftime("%Y")
    elif by == "total":
        period = pd.Index(["total"] * len(local))
    else:
        iso = local.isocalendar()
        period = pd.Index([f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"], strict=True)])
    grouped = pd.DataFrame(
        {
            "place_id": frame["place_id"].astype(str).to_numpy(),
            "period": period.to_numpy(),
            "category": frame["category"].fillna("unknown").astype(str).to_numpy(),
            "weight": frame["weight"].to_numpy(),
        }
    ).groupby(keys)
    out = grouped["weight"].agg(["size", "sum"]).reset_index()
    return out.rename(columns={"size": "count", "sum": "weighted"})


def aggregate_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """The aggregate rows summed over the places: ``period, count, weighted``, by period."""
    if rows.empty:
        return pd.DataFrame({"period": [], "count": [], "weighted": []})
    return rows.groupby("period", as_index=False)[["count", "weighted"]].sum()


@dataclass(frozen=True)
class Category:
    category: str
    label: str
    count: int


def categories(engine: Engine, municipality: list[str] | None = None, lang: Lang = "sv") -> list[Category]:
    """The town's list of incident categories: those of its stored incidents, most frequent first, then
    the ones a reporter can always choose (:data:`tryggplan.i18n.REPORTER_CATEGORIES`), each with the name
    a reader of ``lang`` knows it by."""
    counts = dict(stored.category_counts(engine, municipality))
    names = list(counts) + [c for c in REPORTER_CATEGORIES if c not in counts]
    return [Category(c, category_label(c, lang), counts.get(c, 0)) for c in names]


def list_imports(
    engine: Engine, limit: int = 100, offset: int = 0, scope: Scope = AREA_WIDE, actor: str | None = None
) -> list[ImportRecordInfo]:
    """Import history, newest first: who, when, which file, rows added / unchanged / rejected; of
    ``scope``'s municipalities and ``actor``'s own imports only."""
    return stored_places.list_imports(engine, limit, offset, scope, actor)
