"""The FastAPI application factory.

```python
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
app = create_app(Settings(database_url="sqlite:///var/tryggplan.db"))
```

Nothing is built at import: the factory reads the settings, opens (and migrates) the database and
wires routes, error handlers and middleware. Errors map to status codes in one place:
:class:`InvalidInputError` -> 422 with row-level problems, :class:`LookupError` -> 404,
request validation -> 422 without echoing the input, too-large bodies -> 413, and a last-resort
handler that logs the traceback (never request data or tokens) and answers a JSON 500.
"""

from __future__ import annotations

import datetime as dt
import errno
import gc
import logging
import re
import tempfile
import time
import traceback
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tryggplan import __version__
from tryggplan.domain import (
    InputTooLargeError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    TryggplanError,
)
from tryggplan.i18n import LANGS, Lang, negotiate_lang, problem_text
from tryggplan.readers import problem_kinds
from tryggplan.service.cache import ReadCacheMiddleware
from tryggplan.service.limits import InFlightLimitMiddleware, ReadBudget
from tryggplan.service.pages import Pages
from tryggplan.service.routes import (
    api_router,
    dashboard_router,
    docs_router,
    forening_router,
    health_router,
    signin_router,
)
from tryggplan.service.settings import Settings
from tryggplan.text import escape_log
from tryggplan.usecases import forecasts, jobs
from tryggplan.usecases.jobs import JobFailedError, JobOptions, QueueFullError, WorkerPool
from tryggplan.usecases.maintenance import database

log = logging.getLogger("tryggplan.service")
access_log = logging.getLogger("tryggplan.service.access")

API_PREFIX = "/api/v1"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(settings: Settings) -> str:
    """The strict policy of every page and answer; only ``img-src`` grows, by the map tiles' origin
    (``TRYGGPLAN_TILE_URL``): Leaflet loads tiles as images, so no script or connect source is added."""
    origin = settings.tile_origin()
    return _CSP.format(tiles=f" {origin}" if origin else "")


_DOCS_PATHS = ("/docs", "/redoc")


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413, by header and while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(send)
                    return
        seen = 0
        started = False
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # the body parser may have turned _BodyTooLarge into its own 400: answer 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = (
            b'{"detail":"request body is larger than %d bytes, over the limit max_upload_bytes: split the file or '
            b'raise TRYGGPLAN_MAX_UPLOAD_BYTES","limit":"max_upload_bytes","value":%d,"problems":[]}'
            % (self.max_bytes, self.max_bytes)
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class NulGuardMiddleware:
    """Refuse NUL characters in the path, the query string and JSON bodies with 422.

    PostgreSQL cannot store NUL in text (a request carrying one would end in a 500 there) and no
    id, name or time legitimately holds one. Incident files are checked row by row by the readers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = (scope.get("raw_path") or b"") + b"?" + scope.get("query_string", b"")
        if b"%00" in target or "\x00" in scope.get("path", ""):
            await _refuse_nul(send, "the URL")
            return
        content_types = [v for k, v in scope.get("headers", []) if k.lower() == b"content-type"]
        if scope.get("method") in ("GET", "HEAD", "OPTIONS") or not all(map(is_json_type, content_types)):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:  # the body size is bounded by BodyLimitMiddleware around this one
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if _JSON_NUL.search(body):
            await _refuse_nul(send, "the JSON body")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def is_json_type(content_type: bytes) -> bool:
    """Whether FastAPI reads a body of this content type as JSON: ``application/json`` and
    ``application/<anything>+json`` with any parameters and in any case (a body without a content type
    is read as JSON too: the caller passes no value then)."""
    media = content_type.split(b";", 1)[0].strip().lower()
    main, _, sub = media.partition(b"/")
    return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))


async def _refuse_nul(send: Send, where: str) -> None:
    body = b'{"detail":"%s contains a NUL character: remove it","problems":[]}' % where.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: an association's link carries its secret in the path (the JSON routes and its page): logged as ``***``
_SECRET_IN_PATH = re.compile(r"(/associations/|/forening/)[^/]+")


def loggable_path(path: str) -> str:
    """The request path as it may be logged: an association link's secret replaced by ``***``."""
    return _SECRET_IN_PATH.sub(r"\1***", path)[:200]


class AccessLogMiddleware:
    """One line per request: method, path, status, duration. The query string is left out on purpose
    (the dashboard link carries ``?token=``), and so are bodies; an association link's secret in the
    path is replaced by ``***``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 0

        async def track(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, track)
        finally:
            access_log.info(
                "%s %s %d %.0f ms",
                escape_log(str(scope.get("method", "?"))[:20]),
                escape_log(loggable_path(scope.get("path", "?"))),
                status_code,
                1000 * (time.perf_counter() - started),
            )


class SecurityHeadersMiddleware:
    """nosniff, no referrer, no framing everywhere; a strict CSP except on the interactive docs and on
    responses that bring their own (the print-ready situation picture)."""

    def __init__(self, app: ASGIApp, csp: str = _CSP.format(tiles="")) -> None:
        self.app = app
        self.csp = csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                # a route may set its own (stricter) policy, e.g. the print-ready report
                own = any(k.lower() == b"content-security-policy" for k, _ in headers)
                if not path.startswith(_DOCS_PATHS) and not own:
                    headers.append((b"content-security-policy", self.csp))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


def error_lang(request: Request) -> Lang:
    """The language of an error answer: ``?lang=sv|en``, else the ``Accept-Language`` header's
    preference, else English (scripts and checks read the English texts; the dashboard asks for its own
    language on every request)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked  # type: ignore[return-value]
    return negotiate_lang(request.headers.get("accept-language"), default="en")


def _problem_dict(p: Problem, lang: Lang) -> dict[str, Any]:
    message, fix = problem_text(p, lang)
    return {"file": p.file, "row": p.row, "column": p.column, "message": message, "fix": fix, "kind": p.kind or None}


def _problem_dicts(exc: InvalidInputError, limit: int = 1000, lang: Lang = "en") -> list[dict[str, Any]]:
    return [_problem_dict(p, lang) for p in exc.problems[:limit]] + [
        # tryggplan.allocation.InfeasiblePlanError names the constraints that clash
        {
            "file": "resources",
            "row": None,
            "column": None,
            "message": str(c),
            "fix": "relax one of them",
            "kind": "conflict",
        }
        for c in getattr(exc, "conflicts", [])[:limit]
    ]


def _summary_dicts(exc: InvalidInputError, lang: Lang = "en") -> list[dict[str, Any]]:
    """The problems by kind (:func:`tryggplan.readers.problem_kinds`), one line each."""
    out = []
    for k in problem_kinds(list(exc.problems)):
        message, fix = problem_text(k.first, lang)
        out.append(
            {"kind": k.kind, "count": k.count, "rows": list(k.rows), "row_count": k.row_count, "message": message,
             "fix": fix}
        )  # fmt: skip
    return out


def _full_disk(request: Request, what: str) -> JSONResponse:
    return JSONResponse(
        status_code=507,
        content={"detail": f"{what} is full: nothing was stored; free space there, then try again", "problems": []},
    )


def _database_disk(request: Request) -> str:
    """Names the disk the database is on, as a 507 says it."""
    url = request.app.state.engine.url
    if url.get_backend_name() == "sqlite":
        return f"the disk holding the database {url.database} (or the database's size limit)"
    return f"the disk of the PostgreSQL server {url.host or 'localhost'}:{url.port or 5432} (database {url.database})"


def _no_space(exc: BaseException | None) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _temp_disk(exc: OSError) -> str:
    where = Path(exc.filename).parent if isinstance(exc.filename, str) else Path(tempfile.gettempdir())
    return f"the disk holding the upload's temporary file in {where} (TMPDIR)"


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputTooLargeError)
    async def too_large(_request: Request, exc: InputTooLargeError) -> JSONResponse:
        return JSONResponse(
            status_code=413,
            content={
                "detail": str(exc),
                "limit": exc.limit,
                "value": exc.value,
                "actual": exc.actual,
                "problems": _problem_dicts(exc),
            },
        )

    @app.exception_handler(QueueFullError)
    async def queue_full(_request: Request, exc: QueueFullError) -> JSONResponse:
        return JSONResponse(
            status_code=429,
            content={"detail": str(exc), "retry_after": exc.retry_after, "problems": []},
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(JobFailedError)
    async def job_failed(_request: Request, exc: JobFailedError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": str(exc), "problems": []})

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> JSONResponse:
        if _no_space(exc):
            log.error("no space left writing %s", escape_log(str(exc.filename))[:200])
            return _full_disk(request, _temp_disk(exc))
        return await last_resort(request, exc)

    @app.exception_handler(InvalidInputError)
    async def invalid_input(request: Request, exc: InvalidInputError) -> JSONResponse:
        lang = error_lang(request)
        problems = _problem_dicts(exc, lang=lang)
        detail = str(exc)
        if lang == "sv" and problems:
            first = problems[0]
            where = ", ".join(x for x in (f"rad {first['row']}" if first["row"] else "", first["column"] or "") if x)
            detail = (
                f"uppgifterna kunde inte användas, inget sparades: {len(exc.problems)} problem; "
                f"första: {where + ': ' if where else ''}{first['message']}"
            )
        return JSONResponse(
            status_code=422,
            content={"detail": detail, "problems": problems, "summary": _summary_dicts(exc, lang)},
        )

    @app.exception_handler(LookupError)
    @app.exception_handler(NotFoundError)
    async def not_found(_request: Request, exc: LookupError) -> JSONResponse:
        text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "not found"
        return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"detail": text, "problems": []})

    @app.exception_handler(PermissionDeniedError)
    async def forbidden(_request: Request, exc: PermissionDeniedError) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_403_FORBIDDEN, content={"detail": str(exc), "problems": []})

    @app.exception_handler(TryggplanError)
    async def tryggplan_error(_request: Request, exc: TryggplanError) -> JSONResponse:
        # a deliberate refusal that is not about the request's syntax: e.g. the solver gave no
        # usable answer (tryggplan.allocation.SolverError) -> 503, anything else -> 409
        code = 503 if type(exc).__name__ == "SolverError" else status.HTTP_409_CONFLICT
        return JSONResponse(status_code=code, content={"detail": str(exc), "problems": []})

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return JSONResponse(
            status_code=422,
            content={
                "detail": "a value cannot be stored (e.g. a NUL character, or text longer than "
                "1000 characters): remove or shorten it",
                "problems": [],
            },
        )

    @app.exception_handler(IntegrityError)
    async def integrity_error(_request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error: %s", type(exc.orig).__name__)
        return JSONResponse(
            status_code=409,
            content={
                "detail": "the change conflicts with stored data (another request may have made "
                "the same change): reload and try again",
                "problems": [],
            },
        )

    @app.exception_handler(OperationalError)
    async def operational_error(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        reason = str(exc.orig).lower()
        if "full" in reason or "could not extend" in reason:  # SQLITE_FULL, PostgreSQL disk_full
            return _full_disk(request, _database_disk(request))
        if "locked" in reason:
            detail = "the database is locked by another writer: nothing was stored; try again shortly"
        elif "readonly" in reason or "read-only" in reason:
            detail = "the database is read-only: nothing was stored; check the file's permissions"
        else:
            detail = "the database is busy or unreachable: try again shortly"
        return JSONResponse(status_code=503, content={"detail": detail, "problems": []})

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:100]:
            loc = [str(x) for x in err.get("loc", ())]
            problems.append(
                {
                    "file": "request",
                    "row": None,
                    "column": ".".join(loc) or None,
                    "message": str(err.get("msg", "invalid"))[:300],
                    "fix": "",
                    "kind": err.get("type"),
                }
            )
        first = problems[0] if problems else {"column": None, "message": "invalid request"}
        return JSONResponse(
            status_code=422,
            content={
                "detail": f"invalid request: {first['column']}: {first['message']}",
                "problems": problems,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cause = exc.__cause__
        if exc.status_code == 400 and _no_space(cause):
            # FastAPI turns any error while the multipart body is spooled to disk into a 400
            # "There was an error parsing the body": a full disk is not the client's fault
            return _full_disk(request, _temp_disk(cause))  # type: ignore[arg-type]
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail, "problems": []},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def last_resort(request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        # Log where it broke, not what it said: messages may quote incident rows or tokens.
        log.error(
            "error %s on %s %s: %s\n%s",
            error_id,
            escape_log(request.method[:20]),
            escape_log(loggable_path(request.url.path)),
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return JSONResponse(
            status_code=500,
            content={
                "detail": f"internal error {error_id}: this is a bug, please report it with this id",
                "problems": [],
            },
        )


def configure_logging() -> None:
    """The service's log lines (errors and the access log) on stderr with a timestamp."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    for name in ("tryggplan.service", "tryggplan.service.access", "tryggplan.usecases", "tryggplan.storage"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not logger.handlers:
            logger.addHandler(handler)
        logger.propagate = False


def app_from_environment() -> FastAPI:
    """The app of one of several HTTP worker processes (``TRYGGPLAN_HTTP_WORKERS`` > 1): settings from the
    environment."""
    configure_logging()
    return create_app(Settings())


def job_options(settings: Settings, engine: Engine) -> JobOptions:
    """What the worker pool's processes need: the database (by URL: each opens its own connections),
    the solver's time limit and where finished grids are kept in columnar form."""
    url = engine.url.render_as_string(hide_password=False)
    folder = str(forecasts.grid_folder(engine, settings.grid_dir))
    return JobOptions(database_url=url, solver_time_limit=settings.solver_time_limit, grid_dir=folder)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application: settings, database (migrated to head), routes, handlers, middleware."""
    settings = settings or Settings()
    read_budget = ReadBudget(settings.memory_budget_bytes, settings.read_limits())
    engine = database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs.recover(engine)
        pool = WorkerPool(
            engine, job_options(settings, engine), workers=settings.job_workers, kinds=settings.job_kinds
        ).start()
        app.state.job_pool = pool
        # what is loaded by now (pandas, the models, the routes) lives as long as the server: keep it out
        # of the collector's full passes, which otherwise walk it every few hundred requests
        gc.freeze()
        try:
            yield
        finally:
            # SIGTERM: uvicorn stopped taking requests and gave running ones the drain time; the jobs get it too
            stopped = await run_in_threadpool(pool.stop, settings.drain_seconds)
            if stopped:
                log.warning("stopped %d running job(s) at shutdown: %s", len(stopped), stopped)
            engine.dispose()

    app = FastAPI(
        title="tryggplan",
        version=__version__,
        summary="Crime-risk forecasts and night-walk / guard plans for a municipality",
        description=(
            "Bearer tokens with roles (`tryggplan token create --role reader|coordinator|analyst|admin`). "
            "Readers see forecasts, heatmaps, plans and aggregates, never raw incident rows; coordinators "
            "manage resources and plans; analysts import incidents and run backtests; admins manage tokens. "
            "Errors are JSON `{detail, problems}`; a 422 lists row-level problems with a fix each."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by tryggplan.service.routes.docs from local files
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    frozen = settings.frozen_now
    if frozen is not None:
        log.warning("the clock is frozen at %s (TRYGGPLAN_FROZEN_NOW): for tests and replays only", frozen.isoformat())
    app.state.clock = (lambda: frozen) if frozen is not None else (lambda: dt.datetime.now(dt.UTC))
    app.state.read_budget = read_budget
    app.state.grid_dir = forecasts.grid_folder(engine, settings.grid_dir)
    _install_handlers(app)
    app.include_router(health_router)
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(dashboard_router)
    app.include_router(signin_router)
    app.include_router(forening_router)
    app.include_router(docs_router)
    app.state.pages = Pages()
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],  # not X-CSRF-Token: sessions are same-site only
        )
    app.add_middleware(InFlightLimitMiddleware, max_inflight=32)  # < worker threads (40) < pool (50)
    if settings.read_cache:
        app.add_middleware(ReadCacheMiddleware, engine=engine)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, csp=content_security_policy(settings))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(AccessLogMiddleware)
    return app
