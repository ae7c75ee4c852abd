"""Check a plan against the resources spec, independently of the MILP that made it.

Used by the tests (every solved plan must pass) and useful for a hand-edited plan:
:func:`violations` returns one sentence per broken rule, empty when the plan is valid.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pandas as pd

from tryggplan.allocation.plan import Plan, Shift
from tryggplan.allocation.spec import WEEKDAYS, PinnedGuard, PinnedWalk, Resources, local_time
from tryggplan.timeutil import parse_iso_week


def _utc_hours(start: str, end: str) -> list[pd.Timestamp]:
    first = pd.Timestamp(start).tz_convert("UTC")
    last = pd.Timestamp(end).tz_convert("UTC")
    return list(pd.date_range(first, last, freq="h", inclusive="left"))


@dataclass
class _Audit:
    """A plan, its spec and what the checks share: the week's nights and boundaries, the shifts by
    kind, and the place-hours walks and guards cover."""

    plan: Plan
    resources: Resources
    week_nights: set[dt.date]
    week_start: pd.Timestamp  # UTC
    week_end: pd.Timestamp  # UTC
    walks: list[Shift]
    guards: list[Shift]
    #: the moment the plan was made (UTC): pins and must-cover hours before it are history
    cutoff: pd.Timestamp | None
    walks_per_association: Counter[str] = field(default_factory=Counter)
    guards_on_duty: dict[pd.Timestamp, set[str]] = field(default_factory=lambda: defaultdict(set))
    found: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, plan: Plan, resources: Resources) -> _Audit:
        monday = parse_iso_week(plan.week)
        return cls(
            plan=plan,
            resources=resources,
            week_nights={monday + dt.timedelta(days=k) for k in range(7)},
            week_start=local_time(monday, 0, resources.tz).tz_convert("UTC"),
            week_end=local_time(monday + dt.timedelta(days=7), 0, resources.tz).tz_convert("UTC"),
            walks=[s for s in plan.shifts if s.kind == "night_walk"],
            guards=[s for s in plan.shifts if s.kind == "guard"],
            cutoff=pd.Timestamp(plan.planned_from).tz_convert("UTC") if plan.planned_from else None,
        )


def violations(plan: Plan, resources: Resources, walks: int | None = None) -> list[str]:
    """Every hard constraint the plan breaks (quota, budget, availability, templates, guard
    rules, pinned shifts, must-cover windows, nothing before the plan's ``planned_from``), as
    sentences. The budget is the weekly budget less the plan's ``spent_sek``."""
    audit = _Audit.of(plan, resources)
    _nothing_before_the_plan(audit)
    _quota_and_money(audit, walks)
    _walk_rules(audit)
    _association_limits(audit)
    _guard_rules(audit)
    _fairness(audit)
    _pinned_shifts_kept(audit)
    _must_cover(audit)
    return audit.found


def _nothing_before_the_plan(audit: _Audit) -> None:
    if audit.cutoff is None:
        return
    for shift in audit.plan.shifts:
        if pd.Timestamp(shift.start) < audit.cutoff:
            audit.found.append(
                f"past: {shift.kind} {shift.association or shift.place_ids} starts {shift.start}, "
                f"before {audit.plan.planned_from}"
            )


def _quota_and_money(audit: _Audit, walks: int | None) -> None:
    plan, resources = audit.plan, audit.resources
    share = walks if walks is not None else plan.walks_share
    if len(audit.walks) != share:
        audit.found.append(f"quota: {len(audit.walks)} walks planned, the week's share is {share}")
    cost = sum(s.cost_sek for s in plan.shifts)
    if abs(cost - plan.cost_sek) > 1e-6:
        audit.found.append(f"cost: shifts add up to {cost}, plan says {plan.cost_sek}")
    budget = resources.weekly_budget_sek
    if budget is not None and cost > max(0.0, budget - plan.spent_sek) + 1e-6:
        audit.found.append(f"budget: {cost:.0f} SEK > {budget:.0f} SEK - {plan.spent_sek:.0f} SEK spent")


def _is_pinned_walk(resources: Resources, shift: Shift, night: dt.date) -> bool:
    return any(
        isinstance(pin, PinnedWalk)
        and pin.association == shift.association
        and pin.night == night
        and pin.template == shift.template
        and pin.area == shift.area
        for pin in resources.pinned
    )


def _walk_rules(audit: _Audit) -> None:
    """Each walk: inside the week, by an available association (unless pinned), at its template's
    time, over its area's places; one walk per association and night; teams per area and night."""
    resources = audit.resources
    per_night: Counter[tuple[str, str]] = Counter()
    teams: Counter[tuple[str, str]] = Counter()
    for shift in audit.walks:
        assert shift.association is not None and shift.night is not None and shift.template is not None
        association = resources.association(shift.association)
        night = dt.date.fromisoformat(shift.night)
        audit.walks_per_association[association.name] += 1
        per_night[(association.name, shift.night)] += 1
        teams[(shift.area or "", shift.night)] += 1
        if night not in audit.week_nights:
            audit.found.append(f"walk of {association.name} on {night} is outside {audit.plan.week}")
        if not _is_pinned_walk(resources, shift, night):
            if WEEKDAYS[night.weekday()] not in association.nights or night in association.unavailable_dates:
                audit.found.append(f"availability: {association.name} walks the night of {night} but is not available")
            if association.templates is not None and shift.template not in association.templates:
                audit.found.append(f"availability: {association.name} walks template {shift.template}")
            if association.areas is not None and shift.area not in association.areas:
                audit.found.append(f"availability: {association.name} walks area {shift.area}")
        template = resources.template(shift.template)
        start = local_time(night + dt.timedelta(days=template.night_offset_days), template.start_hour, resources.tz)
        if pd.Timestamp(shift.start) != start:
            audit.found.append(
                f"template: walk of {association.name} starts {shift.start}, template {template.name} says {start}"
            )
        if sorted(shift.place_ids) != sorted(resources.area(shift.area or "").place_ids):
            audit.found.append(f"area: walk of {association.name} lists {shift.place_ids}")
    audit.found += [f"{name} walks twice on the night of {night}" for (name, night), n in per_night.items() if n > 1]
    audit.found += [
        f"{n} teams in {area} on {night}"
        for (area, night), n in teams.items()
        if n > resources.max_teams_per_area_night
    ]


def _association_limits(audit: _Audit) -> None:
    for association in audit.resources.associations:
        cap = association.max_walks_per_week
        if association.max_walks_per_season is not None:
            cap = min(cap, association.max_walks_per_season - association.walks_done)
        walked = audit.walks_per_association[association.name]
        if walked > max(cap, 0):
            audit.found.append(f"max: {association.name} walks {walked} times, at most {cap}")
        if walked < association.min_walks_per_week:
            audit.found.append(
                f"min: {association.name} walks {walked} times, at least {association.min_walks_per_week}"
            )


def _pinned_guard_hours(resources: Resources, cutoff: pd.Timestamp | None) -> set[tuple[str, pd.Timestamp]]:
    """(place, UTC hour) of every pinned guard hour (blocks that started before ``cutoff`` are history)."""
    hours = set()
    for pin in resources.pinned:
        if isinstance(pin, PinnedGuard):
            start = pd.Timestamp(pin.start)
            start = (
                start.tz_convert(resources.tz) if start.tzinfo else local_time(start.date(), start.hour, resources.tz)
            )
            if cutoff is not None and start < cutoff:
                continue
            for k in range(pin.hours):
                hours.add((pin.place_id, start.tz_convert("UTC") + pd.Timedelta(hours=k)))
    return hours


def _guard_rules(audit: _Audit) -> None:
    """Guard blocks: a contract, the minimum block, the hourly rate, allowed places and hours, inside
    the week; weekly hours, guards on duty at once, named guards that never overlap."""
    resources = audit.resources
    contract = resources.guard
    pinned = _pinned_guard_hours(resources, audit.cutoff)
    hours = 0
    for shift in audit.guards:
        if contract is None:
            audit.found.append("a guard shift but no guard contract")
            continue
        slots = _utc_hours(shift.start, shift.end)
        hours += len(slots)
        if len(slots) < contract.min_block_hours:
            audit.found.append(
                f"guard block at {shift.place_ids} from {shift.start} is {len(slots)} h < {contract.min_block_hours} h"
            )
        if abs(shift.cost_sek - len(slots) * contract.hourly_rate_sek) > 1e-6:
            audit.found.append(f"guard block cost {shift.cost_sek} != {len(slots)} h x {contract.hourly_rate_sek}")
        for place_id in shift.place_ids:
            for hour in slots:
                if (place_id, hour) in pinned:
                    continue
                if contract.places is not None and place_id not in contract.places:
                    audit.found.append(f"guard at {place_id}, which is not in guard.places")
                if hour.tz_convert(resources.tz).hour not in contract.hours:
                    audit.found.append(f"guard at {place_id} at {hour.tz_convert(resources.tz)}, outside guard.hours")
                if not audit.week_start <= hour < audit.week_end:
                    audit.found.append(f"guard hour {hour} outside {audit.plan.week}")
            for hour in slots:
                audit.guards_on_duty[hour].add(place_id)
    if contract is None:
        return
    if hours > contract.max_hours_per_week:
        audit.found.append(f"guard hours {hours} > weekly max {contract.max_hours_per_week}")
    busy = [hour for hour, places in audit.guards_on_duty.items() if len(places) > contract.concurrent_guards]
    if busy:
        audit.found.append(f"{len(busy)} hours with more than {contract.concurrent_guards} guards on duty")
    names = sorted({s.guard or "" for s in audit.guards})
    if len(names) > contract.concurrent_guards:
        audit.found.append(f"{len(names)} guards named ({names}) but only {contract.concurrent_guards} on contract")
    for name in names:
        blocks = sorted((pd.Timestamp(s.start), pd.Timestamp(s.end)) for s in audit.guards if s.guard == name)
        if any(next_start < end for (_, end), (next_start, _) in zip(blocks, blocks[1:], strict=False)):
            audit.found.append(f"{name} has overlapping blocks")


def _fairness(audit: _Audit) -> None:
    """Running shares of the walks, with a tolerance of one walk."""
    resources = audit.resources
    fair = resources.fairness
    if not resources.associations or (fair.min_share <= 0 and fair.max_share >= 1):
        return
    total = sum(a.walks_done for a in resources.associations) + len(audit.walks)
    for association in resources.associations:
        mine = association.walks_done + audit.walks_per_association[association.name]
        if mine < fair.min_share * total - 1 - 1e-9 or mine > fair.max_share * total + 1 + 1e-9:
            audit.found.append(f"fairness: {association.name} has {mine} of {total} walks")


def _pinned_shifts_kept(audit: _Audit) -> None:
    resources = audit.resources
    for index, pin in enumerate(resources.pinned):
        if isinstance(pin, PinnedWalk) and pin.night in audit.week_nights:
            started = resources.template(pin.template).window(pin.night, resources.tz)[0]
            if audit.cutoff is not None and started < audit.cutoff:
                continue  # started before the plan was made: left out
            kept = any(
                s.association == pin.association
                and s.night == pin.night.isoformat()
                and s.template == pin.template
                and s.area == pin.area
                for s in audit.walks
            )
            if not kept:
                audit.found.append(f"pinned[{index}] walk missing")
    for place_id, hour in _pinned_guard_hours(resources, audit.cutoff):
        if audit.week_start <= hour < audit.week_end and place_id not in audit.guards_on_duty.get(hour, set()):
            audit.found.append(f"pinned guard hour at {place_id} {hour} missing")


def _must_cover(audit: _Audit) -> None:
    resources = audit.resources
    walked: Counter[tuple[str, pd.Timestamp]] = Counter()
    for shift in audit.walks:
        for hour in _utc_hours(shift.start, shift.end):
            for place_id in shift.place_ids:
                walked[(place_id, hour)] += 1
    for index, window in enumerate(resources.must_cover):
        for night in sorted(audit.week_nights):
            if (window.dates is not None and night not in window.dates) or (
                window.dates is None and WEEKDAYS[night.weekday()] not in window.nights
            ):
                continue
            start_hour, end_hour = int(window.start[:2]), int(window.end[:2])
            first_day = night + dt.timedelta(days=1 if start_hour < 12 else 0)
            start = local_time(first_day, start_hour, resources.tz)
            end = local_time(first_day + dt.timedelta(days=1 if end_hour <= start_hour else 0), end_hour, resources.tz)
            for hour in _utc_hours(start.isoformat(), end.isoformat()):
                if audit.cutoff is not None and hour < audit.cutoff:
                    continue
                by_walk = window.by in ("any", "night_walk") and walked.get((window.place_id, hour), 0) > 0
                by_guard = window.by in ("any", "guard") and window.place_id in audit.guards_on_duty.get(hour, set())
                if not (by_walk or by_guard):
                    audit.found.append(
                        f"must_cover[{index}] {window.place_id} not covered at {hour.tz_convert(resources.tz)}"
                    )
