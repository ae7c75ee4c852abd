"""The resources spec: validation messages name the bad field and the fix; demo spec is valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tryggplan.allocation.spec import check_against_places, demo_resources, load_resources, parse_resources
from tryggplan.allocation.synthetic import synthetic_places, synthetic_resources
from tryggplan.domain import InvalidInputError


def _base(**kw: Any) -> dict[str, Any]:
    return synthetic_resources(6, 2, **kw)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"associations": [{"name": "A", "nights": ["fry"]}]},
            "associations[0].nights[0]: 'fry' is not allowed: input should be 'mon', 'tue', 'wed', 'thu', 'fri', "
            "'sat' or 'sun'",
        ),
        (
            {"templates": [{"name": "t", "start": "20:30", "end": "00:00"}]},
            "templates[0].start: start '20:30' is not on the hour: the risk grid is hourly, write e.g. '21:00'",
        ),
        (
            {"templates": [{"name": "t", "start": "late", "end": "00:00"}]},
            "templates[0].start: start 'late' is not a time of day: write it as HH:00, e.g. '21:00'",
        ),
        ({"weekly_budget_sek": -5}, "weekly_budget_sek: Input should be greater than or equal to 0"),
        ({"colour": "red"}, "colour: unknown setting: remove it or check its spelling"),
        ({"areas": []}, "areas: List should have at least 1 item after validation, not 0"),
        ({"tz": "Mars/Olympus"}, "tz: unknown time zone 'Mars/Olympus': use an IANA name"),
        ({"season": {"walks": 10, "used": 12}}, "season: used (12) exceeds the quota of 10 walks: correct 'used'"),
        (
            {"associations": [{"name": "A", "templates": ["nope"]}]},
            "associations[0].templates[0]: unknown template 'nope': use one of ['t20', 't21', 't22']",
        ),
        (
            {"associations": [{"name": "A", "min_walks_per_week": 3, "max_walks_per_week": 1}]},
            "associations[0]: min_walks_per_week 3 exceeds max_walks_per_week 1: "
            "lower the minimum or raise the maximum",
        ),
        (
            {
                "pinned": [
                    {
                        "kind": "night_walk",
                        "association": "Nobody",
                        "area": "Centrum",
                        "night": "2026-03-27",
                        "template": "t20",
                    }
                ]
            },
            "pinned[0].association: unknown association 'Nobody'",
        ),
        (
            {"pinned": [{"kind": "guard", "place_id": "P00", "start": "2026-03-27T21:00", "hours": 0}]},
            "pinned[0].hours: Input should be greater than or equal to 1",
        ),
        (
            {"pinned": [{"kind": "guard", "place_id": "P00", "start": "2026-03-27T21:30", "hours": 3}]},
            "pinned[0].start: start 2026-03-27T21:30:00 is not on the hour: the risk grid is hourly",
        ),
        (
            {"effects": {"walk": 0.1, "walk_stacking": [0.5, 1.0]}},
            "effects.walk_stacking: walk_stacking [0.5, 1.0] must not increase",
        ),
        ({"fairness": {"min_share": 0.6, "max_share": 0.4}}, "fairness: min_share 0.6 exceeds max_share 0.4"),
        (
            {
                "templates": [
                    {"name": "t", "start": "20:00", "end": "00:00"},
                    {"name": "t", "start": "21:00", "end": "01:00"},
                ]
            },
            "templates: names ['t'] appear twice: give each a unique name",
        ),
    ],
)
def test_bad_fields_are_named_with_the_fix(change: dict[str, Any], message: str) -> None:
    spec = {**_base(), **change}
    with pytest.raises(InvalidInputError) as info:
        parse_resources(spec, "resources.yaml")
    assert str(info.value).startswith("resources.yaml: ")
    assert message in str(info.value)


def test_unquoted_yaml_times_are_read_as_times(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "templates: [{name: kväll, start: 20:00, end: 00:00}, {name: sen, start: 21:00, end: 01:00}]\n"
        "areas: [{name: Centrum, place_ids: [P00]}]\n",
        encoding="utf-8",
    )
    res = load_resources(path)
    assert [(t.start, t.end, t.nominal_hours) for t in res.templates] == [("20:00", "00:00", 4), ("21:00", "01:00", 4)]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("r.yaml", "templates: [", "r.yaml: not valid YAML at line 1: fix the syntax"),
        ("r.json", '{"templates": }', "r.json: not valid JSON at line 1: fix the syntax"),
        ("r.yaml", "- just\n- a list\n", "r.yaml: expected a mapping of settings at the top level, got list"),
    ],
)
def test_unreadable_files_say_what_is_wrong(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message.replace("[", r"\[")):
        load_resources(path)


def test_missing_file() -> None:
    with pytest.raises(InvalidInputError, match="resources file 'nope.yaml' not found: check the path"):
        load_resources("nope.yaml")


def test_unknown_places_against_the_grid() -> None:
    res = parse_resources(_base(guard={"places": ["P00", "X9"]}))
    with pytest.raises(InvalidInputError, match=r"guard.places: unknown places \['X9'\] -> use place ids from"):
        check_against_places(res, {f"P{i:02d}" for i in range(6)})


def test_demo_resources_round_trip_through_yaml() -> None:
    places = synthetic_places(16, 4)
    spec = demo_resources(places)
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    res = parse_resources(yaml.safe_load(text))
    assert sorted(a.name for a in res.areas) == sorted(places.area.unique())
    assert sum(len(a.place_ids) for a in res.areas) == 16
    assert res.season.walks == 40 and res.cost_per_walk_sek == 1000 and 4 <= len(res.associations) <= 6
    assert res.guard is not None and res.guard.hourly_rate_sek == 450 and res.guard.min_block_hours == 3
    assert [t.start for t in res.templates] == ["20:00", "21:00", "22:00"]
    assert res.to_dict() == parse_resources(res.to_dict()).to_dict()


def test_demo_resources_without_areas_uses_one_area() -> None:
    spec = demo_resources(pd.DataFrame({"place_id": ["a", "b"]}))
    assert spec["areas"] == [{"name": "Centrum", "place_ids": ["a", "b"]}]


def test_effect_defaults_are_documented_with_sources() -> None:
    import tryggplan.allocation.spec as mod

    res = parse_resources(_base())
    assert (res.effects.walk, res.effects.guard, res.effects.walk_stacking) == (0.10, 0.20, [1.0, 0.5, 0.25])
    assert res.effects.walk_curve(2) == pytest.approx(0.15)
    for source in ("Ratcliffe", "Braga", "Koper", "Mohler", "23%", "7.4%"):
        assert source in (mod.__doc__ or "")
