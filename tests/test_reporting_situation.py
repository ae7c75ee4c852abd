"""The situation picture (tryggplan.reporting.situation): exact counts, changes, flags and YTD on the
planted town of ../shared/checks/report.py, and the rules for last year, walks, coverage, windows
and decisions."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
from scipy import stats

from tryggplan.domain import InvalidInputError
from tryggplan.reporting.situation import (
    FeedCounts,
    SourceSpan,
    pct_change,
    rate_test,
    same_date_last_year,
    situation_picture,
)

TZ = "Europe/Stockholm"
TO, DAYS = dt.date(2026, 11, 29), 14
PLACES = {
    "torget": ("Stortorget", "skadegörelse"),
    "parken": ("Stadsparken", "ordningsstörning"),
    "skolan": ("Skolgården", "stöld"),
}
# place: (this period, previous period, same period last year), as in ../shared/checks/report.py
PLANTED = {"torget": (20, 4, 6), "parken": (5, 4, 5), "skolan": (2, 6, 3)}
YTD, YTD_LAST = 317, 387
DESIGN_KEYS = {"to", "days", "from", "totals", "ytd", "places", "categories", "done", "ahead", "decisions"}


def spread(start: dt.date, end: dt.date, n: int) -> list[dt.date]:
    span = (end - start).days
    return [start + dt.timedelta(days=(i * span) // max(n - 1, 1)) for i in range(n)]


def planted_town() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The town of ../shared/checks/report.py, built the same way (incidents at 21:30 local)."""
    rows: list[tuple[dt.date, str]] = []
    frm = TO - dt.timedelta(days=DAYS - 1)
    prev = frm - dt.timedelta(days=DAYS)
    last = frm.replace(year=TO.year - 1)
    windows = [(frm, TO), (prev, frm - dt.timedelta(days=1)), (last, TO.replace(year=TO.year - 1))]
    for place, counts in PLANTED.items():
        for (a, b), n in zip(windows, counts, strict=True):
            rows += [(d, place) for d in spread(a, b, n)]
    this_year = sum(c[0] + c[1] for c in PLANTED.values())
    last_year = sum(c[2] for c in PLANTED.values())
    names = list(PLANTED)
    for i, d in enumerate(spread(dt.date(TO.year, 1, 1), prev - dt.timedelta(days=1), YTD - this_year)):
        rows.append((d, names[i % 3]))
    for i, d in enumerate(spread(dt.date(TO.year - 1, 1, 1), last - dt.timedelta(days=1), YTD_LAST - last_year)):
        rows.append((d, names[i % 3]))
    after = spread(TO.replace(year=TO.year - 1) + dt.timedelta(days=1), dt.date(TO.year - 1, 12, 31), 30)
    rows += [(d, names[i % 3]) for i, d in enumerate(after)]  # after last year's YTD cut: must not count
    local = pd.DatetimeIndex([pd.Timestamp(f"{d.isoformat()} 21:30") for d, _ in rows]).tz_localize(TZ)
    incidents = pd.DataFrame(
        {
            "incident_id": [f"r{k}" for k in range(len(rows))],
            "occurred_at": local.tz_convert("UTC"),
            "place_id": [p for _, p in rows],
            "category": [PLACES[p][1] for _, p in rows],
            "source": "reporter",
            "weight": 1.0,
        }
    )
    places = pd.DataFrame(
        {
            "place_id": list(PLACES),
            "name": [n for n, _ in PLACES.values()],
            "municipality": "Kungsör",
            "lat": 59.42,
            "lon": 16.10,
            "kind": "square",
            "area": "Centrum",
        }
    )
    return incidents, places


def test_planted_town_exact_counts_changes_flags_and_ytd() -> None:
    incidents, places = planted_town()
    rep = situation_picture(incidents, places, TO, days=DAYS, tz=TZ)
    assert DESIGN_KEYS <= set(rep)
    assert (rep["to"], rep["days"], rep["from"]) == ("2026-11-29", 14, "2026-11-16")
    assert (rep["previous_from"], rep["previous_to"]) == ("2026-11-02", "2026-11-15")
    assert (rep["last_year_from"], rep["last_year_to"]) == ("2025-11-16", "2025-11-29")
    t = rep["totals"]
    assert {k: t[k] for k in ("count", "previous", "last_year")} == {"count": 27, "previous": 14, "last_year": 14}
    assert (t["change_vs_previous_pct"], t["change_vs_last_year_pct"]) == (92.9, 92.9)
    # 27 vs 14 looks like a doubling, but the exact test says it could be chance (p = 0.060)
    assert t["p_value"] == pytest.approx(stats.binomtest(27, 41, 0.5).pvalue) and round(t["p_value"], 3) == 0.060
    assert (t["flag"], t["text"]) == (None, "inom normal variation")
    # the year to date by the same exact test: 317 against 387 is a real decrease (p = 0.0093)
    assert {k: rep["ytd"][k] for k in ("count", "last_year", "change_pct", "flag")} == {
        "count": 317,
        "last_year": 387,
        "change_pct": -18.1,
        "flag": "down",
    }
    assert rep["ytd"]["p_value"] == pytest.approx(stats.binomtest(317, 704, 0.5).pvalue)
    assert round(rep["ytd"]["p_value"], 4) == 0.0093 and rep["ytd"]["text"] == "minskning utöver normal variation"
    # the data run from the first of last year's incidents to the period's last day: nothing to warn of
    assert (rep["data_from"], rep["data_until"], rep["sources_until"]) == ("2025-01-01", "2026-11-29", "2026-11-29")
    assert rep["warnings"] == [] and rep["compared"] == {"previous": True, "last_year": True, "ytd": True}
    rows = {r["place_id"]: r for r in rep["places"]}
    got = {p: (r["count"], r["previous"], r["last_year"], r["flag"]) for p, r in rows.items()}
    assert got == {"torget": (20, 4, 6, "up"), "parken": (5, 4, 5, None), "skolan": (2, 6, 3, None)}
    assert [r["place_id"] for r in rep["places"]] == ["torget", "parken", "skolan"]  # most incidents first
    torget = rows["torget"]
    assert torget["p_value"] == pytest.approx(stats.binomtest(20, 24, 0.5).pvalue) and torget["p_value"] < 0.01
    assert (torget["name"], torget["municipality"], torget["change_vs_previous_pct"]) == (
        "Stortorget",
        "Kungsör",
        400.0,
    )
    assert torget["text"] == "ökning utöver normal variation"
    assert rows["skolan"]["change_vs_previous_pct"] == -66.7 and rows["skolan"]["text"] == "inom normal variation"
    cats = {r["category"]: (r["count"], r["previous"], r["last_year"], r["flag"]) for r in rep["categories"]}
    assert cats == {"skadegörelse": (20, 4, 6, "up"), "ordningsstörning": (5, 4, 5, None), "stöld": (2, 6, 3, None)}
    assert sum(m["count"] for m in rep["ytd_months"]) == 317 and sum(m["last_year"] for m in rep["ytd_months"]) == 387
    assert [m["month"] for m in rep["ytd_months"]] == list(range(1, 12))
    local = [ts.date() for ts in incidents["occurred_at"].dt.tz_convert(TZ)]
    by_month = Counter(d.month for d in local if dt.date(2026, 1, 1) <= d <= TO)
    by_month_ly = Counter(d.month for d in local if dt.date(2025, 1, 1) <= d <= dt.date(2025, 11, 29))
    assert rep["ytd_months"] == [{"month": m, "count": by_month[m], "last_year": by_month_ly[m]} for m in range(1, 12)]
    assert rep["ytd_months"][10]["count"] >= 41  # November holds the period and the previous period
    assert "sections" not in rep  # one municipality: no sections
    json.dumps(rep)  # JSON-ready as it is


def test_english_texts() -> None:
    incidents, places = planted_town()
    rep = situation_picture(incidents, places, TO, days=DAYS, tz=TZ, lang="en")
    texts = {r["place_id"]: r["text"] for r in rep["places"]}
    assert texts == {
        "torget": "increase beyond normal variation",
        "parken": "within normal variation",
        "skolan": "within normal variation",
    }


def test_municipality_filter_and_sections() -> None:
    incidents, places = planted_town()
    other = pd.DataFrame({"place_id": ["kyrkan"], "name": ["Kyrkbacken"], "municipality": ["Arboga"], "area": ["Norr"]})
    places = pd.concat([places, other], ignore_index=True)
    extra = incidents.iloc[:5].assign(place_id="kyrkan", occurred_at=pd.Timestamp("2026-11-20T20:00Z"))
    incidents = pd.concat([incidents, extra], ignore_index=True)
    whole = situation_picture(incidents, places, TO, tz=TZ)
    assert whole["totals"]["count"] == 32 and whole["municipalities"] == ["Arboga", "Kungsör"]
    sections = {s["municipality"]: s for s in whole["sections"]}
    assert (sections["Arboga"]["totals"]["count"], sections["Kungsör"]["totals"]["count"]) == (5, 27)
    assert [r["place_id"] for r in sections["Arboga"]["places"]] == ["kyrkan"]
    only = situation_picture(incidents, places, TO, tz=TZ, municipalities=["Kungsör"])
    assert only["totals"]["count"] == 27 and "kyrkan" not in {r["place_id"] for r in only["places"]}
    assert only["ytd"]["count"] == 317 and "sections" not in only
    with pytest.raises(
        InvalidInputError, match=r"unknown municipality 'Köping': the known ones are \['Arboga', 'Kungsör'\]"
    ):
        situation_picture(incidents, places, TO, municipalities=["Köping"])


def test_places_without_incidents_and_unknown_places() -> None:
    incidents, places = planted_town()
    places = pd.concat([places, pd.DataFrame({"place_id": ["tomt"], "name": [""], "municipality": ["Kungsör"]})])
    incidents = pd.concat(
        [incidents, incidents.iloc[-1:].assign(place_id="okänd", occurred_at=pd.Timestamp("2026-11-28T20:00Z"))]
    )
    rep = situation_picture(incidents, places, TO, tz=TZ)
    rows = {r["place_id"]: r for r in rep["places"]}
    assert (rows["tomt"]["count"], rows["tomt"]["p_value"], rows["tomt"]["flag"], rows["tomt"]["name"]) == (
        0,
        None,
        None,
        "tomt",
    )
    assert (rows["okänd"]["count"], rows["okänd"]["municipality"], rows["okänd"]["name"]) == (1, None, "okänd")


def test_local_days_bound_the_period() -> None:
    """Days are local: 00:30 local on the day after `to` is 23:30 UTC on `to` and does not count;
    00:10 local on `from` is 23:10 UTC the day before and does."""
    places = pd.DataFrame({"place_id": ["a"], "name": ["A"], "municipality": ["M"]})
    times = ["2026-11-29T23:30:00+01:00", "2026-11-30T00:30:00+01:00", "2026-11-16T00:10:00+01:00"]
    incidents = pd.DataFrame({"occurred_at": pd.to_datetime(times, utc=True), "place_id": "a"})
    assert situation_picture(incidents, places, TO, tz=TZ)["totals"]["count"] == 2
    # a naive occurred_at is UTC (the canonical frame stores UTC): 2026-11-29T23:30Z is 00:30 local on the 30th
    naive = pd.DataFrame({"occurred_at": pd.to_datetime(["2026-11-29 23:30"]), "place_id": ["a"]})
    assert situation_picture(naive, places, TO, tz=TZ)["totals"]["count"] == 0


def test_29_february_maps_to_28_february() -> None:
    assert same_date_last_year(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
    assert same_date_last_year(dt.date(2028, 3, 1)) == dt.date(2027, 3, 1)
    places = pd.DataFrame({"place_id": ["a"], "name": ["A"], "municipality": ["M"]})
    times = ["2027-02-28T12:00:00+01:00", "2027-02-27T12:00:00+01:00", "2028-02-29T12:00:00+01:00"]
    incidents = pd.DataFrame({"occurred_at": pd.to_datetime(times, utc=True), "place_id": "a"})
    rep = situation_picture(incidents, places, "2028-02-29", days=1, tz=TZ)
    assert (rep["last_year_from"], rep["last_year_to"]) == ("2027-02-28", "2027-02-28")
    assert (rep["totals"]["count"], rep["totals"]["last_year"]) == (1, 1)
    assert (rep["ytd"]["count"], rep["ytd"]["last_year"], rep["ytd_last_year_to"]) == (1, 2, "2027-02-28")
    # a period spanning the leap day has 14 days; its last-year window 13 (2027 has no 29 February)
    rep = situation_picture(incidents, places, "2028-03-05", days=14, tz=TZ)
    assert (rep["from"], rep["last_year_from"], rep["last_year_to"]) == ("2028-02-21", "2027-02-21", "2027-03-05")


def test_rules_of_change_and_test() -> None:
    assert (pct_change(317, 387), pct_change(5, 0), pct_change(0, 4)) == (-18.1, None, -100.0)
    assert rate_test(0, 0) == (None, None)
    p, flag = rate_test(2, 12)
    assert p == pytest.approx(stats.binomtest(2, 14, 0.5).pvalue) and flag == "down"
    assert rate_test(6, 6) == (1.0, None)


def _walk_town() -> tuple[pd.DataFrame, pd.DataFrame]:
    places = pd.DataFrame(
        {
            "place_id": ["a", "b", "c"],
            "name": ["Torget", "Parken", "Kyrkan"],
            "municipality": ["M", "M", "N"],
            "area": ["Centrum", "Centrum", "Norr"],
        }
    )
    times = [
        "2026-11-20T20:30:00+01:00",  # a, under the walk
        "2026-11-20T23:10:00+01:00",  # a, after the walk
        "2026-11-21T21:15:00+01:00",  # b, under the guard
        "2026-11-22T21:15:00+01:00",  # c, no cover
    ]
    incidents = pd.DataFrame({"occurred_at": pd.to_datetime(times, utc=True), "place_id": ["a", "a", "b", "c"]})
    return incidents, places


WALKS = [
    {"association": "Lions", "night": "2026-11-20", "status": "completed", "area": "Centrum"},
    {"association": "Lions", "night": "2026-11-27", "status": "no_show", "area": "Centrum"},
    {"association": "Nattvandrarna", "night": "2026-11-21", "status": "completed", "area": "Norr"},
    {"association": "Nattvandrarna", "night": "2026-11-22", "status": "cancelled", "area": "Norr"},
    {"association": "Lions", "night": "2026-11-01", "status": "completed", "area": "Centrum"},  # before the period
]
COVERED = [
    {
        "kind": "night_walk",
        "association": "Lions",
        "place_ids": ["a", "b"],
        "start": "2026-11-20T20:00:00+01:00",
        "end": "2026-11-20T23:00:00+01:00",
    },
    {"kind": "guard", "guard": "guard 1", "place_ids": ["b"], "start": "2026-11-21T20:00:00+01:00", "hours": 3.5},
    # a guard block that starts the evening before the period: only its hours inside count
    {"kind": "guard", "place_ids": ["c"], "start": "2026-11-15T22:00:00+01:00", "end": "2026-11-16T02:00:00+01:00"},
]


def test_what_was_done_walks_guards_and_covered_share() -> None:
    incidents, places = _walk_town()
    rep = situation_picture(incidents, places, TO, tz=TZ, walks=WALKS, covered=COVERED)
    done = rep["done"]
    assert (done["walks_completed"], done["walks_no_show"], done["walks_cancelled"]) == (2, 1, 1)
    assert done["guard_hours"] == 5.5  # 3.5 + the 2 hours after midnight on 16 November
    assert done["associations"] == [
        {"association": "Lions", "completed": 1, "no_show": 1, "cancelled": 0},
        {"association": "Nattvandrarna", "completed": 1, "no_show": 0, "cancelled": 1},
    ]
    # walk: 2 places x 3 h; guard b: 20:00-23:30 -> 4 place-hours; guard c: 2 hours in the period
    assert done["covered_place_hours"] == 6 + 4 + 2
    assert (done["incidents_covered"], done["covered_share"]) == (2, 0.5)
    scoped = situation_picture(incidents, places, TO, tz=TZ, walks=WALKS, covered=COVERED, municipalities=["M"])
    d = scoped["done"]
    assert (d["walks_completed"], d["walks_no_show"], d["guard_hours"], d["covered_share"]) == (1, 1, 3.5, 0.6667)
    sections = {s["municipality"]: s["done"] for s in rep["sections"]}
    assert sections["N"]["associations"] == [
        {"association": "Nattvandrarna", "completed": 1, "no_show": 0, "cancelled": 1}
    ]


def test_look_ahead_windows_and_plan() -> None:
    incidents, places = _walk_town()
    windows = [
        {"place_id": "a", "label": "Torget, Fri 20:00–23:00", "start": "2026-12-04T20:00:00+01:00",
         "end": "2026-12-04T23:00:00+01:00", "expected": 0.42},
        {"place_id": "c", "label": "Kyrkan", "start": "2026-12-01T19:00:00Z", "end": "2026-12-01T22:00:00Z",
         "expected": 0.2},
        {"place_id": "a", "label": "too late", "start": "2026-12-14T20:00:00+01:00",
         "end": "2026-12-14T22:00:00+01:00", "expected": 0.9},
        {"place_id": "a", "label": "in the past", "start": "2026-11-29T20:00:00+01:00",
         "end": "2026-11-29T22:00:00+01:00", "expected": 0.9},
    ]  # fmt: skip
    planned = [
        {"kind": "night_walk", "association": "Lions", "area": "Centrum", "place_ids": ["a", "b"],
         "start": "2026-12-04T21:00:00+01:00", "end": "2026-12-05T01:00:00+01:00"},
        {"kind": "guard", "guard": "guard 1", "place_ids": ["c"], "start": "2026-12-02T20:00:00+01:00", "hours": 2},
    ]  # fmt: skip
    rep = situation_picture(
        incidents, places, TO, tz=TZ, windows=windows, planned=planned, trained_until="2026-11-28T00:00:00+01:00"
    )
    ahead = rep["ahead"]
    assert (ahead["from"], ahead["to"], ahead["trained_until"]) == (
        "2026-11-30",
        "2026-12-13",
        "2026-11-28T00:00:00+01:00",
    )
    assert [(w["place_id"], w["start"], w["expected"], w["name"]) for w in ahead["windows"]] == [
        ("c", "2026-12-01T20:00:00+01:00", 0.2, "Kyrkan"),
        ("a", "2026-12-04T20:00:00+01:00", 0.42, "Torget"),
    ]
    assert [s["who"] for s in ahead["plan"]] == ["guard 1", "Lions"]
    assert [w["planned"] for w in ahead["windows"]] == [[], [1]]  # the guard is the next evening; Lions overlaps
    assert set(ahead["windows"][0]) >= {"place_id", "label", "start", "end", "expected"}
    scoped = situation_picture(incidents, places, TO, tz=TZ, windows=windows, planned=planned, municipalities=["M"])
    assert [w["place_id"] for w in scoped["ahead"]["windows"]] == ["a"]
    assert [s["who"] for s in scoped["ahead"]["plan"]] == ["Lions"]


def test_decisions_and_what_happened_since() -> None:
    incidents, places = _walk_town()
    notes = [
        # the previous meeting (in the period): what happened at a since, against as long before
        {"at": "2026-11-20T10:00:00+01:00", "text": "Fler vandringar vid torget", "place_ids": ["a"]},
        {"at": "2026-11-20T10:00:00+01:00", "text": "Belysning i Norr", "place_ids": ["c"]},
        # this meeting (after `to`)
        {"at": "2026-12-01T10:00:00+01:00", "text": "Väktare vid parken fredagar", "place_ids": ["b"]},
        {"at": "2026-12-01T11:00:00+01:00", "text": "Allmänt", "place_ids": []},
        # long ago: in neither
        {"at": "2026-06-01T10:00:00+02:00", "text": "Gammalt", "place_ids": ["a"]},
    ]
    # the town's incidents end on 22 November, but the source's data run to `to` (a quiet week)
    spans = [
        SourceSpan(town, "police", pd.Timestamp("2025-01-01T00:00Z"), pd.Timestamp("2026-11-29T20:00Z"))
        for town in ("M", "N")
    ]
    rep = situation_picture(incidents, places, TO, tz=TZ, notes=notes, spans=spans)
    assert rep["decisions"] == [
        {"at": "2026-12-01T10:00:00+01:00", "text": "Väktare vid parken fredagar", "place_ids": ["b"]},
        {"at": "2026-12-01T11:00:00+01:00", "text": "Allmänt", "place_ids": []},
    ]
    prev = rep["previous_decisions"]
    assert [p["text"] for p in prev] == ["Fler vandringar vid torget", "Belysning i Norr"]
    followed = prev[0]["places"][0]
    assert (followed["name"], followed["since"], followed["before"], followed["days"]) == ("Torget", 2, 0, 9.6)
    assert (followed["flag"], followed["text"]) == (None, "inom normal variation")
    assert prev[1]["places"][0]["since"] == 1
    # from the incidents alone the data end on 22 November: the days since the note are not all held
    unheld = situation_picture(incidents, places, TO, tz=TZ, notes=notes)["previous_decisions"][0]["places"][0]
    assert (unheld["since"], unheld["p_value"], unheld["flag"]) == (2, None, None)
    assert unheld["text"] == "bedöms inte (uppgifter saknas för en del av tiden)"
    scoped = situation_picture(incidents, places, TO, tz=TZ, notes=notes, municipalities=["M"])
    assert [d["text"] for d in scoped["decisions"]] == ["Väktare vid parken fredagar"]  # no area-wide, no N
    assert [d["text"] for d in scoped["previous_decisions"]] == ["Fler vandringar vid torget"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"to": "29/11/2026"}, "is not a date: write it as YYYY-MM-DD"),
        ({"days": 0}, "days must be a whole number from 1 to 366"),
        ({"tz": "Europe/Kungsör"}, "unknown time zone"),
        ({"lang": "de"}, "unknown language"),
        ({"walks": [{"association": "A", "night": "2026-11-20", "status": "done"}]}, "status 'done' is not one of"),
        ({"walks": [{"association": "A", "night": "20 nov", "status": "completed"}]}, r"walks\[0\].night"),
        ({"covered": [{"kind": "police", "place_ids": ["a"], "start": "x"}]}, "kind 'police'"),
        ({"covered": [{"place_ids": ["a"], "start": "2026-11-20T20:00", "hours": 2}]}, "need an offset"),
        ({"covered": [{"place_ids": ["a"], "start": "2026-11-20T20:00:00+01:00"}]}, "needs an end or hours"),
        ({"windows": [{"place_id": "a", "start": "2026-12-01T20:00:00+01:00"}]}, "needs place_id, label"),
        ({"windows": [{"place_id": "a", "start": "2026-12-01T20:00", "end": "x", "expected": 1}]}, "needs an offset"),
        ({"notes": [{"at": "2026-11-20T10:00:00+01:00", "text": " "}]}, "needs a text"),
        ({"notes": [{"at": "2026-11-20T10:00:00+01:00", "text": "x", "place_ids": "a"}]}, "must be a list"),
    ],
)
def test_bad_input(kwargs: dict[str, Any], match: str) -> None:
    incidents, places = _walk_town()
    args: dict[str, Any] = {"to": TO, **kwargs}
    with pytest.raises(InvalidInputError, match=match):
        situation_picture(incidents, places, **args)


@pytest.mark.parametrize(
    ("incidents", "places", "match"),
    [
        (pd.DataFrame({"place_id": ["a"]}), None, "lacks the column 'occurred_at'"),
        (pd.DataFrame({"place_id": ["a"], "occurred_at": ["igår"]}), None, "'igår' \\(row 1\\) is not a time"),
        (None, pd.DataFrame({"name": ["A"]}), "places: lacks the column 'place_id'"),
        (None, pd.DataFrame({"place_id": ["a", "a"]}), "appears twice"),
    ],
)
def test_bad_frames(incidents: pd.DataFrame | None, places: pd.DataFrame | None, match: str) -> None:
    good_incidents, good_places = _walk_town()
    with pytest.raises(InvalidInputError, match=match):
        situation_picture(
            good_incidents if incidents is None else incidents, good_places if places is None else places, TO
        )


# --------------------------------------------------------------------------- where the data end


def _steady_town(first: str, last: str, per_day: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``per_day`` police incidents every local day ``first..last`` at Torget, 21:00-21:0x local."""
    days = pd.date_range(first, last, freq="D")
    local = [pd.Timestamp(f"{d.date().isoformat()} 21:0{k}").tz_localize(TZ) for d in days for k in range(per_day)]
    incidents = pd.DataFrame(
        {
            "occurred_at": pd.DatetimeIndex(local).tz_convert("UTC"),
            "place_id": "torget",
            "category": "skadegörelse",
            "source": "police",
        }
    )
    places = pd.DataFrame({"place_id": ["torget"], "name": ["Stortorget"], "municipality": ["Kungsör"]})
    return incidents, places


def test_a_period_past_the_data_flags_nothing_and_says_so() -> None:
    """The data stop six days before the period ends: 32 against 56 looks like a real drop (p = 0.014),
    but the last six days hold no data, so nothing is flagged or compared, and the warnings say why."""
    incidents, places = _steady_town("2025-01-01", "2026-11-23")
    rep = situation_picture(incidents, places, TO, tz=TZ)
    assert (rep["data_from"], rep["data_until"], rep["sources_until"]) == ("2025-01-01", "2026-11-23", "2026-11-23")
    assert rep["compared"] == {"previous": False, "last_year": False, "ytd": False}
    t = rep["totals"]
    assert (t["count"], t["previous"], t["last_year"]) == (32, 56, 56)
    assert stats.binomtest(32, 88, 0.5).pvalue < 0.05  # what used to be flagged as a decrease
    assert (t["change_vs_previous_pct"], t["change_vs_last_year_pct"], t["p_value"], t["flag"]) == (None,) * 4
    assert t["text"] == "bedöms inte (uppgifter saknas för en del av tiden)"
    (row,) = rep["places"]
    assert (row["flag"], row["p_value"], row["q_value"]) == (None, None, None)
    assert all(r["flag"] is None for r in rep["categories"])
    assert (rep["ytd"]["change_pct"], rep["ytd"]["p_value"], rep["ytd"]["flag"]) == (None, None, None)
    assert rep["multiple_testing"] is None
    assert rep["warnings"] == [
        "Uppgifterna når bara till 23 november 2026, men perioden slutar 29 november 2026: de sista 6 dagarna saknar "
        "uppgifter. Dagar utan uppgifter är ingen minskning, så perioden jämförs inte med perioden före eller med i "
        "fjol, och ingen plats, händelsetyp eller totalsiffra markeras.",
        "Hittills i år räknas till 29 november 2026, men uppgifterna når bara till 23 november 2026: året jämförs "
        "inte med i fjol.",
    ]
    english = situation_picture(incidents, places, TO, tz=TZ, lang="en")["warnings"]
    assert english[0].startswith("The data only reach 23 November 2026, but the period ends 29 November 2026")


def test_a_quiet_town_on_a_feed_that_goes_on_is_compared() -> None:
    """The town's last incident is on 23 November but the same source (the feed) holds data to 29
    November: the six quiet days are real zeros, so the drop is tested and flagged."""
    incidents, places = _steady_town("2025-01-01", "2026-11-23")
    feed = [
        SourceSpan("Kungsör", "police", pd.Timestamp("2025-01-01T20:00Z"), pd.Timestamp("2026-11-23T20:03Z")),
        SourceSpan("Arboga", "police", pd.Timestamp("2024-06-01T10:00Z"), pd.Timestamp("2026-11-29T22:10Z")),
    ]
    rep = situation_picture(incidents, places, TO, tz=TZ, spans=feed)
    assert (rep["data_until"], rep["sources_until"]) == ("2026-11-23", "2026-11-29")
    assert rep["compared"] == {"previous": True, "last_year": True, "ytd": True}
    t = rep["totals"]
    assert (t["count"], t["previous"], t["change_vs_previous_pct"], t["flag"]) == (32, 56, -42.9, "down")
    assert t["p_value"] == pytest.approx(stats.binomtest(32, 88, 0.5).pvalue)
    assert rep["warnings"] == [
        "Den senaste händelsen för Kungsör är från 23 november 2026. Samma källor har uppgifter till 29 november "
        "2026, så dagarna däremellan räknas som dagar utan händelser."
    ]


def test_comparisons_before_the_first_data_are_not_made() -> None:
    """Ten days into the data: the period before, last year and last year's year to date lie before it."""
    incidents, places = _steady_town("2025-01-01", "2025-03-01")
    rep = situation_picture(incidents, places, "2025-01-10", tz=TZ)
    assert rep["compared"] == {"previous": False, "last_year": False, "ytd": False}
    assert (rep["totals"]["count"], rep["totals"]["previous"], rep["totals"]["flag"]) == (40, 0, None)
    assert rep["ytd"] == {
        "count": 40,
        "last_year": 0,
        "change_pct": None,
        "p_value": None,
        "flag": None,
        "text": "bedöms inte (uppgifter saknas för en del av tiden)",
    }
    assert rep["warnings"] == [
        "Uppgifterna börjar 1 januari 2025, men perioden före börjar 14 december 2024: den jämförelsen görs inte, "
        "och ingen plats, händelsetyp eller totalsiffra markeras.",
        "Samma period i fjol (28 december 2023–10 januari 2024) börjar före uppgifterna, som börjar 1 januari "
        "2025: förändringen mot i fjol anges inte.",
        "Uppgifterna börjar 1 januari 2025, men i fjol räknas från 1 januari 2024: hittills i år jämförs inte med "
        "i fjol (de första månaderna saknar uppgifter).",
    ]


def test_no_incidents_at_all() -> None:
    _, places = _steady_town("2025-01-01", "2025-01-01")
    none = pd.DataFrame({"occurred_at": pd.DatetimeIndex([], tz="UTC"), "place_id": pd.Series([], dtype=str)})
    rep = situation_picture(none, places, TO, tz=TZ)
    assert (rep["data_until"], rep["data_from"], rep["sources_until"]) == (None, None, None)
    assert rep["warnings"] == [
        "Databasen har inga händelser för Kungsör: rapporten kan inte säga något om läget, och ingen förändring "
        "markeras."
    ]
    assert (rep["totals"]["count"], rep["totals"]["flag"], rep["ytd"]["flag"]) == (0, None, None)
    assert rep["places"][0]["text"] == "bedöms inte (uppgifter saknas för en del av tiden)"
    assert rep["multiple_testing"] is None and rep["feed"] is None


def test_percentages_round_halves_away_from_zero() -> None:
    """3 against 16 is -81.25 %: Excel and people write -81.3, Python's round() -81.2."""
    assert round(100 * (3 - 16) / 16, 1) == -81.2
    assert (pct_change(3, 16), pct_change(29, 16), pct_change(1, 8), pct_change(7, 8)) == (-81.3, 81.3, -87.5, -12.5)
    assert (pct_change(1, 16), pct_change(17, 16), pct_change(0, 0)) == (-93.8, 6.3, None)
    with pytest.raises(InvalidInputError, match="a change is between two whole counts, got 2.5 and 4"):
        pct_change(2.5, 4)  # type: ignore[arg-type]
    # in the report: a place with 3 incidents against 16 the period before
    rows = [("2026-11-20", 3), ("2026-11-05", 16), ("2025-11-20", 16)]
    local = [pd.Timestamp(f"{d} 21:{k:02d}").tz_localize(TZ) for d, n in rows for k in range(n)]
    incidents = pd.DataFrame({"occurred_at": pd.DatetimeIndex(local).tz_convert("UTC"), "place_id": "torget"})
    places = pd.DataFrame({"place_id": ["torget"], "name": ["Stortorget"], "municipality": ["Kungsör"]})
    spans = [SourceSpan("Kungsör", "unknown", pd.Timestamp("2025-01-01T00:00Z"), pd.Timestamp("2026-11-29T22:00Z"))]
    rep = situation_picture(incidents, places, TO, tz=TZ, spans=spans)
    assert (rep["totals"]["change_vs_previous_pct"], rep["places"][0]["change_vs_last_year_pct"]) == (-81.3, -81.3)


def test_many_rows_tested_at_once() -> None:
    """Each place and category row gets its Benjamini-Hochberg q-value; flag keeps its meaning (p < 0.05)."""
    incidents, places = planted_town()
    rep = situation_picture(incidents, places, TO, tz=TZ)
    rows = rep["places"] + rep["categories"]
    p = [r["p_value"] for r in rows]
    n = len(p)
    order = sorted(range(n), key=lambda i: p[i])
    q = [0.0] * n
    running = 1.0
    for rank in range(n, 0, -1):  # the step-up adjustment by hand
        i = order[rank - 1]
        running = min(running, p[i] * n / rank)
        q[i] = running
    assert [r["q_value"] for r in rows] == pytest.approx(q)
    assert [r["flag"] for r in rows] == ["up" if x < 0.05 else None for x in p]
    assert rep["multiple_testing"] == {
        "method": "benjamini-hochberg",
        "rows_tested": 6,
        "flagged": 2,
        "expected_by_chance": 0.3,
        "flagged_after_correction": 2,
        "text": "6 platser och händelsetyper prövades mot perioden före. Även utan någon verklig förändring markeras "
        "ungefär var tjugonde av en slump (här omkring 0,3). 2 är markerade; 2 av dem står sig när hänsyn tas till "
        "att så många prövades (Benjamini–Hochberg, q < 0,05).",
    }


def test_the_whole_feed_beside_the_town() -> None:
    """The police feed of several towns: its own changes are shown beside the town's."""
    incidents, places = planted_town()
    feed = FeedCounts(
        municipalities=4, count=400, previous=410, last_year=480, ytd=9000, ytd_last_year=10600,
        first=dt.date(2023, 4, 1), last=dt.date(2026, 11, 29),
    )  # fmt: skip
    rep = situation_picture(incidents, places, TO, tz=TZ, feed=feed)
    assert rep["feed"] == {
        "source": "police",
        "municipalities": 4,
        "data_from": "2023-04-01",
        "sources_until": "2026-11-29",
        "count": 400,
        "previous": 410,
        "last_year": 480,
        "change_vs_previous_pct": -2.4,
        "change_vs_last_year_pct": -16.7,
        "ytd": {"count": 9000, "last_year": 10600, "change_pct": -15.1},
    }
    # a feed that ends before the period does: its changes are not made either
    short = situation_picture(incidents, places, TO, tz=TZ, feed=replace(feed, last=dt.date(2026, 11, 20)))["feed"]
    assert (short["change_vs_previous_pct"], short["change_vs_last_year_pct"], short["ytd"]["change_pct"]) == (
        None,
        None,
        None,
    )
