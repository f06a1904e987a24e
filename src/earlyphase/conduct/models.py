"""The trial record: SQLAlchemy models (SQLite by default, PostgreSQL for multi-site use)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Trial(Base):
    __tablename__ = "trial"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    design_name: Mapped[str] = mapped_column(String(40))  # "3+3", "boin", "crm"
    design_spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # keyword settings (build_design)
    dose_levels: Mapped[list[float]] = mapped_column(JSON)  # e.g. [0.5, 1.0, 2.0]
    dose_unit: Mapped[str] = mapped_column(String(40), default="x 10^6 cells/kg")
    cohort_size: Mapped[int] = mapped_column(Integer, default=3)
    schedule: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cohorts: Mapped[list[Cohort]] = relationship(back_populates="trial", order_by="Cohort.number")


class Site(Base):
    __tablename__ = "site"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # admin, statistician, investigator, monitor
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    api_token_hash: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)


class Cohort(Base):
    __tablename__ = "cohort"
    __table_args__ = (UniqueConstraint("trial_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"))
    number: Mapped[int] = mapped_column(Integer)
    dose_level: Mapped[int] = mapped_column(Integer)  # 1-based
    size: Mapped[int] = mapped_column(Integer)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"), nullable=True)
    trial: Mapped[Trial] = relationship(back_populates="cohorts")
    subjects: Mapped[list[Subject]] = relationship(back_populates="cohort")


class Subject(Base):
    __tablename__ = "subject"
    __table_args__ = (UniqueConstraint("trial_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"))
    code: Mapped[str] = mapped_column(String(40))
    weight_kg: Mapped[float] = mapped_column(Float)
    enrolled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cohort: Mapped[Cohort] = relationship(back_populates="subjects")


class Infusion(Base):
    __tablename__ = "infusion"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    study_day: Mapped[int] = mapped_column(Integer)
    cells_per_kg: Mapped[float] = mapped_column(Float)  # 10^6 cells/kg
    weight_kg: Mapped[float] = mapped_column(Float)
    total_cells: Mapped[float] = mapped_column(Float)  # 10^6 cells = cells_per_kg x weight
    lot: Mapped[str] = mapped_column(String(80))
    lot_released: Mapped[bool] = mapped_column(Boolean, default=True)


class DltAssessment(Base):
    __tablename__ = "dlt_assessment"
    __table_args__ = (UniqueConstraint("subject_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    dlt: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(Text, default="")


class AdverseEvent(Base):
    __tablename__ = "adverse_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    soc: Mapped[str] = mapped_column(String(200))
    pt: Mapped[str] = mapped_column(String(200))
    grade: Mapped[int] = mapped_column(Integer)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    related: Mapped[bool] = mapped_column(Boolean, default=False)
    onset_day: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Response(Base):
    __tablename__ = "response"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    visit: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(10))  # CR, PR, SD, PD, NR


class FollowUp(Base):
    __tablename__ = "follow_up"
    __table_args__ = (UniqueConstraint("subject_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    last_day: Mapped[int] = mapped_column(Integer)
    died: Mapped[bool] = mapped_column(Boolean, default=False)


class Decision(Base):
    """A design recommendation, frozen when computed; confirmed by a statistician's signature."""

    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"))
    after_cohort: Mapped[int] = mapped_column(Integer)  # decision taken after this cohort number
    outcomes: Mapped[str] = mapped_column(Text)  # the data it was computed from ("1NNN 2NTN")
    next_dose: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stop: Mapped[bool] = mapped_column(Boolean)
    selected: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(200))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    signer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signature_meaning: Mapped[str | None] = mapped_column(String(200), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    signature_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditEntry(Base):
    """Append-only, hash-chained audit trail (21 CFR 11.10(e))."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))  # create, change, delete, sign
    table_name: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(60), nullable=True)
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class BiomarkerValue(Base):
    __tablename__ = "biomarker_value"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    parameter: Mapped[str] = mapped_column(String(40))  # e.g. PLT, KL6, PFRATIO
    study_day: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
