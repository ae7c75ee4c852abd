"""The police area: municipalities as data (their police area and category groups) and the area view,
the municipalities side by side (docs/architecture.md, "The coordinator's fortnight").

A municipality exists when places name it; its settings (police area, category groups) are stored
separately and default to none (its own area) and :data:`tryggplan.counts.DEFAULT_CATEGORY_GROUPS`.
The forecast pools hour-of-week and calendar effects from each municipality to its police area to all
(:class:`tryggplan.forecasting.models.PooledCountModel`), so the police area is read by every forecast run.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from tryggplan.counts import DEFAULT_CATEGORY_GROUPS, pct_change
from tryggplan.domain import MAX_NAME_CHARS, InvalidInputError, NotFoundError, TryggplanError
from tryggplan.forecasting.grid import high_risk_windows
from tryggplan.storage import areas
from tryggplan.storage import forecasts as runs
from tryggplan.storage import incidents as stored
from tryggplan.storage import places as stored_places
from tryggplan.storage import plans as stored_plans
from tryggplan.storage.records import ForecastRunRecord, PlanRecordInfo
from tryggplan.text import normalize_text
from tryggplan.timeutil import local_midnight
from tryggplan.usecases import plans
from tryggplan.usecases import season as ledger
from tryggplan.usecases.parallel import Engine as ParallelEngine
from tryggplan.usecases.parallel import map_outcomes
from tryggplan.usecases.plans import PlanKind


@dataclass(frozen=True)
class MunicipalitySettings:
    """A municipality with its settings as they apply (defaults filled in)."""

    name: str
    police_area: str | None
    category_groups: dict[str, list[str]]
    places: int
    configured: bool


def list_municipalities(engine: Engine, names: list[str] | None = None) -> list[MunicipalitySettings]:
    """Every municipality the places name (or only ``names``), with its settings."""
    known = stored_places.municipalities(engine)
    if names is not None:
        known = [m for m in known if m in names]
    saved = {m.name: m for m in areas.list_municipalities(engine, known)}
    counts = stored.read_places(engine, municipality=known)["municipality"].value_counts()
    return [
        MunicipalitySettings(
            name=name,
            police_area=saved[name].police_area if name in saved else None,
            category_groups=_groups(saved[name].category_groups if name in saved else None),
            places=int(counts.get(name, 0)),
            configured=name in saved,
        )
        for name in known
    ]


def _groups(configured: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    table = configured if configured is not None else DEFAULT_CATEGORY_GROUPS
    return {str(k): [str(c) for c in v] for k, v in table.items()}


def set_municipality(
    engine: Engine,
    name: str,
    *,
    police_area: str | None = None,
    category_groups: Mapping[str, Sequence[str]] | None = None,
) -> MunicipalitySettings:
    """Store a municipality's police area and category groups (``None``: the default groups)."""
    if not stored_places.has_municipality(engine, name):
        raise NotFoundError(
            f"no places in municipality {name[:80]!r}: import its places first (see GET /api/v1/places)"
        )
    area = normalize_text(police_area, "police_area").strip() if police_area else None
    if area is not None and not 0 < len(area) <= MAX_NAME_CHARS:
        raise InvalidInputError(f"police_area is empty or longer than {MAX_NAME_CHARS} characters: shorten it")
    groups = _checked_groups(category_groups) if category_groups is not None else None
    areas.save_municipality(engine, name, area, groups)
    return list_municipalities(engine, [name])[0]


def _checked_groups(groups: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for raw_name, members in groups.items():
        name = normalize_text(str(raw_name), "category group").strip()
        if not name or len(name) > 100:
            raise InvalidInputError(f"category group name {raw_name!r} is empty or too long: use a short name")
        cleaned = sorted({normalize_text(str(c), f"category group {name}").strip().lower() for c in members} - {""})
        if not cleaned:
            raise InvalidInputError(f"category group {name!r} is empty: give it at least one category, e.g. vandalism")
        out[name] = cleaned
    if not out:
        raise InvalidInputError("no category groups given: give at least one, e.g. nattvandring: [disorder, vandalism]")
    return out


# --------------------------------------------------------------------------- the area view


def _current_run(engine: Engine, today: dt.date) -> ForecastRunRecord | None:
    """The newest finished area-wide run of all incidents whose horizon covers ``today``, else the newest
    finished area-wide one (runs of one municipality or one category group do not describe the area)."""
    finished = [
        r
        for r in runs.list_runs(engine, limit=200)
        if r.status == "done" and r.municipality is None and r.category_group is None and not r.weighted
    ]
    covering = [r for r in finished if r.start_date <= today < r.start_date + dt.timedelta(days=r.days)]
    chosen = covering or finished
    return chosen[0] if chosen else None


def area_view(
    engine: Engine,
    *,
    today: dt.date,
    tz: str,
    municipalities: list[str] | None = None,
    police_area: str | None = None,
    days: int = 14,
    top_windows: int = 5,
) -> dict[str, Any]:
    """The municipalities side by side: the last ``days`` days against the ``days`` before, the year to
    date against the same dates last year, the next ``days`` days' expected incidents and high-risk
    windows (absolute counts and the town's own level), this week's plan at its places (its own plan,
    else the area's) and its season ledger.

    ``municipalities`` limits the view (a scoped caller's towns); ``police_area`` picks one area."""
    towns = list_municipalities(engine, municipalities)
    if police_area is not None:
        towns = [t for t in towns if (t.police_area or t.name) == police_area]
        if not towns:
            raise NotFoundError(f"no municipality in police area {police_area[:80]!r}: see GET /api/v1/municipalities")
    names = [t.name for t in towns]
    places = stored.read_places(engine, municipality=names) if names else stored.read_places(engine).iloc[0:0]
    town_of = dict(zip(places["place_id"].astype(str), places["municipality"].astype(str), strict=True))
    period_start = local_midnight(today - dt.timedelta(days=days - 1), tz)
    period_end = local_midnight(today + dt.timedelta(days=1), tz)
    last_year_start = local_midnight(dt.date(today.year - 1, 1, 1), tz)
    incidents = stored.read_incidents(engine, start=last_year_start, end=period_end, municipality=names or None)
    local = incidents["occurred_at"].dt.tz_convert(tz)
    town = incidents["place_id"].astype(str).map(town_of)
    run = _current_run(engine, today)
    grid = runs.read_grid(engine, run, municipality=names) if run is not None and names else None
    rates = runs.town_base_rates(engine, run) if run is not None else {}
    week = "{}-W{:02d}".format(*today.isocalendar()[:2])
    area_plan = _plan_of_week(engine, week, None)
    rows = []
    for settings in towns:
        mine = town == settings.name
        count = int((mine & (local >= period_start) & (local < period_end)).sum())
        previous = int((mine & (local >= period_start - pd.Timedelta(days=days)) & (local < period_start)).sum())
        ytd = int((mine & (local >= local_midnight(dt.date(today.year, 1, 1), tz)) & (local < period_end)).sum())
        ytd_last = int((mine & (local >= last_year_start) & (local < _same_day_last_year(today, tz))).sum())
        rows.append(
            {
                "municipality": settings.name,
                "police_area": settings.police_area,
                "places": settings.places,
                "last_days": {"count": count, "previous": previous, "change_pct": pct_change(count, previous)},
                "ytd": {"count": ytd, "last_year": ytd_last, "change_pct": pct_change(ytd, ytd_last)},
                "ahead": _ahead(grid, settings.name, town_of, rates, run, top_windows, today, days),
                "plan": _plan_at(
                    _plan_of_week(engine, week, settings.name) or area_plan,
                    {p for p, m in town_of.items() if m == settings.name},
                ),
                "season": _season(engine, settings.name),
            }
        )
    return {
        "today": today.isoformat(),
        "days": days,
        "forecast": None if run is None else {"run_id": run.id, "trained_until": run.trained_until},
        "municipalities": rows,
    }


def _same_day_last_year(today: dt.date, tz: str) -> pd.Timestamp:
    """Local midnight after the same date last year (29 February -> 28 February)."""
    try:
        same = today.replace(year=today.year - 1)
    except ValueError:
        same = dt.date(today.year - 1, 2, 28)
    return local_midnight(same + dt.timedelta(days=1), tz)


def _ahead(
    grid: pd.DataFrame | None,
    municipality: str,
    town_of: dict[str, str],
    rates: dict[str, float],
    run: ForecastRunRecord | None,
    top: int,
    today: dt.date,
    days: int,
) -> dict[str, Any] | None:
    """The next ``days`` days of the forecast at the municipality's places: the expected count (absolute)
    and the high-risk hours and windows by the town's own levels."""
    if grid is None or run is None:
        return None
    start = local_midnight(today, run.tz)
    end = local_midnight(today + dt.timedelta(days=days), run.tz)
    mine = grid[(grid["place_id"].astype(str).map(town_of) == municipality) & (grid["slot_start"] >= start)]
    mine = mine[mine["slot_start"] < end]
    if mine.empty:
        return {"expected": 0.0, "high_hours": 0, "windows": []}
    from_windows = _windows(mine, town_of, rates, run.tz)[:top]
    return {
        "expected": float(mine["expected"].sum()),
        "high_hours": int((mine["risk_level"] == "high").sum()),
        "windows": from_windows,
    }


def _windows(grid: pd.DataFrame, town_of: dict[str, str], rates: dict[str, float], tz: str) -> list[dict[str, Any]]:
    frame = high_risk_windows(grid, tz=tz, groups=town_of, base_rates=rates)
    return [
        {
            "place_id": str(r.place_id),
            "label": str(r.label),
            "start": pd.Timestamp(r.start).isoformat(),
            "end": pd.Timestamp(r.end).isoformat(),
            "expected": float(r.expected),
        }
        for r in frame.itertuples(index=False)
    ]


def _plan_of_week(engine: Engine, week: str, municipality: str | None) -> dict[str, Any] | None:
    """The newest weekly plan of ``week`` made for ``municipality`` (``None``: for the whole area)."""
    found = [
        p
        for p in stored_plans.list_plans(engine, week=week, limit=200, municipalities=municipality)
        if p.kind == "week" and p.municipality == municipality
    ]
    return found[0].plan if found else None


def _season(engine: Engine, municipality: str) -> dict[str, Any] | None:
    """The municipality's season ledger figures, or ``None`` when it keeps no season of its own."""
    try:
        found = ledger.season_of(engine, municipality, infer=False)
    except NotFoundError:
        return None
    status = ledger.status_document(engine, found)
    keys = ("walks_total", "walks_done", "walks_no_show", "walks_planned", "walks_left", "pot_sek", "owed_sek")
    return {k: status.get(k) for k in (*keys, "paid_sek", "pot_left_sek")}


def _plan_at(plan: dict[str, Any] | None, place_ids: set[str]) -> dict[str, Any] | None:
    """This week's shifts at the municipality's places: walks, guard hours, cost."""
    if plan is None:
        return None
    shifts = [s for s in plan.get("shifts", []) if set(s.get("place_ids", [])) & place_ids]
    return {
        "week": plan.get("week"),
        "walks": sum(1 for s in shifts if s.get("kind") == "night_walk"),
        "guard_hours": float(sum(s.get("hours", 0.0) for s in shifts if s.get("kind") == "guard")),
        "cost_sek": float(sum(s.get("cost_sek", 0.0) for s in shifts)),
    }


# --------------------------------------------------------------------------- the area plan run


@dataclass(frozen=True)
class TownPlan:
    """One municipality's outcome of an area plan run: its stored plan, or why it has none."""

    municipality: str
    plan: PlanRecordInfo | None
    error: str | None


def plan_area(
    engine: Engine,
    week: str,
    *,
    now: dt.datetime,
    kind: PlanKind = "week",
    municipalities: list[str] | None = None,
    police_area: str | None = None,
    parallel: ParallelEngine = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    actor: str | None = None,
    time_limit: float = 60.0,
) -> list[TownPlan]:
    """Every municipality's plan of ``week`` in one run, each from its own resources spec, forecast and
    season ledger (so within its own budget), solved in parallel with ``parallel="dask"`` (a local
    cluster, or the cluster at ``scheduler``) and stored as drafts. A municipality without a spec of its
    own, or whose plan cannot be made, gets the reason instead; the others are planned all the same.

    ``municipalities`` limits the run (a scoped caller's towns); ``police_area`` picks one area."""
    towns = [t.name for t in list_municipalities(engine, municipalities)]
    if police_area is not None:
        towns = [t.name for t in list_municipalities(engine, towns) if (t.police_area or t.name) == police_area]
        if not towns:
            raise NotFoundError(f"no municipality in police area {police_area[:80]!r}: see GET /api/v1/municipalities")
    gathered: dict[str, plans.PlanInputs] = {}
    errors: dict[str, str] = {}
    for town in towns:
        try:
            gathered[town] = plans.gather_plan_inputs(engine, week, now=now, kind=kind, municipality=town)
        except TryggplanError as exc:
            errors[town] = " ".join(str(exc).split())
    solve = functools.partial(plans.solve_plan, time_limit=time_limit)
    solved = map_outcomes(solve, list(gathered.values()), engine=parallel, scheduler=scheduler, workers=workers)
    out = []
    for (town, inputs), outcome in zip(gathered.items(), solved, strict=True):
        if outcome.result is None:
            errors[town] = outcome.error or "no plan"
            continue
        out.append(TownPlan(town, plans.store_plan_of(engine, inputs, outcome.result, actor), None))
    out += [TownPlan(town, None, errors[town]) for town in towns if town in errors]
    return sorted(out, key=lambda t: t.municipality)
