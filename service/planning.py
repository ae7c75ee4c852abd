"""The service's bridge to the ``allocation`` library: validate a resources spec, make a weekly
plan from a stored risk grid, re-plan after a cancelled walk, export ICS and CSV."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tryggplan.domain import TryggplanError


def validate_resources(spec: dict[str, Any], name: str = "resources") -> dict[str, Any]:
    """The spec as ``allocation.parse_resources`` normalises it; 422 (InvalidInputError) if invalid."""
    from allocation import parse_resources

    return parse_resources(spec, source=name).to_dict()


def make_plan(
    grid: pd.DataFrame, spec: dict[str, Any], week: str, tz: str, kind: str = "week"
) -> dict[str, Any]:
    raise TryggplanError("planning is not wired yet")


def replan(
    grid: pd.DataFrame, spec: dict[str, Any], plan: dict[str, Any], cancelled: list[int], tz: str
) -> dict[str, Any]:
    raise TryggplanError("planning is not wired yet")


def plan_ics(plan: dict[str, Any]) -> str:
    raise TryggplanError("planning is not wired yet")


def plan_csv(plan: dict[str, Any]) -> str:
    raise TryggplanError("planning is not wired yet")
