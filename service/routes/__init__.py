"""Routers. ``api_router`` is mounted under ``/api/v1``; the incidents router comes first so the
incident listing is the first incident route of the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from tryggplan.service.routes import (
    area,
    associations,
    backtests,
    dashboard,
    docs,
    forecasts,
    forening,
    health,
    incidents,
    jobs,
    places,
    plans,
    reports,
    season,
    session,
    signin,
    tokens,
    users,
)

api_router = APIRouter()
for module in (
    incidents,
    places,
    forecasts,
    plans,
    season,
    associations,
    backtests,
    tokens,
    jobs,
    area,
    reports,
    session,
    users,
):
    api_router.include_router(module.router)

health_router = health.router
dashboard_router = dashboard.router
signin_router = signin.router
forening_router = forening.router
docs_router = docs.router

__all__ = ["api_router", "dashboard_router", "docs_router", "forening_router", "health_router", "signin_router"]
