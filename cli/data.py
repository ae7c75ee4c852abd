"""CLI commands for data: ``validate``, ``import`` and ``demo-data``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from tryggplan.cli.common import EXIT_INVALID, EXIT_OK, fail, one_line, stderr, stdout
from tryggplan.domain import DEFAULT_TZ, InvalidInputError, Problem
from tryggplan.readers import (
    FORMATS,
    IncidentFile,
    load_incidents,
    places_from_incidents,
    read_places,
    summarize,
)
from tryggplan.validation import stored_conflicts

FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help=f"Input format: {', '.join(FORMATS)} (auto detects canonical, Swedish Excel and the police feed).",
    ),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Source column per canonical column, e.g. occurred_at=Date,place_id=Neighbourhood "
        "(implies --format mapped for files in no known layout; ids are generated if absent).",
    ),
]
TzOpt = Annotated[str, typer.Option("--tz", help="Time zone of timestamps without an offset (IANA name).")]
PlacesOpt = Annotated[
    Path | None, typer.Option("--places", help="Places file (place_id, name, municipality, lat, lon, kind, area).")
]
SourceOpt = Annotated[
    str | None,
    typer.Option("--source", help="Source of rows without one (default reporter; police for the police feed)."),
]
NonCrimeOpt = Annotated[
    bool,
    typer.Option(
        "--include-noncrime", help="Police feed: keep accidents, controls and notices instead of dropping them."
    ),
]
MaxOpt = Annotated[int, typer.Option("--max-problems", min=0, help="How many problems to list.")]


def _check_format(fmt: str) -> Any:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt


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


def _known_places(places_file: Path | None, engine: Any = None) -> pd.DataFrame | None:
    frames = []
    if places_file is not None:
        frames.append(read_places(places_file))
    if engine is not None:
        from tryggplan.storage.incidents import read_places as stored_places

        stored = stored_places(engine)
        if len(stored):
            frames.append(stored)
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True).drop_duplicates("place_id")


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``import`` and ``demo-data`` to ``app``."""

    @app.command("validate")
    def validate(
        file: Annotated[Path, typer.Argument(help="Incident file (CSV, CSV.gz or Parquet).")],
        places: PlacesOpt = None,
        tz: TzOpt = DEFAULT_TZ,
        fmt: FormatOpt = "auto",
        columns: ColumnsOpt = None,
        source: SourceOpt = None,
        include_noncrime: NonCrimeOpt = False,
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
        engine = _existing_database(db) if db else None
        try:
            known = _known_places(places, engine)
            result = load_incidents(
                file,
                format=_check_format(fmt),
                tz=tz,
                columns=columns,
                source=source,
                places=known,
                include_noncrime=include_noncrime,
            )
            if engine is not None and not result.valid.empty:
                from tryggplan.storage.incidents import read_incidents as stored_incidents

                conflicts = stored_conflicts(result.valid, stored_incidents(engine), result.file)
                if conflicts:
                    result.problems = sorted(result.problems + conflicts, key=lambda p: p.row or 0)
                    bad = {p.row for p in conflicts}
                    moved = result.valid[result.valid["row"].isin(bad)]
                    result.valid = result.valid[~result.valid["row"].isin(bad)].reset_index(drop=True)
                    result.rejected = pd.concat(
                        [result.rejected, _raw_rows(file, result, set(moved["row"]))], ignore_index=True
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
        max_problems: MaxOpt = 50,
    ) -> int:
        """Import incidents into the database: idempotent, all or nothing unless --skip-invalid.

        Places come from --places, else from the database; when the database has none, from the
        file's place ids. Exit 0 on success, 2 for invalid input (nothing stored).
        """
        from tryggplan.storage.database import default_url, open_database
        from tryggplan.storage.incidents import import_incidents

        fmt_checked = _check_format(fmt)
        given_places = read_places(places) if places is not None else None
        engine = open_database(db or os.environ.get("DATABASE_URL") or default_url())
        try:
            known = _known_places(places, engine)
            result = load_incidents(
                file,
                format=fmt_checked,
                tz=tz,
                columns=columns,
                source=source,
                places=known,
                include_noncrime=include_noncrime,
            )
            _report(result, stderr if result.problems else stdout, max_problems)
            if result.problems and (not skip_invalid or not result.rows or _file_level(result)):
                fail(f"nothing imported: {summarize(result.problems, result.file)}", EXIT_INVALID)
            if result.rows == 0:
                stdout.print(f"{result.file}: no incident rows (header only): nothing to import")
                return EXIT_OK
            upsert = given_places
            if upsert is None:
                upsert = result.places
            if upsert is None and known is None:
                upsert = places_from_incidents(result.valid)
            valid = result.valid
            rejected_frame = result.rejected
            while True:
                try:
                    outcome = import_incidents(
                        engine, valid, upsert, source_file=result.file, actor="cli", rejected=len(rejected_frame)
                    )
                    break
                except InvalidInputError as exc:
                    rows = {p.row for p in exc.problems if p.row is not None}
                    if not skip_invalid or not rows or not valid["row"].isin(rows).any():
                        if exc.problems:
                            title = f"{len(exc.problems)} problem(s) against the database"
                            stderr.print(problem_table(exc.problems, max_problems, title))
                        fail(f"nothing imported: {exc}", EXIT_INVALID)
                    reasons: dict[int, list[str]] = {}
                    for p in exc.problems:
                        if p.row is not None:
                            reasons.setdefault(p.row, []).append(f"{p.column or 'row'}: {p.message}")
                    stderr.print(
                        problem_table(
                            exc.problems, max_problems, f"{len(exc.problems)} row(s) conflict with the database"
                        )
                    )
                    back = _raw_rows(file, result, set(reasons))
                    back["reason"] = ["; ".join(reasons.get(int(r), [])) for r in back["row"]]
                    rejected_frame = pd.concat([rejected_frame, back], ignore_index=True)
                    valid = valid[~valid["row"].isin(reasons)].reset_index(drop=True)
            if len(rejected_frame):
                target = rejected or file.with_name(_stem(file) + ".rejected.csv")
                _write_rejected(rejected_frame, target, result.separator or ",")
                stdout.print(f"{len(rejected_frame)} rejected row(s) written to {target}")
            stdout.print(
                f"{result.file}: {outcome.added} added, {outcome.unchanged} already stored, "
                f"{len(rejected_frame)} rejected (import {outcome.import_id})"
            )
            return EXIT_OK
        finally:
            engine.dispose()

    @app.command("demo-data")
    def demo_data(
        out: Annotated[
            Path,
            typer.Option(
                "--out", help="Directory to write places.csv, incidents.csv, resources.yaml and truth.json into."
            ),
        ],
        seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same town).")] = 42,
        years: Annotated[float, typer.Option("--years", min=1.0, max=10.0, help="Years of history.")] = 3.25,
    ) -> int:
        """Write the synthetic demo town: places, incidents, resources and the planted truth."""
        import yaml

        from tryggplan.demo import generate_town

        town = generate_town(seed=seed, years=years)
        out.mkdir(parents=True, exist_ok=True)
        town.places.to_csv(out / "places.csv", index=False)
        incidents = town.incidents.copy()
        local = incidents["occurred_at"].dt.tz_convert(town.truth.tz)
        incidents["occurred_at"] = local.map(lambda t: t.isoformat())
        incidents.to_csv(out / "incidents.csv", index=False)
        (out / "truth.json").write_text(
            json.dumps(town.truth.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        written = ["places.csv", "incidents.csv", "truth.json"]
        try:
            from tryggplan.allocation.spec import demo_resources
        except ImportError:
            stderr.print(
                "warning: tryggplan.allocation.spec.demo_resources is not available: resources.yaml not written"
            )
        else:
            spec = demo_resources(town.places)
            (out / "resources.yaml").write_text(
                yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8"
            )
            written.append("resources.yaml")
        stdout.print(
            f"demo town (seed {seed}): {len(town.places)} places in "
            f"{town.places['area'].nunique()} areas, {len(town.incidents)} incidents "
            f"{local.min():%Y-%m-%d} .. {local.max():%Y-%m-%d}; wrote {', '.join(written)} to {out}"
        )
        return EXIT_OK


def _existing_database(url: str) -> Any:
    """An engine on an existing database, without creating or migrating anything."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from tryggplan.storage.database import create_db_engine, normalize_url

    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError as exc:
        raise InvalidInputError(f"cannot read database URL {url!r}: use sqlite:///path/to/file.db") from exc
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise InvalidInputError(f"no database at {url}: import something first, or leave out --db")
    engine = create_db_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        engine.dispose()
        raise InvalidInputError(f"cannot open database {url}: {str(exc).splitlines()[0]}") from exc
    if "incidents" not in tables:
        engine.dispose()
        raise InvalidInputError(f"{url} is not a tryggplan database (no incidents table)")
    return engine


def _file_level(result: IncidentFile) -> bool:
    return any(
        p.row is None or (p.row == 1 and p.kind in ("missing_column", "duplicate_column")) for p in result.problems
    )


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".csv.gz", ".csv", ".parquet", ".gz", ".txt"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _raw_rows(file: Path, result: IncidentFile, rows: set[int]) -> pd.DataFrame:
    from tryggplan.readers import read_table

    raw = read_table(file).frame()
    return raw[raw["row"].isin(rows)].copy()


def _write_rejected(frame: pd.DataFrame, target: Path, sep: str) -> None:
    """Rejected rows with ``row`` and ``reason``, UTF-8 with BOM so Excel opens it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    cols = [c for c in frame.columns if c not in ("row", "reason")] + ["row", "reason"]
    frame.loc[:, cols].to_csv(target, index=False, sep=sep if sep in (",", ";", "\t") else ",", encoding="utf-8-sig")


__all__ = ["register", "problem_table", "kind_table", "one_line"]
