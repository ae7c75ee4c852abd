"""Download sessions (``POST``/``DELETE /api/v1/session``): the dashboard trades its bearer token for a
short-lived signed cookie, so its downloads (plan ICS/CSV, the report, payouts) are plain links that
never carry a token (:mod:`tryggplan.usecases.sessions`, :mod:`tryggplan.service.deps`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from tryggplan.service.deps import EngineDep, require
from tryggplan.service.schemas import ErrorOut, SessionOut
from tryggplan.usecases.access import PLACES, Principal
from tryggplan.usecases.sessions import SESSION_COOKIE, SESSION_SECONDS, open_session

router = APIRouter(prefix="/session", tags=["session"])

Caller = Annotated[Principal, Depends(require(PLACES, "open a download session"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
_PATH = "/api/v1"


@router.post("", response_model=SessionOut, responses=_ERRORS)
def start_session(
    principal: Caller,
    engine: EngineDep,
    request: Request,
    response: Response,
    seconds: Annotated[int, Query(ge=60, le=SESSION_SECONDS, description="how long it lasts [s]")] = SESSION_SECONDS,
) -> SessionOut:
    """Set the download-session cookie for the calling token: ``HttpOnly`` (scripts cannot read it),
    ``SameSite=Strict`` (other sites cannot send it), ``Path=/api/v1``, ``Secure`` over HTTPS, signed and
    expiring after ``seconds``. It authorises only ``GET`` of ``.csv``, ``.ics`` and ``.html`` files, and
    ends when the token is revoked."""
    value, expires = open_session(engine, principal, seconds=seconds)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=seconds,
        path=_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return SessionOut(
        role=principal.role,
        name=principal.name,
        municipalities=list(principal.municipalities) if principal.municipalities is not None else None,
        expires_at=expires,
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def end_session(principal: Caller) -> Response:
    """Remove the download-session cookie from this browser (the dashboard's "Glöm nyckeln")."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path=_PATH, httponly=True, samesite="strict")
    return response
