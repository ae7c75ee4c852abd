"""Storage: open_database + migrations, import_incidents (all or nothing, idempotent), reads — on
SQLite and on the PostgreSQL server at 127.0.0.1:5432 (skipped with a reason when it is absent)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.support import PG_URL, places_frame
from tryggplan.domain import InvalidInputError
from tryggplan.storage.database import normalize_url, open_database
from tryggplan.storage.incidents import count_incidents, import_incidents, read_incidents, read_places


def incidents(**changes: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "incident_id": ["k1", "k2"],
            "occurred_at": pd.to_datetime(["2025-08-15T19:10:00Z", "2025-08-15T22:20:00Z"], utc=True),
            "place_id": ["parken", "skolan"],
            "category": ["vandalism", "theft"],
            "source": ["reporter", "police"],
            "weight": [1.0, 2.0],
        }
    )
    for key, value in changes.items():
        col, row = key.rsplit("_", 1)
        frame.loc[int(row), col] = value
    return frame


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = open_database(f"sqlite:///{tmp_path / 'new' / 'dir' / 't.db'}")
    else:
        kwargs = request.getfixturevalue("pg_schema")
        eng = open_database(PG_URL, **kwargs)
    yield eng
    eng.dispose()


def table_count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"select count(*) from {table}")).scalar_one())


def test_sqlite_file_dir_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "t.db"
    engine = open_database(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("pragma journal_mode")).scalar_one() == "wal"
        assert conn.execute(sa.text("pragma foreign_keys")).scalar_one() == 1
    engine.dispose()
    assert path.exists()
    engine = open_database(f"sqlite:///{path}")  # migrating twice is a no-op
    engine.dispose()
    with sqlite3.connect(path) as c:  # what the bad-input check reads
        assert c.execute("select count(*) from incidents").fetchone()[0] == 0
        stored = c.execute("select version_num from alembic_version").fetchone()[0]
    from alembic.script import ScriptDirectory

    from tryggplan.storage.database import HEAD_REVISION, alembic_config, stored_revision

    # a database at HEAD_REVISION is opened without running Alembic: it must be Alembic's head
    assert stored == ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
    engine = open_database(f"sqlite:///{path}")
    assert stored_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_migration_files_are_numbered_in_the_order_they_apply() -> None:
    """A newcomer reads the migrations in file order: the chain from the base must visit 0001, 0002, ...
    (revision ids of files from before the renumbering keep their stored values, see storage/database.py)."""
    from alembic.script import ScriptDirectory

    from tryggplan.storage.database import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    in_order = list(reversed(list(script.walk_revisions())))
    numbers = [int(Path(rev.path).name.split("_", 1)[0]) for rev in in_order]
    assert numbers == list(range(1, len(in_order) + 1))


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_url(url: str, want: str) -> None:
    assert normalize_url(url) == want


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unusable_url(url: str) -> None:
    with pytest.raises(InvalidInputError, match="sqlite:///"):
        open_database(url)


def test_import_then_reimport_is_idempotent(engine: Engine) -> None:
    first = import_incidents(engine, incidents(), places_frame(), source_file="x.csv", actor="test")
    assert (first.added, first.unchanged, first.places_upserted) == (2, 0, 2)
    again = import_incidents(engine, incidents(), None, source_file="x.csv", actor="test")
    assert (again.added, again.unchanged) == (0, 2)
    assert count_incidents(engine) == 2
    assert table_count(engine, "imports") == 2
    stored = read_incidents(engine)
    assert list(stored["incident_id"]) == ["k1", "k2"]
    assert str(stored["occurred_at"].dt.tz) == "UTC"
    assert stored["occurred_at"].iloc[0] == pd.Timestamp("2025-08-15T19:10:00Z")
    assert list(stored["weight"]) == [1.0, 2.0]


def test_import_history_records_who_and_counts(engine: Engine) -> None:
    import_incidents(engine, incidents(), places_frame(), source_file="x.csv", actor="alice", rejected=3)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("select actor, source_file, rows_added, rows_unchanged, rows_rejected from imports")
        ).one()
    assert tuple(row) == ("alice", "x.csv", 2, 0, 3)


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        ({"weight_0": 5.0}, "incident_id", "already stored with different content (weight 1.0 -> 5.0)"),
        (
            {"place_id_1": "parken"},
            "incident_id",
            "already stored with different content (place_id skolan -> parken)",
        ),
        ({"category_0": "assault"}, "incident_id", "already stored with different content"),
        (
            {"occurred_at_1": pd.Timestamp("2025-08-15T22:21:00Z")},
            "incident_id",
            "different content (occurred_at",
        ),
    ],
)
def test_conflicting_reimport_stores_nothing(
    engine: Engine, changes: dict[str, object], column: str, message: str
) -> None:
    import_incidents(engine, incidents(), places_frame())
    changed = incidents(**changes)
    extra = incidents(incident_id_0="k9", incident_id_1="k10")
    with pytest.raises(InvalidInputError) as info:
        import_incidents(engine, pd.concat([extra, changed], ignore_index=True), None)
    assert any(p.column == column and message in p.message for p in info.value.problems)
    assert "nothing imported" in str(info.value)
    assert count_incidents(engine) == 2  # k9, k10 were not stored either
    assert table_count(engine, "imports") == 1


def test_unknown_place_is_refused_with_every_problem(engine: Engine) -> None:
    frame = incidents(place_id_0="atlantis", place_id_1="mu")
    with pytest.raises(InvalidInputError) as info:
        import_incidents(engine, frame, None, source_file="f.csv")
    messages = sorted(p.message for p in info.value.problems)
    assert messages == ["incident k1: unknown place 'atlantis'", "incident k2: unknown place 'mu'"]
    assert count_incidents(engine) == 0 and table_count(engine, "places") == 0


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"weight_0": -1.0}, "weight"),
        ({"weight_1": float("nan")}, "weight"),
        ({"incident_id_0": ""}, "incident_id"),
        ({"place_id_1": "x" * 1001}, "place_id"),
    ],
)
def test_unusable_values_are_refused(engine: Engine, changes: dict[str, object], column: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        import_incidents(engine, incidents(**changes), places_frame())
    assert [p.column for p in info.value.problems] == [column]
    assert count_incidents(engine) == 0 and table_count(engine, "places") == 0


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    frame = incidents()
    frame["occurred_at"] = frame["occurred_at"].dt.tz_localize(None)
    with pytest.raises(InvalidInputError, match="tz-aware"):
        import_incidents(engine, frame, places_frame())


def test_missing_columns_are_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInputError, match=r"missing columns \['occurred_at'\]"):
        import_incidents(engine, incidents().drop(columns="occurred_at"), places_frame())


def test_places_are_upserted_and_read_back(engine: Engine) -> None:
    import_incidents(engine, incidents().iloc[:0], places_frame())
    changed = places_frame()
    changed.loc[0, "name"] = "Stadsparken"
    import_incidents(engine, incidents(), changed)
    places = read_places(engine)
    assert list(places["place_id"]) == ["parken", "skolan"]
    assert places.loc[0, "name"] == "Stadsparken"
    assert places.loc[1, "lat"] == pytest.approx(59.396)
    assert list(read_places(engine, municipality="Nowhere")["place_id"]) == []


def test_caller_frame_is_not_modified(engine: Engine) -> None:
    frame = incidents()
    before = frame.copy()
    import_incidents(engine, frame, places_frame())
    pd.testing.assert_frame_equal(frame, before)


def test_read_filters(engine: Engine) -> None:
    import_incidents(engine, incidents(), places_frame())
    assert list(read_incidents(engine, place_ids=["skolan"])["incident_id"]) == ["k2"]
    t = pd.Timestamp("2025-08-15T20:00:00Z")
    assert list(read_incidents(engine, start=t)["incident_id"]) == ["k2"]
    assert list(read_incidents(engine, end=t)["incident_id"]) == ["k1"]
    assert list(read_incidents(engine, municipality="Arboga")["incident_id"]) == ["k1", "k2"]
    assert read_incidents(engine, municipality="Köping").empty
    assert list(read_incidents(engine, limit=1, offset=1)["incident_id"]) == ["k2"]


def test_migrations_match_the_models(engine: Engine) -> None:
    """The schema the migrations build is the one the ORM models describe (no pending autogenerate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tryggplan.storage.models import Base

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []


def _done_run(engine: Engine, start: str, days: int, municipality: str | None = None) -> int:
    from tryggplan.storage.forecasts import new_run
    from tryggplan.storage.models import ForecastRun

    run = new_run(engine, "how_mean", dt.date.fromisoformat(start), days, "Europe/Stockholm", municipality, "test")
    with engine.begin() as conn:
        conn.execute(sa.update(ForecastRun).where(ForecastRun.id == run.id).values(status="done"))
    return run.id


@pytest.mark.parametrize(
    ("first", "last", "want"),
    [
        ("2026-12-14", "2026-12-20", "long"),  # next week: only the older 14-day run holds all of it
        ("2026-12-08", "2026-12-13", "short"),  # the rest of this week: the newest run holding it all
        ("2026-12-19", "2026-12-25", "long"),  # none holds all of it: the newest holding some
        ("2027-01-04", "2027-01-10", "short"),  # none holds any of it: the newest
    ],
)
def test_a_plan_takes_the_newest_forecast_that_covers_its_week(
    engine: Engine, first: str, last: str, want: str
) -> None:
    from tryggplan.storage.forecasts import latest_run_for

    runs = {"long": _done_run(engine, "2026-12-07", 14), "short": _done_run(engine, "2026-12-07", 7)}
    _done_run(engine, "2026-12-07", 21, municipality="Arboga")  # another town's: never taken for Kungsör
    days = (dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    assert latest_run_for(engine, "Kungsör", days).id == runs[want]
    assert latest_run_for(engine, "Kungsör").id == runs["short"]  # without days: the newest
