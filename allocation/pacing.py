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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.allocation.plan import Plan
from tryggplan.allocation.spec import WEEKDAYS, PinnedWalk, Resources, local_time
from tryggplan.calendar import CALENDAR_FEATURES, SwedishCalendar
from tryggplan.domain import InvalidInputError
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


#: What to do when a plan needs the season but the resources have none (both fixes named).
NO_SEASON = (
    "the resources have no 'season' block, so the number of walks is unknown: give the week's walks "
    "(the 'walks' field of POST /api/v1/plans, or --walks of `tryggplan plan`), or add a season block "
    "to the resources, e.g. season: {walks: 40, until: 2026-12-31}"
)


@dataclass(frozen=True)
class SeasonWeek:
    """One week of the pacing: ``walks`` [walks] paced into it (``accepted`` of them already
    accepted), ``capacity`` the associations' weekly capacity, ``risk_index`` the sum of its
    nights' risk [incidents], ``source`` where that risk came from."""

    week: str
    walks: int
    capacity: int
    risk_index: float
    source: str  # "forecast", "forecast+profile" or "profile"
    notable_nights: list[str] = field(default_factory=list)
    accepted: int = 0


@dataclass(frozen=True)
class PlacedWalk:
    """One walk of the season placed on a night (:func:`tryggplan.allocation.season.season_plan`).

    ``start``/``end`` local ISO 8601 with offset; ``source``: ``forecast`` (the weekly MILP on
    the risk grid) or ``profile`` (beyond the forecast: the night profile x calendar uplifts);
    ``accepted``: an accepted walk kept where it was; ``value`` [incidents]: the expected
    incidents on the area during the shift by the source's estimate.
    """

    week: str
    night: str
    association: str
    area: str
    template: str
    start: str
    end: str
    source: str
    accepted: bool = False
    value: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "night_walk", **asdict(self)}


@dataclass(frozen=True)
class SeasonPlan:
    """The pacing of the walks left, the weekly plans of the weeks the grid covers, and (with
    ``detail``) every walk placed on a week, night, association and area.

    ``warnings``: every pacing decision that drops a weekly minimum, hits the associations'
    capacity or moves walks between weeks, and where the walks-left figure came from;
    ``week_warnings[week]``: those that concern one week (a weekly plan repeats them).
    """

    first_week: str
    last_week: str
    remaining_walks: int
    planned_walks: int
    weeks: list[SeasonWeek]
    uplifts: dict[str, float]
    weekly: dict[str, Plan] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    week_warnings: dict[str, list[str]] = field(default_factory=dict)
    placed: list[PlacedWalk] = field(default_factory=list)

    def share(self, week: str) -> int:
        return next((w.walks for w in self.weeks if w.week == week), 0)

    def season_warnings(self) -> list[str]:
        """The warnings that concern the whole season (not one week)."""
        scoped = {t for ts in self.week_warnings.values() for t in ts}
        return [w for w in self.warnings if w not in scoped]

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_week": self.first_week,
            "last_week": self.last_week,
            "remaining_walks": self.remaining_walks,
            "planned_walks": self.planned_walks,
            "weeks": [asdict(w) for w in self.weeks],
            "uplifts": dict(self.uplifts),
            "weekly": {k: v.to_dict() for k, v in self.weekly.items()},
            "placed": [p.to_dict() for p in self.placed],
            "warnings": list(self.warnings),
            "week_warnings": {k: list(v) for k, v in self.week_warnings.items()},
        }


def _season_weeks(resources: Resources, first_week: str) -> list[str]:
    q = resources.season
    if q is None:
        raise InvalidInputError(NO_SEASON)
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


def season_nights(resources: Resources, week: str) -> np.ndarray:
    """Per night of ``week`` (Mon..Sun): does it lie inside the season's ``start``..``until``?"""
    q = resources.season
    monday = parse_iso_week(week)
    days = [monday + dt.timedelta(days=k) for k in range(7)]
    if q is None:
        return np.ones(7, dtype=bool)
    return np.array([(q.start is None or d >= q.start) and (q.until is None or d <= q.until) for d in days])


def within_season(resources: Resources, week: str) -> tuple[Resources, list[str]]:
    """``resources`` with the nights of ``week`` outside the season made unavailable to every
    association (a walk there could not be recorded in this season's ledger), and a note."""
    mask = season_nights(resources, week)
    if mask.all():
        return resources, []
    monday = parse_iso_week(week)
    out = [monday + dt.timedelta(days=k) for k in range(7) if not mask[k]]
    assocs = [a.model_copy(update={"unavailable_dates": [*a.unavailable_dates, *out]}) for a in resources.associations]
    q = resources.season
    assert q is not None  # a mask with gaps needs a season
    return resources.model_copy(update={"associations": assocs}), [
        f"the nights {', '.join(d.isoformat() for d in out)} are outside the season "
        f"({q.start or '...'} to {q.until or '...'}): no walks there"
    ]


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


def _night_ends(monday: dt.date, tz: str) -> list[pd.Timestamp]:
    """Local 06:00 after each night of the week (a night runs 18:00 to 06:00)."""
    return [local_time(monday + dt.timedelta(days=k + 1), 6, tz) for k in range(7)]


def open_fraction(week: str, tz: str, now: dt.datetime | None) -> np.ndarray:
    """Share [0-1] of each night (Mon..Sun, 18:00-06:00) of ``week`` still ahead of ``now``."""
    if now is None:
        return np.ones(7)
    t = pd.Timestamp(now)
    monday = parse_iso_week(week)
    out = np.ones(7)
    for k, end in enumerate(_night_ends(monday, tz)):
        out[k] = float(np.clip((end - t) / pd.Timedelta(hours=12), 0.0, 1.0))
    return out


def _week_capacity(resources: Resources, week: str, now: dt.datetime | None = None) -> int:
    """Walks the associations can do in ``week``: free nights (weekday, not unavailable, inside
    the season, a template still ahead of ``now``) up to each one's weekly maximum, and at most
    the teams the areas take."""
    monday = parse_iso_week(week)
    t = pd.Timestamp(now) if now is not None else None
    mask = season_nights(resources, week)
    total = 0
    open_nights = 0
    for k in range(7):
        d = monday + dt.timedelta(days=k)
        if mask[k] and (t is None or any(tp.window(d, resources.tz)[0] >= t for tp in resources.templates)):
            open_nights += 1
    for a in resources.associations:
        allowed = [tp for tp in resources.templates if a.templates is None or tp.name in a.templates]
        free = 0
        for k in range(7):
            d = monday + dt.timedelta(days=k)
            if WEEKDAYS[d.weekday()] not in a.nights or d in a.unavailable_dates or not mask[k]:
                continue
            if t is not None and not any(tp.window(d, resources.tz)[0] >= t for tp in allowed):
                continue
            free += 1
        total += min(a.max_walks_per_week, free)
    teams = open_nights * len(resources.areas) * resources.max_teams_per_area_night
    return min(total, teams)


def _greedy(
    weeks: list[str], marg: dict[str, np.ndarray], lo: dict[str, int], hi: dict[str, int], n: int
) -> tuple[dict[str, int], int]:
    """Start every week at ``lo``, then give each of the ``n - sum(lo)`` walks to the week where
    its marginal value is highest, within ``hi``; returns the allocation and the walks left over."""
    alloc = dict(lo)
    left = n - sum(alloc.values())
    while left > 0:
        best, best_v = None, -1.0
        for w in weeks:
            k = alloc[w]
            if k < hi[w] and marg[w][k] > best_v + 1e-15:
                best, best_v = w, float(marg[w][k])
        if best is None:
            break
        alloc[best] += 1
        left -= 1
    return alloc, left


def _n_walks(n: int) -> str:
    return f"{n} walk" if n == 1 else f"{n} walks"


def _fmt_weeks(weeks: list[str], limit: int = 6) -> str:
    return ", ".join(weeks[:limit]) + (f" and {len(weeks) - limit} more" if len(weeks) > limit else "")


def check_now(now: dt.datetime | None) -> None:
    if now is not None and (not isinstance(now, dt.datetime) or now.tzinfo is None or now.utcoffset() is None):
        raise InvalidInputError(f"now {now!r} has no time zone: give a tz-aware instant, e.g. 2026-03-25T14:00+01:00")


def resolve_walks_left(resources: Resources, walks_left: int | None) -> tuple[int, list[str]]:
    """The walks the season still has to place, and a note when it came from the deprecated
    ``season.used`` rather than the ledger. Needs a ``season`` block."""
    q = resources.season
    if q is None:
        raise InvalidInputError(NO_SEASON)
    if walks_left is not None:
        notes = (
            [f"season.used ({q.used}) in the resources is ignored: the season ledger's walks left ({walks_left}) count"]
            if q.used
            else []
        )
        return int(walks_left), notes
    return q.walks - q.used, [
        f"walks left {q.walks - q.used} = season.walks {q.walks} - season.used {q.used} from the resources "
        "(deprecated: record walks in the season ledger, whose walks left every plan takes)"
    ]


def done_counts(resources: Resources, done: Mapping[str, int] | None) -> tuple[dict[str, int], list[str]]:
    """Completed walks per association this season: the ledger's ``done`` when given, else the
    deprecated ``walks_done`` of the resources (with a note when any is set)."""
    spec = {a.name: a.walks_done for a in resources.associations}
    if done is not None:
        unknown = sorted(set(done) - set(spec))
        bad = {k: v for k, v in done.items() if not isinstance(v, int) or v < 0}
        if bad:
            raise InvalidInputError(f"done {bad}: walks done must be whole numbers >= 0")
        notes = []
        if any(spec.values()):
            notes.append("walks_done in the resources is ignored: the season ledger's walks done per association count")
        del unknown  # associations no longer in the spec keep their walks in the ledger, not in the plan
        return {n: int(done.get(n, 0)) for n in spec}, notes
    if any(spec.values()):
        return spec, [
            "walks done per association taken from walks_done in the resources (deprecated: "
            "record walks in the season ledger)"
        ]
    return spec, []


def with_done(resources: Resources, done: Mapping[str, int]) -> Resources:
    """A copy of ``resources`` whose associations carry ``done`` as the walks done so far
    (how fairness and the season maxima see the ledger)."""
    assocs = [a.model_copy(update={"walks_done": int(done.get(a.name, 0))}) for a in resources.associations]
    return resources.model_copy(update={"associations": assocs})


def pace(
    resources: Resources,
    first_week: str,
    grid: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    *,
    walks_left: int | None = None,
    done: Mapping[str, int] | None = None,
    accepted: Sequence[PinnedWalk] = (),
    now: dt.datetime | None = None,
) -> SeasonPlan:
    """Spread the walks left over the season's remaining weeks by risk (see the module doc).

    Parameters
    ----------
    walks_left : walks to place from ``first_week`` on [walks]: the season ledger's
        ``walks_left`` (:func:`tryggplan.allocation.ledger.season_status`) computed without the
        plans this pacing replaces; it includes the ``accepted`` walks. ``None`` falls back to
        the deprecated ``season.walks - season.used`` (and says so in ``warnings``).
    done : completed walks per association this season (the ledger's), for the season maxima
    accepted : walks already accepted by their association: each stays in its week (the week
        gets at least that many) and counts against ``walks_left``
    now : the moment of pacing (tz-aware); weeks that are over are skipped and the nights of
        the current week that have passed count only for the part still ahead
    """
    check_now(now)
    q = resources.season
    if q is None:
        raise InvalidInputError(NO_SEASON)
    remaining, notes0 = resolve_walks_left(resources, walks_left)
    done_map, done_notes = done_counts(resources, done)
    tz = resources.tz
    scoped: list[tuple[list[str], str]] = [([], t) for t in notes0 + done_notes]
    if now is not None:
        now_week = iso_week_of(pd.Timestamp(now).tz_convert(tz).date())
        if parse_iso_week(first_week) < parse_iso_week(now_week):
            scoped.append(
                ([], f"weeks before {now_week} are over at {_local(now, tz)}: the pacing starts at {now_week}")
            )
            first_week = now_week
    if remaining < 0:
        scoped.append(([], f"the season's walks are overspent by {-remaining}: no walks to place"))
        remaining = 0
    weeks = _season_weeks(resources, first_week)
    if not weeks:
        return SeasonPlan(
            first_week,
            first_week,
            remaining,
            0,
            [],
            dict(DEFAULT_UPLIFT),
            warnings=[t for _, t in scoped]
            + [f"week {first_week} is after the season's end ({q.until}): no walks to place"],
        )
    # accepted walks: kept in their week; those outside the paced weeks or already started are named
    pins: dict[str, int] = {w: 0 for w in weeks}
    for p in accepted:
        w = iso_week_of(p.night)
        start = resources.template(p.template).window(p.night, tz)[0]
        if now is not None and start < pd.Timestamp(now):
            scoped.append(
                (
                    [],
                    f"accepted walk of {p.association!r} on {p.night} started before {_local(now, tz)}: "
                    "not paced (record it in the season ledger)",
                )
            )
        elif w not in pins:
            scoped.append(
                (
                    [],
                    f"accepted walk of {p.association!r} on {p.night} is outside the season "
                    f"({weeks[0]}..{weeks[-1]}): not paced",
                )
            )
        else:
            pins[w] += 1
    # the associations' season maxima bound the whole season
    room = [
        max(0, a.max_walks_per_season - done_map.get(a.name, 0))
        for a in resources.associations
        if a.max_walks_per_season is not None
    ]
    if resources.associations and len(room) == len(resources.associations) and sum(room) < remaining:
        scoped.append(
            (
                [],
                f"the associations' season maxima allow only {sum(room)} more walks: "
                f"{remaining - sum(room)} of the {remaining} walks left cannot be placed; raise max_walks_per_season",
            )
        )
        remaining_cap = sum(room)
    else:
        remaining_cap = remaining
    values, source, notable, uplifts = night_values(grid, resources, weeks, history)
    for w in (weeks[0], weeks[-1]):
        values[w] = values[w] * season_nights(resources, w)  # nights outside the season get nothing
    if now is not None:
        frac = open_fraction(weeks[0], tz, now)
        if frac.min() < 1.0:
            values[weeks[0]] = values[weeks[0]] * frac
            scoped.append(
                (
                    [weeks[0]],
                    f"{weeks[0]} is paced from {_local(now, tz)} on: the {int((frac == 0).sum())} nights over by then "
                    "get no walks",
                )
            )
    stack = resources.effects.walk_stacking[: resources.max_teams_per_area_night]
    # marginal value of the k-th walk of each week: nights x areas x teams, best first
    n_areas = max(1, len(resources.areas))
    marg: dict[str, np.ndarray] = {}
    caps: dict[str, int] = {}
    for w in weeks:
        per_night = values[w] / n_areas  # a walk covers one area of the night's risk
        cand = np.sort(np.concatenate([per_night * m for m in stack for _ in range(n_areas)]))[::-1]
        marg[w] = np.concatenate([cand, np.zeros(max(0, pins[w] - len(cand) + 1))])
        caps[w] = max(pins[w], min(_week_capacity(resources, w, now if w == weeks[0] else None), len(cand)))
    m = q.min_walks_per_week
    low_cap = [w for w in weeks if caps[w] < m]
    if low_cap:
        scoped.append(
            (
                low_cap,
                f"{_fmt_weeks(low_cap)}: the associations can walk fewer walks than the weekly minimum of {m} "
                "(their nights, unavailable dates and weekly maxima, the season's start and end, the nights already "
                "over): those weeks get what they can take",
            )
        )
    lo = {w: max(pins[w], min(m, caps[w])) for w in weeks}
    if sum(pins.values()) > remaining_cap:
        scoped.append(
            (
                [],
                f"{sum(pins.values())} accepted walks exceed the {remaining_cap} walks left: "
                "no further walks are paced",
            )
        )
        alloc, short = dict(pins), 0
    elif sum(lo.values()) > remaining_cap:
        # not even the weekly minimum for every week: accepted walks stay, the rest by risk
        alloc, short = _greedy(weeks, marg, dict(pins), caps, remaining_cap)
        missed = [w for w in weeks if alloc[w] < min(m, caps[w])]
        scoped.append(
            (
                missed,
                f"{remaining_cap} walks left cannot give every one of the {len(weeks)} weeks its minimum of {m}: "
                f"the riskiest weeks get walks first; {len(missed)} weeks get fewer ({_fmt_weeks(missed)})",
            )
        )
    else:
        alloc, short = _greedy(weeks, marg, lo, caps, remaining_cap)
    if short > 0:
        scoped.append(
            (
                [],
                f"the associations can walk only {sum(alloc.values())} of the {remaining} remaining "
                "walks in the season: add nights or raise max_walks_per_week",
            )
        )
    # what the risk alone would give (no capacity, no accepted walks): name every week moved
    free = {w: int((marg[w] > 0).sum()) for w in weeks}
    ref_lo = {w: min(m, free[w]) if m * len(weeks) <= remaining_cap else 0 for w in weeks}
    ref, _ = _greedy(weeks, marg, ref_lo, free, min(remaining_cap, sum(free.values())))
    for w in weeks:
        if short == 0 and alloc[w] < ref[w] and alloc[w] >= caps[w]:
            scoped.append(
                (
                    [w],
                    f"{w} is full at {_n_walks(caps[w])} (the associations' nights and weekly maxima): its risk would "
                    f"draw {ref[w]}, so {ref[w] - alloc[w]} go to other weeks",
                )
            )
        if pins[w] > ref[w]:
            scoped.append(
                (
                    [w],
                    f"{w} holds {pins[w]} accepted walks, {pins[w] - ref[w]} more than its share by risk ({ref[w]}): "
                    "the other weeks get that many fewer",
                )
            )
    out = [SeasonWeek(w, alloc[w], caps[w], float(values[w].sum()), source[w], notable[w], pins[w]) for w in weeks]
    warnings = [t for _, t in scoped]
    week_warnings: dict[str, list[str]] = {}
    for ws, t in scoped:
        for w in ws:
            week_warnings.setdefault(w, []).append(t)
    return SeasonPlan(
        weeks[0],
        weeks[-1],
        remaining,
        sum(alloc.values()),
        out,
        uplifts,
        warnings=warnings,
        week_warnings=week_warnings,
    )


def week_notes(sp: SeasonPlan, week: str) -> list[str]:
    """The pacing's warnings a weekly plan of ``week`` repeats: the season-wide ones and its own."""
    return sp.season_warnings() + list(sp.week_warnings.get(week, []))


def week_share(
    grid: pd.DataFrame | None,
    resources: Resources,
    week: str,
    history: pd.DataFrame | None = None,
    *,
    walks_left: int | None = None,
    done: Mapping[str, int] | None = None,
    accepted: Sequence[PinnedWalk] = (),
    now: dt.datetime | None = None,
) -> tuple[int, str]:
    """The number of walks the season pacing gives ``week``, and a sentence saying why."""
    sp = pace(resources, week, grid, history, walks_left=walks_left, done=done, accepted=accepted, now=now)
    return share_of(sp, week)


def share_of(sp: SeasonPlan, week: str) -> tuple[int, str]:
    if not sp.weeks or sp.weeks[0].week != week:
        return 0, f"{week} is outside the season: 0 walks"
    w = sp.weeks[0]
    extra = f"; notable nights: {'; '.join(w.notable_nights)}" if w.notable_nights else ""
    return w.walks, (
        f"season pacing: {w.walks} of the {sp.remaining_walks} remaining walks this week "
        f"({len(sp.weeks)} weeks to {sp.last_week}, week risk {w.risk_index:.2f} from the "
        f"{w.source}){extra}"
    )


def _local(ts: dt.datetime | pd.Timestamp, tz: str) -> str:
    t = pd.Timestamp(ts).tz_convert(tz)
    return f"{WEEKDAYS[t.weekday()]} {t:%Y-%m-%d %H:%M}"
