"""The season ledger: walk records by association and night, payouts, offers, association links;
resources and plans belong to a municipality; plans are drafts until published.

* ``resources.municipality``, ``plans.municipality`` (null = a single-town deployment),
  ``plans.state`` (``draft`` / ``published`` / ``superseded``) and ``plans.published_at``.
* ``walk_records`` is rebuilt: one record of one walk (``municipality``, ``association``,
  ``night``) instead of one row per plan shift. Records are never changed; a correction is a new
  row whose ``corrects`` names the record it corrects. Two indexes let the database refuse
  double records that race in: ``uq_walk_records_corrects`` (a record is corrected once) and the
  partial ``uq_walk_records_walk`` on (municipality, association, night) where ``corrects`` is
  null (one first record per walk). ``municipality`` is ``''`` rather than null for a
  single-town deployment so that those indexes hold there too (NULLs are distinct in a unique
  index on SQLite and PostgreSQL alike).
* Existing rows are carried over: association, night and area are read from the plan's shift the
  row names; when two rows name the same walk (the old model allowed one per plan shift, so the
  same walk recorded on a plan and on its re-made plan), the later ones become corrections of
  the earlier ones, so the latest stays the walk's current record and nothing is lost.
* ``season_ledgers`` (one row per ledger: its lock and version), ``payouts`` and
  ``payout_walks`` (a walk is paid once: primary key), ``walk_offers`` (one row per walk offered),
  ``association_links`` (revocable secrets; only their SHA-256 is stored).

Revision ID: 0004
Revises: 0005
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

_OLD_WALKS = sa.table(
    "walk_records",
    sa.column("id", sa.Integer()),
    sa.column("plan_id", sa.Integer()),
    sa.column("shift_index", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("note", sa.Text()),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
)
_PLANS = sa.table("plans", sa.column("id", sa.Integer()), sa.column("plan", sa.JSON()))


def _walk_records_table() -> None:
    op.create_table(
        "walk_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality", sa.String(length=400), server_default="", nullable=False),
        sa.Column("association", sa.String(length=400), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=1000), nullable=False),
        sa.Column("area", sa.String(length=400), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("shift_index", sa.Integer(), nullable=True),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.ForeignKeyConstraint(["corrects"], ["walk_records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_walk_records_plan_id", "walk_records", ["plan_id"], unique=False)
    op.create_index("uq_walk_records_corrects", "walk_records", ["corrects"], unique=True)
    op.create_index(
        "uq_walk_records_walk",
        "walk_records",
        ["municipality", "association", "night"],
        unique=True,
        sqlite_where=sa.text("corrects IS NULL"),
        postgresql_where=sa.text("corrects IS NULL"),
    )


def _carried_over(conn: Any) -> list[dict[str, Any]]:
    """The old rows as ledger records (see the module doc)."""
    old = conn.execute(sa.select(_OLD_WALKS).order_by(_OLD_WALKS.c.id)).mappings().all()
    ids = sorted({r["plan_id"] for r in old})
    docs: dict[int, Any] = {}
    for plan_id, doc in conn.execute(sa.select(_PLANS.c.id, _PLANS.c.plan).where(_PLANS.c.id.in_(ids))):
        docs[plan_id] = doc
    rows: list[dict[str, Any]] = []
    latest: dict[tuple[str, dt.date], int] = {}
    for r in old:
        shifts = (docs.get(r["plan_id"]) or {}).get("shifts") or []
        shift = shifts[r["shift_index"]] if 0 <= r["shift_index"] < len(shifts) else {}
        note = r["note"]
        try:
            night = dt.date.fromisoformat(str(shift.get("night") or str(shift["start"])[:10]))
            association = str(shift["association"])
        except (KeyError, ValueError):
            # the plan no longer names the walk: keep the record under its plan and shift
            association = f"(plan {r['plan_id']}, shift {r['shift_index']})"
            recorded = r["recorded_at"]
            night = recorded.date() if isinstance(recorded, dt.datetime) else dt.date(1970, 1, 1)
            note = ((note + "; ") if note else "") + "migrated: the plan's shift names no walk"
        key = (association, night)
        rows.append(
            {
                "id": r["id"],
                "municipality": "",
                "association": association,
                "night": night,
                "status": r["status"],
                "recorded_at": r["recorded_at"],
                "actor": r["actor"] or "unknown",
                "area": shift.get("area"),
                "plan_id": r["plan_id"],
                "shift_index": r["shift_index"],
                "corrects": latest.get(key),
                "note": note,
            }
        )
        latest[key] = r["id"]
    return rows


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("municipality", sa.String(length=400), nullable=True))
        batch_op.create_index("ix_resources_municipality", ["municipality"], unique=False)
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("municipality", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("state", sa.String(length=20), server_default="draft", nullable=False))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_plans_municipality", ["municipality"], unique=False)

    op.create_table(
        "season_ledgers",
        sa.Column("municipality", sa.String(length=400), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("municipality"),
    )

    rows = _carried_over(conn)
    op.drop_table("walk_records")  # its indexes go with it
    _walk_records_table()
    if rows:
        table = sa.table("walk_records", *(sa.column(k) for k in rows[0]))
        # one by one in id order: a correction's row must exist before the row naming it
        for row in rows:
            conn.execute(sa.insert(table).values(**row))
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "select setval(pg_get_serial_sequence('walk_records', 'id'), (select max(id) from walk_records))"
                )
            )

    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality", sa.String(length=400), server_default="", nullable=False),
        sa.Column("association", sa.String(length=400), nullable=False),
        sa.Column("amount_sek", sa.Float(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "payout_walks",
        sa.Column("municipality", sa.String(length=400), nullable=False),
        sa.Column("association", sa.String(length=400), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("payout_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["payout_id"], ["payouts.id"]),
        sa.PrimaryKeyConstraint("municipality", "association", "night"),
    )
    op.create_index("ix_payout_walks_payout_id", "payout_walks", ["payout_id"], unique=False)
    op.create_table(
        "walk_offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality", sa.String(length=400), server_default="", nullable=False),
        sa.Column("association", sa.String(length=400), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("area", sa.String(length=400), nullable=False),
        sa.Column("template", sa.String(length=400), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("shift_index", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=1000), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_walk_offers_plan_id", "walk_offers", ["plan_id"], unique=False)
    op.create_index("uq_walk_offers_walk", "walk_offers", ["municipality", "association", "night"], unique=True)
    op.create_table(
        "association_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality", sa.String(length=400), server_default="", nullable=False),
        sa.Column("association", sa.String(length=400), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=1000), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )


def downgrade() -> None:
    """Back to one record per plan shift: the first record of each (plan, shift) is kept; records
    entered by association and night (no plan shift), payouts, offers and links are dropped."""
    conn = op.get_bind()
    op.drop_table("association_links")
    op.drop_index("uq_walk_offers_walk", table_name="walk_offers")
    op.drop_index("ix_walk_offers_plan_id", table_name="walk_offers")
    op.drop_table("walk_offers")
    op.drop_index("ix_payout_walks_payout_id", table_name="payout_walks")
    op.drop_table("payout_walks")
    op.drop_table("payouts")
    new = sa.table(
        "walk_records",
        *(sa.column(c) for c in ("id", "plan_id", "shift_index", "status", "note", "recorded_at", "actor")),
    )
    kept: dict[tuple[int, int], dict[str, Any]] = {}
    for r in conn.execute(sa.select(new).where(new.c.plan_id.is_not(None)).order_by(new.c.id)).mappings():
        kept.setdefault((r["plan_id"], r["shift_index"]), dict(r))
    op.drop_table("walk_records")
    op.create_table(
        "walk_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("shift_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_walk_records_plan_id", "walk_records", ["plan_id"], unique=False)
    op.create_index("uq_walk_records_plan_shift", "walk_records", ["plan_id", "shift_index"], unique=True)
    for row in kept.values():
        conn.execute(sa.insert(_OLD_WALKS).values(**row))
    if kept and conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("select setval(pg_get_serial_sequence('walk_records', 'id'), (select max(id) from walk_records))")
        )
    op.drop_table("season_ledgers")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_index("ix_plans_municipality")
        batch_op.drop_column("published_at")
        batch_op.drop_column("state")
        batch_op.drop_column("municipality")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index("ix_resources_municipality")
        batch_op.drop_column("municipality")
