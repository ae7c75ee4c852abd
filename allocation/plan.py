"""The typed plan a weekly solve returns, and the objective every plan is scored with.

The objective (expected incidents prevented [incidents]) of a coverage is, summed over
place-hours with risk ``r`` [incidents/h], ``n`` walks and ``g`` (0/1) guard:

    r * (1 - (1 - guard * g) * (1 - walk * sum(walk_stacking[:n])))

:func:`score` computes it for any plan (the optimum and the baselines alike), so the
figures compare like with like.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from tryggplan.allocation.grid import WeekRisk
from tryggplan.allocation.spec import Effects

Status = Literal["optimal", "time_limit"]
ShiftKind = Literal["night_walk", "guard"]


@dataclass(frozen=True)
class Shift:
    """One shift of a plan. ``start``/``end`` are local ISO 8601 with offset.

    ``cost_sek`` [SEK]; ``hours`` [h] in UTC (a shift across a DST change is one hour
    shorter or longer than its wall-clock times say); ``expected_prevented`` [incidents].
    """

    kind: ShiftKind
    start: str
    end: str
    hours: float
    cost_sek: float
    expected_prevented: float
    expected_covered: float
    why: str
    place_ids: list[str]
    association: str | None = None
    area: str | None = None
    template: str | None = None
    night: str | None = None
    guard: str | None = None
    pinned: bool = False
    slot_from: int = field(default=0, repr=False)
    slot_to: int = field(default=0, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("slot_from")
        d.pop("slot_to")
        return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class SolverInfo:
    name: str
    status: str
    gap: float
    seconds: float
    objective_bound: float | None = None


@dataclass(frozen=True)
class Baseline:
    """A simple plan under the same budget, scored with :func:`score`."""

    name: str
    objective: float
    cost_sek: float
    walks: int
    guard_hours: float
    description: str
    feasible: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    """A weekly plan. ``objective`` [incidents] expected incidents prevented;
    ``risk_covered_share`` share of the week's expected incidents in covered place-hours.
    ``generated_at``: when the plan was made (the ``now`` it was made at, UTC);
    ``planned_from``: the local instant before which nothing is placed (``None``: the whole
    week); ``spent_sek`` [SEK]: the week's budget spent before then (off ``weekly_budget_sek``)."""

    week: str
    tz: str
    status: Status
    objective: float
    risk_total: float
    risk_covered_share: float
    cost_sek: float
    walks: int
    walks_share: int
    guard_hours: float
    shifts: list[Shift]
    solver: SolverInfo
    baselines: dict[str, Baseline] = field(default_factory=dict)
    marginal_value: dict[str, float | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    generated_at: str = ""
    spent_sek: float = 0.0
    planned_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "tz": self.tz,
            "status": self.status,
            "objective": self.objective,
            "risk_total": self.risk_total,
            "risk_covered_share": self.risk_covered_share,
            "cost_sek": self.cost_sek,
            "walks": self.walks,
            "walks_share": self.walks_share,
            "guard_hours": self.guard_hours,
            "shifts": [s.to_dict() for s in self.shifts],
            "baselines": {k: v.to_dict() for k, v in self.baselines.items()},
            "marginal_value": dict(self.marginal_value),
            "solver": {**asdict(self.solver), "gap": self.solver.gap if math.isfinite(self.solver.gap) else None},
            "warnings": list(self.warnings),
            "generated_at": self.generated_at,
            "spent_sek": self.spent_sek,
            "planned_from": self.planned_from,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


# --------------------------------------------------------------------- scoring
def coverage_reduction(walks: np.ndarray, guard: np.ndarray, effects: Effects) -> np.ndarray:
    """Relative reduction [0-1] per place-hour from ``walks`` (counts) and ``guard`` (0/1)."""
    curve = np.concatenate([[0.0], np.cumsum(effects.walk_stacking)]) * effects.walk
    n = np.clip(np.asarray(walks, dtype=int), 0, len(effects.walk_stacking))
    walk_red = curve[n]
    guard_red = effects.guard * np.clip(np.asarray(guard, dtype=float), 0, 1)
    return 1.0 - (1.0 - guard_red) * (1.0 - walk_red)


def score(risk: WeekRisk, walks: np.ndarray, guard: np.ndarray, effects: Effects) -> float:
    """Expected incidents prevented [incidents] by a coverage (matrices shaped like ``risk.risk``)."""
    return float((risk.risk * coverage_reduction(walks, guard, effects)).sum())


def attribute(risk: WeekRisk, walks: np.ndarray, guard: np.ndarray, effects: Effects) -> tuple[np.ndarray, np.ndarray]:
    """Split each place-hour's prevented incidents between its walks (per walk) and its guard.

    Returns ``(per_walk, per_guard)`` matrices [incidents]: what one walk covering the
    place-hour is credited with, and what the guard there is credited with. Shares follow
    each presence's stand-alone effect, so the parts add up to the total.
    """
    prevented = risk.risk * coverage_reduction(walks, guard, effects)
    w_raw = effects.walk * np.asarray(walks, dtype=float)
    g_raw = effects.guard * np.asarray(guard, dtype=float)
    total = w_raw + g_raw
    with np.errstate(invalid="ignore", divide="ignore"):
        per_walk = np.where((walks > 0) & (total > 0), prevented * effects.walk / np.where(total > 0, total, 1), 0.0)
        per_guard = np.where((guard > 0) & (total > 0), prevented * g_raw / np.where(total > 0, total, 1), 0.0)
    return per_walk, per_guard


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
