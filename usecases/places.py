"""Places one at a time: list, read, create, change, delete (a place incidents refer to stays).

Ids and names are identifying text (:mod:`tryggplan.text`): normalised (NFC, plain spaces, trimmed)
before they are stored or looked up, and refused (422 naming the character) when they hold a control,
zero-width or bidirectional-override character, exactly as the file readers treat them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine

from tryggplan.counts import DEFAULT_CATEGORY_GROUPS, category_group
from tryggplan.domain import InvalidInputError
from tryggplan.storage import areas
from tryggplan.storage import incidents as stored_incidents
from tryggplan.storage import places as stored
from tryggplan.storage.records import PlaceRecord
from tryggplan.storage.scope import AREA_WIDE, Scope
from tryggplan.text import normalize_text

#: The text fields of a place (``lat``/``lon`` are numbers).
TEXT_FIELDS: tuple[str, ...] = ("name", "municipality", "kind", "area")


def place_id_of(place_id: str) -> str:
    """``place_id`` as identifying text (what it is stored and looked up as)."""
    cleaned = normalize_text(place_id, "place_id")
    if not cleaned:
        raise InvalidInputError("place_id is empty: give the place an id")
    return cleaned


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``fields`` with every text field normalised (an empty one becomes ``None``);
    :class:`InvalidInputError` naming the field and the character for a control or invisible one."""
    out = dict(fields)
    if "place_id" in out:
        out["place_id"] = place_id_of(str(out["place_id"]))
    for name in TEXT_FIELDS:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = normalize_text(value, name) or None
    return out


def list_places(
    engine: Engine, municipality: str | list[str] | None = None, scope: Scope = AREA_WIDE
) -> list[PlaceRecord]:
    """The places of ``scope`` (of ``municipality``, each checked against the scope, when named)."""
    return stored.list_places(engine, municipality=scope.narrowed(municipality).names, scope=scope)


def get_place(engine: Engine, place_id: str, scope: Scope = AREA_WIDE) -> PlaceRecord:
    return stored.get_place(engine, place_id_of(place_id), scope)


def create_place(engine: Engine, place_id: str, fields: dict[str, Any], scope: Scope = AREA_WIDE) -> PlaceRecord:
    """A new place in a municipality of ``scope`` (a caller scoped to one town need not name it)."""
    return stored.create_place(engine, place_id_of(place_id), clean_fields(fields), scope)


def update_place(engine: Engine, place_id: str, changes: dict[str, Any], scope: Scope = AREA_WIDE) -> PlaceRecord:
    """Change a place of ``scope``; never into another town's (403)."""
    return stored.update_place(engine, place_id_of(place_id), clean_fields(changes), scope)


def delete_place(engine: Engine, place_id: str, scope: Scope = AREA_WIDE) -> None:
    stored.delete_place(engine, place_id_of(place_id), scope)


def places_with_areas(engine: Engine, municipality: str | list[str] | None = None) -> pd.DataFrame:
    """The stored places with a ``police_area`` column (the municipality's, or its own name)."""
    places = stored_incidents.read_places(engine, municipality=municipality)
    settings = {m.name: m.police_area for m in areas.list_municipalities(engine)}
    town = places["municipality"].fillna("")
    places["police_area"] = [settings.get(m) or m for m in town]
    return places


def category_selection(engine: Engine, group: str, places: pd.DataFrame) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each municipality's categories of ``group`` (its own groups, else the defaults) and the
    place -> municipality map the counts need."""
    town_of = {str(p): str(m or "") for p, m in zip(places["place_id"], places["municipality"], strict=True)}
    settings = {m.name: m.category_groups for m in areas.list_municipalities(engine)}
    return {
        town: list(category_group(group, settings.get(town) or DEFAULT_CATEGORY_GROUPS))
        for town in sorted(set(town_of.values()))
    }, town_of
