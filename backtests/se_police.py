"""Backtest every model on the Swedish police events feed (290 municipalities x hour).

Reproduces the Swedish half of the accuracy table (docs/analyst/accuracy.md)::

    .venv/bin/python backtests/se_police.py                    # all models, 26 weekly origins
    .venv/bin/python backtests/se_police.py --engine dask      # origins in parallel
    .venv/bin/python backtests/se_police.py --models default,how_mean --origins 100

Writes ``var/backtests/se/`` (summary.json, metrics.csv, report.md, plots, accuracy_table.md).
Prophet fits one model per municipality and origin (~0.25 s each): with all 290
municipalities it dominates the run (about half an hour on two cores).
"""

from __future__ import annotations

from _common import arguments, require, run, swedish_incidents


def main() -> None:
    args = arguments("se", __doc__ or "")
    incidents = swedish_incidents(require(args.data / "se_police_events_2022_2025.csv.gz"))
    run("Swedish police events", incidents, "Europe/Stockholm", args)


if __name__ == "__main__":
    main()
