"""audit entries bound to their rows' content; authenticated checkpoints; TRUNCATE refused

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-15 09:00:00

``audit_entry.row_state`` holds the full content of the row an entry describes (21 CFR
11.10(e): the trail proves the record, not only itself). Entries already written keep no
state and verify in their original hash format; their rows are reported as recorded before
row binding. Row-level triggers do not fire on TRUNCATE, so PostgreSQL gets a statement
trigger that refuses it; SQLite has no TRUNCATE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (no batch copy): SQLite keeps the table, its rows and its triggers
    op.add_column("audit_entry", sa.Column("row_state", sa.Text(), nullable=True))
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("prev_mac", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False, unique=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'audit trail is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute("DROP TRIGGER IF EXISTS audit_no_truncate ON audit_entry")
        op.execute(
            "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_no_truncate ON audit_entry")
    op.drop_column("audit_entry", "row_state")
