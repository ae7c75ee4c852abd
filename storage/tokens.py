"""API tokens in the database.

A token is ``tp_`` + 43 URL-safe characters (32 random bytes). Only its SHA-256 is stored (enough
for random 32-byte secrets; no salt or slow hash needed), and the stored hash is compared with
:func:`hmac.compare_digest`. Who may do what with a token is the use cases' business
(:mod:`tryggplan.usecases.access`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy import Engine, bindparam, or_, select, update
from sqlalchemy.orm import Session

from tryggplan.domain import ROLES, InvalidInputError, NotFoundError, Role
from tryggplan.storage.models import ApiToken, utcnow
from tryggplan.storage.records import TokenRecord

TOKEN_PREFIX = "tp_"
MAX_NAME = 200
#: a token's last use is written at most this often [s]: a write per request would serialise reads
LAST_USE_RESOLUTION = 60


def hash_token(token: str) -> str:
    """Hex SHA-256 of the token text."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidInputError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


_TOKEN_COLUMNS = [
    ApiToken.id,
    ApiToken.token_hash,
    ApiToken.role,
    ApiToken.name,
    ApiToken.prefix,
    ApiToken.created_at,
    ApiToken.revoked,
    ApiToken.municipalities,
    ApiToken.expires_at,
    ApiToken.last_used_at,
]


_BY_HASH = select(*_TOKEN_COLUMNS).where(ApiToken.token_hash == bindparam("digest"))


def _record(row: ApiToken) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        role=check_role(row.role),
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked=row.revoked,
        municipalities=tuple(row.municipalities) if row.municipalities is not None else None,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


def create_token(
    engine: Engine,
    role: str,
    name: str | None = None,
    municipalities: list[str] | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[str, TokenRecord]:
    """Create a token (scoped to ``municipalities``, or area-wide with ``None``; refused after
    ``expires_at`` when given); returns the secret (shown once) and its stored description."""
    role = check_role(role)
    if name is not None and len(name) > MAX_NAME:
        raise InvalidInputError(f"token name is longer than {MAX_NAME} characters: shorten it")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        row = ApiToken(
            token_hash=hash_token(secret),
            prefix=secret[:8],
            role=role,
            name=name,
            created_at=utcnow(),
            revoked=False,
            municipalities=sorted(set(municipalities)) if municipalities is not None else None,
            expires_at=expires_at,
        )
        session.add(row)
        session.flush()
        return secret, _record(row)


def list_tokens(engine: Engine, include_revoked: bool = False) -> list[TokenRecord]:
    with Session(engine) as session:
        stmt = select(ApiToken).order_by(ApiToken.id)
        if not include_revoked:
            stmt = stmt.where(ApiToken.revoked.is_(False))
        return [_record(r) for r in session.scalars(stmt)]


def revoke_token(engine: Engine, token_id: int, allowed: Callable[[TokenRecord], None] | None = None) -> TokenRecord:
    """Revoke by id; :class:`NotFoundError` for an unknown id. ``allowed`` is called with the stored token
    in the revoking transaction and raises to refuse (a scoped admin and another town's token)."""
    with Session(engine) as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFoundError(f"no token with id {token_id}: see `tryggplan token list`")
        if allowed is not None:
            allowed(_record(row))
        if not row.revoked:
            row.revoked = True
            row.revoked_at = utcnow()
        return _record(row)


def lookup_token(engine: Engine, token: str) -> TokenRecord | None:
    """The stored token with this secret (revoked or expired ones too), else ``None``."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    with engine.connect() as conn:  # Core, not the ORM: this runs on every request
        row = conn.execute(_BY_HASH, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return _record(row)  # type: ignore[arg-type]


def find_token(engine: Engine, token: str, now: dt.datetime | None = None) -> TokenRecord | None:
    """The valid token with this secret (not revoked, not expired), else ``None``."""
    now = now or utcnow()
    found = lookup_token(engine, token)
    if found is None or found.revoked or found.expired(now):
        return None
    return found


def use_is_stale(found: TokenRecord, now: dt.datetime) -> bool:
    """Whether the token's recorded last use is older than :data:`LAST_USE_RESOLUTION`."""
    return found.last_used_at is None or (now - found.last_used_at).total_seconds() >= LAST_USE_RESOLUTION


def mark_used(engine: Engine, token_id: int, now: dt.datetime) -> None:
    """Record a use of the token (skipped when another request recorded one within the minute)."""
    stale = now - dt.timedelta(seconds=LAST_USE_RESOLUTION)
    with Session(engine) as session, session.begin():
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < stale))
            .values(last_used_at=now)
        )


def get_token(engine: Engine, token_id: int, now: dt.datetime | None = None) -> TokenRecord | None:
    """The valid token with this id (not revoked, not expired; e.g. named by a signed session), else
    ``None``."""
    with Session(engine) as session:
        row = session.get(ApiToken, token_id)
        found = None if row is None else _record(row)
    if found is None or found.revoked or found.expired(now or utcnow()):
        return None
    return found
