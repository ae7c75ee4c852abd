"""Running one pure function over many inputs: serially in this process, or in parallel on Dask
(``dask.distributed``: a local cluster of processes, or the cluster of a scheduler address).

The same code path serves a laptop and a cluster (docs/architecture.md, "Scale"): an area plan run
solves each municipality's plan this way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from tryggplan.domain import InvalidInputError, TryggplanError

Item = TypeVar("Item")
Result = TypeVar("Result")
Engine = Literal["local", "dask"]


@dataclass(frozen=True)
class Outcome(Generic[Result]):
    """The result of one item, or the reason it failed (a deliberate refusal of the domain)."""

    result: Result | None
    error: str | None


def _guarded(fn: Callable[[Item], Result], item: Item) -> Outcome[Result]:
    try:
        return Outcome(fn(item), None)
    except (TryggplanError, ValueError) as exc:  # one town's refusal must not sink the others
        return Outcome(None, " ".join(str(exc).split())[:1000])


def map_outcomes(
    fn: Callable[[Item], Result],
    items: Sequence[Item],
    *,
    engine: Engine = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> list[Outcome[Result]]:
    """``fn`` of every item, in order; an item whose call raises a domain error gets that error.

    ``engine="dask"`` runs the calls in parallel: on the cluster at ``scheduler``, else on a local
    cluster of ``workers`` processes (default: one per core, at most one per item)."""
    if engine not in ("local", "dask"):
        raise InvalidInputError(f"engine {engine!r}: use local or dask")
    if engine == "local" or not items:
        return [_guarded(fn, item) for item in items]
    from distributed import Client, LocalCluster  # heavy: only when a cluster is asked for

    if scheduler:
        with Client(scheduler) as client:
            return _on(client, fn, items)
    n = workers or max(1, min(len(items), os.cpu_count() or 1))
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            return _on(client, fn, items)


def _on(client: Any, fn: Callable[[Item], Result], items: Sequence[Item]) -> list[Outcome[Result]]:
    # the inputs (grids, histories) go to the workers as data, not inside the task graph
    scattered = client.scatter(list(items))
    return list(client.gather(client.map(_guarded, [fn] * len(items), scattered, pure=False)))
