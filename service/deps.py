"""FastAPI dependencies: settings, the database engine, the caller and its role.

The caller is named, in this order, by

* a bearer token (scripts, dashboards): unaffected by everything below;
* the sign-in cookie of a signed-in user (:data:`SIGNIN_COOKIE`, :mod:`tryggplan.usecases.signin`): the
  user is the same :class:`~tryggplan.usecases.access.Principal` a token of its role and municipalities
  would be, on every route. A request that changes something (any method but ``GET``/``HEAD``/``OPTIONS``)
  must carry the session's CSRF token in the :data:`CSRF_HEADER` header (the pages read it from their
  ``<meta name="csrf-token">``), and is refused when the browser says it comes from another site
  (``Sec-Fetch-Site`` other than ``same-origin``/``none``, or an ``Origin`` of another host): 403;
* for reads of downloadable files only (``GET`` of a path ending in ``.csv``, ``.ics`` or ``.html``), the
  signed download-session cookie a token holder's dashboard gets from ``POST /api/v1/session``
  (:mod:`tryggplan.usecases.sessions`), so downloads are plain links and no token is ever put in a URL. It
  never authorises a change, so a forged cross-site request cannot use it (it is ``SameSite=Strict`` too).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from tryggplan.domain import Role
from tryggplan.i18n import Lang, request_lang
from tryggplan.service.settings import Settings
from tryggplan.usecases.access import AuthorizationHeaderError, Principal, authenticate, bearer_secret, refusal
from tryggplan.usecases.sessions import SESSION_COOKIE, session_principal
from tryggplan.usecases.signin import ActiveSession, active_session, check_csrf

#: the sign-in session's cookie (``HttpOnly``, ``SameSite=Lax``, ``Path=/``, ``Secure`` over HTTPS)
SIGNIN_COOKIE = "tryggplan_login"
#: the header a page sends its session's CSRF token in
CSRF_HEADER = "X-CSRF-Token"
#: methods that change nothing: they need no CSRF token
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="a token from `tryggplan token create --role ROLE`")


# dependencies that only read the app's state are ``async``: a sync one costs a worker-thread hop per
# request (measurable at 50 concurrent dashboards)
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


async def get_now(request: Request) -> dt.datetime:
    """The moment of the request (tz-aware UTC): what plans, walk records and offers take as ``now``.
    ``app.state.clock`` (the real clock, or ``Settings.frozen_now``) so tests can pass the moment."""
    return request.app.state.clock()  # type: ignore[no-any-return]


async def get_grid_dir(request: Request) -> Path:
    """Where finished runs' grids are kept in columnar form (the app's ``grid_dir``)."""
    return request.app.state.grid_dir  # type: ignore[no-any-return]


async def get_text_lang(
    request: Request,
    lang: Annotated[
        Lang | None,
        Query(description="language of the answer's texts (warnings): sv or en; default: Accept-Language, else en"),
    ] = None,
) -> Lang:
    """The language of an answer's texts for people (a plan's ``warnings``): ``?lang``, else the
    ``Accept-Language`` header's preference, else English, as for error messages (scripts read the
    English texts; the dashboard asks for its own language on every request)."""
    return request_lang(lang, request.headers.get("accept-language"), default="en")


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
NowDep = Annotated[dt.datetime, Depends(get_now)]
GridDirDep = Annotated[Path, Depends(get_grid_dir)]
TextLangDep = Annotated[Lang, Depends(get_text_lang)]


#: reads a download-session cookie may authorise: files a link opens or saves
DOWNLOAD_PATH = re.compile(r"^/api/v1/.+\.(csv|ics|html)$")


def download_session(request: Request, engine: Engine) -> Principal | None:
    """The caller named by the download-session cookie, for a ``GET`` of a downloadable file only."""
    if request.method != "GET" or not DOWNLOAD_PATH.match(request.url.path):
        return None
    return session_principal(engine, request.cookies.get(SESSION_COOKIE))


def signed_in(request: Request) -> ActiveSession | None:
    """The signed-in session of the request's sign-in cookie (looked up once per request), or ``None``."""
    if hasattr(request.state, "signin"):
        return request.state.signin  # type: ignore[no-any-return]
    value = request.cookies.get(SIGNIN_COOKIE)
    found = None
    if value:
        settings: Settings = request.app.state.settings
        found = active_session(request.app.state.engine, value, policy=settings.session_policy())
    request.state.signin = found
    return found


def cross_site(request: Request) -> str | None:
    """Why the browser says this request comes from another site, or ``None`` when it does not
    (``Sec-Fetch-Site`` and ``Origin`` are set by browsers, not by page scripts; without them the CSRF
    token alone decides)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site not in ("same-origin", "none"):
            return f"the browser says the request comes from another site (Sec-Fetch-Site: {fetch_site[:40]})"
        return None
    # an older browser: its Origin, unless "null" (what a form POST of a page with Referrer-Policy:
    # no-referrer, as every page here has, sends even from the same site; the CSRF token still decides)
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        own = request.headers.get("host", "")
        if urlsplit(origin).netloc.lower() != own.lower():
            return f"the request comes from another origin ({origin[:100]}), not from this site"
    return None


def check_session_change(request: Request, session: ActiveSession, token: str | None) -> None:
    """Refuse (403) a change made with the sign-in cookie that comes from another site or lacks the
    session's CSRF token."""
    why = cross_site(request)
    if why is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"cross-site request refused: {why}")
    if not check_csrf(session, token):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"missing or wrong CSRF token: send the page's token in the {CSRF_HEADER} header "
            "(reload the page if it was open before you signed in again)",
        )


def get_principal(
    request: Request,
    engine: EngineDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, or 401 when the token is missing, unknown, revoked or expired (and no one is signed
    in); 400 for a request with two Authorization headers; 403 for a change made with the sign-in cookie
    without its CSRF token or from another site. The token is read by
    :func:`tryggplan.usecases.access.bearer_secret`, exactly as the response cache reads it
    (``_credentials`` only documents the scheme); without one, the sign-in cookie names the caller, and a
    download of a file may be named by the download-session cookie."""
    try:
        secret = bearer_secret(request.headers.getlist("authorization"))
    except AuthorizationHeaderError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if secret is None:
        user = signed_in(request)
        if user is not None:
            if request.method not in SAFE_METHODS:
                check_session_change(request, user, request.headers.get(CSRF_HEADER))
            return user.principal
        session = download_session(request, engine)
        if session is not None:
            return session
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(create one with `tryggplan token create --role reader`), or sign in at /logga-in",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = authenticate(engine, secret, for_read=request.method in ("GET", "HEAD"))
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, refusal(engine, secret), headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def require(roles: frozenset[Role], what: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only ``roles`` through (403 for others). ``what`` names the action."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role!r} may not {what}: needs {' or '.join(sorted(roles))}",
            )
        return principal

    dependency.roles = roles  # type: ignore[attr-defined]
    return dependency
