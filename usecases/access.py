"""Tokens and what each role may do (docs/architecture.md, "Access").

Roles:

* ``reader`` (dashboards): places, forecasts, heatmaps, plans, aggregates; never raw incident rows
* ``coordinator``: what a reader may, plus resources, plans and the walks recorded against them
* ``analyst``: what a reader may, plus imports, incidents, forecast runs and backtests
* ``admin``: everything, and tokens
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from tryggplan.domain import ROLES, InvalidInputError, PermissionDeniedError, Role
from tryggplan.storage import tokens
from tryggplan.storage.records import TokenRecord

#: Who may do what; every route and command names one of these sets.
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
        """Who did it, as stored with every change (never the secret)."""
        return f"token:{self.token_id}:{self.name}"


def check_role(role: str) -> Role:
    """``role`` if it is one of :data:`tryggplan.domain.ROLES`, else :class:`InvalidInputError`."""
    return tokens.check_role(role)


def authenticate(engine: Engine, secret: str) -> Principal | None:
    """The caller behind ``secret``, or ``None`` for an unknown or revoked token."""
    found = tokens.find_token(engine, secret)
    if found is None:
        return None
    return Principal(token_id=found.id, role=check_role(found.role), name=found.name or found.role)


def require(principal: Principal, roles: frozenset[Role], what: str) -> Principal:
    """``principal`` when its role is in ``roles``; :class:`PermissionDeniedError` naming ``what`` otherwise."""
    if principal.role not in roles:
        raise PermissionDeniedError(f"role {principal.role!r} may not {what}: needs {' or '.join(sorted(roles))}")
    return principal


def create_token(engine: Engine, role: str, name: str | None = None) -> tuple[str, TokenRecord]:
    """A new token: its secret (shown only once) and its description."""
    if name is not None and not name.strip():
        raise InvalidInputError("token name is empty: leave it out or give who or what uses the token")
    return tokens.create_token(engine, role, name)


def list_tokens(engine: Engine, include_revoked: bool = False) -> list[TokenRecord]:
    return tokens.list_tokens(engine, include_revoked)


def revoke_token(engine: Engine, token_id: int) -> TokenRecord:
    return tokens.revoke_token(engine, token_id)
