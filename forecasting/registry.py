"""Models by name. ``default`` names the model the backtests show to be best."""

from __future__ import annotations

from collections.abc import Callable

from forecasting.base import Forecaster
from forecasting.baselines import HourOfWeekMean, Last14Days, PlaceOnly, SeasonalNaive
from tryggplan.domain import InvalidInputError

BASELINES: tuple[str, ...] = ("how_mean", "seasonal_naive", "last_14_days", "place_only")

_FACTORIES: dict[str, Callable[[], Forecaster]] = {
    "how_mean": HourOfWeekMean,
    "seasonal_naive": SeasonalNaive,
    "last_14_days": Last14Days,
    "place_only": PlaceOnly,
}
DEFAULT_MODEL = "pooled_glm"


def register(name: str, factory: Callable[[], Forecaster]) -> None:
    """Make ``factory`` available under ``name`` (used by the peer and model modules)."""
    _FACTORIES[name] = factory


def _load_optional() -> None:
    # Models with heavy imports register themselves on import; import them lazily so that
    # `tryggplan --help` stays fast.
    import forecasting.models  # noqa: F401
    try:
        import forecasting.peers  # noqa: F401
    except ImportError:  # pragma: no cover - peers are optional until installed
        pass


def available_models() -> list[str]:
    """Names accepted by :func:`get_model`, ``default`` first."""
    _load_optional()
    return ["default", *sorted(_FACTORIES)]


def resolve_name(name: str) -> str:
    """The registered name behind ``name`` (``default`` -> the default model)."""
    _load_optional()
    real = DEFAULT_MODEL if name == "default" else name
    if real not in _FACTORIES:
        raise InvalidInputError(f"unknown model {name!r}: choose one of {', '.join(available_models())}")
    return real


def get_model(name: str = "default") -> Forecaster:
    """A fresh, unfitted model by name."""
    return _FACTORIES[resolve_name(name)]()
