"""FastAPI dependencies: settings, the database engine, the caller and its role.

The caller is named by a bearer token, or, for reads of downloadable files only (``GET`` of a path
ending in ``.csv``, ``.ics`` or ``.html``), by the signed download-session cookie the dashboard gets
from ``POST /api/v1/session`` (:mod:`tryggplan.usecases.sessions`): so downloads are plain links and no
token is ever put in a URL. The cookie never authorises a change (no ``POST``/``PUT``/``DELETE``), so a
forged cross-site request cannot use it (it is ``SameSite=Strict`` as well).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from tryggplan.domain import Role
from tryggplan.i18n import Lang, request_lang
from tryggplan.service.settings import Settings
from tryggplan.usecases.access import AuthorizationHeaderError, Principal, authenticate, bearer_secret, refusal
from tryggplan.usecases.sessions import SESSION_COOKIE, session_principal

_bearer = HTTPBearer(auto_error=False, description="a token from `tryggplan token create --role ROLE`")


# dependencies that only read the app's state are ``async``: a sync one costs a worker-thread hop per
# request (measurable at 50 concurrent dashboards)
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


async def get_now(request: Request) -> dt.datetime:
    """The moment of the request (tz-aware UTC): what plans, walk records and offers take as ``now``.
    ``app.state.clock`` (the real clock, or ``Settings.frozen_now``) so tests can pass the moment."""
    return request.app.state.clock()  # type: ignore[no-any-return]


async def get_grid_dir(request: Request) -> Path:
    """Where finished runs' grids are kept in columnar form (the app's ``grid_dir``)."""
    return request.app.state.grid_dir  # type: ignore[no-any-return]


async def get_text_lang(
    request: Request,
    lang: Annotated[
        Lang | None,
        Query(description="language of the answer's texts (warnings): sv or en; default: Accept-Language, else en"),
    ] = None,
) -> Lang:
    """The language of an answer's texts for people (a plan's ``warnings``): ``?lang``, else the
    ``Accept-Language`` header's preference, else English, as for error messages (scripts read the
    English texts; the dashboard asks for its own language on every request)."""
    return request_lang(lang, request.headers.get("accept-language"), default="en")


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
NowDep = Annotated[dt.datetime, Depends(get_now)]
GridDirDep = Annotated[Path, Depends(get_grid_dir)]
TextLangDep = Annotated[Lang, Depends(get_text_lang)]


#: reads a download-session cookie may authorise: files a link opens or saves
DOWNLOAD_PATH = re.compile(r"^/api/v1/.+\.(csv|ics|html)$")


def download_session(request: Request, engine: Engine) -> Principal | None:
    """The caller named by the download-session cookie, for a ``GET`` of a downloadable file only."""
    if request.method != "GET" or not DOWNLOAD_PATH.match(request.url.path):
        return None
    return session_principal(engine, request.cookies.get(SESSION_COOKIE))


def get_principal(
    request: Request,
    engine: EngineDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, or 401 when the token is missing, unknown, revoked or expired; 400 for a request with
    two Authorization headers. The token is read by :func:`tryggplan.usecases.access.bearer_secret`,
    exactly as the response cache reads it (``_credentials`` only documents the scheme); without one, a
    download of a file may be named by the download-session cookie."""
    try:
        secret = bearer_secret(request.headers.getlist("authorization"))
    except AuthorizationHeaderError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if secret is None:
        session = download_session(request, engine)
        if session is not None:
            return session
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(create one with `tryggplan token create --role reader`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = authenticate(engine, secret, for_read=request.method in ("GET", "HEAD"))
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, refusal(engine, secret), headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def require(roles: frozenset[Role], what: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only ``roles`` through (403 for others). ``what`` names the action."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role!r} may not {what}: needs {' or '.join(sorted(roles))}",
            )
        return principal

    dependency.roles = roles  # type: ignore[attr-defined]
    return dependency
