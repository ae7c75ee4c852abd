"""The README stays a front page and the docs keep up with the code: the README is at most 250 lines and
shows the two commands, and the command-line and HTTP references name every command and route there is. (The site's
links, anchors and nav are checked by `mkdocs build --strict`, which `make lint` runs.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from tests.support import ROOT
from tryggplan.cli import build_app
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings

README = ROOT / "README.md"
CLI_PAGE = ROOT / "docs" / "reference" / "cli.md"


def test_the_readme_is_a_front_page_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines: move reference material into docs/"
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", "\n".join(lines) + "\n", flags=re.M | re.S)
    commands = {line.split("#")[0].strip() for block in blocks for line in block.splitlines()}
    assert {"make run", "make test"} <= commands, commands


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """``season links create``, ``plan``, ...: every command the CLI runs, by the words that name it."""
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from command_paths(sub, (*path, name))
    else:
        yield " ".join(path)


def test_the_cli_reference_names_every_command() -> None:
    page = CLI_PAGE.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `tryggplan ([a-z][a-z -]*?)(?: [A-Z_]+)*` \|", page, flags=re.M))
    commands = set(command_paths(typer.main.get_command(build_app())))
    assert len(commands) > 30
    assert commands - listed == set(), "add these to docs/reference/cli.md, 'Every command'"
    assert listed - commands == set(), "docs/reference/cli.md lists commands the CLI does not have"


def test_the_api_reference_names_every_route(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "reference" / "api.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`((?:GET|POST|PUT|PATCH|DELETE) /[^`\s]*)`", page))
    schema = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'docs.db'}")).openapi()
    routes = {f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops}
    assert len(routes) > 60
    assert routes - listed == set(), "add these to docs/reference/api.md"
    assert listed - routes == set(), "docs/reference/api.md lists routes the service does not have"
