"""A response cache for the dashboard's read routes (ASGI middleware).

A finished forecast run and a stored plan never change, yet every dashboard request rebuilt the
risk grid from the database, recomputed the heatmap and serialised thousands of rows (100-200 ms
each): at 50 concurrent dashboards that queued to seconds. This middleware keeps the rendered
answers of those routes in memory, keyed by

* the path and query string, and the caller's role (every cached route is open to every role today;
  the role in the key keeps it right if one ever is not: a 403 is never cached);
* the data generation: the newest finished forecast run, the number of runs, the newest plan,
  the places' newest change and count, the current hour (``latest`` / ``current`` / filters
  follow new data at once, and the clock within the hour).

Authorisation is never skipped: a cached answer is only served to a valid, unrevoked token (looked up
exactly as the routes do); anything else goes to the app, which answers 401/403 itself. The token
check and the data generation are remembered per token for ``recheck_seconds`` (1 s): a revoked
token or a new forecast reaches these routes at most that much later (every other route checks on
every request). Only 200
answers are stored; at most ``max_entries`` answers of at most ``max_bytes`` each are kept
(least recently used dropped first).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tryggplan.usecases.access import AuthorizationHeaderError, authenticate, bearer_secret
from tryggplan.usecases.maintenance import data_generation

CACHED_PATHS = re.compile(
    r"^/api/v1/(forecasts/[^/]+/(grid|grid\.csv|heatmap|daily|windows|places\.geojson)"
    r"|plans/[^/]+(/plan\.csv|/plan\.ics)?)$"
)


class ReadCacheMiddleware:
    """Serve repeated dashboard reads from memory; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        engine: Engine,
        max_entries: int = 256,
        max_bytes: int = 8_000_000,
        recheck_seconds: float = 1.0,
    ) -> None:
        self.app = app
        self.engine = engine
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.recheck_seconds = recheck_seconds
        self._entries: OrderedDict[tuple[Any, ...], tuple[int, list[tuple[bytes, bytes]], bytes]] = OrderedDict()
        self._checked: dict[str, tuple[float, bool, tuple[Any, ...]]] = {}
        self._lock = threading.Lock()

    def _lookup_cached(self, token: str | None) -> tuple[bool, tuple[Any, ...]] | None:
        """A lookup of this token made less than ``recheck_seconds`` ago, if any."""
        if token is None or self.recheck_seconds <= 0:
            return None
        hit = self._checked.get(token)
        if hit is None or time.monotonic() - hit[0] > self.recheck_seconds:
            return None
        return hit[1], hit[2]

    def _lookup_and_remember(self, token: str | None) -> tuple[bool, tuple[Any, ...]]:
        valid, generation = self._lookup(token)
        if token is not None and self.recheck_seconds > 0:
            with self._lock:
                if len(self._checked) > 10_000:
                    self._checked.clear()
                self._checked[token] = (time.monotonic(), valid, generation)
        return valid, generation

    def _lookup(self, token: str | None) -> tuple[bool, tuple[Any, ...]]:
        """(token valid, data generation)."""
        principal = authenticate(self.engine, token) if token is not None else None
        if principal is None:
            return False, ()
        # ``latest`` (the run covering today) and ``current`` (this week's plan) follow the clock: the hour
        # is part of the key, so they change within the hour the day or week does (at any zone's midnight)
        hour = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H")
        # the role and the token's municipalities are part of the key: an answer is only ever replayed
        # to the role and scope it was made for
        return True, (principal.role, principal.municipalities, *data_generation(self.engine), hour)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or not CACHED_PATHS.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"authorization"]
        try:
            token = bearer_secret(values)
        except AuthorizationHeaderError:  # the app answers 400 for it
            await self.app(scope, receive, send)
            return
        looked = self._lookup_cached(token)
        valid, generation = looked if looked is not None else await run_in_threadpool(self._lookup_and_remember, token)
        if not valid:
            await self.app(scope, receive, send)
            return
        # answers follow the language a request asks for (``Accept-Language``, as the dashboard sends it)
        language = b"".join(v for k, v in scope.get("headers", []) if k.lower() == b"accept-language")[:200]
        key = (scope["path"], scope.get("query_string", b""), language, generation)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
        if hit is not None:
            status, response_headers, body = hit
            await send({"type": "http.response.start", "status": status, "headers": response_headers})
            await send({"type": "http.response.body", "body": body})
            return

        start: tuple[int, list[tuple[bytes, bytes]]] | None = None
        chunks: list[bytes] = []
        size = 0
        cacheable = True

        async def capture(message: Message) -> None:
            nonlocal start, size, cacheable
            if message["type"] == "http.response.start":
                # copied now: outer middleware adds its headers to this same message afterwards
                start = (int(message["status"]), list(message.get("headers", [])))
                cacheable = message["status"] == 200
            elif message["type"] == "http.response.body" and cacheable:
                size += len(message.get("body", b""))
                if size > self.max_bytes:
                    cacheable = False
                else:
                    chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and cacheable and start is not None:
                    self._store(key, start[0], start[1], b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def _store(self, key: tuple[Any, ...], status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        with self._lock:
            self._entries[key] = (status, headers, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
