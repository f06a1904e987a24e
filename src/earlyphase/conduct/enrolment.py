"""Enrolment into cohorts: the open cohort takes subjects until its slots are filled (a
non-evaluable subject's slot is given again when the protocol replaces such subjects); the
next cohort opens only after the decision on the last one is approved by signature, at the
approved dose."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct import audit
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
from earlyphase.conduct.protocol import SingleArmProtocol
from earlyphase.conduct.timeline import counts_in_cohort


def open_cohort(s: Session, trial: Trial, who: str) -> Cohort:
    """The cohort that takes the next subject, opening it if needed; raises, naming the
    cohort, while enrolment is paused (cohort full, decision pending, unsigned, rejected) or
    the trial has stopped."""
    last = s.execute(
        select(Cohort)
        .where(Cohort.trial_id == trial.id)
        .order_by(Cohort.number.desc())
        .limit(1)
        .with_for_update()
    ).scalar()
    design = design_of(trial)
    if last is None:
        cohort = Cohort(
            trial_id=trial.id, number=1, dose_level=design.start_dose, size=trial.cohort_size
        )
        audit.created(s, who, cohort, new=cohort_text(cohort))
        return cohort
    filled = sum(counts_in_cohort(s, trial, design, m) for m in members(s, last))
    if filled < last.size:
        return last
    dec = latest_decision(s, trial, last.number)
    if dec is None:
        waiting = waiting_for(s, trial, design, last)
        raise ConductError(
            f"cohort: {waiting}"
            if waiting is not None
            else f"cohort: cohort {last.number} is full; its DLT assessments and the "
            "dose decision come first"
        )
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
    cohort = Cohort(
        trial_id=trial.id,
        number=last.number + 1,
        dose_level=dose,
        size=size,
        decision_id=dec.id,
    )
    audit.created(s, who, cohort, new=cohort_text(cohort))
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
                new=(
                    f"{code_}, {weight:g} kg, enrolled {on}, cohort {cohort.number}, "
                    f"dose {cohort.dose_level}"
                ),
            )
            return subj
