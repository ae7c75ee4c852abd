"""The demo area (the seed's world): the four towns of LPO Köping at their own levels, their resources specs,
names a Swedish user reads, and ``run-demo`` building, training and planning all four (docs/demo.md)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tryggplan.allocation import demo_resources, parse_resources
from tryggplan.demo import (
    DEMO_POLICE_AREA,
    DEMO_TOWNS,
    TOWN_PLACES,
    Area,
    DemoTown,
    generate_area,
)
from tryggplan.domain import PLACE_COLUMNS, InvalidInputError
from tryggplan.i18n import CATEGORY_LABELS
from tryggplan.storage.database import open_database
from tryggplan.storage.plans import get_plan, list_plans
from tryggplan.usecases import area as area_view
from tryggplan.usecases import season
from tryggplan.usecases.demo import DemoSummary, prepare_demo

END = dt.date(2025, 12, 2)
TOWNS = ["Kungsör", "Arboga", "Köping", "Hallstahammar"]
#: a real town centre (lat, lon) per municipality: every demo place lies within about 6 km of it
CENTRES = {
    "Kungsör": (59.4226, 16.0960),
    "Arboga": (59.3940, 15.8390),
    "Köping": (59.5140, 15.9930),
    "Hallstahammar": (59.6140, 16.2270),
}
#: English words that have slipped, or could slip, into a Swedish name (a demo once had "Lions", a plan
#: "guard 1"); words Swedish shares with English (park, station, centrum, bus) are not on the list
ENGLISH = {
    "and", "association", "centre", "center", "church", "city", "club", "company", "group", "guard", "guards",
    "harbour", "harbor", "lions", "library", "night", "parents", "parking", "patrol", "police", "rotary",
    "school", "security", "shop", "south", "sports", "square", "street", "the", "town", "walk", "walkers",
    "walks", "youth",
}  # fmt: skip


@pytest.fixture(scope="module")
def made() -> Area:
    return generate_area(seed=7, end=END)


def test_four_towns_with_their_places_and_walking_areas(made: Area) -> None:
    places = made.places
    assert list(places.columns) == list(PLACE_COLUMNS) and places["place_id"].is_unique
    assert made.municipalities == TOWNS and made.truth.police_area == DEMO_POLICE_AREA == "LPO Köping"
    counts = places.groupby("municipality", sort=False).size().to_dict()
    assert counts == {"Kungsör": 10, "Arboga": 16, "Köping": 15, "Hallstahammar": 12}
    walking_areas = places.groupby("municipality", sort=False)["area"].nunique().to_dict()
    assert walking_areas == {"Kungsör": 4, "Arboga": 4, "Köping": 5, "Hallstahammar": 4}
    # the same area name in several towns names different routes
    shared = places.groupby("area")["municipality"].nunique()
    assert shared[shared > 1].to_dict() == {"Centrum": 4, "Hamnen": 2, "Stationen": 4}
    for town, (lat, lon) in CENTRES.items():
        mine = places[places["municipality"] == town]
        km = np.hypot((mine["lat"] - lat) * 111.2, (mine["lon"] - lon) * 111.2 * np.cos(np.radians(lat)))
        assert km.max() < 7.0, (town, km.max())
    # Arboga keeps the single demo town's places (and ids: tests and walkthroughs name them)
    assert list(made.town("Arboga").places["place_id"]) == [p[0] for p in TOWN_PLACES]
    with pytest.raises(InvalidInputError, match="no town 'Västerås' in the demo area"):
        made.town("Västerås")


def test_each_town_at_its_own_level(made: Area) -> None:
    """The last twelve months hold about each town's planted rate (Poisson-Hawkes noise: a few per cent),
    Kungsör is the seed's small town (~350 a year, falling ~18% a year) and Köping the busiest."""
    last12: dict[str, int] = {}
    for town in DEMO_TOWNS:
        mine = made.town(town.municipality)
        local = mine.incidents["occurred_at"].dt.tz_convert("Europe/Stockholm")
        last12[town.municipality] = int(
            (local >= pd.Timestamp(END - dt.timedelta(days=364), tz="Europe/Stockholm")).sum()
        )
        first = int((local < pd.Timestamp(mine.truth.start + dt.timedelta(days=365), tz="Europe/Stockholm")).sum())
        assert last12[town.municipality] == pytest.approx(town.annual_rate, rel=0.12), town.municipality
        # the planted fall: first year to last year over ~2.25 years
        assert last12[town.municipality] / first == pytest.approx((1 - town.yearly_decline) ** 2.25, abs=0.08)
        truth = mine.truth
        assert truth.annual_rate_at_start == pytest.approx(town.annual_rate / (1 - town.yearly_decline) ** 2.25)
        assert truth.n_background + truth.n_triggered == len(mine.incidents)
        assert mine.incidents["incident_id"].str.startswith(town.slug + "-").all()
    assert min(last12, key=last12.get) == "Kungsör" and max(last12, key=last12.get) == "Köping"
    assert DEMO_TOWNS[0].annual_rate == 350 and DEMO_TOWNS[0].yearly_decline == 0.18
    assert made.incidents["occurred_at"].is_monotonic_increasing and made.incidents["incident_id"].is_unique
    assert len(made.incidents) == sum(len(made.town(t).incidents) for t in TOWNS)


def test_same_seed_same_area_and_each_town_its_own_stream(made: Area) -> None:
    again = generate_area(seed=7, end=END)
    pd.testing.assert_frame_equal(made.incidents, again.incidents)
    assert again.truth.to_dict() == made.truth.to_dict()
    # a busier Köping changes Köping only
    busier = tuple(
        DemoTown(t.municipality, t.slug, t.places, t.annual_rate * 2, t.yearly_decline, t.resources)
        if t.municipality == "Köping"
        else t
        for t in DEMO_TOWNS
    )
    other = generate_area(seed=7, end=END, towns=busier)
    pd.testing.assert_frame_equal(other.town("Kungsör").incidents, made.town("Kungsör").incidents)
    assert len(other.town("Köping").incidents) > 1.7 * len(made.town("Köping").incidents)
    truth = made.truth.to_dict()
    assert list(truth["towns"]) == TOWNS and truth["police_area"] == "LPO Köping"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"branching_ratio": 1.0}, "branching_ratio must be in [0, 1), got 1.0"),
        ({"years": 0}, "years must be positive, got 0"),
        ({"towns": ()}, "no towns given: give at least one DemoTown"),
        ({"towns": DEMO_TOWNS[:1] * 2}, "the demo towns repeat a municipality or a place id: give each a unique one"),
    ],
)
def test_generate_area_refuses_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        generate_area(**kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_each_town_its_own_resources(made: Area) -> None:
    specs = {t.municipality: demo_resources(made.town(t.municipality).places, town=t.resources) for t in DEMO_TOWNS}
    kungsor = specs["Kungsör"]
    assert kungsor["season"]["walks"] == 40 and kungsor["cost_per_walk_sek"] == 1000
    assert [a["name"] for a in kungsor["associations"]] == [
        "Nattvandrarna i Kungsör",
        "Föräldraföreningen Kung Karl",
        "Kungsörs idrottsklubb",
        "Svenska kyrkans unga",
        "Scoutkåren i Kungsör",
    ]
    assert kungsor["guard"]["company"] == "Mälardalens Bevakning AB"
    companies = {town: spec["guard"]["company"] for town, spec in specs.items()}
    assert len(set(companies.values())) == 4
    assert specs["Köping"]["season"]["walks"] == 60 and specs["Köping"]["weekly_budget_sek"] == 20000
    for town, spec in specs.items():
        parsed = parse_resources(spec, town)
        assert parsed.place_ids() == set(made.town(town).places["place_id"])
        assert {a.name for a in parsed.areas} == set(made.town(town).places["area"])
    # an association's name may repeat in another town (another association)
    names = [a["name"] for spec in specs.values() for a in spec["associations"]]
    assert [n for n in set(names) if names.count(n) > 1] == ["Svenska kyrkans unga"]


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[^\W\d_]+", text)}


def test_every_name_a_user_reads_is_swedish(made: Area) -> None:
    names = [*made.places["name"], *made.places["area"], *made.places["municipality"], DEMO_POLICE_AREA]
    for town in DEMO_TOWNS:
        spec = demo_resources(made.town(town.municipality).places, town=town.resources)
        names += [a["name"] for a in spec["associations"]] + [t["name"] for t in spec["templates"]]
        names.append(spec["guard"]["company"])
    english = {name: _words(name) & ENGLISH for name in names if _words(name) & ENGLISH}
    assert english == {}
    # the categories the towns report all have a Swedish label (the product shows those)
    assert set(made.incidents["category"]) <= set(CATEGORY_LABELS)
    # the list catches what it is for
    assert _words("Lions Club Kungsör") & ENGLISH == {"lions", "club"}


# --------------------------------------------------------------------------- run-demo


NOW = dt.datetime(2025, 12, 3, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # a Wednesday in December


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    directory = tmp_path_factory.mktemp("demo-area")
    return directory, prepare_demo(directory, f"sqlite:///{directory / 'demo.db'}", now=NOW)


def test_run_demo_plans_every_town_from_its_own_season(demo: tuple[Path, DemoSummary]) -> None:
    directory, made = demo
    assert (made.week, made.current_week) == ("2025-W50", "2025-W49")
    assert [t.municipality for t in made.towns] == TOWNS and made.coordinator_town == "Kungsör"
    engine = open_database(f"sqlite:///{directory / 'demo.db'}")
    try:
        for town in made.towns:
            assert town.current_plan_id is not None  # a Wednesday: the rest of the week has nights
            ledger = season.season_of(engine, town.municipality)
            assert ledger.resource_id == town.resource_id and ledger.municipality == town.municipality
            plans = {p.id: p for p in list_plans(engine, municipalities=[town.municipality])}
            assert set(plans) == {town.plan_id, town.current_plan_id}
            week = plans[town.plan_id]
            assert week.week == "2025-W50" and week.plan["status"] == "optimal"
            walks = [s for s in week.plan["shifts"] if s["kind"] == "night_walk"]
            guards = {s["guard"] for s in week.plan["shifts"] if s["kind"] == "guard"}
            assert walks and {s["association"] for s in walks} <= {a.name for a in ledger.spec.associations}
            assert ledger.spec.guard is not None and guards == {ledger.spec.guard.company}
            assert get_plan(engine, "current", today=NOW.date(), municipalities=[town.municipality]).id == (
                town.current_plan_id
            )
        # an area-wide dashboard's current plan is the seed's town's (its plans are made last)
        assert get_plan(engine, "current", today=NOW.date()).municipality == "Kungsör"
        settings = area_view.list_municipalities(engine)
        assert {(m.name, m.police_area, m.configured) for m in settings} == {(t, "LPO Köping", True) for t in TOWNS}
        assert all(m.category_groups == area_view.list_municipalities(engine)[0].category_groups for m in settings)
    finally:
        engine.dispose()
    assert made.lines()[1] == "police area LPO Köping: Kungsör, Arboga, Köping, Hallstahammar"


def test_run_demo_makes_one_coordinator_user_per_town(demo: tuple[Path, DemoSummary]) -> None:
    from tryggplan.storage.users import password_hash_of
    from tryggplan.usecases import users

    directory, made = demo
    engine = open_database(f"sqlite:///{directory / 'demo.db'}")
    try:
        stored = {u.username: (u.role, u.municipalities, u.disabled) for u in users.list_users(engine)}
        assert made.logins is not None
        for user, password in made.logins.created:  # the password printed and kept is the one that signs in
            record = users.get_user(engine, user.username)
            assert users.verify_password(password_hash_of(engine, record.id), password)
            assert not users.verify_password(password_hash_of(engine, record.id), password + "x")
    finally:
        engine.dispose()
    assert stored == {
        "kungsor": ("coordinator", ("Kungsör",), False),
        "arboga": ("coordinator", ("Arboga",), False),
        "koping": ("coordinator", ("Köping",), False),
        "hallstahammar": ("coordinator", ("Hallstahammar",), False),
    }
    assert {u.username for u, _ in made.logins.created} == set(stored) and made.logins.kept == ()
    path = directory / "inloggningar.txt"
    assert made.logins.file == path and (path.stat().st_mode & 0o777) == 0o600
    assert {line.split(";")[1] for line in path.read_text(encoding="utf-8").splitlines()[2:]} == set(stored)


def test_every_town_has_its_own_high_risk_windows_in_december(demo: tuple[Path, DemoSummary]) -> None:
    """The dashboard stays meaningful for the small town: its next 14 days in December hold windows over
    the floor, by its own levels (a quieter demo town once had none)."""
    directory, _ = demo
    engine = open_database(f"sqlite:///{directory / 'demo.db'}")
    try:
        view = area_view.area_view(engine, today=NOW.date(), tz="Europe/Stockholm", top_windows=50)
    finally:
        engine.dispose()
    rows = {m["municipality"]: m for m in view["municipalities"]}
    assert set(rows) == set(TOWNS)
    for town, row in rows.items():
        assert row["police_area"] == "LPO Köping"
        assert len(row["ahead"]["windows"]) >= 5 and row["ahead"]["high_hours"] > 0, town
        assert row["season"]["walks_left"] == row["season"]["walks_total"], town
    expected = {town: row["ahead"]["expected"] for town, row in rows.items()}
    assert min(expected, key=expected.get) == "Kungsör" and max(expected, key=expected.get) == "Köping"
    # Kungsör's year to date against last year's: fewer (planted: 18% fewer a year)
    assert rows["Kungsör"]["ytd"]["change_pct"] < 0, rows["Kungsör"]["ytd"]


def test_run_demo_refuses_a_directory_of_another_demo(tmp_path: Path) -> None:
    from tryggplan.demo import generate_town
    from tryggplan.domain import TryggplanError
    from tryggplan.storage.incidents import import_incidents

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = open_database(url)
    try:
        town = generate_town(seed=7, years=1.0, end=END)
        import_incidents(engine, town.incidents, town.places, source_file="old demo")
    finally:
        engine.dispose()
    with pytest.raises(TryggplanError) as err:
        prepare_demo(tmp_path, url, now=NOW)
    assert str(err.value) == (
        f"{tmp_path} holds a database without the demo's towns Kungsör, Köping, Hallstahammar (an older demo of "
        f"one town, or other data): remove {tmp_path} (or give another --dir) to build the demo of LPO Köping"
    )


# --------------------------------------------------------------------------- sign-in users


class _Users:
    """A user store with ``create_user``'s keyword interface (the real one is another engineer's work)."""

    def __init__(self) -> None:
        self.made: dict[str, dict[str, object]] = {}

    def create(self, engine: object, **fields: object) -> object:
        assert str(fields["username"]) not in self.made
        self.made[str(fields["username"])] = fields
        return fields

    def names(self, engine: object) -> set[str]:
        return set(self.made)


def test_demo_users_one_coordinator_per_town_passwords_in_an_owner_only_file(tmp_path: Path) -> None:
    from tryggplan.usecases.demo import LOGINS_FILE, ensure_demo_users

    users = _Users()
    first = ensure_demo_users(None, tmp_path, users.create, users.names)  # type: ignore[arg-type]
    assert {name: (f["role"], f["municipalities"]) for name, f in users.made.items()} == {
        "kungsor": ("coordinator", ["Kungsör"]),
        "arboga": ("coordinator", ["Arboga"]),
        "koping": ("coordinator", ["Köping"]),
        "hallstahammar": ("coordinator", ["Hallstahammar"]),
    }
    path = tmp_path / LOGINS_FILE
    assert first.file == path and (path.stat().st_mode & 0o777) == 0o600
    rows = [line.split(";") for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert [(town, name) for town, name, _ in rows] == [
        ("Kungsör", "kungsor"),
        ("Arboga", "arboga"),
        ("Köping", "koping"),
        ("Hallstahammar", "hallstahammar"),
    ]
    passwords = {name: password for _, name, password in rows}
    assert passwords == {name: f["password"] for name, f in users.made.items()}
    assert len(set(passwords.values())) == 4 and all(len(p) >= 16 for p in passwords.values())
    printed = first.lines("http://127.0.0.1:8000")
    assert printed[0] == "sign in at http://127.0.0.1:8000/logga-in: one coordinator per town"
    assert printed[1] == f"  kungsor / {passwords['kungsor']} (Kungsör)"

    # a second run keeps the users and their passwords, and says where they are
    before = path.read_text(encoding="utf-8")
    again = ensure_demo_users(None, tmp_path, users.create, users.names)  # type: ignore[arg-type]
    assert again.created == () and [u.username for u in again.kept] == list(passwords)
    assert path.read_text(encoding="utf-8") == before
    assert (
        again.lines()[1] == f"  kungsor, arboga, koping, hallstahammar: kept from an earlier run, passwords in {path}"
    )

    # a user removed since gets a new password, added to the file
    del users.made["koping"]
    path.chmod(0o644)
    third = ensure_demo_users(None, tmp_path, users.create, users.names)  # type: ignore[arg-type]
    assert [u.username for u, _ in third.created] == ["koping"] and (path.stat().st_mode & 0o777) == 0o600
    assert path.read_text(encoding="utf-8") == before + f"Köping;koping;{third.created[0][1]}\n"
