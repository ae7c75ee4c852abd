"""CLI commands to administer a database: ``token create|list|revoke`` and ``db upgrade``.

Apart from the service's commands because they do not need the web service or the job runners loaded
(scripts create tokens at every start).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from tryggplan.cli.common import DbOption, command_group, fail, settings_for, stderr, stdout
from tryggplan.usecases import access
from tryggplan.usecases.maintenance import database


def register(app: typer.Typer) -> None:
    """Add ``token`` and ``db`` to ``app``."""
    token_app = command_group("Create, list and revoke API tokens.")
    db_app = command_group("Database maintenance.")
    app.add_typer(token_app, name="token")
    app.add_typer(db_app, name="db")

    @token_app.command("create")
    def token_create(
        role: Annotated[str, typer.Option(help="reader | coordinator | analyst | admin | reporter")],
        name: Annotated[str | None, typer.Option(help="who or what uses the token")] = None,
        municipality: Annotated[
            list[str] | None,
            typer.Option("--municipality", help="scope the token to this municipality (repeatable); default area-wide"),
        ] = None,
        expires: Annotated[
            str | None, typer.Option("--expires", help="expire after 90d (days), 12h (hours) or 8w (weeks)")
        ] = None,
        db: DbOption = None,
    ) -> None:
        """Create a token; the token is the last word printed (shown only once)."""
        access.check_role(role)
        access.expiry(expires)
        engine = database(settings_for(db).database_url)
        try:
            secret, info = access.create_token(engine, role, name, municipality or None, expires)
        finally:
            engine.dispose()
        scope = ", ".join(info.municipalities) if info.municipalities is not None else "area-wide"
        until = f", expires {info.expires_at:%Y-%m-%d %H:%M}Z" if info.expires_at else ""
        stdout.print(f"token {info.id} ({info.role}, {scope}{until}{', ' + info.name if info.name else ''}): {secret}")

    @token_app.command("list")
    def token_list(
        db: DbOption = None,
        all_: Annotated[bool, typer.Option("--all", help="include revoked tokens")] = False,
    ) -> None:
        """List tokens (id, role, scope, first characters, state, created, last used, expires, name; never
        the secrets)."""
        engine = database(settings_for(db).database_url)
        try:
            tokens = access.list_tokens(engine, include_revoked=all_)
        finally:
            engine.dispose()
        now = dt.datetime.now(dt.UTC)
        for t in tokens:
            state = "revoked" if t.revoked else ("expired" if t.expired(now) else "active")
            scope = ",".join(t.municipalities) if t.municipalities is not None else "area-wide"
            used = f"used {t.last_used_at:%Y-%m-%d %H:%M}Z" if t.last_used_at else "never used"
            until = f"expires {t.expires_at:%Y-%m-%d %H:%M}Z" if t.expires_at else "no expiry"
            stdout.print(
                f"{t.id}\t{t.role}\t{scope}\t{t.prefix}...\t{state}\t{t.created_at:%Y-%m-%d %H:%M}Z\t{used}\t"
                f"{until}\t{t.name or ''}"
            )
        if not tokens:
            stderr.print("no tokens: create one with `tryggplan token create --role reader`")

    @token_app.command("revoke")
    def token_revoke(
        token_id: Annotated[int, typer.Argument(help="id from `tryggplan token list`")], db: DbOption = None
    ) -> None:
        """Revoke a token by id (it answers 401 from then on)."""
        engine = database(settings_for(db).database_url)
        try:
            info = access.revoke_token(engine, token_id)
        except LookupError as exc:
            fail(str(exc))
        finally:
            engine.dispose()
        stdout.print(f"token {info.id} ({info.role}) revoked")

    @db_app.command("upgrade")
    def db_upgrade(db: DbOption = None) -> None:
        """Create the database if needed and migrate it to the newest schema."""
        engine = database(settings_for(db).database_url)
        engine.dispose()
        stdout.print(f"database {engine.url.render_as_string(hide_password=True)} is at the newest schema")


__all__ = ["register"]
