"""The weekly plan: solve the MILP, explain every shift, compare with the baselines."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.allocation.baselines import baselines as compute_baselines
from tryggplan.allocation.baselines import greedy
from tryggplan.allocation.errors import SolverError
from tryggplan.allocation.grid import WeekRisk, normalise_grid, week_risk
from tryggplan.allocation.model import SolverName, WeekModel, WeekSetup, make_setup, raise_infeasible, solve
from tryggplan.allocation.pacing import (
    NO_SEASON,
    check_now,
    done_counts,
    pace,
    share_of,
    week_notes,
    with_done,
    within_season,
)
from tryggplan.allocation.plan import Plan, Shift, SolverInfo, Status, attribute, coverage_reduction, now_iso, score
from tryggplan.allocation.spec import PinnedWalk, Resources, check_against_places, local_time
from tryggplan.domain import InvalidInputError
from tryggplan.timeutil import iso_week_of, parse_iso_week

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _top_share(value: float, population: np.ndarray) -> float:
    """Share [%] of ``population`` at or above ``value`` (``top 3%``)."""
    if population.size == 0:
        return 100.0
    return 100.0 * float((population >= value - 1e-12).sum()) / population.size


def _fmt_pct(p: float) -> str:
    return f"{max(1, math.ceil(p - 1e-9)):d}%" if p < 99.5 else "100%"


def _hours_label(start: pd.Timestamp, end: pd.Timestamp) -> str:
    return f"{_DAYS[start.weekday()]} {start:%H}-{end:%H}"


def extract_shifts(
    setup: WeekSetup,
    chosen: list[tuple[str, int]],
    guard_cells: list[tuple[int, int]],
    walks: np.ndarray,
    guard: np.ndarray,
) -> list[Shift]:
    """Shifts with cost, prevented incidents and their ``why``."""
    r = setup.resources
    risk = setup.risk
    eff = r.effects
    per_walk, per_guard = attribute(risk, walks, guard, eff)
    option_risk = np.array(
        [risk.risk[np.ix_(o.places, o.slots)].sum() if o.places and o.slots else 0.0 for o in setup.options]
    )
    pinned_walks = {(p.pin.association, p.option) for p in setup.pinned_walks}
    pinned_cells = {(setup.place_index[p.pin.place_id], j) for p in setup.pinned_guards for j in p.slots}
    must: dict[tuple[int, int], str] = {}
    for window in setup.must_cover:
        for j in window.slots:
            must.setdefault((setup.place_index[window.place_id], j), r.must_cover[window.spec_index].label)
    shifts: list[Shift] = []
    for assoc, oi in chosen:
        o = setup.options[oi]
        covered = float(option_risk[oi])
        prevented = float(per_walk[np.ix_(o.places, o.slots)].sum()) if o.places and o.slots else 0.0
        names = [risk.places[i] for i in o.places]
        where = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        why = (
            f"covers {o.area} ({where}) {_hours_label(o.start, o.end)}: {covered:.2f} expected incidents, "
            f"top {_fmt_pct(_top_share(covered, option_risk))} of the week's walk options"
        )
        notes = sorted({must[(i, j)] for i in o.places for j in o.slots if (i, j) in must})
        if notes:
            why += "; must-cover " + ", ".join(f"'{n}'" for n in notes)
        if (assoc, oi) in pinned_walks:
            why = "pinned (already agreed); " + why
        shifts.append(
            Shift(
                kind="night_walk",
                start=o.start.isoformat(),
                end=o.end.isoformat(),
                hours=o.hours,
                cost_sek=float(r.cost_per_walk_sek),
                expected_prevented=prevented,
                expected_covered=covered,
                why=why,
                place_ids=names,
                association=assoc,
                area=o.area,
                template=o.template,
                night=o.night.isoformat(),
                pinned=(assoc, oi) in pinned_walks,
                slot_from=min(o.slots, default=0),
                slot_to=max(o.slots, default=-1) + 1,
            )
        )
    # guard blocks: runs of consecutive hours per place
    week_pop = risk.risk[:, : risk.n_week].reshape(-1)
    by_place: dict[int, list[int]] = {}
    for i, j in guard_cells:
        by_place.setdefault(i, []).append(j)
    g = r.guard
    for i, js in sorted(by_place.items()):
        js = sorted(js)
        runs: list[list[int]] = [[js[0]]]
        for j in js[1:]:
            if j == runs[-1][-1] + 1:
                runs[-1].append(j)
            else:
                runs.append([j])
        for run in runs:
            start = risk.slots[run[0]]
            end = (risk.slots[run[0]].tz_convert("UTC") + pd.Timedelta(hours=len(run))).tz_convert(risk.tz)
            covered = float(risk.risk[i, run].sum())
            prevented = float(per_guard[i, run].sum())
            mean = covered / len(run)
            why = (
                f"guards {risk.places[i]} {_hours_label(start, end)} ({len(run)} h): {covered:.2f} expected "
                f"incidents, top {_fmt_pct(_top_share(mean, week_pop))} of the week's place-hours"
            )
            notes = sorted({must[(i, j)] for j in run if (i, j) in must})
            if notes:
                why += "; must-cover " + ", ".join(f"'{n}'" for n in notes)
            pinned = any((i, j) in pinned_cells for j in run)
            if pinned:
                why = "pinned (already agreed); " + why
            shifts.append(
                Shift(
                    kind="guard",
                    start=start.isoformat(),
                    end=end.isoformat(),
                    hours=float(len(run)),
                    cost_sek=float(len(run) * (g.hourly_rate_sek if g else 0.0)),
                    expected_prevented=prevented,
                    expected_covered=covered,
                    why=why,
                    place_ids=[risk.places[i]],
                    guard="guard",
                    pinned=pinned,
                    slot_from=run[0],
                    slot_to=run[-1] + 1,
                )
            )
    shifts.sort(key=lambda s: (s.start, s.kind, s.association or "", s.place_ids))
    return _number_guards(shifts, g.company if g else None)


def _number_guards(shifts: list[Shift], company: str | None = None) -> list[Shift]:
    """Name the guards ``guard 1``, ``guard 2``, ...: each block goes to the lowest-numbered
    guard free at its start (interval partitioning; never more guards than are on duty at once).
    With the contract's ``company`` the guards carry its name (``Mälardalens Bevakning AB``, and
    ``Mälardalens Bevakning AB 2`` for a second guard on duty at the same time): a name people read
    as it is, in every language."""
    from dataclasses import replace

    free_at: list[pd.Timestamp] = []
    out: list[Shift] = []
    for s in shifts:
        if s.kind != "guard":
            out.append(s)
            continue
        start, end = pd.Timestamp(s.start), pd.Timestamp(s.end)
        k = next((n for n, t in enumerate(free_at) if t <= start), None)
        if k is None:
            free_at.append(end)
            k = len(free_at) - 1
        else:
            free_at[k] = end
        if company is None:
            name = f"guard {k + 1}"
        else:
            name = company if k == 0 else f"{company} {k + 1}"
        out.append(replace(s, guard=name))
    return out


def _solve_setup(
    setup: WeekSetup,
    solver: SolverName,
    time_limit: float | None,
    gap: float,
    start: tuple[list[tuple[str, int]], np.ndarray] | None = None,
) -> tuple[WeekModel, SolverInfo]:
    model = WeekModel(setup)
    values = model.start_from(*start) if start is not None else None
    info = solve(model.prob, solver, time_limit, gap, start=values)
    if info.status == "infeasible":
        raise_infeasible(setup, solver)
    return model, info


def _objective_of(setup: WeekSetup, model: WeekModel) -> float:
    walks = np.zeros(setup.risk.risk.shape, dtype=int)
    guard = np.zeros(setup.risk.risk.shape, dtype=bool)
    for _, oi in model.walks_chosen():
        o = setup.options[oi]
        if o.places and o.slots:
            walks[np.ix_(o.places, o.slots)] += 1
    for i, j in model.guard_cells():
        guard[i, j] = True
    return score(setup.risk, walks, guard, setup.resources.effects)


def plan_from_risk(
    risk: WeekRisk,
    resources: Resources,
    walks: int,
    *,
    now: dt.datetime | None,
    spent_sek: float = 0.0,
    solver: SolverName = "highs",
    time_limit: float | None = 60.0,
    gap: float = 1e-4,
    with_baselines: bool = True,
    with_marginal: bool = True,
    warnings: list[str] | None = None,
) -> Plan:
    """Solve one week given its risk matrix and the number of walks to place (the week's share).

    ``now`` (tz-aware, required; ``None`` only for a plan made before the week starts, e.g. a
    backtest): nothing that starts before it is placed. ``spent_sek`` [SEK]: what the week's
    shifts that started before ``now`` cost; it comes off the weekly budget.
    """
    check_against_places(resources, list(risk.places))
    check_now(now)
    if spent_sek < 0:
        raise InvalidInputError(f"spent_sek must be >= 0 SEK, got {spent_sek}")
    setup = make_setup(risk, resources, walks, now=now, spent_sek=spent_sek)
    greedy_plan = greedy(setup)
    starts = [c for c in (greedy_plan, greedy(setup, extend=True)) if c[1]]
    best = max(starts, key=lambda c: score(risk, c[0].walks, c[0].guard, resources.effects), default=None)
    start = (best[0].chosen, best[0].guard) if best is not None else None
    model, info = _solve_setup(setup, solver, time_limit, gap, start)
    chosen = model.walks_chosen()
    cells = model.guard_cells()
    wm = np.zeros(risk.risk.shape, dtype=int)
    gm = np.zeros(risk.risk.shape, dtype=bool)
    for _, oi in chosen:
        o = setup.options[oi]
        if o.places and o.slots:
            wm[np.ix_(o.places, o.slots)] += 1
    for i, j in cells:
        gm[i, j] = True
    objective = score(risk, wm, gm, resources.effects)
    shifts = extract_shifts(setup, chosen, cells, wm, gm)
    total = float(risk.risk.sum())
    covered = float(risk.risk[(coverage_reduction(wm, gm, resources.effects) > 0)].sum())
    base = compute_baselines(setup, greedy_plan) if with_baselines else {}
    marginal: dict[str, float | None] = {}
    if with_marginal:
        marginal = marginal_values(risk, resources, walks, objective, solver, time_limit, gap, now, spent_sek)
    notes = list(warnings or []) + _cutoff_notes(setup)
    if not risk.covered[: risk.n_week].all():
        notes.append(
            f"the forecast covers {int(risk.covered[: risk.n_week].sum())} of the week's "
            f"{risk.n_week} hours; the rest count as zero risk"
        )
    if info.status == "time_limit":
        notes.append(f"the solver stopped at the time limit: the plan is within {info.gap:.2%} of the optimum")
    status: Status = "time_limit" if info.status == "time_limit" else "optimal"
    return Plan(
        week=risk.week,
        tz=resources.tz,
        status=status,
        objective=objective,
        risk_total=total,
        risk_covered_share=covered / total if total > 0 else 0.0,
        cost_sek=float(sum(s.cost_sek for s in shifts)),
        walks=len(chosen),
        walks_share=walks,
        guard_hours=float(len(cells)),
        shifts=shifts,
        solver=info,
        baselines=base,
        marginal_value=marginal,
        warnings=notes,
        generated_at=now_iso() if now is None else pd.Timestamp(now).tz_convert("UTC").isoformat(),
        spent_sek=float(spent_sek),
        planned_from=None if setup.now is None else setup.now.isoformat(),
    )


def _cutoff_notes(setup: WeekSetup) -> list[str]:
    """What a plan made after its week began leaves out, and the budget it has left."""
    r, risk, t = setup.resources, setup.risk, setup.now
    notes: list[str] = []
    if t is not None and t > risk.slots[0]:
        notes.append(
            f"planned at {t:%a %Y-%m-%d %H:%M}: nothing that starts before then is placed "
            f"({sum(1 for o in setup.options if o.start < t)} of the week's {len(setup.options)} walk options are past)"
        )
    if setup.past_pins:
        notes.append(
            f"{len(setup.past_pins)} pinned shift(s) started before {t:%a %H:%M} and are left out of this plan "
            f"(count their cost in spent_sek): {'; '.join(setup.past_pins)}"
        )
    if setup.spent_sek and r.weekly_budget_sek is not None:
        left = max(0.0, r.weekly_budget_sek - setup.spent_sek)
        notes.append(
            f"budget: {r.weekly_budget_sek:.0f} SEK for the week - {setup.spent_sek:.0f} SEK already spent "
            f"on shifts that started before the plan = {left:.0f} SEK left"
        )
    elif setup.spent_sek:
        notes.append(f"{setup.spent_sek:.0f} SEK already spent this week (no weekly budget set)")
    return notes


def marginal_values(
    risk: WeekRisk,
    resources: Resources,
    walks: int,
    objective: float,
    solver: SolverName,
    time_limit: float | None,
    gap: float,
    now: dt.datetime | None = None,
    spent_sek: float = 0.0,
) -> dict[str, float | None]:
    """Expected incidents prevented by one more walk (and its 1000 SEK) and one more guard hour
    (and its pay), found by solving again [incidents]. 0 when it cannot be used."""
    out: dict[str, float | None] = {}
    g = resources.guard
    for key in ("walk", "guard_hour"):
        if key == "walk":
            setup = make_setup(
                risk, resources, walks + 1, extra_budget=resources.cost_per_walk_sek, now=now, spent_sek=spent_sek
            )
        elif g is None:
            out[key] = 0.0
            continue
        else:
            setup = make_setup(
                risk,
                resources,
                walks,
                extra_budget=g.hourly_rate_sek,
                extra_guard_hours=1,
                now=now,
                spent_sek=spent_sek,
            )
        model = WeekModel(setup)
        try:
            info = solve(model.prob, solver, time_limit, gap)
        except SolverError:  # no answer within the time limit: unknown, the plan itself stands
            out[key] = None
            continue
        if info.status == "infeasible":
            out[key] = 0.0
            continue
        out[key] = max(0.0, _objective_of(setup, model) - objective)
    return out


def week_bounds(week: str, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Local Monday 00:00 of ``week`` and of the week after."""
    monday = parse_iso_week(week)
    return local_time(monday, 0, tz), local_time(monday + dt.timedelta(days=7), 0, tz)


def check_week_open(week: str, tz: str, now: dt.datetime | None) -> None:
    """Refuse to plan a week that is over at ``now`` (nothing could be placed)."""
    if now is None:
        return
    _, end = week_bounds(week, tz)
    if pd.Timestamp(now) >= end:
        nxt = iso_week_of(pd.Timestamp(now).tz_convert(tz).date())
        raise InvalidInputError(
            f"week {week} ended at {end:%Y-%m-%d %H:%M} ({tz}), before the plan is made "
            f"({pd.Timestamp(now).tz_convert(tz):%Y-%m-%d %H:%M}): nothing is left to plan; plan {nxt} or later"
        )


def plan_week(
    grid: pd.DataFrame,
    resources: Resources,
    week: str,
    *,
    now: dt.datetime | None,
    walks: int | None = None,
    walks_left: int | None = None,
    done: Mapping[str, int] | None = None,
    accepted: Sequence[PinnedWalk] = (),
    spent_sek: float = 0.0,
    solver: SolverName = "highs",
    time_limit: float | None = 60.0,
    gap: float = 1e-4,
    with_baselines: bool = True,
    with_marginal: bool = True,
    history: pd.DataFrame | None = None,
) -> Plan:
    """The optimal plan for ISO week ``week`` (``YYYY-Www``), made at ``now``.

    Parameters
    ----------
    grid : the risk grid (forecast contract); ``slot_start`` tz-aware, ``expected`` [incidents/h]
    resources : the validated resources spec
    now : the moment the plan is made (tz-aware, required). Nothing that starts before it is
        placed (walk options, guard hours, pinned shifts, must-cover hours); a week that is over
        is refused. ``None`` (explicitly) plans as if the week had not begun (a backtest).
    walks : walks to place this week (from ``now`` on); ``None`` takes the week's share of the
        season pacing (:func:`tryggplan.allocation.pacing.pace`), which needs a ``season``
        block; without one the plan is refused with both fixes named
    walks_left : the season ledger's walks left for the pacing (see ``pace``); ``None`` falls
        back to the deprecated ``season.walks - season.used`` with a warning
    done : completed walks per association this season (the ledger's), for fairness and the
        season maxima; ``None`` falls back to the deprecated ``walks_done`` of the resources
    accepted : walks their associations accepted: pinned, and counted in the pacing
    spent_sek : [SEK] of this week's budget already spent: the cost of the week's shifts that
        started before ``now`` (:func:`spent_before` of the current plan); it comes off
        ``weekly_budget_sek`` and the plan's warnings say so
    history : optional incidents (canonical columns) for the season risk profile
    """
    return plan_week_at(
        grid,
        resources,
        week,
        now=now,
        walks=walks,
        walks_left=walks_left,
        done=done,
        accepted=accepted,
        spent_sek=spent_sek,
        solver=solver,
        time_limit=time_limit,
        gap=gap,
        with_baselines=with_baselines,
        with_marginal=with_marginal,
        history=history,
    )


def plan_week_at(
    grid: pd.DataFrame,
    resources: Resources,
    week: str,
    *,
    now: dt.datetime | None,
    walks: int | None = None,
    walks_left: int | None = None,
    done: Mapping[str, int] | None = None,
    accepted: Sequence[PinnedWalk] = (),
    spent_sek: float = 0.0,
    solver: SolverName = "highs",
    time_limit: float | None = 60.0,
    gap: float = 1e-4,
    with_baselines: bool = True,
    with_marginal: bool = True,
    history: pd.DataFrame | None = None,
) -> Plan:
    """:func:`plan_week` with ``now`` required (``None`` explicitly: as if the week had not begun)."""
    check_now(now)
    if walks is None and resources.season is None:
        raise InvalidInputError(NO_SEASON)
    if walks is not None and walks < 0:
        raise InvalidInputError(f"walks must be >= 0, got {walks}")
    check_week_open(week, resources.tz, now)
    g = normalise_grid(grid, resources.tz)
    risk = week_risk(g, week, resources.tz)
    done_map, notes = done_counts(resources, done)
    spec, season_notes = within_season(with_done(resources, done_map), week)
    if accepted:
        spec = spec.model_copy(update={"pinned": [*spec.pinned, *accepted]})
    if walks is None:
        sp = pace(resources, week, g, history, walks_left=walks_left, done=done_map, accepted=accepted, now=now)
        walks, why = share_of(sp, week)
        notes = [why, *week_notes(sp, week)]
    notes += season_notes
    return plan_from_risk(
        risk,
        spec,
        walks,
        now=now,
        spent_sek=spent_sek,
        solver=solver,
        time_limit=time_limit,
        gap=gap,
        with_baselines=with_baselines,
        with_marginal=with_marginal,
        warnings=notes,
    )


def spent_before(shifts: Iterable[Mapping[str, Any]], now: dt.datetime) -> float:
    """What the shifts (plan-document dicts with ``start`` and ``cost_sek``) that started
    before ``now`` cost [SEK]: the ``spent_sek`` of a plan made at ``now``."""
    check_now(now)
    t = pd.Timestamp(now)
    return float(sum(float(s.get("cost_sek") or 0.0) for s in shifts if pd.Timestamp(s["start"]) < t))
