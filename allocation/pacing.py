"""Season pacing: spread the remaining walks over the remaining weeks by forecast risk.

40 walks for half a year must neither be spent in the first weeks nor saved past the
nights that matter. Each week's value of its k-th walk is the k-th best night of the week
(the risk of a night x the walk-stacking curve for a second team the same night), so the
value of walks in a week is concave and the greedy marginal allocation below is optimal
for the separable problem (Gross 1956; Ibaraki & Katoh 1988, *Resource Allocation
Problems*, ch. 4): every week first gets ``season.min_walks_per_week``, then each further
walk goes to the week where it is worth most, within the associations' weekly capacity.

Night risk comes from the risk grid where it covers the night; elsewhere from a profile:
the mean risk per night of the week (from the grid, else from incident history, else a
default with Friday and Saturday busiest) times calendar uplifts for Walpurgis, end of
school, Midsummer Eve, New Year's Eve, payday weekends, holiday eves and school holidays.
The uplifts are estimated from incident history when it is given (shrunk towards the
defaults below), else the defaults are used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.allocation.plan import Plan
from tryggplan.allocation.spec import WEEKDAYS, Resources
from tryggplan.calendar import CALENDAR_FEATURES, SwedishCalendar
from tryggplan.timeutil import iso_week_of, parse_iso_week

#: Default night-of-week profile (Mon..Sun nights), relative; Friday and Saturday busiest.
DEFAULT_NIGHT_PROFILE: tuple[float, ...] = (1.0, 1.0, 1.05, 1.2, 2.2, 2.4, 1.1)

#: Default calendar uplifts per feature (multiplier on a night's risk). Assumptions to be
#: replaced by estimates from the municipality's own history (pass ``history``).
DEFAULT_UPLIFT: dict[str, float] = {
    "walpurgis": 2.5,
    "end_of_school": 2.0,
    "midsummer_eve": 2.2,
    "christmas_eve": 0.8,
    "new_years_eve": 2.8,
    "public_holiday_eve": 1.3,
    "payday_weekend": 1.25,
    "school_holiday": 1.15,
    "summer_break": 1.1,
}
_SHRINK_NIGHTS = 4.0  # pseudo-nights of the default when estimating an uplift from history


@dataclass(frozen=True)
class SeasonWeek:
    week: str
    walks: int
    capacity: int
    risk_index: float
    source: str  # "forecast" or "profile"
    notable_nights: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SeasonPlan:
    """The pacing of the remaining quota, plus the weekly plans for weeks the grid covers."""

    first_week: str
    last_week: str
    remaining_walks: int
    planned_walks: int
    weeks: list[SeasonWeek]
    uplifts: dict[str, float]
    weekly: dict[str, Plan] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def share(self, week: str) -> int:
        return next((w.walks for w in self.weeks if w.week == week), 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_week": self.first_week,
            "last_week": self.last_week,
            "remaining_walks": self.remaining_walks,
            "planned_walks": self.planned_walks,
            "weeks": [asdict(w) for w in self.weeks],
            "uplifts": dict(self.uplifts),
            "weekly": {k: v.to_dict() for k, v in self.weekly.items()},
            "warnings": list(self.warnings),
        }


def _season_weeks(resources: Resources, first_week: str) -> list[str]:
    q = resources.season
    monday = parse_iso_week(first_week)
    if q.start and monday < q.start - dt.timedelta(days=q.start.weekday()):
        monday = q.start - dt.timedelta(days=q.start.weekday())
    last = q.until if q.until else monday + dt.timedelta(weeks=q.horizon_weeks - 1)
    weeks: list[str] = []
    d = monday
    while d <= last:
        weeks.append(iso_week_of(d))
        d += dt.timedelta(weeks=1)
    return weeks


def estimate_uplifts(
    history: pd.DataFrame | None, tz: str, calendar: SwedishCalendar | None = None
) -> dict[str, float]:
    """Calendar uplifts from incident history (``occurred_at`` UTC, ``weight`` optional).

    For each feature: incidents on its nights / incidents on ordinary nights of the same
    weekdays, shrunk towards :data:`DEFAULT_UPLIFT` with ``_SHRINK_NIGHTS`` pseudo-nights.
    """
    up = dict(DEFAULT_UPLIFT)
    if history is None or len(history) == 0 or "occurred_at" not in history.columns:
        return up
    ts = pd.to_datetime(history["occurred_at"], utc=True, errors="coerce").dropna().dt.tz_convert(tz)
    if ts.empty:
        return up
    hours = ts.dt.hour
    ts = ts[(hours >= 18) | (hours < 6)]
    nights = (ts - pd.Timedelta(hours=6)).dt.tz_localize(None).dt.normalize()
    counts = nights.value_counts()
    days = pd.date_range(nights.min(), nights.max(), freq="D") if len(nights) else pd.DatetimeIndex([])
    if len(days) < 28:
        return up
    per_night = counts.reindex(days, fill_value=0).astype(float)
    feats = (calendar or SwedishCalendar(tz=tz)).features(days)
    wd = days.dayofweek
    ordinary = feats.sum(axis=1).to_numpy() == 0
    base_wd = {w: per_night[(wd == w) & ordinary].mean() if ((wd == w) & ordinary).any() else np.nan for w in range(7)}
    for f in CALENDAR_FEATURES:
        mask = feats[f].to_numpy() > 0
        n = int(mask.sum())
        if n == 0:
            continue
        base = np.array([base_wd[w] for w in wd[mask]])
        base_mean = np.nanmean(base) if np.isfinite(base).any() else np.nan
        if not np.isfinite(base_mean) or base_mean <= 0:
            continue
        ratio = per_night[mask].mean() / base_mean
        up[f] = float((_SHRINK_NIGHTS * DEFAULT_UPLIFT[f] + n * ratio) / (_SHRINK_NIGHTS + n))
    return up


def night_values(
    grid: pd.DataFrame | None, resources: Resources, weeks: list[str], history: pd.DataFrame | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, list[str]], dict[str, float]]:
    """Risk per night (Mon..Sun) of each week [incidents per night, all places, 18-06].

    Returns ``(values, source, notable, uplifts)``.
    """
    tz = resources.tz
    cal = SwedishCalendar(tz=tz)
    uplifts = estimate_uplifts(history, tz, cal)
    area_places = sorted({p for a in resources.areas for p in a.place_ids})
    g = grid
    night_sum: dict[dt.date, float] = {}
    if g is not None and len(g):
        sub = g[g["place_id"].isin(area_places)] if area_places else g
        local = sub["slot_start"]
        hours = local.dt.hour
        night_mask = (hours >= 18) | (hours < 6)
        nights = (local[night_mask] - pd.Timedelta(hours=6)).dt.date
        sums = sub.loc[night_mask, "expected"].groupby(nights.to_numpy()).sum()
        # only nights the grid covers completely (12 hours, 11/13 at DST)
        n_rows = sub.loc[night_mask, "expected"].groupby(nights.to_numpy()).size()
        full = n_rows >= 11 * max(1, sub["place_id"].nunique())
        night_sum = {d: float(v) for d, v in sums[full].items()}
    # profile per weekday: grid if it covers every weekday, else history, else default
    profile = np.array(DEFAULT_NIGHT_PROFILE, dtype=float)
    if night_sum:
        by_wd: dict[int, list[float]] = {}
        for d, v in night_sum.items():
            by_wd.setdefault(d.weekday(), []).append(v)
        if len(by_wd) == 7:
            profile = np.array([np.mean(by_wd[w]) for w in range(7)])
    elif history is not None and len(history) and "occurred_at" in history.columns:
        ts = pd.to_datetime(history["occurred_at"], utc=True, errors="coerce").dropna().dt.tz_convert(tz)
        ts = ts[(ts.dt.hour >= 18) | (ts.dt.hour < 6)]
        if len(ts) >= 50:
            wd = (ts - pd.Timedelta(hours=6)).dt.dayofweek
            prof = np.bincount(wd, minlength=7).astype(float) + 1.0
            profile = prof / prof.mean()
    # scale the profile to the grid's level where both exist
    if night_sum:
        ratios = [v / profile[d.weekday()] for d, v in night_sum.items() if profile[d.weekday()] > 0]
        level = float(np.mean(ratios)) if ratios else 1.0
        profile = profile * level  # the profile at the forecast's level
    values: dict[str, np.ndarray] = {}
    source: dict[str, str] = {}
    notable: dict[str, list[str]] = {}
    for w in weeks:
        monday = parse_iso_week(w)
        days = [monday + dt.timedelta(days=k) for k in range(7)]
        feats = cal.features(days)
        vals = np.zeros(7)
        from_grid = 0
        notes: list[str] = []
        for k, d in enumerate(days):
            active = [f for f in CALENDAR_FEATURES if feats.iloc[k][f] > 0]
            if d in night_sum:
                vals[k] = night_sum[d]
                from_grid += 1
            else:
                vals[k] = (
                    profile[d.weekday()] * float(np.prod([uplifts[f] for f in active]))
                    if active
                    else profile[d.weekday()]
                )
            big = [f for f in active if f not in ("school_holiday", "summer_break")]
            if big:
                notes.append(f"{WEEKDAYS[d.weekday()]} {d}: {', '.join(big)}")
        values[w] = vals
        source[w] = "forecast" if from_grid == 7 else ("profile" if from_grid == 0 else "forecast+profile")
        notable[w] = notes
    return values, source, notable, uplifts


def _week_capacity(resources: Resources, week: str) -> int:
    monday = parse_iso_week(week)
    total = 0
    for a in resources.associations:
        nights = [monday + dt.timedelta(days=k) for k in range(7)]
        free = [d for d in nights if WEEKDAYS[d.weekday()] in a.nights and d not in a.unavailable_dates]
        total += min(a.max_walks_per_week, len(free))
    teams = 7 * len(resources.areas) * resources.max_teams_per_area_night
    return min(total, teams)


def pace(
    resources: Resources, first_week: str, grid: pd.DataFrame | None = None, history: pd.DataFrame | None = None
) -> SeasonPlan:
    """Spread the remaining quota over the season's remaining weeks by risk (see module doc)."""
    q = resources.season
    weeks = _season_weeks(resources, first_week)
    remaining = q.walks - q.used
    warnings: list[str] = []
    if not weeks:
        return SeasonPlan(
            first_week,
            first_week,
            remaining,
            0,
            [],
            dict(DEFAULT_UPLIFT),
            warnings=[f"week {first_week} is after the season's end ({q.until}): no walks to place"],
        )
    values, source, notable, uplifts = night_values(grid, resources, weeks, history)
    stack = resources.effects.walk_stacking[: resources.max_teams_per_area_night]
    # marginal value of the k-th walk of each week: nights x areas x teams, best first
    n_areas = max(1, len(resources.areas))
    marg: dict[str, np.ndarray] = {}
    caps: dict[str, int] = {}
    for w in weeks:
        per_night = values[w] / n_areas  # a walk covers one area of the night's risk
        cand = np.sort(np.concatenate([per_night * m for m in stack for _ in range(n_areas)]))[::-1]
        caps[w] = min(_week_capacity(resources, w), len(cand))
        marg[w] = cand
    alloc = {w: min(q.min_walks_per_week, caps[w]) for w in weeks}
    left = remaining - sum(alloc.values())
    if left < 0:
        # not even the weekly minimum for every week: give the minimum to the riskiest weeks
        alloc = {w: 0 for w in weeks}
        left = remaining
        warnings.append(
            f"{remaining} walks left cannot give every one of {len(weeks)} weeks its minimum of "
            f"{q.min_walks_per_week}: the riskiest weeks get walks first"
        )
    while left > 0:
        best, best_v = None, -1.0
        for w in weeks:
            k = alloc[w]
            if k < caps[w] and marg[w][k] > best_v + 1e-15:
                best, best_v = w, float(marg[w][k])
        if best is None:
            warnings.append(
                f"the associations can walk only {sum(alloc.values())} of the {remaining} remaining "
                "walks in the season: add nights or raise max_walks_per_week"
            )
            break
        alloc[best] += 1
        left -= 1
    out = [SeasonWeek(w, alloc[w], caps[w], float(values[w].sum()), source[w], notable[w]) for w in weeks]
    return SeasonPlan(weeks[0], weeks[-1], remaining, sum(alloc.values()), out, uplifts, warnings=warnings)


def week_share(
    grid: pd.DataFrame | None, resources: Resources, week: str, history: pd.DataFrame | None = None
) -> tuple[int, str]:
    """The number of walks the season pacing gives ``week``, and a sentence saying why."""
    sp = pace(resources, week, grid, history)
    if not sp.weeks or sp.weeks[0].week != week:
        return 0, f"{week} is outside the season: 0 walks"
    w = sp.weeks[0]
    extra = f"; notable nights: {'; '.join(w.notable_nights)}" if w.notable_nights else ""
    return w.walks, (
        f"season pacing: {w.walks} of the {sp.remaining_walks} remaining walks this week "
        f"({len(sp.weeks)} weeks to {sp.last_week}, week risk {w.risk_index:.2f} from the "
        f"{w.source}){extra}"
    )
