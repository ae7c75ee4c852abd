"""The ``tryggplan`` command: one CLI for import, forecast, plan, backtest and serve.

Every command exits 0 on success, 2 with a one-line reason on stderr for invalid input,
and 1 for other failures. Command groups live in sibling modules, each with ``register(app)``.

A run imports only the module of the command it runs (:data:`COMMAND_MODULES`): ``tryggplan import``
must not pay for the forecasting models, the solver and the web service (about 2 s a start), since
scripts call it once per file.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence

import typer

from tryggplan import __version__
from tryggplan.cli.common import HELP_MARKUP, run_guarded

#: Each top-level command or group, and the sibling module that registers it.
COMMAND_MODULES: dict[str, str] = {
    "validate": "data",
    "import": "data",
    "demo-data": "demo",
    "forecast": "forecast",
    "models": "forecast",
    "backtest": "backtest",
    "plan": "plan",
    "season-plan": "plan",
    "season": "season",
    "area": "area",
    "token": "admin",
    "user": "users",
    "db": "admin",
    "job": "service",
    "worker": "service",
    "serve": "service",
    "run-demo": "service",
    "backup": "ops",
    "restore": "ops",
    "report": "report",
    "evaluate": "evaluate",
}

#: The order the groups are listed in by ``tryggplan --help``.
ALL_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMAND_MODULES.values()))


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules a run with ``argv`` needs: the named command's alone, or all of them (for
    ``--help``, no command, or a name that is not a command, so typer can list them)."""
    for arg in argv:
        if not arg.startswith("-"):
            module = COMMAND_MODULES.get(arg)
            return (module,) if module else ALL_MODULES
    return ALL_MODULES


def build_app(modules: Iterable[str] = ALL_MODULES) -> typer.Typer:
    """The typer app with the commands of ``modules`` (all by default)."""
    app = typer.Typer(
        rich_markup_mode=HELP_MARKUP,
        name="tryggplan",
        help="Crime-risk forecasts and optimal night-walk / guard plans for a municipality.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """Crime-risk forecasts and optimal night-walk / guard plans for a municipality."""

    for name in modules:
        importlib.import_module(f"tryggplan.cli.{name}").register(app)

    @app.command("version")
    def version() -> None:
        """Print the installed version."""
        print(__version__)

    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = sys.argv[1:] if argv is None else argv
    app = build_app(modules_for(args))
    sys.exit(run_guarded(lambda: app(args=args, prog_name="tryggplan")))


__all__ = ["ALL_MODULES", "COMMAND_MODULES", "build_app", "main", "modules_for"]
