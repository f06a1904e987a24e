"""Backfill in a running trial (BF-BOIN, Zhao, Yuan, Korn & Freidlin 2024): which doses are
open to an arriving subject, and what the design is given.

A backfill subject belongs to the backfill cohort of its dose: a cohort row numbered
``-level`` (the escalation cohorts are numbered 1, 2, ...), so that the subject's assigned
dose is its cohort's as for every other subject, and the escalation's cohorts, decisions and
numbering are untouched. The row is created, audited, with the first subject backfilled at
the dose.

The design (:class:`~earlyphase.designs.backfill.Backfill`) is given every counted subject
(escalation and backfill, voided and non-evaluable ones left out) in order of enrolment, each
with its dose, its DLT, whether its outcome is known (a DLT, or the end-of-window
assessment), whether it is a backfill subject, and whether it responded (by the protocol's
response rule). The service's rules where the paper leaves conduct open:

- a subject is backfilled only while the current escalation cohort is full and its DLT
  outcomes are pending (no decision frozen yet); once they are known the next subject waits
  for the signed decision and joins the next escalation cohort, as in the paper, where that
  arrival triggers the decision;
- a backfill subject's outcome counts from the day it is known; pending ones are not waited
  for, and one known only after a decision was frozen joins the next decision (it is new
  data, not a change of the data behind the signed one);
- a dose closes to backfill when the escalation moves to or below it (only doses below the
  current one are open, as the paper says); its backfill subjects stay in the data;
- a non-evaluable backfill subject is left out of the data and takes no slot back from the
  cap (the cap counts subjects treated).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct.models import Cohort, Subject, Trial
from earlyphase.conduct.timeline import FollowUpTime, follow_up_time, responded

#: The escalation cohorts are numbered from 1; a backfill cohort is numbered ``-level``.
ESCALATION_FROM = 1


def backfill_number(level: int) -> int:
    """The number of the backfill cohort of dose ``level``."""
    return -level


def is_backfill_cohort(cohort: Cohort) -> bool:
    return cohort.number < ESCALATION_FROM


def backfill_cohorts(s: Session, trial: Trial) -> list[Cohort]:
    """The trial's backfill cohorts, by dose."""
    return list(
        s.execute(
            select(Cohort)
            .where(Cohort.trial_id == trial.id, Cohort.number < ESCALATION_FROM)
            .order_by(Cohort.dose_level)
        ).scalars()
    )


def _members(s: Session, cohort: Cohort) -> list[Subject]:
    return list(
        s.execute(
            select(Subject).where(Subject.cohort_id == cohort.id).order_by(Subject.id)
        ).scalars()
    )


def subjects(s: Session, trial: Trial) -> list[tuple[Subject, Cohort]]:
    """Every subject with its cohort: the escalation cohorts' in order, then the backfill
    subjects in order of enrolment (the design groups the escalation subjects into cohorts
    by their order; a backfill subject's place among them does not matter to it)."""
    cohorts = list(
        s.execute(select(Cohort).where(Cohort.trial_id == trial.id).order_by(Cohort.number))
        .scalars()
        .all()
    )
    escalation = [(m, c) for c in cohorts if not is_backfill_cohort(c) for m in _members(s, c)]
    backfill = [(m, c) for c in cohorts if is_backfill_cohort(c) for m in _members(s, c)]
    backfill.sort(key=lambda mc: mc[0].id)
    return escalation + backfill


def history(
    s: Session, trial: Trial, design: Any, as_of: dt.date
) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """What the design's ``decide`` takes, and the same per subject for the record (its
    follow-up as of ``as_of``, whether it is a backfill subject and responded).

    Follow-up is given in the design's window unit as the fraction of the protocol's DLT
    window: an outcome is known exactly when the dated record says so (a DLT, or the
    end-of-window assessment), whatever unit ``backfill_window`` was given in."""
    out: dict[str, list[Any]] = {
        "level": [],
        "dlt": [],
        "follow_up": [],
        "backfill": [],
        "response": [],
    }
    rows: list[dict[str, Any]] = []
    for subj, cohort in subjects(s, trial):
        f: FollowUpTime | None = follow_up_time(s, trial, design, subj, cohort.dose_level, as_of)
        if f is None:
            continue
        known = f.outcome != "P"
        back = is_backfill_cohort(cohort)
        resp = bool(responded(s, trial, design, subj))
        out["level"].append(f.level)
        out["dlt"].append(f.outcome == "T")
        out["follow_up"].append(
            float(design.window) if known else design.window * f.days / f.window_days
        )
        out["backfill"].append(back)
        out["response"].append(resp)
        rows.append({**f.to_dict(), "backfill": back, "response": resp, "cohort": cohort.number})
    return out, rows


def closed_reasons(design: Any, estimates: dict[str, Any], current: int) -> dict[int, str]:
    """Why each dose is not open for backfill, from the design's own counts (1-based)."""
    opened = set(estimates.get("backfill_open") or [])
    n_esc = estimates.get("n_escalation") or [0] * design.n_doses
    treated = estimates.get("n_treated") or [0] * design.n_doses
    n_back = sum(estimates.get("n_backfill") or [])
    responses = estimates.get("responses_at") or [0] * design.n_doses
    out: dict[int, str] = {}
    for level in range(1, design.n_doses + 1):
        i = level - 1
        if level in opened:
            continue
        if level >= current:
            out[level] = "not below the current escalation dose"
        elif n_esc[i] == 0:
            out[level] = "not treated during escalation"
        elif design.max_backfill is not None and n_back >= design.max_backfill:
            out[level] = f"the trial has its {design.max_backfill} backfill subjects"
        elif treated[i] >= design.cap_per_dose:
            out[level] = f"at the cap ({treated[i]} of {design.cap_per_dose} treated)"
        elif design.require_response and responses[i] == 0:
            out[level] = "no response seen there yet"
        else:
            out[level] = (
                "not safe: its DLTs (alone or pooled with the dose above) reach the "
                "de-escalation boundary, or a lower dose is unsafe"
            )
    return out


def per_dose(
    design: Any, estimates: dict[str, Any], hist: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """Each dose's counts as the design counts them, with the cap and the responses seen."""
    rows = []
    for i in range(design.n_doses):
        rows.append(
            {
                "dose_level": i + 1,
                "treated": int(estimates["n_treated"][i]),
                "escalation": int(estimates["n_escalation"][i]),
                "backfill": int(estimates["n_backfill"][i]),
                "known": int(estimates["n"][i]),
                "dlt": int(estimates["dlt"][i]),
                "pending": int(estimates["pending"][i]),
                "responses": sum(
                    1
                    for lv, r in zip(hist["level"], hist["response"], strict=True)
                    if lv == i + 1 and r
                ),
                "cap": design.cap_per_dose,
            }
        )
    return rows


def responses_at(design: Any, hist: dict[str, list[Any]]) -> list[int]:
    out = [0] * design.n_doses
    for lv, r in zip(hist["level"], hist["response"], strict=True):
        out[lv - 1] += bool(r)
    return out


def tokens(rows: list[dict[str, Any]], codes: set[str] | None = None) -> str:
    """The backfill subjects' letters by dose (``"1NP 2T"``: ``P`` pending), of ``codes``
    only when given (the subjects a decision was given)."""
    by_level: dict[int, str] = {}
    for r in rows:
        if not r["backfill"] or (codes is not None and r["code"] not in codes):
            continue
        by_level[r["dose_level"]] = by_level.get(r["dose_level"], "") + r["outcome"]
    return " ".join(f"{lv}{letters}" for lv, letters in sorted(by_level.items()))
