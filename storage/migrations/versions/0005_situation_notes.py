"""Meeting notes of the situation picture (decisions): ``situation_notes``.

One row per decision noted at a situation-picture meeting: when it was taken (``at``, UTC), its
text, the places it concerns (a JSON list of place ids; empty = the whole area), who noted it and
when it was stored. Notes are never changed; the next report lists them with what happened at
their places since.

Revision ID: 0005
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "situation_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("place_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("situation_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_situation_notes_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("situation_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_situation_notes_at"))
    op.drop_table("situation_notes")
