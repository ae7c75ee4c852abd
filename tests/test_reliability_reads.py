"""Fast reads without the cache (issue 16, item 3): a finished run's grid read from its columnar file
answers exactly what the database answers, for any window, place and municipality; the file is rebuilt
when it is missing, damaged or belongs to another run; the JSON written from it is what RiskGridOut
writes. Speed is in ``benchmarks/load.py --mix windows --no-cache`` and ``benchmarks/bench_grid_reads.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.support import auth
from tryggplan.service.schemas import RiskGridOut
from tryggplan.storage import forecasts as stored_runs
from tryggplan.storage import gridfiles
from tryggplan.usecases import forecasts


@pytest.mark.parametrize(
    ("places", "town", "start", "end"),
    [
        (None, None, None, None),
        (None, None, "2025-12-05T13:00", "2025-12-06T13:00"),
        (["stortorget", "busstorget"], None, "2025-12-05", "2025-12-07"),
        (None, "Kungsör", "2025-12-10T21:00:00+01:00", "2025-12-11T03:00:00+01:00"),
        (["nowhere"], None, None, None),
        (None, None, "2026-01-01", "2026-01-02"),  # after the horizon: no rows
    ],
)
def test_the_file_answers_what_the_database_answers(
    demo_client: TestClient, places: list[str] | None, town: str | None, start: str | None, end: str | None
) -> None:
    engine = demo_client.app.state.engine  # type: ignore[attr-defined]
    folder = demo_client.app.state.grid_dir  # type: ignore[attr-defined]
    towns = [town] if town else None
    from_db = forecasts.select_grid(engine, "1", place_ids=places, municipalities=towns, start=start, end=end)
    from_file = forecasts.select_grid(
        engine, "1", place_ids=places, municipalities=towns, start=start, end=end, grid_dir=folder
    )
    pd.testing.assert_frame_equal(from_db.grid, from_file.grid)
    assert (folder / "run-1.arrow").exists()


def test_the_json_written_from_the_file_is_what_the_schema_writes(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    r = demo_client.get(
        "/api/v1/forecasts/1/grid",
        params={"start": "2025-12-05T18:00", "end": "2025-12-06T18:00"},
        headers=auth(demo_tokens["reader"]),
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    engine = demo_client.app.state.engine  # type: ignore[attr-defined]
    selection = forecasts.select_grid(engine, "1", start="2025-12-05T18:00", end="2025-12-06T18:00")
    cols = ["place_id", "slot_start", "expected", "p_any", "lo_80", "hi_80", "nb_alpha", "risk_level"]
    rows = [dict(zip(cols, values, strict=True)) for values in selection.grid[cols].itertuples(index=False)]
    expected = json.loads(RiskGridOut(**selection.meta, rows=rows).model_dump_json())  # type: ignore[arg-type]
    assert r.json() == expected
    assert len(expected["rows"]) == 16 * 24


def test_a_missing_damaged_or_foreign_file_is_rebuilt(demo_client: TestClient, tmp_path: Path) -> None:
    engine = demo_client.app.state.engine  # type: ignore[attr-defined]
    folder = tmp_path / "grids"
    run = stored_runs.get_run(engine, "1")
    window = {"start": "2025-12-04", "end": "2025-12-05"}
    reference = forecasts.select_grid(engine, "1", **window).grid
    for damage in ("missing", "damaged", "another run's"):
        path = gridfiles.path_of(folder, run.id)
        if damage == "damaged":
            path.write_bytes(b"not an arrow file")
        elif damage == "another run's":  # a run id the database gave again after a deletion
            gridfiles.write(folder, run.id, reference.iloc[:24], pd.Timestamp("2020-01-01", tz="UTC"))
        got = forecasts.select_grid(engine, "1", grid_dir=folder, **window).grid
        pd.testing.assert_frame_equal(reference, got, obj=damage)
        assert gridfiles.read_window(path, run.generated_at) is not None
