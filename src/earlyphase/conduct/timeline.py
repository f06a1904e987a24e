"""A subject's course, derived from the non-voided record: infusions in order, the first
infusion date (study day 1), the DLT window, evaluability for DLT, death, and the subject's
letter in the design's outcome string. Nothing here is stored: it is recomputed from the
dated entries every time, so that a corrected date moves everything that depends on it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct.common import as_utc, conduct_of, iso, local, today, zone_of
from earlyphase.conduct.models import (
    AdverseEvent,
    BiomarkerValue,
    DltAssessment,
    FollowUp,
    Infusion,
    Response,
    Subject,
    Trial,
)
from earlyphase.conduct.protocol import (
    SingleArmProtocol,
    is_backfill,
    is_phase12,
    response_rule,
)

#: The letter of a subject not evaluable for DLT (left out of the outcome string).
NOT_EVALUABLE = "X"


def infusions(s: Session, subj: Subject) -> list[Infusion]:
    return list(
        s.execute(
            select(Infusion)
            .where(Infusion.subject_id == subj.id, Infusion.voided.is_(False))
            .order_by(Infusion.number, Infusion.id)
        ).scalars()
    )


def infusion_date(inf: Infusion, zone: ZoneInfo) -> dt.date | None:
    return local(inf.infused_at, zone).date() if inf.infused_at is not None else None


def first_dose_date(s: Session, trial: Trial, subj: Subject) -> dt.date | None:
    """Study day 1: the date of the first infusion, in the trial's time zone."""
    zone = zone_of(trial)
    dates = [d for d in (infusion_date(i, zone) for i in infusions(s, subj)) if d is not None]
    return min(dates) if dates else None


def dlt_aes(s: Session, subj: Subject) -> list[AdverseEvent]:
    return list(
        s.execute(
            select(AdverseEvent)
            .where(
                AdverseEvent.subject_id == subj.id,
                AdverseEvent.dlt.is_(True),
                AdverseEvent.voided.is_(False),
            )
            .order_by(AdverseEvent.id)
        ).scalars()
    )


def assessment(s: Session, subj: Subject) -> DltAssessment | None:
    return s.execute(
        select(DltAssessment)
        .where(DltAssessment.subject_id == subj.id, DltAssessment.voided.is_(False))
        .order_by(DltAssessment.id.desc())
        .limit(1)
    ).scalar()


def follow_up(s: Session, subj: Subject) -> FollowUp | None:
    return s.execute(
        select(FollowUp)
        .where(FollowUp.subject_id == subj.id, FollowUp.voided.is_(False))
        .order_by(FollowUp.id.desc())
        .limit(1)
    ).scalar()


def death_date(s: Session, subj: Subject) -> dt.date | None:
    f = follow_up(s, subj)
    return f.last_on if f is not None and f.died else None


@dataclass(frozen=True)
class Window:
    """The subject's DLT window: ``start`` (None before the infusion it counts from) to
    ``end`` inclusive; ``received`` of ``planned`` infusions."""

    counts_from: str
    days: int
    start: dt.date | None
    end: dt.date | None
    received: int
    planned: int

    def completed(self, on: dt.date) -> bool:
        return self.end is not None and on >= self.end

    def to_dict(self, zone: ZoneInfo) -> dict[str, Any]:
        on = today(zone)
        return {
            "counts_from": f"{self.counts_from} infusion",
            # the day of the window today (1 on its first day; past the length once it ended)
            "day": (on - self.start).days + 1
            if self.start is not None and on >= self.start
            else None,
            "days": self.days,
            "start": iso(self.start),
            "end": iso(self.end),
            "received": self.received,
            "planned": self.planned,
            "completed": self.completed(on),
        }


def window(s: Session, trial: Trial, subj: Subject) -> Window:
    """Day 1 of the window is the first infusion, or the last planned one (unknown until it
    is given); the window ends ``dlt_window_days - 1`` days later."""
    c = conduct_of(trial)
    zone = zone_of(trial)
    dates = sorted(d for d in (infusion_date(i, zone) for i in infusions(s, subj)) if d)
    planned = int(c["n_infusions"])
    start: dt.date | None = None
    if dates and c["dlt_window_from"] == "first":
        start = dates[0]
    elif dates and len(dates) >= planned:
        start = dates[-1]
    days = int(c["dlt_window_days"])
    end = start + dt.timedelta(days=days - 1) if start is not None else None
    return Window(str(c["dlt_window_from"]), days, start, end, len(dates), planned)


def dated_records(s: Session, trial: Trial, subj: Subject) -> list[tuple[str, dt.date]]:
    """Every non-voided entry of the subject with its date (for the checks against death)."""
    zone = zone_of(trial)
    out: list[tuple[str, dt.date]] = []
    for inf in infusions(s, subj):
        d = infusion_date(inf, zone)
        if d is not None:
            out.append((f"infusion {inf.number}", d))
    live = (AdverseEvent.subject_id == subj.id, AdverseEvent.voided.is_(False))
    for ae in s.execute(select(AdverseEvent).where(*live)).scalars():
        if ae.onset_on is not None:
            out.append((f"adverse event {ae.pt} (onset)", ae.onset_on))
        if ae.resolved_on is not None:
            out.append((f"adverse event {ae.pt} (resolution)", ae.resolved_on))
    a = assessment(s, subj)
    if a is not None and a.assessed_on is not None:
        out.append(("DLT assessment", a.assessed_on))
    for r in s.execute(
        select(Response).where(Response.subject_id == subj.id, Response.voided.is_(False))
    ).scalars():
        if r.assessed_on is not None:
            out.append((f"response at {r.visit}", r.assessed_on))
    for b in s.execute(
        select(BiomarkerValue).where(
            BiomarkerValue.subject_id == subj.id, BiomarkerValue.voided.is_(False)
        )
    ).scalars():
        if b.measured_on is not None:
            out.append((f"{b.parameter} value", b.measured_on))
    return out


def dlt_outcome(s: Session, subj: Subject) -> str | None:
    """The subject's DLT outcome: ``T`` a DLT (an adverse event meeting the DLT criteria),
    ``N`` completed the window without one, :data:`NOT_EVALUABLE`, or None while pending."""
    if dlt_aes(s, subj):
        return "T"
    a = assessment(s, subj)
    if a is None:
        return None
    if a.dlt:  # entered before DLTs were adverse events
        return "T"
    return "N" if a.evaluable else NOT_EVALUABLE


def responded(s: Session, trial: Trial, design: Any, subj: Subject) -> bool | None:
    """Whether the subject is a responder by the protocol's response rule (the first
    response recorded at the endpoint visit, any visit if none is named), None before it is
    recorded. A response of NE (not evaluable) is recorded and counts as no response, as a
    response rate counts it (RECIST 1.1)."""
    rule = response_rule(design, trial.design_spec)
    query = select(Response).where(Response.subject_id == subj.id, Response.voided.is_(False))
    if rule.visit is not None:
        query = query.where(Response.visit == rule.visit)
    r = s.execute(query.order_by(Response.id).limit(1)).scalar()
    return None if r is None else r.value in rule.responders


def evaluation(s: Session, trial: Trial, design: Any, subj: Subject) -> str | None:
    """The subject's letter in the outcome string, None while pending:

    - the DLT outcome (``T``, ``N``, :data:`NOT_EVALUABLE`) for the dose-finding designs and
      the toxicity monitor;
    - ``R``/``N`` responder or not for a single-arm response endpoint;
    - BOIN12 (Lin et al. 2020): ``N`` neither, ``E`` efficacy without DLT, ``T`` DLT without
      efficacy, ``B`` both; BOP2 with toxicity (Zhou, Lee & Yuan 2017): ``B`` both, ``R``
      response only, ``T`` DLT only, ``N`` neither. With two outcomes a subject is evaluated
      once both are known, and one not evaluable for DLT is not evaluable.
    """
    if subj.voided:
        return None
    single = isinstance(design, SingleArmProtocol)
    if single and design.endpoint == "response":
        r = responded(s, trial, design, subj)
        return None if r is None else "R" if r else "N"
    dlt = dlt_outcome(s, subj)
    two = is_phase12(design) or (single and design.endpoint == "both")
    if not two or dlt is None or dlt == NOT_EVALUABLE:
        return dlt
    r = responded(s, trial, design, subj)
    if r is None:
        return None
    tox = dlt == "T"
    if single:
        return "B" if r and tox else "R" if r else "T" if tox else "N"
    return "B" if r and tox else "E" if r else "T" if tox else "N"


def awaited(s: Session, trial: Trial, design: Any, subj: Subject) -> str:
    """What a pending subject's evaluation waits for, in the coordinator's words."""
    wants_dlt = not (isinstance(design, SingleArmProtocol) and design.endpoint == "response")
    wants_response = (
        isinstance(design, SingleArmProtocol) and design.endpoint != "toxicity"
    ) or is_phase12(design)
    missing = []
    if wants_dlt and dlt_outcome(s, subj) is None:
        missing.append("DLT outcome")
    if wants_response and responded(s, trial, design, subj) is None:
        rule = response_rule(design, trial.design_spec)
        missing.append(f"response{f' at {rule.visit}' if rule.visit else ''}")
    return " and ".join(missing)


def counts_in_cohort(s: Session, trial: Trial, design: Any, subj: Subject) -> bool:
    """Whether the subject fills a slot of the cohort: not voided, and not a non-evaluable
    subject that the protocol replaces."""
    if subj.voided:
        return False
    # BF-BOIN counts escalation cohorts by their evaluable patients (Zhao et al. 2024): with
    # backfill a non-evaluable escalation subject is always replaced
    if not conduct_of(trial)["replace_non_evaluable"] and not is_backfill(design):
        return True
    return evaluation(s, trial, design, subj) != NOT_EVALUABLE


def instant_text(t: dt.datetime | None, zone: ZoneInfo) -> str | None:
    return local(as_utc(t), zone).isoformat(timespec="minutes") if t is not None else None


@dataclass(frozen=True)
class FollowUpTime:
    """A subject's place in a design that decides while subjects are pending, as of a date.

    ``outcome`` is ``T`` (a DLT), ``N`` (completed the window without one) or ``P`` (pending:
    no DLT and no end-of-window assessment yet). ``days`` is the follow-up the design weighs:
    whole days elapsed since the window's first day (0 before it starts: not yet infused, or
    the window counts from a later infusion), capped at ``window_days - 1`` while pending, as
    the window is complete only once its assessment says so; the window's length for ``N``;
    the days from the window's start to the DLT's onset for ``T``. ``day`` is the day of the
    window the subject is on (1 on its first day), None before it starts."""

    code: str
    level: int
    outcome: str
    days: float
    window_days: int
    day: int | None
    start: dt.date | None
    end: dt.date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "dose_level": self.level,
            "outcome": self.outcome,
            "pending": self.outcome == "P",
            "follow_up_days": self.days,
            "window_days": self.window_days,
            "day_of_window": self.day,
            "fraction": round(self.days / self.window_days, 4),
            "window_start": iso(self.start),
            "window_end": iso(self.end),
        }


def follow_up_time(
    s: Session, trial: Trial, design: Any, subj: Subject, level: int, as_of: dt.date
) -> FollowUpTime | None:
    """The subject's follow-up as of ``as_of`` (None for a subject the design does not count:
    voided, or not evaluable for DLT)."""
    letter = evaluation(s, trial, design, subj)
    if subj.voided or letter == NOT_EVALUABLE:
        return None
    if letter is not None:  # two outcomes: the DLT part (B and T are DLTs in both notations)
        letter = "T" if letter in ("T", "B") else "N"
    w = window(s, trial, subj)
    d = w.days
    day = (as_of - w.start).days + 1 if w.start is not None and as_of >= w.start else None
    if letter is None:
        elapsed = (as_of - w.start).days if w.start is not None else 0
        return FollowUpTime(
            subj.code, level, "P", float(min(max(elapsed, 0), d - 1)), d, day, w.start, w.end
        )
    if letter == "T":
        onsets = [ae.onset_on for ae in dlt_aes(s, subj) if ae.onset_on is not None]
        if onsets and w.start is not None:
            days = float(min(max((min(onsets) - w.start).days, 0), d))
        else:  # a DLT before the window's first day, or entered before DLTs were dated
            days = 0.0 if onsets else float(d)
        return FollowUpTime(subj.code, level, "T", days, d, day, w.start, w.end)
    return FollowUpTime(subj.code, level, "N", float(d), d, day, w.start, w.end)


def timed_history(
    s: Session, trial: Trial, design: Any, subjects: list[tuple[Subject, int]], as_of: dt.date
) -> list[FollowUpTime]:
    """The follow-up of ``subjects`` (each with its cohort's dose level, in order of
    enrolment) as of ``as_of``, leaving out those the design does not count."""
    out = []
    for subj, level in subjects:
        f = follow_up_time(s, trial, design, subj, level, as_of)
        if f is not None:
            out.append(f)
    return out


def design_input(design: Any, history: list[FollowUpTime]) -> Any:
    """What the design's ``decide`` takes: per-patient dose, DLT and follow-up in days (the
    time-to-event designs, whose window is the protocol's), or dose and outcome letter with
    ``P`` for pending (the rolling six)."""
    if hasattr(design, "window"):
        return {
            "level": [f.level for f in history],
            "dlt": [f.outcome == "T" for f in history],
            "follow_up": [f.days for f in history],
        }
    return [(f.level, f.outcome) for f in history]
