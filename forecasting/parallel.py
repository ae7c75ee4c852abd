"""Fit and predict many groups of places (e.g. municipalities) serially or on Dask.

The same function serves a laptop (``engine="local"``), a local Dask cluster
(``engine="dask"``, a :class:`distributed.LocalCluster` by default) and a real cluster
(``scheduler="tcp://host:8786"``). Each group is fitted on its own, so places pool strength
within their group (their municipality), as docs/architecture.md "Scale" describes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Literal

import pandas as pd

from tryggplan.calendar import SwedishCalendar
from tryggplan.counts import CountMatrix
from tryggplan.domain import TryggplanError
from tryggplan.forecasting.registry import get_model

Engine = Literal["local", "dask"]


def _fit_predict(
    name: str,
    counts: CountMatrix,
    start: dt.date,
    days: int,
    calendar: SwedishCalendar | None,
    places: pd.DataFrame | None = None,
) -> pd.DataFrame:
    return get_model(name).fit(counts, calendar, places).predict(start, days)


def _places_of(places: pd.DataFrame | None, counts: CountMatrix) -> pd.DataFrame | None:
    """The rows of ``places`` for the places of ``counts`` (a group's share of the places frame)."""
    if places is None:
        return None
    return places[places["place_id"].astype(str).isin(set(map(str, counts.places)))]


def import_dask_client() -> type:
    """``distributed.Client``, or a clear error saying how to install it."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - dask is a dependency, but may be stripped
        raise TryggplanError("--engine dask needs dask.distributed: pip install 'dask[distributed]'") from exc
    return Client


def fit_predict_groups(
    groups: Mapping[str, CountMatrix],
    model: str,
    start: dt.date,
    days: int,
    calendar: SwedishCalendar | None = None,
    engine: Engine = "local",
    scheduler: str | None = None,
    n_workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    places: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Risk grid of every group, concatenated in group order.

    Parameters
    ----------
    groups : group name -> counts of that group's places
    places : the places frame (``place_id, municipality[, police_area]``); each group's model
        is fitted with its rows (risk levels within each municipality of the group, and area
        pooling when a group holds several municipalities)
    engine : ``local`` (serial, in-process) or ``dask``
    scheduler : address of a running Dask scheduler; default a new LocalCluster of ``n_workers``
    progress : called as ``progress(done, total)`` after each group
    """
    names = list(groups)
    total = len(names)
    if engine == "local":
        out = []
        for i, name in enumerate(names):
            out.append(_fit_predict(model, groups[name], start, days, calendar, _places_of(places, groups[name])))
            if progress:
                progress(i + 1, total)
        return pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    if engine != "dask":
        raise TryggplanError(f"unknown engine {engine!r}: use 'local' or 'dask'")
    client_cls = import_dask_client()
    if scheduler:
        client = client_cls(scheduler)
        cluster = None
    else:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = client_cls(cluster)
    try:
        futures = [
            client.submit(
                _fit_predict, model, groups[n], start, days, calendar, _places_of(places, groups[n]), pure=False
            )
            for n in names
        ]
        results: dict[int, pd.DataFrame] = {}
        from distributed import as_completed

        index = {f.key: i for i, f in enumerate(futures)}
        for done, fut in enumerate(as_completed(futures), start=1):
            results[index[fut.key]] = fut.result()
            if progress:
                progress(done, total)
        return pd.concat([results[i] for i in range(total)], ignore_index=True) if results else pd.DataFrame()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
