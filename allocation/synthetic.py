"""Small synthetic risk grids and resources specs for tests, benchmarks and notebooks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.domain import DEFAULT_TZ
from tryggplan.riskgrid import finish_grid
from tryggplan.timeutil import local_slots, parse_iso_week

AREA_NAMES = ("Centrum", "Norr", "Söder", "Väster", "Öster", "Hamnen", "Stationen", "Parken", "Skolan", "Torget")


def synthetic_grid(
    n_places: int = 12, week: str = "2026-W13", weeks: int = 1, seed: int = 0, tz: str = DEFAULT_TZ
) -> pd.DataFrame:
    """A risk grid in the contract for ``weeks`` weeks from ``week``.

    Night hours (20-02) and Friday/Saturday are busiest; places differ by a gamma factor.
    ``expected`` [incidents/h].
    """
    rng = np.random.default_rng(seed)
    slots = local_slots(parse_iso_week(week), 7 * weeks, tz)
    hour = slots.hour.to_numpy()
    dow = slots.dayofweek.to_numpy()
    base = np.where((hour >= 20) | (hour < 2), 0.03, np.where((hour >= 17) | (hour < 4), 0.01, 0.002))
    base = base * np.where(dow >= 4, 2.5, 1.0)
    place = rng.gamma(2.0, 0.5, n_places)
    noise = rng.gamma(8.0, 1 / 8.0, (n_places, len(slots)))
    expected = place[:, None] * base[None, :] * noise
    ids = np.array([f"P{i:02d}" for i in range(n_places)], dtype=object)
    return finish_grid(ids, slots, expected, 0.3, "synthetic", "1", slots[0])


def synthetic_places(n_places: int = 12, n_areas: int = 4) -> pd.DataFrame:
    """Places with the canonical columns, spread round-robin over ``n_areas`` areas."""
    return pd.DataFrame(
        {
            "place_id": [f"P{i:02d}" for i in range(n_places)],
            "name": [f"Plats {i}" for i in range(n_places)],
            "municipality": "Demo",
            "lat": 59.0,
            "lon": 18.0,
            "kind": "square",
            "area": [
                AREA_NAMES[i % n_areas] if n_areas <= len(AREA_NAMES) else f"A{i % n_areas}" for i in range(n_places)
            ],
        }
    )


def synthetic_resources(
    n_places: int = 12,
    n_areas: int = 4,
    n_assocs: int = 4,
    n_templates: int = 3,
    guard_hours: list[int] | None = None,
    budget: float | None = 12000.0,
    max_guard_hours: int = 24,
    season_until: dt.date | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A resources spec (dict) for :func:`synthetic_grid` places."""
    places = synthetic_places(n_places, n_areas)
    areas = [{"name": n, "place_ids": g.place_id.tolist()} for n, g in places.groupby("area", sort=True)]
    starts = [20, 21, 22, 18, 19, 23][:n_templates]
    templates = [{"name": f"t{s}", "start": f"{s:02d}:00", "end": f"{(s + 4) % 24:02d}:00"} for s in starts]
    nights = [
        ["fri", "sat"],
        ["thu", "fri", "sat"],
        ["fri", "sat", "sun"],
        ["wed", "fri"],
        ["thu", "sat"],
        ["mon", "tue", "wed"],
        ["sat", "sun"],
        ["fri"],
    ]
    assocs = [
        {"name": f"Förening {k}", "nights": nights[k % len(nights)], "max_walks_per_week": 1 + k % 2}
        for k in range(n_assocs)
    ]
    spec: dict[str, Any] = {
        "cost_per_walk_sek": 1000,
        "weekly_budget_sek": budget,
        "season": {
            "walks": 40,
            "horizon_weeks": 26,
            "min_walks_per_week": 1,
            **({"until": season_until.isoformat()} if season_until else {}),
        },
        "templates": templates,
        "areas": areas,
        "associations": assocs,
        "guard": {
            "hourly_rate_sek": 450,
            "min_block_hours": 3,
            "max_hours_per_week": max_guard_hours,
            "concurrent_guards": 1,
            "hours": guard_hours if guard_hours is not None else list(range(24)),
        },
    }
    if budget is None:
        spec.pop("weekly_budget_sek")
    spec.update(extra)
    return spec
