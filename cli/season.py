"""CLI commands of the season ledger: ``tryggplan season status|record|walks|payouts|pay|publish|offers``
and ``tryggplan season links create|list|revoke`` (the same use cases as ``/api/v1/season...``)."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from sqlalchemy import Engine

from tryggplan.allocation.export import atomic_write
from tryggplan.cli.common import DbOption, command_group, stdout
from tryggplan.domain import InvalidInputError
from tryggplan.storage.records import OfferInfo, WalkRecordInfo
from tryggplan.usecases import season
from tryggplan.usecases.maintenance import database

TownOption = Annotated[
    str | None,
    typer.Option(
        "--municipality", help="the season's municipality (needed when seasons are kept for several municipalities)"
    ),
]


def actor() -> str:
    """Who records from the command line: ``cli:<login>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in a bare container
        return "cli"


def _night(value: str, option: str = "--night") -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(f"{option} {value!r} is not a date: give the night as YYYY-MM-DD") from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _local(ts: dt.datetime, tz: str) -> str:
    return f"{pd.Timestamp(ts).tz_convert(tz):%Y-%m-%d %H:%M}"


def _record_line(r: WalkRecordInfo, tz: str) -> str:
    where = f" in {r.area}" if r.area else ""
    source = f", plan {r.plan_id} shift {r.shift_index}" if r.plan_id is not None else ""
    fix = f", corrects {r.corrects}" if r.corrects is not None else ""
    return (
        f"{r.id}\t{r.night}\t{r.association}{where}\t{r.status}\t{_local(r.recorded_at, tz)}\t{r.actor}{source}{fix}"
        + (f"\t{r.note}" if r.note else "")
    )


def _offer_line(o: OfferInfo, tz: str) -> str:
    end = pd.Timestamp(o.end).tz_convert(tz)
    when = f"{_local(o.start, tz)}-{end:%H:%M}"
    return f"{o.id}\t{o.night}\t{o.association}\t{o.area}\t{when}\t{o.status}\tplan {o.plan_id}"


def _open(db: str | None) -> Engine:
    return database(db)


def register(app: typer.Typer) -> None:
    """Add ``season`` (and its ``links`` group) to ``app``."""
    season_app = command_group("The season ledger: walks done, money owed and paid, offers.")
    links_app = command_group("The associations' links (a secret each, no login).")
    app.add_typer(season_app, name="season")
    season_app.add_typer(links_app, name="links")

    @season_app.command("status")
    def status(
        db: DbOption = None,
        municipality: TownOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="the figures as GET /api/v1/season gives them")] = False,
    ) -> None:
        """Quota, walks done, no-shows, planned and left, the pot, owed, paid and left, per association."""
        engine = _open(db)
        try:
            doc = season.status_document(engine, season.season_of(engine, municipality))
        finally:
            engine.dispose()
        if as_json:
            typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
            return
        town = f"{doc['municipality']}, " if doc["municipality"] else ""
        total = "no quota" if doc["walks_total"] is None else f"{doc['walks_total']} walks"
        stdout.print(
            f"season ({town}resources {doc['resource_id']}): {total}, {doc['walks_done']} done, "
            f"{doc['walks_no_show']} no-show, {doc['walks_planned']} planned, "
            f"{'?' if doc['walks_left'] is None else doc['walks_left']} left",
            markup=False,
        )
        pot = "?" if doc["pot_sek"] is None else f"{doc['pot_sek']:.0f}"
        left = "?" if doc["pot_left_sek"] is None else f"{doc['pot_left_sek']:.0f}"
        stdout.print(
            f"pot {pot} SEK: owed {doc['owed_sek']:.0f}, paid {doc['paid_sek']:.0f}, left {left}", markup=False
        )
        for a in doc["associations"]:
            share = "-" if a["share"] is None else f"{a['share']:.0%}"
            stdout.print(
                f"  {a['name']}: {a['walks_done']} done, {a['walks_no_show']} no-show, {a['walks_planned']} planned, "
                f"owed {a['owed_sek']:.0f}, paid {a['paid_sek']:.0f}, share {share}",
                markup=False,
            )
        for w in doc["warnings"]:
            stdout.print(f"  note: {w}", markup=False)

    @season_app.command("record")
    def record(
        association: Annotated[str, typer.Option("--association", help="the association that walked (or not)")],
        night: Annotated[str, typer.Option("--night", help="the night, YYYY-MM-DD (the date it starts on)")],
        status: Annotated[str, typer.Option("--status", help="completed, no_show or cancelled")],
        area: Annotated[str | None, typer.Option("--area", help="the area walked")] = None,
        plan_id: Annotated[int | None, typer.Option("--plan-id", help="the plan whose walk this is")] = None,
        shift_index: Annotated[int | None, typer.Option("--shift-index", help="its index in the plan's shifts")] = None,
        corrects: Annotated[
            int | None, typer.Option("--corrects", help="the id of the walk's current record this corrects")
        ] = None,
        note: Annotated[str | None, typer.Option("--note", help="a note kept with the record")] = None,
        db: DbOption = None,
        municipality: TownOption = None,
    ) -> None:
        """Record one walk by association and night (also a walk done before the tool was used)."""
        engine = _open(db)
        try:
            s = season.season_of(engine, municipality)
            done = season.record_walk(
                engine,
                s,
                association=association,
                night=_night(night),
                status=status,
                actor=actor(),
                now=_now(),
                area=area,
                plan_id=plan_id,
                shift_index=shift_index,
                corrects=corrects,
                note=note,
            )
        finally:
            engine.dispose()
        r = done.record
        stdout.print(
            f"recorded {r.id}: {r.association}, night of {r.night}, {r.status}"
            + (f" (corrects {r.corrects})" if r.corrects is not None else ""),
            markup=False,
        )

    @season_app.command("walks")
    def walks(
        association: Annotated[str | None, typer.Option("--association", help="only this association")] = None,
        db: DbOption = None,
        municipality: TownOption = None,
    ) -> None:
        """Every walk record of the season, oldest first (id, night, association, status, when, who)."""
        engine = _open(db)
        try:
            s = season.season_of(engine, municipality)
            rows = season.list_records(engine, s, association)
        finally:
            engine.dispose()
        for r in rows:
            stdout.print(_record_line(r, s.tz), markup=False)
        if not rows:
            stdout.print("no walk records yet: tryggplan season record --association A --night D --status S")

    @season_app.command("payouts")
    def payouts(
        csv: Annotated[Path, typer.Option("--csv", help="the payout list to write (Excel-Swedish CSV)")],
        db: DbOption = None,
        municipality: TownOption = None,
    ) -> None:
        """Write the payout list: one row per association with completed, unpaid walks."""
        engine = _open(db)
        try:
            s = season.season_of(engine, municipality)
            dues = season.payouts_due(engine, s)
            data = season.payouts_csv(engine, s)
        finally:
            engine.dispose()
        atomic_write(csv, data)
        total = sum(d.amount_sek for d in dues)
        stdout.print(
            f"{len(dues)} association(s) owed {total:.0f} SEK for {sum(d.walks for d in dues)} walk(s): "
            f"written to {csv}",
            markup=False,
        )

    @season_app.command("pay")
    def pay(
        association: Annotated[str, typer.Option("--association", help="the association paid")],
        night: Annotated[
            list[str] | None, typer.Option("--night", help="pay only this walk (repeatable; default: every one owed)")
        ] = None,
        db: DbOption = None,
        municipality: TownOption = None,
    ) -> None:
        """Mark an association's completed, unpaid walks paid (as POST /api/v1/season/payouts)."""
        nights = [_night(n) for n in night] if night else None
        engine = _open(db)
        try:
            s = season.season_of(engine, municipality)
            p = season.pay(engine, s, association, actor=actor(), now=_now(), nights=nights)
        finally:
            engine.dispose()
        stdout.print(
            f"payout {p.id}: {p.association}, {len(p.nights)} walk(s) "
            f"({', '.join(n.isoformat() for n in p.nights)}), {p.amount_sek:.2f} SEK",
            markup=False,
        )

    @season_app.command("publish")
    def publish(
        plan_id: Annotated[int, typer.Argument(help="the plan to publish (its id)")],
        db: DbOption = None,
    ) -> None:
        """Publish a plan: offer each of its walks still ahead to its association (as POST /plans/{id}/publish)."""
        engine = _open(db)
        try:
            done = season.publish(engine, plan_id, now=_now())
        finally:
            engine.dispose()
        tz = str(done.plan.plan.get("tz") or "Europe/Stockholm")
        stdout.print(
            f"plan {done.plan.id} published: {len(done.offers)} walk(s) offered, {len(done.withdrawn)} earlier "
            "offer(s) withdrawn",
            markup=False,
        )
        for o in done.offers:
            stdout.print("  " + _offer_line(o, tz), markup=False)
        for n in done.notes:
            stdout.print(f"  note: {n}", markup=False)

    @season_app.command("offers")
    def offers(
        week: Annotated[str | None, typer.Option("--week", help="only this ISO week, e.g. 2026-W49")] = None,
        db: DbOption = None,
        municipality: TownOption = None,
    ) -> None:
        """The walks offered by published plans and how the associations answered."""
        engine = _open(db)
        try:
            s = season.season_of(engine, municipality)
            rows = season.list_offers(engine, s, week)
        finally:
            engine.dispose()
        for o in rows:
            stdout.print(_offer_line(o, s.tz), markup=False)
        if not rows:
            stdout.print("no offers: publish a plan with `tryggplan season publish PLAN_ID`")

    @links_app.command("create")
    def link_create(
        association: Annotated[str, typer.Option("--association", help="the association the link is for")],
        db: DbOption = None,
        municipality: TownOption = None,
    ) -> None:
        """A new link for an association; its secret is the last word printed (shown only once)."""
        engine = _open(db)
        try:
            secret, link = season.create_link(engine, season.season_of(engine, municipality), association, actor())
        finally:
            engine.dispose()
        stdout.print(
            f"link {link.id} ({link.association}): offers at /api/v1/associations/{secret}/offers, calendar at "
            f"/api/v1/associations/{secret}/walks.ics; secret: {secret}",
            markup=False,
        )

    @links_app.command("list")
    def link_list(
        all_: Annotated[bool, typer.Option("--all", help="include revoked links")] = False,
        db: DbOption = None,
        municipality: TownOption = None,
    ) -> None:
        """The associations' links (id, association, first characters, state; never the secrets)."""
        engine = _open(db)
        try:
            links = season.list_links(engine, season.season_of(engine, municipality), include_revoked=all_)
        finally:
            engine.dispose()
        for link in links:
            state = "revoked" if link.revoked else "active"
            stdout.print(
                f"{link.id}\t{link.association}\t{link.prefix}...\t{state}\t{link.created_at:%Y-%m-%d %H:%M}Z",
                markup=False,
            )
        if not links:
            stdout.print("no links: tryggplan season links create --association NAME")

    @links_app.command("revoke")
    def link_revoke(
        link_id: Annotated[int, typer.Argument(help="id from `tryggplan season links list`")],
        db: DbOption = None,
    ) -> None:
        """Revoke a link: its secret answers 404 from then on."""
        engine = _open(db)
        try:
            link = season.revoke_link(engine, link_id)
        finally:
            engine.dispose()
        stdout.print(f"link {link.id} ({link.association}) revoked", markup=False)
