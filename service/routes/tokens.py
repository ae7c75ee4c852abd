"""Tokens (admin only): create (the secret is shown once), list, revoke."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status

from tryggplan.service.deps import EngineDep, require
from tryggplan.service.schemas import ErrorOut, TokenCreate, TokenCreated, TokenOut
from tryggplan.usecases import access
from tryggplan.usecases.access import ADMIN, Principal

router = APIRouter(prefix="/tokens", tags=["tokens"])

Admin = Annotated[Principal, Depends(require(ADMIN, "manage tokens"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


@router.get("", response_model=list[TokenOut], responses=_ERRORS)
def list_tokens(principal: Admin, engine: EngineDep, include_revoked: bool = False) -> list[TokenOut]:
    """Tokens (never their secrets): id, role, name, first characters, created, revoked, expiry and last use.
    An admin scoped to towns lists only tokens of its towns (never area-wide ones)."""
    return [TokenOut(**asdict(t)) for t in access.list_tokens(engine, include_revoked, principal.scope)]


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def create_token(body: TokenCreate, principal: Admin, engine: EngineDep) -> TokenCreated:
    """A new token; ``token`` is shown only in this answer (only its hash is stored). An admin scoped to
    towns makes tokens of its towns only (by default of all of them)."""
    wanted = body.municipalities if body.municipalities is not None else principal.municipalities
    for municipality in wanted or ():
        access.check_municipality(principal, municipality)
    secret, info = access.create_token(
        engine, body.role, body.name, list(wanted) if wanted is not None else None, body.expires
    )
    return TokenCreated(**asdict(info), token=secret)


@router.delete("/{token_id}", response_model=TokenOut, responses=_ERRORS)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**62)], principal: Admin, engine: EngineDep) -> TokenOut:
    """Revoke a token: it answers 401 from now on. An admin scoped to towns revokes only its towns' tokens
    (403 for an area-wide token or another town's)."""
    return TokenOut(**asdict(access.revoke_token(engine, token_id, principal.scope)))
