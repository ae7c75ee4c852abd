"""The season ledger: walk records and payouts drive quota, owed, paid and pot to the krona; the
recording rule; corrections as an audit trail; the Excel payout list; a property test over random
sequences of records, corrections and payouts."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tryggplan.allocation.ledger import (
    PayoutRecord,
    PlannedWalk,
    WalkRecord,
    check_payout,
    check_record,
    current_records,
    make_payout,
    payouts_csv,
    payouts_due,
    planned_walks,
    season_status,
    walk_recordable_from,
)
from tryggplan.allocation.spec import parse_resources
from tryggplan.allocation.synthetic import synthetic_resources
from tryggplan.domain import InvalidInputError

TZ = ZoneInfo("Europe/Stockholm")
F0, F1, F2, F3 = (f"Förening {k}" for k in range(4))  # nights: F0 fri,sat; F1 thu-sat; F2 fri-sun; F3 wed,fri


def _res(cost: float = 1000.0, **extra: Any) -> Any:
    spec = synthetic_resources(8, 2, season={"walks": 40, "start": "2026-03-01", "until": "2026-12-31"}, **extra)
    spec["cost_per_walk_sek"] = cost
    return parse_resources(spec)


RES = _res()


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


def rec(assoc: str, night: str, status: str = "completed", when: str = "2026-04-20T12:00", **kw: Any) -> WalkRecord:
    return WalkRecord(assoc, dt.date.fromisoformat(night), status, at(when), "samordnare", **kw)  # type: ignore[arg-type]


def _figures(status: Any) -> tuple[Any, ...]:
    return (
        status.walks_done,
        status.walks_no_show,
        status.walks_planned,
        status.walks_left,
        status.owed_sek,
        status.paid_sek,
        status.pot_left_sek,
    )


# ------------------------------------------------------------------ season status
LEDGER_STEPS = [
    # (what happens, records so far, payouts so far, planned, figures)
    ("nothing yet", [], [], [], (0, 0, 0, 40, 0.0, 0.0, 40000.0)),
    ("one completed walk", [rec(F0, "2026-03-27", id=1)], [], [], (1, 0, 0, 39, 1000.0, 0.0, 39000.0)),
    (
        "a no-show goes back to the pot",
        [rec(F0, "2026-03-27", id=1), rec(F1, "2026-03-26", "no_show", id=2)],
        [],
        [],
        (1, 1, 0, 39, 1000.0, 0.0, 39000.0),
    ),
    (
        "two planned walks, one of them already recorded",
        [rec(F0, "2026-03-27", id=1)],
        [],
        [PlannedWalk(F0, dt.date(2026, 3, 27)), PlannedWalk(F2, dt.date(2026, 4, 3))],
        (1, 0, 1, 38, 1000.0, 0.0, 38000.0),
    ),
    (
        "paid, then one more done",
        [rec(F0, "2026-03-27", id=1), rec(F0, "2026-04-03", id=2)],
        [PayoutRecord(F0, (dt.date(2026, 3, 27),), 1000.0, at("2026-04-01T10:00"), "kassör", id=1)],
        [],
        (2, 0, 0, 38, 1000.0, 1000.0, 38000.0),
    ),
    (
        "a correction: completed -> cancelled (the latest record wins)",
        [rec(F0, "2026-03-27", id=1), rec(F0, "2026-03-27", "cancelled", "2026-04-21T09:00", corrects=1, id=2)],
        [],
        [],
        (0, 0, 0, 40, 0.0, 0.0, 40000.0),
    ),
]


@pytest.mark.parametrize(
    ("records", "payouts", "planned", "want"), [s[1:] for s in LEDGER_STEPS], ids=[s[0] for s in LEDGER_STEPS]
)
def test_season_status_figures(
    records: list[WalkRecord], payouts: list[PayoutRecord], planned: list[PlannedWalk], want: tuple[Any, ...]
) -> None:
    status = season_status(RES, records, payouts, planned)
    assert _figures(status) == want
    assert (status.walks_total, status.pot_sek) == (40, 40000.0)


def test_status_document_has_the_design_shape_and_shares() -> None:
    records = [rec(F0, "2026-03-27", id=1), rec(F1, "2026-03-26", "no_show", id=2)]
    planned = [PlannedWalk(F2, dt.date(2026, 4, 3)), PlannedWalk(F0, dt.date(2026, 4, 4))]
    doc = season_status(RES, records, [], planned).to_dict()
    assert doc == {
        "walks_total": 40,
        "walks_done": 1,
        "walks_no_show": 1,
        "walks_planned": 2,
        "walks_left": 37,
        "pot_sek": 40000.0,
        "owed_sek": 1000.0,
        "paid_sek": 0.0,
        "pot_left_sek": 37000.0,
        "cost_per_walk_sek": 1000.0,
        "associations": [
            {
                "name": F0,
                "walks_done": 1,
                "walks_no_show": 0,
                "walks_planned": 1,
                "owed_sek": 1000.0,
                "paid_sek": 0.0,
                "share": 0.6667,
            },
            {
                "name": F1,
                "walks_done": 0,
                "walks_no_show": 1,
                "walks_planned": 0,
                "owed_sek": 0.0,
                "paid_sek": 0.0,
                "share": 0.0,
            },
            {
                "name": F2,
                "walks_done": 0,
                "walks_no_show": 0,
                "walks_planned": 1,
                "owed_sek": 0.0,
                "paid_sek": 0.0,
                "share": 0.3333,
            },
            {
                "name": F3,
                "walks_done": 0,
                "walks_no_show": 0,
                "walks_planned": 0,
                "owed_sek": 0.0,
                "paid_sek": 0.0,
                "share": 0.0,
            },
        ],
        "warnings": [],
    }
    assert season_status(RES, records, [], planned).done_by_association() == {F0: 1, F1: 0, F2: 0, F3: 0}


def test_without_a_season_block_the_quota_is_unknown_not_40() -> None:
    spec = synthetic_resources(8, 2)
    spec.pop("season")
    status = season_status(parse_resources(spec), [rec(F0, "2026-03-27", id=1)], [])
    assert (status.walks_total, status.walks_left, status.pot_sek, status.pot_left_sek) == (None, None, None, None)
    assert (status.walks_done, status.owed_sek) == (1, 1000.0)
    assert status.warnings == [
        "the resources have no 'season' block: the quota, the pot and the walks left are unknown; "
        "add season: {walks: N, until: YYYY-MM-DD} to the resources"
    ]


def test_over_the_quota_is_said() -> None:
    spec = synthetic_resources(8, 2, season={"walks": 1})
    status = season_status(
        parse_resources(spec), [rec(F0, "2026-03-27", id=1)], [], [PlannedWalk(F1, dt.date(2026, 4, 2))]
    )
    assert status.walks_left == -1 and status.pot_left_sek == -1000.0
    assert status.warnings == [
        "1 walks done and 1 planned exceed the season's quota of 1 by 1: cancel planned walks or raise season.walks"
    ]


# ------------------------------------------------------------------ recording rule
@pytest.mark.parametrize(
    ("spec_extra", "assoc", "night", "shift_end", "want"),
    [
        ({}, F0, "2026-03-27", None, "2026-03-28T02:00:00+01:00"),  # latest template 22-02
        ({}, F0, "2026-03-28", None, "2026-03-29T03:00:00+02:00"),  # 02:00 does not exist that night
        ({}, F0, "2026-10-24", None, "2026-10-25T02:00:00+02:00"),  # fall back: the first 02:00
        ({}, F0, "2026-03-27", "2026-03-28T00:00:00+01:00", "2026-03-28T00:00:00+01:00"),  # the plan's shift
        (
            {"associations": [{"name": "Lions", "nights": ["fri"], "templates": ["t20"]}]},
            "Lions",
            "2026-03-27",
            None,
            "2026-03-28T00:00:00+01:00",
        ),
    ],
)
def test_walk_recordable_from(
    spec_extra: dict[str, Any], assoc: str, night: str, shift_end: str | None, want: str
) -> None:
    res = parse_resources(synthetic_resources(8, 2, **spec_extra))
    end = dt.datetime.fromisoformat(shift_end) if shift_end else None
    got = walk_recordable_from(res, assoc, dt.date.fromisoformat(night), shift_end=end)
    assert got.isoformat() == want


BAD_RECORDS = [
    (
        rec("Okänd", "2026-03-27"),
        [],
        [],
        "unknown association 'Okänd': use one of ['Förening 0', 'Förening 1', 'Förening 2', 'Förening 3']",
    ),
    (rec(F0, "2026-03-27", area="Mars"), [], [], "unknown area 'Mars': use one of ['Centrum', 'Norr']"),
    (
        rec(F0, "2026-02-27"),
        [],
        [],
        "the walk of 'Förening 0' on the night of 2026-02-27 is outside the season (2026-03-01 to 2026-12-31): "
        "record it in its own season, or correct the season's start/until",
    ),
    (
        rec(F0, "2026-03-27", when="2026-03-28T01:59"),
        [],
        [],
        "the walk of 'Förening 0' on the night of 2026-03-27 has not ended yet: it can be recorded as completed "
        "from 2026-03-28 02:00 (Europe/Stockholm); until then only 'cancelled' can be recorded",
    ),
    (
        rec(F0, "2026-03-27", "no_show", when="2026-03-27T23:00"),
        [],
        [],
        "the walk of 'Förening 0' on the night of 2026-03-27 has not ended yet: it can be recorded as no_show "
        "from 2026-03-28 02:00 (Europe/Stockholm); until then only 'cancelled' can be recorded",
    ),
    (
        rec(F0, "2026-03-27"),
        [rec(F0, "2026-03-27", when="2026-04-02T10:00", id=7)],
        [],
        "the walk of 'Förening 0' on the night of 2026-03-27 is already recorded as completed by samordnare at "
        "2026-04-02 10:00 (record 7): to correct it, record it again with corrects=7",
    ),
    (
        rec(F0, "2026-03-27", "cancelled", corrects=6),
        [rec(F0, "2026-03-27", when="2026-04-02T10:00", id=7)],
        [],
        "record 6 is not the current record of the walk of 'Förening 0' on the night of 2026-03-27: "
        "the current one is record 7 (completed); correct that one",
    ),
    (
        rec(F0, "2026-03-27", corrects=3),
        [],
        [],
        "record 3 is not a record of the walk of 'Förening 0' on the night of 2026-03-27: "
        "that walk has no record yet, leave out 'corrects'",
    ),
    (
        rec(F0, "2026-03-27", "no_show", corrects=7),
        [rec(F0, "2026-03-27", when="2026-04-02T10:00", id=7)],
        [PayoutRecord(F0, (dt.date(2026, 3, 27),), 1000.0, at("2026-04-05T09:00"), "kassör", id=2)],
        "the walk of 'Förening 0' on the night of 2026-03-27 was paid on 2026-04-05 09:00 (payout 2): "
        "a paid walk stays completed; settle a pay-back with the association outside the ledger",
    ),
]


@pytest.mark.parametrize(("record", "records", "payouts", "message"), BAD_RECORDS)
def test_bad_records_are_refused_with_what_to_do(
    record: WalkRecord, records: list[WalkRecord], payouts: list[PayoutRecord], message: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_record(record, RES, records, payouts)
    assert str(info.value) == message


def test_a_planned_shift_end_is_the_recording_time() -> None:
    planned = [PlannedWalk(F0, dt.date(2026, 3, 27), end=dt.datetime.fromisoformat("2026-03-28T00:00:00+01:00"))]
    check_record(rec(F0, "2026-03-27", when="2026-03-28T00:00"), RES, [], [], planned=planned)  # accepted
    with pytest.raises(InvalidInputError, match=r"from 2026-03-28 00:00 \(Europe/Stockholm\)"):
        check_record(rec(F0, "2026-03-27", when="2026-03-27T23:59"), RES, [], [], planned=planned)
    check_record(rec(F0, "2026-03-27", "cancelled", when="2026-03-20T10:00"), RES, [], [])  # ahead is fine


def test_corrections_keep_the_trail_and_the_latest_wins() -> None:
    first = rec(F0, "2026-03-27", "completed", "2026-04-02T10:00", id=7)
    fix = rec(F0, "2026-03-27", "no_show", "2026-04-03T10:00", corrects=7, id=8)
    check_record(fix, RES, [first], [])
    assert current_records([fix, first]) == {(F0, dt.date(2026, 3, 27)): fix}  # by time, not by order given
    same_time = rec(F0, "2026-03-27", "cancelled", "2026-04-03T10:00", corrects=8, id=9)
    assert current_records([first, same_time, fix])[(F0, dt.date(2026, 3, 27))] is same_time  # then by id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "done"}, "status 'done' is not known: use one of ['completed', 'no_show', 'cancelled']"),
        (
            {"recorded_at": dt.datetime(2026, 4, 1, 12)},
            "recorded_at datetime.datetime(2026, 4, 1, 12, 0) has no time zone",
        ),
        ({"night": dt.datetime(2026, 3, 27, 20)}, "night datetime.datetime(2026, 3, 27, 20, 0) is not a date"),
        ({"association": " "}, "association ' ' is empty: give a name"),
        ({"actor": ""}, "actor '' is empty: give a name"),
        ({"shift_index": -1}, "shift_index -1 must be >= 0"),
    ],
)
def test_walk_record_fields_are_checked(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "association": F0,
        "night": dt.date(2026, 3, 27),
        "status": "completed",
        "recorded_at": at("2026-04-01T12:00"),
        "actor": "samordnare",
    }
    with pytest.raises(InvalidInputError) as info:
        WalkRecord(**{**base, **kwargs})
    assert str(info.value).startswith(message)


def test_records_round_trip_through_dicts() -> None:
    r = rec(F0, "2026-03-27", area="Centrum", plan_id=4, shift_index=2, note="regn", id=9)
    assert WalkRecord.from_dict(r.to_dict()) == r
    p = PayoutRecord(F0, (dt.date(2026, 3, 27), dt.date(2026, 4, 3)), 2000.0, at("2026-04-05T09:00"), "kassör", id=1)
    assert PayoutRecord.from_dict(p.to_dict()) == p and p.to_dict()["walks"] == 2
    with pytest.raises(InvalidInputError, match=r"walk record lacks \['status', 'recorded_at', 'actor'\]: add them"):
        WalkRecord.from_dict({"association": F0, "night": "2026-03-27"})


# ------------------------------------------------------------------------ payouts
def _ledger() -> list[WalkRecord]:
    return [
        rec(F0, "2026-03-27", id=1),
        rec(F0, "2026-04-03", id=2),
        rec(F2, "2026-04-05", id=3),
        rec(F1, "2026-04-02", "no_show", id=4),
        rec(F3, "2026-04-01", "cancelled", id=5),
    ]


def test_payout_list_and_excel_csv() -> None:
    dues = payouts_due(RES, _ledger(), [])
    assert [(d.association, d.nights, d.amount_sek) for d in dues] == [
        (F0, (dt.date(2026, 3, 27), dt.date(2026, 4, 3)), 2000.0),
        (F2, (dt.date(2026, 4, 5),), 1000.0),
    ]
    assert payouts_csv(dues) == (
        "\ufeffFörening;Pass;Nätter;Belopp (SEK)\r\n"
        "Förening 0;2;2026-03-27, 2026-04-03;2000,00\r\n"
        "Förening 2;1;2026-04-05;1000,00\r\n"
    ).encode("utf-8")
    assert payouts_csv([]) == "\ufeffFörening;Pass;Nätter;Belopp (SEK)\r\n".encode()


def test_association_names_that_look_like_formulas_are_defused() -> None:
    res = parse_resources(synthetic_resources(8, 2, associations=[{"name": "=HYPERLINK(1)", "nights": ["fri"]}]))
    dues = payouts_due(res, [rec("=HYPERLINK(1)", "2026-03-27", id=1)], [])
    assert payouts_csv(dues).decode("utf-8").splitlines()[1] == "'=HYPERLINK(1);1;2026-03-27;1000,00"


def test_mark_paid_once_and_reconcile() -> None:
    records = _ledger()
    payout = make_payout(RES, records, [], F0, at=at("2026-04-06T09:00"), actor="kassör")
    assert (payout.nights, payout.amount_sek, payout.walks) == ((dt.date(2026, 3, 27), dt.date(2026, 4, 3)), 2000.0, 2)
    stored = PayoutRecord(payout.association, payout.nights, payout.amount_sek, payout.at, payout.actor, id=1)
    status = season_status(RES, records, [stored])
    f0 = status.associations[0]
    assert (f0.owed_sek, f0.paid_sek, status.owed_sek, status.paid_sek) == (0.0, 2000.0, 1000.0, 2000.0)
    assert [d.association for d in payouts_due(RES, records, [stored])] == [F2]
    with pytest.raises(InvalidInputError) as info:
        make_payout(RES, records, [stored], F0, at=at("2026-04-07T09:00"), actor="kassör")
    assert str(info.value) == "'Förening 0' has no completed, unpaid walks: nothing to pay"
    with pytest.raises(InvalidInputError) as info:
        check_payout(stored, RES, records, [stored])
    assert str(info.value) == (
        "the walk of 'Förening 0' on the night of 2026-03-27 was already paid on 2026-04-06 09:00 (payout 1): "
        "a walk is paid once"
    )


@pytest.mark.parametrize(
    ("association", "nights", "message"),
    [
        (
            "Okänd",
            None,
            "unknown association 'Okänd': use one of ['Förening 0', 'Förening 1', 'Förening 2', 'Förening 3']",
        ),
        (F1, None, "'Förening 1' has no completed, unpaid walks: nothing to pay"),
        (
            F0,
            [dt.date(2026, 4, 10)],
            "'Förening 0' is not owed for the nights ['2026-04-10']: its completed, unpaid walks are on "
            "['2026-03-27', '2026-04-03']",
        ),
    ],
)
def test_bad_payouts_are_refused(association: str, nights: list[dt.date] | None, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        make_payout(RES, _ledger(), [], association, at=at("2026-04-06T09:00"), actor="kassör", nights=nights)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("payout", "message"),
    [
        (
            PayoutRecord(F1, (dt.date(2026, 4, 2),), 1000.0, at("2026-04-06T09:00"), "kassör"),
            "the walk of 'Förening 1' on the night of 2026-04-02 is recorded as no_show: only completed walks are paid",
        ),
        (
            PayoutRecord(F0, (dt.date(2026, 3, 27),), 900.0, at("2026-04-06T09:00"), "kassör"),
            "payout of 900.0 SEK for 1 walks does not match 1 x 1000 SEK = 1000.0 SEK",
        ),
    ],
)
def test_check_payout(payout: PayoutRecord, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_payout(payout, RES, _ledger(), [])
    assert str(info.value) == message


def test_partial_payout_of_named_nights() -> None:
    p = make_payout(RES, _ledger(), [], F0, at=at("2026-04-06T09:00"), actor="kassör", nights=[dt.date(2026, 4, 3)])
    assert (p.nights, p.amount_sek) == ((dt.date(2026, 4, 3),), 1000.0)
    assert payouts_due(RES, _ledger(), [p])[0].nights == (dt.date(2026, 3, 27),)


# ----------------------------------------------------------------- planned walks
def test_planned_walks_from_weekly_and_season_documents() -> None:
    week = {
        "shifts": [
            {"kind": "guard", "start": "2026-04-03T21:00:00+02:00", "place_ids": ["P00"]},
            {
                "kind": "night_walk",
                "association": F0,
                "night": "2026-04-03",
                "area": "Centrum",
                "start": "2026-04-03T20:00:00+02:00",
                "end": "2026-04-04T00:00:00+02:00",
            },
        ]
    }
    season = {
        "placed": [
            {
                "kind": "night_walk",
                "association": F0,
                "night": "2026-04-03",
                "area": "Norr",
                "start": "2026-04-03T21:00:00+02:00",
            },
            {
                "kind": "night_walk",
                "association": F2,
                "night": "2026-05-09",
                "area": "Norr",
                "start": "2026-05-09T21:00:00+02:00",
            },
        ]
    }
    got = planned_walks([(11, week), (12, season)])
    assert [(p.association, p.night, p.area, p.plan_id, p.shift_index) for p in got] == [
        (F0, dt.date(2026, 4, 3), "Centrum", 11, 1),
        (F2, dt.date(2026, 5, 9), "Norr", 12, None),
    ]
    assert got[0].end == dt.datetime.fromisoformat("2026-04-04T00:00:00+02:00")


# ----------------------------------------------------------------- property test
_ASSOCS = (F0, F1, F2)
_NIGHTS = tuple(dt.date(2026, 4, 1) + dt.timedelta(days=k) for k in range(6))
_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("record"),
            st.sampled_from(_ASSOCS),
            st.sampled_from(_NIGHTS),
            st.sampled_from(("completed", "no_show", "cancelled")),
        ),
        st.tuples(
            st.just("correct"),
            st.sampled_from(_ASSOCS),
            st.sampled_from(_NIGHTS),
            st.sampled_from(("completed", "no_show", "cancelled")),
        ),
        st.tuples(st.just("pay"), st.sampled_from(_ASSOCS), st.just(None), st.just(None)),
        st.tuples(st.just("plan"), st.sampled_from(_ASSOCS), st.sampled_from(_NIGHTS), st.just(None)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS, cost=st.sampled_from((1000.0, 750.5, 1234.25)))
def test_figures_reconcile_to_the_krona_at_every_step(ops: list[tuple[Any, ...]], cost: float) -> None:
    res = _res(cost)
    records: list[WalkRecord] = []
    payouts: list[PayoutRecord] = []
    planned: list[PlannedWalk] = []
    model: dict[tuple[str, dt.date], str] = {}  # an independent model of the ledger
    model_paid: set[tuple[str, dt.date]] = set()
    clock = at("2026-04-10T12:00")  # after every walk ended
    for step, (op, assoc, night, status) in enumerate(ops):
        clock += dt.timedelta(minutes=5)
        key = (assoc, night)
        if op in ("record", "correct"):
            current = current_records(records).get(key)
            r = WalkRecord(
                assoc,
                night,
                status,
                clock,
                "samordnare",
                corrects=(current.id if current else 999) if op == "correct" else None,
                id=step,
            )
            should_fail = (
                (current is not None and op == "record")
                or (op == "correct" and current is None)
                or (key in model_paid and status != "completed")
            )
            if should_fail:
                with pytest.raises(InvalidInputError):
                    check_record(r, res, records, payouts)
                continue
            check_record(r, res, records, payouts)
            records.append(r)
            model[key] = status
        elif op == "pay":
            owed_nights = sorted(
                n for (a, n), s in model.items() if a == assoc and s == "completed" and (a, n) not in model_paid
            )
            if not owed_nights:
                with pytest.raises(InvalidInputError, match="nothing to pay"):
                    make_payout(res, records, payouts, assoc, at=clock, actor="kassör")
                continue
            p = make_payout(res, records, payouts, assoc, at=clock, actor="kassör")
            assert list(p.nights) == owed_nights
            payouts.append(PayoutRecord(p.association, p.nights, p.amount_sek, p.at, p.actor, id=step))
            model_paid |= {(assoc, n) for n in owed_nights}
        else:
            planned.append(PlannedWalk(assoc, night))
        s = season_status(res, records, payouts, planned)
        done = sum(1 for v in model.values() if v == "completed")
        waiting = len({p.key for p in planned if p.key not in model})
        assert s.walks_done == done and s.walks_no_show == sum(1 for v in model.values() if v == "no_show")
        assert s.walks_planned == waiting and s.walks_left == 40 - done - waiting
        assert abs(s.owed_sek + s.paid_sek - cost * done) < 0.005  # to the öre
        assert abs(s.pot_left_sek - (40 * cost - s.owed_sek - s.paid_sek - waiting * cost)) < 0.005
        assert abs(s.paid_sek - cost * len(model_paid)) < 0.005
        assert abs(sum(a.owed_sek for a in s.associations) - s.owed_sek) < 0.005
        assert abs(sum(d.amount_sek for d in payouts_due(res, records, payouts)) - s.owed_sek) < 0.005
        paid_keys = [(p.association, n) for p in payouts for n in p.nights]
        assert len(paid_keys) == len(set(paid_keys))  # no walk paid twice
        assert all(model[k] == "completed" for k in paid_keys)  # only completed walks are paid
