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


@dataclass(frozen=True)
class PinnedWalkOption:
    """A pinned walk of the spec (``spec_index`` in ``resources.pinned``) and the option it takes."""

    spec_index: int
    pin: PinnedWalk
    option: int | None


@dataclass(frozen=True)
class PinnedGuardSlots:
    """A pinned guard block of the spec and the week's slots it holds."""

    spec_index: int
    pin: PinnedGuard
    slots: list[int]


@dataclass(frozen=True)
class MustCoverSlots:
    """One night of a must-cover window (``spec_index`` in ``resources.must_cover``): the place's slots
    that must be covered, and which presence counts."""

    spec_index: int
    place_id: str
    night: dt.date
    slots: list[int]
    by_walk: bool
    by_guard: bool


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
    pinned_walks: list[PinnedWalkOption] = field(default_factory=list)
    pinned_guards: list[PinnedGuardSlots] = field(default_factory=list)
    must_cover: list[MustCoverSlots] = field(default_factory=list)
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
                setup.pinned_walks.append(PinnedWalkOption(i, pin, oi))
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
                setup.pinned_guards.append(PinnedGuardSlots(i, pin, inside))
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
                MustCoverSlots(i, m.place_id, night, cells, m.by in ("any", "night_walk"), m.by in ("any", "guard"))
            )
    return setup


# ---------------------------------------------------------------------- model
@dataclass
class CoverageCell:
    """A place-hour of the objective with more than a plain weight: its walk-curve segments and the
    guard-and-walk product variable, which a MIP start must fill in too."""

    place: int
    slot: int
    options: list[int]
    segments: list[pulp.LpVariable]
    both: pulp.LpVariable | None
    walk_max: float  # largest walk reduction possible here [0-1]
    walk_terms: list[tuple[pulp.LpVariable, float]]  # the walk curve as (variable, coefficient)


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
        """The problem in named steps: walk decisions and their rules, guard decisions and their rules,
        the money, must-cover windows, then the objective (skipped by the elastic model)."""
        self._walk_variables()
        self._pinned_walks()
        self._team_variables()
        self._teams_per_area_night()
        self._association_limits()
        self._week_quota()
        self._fairness()
        self._guard_variables()
        self._pinned_guards()
        self._guard_blocks()
        self._guard_limits()
        self._budget()
        options_of_cell = self._options_of_cells()
        self._must_cover(options_of_cell)
        if self.elastic:
            self.prob += pulp.lpSum(w * v for w, v in self.penalty), "total_slack"
            return
        self._objective(options_of_cell)

    # -------------------------------------------------------------- walks
    def _association_index(self, name: str) -> int:
        return next(k for k, a in enumerate(self.s.resources.associations) if a.name == name)

    def _walk_variables(self) -> None:
        """``walk_{a}_{o}``: association ``a`` walks option ``o`` (only options it may walk)."""
        self.x: dict[tuple[str, int], pulp.LpVariable] = {}
        for ai, association in enumerate(self.s.resources.associations):
            for oi in self.s.eligible[association.name]:
                self.x[(association.name, oi)] = self._var(f"walk_{ai}_{oi}", cat=pulp.LpBinary)

    def _pinned_walks(self) -> None:
        """A pinned walk is walked; when its association is not available for it, that rule is a
        (relaxable) constraint of its own, so a conflict names it."""
        for pinned in self.s.pinned_walks:
            if pinned.option is None:  # cannot happen for a validated spec, kept for safety
                continue
            pin, oi = pinned.pin, pinned.option
            ai = self._association_index(pin.association)
            key = (pin.association, oi)
            if key not in self.x:
                self.x[key] = self._var(f"walk_{ai}_{oi}", cat=pulp.LpBinary)
                self._con(
                    f"avail_{ai}_{oi}",
                    pulp.lpSum([self.x[key]]),
                    "<=",
                    0,
                    key=f"avail:{pin.association}:{oi}",
                    label=self.s.why_not[key],
                )
            self._con(
                f"pinned_{pinned.spec_index}",
                pulp.lpSum([self.x[key]]),
                "==",
                1,
                key=f"pinned:{pinned.spec_index}",
                label=f"pinned[{pinned.spec_index}]: '{pin.association}' walks {pin.area} on the night of "
                f"{pin.night} ({pin.template})",
            )

    def _team_variables(self) -> None:
        """``teams_{o}``: the number of teams on option ``o`` (the sum of its walk variables)."""
        by_option: dict[int, list[pulp.LpVariable]] = defaultdict(list)
        for (_association, oi), variable in self.x.items():
            by_option[oi].append(variable)
        max_teams = self.s.resources.max_teams_per_area_night
        self.teams: dict[int, pulp.LpVariable] = {}
        for oi, walks in by_option.items():
            teams = self._var(f"teams_{oi}", 0, min(len(walks), max_teams), cat=pulp.LpInteger)
            self.teams[oi] = teams
            self.prob += (pulp.lpSum(walks) - teams == 0), f"teams_link_{oi}"

    def _teams_per_area_night(self) -> None:
        max_teams = self.s.resources.max_teams_per_area_night
        groups: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
        for option in self.s.options:
            if option.idx in self.teams:
                groups[(option.area, option.night)].append(option.idx)
        for gi, ((area, night), options) in enumerate(sorted(groups.items())):
            if len(options) > 1:
                self._con(
                    f"area_night_{gi}",
                    pulp.lpSum(self.teams[o] for o in options),
                    "<=",
                    max_teams,
                    key=f"teams:{area}:{night}",
                    label=f"at most {max_teams} teams in area '{area}' on the night of {night}",
                )

    def _walks_of(self, association: str) -> dict[int, pulp.LpVariable]:
        return {oi: v for (name, oi), v in self.x.items() if name == association}

    def _association_limits(self) -> None:
        """One walk per association and night; each association's weekly maximum and minimum."""
        setup = self.s
        nights = sorted({o.night for o in setup.options})
        night_of = {o.idx: o.night for o in setup.options}
        for ai, association in enumerate(setup.resources.associations):
            mine = self._walks_of(association.name)
            for ni, night in enumerate(nights):
                that_night = [v for oi, v in mine.items() if night_of[oi] == night]
                if len(that_night) > 1:
                    self.prob += pulp.lpSum(that_night) <= 1, f"one_walk_{ai}_{ni}"
            total = pulp.lpSum(mine.values())
            cap = setup.cap[association.name]
            season_max = (
                f", season max {association.max_walks_per_season} with {association.walks_done} done"
                if association.max_walks_per_season is not None
                else ""
            )
            if mine and cap < len(mine):
                self._con(
                    f"assoc_max_{ai}",
                    total,
                    "<=",
                    cap,
                    key=f"assoc_max:{association.name}",
                    label=f"max walks of '{association.name}' this week ({cap}: max_walks_per_week "
                    f"{association.max_walks_per_week}{season_max})",
                )
            if association.min_walks_per_week > 0:
                self._con(
                    f"assoc_min_{ai}",
                    total,
                    ">=",
                    association.min_walks_per_week,
                    key=f"assoc_min:{association.name}",
                    label=f"min walks of '{association.name}' this week ({association.min_walks_per_week}); "
                    f"'{association.name}' can walk on {len(setup.eligible[association.name])} of the week's "
                    f"shift options (nights {association.nights})",
                )

    def _week_quota(self) -> None:
        self.all_walks = pulp.lpSum(self.x.values())
        self._con(
            "quota_week",
            self.all_walks,
            "==",
            self.s.share,
            key="quota",
            label=f"week share of the season quota: exactly {self.s.share} walks this week",
        )

    def _fairness(self) -> None:
        """Running shares of the walks (done this season plus planned), with a tolerance of one walk."""
        resources = self.s.resources
        fair = resources.fairness
        if not resources.associations or (fair.min_share <= 0 and fair.max_share >= 1):
            return
        done_total = sum(a.walks_done for a in resources.associations)
        for ai, association in enumerate(resources.associations):
            mine = pulp.lpSum(self._walks_of(association.name).values())
            if fair.min_share > 0:
                self._con(
                    f"fair_min_{ai}",
                    mine - fair.min_share * self.all_walks,
                    ">=",
                    fair.min_share * done_total - association.walks_done - 1,
                    key=f"fair_min:{association.name}",
                    label=f"fairness: '{association.name}' gets at least {fair.min_share:.0%} of the walks",
                )
            if fair.max_share < 1:
                self._con(
                    f"fair_max_{ai}",
                    mine - fair.max_share * self.all_walks,
                    "<=",
                    fair.max_share * done_total - association.walks_done + 1,
                    key=f"fair_max:{association.name}",
                    label=f"fairness: '{association.name}' gets at most {fair.max_share:.0%} of the walks",
                )

    # -------------------------------------------------------------- guards
    def _guard_variables(self) -> None:
        """``guard_{p}_{j}``: a guard at place ``p`` in slot ``j`` (only where the contract allows)."""
        self.y: dict[tuple[int, int], pulp.LpVariable] = {}
        for place, slot in zip(*np.nonzero(self.s.guard_ok), strict=True):
            self.y[(int(place), int(slot))] = self._var(f"guard_{place}_{slot}", cat=pulp.LpBinary)

    def _pinned_guards(self) -> None:
        """A pinned guard hour is held; an hour the contract does not allow is a relaxable rule of its own."""
        setup = self.s
        for pinned in setup.pinned_guards:
            pin = pinned.pin
            place = setup.place_index[pin.place_id]
            for slot in pinned.slots:
                if (place, slot) not in self.y:
                    self.y[(place, slot)] = self._var(f"guard_{place}_{slot}", cat=pulp.LpBinary)
                    self._con(
                        f"guard_allowed_{place}_{slot}",
                        pulp.lpSum([self.y[(place, slot)]]),
                        "<=",
                        0,
                        key=f"guard_allowed:{pin.place_id}",
                        label=f"guard contract: no guard may be at {pin.place_id} at "
                        f"{setup.risk.slots[slot]:%a %H:%M} (guard.places / guard.hours)",
                    )
                self._con(
                    f"pinned_{pinned.spec_index}_{slot}",
                    pulp.lpSum([self.y[(place, slot)]]),
                    "==",
                    1,
                    key=f"pinned:{pinned.spec_index}",
                    label=f"pinned[{pinned.spec_index}]: guard at {pin.place_id} from {pin.start} for {pin.hours} h",
                )

    def _guard_blocks(self) -> None:
        """Blocks of at least ``min_block_hours``: ``gstart_{p}_{j}`` marks a block's first hour, and a
        start in the last ``min_block_hours`` hours keeps the guard on (min-up-time formulation of
        Rajan & Takriti 2005, the convex hull for one place)."""
        self.u: dict[tuple[int, int], pulp.LpVariable] = {}
        contract = self.s.resources.guard
        if not self.y or contract is None:
            return
        min_block = contract.min_block_hours
        for place in sorted({p for p, _ in self.y}):
            slots = sorted(j for (p, j) in self.y if p == place)
            for slot in slots:
                start = self._var(f"gstart_{place}_{slot}", cat=pulp.LpBinary)
                self.u[(place, slot)] = start
                before = self.y.get((place, slot - 1))
                expr = self.y[(place, slot)] - start - (before if before is not None else 0)
                self.prob += expr <= 0, f"gstart_link_{place}_{slot}"
            for slot in sorted({j + k for j in slots for k in range(min_block)}):
                starts = [self.u[(place, k)] for k in range(slot - min_block + 1, slot + 1) if (place, k) in self.u]
                if not starts:
                    continue
                on = self.y.get((place, slot))
                self.prob += (pulp.lpSum(starts) - (on if on is not None else 0) <= 0), f"gblock_{place}_{slot}"

    def _guard_limits(self) -> None:
        """Guards on duty at once, and guard hours a week."""
        contract = self.s.resources.guard
        if not self.y or contract is None:
            return
        by_slot: dict[int, list[pulp.LpVariable]] = defaultdict(list)
        for (_place, slot), variable in self.y.items():
            by_slot[slot].append(variable)
        for slot, on_duty in sorted(by_slot.items()):
            if len(on_duty) > contract.concurrent_guards:
                self._con(
                    f"concurrent_{slot}",
                    pulp.lpSum(on_duty),
                    "<=",
                    contract.concurrent_guards,
                    key="concurrent",
                    label=f"guard contract: at most {contract.concurrent_guards} guard(s) on duty at once",
                )
        if len(self.y) > self.s.guard_max_hours:
            self._con(
                "guard_hours",
                pulp.lpSum(self.y.values()),
                "<=",
                self.s.guard_max_hours,
                key="guard_hours",
                label=f"guard contract: at most {self.s.guard_max_hours} guard hours a week",
            )

    # -------------------------------------------------------------- money
    def _budget(self) -> None:
        """``cost`` [SEK] of the walks and guard hours, within what is left of the weekly budget."""
        setup, resources = self.s, self.s.resources
        contract = resources.guard
        guard_cost = pulp.lpSum(self.y.values()) * (contract.hourly_rate_sek if contract else 0.0)
        self.cost = self.all_walks * resources.cost_per_walk_sek + guard_cost
        if setup.budget is None:
            return
        spent = f" left after {setup.spent_sek:.0f} SEK spent before the plan was made" if setup.spent_sek else ""
        guard_terms = (
            f", a guard hour {contract.hourly_rate_sek:.0f} SEK, min block {contract.min_block_hours} h"
            if contract
            else ""
        )
        self._con(
            "budget",
            self.cost,
            "<=",
            setup.budget,
            key="budget",
            label=f"weekly budget {setup.budget:.0f} SEK{spent} (a walk costs {resources.cost_per_walk_sek:.0f} SEK"
            f"{guard_terms})",
            scale=max(1.0, resources.cost_per_walk_sek),
        )

    # -------------------------------------------------------------- coverage
    def _options_of_cells(self) -> dict[tuple[int, int], list[int]]:
        """The walk options (that some association may walk) covering each place-hour."""
        options_of_cell: dict[tuple[int, int], list[int]] = defaultdict(list)
        for option in self.s.options:
            if option.idx not in self.teams:
                continue
            for place in option.places:
                for slot in option.slots:
                    options_of_cell[(place, slot)].append(option.idx)
        return options_of_cell

    def _must_cover(self, options_of_cell: dict[tuple[int, int], list[int]]) -> None:
        setup = self.s
        for mi, window in enumerate(setup.must_cover):
            spec = setup.resources.must_cover[window.spec_index]
            place = setup.place_index[window.place_id]
            for slot in window.slots:
                terms = []
                if window.by_walk:
                    terms += [self.teams[o] for o in options_of_cell.get((place, slot), [])]
                if window.by_guard and (place, slot) in self.y:
                    terms.append(self.y[(place, slot)])
                self._con(
                    f"mustcover_{mi}_{slot}",
                    pulp.lpSum(terms),
                    ">=",
                    1,
                    key=f"must_cover:{window.spec_index}",
                    label=f"must-cover[{window.spec_index}] '{spec.label}' (by {spec.by})",
                )

    def _objective(self, options_of_cell: dict[tuple[int, int], list[int]]) -> None:
        """Expected incidents prevented: per place-hour the risk times the walk curve (concave, by
        ``wseg`` segments when more than one team can be there) and the guard effect, with the product
        of the two linearised exactly (``both``)."""
        effects = self.s.resources.effects
        stacking = effects.walk_stacking
        weights: dict[pulp.LpVariable, float] = defaultdict(float)
        self._cells: list[CoverageCell] = []
        for place, slot in sorted(set(options_of_cell) | set(self.y)):
            risk = float(self.s.risk.risk[place, slot])
            if risk <= 0:
                continue
            options = options_of_cell.get((place, slot), [])
            max_teams = sum(self.teams[o].upBound for o in options)
            segment_count = min(len(stacking), int(max_teams))
            segments: list[pulp.LpVariable] = []
            if max_teams <= 1:
                walk_terms = [(self.teams[o], effects.walk * stacking[0]) for o in options]
            elif segment_count > 1:
                segments = [self._var(f"wseg_{place}_{slot}_{k}", 0, 1) for k in range(segment_count)]
                self.prob += (
                    (pulp.lpSum(segments) - pulp.lpSum(self.teams[o] for o in options) <= 0),
                    f"wsegs_{place}_{slot}",
                )
                walk_terms = [(segments[k], effects.walk * stacking[k]) for k in range(segment_count)]
            else:
                walk_terms = []
            for variable, coefficient in walk_terms:
                weights[variable] += risk * coefficient
            guard = self.y.get((place, slot))
            both = None
            walk_max = 0.0
            if guard is not None:
                weights[guard] += risk * effects.guard
                if walk_terms and effects.guard > 0:
                    walk_max = effects.walk * sum(stacking[:segment_count])
                    both = self._var(f"both_{place}_{slot}", 0)
                    self.prob += (
                        (both - pulp.lpSum(c * v for v, c in walk_terms) - walk_max * guard >= -walk_max),
                        f"both_{place}_{slot}",
                    )
                    weights[both] -= risk * effects.guard
            if segments or both is not None:
                self._cells.append(CoverageCell(place, slot, options, segments, both, walk_max, walk_terms))
        self.prob += pulp.LpAffineExpression([(v, c) for v, c in weights.items() if c != 0]), "prevented"

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
            u = self.u.get((i, j))
            if u is not None:
                out[u.name] = float(on and not (j > 0 and guard[i, j - 1]))
        # the continuous walk-curve and product variables too, so that the start is complete
        # and HiGHS need not solve a sub-MIP to fill them in
        for cell in self._cells:
            n = sum(teams.get(o, 0) for o in cell.options)
            for k, v in enumerate(cell.segments):
                out[v.name] = 1.0 if k < n else 0.0
            if cell.both is not None:
                guard_on = out.get(self.y[(cell.place, cell.slot)].name, 0.0)
                walk_reduction = sum(c * out.get(v.name, 0.0) for v, c in cell.walk_terms)
                out[cell.both.name] = max(0.0, walk_reduction - cell.walk_max * (1.0 - guard_on))
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
