"""The CLI loads only the module of the command it runs: ``tryggplan import`` (called once per file by
scripts), ``tryggplan token`` and ``tryggplan user`` must not load the forecasting models, the solver, the web
service or Alembic. Start-up time itself is measured by benchmarks/bench_cli_startup.py (figures in
docs/operator/benchmarks.md), not here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tryggplan.cli import ALL_MODULES, COMMAND_MODULES, build_app, modules_for

HEAVY = ("scipy.stats", "tryggplan.forecasting", "tryggplan.allocation.weekly", "tryggplan.service.app", "fastapi",
         "alembic", "matplotlib", "statsmodels")  # fmt: skip


def test_the_command_table_names_every_registered_command() -> None:
    app = build_app()
    registered = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert registered == set(COMMAND_MODULES) | {"version"}


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        (["import", "x.csv", "--db", "sqlite:///t.db"], ("data",)),
        (["token", "create", "--role", "reader"], ("admin",)),
        (["demo-data", "--out", "d"], ("demo",)),
        (["season", "status"], ("season",)),
        (["--help"], ALL_MODULES),
        ([], ALL_MODULES),
        (["no-such-command"], ALL_MODULES),
    ],
)
def test_modules_for(argv: list[str], want: tuple[str, ...]) -> None:
    assert modules_for(argv) == want


@pytest.mark.parametrize("command", ["import", "validate", "token", "db", "user"])
def test_light_commands_do_not_load_the_heavy_layers(command: str) -> None:
    code = (
        "import json, sys\n"
        "from tryggplan.cli import build_app, modules_for\n"
        f"build_app(modules_for([{command!r}]))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert [m for m in loaded if m.startswith(HEAVY)] == []
