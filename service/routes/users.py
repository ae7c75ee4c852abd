"""Users (admins only): create, list, disable, new password; and ``GET /api/v1/me`` (every caller: who it is).

A scoped admin (a token or a user with municipalities) sees and manages only users whose municipalities
lie within its own; any other user is, to it, unknown (404). It creates users only for its own
municipalities (403 for another). See :mod:`tryggplan.usecases.users`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status

from tryggplan.domain import InvalidInputError
from tryggplan.service.deps import EngineDep, TextLangDep, require
from tryggplan.service.schemas import ErrorOut, MeOut, PasswordIn, UserChanged, UserCreate, UserOut
from tryggplan.storage.users import UserRecord
from tryggplan.usecases import users
from tryggplan.usecases.access import ADMIN, PLACES, Principal

router = APIRouter(tags=["users"])

Admin = Annotated[Principal, Depends(require(ADMIN, "manage users"))]
Anyone = Annotated[Principal, Depends(require(PLACES, "say who it is"))]
Username = Annotated[str, Path(min_length=1, max_length=200)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def user_out(u: UserRecord) -> UserOut:
    return UserOut(
        username=u.username,
        name=u.display_name,
        role=u.role,  # type: ignore[arg-type]
        municipalities=list(u.municipalities) if u.municipalities is not None else None,
        disabled=u.disabled,
        created_at=u.created_at,
        updated_at=u.updated_at,
        last_sign_in_at=u.last_sign_in_at,
    )


@router.get("/me", response_model=MeOut, responses=_ERRORS)
def me(principal: Anyone) -> MeOut:
    """The caller: a token or a signed-in user, its role, name and municipalities."""
    return MeOut(
        kind=principal.kind,
        role=principal.role,
        name=principal.name,
        username=principal.username,
        municipalities=list(principal.municipalities) if principal.municipalities is not None else None,
    )


@router.get("/users", response_model=list[UserOut], responses=_ERRORS)
def list_users(principal: Admin, engine: EngineDep) -> list[UserOut]:
    """The users this admin may manage (never their passwords), by username."""
    return [user_out(u) for u in users.list_users(engine, principal)]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def create_user(body: UserCreate, principal: Admin, engine: EngineDep, lang: TextLangDep) -> UserOut:
    """A new user; it signs in at ``/logga-in`` with this username and password (at least 10 characters;
    a refused one is explained in the language asked for)."""
    try:
        made = users.create_user(
            engine,
            username=body.username,
            role=body.role,
            password=body.password,
            municipalities=body.municipalities,
            display_name=body.name,
            principal=principal,
        )
    except users.PasswordPolicyError as exc:
        raise InvalidInputError(exc.text(lang)) from None
    return user_out(made)


@router.post("/users/{username}/disable", response_model=UserChanged, responses=_ERRORS)
def disable_user(username: Username, principal: Admin, engine: EngineDep) -> UserChanged:
    """Disable a user: it can no longer sign in, and its sessions end now."""
    done, ended = users.disable_user(engine, username, principal)
    return UserChanged(**user_out(done).model_dump(), sessions_ended=ended)


@router.post("/users/{username}/password", response_model=UserChanged, responses=_ERRORS)
def reset_password(
    username: Username, body: PasswordIn, principal: Admin, engine: EngineDep, lang: TextLangDep
) -> UserChanged:
    """Give a user a new password (at least 10 characters); its sessions end now."""
    try:
        done, ended = users.reset_password(engine, username, body.password, principal)
    except users.PasswordPolicyError as exc:
        raise InvalidInputError(exc.text(lang)) from None
    return UserChanged(**user_out(done).model_dump(), sessions_ended=ended)
