"""The dashboard page at ``/``, the area at ``/omrade``, the reporters' form at ``/rapportera`` and their
static files (shipped in the package, Leaflet vendored under ``static/vendor/``; no CDN, no build step),
plus ``/ui/config.json``: the map tiles' settings the pages read (nothing secret, so no token).

The pages (templates ``index.html``, ``omrade.html``, ``rapportera.html``) work for a signed-in user (their
script uses the session: the CSRF token is in the page's ``<meta name="csrf-token">``, who is signed in
and "Logga ut" in its header) or, for a wall screen, with a key (a token: ``?token=...`` once, or the
"Nyckel" field of ``/?nyckel``; the script keeps it in the browser and marks that with the
:data:`KEY_COOKIE` cookie, so the page opens without signing in). Anybody else is sent to ``/logga-in``;
a signed-in reporter asking for ``/`` is sent to ``/rapportera``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from tryggplan.service.deps import signed_in
from tryggplan.service.pages import render_page

STATIC = Path(__file__).resolve().parent.parent / "static"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
_PAGE_HEADERS = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


#: set by the pages' script while a key (token) is kept in this browser (a wall screen): only says to serve
#: the page instead of sending it to /logga-in; the key itself never leaves the browser's storage
KEY_COOKIE = "tryggplan_key"


def _page(request: Request, name: str) -> Response:
    """The page for a signed-in user or a key holder; anybody else is sent to ``/logga-in``."""
    session = signed_in(request)
    path = request.url.path
    if session is not None:
        if path == "/" and session.principal.role == "reporter":
            return RedirectResponse("/rapportera", status_code=status.HTTP_303_SEE_OTHER)
        return render_page(request, name, {"auth": "user"})
    params = request.query_params
    if "token" in params or "nyckel" in params or request.cookies.get(KEY_COOKIE):
        return render_page(request, name, {"auth": "token"})
    return RedirectResponse("/logga-in?" + urlencode({"next": path}), status_code=status.HTTP_303_SEE_OTHER)


@router.get("/")
def index(request: Request) -> Response:
    return _page(request, "index.html")


@router.get("/rapportera")
def report_form(request: Request) -> Response:
    """The phone-first form where a trained reporter logs an incident."""
    return _page(request, "rapportera.html")


@router.get("/omrade")
def area_page(request: Request) -> Response:
    """The police area's municipalities side by side."""
    return _page(request, "omrade.html")


@router.get("/ui/config.json")
def ui_config(request: Request) -> JSONResponse:
    """Map tiles (``TRYGGPLAN_TILE_URL``, attribution, maximum zoom) and the local time zone."""
    settings = request.app.state.settings
    return JSONResponse(
        {
            "tile_url": settings.tile_url,
            "tile_attribution": settings.tile_attribution,
            "tile_max_zoom": settings.tile_max_zoom,
            "tz": settings.tz,
        },
        headers=_PAGE_HEADERS,
    )


def _not_found() -> Response:
    return Response('{"detail":"not found","problems":[]}', status_code=404, media_type="application/json")


@router.get("/static/{name:path}")
def static_file(name: str) -> Response:
    """A file under ``static/`` (sub-folders allowed, e.g. ``vendor/leaflet/leaflet.js``); nothing outside
    it, no hidden files, only the types the pages load."""
    parts = name.split("/")
    if any(not p or p.startswith(".") or "\\" in p for p in parts):
        return _not_found()
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or path.suffix not in _TYPES or not path.is_file():
        return _not_found()
    # vendored files never change within a release; the project's own are revalidated
    cache = "public, max-age=86400" if parts[0] == "vendor" else "no-cache"
    return FileResponse(path, media_type=_TYPES[path.suffix], headers={"Cache-Control": cache})
