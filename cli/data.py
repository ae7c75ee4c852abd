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
    MunicipalityOpt,
    NonCrimeOpt,
    PlacesOpt,
    SourceOpt,
    TzOpt,
    format_option,
)
from tryggplan.domain import DEFAULT_TZ, Problem
from tryggplan.readers import IncidentFile, problem_kinds, rows_text, summarize
from tryggplan.spreadsheet import frame_csv
from tryggplan.usecases import ingest
from tryggplan.usecases.maintenance import database, existing_database

MaxOpt = Annotated[
    int,
    typer.Option(
        "--max-problems", min=0, help="Also list this many problems one by one (the summary has one line per kind)."
    ),
]


def problem_table(problems: list[Problem], limit: int, title: str) -> Table:
    """The first ``limit`` problems as a rich table."""
    table = Table(title=title, show_lines=False, expand=False)
    for name in ("row", "column", "problem", "fix"):
        table.add_column(name, overflow="fold")
    for p in problems[:limit]:
        table.add_row("" if p.row is None else str(p.row), p.column or "", p.message, p.fix)
    return table


def kind_lines(problems: list[Problem]) -> list[str]:
    """One line per kind of problem: how many, the first rows, the first one's message and the fix they
    share (80 rows naming unknown places are one line, not 80 of the same fix)."""
    lines = []
    for k in problem_kinds(problems):
        where = rows_text(k)
        lines.append(f"  {k.kind}: {k.count}{f' ({where})' if where else ''}: {k.first.message}" + (
            f" -> {k.first.fix}" if k.first.fix else ""
        ))  # fmt: skip
    return lines


def _report_problems(problems: list[Problem], console: Any, limit: int) -> None:
    if not problems:
        return
    console.print("problems per kind:")
    for line in kind_lines(problems):
        console.print(line, markup=False)
    if limit > 0:
        shown = min(limit, len(problems))
        console.print(problem_table(problems, limit, f"first {shown} of {len(problems)} problem(s)"))


def _read_line(result: IncidentFile, rejected: int) -> str:
    notes = "".join(f", {k.replace('_', ' ')}: {v}" for k, v in result.notes.items() if v)
    return (
        f"{result.file}: format {result.format}, {result.rows} row(s), {result.rows - rejected} valid, "
        f"{rejected} invalid{notes}"
    )


def _report(result: IncidentFile, console: Any, limit: int) -> None:
    console.print(_read_line(result, len(result.rejected)), markup=False)
    _report_problems(result.problems, console, limit)


def _places_text(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def would_do(outcome: ingest.ImportOutcome) -> str:
    """What the import would do, in one line (``tryggplan validate``)."""
    parts = [f"add {outcome.added} incident(s) ({outcome.unchanged} already stored)"]
    if len(outcome.rejected):
        parts.append(f"reject {len(outcome.rejected)} row(s)")
    if outcome.new_places:
        parts.append(f"store {len(outcome.new_places)} new place(s): {_places_text(outcome.new_places)}")
    stored = outcome.places_upserted - len(outcome.new_places)
    if stored > 0:
        parts.append(f"update {stored} stored place(s)")
    doing = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    if outcome.would_refuse:
        return f"import would refuse the file and store nothing; with --skip-invalid it would {doing}"
    return f"import would {doing}"


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
        create_places: CreatePlacesOpt = None,
        municipality: MunicipalityOpt = None,
        max_problems: MaxOpt = 0,
        db: Annotated[
            str | None,
            typer.Option(
                "--db",
                help="Check against this database (known places, ids stored with other content); it is only read. "
                "Without it the file is checked as the first import into an empty database.",
            ),
        ] = None,
    ) -> int:
        """Say exactly what `import` would do with the same options, storing nothing: the import itself
        run as a dry run. Every problem is summarised by kind (one line each, with the first rows).

        Exit 0 when the import would store the file, 2 when it would refuse it.
        """
        engine = existing_database(db) if db else None
        try:
            outcome = ingest.check_file(
                file,
                engine=engine,
                places_path=places,
                fmt=format_option(fmt),
                tz=tz,
                columns=columns,
                source=source,
                include_noncrime=include_noncrime,
                create_places=create_places,
                municipality=municipality,
                limits=settings_for().read_limits(),
            )
        except ingest.ImportRefusedError as exc:
            if exc.file is not None:
                _report(exc.file, stdout, max_problems)
            stdout.print("import would refuse the file and store nothing", markup=False)
            fail(str(exc).removeprefix("nothing imported: "), EXIT_INVALID)
        finally:
            if engine is not None:
                engine.dispose()
        if outcome.file is not None:
            stdout.print(_read_line(outcome.file, len(outcome.rejected)), markup=False)
        _report_problems(outcome.problems, stdout, max_problems)
        if outcome.file is None or outcome.file.rows == 0:
            stdout.print(f"{outcome.source_file}: no incident rows (header only): nothing to import", markup=False)
        else:
            stdout.print(would_do(outcome), markup=False)
        if outcome.problems:
            fail(summarize(outcome.problems, outcome.source_file), EXIT_INVALID)
        stdout.print(f"{outcome.source_file}: valid", markup=False)
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
        create_places: CreatePlacesOpt = None,
        municipality: MunicipalityOpt = None,
        max_problems: MaxOpt = 0,
    ) -> int:
        """Import incidents into the database: idempotent, all or nothing unless --skip-invalid.

        Every incident names a known place: from --places, the database, or the file itself (the police
        feed's municipalities). The first import into a town without places creates them from the file's
        place ids; afterwards an unknown place is a problem (--create-places creates it). `validate` with
        the same options says what this would do. Exit 0 on success, 2 for invalid input (nothing stored).
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
                municipality=municipality,
                limits=settings_for().read_limits(),
            )
        except ingest.ImportRefusedError as exc:
            if exc.file is not None:
                stderr.print(_read_line(exc.file, len(exc.file.rejected)), markup=False)
            _report_problems(exc.problems, stderr, max_problems)
            fail(str(exc), EXIT_INVALID)
        finally:
            engine.dispose()
        read = outcome.file
        if read is not None:
            console = stderr if outcome.problems else stdout
            console.print(_read_line(read, len(outcome.rejected)), markup=False)
            _report_problems(outcome.problems, console, max_problems)
        if outcome.import_id is None:
            stdout.print(f"{outcome.source_file}: no incident rows (header only): nothing to import")
            return EXIT_OK
        if len(outcome.rejected):
            target = rejected or file.with_name(_stem(file) + ".rejected.csv")
            _write_rejected(outcome.rejected, target, (read.separator if read else "") or ",")
            stdout.print(f"{len(outcome.rejected)} rejected row(s) written to {target}")
        if outcome.new_places:
            stdout.print(
                f"{len(outcome.new_places)} new place(s) created from the file's place ids: "
                f"{_places_text(outcome.new_places)} (no coordinates or walking area yet: add them in a places file)",
                markup=False,
            )
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


__all__ = ["register", "problem_table", "kind_lines", "one_line"]
