"""Check a plan against the resources spec, independently of the MILP that made it.

Used by the tests (every solved plan must pass) and useful for a hand-edited plan:
:func:`violations` returns one sentence per broken rule, empty when the plan is valid.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pandas as pd

from tryggplan.allocation.model import local_time
from tryggplan.allocation.plan import Plan
from tryggplan.allocation.spec import WEEKDAYS, PinnedGuard, PinnedWalk, Resources
from tryggplan.timeutil import parse_iso_week


def _utc_hours(start: str, end: str) -> list[pd.Timestamp]:
    a = pd.Timestamp(start).tz_convert("UTC")
    b = pd.Timestamp(end).tz_convert("UTC")
    return list(pd.date_range(a, b, freq="h", inclusive="left"))


def violations(plan: Plan, resources: Resources, walks: int | None = None) -> list[str]:
    """Every hard constraint the plan breaks (quota, budget, availability, templates, guard
    rules, pinned shifts, must-cover windows, nothing before the plan's ``planned_from``), as
    sentences. The budget is the weekly budget less the plan's ``spent_sek``."""
    r = resources
    out: list[str] = []
    cutoff = pd.Timestamp(plan.planned_from).tz_convert("UTC") if plan.planned_from else None
    for s in plan.shifts:
        if cutoff is not None and pd.Timestamp(s.start) < cutoff:
            out.append(f"past: {s.kind} {s.association or s.place_ids} starts {s.start}, before {plan.planned_from}")
    monday = parse_iso_week(plan.week)
    week_nights = {monday + dt.timedelta(days=k) for k in range(7)}
    walk_shifts = [s for s in plan.shifts if s.kind == "night_walk"]
    guard_shifts = [s for s in plan.shifts if s.kind == "guard"]
    n_walks = walks if walks is not None else plan.walks_share
    if len(walk_shifts) != n_walks:
        out.append(f"quota: {len(walk_shifts)} walks planned, the week's share is {n_walks}")
    cost = sum(s.cost_sek for s in plan.shifts)
    if abs(cost - plan.cost_sek) > 1e-6:
        out.append(f"cost: shifts add up to {cost}, plan says {plan.cost_sek}")
    if r.weekly_budget_sek is not None and cost > max(0.0, r.weekly_budget_sek - plan.spent_sek) + 1e-6:
        out.append(f"budget: {cost:.0f} SEK > {r.weekly_budget_sek:.0f} SEK - {plan.spent_sek:.0f} SEK spent")
    per_assoc: Counter[str] = Counter()
    per_night: Counter[tuple[str, str]] = Counter()
    teams: Counter[tuple[str, str]] = Counter()
    for s in walk_shifts:
        assert s.association is not None and s.night is not None and s.template is not None
        a = r.association(s.association)
        night = dt.date.fromisoformat(s.night)
        per_assoc[a.name] += 1
        per_night[(a.name, s.night)] += 1
        teams[(s.area or "", s.night)] += 1
        if night not in week_nights:
            out.append(f"walk of {a.name} on {night} is outside {plan.week}")
        pinned = any(
            isinstance(p, PinnedWalk)
            and p.association == a.name
            and p.night == night
            and p.template == s.template
            and p.area == s.area
            for p in r.pinned
        )
        if not pinned:
            if WEEKDAYS[night.weekday()] not in a.nights or night in a.unavailable_dates:
                out.append(f"availability: {a.name} walks the night of {night} but is not available")
            if a.templates is not None and s.template not in a.templates:
                out.append(f"availability: {a.name} walks template {s.template}")
            if a.areas is not None and s.area not in a.areas:
                out.append(f"availability: {a.name} walks area {s.area}")
        t = r.template(s.template)
        start = local_time(night + dt.timedelta(days=t.night_offset_days), t.start_hour, r.tz)
        if pd.Timestamp(s.start) != start:
            out.append(f"template: walk of {a.name} starts {s.start}, template {t.name} says {start}")
        if sorted(s.place_ids) != sorted(r.area(s.area or "").place_ids):
            out.append(f"area: walk of {a.name} lists {s.place_ids}")
    for a in r.associations:
        cap = a.max_walks_per_week
        if a.max_walks_per_season is not None:
            cap = min(cap, a.max_walks_per_season - a.walks_done)
        if per_assoc[a.name] > max(cap, 0):
            out.append(f"max: {a.name} walks {per_assoc[a.name]} times, at most {cap}")
        if per_assoc[a.name] < a.min_walks_per_week:
            out.append(f"min: {a.name} walks {per_assoc[a.name]} times, at least {a.min_walks_per_week}")
    out += [f"{a} walks twice on the night of {n}" for (a, n), c in per_night.items() if c > 1]
    out += [f"{c} teams in {ar} on {n}" for (ar, n), c in teams.items() if c > r.max_teams_per_area_night]
    # guards
    g = r.guard
    on_duty: dict[pd.Timestamp, set[str]] = defaultdict(set)
    hours = 0
    week_start = local_time(monday, 0, r.tz).tz_convert("UTC")
    week_end = local_time(monday + dt.timedelta(days=7), 0, r.tz).tz_convert("UTC")
    pinned_guard_hours = set()
    for p in r.pinned:
        if isinstance(p, PinnedGuard):
            st = pd.Timestamp(p.start)
            st = st.tz_convert(r.tz) if st.tzinfo else local_time(st.date(), st.hour, r.tz)
            if cutoff is not None and st < cutoff:
                continue  # started before the plan was made: left out
            for k in range(p.hours):
                pinned_guard_hours.add((p.place_id, st.tz_convert("UTC") + pd.Timedelta(hours=k)))
    for s in guard_shifts:
        if g is None:
            out.append("a guard shift but no guard contract")
            continue
        slots = _utc_hours(s.start, s.end)
        hours += len(slots)
        if len(slots) < g.min_block_hours:
            out.append(f"guard block at {s.place_ids} from {s.start} is {len(slots)} h < {g.min_block_hours} h")
        if abs(s.cost_sek - len(slots) * g.hourly_rate_sek) > 1e-6:
            out.append(f"guard block cost {s.cost_sek} != {len(slots)} h x {g.hourly_rate_sek}")
        for pid in s.place_ids:
            for h in slots:
                if (pid, h) in pinned_guard_hours:
                    continue
                if g.places is not None and pid not in g.places:
                    out.append(f"guard at {pid}, which is not in guard.places")
                if h.tz_convert(r.tz).hour not in g.hours:
                    out.append(f"guard at {pid} at {h.tz_convert(r.tz)}, outside guard.hours")
                if not week_start <= h < week_end:
                    out.append(f"guard hour {h} outside {plan.week}")
            for h in slots:
                on_duty[h].add(pid)
    if g is not None:
        if hours > g.max_hours_per_week:
            out.append(f"guard hours {hours} > weekly max {g.max_hours_per_week}")
        busy = [h for h, ps in on_duty.items() if len(ps) > g.concurrent_guards]
        if busy:
            out.append(f"{len(busy)} hours with more than {g.concurrent_guards} guards on duty")
        names = sorted({s.guard or "" for s in guard_shifts})
        if len(names) > g.concurrent_guards:
            out.append(f"{len(names)} guards named ({names}) but only {g.concurrent_guards} on contract")
        for name in names:
            mine = sorted((pd.Timestamp(s.start), pd.Timestamp(s.end)) for s in guard_shifts if s.guard == name)
            if any(b0 < a1 for (_, a1), (b0, _) in zip(mine, mine[1:], strict=False)):
                out.append(f"{name} has overlapping blocks")
    # fairness (running shares, tolerance one walk)
    f = r.fairness
    if r.associations and (f.min_share > 0 or f.max_share < 1):
        done = sum(a.walks_done for a in r.associations)
        total = done + len(walk_shifts)
        for a in r.associations:
            mine_n = a.walks_done + per_assoc[a.name]
            if mine_n < f.min_share * total - 1 - 1e-9 or mine_n > f.max_share * total + 1 + 1e-9:
                out.append(f"fairness: {a.name} has {mine_n} of {total} walks")
    # pinned
    for i, p in enumerate(r.pinned):
        if isinstance(p, PinnedWalk):
            start = r.template(p.template).window(p.night, r.tz)[0]
            if cutoff is not None and start < cutoff:
                continue  # started before the plan was made: left out
            if p.night in week_nights and not any(
                s.association == p.association
                and s.night == p.night.isoformat()
                and s.template == p.template
                and s.area == p.area
                for s in walk_shifts
            ):
                out.append(f"pinned[{i}] walk missing")
    for pid, h in pinned_guard_hours:
        if week_start <= h < week_end and pid not in on_duty.get(h, set()):
            out.append(f"pinned guard hour at {pid} {h} missing")
    # must-cover
    walk_cover: dict[tuple[str, pd.Timestamp], int] = Counter()
    for s in walk_shifts:
        for h in _utc_hours(s.start, s.end):
            for pid in s.place_ids:
                walk_cover[(pid, h)] += 1
    for i, m in enumerate(r.must_cover):
        for night in sorted(week_nights):
            if (m.dates is not None and night not in m.dates) or (
                m.dates is None and WEEKDAYS[night.weekday()] not in m.nights
            ):
                continue
            sh, eh = int(m.start[:2]), int(m.end[:2])
            d0 = night + dt.timedelta(days=1 if sh < 12 else 0)
            a = local_time(d0, sh, r.tz)
            b = local_time(d0 + dt.timedelta(days=1 if eh <= sh else 0), eh, r.tz)
            for h in _utc_hours(a.isoformat(), b.isoformat()):
                if cutoff is not None and h < cutoff:
                    continue
                ok = (m.by in ("any", "night_walk") and walk_cover.get((m.place_id, h), 0) > 0) or (
                    m.by in ("any", "guard") and m.place_id in on_duty.get(h, set())
                )
                if not ok:
                    out.append(f"must_cover[{i}] {m.place_id} not covered at {h.tz_convert(r.tz)}")
    return out
