"""The dashboard page at ``/``, the reporters' form at ``/rapportera`` and their static files (shipped in
the package, Leaflet vendored under ``static/vendor/``; no CDN, no build step), plus ``/ui/config.json``:
the map tiles' settings the pages read (nothing secret, so no token)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

STATIC = Path(__file__).resolve().parent.parent / "static"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
_PAGE_HEADERS = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


@router.get("/")
def index() -> FileResponse:
    return _page("index.html")


@router.get("/rapportera")
def report_form() -> FileResponse:
    """The phone-first form where a trained reporter logs an incident."""
    return _page("rapportera.html")


@router.get("/omrade")
def area_page() -> FileResponse:
    """The police area's municipalities side by side."""
    return _page("omrade.html")


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
