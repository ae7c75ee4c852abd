"""Municipalities as data (police area, category groups) and forecast runs restricted to a category
group and weighted by the incidents' weight.

Revision ID: 0008
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "municipalities",
        sa.Column("name", sa.String(400), primary_key=True),
        sa.Column("police_area", sa.String(400), nullable=True),
        sa.Column("category_groups", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_municipalities_police_area", "municipalities", ["police_area"])
    # plain ADD COLUMN (SQLite has it): a batch operation would copy and drop forecast_runs, which the
    # foreign key from plans forbids on a database that holds plans
    op.add_column("forecast_runs", sa.Column("category_group", sa.String(100), nullable=True))
    op.add_column("forecast_runs", sa.Column("weighted", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("forecast_runs", "weighted")
    op.drop_column("forecast_runs", "category_group")
    op.drop_index("ix_municipalities_police_area", table_name="municipalities")
    op.drop_table("municipalities")
