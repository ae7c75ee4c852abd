"""CLI commands: ``report situation`` (the fortnightly situation picture), ``report note`` and
``report notes`` (the meeting's decisions)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from tryggplan.allocation.export import atomic_write
from tryggplan.cli.common import DbOption, command_group, stdout
from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.i18n import format_percent
from tryggplan.storage.database import default_url
from tryggplan.usecases import reports
from tryggplan.usecases.maintenance import database, existing_database
from tryggplan.usecases.reports import DEFAULT_DAYS

MunicipalityOpt = Annotated[
    list[str] | None,
    typer.Option("--municipality", help="only this municipality's places (repeat for several; default: all)"),
]
LangOpt = Annotated[str, typer.Option("--lang", help="sv (default) or en: the language of the texts")]
TzOpt = Annotated[str, typer.Option("--tz", help="local time zone of dates and days")]


def open_existing(db: str | None) -> Engine:
    """The database at ``db`` (or the default), which must exist already; migrated to the newest schema."""
    url = db or default_url()
    existing_database(url).dispose()
    return database(url)


def cli_actor() -> str:
    """Who made a change from the command line (stored with it)."""
    try:
        return f"cli:{getpass.getuser()}"[:200]
    except (KeyError, OSError):
        return "cli"


def register(app: typer.Typer) -> None:
    """Add ``report situation|note|notes`` to ``app``."""
    report_app = command_group("The fortnightly situation picture (lägesbild) and the meeting's decisions.")
    app.add_typer(report_app, name="report")

    @report_app.command("situation")
    def situation(
        to: Annotated[str, typer.Option("--to", help="last local day of the period, YYYY-MM-DD")],
        out: Annotated[Path, typer.Option("--out", help="folder for situation.json, situation.html, situation.csv")],
        days: Annotated[int, typer.Option("--days", help="length of the period [days]")] = DEFAULT_DAYS,
        municipality: MunicipalityOpt = None,
        db: DbOption = None,
        lang: LangOpt = "sv",
        tz: TzOpt = DEFAULT_TZ,
    ) -> None:
        """The situation picture of the DAYS days ending with TO: JSON, print-ready HTML (Swedish unless
        --lang en) and the look-back tables as CSV for Excel; the same as GET /api/v1/reports/situation."""
        if out.exists() and not out.is_dir():
            raise InvalidInputError(f"--out {out} is a file: give a folder")
        engine = open_existing(db)
        try:
            report = reports.situation(engine, to, days=days, municipalities=municipality or None, tz=tz, lang=lang)
        finally:
            engine.dispose()
        atomic_write(out / "situation.json", (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        atomic_write(out / "situation.html", reports.situation_as_html(report).encode("utf-8"))
        atomic_write(out / "situation.csv", reports.situation_as_csv(report))
        t = report["totals"]
        change = t["change_vs_previous_pct"]
        stdout.print(
            f"situation {report['from']}..{report['to']}: {t['count']} incidents against {t['previous']} the "
            f"period before ({'no comparison' if change is None else format_percent(change, 'en')}, {t['text']}); "
            f"year to date {report['ytd']['count']} against {report['ytd']['last_year']}; wrote {out}/situation.json, "
            "situation.html, situation.csv",
            markup=False,
        )
        for warning in report.get("warnings") or []:
            stdout.print(f"warning: {warning}", markup=False)

    @report_app.command("note")
    def note(
        text: Annotated[str, typer.Option("--text", help="what was decided")],
        place: Annotated[
            list[str] | None, typer.Option("--place", help="a place id the decision concerns (repeat for several)")
        ] = None,
        at: Annotated[
            str | None,
            typer.Option("--at", help="when it was decided (YYYY-MM-DD, local time or ISO 8601; default now)"),
        ] = None,
        db: DbOption = None,
        tz: TzOpt = DEFAULT_TZ,
    ) -> None:
        """Note a decision of the situation-picture meeting; the next report lists it with what happened
        at its places since (the same as POST /api/v1/reports/situation/notes)."""
        engine = open_existing(db)
        try:
            stored = reports.add_note(engine, text, place or [], at=at, tz=tz, actor=cli_actor())
        finally:
            engine.dispose()
        where = ", ".join(stored.place_ids) or "the whole area"
        stdout.print(f"note {stored.id} at {stored.at.isoformat()} about {where}", markup=False)

    @report_app.command("notes")
    def notes(
        start: Annotated[str | None, typer.Option("--start", help="from this day or time (local)")] = None,
        end: Annotated[str | None, typer.Option("--end", help="before this day or time (local)")] = None,
        db: DbOption = None,
        tz: TzOpt = DEFAULT_TZ,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    ) -> None:
        """The meeting notes, oldest first."""
        engine = open_existing(db)
        try:
            found = reports.list_notes(engine, start=start, end=end, tz=tz)
        finally:
            engine.dispose()
        if as_json:
            typer.echo(json.dumps([reports.note_dict(n) for n in found], ensure_ascii=False, indent=2))
            return
        for n in found:
            stdout.print(f"{n.id}\t{n.at.isoformat()}\t{', '.join(n.place_ids) or '-'}\t{n.text}", markup=False)
