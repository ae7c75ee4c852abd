"""Signing in: server-side sessions and the limit on failed sign-ins (``/logga-in``, ``/logga-ut``).

* **Sessions.** Signing in makes a session: a random id (32 bytes, the cookie's value; only its
  SHA-256 is stored) and a per-session CSRF secret (the pages send it back with every change). A session
  ends at the first of: its absolute lifetime (:attr:`SessionPolicy.absolute`), an idle time without a
  request (:attr:`SessionPolicy.idle`), signing out, the user disabled, the user's password changed.
* **Failed sign-ins** are stored (username casefolded, client address, when), so every HTTP process
  counts the same ones. After :attr:`RateLimit.per_user` failures for one username, or
  :attr:`RateLimit.per_address` from one address, within :attr:`RateLimit.window`, further attempts are
  refused (:class:`TooManyAttemptsError`, 429 with ``Retry-After``) without checking the password, and
  are not counted: the refusal ends when the oldest failure leaves the window, so nobody can keep a real
  user out for longer than the window after the last counted failure. A successful sign-in forgets the
  user's failures.
* Whether a username exists is never told: an unknown or disabled user and a wrong password are one
  refusal (:class:`SignInRefusedError`), and an unknown username costs the same password check.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine

from tryggplan.domain import TryggplanError
from tryggplan.storage import users as stored
from tryggplan.storage.models import utcnow
from tryggplan.storage.secrets import app_secret
from tryggplan.storage.users import UserRecord
from tryggplan.usecases.access import Principal
from tryggplan.usecases.users import dummy_verify, hash_password, needs_rehash, user_principal, verify_password

#: a session's last use is written at most this often [s] (a write per request would serialise reads)
TOUCH_SECONDS = 60


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts: ``absolute`` from signing in, ``idle`` without a request."""

    absolute: dt.timedelta = dt.timedelta(hours=12)
    idle: dt.timedelta = dt.timedelta(hours=2)


@dataclass(frozen=True)
class RateLimit:
    """Failed sign-ins allowed within ``window``: per username and per client address."""

    window: dt.timedelta = dt.timedelta(minutes=15)
    per_user: int = 5
    per_address: int = 20


class SignInRefusedError(TryggplanError):
    """Wrong username or password (or a disabled user): one refusal that tells nothing more."""


class TooManyAttemptsError(TryggplanError):
    """Too many failed sign-ins within the window; ``retry_after`` [s] until the next one is checked."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins: try again in {retry_after} s")


@dataclass(frozen=True)
class SignedIn:
    """A session just opened: ``session_id`` goes in the cookie (shown only now), ``csrf_token`` in the pages."""

    session_id: str
    csrf_token: str
    user: UserRecord
    expires_at: dt.datetime


@dataclass(frozen=True)
class ActiveSession:
    """A valid session as a request finds it."""

    principal: Principal
    user: UserRecord
    csrf_token: str
    expires_at: dt.datetime


def _retry_after(failures: stored.Failures, limit: RateLimit, now: dt.datetime) -> int:
    oldest = failures.oldest or now
    return max(1, math.ceil((oldest + limit.window - now).total_seconds()))


def check_rate(engine: Engine, username: str, address: str, now: dt.datetime, limit: RateLimit) -> None:
    """Refuse (:class:`TooManyAttemptsError`) while ``username`` or ``address`` has used up its failures."""
    since = now - limit.window
    waits = []
    by_user = stored.failures_since(engine, since, username=username)
    if by_user.count >= limit.per_user:
        waits.append(_retry_after(by_user, limit, now))
    by_address = stored.failures_since(engine, since, address=address)
    if by_address.count >= limit.per_address:
        waits.append(_retry_after(by_address, limit, now))
    if waits:
        raise TooManyAttemptsError(max(waits))


def sign_in(
    engine: Engine,
    username: str,
    password: str,
    address: str,
    *,
    now: dt.datetime | None = None,
    policy: SessionPolicy = SessionPolicy(),  # noqa: B008 - frozen
    limit: RateLimit = RateLimit(),  # noqa: B008 - frozen
) -> SignedIn:
    """Check the password of ``username`` (any case) and open a session; refused with
    :class:`TooManyAttemptsError` or :class:`SignInRefusedError` (see the module doc)."""
    now = now or utcnow()
    username = username.strip()[:200]
    check_rate(engine, username, address, now, limit)
    found = stored.find_user(engine, username) if username else None
    if found is None:
        dummy_verify(password)
        ok = False
    else:
        hashed = stored.password_hash_of(engine, found.id)
        ok = verify_password(hashed, password) and not found.disabled
        if ok and needs_rehash(hashed):
            stored.rehash_password(engine, found.id, hashed, hash_password(password))
    if not ok or found is None:
        stored.add_failure(engine, username, address, now, limit.window)
        raise SignInRefusedError("wrong username or password")
    stored.clear_failures(engine, username)
    stored.purge_sessions(engine, now - dt.timedelta(days=1))  # ended or expired a day ago: never valid again
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + policy.absolute
    stored.add_session(engine, found.id, session_id, csrf, now, expires)
    return SignedIn(session_id, csrf, found, expires)


def active_session(
    engine: Engine,
    session_id: str | None,
    *,
    now: dt.datetime | None = None,
    policy: SessionPolicy = SessionPolicy(),  # noqa: B008 - frozen
) -> ActiveSession | None:
    """The session behind a cookie value, or ``None`` when it is unknown, ended, expired, idle too long,
    or its user is disabled or has a newer password. Its last use is recorded (to the minute)."""
    if not session_id or len(session_id) > 200:
        return None
    now = now or utcnow()
    found = stored.find_session(engine, session_id)
    if found is None or found.ended_at is not None or found.user.disabled:
        return None
    if now >= found.expires_at or now - found.last_seen_at >= policy.idle:
        return None
    if found.user.password_changed_at > found.created_at:
        return None
    if (now - found.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        stored.touch_session(engine, found.id, now)
    return ActiveSession(user_principal(found.user), found.user, found.csrf_secret, found.expires_at)


def check_csrf(session: ActiveSession, token: str | None) -> bool:
    """Whether ``token`` (sent back by a page) is the session's CSRF token (constant-time compare)."""
    return bool(token) and hmac.compare_digest(session.csrf_token.encode(), str(token).encode())


def sign_out(engine: Engine, session_id: str | None, now: dt.datetime | None = None) -> bool:
    """End the session behind a cookie value; whether there was one to end."""
    if not session_id or len(session_id) > 200:
        return False
    return stored.end_session(engine, session_id, now or utcnow())


# --------------------------------------------------------------------------- form tokens of pages without a session

_FORM_KEY = "page-forms"


def form_token(engine: Engine, *parts: str) -> str:
    """A token a page puts in its form and checks when the form comes back (a signed double submit: the
    sign-in form signs a random value kept in a cookie; an association's page its link): a form posted
    from another site cannot carry it."""
    message = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(app_secret(engine, _FORM_KEY), message, "sha256").hexdigest()


def check_form_token(engine: Engine, token: str | None, *parts: str) -> bool:
    return bool(token) and hmac.compare_digest(form_token(engine, *parts).encode(), str(token).encode())
