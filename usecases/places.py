"""Places one at a time: list, read, create, change, delete (a place incidents refer to stays)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tryggplan.storage import places as stored
from tryggplan.storage.records import PlaceRecord


def list_places(engine: Engine, municipality: str | None = None) -> list[PlaceRecord]:
    return stored.list_places(engine, municipality=municipality)


def get_place(engine: Engine, place_id: str) -> PlaceRecord:
    return stored.get_place(engine, place_id)


def create_place(engine: Engine, place_id: str, fields: dict[str, Any]) -> PlaceRecord:
    return stored.create_place(engine, place_id, fields)


def update_place(engine: Engine, place_id: str, changes: dict[str, Any]) -> PlaceRecord:
    return stored.update_place(engine, place_id, changes)


def delete_place(engine: Engine, place_id: str) -> None:
    stored.delete_place(engine, place_id)
