"""Bounded input: every limit of ReadLimits refuses a file before it is materialised, with the limit's
name, its value and a message saying what to do; the bombs of issue 16 stay under the memory budget."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tryggplan.domain import InputTooLargeError, InvalidInputError
from tryggplan.readers import (
    DEFAULT_LIMITS,
    LIMIT_NAMES,
    ReadLimits,
    load_incidents,
    read_incidents,
    read_places,
    read_table,
)
from tryggplan.validation import MAX_FIELD_CHARS

SPLIT = "split the file into smaller files (e.g. one per year; importing is idempotent)"
QUOTES = (
    "check that quotes are balanced (an unclosed quote swallows the rest of the file) and that the file has line breaks"
)
COLUMNS_FIX = "keep only the columns needed (id, time, place, category, source, weight) and check the separator"


def refused(read: Callable[[], object]) -> InputTooLargeError:
    with pytest.raises(InputTooLargeError) as err:
        read()
    return err.value


def message(file: str, what: str, limit: str, value: int, fix: str) -> str:
    return f"{file}: {what}, over the limit {limit}={value} -> {fix}, or raise the {limit} setting"


def gz_with_trailer(data: bytes, declared: int) -> bytes:
    """gzip of ``data`` whose trailer claims ``declared`` bytes (a bomb that lies about its size)."""
    packed = bytearray(gzip.compress(data))
    packed[-4:] = declared.to_bytes(4, "little")
    return bytes(packed)


# --------------------------------------------------------------------------- the limits themselves


def test_defaults_are_documented_numbers() -> None:
    assert DEFAULT_LIMITS == ReadLimits(
        max_decompressed_bytes=32 * 2**20,
        max_rows=300_000,
        max_cells=3_000_000,
        max_columns=200,
        max_field_chars=1000,
        max_record_chars=1_000_000,
        max_problems=100_000,
    )
    assert DEFAULT_LIMITS.max_field_chars == MAX_FIELD_CHARS  # the long_field rule of validation
    assert LIMIT_NAMES == (
        "max_decompressed_bytes",
        "max_rows",
        "max_cells",
        "max_columns",
        "max_field_chars",
        "max_record_chars",
        "max_problems",
    )


@pytest.mark.parametrize(
    ("field", "value"), [("max_rows", 0), ("max_columns", -1), ("max_cells", 2.5), ("max_record_chars", True)]
)
def test_limits_must_be_positive_whole_numbers(field: str, value: object) -> None:
    with pytest.raises(InvalidInputError) as err:
        ReadLimits(**{field: value})  # type: ignore[arg-type]
    assert str(err.value) == f"ReadLimits.{field} must be a whole number >= 1, got {value!r}"


def test_the_error_is_an_invalid_input_error_with_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 49)
    err = refused(lambda: read_table(path, limits=ReadLimits(max_decompressed_bytes=100)))
    assert isinstance(err, InvalidInputError)
    assert (err.limit, err.value, err.actual) == ("max_decompressed_bytes", 100, 200)
    assert [(p.file, p.row, p.kind) for p in err.problems] == [("big.csv", None, "too_large")]
    assert err.problems[0].message == (
        "the file is 200 bytes (the limit is 100 bytes), over the limit max_decompressed_bytes=100"
    )


# --------------------------------------------------------------------------- max_decompressed_bytes


def test_plain_csv_over_the_byte_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 49)
    err = refused(lambda: load_incidents(path, limits=ReadLimits(max_decompressed_bytes=100)))
    assert str(err) == message(
        "big.csv",
        "the file is 200 bytes (the limit is 100 bytes)",
        "max_decompressed_bytes",
        100,
        SPLIT,
    )
    assert read_table(path, limits=ReadLimits(max_decompressed_bytes=200)).rows == list(range(2, 51))


def test_gzip_declaring_more_than_the_limit_is_refused_without_inflating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 100))
    err = refused(lambda: load_incidents(path, limits=ReadLimits(max_decompressed_bytes=100)))
    assert (err.limit, err.value, err.actual) == ("max_decompressed_bytes", 100, 404)
    assert str(err) == message(
        "bomb.csv.gz",
        "the gzip file inflates to 404 bytes (the limit is 100 bytes)",
        "max_decompressed_bytes",
        100,
        SPLIT,
    )


def test_gzip_lying_about_its_size_is_stopped_while_inflating(tmp_path: Path) -> None:
    path = tmp_path / "liar.csv.gz"
    path.write_bytes(gz_with_trailer(b"a,b\n" + b"1,2\n" * 786_432, declared=10))  # 3 MiB inflated
    limit = 2**20 - 1
    err = refused(lambda: read_table(path, limits=ReadLimits(max_decompressed_bytes=limit)))
    assert (err.limit, err.value, err.actual) == ("max_decompressed_bytes", limit, None)
    assert str(err) == message(
        "liar.csv.gz",
        f"the gzip file inflates to more than {limit} bytes (the limit is {limit} bytes)",
        "max_decompressed_bytes",
        limit,
        SPLIT,
    )


def test_gzip_within_the_limit_reads(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 100))
    assert len(read_table(path, limits=ReadLimits(max_decompressed_bytes=404)).records) == 100


def test_parquet_refused_from_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"incident_id": ["x" * 50] * 100}), path, use_dictionary=False)
    meta = pq.ParquetFile(path).metadata
    stored = meta.row_group(0).column(0).total_uncompressed_size
    assert stored > 5000
    err = refused(lambda: read_table(path, limits=ReadLimits(max_decompressed_bytes=2000)))
    assert (err.limit, err.value, err.actual) == ("max_decompressed_bytes", 2000, stored)
    assert str(err) == message(
        "plain.parquet",
        f"the Parquet data is {stored} bytes uncompressed (the limit is 2000 bytes)",
        "max_decompressed_bytes",
        2000,
        SPLIT,
    )


def test_parquet_dictionary_counted_as_it_would_decode(tmp_path: Path) -> None:
    """One 100-character value in 1000 rows is stored in a few hundred bytes and decodes to 100 kB."""
    path = tmp_path / "dict.parquet"
    pq.write_table(pa.table({"category": ["k" * 100] * 1000}), path, use_dictionary=True)
    stored = pq.ParquetFile(path).metadata.row_group(0).column(0).total_uncompressed_size
    assert stored < 1000
    err = refused(lambda: read_table(path, limits=ReadLimits(max_decompressed_bytes=50_000)))
    # 1000 values of 100 bytes plus Arrow's 4-byte offset per value
    assert (err.limit, err.value, err.actual) == ("max_decompressed_bytes", 50_000, 104_000)
    assert str(err) == message(
        "dict.parquet",
        "the Parquet data decodes to at least 104000 bytes (the limit is 50000 bytes)",
        "max_decompressed_bytes",
        50_000,
        SPLIT,
    )
    table = read_table(path, limits=ReadLimits(max_decompressed_bytes=104_000))
    assert len(table.records) == 1000 and table.records[0] == ["k" * 100]


# --------------------------------------------------------------------------- max_rows and max_cells


def test_csv_rows_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n\n3,4\n5,6\n")
    err = refused(lambda: read_incidents(path, limits=ReadLimits(max_rows=2)))
    assert (err.limit, err.value, err.actual) == ("max_rows", 2, None)
    assert str(err) == message("rows.csv", "the file has more than 2 rows", "max_rows", 2, SPLIT)
    # blank rows count as rows (each costs time to read), before the header too
    path.write_text("a,b\n1,2\n\n")
    assert read_table(path, limits=ReadLimits(max_rows=2)).rows == [2]
    path.write_text("\n\n\na,b\n1,2\n")
    err = refused(lambda: read_table(path, limits=ReadLimits(max_rows=2)))
    assert (err.limit, err.actual) == ("max_rows", None)
    path.write_text("\na,b\n1,2\n")
    assert read_table(path, limits=ReadLimits(max_rows=2)).rows == [3]


def test_parquet_rows_over_the_limit_from_metadata(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), path)
    err = refused(lambda: read_table(path, limits=ReadLimits(max_rows=2)))
    assert (err.limit, err.value, err.actual) == ("max_rows", 2, 3)
    assert str(err) == message("rows.parquet", "the file has 3 rows", "max_rows", 2, SPLIT)


def test_cells_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9\n")
    err = refused(lambda: read_table(path, limits=ReadLimits(max_cells=8)))
    assert (err.limit, err.value, err.actual) == ("max_cells", 8, None)
    fix = "leave out the columns that are not needed, or " + SPLIT
    assert str(err) == message("cells.csv", "the file has more than 8 values (rows x 3 columns)", "max_cells", 8, fix)
    assert len(read_table(path, limits=ReadLimits(max_cells=9)).records) == 3
    parquet = tmp_path / "cells.parquet"
    pq.write_table(pa.table({"a": [1, 4, 7], "b": [2, 5, 8], "c": [3, 6, 9]}), parquet)
    err = refused(lambda: read_table(parquet, limits=ReadLimits(max_cells=8)))
    assert (err.limit, err.actual) == ("max_cells", 9)
    assert str(err) == message("cells.parquet", "the file has 9 values (rows x 3 columns)", "max_cells", 8, fix)


# --------------------------------------------------------------------------- max_columns


def test_header_over_the_column_limit(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("a;b;c;d;e\n1;2;3;4;5\n")
    err = refused(lambda: load_incidents(path, limits=ReadLimits(max_columns=4)))
    assert (err.limit, err.value, err.actual) == ("max_columns", 4, 5)
    assert str(err) == message("wide.csv", "the header has 5 columns", "max_columns", 4, COLUMNS_FIX)


def test_a_header_too_long_to_split_is_refused_by_counting_separators(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("a,b,c,d,e,f,g\n1,2,3,4,5,6,7\n")
    err = refused(lambda: read_table(path, limits=ReadLimits(max_columns=4, max_record_chars=10)))
    assert (err.limit, err.value, err.actual) == ("max_columns", 4, 7)
    assert str(err) == message("wide.csv", "the header has at least 7 columns", "max_columns", 4, COLUMNS_FIX)


def test_parquet_columns_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({c: [1] for c in "abcde"}), path)
    err = refused(lambda: read_table(path, limits=ReadLimits(max_columns=4)))
    assert (err.limit, err.value, err.actual) == ("max_columns", 4, 5)


def test_duplicate_headers_in_a_wide_header_are_found(tmp_path: Path) -> None:
    """The duplicate check is a set, not a search per column: a 5000-column header with two repeats."""
    names = [f"c{i}" for i in range(5000)] + ["c7", "C 10"]  # "C 10" is not "c10": spaces become _
    path = tmp_path / "dups.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    result = load_incidents(path, limits=ReadLimits(max_columns=10_000, max_cells=100_000))
    assert [(p.column, p.kind) for p in result.problems] == [("c7", "duplicate_column")]
    path.write_text(",".join([*names, "C10"]) + "\n" + ",".join("1" for _ in range(len(names) + 1)) + "\n")
    result = load_incidents(path, limits=ReadLimits(max_columns=10_000, max_cells=100_000))
    assert [(p.column, p.kind) for p in result.problems] == [("c7", "duplicate_column"), ("C10", "duplicate_column")]


# --------------------------------------------------------------------------- max_record_chars, max_field_chars


def test_a_row_longer_than_the_record_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("a,b\n1,2\n" + "3," + "x" * 40 + "\n")
    err = refused(lambda: read_table(path, limits=ReadLimits(max_record_chars=30)))
    assert (err.limit, err.value, err.actual) == ("max_record_chars", 30, None)
    assert str(err) == (
        "long.csv, row 3: the row is longer than 30 characters, over the limit max_record_chars=30 -> "
        f"{QUOTES}, or raise the max_record_chars setting"
    )
    assert [p.row for p in err.problems] == [3]


def test_an_unclosed_quote_swallowing_the_file_is_refused_at_its_row(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('a,b\n1,2\n3,"unclosed\n' + "4,5\n" * 20)
    err = refused(lambda: read_table(path, limits=ReadLimits(max_record_chars=50)))
    assert (err.limit, [p.row for p in err.problems]) == ("max_record_chars", [3])
    assert str(err).startswith("quote.csv, row 3: the row is longer than 50 characters")


def test_a_long_header_with_few_columns_is_a_long_row(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("incident_id," + "x" * 100 + "\n1,2\n")
    err = refused(lambda: read_table(path, limits=ReadLimits(max_record_chars=50)))
    assert (err.limit, [p.row for p in err.problems]) == ("max_record_chars", [1])


def test_field_limit_is_the_long_field_rule_of_a_row(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(
        "incident_id,occurred_at,place_id\n"
        "abcdefghijklmnop,2025-08-15 21:00,p\n"  # 16 characters, as many as the timestamp
        "abcdefghijklmnopq,2025-08-15 21:00,p\n"
    )
    result = load_incidents(path, limits=ReadLimits(max_field_chars=16))
    assert [(p.row, p.column, p.kind, p.message) for p in result.problems] == [
        (3, "incident_id", "long_field", "the value is 17 characters long (limit 16)")
    ]
    assert result.valid["incident_id"].tolist() == ["abcdefghijklmnop"]


PROBLEMS_FIX = (
    "check that the file is in the layout expected (--format, --columns, the places) and correct the first "
    "problems listed, or split the file"
)


@pytest.mark.parametrize(
    ("name", "text", "first_kind"),
    [
        # found while the rows are read (raw text), while dates and times are checked, and by validation
        (
            "raw",
            "incident_id,occurred_at,place_id\n" + "".join(f"{k},2025-08-15 21:00,p,x\n" for k in "abc"),
            "field_count",
        ),
        (
            "datetime",
            "Id;Datum;Tid;Plats\na;2025-13-01;21:00;p\nb;2025-13-01;21:00;p\nc;2025-13-01;21:00;p\n",
            "bad_timestamp",
        ),
        (
            "validation",
            "incident_id,occurred_at,place_id,weight\na,2025-08-15 21:00,p,-1\nb,2025-08-15 21:00,p,-1\n"
            "c,2025-08-15 21:00,p,-1\n",
            "bad_weight",
        ),
    ],
)
def test_more_problems_than_the_limit_refuse_the_file(tmp_path: Path, name: str, text: str, first_kind: str) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    err = refused(lambda: load_incidents(path, limits=ReadLimits(max_problems=2)))
    assert (err.limit, err.value, err.actual) == ("max_problems", 2, None)
    assert str(err) == message(f"{name}.csv", "the file has more than 2 problems", "max_problems", 2, PROBLEMS_FIX)
    # the refusal, then the first problems found, to show what is wrong
    assert [p.kind for p in err.problems][:2] == ["too_large", first_kind]
    assert [p.row for p in err.problems[1:]] == [2, 3, 4][: len(err.problems) - 1]
    assert len(load_incidents(path, limits=ReadLimits(max_problems=3)).problems) == 3


def test_places_and_incidents_take_limits(tmp_path: Path) -> None:
    places = tmp_path / "places.csv"
    places.write_text("place_id\nparken\nskolan\ntorget\n")
    err = refused(lambda: read_places(places, limits=ReadLimits(max_rows=2)))
    assert (err.limit, err.value) == ("max_rows", 2)
    assert read_places(places, limits=ReadLimits(max_rows=3))["place_id"].tolist() == ["parken", "skolan", "torget"]


# --------------------------------------------------------------------------- bombs (slow)

#: runs the reader on one file in a fresh process: prints the baseline RSS after imports and the outcome
CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import pandas, pyarrow.parquet  # a server has these loaded before any upload
    from tryggplan.domain import InputTooLargeError
    from tryggplan.readers import ReadLimits, load_incidents
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"baseline_kb": base}
    t = time.perf_counter()
    try:
        result = load_incidents(sys.argv[1], limits=ReadLimits(**json.loads(sys.argv[2])))
        kinds = sorted({p.kind for p in result.problems})
        out.update(outcome="read", rows=result.rows, valid=len(result.valid), kinds=kinds)
    except InputTooLargeError as e:
        out.update(outcome="too_large", limit=e.limit, value=e.value, actual=e.actual)
    out["seconds"] = time.perf_counter() - t
    print(json.dumps(out))
    """
)
#: a fresh parent whose only child is the reader, so RUSAGE_CHILDREN's peak RSS is that reader's
PARENT = textwrap.dedent(
    """
    import json, resource, subprocess, sys
    done = subprocess.run([sys.executable, "-c", sys.argv[1], *sys.argv[2:]], capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"rc": done.returncode, "out": done.stdout, "err": done.stderr[-2000:], "peak_kb": peak}))
    """
)
BUDGET_MB = 512


def measure(path: Path, **limits: int) -> dict[str, object]:
    """The outcome of reading ``path`` in a subprocess, with ``rise_mb``: its peak RSS over its RSS
    after imports [MB]."""
    done = subprocess.run(
        [sys.executable, "-c", PARENT, CHILD, str(path), json.dumps(limits)], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    assert report["rc"] == 0, report["err"]
    out = json.loads(report["out"])
    out["rise_mb"] = (report["peak_kb"] - out["baseline_kb"]) / 1024
    return out


def zeros_gz(path: Path, mib: int) -> Path:
    """A gzip of ``mib`` MiB of zero bytes (about 1 kB per MiB)."""
    if not path.exists():
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        with path.open("wb") as fh:
            block = bytes(2**20)
            for _ in range(mib):
                fh.write(packer.compress(block))
            fh.write(packer.flush())
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bombs")


@pytest.mark.slow
@pytest.mark.parametrize(("mib", "kb"), [(1024, 1100), (256, 300)])
def test_gzip_of_zeros(bombs: Path, mib: int, kb: int) -> None:
    path = zeros_gz(bombs / f"zeros{mib}.csv.gz", mib)
    assert path.stat().st_size < kb * 1024
    got = measure(path)
    assert (got["outcome"], got["limit"], got["actual"]) == ("too_large", "max_decompressed_bytes", mib * 2**20)
    assert got["rise_mb"] < BUDGET_MB


@pytest.mark.slow
def test_gzip_of_zeros_with_a_forged_trailer(bombs: Path) -> None:
    """The trailer says 100 bytes: the stream is inflated and stopped at the limit."""
    source = zeros_gz(bombs / "zeros1024.csv.gz", 1024)
    path = bombs / "forged.csv.gz"
    data = bytearray(source.read_bytes())
    data[-4:] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    got = measure(path)
    assert (got["outcome"], got["limit"], got["actual"]) == ("too_large", "max_decompressed_bytes", None)
    assert got["rise_mb"] < BUDGET_MB


@pytest.mark.slow
def test_millions_of_line_breaks(bombs: Path) -> None:
    """30 MiB of blank lines before a header: refused at max_rows, not read line by line for half a minute."""
    path = bombs / "breaks.csv"
    path.write_bytes(b"\n" * (30 * 2**20) + b"incident_id,occurred_at,place_id\n")
    got = measure(path)
    assert (got["outcome"], got["limit"]) == ("too_large", "max_rows")
    assert got["seconds"] < 5 and got["rise_mb"] < BUDGET_MB


def dictionary_bomb(path: Path) -> Path:
    """~315 kB: one 1000-character string, dictionary-encoded, in 1M rows of three columns."""
    if not path.exists():
        n = 1_000_000
        column = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array(["x" * 1000]))
        pq.write_table(pa.table({"incident_id": column, "occurred_at": column, "place_id": column}), path)
    return path


@pytest.mark.slow
def test_parquet_dictionary_bomb(bombs: Path) -> None:
    path = dictionary_bomb(bombs / "dict.parquet")
    assert path.stat().st_size < 400_000
    got = measure(path)
    assert (got["outcome"], got["limit"], got["actual"]) == ("too_large", "max_rows", 1_000_000)
    assert got["rise_mb"] < BUDGET_MB
    # with room for the rows, the dictionaries are what refuses it: 3 x 1M x 1000 bytes before decoding
    got = measure(path, max_rows=2_000_000, max_cells=10_000_000)
    assert (got["outcome"], got["limit"], got["actual"]) == ("too_large", "max_decompressed_bytes", 3_012_000_000)
    assert got["rise_mb"] < BUDGET_MB


@pytest.mark.slow
@pytest.mark.parametrize("columns", [10**5, 10**6])
def test_header_of_many_columns(bombs: Path, columns: int) -> None:
    path = bombs / f"wide{columns}.csv"
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n")
    got = measure(path)
    assert (got["outcome"], got["limit"], got["actual"]) == ("too_large", "max_columns", columns)
    assert got["rise_mb"] < BUDGET_MB
    assert got["seconds"] < 5  # refused before the header is split (the quadratic check took minutes)


@pytest.mark.slow
def test_header_checks_are_linear_when_the_limit_is_raised(bombs: Path) -> None:
    """200,000 columns with the limits raised: the checks run (a missing column is found) in seconds;
    the duplicate check that searched the header for each column took 49 s at 100,000 over HTTP."""
    columns = 200_000
    path = bombs / "wide_raised.csv"
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n")
    got = measure(path, max_columns=columns, max_cells=columns, max_record_chars=10**7)
    assert (got["outcome"], got["kinds"]) == ("read", ["missing_column"])
    assert got["seconds"] < 60


def canonical_rows(path: Path, rows: int) -> Path:
    with path.open("w") as fh:
        fh.write("incident_id,occurred_at,place_id,category,source,weight\n")
        for i in range(rows):
            when = f"2025-0{1 + i % 9}-1{i % 10} 2{i % 4}:{i % 60:02d}"
            fh.write(f"id-{i:08d},{when},place-{i % 300},vandalism,police,1\n")
    return path


@pytest.mark.slow
def test_a_file_at_the_row_limit_reads_within_the_budget(bombs: Path) -> None:
    path = canonical_rows(bombs / "at_rows.csv", DEFAULT_LIMITS.max_rows)
    got = measure(path)
    assert (got["outcome"], got["valid"]) == ("read", DEFAULT_LIMITS.max_rows)
    assert got["rise_mb"] < BUDGET_MB


@pytest.mark.slow
def test_a_file_at_the_problem_limit_reads_within_the_budget(bombs: Path) -> None:
    """Every third of 300,000 rows has a negative weight: 100,000 problems, listed, under the budget;
    one more bad row in each and the file is refused before the problems fill memory."""
    path = bombs / "problems.csv"
    rows = DEFAULT_LIMITS.max_rows
    with path.open("w") as fh:
        fh.write("incident_id,occurred_at,place_id,category,source,weight\n")
        for i in range(rows):
            fh.write(
                f"id-{i:08d},2025-08-15 21:{i % 60:02d},place-{i % 300},vandalism,police,{-1 if i % 3 == 0 else 1}\n"
            )
    got = measure(path)
    assert (got["outcome"], got["valid"], got["kinds"]) == ("read", rows - rows // 3, ["bad_weight"])
    assert got["rise_mb"] < BUDGET_MB
    with path.open("w") as fh:
        fh.write("incident_id,occurred_at,place_id,category,source,weight\n")
        for i in range(rows):
            fh.write(f"id-{i:08d},2025-13-15 21:{i % 60:02d},place-{i % 300},vandalism,police,-1\n")
    got = measure(path)
    assert (got["outcome"], got["limit"]) == ("too_large", "max_problems")
    assert got["rise_mb"] < BUDGET_MB


@pytest.mark.slow
def test_a_file_at_the_cell_limit_reads_within_the_budget(bombs: Path) -> None:
    """The cheapest bytes per value: 14 columns of distinct three-character values, 3M values in all."""
    width = 14
    rows = DEFAULT_LIMITS.max_cells // width
    path = bombs / "at_cells.csv"
    with path.open("w") as fh:
        fh.write(",".join(["incident_id", "occurred_at", "place_id"] + [f"x{j}" for j in range(width - 3)]) + "\n")
        for i in range(rows):
            values = [f"{(i * width + j) % 238_328:03x}"[-3:] for j in range(width - 3)]
            fh.write(f"{i:x},2025-08-15 21:00,p{i % 50}," + ",".join(values) + "\n")
    assert path.stat().st_size < DEFAULT_LIMITS.max_decompressed_bytes
    got = measure(path)
    assert (got["outcome"], got["valid"]) == ("read", rows)
    assert got["rise_mb"] < BUDGET_MB
