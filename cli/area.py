"""CLI commands: ``tryggplan area show|set`` — the police area's municipalities side by side, and a
municipality's police area and category groups."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Annotated

import pandas as pd
import typer

from tryggplan.cli.common import DbOption, command_group, stdout
from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.usecases import area
from tryggplan.usecases.maintenance import database


def _group(value: str) -> tuple[str, list[str]]:
    name, sep, members = value.partition("=")
    if not sep or not name.strip() or not members.strip():
        raise InvalidInputError(
            f"--group {value!r}: write NAME=CATEGORY,CATEGORY, e.g. nattvandring=disorder,vandalism"
        )
    return name.strip(), [m.strip() for m in members.split(",") if m.strip()]


def _moment(value: str | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"--now {value!r} is not a time: write ISO 8601 with the offset") from exc
    if moment.tzinfo is None:
        raise InvalidInputError(f"--now {value!r} has no offset: write e.g. 2026-12-07T18:00:00+01:00")
    return moment


def register(app: typer.Typer) -> None:
    """Add the ``area`` command group to ``app``."""
    area_app = command_group("The police area: municipalities side by side, police areas, category groups.")
    app.add_typer(area_app, name="area")

    @area_app.command("show")
    def show(
        db: DbOption = None,
        police_area: Annotated[str | None, typer.Option("--police-area", help="only this police area")] = None,
        tz: Annotated[str, typer.Option("--tz", help="local time zone")] = DEFAULT_TZ,
        as_json: Annotated[bool, typer.Option("--json", help="print the area view as JSON")] = False,
    ) -> None:
        """The municipalities side by side: the last 14 days, the year to date, the next 14 days, this
        week's plan."""
        engine = database(db)
        try:
            view = area.area_view(engine, today=pd.Timestamp.now(tz=tz).date(), tz=tz, police_area=police_area)
        finally:
            engine.dispose()
        if as_json:
            stdout.print_json(json.dumps(view, default=str, ensure_ascii=False))
            return
        for town in view["municipalities"]:
            last, ytd, ahead = town["last_days"], town["ytd"], town["ahead"]
            expected = f"{ahead['expected']:.1f} expected, {ahead['high_hours']} high hours" if ahead else "no forecast"
            stdout.print(
                f"{town['municipality']} ({town['police_area'] or 'own area'}): last 14 days {last['count']} "
                f"(before {last['previous']}), year to date {ytd['count']} (last year {ytd['last_year']}); "
                f"next 14 days {expected}"
            )

    @area_app.command("plan")
    def plan(
        week: Annotated[str, typer.Option("--week", help="ISO week to plan, e.g. 2026-W50")],
        db: DbOption = None,
        police_area: Annotated[str | None, typer.Option("--police-area", help="only this police area")] = None,
        kind: Annotated[str, typer.Option("--kind", help="week, or season (every remaining walk placed)")] = "week",
        engine: Annotated[
            str, typer.Option("--engine", help="local (one after the other) or dask (in parallel)")
        ] = "local",
        scheduler: Annotated[
            str | None, typer.Option("--scheduler", help="Dask scheduler address (default: a local cluster)")
        ] = None,
        workers: Annotated[int | None, typer.Option("--workers", min=1, help="local Dask workers")] = None,
        now: Annotated[
            str | None, typer.Option("--now", help="the moment the plans are made (ISO 8601; default: now)")
        ] = None,
        time_limit: Annotated[float, typer.Option("--time-limit", help="solver time limit per town [s]")] = 60.0,
        as_json: Annotated[bool, typer.Option("--json", help="print the outcome per town as JSON")] = False,
    ) -> None:
        """Every municipality's plan for the week in one run, each from its own resources, forecast and
        season ledger (stored as drafts); --engine dask solves them in parallel."""
        if kind not in ("week", "season"):
            raise InvalidInputError(f"--kind {kind!r}: use week or season")
        if engine not in ("local", "dask"):
            raise InvalidInputError(f"--engine {engine!r}: use local or dask")
        if scheduler and engine != "dask":
            raise InvalidInputError("--scheduler needs --engine dask")
        moment = _moment(now)
        database_engine = database(db)
        try:
            towns = area.plan_area(
                database_engine,
                week,
                now=moment,
                kind=kind,  # type: ignore[arg-type]
                police_area=police_area,
                parallel=engine,  # type: ignore[arg-type]
                scheduler=scheduler,
                workers=workers,
                actor="cli",
                time_limit=time_limit,
            )
        finally:
            database_engine.dispose()
        if as_json:
            stdout.print_json(
                json.dumps(
                    [
                        {"municipality": t.municipality, "plan_id": t.plan.id if t.plan else None, "error": t.error}
                        for t in towns
                    ],
                    ensure_ascii=False,
                )
            )
            return
        for town in towns:
            if town.plan is None:
                stdout.print(f"{town.municipality}: no plan: {town.error}")
                continue
            doc = town.plan.plan
            stdout.print(
                f"{town.municipality}: plan {town.plan.id} ({doc.get('status')}): {doc.get('walks', 0)} walks, "
                f"{doc.get('guard_hours', 0):.0f} guard hours, {doc.get('cost_sek', 0):.0f} SEK"
            )

    @area_app.command("set")
    def set_(
        municipality: Annotated[str, typer.Argument(help="a municipality the places name")],
        police_area: Annotated[str | None, typer.Option("--police-area", help="its local police area")] = None,
        group: Annotated[
            list[str] | None,
            typer.Option("--group", help="a category group NAME=CATEGORY,CATEGORY (repeatable); default groups else"),
        ] = None,
        db: DbOption = None,
    ) -> None:
        """Set a municipality's police area and category groups."""
        groups = dict(_group(g) for g in group) if group else None
        engine = database(db)
        try:
            found = area.set_municipality(engine, municipality, police_area=police_area, category_groups=groups)
        finally:
            engine.dispose()
        stdout.print(json.dumps(asdict(found), ensure_ascii=False))


__all__ = ["register"]
