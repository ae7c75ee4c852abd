"""Liveness: ``GET /healthz`` (no token) answers 200 when the database answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tryggplan import __version__
from tryggplan.service.deps import EngineDep
from tryggplan.service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"description": "database unreachable"}})
def healthz(engine: EngineDep) -> Health | JSONResponse:
    """200 with ``{"status": "ok"}`` when the service and its database answer."""
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except SQLAlchemyError:
        return JSONResponse(status_code=503, content={"detail": "database unreachable", "problems": []})
    return Health(database=engine.dialect.name, version=__version__)
