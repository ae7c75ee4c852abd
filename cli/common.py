"""Shared CLI plumbing: exit codes and one-line errors on stderr."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any, Final

import typer
from pydantic import ValidationError
from rich.console import Console

from tryggplan.domain import InvalidInputError, TryggplanError
from tryggplan.service.settings import Settings

#: ``--db`` of the commands that work on a database
DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default $DATABASE_URL or sqlite:///tryggplan.db)")
]


#: help texts are paragraphs whose line breaks are the source's, not the reader's: typer's markdown
#: mode reflows them to the terminal (its default "rich" mode keeps every line break: ragged lines)
HELP_MARKUP: Final = "markdown"


def command_group(help: str) -> typer.Typer:
    """A group of subcommands (``tryggplan season ...``); without a subcommand it shows its help."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=HELP_MARKUP)


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def fail(message: str, code: int = EXIT_INVALID) -> None:
    """Print ``message`` as one line on stderr and leave with ``code``."""
    print(f"tryggplan: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(code)


def settings_for(db: str | None = None, **extra: object) -> Settings:
    """The service's settings (``TRYGGPLAN_*`` environment variables), with ``--db`` when given: the CLI
    reads files within the same limits as the API (``TRYGGPLAN_MAX_ROWS`` and the other read limits)."""
    values: dict[str, object] = dict(extra)
    if db:
        values["database_url"] = db
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or "settings"
        raise InvalidInputError(
            f"setting {field} (TRYGGPLAN_{field.upper()}): {first['msg'].removeprefix('Value error, ')}"
        ) from None


def run_guarded(call: Callable[[], Any]) -> int:
    """Run the typer app (standalone mode), mapping our errors to exit codes and one-line messages."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = call()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_FAILED
    except InvalidInputError as exc:
        print(f"tryggplan: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_INVALID
    except TryggplanError as exc:
        print(f"tryggplan: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, MemoryError) as exc:
        print(f"tryggplan: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    return int(result) if isinstance(result, int) else EXIT_OK
