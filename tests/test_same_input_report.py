"""The situation picture, its notes and the walk evaluation through both front ends: on the same
planted town ``tryggplan report situation`` and ``GET /api/v1/reports/situation`` give the same JSON
(and the same HTML and CSV bytes), ``tryggplan evaluate walks --json`` and ``GET
/api/v1/evaluation/walks`` the same figures, and a refused input the same message (the CLI's
``tryggplan: error: <message>`` is the API's 422 ``detail``).

The town is planted once into a SQLite file (tests/test_usecases_reports.py) and copied for each
front end."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support import auth
from tests.test_usecases_reports import plant_report_town, plant_walked_town
from tryggplan.cli import build_app
from tryggplan.cli.common import run_guarded
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.backup import backup_sqlite
from tryggplan.storage.database import open_database
from tryggplan.storage.tokens import create_token


@dataclass
class Fronts:
    tmp: Path
    cli_db: str
    api: TestClient
    reader: dict[str, str]
    coordinator: dict[str, str]
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: object) -> tuple[int, str, str]:
        """Exit code, stdout and the last line on stderr of ``tryggplan ARGS``."""
        self.capsys.readouterr()
        code = run_guarded(lambda: build_app()(args=[str(a) for a in args], prog_name="tryggplan"))
        captured = self.capsys.readouterr()
        err = [line for line in captured.err.splitlines() if line.strip()]
        return code, captured.out, err[-1] if err else ""


def _fronts(tmp: Path, capsys: pytest.CaptureFixture[str], plant: Callable[[Engine], object]) -> Iterator[Fronts]:
    source = tmp / "planted.db"
    engine = open_database(f"sqlite:///{source}")
    plant(engine)
    engine.dispose()
    backup_sqlite(source, tmp / "cli.db")
    backup_sqlite(source, tmp / "api.db")
    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'api.db'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        e = app.state.engine
        yield Fronts(
            tmp,
            f"sqlite:///{tmp / 'cli.db'}",
            client,
            auth(create_token(e, "reader", "same-input reader")[0]),
            auth(create_token(e, "coordinator", "same-input coordinator")[0]),
            capsys,
        )
    app.state.engine.dispose()


@pytest.fixture
def town(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fronts]:
    yield from _fronts(tmp_path, capsys, plant_report_town)


@pytest.fixture
def walked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fronts]:
    yield from _fronts(tmp_path, capsys, lambda engine: plant_walked_town(engine, 0.6, seed=2))


QUERY = {"to": "2026-11-29", "days": 14}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_report_is_the_same(town: Fronts, lang: str) -> None:
    out = town.tmp / f"out-{lang}"
    code, _, err = town.cli(
        "report", "situation", "--db", town.cli_db, "--to", "2026-11-29", "--days", 14, "--out", out, "--lang", lang
    )
    assert code == 0, err
    cli = json.loads((out / "situation.json").read_text(encoding="utf-8"))
    r = town.api.get("/api/v1/reports/situation", params={**QUERY, "lang": lang}, headers=town.reader)
    assert r.status_code == 200, r.text
    assert cli == r.json()
    assert (cli["totals"]["count"], cli["totals"]["previous"], cli["ytd"]["count"], cli["lang"]) == (27, 14, 317, lang)
    assert (cli["done"]["walks_completed"], cli["done"]["guard_hours"], cli["done"]["incidents_covered"]) == (1, 5.0, 3)
    assert len(cli["ahead"]["windows"]) == 4
    page = town.api.get("/api/v1/reports/situation.html", params={**QUERY, "lang": lang}, headers=town.reader)
    assert page.status_code == 200 and page.content == (out / "situation.html").read_bytes()
    assert f'<html lang="{lang}">' in page.text
    table = town.api.get("/api/v1/reports/situation.csv", params={**QUERY, "lang": lang}, headers=town.reader)
    assert table.status_code == 200 and table.content == (out / "situation.csv").read_bytes()


@pytest.mark.parametrize(
    ("cli_args", "params", "message"),
    [
        (
            ("--to", "2026-11-31"),
            {"to": "2026-11-31"},
            "to '2026-11-31' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-29",
        ),
        (
            ("--to", "2026-11-29", "--municipality", "Arboga"),
            {"to": "2026-11-29", "municipality": "Arboga"},
            "unknown municipality 'Arboga': the places name Kungsör",
        ),
        (
            ("--to", "2026-11-29", "--days", 0),
            {"to": "2026-11-29", "days": 0},
            "days must be a whole number from 1 to 366, got 0",
        ),
        (
            ("--to", "2026-11-29", "--lang", "de"),
            {"to": "2026-11-29", "lang": "de"},
            "unknown language 'de': use 'sv' (Swedish, the default) or 'en' (English)",
        ),
    ],
)
def test_a_bad_report_request_is_refused_the_same_way(
    town: Fronts, cli_args: tuple[object, ...], params: dict[str, object], message: str
) -> None:
    out = town.tmp / "bad"
    code, _, err = town.cli("report", "situation", "--db", town.cli_db, "--out", out, *cli_args)
    r = town.api.get("/api/v1/reports/situation", params=params, headers=town.reader)
    assert (code, r.status_code) == (2, 422)
    assert r.json()["detail"] == message
    assert err == f"tryggplan: error: {message}"
    assert not out.exists()  # nothing half-written


def test_notes_are_the_same(town: Fronts) -> None:
    text, at = "Väktare på Stortorget lördagar, två vandringar till", "2026-11-30T18:00:00+01:00"
    code, out, err = town.cli(
        "report", "note", "--db", town.cli_db, "--text", text, "--place", "torget", "--place", "parken", "--at", at
    )
    assert code == 0, err
    assert out.startswith("note 1 at 2026-11-30T17:00:00+00:00 about torget, parken")
    r = town.api.post(
        "/api/v1/reports/situation/notes",
        json={"text": text, "place_ids": ["torget", "parken"], "at": at},
        headers=town.coordinator,
    )
    assert r.status_code == 201, r.text
    note = r.json()
    assert (note["id"], note["at"], note["text"], note["place_ids"]) == (
        1,
        "2026-11-30T17:00:00Z",
        text,
        ["torget", "parken"],
    )
    assert note["actor"].startswith("token:") and note["actor"].endswith(":same-input coordinator")
    code, out, _ = town.cli("report", "notes", "--db", town.cli_db, "--json")
    listed = town.api.get("/api/v1/reports/situation/notes", headers=town.reader).json()
    cli_notes = json.loads(out)
    assert [(n["text"], n["place_ids"]) for n in cli_notes] == [(n["text"], n["place_ids"]) for n in listed]
    assert cli_notes[0]["actor"].startswith("cli")
    report = town.tmp / "after"
    assert town.cli("report", "situation", "--db", town.cli_db, "--to", "2026-11-29", "--out", report)[0] == 0
    api = town.api.get("/api/v1/reports/situation", params=QUERY, headers=town.reader).json()
    cli = json.loads((report / "situation.json").read_text(encoding="utf-8"))
    assert cli == api
    assert api["decisions"] == [{"at": at, "text": text, "place_ids": ["torget", "parken"]}]


@pytest.mark.parametrize(
    ("places", "message"),
    [
        (["torget", "kiosken"], "unknown place 'kiosken': a note names stored places by their place_id"),
        ([], "at 2027-01-01T00:00:00+01:00 is in the future"),
    ],
)
def test_a_bad_note_is_refused_the_same_way(town: Fronts, places: list[str], message: str) -> None:
    at = "2027-01-01" if not places else None
    args: list[object] = ["report", "note", "--db", town.cli_db, "--text", "Beslut"]
    args += [x for p in places for x in ("--place", p)] + (["--at", at] if at else [])
    code, _, err = town.cli(*args)
    r = town.api.post(
        "/api/v1/reports/situation/notes",
        json={"text": "Beslut", "place_ids": places, "at": at},
        headers=town.coordinator,
    )
    assert (code, r.status_code) == (2, 422)
    assert r.json()["detail"].startswith(message)
    assert err == f"tryggplan: error: {r.json()['detail']}"


def test_the_walk_evaluation_is_the_same(walked: Fronts) -> None:
    for lang in ("sv", "en"):
        code, out, err = walked.cli("evaluate", "walks", "--db", walked.cli_db, "--json", "--lang", lang)
        assert code == 0, err
        r = walked.api.get("/api/v1/evaluation/walks", params={"lang": lang}, headers=walked.reader)
        assert r.status_code == 200, r.text
        assert json.loads(out) == r.json()
        assert (r.json()["verdict"], r.json()["shifts"], r.json()["place_hours"]) == ("fewer", 32, 512)
    code, out, _ = walked.cli("evaluate", "walks", "--db", walked.cli_db)
    assert code == 0 and out.startswith("Färre händelser än väntat där nattvandringar fanns. 32 nattvandringar")


def test_nothing_to_evaluate_is_refused_the_same_way(walked: Fronts) -> None:
    code, _, err = walked.cli("evaluate", "walks", "--db", walked.cli_db, "--kind", "guard")
    r = walked.api.get("/api/v1/evaluation/walks", params={"kind": "guard"}, headers=walked.reader)
    assert (code, r.status_code) == (2, 422)
    assert r.json()["detail"] == "no guard shifts worked are recorded yet: there is nothing to evaluate"
    assert err == f"tryggplan: error: {r.json()['detail']}"
