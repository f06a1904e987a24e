"""Enrolment into cohorts: the open cohort takes subjects until its slots are filled (a
non-evaluable subject's slot is given again when the protocol replaces such subjects); the
next cohort opens only after the decision on the last one is approved by signature, at the
approved dose.

With backfill (BF-BOIN, Zhao et al. 2024), a subject arriving while the escalation cohort is
full and its DLT outcomes are pending is backfilled at the dose the design opens
(:mod:`earlyphase.conduct.backfilling`): the design's rule, so no signature is asked for, and
the enrolment is audited like any other. Where the subject goes is the service's choice, never
the enrolling user's: :func:`place` says it before, and :meth:`EnrolmentMixin.placement`
after."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct import audit, backfilling
from earlyphase.conduct.common import (
    ConductError,
    PermissionDenied,
    Problems,
    ServiceBase,
    cohort_text,
    design_of,
    require,
    site_named,
    today,
    trial_named,
    zone_of,
)
from earlyphase.conduct.decisions import latest_decision, members, waiting_for
from earlyphase.conduct.models import Cohort, Site, Subject, Trial, User
from earlyphase.conduct.protocol import SingleArmProtocol, is_backfill
from earlyphase.conduct.timeline import counts_in_cohort

#: Where an arriving subject goes: into the escalation cohort or backfilled.
ARMS = ("escalation", "backfill")


@dataclass(frozen=True)
class Placement:
    """Where the next subject goes: ``arm`` (:data:`ARMS`), the dose level, the cohort's
    number (a backfill cohort's is ``-level``), whether the subject opens that cohort (with
    its size and the decision that opens it), and for a backfill subject the escalation
    cohort whose outcomes are pending."""

    arm: str
    dose_level: int
    cohort: int
    opens: bool
    size: int
    decision_id: int | None = None
    pending_cohort: int | None = None

    def to_dict(self, trial: Trial) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "dose_level": self.dose_level,
            "dose": trial.dose_levels[self.dose_level - 1],
            "dose_unit": trial.dose_unit,
            "cohort": self.cohort,
            "opens_cohort": self.opens,
            "while_pending": self.pending_cohort,
        }


def _backfill(s: Session, trial: Trial, design: Any, last: Cohort, why: str) -> Placement:
    """The backfill placement while ``last`` is full and pending, or the refusal naming why
    no dose is open (``why``: why the escalation cohort takes nobody)."""
    hist, _rows = backfilling.history(s, trial, design, today(zone_of(trial)))
    answer = design.decide(hist)
    estimates = dict(answer.estimates or {})
    level = estimates.get("backfill_dose")
    if level is None:
        estimates["responses_at"] = backfilling.responses_at(design, hist)
        reasons = backfilling.closed_reasons(design, estimates, last.dose_level)
        text = "; ".join(f"dose {lv}: {r}" for lv, r in sorted(reasons.items()))
        raise ConductError(f"cohort: {why}; no dose is open for backfill ({text})")
    number = backfilling.backfill_number(int(level))
    existing = s.execute(
        select(Cohort).where(Cohort.trial_id == trial.id, Cohort.number == number)
    ).scalar()
    return Placement(
        "backfill",
        int(level),
        number,
        existing is None,
        design.cap_per_dose,
        last.decision_id,
        last.number,
    )


def place(s: Session, trial: Trial, lock: bool = False) -> Placement:
    """Where the next subject goes, or a :class:`ConductError` naming why nobody can be
    enrolled (cohort full and pending with no dose open for backfill, decision pending,
    unsigned, rejected, or the trial stopped). ``lock`` takes the last cohort's row for the
    write that follows, so that its last slot is taken once."""
    query = (
        select(Cohort)
        .where(Cohort.trial_id == trial.id, Cohort.number >= backfilling.ESCALATION_FROM)
        .order_by(Cohort.number.desc())
        .limit(1)
    )
    last = s.execute(query.with_for_update() if lock else query).scalar()
    design = design_of(trial)
    if last is None:
        return Placement("escalation", design.start_dose, 1, True, trial.cohort_size)
    filled = sum(counts_in_cohort(s, trial, design, m) for m in members(s, last))
    if filled < last.size:
        return Placement("escalation", last.dose_level, last.number, False, last.size)
    dec = latest_decision(s, trial, last.number)
    if dec is None:
        waiting = waiting_for(s, trial, design, last)
        why = (
            waiting
            if waiting is not None
            else f"cohort {last.number} is full; its DLT assessments and the dose decision come "
            "first"
        )
        if is_backfill(design):
            return _backfill(s, trial, design, last, why)
        raise ConductError(f"cohort: {why}")
    if dec.confirmed_at is None:
        raise ConductError(
            f"cohort: the decision after cohort {last.number} awaits the statistician's signature"
        )
    verdict = dec.verdict or "APPROVED"  # signed before verdicts were kept: an approval
    if verdict == "REJECTED":
        raise ConductError(
            f"cohort: the decision after cohort {last.number} was rejected "
            f"({dec.verdict_reason}); enrolment stays paused until a new decision is approved"
        )
    dose: int | None = None
    if verdict == "APPROVED_OTHER_DOSE":
        dose = dec.approved_dose
    elif verdict == "APPROVED" and not dec.stop:
        dose = dec.approved_dose or dec.next_dose
    if dose is None:
        raise ConductError(f"cohort: the trial has stopped ({dec.signature_meaning or dec.reason})")
    size = (
        design.size_of_cohort(last.number + 1)
        if isinstance(design, SingleArmProtocol)
        else trial.cohort_size
    )
    return Placement("escalation", dose, last.number + 1, True, size, dec.id)


def open_cohort(s: Session, trial: Trial, who: str) -> Cohort:
    """The cohort that takes the next subject (:func:`place`), opening it if needed."""
    p = place(s, trial, lock=True)
    if not p.opens:
        return s.execute(
            select(Cohort).where(Cohort.trial_id == trial.id, Cohort.number == p.cohort)
        ).scalar_one()
    cohort = Cohort(
        trial_id=trial.id,
        number=p.cohort,
        dose_level=p.dose_level,
        size=p.size,
        decision_id=p.decision_id,
    )
    if p.arm == "backfill":
        text = (
            f"backfill cohort of dose level {p.dose_level} (number {p.cohort}), opened while "
            f"cohort {p.pending_cohort} is pending; at most {p.size} subjects treated a dose"
        )
    else:
        text = cohort_text(cohort)
    audit.created(s, who, cohort, new=text)
    return cohort


class EnrolmentMixin(ServiceBase):
    def enrol(
        self,
        actor: User,
        trial_name: str,
        code: str,
        weight_kg: float,
        site: str | None = None,
        enrolled_on: dt.date | str | None = None,
    ) -> Subject:
        """Enrol a subject into the open cohort (opening the next one once the previous
        cohort's decision is approved). Investigators enrol at their own site. The enrolment
        date defaults to today in the trial's time zone (the day it is entered)."""
        require(actor, "admin", "investigator")
        p = Problems()
        code_ = p.text(code, "code", limit=40)
        weight = p.number(weight_kg, "weight_kg", 1.0, 400.0)
        with self._tx() as s:
            trial = trial_named(s, trial_name)
            zone = zone_of(trial)
            on = p.date(
                enrolled_on if enrolled_on is not None else today(zone), "enrolled_on", zone
            )
            if actor.role == "investigator":
                site_id = actor.site_id
                if site is not None:
                    own = s.get(Site, site_id) if site_id is not None else None
                    if own is None or own.name != site:
                        raise PermissionDenied("site: investigators enrol at their own site only")
            else:
                if site is None:
                    p.add("site", "which site enrols the subject?")
                    site_id = None
                else:
                    site_id = site_named(s, site).id
            if (
                code_ is not None
                and s.execute(
                    select(Subject).where(Subject.trial_id == trial.id, Subject.code == code_)
                ).scalar()
            ):
                p.add("code", f"subject {code_!r} is already enrolled")
            p.raise_any()
            assert code_ is not None and weight is not None and site_id is not None
            cohort = open_cohort(s, trial, actor.username)
            where = (
                f"backfilled at dose level {cohort.dose_level} (backfill cohort {cohort.number})"
                if backfilling.is_backfill_cohort(cohort)
                else f"cohort {cohort.number}, dose {cohort.dose_level}"
            )
            subj = Subject(
                trial_id=trial.id,
                site_id=site_id,
                cohort_id=cohort.id,
                code=code_,
                weight_kg=weight,
                enrolled_on=on,
            )
            audit.created(
                s,
                actor.username,
                subj,
                new=f"{code_}, {weight:g} kg, enrolled {on}, {where}",
            )
            return subj

    def placement(self, actor: User, trial_name: str, code: str) -> dict[str, Any]:
        """Where an enrolled subject went: ``arm`` ("escalation" or "backfill"), the dose
        (``dose_level``, ``dose``, ``dose_unit``) and the cohort's number (``-level`` for a
        backfill cohort). What the enrol API answers besides the subject's id."""
        del actor  # every role may read where a subject is
        from earlyphase.conduct.common import subject_coded

        def get(s: Session) -> dict[str, Any]:
            trial = trial_named(s, trial_name)
            subj = subject_coded(s, trial, code)
            cohort = s.get(Cohort, subj.cohort_id)
            assert cohort is not None
            back = backfilling.is_backfill_cohort(cohort)
            return {
                "arm": ARMS[1] if back else ARMS[0],
                "cohort": cohort.number,
                "dose_level": cohort.dose_level,
                "dose": trial.dose_levels[cohort.dose_level - 1],
                "dose_unit": trial.dose_unit,
            }

        return self.read(get)
