"""Did it work? (tryggplan.reporting.evaluation): a planted effect (walked place-hours at 60% of the
forecast) is found, no effect is not claimed, and the "how many more walks" figure follows its
stated power calculation."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tryggplan.domain import InvalidInputError
from tryggplan.reporting.evaluation import evaluate_coverage, shifts_needed

TZ = "Europe/Stockholm"
START = dt.date(2026, 1, 5)  # a Monday
PLACES = [f"P{i}" for i in range(8)]
GROUPS = (PLACES[:4], PLACES[4:])


def _grid(weeks: int) -> pd.DataFrame:
    """Expected counts [incidents/h]: 0.3 in the evening 20:00-24:00, 0.02 otherwise, times a place factor."""
    slots = pd.date_range(pd.Timestamp(START).tz_localize(TZ), periods=weeks * 7 * 24, freq="h")
    evening = np.asarray((slots.hour >= 20) & (slots.hour <= 23))
    factor = np.linspace(0.8, 1.2, len(PLACES))
    expected = np.where(evening, 0.3, 0.02)[None, :] * factor[:, None]
    return pd.DataFrame(
        {
            "place_id": np.repeat(PLACES, len(slots)),
            "slot_start": np.tile(slots, len(PLACES)),
            "expected": expected.reshape(-1),
        }
    )


def _walks(weeks: int) -> list[dict[str, Any]]:
    """Fridays and Saturdays 20:00-24:00: one half of the town on Friday, the other on Saturday,
    swapping every week, so every walked place-hour has unwalked weeks at the same hour of week."""
    out = []
    for w in range(weeks):
        for day, group in ((4, GROUPS[w % 2]), (5, GROUPS[(w + 1) % 2])):
            night = START + dt.timedelta(days=7 * w + day)
            start = pd.Timestamp(f"{night.isoformat()} 20:00").tz_localize(TZ)
            out.append(
                {
                    "kind": "night_walk",
                    "association": "Lions",
                    "place_ids": list(group),
                    "start": start.isoformat(),
                    "end": (start + pd.Timedelta(hours=4)).isoformat(),
                }
            )
    return out


def _incidents(grid: pd.DataFrame, walks: list[dict[str, Any]], factor: float, seed: int) -> pd.DataFrame:
    """Poisson incidents at the forecast's rate, times ``factor`` in walked place-hours."""
    rng = np.random.default_rng(seed)
    walked = {
        (p, h)
        for w in walks
        for p in w["place_ids"]
        for h in pd.date_range(pd.Timestamp(w["start"]), pd.Timestamp(w["end"]), freq="h", inclusive="left")
    }
    mult = np.array(
        [factor if (p, s) in walked else 1.0 for p, s in zip(grid["place_id"], grid["slot_start"], strict=True)]
    )
    counts = rng.poisson(grid["expected"].to_numpy() * mult)
    rows = np.repeat(np.arange(len(grid)), counts)
    minutes = rng.integers(0, 60, size=len(rows))
    return pd.DataFrame(
        {
            "occurred_at": pd.DatetimeIndex(grid["slot_start"])[rows] + pd.to_timedelta(minutes, unit="min"),
            "place_id": grid["place_id"].to_numpy()[rows],
        }
    )


WEEKS = 16
UNTIL = pd.Timestamp(START + dt.timedelta(days=7 * WEEKS)).tz_localize(TZ)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_planted_effect_is_found(seed: int) -> None:
    grid, walks = _grid(WEEKS), _walks(WEEKS)
    ev = evaluate_coverage(walks, _incidents(grid, walks, 0.6, seed), grid, tz=TZ, until=UNTIL)
    assert ev.verdict == "fewer" and ev.more_needed == 0
    assert (ev.shifts, ev.place_hours) == (32, 32 * 4 * 4)
    assert ev.expected == pytest.approx(0.3 * 4 * 4 * 32)  # place factors average 1 over each half
    assert ev.did_lo is not None and ev.did_hi is not None and 0 < ev.did_lo < 0.4 < ev.did_hi
    assert ev.forecast_lo is not None and ev.forecast_lo > 0
    assert ev.text().startswith("Färre händelser än väntat där nattvandringar fanns. 32 nattvandringar täckte 512")
    assert ev.text("en").startswith("Fewer incidents than expected where night walks were.")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_effect_is_not_claimed(seed: int) -> None:
    grid, walks = _grid(WEEKS), _walks(WEEKS)
    ev = evaluate_coverage(walks, _incidents(grid, walks, 1.0, seed), grid, tz=TZ, until=UNTIL)
    assert ev.verdict == "cannot_tell"
    assert ev.text().startswith(
        "Kan inte avgöra ännu: underlaget räcker inte. 32 nattvandringar täckte 512 platstimmar"
    )
    assert ev.text("en").startswith("The data cannot tell yet. 32 night walks covered 512 place-hours")


def test_the_exact_difference_in_differences() -> None:
    """The interval is the Clopper-Pearson interval of O_T given O_T + O_C, mapped to 1 - RR."""
    grid, walks = _grid(WEEKS), _walks(WEEKS)
    ev = evaluate_coverage(walks, _incidents(grid, walks, 0.6, 1), grid, tz=TZ, until=UNTIL)
    # comparison: the same places at the same hours of week on the 16 nights each place was not walked
    assert ev.control_place_hours == 8 * 4 * 16 and ev.control_expected == pytest.approx(ev.expected)
    e_t, e_c, o_t, o_c = ev.expected, ev.control_expected, ev.observed, ev.control_observed
    test = stats.binomtest(o_t, o_t + o_c, e_t / (e_t + e_c))
    ci = test.proportion_ci(confidence_level=0.9, method="exact")
    assert ev.did_lo == pytest.approx(1 - ci.high / (1 - ci.high) * e_c / e_t)
    assert ev.did_hi == pytest.approx(1 - ci.low / (1 - ci.low) * e_c / e_t)
    assert ev.did_effect == pytest.approx(1 - (o_t / e_t) / (o_c / e_c))
    assert ev.prevented == pytest.approx(e_t * o_c / e_c - o_t)
    assert ev.did_p_value == pytest.approx(test.pvalue)


def test_few_walks_say_how_many_more_are_needed() -> None:
    weeks = 2
    grid, walks = _grid(weeks), _walks(weeks)
    until = pd.Timestamp(START + dt.timedelta(days=7 * weeks)).tz_localize(TZ)
    ev = evaluate_coverage(walks, _incidents(grid, walks, 0.6, 7), grid, tz=TZ, until=until)
    assert ev.verdict == "cannot_tell" and ev.shifts == 4
    # the closed form of the Wald test of the log rate ratio (two-sided 90%, power 80%)
    e = ev.expected / ev.shifts
    k = ev.control_expected / ev.expected
    rate = ev.control_observed / ev.control_expected
    z = stats.norm.ppf(0.95) + stats.norm.ppf(0.80)
    n = z**2 * (1 / (rate * 0.9) + 1 / (k * rate)) / (e * math.log(0.9) ** 2)
    assert ev.more_needed == math.ceil(n) - 4
    assert ev.more_needed == shifts_needed(0.1, e, k, rate, 0.9) - 4  # type: ignore[operator]
    assert f"behövs ungefär {ev.more_needed} nattvandringar till för att se den (80 % styrka)" in ev.text()
    assert f"about {ev.more_needed} more night walks are needed to see it (80% power)" in ev.text("en")
    big = evaluate_coverage(walks, _incidents(grid, walks, 0.6, 7), grid, tz=TZ, until=until, detect_effect=0.5)
    assert 0 <= big.more_needed < ev.more_needed  # type: ignore[operator]  # a bigger effect needs fewer walks


def test_guards_are_evaluated_apart_and_their_nights_are_no_comparison() -> None:
    grid, walks = _grid(4), _walks(4)
    guard = {"kind": "guard", "place_ids": ["P0"], "start": "2026-01-16T20:00:00+01:00", "hours": 4}
    until = pd.Timestamp(START + dt.timedelta(days=28)).tz_localize(TZ)
    incidents = _incidents(grid, walks, 1.0, 3)
    walks_only = evaluate_coverage(walks, incidents, grid, tz=TZ, until=until)
    with_guard = evaluate_coverage([*walks, guard], incidents, grid, tz=TZ, until=until)
    # P0 was walked on Fridays in weeks 0 and 2; week 1's Friday now has a guard: 4 fewer comparison hours
    assert with_guard.control_place_hours == walks_only.control_place_hours - 4
    g = evaluate_coverage([*walks, guard], incidents, grid, kind="guard", tz=TZ, until=until)
    assert (g.kind, g.shifts, g.place_hours) == ("guard", 1, 4)
    assert g.text().split(".")[1].strip().startswith("1 väktarpass täckte 4 platstimmar")


def test_until_drops_place_hours_without_data() -> None:
    grid, walks = _grid(WEEKS), _walks(WEEKS)
    incidents = _incidents(grid, walks, 0.6, 1)
    half = pd.Timestamp(START + dt.timedelta(days=7 * 8)).tz_localize(TZ)
    ev = evaluate_coverage(walks, incidents, grid, tz=TZ, until=half)
    assert (ev.shifts, ev.place_hours) == (16, 16 * 4 * 4)  # the walks after `until` are left out
    default = evaluate_coverage(walks, incidents[incidents["occurred_at"] < half], grid, tz=TZ)
    assert default.place_hours <= ev.place_hours


def test_result_as_json() -> None:
    grid, walks = _grid(2), _walks(2)
    ev = evaluate_coverage(walks, _incidents(grid, walks, 1.0, 1), grid, tz=TZ)
    data = ev.to_dict("en")
    assert data["verdict"] == "cannot_tell" and data["text"].startswith("The data cannot tell yet.")
    assert data["not_evaluated"] == [] and data["shifts_given"] == 4
    assert set(data) >= {"expected", "observed", "did_lo", "did_hi", "forecast_lo", "forecast_hi", "more_needed"}


@pytest.mark.parametrize(
    ("shifts", "kwargs", "match"),
    [
        ([], {}, "no night_walk shifts given"),
        (_walks(1), {"kind": "guard"}, "no guard shifts given"),
        (_walks(1), {"level": 1.0}, "level must lie in"),
        (_walks(1), {"detect_effect": 0.0}, "detect_effect must lie in"),
        (_walks(1), {"until": "2026-03-01"}, "needs an offset"),
        (_walks(1), {"tz": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_input(shifts: list[dict[str, Any]], kwargs: dict[str, Any], match: str) -> None:
    grid = _grid(1)
    with pytest.raises(InvalidInputError, match=match):
        evaluate_coverage(shifts, _incidents(grid, [], 1.0, 0), grid, **kwargs)


def _one_walk(night: str = "2026-01-09") -> dict[str, Any]:
    return {
        "kind": "night_walk",
        "association": "Lions",
        "place_ids": ["P0"],
        "start": f"{night}T20:00:00+01:00",
        "end": f"{night}T22:00:00+01:00",
    }


def test_every_incident_in_walked_hours_is_no_crash() -> None:
    """All incidents fell in walked hours and none in the comparison hours: the effect has no lower end,
    which is said in words (it used to crash with "cannot format -inf")."""
    grid, walks = _grid(4), _walks(4)
    until = pd.Timestamp(START + dt.timedelta(days=28)).tz_localize(TZ)
    first = pd.Timestamp(walks[0]["start"])
    incidents = pd.DataFrame({"occurred_at": [first + pd.Timedelta(minutes=m) for m in (5, 70, 130)], "place_id": "P0"})
    ev = evaluate_coverage(walks, incidents, grid, tz=TZ, until=until)
    assert (ev.verdict, ev.shifts, ev.observed, ev.control_observed) == ("cannot_tell", 8, 3, 0)
    assert ev.did_effect is None and ev.did_lo is None and ev.prevented is None
    p_lo = stats.binomtest(3, 3, ev.expected / (ev.expected + ev.control_expected)).proportion_ci(0.9).low
    assert ev.did_hi == pytest.approx(1 - p_lo / (1 - p_lo) * ev.control_expected / ev.expected)
    text = ev.text()
    assert text.startswith("Kan inte avgöra ännu: underlaget räcker inte. 8 nattvandringar täckte 128 platstimmar: 3 ")
    assert (
        "Alla 3 händelser inträffade under passen och ingen i de jämförbara timmarna: effekten kan inte skattas" in text
    )
    assert "All 3 incidents happened during the shifts and none in the comparable hours" in ev.text("en")
    assert "inf" not in text


def test_no_incidents_at_all_claims_nothing() -> None:
    """No incident anywhere: "cannot tell" with the walks and incidents behind it, never the assumed
    effect returned as a result (it used to read "+10% (−16% to +35%)")."""
    grid = _grid(2)
    until = pd.Timestamp(START + dt.timedelta(days=14)).tz_localize(TZ)
    none = pd.DataFrame({"occurred_at": pd.DatetimeIndex([], tz="UTC"), "place_id": pd.Series([], dtype=str)})
    ev = evaluate_coverage([_one_walk()], none, grid, tz=TZ, until=until, assumed_effect=0.10)
    assert (ev.verdict, ev.shifts, ev.place_hours, ev.observed, ev.control_observed) == ("cannot_tell", 1, 2, 0, 0)
    # against the forecast: no incident where 0.48 were expected is a measurement with its exact interval
    e = 2 * 0.3 * 0.8
    assert ev.expected == pytest.approx(e)
    assert (ev.forecast_effect, ev.forecast_hi) == (1.0, 1.0)
    assert ev.forecast_lo == pytest.approx(1 - stats.chi2.ppf(0.95, 2) / 2 / e)  # 1 - 2.996 / 0.48
    assert ev.did_effect is None and ev.did_lo is None and ev.more_needed is not None
    assert ev.text() == (
        "Kan inte avgöra ännu: underlaget räcker inte. 1 nattvandringar täckte 2 platstimmar: 0 händelser där "
        "prognosen väntade 0,5. Samma platser och veckotimmar utan pass: 0 händelser mot väntat 0,5. Inga händelser "
        "alls, varken under passen eller i de jämförbara timmarna: ingen effekt kan skattas. Mot prognosen: inga "
        "händelser där 0,5 väntades (90\u00a0% intervall för effekten \u2212524\u00a0% till +100\u00a0%). I de "
        "jämförbara timmarna utan pass väntade prognosen 0,5 händelser samma månader, men inga inträffade (väntat ÷ "
        "inträffat minst 0,16, 90\u00a0% intervall). Om effekten är 10\u00a0% behövs ungefär 2449 nattvandringar "
        "till för att se den (80 % styrka)."
    )
    # no incidents and no `until`: nothing says the data were ever complete, so nothing is evaluated
    blind = evaluate_coverage([_one_walk()], none, grid, tz=TZ)
    assert (blind.shifts, blind.not_evaluated, blind.verdict) == (0, [{"shift": 0, "reason": "no_data"}], "cannot_tell")
    assert blind.text() == (
        "Kan inte avgöra ännu: underlaget räcker inte. Ingen av 1 nattvandringar kunde jämföras, "
        "så det finns inga händelser att räkna."
    )


def test_every_walk_is_evaluated_or_listed_with_its_reason() -> None:
    grid, walks = _grid(2), _walks(2)
    until = pd.Timestamp(START + dt.timedelta(days=11)).tz_localize(TZ)  # Friday of week 1
    outside = _one_walk("2026-03-06")  # no forecast covers March
    guard = {"kind": "guard", "place_ids": ["P1"], "start": "2026-01-09T20:00:00+01:00", "hours": 2}
    ev = evaluate_coverage([*walks, outside, guard], _incidents(grid, walks, 1.0, 4), grid, tz=TZ, until=until)
    # week 0's two walks are evaluated; week 1's Friday starts after the data end, Saturday too; March has
    # no forecast (and lies after the data as well: after_data wins, the data cannot reach it)
    assert (ev.shifts, ev.shifts_given) == (2, 5)
    assert ev.not_evaluated == [
        {"shift": 2, "reason": "after_data"},
        {"shift": 3, "reason": "after_data"},
        {"shift": 4, "reason": "after_data"},
    ]
    late = pd.Timestamp("2026-04-01T00:00:00+02:00")
    ev = evaluate_coverage([*walks, outside], _incidents(grid, walks, 1.0, 4), grid, tz=TZ, until=late)
    assert (ev.shifts, ev.not_evaluated) == (4, [{"shift": 4, "reason": "no_forecast"}])
    assert ev.text().endswith("1 av 5 nattvandringar kunde inte jämföras (se listan).")
    assert ev.text("en").endswith("1 of 5 night walks could not be compared (see the list).")
    nothing = evaluate_coverage([outside], _incidents(grid, walks, 1.0, 4), [], tz=TZ, until=late)
    assert (nothing.shifts, nothing.not_evaluated) == (0, [{"shift": 0, "reason": "no_forecast"}])


def test_the_forecasts_own_calibration_is_reported() -> None:
    """Walks that do nothing under a forecast running 30% high look effective against the forecast alone;
    the calibration in the unwalked comparable hours shows why, and the verdict stays "cannot tell"."""
    grid, walks = _grid(WEEKS), _walks(WEEKS)
    ev = evaluate_coverage(walks, _incidents(grid, walks, 1.0, 1).sample(frac=1 / 1.3, random_state=1), grid, tz=TZ,
                           until=UNTIL)  # fmt: skip
    assert ev.forecast_lo is not None and ev.forecast_lo > 0  # "fewer than forecast" although walks did nothing
    assert ev.verdict == "cannot_tell"
    assert ev.calibration == pytest.approx(ev.control_expected / ev.control_observed)
    assert ev.calibration_lo is not None and ev.calibration_lo > 1
    lo, hi = stats.chi2.ppf([0.05, 0.95], [2 * ev.control_observed, 2 * ev.control_observed + 2]) / 2
    assert (ev.calibration_lo, ev.calibration_hi) == pytest.approx((ev.control_expected / hi, ev.control_expected / lo))
    text = ev.text()
    assert f"Prognosen själv väntade {ev.calibration:.2f}".replace(".", ",") in text
    assert "Prognosen låg alltså fel för de här månaderna, så jämförelsen mot prognosen ensam säger lite." in text
