"""CLI commands for data: ``validate`` and ``import``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from tryggplan.cli.common import EXIT_INVALID, EXIT_OK, fail, one_line, settings_for, stderr, stdout
from tryggplan.cli.sources import (
    ColumnsOpt,
    CreatePlacesOpt,
    FormatOpt,
    NonCrimeOpt,
    PlacesOpt,
    SourceOpt,
    TzOpt,
    format_option,
)
from tryggplan.domain import DEFAULT_TZ, Problem
from tryggplan.readers import IncidentFile, summarize
from tryggplan.spreadsheet import frame_csv
from tryggplan.usecases import ingest
from tryggplan.usecases.maintenance import database, existing_database

MaxOpt = Annotated[int, typer.Option("--max-problems", min=0, help="How many problems to list.")]


def problem_table(problems: list[Problem], limit: int, title: str) -> Table:
    """The first ``limit`` problems as a rich table."""
    table = Table(title=title, show_lines=False, expand=False)
    for name in ("row", "column", "problem", "fix"):
        table.add_column(name, overflow="fold")
    for p in problems[:limit]:
        table.add_row("" if p.row is None else str(p.row), p.column or "", p.message, p.fix)
    return table


def kind_table(problems: list[Problem]) -> Table:
    """Counts of problems per kind."""
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.kind or "problem"] = counts.get(p.kind or "problem", 0) + 1
    table = Table(title="problems per kind")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(kind, str(n))
    return table


def _report(result: IncidentFile, console: Any, limit: int) -> None:
    notes = "".join(f", {k.replace('_', ' ')}: {v}" for k, v in result.notes.items() if v)
    console.print(
        f"{result.file}: format {result.format}, {result.rows} row(s), {len(result.valid)} valid, "
        f"{len(result.rejected)} invalid{notes}"
    )
    if result.problems:
        console.print(kind_table(result.problems))
        shown = min(limit, len(result.problems))
        console.print(problem_table(result.problems, limit, f"first {shown} of {len(result.problems)} problem(s)"))


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``import`` to ``app``."""

    @app.command("validate")
    def validate(
        file: Annotated[Path, typer.Argument(help="Incident file (CSV, CSV.gz or Parquet).")],
        places: PlacesOpt = None,
        tz: TzOpt = DEFAULT_TZ,
        fmt: FormatOpt = "auto",
        columns: ColumnsOpt = None,
        source: SourceOpt = None,
        include_noncrime: NonCrimeOpt = False,
        create_places: CreatePlacesOpt = False,
        max_problems: MaxOpt = 50,
        db: Annotated[
            str | None,
            typer.Option(
                "--db",
                help="Also check against this database (known places, ids stored with other content); it is only read.",
            ),
        ] = None,
    ) -> int:
        """Check an incident file and report every problem (row, column, fix); imports nothing.

        Exit 0 when the file is valid, 2 when it is not.
        """
        engine = existing_database(db) if db else None
        try:
            result = ingest.check_file(
                file,
                engine=engine,
                places_path=places,
                fmt=format_option(fmt),
                tz=tz,
                columns=columns,
                source=source,
                include_noncrime=include_noncrime,
                create_places=create_places,
                limits=settings_for().read_limits(),
            )
        finally:
            if engine is not None:
                engine.dispose()
        _report(result, stdout, max_problems)
        if result.problems:
            fail(summarize(result.problems, result.file), EXIT_INVALID)
        stdout.print(f"{result.file}: valid")
        return EXIT_OK

    @app.command("import")
    def import_(
        file: Annotated[Path, typer.Argument(help="Incident file (CSV, CSV.gz or Parquet).")],
        places: PlacesOpt = None,
        db: Annotated[
            str | None, typer.Option("--db", help="Database URL (default $DATABASE_URL or sqlite:///tryggplan.db).")
        ] = None,
        tz: TzOpt = DEFAULT_TZ,
        skip_invalid: Annotated[
            bool, typer.Option("--skip-invalid", help="Import the valid rows and write the others to --rejected.")
        ] = False,
        rejected: Annotated[
            Path | None,
            typer.Option(
                "--rejected", help="Where --skip-invalid writes the rejected rows (default <FILE stem>.rejected.csv)."
            ),
        ] = None,
        fmt: FormatOpt = "auto",
        columns: ColumnsOpt = None,
        source: SourceOpt = None,
        include_noncrime: NonCrimeOpt = False,
        create_places: CreatePlacesOpt = False,
        max_problems: MaxOpt = 50,
    ) -> int:
        """Import incidents into the database: idempotent, all or nothing unless --skip-invalid.

        Every incident names a known place: from --places, the database, or the file itself (the police
        feed's municipalities); --create-places creates the file's unknown places from their ids. Exit 0
        on success, 2 for invalid input (nothing stored).
        """
        engine = database(db)
        try:
            outcome = ingest.import_file(
                engine,
                file,
                places_path=places,
                fmt=format_option(fmt),
                tz=tz,
                columns=columns,
                source=source,
                include_noncrime=include_noncrime,
                skip_invalid=skip_invalid,
                actor="cli",
                create_places=create_places,
                limits=settings_for().read_limits(),
            )
        except ingest.ImportRefusedError as exc:
            if exc.file is not None:
                _report(exc.file, stderr, max_problems)
            if exc.problems and (exc.file is None or exc.problems != exc.file.problems):
                stderr.print(problem_table(exc.problems, max_problems, f"{len(exc.problems)} problem(s)"))
            fail(str(exc), EXIT_INVALID)
        finally:
            engine.dispose()
        read = outcome.file
        if read is not None:
            _report(read, stderr if read.problems else stdout, max_problems)
        if outcome.import_id is None:
            stdout.print(f"{outcome.source_file}: no incident rows (header only): nothing to import")
            return EXIT_OK
        if len(outcome.rejected):
            target = rejected or file.with_name(_stem(file) + ".rejected.csv")
            _write_rejected(outcome.rejected, target, (read.separator if read else "") or ",")
            stdout.print(f"{len(outcome.rejected)} rejected row(s) written to {target}")
        stdout.print(
            f"{outcome.source_file}: {outcome.added} added, {outcome.unchanged} already stored, "
            f"{len(outcome.rejected)} rejected (import {outcome.import_id})"
        )
        return EXIT_OK


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".csv.gz", ".csv", ".parquet", ".gz", ".txt"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _write_rejected(frame: pd.DataFrame, target: Path, sep: str) -> None:
    """Rejected rows with ``row`` and ``reason``, UTF-8 with BOM so Excel opens it; text cells that a
    spreadsheet would read as a formula are neutralised and fields with line breaks quoted
    (:func:`tryggplan.spreadsheet.frame_csv`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    cols = [c for c in frame.columns if c not in ("row", "reason")] + ["row", "reason"]
    text = frame_csv(frame.loc[:, cols], delimiter=sep if sep in (",", ";", "\t") else ",")
    target.write_text(text, encoding="utf-8-sig", newline="")


__all__ = ["register", "problem_table", "kind_table", "one_line"]
