"""CLI commands: ``plan`` (one week) and ``season-plan`` (pace the season's walks)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from tryggplan.allocation.export import atomic_write, plan_csv, plan_ics
from tryggplan.allocation.grid import read_risk_grid
from tryggplan.allocation.plan import Plan
from tryggplan.allocation.spec import Resources, load_resources
from tryggplan.cli.common import stdout
from tryggplan.domain import InvalidInputError
from tryggplan.usecases import ingest, plans


def _solver(name: str) -> str:
    try:
        return plans.check_solver(name)
    except InvalidInputError:
        raise InvalidInputError(f"--solver {name!r} is not known: use 'highs' (default) or 'cbc'") from None


def _cancel(values: list[str]) -> list[tuple[str, dt.date]]:
    out = []
    for v in values:
        name, sep, day = v.rpartition("@")
        try:
            if not sep or not name:
                raise ValueError
            out.append((name.strip(), dt.date.fromisoformat(day.strip())))
        except ValueError as exc:
            raise InvalidInputError(f"--cancel {v!r}: write ASSOCIATION@NIGHT, e.g. 'Lions@2026-03-27'") from exc
    return out


def _history(path: Path | None, tz: str) -> pd.DataFrame | None:
    if path is None:
        return None
    if not path.is_file():
        raise InvalidInputError(f"history file {str(path)!r} not found: check the path")
    return ingest.read_file(path, tz=tz)[0]


def _load(forecast: Path, resources: Path) -> tuple[pd.DataFrame, Resources]:
    spec = load_resources(resources)
    return read_risk_grid(forecast, spec.tz), spec


def _earlier_plan(path: Path) -> dict[str, object]:
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInputError(f"--pinned file {str(path)!r} not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--pinned {path.name}: not a plan.json ({exc})") from exc
    if not isinstance(previous, dict):
        raise InvalidInputError(f"--pinned {path.name}: not a plan.json (expected an object)")
    return previous


def _summary(plan: Plan) -> str:
    base = ", ".join(
        f"x{plan.objective / b.objective:.2f} vs {k}" if b.objective > 0 else f"{k} 0"
        for k, b in plan.baselines.items()
    )
    return (
        f"plan {plan.week}: {plan.status} (gap {plan.solver.gap:.2%}, {plan.solver.seconds:.2f} s), "
        f"{plan.walks} walks + {plan.guard_hours:.0f} guard hours, {plan.cost_sek:.0f} SEK, prevents "
        f"{plan.objective:.3f} expected incidents ({plan.risk_covered_share:.0%} of the week's risk covered"
        + (f"; {base}" if base else "")
        + ")"
    )


def register(app: typer.Typer) -> None:
    """Add ``plan`` and ``season-plan`` to ``app``."""

    @app.command("plan")
    def plan(
        forecast: Annotated[Path, typer.Option("--forecast", help="risk grid (.csv/.parquet/.json)")],
        resources: Annotated[Path, typer.Option("--resources", help="resources spec (.yaml/.json)")],
        week: Annotated[str, typer.Option("--week", help="ISO week to plan, e.g. 2026-W49")],
        out: Annotated[Path, typer.Option("--out", help="plan.json to write")],
        ics: Annotated[Path | None, typer.Option("--ics", help="also write an iCalendar file")] = None,
        csv: Annotated[Path | None, typer.Option("--csv", help="also write a CSV for Swedish Excel")] = None,
        solver: Annotated[str, typer.Option("--solver", help="highs (default) or cbc")] = "highs",
        time_limit: Annotated[float, typer.Option("--time-limit", help="solver time limit in seconds")] = 60.0,
        walks: Annotated[
            int | None,
            typer.Option("--walks", help="walks to place this week (default: the week's share of the season quota)"),
        ] = None,
        pinned: Annotated[
            Path | None, typer.Option("--pinned", help="an earlier plan.json whose shifts are kept (re-plan)")
        ] = None,
        cancel: Annotated[
            list[str] | None,
            typer.Option("--cancel", help="with --pinned: a cancelled walk ASSOCIATION@NIGHT (repeatable)"),
        ] = None,
        keep: Annotated[
            str,
            typer.Option("--keep", help="with --pinned: keep 'all' its shifts (default) or only those marked 'pinned'"),
        ] = "all",
        history: Annotated[
            Path | None, typer.Option("--history", help="incidents (any file `import` reads) for the season profile")
        ] = None,
        marginal: Annotated[
            bool, typer.Option("--marginal/--no-marginal", help="re-solve for the value of one more walk / guard hour")
        ] = True,
    ) -> None:
        """Optimal plan for one week: night walks and guard hours that prevent the most expected incidents."""
        name = _solver(solver)
        if time_limit <= 0:
            raise InvalidInputError(f"--time-limit must be > 0 seconds, got {time_limit}")
        if cancel and pinned is None:
            raise InvalidInputError("--cancel needs --pinned EARLIER_PLAN.json (the plan the walk is cancelled from)")
        if keep not in ("all", "pinned"):
            raise InvalidInputError(f"--keep {keep!r}: use 'all' or 'pinned'")
        grid, spec = _load(forecast, resources)
        if pinned is not None:
            result = plans.replan_after(
                grid,
                spec,
                _earlier_plan(pinned),
                week=week,
                cancel=_cancel(cancel or []),
                keep="all" if keep == "all" else "pinned",
                walks=walks,
                solver=name,  # type: ignore[arg-type]
                time_limit=time_limit,
                marginal=marginal,
            )
        else:
            made = plans.make_plan(
                grid,
                spec,
                week,
                walks=walks,
                history=_history(history, spec.tz),
                solver=name,  # type: ignore[arg-type]
                time_limit=time_limit,
                marginal=marginal,
            )
            assert isinstance(made, Plan)
            result = made
        # render every export first, so a failure leaves no file half-written or out of step
        files = [(out, result.to_json().encode("utf-8"))]
        if ics is not None:
            files.append((ics, plan_ics(result)))
        if csv is not None:
            files.append((csv, plan_csv(result)))
        for path, data in files:
            atomic_write(path, data)
        stdout.print(_summary(result))
        for w in result.warnings:
            stdout.print(f"  note: {w}")

    @app.command("season-plan")
    def season_plan_cmd(
        forecast: Annotated[Path, typer.Option("--forecast", help="risk grid (.csv/.parquet/.json)")],
        resources: Annotated[Path, typer.Option("--resources", help="resources spec (.yaml/.json)")],
        out: Annotated[Path, typer.Option("--out", help="season.json to write")],
        from_week: Annotated[
            str | None,
            typer.Option("--from-week", help="first week to pace (default: the first week the forecast covers)"),
        ] = None,
        history: Annotated[
            Path | None,
            typer.Option("--history", help="incidents (any file `import` reads) for the night profile and uplifts"),
        ] = None,
        solver: Annotated[str, typer.Option("--solver", help="highs (default) or cbc")] = "highs",
        time_limit: Annotated[float, typer.Option("--time-limit", help="solver time limit per week in seconds")] = 60.0,
        detail: Annotated[
            bool,
            typer.Option("--detail/--no-detail", help="also solve the weekly plan of every week the forecast covers"),
        ] = True,
    ) -> None:
        """Spread the season's remaining walks over its remaining weeks by forecast risk."""
        name = _solver(solver)
        grid, spec = _load(forecast, resources)
        if from_week is None and grid.empty:
            raise InvalidInputError(f"{forecast.name}: the forecast has no rows: give --from-week")
        first_week = from_week or plans.first_week_of(grid)
        sp = plans.pace_season(
            grid,
            spec,
            first_week,
            history=_history(history, spec.tz),
            solver=name,  # type: ignore[arg-type]
            time_limit=time_limit,
            detail=detail,
        )
        atomic_write(out, json.dumps(sp.to_dict(), indent=2, ensure_ascii=False).encode("utf-8"))
        busiest = sorted(sp.weeks, key=lambda w: -w.walks)[:3]
        stdout.print(
            f"season {sp.first_week}..{sp.last_week}: {sp.planned_walks} of {sp.remaining_walks} walks "
            f"paced over {len(sp.weeks)} weeks; most walks in "
            + ", ".join(f"{w.week} ({w.walks})" for w in busiest)
            + f"; {len(sp.weekly)} weekly plans solved"
        )
        for w in sp.warnings:
            stdout.print(f"  note: {w}")
