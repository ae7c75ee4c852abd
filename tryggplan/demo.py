"""The synthetic demo town: places, incidents from a known intensity, and the truth planted.

A small Swedish town around Arboga (59.39 N, 15.84 E): 16 places in 4 walking areas, about 580
reported incidents a year falling about 18% a year (docs/architecture.md, "Who uses it"). Incidents come from
a Hawkes process per place (Hawkes 1971): a background intensity

    mu(place, t) = R(t) * share[place] * how[hour_of_week(t)] * season(t) * calendar(activity_day(t))

[incidents/h], where ``R(t)`` declines geometrically, ``how`` (mean 1) peaks on Friday and
Saturday nights, ``season`` is a yearly cosine and ``calendar`` multiplies Walpurgis Night, end
of school, Midsummer Eve, New Year's Eve and payday weekends; plus self-excitation: every
incident triggers on average ``branching_ratio`` more at the same place, after exponential delays
with mean ``decay_hours`` (near-repeat victimisation, Johnson & Bowers 2004; Mohler et al. 2011).

Everything planted is returned in :class:`Truth`, so tests can check that models recover it.

References
----------
Hawkes, A. G. (1971). Spectra of some self-exciting and mutually exciting point processes.
Biometrika 58(1), 83-90.
Johnson, S. D. & Bowers, K. J. (2004). The burglary as clue to the future. European Journal of
Criminology 1(2), 237-255.
Mohler, G. O. et al. (2011). Self-exciting point process modeling of crime. JASA 106(493), 100-108.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.calendar import SwedishCalendar, activity_day
from tryggplan.domain import DEFAULT_TZ, INCIDENT_COLUMNS, PLACE_COLUMNS, InvalidInputError
from tryggplan.timeutil import hour_of_week, local_slots

#: (place_id, name, kind, area, lat, lon, relative rate)
TOWN_PLACES: tuple[tuple[str, str, str, str, float, float, float], ...] = (
    ("stortorget", "Stortorget", "square", "Centrum", 59.3939, 15.8388, 3.0),
    ("nygatan", "Nygatan", "street", "Centrum", 59.3946, 15.8361, 1.6),
    ("kyrkparken", "Kyrkparken", "park", "Centrum", 59.3929, 15.8412, 1.3),
    ("bibliotekshuset", "Bibliotekshuset", "library", "Centrum", 59.3951, 15.8398, 0.6),
    ("resecentrum", "Resecentrum", "station", "Stationen", 59.3898, 15.8302, 2.2),
    ("busstorget", "Busstorget", "bus_stop", "Stationen", 59.3905, 15.8320, 1.2),
    ("pendelparkeringen", "Pendelparkeringen", "parking", "Stationen", 59.3889, 15.8289, 0.7),
    ("gasthamnen", "Gästhamnen", "harbour", "Stationen", 59.3917, 15.8447, 0.9),
    ("vasaskolan", "Vasaskolan", "school", "Nygård", 59.3990, 15.8331, 1.1),
    ("ungdomsgarden", "Ungdomsgården", "youth_centre", "Nygård", 59.3998, 15.8305, 1.0),
    ("nygardsparken", "Nygårdsparken", "park", "Nygård", 59.4011, 15.8352, 0.9),
    ("nygards-centrum", "Nygårds centrum", "shop", "Nygård", 59.4004, 15.8276, 1.0),
    ("idrottsplatsen", "Idrottsplatsen", "sports", "Åbylund", 59.3865, 15.8510, 0.8),
    ("simhallen", "Simhallen", "sports", "Åbylund", 59.3872, 15.8486, 0.5),
    ("abylundsskolan", "Åbylundsskolan", "school", "Åbylund", 59.3850, 15.8532, 0.9),
    ("coop-abylund", "Coop Åbylund", "shop", "Åbylund", 59.3858, 15.8466, 0.8),
)

#: Category mix by place kind (shares), and the default mix.
CATEGORY_MIX: dict[str, dict[str, float]] = {
    "default": {"vandalism": 0.35, "disorder": 0.25, "theft": 0.15, "assault": 0.12, "drugs": 0.08, "threat": 0.05},
    "shop": {"theft": 0.45, "disorder": 0.2, "vandalism": 0.15, "threat": 0.1, "assault": 0.1},
    "school": {"vandalism": 0.55, "disorder": 0.2, "drugs": 0.1, "theft": 0.1, "assault": 0.05},
    "square": {"disorder": 0.35, "assault": 0.2, "vandalism": 0.2, "drugs": 0.1, "theft": 0.1, "threat": 0.05},
}
SOURCE_MIX: dict[str, float] = {"reporter": 0.5, "police": 0.35, "guard": 0.15}

#: Multiplier of the background intensity on each activity day with that calendar feature.
DEFAULT_CALENDAR_MULTIPLIERS: dict[str, float] = {
    "walpurgis": 3.0,
    "end_of_school": 2.5,
    "midsummer_eve": 2.5,
    "new_years_eve": 3.5,
    "payday_weekend": 1.35,
}


def default_how_profile() -> np.ndarray:
    """The planted hour-of-week profile (168 values, Monday 00:00 first, mean 1) [relative rate].

    Quiet mornings, a rise through the afternoon, a peak from 21:00 to 01:00; the nights of
    Friday and Saturday (which run into Saturday and Sunday mornings) are about three times a
    weekday night.
    """
    hour = np.array(
        [
            0.9,
            0.7,
            0.5,
            0.3,
            0.15,
            0.1,
            0.1,
            0.15,
            0.25,
            0.3,
            0.35,
            0.4,
            0.45,
            0.5,
            0.6,
            0.7,
            0.8,
            0.9,
            1.1,
            1.4,
            1.7,
            2.0,
            2.1,
            1.6,
        ]
    )
    night_boost = np.array([1.0, 1.0, 1.1, 1.3, 2.6, 3.0, 1.2])  # by activity weekday Mon..Sun
    profile = np.empty(168)
    for how in range(168):
        dow, hr = divmod(how, 24)
        act = (dow - 1) % 7 if hr < 6 else dow  # hours before 06:00 belong to the night before
        night = hr >= 18 or hr < 6
        profile[how] = hour[hr] * (night_boost[act] if night else 1.0 + 0.15 * (dow >= 5))
    return profile / profile.mean()


@dataclass
class Truth:
    """What the generator planted (all rates in [incidents/h] unless said otherwise)."""

    seed: int
    tz: str
    start: dt.date
    end: dt.date
    #: expected incidents in the first year, background plus near-repeats [incidents/yr]
    annual_rate_at_start: float
    #: relative fall of the rate per year (0.18 = 18% fewer each year)
    yearly_decline: float
    #: hour-of-week profile, 168 values, Monday 00:00 first, mean 1
    how_profile: list[float]
    #: each place's share of the town's incidents (sums to 1)
    place_share: dict[str, float]
    #: yearly season: multiplier 1 + amplitude * cos(2 pi (day_of_year - peak_day) / 365.25)
    season_amplitude: float
    season_peak_day: int
    #: multiplier per calendar feature of :class:`tryggplan.calendar.SwedishCalendar`
    calendar_multipliers: dict[str, float]
    #: near-repeat (Hawkes) self-excitation: mean offspring per incident and mean delay [h]
    branching_ratio: float
    decay_hours: float
    category_mix: dict[str, dict[str, float]] = field(default_factory=dict)
    source_mix: dict[str, float] = field(default_factory=dict)
    #: realised counts: background events, triggered events, per calendar year
    n_background: int = 0
    n_triggered: int = 0
    per_year: dict[str, int] = field(default_factory=dict)

    def background_intensity(self, slots: pd.DatetimeIndex, places: list[str] | None = None) -> np.ndarray:
        """Background intensity ``mu[place, slot]`` [incidents/h] (without near-repeats)."""
        places = list(self.place_share) if places is None else places
        share = np.array([self.place_share.get(p, 0.0) for p in places])
        return np.outer(share, self.town_background(slots))

    def town_background(self, slots: pd.DatetimeIndex) -> np.ndarray:
        """Town-wide background intensity per slot [incidents/h]."""
        local = pd.DatetimeIndex(slots).tz_convert(self.tz)
        hours_per_year = 365.25 * 24
        years = (
            (local.tz_convert("UTC") - pd.Timestamp(self.start, tz=self.tz).tz_convert("UTC"))
            / pd.Timedelta(hours=1)
            / hours_per_year
        )
        # the background is scaled so that background + triggered = annual_rate_at_start in year 1
        first_year_mean = (
            self.yearly_decline / -np.log1p(-self.yearly_decline) if self.yearly_decline > 0 else 1.0
        )  # mean of (1-d)^t over t in [0, 1]
        level = self.annual_rate_at_start * (1 - self.branching_ratio) / hours_per_year / first_year_mean
        trend = (1 - self.yearly_decline) ** np.asarray(years, dtype=float)
        how = np.asarray(self.how_profile)[hour_of_week(local)]
        doy = np.asarray(local.dayofyear, dtype=float)
        season = 1 + self.season_amplitude * np.cos(2 * np.pi * (doy - self.season_peak_day) / 365.25)
        days = activity_day(local)
        feats = SwedishCalendar(tz=self.tz).features(pd.DatetimeIndex(days.unique()))
        log_mult = np.zeros(len(feats))
        for name, mult in self.calendar_multipliers.items():
            log_mult += np.log(mult) * feats[name].to_numpy()
        cal = pd.Series(np.exp(log_mult), index=feats.index).reindex(days).to_numpy()
        return level * trend * how * season * cal

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO strings)."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        out["how_profile"] = [round(v, 6) for v in self.how_profile]
        out["place_share"] = {k: round(v, 6) for k, v in self.place_share.items()}
        out["units"] = {
            "annual_rate_at_start": "incidents/yr",
            "decay_hours": "h",
            "how_profile": "relative, mean 1",
            "place_share": "share of town incidents",
        }
        return out


@dataclass
class Town:
    """A generated demo town."""

    places: pd.DataFrame
    incidents: pd.DataFrame
    truth: Truth


def generate_town(
    seed: int = 42,
    years: float = 3.25,
    end: dt.date | None = None,
    tz: str = DEFAULT_TZ,
    annual_rate_at_start: float = 700.0,
    yearly_decline: float = 0.18,
    branching_ratio: float = 0.2,
    decay_hours: float = 36.0,
    season_amplitude: float = 0.25,
    calendar_multipliers: dict[str, float] | None = None,
) -> Town:
    """Generate the demo town.

    Parameters
    ----------
    seed : random seed; the same seed and ``end`` give the same town
    years : length of the history [yr]
    end : last local day with incidents (exclusive end is the day after); default yesterday
    tz : local time zone
    annual_rate_at_start : expected incidents in the first year [incidents/yr]; with the
        defaults the years hold about 700, 574, 471 (about 580 a year on average; busy enough
        that the next 14 days hold high-risk windows over the floor in winter too)
    yearly_decline : relative fall of the rate per year
    branching_ratio : mean incidents triggered by each incident at the same place (< 1)
    decay_hours : mean delay of a triggered incident [h]
    season_amplitude : relative amplitude of the yearly cosine (peak in mid July)
    calendar_multipliers : override :data:`DEFAULT_CALENDAR_MULTIPLIERS`
    """
    if not 0 <= branching_ratio < 1:
        raise InvalidInputError(f"branching_ratio must be in [0, 1), got {branching_ratio}")
    if years <= 0:
        raise InvalidInputError(f"years must be positive, got {years}")
    rng = np.random.default_rng(seed)
    end = end or (dt.date.today() - dt.timedelta(days=1))
    start = end - dt.timedelta(days=round(years * 365.25))
    places = pd.DataFrame(
        [(pid, name, "Arboga", lat, lon, kind, area) for pid, name, kind, area, lat, lon, _ in TOWN_PLACES],
        columns=list(PLACE_COLUMNS),
    )
    rel = np.array([r for *_, r in TOWN_PLACES]) * rng.lognormal(0.0, 0.15, len(TOWN_PLACES))
    share = rel / rel.sum()
    truth = Truth(
        seed=seed,
        tz=tz,
        start=start,
        end=end,
        annual_rate_at_start=annual_rate_at_start,
        yearly_decline=yearly_decline,
        how_profile=[float(v) for v in default_how_profile()],
        place_share={pid: float(s) for pid, s in zip(places["place_id"], share, strict=True)},
        season_amplitude=season_amplitude,
        season_peak_day=196,
        calendar_multipliers=dict(calendar_multipliers or DEFAULT_CALENDAR_MULTIPLIERS),
        branching_ratio=branching_ratio,
        decay_hours=decay_hours,
        category_mix=CATEGORY_MIX,
        source_mix=SOURCE_MIX,
    )
    slots = local_slots(start, (end - start).days + 1, tz)
    mu = truth.background_intensity(slots)  # [place, slot] incidents/h
    counts = rng.poisson(mu)
    place_idx, slot_idx = np.nonzero(counts)
    reps = counts[place_idx, slot_idx]
    place_idx = np.repeat(place_idx, reps)
    slot_utc = slots.tz_convert("UTC").asi8[np.repeat(slot_idx, reps)]
    hour_ns = 3_600_000_000_000
    times = slot_utc + rng.integers(0, 60, len(slot_utc)) * 60_000_000_000
    n_background = len(times)
    stop_ns = slots.tz_convert("UTC").asi8[-1] + hour_ns
    all_places, all_times, parents = [place_idx], [times], (place_idx, times)
    n_triggered = 0
    while len(parents[0]):
        kids = rng.poisson(branching_ratio, len(parents[0]))
        kid_place = np.repeat(parents[0], kids)
        delay = rng.exponential(decay_hours, kids.sum()) * hour_ns
        kid_time = (np.repeat(parents[1], kids) + delay).astype(np.int64)
        kid_time -= kid_time % 60_000_000_000
        keep = kid_time < stop_ns
        parents = (kid_place[keep], kid_time[keep])
        n_triggered += int(keep.sum())
        all_places.append(parents[0])
        all_times.append(parents[1])
    p_idx = np.concatenate(all_places)
    t_ns = np.concatenate(all_times)
    order = np.lexsort((p_idx, t_ns))
    p_idx, t_ns = p_idx[order], t_ns[order]
    kinds = places["kind"].to_numpy()[p_idx]
    category = np.empty(len(p_idx), dtype=object)
    for kind in np.unique(kinds):
        mix = CATEGORY_MIX.get(str(kind), CATEGORY_MIX["default"])
        sel = kinds == kind
        category[sel] = rng.choice(list(mix), size=int(sel.sum()), p=np.array(list(mix.values())))
    source = rng.choice(list(SOURCE_MIX), size=len(p_idx), p=np.array(list(SOURCE_MIX.values())))
    occurred = pd.to_datetime(t_ns, utc=True)
    incidents = pd.DataFrame(
        {
            "incident_id": pd.Series([f"demo-{i:06d}" for i in range(1, len(p_idx) + 1)], dtype="string"),
            "occurred_at": occurred,
            "place_id": pd.Series(places["place_id"].to_numpy()[p_idx], dtype="string"),
            "category": pd.Series(category, dtype="string"),
            "source": pd.Series(source, dtype="string"),
            "weight": np.ones(len(p_idx)),
        }
    ).loc[:, list(INCIDENT_COLUMNS)]
    truth.n_background = n_background
    truth.n_triggered = n_triggered
    years_local = pd.DatetimeIndex(occurred).tz_convert(tz).year
    truth.per_year = {str(y): int(n) for y, n in pd.Series(years_local).value_counts().sort_index().items()}
    return Town(places=places, incidents=incidents, truth=truth)
