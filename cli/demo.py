"""CLI command ``demo-data``: the synthetic demo town as files.

Apart from ``import`` and ``validate`` because writing the town's resources loads the planner, which a
script importing files should not wait for at every start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tryggplan.cli.common import EXIT_OK, stdout
from tryggplan.usecases import demo


def register(app: typer.Typer) -> None:
    """Add ``demo-data`` to ``app``."""

    @app.command("demo-data")
    def demo_data(
        out: Annotated[
            Path,
            typer.Option(
                "--out", help="Directory to write places.csv, incidents.csv, resources.yaml and truth.json into."
            ),
        ],
        seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same town).")] = 42,
        years: Annotated[float, typer.Option("--years", min=1.0, max=10.0, help="Years of history.")] = 3.25,
    ) -> int:
        """Write the synthetic demo town: places, incidents, resources and the planted truth."""
        town = demo.write_demo_files(out, seed=seed, years=years)
        stdout.print(
            f"demo town (seed {seed}): {town.places} places in {town.areas} areas, {town.incidents} incidents "
            f"{town.first:%Y-%m-%d} .. {town.last:%Y-%m-%d}; wrote {', '.join(town.files)} to {out}"
        )
        return EXIT_OK


__all__ = ["register"]
