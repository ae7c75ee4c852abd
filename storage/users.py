"""People who sign in: users, their server-side sessions and failed sign-ins (migration 0009).

What is stored and why:

* a user's password only as the hash the use case gives (argon2, :mod:`tryggplan.usecases.users`);
* a session only as the SHA-256 of its id: the id is 32 random bytes, so a plain hash is enough (as for
  tokens), and a copy of the database does not sign anybody in;
* failed sign-ins (username casefolded, client address, when), so every HTTP process counts the same
  attempts; rows older than the window are deleted as new ones are written.

Who may do what is the use cases' business (:mod:`tryggplan.usecases.users`, ``.signin``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tryggplan.domain import InvalidInputError, NotFoundError
from tryggplan.storage.models import SignInFailure, User, UserSession, rows_changed


@dataclass(frozen=True)
class UserRecord:
    """A stored user (never its password hash: see :func:`password_hash_of`)."""

    id: int
    username: str
    display_name: str | None
    role: str
    #: ``None`` = area-wide, as for tokens
    municipalities: tuple[str, ...] | None
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    password_changed_at: dt.datetime
    disabled_at: dt.datetime | None
    last_sign_in_at: dt.datetime | None
    created_by: str


@dataclass(frozen=True)
class SessionRecord:
    """A stored session with its user, as a request checks it."""

    id: int
    user: UserRecord
    csrf_secret: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_seen_at: dt.datetime
    ended_at: dt.datetime | None


def username_key(username: str) -> str:
    """The form usernames are compared in: casefolded (``Kim`` and ``KIM`` are one user)."""
    return username.casefold()


def hash_session(session_id: str) -> str:
    """Hex SHA-256 of a session id."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.UTC)


def _user(row: User) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        municipalities=tuple(row.municipalities) if row.municipalities is not None else None,
        disabled=row.disabled,
        created_at=row.created_at.astimezone(dt.UTC),
        updated_at=row.updated_at.astimezone(dt.UTC),
        password_changed_at=row.password_changed_at.astimezone(dt.UTC),
        disabled_at=_utc(row.disabled_at),
        last_sign_in_at=_utc(row.last_sign_in_at),
        created_by=row.created_by,
    )


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str | None
    role: str
    municipalities: list[str] | None
    password_hash: str
    created_by: str
    at: dt.datetime


def add_user(engine: Engine, new: NewUser) -> UserRecord:
    """Store a new user; :class:`InvalidInputError` when the username (in any case) is taken."""
    with Session(engine) as session:
        row = User(
            username=new.username,
            username_key=username_key(new.username),
            display_name=new.display_name,
            role=new.role,
            municipalities=sorted(set(new.municipalities)) if new.municipalities is not None else None,
            password_hash=new.password_hash,
            disabled=False,
            created_at=new.at,
            updated_at=new.at,
            password_changed_at=new.at,
            created_by=new.created_by,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise InvalidInputError(
                f"username {new.username!r} is taken (usernames are the same in any case): choose another"
            ) from None
        return _user(row)


def find_user(engine: Engine, username: str) -> UserRecord | None:
    """The user with this username (any case), disabled ones too, else ``None``."""
    with Session(engine) as session:
        row = session.scalars(select(User).where(User.username_key == username_key(username))).first()
        return None if row is None else _user(row)


def get_user(engine: Engine, username: str) -> UserRecord:
    found = find_user(engine, username)
    if found is None:
        raise NotFoundError(f"no user {username[:100]!r}: see `tryggplan user list`")
    return found


def password_hash_of(engine: Engine, user_id: int) -> str:
    with Session(engine) as session:
        row = session.get(User, user_id)
        if row is None:
            raise NotFoundError(f"no user with id {user_id}")
        return row.password_hash


def list_users(engine: Engine, include_disabled: bool = True) -> list[UserRecord]:
    with Session(engine) as session:
        stmt = select(User).order_by(User.username_key)
        if not include_disabled:
            stmt = stmt.where(User.disabled.is_(False))
        return [_user(r) for r in session.scalars(stmt)]


def _end_sessions(session: Session, user_id: int, at: dt.datetime) -> int:
    return rows_changed(
        session.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
            .values(ended_at=at)
        )
    )


def disable_user(engine: Engine, user_id: int, at: dt.datetime) -> tuple[UserRecord, int]:
    """Disable a user and end its sessions; (the user, sessions ended)."""
    with Session(engine) as session, session.begin():
        row = session.get(User, user_id)
        if row is None:
            raise NotFoundError(f"no user with id {user_id}")
        if not row.disabled:
            row.disabled, row.disabled_at, row.updated_at = True, at, at
        ended = _end_sessions(session, user_id, at)
        session.flush()
        return _user(row), ended


def set_password(engine: Engine, user_id: int, password_hash: str, at: dt.datetime) -> tuple[UserRecord, int]:
    """Store a new password hash and end the user's sessions; (the user, sessions ended)."""
    with Session(engine) as session, session.begin():
        row = session.get(User, user_id)
        if row is None:
            raise NotFoundError(f"no user with id {user_id}")
        row.password_hash, row.password_changed_at, row.updated_at = password_hash, at, at
        ended = _end_sessions(session, user_id, at)
        session.flush()
        return _user(row), ended


def rehash_password(engine: Engine, user_id: int, old_hash: str, new_hash: str) -> None:
    """Replace a hash made with older argon2 parameters (only if it is still the one checked)."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(User).where(User.id == user_id, User.password_hash == old_hash).values(password_hash=new_hash)
        )


# --------------------------------------------------------------------------- sessions


def add_session(
    engine: Engine, user_id: int, session_id: str, csrf_secret: str, at: dt.datetime, expires_at: dt.datetime
) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            UserSession(
                session_hash=hash_session(session_id),
                user_id=user_id,
                csrf_secret=csrf_secret,
                created_at=at,
                expires_at=expires_at,
                last_seen_at=at,
            )
        )
        session.execute(update(User).where(User.id == user_id).values(last_sign_in_at=at))


def find_session(engine: Engine, session_id: str) -> SessionRecord | None:
    """The stored session with this id and its user (ended or expired ones too), else ``None``."""
    digest = hash_session(session_id)
    with Session(engine) as session:
        found = session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.session_hash == digest)
        ).first()
        if found is None:
            return None
        s, u = found
        if not hmac.compare_digest(s.session_hash, digest):
            return None
        return SessionRecord(
            id=s.id,
            user=_user(u),
            csrf_secret=s.csrf_secret,
            created_at=s.created_at.astimezone(dt.UTC),
            expires_at=s.expires_at.astimezone(dt.UTC),
            last_seen_at=s.last_seen_at.astimezone(dt.UTC),
            ended_at=_utc(s.ended_at),
        )


def touch_session(engine: Engine, session_row_id: int, at: dt.datetime) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(UserSession)
            .where(UserSession.id == session_row_id, UserSession.ended_at.is_(None))
            .values(last_seen_at=at)
        )


def end_session(engine: Engine, session_id: str, at: dt.datetime) -> bool:
    """End the session with this id; whether one was ended."""
    with Session(engine) as session, session.begin():
        changed = session.execute(
            update(UserSession)
            .where(UserSession.session_hash == hash_session(session_id), UserSession.ended_at.is_(None))
            .values(ended_at=at)
        )
        return rows_changed(changed) > 0


def purge_sessions(engine: Engine, before: dt.datetime) -> int:
    """Delete sessions that ended or expired before ``before`` (they can never sign anybody in again)."""
    with Session(engine) as session, session.begin():
        return rows_changed(
            session.execute(
                delete(UserSession).where((UserSession.expires_at < before) | (UserSession.ended_at < before))
            )
        )


# --------------------------------------------------------------------------- failed sign-ins


def add_failure(engine: Engine, username: str, address: str, at: dt.datetime, window: dt.timedelta) -> None:
    """Count a failed sign-in; forget the ones older than ``window`` (they no longer count)."""
    with Session(engine) as session, session.begin():
        session.execute(delete(SignInFailure).where(SignInFailure.at < at - window))
        session.add(SignInFailure(username_key=username_key(username)[:100], address=address[:100], at=at))


@dataclass(frozen=True)
class Failures:
    """Failed sign-ins since a moment: how many, and the oldest (when the first one stops counting)."""

    count: int
    oldest: dt.datetime | None


def failures_since(
    engine: Engine, since: dt.datetime, *, username: str | None = None, address: str | None = None
) -> Failures:
    """Failed sign-ins after ``since`` for ``username`` (any case) or from ``address``."""
    stmt = select(func.count(), func.min(SignInFailure.at)).where(SignInFailure.at > since)
    if username is not None:
        stmt = stmt.where(SignInFailure.username_key == username_key(username)[:100])
    if address is not None:
        stmt = stmt.where(SignInFailure.address == address[:100])
    with Session(engine) as session:
        count, oldest = session.execute(stmt).one()
    if isinstance(oldest, str):  # func.min bypasses the column type: SQLite answers text
        oldest = dt.datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return Failures(int(count), _utc(oldest))


def clear_failures(engine: Engine, username: str) -> None:
    """Forget a user's failed sign-ins (after a successful one)."""
    with Session(engine) as session, session.begin():
        session.execute(delete(SignInFailure).where(SignInFailure.username_key == username_key(username)[:100]))
