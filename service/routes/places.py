"""Places: read (any role), create / update / delete (analyst/admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy import select

from tryggplan.domain import InvalidInputError
from tryggplan.service import crud
from tryggplan.service.deps import SessionDep, require
from tryggplan.service.schemas import ErrorOut, PlaceIn, PlaceOut, PlaceUpdate
from tryggplan.storage.models import Place, utcnow
from tryggplan.storage.tokens import DATA, READ, Principal

router = APIRouter(prefix="/places", tags=["places"])

Reader = Annotated[Principal, Depends(require(READ, "read places"))]
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
    session: SessionDep,
    municipality: Annotated[str | None, Query(max_length=400)] = None,
) -> list[PlaceOut]:
    """All places (optionally of one municipality), sorted by id."""
    stmt = select(Place).order_by(Place.place_id)
    if municipality is not None:
        stmt = stmt.where(Place.municipality == municipality)
    return [PlaceOut(**crud.place_dict(p)) for p in session.scalars(stmt)]


@router.get("/{place_id}", response_model=PlaceOut, responses=_ERRORS)
def get_place(place_id: str, principal: Reader, session: SessionDep) -> PlaceOut:
    return PlaceOut(**crud.place_dict(crud.get_place(session, place_id)))


@router.post(
    "",
    response_model=PlaceOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 409: {"model": ErrorOut}},
)
def create_place(body: PlaceIn, principal: Editor, session: SessionDep) -> PlaceOut:
    """Create a place; 422 if the id exists (use PUT to change it)."""
    if session.get(Place, body.place_id) is not None:
        raise InvalidInputError(
            f"place {body.place_id[:80]!r} exists already: change it with PUT /api/v1/places/{body.place_id[:80]}"
        )
    place = Place(**body.model_dump(), updated_at=utcnow())
    session.add(place)
    session.commit()
    return PlaceOut(**crud.place_dict(place))


@router.put("/{place_id}", response_model=PlaceOut, responses=_ERRORS)
def update_place(place_id: str, body: PlaceUpdate, principal: Editor, session: SessionDep) -> PlaceOut:
    """Change the fields given (the id stays)."""
    place = crud.get_place(session, place_id)
    for key, value in body.model_dump(exclude_unset=True).items():
        setattr(place, key, value)
    place.updated_at = utcnow()
    session.commit()
    return PlaceOut(**crud.place_dict(place))


@router.delete("/{place_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def delete_place(place_id: str, principal: Editor, session: SessionDep) -> Response:
    """Delete a place that no incident refers to (422 otherwise)."""
    crud.delete_place(session, place_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
