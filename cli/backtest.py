"""CLI command: ``tryggplan backtest`` — rolling-origin evaluation of models against baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
from tryggplan.forecasting.evaluation.report import markdown_table
from tryggplan.usecases import evaluation

DEFAULT_MODELS = ",".join(evaluation.DEFAULT_MODELS)


def register(app: typer.Typer) -> None:
    """Add ``backtest`` to ``app``."""

    @app.command("backtest")
    def backtest(
        out: Annotated[Path, typer.Option("--out", help="output directory (created if needed)")],
        incidents: Annotated[
            Path | None, typer.Option("--incidents", help="incident file (any file `import` reads)")
        ] = None,
        db: DbOpt = None,
        fmt: FormatOpt = "auto",
        columns: ColumnsOpt = None,
        source: SourceOpt = None,
        category_group: CategoryGroupOpt = None,
        weighted: WeightedOpt = False,
        tz: Annotated[str, typer.Option("--tz", help="local time zone of the hourly slots")] = DEFAULT_TZ,
        models: Annotated[
            str,
            typer.Option(
                "--models", help="comma-separated model names; `default` runs the default model under that name"
            ),
        ] = DEFAULT_MODELS,
        origins: Annotated[int, typer.Option("--origins", min=1, help="number of rolling origins")] = 26,
        horizon_days: Annotated[
            int, typer.Option("--horizon-days", min=1, max=92, help="days scored after each origin")
        ] = 7,
        step_days: Annotated[int, typer.Option("--step-days", min=1, help="days between origins")] = 7,
        window: Annotated[str, typer.Option("--window", help="expanding or sliding")] = "expanding",
        window_days: Annotated[
            int | None, typer.Option("--window-days", min=1, help="length of a sliding window [days]")
        ] = None,
        places: Annotated[
            Path | None, typer.Option("--places", help="places file: also score places without incidents")
        ] = None,
        engine: Annotated[str, typer.Option("--engine", help="local, or dask to run origins in parallel")] = "local",
        scheduler: Annotated[
            str | None, typer.Option("--scheduler", help="Dask scheduler address (default: a local cluster)")
        ] = None,
        workers: Annotated[int | None, typer.Option("--workers", min=1, help="local Dask workers")] = None,
        audit: Annotated[
            bool,
            typer.Option(
                "--audit/--no-audit", help="check on the first origin that no model reads counts past the origin"
            ),
        ] = True,
        plots: Annotated[bool, typer.Option("--plots/--no-plots", help="write the PNG plots")] = True,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="show a progress bar")] = True,
    ) -> None:
        """Rolling-origin backtest: summary.json, metrics.csv, report.md and plots in --out."""
        if window not in ("expanding", "sliding"):
            raise InvalidInputError(f"--window {window!r}: use expanding or sliding")
        if engine not in ("local", "dask"):
            raise InvalidInputError(f"--engine {engine!r}: use local or dask")
        if scheduler and engine != "dask":
            raise InvalidInputError("--scheduler needs --engine dask")
        if out.exists() and not out.is_dir():
            raise InvalidInputError(f"--out {out} is a file: give a directory")
        names = [n.strip() for n in models.split(",") if n.strip()]
        if not names:
            raise InvalidInputError("--models is empty: name at least one model, e.g. default,how_mean")
        frame, place_frame = incidents_and_places(
            incidents, db, places=places, fmt=fmt, tz=tz, columns=columns, source=source
        )
        if frame.empty:
            raise InvalidInputError(f"{incidents or db}: no incidents to backtest on")
        result = evaluation.backtest(
            frame,
            models=names,
            origins=origins,
            horizon_days=horizon_days,
            step_days=step_days,
            window=window,  # type: ignore[arg-type]
            window_days=window_days,
            tz=tz,
            engine=engine,  # type: ignore[arg-type]
            scheduler=scheduler,
            progress=progress and stderr.is_terminal,
            places=place_frame["place_id"].astype(str).tolist() if place_frame is not None else None,
            audit=audit,
            workers=workers,
            places_frame=place_frame if place_frame is not None and "municipality" in place_frame.columns else None,
            categories=categories_of(category_group, db, place_frame),
            weighted=weighted,
        )
        doc = evaluation.write_backtest(result, out, plots=plots)
        stdout.print(markdown_table(doc["models"]))
        stdout.print(f"default = {doc['default_model']}; wrote summary.json, metrics.csv, report.md to {out}")
