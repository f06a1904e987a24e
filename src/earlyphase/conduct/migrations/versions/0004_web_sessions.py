"""server-side web sessions and sign-in attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 22:30:00

``web_session`` holds the SHA-256 of each browser session's random identifier with its idle
and absolute expiry and its revocation; ``login_attempt`` the recent sign-in attempts by
username and client address, for rate limiting and lockout (NIST SP 800-63B 5.2.2). Neither
is part of the trial record: they are not bound to the audit trail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(120), nullable=True),
        sa.Column("address", sa.String(64), nullable=False),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"])
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
    )
    op.create_index("ix_login_attempt_at", "login_attempt", ["at"])
    op.create_index("ix_login_attempt_username", "login_attempt", ["username"])
    op.create_index("ix_login_attempt_address", "login_attempt", ["address"])


def downgrade() -> None:
    op.drop_table("login_attempt")
    op.drop_table("web_session")
