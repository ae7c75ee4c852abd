"""Places: read (any role), create / update / delete (analyst/admin)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from tryggplan.domain import MAX_NAME_CHARS
from tryggplan.service.deps import EngineDep, require
from tryggplan.service.schemas import ErrorOut, PlaceIn, PlaceOut, PlaceUpdate
from tryggplan.usecases import places
from tryggplan.usecases.access import DATA, PLACES, Principal

router = APIRouter(prefix="/places", tags=["places"])

Reader = Annotated[Principal, Depends(require(PLACES, "read places"))]
Editor = Annotated[Principal, Depends(require(DATA, "edit places"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


@router.get("", response_model=list[PlaceOut], responses=_ERRORS)
def list_places(
    principal: Reader,
    engine: EngineDep,
    municipality: Annotated[str | None, Query(max_length=MAX_NAME_CHARS)] = None,
) -> list[PlaceOut]:
    """All places (optionally of one municipality; a scoped token sees only its own), sorted by id."""
    return [PlaceOut(**asdict(p)) for p in places.list_places(engine, municipality, principal.scope)]


@router.get("/{place_id}", response_model=PlaceOut, responses=_ERRORS)
def get_place(place_id: str, principal: Reader, engine: EngineDep) -> PlaceOut:
    return PlaceOut(**asdict(places.get_place(engine, place_id, principal.scope)))


@router.post(
    "",
    response_model=PlaceOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 409: {"model": ErrorOut}},
)
def create_place(body: PlaceIn, principal: Editor, engine: EngineDep) -> PlaceOut:
    """Create a place in one of the caller's municipalities (a token scoped to one town need not name
    it; 403 for another town); 422 if the id exists (use PUT to change it)."""
    fields = places.clean_fields(body.model_dump())
    return PlaceOut(**asdict(places.create_place(engine, fields.pop("place_id"), fields, principal.scope)))


@router.put("/{place_id}", response_model=PlaceOut, responses=_ERRORS)
def update_place(place_id: str, body: PlaceUpdate, principal: Editor, engine: EngineDep) -> PlaceOut:
    """Change the fields given (the id stays); a scoped caller changes only its towns' places and moves
    them only between its towns (403)."""
    changes = places.clean_fields(body.model_dump(exclude_unset=True))
    return PlaceOut(**asdict(places.update_place(engine, place_id, changes, principal.scope)))


@router.delete("/{place_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def delete_place(place_id: str, principal: Editor, engine: EngineDep) -> Response:
    """Delete a place that no incident refers to (422 otherwise)."""
    places.delete_place(engine, place_id, principal.scope)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
