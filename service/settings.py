"""Service settings (pydantic-settings). Built by the app factory or the CLI, never at import.

Environment variables: ``DATABASE_URL`` (or ``TRYGGPLAN_DATABASE_URL``) and ``TRYGGPLAN_<FIELD>``
for every other field, e.g. ``TRYGGPLAN_MAX_UPLOAD_BYTES=10000000`` or ``TRYGGPLAN_MAX_ROWS=500000``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tryggplan.readers import DEFAULT_LIMITS, ReadLimits
from tryggplan.timeutil import check_tz

if TYPE_CHECKING:  # the sign-in use cases (argon2, the catalogs) load only where a session is checked
    from tryggplan.usecases.signin import RateLimit, SessionPolicy

DEFAULT_DATABASE_URL = "sqlite:///tryggplan.db"
#: OpenStreetMap's standard tiles (their tile usage policy asks for the attribution below and modest use)
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
_TILE_HOST = re.compile(r"^(\{s\}\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")
_MIB = 2**20


class Settings(BaseSettings):
    """Everything the service can be configured with."""

    model_config = SettingsConfigDict(env_prefix="TRYGGPLAN_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("TRYGGPLAN_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql+psycopg://user@host/db",
    )
    tz: str = Field(default="Europe/Stockholm", description="local time zone used to bin and show times")
    max_upload_bytes: int = Field(default=20_000_000, gt=0, description="largest accepted request body [bytes]")
    cors_origins: list[str] = Field(default_factory=list, description="allowed CORS origins (none by default)")
    default_model: str = Field(default="default", description="forecast model used when a request names none")
    solver_time_limit: float = Field(
        default=60.0, gt=0, description="time limit of one plan's solve [s]; the best plan found by then is returned"
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    dask_scheduler: str | None = Field(
        default=None,
        max_length=300,
        description="address of a Dask scheduler (tcp://host:8786): area plan runs solve the municipalities' "
        "plans in parallel on its cluster; none: one after the other in the service",
    )
    frozen_now: dt.datetime | None = Field(
        default=None,
        description="the service's clock stopped at this instant (ISO 8601 with offset): what plans, walk "
        "records and offers take as 'now'. For tests and replays of a past week only; never in production",
    )

    @field_validator("frozen_now")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError("give the instant with its offset, e.g. 2025-12-03T12:00:00+01:00")
        return value

    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="a sign-in lasts at most this long from signing in [h]"
    )
    session_idle_minutes: float = Field(
        default=120, gt=0, le=24 * 60, description="a sign-in ends after this long without a request [min]"
    )
    signin_window_minutes: float = Field(
        default=15, gt=0, le=24 * 60, description="failed sign-ins count for this long [min]"
    )
    signin_max_failures: int = Field(
        default=5, ge=1, le=1000, description="failed sign-ins for one username within the window before 429"
    )
    signin_max_failures_per_address: int = Field(
        default=20, ge=1, le=100_000, description="failed sign-ins from one client address within the window before 429"
    )

    def session_policy(self) -> SessionPolicy:
        from tryggplan.usecases.signin import SessionPolicy

        return SessionPolicy(
            absolute=dt.timedelta(hours=self.session_hours), idle=dt.timedelta(minutes=self.session_idle_minutes)
        )

    def rate_limit(self) -> RateLimit:
        from tryggplan.usecases.signin import RateLimit

        return RateLimit(
            window=dt.timedelta(minutes=self.signin_window_minutes),
            per_user=self.signin_max_failures,
            per_address=self.signin_max_failures_per_address,
        )

    tile_url: str = Field(
        default=DEFAULT_TILE_URL,
        description="map tiles for the dashboard, with {z}/{x}/{y} (and {s} for subdomains); empty: no tiles, "
        "the places on a plain outline. Its origin is added to the Content-Security-Policy's img-src",
    )
    tile_attribution: str = Field(default=DEFAULT_TILE_ATTRIBUTION, max_length=300, description="shown on the map")
    tile_max_zoom: int = Field(default=19, ge=1, le=22)
    http_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="HTTP server processes (`tryggplan serve`): one per core serves reads in parallel; each has "
        "its own memory budget and runs its own job pool (job_workers each)",
    )

    # ------------------------------------------------------------------ bounded input (tryggplan.readers.ReadLimits)
    max_decompressed_bytes: int = Field(
        default=DEFAULT_LIMITS.max_decompressed_bytes,
        ge=1,
        description="data of one file after decompression (a .csv.gz inflated, Parquet decoded) [bytes]",
    )
    max_rows: int = Field(default=DEFAULT_LIMITS.max_rows, ge=1, description="rows of one file besides the header")
    max_cells: int = Field(default=DEFAULT_LIMITS.max_cells, ge=1, description="rows x columns of one file")
    max_columns: int = Field(default=DEFAULT_LIMITS.max_columns, ge=1, description="columns of a file's header")
    max_field_chars: int = Field(
        default=DEFAULT_LIMITS.max_field_chars, ge=1, description="characters of one value (a longer one is a problem)"
    )
    max_record_chars: int = Field(
        default=DEFAULT_LIMITS.max_record_chars, ge=1, description="characters of one row (line or quoted value)"
    )
    max_problems: int = Field(default=DEFAULT_LIMITS.max_problems, ge=1, description="problems listed for one file")
    memory_budget_bytes: int = Field(
        default=512 * _MIB,
        ge=64 * _MIB,
        description="most memory reading uploads may add to the server [bytes]: uploads are read one at a time "
        "or a few at once so that together they stay under it (at the default limits one upload costs at most "
        "~500 MB: one at a time)",
    )

    # ------------------------------------------------------------------ jobs (tryggplan.usecases.jobs)
    job_workers: int = Field(
        default=2,
        ge=0,
        le=64,
        description="forecast runs, backtests and plan solves run at once, each in its own process outside the "
        "HTTP workers (0: this server runs no jobs; a `tryggplan worker` on the same database does)",
    )
    job_kinds: list[Literal["forecast", "backtest", "plan", "walk", "area"]] | None = Field(
        default=None,
        description="the kinds of job this server's pool runs (default all): e.g. only plan,walk here and the "
        "heavy forecast,backtest on a `tryggplan worker --kinds forecast,backtest` elsewhere",
    )
    max_jobs_per_caller: int = Field(
        default=4, ge=1, description="jobs one token may have queued or running at once (more: 429)"
    )
    max_queued_jobs: int = Field(
        default=200, ge=1, description="jobs queued or running at once in all (more: 429 with Retry-After)"
    )
    job_wait_seconds: float = Field(
        default=300.0,
        gt=0,
        description="how long POST /plans and a re-plan wait for their solve before answering 202 with the job [s]",
    )
    drain_seconds: float = Field(
        default=10.0,
        ge=0,
        description="on SIGTERM: how long running requests and jobs may take to finish before they are stopped "
        "(stopped jobs are marked failed) and the server exits [s]",
    )

    # ------------------------------------------------------------------ reads
    grid_dir: Path | None = Field(
        default=None,
        description="where finished runs' risk grids are kept in columnar form for fast window reads (default: "
        "a 'grids' folder beside a SQLite database, else none: read from the database)",
    )
    read_cache: bool = Field(
        default=True, description="keep rendered dashboard answers in memory (ReadCacheMiddleware)"
    )

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        check_tz(value)
        return value

    @field_validator("tile_url")
    @classmethod
    def _tile_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not _TILE_HOST.match(parts.netloc) or parts.query:
            raise ValueError(
                f"{value[:100]!r} is not a tile URL: give https://HOST/{{z}}/{{x}}/{{y}}.png (HOST may start with "
                "{s}.), or an empty value for no tiles"
            )
        missing = [k for k in ("{z}", "{x}", "{y}") if k not in parts.path]
        if missing:
            raise ValueError(f"tile URL {value[:100]!r} lacks {', '.join(missing)}: e.g. {DEFAULT_TILE_URL}")
        return value

    def tile_origin(self) -> str | None:
        """The tiles' origin as a CSP source (``{s}.`` as ``*.``), or ``None`` without tiles."""
        if not self.tile_url:
            return None
        parts = urlsplit(self.tile_url)
        return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"

    def read_limits(self) -> ReadLimits:
        """The limits every incident and places file is read within (413 when one is passed)."""
        return ReadLimits(
            max_decompressed_bytes=self.max_decompressed_bytes,
            max_rows=self.max_rows,
            max_cells=self.max_cells,
            max_columns=self.max_columns,
            max_field_chars=self.max_field_chars,
            max_record_chars=self.max_record_chars,
            max_problems=self.max_problems,
        )
