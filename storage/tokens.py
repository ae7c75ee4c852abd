"""Bearer tokens with roles.

A token is ``tp_`` + 43 URL-safe characters (32 random bytes). Only its SHA-256 is stored
(enough for random 32-byte secrets; no salt or slow hash needed), and the stored hash is
compared with :func:`hmac.compare_digest`.

Roles (DESIGN.md, "Service"):

* ``reader`` (dashboards): places, forecasts, heatmaps, plans, aggregates; never raw incident rows
* ``coordinator``: what a reader may, plus resources and plans
* ``analyst``: what a reader may, plus imports, incidents, forecast runs and backtests
* ``admin``: everything, and tokens
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tryggplan.domain import InvalidInputError
from tryggplan.storage.models import ApiToken, utcnow

Role = Literal["reader", "coordinator", "analyst", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
TOKEN_PREFIX = "tp_"

#: Who may do what; route dependencies name one of these sets.
READ: frozenset[Role] = frozenset(ROLES)
PLAN: frozenset[Role] = frozenset({"coordinator", "admin"})
DATA: frozenset[Role] = frozenset({"analyst", "admin"})
FORECAST: frozenset[Role] = frozenset({"coordinator", "analyst", "admin"})
ADMIN: frozenset[Role] = frozenset({"admin"})


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token."""

    token_id: int
    role: Role
    name: str

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}:{self.name}"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    role: Role
    name: str | None
    prefix: str
    created_at: dt.datetime
    revoked: bool


def hash_token(token: str) -> str:
    """Hex SHA-256 of the token text."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidInputError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def create_token(engine: Engine, role: str, name: str | None = None) -> tuple[str, TokenInfo]:
    """Create a token; returns the secret (shown once) and its stored description."""
    role = check_role(role)
    if name is not None and len(name) > 200:
        raise InvalidInputError("token name is longer than 200 characters: shorten it")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        row = ApiToken(
            token_hash=hash_token(secret),
            prefix=secret[:8],
            role=role,
            name=name,
            created_at=utcnow(),
            revoked=False,
        )
        session.add(row)
        session.flush()
        info = _info(row)
    return secret, info


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        role=check_role(row.role),
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked=row.revoked,
    )


def list_tokens(engine: Engine, include_revoked: bool = False) -> list[TokenInfo]:
    with Session(engine) as session:
        stmt = select(ApiToken).order_by(ApiToken.id)
        if not include_revoked:
            stmt = stmt.where(ApiToken.revoked.is_(False))
        return [_info(r) for r in session.scalars(stmt)]


def revoke_token(engine: Engine, token_id: int) -> TokenInfo:
    """Revoke by id; raises :class:`LookupError` for an unknown id."""
    with Session(engine) as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            raise LookupError(f"no token with id {token_id}: see `tryggplan token list`")
        if not row.revoked:
            row.revoked = True
            row.revoked_at = utcnow()
        return _info(row)


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token, else ``None``."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked or not hmac.compare_digest(row.token_hash, digest):
        return None
    return Principal(token_id=row.id, role=check_role(row.role), name=row.name or row.role)
