"""Users: people who sign in with a username and password (``tryggplan user ...``, ``/api/v1/users``).

A user carries a role and municipalities exactly as a token does (:mod:`tryggplan.usecases.access`):
signed in, it is the same :class:`~tryggplan.usecases.access.Principal`. Passwords are hashed with
argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher`, its RFC 9106 defaults); only the hash is
stored. Disabling a user or giving it a new password ends its sessions at once.

Who may manage users: the command line (an operator with the database), and admins through the API.
An admin scoped to municipalities (a token or a user) sees and manages only users whose municipalities
lie within its own; a user of another town is, to it, a user that does not exist (404), so no answer
tells it who works elsewhere. It creates users only for its own municipalities (403 for another).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine

from tryggplan.catalogs import translate
from tryggplan.domain import InvalidInputError, NotFoundError, PermissionDeniedError, Problem
from tryggplan.i18n import Lang
from tryggplan.storage import places as stored_places
from tryggplan.storage import users as stored
from tryggplan.storage.models import utcnow
from tryggplan.storage.users import NewUser, UserRecord
from tryggplan.text import normalize_text
from tryggplan.usecases.access import ADMIN, Principal, check_role
from tryggplan.usecases.access import manages as admin_manages

#: a password at least this long [characters]: long passphrases beat complicated short ones (NIST SP 800-63B)
MIN_PASSWORD_CHARS = 10
#: and at most this long: argon2 hashes any length, a limit keeps a request from costing much
MAX_PASSWORD_CHARS = 1024
#: usernames: letters (any alphabet), digits and . _ - @ (an e-mail address works), 2 to 64 characters
USERNAME = re.compile(r"^[\w.@-]{2,64}$")
#: who created a user from the command line (stored with it)
CLI_ACTOR = "cli"


@functools.cache
def hasher() -> PasswordHasher:
    """The password hasher (argon2id, argon2-cffi's defaults: RFC 9106's low-memory profile)."""
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # an unknown username is checked against this, so it costs as much time as a known one
    return hasher().hash("not a password of anybody")


class PasswordPolicyError(InvalidInputError):
    """A password the policy refuses; the message says the fix, in Swedish (``text(lang)`` for English)."""

    def __init__(self, message_id: str, **values: object) -> None:
        self.message_id = message_id
        self.values = values
        text = translate("sv", message_id, **values)
        super().__init__(text, [Problem("", None, "password", text, "", kind="password_policy")])

    def text(self, lang: Lang) -> str:
        return translate(lang, self.message_id, **self.values)


def check_password(password: str, username: str | None = None) -> str:
    """``password`` when the policy allows it, else :class:`PasswordPolicyError` (Swedish, names the fix).
    The password is kept as typed (no trimming): what the user types is what is checked."""
    length = len(unicodedata.normalize("NFC", password))
    if not password.strip():
        raise PasswordPolicyError("The password is empty: choose one of at least %(min)d characters.",
                                  min=MIN_PASSWORD_CHARS)  # fmt: skip
    if length < MIN_PASSWORD_CHARS:
        raise PasswordPolicyError(
            "The password has %(length)d characters: use at least %(min)d, e.g. three or four words in a row.",
            length=length,
            min=MIN_PASSWORD_CHARS,
        )
    if length > MAX_PASSWORD_CHARS:
        raise PasswordPolicyError(
            "The password has %(length)d characters: use at most %(max)d.", length=length, max=MAX_PASSWORD_CHARS
        )
    if "\x00" in password:
        raise PasswordPolicyError("The password holds a NUL character: remove it.")
    if username is not None and password.casefold() == username.casefold():
        raise PasswordPolicyError("The password is the username: choose another password.")
    return password


def _nfc(password: str) -> str:
    # the same password typed on another keyboard (å as one character or a + ring) is the same password
    return unicodedata.normalize("NFC", password)


def hash_password(password: str) -> str:
    return hasher().hash(_nfc(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (constant work either way)."""
    try:
        return hasher().verify(password_hash, _nfc(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_username(username: str) -> str:
    name = normalize_text(username, "username")
    if not USERNAME.fullmatch(name):
        raise InvalidInputError(
            f"username {name[:80]!r}: use 2 to 64 letters, digits or . _ - @ (no spaces), e.g. kim.andersson"
        )
    return name


def _municipalities(engine: Engine, municipalities: Sequence[str] | None) -> list[str] | None:
    """The municipalities named, checked against the stored places' (as for tokens)."""
    if municipalities is None:
        return None
    names = [normalize_text(m, "municipality") for m in municipalities]
    if not names or not all(names):
        raise InvalidInputError("--municipality is empty: name a municipality, e.g. --municipality Kungsör")
    known = set(stored_places.municipalities(engine))
    unknown = sorted(set(names) - known)
    if unknown:
        listed = ", ".join(sorted(known)) if known else "none yet: import places first"
        raise InvalidInputError(f"unknown municipality {', '.join(map(repr, unknown))}: the places name {listed}")
    return sorted(set(names))


# --------------------------------------------------------------------------- who may manage whom


def _require_admin(principal: Principal | None) -> None:
    if principal is not None and principal.role not in ADMIN:
        raise PermissionDeniedError(f"role {principal.role!r} may not manage users: needs admin")


def manages(principal: Principal | None, user: UserRecord) -> bool:
    """Whether ``principal`` (``None``: the command line) may see and manage ``user``: an area-wide admin
    every user; a scoped admin the users whose municipalities lie within its own."""
    # the one rule for tokens and users alike (tryggplan.usecases.access.manages)
    return principal is None or admin_manages(principal.scope, user.municipalities)


def _managed(engine: Engine, principal: Principal | None, username: str) -> UserRecord:
    _require_admin(principal)
    found = stored.find_user(engine, username)
    if found is None or not manages(principal, found):
        raise NotFoundError(f"no user {username[:100]!r}: see the list of users")
    return found


# --------------------------------------------------------------------------- the use cases


def create_user(
    engine: Engine,
    *,
    username: str,
    role: str,
    password: str,
    municipalities: Sequence[str] | None = None,
    display_name: str | None = None,
    principal: Principal | None = None,
    now: dt.datetime | None = None,
) -> UserRecord:
    """A new user. ``principal`` (an admin through the API; ``None`` from the command line) may create
    users only within its municipalities: a scoped admin's user gets its municipalities unless some are
    named, and naming another is refused (403)."""
    _require_admin(principal)
    name = check_username(username)
    check_role(role)
    check_password(password, name)
    wanted = list(municipalities) if municipalities is not None else None
    if principal is not None and principal.municipalities is not None:
        wanted = wanted if wanted is not None else list(principal.municipalities)
        outside = sorted(set(wanted) - set(principal.municipalities))
        if outside:
            raise PermissionDeniedError(
                f"this admin is for {', '.join(principal.municipalities)}: it may not create users for "
                f"{', '.join(m[:80] for m in outside)}"
            )
    towns = _municipalities(engine, wanted)
    shown = normalize_text(display_name, "name") or None if display_name is not None else None
    if shown is not None and len(shown) > 200:
        raise InvalidInputError("name is longer than 200 characters: shorten it")
    return stored.add_user(
        engine,
        NewUser(
            username=name,
            display_name=shown,
            role=role,
            municipalities=towns,
            password_hash=hash_password(password),
            created_by=principal.actor if principal is not None else CLI_ACTOR,
            at=now or utcnow(),
        ),
    )


def list_users(engine: Engine, principal: Principal | None = None, include_disabled: bool = True) -> list[UserRecord]:
    """The users ``principal`` may manage (every one from the command line), by username."""
    _require_admin(principal)
    return [u for u in stored.list_users(engine, include_disabled) if manages(principal, u)]


def get_user(engine: Engine, username: str, principal: Principal | None = None) -> UserRecord:
    return _managed(engine, principal, username)


def disable_user(
    engine: Engine, username: str, principal: Principal | None = None, now: dt.datetime | None = None
) -> tuple[UserRecord, int]:
    """Disable a user: it can no longer sign in and its sessions end now; (the user, sessions ended)."""
    found = _managed(engine, principal, username)
    return stored.disable_user(engine, found.id, now or utcnow())


def reset_password(
    engine: Engine,
    username: str,
    password: str,
    principal: Principal | None = None,
    now: dt.datetime | None = None,
) -> tuple[UserRecord, int]:
    """Give a user a new password (the policy of :func:`check_password`); its sessions end now."""
    found = _managed(engine, principal, username)
    check_password(password, found.username)
    return stored.set_password(engine, found.id, hash_password(password), now or utcnow())


def user_principal(user: UserRecord) -> Principal:
    """The caller a signed-in user is: its role and municipalities, exactly as a token's."""
    return Principal(
        id=user.id,
        role=check_role(user.role),
        name=user.display_name or user.username,
        municipalities=user.municipalities,
        kind="user",
        username=user.username,
    )


def dummy_verify(password: str) -> None:
    """Spend the time of a password check for a username that does not exist (no timing tells)."""
    verify_password(_dummy_hash(), password)


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
