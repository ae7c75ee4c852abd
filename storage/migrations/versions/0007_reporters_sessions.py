"""Reporters and download sessions: who created each incident, when, and the reporter's short text;
a table of the application's own secrets (the key that signs download-session cookies).

* ``incidents.created_by`` — the actor that stored the incident (``token:ID:NAME`` for the API,
  ``cli`` for the command line); a reporter reads only the incidents whose ``created_by`` is its own.
  Rows stored before this migration have none.
* ``incidents.created_at`` — when it was stored [UTC].
* ``incidents.note`` — the reporter's short text (at most 500 characters), never shown to readers.
* ``app_secrets`` — random keys the service makes on first use (``name`` -> hex ``value``).

Revision ID: 0007
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.create_index("ix_incidents_created_by", ["created_by"], unique=False)
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("app_secrets")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_created_by")
        batch_op.drop_column("note")
        batch_op.drop_column("created_at")
        batch_op.drop_column("created_by")
