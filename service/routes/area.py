"""The police area: municipalities as data (any role reads; admin/coordinator set a municipality's police
area and category groups) and the area view, the municipalities side by side."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query

from tryggplan.domain import MAX_NAME_CHARS
from tryggplan.service.deps import EngineDep, SettingsDep, require
from tryggplan.service.schemas import AreaOut, ErrorOut, MunicipalityIn, MunicipalityOut
from tryggplan.usecases import access, area
from tryggplan.usecases.access import PLAN, READ, Principal

router = APIRouter(tags=["area"])

Reader = Annotated[Principal, Depends(require(READ, "read the area"))]
Coordinator = Annotated[Principal, Depends(require(PLAN, "set a municipality's police area and groups"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


@router.get("/municipalities", response_model=list[MunicipalityOut], responses=_ERRORS)
def list_municipalities(principal: Reader, engine: EngineDep) -> list[MunicipalityOut]:
    """The municipalities the places name, with their police area and category groups (a scoped token
    sees only its own)."""
    names = access.municipality_filter(principal, None)
    return [MunicipalityOut(**asdict(m)) for m in area.list_municipalities(engine, names)]


@router.put("/municipalities/{name}", response_model=MunicipalityOut, responses=_ERRORS)
def set_municipality(name: str, body: MunicipalityIn, principal: Coordinator, engine: EngineDep) -> MunicipalityOut:
    """Set a municipality's police area and category groups (``null`` groups: the defaults)."""
    access.check_municipality(principal, name)
    found = area.set_municipality(engine, name, police_area=body.police_area, category_groups=body.category_groups)
    return MunicipalityOut(**asdict(found))


@router.get("/area", response_model=AreaOut, responses=_ERRORS)
def area_view(
    principal: Reader,
    engine: EngineDep,
    settings: SettingsDep,
    police_area: Annotated[str | None, Query(max_length=MAX_NAME_CHARS)] = None,
    days: Annotated[int, Query(ge=1, le=92)] = 14,
) -> AreaOut:
    """The municipalities side by side: the last 14 days, the year to date, the next 14 days' expected
    incidents and high-risk windows (absolute counts and each town's own level) and this week's plan."""
    today = pd.Timestamp.now(tz=settings.tz).date()
    view = area.area_view(
        engine,
        today=today,
        tz=settings.tz,
        municipalities=access.municipality_filter(principal, None),
        police_area=police_area,
        days=days,
    )
    return AreaOut(**view)
