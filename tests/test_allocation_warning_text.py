"""Plan and season warnings in Swedish: every warning the planner writes in these scenarios has a
Swedish text, and the texts read as a Swede writes them (dates, decimal commas, kronor)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from tests.test_allocation_season import PACING_CASES, TWO, _grid_w14_risky, _r
from tryggplan.allocation.pacing import pace
from tryggplan.allocation.season import replan
from tryggplan.allocation.spec import parse_resources
from tryggplan.allocation.synthetic import synthetic_grid, synthetic_resources
from tryggplan.allocation.warning_text import known_warning, warning_text
from tryggplan.allocation.weekly import plan_week

TZ = "Europe/Stockholm"
WEEK = "2026-W13"
GRID = synthetic_grid(8, WEEK, weeks=2, seed=1)
RES = parse_resources(synthetic_resources(8, 2))
#: words of the planner's English that no Swedish text keeps
ENGLISH = (" walks", " the ", " week ", " is ", " are ", " of ", "SEK", " planned ", " left")


def _swedish(text: str) -> str:
    assert known_warning(text), f"no Swedish text for the warning: {text!r}"
    out = warning_text(text, "sv")
    assert not any(word in out for word in ENGLISH), out
    return out


@pytest.mark.parametrize(("res", "first", "grid", "kwargs", "walks", "warnings"), PACING_CASES)
def test_every_pacing_warning_has_a_swedish_text(
    res: Any, first: str, grid: pd.DataFrame | None, kwargs: dict[str, Any], walks: list[int], warnings: list[str]
) -> None:
    sp = pace(res, first, grid, **kwargs)
    assert sp.warnings == warnings and sp.warnings
    for text in sp.warnings:
        _swedish(text)


def test_a_weekly_plan_made_mid_week_reads_in_swedish() -> None:
    res = _r({"walks": 40, "horizon_weeks": 3, "min_walks_per_week": 0}, associations=TWO)
    now = pd.Timestamp("2026-03-31 12:00", tz=TZ)  # Tuesday of 2026-W14
    plan = plan_week(_grid_w14_risky(), res, "2026-W14", now=now, walks_left=5, with_marginal=False, spent_sek=500.0)
    assert len(plan.warnings) >= 3
    sv = [_swedish(w) for w in plan.warnings]
    assert sv[0].startswith("säsongens fördelning: ")
    assert any(s.startswith("planerad tis 31 mar 12:00: inget som börjar före dess läggs ut (") for s in sv)
    assert sv[-1] == (
        "budget: 12\u00a0000 kr för veckan − 500 kr redan förbrukade på pass som började före planen = "
        "11\u00a0500 kr kvar"
    )


def test_a_replan_reads_in_swedish() -> None:
    first = plan_week(GRID, RES, WEEK, now=pd.Timestamp("2026-03-23 00:00", tz=TZ), walks=3, with_marginal=False)
    t = pd.Timestamp("2026-03-27 12:00", tz=TZ)
    declined = next(s for s in first.shifts if s.kind == "night_walk" and pd.Timestamp(s.start) >= t)
    new = replan(
        GRID,
        RES,
        WEEK,
        first.to_dict(),
        now=t,
        cancel=[(declined.association or "", dt.date.fromisoformat(declined.night or ""))],
        with_marginal=False,
        with_baselines=False,
    )
    assert [_swedish(w) for w in new.warnings[:3]] == [
        "omplanerad fre 27 mar 12:00: 1 pass i den tidigare planen började före dess (0 föreningspass, 1\u00a0350 kr): "
        "de står kvar som historik och läggs inte igen",
        "planerad fre 27 mar 12:00: inget som börjar före dess läggs ut (24 av veckans 42 möjliga pass har redan "
        "passerat)",
        "budget: 12\u00a0000 kr för veckan − 1\u00a0350 kr redan förbrukade på pass som började före planen = "
        "10\u00a0650 kr kvar",
    ]


@pytest.mark.parametrize(
    ("english", "swedish"),
    [
        (
            "season pacing: 2 of the 38 remaining walks this week (26 weeks to 2027-W22, week risk 1.37 from the "
            "forecast+profile); notable nights: fri 2026-06-19: midsummer_eve, payday_weekend",
            "säsongens fördelning: 2 av de 38 återstående passen denna vecka (26 veckor till v.\u00a022 2027, veckans "
            "risk 1,37 enligt prognosen och nattprofilen); särskilda nätter: fre 19 jun: midsommarafton, lönehelg",
        ),
        (
            "weeks before 2026-W13 are over at sat 2026-03-28 12:00: the pacing starts at 2026-W13",
            "veckorna före v.\u00a013 2026 är över lör 28 mar 12:00: fördelningen börjar v.\u00a013 2026",
        ),
        (
            "2 pinned shift(s) started before Thu 10:00 and are left out of this plan (count their cost in "
            "spent_sek): 'Förening 3' in Centrum Wed 20:00-00:00; guard at P01 Wed 21:00 (3 h)",
            "2 låsta pass började före tors 10:00 och ingår inte i denna plan (räkna deras kostnad i spent_sek): "
            "”Förening 3” i Centrum ons 20:00–00:00; väktare vid P01 ons 21:00 (3 h)",
        ),
        (
            "no association can take the walk of 'Förening 0' on the night of 2026-03-28 (week share of the season "
            "quota: exactly 3 walks this week): the week has 2 walks instead of 3",
            "ingen förening kan ta passet för ”Förening 0” natten 28 mar (week share of the season quota: exactly 3 "
            "walks this week): veckan får 2 pass i stället för 3",
        ),
        (
            "the solver stopped at the time limit: the plan is within 0.50% of the optimum",
            "lösaren stoppade vid tidsgränsen: planen ligger inom 0,50\u00a0% från optimum",
        ),
        (
            "the resources have no 'season' block: the quota, the pot and the walks left are unknown; "
            "add season: {walks: N, until: YYYY-MM-DD} to the resources",
            "resursfilen saknar blocket 'season': kvoten, potten och återstående pass är okända; lägg till "
            "season: {walks: N, until: ÅÅÅÅ-MM-DD} i resursfilen",
        ),
    ],
)
def test_warnings_read_as_a_swede_writes_them(english: str, swedish: str) -> None:
    assert warning_text(english, "sv") == swedish
    assert warning_text(english, "en") == english


def test_a_text_it_does_not_know_stays_as_written() -> None:
    assert not known_warning("something new the planner says")
    assert warning_text("something new the planner says", "sv") == "something new the planner says"
