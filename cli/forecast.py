"""CLI command: ``tryggplan forecast`` — the risk grid and its high-risk windows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tryggplan.cli.common import stderr, stdout
from tryggplan.cli.sources import (
    CategoryGroupOpt,
    ColumnsOpt,
    DbOpt,
    FormatOpt,
    SourceOpt,
    WeightedOpt,
    categories_of,
    incidents_and_places,
)
from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.forecasting.registry import DEFAULT_MODEL, available_models, resolve_name
from tryggplan.spreadsheet import frame_csv
from tryggplan.usecases import forecasts

GRID_SUFFIXES = (".csv", ".parquet", ".json")


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV, Parquet or JSON records by the suffix of ``path`` (atomically)."""
    suffix = path.suffix.lower()
    if suffix not in GRID_SUFFIXES:
        raise InvalidInputError(f"--out {path}: use a .csv, .parquet or .json file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].map(lambda t: t.isoformat())
    if suffix == ".csv":
        # text cells neutralised for spreadsheets, fields with line breaks quoted
        tmp.write_text(frame_csv(out), encoding="utf-8", newline="")
    elif suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        out.to_json(tmp, orient="records", indent=None, date_format="iso", force_ascii=False)
    tmp.replace(path)


def parse_date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInputError(f"{option} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-07") from exc


def register(app: typer.Typer) -> None:
    """Add ``forecast`` and ``models`` to ``app``."""

    @app.command("forecast")
    def forecast(
        start: Annotated[str, typer.Option("--start", help="first local day of the forecast, YYYY-MM-DD")],
        out: Annotated[Path, typer.Option("--out", help="risk grid: .csv, .parquet or .json")],
        incidents: Annotated[
            Path | None, typer.Option("--incidents", help="incident file (any file `import` reads)")
        ] = None,
        db: DbOpt = None,
        days: Annotated[int, typer.Option("--days", min=1, max=92, help="number of local days")] = 14,
        tz: Annotated[str, typer.Option("--tz", help="local time zone")] = DEFAULT_TZ,
        model: Annotated[str, typer.Option("--model", help="model name; see `tryggplan models`")] = "default",
        places: Annotated[Path | None, typer.Option("--places", help="places file (else from place_id)")] = None,
        fmt: FormatOpt = "auto",
        columns: ColumnsOpt = None,
        source: SourceOpt = None,
        category_group: CategoryGroupOpt = None,
        weighted: WeightedOpt = False,
        windows: Annotated[Path | None, typer.Option("--windows", help="write high-risk windows here")] = None,
        group_by: Annotated[
            str | None, typer.Option("--group-by", help="fit each group of places separately, e.g. municipality")
        ] = None,
        engine: Annotated[str, typer.Option("--engine", help="local or dask")] = "local",
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address")] = None,
        progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    ) -> None:
        """Forecast expected incidents per place and local hour (the risk grid), from an incident file
        (--incidents) or the database (--db)."""
        first_day = parse_date(start, "--start")
        if engine not in ("local", "dask"):
            raise InvalidInputError(f"--engine {engine!r}: use local or dask")
        if out.suffix.lower() not in GRID_SUFFIXES:
            raise InvalidInputError(f"--out {out}: use a .csv, .parquet or .json file name")
        resolve_name(model)
        frame, place_frame = incidents_and_places(
            incidents, db, places=places, fmt=fmt, tz=tz, columns=columns, source=source
        )
        if frame.empty:
            raise InvalidInputError(f"{incidents or db}: no incidents to learn from")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=stderr,
            disable=not progress,
            transient=True,
        ) as bar:
            task = bar.add_task(f"fitting {resolve_name(model)}", total=None)
            grid = forecasts.forecast_grid(
                frame,
                first_day,
                days,
                tz=tz,
                model=model,
                places=place_frame,
                group_by=group_by,
                engine=engine,  # type: ignore[arg-type]
                scheduler=scheduler,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                categories=categories_of(category_group, db, place_frame),
                weighted=weighted,
            )
        write_frame(grid, out)
        names = (
            dict(zip(place_frame["place_id"].astype(str), place_frame["name"].astype(str), strict=True))
            if place_frame is not None
            else None
        )
        town_of = (
            {str(p): str(m or "") for p, m in zip(place_frame["place_id"], place_frame["municipality"], strict=True)}
            if place_frame is not None and "municipality" in place_frame.columns
            else None
        )
        hot = forecasts.grid_windows(grid, tz=tz, place_names=names, town_of=town_of)
        if windows:
            write_frame(
                hot.assign(
                    start=hot["start"].map(lambda t: t.isoformat()),
                    end=hot["end"].map(lambda t: t.isoformat()),
                    night=hot["night"].astype(str),
                ),
                windows,
            )
        table = Table(title=f"High-risk windows {first_day} + {days} days ({grid['model'].iloc[0]})")
        for col in ("place", "when", "hours", "expected"):
            table.add_column(col)
        for row in hot.head(15).itertuples():
            table.add_row(
                str(row.name), f"{row.start:%a %d %b %H:%M}–{row.end:%H:%M}", str(row.hours), f"{row.expected:.2f}"
            )
        stdout.print(table)
        stdout.print(f"wrote {len(grid)} rows for {grid['place_id'].nunique()} places to {out}")

    @app.command("models")
    def models() -> None:
        """List the forecasting models (``default`` names the best one)."""
        for name in available_models():
            stdout.print(f"{name}" + (f" -> {DEFAULT_MODEL}" if name == "default" else ""))
