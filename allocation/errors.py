"""Errors raised by the allocation library."""

from __future__ import annotations

from tryggplan.domain import InvalidInputError, TryggplanError


class InfeasiblePlanError(InvalidInputError):
    """The resources cannot satisfy every hard constraint of the request.

    ``conflicts`` names the constraints that clash, e.g.
    ``["season quota: 1 walk this week", "must-cover 'Skatepark fri 21:00-23:00'"]``.
    They are found with the solver's help: the model is re-solved with a penalised slack
    on every hard constraint and the constraints whose slack is used are reported.
    """

    def __init__(self, message: str, conflicts: list[str]) -> None:
        super().__init__(message)
        self.conflicts: list[str] = list(conflicts)


class SolverError(TryggplanError):
    """The solver could not run or returned no usable answer (e.g. time-out before any plan)."""
