"""The synthetic demo town and demo police area: places, incidents from a known intensity, and the truth
planted.

:func:`generate_town` makes one small Swedish town around Arboga (59.39 N, 15.84 E): 16 places in 4 walking
areas, about 580 reported incidents a year falling about 18% a year; many tests use it.
:func:`generate_area` makes the demo of ``run-demo`` and ``demo-data`` (docs/demo.md): the four towns of the
local police area LPO Köping (:data:`DEMO_TOWNS`: Kungsör, the seed's small town of about 350 incidents a
year falling about 18% a year; Arboga; Köping, the busiest; Hallstahammar), each at its own level from the
same machinery, with the resources a town has to allocate (associations, guard company, quota). Incidents come from
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
    incidents = _simulate(rng, places, truth, id_prefix="demo")
    return Town(places=places, incidents=incidents, truth=truth)


# --------------------------------------------------------------------------- the police area


#: (place_id, name, kind, area, lat, lon, relative rate) of one town's places
PlaceRow = tuple[str, str, str, str, float, float, float]


@dataclass(frozen=True)
class DemoAssociation:
    """An association that walks at night in a demo town: the nights of the week it can walk
    (``mon`` .. ``sun``; the night of Friday runs into Saturday) and its walks a week at most."""

    name: str
    nights: tuple[str, ...]
    per_week: int = 1


@dataclass(frozen=True)
class DemoResources:
    """What a demo town has to allocate (the resources spec is made from it by
    :func:`tryggplan.allocation.demo_resources`): the season's pot of walks, the price of a walk, the
    weekly budget, the associations and the guard company with its contract."""

    associations: tuple[DemoAssociation, ...]
    #: the guard company's name, as plans and exports show it
    guard_company: str
    #: walks in the season [walks]
    walks: int = 40
    cost_per_walk_sek: float = 1000.0
    weekly_budget_sek: float = 12000.0
    #: the guard contract's price [SEK/guard-h] and weekly maximum [guard-h]
    guard_rate_sek: float = 450.0
    guard_hours_per_week: int = 24


@dataclass(frozen=True)
class DemoTown:
    """One municipality of the demo area and its planted level.

    ``annual_rate`` is the expected number of incidents in the last twelve months of the history
    [incidents/yr] (background and near-repeats): what the town's coordinator would call "about 350
    a year". ``yearly_decline`` is its relative fall per year. Place ids are unique across the area.
    """

    municipality: str
    #: prefix of the town's incident ids (``kungsor-000001``)
    slug: str
    places: tuple[PlaceRow, ...]
    annual_rate: float
    yearly_decline: float
    resources: DemoResources
    season_amplitude: float = 0.25

    def annual_rate_at_start(self, years: float) -> float:
        """The first year's rate that falls to :attr:`annual_rate` in the last year [incidents/yr]:
        the year ``[t, t + 1)`` holds ``annual_rate_at_start * (1 - decline) ** t`` on average."""
        return self.annual_rate / (1 - self.yearly_decline) ** max(0.0, years - 1)


#: The police area of the demo (LPO Köping, Polisregion Bergslagen): the four municipalities.
DEMO_POLICE_AREA = "LPO Köping"

KUNGSOR_PLACES: tuple[PlaceRow, ...] = (
    ("kungsor-torget", "Kungsörs torg", "square", "Centrum", 59.4224, 16.0966, 3.0),
    ("kungsor-kungsgatan", "Kungsgatan", "street", "Centrum", 59.4231, 16.0948, 1.6),
    ("kungsor-kyrkbacken", "Kyrkbacken", "park", "Centrum", 59.4214, 16.0992, 1.0),
    ("kungsor-station", "Kungsörs station", "station", "Stationen", 59.4251, 16.0904, 2.0),
    ("kungsor-busstationen", "Busstationen vid Järnvägsgatan", "bus_stop", "Stationen", 59.4244, 16.0919, 1.0),
    ("kungsor-gasthamnen", "Kungsörs gästhamn", "harbour", "Hamnen", 59.4187, 16.1011, 1.2),
    ("kungsor-strandparken", "Strandparken", "park", "Hamnen", 59.4193, 16.0984, 0.8),
    ("kungsor-kung-karls-skola", "Kung Karls skola", "school", "Södra Kungsör", 59.4181, 16.0911, 1.2),
    ("kungsor-ungdomens-hus", "Ungdomens hus", "youth_centre", "Södra Kungsör", 59.4172, 16.0936, 1.0),
    ("kungsor-idrottsplatsen", "Kungsörs idrottsplats", "sports", "Södra Kungsör", 59.4161, 16.0879, 0.7),
)

KOPING_PLACES: tuple[PlaceRow, ...] = (
    ("koping-stora-torget", "Stora torget", "square", "Centrum", 59.5138, 15.9941, 3.0),
    ("koping-ostra-langgatan", "Östra Långgatan", "street", "Centrum", 59.5132, 15.9976, 1.8),
    ("koping-vastra-langgatan", "Västra Långgatan", "street", "Centrum", 59.5143, 15.9904, 1.2),
    ("koping-stadsparken", "Stadsparken", "park", "Centrum", 59.5151, 15.9961, 1.1),
    ("koping-resecentrum", "Köpings resecentrum", "station", "Stationen", 59.5118, 15.9991, 2.4),
    ("koping-busstationen", "Köpings busstation", "bus_stop", "Stationen", 59.5112, 16.0006, 1.3),
    ("koping-pendelparkeringen", "Pendelparkeringen vid resecentrum", "parking", "Stationen", 59.5107, 15.9974, 0.7),
    ("koping-hamnen", "Köpings hamn", "harbour", "Hamnen", 59.5061, 16.0081, 0.9),
    ("koping-gasthamnen", "Köpings gästhamn", "harbour", "Hamnen", 59.5076, 16.0041, 0.8),
    ("koping-ullvi-idrottsplats", "Ullvi idrottsplats", "sports", "Ullvi", 59.5231, 15.9879, 1.0),
    ("koping-ullvihallen", "Ullvihallen", "sports", "Ullvi", 59.5223, 15.9906, 0.6),
    ("koping-karlbergsskolan", "Karlbergsskolan", "school", "Ullvi", 59.5196, 15.9851, 1.2),
    ("koping-nyckelbergsskolan", "Nyckelbergsskolan", "school", "Nyckelberg", 59.5186, 16.0071, 1.1),
    ("koping-ungdomens-hus", "Ungdomens hus Köping", "youth_centre", "Nyckelberg", 59.5176, 16.0094, 1.2),
    ("koping-nyckelbergs-centrum", "Nyckelbergs centrum", "shop", "Nyckelberg", 59.5168, 16.0111, 1.0),
)

HALLSTAHAMMAR_PLACES: tuple[PlaceRow, ...] = (
    ("hallsta-torget", "Hallstahammars torg", "square", "Centrum", 59.6139, 16.2268, 2.6),
    ("hallsta-storgatan", "Storgatan", "street", "Centrum", 59.6146, 16.2246, 1.4),
    ("hallsta-folkets-park", "Folkets park", "park", "Centrum", 59.6158, 16.2301, 1.0),
    ("hallsta-fritidsgarden", "Fritidsgården Kanalen", "youth_centre", "Centrum", 59.6151, 16.2284, 1.1),
    ("hallsta-station", "Hallstahammars station", "station", "Stationen", 59.6118, 16.2214, 1.8),
    ("hallsta-busstorget", "Busstorget", "bus_stop", "Stationen", 59.6125, 16.2233, 1.1),
    ("hallsta-skantzen", "Skantzen", "park", "Skantzen", 59.6196, 16.2331, 0.9),
    ("hallsta-slussbron", "Slussbron", "street", "Skantzen", 59.6181, 16.2311, 0.7),
    ("hallsta-parkskolan", "Parkskolan", "school", "Skantzen", 59.6170, 16.2351, 1.1),
    ("kolback-station", "Kolbäcks station", "station", "Kolbäck", 59.5645, 16.2396, 0.9),
    ("kolback-torg", "Kolbäcks torg", "square", "Kolbäck", 59.5634, 16.2379, 0.8),
    ("kolback-skolan", "Kolbäcksskolan", "school", "Kolbäck", 59.5624, 16.2361, 0.8),
)

#: The four towns of LPO Köping, the seed's town first. Kungsör is the small town of the design (about
#: 350 reported incidents a year at its places, falling about 18% a year); Köping is the busiest.
#: Arboga keeps the places (and place ids) of the single demo town, :data:`TOWN_PLACES`.
DEMO_TOWNS: tuple[DemoTown, ...] = (
    DemoTown(
        "Kungsör",
        "kungsor",
        KUNGSOR_PLACES,
        annual_rate=350.0,
        yearly_decline=0.18,
        resources=DemoResources(
            associations=(
                DemoAssociation("Nattvandrarna i Kungsör", ("fri", "sat"), 2),
                DemoAssociation("Föräldraföreningen Kung Karl", ("thu", "fri", "sat")),
                DemoAssociation("Kungsörs idrottsklubb", ("fri", "sat", "sun")),
                DemoAssociation("Svenska kyrkans unga", ("wed", "fri")),
                DemoAssociation("Scoutkåren i Kungsör", ("thu", "sat")),
            ),
            guard_company="Mälardalens Bevakning AB",
        ),
    ),
    DemoTown(
        "Arboga",
        "arboga",
        TOWN_PLACES,
        annual_rate=560.0,
        yearly_decline=0.12,
        resources=DemoResources(
            associations=(
                DemoAssociation("Nattvandrarna i Arboga", ("fri", "sat"), 2),
                DemoAssociation("Föräldraföreningen Vasaskolan", ("thu", "fri", "sat")),
                DemoAssociation("Arboga idrottsförening", ("fri", "sat", "sun")),
                DemoAssociation("Equmeniakyrkans ungdom", ("wed", "fri")),
                DemoAssociation("Arboga scoutkår", ("thu", "sat")),
            ),
            guard_company="Arboga Vakt och Larm AB",
            guard_rate_sek=460.0,
        ),
    ),
    DemoTown(
        "Köping",
        "koping",
        KOPING_PLACES,
        annual_rate=1100.0,
        yearly_decline=0.08,
        season_amplitude=0.2,
        resources=DemoResources(
            associations=(
                DemoAssociation("Nattvandrarna i Köping", ("fri", "sat"), 2),
                DemoAssociation("Föräldraföreningen Nyckelberg", ("thu", "fri", "sat")),
                DemoAssociation("Köpings idrottsförening", ("fri", "sat", "sun")),
                DemoAssociation("Svenska kyrkans unga", ("wed", "fri")),
                DemoAssociation("Islamiska kulturföreningen i Köping", ("thu", "fri", "sat")),
            ),
            guard_company="Köpings Ordningsvakter AB",
            walks=60,
            weekly_budget_sek=20000.0,
            guard_rate_sek=480.0,
            guard_hours_per_week=36,
        ),
    ),
    DemoTown(
        "Hallstahammar",
        "hallstahammar",
        HALLSTAHAMMAR_PLACES,
        annual_rate=620.0,
        yearly_decline=0.10,
        resources=DemoResources(
            associations=(
                DemoAssociation("Nattvandrarna i Hallstahammar", ("fri", "sat"), 2),
                DemoAssociation("Föräldraföreningen Parkskolan", ("thu", "fri", "sat")),
                DemoAssociation("Kolbäcks idrottsförening", ("fri", "sat", "sun")),
                DemoAssociation("Hallstahammars scoutkår", ("wed", "fri")),
            ),
            guard_company="Bergslagens Bevakning AB",
        ),
    ),
)


@dataclass
class AreaTruth:
    """What the area generator planted: one :class:`Truth` per municipality (same history window)."""

    seed: int
    tz: str
    start: dt.date
    end: dt.date
    police_area: str
    towns: dict[str, Truth]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: the window and the police area, and each town's truth under ``towns``."""
        return {
            "seed": self.seed,
            "tz": self.tz,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "police_area": self.police_area,
            "towns": {name: truth.to_dict() for name, truth in self.towns.items()},
        }


@dataclass
class Area:
    """A generated police area: every town's places and incidents in one frame each."""

    places: pd.DataFrame
    incidents: pd.DataFrame
    truth: AreaTruth

    @property
    def municipalities(self) -> list[str]:
        """The towns in the generator's order (the seed's town first)."""
        return list(self.truth.towns)

    def town(self, municipality: str) -> Town:
        """One municipality's places, incidents and truth."""
        if municipality not in self.truth.towns:
            raise InvalidInputError(
                f"no town {municipality[:80]!r} in the demo area: choose one of {', '.join(self.truth.towns)}"
            )
        places = self.places[self.places["municipality"] == municipality].reset_index(drop=True)
        mine = self.incidents["place_id"].isin(places["place_id"])
        return Town(
            places=places, incidents=self.incidents[mine].reset_index(drop=True), truth=self.truth.towns[municipality]
        )


def generate_area(
    seed: int = 42,
    years: float = 3.25,
    end: dt.date | None = None,
    tz: str = DEFAULT_TZ,
    towns: tuple[DemoTown, ...] = DEMO_TOWNS,
    police_area: str = DEMO_POLICE_AREA,
    branching_ratio: float = 0.2,
    decay_hours: float = 36.0,
) -> Area:
    """Generate the demo police area: each town from the same machinery as :func:`generate_town` (the
    hour-of-week profile, the yearly season, the Swedish calendar, near-repeats) at its own level.

    Each town draws from its own random stream (``seed`` and its position), so one town's history does
    not change when another's level does. The incidents come sorted by time, each town's ids prefixed
    with its slug (``kungsor-000001``).

    Parameters
    ----------
    seed : random seed; the same seed and ``end`` give the same area
    years : length of the history [yr]
    end : last local day with incidents; default yesterday
    tz : local time zone
    towns : the municipalities and their levels (default :data:`DEMO_TOWNS`)
    police_area : the name of the local police area the towns share
    branching_ratio : mean incidents triggered by each incident at the same place (< 1)
    decay_hours : mean delay of a triggered incident [h]
    """
    if not 0 <= branching_ratio < 1:
        raise InvalidInputError(f"branching_ratio must be in [0, 1), got {branching_ratio}")
    if years <= 0:
        raise InvalidInputError(f"years must be positive, got {years}")
    if not towns:
        raise InvalidInputError("no towns given: give at least one DemoTown")
    names = [t.municipality for t in towns]
    ids = [p[0] for t in towns for p in t.places]
    if len(set(names)) != len(names) or len(set(ids)) != len(ids):
        raise InvalidInputError("the demo towns repeat a municipality or a place id: give each a unique one")
    end = end or (dt.date.today() - dt.timedelta(days=1))
    start = end - dt.timedelta(days=round(years * 365.25))
    all_places, all_incidents, truths = [], [], {}
    for index, town in enumerate(towns):
        rng = np.random.default_rng([seed, index])
        places = pd.DataFrame(
            [
                (pid, name, town.municipality, lat, lon, kind, area)
                for pid, name, kind, area, lat, lon, _ in town.places
            ],
            columns=list(PLACE_COLUMNS),
        )
        rel = np.array([r for *_, r in town.places]) * rng.lognormal(0.0, 0.15, len(town.places))
        share = rel / rel.sum()
        truth = Truth(
            seed=seed,
            tz=tz,
            start=start,
            end=end,
            annual_rate_at_start=town.annual_rate_at_start(years),
            yearly_decline=town.yearly_decline,
            how_profile=[float(v) for v in default_how_profile()],
            place_share={pid: float(s) for pid, s in zip(places["place_id"], share, strict=True)},
            season_amplitude=town.season_amplitude,
            season_peak_day=196,
            calendar_multipliers=dict(DEFAULT_CALENDAR_MULTIPLIERS),
            branching_ratio=branching_ratio,
            decay_hours=decay_hours,
            category_mix=CATEGORY_MIX,
            source_mix=SOURCE_MIX,
        )
        all_incidents.append(_simulate(rng, places, truth, id_prefix=town.slug))
        all_places.append(places)
        truths[town.municipality] = truth
    incidents = pd.concat(all_incidents, ignore_index=True)
    incidents = incidents.sort_values(["occurred_at", "incident_id"], kind="stable").reset_index(drop=True)
    return Area(
        places=pd.concat(all_places, ignore_index=True),
        incidents=incidents,
        truth=AreaTruth(seed=seed, tz=tz, start=start, end=end, police_area=police_area, towns=truths),
    )


def _simulate(rng: np.random.Generator, places: pd.DataFrame, truth: Truth, id_prefix: str) -> pd.DataFrame:
    """Draw the incidents of one town from ``truth`` (background Poisson counts per place and hour, then
    the near-repeat offspring generation by generation); records the realised counts in ``truth``.
    Incident ids are ``{id_prefix}-000001`` onwards, in time order."""
    slots = local_slots(truth.start, (truth.end - truth.start).days + 1, truth.tz)
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
        kids = rng.poisson(truth.branching_ratio, len(parents[0]))
        kid_place = np.repeat(parents[0], kids)
        delay = rng.exponential(truth.decay_hours, kids.sum()) * hour_ns
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
            "incident_id": pd.Series([f"{id_prefix}-{i:06d}" for i in range(1, len(p_idx) + 1)], dtype="string"),
            "occurred_at": occurred,
            "place_id": pd.Series(places["place_id"].to_numpy()[p_idx], dtype="string"),
            "category": pd.Series(category, dtype="string"),
            "source": pd.Series(source, dtype="string"),
            "weight": np.ones(len(p_idx)),
        }
    ).loc[:, list(INCIDENT_COLUMNS)]
    truth.n_background = n_background
    truth.n_triggered = n_triggered
    years_local = pd.DatetimeIndex(occurred).tz_convert(truth.tz).year
    truth.per_year = {str(y): int(n) for y, n in pd.Series(years_local).value_counts().sort_index().items()}
    return incidents
