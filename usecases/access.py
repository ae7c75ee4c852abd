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

import datetime as dt
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from tryggplan.domain import ROLES, InvalidInputError, PermissionDeniedError, Role
from tryggplan.storage import places as stored_places
from tryggplan.storage import tokens
from tryggplan.storage.models import utcnow
from tryggplan.storage.records import TokenRecord
from tryggplan.storage.scope import AREA_WIDE, Scope
from tryggplan.text import normalize_text

log = logging.getLogger("tryggplan.usecases.access")

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


#: what authenticated a caller: a bearer token (scripts, dashboards) or a signed-in user (people)
PrincipalKind = Literal["token", "user"]


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token or a signed-in user's session; ``municipalities`` ``None`` means
    area-wide. Both are checked alike: a user's role and municipalities work exactly as a token's.

    ``kind`` and ``id`` say who it is (the token's id, or the user's); ``name`` is what people read (the
    token's name, the user's display name); ``username`` is a user's (``None`` for a token)."""

    id: int
    role: Role
    name: str
    municipalities: tuple[str, ...] | None = None
    kind: PrincipalKind = "token"
    username: str | None = None

    @property
    def actor(self) -> str:
        """Who did it, as stored with every change (never a secret): ``token:ID:NAME`` for a token,
        ``user:ID:USERNAME`` for a user (the username, which never changes, not the display name)."""
        if self.kind == "user":
            return f"user:{self.id}:{self.username}"
        return f"token:{self.id}:{self.name}"

    @property
    def who(self) -> str:
        """How a refusal names the caller: "this token" or "this user"."""
        return "this user" if self.kind == "user" else "this token"

    @property
    def token_id(self) -> int | None:
        """The token's id (``None`` for a signed-in user)."""
        return self.id if self.kind == "token" else None

    @property
    def scoped(self) -> bool:
        return self.municipalities is not None

    @property
    def scope(self) -> Scope:
        """What this caller may read and write (:class:`tryggplan.storage.scope.Scope`): its
        municipalities, and for a reporter only the incident rows it created. Every storage read and write
        of a town's rows takes it (docs/tenancy.md)."""
        return Scope(self.municipalities, self.actor if self.role == "reporter" else None, self.who)

    def may_see(self, municipality: str | None) -> bool:
        """Whether this caller may read or write ``municipality``'s data (a place without a
        municipality belongs to no town: only area-wide tokens see it)."""
        return self.scope.allows(municipality)


def check_municipality(principal: Principal, municipality: str | None) -> None:
    """Refuse (403) a request that names a municipality outside the caller's scope."""
    principal.scope.check(municipality)


def check_place(principal: Principal, place_id: str, municipality: str | None) -> None:
    """Refuse (403) a place outside the caller's scope (a place without a municipality is area-wide data),
    without saying whose it is."""
    principal.scope.check_row(municipality, f"place {place_id[:80]!r}")


def municipality_filter(principal: Principal, municipality: str | None) -> list[str] | None:
    """The municipalities a read is limited to: the one asked for (checked against the scope), else the
    token's own, else ``None`` (everything)."""
    return principal.scope.narrowed(municipality).names


def check_role(role: str) -> Role:
    """``role`` if it is one of :data:`tryggplan.domain.ROLES`, else :class:`InvalidInputError`."""
    return tokens.check_role(role)


class AuthorizationHeaderError(InvalidInputError):
    """A request whose credentials cannot be read one way only (the API answers 400)."""


def bearer_secret(values: list[str]) -> str | None:
    """The token of a request's ``Authorization`` header values, read the one way the response cache
    and the routes both use: ``None`` without the header or for another scheme; the value after
    ``Bearer`` with surrounding whitespace removed. Two or more headers are refused
    (:class:`AuthorizationHeaderError`): which one counts would depend on who reads them."""
    if len(values) > 1:
        raise AuthorizationHeaderError(
            f"the request has {len(values)} Authorization headers: send exactly one, 'Authorization: Bearer <token>'"
        )
    if not values:
        return None
    scheme, _, secret = values[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip() or None


# last use is written off the request path: a write per request would queue reads behind imports on SQLite
_last_use = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tryggplan-last-use")
_last_use_pending: set[int] = set()


def _record_use(engine: Engine, token_id: int, now: dt.datetime) -> None:
    try:
        tokens.mark_used(engine, token_id, now)
    except SQLAlchemyError as exc:  # a busy or full database: the next use records it
        log.warning("could not record the last use of token %d: %s", token_id, type(exc).__name__)
    finally:
        _last_use_pending.discard(token_id)


#: How long a token looked up for a read is trusted without looking again [s]: dashboards send many
#: reads a second; a token revoked in this process is forgotten at once, elsewhere within this time
#: (the response cache has always rechecked this often).
READ_RECHECK_SECONDS = 1.0
_seen: dict[str, tuple[float, TokenRecord]] = {}
_seen_lock = threading.Lock()


def authenticate(engine: Engine, secret: str, *, for_read: bool = False) -> Principal | None:
    """The caller behind ``secret``, or ``None`` for an unknown, revoked or expired token (see
    :func:`refusal` for why). With ``for_read`` (a GET), a token looked up less than
    :data:`READ_RECHECK_SECONDS` ago is not looked up again (its expiry is still checked now); changes
    always look. The token's last use is recorded in the background (to the minute)."""
    now = utcnow()
    found = _recently_seen(secret) if for_read else None
    looked = found is None
    if looked:
        found = tokens.find_token(engine, secret, now)
        if found is not None and for_read:
            with _seen_lock:
                if len(_seen) > 10_000:
                    _seen.clear()
                _seen[secret] = (time.monotonic(), found)
    if found is None or found.expired(now):
        return None
    if looked and tokens.use_is_stale(found, now) and found.id not in _last_use_pending:
        _last_use_pending.add(found.id)
        _last_use.submit(_record_use, engine, found.id, now)
    return principal_of(found)


def authenticate_id(engine: Engine, token_id: int) -> Principal | None:
    """The caller behind the token with this id (named by a signed session), or ``None`` when it is
    unknown or revoked."""
    found = tokens.get_token(engine, token_id)
    return None if found is None else principal_of(found)


def principal_of(found: TokenRecord) -> Principal:
    return Principal(
        id=found.id,
        role=check_role(found.role),
        name=found.name or found.role,
        municipalities=found.municipalities,
    )


def _recently_seen(secret: str) -> TokenRecord | None:
    hit = _seen.get(secret)
    if hit is None or time.monotonic() - hit[0] > READ_RECHECK_SECONDS:
        return None
    return hit[1]


def forget_tokens() -> None:
    """Look every token up again on its next read (after a revocation)."""
    with _seen_lock:
        _seen.clear()


def refusal(engine: Engine, secret: str) -> str:
    """Why ``secret`` does not authenticate, as the 401 says it."""
    found = tokens.lookup_token(engine, secret)
    if found is not None and found.expired(utcnow()) and not found.revoked:
        return f"token expired on {found.expires_at:%Y-%m-%d %H:%M} UTC: ask an admin for a new one"
    return "unknown or revoked token: ask an admin for a new one"


_DURATION = re.compile(r"^\s*(\d{1,6})\s*([hdw])\s*$", re.IGNORECASE)
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}
MAX_EXPIRY_DAYS = 3650


def expiry(text: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """The moment a token created ``now`` with ``--expires TEXT`` expires: ``90d`` (days), ``12h``
    (hours) or ``8w`` (weeks), at most ten years; ``None`` without one."""
    if text is None:
        return None
    m = _DURATION.match(text)
    if m is None:
        raise InvalidInputError(f"expires {text[:40]!r} is not a duration: write e.g. 90d (days), 12h or 8w")
    hours = int(m.group(1)) * _UNIT_HOURS[m.group(2).lower()]
    if not 1 <= hours <= MAX_EXPIRY_DAYS * 24:
        raise InvalidInputError(f"expires {text!r}: give between 1 hour and {MAX_EXPIRY_DAYS} days")
    return (now or utcnow()) + dt.timedelta(hours=hours)


def require(principal: Principal, roles: frozenset[Role], what: str) -> Principal:
    """``principal`` when its role is in ``roles``; :class:`PermissionDeniedError` naming ``what`` otherwise."""
    if principal.role not in roles:
        raise PermissionDeniedError(f"role {principal.role!r} may not {what}: needs {' or '.join(sorted(roles))}")
    return principal


def own_municipality(principal: Principal, municipality: str | None) -> str | None:
    """The municipality a change is made for: the one named (checked against the scope); for a token
    scoped to a single municipality, that one when none is named."""
    return principal.scope.own(municipality)


def create_token(
    engine: Engine,
    role: str,
    name: str | None = None,
    municipalities: list[str] | None = None,
    expires: str | None = None,
) -> tuple[str, TokenRecord]:
    """A new token: its secret (shown only once) and its description. ``municipalities`` scopes it to
    those municipalities (each must be one of the stored places' municipalities); ``expires`` (``90d``,
    ``12h``, ``8w``) makes it expire (:func:`expiry`)."""
    check_role(role)
    expires_at = expiry(expires)
    if name is not None:
        name = normalize_text(name, "name") or None
    if municipalities is not None:
        municipalities = [normalize_text(m, "municipality") for m in municipalities]
        if not municipalities or not all(municipalities):
            raise InvalidInputError("--municipality is empty: name a municipality, e.g. --municipality Kungsör")
        known = set(stored_places.municipalities(engine))
        unknown = sorted(set(municipalities) - known)
        if unknown:
            listed = ", ".join(sorted(known)) if known else "none yet: import places first"
            raise InvalidInputError(f"unknown municipality {', '.join(map(repr, unknown))}: the places name {listed}")
    return tokens.create_token(engine, role, name, municipalities, expires_at)


def manages(scope: Scope, municipalities: tuple[str, ...] | list[str] | None) -> bool:
    """Whether an admin of ``scope`` manages a token (or user) of ``municipalities``: an area-wide admin
    every one; an admin scoped to towns only those scoped to some of its towns and to none other (never an
    area-wide one, which reaches every town)."""
    if scope.municipalities is None:
        return True
    return municipalities is not None and len(municipalities) > 0 and scope.covers(municipalities)


def list_tokens(engine: Engine, include_revoked: bool = False, scope: Scope = AREA_WIDE) -> list[TokenRecord]:
    """Tokens (never their secrets); an admin scoped to towns sees only the tokens of its towns
    (:func:`manages`)."""
    return [t for t in tokens.list_tokens(engine, include_revoked) if manages(scope, t.municipalities)]


def revoke_token(engine: Engine, token_id: int, scope: Scope = AREA_WIDE) -> TokenRecord:
    """Revoke a token by id; an admin scoped to towns revokes only its towns' tokens (403 for an
    area-wide token or another town's, checked in the transaction that revokes)."""
    revoked = tokens.revoke_token(
        engine, token_id, allowed=lambda found: _check_managed(scope, found.id, found.municipalities)
    )
    forget_tokens()
    return revoked


def _check_managed(scope: Scope, token_id: int, municipalities: tuple[str, ...] | None) -> None:
    if not manages(scope, municipalities):
        scope.check_row(None, f"token {token_id}")


def check_owned(principal: Principal, municipality: str | None, what: str) -> None:
    """Refuse (403) a stored item of another municipality (a resources spec, plan, season link): a
    scoped token reads and writes only its municipalities' items (an item without a municipality
    belongs to a single-town deployment: only area-wide tokens see it)."""
    principal.scope.check_row(municipality, what)
