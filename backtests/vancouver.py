"""Backtest every model on the Vancouver 2018 crime data (24 neighbourhoods x hour).

Reproduces the Vancouver half of the accuracy table (docs/analyst/accuracy.md)::

    .venv/bin/python backtests/vancouver.py
    .venv/bin/python backtests/vancouver.py --models default,how_mean,croston --origins 40

Writes ``var/backtests/vancouver/`` (summary.json, metrics.csv, report.md, plots, accuracy_table.md).
"""

from __future__ import annotations

from _common import arguments, require, run, vancouver_incidents


def main() -> None:
    args = arguments("vancouver", __doc__ or "")
    incidents = vancouver_incidents(require(args.data / "vancouver_2018.csv.gz"))
    run("Vancouver 2018", incidents, "America/Vancouver", args)


if __name__ == "__main__":
    main()
