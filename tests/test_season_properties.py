"""Random sequences of walk records, corrections and payouts through the use cases and the database:
after every step the stored season's figures equal an independent model of the ledger, to the krona,
and every refusal is the one the model expects (issue 12: "figures reconcile at every step")."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import places_frame
from tryggplan.allocation import demo_resources
from tryggplan.domain import InvalidInputError
from tryggplan.storage.database import open_database
from tryggplan.usecases import plans, season

NOW = dt.datetime(2025, 9, 1, 12, tzinfo=dt.UTC)
NIGHTS = [dt.date(2025, 8, 20) + dt.timedelta(days=k) for k in range(5)]
COST = 1000.0
_towns = itertools.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    eng = open_database(f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'p.db'}")
    yield eng
    eng.dispose()


OPS = st.lists(
    st.tuples(
        st.sampled_from(["completed", "no_show", "cancelled", "correct", "pay"]),
        st.integers(0, 2),  # association
        st.integers(0, len(NIGHTS) - 1),  # night
        st.sampled_from(["completed", "no_show", "cancelled"]),  # what a correction says
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_random_sequences_reconcile_with_a_model(engine: sa.Engine, ops: list[tuple[str, int, int, str]]) -> None:
    town = f"Town {next(_towns)}"  # every example gets a ledger of its own
    spec = demo_resources(places_frame())
    plans.store_resources(engine, town, spec, "test", town)
    s = season.season_of(engine, town)
    names = [a["name"] for a in spec["associations"]][:3]
    current: dict[tuple[str, dt.date], tuple[str, int]] = {}
    paid: set[tuple[str, dt.date]] = set()
    paid_sek = 0.0
    for op, ai, ni, fix in ops:
        key = (names[ai], NIGHTS[ni])
        if op == "pay":
            due = sorted(
                n for (a, n), (st_, _) in current.items() if a == key[0] and st_ == "completed" and (a, n) not in paid
            )
            if not due:
                with pytest.raises(InvalidInputError, match="has no completed, unpaid walks: nothing to pay"):
                    season.pay(engine, s, key[0], actor="t", now=NOW)
            else:
                p = season.pay(engine, s, key[0], actor="t", now=NOW)
                assert (list(p.nights), p.amount_sek) == (due, COST * len(due))
                paid |= {(key[0], n) for n in due}
                paid_sek += COST * len(due)
        elif op == "correct":
            if key not in current:
                continue
            old_status, old_id = current[key]
            if key in paid and fix != "completed":
                with pytest.raises(InvalidInputError, match="a paid walk stays completed"):
                    season.record_walk(
                        engine, s, association=key[0], night=key[1], status=fix, actor="t", now=NOW, corrects=old_id
                    )
                continue
            r = season.record_walk(
                engine, s, association=key[0], night=key[1], status=fix, actor="t", now=NOW, corrects=old_id
            )
            current[key] = (fix, r.record.id)
        elif key in current:
            with pytest.raises(InvalidInputError, match="is already recorded as"):
                season.record_walk(engine, s, association=key[0], night=key[1], status=op, actor="t", now=NOW)
        else:
            r = season.record_walk(engine, s, association=key[0], night=key[1], status=op, actor="t", now=NOW)
            current[key] = (op, r.record.id)
        done = [k for k, (st_, _) in current.items() if st_ == "completed"]
        owed = COST * len([k for k in done if k not in paid])
        figures = season.status(engine, s)
        assert (figures.walks_done, figures.walks_no_show, figures.walks_planned) == (
            len(done),
            sum(1 for st_, _ in current.values() if st_ == "no_show"),
            0,
        )
        assert (figures.owed_sek, figures.paid_sek, figures.walks_left) == (owed, paid_sek, 40 - len(done))
        assert figures.pot_left_sek == 40 * COST - owed - paid_sek
        assert figures.owed_sek + figures.paid_sek == COST * figures.walks_done
        by_name = {a.name: a for a in figures.associations}
        for name in names:
            mine = [k for k in done if k[0] == name]
            assert by_name[name].owed_sek == COST * len([k for k in mine if k not in paid])
            assert by_name[name].paid_sek == COST * len([k for k in paid if k[0] == name])
    assert [r.municipality for r in season.list_records(engine, s)] == [town] * len(season.list_records(engine, s))


def test_the_model_is_not_vacuous(tmp_path: Path) -> None:
    """A correction of a paid walk to no_show is refused and a second payout finds nothing (the paths above)."""
    eng = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        plans.store_resources(eng, "x", demo_resources(places_frame()), "test")
        s = season.season_of(eng, None)
        r = season.record_walk(eng, s, association="Lions", night=NIGHTS[0], status="completed", actor="t", now=NOW)
        assert season.pay(eng, s, "Lions", actor="t", now=NOW).amount_sek == COST
        with pytest.raises(InvalidInputError, match="a paid walk stays completed"):
            season.record_walk(
                eng, s, association="Lions", night=NIGHTS[0], status="no_show", actor="t", now=NOW, corrects=r.record.id
            )
        with pytest.raises(InvalidInputError, match="'Lions' has no completed, unpaid walks: nothing to pay"):
            season.pay(eng, s, "Lions", actor="t", now=NOW)
    finally:
        eng.dispose()
