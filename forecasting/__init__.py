"""Forecasting: count-aware models that turn hourly counts into the risk grid.

Use :func:`tryggplan.forecasting.registry.get_model` to build a model by name, ``fit(counts)`` it on
the long ``place_id, slot_start, count`` frame, and ``predict(start, days)`` the risk grid.
"""

from tryggplan.forecasting.base import Forecaster
from tryggplan.riskgrid import RiskLevels, finish_grid

__all__ = ["Forecaster", "RiskLevels", "finish_grid"]
