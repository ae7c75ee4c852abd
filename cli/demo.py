"""CLI command ``demo-data``: the synthetic demo area (the four towns of LPO Köping) as files.

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
                "--out",
                help="Directory to write places.csv, incidents.csv, resources.yaml (Kungsör's), "
                "resources-<town>.yaml (each town's) and truth.json into.",
            ),
        ],
        seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same towns).")] = 42,
        years: Annotated[float, typer.Option("--years", min=1.0, max=10.0, help="Years of history.")] = 3.25,
    ) -> int:
        """Write the synthetic demo area: four towns of one police area (Kungsör, Arboga, Köping,
        Hallstahammar) with their places, incidents, resources specs and the planted truth."""
        made = demo.write_demo_files(out, seed=seed, years=years)
        stdout.print(
            f"demo area {made.police_area} (seed {seed}): {len(made.towns)} towns ({', '.join(made.towns)}), "
            f"{made.places} places in {made.areas} areas, {made.incidents} incidents "
            f"{made.first:%Y-%m-%d} .. {made.last:%Y-%m-%d}; wrote {', '.join(made.files)} to {out}"
        )
        return EXIT_OK


__all__ = ["register"]
