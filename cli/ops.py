"""Operations: ``tryggplan backup`` and ``tryggplan restore`` for the SQLite default database (see
:mod:`tryggplan.storage.backup` for how they stay consistent while the service runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tryggplan.cli.common import stdout
from tryggplan.usecases.maintenance import backup_database, restore_database


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to ``app``."""

    @app.command("backup")
    def backup(
        db: Annotated[str, typer.Option("--db", help="database URL: sqlite:///path/to/file.db")],
        out: Annotated[Path, typer.Option("--out", help="backup file to write (replaced if it exists)")],
    ) -> None:
        """Copy a SQLite database to one file while the service keeps running (online backup API)."""
        path, pages, incidents = backup_database(db, out)
        stdout.print(f"backup of {path} written to {out}: {pages} pages, {incidents} incidents")

    @app.command("restore")
    def restore(
        file: Annotated[Path, typer.Argument(help="a file written by `tryggplan backup`")],
        db: Annotated[str, typer.Option("--db", help="database URL to restore into: sqlite:///path.db")],
        force: Annotated[bool, typer.Option("--force", help="replace a database that holds data")] = False,
    ) -> None:
        """Restore a backup into a SQLite database (checked first; migrated to the newest schema)."""
        path, incidents = restore_database(file, db, force=force)
        stdout.print(f"restored {file} into {path}: {incidents} incidents")
