"""Write a backtest's results: ``summary.json``, CSV tables, ``report.md`` and PNG plots.

Files are written to temporary names and renamed into place, so an interrupted run never
leaves a half-written file under a final name.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tryggplan.forecasting.evaluation.harness import CURVE_KS, KS, BacktestResult

SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("poisson_deviance", "deviance", "lower"),
    ("log_score", "log score", "lower"),
    ("mae", "MAE", "lower"),
    ("hit_rate@5", "HR@5", "higher"),
    ("hit_rate@10", "HR@10", "higher"),
    ("hit_rate@20", "HR@20", "higher"),
    ("pai@10", "PAI@10", "higher"),
    ("coverage_80", "cov80", "-"),
    ("pit_coverage_80", "PIT80", "0.80"),
    ("night_hit", "night", "higher"),
    ("calibration_mae", "cal. err", "lower"),
)

READING_GUIDE = """\
## How to read this

- **deviance**: mean Poisson deviance per place-hour (lower is better; 0 = perfect). The
  expected count is clipped at 1e-9, so a model that says "never" where something happened
  pays a large penalty.
- **log score**: mean -log P(observed count) under the model's own predictive distribution
  (Poisson or negative binomial) [nats per place-hour]; lower is better.
- **MAE**: mean absolute error of the expected count [incidents/h]. With sparse counts it
  rewards predicting zero; read it together with the deviance.
- **HR@k**: share of the actual incidents of a week that fell in the k% place-hours the model
  ranked riskiest (ties at the cut-off shared equally), averaged over origins; a week without
  incidents is left out. Chance is k/100.
- **PAI@k**: HR@k divided by k/100: how many times better than chance the flagged hours are.
- **cov80**: share of counts inside the integer 80% interval [lo_80, hi_80]. With counts of 0
  or 1 this is far above 0.80 even for a calibrated model; do not tune it to 0.80.
- **PIT80**: nonrandomized PIT coverage (Czado, Gneiting & Held 2009): 0.80 when the predictive
  distribution is calibrated; below means overconfident, above underconfident. Target 0.75-0.85.
- **night**: share of weeks where the night (18:00-06:00) with the most expected incidents,
  summed over all places, was a night with the most actual incidents.
- **cal. err**: mean |expected - observed| over the deciles of predicted risk
  (`calibration.png`, `calibration.csv`).

Files: `metrics.csv` (per origin, model and place: observed, expected, deviance, MAE, log score,
coverages, hits@5/10/20 = incidents of the place inside the top-k cells, night_hit),
`origins.csv` (per origin and model, including the hit-rate curve), `calibration.csv`,
`how_errors.csv` (mean error expected - observed per hour of week).
"""


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False, float_format="%.6g")
    os.replace(tmp, path)


def summary_document(result: BacktestResult, default: str = "default") -> dict[str, Any]:
    """The ``summary.json`` document: ``{"default": NAME, "models": {NAME: {metric: value}}, ...}``.

    ``default`` is the name of the model the reader should look at (``default`` when it was
    run, else the first model); ``resolved`` maps each name to the registered model it ran.
    """
    name = default if default in result.resolved else result.models[0]
    return _clean(
        {
            "default": name,
            "default_model": result.resolved[name],
            "resolved": result.resolved,
            "models": result.summary(),
            "settings": result.settings,
        }
    )


def markdown_table(summary: dict[str, dict[str, float]]) -> str:
    """The comparison table (one row per model) in Markdown."""
    head = "| model | " + " | ".join(label for _, label, _ in SUMMARY_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(SUMMARY_COLUMNS)
    rows = [head, rule]
    for model, values in summary.items():
        cells = []
        for key, _, _ in SUMMARY_COLUMNS:
            v = values.get(key)
            missing = v is None or (isinstance(v, float) and not math.isfinite(v))
            cells.append("n/a" if missing else f"{v:.4g}")
        rows.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _plots(result: BacktestResult, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    models = result.models
    o = result.origins

    fig, ax = plt.subplots(figsize=(7, 5))
    for name in models:
        sub = o[o["model"] == name]
        ax.plot(CURVE_KS, [np.nanmean(sub[f"hit_rate@{k}"]) for k in CURVE_KS], marker="o", ms=3, label=name)
    ax.plot([0, 100], [0, 1], color="grey", ls="--", lw=1, label="chance")
    ax.set(
        xlabel="top k% of place-hours flagged",
        ylabel="share of incidents in flagged hours",
        title="Hit-rate curve (mean over origins)",
        xlim=(0, 100),
        ylim=(0, 1),
    )
    ax.legend(fontsize=8)
    written.append(_save(fig, out / "hit_rate_curve.png"))

    fig, ax = plt.subplots(figsize=(6, 6))
    lo, hi = np.inf, 0.0
    for name in models:
        cal = result.calibration_table(name)
        keep = (cal["mean_expected"] > 0) & (cal["mean_observed"] > 0)
        ax.plot(cal["mean_expected"][keep], cal["mean_observed"][keep], marker="o", ms=4, label=name)
        if keep.any():
            lo = min(lo, cal["mean_expected"][keep].min(), cal["mean_observed"][keep].min())
            hi = max(hi, cal["mean_expected"][keep].max(), cal["mean_observed"][keep].max())
    if np.isfinite(lo) and hi > 0:
        ax.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1, label="perfect")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set(
        xlabel="mean expected [incidents/h]",
        ylabel="mean observed [incidents/h]",
        title="Calibration by decile of predicted risk",
    )
    ax.legend(fontsize=8)
    written.append(_save(fig, out / "calibration.png"))

    fig, axes = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for name in models:
        sub = o[o["model"] == name]
        dates = pd.to_datetime(sub["origin"])
        axes[0].plot(dates, sub["poisson_deviance"], marker=".", label=name)
        axes[1].plot(dates, sub["hit_rate@10"], marker=".", label=name)
    axes[0].set(ylabel="Poisson deviance", title="Metrics per origin")
    axes[1].set(ylabel="hit rate @10%", xlabel="origin")
    axes[0].legend(fontsize=8)
    fig.autofmt_xdate()
    written.append(_save(fig, out / "metrics_over_time.png"))

    n = len(models)
    fig, axes = plt.subplots(n, 1, figsize=(9, 2.2 * n + 0.6), squeeze=False)
    h = result.how_errors
    finite = len(h) and np.isfinite(h["mean_error"]).any()
    limit = float(np.nanmax(np.abs(h["mean_error"]))) if finite else 1.0
    for ax, name in zip(axes[:, 0], models, strict=True):
        grid = h[h["model"] == name].set_index("hour_of_week")["mean_error"].reindex(range(168)).to_numpy()
        im = ax.imshow(grid.reshape(7, 24), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], fontsize=7)
        ax.set_xticks(range(0, 24, 3), [f"{x:02d}" for x in range(0, 24, 3)], fontsize=7)
        ax.set_title(f"{name}: mean error expected - observed [incidents/h]", fontsize=9)
        fig.colorbar(im, ax=ax)
    written.append(_save(fig, out / "how_error_heatmap.png"))
    return written


def _save(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    tmp = path.with_name(path.stem + ".tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path.name


def write_report(
    result: BacktestResult, out_dir: str | os.PathLike[str], default: str = "default", plots: bool = True
) -> dict[str, Any]:
    """Write all outputs of a backtest into ``out_dir`` (created if needed); returns the summary.

    Writes ``summary.json``, ``metrics.csv``, ``origins.csv``, ``calibration.csv``,
    ``how_errors.csv``, ``report.md`` and (``plots=True``) ``hit_rate_curve.png``,
    ``calibration.png``, ``metrics_over_time.png``, ``how_error_heatmap.png``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = summary_document(result, default)
    _write_csv(out / "metrics.csv", result.metrics)
    _write_csv(out / "origins.csv", result.origins)
    _write_csv(out / "calibration.csv", result.calibration)
    _write_csv(out / "how_errors.csv", result.how_errors)
    images = _plots(result, out) if plots else []
    s = result.settings
    lines = [
        "# Backtest report",
        "",
        f"{len(s.get('origins', []))} origins from {s.get('origins', ['?'])[0]} to "
        f"{s.get('origins', ['?'])[-1]}"
        f" every {s.get('step_days')} days, horizon {s.get('horizon_days')} days, {s.get('window')} window;"
        f" {s.get('places')} places, {s.get('incidents', 0):.0f} incidents from {s.get('data_start')} to"
        f" {s.get('data_end')} ({s.get('tz')}).",
        "",
        f"`{doc['default']}` ran model `{doc['default_model']}`. Models as run -> registered: "
        + ", ".join(f"`{k}` -> `{v}`" for k, v in result.resolved.items())
        + ".",
        "",
        markdown_table(doc["models"]),
        "",
        "Best per column: " + ", ".join(_best(doc["models"])) + ".",
        "",
        READING_GUIDE,
    ]
    if images:
        lines += ["## Plots", ""] + [f"![{name}]({name})" for name in images] + [""]
    _write_text(out / "report.md", "\n".join(lines))
    _write_text(out / "summary.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return doc


def _best(summary: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for key, label, better in SUMMARY_COLUMNS:
        vals: dict[str, float] = {
            m: float(v[key])
            for m, v in summary.items()
            if isinstance(v.get(key), int | float) and math.isfinite(v[key])
        }
        if not vals or better not in ("lower", "higher", "0.80"):
            continue
        if better == "lower":
            best = min(vals, key=lambda m: vals[m])
        elif better == "higher":
            best = max(vals, key=lambda m: vals[m])
        else:
            best = min(vals, key=lambda m: abs(vals[m] - 0.8))
        out.append(f"{label} `{best}`")
    return out


__all__ = ["KS", "markdown_table", "summary_document", "write_report"]
