"""The resources spec: what the coordinator can allocate in a week and a season.

A YAML or JSON file validated by pydantic v2 (:func:`load_resources`). Every error message
names the path of the bad field (``associations[2].nights[0]``) and says what to write
instead. :func:`check_against_places` checks the spec against the places of a risk grid.

Times of day (``"21:00"``) are local wall-clock times in ``tz`` and must be on the hour,
because the risk grid is hourly. Durations and costs are computed in UTC, so a shift that
spans a DST change is one hour shorter (spring) or longer (autumn).

Effect assumptions (:class:`Effects`)
-------------------------------------
How much a presence lowers the expected incidents of the place-hour it covers.

* ``walk = 0.10``: a volunteer night-walk team lowers the expected incidents of each
  place-hour on its route by 10%. Volunteers are weaker than police presence, so this is
  below the police results below; update it from your own evaluation (walks done vs
  incidents).
* ``guard = 0.20``: a security guard posted at one place lowers that place-hour by 20%.
* ``walk_stacking = [1.0, 0.5, 0.25]``: diminishing returns. The first walk in a
  place-hour has the full effect, the second half of it, the third a quarter, further
  walks nothing (a concave piecewise-linear curve in the number of walks). A guard and
  walks combine as independent effects: ``1 - (1 - guard) * (1 - walks)``.

References
----------
* Ratcliffe, J. H., Taniguchi, T., Groff, E. R. & Wood, J. D. (2011). The Philadelphia
  Foot Patrol Experiment: a randomized controlled trial of police patrol effectiveness in
  violent crime hotspots. *Criminology* 49(3), 795-831. Foot patrol cut violent crime by
  about 23% against control hot spots.
* Braga, A. A., Turchan, B. S., Papachristos, A. V. & Hureau, D. M. (2019). Hot spots
  policing of small geographic areas effects on crime. *Campbell Systematic Reviews*
  15(3), e1046 (and Braga, Papachristos & Hureau 2012). Small but consistent reductions
  across many randomized trials.
* Koper, C. S. (1995). Just enough police presence: reducing crime and disorderly behavior
  by optimizing patrol time in crime hot spots. *Justice Quarterly* 12(4), 649-672. Stops of
  about 10-15 minutes deter best; the effect decays after the patrol leaves (hence the
  effect is counted only in the hours a team is on its route).
* Mohler, G. O., Short, M. B., Malinowski, S., Johnson, M., Tita, G. E., Bertozzi, A. L. &
  Brantingham, P. J. (2015). Randomized controlled field trials of predictive policing.
  *Journal of the American Statistical Association* 110(512), 1399-1411. Forecast-directed
  patrols lowered crime volume by about 7.4%.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.text import normalize_text
from tryggplan.timeutil import check_tz

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_NIGHTS: list[Weekday] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def local_time(day: dt.date, hour: int, tz: str) -> pd.Timestamp:
    """Local wall time ``day hour:00`` in ``tz``.

    A time that does not exist (spring forward) moves forward to the first valid instant;
    an ambiguous one (fall back) is the first occurrence (summer time).
    """
    return pd.Timestamp(dt.datetime.combine(day, dt.time(hour))).tz_localize(
        tz, nonexistent="shift_forward", ambiguous=True
    )


def _hour(value: str, field: str) -> int:
    """``"21:00"`` -> 21; refuses minutes other than 00 (the risk grid is hourly)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 60:
        # YAML 1.1 reads an unquoted 21:00 as the base-60 integer 1260
        value = f"{value // 60:02d}:{value % 60:02d}"
    text = str(value).strip()
    try:
        t = dt.time.fromisoformat(text if len(text) > 2 else f"{int(text):02d}:00")
    except ValueError as exc:
        raise ValueError(f"{field} {value!r} is not a time of day: write it as HH:00, e.g. '21:00'") from exc
    if t.minute or t.second:
        raise ValueError(f"{field} {value!r} is not on the hour: the risk grid is hourly, write e.g. '21:00'")
    return t.hour


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShiftTemplate(_Model):
    """A night-walk shift, e.g. ``20:00-00:00``. An end at or before the start is the next day."""

    name: str = Field(min_length=1)
    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _on_the_hour(cls, v: Any, info: Any) -> str:
        return f"{_hour(v, info.field_name):02d}:00"

    @property
    def start_hour(self) -> int:
        return _hour(self.start, "start")

    @property
    def end_hour(self) -> int:
        return _hour(self.end, "end")

    @property
    def nominal_hours(self) -> int:
        """Wall-clock length [h] (the UTC length differs by one hour across a DST change)."""
        return (self.end_hour - self.start_hour) % 24 or 24

    @property
    def night_offset_days(self) -> int:
        """0 when the shift starts on the night's date (18:00-23:00), 1 when after midnight."""
        return 1 if self.start_hour < 12 else 0

    def window(self, night: dt.date, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Local start and end of this shift on the night of ``night`` (tz-aware)."""
        day0 = night + dt.timedelta(days=self.night_offset_days)
        end_day = day0 + dt.timedelta(days=1 if self.end_hour <= self.start_hour else 0)
        return local_time(day0, self.start_hour, tz), local_time(end_day, self.end_hour, tz)


class Area(_Model):
    """A walking route: the places one team covers in one shift."""

    name: str = Field(min_length=1)
    place_ids: list[str] = Field(min_length=1)


class Association(_Model):
    """A local association that staffs night walks.

    ``nights``: the nights of the week it can walk (the night of Friday runs Fri 18:00 to
    Sat 06:00). ``templates`` / ``areas``: which shift templates and areas it accepts
    (``None`` = all). ``walks_done`` is **deprecated**: the walks done this season (for
    fairness and the season maximum) come from the season ledger (the ``done`` argument of
    the planning functions); ``walks_done`` is read only when no ``done`` is given, and the
    plan then says so in its warnings.
    """

    name: str = Field(min_length=1)
    nights: list[Weekday] = Field(default_factory=lambda: list(ALL_NIGHTS))
    templates: list[str] | None = None
    areas: list[str] | None = None
    max_walks_per_week: int = Field(default=1, ge=0)
    min_walks_per_week: int = Field(default=0, ge=0)
    max_walks_per_season: int | None = Field(default=None, ge=0)
    walks_done: int = Field(default=0, ge=0)
    team_size: int = Field(default=3, ge=1)
    unavailable_dates: list[dt.date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _min_le_max(self) -> Association:
        if self.min_walks_per_week > self.max_walks_per_week:
            raise ValueError(
                f"min_walks_per_week {self.min_walks_per_week} exceeds max_walks_per_week "
                f"{self.max_walks_per_week}: lower the minimum or raise the maximum"
            )
        return self


class SeasonQuota(_Model):
    """The pot of night walks for a season, e.g. 40 walks until 31 December.

    ``walks`` (required, no default): the season's quota. ``until`` ``None`` means a rolling
    season of ``horizon_weeks`` weeks from the week being planned. ``min_walks_per_week``: the
    pacing gives every week at least this many walks (while the quota and the associations'
    capacity allow; every week that gets fewer is named in the warnings).

    ``used`` is **deprecated**: the season ledger (:mod:`tryggplan.allocation.ledger`) derives
    the walks done from the walk records and every plan takes its ``walks_left``. ``used`` is
    read only when no ``walks_left`` is given, and the plan then says so in its warnings.
    """

    walks: int = Field(ge=0)
    start: dt.date | None = None
    until: dt.date | None = None
    horizon_weeks: int = Field(default=26, ge=1, le=106)
    used: int = Field(default=0, ge=0)
    min_walks_per_week: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> SeasonQuota:
        if self.used > self.walks:
            raise ValueError(f"used ({self.used}) exceeds the quota of {self.walks} walks: correct 'used'")
        if self.start and self.until and self.until < self.start:
            raise ValueError(f"until {self.until} is before start {self.start}: swap or correct the dates")
        return self


class GuardContract(_Model):
    """Paid security guards.

    ``hourly_rate_sek`` [SEK/guard-h]; ``min_block_hours`` [h] the shortest shift a guard
    works; ``max_hours_per_week`` [guard-h]; ``concurrent_guards``: guards on duty at once;
    ``places``: where guards may be posted (``None`` = every place); ``hours``: local hours
    of the day when guards may be on duty.
    """

    hourly_rate_sek: float = Field(default=450.0, ge=0)
    min_block_hours: int = Field(default=3, ge=1, le=24)
    max_hours_per_week: int = Field(default=24, ge=0)
    concurrent_guards: int = Field(default=1, ge=0)
    places: list[str] | None = None
    hours: list[int] = Field(default_factory=lambda: list(range(24)))

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: list[int]) -> list[int]:
        bad = [h for h in v if not 0 <= h <= 23]
        if bad:
            raise ValueError(f"hours {bad} are not hours of the day: use 0-23")
        return sorted(set(v))


class MustCover(_Model):
    """A window that must be covered every hour, e.g. a focus group's site on Fridays.

    ``by``: which presence counts (``any``, ``night_walk``, ``guard``). ``nights``: the
    nights of the week it applies to; ``dates``: or specific night dates instead.
    """

    place_id: str
    name: str | None = None
    nights: list[Weekday] = Field(default_factory=lambda: list(ALL_NIGHTS))
    dates: list[dt.date] | None = None
    start: str
    end: str
    by: Literal["any", "night_walk", "guard"] = "any"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _on_the_hour(cls, v: Any, info: Any) -> str:
        return f"{_hour(v, info.field_name):02d}:00"

    @property
    def label(self) -> str:
        return self.name or f"{self.place_id} {','.join(self.nights)} {self.start}-{self.end}"


class PinnedWalk(_Model):
    """A night walk already agreed: kept in every re-plan."""

    kind: Literal["night_walk"] = "night_walk"
    association: str
    area: str
    night: dt.date
    template: str


class PinnedGuard(_Model):
    """A guard block already agreed: ``start`` local wall time (or with offset), ``hours`` long."""

    kind: Literal["guard"] = "guard"
    place_id: str
    start: dt.datetime
    hours: int = Field(ge=1, le=24)

    @field_validator("start")
    @classmethod
    def _on_the_hour(cls, v: dt.datetime) -> dt.datetime:
        if v.minute or v.second or v.microsecond:
            raise ValueError(
                f"start {v.isoformat()} is not on the hour: the risk grid is hourly, write e.g. 2026-12-04T21:00"
            )
        return v


Pinned = Annotated[PinnedWalk | PinnedGuard, Field(discriminator="kind")]


class Fairness(_Model):
    """Each association's share of the walks (done this season plus planned) [0-1].

    Enforced with a tolerance of one walk, so small weeks stay feasible.
    """

    min_share: float = Field(default=0.0, ge=0, le=1)
    max_share: float = Field(default=1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> Fairness:
        if self.min_share > self.max_share:
            raise ValueError(f"min_share {self.min_share} exceeds max_share {self.max_share}")
        return self


class Effects(_Model):
    """Effect assumptions (see the module docstring for the sources).

    ``walk``, ``guard``: relative reduction of the expected incidents of a covered
    place-hour [0-1]. ``walk_stacking``: multiplier of the 1st, 2nd, ... walk in the same
    place-hour, non-increasing (diminishing returns); later walks add nothing.
    """

    walk: float = Field(default=0.10, ge=0, le=1)
    guard: float = Field(default=0.20, ge=0, le=1)
    walk_stacking: list[float] = Field(default_factory=lambda: [1.0, 0.5, 0.25], min_length=1)

    @field_validator("walk_stacking")
    @classmethod
    def _concave(cls, v: list[float]) -> list[float]:
        if any(x < 0 or x > 1 for x in v):
            raise ValueError("walk_stacking multipliers must lie in [0, 1], e.g. [1.0, 0.5, 0.25]")
        if any(b > a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError(
                f"walk_stacking {v} must not increase: the second walk in a place-hour adds at most "
                "what the first adds (diminishing returns), e.g. [1.0, 0.5, 0.25]"
            )
        return v

    def walk_curve(self, walks: int) -> float:
        """Reduction [0-1] from ``walks`` walks in one place-hour."""
        return self.walk * sum(self.walk_stacking[: max(0, walks)])

    @model_validator(mode="after")
    def _bounded(self) -> Effects:
        if self.walk * sum(self.walk_stacking) > 1:
            raise ValueError(
                f"walk {self.walk} x sum(walk_stacking) {sum(self.walk_stacking):g} exceeds 1: "
                "lower the walk effect or the stacking multipliers"
            )
        return self


class Resources(_Model):
    """Everything the coordinator can allocate. Money in [SEK], durations in [h].

    ``season`` is optional and has no hidden default: without it a weekly plan needs its
    number of walks given explicitly, and season pacing and season plans are refused.
    """

    tz: str = DEFAULT_TZ
    cost_per_walk_sek: float = Field(default=1000.0, ge=0)
    weekly_budget_sek: float | None = Field(default=None, ge=0)
    season: SeasonQuota | None = None
    templates: list[ShiftTemplate] = Field(min_length=1)
    areas: list[Area] = Field(min_length=1)
    associations: list[Association] = Field(default_factory=list)
    max_teams_per_area_night: int = Field(default=2, ge=1)
    guard: GuardContract | None = None
    must_cover: list[MustCover] = Field(default_factory=list)
    pinned: list[Pinned] = Field(default_factory=list)
    fairness: Fairness = Field(default_factory=Fairness)
    effects: Effects = Field(default_factory=Effects)

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            return check_tz(v)
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _references(self) -> Resources:
        problems: list[str] = []
        for what, names in (
            ("templates", [t.name for t in self.templates]),
            ("areas", [a.name for a in self.areas]),
            ("associations", [a.name for a in self.associations]),
        ):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                problems.append(f"{what}: names {dup} appear twice: give each a unique name")
        templates = {t.name for t in self.templates}
        areas = {a.name for a in self.areas}
        assocs = {a.name for a in self.associations}
        for i, a in enumerate(self.associations):
            for j, t in enumerate(a.templates or []):
                if t not in templates:
                    problems.append(
                        f"associations[{i}].templates[{j}]: unknown template {t!r}: use one of {sorted(templates)}"
                    )
            for j, ar in enumerate(a.areas or []):
                if ar not in areas:
                    problems.append(f"associations[{i}].areas[{j}]: unknown area {ar!r}: use one of {sorted(areas)}")
        for i, p in enumerate(self.pinned):
            if isinstance(p, PinnedWalk):
                if p.association not in assocs:
                    problems.append(
                        f"pinned[{i}].association: unknown association {p.association!r}: use one of {sorted(assocs)}"
                    )
                if p.area not in areas:
                    problems.append(f"pinned[{i}].area: unknown area {p.area!r}: use one of {sorted(areas)}")
                if p.template not in templates:
                    problems.append(
                        f"pinned[{i}].template: unknown template {p.template!r}: use one of {sorted(templates)}"
                    )
            elif self.guard is None:
                problems.append(f"pinned[{i}]: a guard shift is pinned but there is no 'guard' contract: add one")
        for i, m in enumerate(self.must_cover):
            if m.by == "guard" and self.guard is None:
                problems.append(f"must_cover[{i}]: by 'guard' but there is no 'guard' contract: add one or use 'any'")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ----------------------------------------------------------------- helpers
    def template(self, name: str) -> ShiftTemplate:
        return next(t for t in self.templates if t.name == name)

    def area(self, name: str) -> Area:
        return next(a for a in self.areas if a.name == name)

    def association(self, name: str) -> Association:
        return next(a for a in self.associations if a.name == name)

    def place_ids(self) -> set[str]:
        """Every place id the spec names."""
        ids = {p for a in self.areas for p in a.place_ids}
        if self.guard and self.guard.places:
            ids |= set(self.guard.places)
        ids |= {m.place_id for m in self.must_cover}
        ids |= {p.place_id for p in self.pinned if isinstance(p, PinnedGuard)}
        return ids

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-able dict that :func:`parse_resources` reads back."""
        return self.model_dump(mode="json", exclude_none=True)


def _clean_text(value: Any, loc: tuple[Any, ...], source: str) -> Any:
    """``value`` with every string normalised as identifying text (names of associations, areas,
    templates and places: NFC, plain spaces, trimmed); a control, zero-width or bidirectional-override
    character is refused naming the setting's path (:mod:`tryggplan.text`)."""
    if isinstance(value, str):
        try:
            return normalize_text(value, _loc(loc))
        except InvalidInputError as exc:
            raise InvalidInputError(f"{source}: {exc}", exc.problems) from None
    if isinstance(value, dict):
        return {k: _clean_text(v, (*loc, k), source) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_text(v, (*loc, i), source) for i, v in enumerate(value)]
    return value


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("night_walk", "guard") and out.startswith("pinned"):
            continue  # the discriminator tag pydantic adds to the path
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_resources(data: Any, source: str = "resources") -> Resources:
    """Validate a dict (parsed YAML/JSON) into :class:`Resources`.

    Raises :class:`InvalidInputError` with one line per bad field: its path and what to fix.
    """
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"{source}: expected a mapping of settings at the top level, got "
            f"{type(data).__name__}: see docs/coordinator/plans.md, 'The resources spec', for an example"
        )
    try:
        return Resources.model_validate(_clean_text(data, (), source))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown setting: remove it or check its spelling"
            elif err["type"] == "missing":
                msg = "required setting is missing: add it"
            elif err["type"] == "literal_error":
                msg = f"{err.get('input')!r} is not allowed: {msg.lower()}"
            lines.append(f"{_loc(err['loc'])}: {msg}")
        raise InvalidInputError(f"{source}: " + "; ".join(lines)) from None


def load_resources(path: str | Path) -> Resources:
    """Read and validate a resources file (``.yaml``/``.yml`` or ``.json``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InvalidInputError(f"resources file {str(path)!r} not found: check the path") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path.name}: not UTF-8 text: save the resources file as UTF-8") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = (
            f" at line {where.line + 1}"
            if where is not None
            else (f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "")
        )
        raise InvalidInputError(
            f"{path.name}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}{line}: fix the syntax"
        ) from exc
    return parse_resources(data, path.name)


def check_against_places(resources: Resources, place_ids: set[str] | list[str], source: str = "resources") -> None:
    """Refuse a spec that names places the risk grid does not have."""
    known = set(map(str, place_ids))
    problems: list[str] = []
    for i, a in enumerate(resources.areas):
        bad = [p for p in a.place_ids if p not in known]
        if bad:
            problems.append(f"areas[{i}] ({a.name}).place_ids: unknown places {bad}")
    if resources.guard and resources.guard.places:
        bad = [p for p in resources.guard.places if p not in known]
        if bad:
            problems.append(f"guard.places: unknown places {bad}")
    for i, m in enumerate(resources.must_cover):
        if m.place_id not in known:
            problems.append(f"must_cover[{i}].place_id: unknown place {m.place_id!r}")
    for i, p in enumerate(resources.pinned):
        if isinstance(p, PinnedGuard) and p.place_id not in known:
            problems.append(f"pinned[{i}].place_id: unknown place {p.place_id!r}")
    if problems:
        sample = sorted(known)[:8]
        raise InvalidInputError(
            f"{source}: "
            + "; ".join(problems)
            + f" -> use place ids from the forecast (e.g. {sample}) or forecast those places too"
            " (`tryggplan forecast --places places.csv` includes places without incidents)"
        )


def demo_resources(places: pd.DataFrame, season_until: dt.date | None = None) -> dict[str, Any]:
    """A realistic resources spec for the demo town (JSON/YAML-able dict).

    ``places`` has the canonical place columns (``place_id``, ``area``, ...). One walking
    area per ``area`` value; five associations with different nights; three shift
    templates; 40 walks a season at 1000 SEK; a guard contract at 450 SEK/h (min 3 h,
    24 h a week, one guard at a time, nights only); a weekly budget of 12 000 SEK.
    """
    if "place_id" not in places.columns:
        raise InvalidInputError("places lacks the column 'place_id'")
    frame = places.copy()
    if "area" not in frame.columns:
        frame["area"] = "Centrum"
    frame["area"] = frame["area"].fillna("Centrum").astype(str)
    frame["place_id"] = frame["place_id"].astype(str)
    areas = [
        {"name": name, "place_ids": sorted(g["place_id"].tolist())} for name, g in frame.groupby("area", sort=True)
    ]
    area_names = [a["name"] for a in areas]
    nights_by_assoc: list[tuple[str, list[str], int]] = [
        ("Nattvandrarna Centrum", ["fri", "sat"], 2),
        ("Föräldragruppen", ["thu", "fri", "sat"], 1),
        ("Idrottsföreningen IFK", ["fri", "sat", "sun"], 1),
        ("Kyrkans ungdom", ["wed", "fri"], 1),
        ("Lions", ["thu", "sat"], 1),
    ]
    associations = []
    for i, (name, nights, per_week) in enumerate(nights_by_assoc):
        entry: dict[str, Any] = {
            "name": name,
            "nights": nights,
            "max_walks_per_week": per_week,
            "max_walks_per_season": 14,
            "team_size": 3 + i % 2,
        }
        if i == 3:
            entry["templates"] = ["kväll 20-00", "sen kväll 21-01"]
        if i == 4 and len(area_names) > 1:
            entry["areas"] = area_names[: max(1, len(area_names) - 1)]
        associations.append(entry)
    guard_places = frame["place_id"].tolist()
    spec = {
        "tz": DEFAULT_TZ,
        "cost_per_walk_sek": 1000,
        "weekly_budget_sek": 12000,
        "season": {
            "walks": 40,
            "horizon_weeks": 26,
            "min_walks_per_week": 1,
            **({"until": season_until.isoformat()} if season_until else {}),
        },
        "templates": [
            {"name": "kväll 20-00", "start": "20:00", "end": "00:00"},
            {"name": "sen kväll 21-01", "start": "21:00", "end": "01:00"},
            {"name": "natt 22-02", "start": "22:00", "end": "02:00"},
        ],
        "areas": areas,
        "associations": associations,
        "max_teams_per_area_night": 2,
        "guard": {
            "hourly_rate_sek": 450,
            "min_block_hours": 3,
            "max_hours_per_week": 24,
            "concurrent_guards": 1,
            "places": guard_places,
            "hours": [18, 19, 20, 21, 22, 23, 0, 1, 2, 3],
        },
        "fairness": {"min_share": 0.0, "max_share": 0.5},
        "effects": {"walk": 0.10, "guard": 0.20, "walk_stacking": [1.0, 0.5, 0.25]},
    }
    parse_resources(spec, "demo resources")  # the demo must always be valid
    return spec
