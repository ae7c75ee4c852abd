"""Incidents -> zero-filled hourly counts per place and local slot.

Slots are UTC hours labelled in local time, so a local day has 23, 24 or 25 of them and
no hour is lost or doubled at a DST change. Counts can be restricted to a category group (what a
kind of resource can change, :data:`DEFAULT_CATEGORY_GROUPS`) and weighted by the incidents'
``weight`` column. The work is one ``numpy.bincount`` over
(place, hour) codes: 100k incidents x 300 places x 3 years takes well under a second
(``benchmarks/bench_counts.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.timeutil import local_midnight

_HOUR_NS = 3_600_000_000_000

#: Category groups: the incidents a kind of resource can change, as canonical categories
#: (:data:`tryggplan.readers.SWEDISH_CATEGORIES` maps the Swedish labels). A municipality may
#: configure its own groups (a plain ``{name: [categories]}`` dict, passed as ``groups``).
#:
#: * ``nattvandring``: what adults walking at night among young people address: disorder,
#:   vandalism, fights, threats, drugs and alcohol, youth robberies.
#: * ``ordning_och_skadegorelse``: public disorder and vandalism only.
#: * ``bevakning``: what a guard at a place deters: disorder, vandalism, thefts, burglaries,
#:   robberies, assaults, threats and fires.
DEFAULT_CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {
    "nattvandring": ("disorder", "vandalism", "assault", "threat", "drugs", "robbery"),
    "ordning_och_skadegorelse": ("disorder", "vandalism"),
    "bevakning": ("disorder", "vandalism", "theft", "burglary", "robbery", "assault", "threat", "fire"),
}

CategorySelection = Collection[str] | Mapping[str, Collection[str] | None]
"""Categories to keep: one collection for all places, or municipality -> collection (``None`` = all)."""


def category_group(name: str, groups: Mapping[str, Collection[str]] | None = None) -> tuple[str, ...]:
    """The categories of group ``name`` in ``groups`` (default :data:`DEFAULT_CATEGORY_GROUPS`).

    Raises :class:`InvalidInputError` naming the groups there are when ``name`` is not one of them.
    """
    table = DEFAULT_CATEGORY_GROUPS if groups is None else groups
    key = str(name).strip()
    if key not in table:
        raise InvalidInputError(
            f"unknown category group {name!r}: choose one of {', '.join(sorted(table)) or '(none configured)'}"
        )
    members = tuple(_norm(c) for c in table[key])
    if not members:
        raise InvalidInputError(f"category group {key!r} is empty: give it at least one category, e.g. vandalism")
    return members


def _norm(category: object) -> str:
    return str(category).strip().lower()


def select_categories(
    incidents: pd.DataFrame,
    categories: CategorySelection,
    municipality_of: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The incidents whose ``category`` is selected (case-insensitive); a new frame.

    Parameters
    ----------
    categories : categories to keep for every place, or a mapping municipality -> categories
        (``None`` keeps all of that municipality's incidents), e.g. each municipality's
        ``nattvandring`` group
    municipality_of : ``place_id`` -> municipality; needed with the mapping form
    """
    if "category" not in incidents.columns:
        raise InvalidInputError("incidents lack a category column: read them with tryggplan.readers")
    category = incidents["category"].astype("string").fillna("").str.strip().str.lower()
    if isinstance(categories, Mapping):
        if municipality_of is None:
            raise InvalidInputError(
                "categories per municipality need municipality_of (place_id -> municipality), e.g. from the places"
            )
        town = incidents["place_id"].astype(str).map(lambda p: municipality_of.get(p))
        unknown = sorted({str(t) for t in town.dropna().unique()} - set(categories))
        if town.isna().any():
            first = incidents["place_id"].astype(str)[town.isna()].iloc[0]
            raise InvalidInputError(f"place {first!r} has no municipality in municipality_of: give every place one")
        if unknown:
            raise InvalidInputError(
                f"categories has no entry for municipality {unknown[0]!r}: give its category group "
                "(or None for all categories)"
            )
        wanted = {t: None if c is None else {_norm(x) for x in c} for t, c in categories.items()}
        keep = np.fromiter(
            ((w := wanted[t]) is None or c in w for t, c in zip(town, category, strict=True)),
            dtype=np.bool_,
            count=len(incidents),
        )
    else:
        if isinstance(categories, str):
            raise InvalidInputError(
                f"categories {categories!r} is a single string: give a list, e.g. [{categories!r}], or "
                "category_group(name) for a group"
            )
        keep = category.isin({_norm(c) for c in categories}).to_numpy(dtype=bool)
    return incidents.loc[keep].reset_index(drop=True)


@dataclass(frozen=True)
class CountMatrix:
    """Hourly counts as a dense matrix: ``values[i, j]`` incidents at ``places[i]`` in ``slots[j]``.

    ``values`` is in [incidents/h] (or weighted incidents/h when built with weights).
    """

    places: np.ndarray
    slots: pd.DatetimeIndex
    values: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """The long frame ``place_id, slot_start, count``."""
        n_places, n_slots = self.values.shape
        # tile the int64 UTC instants, not the tz-aware index (that goes through Timestamp objects)
        utc_ns = np.tile(self.slots.tz_convert("UTC").as_unit("ns").asi8, n_places)
        slot_start = pd.DatetimeIndex(utc_ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(self.slots.tz)
        return pd.DataFrame(
            {
                "place_id": np.repeat(np.asarray(self.places, dtype=object), n_slots),
                "slot_start": slot_start,
                "count": self.values.reshape(-1),
            }
        )

    @classmethod
    def from_frame(cls, counts: pd.DataFrame) -> CountMatrix:
        """Rebuild the matrix from a long ``place_id, slot_start, count`` frame (zero-filled or not)."""
        missing = {"place_id", "slot_start", "count"} - set(counts.columns)
        if missing:
            raise InvalidInputError(
                f"counts frame lacks columns {sorted(missing)}: build it with tryggplan.counts.hourly_counts"
            )
        slot_start = pd.DatetimeIndex(counts["slot_start"])
        if slot_start.tz is None:
            raise InvalidInputError("counts.slot_start must be tz-aware local time: build it with hourly_counts")
        tz = slot_start.tz
        places = np.asarray(pd.unique(counts["place_id"].astype(str)))
        if len(counts) == 0:
            return cls(places, pd.DatetimeIndex([], tz=tz), np.zeros((len(places), 0)))
        utc_ns = slot_start.tz_convert("UTC").asi8
        first, last = utc_ns.min(), utc_ns.max()
        n_slots = int((last - first) // _HOUR_NS) + 1
        slots = pd.date_range(pd.Timestamp(first, tz="UTC"), periods=n_slots, freq="h").tz_convert(tz)
        place_code = pd.Categorical(counts["place_id"].astype(str), categories=places).codes
        slot_code = (utc_ns - first) // _HOUR_NS
        values = np.zeros((len(places), n_slots))
        np.add.at(values, (place_code, slot_code), counts["count"].to_numpy(dtype=float))
        return cls(places, slots, values)


def hourly_count_matrix(
    incidents: pd.DataFrame,
    tz: str = DEFAULT_TZ,
    start: dt.date | None = None,
    end: dt.date | None = None,
    places: Sequence[str] | None = None,
    weighted: bool = False,
    categories: CategorySelection | None = None,
    municipality_of: Mapping[str, str] | None = None,
) -> CountMatrix:
    """Zero-filled hourly counts per place over local days ``[start, end)``.

    Parameters
    ----------
    incidents : frame with ``occurred_at`` (tz-aware) and ``place_id`` (and ``weight`` if weighted)
    tz : local time zone that labels the slots
    start, end : local dates; default the first incident's date and the day after the last one
    places : all places to include (rows of zeros for places without incidents); default the
        places that appear in ``incidents``, sorted
    weighted : sum ``weight`` [weighted incidents/h] instead of counting rows [incidents/h];
        the counts are then non-integer (the models accept them, see docs/analyst/police-area.md)
    categories : count only these categories (:func:`select_categories`: a collection, or a
        mapping municipality -> collection with ``municipality_of``); default all
    municipality_of : ``place_id`` -> municipality, for ``categories`` per municipality
    """
    missing = {"occurred_at", "place_id"} - set(incidents.columns)
    if missing:
        raise InvalidInputError(f"incidents lack columns {sorted(missing)}: read them with tryggplan.readers")
    if weighted:
        if "weight" not in incidents.columns:
            raise InvalidInputError("weighted counts need a weight column: read the incidents with tryggplan.readers")
        weight = pd.to_numeric(incidents["weight"], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(weight).all() or (weight < 0).any():
            raise InvalidInputError("weights must be finite numbers >= 0 (1.0 = an ordinary incident)")
    if categories is not None:
        incidents = select_categories(incidents, categories, municipality_of)
    occurred = pd.DatetimeIndex(incidents["occurred_at"])
    if occurred.tz is None:
        raise InvalidInputError("incidents.occurred_at must be tz-aware: read the file with tryggplan.readers")
    local = occurred.tz_convert(tz)
    if start is None or end is None:
        if len(local) == 0:
            what = "no incidents of the selected categories" if categories is not None else "no incidents"
            raise InvalidInputError(f"{what}: give start and end to build an all-zero count matrix")
        start = start or local.min().date()
        end = end or (local.max().date() + dt.timedelta(days=1))
    if end <= start:
        raise InvalidInputError(f"end {end} must be after start {start}")
    first = local_midnight(start, tz).tz_convert("UTC")
    stop = local_midnight(end, tz).tz_convert("UTC")
    n_slots = int((stop.value - first.value) // _HOUR_NS)
    slots = pd.date_range(first, periods=n_slots, freq="h").tz_convert(tz)
    ids = incidents["place_id"].astype(str).to_numpy()
    place_list = np.asarray(sorted(set(ids)) if places is None else list(dict.fromkeys(map(str, places))))
    place_code = pd.Categorical(ids, categories=place_list).codes.astype(np.int64)
    slot_code = (occurred.tz_convert("UTC").asi8 - first.value) // _HOUR_NS
    keep = (place_code >= 0) & (slot_code >= 0) & (slot_code < n_slots)
    flat = place_code[keep] * n_slots + slot_code[keep]
    weights = pd.to_numeric(incidents["weight"], errors="coerce").to_numpy(dtype=float)[keep] if weighted else None
    values = np.bincount(flat, weights=weights, minlength=len(place_list) * n_slots)
    return CountMatrix(place_list, slots, values.reshape(len(place_list), n_slots).astype(float))


def hourly_counts(
    incidents: pd.DataFrame,
    tz: str = DEFAULT_TZ,
    start: dt.date | None = None,
    end: dt.date | None = None,
    places: Sequence[str] | None = None,
    weighted: bool = False,
    categories: CategorySelection | None = None,
    municipality_of: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Long frame ``place_id, slot_start (local), count`` [incidents/h], zero-filled.

    See :func:`hourly_count_matrix` for the parameters.
    """
    return hourly_count_matrix(incidents, tz, start, end, places, weighted, categories, municipality_of).to_frame()


def pct_change(now: int, ref: int) -> float | None:
    """The change from ``ref`` to ``now`` in percent to one decimal, ``100 * (now - ref) / ref``, halves
    rounded away from zero as Excel and people round (3 against 16 is -81.3, where Python's ``round``
    gives -81.2); ``None`` when ``ref`` is 0 [%].

    Every ``_pct`` figure (the situation picture, the area view) comes from here. The quotient of two
    whole counts is computed exactly (``Decimal``) so no binary fraction decides a half.
    """
    if isinstance(now, bool) or isinstance(ref, bool) or int(now) != now or int(ref) != ref:
        raise InvalidInputError(f"a change is between two whole counts, got {now!r} and {ref!r}")
    if ref == 0:
        return None
    exact = Decimal(100 * (int(now) - int(ref))) / Decimal(int(ref))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
