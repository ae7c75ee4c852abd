"""Models by name. ``default`` names the model the backtests show to be best."""

from __future__ import annotations

from collections.abc import Callable

from tryggplan.domain import InvalidInputError
from tryggplan.forecasting.base import Forecaster
from tryggplan.forecasting.baselines import HourOfWeekMean, Last14Days, PlaceOnly, SeasonalNaive
from tryggplan.forecasting.models import PooledCountModel, ProphetPooledModel
from tryggplan.forecasting.peers import AutoETSPeer, CrostonPeer, ProphetPeer, TSBPeer

BASELINES: tuple[str, ...] = ("how_mean", "seasonal_naive", "last_14_days", "place_only")

_FACTORIES: dict[str, Callable[[], Forecaster]] = {
    "how_mean": HourOfWeekMean,
    "seasonal_naive": SeasonalNaive,
    "last_14_days": Last14Days,
    "place_only": PlaceOnly,
    "pooled_glm": PooledCountModel,
    "prophet_pooled": ProphetPooledModel,
    # peers: their heavy libraries (prophet, statsforecast) are imported when a model is fitted
    "prophet": ProphetPeer,
    "croston": CrostonPeer,
    "tsb": TSBPeer,
    "autoets": AutoETSPeer,
}
DEFAULT_MODEL = "pooled_glm"


def register(name: str, factory: Callable[[], Forecaster]) -> None:
    """Make ``factory`` available under ``name`` (a model of your own, e.g. in a notebook)."""
    _FACTORIES[name] = factory


def available_models() -> list[str]:
    """Names accepted by :func:`get_model`, ``default`` first."""
    return ["default", *sorted(_FACTORIES)]


def resolve_name(name: str) -> str:
    """The registered name behind ``name`` (``default`` -> the default model)."""
    real = DEFAULT_MODEL if name == "default" else name
    if real not in _FACTORIES:
        raise InvalidInputError(f"unknown model {name!r}: choose one of {', '.join(available_models())}")
    return real


def get_model(name: str = "default") -> Forecaster:
    """A fresh, unfitted model by name."""
    return _FACTORIES[resolve_name(name)]()
