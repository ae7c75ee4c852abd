"""Backtests: metrics, rolling origins and reports (docs/architecture.md, "Forecasting").

>>> from tryggplan.forecasting.evaluation import backtest, write_report
>>> result = backtest(incidents, models=["default", "how_mean"], origins=26, tz="Europe/Stockholm")
>>> write_report(result, "out/")  # summary.json, metrics.csv, report.md, plots
"""

from tryggplan.forecasting.evaluation import metrics
from tryggplan.forecasting.evaluation.harness import (
    CURVE_KS,
    KS,
    BacktestResult,
    LeakageError,
    audit_leakage,
    backtest,
    evaluate_origin,
    make_origins,
    resolve_models,
)
from tryggplan.forecasting.evaluation.report import write_report

__all__ = [
    "CURVE_KS",
    "KS",
    "BacktestResult",
    "LeakageError",
    "audit_leakage",
    "backtest",
    "evaluate_origin",
    "make_origins",
    "metrics",
    "resolve_models",
    "write_report",
]
