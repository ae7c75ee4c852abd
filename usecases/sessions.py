"""Download sessions: a short-lived signed cookie made from a bearer token, so the dashboard's
downloads (ICS, CSV, the report) are plain links.

The dashboard holds a bearer token; a link cannot send it (``<a href>`` sends no
``Authorization`` header) and a token in a URL leaks into history, logs and shared links. So the
dashboard trades the token for a session (``POST /api/v1/session``): an HttpOnly cookie
``<token id>.<expiry>.<HMAC-SHA256>`` signed with a key kept in the database
(:func:`tryggplan.storage.secrets.app_secret`). Checking it (:func:`session_principal`):

* the signature must match (constant-time compare), the expiry must lie ahead;
* the token it names must still exist and not be revoked: revoking a token ends its sessions at once;
* the session carries the token's role and municipalities, nothing more.

Which requests may use it is the front end's rule (only reads of downloadable files; see
``tryggplan.service.deps``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from sqlalchemy import Engine

from tryggplan.domain import InvalidInputError
from tryggplan.storage.secrets import app_secret
from tryggplan.usecases.access import Principal, authenticate_id

#: the cookie's name
SESSION_COOKIE = "tryggplan_session"
#: how long a session lasts unless asked for less [s]: a working day
SESSION_SECONDS = 8 * 3600
_KEY_NAME = "download-session"
_FORMAT = re.compile(r"^(\d{1,18})\.(\d{1,12})\.([0-9a-f]{64})$")


def _now(now: dt.datetime | None) -> dt.datetime:
    stamp = now or dt.datetime.now(dt.UTC)
    if stamp.tzinfo is None:
        raise InvalidInputError("now has no time zone: give it in UTC")
    return stamp


def _mac(key: bytes, token_id: int, expires: int) -> str:
    return hmac.new(key, f"{token_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def open_session(
    engine: Engine, principal: Principal, *, seconds: int = SESSION_SECONDS, now: dt.datetime | None = None
) -> tuple[str, dt.datetime]:
    """A signed session value for ``principal``'s token and when it expires [UTC]."""
    if principal.token_id is None:
        raise InvalidInputError(
            "a signed-in user needs no download session: its sign-in cookie opens the downloads already"
        )
    if not 60 <= seconds <= SESSION_SECONDS:
        raise InvalidInputError(f"a session lasts 60 to {SESSION_SECONDS} seconds, not {seconds}")
    expires = int(_now(now).timestamp()) + seconds
    token_id = principal.token_id
    value = f"{token_id}.{expires}.{_mac(app_secret(engine, _KEY_NAME), token_id, expires)}"
    return value, dt.datetime.fromtimestamp(expires, dt.UTC)


def session_principal(engine: Engine, value: str | None, *, now: dt.datetime | None = None) -> Principal | None:
    """The caller behind a session value, or ``None`` when it is malformed, forged, expired, or its
    token was revoked."""
    if not value:
        return None
    m = _FORMAT.match(value)
    if m is None:
        return None
    token_id, expires, mac = int(m.group(1)), int(m.group(2)), m.group(3)
    if expires <= _now(now).timestamp():
        return None
    if not hmac.compare_digest(mac, _mac(app_secret(engine, _KEY_NAME), token_id, expires)):
        return None
    return authenticate_id(engine, token_id)
