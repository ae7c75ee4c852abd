"""`tryggplan backtest`: the files it writes and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tryggplan.cli import build_app
from tryggplan.cli.common import run_guarded

TZ = "Europe/Stockholm"
TRYGGPLAN = str(Path(sys.executable).with_name("tryggplan"))
SUMMARY_KEYS = {
    "poisson_deviance",
    "mae",
    "hit_rate@5",
    "hit_rate@10",
    "hit_rate@20",
    "pai@10",
    "coverage_80",
    "pit_coverage_80",
    "log_score",
    "pai@5",
    "pai@20",
    "night_hit",
}


def write_incidents(path: Path, days: int = 70, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-09-01", tz=TZ)
    rows = []
    for i in range(days * 4):
        place = ["torget", "parken", "stationen", "torget"][i % 4]
        when = start + pd.Timedelta(days=int(rng.integers(days)), hours=int(rng.choice([20, 21, 22, 23, 2])))
        rows.append((f"i{i}", when.isoformat(), place, "vandalism", "police", 1.0))
    columns = ["incident_id", "occurred_at", "place_id", "category", "source", "weight"]
    frame = pd.DataFrame(rows, columns=columns)
    frame.to_csv(path, index=False)
    return frame


def cli(*args: object) -> int:
    return run_guarded(lambda: build_app()(args=[str(a) for a in args], prog_name="tryggplan"))


def test_backtest_writes_summary_metrics_report_and_plots(tmp_path: Path) -> None:
    write_incidents(tmp_path / "inc.csv")
    out = tmp_path / "bt"
    r = subprocess.run(
        [
            TRYGGPLAN,
            "backtest",
            "--incidents",
            str(tmp_path / "inc.csv"),
            "--tz",
            TZ,
            "--models",
            "default,how_mean,place_only,last_14_days,seasonal_naive",
            "--origins",
            "3",
            "--horizon-days",
            "7",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["default"] == "default"
    assert summary["resolved"]["default"] == summary["default_model"] != "default"
    assert set(summary["models"]) == {"default", "how_mean", "place_only", "last_14_days", "seasonal_naive"}
    for metrics in summary["models"].values():
        assert SUMMARY_KEYS <= set(metrics)
        assert metrics["pai@10"] == pytest.approx(metrics["hit_rate@10"] / 0.1)
    assert summary["settings"]["origins"] == ["2025-10-20", "2025-10-27", "2025-11-03"]
    metrics_csv = pd.read_csv(out / "metrics.csv")
    assert len(metrics_csv) == 3 * 5 * 3  # origins x models x places
    want = {"origin", "model", "place_id", "observed", "expected", "poisson_deviance", "hits@10"}
    assert want <= set(metrics_csv.columns)
    report = (out / "report.md").read_text()
    assert "| model | deviance |" in report and "How to read this" in report
    for png in ("hit_rate_curve.png", "calibration.png", "metrics_over_time.png", "how_error_heatmap.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob("*.tmp*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--origins", "40"), "ask for at most"),
        (("--models", "magic"), "unknown model 'magic'"),
        (("--models", " , "), "--models is empty"),
        (("--tz", "Mars/Base"), "unknown time zone 'Mars/Base'"),
        (("--window", "rolling"), "--window 'rolling': use expanding or sliding"),
        (("--window", "sliding"), "sliding window needs window_days"),
        (("--engine", "spark"), "--engine 'spark': use local or dask"),
        (("--scheduler", "tcp://x:1"), "--scheduler needs --engine dask"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    write_incidents(tmp_path / "inc.csv")
    code = cli(
        "backtest",
        "--incidents",
        tmp_path / "inc.csv",
        "--origins",
        "2",
        "--out",
        tmp_path / "bt",
        "--no-progress",
        *args,
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tryggplan: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "bt" / "summary.json").exists()


def test_missing_and_broken_incident_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("backtest", "--incidents", tmp_path / "none.csv", "--out", tmp_path / "bt") == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_text("incident_id,occurred_at,place_id\n1,not a time,torget\n")
    assert cli("backtest", "--incidents", tmp_path / "bad.csv", "--out", tmp_path / "bt") == 2
    assert "tryggplan: error: " in capsys.readouterr().err
    assert not (tmp_path / "bt").exists()


@pytest.mark.parametrize(("args", "share"), [((), 1.0), (("--category-group", "ordning_och_skadegorelse"), 0.5)])
def test_a_backtest_of_a_category_group_scores_only_that_group(
    tmp_path: Path, args: tuple[str, ...], share: float
) -> None:
    frame = write_incidents(tmp_path / "inc.csv")
    frame["category"] = ["vandalism" if i % 2 else "theft" for i in range(len(frame))]
    frame.to_csv(tmp_path / "inc.csv", index=False)
    out = tmp_path / "bt"
    code = cli(
        "backtest", "--incidents", tmp_path / "inc.csv", "--models", "how_mean", "--origins", 2,
        "--horizon-days", 7, "--out", out, "--no-plots", "--no-progress", *args,
    )  # fmt: skip
    assert code == 0
    scored = pd.read_csv(out / "metrics.csv")["observed"].sum()
    local = pd.to_datetime(frame["occurred_at"], utc=True).dt.tz_convert(TZ)
    origins = json.loads((out / "summary.json").read_text())["settings"]["origins"]
    first, last = pd.Timestamp(origins[0], tz=TZ), pd.Timestamp(origins[-1], tz=TZ) + pd.Timedelta(days=7)
    in_scored = (local >= first) & (local < last)
    kept = frame["category"] == "vandalism" if share < 1 else frame["category"].notna()
    assert scored == int((in_scored & kept).sum())
