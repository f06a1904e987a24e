"""calendar dates, conduct settings, voiding, DLTs as adverse events, signature verdicts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00

Nothing already recorded is dropped: the study-day columns entered before dates were kept
become nullable and stay as entered; new rows carry dates instead. One DLT assessment and one
follow-up per subject are now enforced by the service among non-voided rows (a voided row is
kept), so their unique constraints go.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Names SQLite's unnamed constraints get when batch mode reflects them.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _void_columns(batch: object) -> None:
    batch.add_column(  # type: ignore[attr-defined]
        sa.Column("voided", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    batch.add_column(sa.Column("void_reason", sa.Text(), nullable=True))  # type: ignore[attr-defined]


def _drop_subject_unique(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(table, naming_convention=NAMING) as batch:
            batch.drop_constraint(f"uq_{table}_subject_id", type_="unique")
    else:
        op.drop_constraint(f"{table}_subject_id_key", table, type_="unique")


def upgrade() -> None:
    with op.batch_alter_table("trial") as batch:
        batch.add_column(sa.Column("conduct", sa.JSON(), server_default="{}", nullable=False))
    with op.batch_alter_table("subject") as batch:
        batch.add_column(sa.Column("enrolled_on", sa.Date(), nullable=True))
        _void_columns(batch)
    with op.batch_alter_table("infusion") as batch:
        batch.add_column(sa.Column("number", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("infused_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("study_day", existing_type=sa.Integer(), nullable=True)
        batch.add_column(
            sa.Column("deviation", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("deviation_reason", sa.Text(), nullable=True))
        _void_columns(batch)
    _drop_subject_unique("dlt_assessment")
    with op.batch_alter_table("dlt_assessment") as batch:
        batch.add_column(
            sa.Column("evaluable", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch.add_column(sa.Column("assessed_on", sa.Date(), nullable=True))
        _void_columns(batch)
    with op.batch_alter_table("adverse_event") as batch:
        batch.add_column(sa.Column("onset_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("resolved_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("dlt", sa.Boolean(), server_default=sa.false(), nullable=False))
        _void_columns(batch)
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("assessed_on", sa.Date(), nullable=True))
        _void_columns(batch)
    _drop_subject_unique("follow_up")
    with op.batch_alter_table("follow_up") as batch:
        batch.alter_column("last_day", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("last_on", sa.Date(), nullable=True))
        _void_columns(batch)
    with op.batch_alter_table("biomarker_value") as batch:
        batch.alter_column("study_day", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("measured_on", sa.Date(), nullable=True))
        _void_columns(batch)
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("verdict", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("approved_dose", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("verdict_reason", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("data_changed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("data_changed_note", sa.Text(), nullable=True))
    # a signature given before verdicts were recorded approved the recommendation
    op.execute("UPDATE decision SET verdict = 'APPROVED' WHERE confirmed_at IS NOT NULL")


def downgrade() -> None:
    raise NotImplementedError("the trial record is not migrated backwards (it would lose data)")
