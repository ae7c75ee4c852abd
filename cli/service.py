"""CLI commands of the service: ``serve``, ``token create|list|revoke``, ``db upgrade``, ``run-demo``."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from tryggplan.cli.common import fail, stderr, stdout
from tryggplan.domain import InvalidInputError
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.usecases import access
from tryggplan.usecases.demo import prepare_demo
from tryggplan.usecases.maintenance import database

DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default $DATABASE_URL or sqlite:///tryggplan.db)")
]


def _settings(db: str | None, **extra: object) -> Settings:
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


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
    db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
    app.add_typer(token_app, name="token")
    app.add_typer(db_app, name="db")

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
        db: DbOption = None,
    ) -> None:
        """Run the HTTP service (API under /api/v1, docs at /docs, dashboard at /)."""
        _serve(_settings(db), host, port)

    @token_app.command("create")
    def token_create(
        role: Annotated[str, typer.Option(help="reader | coordinator | analyst | admin | reporter")],
        name: Annotated[str | None, typer.Option(help="who or what uses the token")] = None,
        municipality: Annotated[
            list[str] | None,
            typer.Option("--municipality", help="scope the token to this municipality (repeatable); default area-wide"),
        ] = None,
        db: DbOption = None,
    ) -> None:
        """Create a token; the token is the last word printed (shown only once)."""
        access.check_role(role)
        engine = database(_settings(db).database_url)
        try:
            secret, info = access.create_token(engine, role, name, municipality or None)
        finally:
            engine.dispose()
        scope = ", ".join(info.municipalities) if info.municipalities is not None else "area-wide"
        stdout.print(f"token {info.id} ({info.role}, {scope}{', ' + info.name if info.name else ''}): {secret}")

    @token_app.command("list")
    def token_list(
        db: DbOption = None,
        all_: Annotated[bool, typer.Option("--all", help="include revoked tokens")] = False,
    ) -> None:
        """List tokens (id, role, name, first characters; never the secrets)."""
        engine = database(_settings(db).database_url)
        try:
            tokens = access.list_tokens(engine, include_revoked=all_)
        finally:
            engine.dispose()
        for t in tokens:
            state = "revoked" if t.revoked else "active"
            scope = ",".join(t.municipalities) if t.municipalities is not None else "area-wide"
            stdout.print(
                f"{t.id}\t{t.role}\t{scope}\t{t.prefix}...\t{state}\t{t.created_at:%Y-%m-%d %H:%M}Z\t{t.name or ''}"
            )
        if not tokens:
            stderr.print("no tokens: create one with `tryggplan token create --role reader`")

    @token_app.command("revoke")
    def token_revoke(
        token_id: Annotated[int, typer.Argument(help="id from `tryggplan token list`")], db: DbOption = None
    ) -> None:
        """Revoke a token by id (it answers 401 from then on)."""
        engine = database(_settings(db).database_url)
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
        engine = database(_settings(db).database_url)
        engine.dispose()
        stdout.print(f"database {engine.url.render_as_string(hide_password=True)} is at the newest schema")

    @app.command("run-demo")
    def run_demo(
        dir: Annotated[Path, typer.Option("--dir", help="where the demo database and files go")] = Path("var/demo"),
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
        seed: Annotated[int, typer.Option(help="seed of the demo town")] = 7,
        model: Annotated[str, typer.Option(help="forecast model")] = "default",
        no_serve: Annotated[bool, typer.Option("--no-serve", help="prepare everything, do not serve")] = False,
    ) -> None:
        """Demo town end to end: database, demo data imported, forecast trained, next week planned,
        reader and coordinator tokens printed, then serve. Running it again reuses what exists."""
        settings = _settings(f"sqlite:///{(dir / 'tryggplan.db').resolve()}")
        summary = prepare_demo(
            dir, settings.database_url, tz=settings.tz, seed=seed, model=model, now=dt.datetime.now(dt.UTC)
        )
        for line in summary.lines():
            stdout.print(line)
        if not no_serve:
            stdout.print(f"dashboard: http://{host}:{port}/?token={summary.reader_token}")
            _serve(settings, host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    app = create_app(settings)
    # uvicorn's access log prints query strings, and the dashboard link carries ?token=...: use
    # the service's own access log (method, path, status, duration) instead
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    for name in ("tryggplan.service", "tryggplan.service.access"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not logger.handlers:
            logger.addHandler(handler)
        logger.propagate = False
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        proxy_headers=False,
        server_header=False,
        access_log=False,
    )
