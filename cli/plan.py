"""CLI commands: ``plan`` (one week) and ``season-plan`` (the season's walks paced and placed).

Both plan from files (``--forecast``, ``--resources``) or, with ``--db``, as ``POST /api/v1/plans``
does: from the stored forecast and resources spec and the season ledger, stored as a draft. Either
way at a moment ``--now`` (default: the clock): nothing that starts earlier is placed."""

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
from tryggplan.cli.season import actor
from tryggplan.domain import InvalidInputError
from tryggplan.storage.records import PlanRecordInfo
from tryggplan.timeutil import iso_week_of
from tryggplan.usecases import ingest, plans
from tryggplan.usecases.maintenance import database


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


def _load(forecast: Path | None, resources: Path | None) -> tuple[pd.DataFrame, Resources]:
    if forecast is None or resources is None:
        raise InvalidInputError(
            "give --forecast FILE and --resources FILE, or --db URL to plan from the stored forecast and resources"
        )
    spec = load_resources(resources)
    return read_risk_grid(forecast, spec.tz), spec


def moment(value: str | None) -> dt.datetime:
    """``--now``: an ISO 8601 instant with offset; default the clock."""
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"--now {value!r}: give an ISO 8601 time with offset, e.g. 2026-12-01T21:00+01:00"
        ) from None
    if t.tzinfo is None:
        raise InvalidInputError(f"--now {value!r} has no offset: write it as e.g. 2026-12-01T21:00+01:00")
    return t


def _stored(
    db: str,
    week: str,
    *,
    kind: plans.PlanKind,
    now: dt.datetime,
    municipality: str | None,
    resource_id: int | None,
    forecast_run: int | None,
    walks: int | None,
    time_limit: float,
    files: tuple[Path | None, ...],
    solver: str = "highs",
    marginal: bool = True,
) -> PlanRecordInfo:
    """The plan made and stored as ``POST /api/v1/plans`` makes it."""
    if any(f is not None for f in files):
        raise InvalidInputError(
            "--db plans from the stored forecast and resources (and the season ledger): leave out "
            "--forecast/--resources/--history, or leave out --db to plan from files"
        )
    engine = database(db)
    try:
        return plans.plan_from_store(
            engine,
            week,
            now=now,
            kind=kind,
            resource_id=resource_id,
            forecast_run_id=forecast_run,
            municipality=municipality,
            walks=walks,
            actor=actor(),
            time_limit=time_limit,
            solver=solver,  # type: ignore[arg-type]
            marginal=marginal,
        )
    finally:
        engine.dispose()


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


def _write(out: Path, plan: Plan, ics: Path | None, csv: Path | None, doc: str) -> None:
    """Render every export first, so a failure leaves no file half-written or out of step."""
    files = [(out, doc.encode("utf-8"))]
    if ics is not None:
        files.append((ics, plan_ics(plan)))
    if csv is not None:
        files.append((csv, plan_csv(plan)))
    for path, data in files:
        atomic_write(path, data)


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
        week: Annotated[str, typer.Option("--week", help="ISO week to plan, e.g. 2026-W49")],
        out: Annotated[Path, typer.Option("--out", help="plan.json to write")],
        forecast: Annotated[Path | None, typer.Option("--forecast", help="risk grid (.csv/.parquet/.json)")] = None,
        resources: Annotated[Path | None, typer.Option("--resources", help="resources spec (.yaml/.json)")] = None,
        db: Annotated[
            str | None,
            typer.Option(
                "--db",
                help="plan from this database's stored forecast, resources and season ledger (as POST "
                "/api/v1/plans), and store the plan there as a draft",
            ),
        ] = None,
        municipality: Annotated[
            str | None, typer.Option("--municipality", help="with --db: the municipality planned for")
        ] = None,
        resource_id: Annotated[
            int | None, typer.Option("--resource-id", help="with --db: the stored resources spec (default: newest)")
        ] = None,
        forecast_run: Annotated[
            int | None, typer.Option("--forecast-run", help="with --db: the stored forecast run (default: newest)")
        ] = None,
        now: Annotated[
            str | None,
            typer.Option("--now", help="the moment the plan is made, ISO 8601 with offset (default: now)"),
        ] = None,
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
        """Optimal plan for one week: night walks and guard hours that prevent the most expected incidents.

        Nothing that starts before --now is placed. With --db the season ledger gives the walks left,
        the walks done, the accepted walks and what the week has spent, and the plan is stored as a
        draft (publish it with `tryggplan season publish ID`)."""
        name = _solver(solver)
        if time_limit <= 0:
            raise InvalidInputError(f"--time-limit must be > 0 seconds, got {time_limit}")
        if cancel and pinned is None:
            raise InvalidInputError("--cancel needs --pinned EARLIER_PLAN.json (the plan the walk is cancelled from)")
        if keep not in ("all", "pinned"):
            raise InvalidInputError(f"--keep {keep!r}: use 'all' or 'pinned'")
        t = moment(now)
        if db is not None:
            if pinned is not None:
                raise InvalidInputError(
                    "--pinned re-plans from files; with --db record the cancelled walk instead "
                    "(POST /api/v1/plans/{id}/walks, status cancelled)"
                )
            record = _stored(
                db, week, kind="week", now=t, municipality=municipality, resource_id=resource_id,
                forecast_run=forecast_run, walks=walks, time_limit=time_limit, files=(forecast, resources, history),
                solver=name, marginal=marginal,
            )  # fmt: skip
            stored_plan = plans.typed_plan(record.plan)
            _write(out, stored_plan, ics, csv, json.dumps(record.plan, indent=2, ensure_ascii=False))
            stdout.print(_summary(stored_plan))
            stdout.print(f"stored as plan {record.id} (draft): publish it with `tryggplan season publish {record.id}`")
            for w in stored_plan.warnings:
                stdout.print(f"  note: {w}")
            return
        if municipality is not None or resource_id is not None or forecast_run is not None:
            raise InvalidInputError("--municipality, --resource-id and --forecast-run go with --db")
        grid, spec = _load(forecast, resources)
        if pinned is not None:
            result = plans.replan_after(
                grid,
                spec,
                _earlier_plan(pinned),
                now=t,
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
                now=t,
                walks=walks,
                history=_history(history, spec.tz),
                solver=name,  # type: ignore[arg-type]
                time_limit=time_limit,
                marginal=marginal,
            )
            assert isinstance(made, Plan)
            result = made
        _write(out, result, ics, csv, result.to_json())
        stdout.print(_summary(result))
        for w in result.warnings:
            stdout.print(f"  note: {w}")

    @app.command("season-plan")
    def season_plan_cmd(
        out: Annotated[Path, typer.Option("--out", help="season.json to write")],
        forecast: Annotated[Path | None, typer.Option("--forecast", help="risk grid (.csv/.parquet/.json)")] = None,
        resources: Annotated[Path | None, typer.Option("--resources", help="resources spec (.yaml/.json)")] = None,
        db: Annotated[
            str | None,
            typer.Option(
                "--db",
                help="place the season from this database's stored forecast, resources and season ledger (as "
                'POST /api/v1/plans {"kind": "season"}), and store it there as a draft',
            ),
        ] = None,
        municipality: Annotated[
            str | None, typer.Option("--municipality", help="with --db: the municipality planned for")
        ] = None,
        now: Annotated[
            str | None,
            typer.Option("--now", help="the moment the plan is made, ISO 8601 with offset (default: now)"),
        ] = None,
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
        """Spread the season's remaining walks over its remaining weeks by forecast risk; with --detail
        (default) place every one on a week, night, association and area."""
        name = _solver(solver)
        t = moment(now)
        if db is not None:
            if not detail:
                raise InvalidInputError("--db stores the season placed walk by walk: leave out --no-detail")
            first = from_week or iso_week_of(pd.Timestamp(t).tz_convert("Europe/Stockholm").date())
            record = _stored(
                db, first, kind="season", now=t, municipality=municipality, resource_id=None, forecast_run=None,
                walks=None, time_limit=time_limit, files=(forecast, resources, history), solver=name,
            )  # fmt: skip
            atomic_write(out, json.dumps(record.plan, indent=2, ensure_ascii=False).encode("utf-8"))
            doc = record.plan
            stdout.print(
                f"season {doc['first_week']}..{doc['last_week']}: {len(doc.get('placed') or [])} walks placed of "
                f"{doc['remaining_walks']} left; stored as plan {record.id} (draft): publish it with "
                f"`tryggplan season publish {record.id}`"
            )
            for w in doc.get("warnings") or []:
                stdout.print(f"  note: {w}")
            return
        if municipality is not None:
            raise InvalidInputError("--municipality goes with --db")
        grid, spec = _load(forecast, resources)
        if from_week is None and grid.empty:
            raise InvalidInputError(
                f"{forecast.name if forecast else 'the forecast'}: it has no rows: give --from-week"
            )
        first_week = from_week or plans.first_week_of(grid)
        sp = plans.pace_season(
            grid,
            spec,
            first_week,
            now=t,
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
            + f"; {len(sp.weekly)} weekly plans solved; {len(sp.placed)} walks placed"
        )
        for w in sp.warnings:
            stdout.print(f"  note: {w}")
