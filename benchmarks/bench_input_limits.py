"""Benchmark: the input bombs of issue 16 (and files at the default limits) against the readers.

    .venv/bin/python benchmarks/bench_input_limits.py [--dir DIR] [--only NAME,...]

Each file is read by ``tryggplan.readers.load_incidents`` with the default ``ReadLimits`` in a fresh
process (a parent whose only child is the reader, so ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is that
reader's peak). Prints per file: its size, the outcome (the limit that refused it, or the rows read),
the wall time of the read, the peak resident set size and its rise over the process after imports
(pandas and pyarrow loaded, as in a server). The service's memory budget per upload is 512 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tryggplan.readers import DEFAULT_LIMITS

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import pandas, pyarrow.parquet
    from tryggplan.domain import InputTooLargeError
    from tryggplan.readers import ReadLimits, load_incidents
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"baseline_kb": base}
    t = time.perf_counter()
    try:
        result = load_incidents(sys.argv[1], limits=ReadLimits(**json.loads(sys.argv[2])))
        out.update(outcome=f"read {len(result.valid)} of {result.rows} rows")
    except InputTooLargeError as e:
        out.update(outcome=f"413 {e.limit}")
    out["seconds"] = time.perf_counter() - t
    print(json.dumps(out))
    """
)
PARENT = textwrap.dedent(
    """
    import json, resource, subprocess, sys
    done = subprocess.run([sys.executable, "-c", sys.argv[1], *sys.argv[2:]], capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"rc": done.returncode, "out": done.stdout, "err": done.stderr[-2000:], "peak_kb": peak}))
    """
)
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def measure(path: Path, limits: dict[str, int]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PARENT, CHILD, str(path), json.dumps(limits)], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    if report["rc"] != 0:
        raise RuntimeError(report["err"])
    out = json.loads(report["out"])
    out["peak_mb"] = report["peak_kb"] / 1024
    out["rise_mb"] = (report["peak_kb"] - out["baseline_kb"]) / 1024
    return out


def zeros_gz(path: Path, mib: int, declared: int | None = None) -> Path:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as fh:
        block = bytes(2**20)
        for _ in range(mib):
            fh.write(packer.compress(block))
        fh.write(packer.flush())
    if declared is not None:  # a trailer that lies about the inflated size
        with path.open("r+b") as fh:
            fh.seek(-4, 2)
            fh.write(declared.to_bytes(4, "little"))
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def dictionary_bomb(path: Path) -> Path:
    n = 1_000_000
    column = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array(["x" * 1000]))
    pq.write_table(pa.table({"incident_id": column, "occurred_at": column, "place_id": column}), path)
    return path


def wide_header(path: Path, columns: int) -> Path:
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n")
    return path


def canonical_rows(path: Path, rows: int) -> Path:
    with path.open("w") as fh:
        fh.write("incident_id,occurred_at,place_id,category,source,weight\n")
        for i in range(rows):
            when = f"2025-0{1 + i % 9}-1{i % 10} 2{i % 4}:{i % 60:02d}"
            fh.write(f"id-{i:08d},{when},place-{i % 300},vandalism,police,1\n")
    return path


def long_values(path: Path) -> Path:
    """Rows of distinct long values, as many as fit in max_decompressed_bytes and max_rows."""
    rows = DEFAULT_LIMITS.max_rows
    with path.open("w") as fh:
        fh.write("incident_id,occurred_at,place_id,category,source,weight\n")
        for i in range(rows):
            when = f"2025-0{1 + i % 9}-1{i % 10} 2{i % 4}:{i % 60:02d}"
            fh.write(f"incident-{i:015d},{when},place-{i % 3000:020d},category-{i:011d},reporter-{i:09d},1\n")
    return path


def every_row_bad(path: Path) -> Path:
    """A file at max_rows whose every row has two problems (a month 13 and a negative weight)."""
    with path.open("w") as fh:
        fh.write("incident_id,occurred_at,place_id,category,source,weight\n")
        for i in range(DEFAULT_LIMITS.max_rows):
            fh.write(f"id-{i:08d},2025-13-1{i % 10} 2{i % 4}:{i % 60:02d},place-{i % 300},vandalism,police,-1\n")
    return path


def max_problems(path: Path) -> Path:
    """A file at max_rows with max_problems problems: every third row has a negative weight."""
    with path.open("w") as fh:
        fh.write("incident_id,occurred_at,place_id,category,source,weight\n")
        for i in range(DEFAULT_LIMITS.max_rows):
            when = f"2025-0{1 + i % 9}-1{i % 10} 2{i % 4}:{i % 60:02d}"
            fh.write(f"id-{i:08d},{when},place-{i % 300},vandalism,police,{-1 if i % 3 == 0 else 1}\n")
    return path


def tiny_cells(path: Path, width: int = 14) -> Path:
    rows = DEFAULT_LIMITS.max_cells // width
    with path.open("w") as fh:
        fh.write(",".join(["incident_id", "occurred_at", "place_id"] + [f"x{j}" for j in range(width - 3)]) + "\n")
        for i in range(rows):
            values = [f"{(i * width + j) % 238_328:03x}"[-3:] for j in range(width - 3)]
            fh.write(f"{i:x},2025-08-15 21:00,p{i % 50}," + ",".join(values) + "\n")
    return path


#: name -> (builder of the file in a directory, limits other than the defaults, what it is)
CASES: dict[str, tuple[Callable[[Path], Path], dict[str, int], str]] = {
    "gzip_zeros_1gib": (lambda d: zeros_gz(d / "zeros1g.csv.gz", 1024), {}, "1 MB .csv.gz of 1 GiB of zeros"),
    "gzip_zeros_256mib": (lambda d: zeros_gz(d / "zeros256m.csv.gz", 256), {}, "256 MiB of zeros"),
    "gzip_zeros_forged": (
        lambda d: zeros_gz(d / "forged.csv.gz", 1024, declared=100),
        {},
        "1 GiB of zeros, trailer says 100 bytes",
    ),
    "line_breaks": (
        lambda d: _write(d / "breaks.csv", b"\n" * (30 * 2**20) + b"incident_id,occurred_at,place_id\n"),
        {},
        "30 million line breaks, then a header",
    ),
    "parquet_dictionary": (lambda d: dictionary_bomb(d / "dict.parquet"), {}, "1000-char string x 1M rows x 3"),
    "parquet_dictionary_rows_raised": (
        lambda d: dictionary_bomb(d / "dict.parquet"),
        {"max_rows": 2_000_000, "max_cells": 10_000_000},
        "the same, max_rows and max_cells raised",
    ),
    "header_1e5_columns": (lambda d: wide_header(d / "wide1e5.csv", 10**5), {}, "header of 10^5 columns"),
    "header_1e6_columns": (lambda d: wide_header(d / "wide1e6.csv", 10**6), {}, "header of 10^6 columns"),
    "at_max_rows": (
        lambda d: canonical_rows(d / "rows.csv", DEFAULT_LIMITS.max_rows),
        {},
        f"{DEFAULT_LIMITS.max_rows:,} canonical rows",
    ),
    "at_max_bytes": (
        lambda d: long_values(d / "long.csv"),
        {},
        f"{DEFAULT_LIMITS.max_rows:,} rows of distinct long values",
    ),
    "at_max_rows_all_bad": (
        lambda d: every_row_bad(d / "bad.csv"),
        {},
        f"{DEFAULT_LIMITS.max_rows:,} rows, two problems each",
    ),
    "at_max_problems": (
        lambda d: max_problems(d / "problems.csv"),
        {},
        f"{DEFAULT_LIMITS.max_rows:,} rows, {DEFAULT_LIMITS.max_problems:,} problems",
    ),
    "at_max_cells": (lambda d: tiny_cells(d / "cells.csv"), {}, f"{DEFAULT_LIMITS.max_cells:,} 3-char values"),
    "police_feed": (
        lambda d: SHARED / "se_police_events_2022_2025.csv.gz",
        {},
        "real: the police feed, 70,289 rows",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files (default: a temp dir)")
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print("| case | file | size | outcome | seconds | peak RSS [MB] | rise [MB] |")
        print("|---|---|---:|---|---:|---:|---:|")
        for name in names:
            build, limits, what = CASES[name]
            path = build(folder)
            if not path.exists():
                continue
            got = measure(path, limits)
            size = path.stat().st_size
            shown = f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.0f} kB"
            print(
                f"| {name} | {what} | {shown} | {got['outcome']} | {got['seconds']:.2f} | "
                f"{got['peak_mb']:.0f} | {got['rise_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
