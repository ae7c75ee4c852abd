"""Tokens and what each role may do (docs/architecture.md, "Access").

Roles:

* ``reader`` (dashboards): places, forecasts, heatmaps, plans, aggregates; never raw incident rows
* ``coordinator``: what a reader may, plus resources, plans (make, publish) and the season ledger (walk
  records, payouts, association links)
* ``analyst``: what a reader may, plus imports, incidents, forecast runs and backtests
* ``admin``: everything, and tokens
* ``reporter`` (trained reporters, the form at ``/rapportera``): places and the category list, create
  incidents (``POST /incidents``), read only the incidents it created; nothing else

A token may be scoped to municipalities (``tryggplan token create --municipality M``): it then reads
and writes only those municipalities' places, incidents, forecasts, resources, plans, season and
reports. A request naming another municipality is refused (403) and listings leave the others out;
a token without municipalities is area-wide.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from tryggplan.domain import ROLES, InvalidInputError, PermissionDeniedError, Role
from tryggplan.storage import places as stored_places
from tryggplan.storage import tokens
from tryggplan.storage.records import TokenRecord

#: Who may do what; every route and command names one of these sets.
#: Dashboards: forecasts, plans, aggregates (every role but ``reporter``).
READ: frozenset[Role] = frozenset(r for r in ROLES if r != "reporter")
#: Places and the category list: what a reporter picks from, and what every dashboard shows.
PLACES: frozenset[Role] = frozenset(ROLES)
#: Create incidents one by one or in a JSON batch (a reporter: never places, read back only its own).
REPORT: frozenset[Role] = frozenset({"reporter", "analyst", "admin"})
PLAN: frozenset[Role] = frozenset({"coordinator", "admin"})
DATA: frozenset[Role] = frozenset({"analyst", "admin"})
FORECAST: frozenset[Role] = frozenset({"coordinator", "analyst", "admin"})
ADMIN: frozenset[Role] = frozenset({"admin"})


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token; ``municipalities`` ``None`` means area-wide."""

    token_id: int
    role: Role
    name: str
    municipalities: tuple[str, ...] | None = None

    @property
    def actor(self) -> str:
        """Who did it, as stored with every change (never the secret)."""
        return f"token:{self.token_id}:{self.name}"

    @property
    def scoped(self) -> bool:
        return self.municipalities is not None

    def may_see(self, municipality: str | None) -> bool:
        """Whether this caller may read or write ``municipality``'s data (a place without a
        municipality belongs to no town: only area-wide tokens see it)."""
        return self.municipalities is None or (municipality is not None and municipality in self.municipalities)


def check_municipality(principal: Principal, municipality: str | None) -> None:
    """Refuse (403) a request that names a municipality outside the caller's scope."""
    if municipality is not None and not principal.may_see(municipality):
        raise PermissionDeniedError(
            f"this token is for {', '.join(principal.municipalities or ())}: it may not read or change "
            f"{municipality[:80]!r}; use a token for that municipality or an area-wide one"
        )


def check_place(principal: Principal, place_id: str, municipality: str | None) -> None:
    """Refuse (403) a place outside the caller's scope (a place without a municipality is area-wide data)."""
    if not principal.may_see(municipality):
        where = f"belongs to {municipality[:80]!r}" if municipality else "belongs to no municipality"
        raise PermissionDeniedError(
            f"this token is for {', '.join(principal.municipalities or ())}: place {place_id[:80]!r} {where}; "
            "use a token for that municipality or an area-wide one"
        )


def municipality_filter(principal: Principal, municipality: str | None) -> list[str] | None:
    """The municipalities a read is limited to: the one asked for (checked against the scope), else the
    token's own, else ``None`` (everything)."""
    if municipality is not None:
        check_municipality(principal, municipality)
        return [municipality]
    return list(principal.municipalities) if principal.municipalities is not None else None


def check_role(role: str) -> Role:
    """``role`` if it is one of :data:`tryggplan.domain.ROLES`, else :class:`InvalidInputError`."""
    return tokens.check_role(role)


def authenticate(engine: Engine, secret: str) -> Principal | None:
    """The caller behind ``secret``, or ``None`` for an unknown or revoked token."""
    found = tokens.find_token(engine, secret)
    return None if found is None else principal_of(found)


def authenticate_id(engine: Engine, token_id: int) -> Principal | None:
    """The caller behind the token with this id (named by a signed session), or ``None`` when it is
    unknown or revoked."""
    found = tokens.get_token(engine, token_id)
    return None if found is None else principal_of(found)


def principal_of(found: TokenRecord) -> Principal:
    return Principal(
        token_id=found.id,
        role=check_role(found.role),
        name=found.name or found.role,
        municipalities=found.municipalities,
    )


def require(principal: Principal, roles: frozenset[Role], what: str) -> Principal:
    """``principal`` when its role is in ``roles``; :class:`PermissionDeniedError` naming ``what`` otherwise."""
    if principal.role not in roles:
        raise PermissionDeniedError(f"role {principal.role!r} may not {what}: needs {' or '.join(sorted(roles))}")
    return principal


def own_municipality(principal: Principal, municipality: str | None) -> str | None:
    """The municipality a change is made for: the one named (checked against the scope); for a token
    scoped to a single municipality, that one when none is named."""
    if municipality is not None:
        check_municipality(principal, municipality)
        return municipality
    if principal.municipalities is not None:
        if len(principal.municipalities) == 1:
            return principal.municipalities[0]
        raise InvalidInputError(
            f"this token is for {', '.join(principal.municipalities)}: name the municipality (municipality=...)"
        )
    return None


def create_token(
    engine: Engine, role: str, name: str | None = None, municipalities: list[str] | None = None
) -> tuple[str, TokenRecord]:
    """A new token: its secret (shown only once) and its description. ``municipalities`` scopes it to
    those municipalities (each must be one of the stored places' municipalities)."""
    if municipalities is not None:
        municipalities = [m.strip() for m in municipalities]
        if not municipalities or not all(municipalities):
            raise InvalidInputError("--municipality is empty: name a municipality, e.g. --municipality Kungsör")
        known = set(stored_places.municipalities(engine))
        unknown = sorted(set(municipalities) - known)
        if unknown:
            listed = ", ".join(sorted(known)) if known else "none yet: import places first"
            raise InvalidInputError(f"unknown municipality {', '.join(map(repr, unknown))}: the places name {listed}")
    return tokens.create_token(engine, role, name, municipalities)


def list_tokens(engine: Engine, include_revoked: bool = False) -> list[TokenRecord]:
    return tokens.list_tokens(engine, include_revoked)


def revoke_token(engine: Engine, token_id: int) -> TokenRecord:
    return tokens.revoke_token(engine, token_id)


def check_owned(principal: Principal, municipality: str | None, what: str) -> None:
    """Refuse (403) a stored item of another municipality (a resources spec, plan, season link): a
    scoped token reads and writes only its municipalities' items (an item without a municipality
    belongs to a single-town deployment: only area-wide tokens see it)."""
    if not principal.may_see(municipality):
        where = f"belongs to {municipality[:80]!r}" if municipality else "belongs to no municipality"
        raise PermissionDeniedError(
            f"this token is for {', '.join(principal.municipalities or ())}: {what} {where}; "
            "use a token for that municipality or an area-wide one"
        )
