"""Where a command's incidents come from: a file `import` reads (same --format/--columns/--source) or
the database (--db); the options they share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from tryggplan.cli.common import settings_for
from tryggplan.counts import category_group
from tryggplan.domain import InvalidInputError
from tryggplan.readers import FORMATS
from tryggplan.usecases import incidents, ingest
from tryggplan.usecases.maintenance import existing_database
from tryggplan.usecases.places import category_selection

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
CreatePlacesOpt = Annotated[
    bool | None,
    typer.Option(
        "--create-places/--no-create-places",
        help="create the places the file names that are not known yet (bare places named by their id), or "
        "never; default: only on the first import into a town that has no places yet (no --places given), "
        "afterwards an unknown place is a problem of its row",
        show_default=False,
    ),
]
MunicipalityOpt = Annotated[
    str | None,
    typer.Option(
        "--municipality",
        help="the municipality the file is for: the places it creates are that town's, and its first import "
        "is the first into that town",
    ),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="read the incidents (and places) from this database instead of --incidents"),
]


CategoryGroupOpt = Annotated[
    str | None,
    typer.Option(
        "--category-group",
        help="count only this category group, e.g. nattvandring (each municipality's own with --db, else the defaults)",
    ),
]
WeightedOpt = Annotated[bool, typer.Option("--weighted", help="sum the incidents' weights instead of counting them")]


def categories_of(
    group: str | None, db: str | None, places: pd.DataFrame | None
) -> dict[str, list[str]] | list[str] | None:
    """The categories ``--category-group`` keeps: each municipality's own group from the database, or the
    default group for a file."""
    if group is None:
        return None
    if db is None or places is None:
        return list(category_group(group))
    engine = existing_database(db)
    try:
        return category_selection(engine, group, places)[0]
    finally:
        engine.dispose()


def format_option(fmt: str) -> str:
    """``--format`` checked before anything is read."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt


def incidents_and_places(
    path: Path | None,
    db: str | None,
    *,
    places: Path | None = None,
    fmt: str = "auto",
    tz: str,
    columns: str | None = None,
    source: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The incidents and places of ``--incidents FILE`` or ``--db URL`` (exactly one of them)."""
    if (path is None) == (db is None):
        raise InvalidInputError("give the incidents as --incidents FILE or --db URL (one of them)")
    if path is not None:
        if not path.is_file():
            raise InvalidInputError(f"--incidents {path}: no such file")
        return ingest.read_file(
            path,
            places_path=places,
            fmt=format_option(fmt),
            tz=tz,
            columns=columns,
            source=source,
            limits=settings_for().read_limits(),
        )
    engine = existing_database(str(db))
    try:
        return incidents.stored_incidents(engine)
    finally:
        engine.dispose()
