"""FastAPI dependencies: settings, the database engine, the caller and its role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from tryggplan.domain import Role
from tryggplan.service.settings import Settings
from tryggplan.usecases.access import Principal, authenticate

_bearer = HTTPBearer(auto_error=False, description="a token from `tryggplan token create --role ROLE`")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_now(request: Request) -> dt.datetime:
    """The moment of the request (tz-aware UTC): what plans, walk records and offers take as ``now``.
    ``app.state.clock`` (the real clock, or ``Settings.frozen_now``) so tests can pass the moment."""
    return request.app.state.clock()  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
NowDep = Annotated[dt.datetime, Depends(get_now)]


def get_principal(
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, or 401 when the token is missing, unknown or revoked."""
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(create one with `tryggplan token create --role reader`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = authenticate(engine, credentials.credentials)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked token: ask an admin for a new one",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(roles: frozenset[Role], what: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only ``roles`` through (403 for others). ``what`` names the action."""

    def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role!r} may not {what}: needs {' or '.join(sorted(roles))}",
            )
        return principal

    dependency.roles = roles  # type: ignore[attr-defined]
    return dependency
