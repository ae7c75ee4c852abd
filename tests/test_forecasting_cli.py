"""`tryggplan forecast`, high-risk windows and the Dask engine."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tryggplan.counts import CountMatrix
from tryggplan.forecasting.grid import high_risk_windows, hour_of_week_heatmap, per_night
from tryggplan.forecasting.parallel import fit_predict_groups
from tryggplan.timeutil import local_slots

TZ = "Europe/Stockholm"
TRYGGPLAN = str(Path(sys.executable).with_name("tryggplan"))


def write_incidents(path: Path, n_days: int = 120, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-06-01", tz=TZ)
    rows = []
    for i in range(n_days * 3):
        place = ["torget", "parken", "stationen"][i % 3]
        when = start + pd.Timedelta(days=int(rng.integers(n_days)), hours=int(rng.choice([21, 22, 23, 1])))
        rows.append((f"i{i}", when.isoformat(), place, "vandalism", "police", 1.0))
    pd.DataFrame(rows, columns=["incident_id", "occurred_at", "place_id", "category", "source", "weight"]).to_csv(
        path, index=False
    )


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRYGGPLAN, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_forecast_cli_writes_the_grid_by_suffix(tmp_path: Path, suffix: str) -> None:
    write_incidents(tmp_path / "inc.csv")
    out = tmp_path / f"grid{suffix}"
    r = run(
        "forecast",
        "--incidents",
        tmp_path / "inc.csv",
        "--start",
        "2025-10-06",
        "--days",
        2,
        "--out",
        out,
        "--windows",
        tmp_path / "windows.csv",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    grid = {
        ".csv": pd.read_csv,
        ".parquet": pd.read_parquet,
        ".json": lambda p: pd.DataFrame(json.loads(Path(p).read_text())),
    }[suffix](out)
    assert len(grid) == 3 * 48
    assert set(grid["model"]) == {"pooled_glm"}
    assert pd.to_datetime(grid["slot_start"].astype(str), utc=True).min() == pd.Timestamp("2025-10-05T22:00Z")
    windows = pd.read_csv(tmp_path / "windows.csv")
    assert {"place_id", "start", "end", "expected", "label"} <= set(windows.columns)
    assert "High-risk windows 2025-10-06" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--start", "2025-13-01"), "--start '2025-13-01' is not a date: write it as YYYY-MM-DD"),
        (("--start", "2025-10-06", "--model", "magic"), "unknown model 'magic'"),
        (("--start", "2025-10-06", "--tz", "Mars/Base"), "unknown time zone 'Mars/Base'"),
        (("--start", "2020-01-01"), "no incidents before 2020-01-01 to learn from (the first is on 2025-06-01)"),
    ],
)
def test_forecast_cli_bad_options_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    write_incidents(tmp_path / "inc.csv", n_days=30)
    r = run("forecast", "--incidents", tmp_path / "inc.csv", "--out", tmp_path / "g.csv", *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "g.csv").exists()


def test_forecast_cli_refuses_unknown_suffix(tmp_path: Path) -> None:
    write_incidents(tmp_path / "inc.csv", n_days=30)
    r = run("forecast", "--incidents", tmp_path / "inc.csv", "--start", "2025-07-01", "--out", tmp_path / "g.xlsx")
    assert r.returncode == 2
    assert "use a .csv, .parquet or .json file name" in r.stderr


def _grid(values: list[float], start: str = "2025-12-05T18:00:00+01:00") -> pd.DataFrame:
    slots = pd.date_range(pd.Timestamp(start), periods=len(values), freq="h")
    levels = ["high" if v >= 1 else "normal" for v in values]
    return pd.DataFrame({"place_id": "torget", "slot_start": slots, "expected": values, "risk_level": levels})


def test_windows_merge_neighbouring_high_hours() -> None:
    grid = _grid([0.1, 0.1, 0.1, 1.0, 1.0, 1.5, 1.0, 1.0, 0.1, 2.0])  # Fri 21:00-02:00, Sat 03:00-04:00
    windows = high_risk_windows(grid, place_names={"torget": "Torget"}, floor=None)
    # Poisson sums: 5.5 expected -> 80% range 3-9, P(>=1) = 1 - e^-5.5; 2.0 -> 0-4, 1 - e^-2 = 86%
    assert list(windows["label"]) == [
        "Torget, Fri 21:00–02:00, 5.5 expected (80% range 3–9, at least one: >99%)",
        "Torget, Sat 03:00–04:00, 2.0 expected (80% range 0–4, at least one: 86%)",
    ]
    assert list(windows["hours"]) == [5, 1]
    assert windows["night"].tolist() == [dt.date(2025, 12, 5), dt.date(2025, 12, 5)]
    assert windows["p_any"].tolist() == pytest.approx([1 - np.exp(-5.5), 1 - np.exp(-2.0)])


def test_windows_need_risk_level() -> None:
    from tryggplan.domain import InvalidInputError

    with pytest.raises(InvalidInputError, match="risk grid lacks risk_level"):
        high_risk_windows(_grid([1.0]).drop(columns="risk_level"))


def test_heatmap_and_nights() -> None:
    grid = _grid([1.0] * 12 + [0.0] * 12)  # Fri 18:00 .. Sat 17:00
    heat = hour_of_week_heatmap(grid)
    assert heat.loc["Fri", 18] == 1.0 and heat.loc["Sat", 5] == 1.0 and heat.loc["Sat", 6] == 0.0
    assert np.isnan(heat.loc["Mon", 0])
    nights = per_night(grid)
    assert nights.to_dict("records") == [{"place_id": "torget", "night": dt.date(2025, 12, 5), "expected": 12.0}]


def test_dask_engine_equals_serial() -> None:
    rng = np.random.default_rng(5)
    slots = local_slots(dt.date(2025, 1, 6), 70, TZ)
    groups = {}
    for g in ("arboga", "kungsor", "koping"):
        places = np.array([f"{g}-{i}" for i in range(3)])
        groups[g] = CountMatrix(places, slots, rng.poisson(0.05, (3, len(slots))).astype(float))
    serial = fit_predict_groups(groups, "default", dt.date(2025, 3, 17), 3, engine="local")
    parallel = fit_predict_groups(groups, "default", dt.date(2025, 3, 17), 3, engine="dask", n_workers=2)
    cols = ["place_id", "slot_start", "expected", "p_any", "lo_80", "hi_80", "nb_alpha", "risk_level"]
    pd.testing.assert_frame_equal(serial[cols], parallel[cols])
