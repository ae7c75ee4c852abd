"""The demo town: shape of the data, the planted truth, and the demo-data command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tryggplan.calendar import SwedishCalendar, activity_day
from tryggplan.cli import main
from tryggplan.demo import DEFAULT_CALENDAR_MULTIPLIERS, Town, default_how_profile, generate_town
from tryggplan.domain import INCIDENT_COLUMNS, PLACE_COLUMNS, InvalidInputError
from tryggplan.readers import load_incidents, read_places
from tryggplan.storage.database import open_database
from tryggplan.storage.plans import get_plan
from tryggplan.timeutil import local_slots
from tryggplan.usecases.demo import prepare_demo

END = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def town() -> Town:
    return generate_town(seed=42, end=END)


def test_same_seed_same_town_other_seed_other_town(town: Town) -> None:
    again = generate_town(seed=42, end=END)
    pd.testing.assert_frame_equal(town.incidents, again.incidents)
    pd.testing.assert_frame_equal(town.places, again.places)
    other = generate_town(seed=43, end=END)
    assert len(other.incidents) != len(town.incidents) or not other.incidents.equals(town.incidents)


def test_places_and_areas(town: Town) -> None:
    places = town.places
    assert list(places.columns) == list(PLACE_COLUMNS)
    assert 12 <= len(places) <= 20 and places["place_id"].is_unique
    assert 3 <= places["area"].nunique() <= 5
    assert places["lat"].between(59.35, 59.43).all() and places["lon"].between(15.78, 15.90).all()
    assert set(places["municipality"]) == {"Arboga"}


def test_incidents_are_canonical_and_span_three_years(town: Town) -> None:
    inc = town.incidents
    assert list(inc.columns) == list(INCIDENT_COLUMNS)
    assert inc["incident_id"].is_unique
    assert str(inc["occurred_at"].dt.tz) == "UTC"
    assert inc["occurred_at"].is_monotonic_increasing
    local = inc["occurred_at"].dt.tz_convert("Europe/Stockholm")
    assert local.max().date() <= END and (END - local.max().date()).days <= 7
    assert (local.max() - local.min()).days >= 3 * 365
    assert set(inc["place_id"]) <= set(town.places["place_id"])
    assert {"vandalism", "disorder", "theft", "assault", "drugs"} <= set(inc["category"])
    assert set(inc["source"]) == {"reporter", "police", "guard"}
    assert (inc["weight"] == 1.0).all()


def test_about_580_a_year_falling_about_18_percent(town: Town) -> None:
    t = town.truth
    slots = local_slots(t.start, (t.end - t.start).days + 1)
    per_year = len(town.incidents) / ((t.end - t.start).days / 365.25)
    assert 480 <= per_year <= 690
    local = town.incidents["occurred_at"].dt.tz_convert("Europe/Stockholm")
    first = (local < pd.Timestamp(t.start + dt.timedelta(days=365), tz="Europe/Stockholm")).sum()
    last = (local >= pd.Timestamp(t.end - dt.timedelta(days=364), tz="Europe/Stockholm")).sum()
    assert last / first < 0.85  # planted: 0.82 ** ~2.25 = 0.64
    mu = t.town_background(slots)
    year = pd.Series(mu, index=slots).resample("365D").sum()
    assert year.iloc[1] / year.iloc[0] == pytest.approx(0.82, abs=0.03)


def test_hour_of_week_peaks_on_friday_and_saturday_nights(town: Town) -> None:
    profile = default_how_profile()
    assert profile.shape == (168,) and profile.mean() == pytest.approx(1.0)
    assert int(np.argmax(profile)) // 24 in (4, 5)  # Friday or Saturday
    local = town.incidents["occurred_at"].dt.tz_convert("Europe/Stockholm")
    night = (local.dt.hour >= 18) | (local.dt.hour < 6)
    weekday = (local - pd.Timedelta(hours=6)).dt.dayofweek
    weekend_nights = (night & weekday.isin([4, 5])).sum() / 2
    other_nights = (night & weekday.isin([0, 1, 2, 3, 6])).sum() / 5
    assert weekend_nights > 1.8 * other_nights


def test_calendar_spikes(town: Town) -> None:
    local = town.incidents["occurred_at"].dt.tz_convert("Europe/Stockholm")
    days = activity_day(pd.DatetimeIndex(local))
    per_day = pd.Series(1, index=days).groupby(level=0).sum()
    all_days = pd.date_range(town.truth.start, town.truth.end, freq="D")
    per_day = per_day.reindex(all_days, fill_value=0)
    feats = SwedishCalendar().features(all_days)
    eves = feats[["walpurgis", "midsummer_eve", "new_years_eve", "end_of_school"]].sum(axis=1) > 0
    plain = feats.sum(axis=1) == 0
    assert per_day[eves.to_numpy()].mean() > 1.8 * per_day[plain.to_numpy()].mean()
    assert town.truth.calendar_multipliers == DEFAULT_CALENDAR_MULTIPLIERS


def test_truth_records_what_was_planted(town: Town) -> None:
    t = town.truth
    assert t.n_background + t.n_triggered == len(town.incidents)
    assert t.n_triggered / len(town.incidents) == pytest.approx(t.branching_ratio, abs=0.06)
    slots = local_slots(t.start, (t.end - t.start).days + 1)
    expected_background = t.background_intensity(slots).sum()
    assert t.n_background == pytest.approx(expected_background, rel=0.1)
    assert sum(t.place_share.values()) == pytest.approx(1.0)
    assert max(t.place_share, key=t.place_share.get) == "stortorget"
    d = t.to_dict()
    assert json.loads(json.dumps(d))["start"] == t.start.isoformat()
    assert len(d["how_profile"]) == 168 and d["branching_ratio"] == 0.2
    assert sum(d["per_year"].values()) == len(town.incidents)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"branching_ratio": 1.0}, "branching_ratio must be in [0, 1), got 1.0"),
        ({"years": 0}, "years must be positive, got 0"),
    ],
)
def test_generate_town_refuses_bad_parameters(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        generate_town(**kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_demo_data_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    with pytest.raises(SystemExit) as done:
        main(["demo-data", "--out", str(out), "--seed", "7"])
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(
        "demo area LPO Köping (seed 7): 4 towns (Kungsör, Arboga, Köping, Hallstahammar), 53 places in 17 areas, "
    )
    assert {p.name for p in out.iterdir()} == {
        "places.csv",
        "incidents.csv",
        "truth.json",
        "resources.yaml",
        "resources-kungsor.yaml",
        "resources-arboga.yaml",
        "resources-koping.yaml",
        "resources-hallstahammar.yaml",
    }
    raw = pd.read_csv(out / "incidents.csv")
    assert raw["occurred_at"].str.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$").all()
    places = read_places(out / "places.csv")
    result = load_incidents(out / "incidents.csv", places=places)
    assert result.ok and len(result.incidents) == len(raw)
    truth = json.loads((out / "truth.json").read_text())
    assert truth["seed"] == 7 and truth["tz"] == "Europe/Stockholm" and truth["police_area"] == "LPO Köping"
    assert list(truth["towns"]) == ["Kungsör", "Arboga", "Köping", "Hallstahammar"]
    import yaml

    # resources.yaml is the first town's (Kungsör's) spec: a plan is made for one municipality
    spec = yaml.safe_load((out / "resources.yaml").read_text())
    assert spec == yaml.safe_load((out / "resources-kungsor.yaml").read_text())
    kungsor = places[places["municipality"] == "Kungsör"]
    assert {a["name"] for a in spec["areas"]} == set(kungsor["area"])
    assert {p for a in spec["areas"] for p in a["place_ids"]} == set(kungsor["place_id"])
    koping = yaml.safe_load((out / "resources-koping.yaml").read_text())
    assert {p for a in koping["areas"] for p in a["place_ids"]} == set(
        places[places["municipality"] == "Köping"]["place_id"]
    )


def test_run_demo_late_on_a_sunday_plans_only_next_week(tmp_path: Path) -> None:
    """Late on a Sunday no shift fits in what is left of the week: no empty plan hides next week's from the
    dashboard's "current"."""
    now = dt.datetime(2025, 12, 7, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    made = prepare_demo(tmp_path, f"sqlite:///{tmp_path / 'demo.db'}", now=now)
    assert (made.week, made.current_week) == ("2025-W50", "2025-W49")
    engine = open_database(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        for town in made.towns:
            assert town.current_plan_id is None
            current = get_plan(engine, "current", today=now.date(), municipalities=[town.municipality])
            assert current.id == town.plan_id and current.week == "2025-W50"
            assert f"{town.municipality} ({town.places} places): plan {town.plan_id} for 2025-W50: " in "\n".join(
                made.lines()
            )
        assert get_plan(engine, "current", today=now.date()).id == made.town("Kungsör").plan_id
    finally:
        engine.dispose()
    assert (
        sum("no plan for the rest of this week (2025-W49): no shift fits in it" in line for line in made.lines()) == 4
    )
