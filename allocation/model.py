"""The weekly MILP (PuLP; HiGHS by default, CBC as fallback).

Decisions
---------
* ``walk_{a}_{o}`` (binary): association ``a`` walks option ``o`` = (area, night, template).
* ``teams_{o}`` (integer): teams on option ``o`` (= sum of its walk variables).
* ``guard_{p}_{j}`` (binary): a guard at place ``p`` in UTC hour ``j`` of the week;
  ``gstart_{p}_{j}`` (binary) a guard block starts there. Blocks are at least
  ``min_block_hours`` long (min-up-time formulation of Rajan & Takriti 2005: a start in
  the last L hours keeps the guard on; it describes the convex hull for one place).

Objective
---------
Expected incidents prevented [incidents] = sum over place-hours of ``risk x reduction``
with ``reduction = 1 - (1 - guard g)(1 - walk curve(n))``: the walk curve is concave
piecewise linear in the number of walks ``n`` (``wseg_{p}_{j}_{k}`` segment variables with
decreasing slopes), and the product with the binary guard is linearised exactly
(``both_{p}_{j}`` = curve x g, McCormick with a binary factor).

Hard constraints (each named, each can be relaxed with a penalised slack to find conflicts)
-------------------------------------------------------------------------------------------
week share of the season quota (``quota_week``), weekly budget (``budget``), association
availability, weekly maximum and minimum, teams per area and night, pinned shifts,
must-cover windows, fairness shares, guard weekly hours and concurrency.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pulp

from tryggplan.allocation.errors import InfeasiblePlanError, SolverError
from tryggplan.allocation.grid import WeekRisk
from tryggplan.allocation.plan import SolverInfo
from tryggplan.allocation.spec import WEEKDAYS, PinnedGuard, PinnedWalk, Resources, local_time

SolverName = Literal["highs", "cbc"]
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class WalkOption:
    """A walk that could be done: ``area`` on the night of ``night`` with ``template``.

    ``slots``: horizon slot indices it covers (UTC hours); ``places``: place indices.
    """

    idx: int
    area: str
    night: dt.date
    template: str
    start: pd.Timestamp
    end: pd.Timestamp
    slots: tuple[int, ...]
    places: tuple[int, ...]

    @property
    def hours(self) -> float:
        return (self.end - self.start) / pd.Timedelta(hours=1)

    @property
    def label(self) -> str:
        return f"{self.area} {_DAY_NAMES[self.night.weekday()]} {self.night:%Y-%m-%d} {self.template}"


@dataclass
class WeekSetup:
    """Everything the model and the baselines need for one week."""

    risk: WeekRisk
    resources: Resources
    share: int
    options: list[WalkOption]
    eligible: dict[str, list[int]]  # association -> option indices it may walk
    why_not: dict[tuple[str, int], str]  # (association, option) -> availability reason
    guard_ok: np.ndarray  # bool (n_places, n_slots)
    cap: dict[str, int]  # association -> max walks this week
    budget: float | None
    guard_max_hours: int
    pinned_walks: list[tuple[int, PinnedWalk, int | None]] = field(default_factory=list)  # (spec idx, pin, option)
    pinned_guards: list[tuple[int, PinnedGuard, list[int]]] = field(default_factory=list)
    must_cover: list[tuple[int, str, dt.date, list[int], bool, bool]] = field(default_factory=list)
    now: pd.Timestamp | None = None  # nothing is placed that starts before this instant
    spent_sek: float = 0.0  # [SEK] of the week's budget spent before ``now``
    past_pins: list[str] = field(default_factory=list)  # pinned shifts left out: they started before ``now``

    @property
    def place_index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.risk.places)}


def make_setup(
    risk: WeekRisk,
    resources: Resources,
    share: int,
    *,
    extra_budget: float = 0.0,
    extra_guard_hours: int = 0,
    now: dt.datetime | pd.Timestamp | None = None,
    spent_sek: float = 0.0,
) -> WeekSetup:
    """Expand the spec over the week: walk options, eligibility, guard cells, pins, windows.

    ``now`` (tz-aware; ``None`` = before the week starts): walk options and guard hours that
    start before it are not allowed, pinned shifts that started before it are left out
    (``past_pins``), must-cover hours before it are dropped. ``spent_sek`` [SEK] comes off the
    weekly budget (what the week's shifts that started before ``now`` cost).
    """
    tz = resources.tz
    t_now = pd.Timestamp(now).tz_convert(tz) if now is not None else None
    past = np.asarray(risk.slots < t_now) if t_now is not None else np.zeros(len(risk.slots), dtype=bool)
    pidx = {p: i for i, p in enumerate(risk.places)}
    n_slots = len(risk.slots)
    options: list[WalkOption] = []
    for area in resources.areas:
        places = tuple(sorted(pidx[p] for p in area.place_ids if p in pidx))
        for d in range(7):
            night = risk.monday + dt.timedelta(days=d)
            for t in resources.templates:
                day0 = night + dt.timedelta(days=t.night_offset_days)
                start = local_time(day0, t.start_hour, tz)
                end_day = day0 + dt.timedelta(days=1 if t.end_hour <= t.start_hour else 0)
                end = local_time(end_day, t.end_hour, tz)
                j0, j1 = risk.slot_index(start), risk.slot_index(end)
                slots = tuple(j for j in range(max(0, j0), min(n_slots, j1)))
                options.append(WalkOption(len(options), area.name, night, t.name, start, end, slots, places))
    eligible: dict[str, list[int]] = {}
    why_not: dict[tuple[str, int], str] = {}
    for a in resources.associations:
        ok: list[int] = []
        for o in options:
            wd = WEEKDAYS[o.night.weekday()]
            if t_now is not None and o.start < t_now:
                why_not[(a.name, o.idx)] = (
                    f"past: the shift starts {o.start:%a %Y-%m-%d %H:%M}, before the plan is made ({t_now:%a %H:%M})"
                )
            elif wd not in a.nights:
                why_not[(a.name, o.idx)] = f"availability: '{a.name}' does not walk on {wd} nights (nights {a.nights})"
            elif o.night in a.unavailable_dates:
                why_not[(a.name, o.idx)] = f"availability: '{a.name}' is unavailable on {o.night}"
            elif a.templates is not None and o.template not in a.templates:
                why_not[(a.name, o.idx)] = f"availability: '{a.name}' does not walk template '{o.template}'"
            elif a.areas is not None and o.area not in a.areas:
                why_not[(a.name, o.idx)] = f"availability: '{a.name}' does not walk area '{o.area}'"
            else:
                ok.append(o.idx)
        eligible[a.name] = ok
    cap = {}
    for a in resources.associations:
        c = a.max_walks_per_week
        if a.max_walks_per_season is not None:
            c = min(c, max(0, a.max_walks_per_season - a.walks_done))
        cap[a.name] = c
    guard_ok = np.zeros((len(risk.places), n_slots), dtype=bool)
    g = resources.guard
    if g is not None and g.concurrent_guards > 0:
        hours = np.asarray(risk.slots.hour)
        hour_ok = np.isin(hours, g.hours)
        hour_ok[risk.n_week :] = False  # guard blocks stay inside the ISO week
        hour_ok[past] = False
        rows = [pidx[p] for p in (g.places if g.places is not None else risk.places) if p in pidx]
        guard_ok[rows, :] = hour_ok
    budget = (
        None
        if resources.weekly_budget_sek is None
        else max(0.0, resources.weekly_budget_sek - spent_sek) + extra_budget
    )
    setup = WeekSetup(
        risk,
        resources,
        share,
        options,
        eligible,
        why_not,
        guard_ok,
        cap,
        budget,
        (g.max_hours_per_week if g else 0) + extra_guard_hours,
        now=t_now,
        spent_sek=float(spent_sek),
    )
    by_key = {(o.area, o.night, o.template): o.idx for o in options}
    for i, pin in enumerate(resources.pinned):
        if isinstance(pin, PinnedWalk):
            if risk.monday <= pin.night < risk.monday + dt.timedelta(days=7):
                oi = by_key.get((pin.area, pin.night, pin.template))
                if t_now is not None and oi is not None and options[oi].start < t_now:
                    setup.past_pins.append(
                        f"'{pin.association}' in {pin.area} {options[oi].start:%a %H:%M}-{options[oi].end:%H:%M}"
                    )
                    continue
                setup.pinned_walks.append((i, pin, oi))
        else:
            start = pd.Timestamp(pin.start)
            start = start.tz_convert(tz) if start.tzinfo else local_time(start.date(), start.hour, tz)
            if t_now is not None and start < t_now:
                if risk.monday <= start.date() < risk.monday + dt.timedelta(days=7):
                    setup.past_pins.append(f"guard at {pin.place_id} {start:%a %H:%M} ({pin.hours} h)")
                continue
            j0 = risk.slot_index(start)
            cells = [j for j in range(j0, j0 + pin.hours)]
            inside = [j for j in cells if 0 <= j < risk.n_week]
            if inside:
                setup.pinned_guards.append((i, pin, inside))
    for i, m in enumerate(resources.must_cover):
        for d in range(7):
            night = risk.monday + dt.timedelta(days=d)
            if m.dates is not None:
                if night not in m.dates:
                    continue
            elif WEEKDAYS[night.weekday()] not in m.nights:
                continue
            sh, eh = int(m.start[:2]), int(m.end[:2])
            day0 = night + dt.timedelta(days=1 if sh < 12 else 0)
            start = local_time(day0, sh, tz)
            end = local_time(day0 + dt.timedelta(days=1 if eh <= sh else 0), eh, tz)
            cells = [j for j in range(risk.slot_index(start), risk.slot_index(end)) if 0 <= j < n_slots and not past[j]]
            if not cells:
                continue
            setup.must_cover.append(
                (i, m.place_id, night, cells, m.by in ("any", "night_walk"), m.by in ("any", "guard"))
            )
    return setup


# ---------------------------------------------------------------------- model
@dataclass
class _Relaxable:
    label: str
    slacks: list[pulp.LpVariable] = field(default_factory=list)


class WeekModel:
    """The PuLP problem for one :class:`WeekSetup`.

    ``elastic=True`` builds the feasibility version: every hard constraint gets a
    penalised slack and the objective is the weighted sum of slacks.
    """

    def __init__(self, setup: WeekSetup, elastic: bool = False) -> None:
        self.s = setup
        self.elastic = elastic
        self.relaxable: dict[str, _Relaxable] = {}
        self.penalty: list[tuple[float, pulp.LpVariable]] = []
        self.prob = pulp.LpProblem(
            f"week_{setup.risk.week.replace('-', '_')}", pulp.LpMinimize if elastic else pulp.LpMaximize
        )
        self._build()

    # -------------------------------------------------------------- helpers
    def _var(
        self, name: str, low: float | None = None, up: float | None = None, cat: str = pulp.LpContinuous
    ) -> pulp.LpVariable:
        """A named variable of the problem (``add_variable`` from PuLP 3.3 on)."""
        add = getattr(self.prob, "add_variable", None)
        if add is not None:
            return add(name, low, up, cat=cat)
        return pulp.LpVariable(name, low, up, cat=cat)

    def _con(
        self,
        name: str,
        expr: pulp.LpAffineExpression,
        sense: str,
        rhs: float,
        key: str | None = None,
        label: str | None = None,
        scale: float = 1.0,
    ) -> None:
        """Add a constraint; with ``key`` it is a hard constraint the elastic model may relax."""
        if self.elastic and key is not None:
            rel = self.relaxable.setdefault(key, _Relaxable(label or key))
            if sense in ("<=", "=="):
                s = self._var(f"slk_{name}_dn", 0)
                expr = expr - s
                rel.slacks.append(s)
                self.penalty.append((1.0 / scale, s))
            if sense in (">=", "=="):
                s = self._var(f"slk_{name}_up", 0)
                expr = expr + s
                rel.slacks.append(s)
                self.penalty.append((1.0 / scale, s))
        if sense == "<=":
            c = expr <= rhs
        elif sense == ">=":
            c = expr >= rhs
        else:
            c = expr == rhs
        self.prob += c, name

    def _build(self) -> None:
        s = self.s
        r = s.resources
        risk = s.risk
        eff = r.effects
        nights = sorted({o.night for o in s.options})
        # ------------------------------------------------------------ walks
        self.x: dict[tuple[str, int], pulp.LpVariable] = {}
        for ai, a in enumerate(r.associations):
            for oi in s.eligible[a.name]:
                self.x[(a.name, oi)] = self._var(f"walk_{ai}_{oi}", cat=pulp.LpBinary)
        for pi, pin, opt in s.pinned_walks:
            if opt is None:  # cannot happen for a validated spec, kept for safety
                continue
            oi = opt
            ai = next(k for k, a in enumerate(r.associations) if a.name == pin.association)
            label = f"pinned[{pi}]: '{pin.association}' walks {pin.area} on the night of {pin.night} ({pin.template})"
            key = (pin.association, oi)
            if key not in self.x:
                self.x[key] = self._var(f"walk_{ai}_{oi}", cat=pulp.LpBinary)
                self._con(
                    f"avail_{ai}_{oi}",
                    pulp.lpSum([self.x[key]]),
                    "<=",
                    0,
                    key=f"avail:{pin.association}:{oi}",
                    label=s.why_not[key],
                )
            self._con(f"pinned_{pi}", pulp.lpSum([self.x[key]]), "==", 1, key=f"pinned:{pi}", label=label)
        by_opt: dict[int, list[pulp.LpVariable]] = defaultdict(list)
        for (_a, oi), v in self.x.items():
            by_opt[oi].append(v)
        max_teams = r.max_teams_per_area_night
        self.teams: dict[int, pulp.LpVariable] = {}
        for oi, vs in by_opt.items():
            t = self._var(f"teams_{oi}", 0, min(len(vs), max_teams), cat=pulp.LpInteger)
            self.teams[oi] = t
            self.prob += (pulp.lpSum(vs) - t == 0), f"teams_link_{oi}"
        # teams per area and night
        groups: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
        for o in s.options:
            if o.idx in self.teams:
                groups[(o.area, o.night)].append(o.idx)
        for gi, ((area, night), ois) in enumerate(sorted(groups.items())):
            if len(ois) > 1:
                self._con(
                    f"area_night_{gi}",
                    pulp.lpSum(self.teams[o] for o in ois),
                    "<=",
                    max_teams,
                    key=f"teams:{area}:{night}",
                    label=f"at most {max_teams} teams in area '{area}' on the night of {night}",
                )
        # one walk per association and night; weekly max / min
        night_of = {o.idx: o.night for o in s.options}
        for ai, a in enumerate(r.associations):
            mine = {oi: v for (n, oi), v in self.x.items() if n == a.name}
            for ni, night in enumerate(nights):
                vs = [v for oi, v in mine.items() if night_of[oi] == night]
                if len(vs) > 1:
                    self.prob += pulp.lpSum(vs) <= 1, f"one_walk_{ai}_{ni}"
            total = pulp.lpSum(mine.values())
            cap = s.cap[a.name]
            cap_label = (
                f"max walks of '{a.name}' this week ({cap}: max_walks_per_week {a.max_walks_per_week}"
                + (
                    f", season max {a.max_walks_per_season} with {a.walks_done} done"
                    if a.max_walks_per_season is not None
                    else ""
                )
                + ")"
            )
            if mine and cap < len(mine):
                self._con(f"assoc_max_{ai}", total, "<=", cap, key=f"assoc_max:{a.name}", label=cap_label)
            if a.min_walks_per_week > 0:
                self._con(
                    f"assoc_min_{ai}",
                    total,
                    ">=",
                    a.min_walks_per_week,
                    key=f"assoc_min:{a.name}",
                    label=f"min walks of '{a.name}' this week ({a.min_walks_per_week}); "
                    f"'{a.name}' can walk on {len(s.eligible[a.name])} of the week's shift options "
                    f"(nights {a.nights})",
                )
        all_walks = pulp.lpSum(self.x.values())
        self._con(
            "quota_week",
            all_walks,
            "==",
            s.share,
            key="quota",
            label=f"week share of the season quota: exactly {s.share} walks this week",
        )
        # fairness (running shares, tolerance one walk)
        fair = r.fairness
        if r.associations and (fair.min_share > 0 or fair.max_share < 1):
            done_total = sum(a.walks_done for a in r.associations)
            for ai, a in enumerate(r.associations):
                mine = pulp.lpSum(v for (n, _), v in self.x.items() if n == a.name)
                if fair.min_share > 0:
                    self._con(
                        f"fair_min_{ai}",
                        mine - fair.min_share * all_walks,
                        ">=",
                        fair.min_share * done_total - a.walks_done - 1,
                        key=f"fair_min:{a.name}",
                        label=f"fairness: '{a.name}' gets at least {fair.min_share:.0%} of the walks",
                    )
                if fair.max_share < 1:
                    self._con(
                        f"fair_max_{ai}",
                        mine - fair.max_share * all_walks,
                        "<=",
                        fair.max_share * done_total - a.walks_done + 1,
                        key=f"fair_max:{a.name}",
                        label=f"fairness: '{a.name}' gets at most {fair.max_share:.0%} of the walks",
                    )
        # ------------------------------------------------------------ guards
        g = r.guard
        self.y: dict[tuple[int, int], pulp.LpVariable] = {}
        for i, j in zip(*np.nonzero(s.guard_ok), strict=True):
            self.y[(int(i), int(j))] = self._var(f"guard_{i}_{j}", cat=pulp.LpBinary)
        for pi, gpin, cells in s.pinned_guards:
            i = s.place_index[gpin.place_id]
            for j in cells:
                if (i, j) not in self.y:
                    self.y[(i, j)] = self._var(f"guard_{i}_{j}", cat=pulp.LpBinary)
                    self._con(
                        f"guard_allowed_{i}_{j}",
                        pulp.lpSum([self.y[(i, j)]]),
                        "<=",
                        0,
                        key=f"guard_allowed:{gpin.place_id}",
                        label=f"guard contract: no guard may be at {gpin.place_id} at "
                        f"{risk.slots[j]:%a %H:%M} (guard.places / guard.hours)",
                    )
                self._con(
                    f"pinned_{pi}_{j}",
                    pulp.lpSum([self.y[(i, j)]]),
                    "==",
                    1,
                    key=f"pinned:{pi}",
                    label=f"pinned[{pi}]: guard at {gpin.place_id} from {gpin.start} for {gpin.hours} h",
                )
        if self.y and g is not None:
            L = g.min_block_hours
            places = sorted({i for i, _ in self.y})
            self.u: dict[tuple[int, int], pulp.LpVariable] = {}
            for i in places:
                js = sorted(j for (ii, j) in self.y if ii == i)
                for j in js:
                    u = self._var(f"gstart_{i}_{j}", cat=pulp.LpBinary)
                    self.u[(i, j)] = u
                    prev = self.y.get((i, j - 1))
                    expr = self.y[(i, j)] - u - (prev if prev is not None else 0)
                    self.prob += expr <= 0, f"gstart_link_{i}_{j}"
                checks = sorted({j + k for j in js for k in range(L)})
                for j in checks:
                    starts = [self.u[(i, k)] for k in range(j - L + 1, j + 1) if (i, k) in self.u]
                    if not starts:
                        continue
                    yv = self.y.get((i, j))
                    self.prob += (pulp.lpSum(starts) - (yv if yv is not None else 0) <= 0), f"gblock_{i}_{j}"
            by_slot: dict[int, list[pulp.LpVariable]] = defaultdict(list)
            for (_i, j), v in self.y.items():
                by_slot[j].append(v)
            for j, vs in sorted(by_slot.items()):
                if len(vs) > g.concurrent_guards:
                    self._con(
                        f"concurrent_{j}",
                        pulp.lpSum(vs),
                        "<=",
                        g.concurrent_guards,
                        key="concurrent",
                        label=f"guard contract: at most {g.concurrent_guards} guard(s) on duty at once",
                    )
            if len(self.y) > s.guard_max_hours:
                self._con(
                    "guard_hours",
                    pulp.lpSum(self.y.values()),
                    "<=",
                    s.guard_max_hours,
                    key="guard_hours",
                    label=f"guard contract: at most {s.guard_max_hours} guard hours a week",
                )
        guard_cost = pulp.lpSum(self.y.values()) * (g.hourly_rate_sek if g else 0.0)
        self.cost = all_walks * r.cost_per_walk_sek + guard_cost
        if s.budget is not None:
            self._con(
                "budget",
                self.cost,
                "<=",
                s.budget,
                key="budget",
                label=f"weekly budget {s.budget:.0f} SEK"
                + (f" left after {s.spent_sek:.0f} SEK spent before the plan was made" if s.spent_sek else "")
                + f" (a walk costs {r.cost_per_walk_sek:.0f} SEK"
                + (f", a guard hour {g.hourly_rate_sek:.0f} SEK, min block {g.min_block_hours} h" if g else "")
                + ")",
                scale=max(1.0, r.cost_per_walk_sek),
            )
        # ------------------------------------------------------------ coverage
        cell_opts: dict[tuple[int, int], list[int]] = defaultdict(list)
        for o in s.options:
            if o.idx not in self.teams:
                continue
            for i in o.places:
                for j in o.slots:
                    cell_opts[(i, j)].append(o.idx)
        for mi, (ci, place, _night, cells, by_walk, by_guard) in enumerate(s.must_cover):
            m = r.must_cover[ci]
            i = s.place_index[place]
            for j in cells:
                terms = []
                if by_walk:
                    terms += [self.teams[o] for o in cell_opts.get((i, j), [])]
                if by_guard and (i, j) in self.y:
                    terms.append(self.y[(i, j)])
                self._con(
                    f"mustcover_{mi}_{j}",
                    pulp.lpSum(terms),
                    ">=",
                    1,
                    key=f"must_cover:{ci}",
                    label=f"must-cover[{ci}] '{m.label}' (by {m.by})",
                )
        if self.elastic:
            self.prob += pulp.lpSum(w * v for w, v in self.penalty), "total_slack"
            return
        obj: dict[pulp.LpVariable, float] = defaultdict(float)
        extra: list[tuple[pulp.LpVariable, float]] = []
        # per place-hour: walk options, walk-curve segments, product variable, walk-curve terms
        self._cells: list[
            tuple[
                int,
                int,
                list[int],
                list[pulp.LpVariable],
                pulp.LpVariable | None,
                float,
                list[tuple[pulp.LpVariable, float]],
            ]
        ] = []
        stack = eff.walk_stacking
        for i, j in sorted(set(cell_opts) | set(self.y)):
            rij = float(risk.risk[i, j])
            if rij <= 0:
                continue
            opts = cell_opts.get((i, j), [])
            maxn = sum(self.teams[o].upBound for o in opts)
            K = min(len(stack), int(maxn))
            yv = self.y.get((i, j))
            walk_terms: list[tuple[pulp.LpVariable, float]] = []  # the walk curve A as (var, coef)
            segs: list[pulp.LpVariable] = []
            if maxn <= 1:
                walk_terms = [(self.teams[o], eff.walk * stack[0]) for o in opts]
            elif K > 1:
                segs = [self._var(f"wseg_{i}_{j}_{k}", 0, 1) for k in range(K)]
                self.prob += (pulp.lpSum(segs) - pulp.lpSum(self.teams[o] for o in opts) <= 0), f"wsegs_{i}_{j}"
                walk_terms = [(segs[k], eff.walk * stack[k]) for k in range(K)]
            for v, c in walk_terms:
                obj[v] += rij * c
            if yv is not None:
                obj[yv] += rij * eff.guard
                if walk_terms and eff.guard > 0:
                    a_max = eff.walk * sum(stack[:K])
                    both = self._var(f"both_{i}_{j}", 0)
                    self.prob += (
                        (both - pulp.lpSum(c * v for v, c in walk_terms) - a_max * yv >= -a_max),
                        f"both_{i}_{j}",
                    )
                    extra.append((both, -rij * eff.guard))
                    self._cells.append((i, j, opts, segs, both, a_max, walk_terms))
                    continue
            if segs:
                self._cells.append((i, j, opts, segs, None, 0.0, walk_terms))
        for v, c in extra:
            obj[v] += c
        self.prob += pulp.LpAffineExpression([(v, c) for v, c in obj.items() if c != 0]), "prevented"

    # -------------------------------------------------------------- solution
    def start_from(self, chosen: list[tuple[str, int]], guard: np.ndarray) -> dict[str, float]:
        """Variable values (by name) of a known plan: walks chosen and guard hours [bool matrix]."""
        out: dict[str, float] = {v.name: 0.0 for v in self.x.values()}
        out.update({v.name: 0.0 for v in self.teams.values()})
        teams: dict[int, int] = defaultdict(int)
        for key in chosen:
            if key in self.x:
                out[self.x[key].name] = 1.0
                teams[key[1]] += 1
        for oi, n in teams.items():
            if oi in self.teams:
                out[self.teams[oi].name] = float(n)
        for (i, j), v in self.y.items():
            on = bool(guard[i, j])
            out[v.name] = float(on)
            u = getattr(self, "u", {}).get((i, j))
            if u is not None:
                out[u.name] = float(on and not (j > 0 and guard[i, j - 1]))
        # the continuous walk-curve and product variables too, so that the start is complete
        # and HiGHS need not solve a sub-MIP to fill them in
        for i, j, opts, segs, both, a_max, walk_terms in self._cells:
            n = sum(teams.get(o, 0) for o in opts)
            for k, v in enumerate(segs):
                out[v.name] = 1.0 if k < n else 0.0
            if both is not None:
                yv = self.y[(i, j)]
                a = sum(c * out.get(v.name, 0.0) for v, c in walk_terms)
                out[both.name] = max(0.0, a - a_max * (1.0 - out.get(yv.name, 0.0)))
        return out

    def walks_chosen(self) -> list[tuple[str, int]]:
        return sorted(k for k, v in self.x.items() if (v.varValue or 0) > 0.5)

    def guard_cells(self) -> list[tuple[int, int]]:
        return sorted(k for k, v in self.y.items() if (v.varValue or 0) > 0.5)


# ---------------------------------------------------------------------- solve
_HIGHS_BANNER_DONE = False


def _silence_highs_banner() -> None:
    """HiGHS prints a copyright banner on stdout the first time a model is made in a process;
    make that first model with stdout pointed at /dev/null so the library never prints."""
    global _HIGHS_BANNER_DONE
    if _HIGHS_BANNER_DONE:
        return
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _HIGHS_BANNER_DONE = True


class _HiGHSWithStart(pulp.HiGHS):  # type: ignore[misc,valid-type]
    """pulp.HiGHS that hands HiGHS a (partial) MIP start before it runs; HiGHS completes it."""

    def __init__(self, start: dict[str, float] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._start = start or {}

    def callSolver(self, lp: pulp.LpProblem) -> None:  # noqa: N802 - PuLP's name
        if self._start:
            idx = [v.index for v in lp.variables() if v.name in self._start]
            val = [float(self._start[v.name]) for v in lp.variables() if v.name in self._start]
            if idx:
                lp.solverModel.setSolution(len(idx), np.asarray(idx, dtype=np.int32), np.asarray(val, dtype=float))
        lp.solverModel.run()


#: HiGHS options. Presolve is off: on these models the root LP nearly closes the gap and
#: presolve took 1-2.5x the rest of the solve (benchmarks/bench_allocation.py, 30-50 places).
HIGHS_OPTIONS: dict[str, object] = {"presolve": "off"}


def _start_is_feasible(prob: pulp.LpProblem, start: dict[str, float], tol: float = 1e-6) -> bool:
    """Set the variables to ``start`` and say whether every named constraint holds.

    The greedy start is built to be feasible, but a start that breaks a rule (e.g. a pinned
    walk beyond the week's quota) must never be handed back as a plan.
    """
    for v in prob.variables():
        v.varValue = start.get(v.name, 0.0)
    constraints = prob.constraints() if callable(prob.constraints) else prob.constraints.values()  # PuLP 3.3+ / older
    return all(c.valid(tol) for c in constraints)


def solve(
    prob: pulp.LpProblem,
    solver: SolverName = "highs",
    time_limit: float | None = None,
    gap: float = 1e-4,
    threads: int | None = None,
    start: dict[str, float] | None = None,
) -> SolverInfo:
    """Solve ``prob`` in place; returns status, gap and time. Raises on no solution at all.

    ``start``: values of some variables by name (a known feasible plan, e.g. the greedy
    baseline) that HiGHS starts from, so a time-out still returns at least that plan.
    """
    t0 = time.perf_counter()
    if solver == "highs":
        cmd = _HiGHSWithStart(start, msg=False, gapRel=gap, timeLimit=time_limit, threads=threads, **HIGHS_OPTIONS)
        if not cmd.available():  # fall back to CBC (shipped with pulp<4)
            return solve(prob, "cbc", time_limit, gap, threads)
        _silence_highs_banner()
        prob.solve(cmd)
        seconds = time.perf_counter() - t0
        hs = prob.solverModel
        ms = hs.getModelStatus()
        info = hs.getInfo()
        import highspy

        S = highspy.HighsModelStatus
        if ms == S.kInfeasible or ms == S.kUnboundedOrInfeasible:
            return SolverInfo("highs", "infeasible", math.inf, round(seconds, 3))
        has_sol = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
        if ms == S.kOptimal:
            status = "optimal"
        elif ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit) and has_sol:
            status = "time_limit"
        elif ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit) and start and _start_is_feasible(prob, start):
            # stopped before HiGHS even took up the start: the start, checked against every
            # constraint of the model, is the answer
            return SolverInfo("highs", "time_limit", math.inf, round(seconds, 3))
        else:
            raise SolverError(
                f"HiGHS stopped without a plan (status {hs.modelStatusToString(ms)}): "
                "raise --time-limit or simplify the resources"
            )
        mip_gap = float(info.mip_gap)
        if not math.isfinite(mip_gap) or mip_gap < 0:
            mip_gap = 0.0 if status == "optimal" else math.inf
        bound = float(info.mip_dual_bound) if math.isfinite(float(info.mip_dual_bound)) else None
        return SolverInfo("highs", status, mip_gap, round(seconds, 3), None if bound is None else abs(bound))
    if solver == "cbc":
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "cbc.log"
            with warnings.catch_warnings():  # PuLP 3.x announces CBC's removal in PuLP 4 (pinned <4)
                warnings.simplefilter("ignore", DeprecationWarning)
                cmd = pulp.PULP_CBC_CMD(msg=False, gapRel=gap, timeLimit=time_limit, threads=threads, logPath=str(log))
            if not cmd.available():
                raise SolverError("CBC is not available (it ships with pulp<4), or use --solver highs")
            prob.solve(cmd)
            seconds = time.perf_counter() - t0
            text = log.read_text(errors="replace") if log.exists() else ""
        if prob.status == pulp.LpStatusInfeasible:
            return SolverInfo("cbc", "infeasible", math.inf, round(seconds, 3))
        if prob.sol_status == pulp.LpSolutionOptimal:
            status = "optimal"
        elif prob.sol_status == pulp.LpSolutionIntegerFeasible:
            status = "time_limit"
        else:
            raise SolverError(
                f"CBC stopped without a plan (status {pulp.LpStatus[prob.status]}): "
                "raise --time-limit or use --solver highs"
            )
        m = re.search(r"^Gap:\s+([0-9.eE+-]+)", text, re.M)
        cbc_gap = float(m.group(1)) if m else (0.0 if status == "optimal" else math.inf)
        if "Stopped on time" in text and status == "optimal":
            status = "time_limit"
        return SolverInfo("cbc", status, cbc_gap, round(seconds, 3))
    raise SolverError(f"unknown solver {solver!r}: use 'highs' or 'cbc'")


def diagnose(setup: WeekSetup, solver: SolverName = "highs", max_rounds: int = 4) -> list[str]:
    """Name the hard constraints that conflict, with the solver's help.

    Solves the elastic model (every hard constraint with a penalised slack) and reports the
    constraints whose slack is used; then, for each of them, solves again with that one kept
    hard to find what it clashes with. Returns human-readable labels, most important first.
    """
    found: dict[str, str] = {}  # label -> key
    model = WeekModel(setup, elastic=True)
    info = solve(model.prob, solver)
    if info.status == "infeasible":
        return [
            "structural: even with every listed constraint relaxed there is no plan "
            "(check the guard minimum block against the allowed guard hours and pinned guard shifts)"
        ]
    used = [k for k, rel in model.relaxable.items() if any((v.varValue or 0) > 1e-6 for v in rel.slacks)]
    for k in used:
        found.setdefault(model.relaxable[k].label, k)
    for k in used[:max_rounds]:
        m2 = WeekModel(setup, elastic=True)
        for v in m2.relaxable[k].slacks:
            v.upBound = 0
        i2 = solve(m2.prob, solver)
        if i2.status == "infeasible":
            continue
        for k2, rel in m2.relaxable.items():
            if k2 != k and any((v.varValue or 0) > 1e-6 for v in rel.slacks):
                found.setdefault(rel.label, k2)
    return sorted(found, key=lambda label: (_CONFLICT_ORDER.index(found[label].split(":")[0]), label))


_CONFLICT_ORDER = (
    "quota",
    "budget",
    "must_cover",
    "pinned",
    "avail",
    "assoc_min",
    "assoc_max",
    "teams",
    "fair_min",
    "fair_max",
    "guard_allowed",
    "guard_hours",
    "concurrent",
)


def raise_infeasible(setup: WeekSetup, solver: SolverName) -> None:
    conflicts = diagnose(setup, solver)
    raise InfeasiblePlanError(
        f"no plan for {setup.risk.week} satisfies every constraint; conflicting: "
        + "; ".join(conflicts)
        + " -> relax one of them (more walks or budget, other nights, fewer must-cover hours)",
        conflicts,
    )
