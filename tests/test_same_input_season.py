"""The season ledger's use cases through both front ends: ``tryggplan season ...`` / ``tryggplan plan --db`` on
one copy of the demo town, the HTTP API on another. The same records give the same figures, the same
payout file and the same payout; a refused input is refused with the same message (the CLI's one line
``tryggplan: error: <message>``, the API's 422 ``detail``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import DEMO_NOW, auth, copy_demo, set_clock
from tryggplan.cli import build_app
from tryggplan.cli.common import run_guarded
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.tokens import create_token


@dataclass
class Fronts:
    tmp: Path
    db: str
    api: TestClient
    h: dict[str, str]
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: object) -> tuple[int, str, str]:
        """Exit code, stdout and the last line on stderr of ``tryggplan ARGS --db <the CLI's copy>``."""
        self.capsys.readouterr()
        code = run_guarded(lambda: build_app()(args=[*map(str, args), "--db", self.db], prog_name="tryggplan"))
        out = self.capsys.readouterr()
        err = [line for line in out.err.splitlines() if line.strip()]
        return code, out.out, err[-1] if err else ""


@pytest.fixture
def fronts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fronts]:
    cli_db = copy_demo(tmp_path / "cli" / "tryggplan.db")
    api_db = copy_demo(tmp_path / "api" / "tryggplan.db")
    app = create_app(Settings(database_url=f"sqlite:///{api_db}"))  # the real clock, as the CLI's
    with TestClient(app, raise_server_exceptions=False) as client:
        token = create_token(app.state.engine, "coordinator", "same-input coordinator")[0]
        yield Fronts(tmp_path, f"sqlite:///{cli_db}", client, auth(token), capsys)
    app.state.engine.dispose()


def _status(f: Fronts) -> tuple[dict[str, Any], dict[str, Any]]:
    code, out, err = f.cli("season", "status", "--json")
    assert code == 0, err
    r = f.api.get("/api/v1/season", headers=f.h)
    assert r.status_code == 200, r.text
    return json.loads(out), r.json()


RECORDS = [
    ("Lions", "2026-11-20", "completed"),
    ("Lions", "2026-11-21", "completed"),
    ("Föräldragruppen", "2026-11-20", "no_show"),
    ("Kyrkans ungdom", "2026-11-18", "completed"),
]


def test_records_status_payouts_and_payment_agree(fronts: Fronts) -> None:
    f = fronts
    cli, api = _status(f)
    assert cli == api and cli["walks_done"] == 0
    for association, night, status in RECORDS:
        code, out, err = f.cli("season", "record", "--association", association, "--night", night, "--status", status)
        assert code == 0, err
        assert out.startswith("recorded ") and f"{association}, night of {night}, {status}" in out
        body = {"association": association, "night": night, "status": status}
        assert f.api.post("/api/v1/season/walks", json=body, headers=f.h).status_code == 201
    cli, api = _status(f)
    assert cli == api
    assert (cli["walks_done"], cli["walks_no_show"], cli["owed_sek"], cli["walks_left"]) == (3, 1, 3000.0, 37)
    csv = f.tmp / "utbetalningar.csv"
    code, out, err = f.cli("season", "payouts", "--csv", csv)
    assert code == 0, err
    assert out.strip() == f"2 association(s) owed 3000 SEK for 3 walk(s): written to {csv}"
    assert csv.read_bytes() == f.api.get("/api/v1/season/payouts.csv", headers=f.h).content
    assert csv.read_bytes().decode("utf-8-sig").splitlines() == [
        "Förening;Pass;Nätter;Belopp (SEK)",
        "Kyrkans ungdom;1;2026-11-18;1000,00",
        "Lions;2;2026-11-20, 2026-11-21;2000,00",
    ]
    code, out, err = f.cli("season", "pay", "--association", "Lions")
    assert code == 0, err
    paid = f.api.post("/api/v1/season/payouts", json={"association": "Lions"}, headers=f.h)
    assert paid.status_code == 201 and (paid.json()["amount_sek"], paid.json()["walks"]) == (2000.0, 2)
    assert " Lions, 2 walk(s) (2026-11-20, 2026-11-21), 2000.00 SEK" in out
    cli, api = _status(f)
    assert cli == api and (cli["owed_sek"], cli["paid_sek"], cli["pot_left_sek"]) == (1000.0, 2000.0, 37000.0)


@pytest.mark.parametrize(
    ("cli_args", "body", "start"),
    [
        # a walk not yet walked (the night after tomorrow): the refusal says from when
        (("--status", "completed"), {"status": "completed"}, "the walk of 'Lions' on the night of "),
        (("--association", "Rotary", "--status", "completed"), {"association": "Rotary", "status": "completed"},
         "unknown association 'Rotary': use one of ['Föräldragruppen', 'Idrottsföreningen IFK', "),
    ],
)  # fmt: skip
def test_a_refused_walk_gets_the_same_message(
    fronts: Fronts, cli_args: tuple[str, ...], body: dict[str, str], start: str
) -> None:
    night = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    args = {"--association": "Lions", "--night": night}
    args.update(dict(zip(cli_args[::2], cli_args[1::2], strict=True)))
    code, _, err = fronts.cli("season", "record", *[x for kv in args.items() for x in kv])
    r = fronts.api.post("/api/v1/season/walks", json={"association": "Lions", "night": night, **body}, headers=fronts.h)
    assert (code, r.status_code) == (2, 422)
    assert err == f"tryggplan: error: {r.json()['detail']}"
    assert r.json()["detail"].startswith(start)
    if body.get("association") is None:
        assert (
            r.json()["detail"].endswith("(Europe/Stockholm); until then only 'cancelled' can be recorded")
            and f"has not ended yet: it can be recorded as completed from {night[:8]}" in r.json()["detail"]
        )


def test_a_plan_from_the_store_is_the_same_and_publishes_the_same(fronts: Fronts) -> None:
    f = fronts
    set_clock(f.api, DEMO_NOW)
    code, out, err = f.cli(
        "plan", "--week", "2025-W50", "--now", DEMO_NOW.isoformat(), "--out", f.tmp / "plan.json", "--no-marginal"
    )
    assert code == 0, err
    r = f.api.post("/api/v1/plans", json={"week": "2025-W50"}, headers=f.h)
    assert r.status_code == 201, r.text
    cli, api = json.loads((f.tmp / "plan.json").read_text(encoding="utf-8")), r.json()
    keys = ("association", "area", "night", "template", "start", "end")
    walks = [[{k: s[k] for k in keys} for s in p["shifts"] if s["kind"] == "night_walk"] for p in (cli, api["plan"])]
    assert walks[0] == walks[1] and walks[0]
    assert cli["warnings"] == api["warnings"] and cli["walks_share"] == api["plan"]["walks_share"]
    plan_id = api["id"]
    assert f"stored as plan {plan_id} (draft): publish it with `tryggplan season publish {plan_id}`" in out
    # published today (both front ends on the clock): that week is over, so nothing is offered, and both say why
    set_clock(f.api, dt.datetime.now(dt.UTC))
    code, out, err = f.cli("season", "publish", plan_id)
    assert code == 0, err
    published = f.api.post(f"/api/v1/plans/{plan_id}/publish", headers=f.h).json()
    assert published["plan"]["state"] == "published" and published["offered"] == []
    notes = [line.removeprefix("  note: ") for line in out.splitlines()[1:]]
    assert notes == published["notes"] and len(notes) == len(walks[0])
    assert all(n.endswith("started before the plan was published: not offered") for n in notes)
    assert out.startswith(f"plan {plan_id} published: 0 walk(s) offered, 0 earlier offer(s) withdrawn")
    cli_status, api_status = _status(f)
    assert cli_status == api_status and cli_status["walks_planned"] == 0


def test_links_are_made_listed_and_revoked(fronts: Fronts) -> None:
    code, out, err = fronts.cli("season", "links", "create", "--association", "Lions")
    assert code == 0, err
    secret = out.split()[-1]
    assert secret.startswith("ta_") and f"/api/v1/associations/{secret}/walks.ics" in out
    code, out, _ = fronts.cli("season", "links", "list")
    assert out.split()[:4] == ["1", "Lions", f"{secret[:8]}...", "active"]
    code, out, _ = fronts.cli("season", "links", "revoke", 1)
    assert (code, out.strip()) == (0, "link 1 (Lions) revoked")
    code, _, err = fronts.cli("season", "links", "create", "--association", "Rotary")
    r = fronts.api.post("/api/v1/season/links", json={"association": "Rotary"}, headers=fronts.h)
    assert (code, r.status_code) == (2, 422) and err == f"tryggplan: error: {r.json()['detail']}"
