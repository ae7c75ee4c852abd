"""The application's own random keys (table ``app_secrets``, migration 0007).

A key is made on first use and kept in the database, so every process of a deployment (and every
restart) signs and checks with the same one. Whoever can read the database can read the key, and
could then forge what it signs; such a reader sees every incident row anyway.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tryggplan.storage.models import AppSecret, utcnow

_KEY_BYTES = 32


def app_secret(engine: Engine, name: str) -> bytes:
    """The key named ``name`` (32 random bytes), made and stored on first use. Two processes asking at
    once agree: the second insert fails on the primary key and reads the first one's key."""
    with Session(engine) as session:
        found = session.get(AppSecret, name)
        if found is not None:
            return bytes.fromhex(found.value)
    try:
        with Session(engine) as session, session.begin():
            session.add(AppSecret(name=name, value=secrets.token_hex(_KEY_BYTES), created_at=utcnow()))
    except IntegrityError:
        pass
    with Session(engine) as session:
        stored = session.get(AppSecret, name)
        if stored is None:  # pragma: no cover - the insert above either stored it or lost to another
            raise RuntimeError(f"the key {name!r} could not be stored")
        return bytes.fromhex(stored.value)
