"""The ``tryggplan`` command: one CLI for import, forecast, plan, backtest and serve.

Every command exits 0 on success, 2 with a one-line reason on stderr for invalid input,
and 1 for other failures. Command groups live in sibling modules, each with ``register(app)``.
"""

from __future__ import annotations

import sys

import typer

from tryggplan import __version__
from tryggplan.cli import area, backtest, data, evaluate, forecast, ops, plan, report, season, service
from tryggplan.cli.common import run_guarded


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="tryggplan",
        help="Crime-risk forecasts and optimal night-walk / guard plans for a municipality.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """Crime-risk forecasts and optimal night-walk / guard plans for a municipality."""

    for module in (data, forecast, backtest, plan, season, area, service, ops, report, evaluate):
        module.register(app)

    @app.command("version")
    def version() -> None:
        """Print the installed version."""
        print(__version__)

    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    app = build_app()
    sys.exit(run_guarded(lambda: app(args=argv, prog_name="tryggplan")))


__all__ = ["build_app", "main"]
