"""Towns stay apart (issue 22): every stored row that belongs to a town carries its municipality.

Places, forecast runs, resources specs, plans and the season ledger's tables had a ``municipality``
already, incidents and risk cells belong to a town through their place. Three tables had none:

* ``imports.municipality`` — the one municipality every place the import stored or touched belongs to
  (``null``: several, none, or a database of one town without municipalities). A scoped caller lists
  only its municipalities' imports (``GET /imports`` showed other towns' files and reporter names).
* ``situation_notes.municipality`` — the municipality of the places a meeting decision names (``null``:
  the whole area, or places of several towns: area-wide callers only).
* ``jobs.municipality`` — the municipality a forecast run, backtest, plan solve or area run is for
  (``null``: area-wide), so a scoped admin sees its towns' jobs and no others.

Existing rows are filled in from what they refer to: an import from its incidents' places, a note from
its place ids, a job from its parameters (``municipality``, or an area run's one ``municipalities``).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels = None
depends_on = None

_TABLES = ("imports", "situation_notes", "jobs")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("municipality", sa.String(length=400), nullable=True))
            batch_op.create_index(f"ix_{table}_municipality", ["municipality"], unique=False)
    bind = op.get_bind()
    _fill_imports(bind)
    _fill_notes(bind)
    _fill_jobs(bind)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _one(towns: set[str | None]) -> str | None:
    """The municipality when every row names the same one, else ``None``."""
    return next(iter(towns)) if len(towns) == 1 else None


def _fill_imports(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "select distinct i.import_id, p.municipality from incidents i join places p on p.place_id = i.place_id "
            "where i.import_id is not null"
        )
    ).all()
    towns: dict[int, set[str | None]] = {}
    for import_id, municipality in rows:
        towns.setdefault(int(import_id), set()).add(municipality or None)
    _update(bind, "imports", "id", {k: _one(v) for k, v in towns.items()})


def _fill_notes(bind: sa.Connection) -> None:
    notes = bind.execute(sa.text("select id, place_ids from situation_notes")).all()
    if not notes:
        return
    town_of: dict[str, str | None] = {
        str(p): m for p, m in bind.execute(sa.text("select place_id, municipality from places")).all()
    }
    found: dict[int, str | None] = {}
    for note_id, place_ids in notes:
        ids = [str(p) for p in _json(place_ids) or ()]
        found[int(note_id)] = _one({town_of.get(p) or None for p in ids}) if ids else None
    _update(bind, "situation_notes", "id", found)


def _fill_jobs(bind: sa.Connection) -> None:
    found: dict[int, str | None] = {}
    for job_id, params in bind.execute(sa.text("select id, params from jobs")).all():
        values = _json(params) or {}
        town = values.get("municipality")
        if town is None and isinstance(values.get("municipalities"), list) and len(values["municipalities"]) == 1:
            town = values["municipalities"][0]
        found[int(job_id)] = str(town) if town else None
    _update(bind, "jobs", "id", found)


def _update(bind: sa.Connection, table: str, key: str, values: dict[int, str | None]) -> None:
    changes = [{"k": k, "m": m} for k, m in values.items() if m is not None]
    if changes:
        bind.execute(sa.text(f"update {table} set municipality = :m where {key} = :k"), changes)


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_municipality")
            batch_op.drop_column("municipality")
