"""CLI command: ``evaluate walks`` — did the night walks (or the guards) work?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tryggplan.allocation.export import atomic_write
from tryggplan.cli.common import DbOption, command_group, stdout
from tryggplan.cli.report import LangOpt, MunicipalityOpt, TzOpt, open_existing
from tryggplan.domain import DEFAULT_TZ
from tryggplan.usecases import evaluation


def register(app: typer.Typer) -> None:
    """Add ``evaluate walks`` to ``app``."""
    evaluate_app = command_group("Did the walks and guards work? (from the recorded walks)")
    app.add_typer(evaluate_app, name="evaluate")

    @evaluate_app.command("walks")
    def walks(
        kind: Annotated[str, typer.Option("--kind", help="night_walk (default) or guard")] = "night_walk",
        municipality: MunicipalityOpt = None,
        db: DbOption = None,
        lang: LangOpt = "sv",
        tz: TzOpt = DEFAULT_TZ,
        as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="also write the JSON to this file")] = None,
    ) -> None:
        """Incidents where the completed walks (or the guard shifts) were, against the forecast and
        against the same places and hours of the week on nights without a shift, up to where the data
        end; says "the data cannot tell yet" when it cannot, with the walks and incidents behind it and
        how many more walks would tell, and lists every walk it could not compare with the reason. The
        same as GET /api/v1/evaluation/walks."""
        engine = open_existing(db)
        try:
            result = evaluation.evaluate_walks(engine, kind=kind, municipalities=municipality or None, tz=tz, lang=lang)
        finally:
            engine.dispose()
        text = json.dumps(result, ensure_ascii=False, indent=2)
        if out is not None:
            atomic_write(out, (text + "\n").encode("utf-8"))
        if as_json:
            typer.echo(text)
        else:
            stdout.print(result["text"], markup=False)
            for left in result["not_evaluated"]:
                where = f" ({left['municipality']})" if left["municipality"] else ""
                stdout.print(f"  - {left['who']} {left['night']}{where}: {left['text']}", markup=False)
