"""``tryggplan user create|list|disable|reset-password``: people who sign in at ``/logga-in``.

Apart from the other commands because, like ``token``, it needs neither the models, the solver nor the
web service. Passwords are read from standard input (``--password-stdin``), never from an option: an
option would stay in the shell's history and in the process list.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from tryggplan.cli.common import DbOption, command_group, fail, settings_for, stderr, stdout
from tryggplan.storage.users import UserRecord
from tryggplan.usecases import users
from tryggplan.usecases.access import check_role
from tryggplan.usecases.maintenance import database

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input (its first line)")
]


def _password(from_stdin: bool) -> str:
    """The password on standard input: its first line, without the line break."""
    if not from_stdin:
        fail('give the password on standard input with --password-stdin, e.g. `read -s P; echo "$P" | tryggplan ...`')
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    if not password:
        fail('no password on standard input: write it there, e.g. `echo "$P" | tryggplan user create ...`')
    return password


def _user_doc(u: UserRecord) -> dict[str, object]:
    return {
        "username": u.username,
        "name": u.display_name,
        "role": u.role,
        "municipalities": list(u.municipalities) if u.municipalities is not None else None,
        "disabled": u.disabled,
        "created_at": u.created_at.isoformat(),
        "last_sign_in_at": u.last_sign_in_at.isoformat() if u.last_sign_in_at else None,
    }


def register(app: typer.Typer) -> None:
    """Add ``user`` to ``app``."""
    user_app = command_group("Create, list and disable the people who sign in (and reset their passwords).")
    app.add_typer(user_app, name="user")

    @user_app.command("create")
    def user_create(
        username: Annotated[str, typer.Option(help="what the person types at /logga-in (any case)")],
        role: Annotated[str, typer.Option(help="reader | coordinator | analyst | admin | reporter")],
        municipality: Annotated[
            list[str] | None,
            typer.Option("--municipality", help="scope the user to this municipality (repeatable); default area-wide"),
        ] = None,
        name: Annotated[str | None, typer.Option(help="the person's name as pages show it")] = None,
        password_stdin: PasswordStdin = False,
        db: DbOption = None,
    ) -> None:
        """Create a user; the password is read from standard input (at least 10 characters)."""
        check_role(role)
        users.check_username(username)
        password = _password(password_stdin)
        users.check_password(password, username)
        engine = database(settings_for(db).database_url)
        try:
            made = users.create_user(
                engine, username=username, role=role, password=password, municipalities=municipality or None,
                display_name=name,
            )  # fmt: skip
        finally:
            engine.dispose()
        scope = ", ".join(made.municipalities) if made.municipalities is not None else "area-wide"
        stdout.print(f"user {made.username} ({made.role}, {scope}) created: sign in at /logga-in")

    @user_app.command("list")
    def user_list(
        db: DbOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="a JSON list instead of lines")] = False,
    ) -> None:
        """List users (username, role, scope, state, created, last sign-in, name; never passwords)."""
        engine = database(settings_for(db).database_url)
        try:
            found = users.list_users(engine)
        finally:
            engine.dispose()
        if as_json:
            typer.echo(json.dumps([_user_doc(u) for u in found], ensure_ascii=False, indent=2))
            return
        for u in found:
            scope = ",".join(u.municipalities) if u.municipalities is not None else "area-wide"
            state = "disabled" if u.disabled else "active"
            seen = f"signed in {u.last_sign_in_at:%Y-%m-%d %H:%M}Z" if u.last_sign_in_at else "never signed in"
            created = f"{u.created_at:%Y-%m-%d %H:%M}Z"
            typer.echo(f"{u.username}\t{u.role}\t{scope}\t{state}\t{created}\t{seen}\t{u.display_name or ''}")
        if not found:
            stderr.print("no users: create one with `tryggplan user create --username NAME --role coordinator "
                         "--password-stdin`")  # fmt: skip

    @user_app.command("disable")
    def user_disable(
        username: Annotated[str, typer.Option(help="the user to disable")],
        db: DbOption = None,
    ) -> None:
        """Disable a user: it can no longer sign in, and its sessions end now."""
        engine = database(settings_for(db).database_url)
        try:
            done, ended = users.disable_user(engine, username)
        finally:
            engine.dispose()
        stdout.print(f"user {done.username} disabled ({ended} session(s) ended)")

    @user_app.command("reset-password")
    def user_reset_password(
        username: Annotated[str, typer.Option(help="the user whose password to set")],
        password_stdin: PasswordStdin = False,
        db: DbOption = None,
    ) -> None:
        """Set a user's password (read from standard input); its sessions end now."""
        password = _password(password_stdin)
        engine = database(settings_for(db).database_url)
        try:
            done, ended = users.reset_password(engine, username, password)
        finally:
            engine.dispose()
        stdout.print(f"user {done.username} has a new password ({ended} session(s) ended)")


__all__ = ["register"]
