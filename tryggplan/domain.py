"""Canonical columns and the exceptions every layer raises.

The canonical data (see docs/architecture.md):

* incidents: ``incident_id, occurred_at (UTC), place_id, category, source, weight``
* places: ``place_id, name, municipality, lat, lon, kind, area``
* the risk grid (forecast contract): one row per place and local hourly slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import pandas as pd

INCIDENT_COLUMNS: tuple[str, ...] = ("incident_id", "occurred_at", "place_id", "category", "source", "weight")
REQUIRED_INCIDENT_COLUMNS: tuple[str, ...] = ("incident_id", "occurred_at", "place_id")
PLACE_COLUMNS: tuple[str, ...] = ("place_id", "name", "municipality", "lat", "lon", "kind", "area")

#: Columns of the risk grid, in order. ``nb_alpha`` is the negative-binomial dispersion of the
#: predictive distribution (variance = expected + nb_alpha * expected**2; 0 means Poisson), so
#: consumers can compute any quantile or the PIT without knowing the model.
RISK_GRID_COLUMNS: tuple[str, ...] = (
    "place_id",
    "slot_start",
    "expected",
    "p_any",
    "lo_80",
    "hi_80",
    "nb_alpha",
    "model",
    "model_version",
    "trained_until",
    "generated_at",
    "risk_level",
)
RISK_LEVELS: tuple[str, ...] = ("high", "elevated", "normal")

#: Roles of API tokens (docs/architecture.md, "Access"): ``reader`` (dashboards), ``coordinator``
#: (resources, plans, the season), ``analyst`` (incidents, imports, backtests), ``admin`` (all),
#: ``reporter`` (trained reporters: create incidents, read only their own, see places and categories).
Role = Literal["reader", "coordinator", "analyst", "admin", "reporter"]
ROLES: tuple[Role, ...] = get_args(Role)

DEFAULT_TZ = "Europe/Stockholm"
DEFAULT_WEIGHT = 1.0

#: Longest id, place id, category or source [characters] (every layer checks against these).
MAX_ID_CHARS = 1000
#: Longest place name, municipality, kind or area [characters].
MAX_NAME_CHARS = 400
#: WGS84 ranges of a place's coordinates [degrees].
LAT_RANGE: tuple[float, float] = (-90.0, 90.0)
LON_RANGE: tuple[float, float] = (-180.0, 180.0)


class TryggplanError(Exception):
    """Base class of the errors tryggplan raises on purpose; the message says what to fix."""


class InvalidInputError(TryggplanError, ValueError):
    """Input that cannot be used as it is. ``problems`` lists every problem found."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])


class InputTooLargeError(InvalidInputError):
    """An input file passes one of the reader's size limits (``tryggplan.readers.ReadLimits``).

    Raised before the data is materialised, so a bomb (a small gzip or Parquet file that inflates to
    gigabytes, a header of a million columns) costs no more memory than the limit. The HTTP service
    answers it with 413.

    Attributes
    ----------
    limit : the name of the ``ReadLimits`` field that was passed, e.g. ``"max_rows"``
    value : the configured value of that limit
    actual : what the file has (or at least has, when reading stopped at the limit); ``None`` when
        not known
    """

    def __init__(
        self, message: str, *, limit: str, value: int, actual: int | None = None, problems: list[Problem] | None = None
    ) -> None:
        super().__init__(message, problems)
        self.limit = limit
        self.value = value
        self.actual = actual


class NotFittedError(TryggplanError, RuntimeError):
    """A model was asked to predict before ``fit`` was called."""


class NotFoundError(TryggplanError, LookupError):
    """A stored thing (plan, forecast run, place, token, ...) that does not exist; the message says
    where to look (the API answers 404)."""


class PermissionDeniedError(TryggplanError, PermissionError):
    """The caller's role (or municipality) may not do this; the message says what it needs (403)."""


@dataclass(frozen=True)
class Problem:
    """One problem with one row of an input file.

    ``row`` is the 1-based line number in the file as a spreadsheet shows it (header = 1),
    or ``None`` for a problem with the whole file.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    fix: str = ""
    value: str | None = field(default=None, compare=False)
    #: short machine-readable class of the problem (e.g. ``bad_timestamp``) for counting in reports
    kind: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" -> {self.fix}"
        return text


def empty_incidents() -> pd.DataFrame:
    """An empty incident frame with the canonical columns and dtypes."""
    return pd.DataFrame(
        {
            "incident_id": pd.Series(dtype="string"),
            "occurred_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "place_id": pd.Series(dtype="string"),
            "category": pd.Series(dtype="string"),
            "source": pd.Series(dtype="string"),
            "weight": pd.Series(dtype="float64"),
        }
    )
