"""What every part of the trial service shares: its errors, the transaction base class, and the
checks of entered values (text, numbers, calendar dates, instants), which collect every problem
of one entry so that the coordinator sees them all at once, each naming its field."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, object_session, sessionmaker

from earlyphase.conduct.cache import DESIGNS, PREBUILT, check_design_size, design_key
from earlyphase.conduct.models import Cohort, Site, Subject, Trial, User
from earlyphase.conduct.models import as_utc as as_utc  # the service's modules read it here
from earlyphase.conduct.protocol import build_protocol
from earlyphase.conduct.store import READ_ONLY
from earlyphase.designs.settings import check_conduct

T = TypeVar("T")


class ConductError(ValueError):
    """Rejected input or an operation not allowed in the trial's current state. The message
    reads ``"field: why"`` (clauses joined by ``"; "`` when several fields are wrong)."""


class PermissionDenied(ConductError):  # noqa: N818 - reads as a verdict
    """The user's role or site does not allow the operation."""


class ServiceBase:
    """Sessions and transactions; the service's parts (accounts, enrolment, entry...) derive
    from it and :class:`earlyphase.conduct.service.TrialService` combines them."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction. SQLite serialises writers with BEGIN IMMEDIATE; on PostgreSQL
        a transaction-scoped advisory lock does the same, so the audit chain never forks and
        the last slot of a cohort is taken once."""
        self._build_designs()
        with self.sessions() as s, s.begin():
            if s.get_bind().dialect.name == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(424242)"))
            yield s

    def _build_designs(self) -> None:
        """Build (or find built) every trial's design before the writers' lock is taken, so
        that a write never holds the lock while a design is built: the lock is held for the
        database work only. A design that cannot be built is left to the write to report."""
        try:
            latest = select(Trial.design_name, Trial.design_spec).order_by(Trial.id.desc())
            query = latest.limit(PREBUILT)
            specs = self.read(lambda s: [tuple(r) for r in s.execute(query)])
        except SQLAlchemyError:
            return  # a store being created or migrated: the write reports its own problem
        for name, spec in specs:
            try:
                design_for(name, spec)
            except (ValueError, TypeError):
                continue

    def reauthenticate(self, actor: User, password: str) -> None:
        """Check a password re-entered to sign (accounts.py implements it)."""
        raise NotImplementedError

    def read(self, fn: Callable[[Session], T]) -> T:
        """A read-only transaction (on SQLite it does not wait for, or block, the writer)."""
        with self.sessions() as s:
            options: dict[str, Any] = {READ_ONLY: True}
            if s.get_bind().dialect.name == "postgresql":
                # under read committed each statement reads its own snapshot, in a transaction
                # or not: a read needs none, which saves the BEGIN and ROLLBACK round trips
                options["isolation_level"] = "AUTOCOMMIT"
            s.connection(execution_options=options)
            return fn(s)

    def design(self, trial: Trial) -> Any:
        return design_of(trial)


# --- values -------------------------------------------------------------------------------


class Problems:
    """The problems of one entry, collected so that all are reported together."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, field: str, why: str) -> None:
        self.items.append(f"{field}: {why}")

    def raise_any(self) -> None:
        if self.items:
            raise ConductError("; ".join(self.items))

    def text(self, value: Any, field: str, limit: int = 200) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.add(field, "required")
            return None
        if len(value) > limit:
            self.add(field, f"at most {limit} characters")
            return None
        return value.strip()

    def number(self, value: Any, field: str, lo: float, hi: float) -> float | None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.add(field, "must be a number")
            return None
        if isinstance(value, bool) or not math.isfinite(v):
            self.add(field, "must be a number")
            return None
        if not lo <= v <= hi:
            self.add(field, f"must lie between {lo:g} and {hi:g}, got {v:g}")
            return None
        return v

    def whole(self, value: Any, field: str, lo: int, hi: int) -> int | None:
        v = self.number(value, field, lo, hi)
        if v is None:
            return None
        if v != int(v):
            self.add(field, f"must be a whole number {lo}-{hi}")
            return None
        return int(v)

    def flag(self, value: Any, field: str) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("yes", "true", "on", "1"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("no", "false", "off", "0", ""):
            return False
        self.add(field, f"must be true or false, got {value!r}")
        return None

    def date(self, value: Any, field: str, zone: ZoneInfo) -> dt.date | None:
        """A calendar date (``2026-03-01``), not after today in the trial's time zone."""
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(field, "required (a date, e.g. 2026-03-01)")
            return None
        if isinstance(value, dt.datetime):
            self.add(field, "a calendar date without a time, e.g. 2026-03-01")
            return None
        if isinstance(value, dt.date):
            d = value
        else:
            try:
                d = dt.date.fromisoformat(str(value).strip())
            except ValueError:
                self.add(field, f"not a date (YYYY-MM-DD), got {value!r}")
                return None
        if d > today(zone):
            self.add(field, f"{d.isoformat()} is in the future")
            return None
        return d

    def instant(self, value: Any, field: str, zone: ZoneInfo) -> dt.datetime | None:
        """A date and time (``2026-03-01T10:30``; without an offset it is the trial's local
        time), returned in UTC; not in the future."""
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(field, "required (date and time, e.g. 2026-03-01T10:30)")
            return None
        if isinstance(value, dt.datetime):
            t = value
        elif isinstance(value, dt.date):
            self.add(field, "needs the time too, e.g. 2026-03-01T10:30")
            return None
        else:
            raw = str(value).strip().replace(" ", "T", 1)
            if raw.endswith("Z"):
                raw = raw[:-1] + "+00:00"
            try:
                t = dt.datetime.fromisoformat(raw)
            except ValueError:
                self.add(field, f"not a date and time (YYYY-MM-DDTHH:MM), got {value!r}")
                return None
            if "T" not in raw:
                self.add(field, "needs the time too, e.g. 2026-03-01T10:30")
                return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=zone)
        t = t.astimezone(dt.UTC)
        if t > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):  # clocks differ a little
            self.add(field, f"{local(t, zone).isoformat(timespec='minutes')} is in the future")
            return None
        return t


def today(zone: ZoneInfo) -> dt.date:
    return dt.datetime.now(zone).date()


def local(t: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return as_utc(t).astimezone(zone)


def study_day(d: dt.date | None, ref: dt.date | None) -> int | None:
    """CDISC study day (SDTM IG 4.4.4): day 1 is the reference date (the first infusion), the
    day before it is day -1; there is no day 0."""
    if d is None or ref is None:
        return None
    delta = (d - ref).days
    return delta + 1 if delta >= 0 else delta


def iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


# --- shared look-ups ----------------------------------------------------------------------


def conduct_of(trial: Trial) -> dict[str, Any]:
    """The trial's conduct settings (defaults for a trial created before they were kept)."""
    return check_conduct(dict(trial.conduct or {}))


def zone_of(trial: Trial) -> ZoneInfo:
    return ZoneInfo(str(conduct_of(trial)["time_zone"]))


def design_of(trial: Trial) -> Any:
    """The trial's design, built once per process for its settings (a design is immutable),
    refused with a :class:`ConductError` when building it would take more than a request can
    (:func:`earlyphase.conduct.cache.check_design_size`)."""
    return design_for(trial.design_name, trial.design_spec)


def design_for(design_name: str, spec: Any) -> Any:
    settings = dict(spec or {})

    def build() -> Any:
        check_design_size(design_name, settings)
        return build_protocol(design_name, settings)

    return DESIGNS.get(design_key(design_name, settings), build)


def require(actor: User, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(f"role: {actor.role} may not do this (needs {' or '.join(roles)})")


def text_value(value: Any, field: str) -> str:
    p = Problems()
    out = p.text(value, field)
    p.raise_any()
    assert out is not None
    return out


def number_value(value: Any, field: str, lo: float, hi: float) -> float:
    p = Problems()
    out = p.number(value, field, lo, hi)
    p.raise_any()
    assert out is not None
    return out


def trial_named(s: Session, name: str) -> Trial:
    t = s.execute(select(Trial).where(Trial.name == name)).scalar()
    if t is None:
        raise ConductError(f"trial: no trial named {name!r}")
    return t


def site_named(s: Session, name: str) -> Site:
    site = s.execute(select(Site).where(Site.name == name)).scalar()
    if site is None:
        raise ConductError(f"site: no site named {name!r}")
    return site


def subject_coded(s: Session, trial: Trial, code: str) -> Subject:
    subj = s.execute(
        select(Subject).where(Subject.trial_id == trial.id, Subject.code == code)
    ).scalar()
    if subj is None:
        raise ConductError(f"code: no subject {code!r} in {trial.name!r}")
    return subj


def may_write(actor: User, subj: Subject, missing: str | None = None) -> None:
    """Admins and investigators write; an investigator only for the own site's subjects.
    Another site's subject is answered as if it did not exist (``missing``, by default the
    unknown-code error of :func:`subject_coded`), so its code, or a record's number, does not
    tell an investigator that it exists elsewhere (OWASP: no enumeration)."""
    require(actor, "admin", "investigator")
    if actor.role == "investigator" and subj.site_id != actor.site_id:
        if missing is None:
            s = object_session(subj)
            trial = s.get(Trial, subj.trial_id) if s is not None else None
            name = trial.name if trial is not None else ""
            missing = f"code: no subject {subj.code!r} in {name!r}"
        raise ConductError(missing)


def subject_for_write(s: Session, actor: User, trial: Trial, code: str) -> Subject:
    require(actor, "admin", "investigator")
    subj = subject_coded(s, trial, code)
    may_write(actor, subj, f"code: no subject {code!r} in {trial.name!r}")
    if subj.voided:
        raise ConductError(f"code: subject {code!r} was voided ({subj.void_reason})")
    return subj


def assigned_dose(s: Session, trial: Trial, subj: Subject) -> tuple[Cohort, float]:
    cohort = s.get(Cohort, subj.cohort_id)
    assert cohort is not None
    return cohort, float(trial.dose_levels[cohort.dose_level - 1])


def cohort_text(c: Cohort) -> str:
    return f"cohort {c.number}: dose level {c.dose_level}, {c.size} patients"
