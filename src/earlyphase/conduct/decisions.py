"""Design-driven decisions: computed and frozen once a cohort is complete, reviewed with the
cohort's subject-level data, and signed by the statistician with a meaning.

A frozen decision is never recomputed silently. When the data behind it change afterwards (a
correction, a voided record, a late DLT), the decision is marked ``data_changed`` with a note
and an audit entry, and the status and recommendation show it; a new decision is computed only
when a statistician asks for it, with a reason (:meth:`DecisionsMixin.recompute_decision`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct import audit, backfilling
from earlyphase.conduct.common import (
    ConductError,
    Problems,
    ServiceBase,
    assigned_dose,
    conduct_of,
    design_of,
    iso,
    require,
    study_day,
    subject_coded,
    today,
    trial_named,
    zone_of,
)
from earlyphase.conduct.models import (
    AdverseEvent,
    Cohort,
    Decision,
    Site,
    Subject,
    Trial,
    User,
    utcnow,
)
from earlyphase.conduct.protocol import (
    SingleArmProtocol,
    decides_while_pending,
    is_backfill,
    is_phase12,
    pending_rule,
    response_rule,
    uses_responses,
)
from earlyphase.conduct.timeline import (
    NOT_EVALUABLE,
    FollowUpTime,
    assessment,
    awaited,
    counts_in_cohort,
    design_input,
    evaluation,
    first_dose_date,
    infusion_date,
    infusions,
    instant_text,
    responded,
    timed_history,
    window,
)

#: Meanings a signature can carry (21 CFR 11.50(a)(3)), by the word the API takes.
MEANINGS = {
    "approve": "APPROVED",
    "approve_other_dose": "APPROVED_OTHER_DOSE",
    "stop": "STOPPED",
    "reject": "REJECTED",
}
#: Verdicts that let enrolment go on (only an approval opens the next cohort).
APPROVALS = ("APPROVED", "APPROVED_OTHER_DOSE")


#: Between the escalation part of a backfill trial's outcome string and the backfill part.
BACKFILL_MARK = " | backfill "


def cohorts_of(s: Session, trial: Trial) -> list[Cohort]:
    """The escalation cohorts (or looks), in order; backfill cohorts are apart
    (:func:`earlyphase.conduct.backfilling.backfill_cohorts`)."""
    return list(
        s.execute(
            select(Cohort)
            .where(Cohort.trial_id == trial.id, Cohort.number >= backfilling.ESCALATION_FROM)
            .order_by(Cohort.number)
        ).scalars()
    )


def members(s: Session, cohort: Cohort) -> list[Subject]:
    return list(
        s.execute(
            select(Subject).where(Subject.cohort_id == cohort.id).order_by(Subject.id)
        ).scalars()
    )


def outcomes(
    s: Session,
    trial: Trial,
    design: Any,
    through: int | None = None,
    backfill_codes: list[str] | None = None,
) -> str:
    """The outcome string (``"1NNN 2NTN"``) of the cohorts up to ``through`` (all if None):
    voided and non-evaluable subjects are left out; pending ones are not yet in it, except
    for a design that decides while subjects are pending, where each is a ``P``.

    With backfill, the backfill subjects follow by dose (``"1NNN 2NTN | backfill 1NP"``, ``P``
    pending), those of ``backfill_codes`` only when given (the subjects a decision was
    given)."""
    timed = decides_while_pending(design)
    tokens = []
    for c in cohorts_of(s, trial):
        if through is not None and c.number > through:
            break
        letters = ""
        for subj in members(s, c):
            if subj.voided:
                continue
            letter = evaluation(s, trial, design, subj)
            if letter is None and timed:
                letters += "P"
            elif letter is not None and letter != NOT_EVALUABLE:
                letters += letter
        if letters:
            tokens.append(f"{c.dose_level}{letters}")
    text = " ".join(tokens)
    if is_backfill(design):
        _hist, rows = backfilling.history(s, trial, design, today(zone_of(trial)))
        codes = set(backfill_codes) if backfill_codes is not None else None
        extra = backfilling.tokens(rows, codes)
        if extra:
            text += BACKFILL_MARK + extra
    return text


def only_resolved(before: str, now: str) -> bool:
    """Whether the outcome string ``now`` differs from ``before`` only by pending subjects
    who completed the window without a DLT (``P`` become ``N``): the course a decision taken
    while subjects were pending expects, not a change of the data behind it. A backfill
    subject pending at the decision was not counted in it (BF-BOIN counts known outcomes), so
    its outcome becoming known, DLT or not, is new data for the next decision, not a change."""
    esc_a, _, back_a = before.partition(BACKFILL_MARK)
    esc_b, _, back_b = now.partition(BACKFILL_MARK)
    if not _resolved(esc_a, esc_b, "N"):
        return False
    return _resolved(back_a, back_b, "NT")


def _resolved(before: str, now: str, allowed: str) -> bool:
    a, b = before.split(), now.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if len(x) != len(y):
            return False
        for p, q in zip(x, y, strict=True):
            if p != q and not (p == "P" and q in allowed):
                return False
    return True


def follow_up_of(
    s: Session, trial: Trial, design: Any, as_of: dt.date, through: int | None = None
) -> list[FollowUpTime]:
    """Every counted subject's follow-up as of ``as_of``, in order of enrolment."""
    subjects = [
        (m, c.dose_level)
        for c in cohorts_of(s, trial)
        if through is None or c.number <= through
        for m in members(s, c)
    ]
    return timed_history(s, trial, design, subjects, as_of)


def _design_answer(s: Session, trial: Trial, design: Any) -> tuple[Any, dict[str, Any]]:
    """The design's decision on the record as it is today (in the trial's time zone), with
    what it was computed from: for a design that decides while subjects are pending, each
    subject's follow-up as of today and its weight when the design gives one."""
    if is_backfill(design):
        as_of = today(zone_of(trial))
        hist, rows = backfilling.history(s, trial, design, as_of)
        return design.decide(hist), {
            "as_of": as_of.isoformat(),
            "follow_up": rows,
            "backfill_subjects": [r["code"] for r in rows if r["backfill"]],
        }
    if not decides_while_pending(design):
        return design.decide(outcomes(s, trial, design)), {}
    as_of = today(zone_of(trial))
    history = follow_up_of(s, trial, design, as_of)
    d = design.decide(design_input(design, history))
    rows = [f.to_dict() for f in history]
    weights = (d.estimates or {}).get("weights")
    if weights is not None and len(weights) == len(rows):
        for row, w in zip(rows, weights, strict=True):
            row["weight"] = round(float(w), 4)
    return d, {"as_of": as_of.isoformat(), "follow_up": rows}


def latest_decision(s: Session, trial: Trial, after_cohort: int) -> Decision | None:
    """The decision in force after a cohort: the last one computed for it."""
    return s.execute(
        select(Decision)
        .where(Decision.trial_id == trial.id, Decision.after_cohort == after_cohort)
        .order_by(Decision.id.desc())
        .limit(1)
    ).scalar()


@dataclass(frozen=True)
class PendingSubject:
    """A subject not yet evaluated: its follow-up, its cohort's number (``-level`` for a
    backfill cohort), its site, and what its evaluation waits for."""

    follow: FollowUpTime
    cohort: int
    site: int | None
    awaiting: str

    @property
    def backfill(self) -> bool:
        return self.cohort < backfilling.ESCALATION_FROM

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.follow.to_dict(),
            "cohort": self.cohort,
            "backfill": self.backfill,
            "awaiting": self.awaiting,
            "site_id": self.site,
        }


def pending_subjects(s: Session, trial: Trial, design: Any, as_of: dt.date) -> list[PendingSubject]:
    """The subjects not yet evaluated (backfill subjects included), each with its follow-up as
    of ``as_of``, its cohort's number, its site and what it waits for."""
    out: list[PendingSubject] = []
    cohorts = cohorts_of(s, trial) + backfilling.backfill_cohorts(s, trial)
    for c in cohorts:
        for m in members(s, c):
            if m.voided or evaluation(s, trial, design, m) is not None:
                continue
            f = timed_history(s, trial, design, [(m, c.dose_level)], as_of)
            if f:
                out.append(PendingSubject(f[0], c.number, m.site_id, awaited(s, trial, design, m)))
    return out


def _pending_text(pending: list[PendingSubject], cohort: int | None = None) -> str:
    """ "S2 (day 5 of 28), S3 (not yet infused)" for the pending subjects of ``cohort``."""
    parts = []
    for p in pending:
        if cohort is not None and p.cohort != cohort:
            continue
        f = p.follow
        where = (
            f"day {f.day} of {f.window_days}"
            if f.day is not None and f.day <= f.window_days
            else f"window ended {f.end}, DLT assessment due"
            if f.day is not None
            else "window not started"
        )
        if p.awaiting and p.awaiting != "DLT outcome":
            where = (
                f"awaiting {p.awaiting}"
                if "DLT" not in p.awaiting
                else f"{where}; awaiting {p.awaiting}"
            )
        parts.append(f"{f.code} ({where})")
    return ", ".join(parts)


def _evaluated_for(design: Any, trial: Trial) -> str:
    """What "evaluated" means for the design, in the words of a refusal."""
    if isinstance(design, SingleArmProtocol) and design.endpoint == "response":
        return f"has {response_rule(design, trial.design_spec).text()}"
    if is_phase12(design) or (isinstance(design, SingleArmProtocol) and design.endpoint == "both"):
        return (
            "has completed the DLT window or had a DLT, and has "
            f"{response_rule(design, trial.design_spec).text()}"
        )
    return "has completed the DLT window or had a DLT"


def waiting_for(s: Session, trial: Trial, design: Any, cohort: Cohort) -> str | None:
    """Why the full ``cohort`` has no decision yet, naming its pending subjects: a design that
    decides while subjects are pending is asked for the next dose; any other waits until
    every subject is evaluated. None when nothing is pending."""
    pending = pending_subjects(s, trial, design, today(zone_of(trial)))
    names = _pending_text(pending, cohort.number)
    if decides_while_pending(design):
        tail = f" ({len([p for p in pending if p.cohort == cohort.number])} pending: {names})"
        return (
            f"cohort {cohort.number} is full{tail if names else ''}; the design decides "
            "while subjects are pending: ask it for the next dose ('Ask the design' on the "
            "dashboard)"
        )
    if not names:
        return None
    return (
        f"cohort {cohort.number} is full and its subjects are not all evaluated ({names}); "
        f"{trial.design_name} decides the next dose once every subject of the cohort "
        f"{_evaluated_for(design, trial)}"
    )


def per_dose(s: Session, trial: Trial, design: Any, d: Any, data: str) -> list[dict[str, Any]]:
    """Each dose's counts behind a decision, as the sign-off page shows them: patients
    evaluated and with DLT, with the responses for a design counting them (BOIN12 adds its
    admissibility and desirability; backfill its counts by arm against the cap). ``d`` is
    the design's answer (None: counted from ``data``)."""
    est = dict(d.estimates or {}) if d is not None else {}
    if is_backfill(design):
        hist, _rows = backfilling.history(s, trial, design, today(zone_of(trial)))
        if "n_treated" in est:
            return backfilling.per_dose(design, est, hist)
    if is_phase12(design) and "n" in est:
        admissible = set(est.get("admissible") or [])
        return [
            {
                "dose_level": i + 1,
                "n": int(est["n"][i]),
                "dlt": int(est["tox"][i]),
                "responses": int(est["eff"][i]),
                "admissible": i + 1 in admissible,
                "desirability": round(float(est["desirability"][i]), 4),
            }
            for i in range(design.n_doses)
        ]
    counts: dict[int, dict[str, Any]] = {}
    efficacy = uses_responses(design)
    for token in data.partition(BACKFILL_MARK)[0].split():
        level = int(token.rstrip("NTRBEPX"))
        row = counts.setdefault(level, {"dose_level": level, "n": 0, "dlt": 0})
        letters = token[len(str(level)) :].replace("P", "")
        row["n"] += len(letters)
        if isinstance(design, SingleArmProtocol) and design.endpoint == "response":
            row["responses"] = row.get("responses", 0) + letters.count("R")
            row.pop("dlt", None)
            continue
        row["dlt"] += sum(ch in "TB" for ch in letters)
        if efficacy:
            row["responses"] = row.get("responses", 0) + sum(ch in "RB" for ch in letters)
    return [counts[k] for k in sorted(counts)]


def _withheld_stop(s: Session, trial: Trial, design: Any, d: Any) -> str | None:
    """Why the design's answer ``d`` is not frozen: a stop while subjects are pending (see
    :func:`_freeze`); None when it may be."""
    if not d.stop:
        return None
    pending = pending_subjects(s, trial, design, today(zone_of(trial)))
    if not pending:
        return None
    return (
        f"the design would stop the trial ({d.message or d.reason}); a stop and the dose it "
        "selects are decided on complete data, so the decision waits until the pending "
        f"subjects are evaluated: {_pending_text(pending)}; no subject is enrolled meanwhile"
    )


def withheld_stop(s: Session, trial: Trial, design: Any) -> str | None:
    """Why no decision is frozen for a complete cohort: the design would stop while subjects
    are pending (None otherwise). The status shows it while the trial waits."""
    d, _seen = _design_answer(s, trial, design)
    return _withheld_stop(s, trial, design, d)


class PendingStopError(ConductError):
    """The design would stop the trial while subjects are still pending: nothing is frozen."""


def _freeze(s: Session, who: str, trial: Trial, cohort: Cohort, design: Any) -> Decision:
    """Freeze the design's decision on the record as it is now.

    A stop is final and names the dose the trial selects, so it is taken on complete data: a
    design that would stop while subjects are pending (a time-to-event design at its sample
    size, BF-BOIN with backfill subjects in their window) raises :class:`PendingStopError`
    instead, and no subject is enrolled until the pending ones are evaluated and the design is
    asked again (the selection at the end of TITE-CRM and BF-BOIN uses every patient's
    complete outcome: Cheung & Chappell 2000; Zhao et al. 2024)."""
    data = outcomes(s, trial, design)
    d, seen = _design_answer(s, trial, design)
    withheld = _withheld_stop(s, trial, design, d)
    if withheld is not None:
        raise PendingStopError(f"decision: {withheld}")
    seen["per_dose"] = per_dose(s, trial, design, d, data)
    seen["selected_label"] = selected_label(design)
    # plain JSON (no NumPy)
    detail = json.loads(json.dumps({**d.to_dict(), **seen}, default=float))
    dec = Decision(
        trial_id=trial.id,
        after_cohort=cohort.number,
        outcomes=data,
        next_dose=d.dose,
        stop=d.stop,
        selected=d.selected,
        reason=d.reason[:200],
        detail=detail,
    )
    audit.created(s, who, dec, new=f"after cohort {cohort.number} ({data}): {d}")
    return dec


def maybe_decide(s: Session, who: str, trial: Trial, cohort: Cohort) -> Decision | None:
    """Once the cohort has its evaluable subjects and every one is evaluated, compute the
    design's decision and freeze it (None before that, or when the decision exists). An
    entry for a backfill subject concerns the escalation cohort in progress: the decision
    never waits for backfill subjects (BF-BOIN, Zhao et al. 2024)."""
    design = design_of(trial)
    if backfilling.is_backfill_cohort(cohort):
        escalation = cohorts_of(s, trial)
        if not escalation:
            return None
        cohort = escalation[-1]
    group = [m for m in members(s, cohort) if not m.voided]
    filled = [m for m in group if counts_in_cohort(s, trial, design, m)]
    if len(filled) < cohort.size or any(evaluation(s, trial, design, m) is None for m in group):
        return None
    if latest_decision(s, trial, cohort.number) is not None:
        return None  # frozen: never recomputed silently
    try:
        return _freeze(s, who, trial, cohort, design)
    except PendingStopError:
        return None  # the entry stands; the status says the decision waits, and why


def selected_label(design: Any) -> str | None:
    """What a stopped trial's selected dose is: BOIN12's optimal biological dose (Lin et al.
    2020: the most desirable admissible dose at or below the MTD), or the MTD."""
    if is_phase12(design):
        return "optimal biological dose (OBD)"
    if isinstance(design, SingleArmProtocol):
        return None
    return "maximum tolerated dose (MTD)"


def _backfill_codes(dec: Decision) -> list[str] | None:
    """The backfill subjects a decision was given (None for a trial without backfill)."""
    codes = (dec.detail or {}).get("backfill_subjects")
    return None if codes is None else [str(c) for c in codes]


def flag_changes(
    s: Session, who: str, trial: Trial, subj: Subject, why: str, correction: bool
) -> list[Decision]:
    """Mark the decisions whose data include ``subj`` (decisions after its cohort or later;
    for a backfill subject, those it was given to) as having changed data. A correction or
    a voided record always marks them, since the statistician reviewed the old value; a new
    entry marks them only when it changes the outcome string they were computed from (a
    late DLT). Returns the decisions marked."""
    cohort = s.get(Cohort, subj.cohort_id)
    assert cohort is not None
    design = design_of(trial)
    back = backfilling.is_backfill_cohort(cohort)
    query = select(Decision).where(Decision.trial_id == trial.id)
    if not back:
        query = query.where(Decision.after_cohort >= cohort.number)
    marked = []
    for dec in s.execute(query.order_by(Decision.id)).scalars():
        codes = _backfill_codes(dec)
        if back and (codes is None or subj.code not in codes):
            continue  # enrolled after the decision: not in its data
        now = outcomes(s, trial, design, through=dec.after_cohort, backfill_codes=codes)
        if not correction and (now == dec.outcomes or only_resolved(dec.outcomes, now)):
            continue
        when = "after signature" if dec.confirmed_at is not None else "since computed"
        note = f"data changed {when}: {why}"
        if now != dec.outcomes:
            note += f"; outcomes now {now!r}, computed from {dec.outcomes!r}"
        old = dec.data_changed_note
        dec.data_changed = True
        dec.data_changed_note = f"{old}\n{note}" if old else note
        audit.record(s, who, "flag", "decision", dec.id, "data_changed", old, note, why)
        marked.append(dec)
    return marked


def decision_dict(d: Decision) -> dict[str, Any]:
    detail = dict(d.detail or {})
    signed = d.confirmed_at is not None
    return {
        "id": d.id,
        "after_cohort": d.after_cohort,
        "outcomes": d.outcomes,
        "next_dose": d.next_dose,
        "stop": d.stop,
        "selected": d.selected,
        "reason": d.reason,
        "action": detail.get("action"),
        "estimates": detail.get("estimates", {}),
        "message": detail.get("message"),
        "confirmed": signed,
        "signer": d.signer_name,
        "meaning": d.signature_meaning,
        "verdict": d.verdict,
        "approved_dose": d.approved_dose,
        "verdict_reason": d.verdict_reason,
        "confirmed_at": d.confirmed_at.isoformat() if d.confirmed_at else None,
        "data_changed": d.data_changed,
        "data_changed_label": (
            ("data changed after signature" if signed else "data changed since computed")
            if d.data_changed
            else None
        ),
        "data_changed_note": d.data_changed_note,
        # each dose's patients, DLTs (and responses, for a design counting them) behind it
        "per_dose": detail.get("per_dose", []),
        "backfill_subjects": detail.get("backfill_subjects"),
        # what ``selected`` names once the trial stops: the MTD, or BOIN12's OBD
        "selected_label": detail.get("selected_label"),
    }


def subject_review(s: Session, trial: Trial, subj: Subject) -> dict[str, Any]:
    """One subject's data as the statistician reviews it: doses with dates and study days,
    the DLT window and evaluability, every adverse event with its grade, and the DLTs."""
    zone = zone_of(trial)
    design = design_of(trial)
    cohort, assigned = assigned_dose(s, trial, subj)
    ref = first_dose_date(s, trial, subj)
    letter = evaluation(s, trial, design, subj)
    site = s.get(Site, subj.site_id)
    doses = [
        {
            "id": i.id,
            "number": i.number,
            "infused_at": instant_text(i.infused_at, zone),
            "date": iso(infusion_date(i, zone)),
            "study_day": study_day(infusion_date(i, zone), ref)
            if i.infused_at is not None
            else i.study_day,
            "cells_per_kg": i.cells_per_kg,
            "assigned": assigned,
            "total_cells": i.total_cells,
            "lot": i.lot,
            "deviation": i.deviation,
            "deviation_reason": i.deviation_reason,
        }
        for i in infusions(s, subj)
    ]
    aes = [
        {
            "id": ae.id,
            "soc": ae.soc,
            "pt": ae.pt,
            "grade": ae.grade,
            "serious": ae.serious,
            "related": ae.related,
            "dlt": ae.dlt,
            "onset_on": iso(ae.onset_on),
            "onset_day": study_day(ae.onset_on, ref) if ae.onset_on else ae.onset_day,
            "resolved_on": iso(ae.resolved_on),
        }
        for ae in s.execute(
            select(AdverseEvent)
            .where(AdverseEvent.subject_id == subj.id, AdverseEvent.voided.is_(False))
            .order_by(AdverseEvent.id)
        ).scalars()
    ]
    a = assessment(s, subj)
    return {
        "id": subj.id,
        "code": subj.code,
        "site": site.name if site is not None else None,
        "cohort": cohort.number,
        "dose_level": cohort.dose_level,
        "backfill": backfilling.is_backfill_cohort(cohort),
        # responder by the protocol's rule (None: not recorded), for designs counting it
        "response": responded(s, trial, design, subj) if uses_responses(design) else None,
        "weight_kg": subj.weight_kg,
        "enrolled_on": iso(subj.enrolled_on),
        "voided": subj.voided,
        "void_reason": subj.void_reason,
        "first_dose_on": iso(ref),
        "infusions": doses,
        "window": window(s, trial, subj).to_dict(zone),
        "evaluable": {None: "pending", NOT_EVALUABLE: "no"}.get(letter, "yes"),
        "outcome": letter,
        "assessment": None
        if a is None
        else {
            "id": a.id,
            "assessed_on": iso(a.assessed_on),
            "evaluable": a.evaluable,
            "dlt": a.dlt,
            "description": a.description,
        },
        "adverse_events": aes,
        "dlts": [ae for ae in aes if ae["dlt"]],
    }


class DecisionsMixin(ServiceBase):
    def confirm_decision(
        self,
        actor: User,
        decision_id: int,
        password: str,
        meaning: str = "approve",
        dose: int | None = None,
        reason: str | None = None,
    ) -> Decision:
        """Electronic signature (21 CFR 11.50, 11.70, 11.200): the statistician re-enters the
        password; the signature records the printed name, the time and its meaning, bound to
        the decision by a hash of its content. Meanings:

        - ``approve``: the recommendation (the next cohort at its dose, or the stop);
        - ``approve_other_dose``: the next cohort at ``dose`` instead (a reason is required;
          the deviation from the design is recorded with the signature and in the trail);
        - ``stop``: stop the trial (a reason is required unless the design recommends it);
        - ``reject``: do not accept the recommendation (a reason is required); enrolment
          stays paused until a new decision is computed and approved.

        Only an approval opens the next cohort, at the approved dose."""
        require(actor, "statistician")
        self.reauthenticate(actor, password)
        key = str(meaning or "").strip().lower().replace("-", "_").replace(" ", "_")
        p = Problems()
        if key not in MEANINGS:
            p.add("meaning", f"one of {', '.join(MEANINGS)}, got {meaning!r}")
        why = reason.strip() if isinstance(reason, str) and reason.strip() else None
        with self._tx() as s:
            dec = s.get(Decision, decision_id)
            if dec is None:
                raise ConductError(f"decision: no decision {decision_id}")
            if dec.confirmed_at is not None:
                raise ConductError(f"decision: decision {decision_id} is already signed")
            trial = s.get(Trial, dec.trial_id)
            assert trial is not None
            n_doses = len(trial.dose_levels)
            verdict = MEANINGS.get(key)
            approved: int | None = None
            if verdict == "APPROVED":
                approved = None if dec.stop else dec.next_dose
                statement = (
                    f"Approved: stop the trial as recommended ({dec.reason})"
                    if dec.stop
                    else f"Approved: next cohort at dose level {dec.next_dose} as recommended"
                )
            elif verdict == "APPROVED_OTHER_DOSE":
                level = p.whole(dose, "dose", 1, n_doses) if dose is not None else None
                if dose is None:
                    p.add("dose", f"the dose level (1-{n_doses}) approved instead")
                elif level is not None and level == dec.next_dose and not dec.stop:
                    p.add("dose", f"dose level {level} is the recommendation; approve it")
                if why is None:
                    p.add("reason", "required to approve a dose other than the design's")
                approved = level
                recommended = "stop" if dec.stop else f"dose level {dec.next_dose}"
                statement = (
                    f"Approved with a deviation from the design: next cohort at dose level "
                    f"{level} instead of {recommended} ({why})"
                )
            elif verdict == "STOPPED":
                if not dec.stop and why is None:
                    p.add("reason", "required to stop when the design does not recommend it")
                statement = f"Stop the trial{f' ({why})' if why else ''}"
            else:
                if why is None:
                    p.add("reason", "required to reject the recommendation")
                statement = f"Rejected: enrolment stays paused ({why})"
            p.raise_any()
            dec.confirmed_by = actor.id
            dec.signer_name = actor.full_name
            dec.signature_meaning = statement[:200]
            dec.verdict = verdict
            dec.approved_dose = approved
            dec.verdict_reason = why
            dec.confirmed_at = utcnow()
            content = json.dumps(
                {
                    "id": dec.id,
                    "outcomes": dec.outcomes,
                    "next": dec.next_dose,
                    "stop": dec.stop,
                    "selected": dec.selected,
                    "signer": actor.username,
                    "meaning": dec.signature_meaning,
                    "verdict": verdict,
                    "approved_dose": approved,
                    "reason": why,
                    "at": dec.confirmed_at.isoformat(),
                },
                sort_keys=True,
            )
            dec.signature_hash = hashlib.sha256(content.encode()).hexdigest()
            audit.record(
                s,
                actor.username,
                "sign",
                "decision",
                dec.id,
                "signature",
                None,
                f"{actor.full_name}: {statement}",
                why,
            )
            if verdict == "APPROVED_OTHER_DOSE":
                audit.record(
                    s,
                    actor.username,
                    "deviation",
                    "decision",
                    dec.id,
                    "next_dose",
                    "stop" if dec.stop else dec.next_dose,
                    approved,
                    why,
                )
            return dec

    def decide_now(self, actor: User, trial_name: str) -> Decision:
        """Ask a design that decides while subjects are pending (TITE-CRM, TITE-BOIN, rolling
        six) for the next dose once the last cohort is full, from each subject's follow-up as
        of today: a new subject is ready to be dosed. The decision is frozen with that
        follow-up and awaits the statistician's signature like any other. When the design
        suspends accrual (TITE-BOIN's pending rule, the rolling six's table) nothing is
        frozen and the refusal says why; ask again when more DLT outcomes are known."""
        require(actor, "admin", "investigator", "statistician")
        with self._tx() as s:
            trial = trial_named(s, trial_name)
            design = design_of(trial)
            cohorts = cohorts_of(s, trial)
            if not cohorts:
                raise ConductError("cohort: no subject yet; the first cohort takes the start dose")
            last = cohorts[-1]
            if not decides_while_pending(design):
                why = waiting_for(s, trial, design, last) or (
                    f"{trial.design_name} decides once every subject of the cohort is evaluated"
                )
                raise ConductError(f"design: {why}")
            group = [m for m in members(s, last) if not m.voided]
            filled = sum(counts_in_cohort(s, trial, design, m) for m in group)
            if filled < last.size:
                raise ConductError(
                    f"cohort: cohort {last.number} has {filled} of its {last.size} subjects; "
                    "enrol into it at its dose first"
                )
            current = latest_decision(s, trial, last.number)
            if current is not None:
                raise ConductError(
                    f"decision: decision {current.id} after cohort {last.number} is on record; "
                    "sign it, or recompute it with a reason if it was rejected or its data "
                    "changed"
                )
            d, _seen = _design_answer(s, trial, design)
            if (d.estimates or {}).get("suspend"):
                raise ConductError(f"decision: {d.message or d.reason}")
            return _freeze(s, actor.username, trial, last, design)

    def recompute_decision(self, actor: User, decision_id: int, reason: str) -> Decision:
        """Compute a new decision for the same cohort from the data as they are now, when the
        one in force was rejected or its data changed; the old one stays on record."""
        require(actor, "statistician")
        p = Problems()
        why = p.text(reason, "reason")
        p.raise_any()
        with self._tx() as s:
            old = s.get(Decision, decision_id)
            if old is None:
                raise ConductError(f"decision: no decision {decision_id}")
            trial = s.get(Trial, old.trial_id)
            assert trial is not None
            current = latest_decision(s, trial, old.after_cohort)
            if current is None or current.id != old.id:
                raise ConductError(f"decision: decision {decision_id} was already superseded")
            if old.verdict != "REJECTED" and not old.data_changed:
                raise ConductError(
                    f"decision: decision {decision_id} stands (neither rejected nor based on "
                    "changed data)"
                )
            cohort = s.execute(
                select(Cohort).where(Cohort.trial_id == trial.id, Cohort.number == old.after_cohort)
            ).scalar_one()
            later = s.execute(
                select(Cohort).where(Cohort.trial_id == trial.id, Cohort.number > old.after_cohort)
            ).scalar()
            if later is not None:
                raise ConductError(
                    f"decision: cohort {later.number} is already open; a decision is taken "
                    "after the last cohort"
                )
            dec = _freeze(s, actor.username, trial, cohort, design_of(trial))
            audit.record(
                s, actor.username, "recompute", "decision", dec.id, "supersedes", None, old.id, why
            )
            return dec

    def review(self, actor: User, decision_id: int) -> dict[str, Any]:
        """What the statistician reviews before signing: the cohort's subject-level data, the
        design's recommendation with its rule and estimates, and the earlier decisions."""
        require(actor, "statistician", "admin", "monitor")

        def get(s: Session) -> dict[str, Any]:
            dec = s.get(Decision, decision_id)
            if dec is None:
                raise ConductError(f"decision: no decision {decision_id}")
            trial = s.get(Trial, dec.trial_id)
            assert trial is not None
            cohort = s.execute(
                select(Cohort).where(Cohort.trial_id == trial.id, Cohort.number == dec.after_cohort)
            ).scalar_one()
            design = design_of(trial)
            earlier = [
                decision_dict(d)
                for d in s.execute(
                    select(Decision)
                    .where(Decision.trial_id == trial.id, Decision.id < dec.id)
                    .order_by(Decision.id)
                ).scalars()
            ]
            return {
                "trial": trial.name,
                "design": trial.design_name,
                "time_zone": conduct_of(trial)["time_zone"],
                "conduct": conduct_of(trial),
                "cohort": {
                    "number": cohort.number,
                    "dose_level": cohort.dose_level,
                    "dose": trial.dose_levels[cohort.dose_level - 1],
                    "dose_unit": trial.dose_unit,
                    "size": cohort.size,
                },
                "subjects": [subject_review(s, trial, m) for m in members(s, cohort)],
                # with backfill: the backfill subjects the decision was given
                "backfill_subjects": [
                    subject_review(s, trial, subject_coded(s, trial, code))
                    for code in _backfill_codes(dec) or []
                ],
                "recommendation": decision_dict(dec),
                "outcomes_now": outcomes(
                    s, trial, design, through=dec.after_cohort, backfill_codes=_backfill_codes(dec)
                ),
                # what a design deciding while subjects are pending was given: each subject's
                # follow-up as of the day the decision was computed
                "decides_while_pending": decides_while_pending(design),
                "pending_rule": pending_rule(design),
                "as_of": (dec.detail or {}).get("as_of"),
                "follow_up": (dec.detail or {}).get("follow_up", []),
                "earlier_decisions": earlier,
            }

        return self.read(get)
