"""Open (and migrate) the database: SQLite by default, PostgreSQL by URL.

```python
from tryggplan.storage.database import open_database
engine = open_database("sqlite:///var/tryggplan.db")     # or a postgresql URL; migrates to head
```

SQLite is the zero-set-up default (file and parent directory created, WAL journal, foreign keys
on); PostgreSQL is used by giving its URL (``postgresql://`` is read as ``postgresql+psycopg://``).
The schema comes from the Alembic migrations in ``storage/migrations`` (shipped in the wheel),
run programmatically with a :class:`alembic.config.Config` built here, so the current directory
does not matter. A database already at :data:`HEAD_REVISION` is opened without loading Alembic (about
0.25 s of every CLI start).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from tryggplan.domain import InvalidInputError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_DATABASE_URL = "sqlite:///tryggplan.db"
#: the newest migration (a test holds it to Alembic's head: a new migration must update it). Migration
#: files are numbered in the order they apply; the revision ids of files 0004-0008 are the ids they
#: were first written with (0008, 0005, 0004, 0007, 0006) because databases out there store them. A new
#: migration's revision id is its file number.
HEAD_REVISION = "0010"


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` -> ``postgresql+psycopg://`` (the installed driver)."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_url() -> str:
    """``$DATABASE_URL`` or ``sqlite:///tryggplan.db``."""
    return os.environ.get("DATABASE_URL") or os.environ.get("TRYGGPLAN_DATABASE_URL") or DEFAULT_DATABASE_URL


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


#: Connections kept / allowed on top. At least the server's worker threads (40: anyio's default for
#: sync routes and dependencies), or threads wait for a connection while the sessions holding one wait
#: for a thread to close them: 200 concurrent requests took seconds with SQLAlchemy's 5 + 10.
_POOL: dict[str, Any] = {"pool_size": 20, "max_overflow": 30}


def create_db_engine(url: str | None = None, **engine_kwargs: Any) -> Engine:
    """An engine for ``url`` without touching the schema (see :func:`open_database`)."""
    url = normalize_url(url or default_url())
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInputError(
            f"cannot read database URL {url!r}: use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user@host:5432/dbname"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        kwargs: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
        if database in ("", ":memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
            kwargs.update(_POOL)
        kwargs.update(engine_kwargs)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        return create_engine(parsed, **{"pool_pre_ping": True, **_POOL, **engine_kwargs})
    raise InvalidInputError(f"unsupported database {backend!r} in {url!r}: use sqlite:/// or postgresql://")


def alembic_config(engine: Engine | None = None) -> Config:
    """The Alembic configuration, built in code (no alembic.ini, independent of the CWD)."""
    from alembic.config import Config  # loaded only when a migration may run: it costs every CLI start

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (idempotent)."""
    from alembic import command  # loaded only when a migration may run: it costs every CLI start

    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def stored_revision(engine: Engine) -> str | None:
    """The migration the database is at (``None`` when it has none yet)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("select version_num from alembic_version")).scalar()


def open_database(url: str | None = None, migrate: bool = True, **engine_kwargs: Any) -> Engine:
    """Open the database at ``url`` (default ``$DATABASE_URL`` or ``sqlite:///tryggplan.db``).

    Creates a SQLite file and its parent directory when missing, and migrates the schema to the
    newest revision. Raises :class:`InvalidInputError` for a URL that cannot be used.
    """
    engine = create_db_engine(url, **engine_kwargs)
    if migrate:
        try:
            if stored_revision(engine) != HEAD_REVISION:
                upgrade_database(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise InvalidInputError(
                f"cannot open database {engine.url.render_as_string(hide_password=True)}: "
                f"{str(getattr(exc, 'orig', None) or exc).splitlines()[0]} "
                "-> check the URL, that the server runs and the user may create tables"
            ) from exc
    return engine


def scratch_database() -> Engine:
    """An empty database in memory with the newest schema, made from the models (no Alembic): what
    ``tryggplan validate`` without ``--db`` checks a file against, so it runs the import's own code as a
    dry run into an empty database."""
    from tryggplan.storage.models import Base  # the models only when a scratch database is asked for

    engine = create_db_engine("sqlite://")
    Base.metadata.create_all(engine)
    return engine


def open_existing_database(url: str) -> Engine:
    """An engine on an existing tryggplan database, without creating or migrating anything (for
    commands that only read, e.g. ``tryggplan validate --db``)."""
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


__all__ = [
    "DEFAULT_DATABASE_URL",
    "MIGRATIONS_DIR",
    "alembic_config",
    "create_db_engine",
    "default_url",
    "normalize_url",
    "open_database",
    "open_existing_database",
    "upgrade_database",
]
