"""Reading the risk grid: every file format of the contract, and bad grids refused with the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tryggplan.allocation.grid import read_risk_grid, week_risk
from tryggplan.allocation.synthetic import synthetic_grid
from tryggplan.domain import InvalidInputError

TZ = "Europe/Stockholm"


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_every_contract_format_reads_the_same(tmp_path: Path, suffix: str) -> None:
    grid = synthetic_grid(3, "2026-W13", seed=1)
    path = tmp_path / f"grid{suffix}"
    if suffix == ".csv":
        grid.to_csv(path, index=False)
    elif suffix == ".parquet":
        grid.to_parquet(path)
    else:
        out = grid.copy()
        for c in ("slot_start", "trained_until", "generated_at"):
            out[c] = out[c].map(lambda t: t.isoformat())
        out.to_json(path, orient="records")
    g = read_risk_grid(path, TZ)
    assert str(g["slot_start"].dt.tz) == TZ and len(g) == len(grid) == 3 * 167  # 29 March has 23 hours
    risk = week_risk(g, "2026-W13", TZ)
    assert risk.n_week == 167 and len(risk.slots) == 167 + 6
    np.testing.assert_allclose(risk.risk[:, :167].sum(), grid["expected"].sum())
    assert risk.covered[:167].all() and not risk.covered[167:].any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.drop(columns=["expected"]), "lacks the risk-grid columns ['expected']"),
        (lambda g: g.assign(expected=-1.0), "expected -1.0 (row 2) must be a number >= 0 [incidents/h]"),
        (lambda g: g.assign(slot_start="yesterday"), "slot_start 'yesterday' (row 2) is not a timestamp with offset"),
        (lambda g: pd.concat([g, g.iloc[:1]]), "appears twice (row 503): keep one row per place and hour"),
    ],
)
def test_bad_grids_are_refused_with_the_fix(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "grid.csv"
    change(synthetic_grid(3, "2026-W13", seed=1)).to_csv(path, index=False)
    with pytest.raises(InvalidInputError) as info:
        read_risk_grid(path, TZ)
    assert str(info.value).startswith("grid.csv: ") and message in str(info.value)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "grid.xlsx").write_bytes(b"x")
    with pytest.raises(InvalidInputError, match=r"unknown forecast format '.xlsx': use .csv, .parquet or .json"):
        read_risk_grid(tmp_path / "grid.xlsx", TZ)
    with pytest.raises(InvalidInputError, match="not found: check the path or run 'tryggplan forecast'"):
        read_risk_grid(tmp_path / "none.csv", TZ)
