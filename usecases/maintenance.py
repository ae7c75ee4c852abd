"""Database maintenance: open (create and migrate) a database, back up and restore the SQLite file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tryggplan.storage import backup, status
from tryggplan.storage.database import default_url, open_database, open_existing_database


def database(url: str | None = None) -> Engine:
    """The database at ``url`` (default ``$DATABASE_URL`` or ``sqlite:///tryggplan.db``), created and
    migrated to the newest schema when needed."""
    return open_database(url or default_url())


def existing_database(url: str) -> Engine:
    """An existing tryggplan database, only opened (nothing created or migrated)."""
    return open_existing_database(url)


def backup_database(url: str, out: Path) -> tuple[Path, int, int]:
    """Copy a live SQLite database to ``out`` (online backup API, checked, then renamed into place).

    Returns the database file, the pages copied and the incidents in the copy."""
    path = backup.sqlite_path(url)
    pages = backup.backup_sqlite(path, out)
    return path, pages, backup.check_backup_file(out)


def restore_database(file: Path, url: str, force: bool = False) -> tuple[Path, int]:
    """Replace the SQLite database at ``url`` by a backup (checked first) and migrate it to the newest
    schema; a target holding data needs ``force``. Returns the database file and the incidents restored."""
    path = backup.sqlite_path(url)
    incidents = backup.restore_sqlite(file, path, force=force)
    open_database(url).dispose()  # a backup from an older version gets the newest schema
    return path, incidents


def data_generation(engine: Engine) -> tuple[object, ...]:
    """Changes whenever a stored forecast, plan or place changes: the key of cached dashboard answers."""
    return status.data_generation(engine)
