"""Backups of the SQLite default database (``tryggplan backup`` / ``tryggplan restore``).

Both use SQLite's online backup API (:meth:`sqlite3.Connection.backup`), so a running ``tryggplan
serve`` may keep reading and writing meanwhile: the copy is a consistent snapshot of one moment.

* ``backup --db sqlite:///var/tryggplan.db --out backup.db`` writes a single self-contained file
  (rollback journal, not WAL), first to a temporary file next to ``--out`` that is checked
  (``PRAGMA integrity_check``) and then renamed over ``--out``: a failed backup leaves no half file.
* ``restore backup.db --db sqlite:///var/tryggplan.db`` checks that the file is an intact tryggplan
  database, copies it page by page into the target (in one transaction of the backup API: readers
  see the old or the new database, never a mix) and migrates it to the newest schema. A target
  that holds data is replaced only with ``--force``.

PostgreSQL has its own tools (``pg_dump`` / ``pg_restore``); these commands refuse its URLs.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tryggplan.domain import InvalidInputError

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Tables every tryggplan database has (from the first migration on).
_REQUIRED_TABLES = ("alembic_version", "incidents", "places")


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///path`` URL; :class:`InvalidInputError` for anything else."""
    try:
        parsed = make_url(url.strip())
    except ArgumentError as exc:
        raise InvalidInputError(f"cannot read database URL {url!r}: write sqlite:///path/to/file.db") from exc
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        raise InvalidInputError(
            f"backup and restore work on SQLite databases only, not {backend!r}: "
            "for PostgreSQL use pg_dump / pg_restore"
        )
    if parsed.database in (None, "", ":memory:"):
        raise InvalidInputError(
            "an in-memory SQLite database cannot be backed up or restored: give a file, e.g. sqlite:///var/tryggplan.db"
        )
    return Path(parsed.database).expanduser()


def check_backup_file(path: Path) -> int:
    """Check that ``path`` is an intact SQLite file holding a tryggplan database.

    Returns the number of incidents in it; raises :class:`InvalidInputError` saying what is wrong.
    """
    if not path.is_file():
        raise InvalidInputError(f"no backup file {str(path)!r}: give the file `tryggplan backup` wrote")
    with path.open("rb") as handle:
        head = handle.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise InvalidInputError(
            f"{str(path)!r} is not a SQLite database (its first bytes are not 'SQLite format 3'): "
            "give a file written by `tryggplan backup`"
        )
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidInputError(f"cannot open backup {str(path)!r}: {exc}") from exc
    try:
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
        except sqlite3.DatabaseError as exc:
            raise InvalidInputError(f"backup {str(path)!r} is damaged ({exc}): use an older backup") from exc
        if problems != ["ok"]:
            raise InvalidInputError(
                f"backup {str(path)!r} is damaged (integrity check: {'; '.join(problems[:3])}): use an older backup"
            )
        missing = [t for t in _REQUIRED_TABLES if t not in tables]
        if missing:
            raise InvalidInputError(
                f"{str(path)!r} is a SQLite file but not a tryggplan database (no table "
                f"{', '.join(missing)}): give a file written by `tryggplan backup`"
            )
        return int(conn.execute("select count(*) from incidents").fetchone()[0])
    finally:
        conn.close()


def _has_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.Error:
        return True
    try:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            if table in ("alembic_version",) or table.startswith("sqlite_"):
                continue
            if conn.execute(f'select 1 from "{table}" limit 1').fetchone() is not None:
                return True
        return False
    except sqlite3.DatabaseError:
        return True
    finally:
        conn.close()


def backup_sqlite(db: Path, out: Path) -> int:
    """Copy the live database ``db`` to ``out`` with the online backup API; returns the page count."""
    if not db.is_file():
        raise InvalidInputError(f"no database file {str(db)!r}: check --db")
    out = out.expanduser()
    if out.resolve() == db.resolve():
        raise InvalidInputError("--out is the database itself: write the backup to another file")
    if not out.parent.is_dir():
        raise InvalidInputError(f"folder {str(out.parent)!r} does not exist: create it or choose another --out")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            src = sqlite3.connect(f"file:{db.resolve()}?mode=rw", uri=True, timeout=30)
        except sqlite3.Error as exc:
            raise InvalidInputError(f"cannot open database {str(db)!r}: {exc}") from exc
        try:
            dst = sqlite3.connect(tmp)
            try:
                try:
                    src.backup(dst)
                except sqlite3.DatabaseError as exc:
                    raise InvalidInputError(f"cannot back up {str(db)!r}: {exc} (is it a SQLite database?)") from exc
                # a single file: no -wal / -shm companions needed to read the copy
                dst.execute("PRAGMA journal_mode=DELETE")
                pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
                problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            finally:
                dst.close()
        finally:
            src.close()
        if problems != ["ok"]:
            raise InvalidInputError(f"the copy of {str(db)!r} failed its integrity check: {problems[0]}")
        check_backup_file(tmp)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return pages


def restore_sqlite(backup: Path, db: Path, force: bool = False) -> int:
    """Replace the database ``db`` by the backup file (online backup API, one transaction).

    Returns the number of incidents restored.
    """
    incidents = check_backup_file(backup)
    if backup.resolve() == db.resolve():
        raise InvalidInputError("the backup file is the database itself: nothing to restore")
    if not force and _has_data(db):
        raise InvalidInputError(
            f"database {str(db)!r} holds data: restoring replaces all of it; back it up first "
            "(`tryggplan backup`), then add --force"
        )
    db.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{backup.resolve()}?mode=ro", uri=True)
    try:
        try:
            dst = sqlite3.connect(db, timeout=30)
        except sqlite3.Error as exc:
            raise InvalidInputError(f"cannot open database {str(db)!r}: {exc}") from exc
        try:
            try:
                src.backup(dst)
            except sqlite3.DatabaseError as exc:
                raise InvalidInputError(
                    f"cannot write database {str(db)!r}: {exc} (is it a SQLite file, writable, "
                    "and is there room on the disk?)"
                ) from exc
        finally:
            dst.close()
    finally:
        src.close()
    return incidents
