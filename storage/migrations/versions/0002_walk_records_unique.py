"""One walk record per plan shift: a unique index on walk_records (plan_id, shift_index).

Two coordinators recording the same walk at the same moment both passed the route's "already
recorded?" check and both rows were stored (a double count). The index makes the second insert
fail, which the route answers with 422. Duplicates left by that race are removed first (the
earliest record of each shift is kept).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "delete from walk_records where id not in (select min(id) from walk_records group by plan_id, shift_index)"
    )
    with op.batch_alter_table("walk_records", schema=None) as batch_op:
        batch_op.create_index("uq_walk_records_plan_shift", ["plan_id", "shift_index"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("walk_records", schema=None) as batch_op:
        batch_op.drop_index("uq_walk_records_plan_shift")
