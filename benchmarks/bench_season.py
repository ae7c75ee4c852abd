"""Season ledger benchmark (SQLite): recording walks, the season's figures and payouts as the ledger
grows, and a whole season placed and published on the demo town.

    .venv/bin/python benchmarks/bench_season.py [--records 2000] [--repeat 20]

Prints one line per figure: the median time of one walk record (the ledger's lock, the library's
checks against every stored record, the insert) and of ``GET /api/v1/season``,
``GET /api/v1/season/payouts.csv`` and ``POST /api/v1/season/payouts`` when the ledger holds a
quarter, half and all of ``--records`` records (5 associations, a tenth of them corrections), then
``POST /api/v1/plans {"kind": "season"}`` and its publication (40 walks offered) on the demo town.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tryggplan.allocation import demo_resources
from tryggplan.demo import generate_town
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.tokens import create_token
from tryggplan.usecases import plans, season
from tryggplan.usecases.demo import prepare_town_demo

NOW = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


def median_ms(call: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def ledger(records: int, repeat: int, tmp: Path) -> None:
    town = generate_town(seed=7, end=dt.date(2026, 11, 22))
    spec = demo_resources(town.places)
    spec["season"] = {"walks": records * 2, "min_walks_per_week": 0}
    for a in spec["associations"]:
        a["max_walks_per_season"] = None
    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'ledger.db'}", frozen_now=NOW))
    engine = app.state.engine
    plans.store_resources(engine, "bench", spec, "bench")
    s = season.season_of(engine, None)
    names = [a["name"] for a in spec["associations"]]
    token = create_token(engine, "coordinator", "bench")[0]
    h = {"Authorization": f"Bearer {token}"}
    made = 0
    record_ms: list[float] = []
    with TestClient(app) as client:
        for target in (records // 4, records // 2, records):
            while made < target:
                k = made
                night = dt.date(2020, 1, 1) + dt.timedelta(days=k // len(names))
                t = time.perf_counter()
                rec = season.record_walk(
                    engine, s, association=names[k % len(names)], night=night, status="completed", actor="b", now=NOW
                ).record
                record_ms.append(1000 * (time.perf_counter() - t))
                made += 1
                if k % 10 == 9 and made < target:  # a tenth are corrections
                    season.record_walk(
                        engine, s, association=rec.association, night=night, status="completed", actor="b",
                        now=NOW, corrects=rec.id, note="corrected",
                    )  # fmt: skip
                    made += 1
            status = median_ms(lambda: client.get("/api/v1/season", headers=h), repeat)
            csv = median_ms(lambda: client.get("/api/v1/season/payouts.csv", headers=h), repeat)
            t = time.perf_counter()
            paid = client.post("/api/v1/season/payouts", json={"association": names[made % len(names)]}, headers=h)
            pay = 1000 * (time.perf_counter() - t)
            assert paid.status_code == 201, paid.text
            one = statistics.median(record_ms[-50:])
            print(
                f"{made:>6} records: record one {one:6.1f} ms, GET /season {status:6.1f} ms, "
                f"payouts.csv {csv:6.1f} ms, POST /season/payouts {pay:6.1f} ms ({paid.json()['walks']} walks)"
            )
    engine.dispose()


def whole_season(tmp: Path) -> None:
    today = dt.date(2026, 12, 1)
    now = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
    summary = prepare_town_demo(tmp / "demo", f"sqlite:///{tmp / 'demo' / 'tryggplan.db'}", today=today, now=now)
    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'demo' / 'tryggplan.db'}", frozen_now=now))
    h = {"Authorization": f"Bearer {summary.coordinator_token}"}
    with TestClient(app) as client:
        t = time.perf_counter()
        r = client.post("/api/v1/plans", json={"week": "2026-W50", "kind": "season"}, headers=h)
        made = time.perf_counter() - t
        assert r.status_code == 201, r.text
        t = time.perf_counter()
        out = client.post(f"/api/v1/plans/{r.json()['id']}/publish", headers=h)
        published = time.perf_counter() - t
        assert out.status_code == 200, out.text
        print(
            f"season plan: {len(r.json()['plan']['placed'])} walks placed over {len(r.json()['plan']['weeks'])} weeks "
            f"in {made:.2f} s; published ({len(out.json()['offered'])} offers) in {1000 * published:.0f} ms"
        )
    app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ledger(args.records, args.repeat, Path(tmp))
        whole_season(Path(tmp))


if __name__ == "__main__":
    main()
