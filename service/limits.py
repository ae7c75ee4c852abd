"""Bounds on what is in the server at once (ASGI middleware and helpers for routes).

Requests in flight: routes and their dependencies are synchronous and run on anyio's worker threads
(40); a request takes pooled database connections on them. With more requests in flight than pooled
connections, every worker thread can end up waiting for a connection that only a queued request would
return: the server stalled until the pool timed out (seen with 200 concurrent dashboard clients).
Keeping the number of requests inside the app below the pool size makes that impossible; the others
wait here, on the event loop, costing nothing but time.

A request that waits for something else (an upload for its turn to be read within the memory budget,
a plan for its solve in the worker pool) gives its place back while it waits (:func:`waiting`), so
waiting requests never keep other users' reads out.

Uploads read at once: reading a file within the read limits costs at most :func:`read_cost` bytes
of memory; :class:`ReadBudget` lets only as many uploads be read at once as fit in the memory budget
(``memory_budget_bytes``), the others wait their turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tryggplan.domain import InvalidInputError
from tryggplan.readers import ReadLimits

_MB = 10**6


class _Place:
    """One request's place in the in-flight limit, given back early by :func:`waiting`."""

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self.limiter = limiter
        self.held = False

    async def take(self) -> None:
        await self.limiter.acquire_on_behalf_of(self)
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.limiter.release_on_behalf_of(self)


class InFlightLimitMiddleware:
    """At most ``max_inflight`` HTTP requests inside the app at once; the rest queue in order."""

    def __init__(self, app: ASGIApp, max_inflight: int = 32) -> None:
        self.app = app
        self.max_inflight = max_inflight
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._limiter is None:  # created inside the server's event loop
            self._limiter = anyio.CapacityLimiter(self.max_inflight)
        place = _Place(self._limiter)
        await place.take()
        scope.setdefault("state", {})["inflight_place"] = place
        try:
            await self.app(scope, receive, send)
        finally:
            place.give_back()


@asynccontextmanager
async def waiting(request: Request) -> AsyncIterator[None]:
    """Give the request's in-flight place back for the body of the ``async with`` (the request is only
    waiting), and take one again afterwards."""
    place: _Place | None = request.scope.get("state", {}).get("inflight_place")
    if place is None:
        yield
        return
    place.give_back()
    try:
        yield
    finally:
        await place.take()


def read_cost(limits: ReadLimits) -> int:
    """The most memory reading and storing one file within ``limits`` costs [bytes], from measurements
    (``benchmarks/bench_input_limits.py``, docs/pending/input.md and docs/pending/hardening.md): ~11 bytes
    per byte of text (340 MB for 32 MiB of distinct values), ~1.5 kB per row read and stored (442 MB over
    HTTP for an upload of 300,000 rows), ~125 bytes per value (362 MB for 3 million short values), plus
    ~500 bytes per problem listed."""
    return max(11 * limits.max_decompressed_bytes, 1_500 * limits.max_rows, 125 * limits.max_cells) + (
        500 * limits.max_problems
    )


class ReadBudget:
    """How many uploads are read at once so that together they stay within ``budget`` [bytes].

    Raises :class:`InvalidInputError` (a settings error) when not even one upload fits."""

    def __init__(self, budget: int, limits: ReadLimits, max_waiting: int = 16) -> None:
        cost = read_cost(limits)
        if cost > budget:
            raise InvalidInputError(
                f"memory_budget_bytes {budget // _MB} MB is below what reading one upload may cost within the "
                f"read limits (~{cost // _MB} MB): raise TRYGGPLAN_MEMORY_BUDGET_BYTES or lower the limits "
                "(TRYGGPLAN_MAX_DECOMPRESSED_BYTES, _MAX_ROWS, _MAX_CELLS, _MAX_PROBLEMS)"
            )
        self.budget = budget
        self.cost = cost
        self.slots = max(1, budget // cost)
        self.max_waiting = max_waiting
        self._waiting = 0
        self._limiter: anyio.CapacityLimiter | None = None

    @asynccontextmanager
    async def turn(self, request: Request) -> AsyncIterator[None]:
        """Wait for this upload's turn (its in-flight place given back meanwhile); 503 with
        ``Retry-After`` when ``max_waiting`` uploads wait already."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.slots)
        if self._limiter.available_tokens == 0 and self._waiting >= self.max_waiting:
            raise HTTPException(
                503,
                f"{self._waiting} uploads are waiting to be read already (the memory budget of "
                f"{self.budget // _MB} MB lets {self.slots} be read at once): try again in a minute",
                headers={"Retry-After": "60"},
            )
        self._waiting += 1
        try:
            async with waiting(request):
                await self._limiter.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._limiter.release()
