"""What a caller may read and write: the one place tenancy is decided (docs/tenancy.md).

A :class:`Scope` is made from the caller (a token or a signed-in user alike,
:attr:`tryggplan.usecases.access.Principal.scope`) and handed to every storage read and write that
touches a town's rows. The storage functions apply it in their SQL (:meth:`Scope.condition`,
:meth:`Scope.where`, :meth:`Scope.place_ids`, :meth:`Scope.incidents`) and check rows they load by id
with :meth:`Scope.check_row`, inside the transaction that reads or writes them, so a route cannot forget
a check and a row cannot change town between the check and the write.

The rules:

* a caller scoped to municipalities reads and writes only rows of those municipalities: places by their
  stored ``municipality``; incidents by their place's; forecast runs, specs, plans, ledgers, offers, links,
  imports, notes and jobs by their own ``municipality`` column;
* a row without a municipality belongs to no town: only area-wide callers see it (area-wide forecast runs
  are the exception: they are read through the places in scope);
* a request that names another municipality is refused (403), and a row of another municipality loaded by
  its id is refused (403) without saying which municipality it is;
* a reporter reads back only the incident rows it created (:attr:`Scope.own_rows_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from tryggplan.domain import InvalidInputError, PermissionDeniedError
from tryggplan.storage.models import Incident, Place


@dataclass(frozen=True)
class Scope:
    """The municipalities a caller may read and write (``None``: area-wide), and for a reporter the actor
    whose incident rows it may read back. ``who`` names the caller in refusals ("this token")."""

    municipalities: tuple[str, ...] | None = None
    own_rows_of: str | None = None
    who: str = "this token"

    @property
    def scoped(self) -> bool:
        return self.municipalities is not None

    @property
    def names(self) -> list[str] | None:
        """The municipalities as a list (``None``: area-wide), as the storage filters take them."""
        return list(self.municipalities) if self.municipalities is not None else None

    @property
    def single(self) -> str | None:
        """The one municipality of a caller scoped to exactly one (``None`` otherwise)."""
        return self.municipalities[0] if self.municipalities is not None and len(self.municipalities) == 1 else None

    def _towns(self) -> str:
        return ", ".join(self.municipalities or ())

    # ------------------------------------------------------------------ decisions

    def allows(self, municipality: str | None) -> bool:
        """Whether a row of ``municipality`` may be read and written (a row of no municipality belongs to
        no town: area-wide callers only)."""
        return self.municipalities is None or (municipality is not None and municipality in self.municipalities)

    def reads_incident(self, municipality: str | None, created_by: str | None) -> bool:
        """Whether a stored incident (its place's municipality, who stored it) may be read."""
        return self.allows(municipality) and (self.own_rows_of is None or created_by == self.own_rows_of)

    def check(self, municipality: str | None) -> None:
        """Refuse (403) a request that names ``municipality`` outside the scope (``None``: names none)."""
        if municipality is not None and not self.allows(municipality):
            raise PermissionDeniedError(
                f"{self.who} is for {self._towns()}: it may not read or change {municipality[:80]!r}; "
                "use a token for that municipality or an area-wide one"
            )

    def check_row(self, municipality: str | None, what: str) -> None:
        """Refuse (403) a stored row (``what``: "plan 12", "place 'torget'") of another municipality or of
        none, without saying which municipality it belongs to."""
        if not self.allows(municipality):
            raise PermissionDeniedError(
                f"{self.who} is for {self._towns()}: {what} is not theirs; "
                "use a token for that municipality or an area-wide one"
            )

    def check_move(self, place_id: str, municipality: str | None) -> None:
        """Refuse (403) moving a place (of the scope) to ``municipality`` outside the scope, or to none."""
        self.check(municipality)
        if municipality is None and self.municipalities is not None:
            raise PermissionDeniedError(
                f"{self.who} is for {self._towns()}: place {place_id[:80]!r} must stay in one of them; "
                "name its municipality"
            )

    def narrowed(self, municipalities: str | Sequence[str] | None) -> Scope:
        """The scope of a read that names ``municipalities`` (each checked, 403 outside the scope), or this
        scope when it names none."""
        if municipalities is None:
            return self
        wanted = [municipalities] if isinstance(municipalities, str) else list(municipalities)
        if not wanted:
            return self
        for name in wanted:
            self.check(name)
        return Scope(tuple(dict.fromkeys(wanted)), self.own_rows_of, self.who)

    def own(self, municipality: str | None) -> str | None:
        """The municipality a change (or a read of one town's season, plan or report) is for: the one
        named (checked); for a caller scoped to exactly one, that one when none is named; ``None`` for an
        area-wide caller naming none. A caller scoped to several must name one (422)."""
        if municipality is not None:
            self.check(municipality)
            return municipality
        if self.municipalities is not None:
            if len(self.municipalities) == 1:
                return self.municipalities[0]
            raise InvalidInputError(f"{self.who} is for {self._towns()}: name the municipality (municipality=...)")
        return None

    def covers(self, municipalities: Iterable[str | None]) -> bool:
        """Whether every one of ``municipalities`` is within the scope (e.g. a token's, for a scoped admin)."""
        return all(self.allows(m) for m in municipalities)

    # ------------------------------------------------------------------ SQL

    def condition(self, column: Any) -> Any:
        """The condition "``column`` is one of the scope's municipalities" (``None`` when area-wide)."""
        if self.municipalities is None:
            return None
        return column.in_(list(self.municipalities))

    def where(self, stmt: Select[Any], column: Any) -> Select[Any]:
        """``stmt`` limited to rows whose ``column`` is in the scope (unchanged when area-wide)."""
        cond = self.condition(column)
        return stmt if cond is None else stmt.where(cond)

    def place_ids(self) -> Select[Any]:
        """A subquery of the ids of the places in the scope (every place when area-wide)."""
        return self.where(select(Place.place_id), Place.municipality)

    def incidents(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` over ``incidents`` limited to the rows the scope may read: of its places, and for a
        reporter only its own."""
        if self.municipalities is not None:
            stmt = stmt.where(Incident.place_id.in_(self.place_ids()))
        if self.own_rows_of is not None:
            stmt = stmt.where(Incident.created_by == self.own_rows_of)
        return stmt


#: The scope of an operator (the CLI on the database, background jobs): every row.
AREA_WIDE = Scope()


__all__ = ["AREA_WIDE", "Scope"]
