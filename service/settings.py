"""Service settings (pydantic-settings). Built by the app factory or the CLI, never at import.

Environment variables: ``DATABASE_URL`` (or ``TRYGGPLAN_DATABASE_URL``) and ``TRYGGPLAN_<FIELD>``
for every other field, e.g. ``TRYGGPLAN_MAX_UPLOAD_BYTES=10000000``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tryggplan.timeutil import check_tz

DEFAULT_DATABASE_URL = "sqlite:///tryggplan.db"
#: OpenStreetMap's standard tiles (their tile usage policy asks for the attribution below and modest use)
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
_TILE_HOST = re.compile(r"^(\{s\}\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")


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

    tile_url: str = Field(
        default=DEFAULT_TILE_URL,
        description="map tiles for the dashboard, with {z}/{x}/{y} (and {s} for subdomains); empty: no tiles, "
        "the places on a plain outline. Its origin is added to the Content-Security-Policy's img-src",
    )
    tile_attribution: str = Field(default=DEFAULT_TILE_ATTRIBUTION, max_length=300, description="shown on the map")
    tile_max_zoom: int = Field(default=19, ge=1, le=22)

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
