"""Benchmark: how long a ``tryggplan`` command takes to start, as a script calling it sees it.

    .venv/bin/python benchmarks/bench_cli_startup.py [--repeat 5]

Runs each command's ``--help`` (start-up only: imports and argument parsing) and a real ``import`` of a
3-row file into a SQLite database that is already at the newest schema (what a script importing one
file after another pays), each ``--repeat`` times in a fresh process; prints the median and the best
wall time [s]. The CLI loads only the module of the command it runs (``tryggplan.cli.COMMAND_MODULES``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = ("import", "validate", "token", "demo-data", "plan", "season", "forecast", "report", "serve")
PLACES = "place_id,name,municipality,lat,lon,kind,area\nparken,Parken,Arboga,59.3936,15.8386,park,centrum\n"
INCIDENTS = (
    "incident_id,occurred_at,place_id,category,source,weight\n"
    "k1,2025-08-15T21:10:00+02:00,parken,vandalism,reporter,1\n"
    "k2,2025-08-16 00:20,parken,disorder,police,1\n"
    "k3,2025-08-16T23:05:00+02:00,parken,assault,police,2\n"
)


def tryggplan() -> str:
    found = Path(sys.executable).with_name("tryggplan")
    return str(found) if found.exists() else shutil.which("tryggplan") or "tryggplan"


def timed(argv: list[str], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        seconds.append(time.perf_counter() - t0)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    exe = tryggplan()
    rows: list[tuple[str, list[float]]] = []
    for command in COMMANDS:
        rows.append((f"{command} --help", timed([exe, command, "--help"], args.repeat)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "places.csv").write_text(PLACES)
        (folder / "good.csv").write_text(INCIDENTS)
        call = [exe, "import", str(folder / "good.csv"), "--places", str(folder / "places.csv"),
                "--db", f"sqlite:///{folder / 't.db'}"]  # fmt: skip
        subprocess.run(call, check=True, capture_output=True)  # creates and migrates the database
        rows.append(("import of 3 rows (database exists)", timed(call, args.repeat)))
    print(f"{'command':40s} {'median [s]':>10s} {'best [s]':>9s}")
    for name, seconds in rows:
        print(f"{name:40s} {statistics.median(seconds):10.2f} {min(seconds):9.2f}")


if __name__ == "__main__":
    main()
