"""People who sign in, and associations' report-backs (issue 20).

* ``users`` — username (``username_key``: casefolded, unique), display name, role, municipalities (as a
  token's), argon2 password hash, disabled flag, timestamps;
* ``user_sessions`` — server-side sessions: a SHA-256 of the session id, the user, a CSRF secret,
  created, absolute expiry, last seen, ended;
* ``signin_failures`` — failed sign-ins by username and client address (the rate limit);
* ``walk_reports`` — an association's report-back (walkers, observations) on the ``completed`` walk
  record it made.

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("username_key", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(400), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("municipalities", sa.JSON(), nullable=True),
        sa.Column("password_hash", sa.String(400), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(1000), nullable=False),
        sa.UniqueConstraint("username_key"),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("csrf_secret", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("session_hash"),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username_key", sa.String(100), nullable=False),
        sa.Column("address", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_signin_failures_user_at", "signin_failures", ["username_key", "at"])
    op.create_index("ix_signin_failures_address_at", "signin_failures", ["address", "at"])
    op.create_table(
        "walk_reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("walk_record_id", sa.Integer(), sa.ForeignKey("walk_records.id"), nullable=False),
        sa.Column("municipality", sa.String(400), nullable=False, server_default=""),
        sa.Column("association", sa.String(400), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("offer_id", sa.Integer(), sa.ForeignKey("walk_offers.id"), nullable=True),
        sa.Column("walkers", sa.Integer(), nullable=False),
        sa.Column("observations", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(1000), nullable=False),
        sa.UniqueConstraint("walk_record_id"),
    )
    op.create_index("ix_walk_reports_municipality", "walk_reports", ["municipality"])


def downgrade() -> None:
    op.drop_index("ix_walk_reports_municipality", table_name="walk_reports")
    op.drop_table("walk_reports")
    op.drop_index("ix_signin_failures_address_at", table_name="signin_failures")
    op.drop_index("ix_signin_failures_user_at", table_name="signin_failures")
    op.drop_table("signin_failures")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_table("users")
