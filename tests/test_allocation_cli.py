"""`tryggplan plan` and `tryggplan season-plan` the way a coordinator runs them (from files, at the
moment ``--now``: the Monday the synthetic forecast begins)."""

from __future__ import annotations

import json
from pathlib import Path

import icalendar
import pytest
import yaml

from tryggplan.allocation.spec import demo_resources
from tryggplan.allocation.synthetic import synthetic_grid, synthetic_places
from tryggplan.cli import main

NOW = "2026-03-23T00:00:00+01:00"  # Monday of 2026-W13, 00:00


def _run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("town")
    synthetic_grid(12, "2026-W13", weeks=2, seed=5).to_csv(d / "forecast.csv", index=False)
    spec = demo_resources(synthetic_places(12, 3))
    (d / "resources.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return d


def test_plan_writes_json_ics_csv(town: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys,
        "plan",
        "--now",
        NOW,
        "--forecast",
        town / "forecast.csv",
        "--resources",
        town / "resources.yaml",
        "--week",
        "2026-W13",
        "--out",
        tmp_path / "plan.json",
        "--ics",
        tmp_path / "plan.ics",
        "--csv",
        tmp_path / "plan.csv",
    )
    assert code == 0, err
    assert out.startswith("plan 2026-W13: optimal (gap ") and "vs greedy" in out and err == ""
    p = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert p["week"] == "2026-W13" and p["status"] == "optimal" and p["solver"]["gap"] <= 0.001
    assert abs(p["cost_sek"] - sum(s["cost_sek"] for s in p["shifts"])) < 1e-6
    assert p["walks"] == p["walks_share"] >= 1
    assert any(w.startswith("season pacing: ") for w in p["warnings"])
    cal = icalendar.Calendar.from_ical((tmp_path / "plan.ics").read_bytes())
    assert len(list(cal.walk("VEVENT"))) == len(p["shifts"])
    assert (tmp_path / "plan.csv").read_bytes().startswith(b"\xef\xbb\xbfvecka;typ;")


def test_walks_override_and_cbc(town: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys,
        "plan",
        "--now",
        NOW,
        "--forecast",
        town / "forecast.csv",
        "--resources",
        town / "resources.yaml",
        "--week",
        "2026-W14",
        "--out",
        tmp_path / "p.json",
        "--walks",
        3,
        "--solver",
        "CBC",
        "--no-marginal",
    )
    assert code == 0, err
    p = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert p["walks"] == 3 and p["solver"]["name"] == "cbc" and p["marginal_value"] == {}


def test_replan_after_a_cancelled_walk_keeps_the_rest(
    town: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "--forecast",
        town / "forecast.csv",
        "--resources",
        town / "resources.yaml",
        "--week",
        "2026-W13",
        "--no-marginal",
    ]
    assert _run(capsys, "plan", "--now", NOW, *args, "--walks", 3, "--out", tmp_path / "first.json")[0] == 0
    first = json.loads((tmp_path / "first.json").read_text(encoding="utf-8"))
    walk = next(s for s in first["shifts"] if s["kind"] == "night_walk")
    code, _, err = _run(
        capsys,
        "plan",
        "--now",
        NOW,
        *args,
        "--out",
        tmp_path / "second.json",
        "--pinned",
        tmp_path / "first.json",
        "--cancel",
        f"{walk['association']}@{walk['night']}",
    )
    assert code == 0, err
    second = json.loads((tmp_path / "second.json").read_text(encoding="utf-8"))
    key = ("association", "night", "area", "template")
    before = {tuple(s.get(k) for k in key) for s in first["shifts"] if s["kind"] == "night_walk"}
    after = {tuple(s.get(k) for k in key) for s in second["shifts"] if s["kind"] == "night_walk"}
    cancelled = tuple(walk.get(k) for k in key)
    assert len(after) == 3 and cancelled not in after and before - {cancelled} <= after
    assert all(s["pinned"] for s in second["shifts"] if tuple(s.get(k) for k in key) in before)
    assert not any(
        s["association"] == walk["association"] and s["night"] == walk["night"]
        for s in second["shifts"]
        if s["kind"] == "night_walk"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--week", "2026-W20"], "tryggplan: error: the forecast does not cover week 2026-W20"),
        (["--week", "2026-49"], "tryggplan: error: week '2026-49' is not an ISO week: write it as YYYY-Www"),
        (["--week", "2026-W13", "--solver", "gurobi"], "tryggplan: error: --solver 'gurobi' is not known"),
        (
            ["--week", "2026-W13", "--walks", 99],
            "tryggplan: error: no plan for 2026-W13 satisfies every constraint; "
            "conflicting: week share of the season quota: exactly 99 walks",
        ),
        (["--week", "2026-W13", "--cancel", "Lions@2026-03-27"], "tryggplan: error: --cancel needs --pinned"),
    ],
)
def test_bad_requests_exit_2_with_one_line(
    town: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[object], message: str
) -> None:
    code, _, err = _run(
        capsys,
        "plan",
        "--now",
        NOW,
        "--forecast",
        town / "forecast.csv",
        "--resources",
        town / "resources.yaml",
        "--out",
        tmp_path / "plan.json",
        "--no-marginal",
        *extra,
    )
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "plan.json").exists()


def test_bad_resources_file_exit_2(town: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "templates: [{name: t, start: '20:15', end: '00:00'}]\nareas: [{name: A, place_ids: [P00]}]\n", encoding="utf-8"
    )
    code, _, err = _run(
        capsys,
        "plan",
        "--now",
        NOW,
        "--forecast",
        town / "forecast.csv",
        "--resources",
        bad,
        "--week",
        "2026-W13",
        "--out",
        tmp_path / "plan.json",
    )
    assert code == 2 and err == (
        "tryggplan: error: bad.yaml: templates[0].start: start '20:15' is not on the hour: "
        "the risk grid is hourly, write e.g. '21:00'\n"
    )


def test_season_plan(town: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys,
        "season-plan",
        "--now",
        NOW,
        "--forecast",
        town / "forecast.csv",
        "--resources",
        town / "resources.yaml",
        "--out",
        tmp_path / "season.json",
    )
    assert code == 0, err
    s = json.loads((tmp_path / "season.json").read_text(encoding="utf-8"))
    assert s["first_week"] == "2026-W13" and len(s["weeks"]) == 26
    assert s["planned_walks"] == sum(w["walks"] for w in s["weeks"]) == 40
    assert sorted(s["weekly"]) == ["2026-W13", "2026-W14"]  # the weeks the forecast covers
    assert [s["weekly"][w]["walks"] for w in ("2026-W13", "2026-W14")] == [w["walks"] for w in s["weeks"][:2]]
    assert out.startswith("season 2026-W13..2026-W38: 40 of 40 walks paced over 26 weeks")
    assert "; 2 weekly plans solved; 40 walks placed" in out
    assert len(s["placed"]) == 40 and {p["source"] for p in s["placed"]} == {"forecast", "profile"}


def test_now_must_carry_an_offset(town: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys, "plan", "--now", "2026-03-23 00:00", "--forecast", town / "forecast.csv", "--resources",
        town / "resources.yaml", "--week", "2026-W13", "--out", tmp_path / "p.json",
    )  # fmt: skip
    assert (code, err) == (
        2,
        "tryggplan: error: --now '2026-03-23 00:00' has no offset: write it as e.g. 2026-12-01T21:00+01:00\n",
    )


def test_a_past_week_is_refused_at_the_clock(town: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys, "plan", "--now", "2026-04-01T12:00:00+02:00", "--forecast", town / "forecast.csv", "--resources",
        town / "resources.yaml", "--week", "2026-W13", "--out", tmp_path / "p.json",
    )  # fmt: skip
    assert (code, err) == (
        2,
        "tryggplan: error: week 2026-W13 ended at 2026-03-30 00:00 (Europe/Stockholm), before the plan is made "
        "(2026-04-01 12:00): nothing is left to plan; plan 2026-W14 or later\n",
    )
