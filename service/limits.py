"""A bound on requests in flight (ASGI middleware).

Routes and their session dependencies are synchronous and run on anyio's worker threads (40); a
session holds a pooled database connection from its first query until the dependency's exit, which
itself needs a worker thread. With more requests in flight than pooled connections, every worker
thread can end up waiting for a connection that only a queued exit would return: the server stalls
until the pool times out (seen with 200 concurrent dashboard clients). Keeping the number of requests
inside the app below the pool size makes that impossible; the others wait here, on the event loop,
costing nothing but time.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send


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
        async with self._limiter:
            await self.app(scope, receive, send)
