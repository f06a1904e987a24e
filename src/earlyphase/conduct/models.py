"""The trial record: SQLAlchemy models (SQLite by default, PostgreSQL for multi-site use).

The record is evidence (ICH E6(R3) 4.2, ALCOA+): rows are never deleted. A wrong entry is
corrected (the old value stays in the audit trail) or voided with a reason; a voided row
(``voided``/``void_reason``) is left out of analyses and decisions but kept in the database
and the audit export. Calendar dates are ``Date`` columns (the date as the site records it, in
the trial's time zone); instants (an infusion's date and time) are stored in UTC. Study days
are derived from the dates, never stored: the integer ``*_day`` columns hold only what was
entered before the record kept dates, and are not written any more."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(t: dt.datetime) -> dt.datetime:
    """An instant in UTC: SQLite returns stored instants without their zone (they were
    stored in UTC); PostgreSQL returns them in the session's zone."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


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
    #: the protocol's conduct settings (designs.settings.CONDUCT), defaults written in
    conduct: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
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
    enrolled_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # None: legacy row
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    cohort: Mapped[Cohort] = relationship(back_populates="subjects")


class Infusion(Base):
    __tablename__ = "infusion"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    number: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # 1st, 2nd...
    infused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    study_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # legacy entry
    cells_per_kg: Mapped[float] = mapped_column(Float)  # 10^6 cells/kg
    weight_kg: Mapped[float] = mapped_column(Float)
    total_cells: Mapped[float] = mapped_column(Float)  # 10^6 cells = cells_per_kg x weight
    lot: Mapped[str] = mapped_column(String(80))
    lot_released: Mapped[bool] = mapped_column(Boolean, default=True)
    #: outside the protocol's dose tolerance of the cohort's dose: a deviation with its reason
    deviation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deviation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class DltAssessment(Base):
    """The end-of-window assessment: completed the DLT window without a DLT, or not evaluable.
    A DLT itself is an adverse event flagged ``dlt``; ``dlt`` here is True only on rows
    entered before DLTs were recorded as adverse events."""

    __tablename__ = "dlt_assessment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    dlt: Mapped[bool] = mapped_column(Boolean)
    evaluable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    assessed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AdverseEvent(Base):
    __tablename__ = "adverse_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    soc: Mapped[str] = mapped_column(String(200))
    pt: Mapped[str] = mapped_column(String(200))
    grade: Mapped[int] = mapped_column(Integer)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    related: Mapped[bool] = mapped_column(Boolean, default=False)  # attribution to treatment
    onset_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # legacy entry
    onset_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # None: ongoing
    #: meets the protocol's DLT criteria: the design counts DLTs from these
    dlt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Response(Base):
    __tablename__ = "response"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    visit: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(10))  # CR, PR, SD, PD, NR
    assessed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class FollowUp(Base):
    """Vital status: the last date known alive, or the date of death (one current row per
    subject; a voided row may be followed by a new one)."""

    __tablename__ = "follow_up"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    last_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # legacy entry
    last_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    died: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


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
    #: the design's whole answer (Decision.to_dict(): action, estimates, message)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    signer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signature_meaning: Mapped[str | None] = mapped_column(String(200), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    signature_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: APPROVED, APPROVED_OTHER_DOSE, STOPPED or REJECTED; only an approval opens a cohort
    verdict: Mapped[str | None] = mapped_column(String(30), nullable=True)
    approved_dose: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: a correction touched the data behind the decision after it was computed or signed
    data_changed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    data_changed_note: Mapped[str | None] = mapped_column(Text, nullable=True)


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
    #: the row's whole content as canonical JSON when the entry was committed (audit.py);
    #: None on entries written before rows were bound to the trail
    row_state: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """An authenticated statement "the trail had ``entries`` entries ending in ``head``"
    (anchor.py): HMAC-SHA256 under a key kept outside the database, each checkpoint chained to
    the previous one's MAC. Append-only like the trail, and not itself audited."""

    __tablename__ = "audit_checkpoint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    entries: Mapped[int] = mapped_column(Integer)
    #: entries this checkpoint's transaction appended (all of them for an "on demand" one)
    added: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    #: why it was written: "commit", "signature" or "on demand"
    reason: Mapped[str] = mapped_column(String(20))
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64), unique=True)


class BiomarkerValue(Base):
    __tablename__ = "biomarker_value"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    parameter: Mapped[str] = mapped_column(String(40))  # e.g. PLT, KL6, PFRATIO
    study_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # legacy entry
    measured_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    value: Mapped[float] = mapped_column(Float)
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebSession(Base):
    """A signed-in browser session (OWASP Session Management Cheat Sheet). The cookie holds a
    random identifier; only its SHA-256 is stored, so a copy of the database does not give
    anyone a session. A session ends at ``expires_at`` (absolute limit), after a period without
    requests (``last_seen_at``, idle limit), or when revoked (sign-out, a password change, an
    administrator). Sign-in bookkeeping, not part of the trial record: not audited."""

    __tablename__ = "web_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: why it ended early: "sign-out", "password changed", "revoked by <admin>"
    revoked_reason: Mapped[str | None] = mapped_column(String(120), nullable=True)
    address: Mapped[str] = mapped_column(String(64), default="")


class LoginAttempt(Base):
    """One sign-in attempt, kept for throttling (NIST SP 800-63B 5.2.2, rate limiting): the
    username as typed (it need not exist) and the client address. ``outcome`` is "ok",
    "failed", or "refused" (not checked: the username or the address was locked out). The
    audit trail keeps the failures and lockouts; these rows are pruned after a day."""

    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(10))


#: Tables that churn with sign-ins and prove nothing about the trial: left out of the audit
#: trail's row binding (failed sign-ins and lockouts are audited as entries all the same).
UNAUDITED_TABLES = frozenset({WebSession.__tablename__, LoginAttempt.__tablename__})
