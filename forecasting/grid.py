"""Views derived from the risk grid: high-risk windows, hour-of-week heatmap, per-night totals.

Everything here reads the risk grid contract only (docs/architecture.md): any model's output, or a
grid file written by ``tryggplan forecast``, works the same.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from tryggplan.domain import DEFAULT_TZ, RISK_GRID_COLUMNS, InvalidInputError
from tryggplan.riskgrid import nb_cdf, nb_quantile
from tryggplan.timeutil import night_of

Lang = Literal["sv", "en"]
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TEXTS: dict[str, dict] = {
    "en": {
        "days": _DAY_NAMES,
        "label": "{name}, {span}, {expected} expected (80% range {range}, at least one: {p_any})",
    },
    "sv": {
        "days": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
        "label": "{name}, {span}, {expected} väntade (80 %-intervall {range}, minst en: {p_any})",
    },
}


def check_grid(grid: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Validate a risk grid and return a copy with ``slot_start`` tz-aware in ``tz``.

    Raises :class:`InvalidInputError` naming the missing columns or bad values.
    """
    need = {"place_id", "slot_start", "expected"}
    missing = sorted(need - set(grid.columns))
    if missing:
        raise InvalidInputError(
            f"risk grid lacks columns {missing}: expected the forecast contract "
            f"({', '.join(RISK_GRID_COLUMNS)}), e.g. the output of `tryggplan forecast`"
        )
    out = grid.copy()
    slot = out["slot_start"]
    if not isinstance(slot.dtype, pd.DatetimeTZDtype):
        slot = pd.to_datetime(slot.astype(str), utc=True, format="ISO8601", errors="coerce")
        if slot.isna().any():
            row = int(np.flatnonzero(slot.isna().to_numpy())[0])
            raise InvalidInputError(
                f"risk grid row {row + 1}: slot_start {grid['slot_start'].iloc[row]!r} is not a timestamp "
                "with an offset, e.g. 2026-12-04T21:00:00+01:00"
            )
    out["slot_start"] = slot.dt.tz_convert(tz)
    expected = pd.to_numeric(out["expected"], errors="coerce")
    if expected.isna().any() or (expected < 0).any():
        raise InvalidInputError("risk grid: expected must be a number >= 0 in every row")
    out["expected"] = expected.astype(float)
    out["place_id"] = out["place_id"].astype(str)
    return out


@dataclass(frozen=True)
class WindowFloor:
    """When a run of high-risk hours is worth calling a high-risk window.

    Risk levels are relative (the top 5% of a town's place-hours are ``high`` however quiet the
    town), so a window must also be meaningful on its own:

    * ``min_rate_ratio``: its mean expected count per hour is at least this multiple of the
      town's base rate (the mean expected count per place-hour of the town's places over the
      grid). Default 1.5: a window only half again as busy as an ordinary hour is not a peak,
      only the top of a flat profile.
    * ``min_expected``: its expected count [incidents] over the whole window is at least this.
      Default 0.05: below it a window would read "0.0 expected" and holds at least one incident
      fewer than one time in twenty.

    ``WindowFloor(0.0, 0.0)`` keeps every run of high hours.
    """

    min_rate_ratio: float = 1.5
    min_expected: float = 0.05

    def __post_init__(self) -> None:
        if not (np.isfinite(self.min_rate_ratio) and self.min_rate_ratio >= 0):
            raise InvalidInputError(f"min_rate_ratio must be a number >= 0, e.g. 1.5; got {self.min_rate_ratio!r}")
        if not (np.isfinite(self.min_expected) and self.min_expected >= 0):
            raise InvalidInputError(f"min_expected must be a number >= 0, e.g. 0.05; got {self.min_expected!r}")


WINDOW_COLUMNS: tuple[str, ...] = (
    "place_id",
    "name",
    "start",
    "end",
    "hours",
    "expected",
    "peak",
    "night",
    "label",
    "municipality",
    "lo_80",
    "hi_80",
    "p_any",
    "base_rate",
    "rate_ratio",
)
"""Columns of :func:`high_risk_windows`, in order."""


def high_risk_windows(
    grid: pd.DataFrame,
    levels: Collection[str] = ("high",),
    tz: str = DEFAULT_TZ,
    place_names: Mapping[str, str] | None = None,
    max_gap_hours: int = 0,
    groups: Mapping[str, str] | None = None,
    floor: WindowFloor | None = WindowFloor(),
    lang: Lang = "en",
    base_rates: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Merge neighbouring high-risk hours per place into windows, keep the meaningful ones.

    Returns one row per window (columns :data:`WINDOW_COLUMNS`): ``place_id, name, start, end,
    hours``, ``expected`` (sum over the window [incidents]), ``peak`` (largest hourly expected
    count [incidents/h]), ``night`` (the date the night belongs to), ``label`` such as
    ``"Torget, Fri 21:00–02:00, 0.9 expected (80% range 0–2, at least one: 59%)"``,
    ``municipality`` (the place's group, ``""`` without groups), ``lo_80``/``hi_80`` (80% range of
    the window's count [incidents]), ``p_any`` (probability of at least one incident in the
    window), ``base_rate`` (the town's mean expected count per place-hour [incidents/h]) and
    ``rate_ratio`` (the window's mean hourly expected count over ``base_rate``); sorted by
    expected count, largest first.

    The window's count is the sum of its hours' counts, each negative binomial with the grid's
    ``expected`` and ``nb_alpha`` (Poisson without that column), taken as independent:
    ``p_any = 1 - prod P(0)`` exactly, and the 80% range from the negative binomial with the
    sum's mean and variance.

    Parameters
    ----------
    levels : risk levels that count as high risk (column ``risk_level``)
    place_names : ``place_id`` -> name shown in the label (default the id)
    max_gap_hours : join windows separated by at most this many normal hours
    groups : ``place_id`` -> municipality; the base rate of the relative floor is the
        municipality's (places missing from it form one group ``""``). ``None``: the whole grid
        is one town.
    floor : the floor a window must pass (:class:`WindowFloor`); ``None`` keeps every window
    lang : ``en`` or ``sv`` (Swedish day names, decimal commas) for ``label``
    base_rates : municipality (``""`` without groups) -> base rate [incidents/h]; default taken
        from the grid given. When the grid given is a cut of a forecast (one place, one night),
        pass :func:`base_rates` of the whole forecast so the floor means the same.
    """
    if lang not in _TEXTS:
        raise InvalidInputError(f"lang {lang!r}: use 'sv' or 'en'")
    g = check_grid(grid, tz)
    if "risk_level" not in g.columns:
        raise InvalidInputError("risk grid lacks risk_level: re-run `tryggplan forecast` to get it")
    alpha = pd.to_numeric(g["nb_alpha"], errors="coerce") if "nb_alpha" in g.columns else pd.Series(0.0, g.index)
    if alpha.isna().any() or (alpha < 0).any():
        raise InvalidInputError("risk grid: nb_alpha must be a number >= 0 in every row (0 = Poisson)")
    town = g["place_id"].map(lambda p: groups.get(p, "")) if groups is not None else pd.Series("", g.index)
    g = g.assign(nb_alpha=alpha.astype(float), municipality=town.astype(str))
    if base_rates is not None:
        base_rate = pd.Series(base_rates, dtype=float)
        lacking = sorted(set(g["municipality"]) - set(base_rate.index))
        if lacking:
            raise InvalidInputError(
                f"base_rates lacks municipality {lacking[0]!r}: give base_rates(whole_grid, groups) of the forecast"
            )
    else:
        base_rate = g.groupby("municipality")["expected"].mean()
    hot = g[g["risk_level"].isin(list(levels))].sort_values(["place_id", "slot_start"])
    if hot.empty:
        return pd.DataFrame(columns=list(WINDOW_COLUMNS))
    step = pd.Timedelta(hours=1 + max_gap_hours)
    starts = hot["slot_start"]
    new_window = (hot["place_id"] != hot["place_id"].shift()) | (starts - starts.shift() > step)
    mu, a = hot["expected"].to_numpy(), hot["nb_alpha"].to_numpy()
    hot = hot.assign(
        window=new_window.cumsum(),
        log_p0=np.log(np.maximum(nb_cdf(np.zeros_like(mu), mu, a), 1e-300)),
        extra_var=a * mu**2,
    )
    agg = hot.groupby("window").agg(
        place_id=("place_id", "first"),
        municipality=("municipality", "first"),
        start=("slot_start", "min"),
        last=("slot_start", "max"),
        hours=("slot_start", "size"),
        expected=("expected", "sum"),
        peak=("expected", "max"),
        log_p0=("log_p0", "sum"),
        extra_var=("extra_var", "sum"),
    )
    agg["end"] = agg["last"] + pd.Timedelta(hours=1)
    agg["base_rate"] = agg["municipality"].map(base_rate).astype(float)
    agg["rate_ratio"] = (agg["expected"] / agg["hours"]) / agg["base_rate"].where(agg["base_rate"] > 0)
    if floor is not None:
        agg = agg[(agg["expected"] >= floor.min_expected) & (agg["rate_ratio"].fillna(0.0) >= floor.min_rate_ratio)]
    if agg.empty:
        return pd.DataFrame(columns=list(WINDOW_COLUMNS))
    total = agg["expected"].to_numpy(dtype=float)
    # the sum's negative binomial: same mean and variance (sum of mu + alpha mu^2)
    window_alpha = agg["extra_var"].to_numpy(dtype=float) / np.maximum(total, 1e-12) ** 2
    agg["lo_80"] = nb_quantile(0.1, total, window_alpha).astype(int)
    agg["hi_80"] = nb_quantile(0.9, total, window_alpha).astype(int)
    agg["p_any"] = 1.0 - np.exp(agg["log_p0"].to_numpy(dtype=float))
    names = place_names or {}
    agg["name"] = agg["place_id"].map(lambda p: names.get(p, p))
    agg["night"] = [night_of(s, tz) for s in agg["start"]]
    text = _TEXTS[lang]
    agg["label"] = [
        text["label"].format(
            name=n,
            span=_span(s, e, lang),
            expected=_number(x, lang),
            range=f"{lo}–{hi}" if hi > lo else f"{lo}",
            p_any=_percent(p, lang),
        )
        for n, s, e, x, lo, hi, p in zip(
            agg["name"],
            agg["start"],
            agg["end"],
            agg["expected"],
            agg["lo_80"],
            agg["hi_80"],
            agg["p_any"],
            strict=True,
        )
    ]
    out = agg[list(WINDOW_COLUMNS)].sort_values("expected", ascending=False, kind="stable").reset_index(drop=True)
    return out


def base_rates(grid: pd.DataFrame, groups: Mapping[str, str] | None = None) -> dict[str, float]:
    """Each municipality's base rate: mean expected count per place-hour of its places [incidents/h].

    Keys as :func:`high_risk_windows` uses them: the municipality from ``groups`` (``""`` for
    places missing from it, and for everything without ``groups``).
    """
    g = check_grid(grid)
    town = g["place_id"].map(lambda p: groups.get(p, "")) if groups is not None else pd.Series("", g.index)
    return {str(k): float(v) for k, v in g.groupby(town.astype(str))["expected"].mean().items()}


def _number(x: float, lang: Lang) -> str:
    text = f"{x:.1f}"
    return text.replace(".", ",") if lang == "sv" else text


def _percent(p: float, lang: Lang) -> str:
    pct = f"{100 * p:.0f}"
    if pct == "100" and p < 1:  # never promise certainty
        pct = ">99"
    return f"{pct} %" if lang == "sv" else f"{pct}%"


def _span(start: pd.Timestamp, end: pd.Timestamp, lang: Lang = "en") -> str:
    """``Fri 21:00–02:00``, or with the end's weekday when the window runs past the next morning."""
    days = _TEXTS[lang]["days"]
    text = f"{days[start.dayofweek]} {start:%H:%M}–"
    if end - start > pd.Timedelta(hours=18):
        text += f"{days[end.dayofweek]} "
    return text + f"{end:%H:%M}"


def hour_of_week_heatmap(grid: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Mean expected count [incidents/h] summed over places, by local weekday (rows) and hour (columns)."""
    g = check_grid(grid, tz)
    total = g.groupby("slot_start", sort=True)["expected"].sum()
    idx = pd.DatetimeIndex(total.index)
    frame = pd.DataFrame({"day": idx.dayofweek, "hour": idx.hour, "expected": total.to_numpy()})
    table = frame.pivot_table(index="day", columns="hour", values="expected", aggfunc="mean")
    table = table.reindex(index=range(7), columns=range(24))
    table.index = [_DAY_NAMES[d] for d in table.index]
    return table


def per_night(grid: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Expected incidents per place and night (18:00-06:00, dated by its start) [incidents]."""
    g = check_grid(grid, tz)
    hours = g["slot_start"].dt.hour
    nights = g[(hours >= 18) | (hours < 6)]
    night = night_of(pd.DatetimeIndex(nights["slot_start"]), tz)
    out = nights.assign(night=night).groupby(["place_id", "night"], as_index=False)["expected"].sum()
    return out.sort_values(["night", "expected"], ascending=[True, False]).reset_index(drop=True)
