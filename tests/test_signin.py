"""People who sign in (issue 20): users (argon2 hashes, disable, new password, scoped admins), the CLI
``tryggplan user ...``, sessions on every API route exactly as a token (scope, CSRF, cross-site refusal,
expiry, signing out), the limit on failed sign-ins, and the association's page ``/forening/{secret}``
(answers and report-backs through plain forms, without JavaScript)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.support import auth, set_clock
from tests.test_season_ledger import PLACES, incidents
from tryggplan.catalogs import format_day
from tryggplan.cli import build_app, modules_for
from tryggplan.cli.common import run_guarded
from tryggplan.domain import InvalidInputError, NotFoundError, PermissionDeniedError
from tryggplan.service.app import create_app
from tryggplan.service.settings import Settings
from tryggplan.storage.incidents import import_incidents
from tryggplan.storage.models import SignInFailure, UserSession, WalkReport
from tryggplan.storage.tokens import create_token
from tryggplan.storage.users import password_hash_of
from tryggplan.usecases import signin, users
from tryggplan.usecases.access import Principal
from tryggplan.usecases.users import PasswordPolicyError

PASSWORD = "tre ord i rad"
WRONG_PASSWORD = "Fel användarnamn eller lösenord. Kontrollera båda och försök igen."


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def csrf_meta(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found, html[:500]
    return found.group(1)


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]+)<', html)
    return found.group(1).strip() if found else ""


def sign_in(c: TestClient, username: str, password: str = PASSWORD) -> Any:
    """The sign-in form filled and sent as a browser does (its token from the page)."""
    page = c.get("/logga-in")
    return c.post(
        "/logga-in",
        data={"username": username, "password": password, "csrf": form_token(page.text)},
        follow_redirects=False,
    )


@pytest.fixture
def towns(tmp_path: Path) -> Iterator[TestClient]:
    """Two towns' places (Kungsör, Arboga) and their incidents; no users yet."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}"))
    import_incidents(app.state.engine, incidents(), PLACES)
    with TestClient(app) as c:
        yield c
    app.state.engine.dispose()


def engine_of(c: TestClient) -> sa.Engine:
    return c.app.state.engine  # type: ignore[attr-defined,no-any-return]


# --------------------------------------------------------------------------- use cases


def test_a_user_is_stored_with_an_argon2_hash_and_signs_in_in_any_case(towns: TestClient) -> None:
    engine = engine_of(towns)
    made = users.create_user(engine, username="Kim", role="coordinator", password=PASSWORD, display_name="Kim A")
    assert (made.username, made.role, made.municipalities, made.disabled, made.created_by) == (
        "Kim", "coordinator", None, False, "cli"
    )  # fmt: skip
    hashed = password_hash_of(engine, made.id)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert users.verify_password(hashed, PASSWORD) and not users.verify_password(hashed, PASSWORD + "x")
    with pytest.raises(InvalidInputError, match=r"username 'KIM' is taken \(usernames are the same in any case\)"):
        users.create_user(engine, username="KIM", role="reader", password=PASSWORD)
    done = signin.sign_in(engine, "kIm", PASSWORD, "10.0.0.1")
    assert done.user.id == made.id and len(done.session_id) >= 43
    found = signin.active_session(engine, done.session_id)
    assert found is not None
    assert found.principal == Principal(made.id, "coordinator", "Kim A", None, kind="user", username="Kim")
    assert found.principal.actor == f"user:{made.id}:Kim" and found.principal.token_id is None
    # only a hash of the session id is stored
    with engine.connect() as conn:
        stored = conn.execute(sa.select(UserSession.session_hash)).scalars().all()
    assert done.session_id not in stored and len(stored) == 1 and len(stored[0]) == 64


@pytest.mark.parametrize(
    ("password", "swedish", "english"),
    [
        ("kort", "Lösenordet har 4 tecken: använd minst 10, t.ex. tre eller fyra ord i rad.",
         "The password has 4 characters: use at least 10, e.g. three or four words in a row."),
        ("          ", "Lösenordet är tomt: välj ett på minst 10 tecken.",
         "The password is empty: choose one of at least 10 characters."),
        ("Kim.Andersson", "Lösenordet är samma som användarnamnet: välj ett annat lösenord.",
         "The password is the username: choose another password."),
        ("x" * 1025, "Lösenordet har 1025 tecken: använd högst 1024.",
         "The password has 1025 characters: use at most 1024."),
    ],
)  # fmt: skip
def test_the_password_policy_names_the_fix_in_swedish(password: str, swedish: str, english: str) -> None:
    with pytest.raises(PasswordPolicyError) as refused:
        users.check_password(password, "kim.andersson")
    assert str(refused.value) == swedish and refused.value.text("en") == english


@pytest.mark.parametrize(
    ("username", "error"),
    [
        ("k", "username 'k': use 2 to 64 letters, digits or . _ - @ (no spaces), e.g. kim.andersson"),
        ("kim andersson", "username 'kim andersson': use 2 to 64 letters"),
        ("kim\u200b", "username"),
    ],
)
def test_bad_usernames_are_refused(towns: TestClient, username: str, error: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(error)):
        users.create_user(engine_of(towns), username=username, role="reader", password=PASSWORD)


def test_disabling_and_a_new_password_end_the_sessions(towns: TestClient) -> None:
    engine = engine_of(towns)
    users.create_user(engine, username="anna", role="reporter", password=PASSWORD)
    first = signin.sign_in(engine, "anna", PASSWORD, "a")
    second = signin.sign_in(engine, "anna", PASSWORD, "b")
    done, ended = users.reset_password(engine, "Anna", "ett helt nytt lösenord")
    assert ended == 2 and done.username == "anna"
    assert signin.active_session(engine, first.session_id) is None
    assert signin.active_session(engine, second.session_id) is None
    with pytest.raises(signin.SignInRefusedError):
        signin.sign_in(engine, "anna", PASSWORD, "a")
    fresh = signin.sign_in(engine, "anna", "ett helt nytt lösenord", "a")
    _, ended = users.disable_user(engine, "anna")
    assert ended == 1 and signin.active_session(engine, fresh.session_id) is None
    with pytest.raises(signin.SignInRefusedError):
        signin.sign_in(engine, "anna", "ett helt nytt lösenord", "a")  # the right password, but disabled
    assert [(u.username, u.disabled) for u in users.list_users(engine)] == [("anna", True)]


def test_a_session_expires_after_its_lifetime_and_when_idle(towns: TestClient) -> None:
    engine = engine_of(towns)
    users.create_user(engine, username="kim", role="reader", password=PASSWORD)
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)  # after the password was set
    policy = signin.SessionPolicy(absolute=dt.timedelta(hours=3), idle=dt.timedelta(hours=1))
    done = signin.sign_in(engine, "kim", PASSWORD, "a", now=t0, policy=policy)
    assert done.expires_at == t0 + dt.timedelta(hours=3)
    at = lambda minutes: t0 + dt.timedelta(minutes=minutes)  # noqa: E731
    assert signin.active_session(engine, done.session_id, now=at(59), policy=policy) is not None  # seen at 59
    assert signin.active_session(engine, done.session_id, now=at(118), policy=policy) is not None  # 59 min idle
    assert signin.active_session(engine, done.session_id, now=at(177), policy=policy) is not None
    assert signin.active_session(engine, done.session_id, now=at(180), policy=policy) is None  # 3 h: over
    later = signin.sign_in(engine, "kim", PASSWORD, "a", now=at(200), policy=policy)
    assert signin.active_session(engine, later.session_id, now=at(260), policy=policy) is None  # 60 min idle
    assert signin.active_session(engine, "not-a-session", now=at(200), policy=policy) is None


def test_failed_sign_ins_are_limited_per_user_and_per_address_within_a_window(towns: TestClient) -> None:
    engine = engine_of(towns)
    users.create_user(engine, username="kim", role="reader", password=PASSWORD)
    limit = signin.RateLimit(window=dt.timedelta(minutes=15), per_user=3, per_address=5)
    t0 = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
    for minute in range(3):
        with pytest.raises(signin.SignInRefusedError):
            signin.sign_in(engine, "KIM", "fel", "10.0.0.1", now=t0 + dt.timedelta(minutes=minute), limit=limit)
    with pytest.raises(signin.TooManyAttemptsError) as limited:  # even with the right password
        signin.sign_in(engine, "kim", PASSWORD, "10.0.0.2", now=t0 + dt.timedelta(minutes=5), limit=limit)
    assert limited.value.retry_after == 600  # the first failure (at 0) leaves the window at 15
    # refused attempts are not counted: the window ends when the counted failures leave it
    at = t0 + dt.timedelta(minutes=15, seconds=1)
    assert signin.sign_in(engine, "kim", PASSWORD, "10.0.0.2", now=at, limit=limit).user.username == "kim"
    # per address: unknown usernames count there too (and say nothing more than a wrong password)
    for k in range(5):
        with pytest.raises(signin.SignInRefusedError):
            signin.sign_in(engine, f"nobody{k}", "fel", "10.0.0.9", now=at, limit=limit)
    with pytest.raises(signin.TooManyAttemptsError):
        signin.sign_in(engine, "kim", PASSWORD, "10.0.0.9", now=at, limit=limit)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SignInFailure)).scalar() == 5


def test_a_scoped_admin_manages_only_its_own_towns_users(towns: TestClient) -> None:
    engine = engine_of(towns)
    users.create_user(engine, username="arboga.k", role="coordinator", password=PASSWORD, municipalities=["Arboga"])
    users.create_user(engine, username="omrade", role="reader", password=PASSWORD)
    kungsor_admin = Principal(99, "admin", "Kungsör admin", ("Kungsör",))
    made = users.create_user(engine, username="kim", role="coordinator", password=PASSWORD, principal=kungsor_admin)
    assert made.municipalities == ("Kungsör",) and made.created_by == "token:99:Kungsör admin"
    with pytest.raises(PermissionDeniedError, match="this admin is for Kungsör: it may not create users for Arboga"):
        users.create_user(engine, username="x1", role="reader", password=PASSWORD, municipalities=["Arboga"],
                          principal=kungsor_admin)  # fmt: skip
    assert [u.username for u in users.list_users(engine, kungsor_admin)] == ["kim"]
    assert [u.username for u in users.list_users(engine)] == ["arboga.k", "kim", "omrade"]
    for other in ("arboga.k", "omrade", "no.such.user"):
        with pytest.raises(NotFoundError, match=f"no user '{other}': see the list of users"):
            users.disable_user(engine, other, kungsor_admin)
        with pytest.raises(NotFoundError):
            users.reset_password(engine, other, "ett nytt lösenord", kungsor_admin)
    assert not users.get_user(engine, "arboga.k").disabled
    assert users.disable_user(engine, "kim", kungsor_admin)[0].disabled
    with pytest.raises(PermissionDeniedError, match="role 'coordinator' may not manage users: needs admin"):
        users.list_users(engine, Principal(5, "coordinator", "k", None))


@pytest.mark.postgres
def test_users_sessions_and_failures_on_postgresql(pg_schema: dict[str, object]) -> None:
    from tests.support import PG_URL
    from tryggplan.storage.database import open_database

    engine = open_database(PG_URL, **pg_schema)  # type: ignore[arg-type]
    try:
        users.create_user(engine, username="Kim", role="coordinator", password=PASSWORD)
        with pytest.raises(InvalidInputError, match="username 'kim' is taken"):
            users.create_user(engine, username="kim", role="reader", password=PASSWORD)
        limit = signin.RateLimit(window=dt.timedelta(minutes=15), per_user=2, per_address=10)
        t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
        for k in range(2):
            with pytest.raises(signin.SignInRefusedError):
                signin.sign_in(engine, "KIM", "fel", "a", now=t0 + dt.timedelta(minutes=k), limit=limit)
        with pytest.raises(signin.TooManyAttemptsError) as limited:
            signin.sign_in(engine, "kim", PASSWORD, "a", now=t0 + dt.timedelta(minutes=2), limit=limit)
        assert limited.value.retry_after == 13 * 60
        done = signin.sign_in(engine, "kim", PASSWORD, "a", now=t0 + dt.timedelta(minutes=16), limit=limit)
        assert signin.active_session(engine, done.session_id, now=t0 + dt.timedelta(minutes=17)) is not None
        assert users.disable_user(engine, "KIM")[1] == 1
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the command line


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """``tryggplan ARGS`` in this process (as the console script runs it), ``stdin`` on standard input."""

    def run(*args: str, stdin: str = "") -> Ran:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = run_guarded(lambda: build_app(modules_for(args))(args=list(args), prog_name="tryggplan"))
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


def test_the_user_commands(tmp_path: Path, run_cli: Callable[..., Ran]) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    made = run_cli("user", "create", "--username", "Kim", "--role", "coordinator", "--name", "Kim Andersson",
                   "--password-stdin", "--db", db, stdin=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "user Kim (coordinator, area-wide) created: sign in at /logga-in"
    listed = run_cli("user", "list", "--json", "--db", db)
    assert listed.returncode == 0
    doc = json.loads(listed.stdout)
    assert [(u["username"], u["role"], u["municipalities"], u["disabled"], u["name"]) for u in doc] == [
        ("Kim", "coordinator", None, False, "Kim Andersson")
    ]
    new = run_cli("user", "reset-password", "--username", "kim", "--password-stdin", "--db", db,
                  stdin="ett annat långt lösenord\n")  # fmt: skip
    assert (new.returncode, new.stdout.strip()) == (0, "user Kim has a new password (0 session(s) ended)")
    off = run_cli("user", "disable", "--username", "KIM", "--db", db)
    assert (off.returncode, off.stdout.strip()) == (0, "user Kim disabled (0 session(s) ended)")
    plain = run_cli("user", "list", "--db", db)
    assert plain.stdout.split("\t")[:4] == ["Kim", "coordinator", "area-wide", "disabled"]


@pytest.mark.parametrize(
    ("args", "stdin", "error"),
    [
        (["create", "--username", "kim", "--role", "boss", "--password-stdin"], PASSWORD,
         "unknown role 'boss': choose one of reader, coordinator, analyst, admin, reporter"),
        (["create", "--username", "kim", "--role", "reader", "--password-stdin"], "kort\n",
         "Lösenordet har 4 tecken: använd minst 10, t.ex. tre eller fyra ord i rad."),
        (["create", "--username", "kim", "--role", "reader", "--password-stdin"], "",
         "no password on standard input: write it there, e.g. `echo \"$P\" | tryggplan user create ...`"),
        (["create", "--username", "kim", "--role", "reader"], PASSWORD,
         "give the password on standard input with --password-stdin, e.g. `read -s P; echo \"$P\" | tryggplan ...`"),
        (["create", "--username", "kim", "--role", "reader", "--municipality", "Köping", "--password-stdin"],
         PASSWORD, "unknown municipality 'Köping': the places name none yet: import places first"),
        (["disable", "--username", "nobody"], "", "no user 'nobody': see the list of users"),
        (["reset-password", "--username", "nobody", "--password-stdin"], PASSWORD,
         "no user 'nobody': see the list of users"),
    ],
)  # fmt: skip
def test_bad_user_commands_exit_non_zero_with_one_line(
    tmp_path: Path, run_cli: Callable[..., Ran], args: list[str], stdin: str, error: str
) -> None:
    done = run_cli("user", *args, "--db", f"sqlite:///{tmp_path / 'u.db'}", stdin=stdin)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"tryggplan: error: {error}"]


# --------------------------------------------------------------------------- the API with a session


def test_the_session_cookie_reads_like_a_token_and_keeps_to_its_town(towns: TestClient) -> None:
    c, engine = towns, engine_of(towns)
    users.create_user(engine, username="kim", role="reader", password=PASSWORD, municipalities=["Kungsör"])
    token = create_token(engine, "reader", "Kungsör skärm", ["Kungsör"])[0]
    r = sign_in(c, "kim")
    assert (r.status_code, r.headers["location"]) == (303, "/")
    cookie = r.headers["set-cookie"]
    assert "tryggplan_login=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; Secure over HTTPS
    mine = c.get("/api/v1/places", headers={"Accept": "application/json"})
    assert mine.status_code == 200
    assert mine.json() == c.get("/api/v1/places", headers=auth(token)).json()
    assert {p["municipality"] for p in mine.json()} == {"Kungsör"}
    as_user = c.get("/api/v1/places?municipality=Arboga")
    c.cookies.clear()
    as_token = c.get("/api/v1/places?municipality=Arboga", headers=auth(token))
    assert as_user.status_code == as_token.status_code == 403
    assert as_token.json()["detail"] == (
        "this token is for Kungsör: it may not read or change 'Arboga'; use a token for that municipality or an "
        "area-wide one"
    )
    assert as_user.json()["detail"] == as_token.json()["detail"].replace("this token", "this user", 1)
    assert c.get("/api/v1/places").status_code == 401  # the cookie gone: nobody


def test_changes_with_the_session_need_its_csrf_token_and_the_same_site(towns: TestClient) -> None:
    c, engine = towns, engine_of(towns)
    users.create_user(engine, username="ana", role="analyst", password=PASSWORD)
    assert sign_in(c, "ana").status_code == 303
    page = c.get("/")
    assert page.status_code == 200 and "Inloggad som" in page.text and 'id="token-form"' not in page.text
    csrf = csrf_meta(page.text)
    place = {"place_id": "ny-plats", "name": "Ny plats", "municipality": "Kungsör"}
    missing = c.post("/api/v1/places", json=place)
    assert missing.status_code == 403 and missing.json()["detail"] == (
        "missing or wrong CSRF token: send the page's token in the X-CSRF-Token header (reload the page if it was "
        "open before you signed in again)"
    )
    assert c.post("/api/v1/places", json=place, headers={"X-CSRF-Token": "x" + csrf}).status_code == 403
    cross = c.post("/api/v1/places", json=place, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.json()["detail"] == (
        "cross-site request refused: the request comes from another origin (https://evil.example), not from this site"
    )
    site = c.post("/api/v1/places", json=place, headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"})
    assert site.status_code == 403 and "Sec-Fetch-Site: cross-site" in site.json()["detail"]
    assert c.get("/api/v1/places/ny-plats").status_code == 404  # nothing stored by the refused ones
    ok = c.post(
        "/api/v1/places",
        json=place,
        headers={"X-CSRF-Token": csrf, "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert ok.status_code == 201, ok.text
    # a bearer token is unaffected: no CSRF token, any origin
    admin = create_token(engine, "admin", "skript")[0]
    c.cookies.clear()
    r = c.put("/api/v1/places/ny-plats", json={"name": "Nya platsen"}, headers={**auth(admin), "Origin": "https://x.y"})
    assert r.status_code == 200 and r.json()["name"] == "Nya platsen"


def test_signing_out_expiry_and_disabling_end_the_session(towns: TestClient) -> None:
    c, engine = towns, engine_of(towns)
    users.create_user(engine, username="kim", role="reader", password=PASSWORD)
    assert sign_in(c, "kim").status_code == 303
    csrf = csrf_meta(c.get("/").text)
    assert c.get("/api/v1/me").json() == {
        "kind": "user", "role": "reader", "name": "kim", "username": "kim", "municipalities": None,
    }  # fmt: skip
    shown = c.get("/logga-ut")  # a GET only shows the button
    assert shown.status_code == 200 and "Logga ut" in shown.text and c.get("/api/v1/me").status_code == 200
    assert c.post("/logga-ut", data={"csrf": "wrong"}, follow_redirects=False).status_code == 403
    assert c.get("/api/v1/me").status_code == 200
    out = c.post("/logga-ut", data={"csrf": csrf}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/logga-in?utloggad")
    assert 'tryggplan_login=""' in out.headers["set-cookie"]
    assert "Du är utloggad." in c.get("/logga-in?utloggad").text
    # the old cookie value, sent again, is dead
    old = re.search(r"tryggplan_login=([^;]+)", sign_in(c, "kim").headers["set-cookie"]).group(1)  # type: ignore[union-attr]
    assert c.get("/api/v1/me").status_code == 200
    with engine.begin() as conn:
        conn.execute(sa.update(UserSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert c.get("/api/v1/me").status_code == 401
    follow = c.get("/", follow_redirects=False)
    assert (follow.status_code, follow.headers["location"]) == (303, "/logga-in?next=%2F")
    assert sign_in(c, "kim").status_code == 303
    with engine.begin() as conn:
        conn.execute(
            sa.update(UserSession).values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2, minutes=1))
        )
    assert c.get("/api/v1/me").status_code == 401  # idle for the whole idle time
    assert sign_in(c, "kim").status_code == 303
    users.disable_user(engine, "kim")
    assert c.get("/api/v1/me").status_code == 401
    refused = sign_in(c, "kim")
    assert refused.status_code == 200 and alert(refused.text) == WRONG_PASSWORD
    c.cookies.clear()
    c.cookies.set("tryggplan_login", old)
    assert c.get("/api/v1/me").status_code == 401


def test_wrong_passwords_say_nothing_more_and_end_in_429_with_retry_after(towns: TestClient) -> None:
    c, engine = towns, engine_of(towns)
    users.create_user(engine, username="kim", role="coordinator", password=PASSWORD)
    unknown = sign_in(c, "nobody", "fel-losenord-1")
    wrong = sign_in(c, "kim", "fel-losenord-1")
    assert unknown.status_code == wrong.status_code == 200
    assert alert(unknown.text) == alert(wrong.text) == WRONG_PASSWORD
    assert 'value="kim"' in wrong.text  # the username stays in the field; the password does not
    codes = [sign_in(c, "kim", f"fel-losenord-{k}").status_code for k in range(2, 7)]
    assert codes == [200, 200, 200, 200, 429]
    limited = sign_in(c, "kim")  # the right password too, until the window has passed
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 900
    assert alert(limited.text) == "För många misslyckade inloggningar. Vänta 15 minuter och försök igen."
    assert "tryggplan_login" not in limited.headers.get("set-cookie", "")
    assert c.get("/api/v1/me").status_code == 401
    # another process (app) on the same database counts the same failures
    other = create_app(Settings(database_url=str(engine.url)))
    with TestClient(other) as c2:
        assert sign_in(c2, "kim").status_code == 429
    other.state.engine.dispose()


def test_the_sign_in_form_is_swedish_and_protected_against_login_csrf(towns: TestClient) -> None:
    c, engine = towns, engine_of(towns)
    users.create_user(engine, username="anna", role="reporter", password=PASSWORD, display_name="Anna")
    page = c.get("/logga-in")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert '<html lang="sv">' in page.text
    for label, field in (("Användarnamn", "username"), ("Lösenord", "password")):
        assert f'<label for="{field}">{label}</label>' in page.text
    assert '<button type="submit">Logga in</button>' in page.text
    english = c.get("/logga-in?lang=en")
    assert '<html lang="en">' in english.text and '<label for="username">Username</label>' in english.text
    # a form posted without the page's token, or from another site, signs nobody in
    bare = c.post("/logga-in", data={"username": "anna", "password": PASSWORD}, follow_redirects=False)
    assert bare.status_code == 403 and "tryggplan_login" not in bare.headers.get("set-cookie", "")
    assert alert(bare.text) == "Inloggningssidan var för gammal eller kom från en annan webbplats. Försök igen."
    token = form_token(c.get("/logga-in").text)
    cross = c.post(
        "/logga-in",
        data={"username": "anna", "password": PASSWORD, "csrf": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert cross.status_code == 403
    # what Chromium sends from the page itself (Referrer-Policy: no-referrer makes a form's Origin "null")
    token = form_token(c.get("/logga-in").text)
    same = c.post(
        "/logga-in",
        data={"username": "anna", "password": PASSWORD, "csrf": token},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert same.status_code == 303
    # a reporter lands on /rapportera, and / sends it there too
    r = sign_in(c, "anna")
    assert (r.status_code, r.headers["location"]) == (303, "/rapportera")
    assert c.get("/", follow_redirects=False).headers["location"] == "/rapportera"
    form = c.get("/rapportera")
    assert form.status_code == 200 and '<strong id="signed-in-name">Anna</strong>' in form.text


def test_pages_without_a_session_send_to_the_sign_in_form_unless_a_key_is_kept(towns: TestClient) -> None:
    c = towns
    for path in ("/", "/omrade", "/rapportera"):
        r = c.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/logga-in?next=%2F{path[1:]}")
    # a wall screen: a key in the address once, then the page's cookie says a key is kept
    keyed = c.get("/?token=tp_x", follow_redirects=False)
    assert keyed.status_code == 200 and 'id="token-form"' in keyed.text and 'name="csrf-token"' not in keyed.text
    assert c.get("/?nyckel", follow_redirects=False).status_code == 200
    c.cookies.set("tryggplan_key", "1")
    assert c.get("/omrade", follow_redirects=False).status_code == 200


def test_users_through_the_api_by_a_scoped_admin(towns: TestClient) -> None:
    c, engine = towns, engine_of(towns)
    users.create_user(engine, username="arboga.k", role="coordinator", password=PASSWORD, municipalities=["Arboga"])
    small = auth(create_token(engine, "admin", "Kungsör admin", ["Kungsör"])[0])
    made = c.post("/api/v1/users", json={"username": "kim", "role": "coordinator", "password": PASSWORD}, headers=small)
    assert made.status_code == 201 and made.json()["municipalities"] == ["Kungsör"] and "password" not in made.json()
    other = {"username": "x1", "role": "reader", "password": PASSWORD, "municipalities": ["Arboga"]}
    assert c.post("/api/v1/users", json=other, headers=small).status_code == 403
    short = c.post("/api/v1/users", json={**other, "municipalities": None, "password": "kort"}, headers=small)
    assert short.status_code == 422
    assert (
        short.json()["detail"] == "The password has 4 characters: use at least 10, e.g. three or four words in a row."
    )
    swedish = c.post("/api/v1/users?lang=sv", json={**other, "municipalities": None, "password": "kort"}, headers=small)
    assert swedish.json()["detail"] == "Lösenordet har 4 tecken: använd minst 10, t.ex. tre eller fyra ord i rad."
    assert [u["username"] for u in c.get("/api/v1/users", headers=small).json()] == ["kim"]
    assert c.post("/api/v1/users/arboga.k/disable", headers=small).status_code == 404
    assert (
        c.post("/api/v1/users/arboga.k/password", json={"password": "ett nytt lösenord"}, headers=small).status_code
        == 404
    )
    assert not users.get_user(engine, "arboga.k").disabled
    off = c.post("/api/v1/users/KIM/disable", headers=small)
    assert off.status_code == 200 and off.json()["disabled"] is True and off.json()["sessions_ended"] == 0
    reader = auth(create_token(engine, "reader", "r")[0])
    assert c.get("/api/v1/users", headers=reader).status_code == 403
    assert c.get("/api/v1/me", headers=reader).json()["kind"] == "token"


# --------------------------------------------------------------------------- the association's page


def _published(c: TestClient, h: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The demo plan published; (the first offered walk, its association's link secret)."""
    out = c.post("/api/v1/plans/1/publish", headers=h).json()
    offer = out["offered"][0]
    secret = c.post("/api/v1/season/links", json={"association": offer["association"]}, headers=h).json()["secret"]
    return offer, secret


def test_the_association_page_answers_and_reports_back_without_javascript(
    demo_client: TestClient, demo_tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    c, h = demo_client, auth(demo_tokens["coordinator"])
    offer, secret = _published(c, h)
    page = c.get(f"/forening/{secret}")
    assert page.status_code == 200 and '<html lang="sv">' in page.text
    night = dt.date.fromisoformat(offer["night"])
    day, start, end = format_day(night, "sv"), offer["start"][11:16], offer["end"][11:16]
    item = re.search(rf'<li class="walk" id="pass-{offer["id"]}">(.*?)</li>', page.text, re.S)
    assert item, page.text
    text = re.sub(r"<[^>]+>|\s+", " ", item.group(1))
    assert f"{day} {start}–{end}" in re.sub(r"\s+", " ", text) and f"Område: {offer['area']}" in text
    assert "Tacka ja" in text and "Tacka nej" in text
    assert f'href="webcal://testserver/api/v1/associations/{secret}/walks.ics"' in page.text
    assert f'href="/api/v1/associations/{secret}/walks.ics"' in page.text
    token = form_token(page.text)
    # a form without the page's token, or from another site, changes nothing
    bare = c.post(f"/forening/{secret}/svar/{offer['id']}", data={"answer": "accept"}, follow_redirects=False)
    assert bare.headers["location"] == f"/forening/{secret}?svar=expired#pass-{offer['id']}"
    crossed = c.post(f"/forening/{secret}/svar/{offer['id']}", data={"answer": "accept", "csrf": token},
                     headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)  # fmt: skip
    assert crossed.headers["location"].endswith("?svar=expired#pass-" + str(offer["id"]))
    assert c.get("/api/v1/season/offers", headers=h).json()[0]["status"] == "offered"
    # "Tacka ja", twice
    with caplog.at_level(logging.INFO, logger="tryggplan.service.access"):
        yes = c.post(f"/forening/{secret}/svar/{offer['id']}", data={"answer": "accept", "csrf": token})
    assert secret not in caplog.text and "/forening/***/svar/" in caplog.text
    assert yes.status_code == 200 and re.search(r'role="status"[^>]*>Tack! Ni har tackat ja till passet.', yes.text)
    status = {o["id"]: o["status"] for o in c.get("/api/v1/season/offers", headers=h).json()}
    assert status[offer["id"]] == "accepted"
    again = c.post(f"/forening/{secret}/svar/{offer['id']}", data={"answer": "accept", "csrf": token})
    assert alert(again.text) == "" and "Ni hade redan tackat ja till det här passet." in again.text
    # reporting before the walk ended: refused, in Swedish
    early = c.post(f"/forening/{secret}/aterrapport/{offer['id']}", data={"walkers": "3", "csrf": token})
    assert alert(early.text) == "Passet är inte slut än: skicka återrapporten efteråt."
    # after the walk: the form, then the ledger counts it at once
    set_clock(c, dt.datetime.fromisoformat(offer["end"]) + dt.timedelta(minutes=5))
    page = c.get(f"/forening/{secret}")
    assert f'<label for="walkers-{offer["id"]}">Antal vandrare</label>' in page.text
    assert f'<label for="observations-{offer["id"]}">Iakttagelser</label>' in page.text
    assert '<button type="submit">Skicka återrapport</button>' in page.text
    before = c.get("/api/v1/season", headers=h).json()["walks_done"]
    for bad in ("0", "51", "tre", ""):
        r = c.post(f"/forening/{secret}/aterrapport/{offer['id']}", data={"walkers": bad, "csrf": token})
        assert alert(r.text) == "Ange antal vandrare som ett heltal från 1 till 50.", bad
    sent = c.post(
        f"/forening/{secret}/aterrapport/{offer['id']}",
        data={"walkers": "3", "observations": "Lugn kväll.\r\nNågra ungdomar vid torget.", "csrf": token},
    )
    assert "Tack för återrapporten! Passet är registrerat som genomfört." in sent.text
    assert "Återrapporterat: 3 vandrare." in sent.text
    assert c.get("/api/v1/season", headers=h).json()["walks_done"] == before + 1
    walks = c.get("/api/v1/season/walks", headers=h).json()
    record = next(w for w in walks if (w["association"], w["night"]) == (offer["association"], offer["night"]))
    assert record["status"] == "completed" and record["actor"].startswith("link:") and record["plan_id"] == 1
    reports = c.get("/api/v1/season/reports", headers=h).json()
    assert [(r["association"], r["night"], r["walkers"], r["observations"], r["walk_record_id"], r["area"])
            for r in reports] == [(offer["association"], offer["night"], 3,
                                   "Lugn kväll.\nNågra ungdomar vid torget.", record["id"], offer["area"])]  # fmt: skip
    twice = c.post(f"/forening/{secret}/aterrapport/{offer['id']}", data={"walkers": "4", "csrf": token})
    assert alert(twice.text) == "Det här passet är redan återrapporterat."
    assert c.get("/api/v1/season", headers=h).json()["walks_done"] == before + 1
    with demo_client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(sa.select(sa.func.count()).select_from(WalkReport)).scalar() == 1
    # a reader of another role reads the report-backs too (every role but reporter reads the season)
    assert c.get("/api/v1/season/reports", headers=auth(demo_tokens["reporter"])).status_code == 403


def test_declining_on_the_page_replans_and_unknown_links_are_a_swedish_404(
    demo_client: TestClient, demo_tokens: dict[str, str]
) -> None:
    c, h = demo_client, auth(demo_tokens["coordinator"])
    offer, secret = _published(c, h)
    token = form_token(c.get(f"/forening/{secret}").text)
    no = c.post(f"/forening/{secret}/svar/{offer['id']}", data={"answer": "decline", "csrf": token})
    assert "Ni har tackat nej till passet. Samordnaren planerar om det." in no.text
    status = {o["id"]: o["status"] for o in c.get("/api/v1/season/offers", headers=h).json()}
    assert status[offer["id"]] == "declined"
    assert len(c.get("/api/v1/plans", headers=h).json()) >= 2  # the re-made plan
    late = c.post(f"/forening/{secret}/svar/{offer['id']}", data={"answer": "accept", "csrf": token})
    assert alert(late.text) == "Passet erbjuds inte längre till er: ladda om sidan."
    for path in ("/forening/ta_no-such-link-at-all", f"/forening/{secret}x"):
        gone = c.get(path)
        assert gone.status_code == 404 and '<html lang="sv">' in gone.text
        assert "<h1>Länken fungerar inte</h1>" in gone.text
    assert c.post("/forening/ta_no-such-link-at-all/svar/1", data={"answer": "accept"}).status_code == 404
    english = c.get(f"/forening/{secret}?lang=en")
    assert '<html lang="en">' in english.text and "Night walks of" in english.text
