"""Two simple plans under the same budget, scored with the same objective as the optimum.

* ``greedy``: keep the pinned shifts, cover the must-cover hours, then add walks one at a
  time where they prevent the most (the top-risk walk option an available association
  may take), up to the week's share, then guard blocks of the minimum length on the
  top-risk place-hours while money and guard hours last. (``greedy(extend=True)``, which
  also lengthens blocks hour by hour and, with one guard on duty at a time, re-plans the
  guard hours exactly by dynamic programming and exchanges walks, is the solver's starting
  plan.)
* ``fixed_fri_sat``: what a coordinator does without a forecast: walks on Friday and
  Saturday 20:00-00:00 in the busiest area (by an available association), and the guard
  at the busiest place on the same evenings.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from tryggplan.allocation.model import WeekSetup, local_time
from tryggplan.allocation.plan import Baseline, coverage_reduction, score


@dataclass
class Coverage:
    """A plan as coverage matrices plus its bookkeeping (used by the baselines)."""

    walks: np.ndarray
    guard: np.ndarray
    chosen: list[tuple[str, int]] = field(default_factory=list)
    cost: float = 0.0

    @classmethod
    def empty(cls, setup: WeekSetup) -> Coverage:
        shape = setup.risk.risk.shape
        return cls(np.zeros(shape, dtype=int), np.zeros(shape, dtype=bool))

    def add_walk(self, setup: WeekSetup, assoc: str, oi: int) -> None:
        o = setup.options[oi]
        if o.places and o.slots:
            self.walks[np.ix_(o.places, o.slots)] += 1
        self.chosen.append((assoc, oi))
        self.cost += setup.resources.cost_per_walk_sek

    def add_guard(self, setup: WeekSetup, i: int, cells: list[int]) -> None:
        new = [j for j in cells if not self.guard[i, j]]
        self.guard[i, new] = True
        g = setup.resources.guard
        self.cost += len(new) * (g.hourly_rate_sek if g else 0.0)


def _walk_gain(setup: WeekSetup, cov: Coverage) -> np.ndarray:
    """Prevented incidents gained by one more walk on each option [incidents]."""
    eff = setup.resources.effects
    delta = setup.risk.risk * (
        coverage_reduction(cov.walks + 1, cov.guard, eff) - coverage_reduction(cov.walks, cov.guard, eff)
    )
    out = np.zeros(len(setup.options))
    for o in setup.options:
        if o.places and o.slots:
            out[o.idx] = delta[np.ix_(o.places, o.slots)].sum()
    return out


class _Greedy:
    def __init__(self, setup: WeekSetup) -> None:
        self.s = setup
        self.cov = Coverage.empty(setup)
        self.count: Counter[str] = Counter()
        self.nights: set[tuple[str, dt.date]] = set()
        self.teams: Counter[tuple[str, dt.date]] = Counter()
        r = setup.resources
        self.done = {a.name: a.walks_done for a in r.associations}
        self.done_total = sum(self.done.values())

    def budget_left(self) -> float:
        return np.inf if self.s.budget is None else self.s.budget - self.cov.cost

    def walk_ok(self, assoc: str, oi: int) -> bool:
        s, r = self.s, self.s.resources
        o = s.options[oi]
        n = len(self.cov.chosen)
        if oi not in s.eligible.get(assoc, []) or self.count[assoc] >= s.cap[assoc]:
            return False
        if (assoc, o.night) in self.nights or self.teams[(o.area, o.night)] >= r.max_teams_per_area_night:
            return False
        if n >= s.share or self.budget_left() < r.cost_per_walk_sek - 1e-9:
            return False
        f = r.fairness
        if f.max_share < 1 and (
            self.done[assoc] + self.count[assoc] + 1 > f.max_share * (self.done_total + n + 1) + 1 + 1e-9
        ):
            return False
        return True

    def guard_move(self) -> tuple[int, list[int]] | None:
        return _guard_move(self)

    def take_walk(self, assoc: str, oi: int) -> None:
        o = self.s.options[oi]
        self.cov.add_walk(self.s, assoc, oi)
        self.count[assoc] += 1
        self.nights.add((assoc, o.night))
        self.teams[(o.area, o.night)] += 1

    def best_walk(self, restrict: set[int] | None = None) -> tuple[str, int] | None:
        gains = _walk_gain(self.s, self.cov)
        order = np.argsort(-gains, kind="stable")
        assocs = sorted(self.s.resources.associations, key=lambda a: (self.count[a.name], a.name))
        for oi in order:
            if restrict is not None and int(oi) not in restrict:
                continue
            for a in assocs:
                if self.walk_ok(a.name, int(oi)):
                    return a.name, int(oi)
        return None

    def guard_block(self, restrict: tuple[int, list[int]] | None = None) -> tuple[int, list[int]] | None:
        s = self.s
        g = s.resources.guard
        if g is None or not s.guard_ok.any():
            return None
        L = g.min_block_hours
        used = int(self.cov.guard.sum())
        if used + L > s.guard_max_hours or self.budget_left() < L * g.hourly_rate_sek - 1e-9:
            return None
        eff = s.resources.effects
        delta = s.risk.risk * (
            coverage_reduction(self.cov.walks, np.ones_like(self.cov.guard), eff)
            - coverage_reduction(self.cov.walks, self.cov.guard, eff)
        )
        busy = self.cov.guard.sum(axis=0) >= g.concurrent_guards
        ok = s.guard_ok & ~self.cov.guard & ~busy[None, :]
        n = ok.shape[1]
        if n < L:
            return None
        zero = np.zeros((ok.shape[0], 1))
        ok_sum = np.concatenate([zero, np.cumsum(ok, axis=1)], axis=1)
        gain_sum = np.concatenate([zero, np.cumsum(np.where(ok, delta, 0.0), axis=1)], axis=1)
        win_ok = (ok_sum[:, L:] - ok_sum[:, :-L]) == L  # window [j, j+L) all allowed, shape (P, n-L+1)
        gains = np.where(win_ok, gain_sum[:, L:] - gain_sum[:, :-L], -np.inf)
        if restrict is not None:
            mask = np.zeros_like(win_ok)
            i0, js = restrict
            for j in js:
                mask[i0, max(0, j - L + 1) : min(n - L, j) + 1] = True
            gains = np.where(mask, gains, -np.inf)
        if not np.isfinite(gains).any():
            return None
        flat = int(np.argmax(gains))  # first best: lowest place, then earliest hour
        best = (float(gains.flat[flat]), flat // gains.shape[1], flat % gains.shape[1])
        return best[1], list(range(best[2], best[2] + L))


def _guard_move(gr: _Greedy) -> tuple[int, list[int]] | None:
    """The guard move that prevents most per guard hour: a new block of the minimum length,
    or one more hour at either end of a block already placed (positive gain only)."""
    s = gr.s
    g = s.resources.guard
    if g is None or not s.guard_ok.any():
        return None
    cov = gr.cov
    left_hours = s.guard_max_hours - int(cov.guard.sum())
    left_money = gr.budget_left()
    rate = g.hourly_rate_sek
    eff = s.resources.effects
    delta = s.risk.risk * (
        coverage_reduction(cov.walks, np.ones_like(cov.guard), eff) - coverage_reduction(cov.walks, cov.guard, eff)
    )
    busy = cov.guard.sum(axis=0) >= g.concurrent_guards
    ok = s.guard_ok & ~cov.guard & ~busy[None, :]
    best: tuple[float, int, list[int]] | None = None
    if left_hours >= 1 and left_money >= rate - 1e-9:  # extend a block by one hour
        ends = np.zeros_like(ok)
        ends[:, 1:] |= cov.guard[:, :-1]
        ends[:, :-1] |= cov.guard[:, 1:]
        cand = ok & ends & (delta > 1e-15)
        if cand.any():
            gains = np.where(cand, delta, -np.inf)
            flat = int(np.argmax(gains))
            i, j = divmod(flat, gains.shape[1])
            best = (float(gains[i, j]), i, [j])
    L = g.min_block_hours
    if left_hours >= L and left_money >= L * rate - 1e-9:
        block = gr.guard_block()
        if block is not None:
            gain = float(delta[block[0], block[1]].sum()) / L
            if gain > 1e-15 and (best is None or gain > best[0] + 1e-15):
                best = (gain, block[0], block[1])
    return None if best is None else (best[1], best[2])


def _guard_delta(gr: _Greedy) -> np.ndarray:
    eff = gr.s.resources.effects
    return gr.s.risk.risk * (
        coverage_reduction(gr.cov.walks, np.ones_like(gr.cov.guard), eff)
        - coverage_reduction(gr.cov.walks, gr.cov.guard, eff)
    )


def greedy(setup: WeekSetup, extend: bool = False) -> tuple[Coverage, bool]:
    """The greedy top-risk plan and whether it meets every hard constraint.

    ``extend=False`` (the baseline): guard blocks of the minimum length on the top-risk
    place-hours. ``extend=True`` (a MIP start): also lengthen placed blocks hour by hour,
    always taking the move that prevents most per guard hour, then improve the plan with
    :func:`_improve` (never worse, same hard rules).
    """
    gr = _Greedy(setup)
    feasible = True
    for pinned in setup.pinned_walks:
        if pinned.option is not None:
            gr.take_walk(pinned.pin.association, pinned.option)
    for pinned_guard in setup.pinned_guards:
        gr.cov.add_guard(setup, setup.place_index[pinned_guard.pin.place_id], pinned_guard.slots)
    for window in setup.must_cover:
        by_walk, by_guard = window.by_walk, window.by_guard
        i = setup.place_index[window.place_id]
        for j in window.slots:
            if (by_walk and gr.cov.walks[i, j] > 0) or (by_guard and gr.cov.guard[i, j]):
                continue
            pick = None
            if by_walk:
                covering = {o.idx for o in setup.options if i in o.places and j in o.slots}
                pick = gr.best_walk(covering)
                if pick:
                    gr.take_walk(*pick)
                    continue
            if by_guard:
                block = gr.guard_block((i, [j]))
                if block:
                    gr.cov.add_guard(setup, *block)
                    continue
            feasible = False
    while len(gr.cov.chosen) < setup.share:
        pick = gr.best_walk()
        if pick is None:
            feasible = False
            break
        gr.take_walk(*pick)
    while True:
        if extend:
            move = gr.guard_move()
        else:
            move = gr.guard_block()
            if move is not None and float(_guard_delta(gr)[move[0], move[1]].sum()) <= 1e-15:
                move = None
        if move is None:
            break
        gr.cov.add_guard(setup, *move)
    for a in setup.resources.associations:
        if gr.count[a.name] < a.min_walks_per_week:
            feasible = False
    if extend and feasible:
        return _improve(setup, gr.cov), feasible
    return gr.cov, feasible


def _guard_schedule(gain: np.ndarray, ok: np.ndarray, min_block: int, max_hours: int) -> np.ndarray:
    """The best guard hours for one guard on duty at a time, by dynamic programming over the
    hours: blocks of at least ``min_block`` allowed (``ok``) consecutive hours at one place,
    at most ``max_hours`` in all, maximising the summed ``gain`` (>= 0). Bool (places, hours).

    State after hour j: hours used so far, and off duty or at place p with the current block
    length (capped at ``min_block``); a block may end (or a new one start elsewhere) once
    it is ``min_block`` long.
    """
    n_p, n = gain.shape
    L, H = max(1, int(min_block)), int(max_hours)
    out = np.zeros((n_p, n), dtype=bool)
    if H < L or n_p == 0 or n == 0:
        return out
    neg = -np.inf
    ready = np.full(H + 1, neg)  # best value, off duty or with a block of >= L hours, by hours used
    ready[0] = 0.0
    on = np.full((n_p, L, H + 1), neg)  # on duty at p, block length r + 1
    came = np.full((n, H + 1), -1, dtype=np.int32)  # ready: -1 off at j, else on at place p
    stayed = np.zeros((n, n_p, H + 1), dtype=bool)  # on (p, L): from (p, L) (True) or (p, L - 1)
    for j in range(n):
        g = np.where(ok[:, j], gain[:, j], neg)[:, None]
        nxt = np.full_like(on, neg)
        nxt[:, 0, 1:] = g + ready[None, :-1]
        if L >= 2:
            for r in range(1, L - 1):
                nxt[:, r, 1:] = g + on[:, r - 1, :-1]
            st = on[:, L - 1, :-1] > on[:, L - 2, :-1]
            nxt[:, L - 1, 1:] = g + np.where(st, on[:, L - 1, :-1], on[:, L - 2, :-1])
            stayed[j, :, 1:] = st
        on = nxt
        ends = on[:, L - 1, :]
        p_best = np.argmax(ends, axis=0)
        v_best = ends[p_best, np.arange(H + 1)]
        take = v_best > ready
        ready = np.where(take, v_best, ready)
        came[j] = np.where(take, p_best, -1)
    h = int(np.argmax(ready))
    if not np.isfinite(ready[h]):
        return out
    j, p, r = n - 1, -1, -1  # r < 0: in a ready state
    while j >= 0:
        if r < 0:
            p = int(came[j, h])
            if p < 0:
                j -= 1
                continue
            r = L - 1
        out[p, j] = True
        if r == 0:
            r = -1
        elif r < L - 1:
            r -= 1
        else:
            r = L - 1 if stayed[j, p, h] else L - 2
        h -= 1
        j -= 1
    return out


def _improve(setup: WeekSetup, cov: Coverage) -> Coverage:
    """A better MIP start than the greedy one, when one guard is on duty at a time and no
    shift is pinned or must-cover: alternately the best guard hours for the walks (exact, by
    :func:`_guard_schedule`) and walk exchanges for those guard hours (take out one or two
    walks, put back the best ones greedily), while the plan improves. Returns ``cov`` itself
    when it cannot improve it."""
    s, r = setup, setup.resources
    g = r.guard
    if (
        g is None
        or g.concurrent_guards != 1
        or s.pinned_walks
        or s.pinned_guards
        or s.must_cover
        or not s.guard_ok.any()
    ):
        return cov
    eff = r.effects
    rate = g.hourly_rate_sek
    walk_cost = len(cov.chosen) * r.cost_per_walk_sek
    left = np.inf if s.budget is None else s.budget - walk_cost
    n_week = s.risk.n_week
    hours = min(s.guard_max_hours, n_week)  # one guard at a time: at most every hour of the week
    if rate > 0 and np.isfinite(left):
        hours = min(hours, int(np.floor(left / rate + 1e-9)))
    if hours < 0:
        return cov

    def rebuild(chosen: list[tuple[str, int]], guard: np.ndarray) -> _Greedy:
        gr = _Greedy(s)
        gr.cov.guard[:] = guard
        gr.cov.cost = float(guard.sum()) * rate
        for a, oi in chosen:
            gr.take_walk(a, oi)
        return gr

    best = cov
    best_score = score(s.risk, cov.walks, cov.guard, eff)
    max_size = 1  # exchanges of two walks only once those of one no longer help
    for _ in range(12):
        cur = best
        gain = s.risk.risk * (
            coverage_reduction(cur.walks, np.ones_like(cur.guard), eff)
            - coverage_reduction(cur.walks, np.zeros_like(cur.guard), eff)
        )
        gain[:, n_week:] = 0.0
        guard = _guard_schedule(gain, s.guard_ok, g.min_block_hours, hours)
        chosen = list(cur.chosen)
        gr = rebuild(chosen, guard)
        cur_score = score(s.risk, gr.cov.walks, gr.cov.guard, eff)
        size = 1
        while size <= min(max_size, len(chosen)):  # first improvement, smallest exchanges first
            improved = False
            for out in combinations(range(len(chosen)), size):
                rest = [c for k, c in enumerate(chosen) if k not in out]
                trial = rebuild(rest, guard)
                picks = []
                for _ in out:
                    pick = trial.best_walk()
                    if pick is None:
                        break
                    trial.take_walk(*pick)
                    picks.append(pick)
                if len(picks) < size:
                    continue
                sc = score(s.risk, trial.cov.walks, trial.cov.guard, eff)
                if sc > cur_score + 1e-12:
                    chosen, gr, cur_score, improved = rest + picks, trial, sc, True
                    break
            size = 1 if improved else size + 1
        if cur_score <= best_score + 1e-12 or not _walks_ok(s, gr):
            if max_size == 1 and len(best.chosen) >= 2:
                max_size = 2
                continue
            break
        best, best_score, max_size = gr.cov, cur_score, 1
    return best


def _walks_ok(setup: WeekSetup, gr: _Greedy) -> bool:
    """The walk rules the greedy does not check as it goes: weekly minimum and fair minimum share."""
    r = setup.resources
    n = len(gr.cov.chosen)
    if n != setup.share:
        return False
    f = r.fairness
    done_total = sum(a.walks_done for a in r.associations)
    for a in r.associations:
        mine = gr.count[a.name]
        if mine < a.min_walks_per_week:
            return False
        if f.min_share > 0 and a.walks_done + mine < f.min_share * (done_total + n) - 1 - 1e-9:
            return False
        if f.max_share < 1 and a.walks_done + mine > f.max_share * (done_total + n) + 1 + 1e-9:
            return False
    return True


def fixed_fri_sat(setup: WeekSetup) -> Coverage:
    """Walks Fri and Sat 20:00-00:00 in the busiest area, guard at the busiest place then.

    The walks use the template closest to 20:00-00:00 that an available association walks
    (so the plan obeys the same availability, templates, quota and budget as the optimum).
    """
    s, r = setup, setup.resources
    gr = _Greedy(s)
    risk = s.risk
    pidx = s.place_index
    area_risk = {a.name: risk.risk[[pidx[p] for p in a.place_ids if p in pidx], : risk.n_week].sum() for a in r.areas}
    busiest = max(sorted(area_risk), key=lambda k: area_risk[k])
    g = r.guard
    nights = [risk.monday + dt.timedelta(days=wd) for wd in (4, 5)]  # Friday, Saturday nights

    def closeness(oi: int) -> tuple[int, int]:
        t = r.template(s.options[oi].template)
        return abs(((t.start_hour - 20 + 12) % 24) - 12), abs(t.nominal_hours - 4)

    for night in nights:
        cands = sorted((o.idx for o in s.options if o.area == busiest and o.night == night), key=closeness)
        done = False
        for oi in cands:
            for a in sorted(r.associations, key=lambda a: a.name):
                if gr.walk_ok(a.name, oi):
                    gr.take_walk(a.name, oi)
                    done = True
                    break
            if done:
                break
    cov = gr.cov
    budget = np.inf if s.budget is None else s.budget
    if g is not None and s.guard_ok.any():
        L = max(4, g.min_block_hours)
        allowed = s.guard_ok.any(axis=1)
        totals = np.where(allowed, risk.risk[:, : risk.n_week].sum(axis=1), -1)
        i = int(np.argmax(totals))
        hours = 0
        for night in nights:
            j0 = risk.slot_index(local_time(night, 20, r.tz))
            cells = [j for j in range(j0, j0 + L) if 0 <= j < risk.n_week and s.guard_ok[i, j]]
            if len(cells) < g.min_block_hours or hours + len(cells) > s.guard_max_hours:
                continue
            if cells != list(range(cells[0], cells[0] + len(cells))):
                continue
            if cov.cost + len(cells) * g.hourly_rate_sek > budget + 1e-9:
                continue
            cov.add_guard(s, i, cells)
            hours += len(cells)
    return cov


def baselines(setup: WeekSetup, greedy_plan: tuple[Coverage, bool] | None = None) -> dict[str, Baseline]:
    """Both baseline plans, scored with :func:`tryggplan.allocation.plan.score`."""
    eff = setup.resources.effects
    out: dict[str, Baseline] = {}
    gcov, ok = greedy_plan if greedy_plan is not None else greedy(setup)
    out["greedy"] = Baseline(
        "greedy",
        score(setup.risk, gcov.walks, gcov.guard, eff),
        gcov.cost,
        len(gcov.chosen),
        float(gcov.guard.sum()),
        "top-risk walk options first, then top-risk guard blocks, under the same budget",
        ok,
    )
    fcov = fixed_fri_sat(setup)
    out["fixed_fri_sat"] = Baseline(
        "fixed_fri_sat",
        score(setup.risk, fcov.walks, fcov.guard, eff),
        fcov.cost,
        len(fcov.chosen),
        float(fcov.guard.sum()),
        "walks Fri and Sat 20:00-00:00 in the busiest area; guard at the busiest place the same evenings",
        len(fcov.chosen) == setup.share,
    )
    return out
