"""The whole season and re-plans.

* :func:`season_plan`: pace the walks left over the season's weeks
  (:mod:`tryggplan.allocation.pacing`) and, with ``detail``, place every one of them on a week,
  night, association and area, so dates can be offered months ahead:

  - weeks the forecast covers: the weekly MILP (:func:`tryggplan.allocation.weekly.plan_from_risk`);
  - weeks beyond it: a greedy assignment on the night profile x calendar uplifts (the night
    values of the pacing), split over areas by their share of the night-time risk in the grid
    and over shift templates by the grid's hour-of-night profile (equal shares without a
    grid). Each next walk takes the (night, area, template) worth most, times the
    walk-stacking multiplier of the teams already there, and goes to the eligible association
    with the fewest walks so far (then by name), within its nights, unavailable dates,
    templates, areas, one walk a night, its weekly and season maxima, the teams per area and
    night, and the fairness maximum (one walk's tolerance, as in the MILP). The weekly minima
    of associations are not enforced there (the weekly MILP enforces them once the forecast
    reaches the week). A week where fewer walks fit than paced is named in the warnings.

  Accepted walks (``accepted``) stay where they are: pinned in their week's MILP, placed
  first in a profile week; a new forecast therefore re-paces only what is not accepted.
* :func:`replan`: a week planned again after a declined or cancelled walk (the declining
  association unavailable that night, every other shift of the earlier plan pinned) or a new
  forecast; nothing is placed before ``now``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from tryggplan.allocation.errors import InfeasiblePlanError
from tryggplan.allocation.grid import normalise_grid, week_risk
from tryggplan.allocation.model import SolverName
from tryggplan.allocation.pacing import (
    NO_SEASON,
    PlacedWalk,
    SeasonPlan,
    SeasonWeek,
    check_now,
    done_counts,
    night_values,
    pace,
    season_nights,
    with_done,
    within_season,
)
from tryggplan.allocation.plan import Plan
from tryggplan.allocation.spec import WEEKDAYS, PinnedGuard, PinnedWalk, Resources, local_time
from tryggplan.allocation.weekly import plan_from_risk, plan_week_at, spent_before
from tryggplan.domain import InvalidInputError
from tryggplan.timeutil import iso_week_of, parse_iso_week

_NIGHT_HOURS = (18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5)


def season_plan(
    grid: pd.DataFrame,
    resources: Resources,
    first_week: str,
    *,
    now: dt.datetime | None,
    walks_left: int | None = None,
    done: Mapping[str, int] | None = None,
    accepted: Sequence[PinnedWalk] = (),
    history: pd.DataFrame | None = None,
    solver: SolverName = "highs",
    time_limit: float | None = 60.0,
    gap: float = 1e-4,
    detail: bool = True,
    with_baselines: bool = False,
) -> SeasonPlan:
    """Pace the season from ``first_week`` and, with ``detail``, place every walk (module doc).

    Parameters
    ----------
    now : the moment the plan is made (tz-aware, required); weeks and shifts before it are not
        placed. ``None`` (explicitly) plans as if nothing had begun (a backtest).
    walks_left : the season ledger's walks left (including ``accepted``), see
        :func:`tryggplan.allocation.pacing.pace`; ``None`` falls back to the deprecated
        ``season.walks - season.used`` with a warning
    done : completed walks per association (the ledger's), for fairness and season maxima
    accepted : walks already accepted by their associations: kept exactly where they are
    detail : place every walk (weekly MILP inside the forecast, the profile beyond); without
        it only the pacing (walks per week) is returned
    """
    check_now(now)
    if resources.season is None:
        raise InvalidInputError(NO_SEASON)
    g = normalise_grid(grid, resources.tz)
    done_map, _ = done_counts(resources, done)
    sp = pace(resources, first_week, g, history, walks_left=walks_left, done=done, accepted=accepted, now=now)
    if not detail or not sp.weeks:
        return sp
    tz = resources.tz
    t_now = pd.Timestamp(now) if now is not None else None
    values, _, _, _ = night_values(g, resources, [w.week for w in sp.weeks], history)
    area_w, tmpl_w = _profile_weights(g, resources)
    running = dict(done_map)
    weekly: dict[str, Plan] = {}
    placed: list[PlacedWalk] = []
    warnings = list(sp.warnings)
    week_warnings = {k: list(v) for k, v in sp.week_warnings.items()}
    for w in sp.weeks:
        pins = [
            p
            for p in accepted
            if iso_week_of(p.night) == w.week
            and (t_now is None or resources.template(p.template).window(p.night, tz)[0] >= t_now)
        ]
        plan = _forecast_week(g, resources, w, running, pins, now, solver, time_limit, gap, with_baselines)
        if isinstance(plan, str):  # the forecast covers the week but no weekly plan fits: say so
            warnings.append(plan)
            week_warnings.setdefault(w.week, []).append(plan)
            plan = None
        if plan is not None:
            weekly[w.week] = plan
            pin_keys = {(p.association, p.night.isoformat()) for p in pins}
            mine = [
                PlacedWalk(
                    w.week,
                    s.night or "",
                    s.association or "",
                    s.area or "",
                    s.template or "",
                    s.start,
                    s.end,
                    "forecast",
                    (s.association, s.night) in pin_keys,
                    float(s.expected_covered),
                )
                for s in plan.shifts
                if s.kind == "night_walk"
            ]
        else:
            mine = _place_by_profile(resources, w, values[w.week], area_w, tmpl_w, running, pins, t_now)
            if len(mine) < w.walks:
                text = (
                    f"{w.week}: only {len(mine)} of the {w.walks} paced walks could be placed by the night "
                    "profile (the associations' nights, weekly and season maxima, fairness): add nights or "
                    "raise the maxima"
                )
                warnings.append(text)
                week_warnings.setdefault(w.week, []).append(text)
        for p in mine:
            running[p.association] = running.get(p.association, 0) + 1
        placed += mine
    return SeasonPlan(
        sp.first_week,
        sp.last_week,
        sp.remaining_walks,
        sp.planned_walks,
        sp.weeks,
        sp.uplifts,
        weekly,
        warnings,
        week_warnings,
        placed,
    )


def _forecast_week(
    g: pd.DataFrame,
    resources: Resources,
    w: SeasonWeek,
    running: dict[str, int],
    pins: list[PinnedWalk],
    now: dt.datetime | None,
    solver: SolverName,
    time_limit: float | None,
    gap: float,
    with_baselines: bool,
) -> Plan | str | None:
    """The weekly MILP plan of a week the forecast covers completely; ``None`` when it does not
    cover it, a warning text when no plan satisfies every constraint."""
    try:
        risk = week_risk(g, w.week, resources.tz)
    except InvalidInputError:
        return None  # the forecast does not reach this week
    if not risk.covered[: risk.n_week].all():
        return None
    spec, _ = within_season(with_done(resources, running), w.week)
    if pins:
        spec = spec.model_copy(update={"pinned": [*spec.pinned, *pins]})
    try:
        return plan_from_risk(
            risk,
            spec,
            w.walks,
            now=now,
            solver=solver,
            time_limit=time_limit,
            gap=gap,
            with_baselines=with_baselines,
            with_marginal=False,
        )
    except InfeasiblePlanError as exc:
        return (
            f"{w.week}: no weekly plan satisfies every constraint ({'; '.join(exc.conflicts)}): "
            "its walks are placed by the night profile instead"
        )


def _profile_weights(g: pd.DataFrame, resources: Resources) -> tuple[dict[str, float], dict[str, float]]:
    """Each area's share of the night-time risk (18-06) and each template's share of a night's
    risk by the hour-of-night profile of the grid [0-1]; equal shares without a grid."""
    areas = [a.name for a in resources.areas]
    area_w = {a: 1.0 / len(areas) for a in areas}
    hour_w = {h: 1.0 / len(_NIGHT_HOURS) for h in _NIGHT_HOURS}
    if len(g):
        hours = g["slot_start"].dt.hour
        night = g[hours.isin(_NIGHT_HOURS)]
        if len(night) and night["expected"].sum() > 0:
            by_place = night.groupby("place_id")["expected"].sum()
            sums = {a.name: float(by_place.reindex(a.place_ids).fillna(0.0).sum()) for a in resources.areas}
            total = sum(sums.values())
            if total > 0:
                area_w = {a: v / total for a, v in sums.items()}
            by_hour = night.groupby(night["slot_start"].dt.hour)["expected"].mean()
            if by_hour.sum() > 0:
                hour_w = {h: float(by_hour.get(h, 0.0)) / float(by_hour.sum()) for h in _NIGHT_HOURS}
    tmpl_w = {}
    for t in resources.templates:
        hs = [(t.start_hour + k) % 24 for k in range(t.nominal_hours)]
        tmpl_w[t.name] = float(sum(hour_w.get(h, 0.0) for h in hs))
    return area_w, tmpl_w


def _place_by_profile(
    resources: Resources,
    w: SeasonWeek,
    night_value: np.ndarray,
    area_w: dict[str, float],
    tmpl_w: dict[str, float],
    running: dict[str, int],
    pins: list[PinnedWalk],
    now: pd.Timestamp | None,
) -> list[PlacedWalk]:
    """Place the week's paced walks greedily on the night profile (module doc)."""
    tz = resources.tz
    monday = parse_iso_week(w.week)
    stack = resources.effects.walk_stacking
    max_teams = resources.max_teams_per_area_night
    fair = resources.fairness
    count: dict[str, int] = {}
    nights_used: set[tuple[str, dt.date]] = set()
    teams: dict[tuple[str, dt.date], int] = {}
    total = sum(running.values())
    out: list[PlacedWalk] = []

    def add(assoc: str, area: str, night: dt.date, template: str, value: float, accepted: bool) -> None:
        nonlocal total
        start, end = resources.template(template).window(night, tz)
        out.append(
            PlacedWalk(
                w.week,
                night.isoformat(),
                assoc,
                area,
                template,
                start.isoformat(),
                end.isoformat(),
                "profile",
                accepted,
                value,
            )
        )
        count[assoc] = count.get(assoc, 0) + 1
        nights_used.add((assoc, night))
        teams[(area, night)] = teams.get((area, night), 0) + 1
        total += 1

    def base_value(k: int, area: str, template: str) -> float:
        return float(night_value[k] * area_w.get(area, 0.0) * tmpl_w.get(template, 0.0))

    for p in pins:
        add(p.association, p.area, p.night, p.template, base_value(p.night.weekday(), p.area, p.template), True)
    order = sorted(resources.associations, key=lambda a: a.name)
    inside = season_nights(resources, w.week)
    while len(out) < w.walks:
        best: tuple[float, int, str, str, str] | None = None
        for k in range(7):
            night = monday + dt.timedelta(days=k)
            if not inside[k]:
                continue
            for area in area_w:
                n_teams = teams.get((area, night), 0)
                if n_teams >= max_teams or n_teams >= len(stack):
                    continue
                for t in resources.templates:
                    if now is not None and t.window(night, tz)[0] < now:
                        continue
                    v = base_value(k, area, t.name) * stack[n_teams]
                    if v <= 0 or (best is not None and v <= best[0] + 1e-15):
                        continue
                    mine = [
                        a
                        for a in order
                        if _eligible(a, night, area, t.name, count, running, nights_used, fair.max_share, total)
                    ]
                    if mine:
                        a = min(mine, key=lambda a: (running.get(a.name, 0) + count.get(a.name, 0), a.name))
                        best = (v, k, area, t.name, a.name)
        if best is None:
            break
        v, k, area, template, assoc = best
        add(assoc, area, monday + dt.timedelta(days=k), template, v, False)
    return out


def _eligible(
    a: Any,
    night: dt.date,
    area: str,
    template: str,
    count: dict[str, int],
    running: dict[str, int],
    nights_used: set[tuple[str, dt.date]],
    max_share: float,
    total: int,
) -> bool:
    """May association ``a`` take this walk in a profile week (module doc)?"""
    if WEEKDAYS[night.weekday()] not in a.nights or night in a.unavailable_dates:
        return False
    if (a.templates is not None and template not in a.templates) or (a.areas is not None and area not in a.areas):
        return False
    if (a.name, night) in nights_used or count.get(a.name, 0) >= a.max_walks_per_week:
        return False
    season = running.get(a.name, 0) + count.get(a.name, 0)
    if a.max_walks_per_season is not None and season >= a.max_walks_per_season:
        return False
    return not (max_share < 1 and season + 1 > max_share * (total + 1) + 1 + 1e-9)


# ------------------------------------------------------------------- re-plan
def pins_from_plan(
    plan: dict[str, Any], cancel: list[tuple[str, dt.date]] | None = None, keep: Literal["all", "pinned"] = "all"
) -> tuple[list[PinnedWalk | PinnedGuard], list[tuple[str, dt.date]]]:
    """Turn an earlier plan.json's shifts into pinned shifts, leaving out cancelled walks.

    ``cancel``: ``(association, night)`` pairs; each must match a walk of the plan.
    ``keep``: ``all`` shifts of the earlier plan (after a cancellation), or only those it
    marks ``pinned`` (already agreed; after a new forecast the rest is planned afresh).
    Returns the pins and the cancellations applied.
    """
    cancel = list(cancel or [])
    pins: list[PinnedWalk | PinnedGuard] = []
    matched: list[tuple[str, dt.date]] = []
    shifts = plan.get("shifts")
    if not isinstance(shifts, list):
        raise InvalidInputError("the earlier plan has no 'shifts' list: give a plan.json written by 'tryggplan plan'")
    for k, s in enumerate(shifts):
        if not isinstance(s, dict):
            raise InvalidInputError(f"earlier plan, shifts[{k}]: not a shift object")
        try:
            if s["kind"] == "night_walk":
                night = dt.date.fromisoformat(s.get("night") or s["start"][:10])
                if (s["association"], night) in cancel:
                    matched.append((s["association"], night))
                    continue
                if keep == "pinned" and not s.get("pinned"):
                    continue
                pins.append(
                    PinnedWalk(association=s["association"], area=s["area"], night=night, template=s["template"])
                )
            elif s["kind"] == "guard":
                if keep == "pinned" and not s.get("pinned"):
                    continue
                start = dt.datetime.fromisoformat(s["start"])
                hours = int(
                    round(float(s.get("hours") or (dt.datetime.fromisoformat(s["end"]) - start).total_seconds() / 3600))
                )
                for pid in s["place_ids"]:
                    pins.append(PinnedGuard(place_id=pid, start=start, hours=hours))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"earlier plan, shifts[{k}]: cannot read it as a pinned shift ({exc}): "
                "give a plan.json written by 'tryggplan plan'"
            ) from exc
    missing = [c for c in cancel if c not in matched]
    if missing:
        walks = sorted({(s.get("association"), s.get("night")) for s in shifts if s.get("kind") == "night_walk"})
        raise InvalidInputError(
            f"cannot cancel {[f'{a}@{d}' for a, d in missing]}: the earlier plan has no such "
            f"walk; its walks are {[f'{a}@{d}' for a, d in walks]}"
        )
    return pins, matched


def replan(
    grid: pd.DataFrame,
    resources: Resources,
    week: str,
    previous: dict[str, Any],
    *,
    now: dt.datetime | None,
    cancel: list[tuple[str, dt.date]] | None = None,
    keep: Literal["all", "pinned"] = "all",
    walks: int | None = None,
    alone: bool | None = None,
    done: Mapping[str, int] | None = None,
    spent_sek: float = 0.0,
    solver: SolverName = "highs",
    time_limit: float | None = 60.0,
    gap: float = 1e-4,
    with_baselines: bool = True,
    with_marginal: bool = True,
) -> Plan:
    """Re-plan ``week`` at ``now`` after a declined or cancelled walk, or a new forecast.

    The earlier plan's shifts (``keep="all"``, or only its pinned ones with ``keep="pinned"``)
    are pinned, except the cancelled walks; a cancelling (declining) association is marked
    unavailable that night, and the week keeps its number of walks (the earlier plan's
    ``walks_share`` unless ``walks`` is given), so each cancelled walk moves to another
    association, area or night. When nobody can take it, the week gets fewer walks and the
    warnings say so (unless ``walks`` is given: then the plan is refused).

    ``alone`` (default: when walks are cancelled with ``keep="all"``): re-plan only the
    cancelled walks; no guard hours are added beyond the kept ones, so the new plan differs
    from the earlier one in the cancelled walks alone.

    With ``now`` (tz-aware): the earlier plan's shifts that started before it (not cancelled)
    are history, not re-placed: they leave the pins, their cost is added to ``spent_sek`` and
    their walks come off the week's number; the replacement and everything else start at or
    after ``now``. ``now`` is required (``None`` explicitly: as if the week had not begun).
    """
    check_now(now)
    pins, cancelled = pins_from_plan(previous, cancel, keep)
    n = walks if walks is not None else int(previous.get("walks_share", previous.get("walks", 0)) or 0)
    notes: list[str] = []
    if now is not None:
        t = pd.Timestamp(now)
        cancelled_keys = {(a, d.isoformat()) for a, d in cancelled}
        past = [
            dict(s, start=start.isoformat())
            for s in previous.get("shifts", [])
            if (start := _shift_start(s, resources)) is not None
            and start < t
            and not (s.get("kind") == "night_walk" and (s.get("association"), s.get("night")) in cancelled_keys)
        ]
        if past:
            cost = spent_before(past, now)
            past_walks = sum(1 for s in past if s.get("kind") == "night_walk")
            spent_sek += cost
            if walks is None:
                n = max(0, n - past_walks)
            pins = [p for p in pins if _pin_start(p, resources) >= t]
            notes.append(
                f"re-planned at {t.tz_convert(resources.tz):%a %Y-%m-%d %H:%M}: {len(past)} shift(s) of the earlier "
                f"plan started before then ({past_walks} walk(s), {cost:.0f} SEK): kept as history, not placed again"
            )
    unavailable: dict[str, list[dt.date]] = {}
    for a, d in cancelled:
        unavailable.setdefault(a, []).append(d)
    assocs = [
        a.model_copy(update={"unavailable_dates": [*a.unavailable_dates, *unavailable.get(a.name, [])]})
        for a in resources.associations
    ]
    spec = resources.model_copy(update={"associations": assocs, "pinned": [*resources.pinned, *pins]})
    if (alone if alone is not None else bool(cancelled) and keep == "all") and spec.guard is not None:
        kept_hours = sum(p.hours for p in spec.pinned if isinstance(p, PinnedGuard))
        spec = spec.model_copy(update={"guard": spec.guard.model_copy(update={"max_hours_per_week": kept_hours})})

    def solve(k: int) -> Plan:
        return plan_week_at(
            grid,
            spec,
            week,
            now=now,
            walks=k,
            done=done,
            spent_sek=spent_sek,
            solver=solver,
            time_limit=time_limit,
            gap=gap,
            with_baselines=with_baselines,
            with_marginal=with_marginal,
        )

    try:
        plan = solve(n)
    except InfeasiblePlanError as exc:
        # nobody can take a cancelled walk: keep every agreed shift and give the week fewer walks
        pinned_walks = sum(1 for p in pins if isinstance(p, PinnedWalk))
        if not cancelled or walks is not None or n <= pinned_walks:
            raise
        for k in range(n - 1, pinned_walks - 1, -1):
            try:
                plan = solve(k)
            except InfeasiblePlanError:
                continue
            notes.append(
                f"no association can take {_walk_list(cancelled)} ({'; '.join(exc.conflicts)}): "
                f"the week has {k} walks instead of {n}"
            )
            break
        else:
            raise
    if notes:
        plan = dataclasses.replace(plan, warnings=[*notes, *plan.warnings])
    return plan


def _walk_list(walks: list[tuple[str, dt.date]]) -> str:
    return ", ".join(f"the walk of '{a}' on the night of {d}" for a, d in walks)


def _pin_start(pin: PinnedWalk | PinnedGuard, resources: Resources) -> pd.Timestamp:
    if isinstance(pin, PinnedWalk):
        return resources.template(pin.template).window(pin.night, resources.tz)[0]
    start = pd.Timestamp(pin.start)
    return start.tz_convert(resources.tz) if start.tzinfo else local_time(start.date(), start.hour, resources.tz)


def _shift_start(shift: Mapping[str, Any], resources: Resources) -> pd.Timestamp | None:
    """A plan-document shift's start: its ``start``, else from its night and template."""
    if shift.get("start"):
        return pd.Timestamp(shift["start"])
    if shift.get("night") and shift.get("template") in {t.name for t in resources.templates}:
        return resources.template(shift["template"]).window(dt.date.fromisoformat(shift["night"]), resources.tz)[0]
    return None
