"""Rolling-origin backtests: refit every model at each origin, score the next ``horizon_days``.

The count matrix is built once over all places (zero-filled). At each origin the harness
hands a model a *copy* of the training slice only (local days strictly before the origin),
so a model cannot reach later counts through the arguments it is given; a leakage audit
(on by default, first origin) re-runs each model with every count after the origin changed
and refuses a model whose forecast moves (it reached the future some other way).

Per origin and model the forecast's risk grid (``Forecaster.predict``) is scored against the
counts of the horizon with the metrics of :mod:`tryggplan.forecasting.evaluation.metrics`. Hit rate,
PAI and the riskiest-night view are computed per origin over the horizon's place-hours and
then averaged over origins (origins without any incident are left out). Deviance, MAE, log
score and the coverages are means over all held-out place-hours of all origins.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from tryggplan.calendar import SwedishCalendar
from tryggplan.counts import CategorySelection, CountMatrix, hourly_count_matrix
from tryggplan.domain import DEFAULT_TZ, InvalidInputError, TryggplanError
from tryggplan.forecasting import registry
from tryggplan.forecasting.base import Forecaster
from tryggplan.forecasting.evaluation import metrics as m
from tryggplan.timeutil import check_tz, hour_of_week, local_midnight

log = logging.getLogger(__name__)

KS: tuple[int, ...] = (5, 10, 20)
"""Top-k percentages reported as ``hit_rate@k`` and ``pai@k``."""
CURVE_KS: tuple[int, ...] = (1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100)
"""Top-k percentages of the hit-rate curve (``origins.csv``, ``hit_rate_curve.png``)."""
POOLED = ("poisson_deviance", "mae", "log_score", "coverage_80", "pit_coverage_80")

ModelFactory = Callable[[], Forecaster]
Window = Literal["expanding", "sliding"]
Engine = Literal["local", "dask"]


class LeakageError(TryggplanError):
    """A model's forecast depends on counts at or after the origin it was fitted for."""


@dataclass
class BacktestResult:
    """Everything a backtest produced; :func:`tryggplan.forecasting.evaluation.report.write_report` writes it.

    * ``metrics``: one row per origin, model and place (``metrics.csv``)
    * ``origins``: one row per origin and model, the origin-level metrics (``origins.csv``)
    * ``calibration``: mean expected vs observed per decile, per origin and model
    * ``how_errors``: mean error and absolute error per model and local hour of week
    * ``resolved``: model name as run -> registered model (``default`` -> e.g. ``glm``)
    * ``towns``: ``place_id`` -> municipality when run with a places frame (:meth:`by_town`)
    """

    metrics: pd.DataFrame
    origins: pd.DataFrame
    calibration: pd.DataFrame
    how_errors: pd.DataFrame
    resolved: dict[str, str]
    settings: dict[str, Any] = field(default_factory=dict)
    towns: dict[str, str] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return list(self.resolved)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per model the pooled metrics (see the module docstring for how each is pooled)."""
        out: dict[str, dict[str, float]] = {}
        for name in self.models:
            o = self.origins[self.origins["model"] == name]
            cells = o["n_cells"].to_numpy(dtype=float)
            row: dict[str, float] = {}
            for col in POOLED:
                vals = o[col].to_numpy(dtype=float)
                row[col] = float(np.sum(vals * cells) / cells.sum()) if cells.sum() else float("nan")
            for k in KS:
                row[f"hit_rate@{k}"] = m.nanmean_over_origins(o[f"hit_rate@{k}"])
                row[f"pai@{k}"] = m.nanmean_over_origins(o[f"pai@{k}"])
            row["night_hit"] = m.nanmean_over_origins(o["night_hit"])
            row["night_hit_place"] = m.nanmean_over_origins(o["night_hit_place"])
            cal = self.calibration_table(name)
            row["calibration_mae"] = float(np.mean(np.abs(cal["mean_expected"] - cal["mean_observed"])))
            row["observed_per_origin"] = float(o["observed"].mean())
            row["expected_per_origin"] = float(o["expected"].mean())
            row["origins"] = int(len(o))
            row["fit_seconds"] = float(o["seconds"].sum())
            out[name] = row
        return out

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary` as a frame, one row per model."""
        return pd.DataFrame(self.summary()).T.rename_axis("model")

    def by_town(self) -> pd.DataFrame:
        """Per model and municipality (and ``(all)``): the metrics a town's coordinator reads.

        Needs a backtest run with a places frame. Columns: ``model, municipality, places,
        observed, expected`` [incidents over all origins], ``poisson_deviance`` (mean over the
        town's held-out place-hours) and ``hit_rate@k`` = sum of ``town_hits@k`` / sum of
        ``observed`` over origins: the share of the town's incidents inside the top k% of its
        own place-hours, pooled over origins (a town with a few incidents a year has no
        incident in most weeks, so a mean of weekly rates would rest on the few weeks with one).
        ``(all)`` pools every town's place-hours, each ranked within its own town.
        """
        if not self.towns or "town_hits@10" not in self.metrics.columns:
            raise InvalidInputError("by_town needs a backtest run with a places frame (places=... with municipality)")
        frame = self.metrics.assign(municipality=self.metrics["place_id"].astype(str).map(self.towns).fillna(""))
        cells = self.origins.set_index(["origin", "model"])["n_cells"]
        n_places = frame.groupby(["origin", "model"])["place_id"].transform("size")
        frame["cells"] = cells.reindex(pd.MultiIndex.from_frame(frame[["origin", "model"]])).to_numpy() / n_places
        frame["dev_sum"] = frame["poisson_deviance"] * frame["cells"]
        rows = []
        for model in self.models:
            of_model = frame[frame["model"] == model]
            for town, part in [*of_model.groupby("municipality", sort=True), ("(all)", of_model)]:
                row: dict[str, Any] = {
                    "model": model,
                    "municipality": town,
                    "places": int(part["place_id"].nunique()),
                    "observed": float(part["observed"].sum()),
                    "expected": float(part["expected"].sum()),
                    "poisson_deviance": float(part["dev_sum"].sum() / part["cells"].sum()),
                }
                for k in KS:
                    total = part["observed"].sum()
                    row[f"hit_rate@{k}"] = float(part[f"town_hits@{k}"].sum() / total) if total > 0 else float("nan")
                rows.append(row)
        return pd.DataFrame(rows)

    def calibration_table(self, model: str) -> pd.DataFrame:
        """Per decile the mean over origins of mean expected and mean observed [incidents/h]."""
        c = self.calibration[self.calibration["model"] == model]
        return c.groupby("decile", as_index=False)[["n", "mean_expected", "mean_observed"]].mean()


def make_origins(
    slots: pd.DatetimeIndex,
    n: int,
    horizon_days: int = 7,
    step_days: int = 7,
    weekday: int | None = 0,
    min_train_days: int = 28,
) -> list[dt.date]:
    """``n`` origins (local dates), ``step_days`` apart, the last leaving a full horizon.

    The last origin is the latest date on ``weekday`` (0 = Monday; ``None`` = any day) such
    that ``origin + horizon_days`` is not after the data's end; the first must leave at least
    ``min_train_days`` of training data.
    """
    if n < 1 or horizon_days < 1 or step_days < 1:
        raise InvalidInputError("origins, horizon days and step days must each be at least 1")
    if len(slots) == 0:
        raise InvalidInputError("no counts to backtest on")
    start = slots[0].date()
    end = (slots[-1] + pd.Timedelta(hours=1)).date()  # exclusive
    last = end - dt.timedelta(days=horizon_days)
    if weekday is not None:
        last -= dt.timedelta(days=(last.weekday() - weekday) % 7)
    origins = [last - dt.timedelta(days=step_days * i) for i in range(n)][::-1]
    earliest = start + dt.timedelta(days=min_train_days)
    if origins[0] < earliest:
        fit = max(0, (last - earliest).days // step_days + 1) if last >= earliest else 0
        if fit == 0:
            raise InvalidInputError(
                f"the counts run from {start} to {end}: too short for one origin with {min_train_days} days"
                f" of training and a {horizon_days}-day horizon; give a longer history"
            )
        raise InvalidInputError(
            f"{n} origins {step_days} days apart need data from "
            f"{origins[0] - dt.timedelta(days=min_train_days)}"
            f" but it starts on {start}: ask for at most {fit} origins (--origins {fit}), a shorter"
            f" step or horizon, or a longer history"
        )
    return origins


def _as_matrix(
    data: pd.DataFrame | CountMatrix,
    tz: str,
    places: Sequence[str] | None,
    weighted: bool,
    categories: CategorySelection | None = None,
    place_frame: pd.DataFrame | None = None,
) -> CountMatrix:
    if isinstance(data, CountMatrix):
        if categories is not None or weighted:
            raise InvalidInputError("categories and weighted apply to incidents, not to counts already made")
        return data
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError("give incidents (occurred_at, place_id) or counts (place_id, slot_start, count)")
    if "occurred_at" in data.columns:
        town_of = (
            dict(zip(place_frame["place_id"].astype(str), place_frame["municipality"].astype(str), strict=True))
            if place_frame is not None
            else None
        )
        return hourly_count_matrix(
            data, tz=tz, places=places, weighted=weighted, categories=categories, municipality_of=town_of
        )
    if {"slot_start", "count"} <= set(data.columns):
        if categories is not None or weighted:
            raise InvalidInputError("categories and weighted apply to incidents, not to counts already made")
        return CountMatrix.from_frame(data)
    raise InvalidInputError(
        "backtest data needs either incident columns occurred_at, place_id or count columns "
        f"place_id, slot_start, count; got {list(data.columns)}"
    )


def resolve_models(
    models: Sequence[str] | Mapping[str, str | ModelFactory],
) -> tuple[dict[str, ModelFactory], dict[str, str]]:
    """Model name as run -> factory, and -> the registered name behind it.

    ``models`` lists registered names, or maps the name to run under to a registered name or
    to a factory of unfitted models (its registered name is then the name it runs under).
    """
    spec: dict[str, str | ModelFactory] = (
        dict(models)
        if isinstance(models, Mapping)
        else {n: n for n in dict.fromkeys(str(x).strip() for x in models if str(x).strip())}
    )
    factories: dict[str, ModelFactory] = {}
    resolved: dict[str, str] = {}
    for name, what in spec.items():
        if isinstance(what, str):
            resolved[name] = registry.resolve_name(what)
            factories[name] = functools.partial(registry.get_model, resolved[name])
        elif callable(what):
            resolved[name], factories[name] = name, what
        else:
            raise InvalidInputError(f"model {name!r}: give a registered name or a factory, not {what!r}")
    if not factories:
        raise InvalidInputError("no models to backtest: name at least one, e.g. default,how_mean")
    return factories, resolved


def _slot_index(slots: pd.DatetimeIndex, day: dt.date, tz: str) -> int:
    return int(slots.searchsorted(local_midnight(day, tz)))


def _grid_matrices(
    grid: pd.DataFrame, places: np.ndarray, slots: pd.DatetimeIndex, model: str
) -> tuple[np.ndarray, ...]:
    """``expected, nb_alpha, lo_80, hi_80`` as ``(n_places, n_slots)`` arrays from a risk grid."""
    n_p, n_s = len(places), len(slots)
    cols = ("expected", "nb_alpha", "lo_80", "hi_80")
    if (
        len(grid) == n_p * n_s
        and n_s
        and (grid["place_id"].to_numpy()[::n_s].astype(str) == places).all()
        and pd.DatetimeIndex(grid["slot_start"].iloc[:n_s]).equals(slots)
    ):
        return tuple(grid[c].to_numpy(dtype=float).reshape(n_p, n_s) for c in cols)
    p = pd.Categorical(grid["place_id"].astype(str), categories=places).codes
    s = slots.get_indexer(pd.DatetimeIndex(grid["slot_start"]))
    ok = (p >= 0) & (s >= 0)
    filled = np.zeros((n_p, n_s), dtype=bool)
    filled[p[ok], s[ok]] = True
    if not filled.all():
        raise TryggplanError(f"model {model}: its risk grid lacks {int((~filled).sum())} place-hours of the horizon")
    out = []
    for c in cols:
        a = np.zeros((n_p, n_s))
        a[p[ok], s[ok]] = grid[c].to_numpy(dtype=float)[ok]
        out.append(a)
    return tuple(out)


def _fit_predict(
    matrix: CountMatrix,
    origin: dt.date,
    horizon_days: int,
    factory: ModelFactory,
    name: str,
    window: Window,
    window_days: int | None,
    calendar: SwedishCalendar | None,
    places: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, float]:
    """Fit a fresh model on a copy of the counts strictly before ``origin``; its risk grid."""
    tz = str(matrix.slots.tz)
    stop = _slot_index(matrix.slots, origin, tz)
    begin = 0
    if window == "sliding":
        begin = _slot_index(matrix.slots, origin - dt.timedelta(days=int(window_days or 0)), tz)
    train = CountMatrix(
        matrix.places.copy(), matrix.slots[begin:stop].copy(), np.array(matrix.values[:, begin:stop], copy=True)
    )
    train.values.setflags(write=False)
    t0 = time.perf_counter()
    model = factory()
    if places is None:
        model.fit(train, calendar=calendar)
    else:
        model.fit(train, calendar=calendar, places=places)
    grid = model.predict(origin, horizon_days)
    seconds = time.perf_counter() - t0
    trained_until = getattr(model, "trained_until_", None)
    if trained_until is not None and trained_until > local_midnight(origin, tz):
        raise LeakageError(f"model {name} claims training data up to {trained_until}, past the origin {origin}")
    return grid, seconds


def evaluate_origin(
    matrix: CountMatrix,
    origin: dt.date,
    horizon_days: int,
    factories: Mapping[str, ModelFactory],
    window: Window = "expanding",
    window_days: int | None = None,
    calendar: SwedishCalendar | None = None,
    places: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Fit every model at one origin and score its forecast; the frames of :class:`BacktestResult`.

    With ``places`` (``place_id, municipality[, police_area]``) every model is fitted with them,
    and ``metrics`` gets ``town_hits@k``: the place's incidents inside the top k% place-hours of
    its own municipality (the ranking a town's coordinator reads).
    """
    tz = str(matrix.slots.tz)
    a = _slot_index(matrix.slots, origin, tz)
    b = _slot_index(matrix.slots, origin + dt.timedelta(days=horizon_days), tz)
    slots = matrix.slots[a:b]
    y = matrix.values[:, a:b]
    place_ids = np.asarray(matrix.places).astype(str)
    code, nights = m.night_index(slots)
    y_n = m.night_totals(y, code, len(nights))
    how = hour_of_week(slots).astype(int)
    n_cells = y.size
    towns = None
    if places is not None:
        town_of = dict(zip(places["place_id"].astype(str), places["municipality"].astype(str), strict=True))
        towns = pd.factorize(np.array([town_of.get(p, "") for p in place_ids], dtype=object))[0]
    metric_rows, origin_rows, cal_rows, how_rows = [], [], [], []
    for name, factory in factories.items():
        grid, seconds = _fit_predict(matrix, origin, horizon_days, factory, name, window, window_days, calendar, places)
        mu, alpha, lo, hi = _grid_matrices(grid, place_ids, slots, name)
        dev = m.unit_deviance(y, mu)
        logp = m.log_pmf(y, mu, alpha)
        inside = (y >= lo) & (y <= hi)
        pit = m.pit_share(y, mu, alpha)
        mu_n = m.night_totals(mu, code, len(nights))
        place_night = m.riskiest_night_hit(y_n, mu_n)
        town_night = m.riskiest_night_hit(y_n.sum(axis=0), mu_n.sum(axis=0))[0]
        per_place = {
            "origin": origin.isoformat(),
            "model": name,
            "place_id": place_ids,
            "observed": y.sum(axis=1),
            "expected": mu.sum(axis=1),
            "poisson_deviance": dev.mean(axis=1),
            "mae": np.abs(y - mu).mean(axis=1),
            "log_score": -logp.mean(axis=1),
            "coverage_80": inside.mean(axis=1),
            "pit_coverage_80": pit.mean(axis=1),
            "night_hit": place_night,
        }
        orow: dict[str, Any] = {
            "origin": origin.isoformat(),
            "model": name,
            "n_cells": n_cells,
            "observed": float(y.sum()),
            "expected": float(mu.sum()),
            "poisson_deviance": float(dev.mean()),
            "mae": float(np.abs(y - mu).mean()),
            "log_score": float(-logp.mean()),
            "coverage_80": float(inside.mean()),
            "pit_coverage_80": float(pit.mean()),
            "night_hit": float(town_night),
            "night_hit_place": m.nanmean_over_origins(place_night),
            "seconds": seconds,
        }
        total = y.sum()
        for k in sorted(set(CURVE_KS) | set(KS)):
            w = m.top_k_weights(mu, k)
            hits = (w * y).sum(axis=1)
            orow[f"hit_rate@{k}"] = float(hits.sum() / total) if total > 0 else float("nan")
            if k in KS:
                per_place[f"hits@{k}"] = hits
                orow[f"pai@{k}"] = orow[f"hit_rate@{k}"] / (k / 100.0)
                if towns is not None:
                    per_place[f"town_hits@{k}"] = _town_hits(y, mu, towns, k)
        metric_rows.append(pd.DataFrame(per_place))
        origin_rows.append(orow)
        cal = m.calibration_deciles(y, mu)
        cal.insert(0, "model", name)
        cal.insert(0, "origin", origin.isoformat())
        cal_rows.append(cal)
        err = mu - y
        how_rows.append(
            pd.DataFrame(
                {
                    "origin": origin.isoformat(),
                    "model": name,
                    "hour_of_week": np.arange(168),
                    "n": np.bincount(how, minlength=168) * y.shape[0],
                    "sum_error": np.bincount(how, weights=err.sum(axis=0), minlength=168),
                    "sum_abs_error": np.bincount(how, weights=np.abs(err).sum(axis=0), minlength=168),
                }
            )
        )
    return {
        "metrics": pd.concat(metric_rows, ignore_index=True),
        "origins": pd.DataFrame(origin_rows),
        "calibration": pd.concat(cal_rows, ignore_index=True),
        "how_errors": pd.concat(how_rows, ignore_index=True),
    }


def _town_hits(y: np.ndarray, mu: np.ndarray, towns: np.ndarray, k: int) -> np.ndarray:
    """Per place, its incidents inside the top ``k``% of its own town's place-hours by ``mu``."""
    hits = np.zeros(y.shape[0])
    for town in np.unique(towns):
        rows = towns == town
        hits[rows] = (m.top_k_weights(mu[rows], k) * y[rows]).sum(axis=1)
    return hits


def audit_leakage(
    matrix: CountMatrix,
    origin: dt.date,
    horizon_days: int,
    factories: Mapping[str, ModelFactory],
    window: Window = "expanding",
    window_days: int | None = None,
    calendar: SwedishCalendar | None = None,
    places: pd.DataFrame | None = None,
) -> None:
    """Raise :class:`LeakageError` if a model's forecast at ``origin`` depends on later counts.

    Each model is fitted twice through the same code path as the backtest: on the real
    counts, and on a copy where every count from the origin on is changed (one incident
    added to every later place-hour). A model that only uses the training slice it is given
    forecasts the same both times.
    """
    tz = str(matrix.slots.tz)
    a = _slot_index(matrix.slots, origin, tz)
    changed = np.array(matrix.values, copy=True)
    changed[:, a:] += 1.0
    altered = CountMatrix(matrix.places, matrix.slots, changed)
    for name, factory in factories.items():
        real, _ = _fit_predict(matrix, origin, horizon_days, factory, name, window, window_days, calendar, places)
        other, _ = _fit_predict(altered, origin, horizon_days, factory, name, window, window_days, calendar, places)
        if not np.allclose(
            real["expected"].to_numpy(float), other["expected"].to_numpy(float), rtol=1e-9, atol=1e-12, equal_nan=True
        ):
            raise LeakageError(
                f"model {name} leaks: its forecast from origin {origin} changes when counts at or after "
                "the origin change, so it reads data it could not have had; fit it only on the counts "
                "it is given"
            )


def _progress(enabled: bool, total: int) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("backtest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _run_dask(
    matrix: CountMatrix,
    origins: list[dt.date],
    kwargs: dict[str, Any],
    scheduler: str | None,
    workers: int | None,
    on_done: Callable[[], None],
) -> list[dict[str, pd.DataFrame]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a declared dependency
        raise TryggplanError("engine 'dask' needs dask[distributed]: pip install 'dask[distributed]'") from exc
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            import os

            n = workers or max(1, min(len(origins), os.cpu_count() or 1))
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
            client = Client(cluster)
    except OSError as exc:
        raise TryggplanError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}; check --scheduler") from exc
    try:
        shared = client.scatter(matrix, broadcast=True)
        futures = [client.submit(evaluate_origin, shared, o, pure=False, **kwargs) for o in origins]
        by_future = {f.key: i for i, f in enumerate(futures)}
        results: list[dict[str, pd.DataFrame] | None] = [None] * len(origins)
        for fut in as_completed(futures):
            results[by_future[fut.key]] = fut.result()
            on_done()
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def backtest(
    data: pd.DataFrame | CountMatrix,
    models: Sequence[str] | Mapping[str, str | ModelFactory] = (
        "default",
        "how_mean",
        "place_only",
        "last_14_days",
        "seasonal_naive",
    ),
    origins: int = 26,
    horizon_days: int = 7,
    step_days: int = 7,
    window: Window = "expanding",
    window_days: int | None = None,
    tz: str = DEFAULT_TZ,
    engine: Engine = "local",
    scheduler: str | None = None,
    progress: bool = False,
    places: Sequence[str] | pd.DataFrame | None = None,
    weighted: bool = False,
    weekday: int | None = 0,
    min_train_days: int = 28,
    audit: bool = True,
    calendar: SwedishCalendar | None = None,
    workers: int | None = None,
    categories: CategorySelection | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of ``models`` on incidents or hourly counts.

    Parameters
    ----------
    data : incidents (``occurred_at`` tz-aware, ``place_id``[, ``weight``]), a long count frame
        (``place_id, slot_start, count``) or a :class:`~tryggplan.counts.CountMatrix`
    models : registered names (``default`` is run under that name and resolved to the
        registry's default) or a mapping name -> registered name or factory of unfitted models
    origins : number of origins; the last leaves a full horizon before the data end
    horizon_days : forecast horizon [days] scored at each origin
    step_days : days between consecutive origins [days]
    window : ``expanding`` (all counts before the origin) or ``sliding`` (the last
        ``window_days`` days before it)
    tz : local time zone of the slots (ignored for count input, which carries its own)
    engine : ``local`` (one process) or ``dask`` (origins in parallel on a LocalCluster, or
        on the cluster at ``scheduler``)
    places : every place to score (places without incidents get zero rows); default those
        with incidents. A places frame (``place_id, municipality[, police_area]``) is also passed
        to every model's ``fit`` (risk within each municipality, area pooling), and the metrics
        get ``town_hits@k`` (see :func:`evaluate_origin` and :meth:`BacktestResult.by_town`)
    weighted : incidents input: sum the ``weight`` column instead of counting rows
    categories : incidents input: count only these categories (see
        :func:`tryggplan.counts.select_categories`; the mapping form needs ``places`` as a frame)
    weekday : weekday of the origins (0 = Monday); ``None`` anchors at the data end
    audit : run the leakage audit (:func:`audit_leakage`) on the first origin
    calendar : passed to every model's ``fit``; default each model's own (Swedish calendar)
    """
    if window not in ("expanding", "sliding"):
        raise InvalidInputError(f"window must be 'expanding' or 'sliding', got {window!r}")
    if engine not in ("local", "dask"):
        raise InvalidInputError(f"engine must be 'local' or 'dask', got {engine!r}")
    if window == "sliding" and (window_days is None or window_days < 1):
        raise InvalidInputError("a sliding window needs window_days >= 1, e.g. 365")
    check_tz(tz)
    place_frame: pd.DataFrame | None = None
    place_ids: Sequence[str] | None = None
    if isinstance(places, pd.DataFrame):
        if not {"place_id", "municipality"} <= set(places.columns):
            raise InvalidInputError("places frame lacks place_id or municipality: give the canonical places frame")
        place_frame, place_ids = places, list(places["place_id"].astype(str))
    elif places is not None:
        place_ids = places
    matrix = _as_matrix(data, tz, place_ids, weighted, categories, place_frame)
    factories, resolved = resolve_models(models)
    need = max(min_train_days, window_days or 0) if window == "sliding" else min_train_days
    origin_days = make_origins(matrix.slots, origins, horizon_days, step_days, weekday, need)
    kwargs: dict[str, Any] = {
        "horizon_days": horizon_days,
        "factories": factories,
        "window": window,
        "window_days": window_days,
        "calendar": calendar,
        "places": place_frame,
    }
    total = len(origin_days) + (1 if audit else 0)
    with _progress(progress, total) as bar:
        task = bar.add_task("backtest", total=total)
        if audit:
            audit_leakage(matrix, origin_days[0], **kwargs)
            bar.advance(task)
        if engine == "dask":
            parts = _run_dask(matrix, origin_days, kwargs, scheduler, workers, lambda: bar.advance(task))
        else:
            parts = []
            for origin in origin_days:
                parts.append(evaluate_origin(matrix, origin, **kwargs))
                bar.advance(task)
    frames = {key: pd.concat([p[key] for p in parts], ignore_index=True) for key in parts[0]}
    h = (
        frames["how_errors"]
        .groupby(["model", "hour_of_week"], as_index=False, sort=False)[["n", "sum_error", "sum_abs_error"]]
        .sum()
    )
    h["mean_error"] = h["sum_error"] / h["n"].where(h["n"] > 0)
    h["mean_abs_error"] = h["sum_abs_error"] / h["n"].where(h["n"] > 0)
    settings = {
        "origins": [o.isoformat() for o in origin_days],
        "horizon_days": horizon_days,
        "step_days": step_days,
        "window": window,
        "window_days": window_days,
        "tz": str(matrix.slots.tz),
        "engine": engine,
        "places": int(len(matrix.places)),
        "data_start": matrix.slots[0].isoformat(),
        "data_end": (matrix.slots[-1] + pd.Timedelta(hours=1)).isoformat(),
        "incidents": float(matrix.values.sum()),
        "audited": bool(audit),
    }
    towns = (
        dict(zip(place_frame["place_id"].astype(str), place_frame["municipality"].fillna("").astype(str), strict=True))
        if place_frame is not None
        else {}
    )
    how = h[["model", "hour_of_week", "n", "mean_error", "mean_abs_error"]]
    return BacktestResult(frames["metrics"], frames["origins"], frames["calibration"], how, resolved, settings, towns)


__all__ = [
    "CURVE_KS",
    "KS",
    "BacktestResult",
    "LeakageError",
    "audit_leakage",
    "backtest",
    "evaluate_origin",
    "make_origins",
    "resolve_models",
]
