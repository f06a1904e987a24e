"""The trial's status as the dashboard, the API and the safety review packet read it: the
cohorts and their subjects, the pending subjects with their day of the DLT window, the
decisions and their signatures, the dose deviations, each dose's data as the design counts
them, where the next subject would go, and backfill. A view is computed once per state of the
record and per calendar day (follow-up grows with the calendar), then cut to what the reader
may see (an investigator: the own site's subjects)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct import backfilling
from earlyphase.conduct.cache import (
    STATES,
    check_paths,
    design_key,
    fresh,
    trial_and_fingerprint,
)
from earlyphase.conduct.common import (
    ConductError,
    ServiceBase,
    conduct_of,
    design_of,
    today,
    trial_named,
    zone_of,
)
from earlyphase.conduct.decisions import (
    BACKFILL_MARK,
    cohorts_of,
    decision_dict,
    latest_decision,
    members,
    outcomes,
    pending_subjects,
    per_dose,
    selected_label,
    waiting_for,
    withheld_stop,
)
from earlyphase.conduct.models import (
    Cohort,
    Decision,
    Trial,
    User,
)
from earlyphase.conduct.protocol import (
    decides_while_pending,
    is_backfill,
    is_phase12,
    pending_rule,
    response_rule,
    uses_responses,
)
from earlyphase.conduct.timeline import (
    counts_in_cohort,
    infusions,
    instant_text,
)


class StatusMixin(ServiceBase):
    # --- reading --------------------------------------------------------------------------
    def status(self, actor: User, trial_name: str) -> dict[str, Any]:
        """Cohorts, subjects (own site for investigators), the outcome string, the decisions
        (with any data changed after signature) and the dose deviations. The trial's view is
        computed once per state of the record (:mod:`earlyphase.conduct.cache`); what the
        actor may see is taken from it."""
        return self.read(lambda s: _seen_by(actor, _status_view(s, trial_name)))

    def status_and_rules(
        self, actor: User, trial_name: str, depth: int = 1
    ) -> tuple[dict[str, Any], tuple[tuple[Any, ...], Any]]:
        """:meth:`status`, and the design with the key of its decision table as
        :meth:`rules_design` gives them (unchecked: the caller checks its size), from one
        read: the dashboard's data."""

        def get(s: Session) -> tuple[dict[str, Any], tuple[tuple[Any, ...], Any]]:
            view = _status_view(s, trial_name)
            key, design = view["_rules"]
            return _seen_by(actor, view), (("rules", *key, depth), design)

        return self.read(get)

    def recommendation(self, actor: User, trial_name: str) -> dict[str, Any]:
        """The latest frozen decision and the data it was computed from, with the mark when
        the data changed after it."""
        del actor  # every role may read the recommendation

        def get(s: Session) -> dict[str, Any]:
            tid, version = trial_and_fingerprint(s, trial_name)
            if tid is None:
                trial_named(s, trial_name)  # raises for an unknown trial
            assert tid is not None

            def compute() -> dict[str, Any]:
                row = s.execute(
                    select(Decision)
                    .where(Decision.trial_id == tid)
                    .order_by(Decision.id.desc())
                    .limit(1)
                ).scalar()
                if row is None:
                    return {"outcomes": "", "latest": None}
                return {"outcomes": row.outcomes, "latest": decision_dict(row)}

            return fresh(STATES.get(("recommendation", tid, version), compute))

        return self.read(get)

    def rules_design(self, trial_name: str, depth: int = 1) -> tuple[tuple[Any, ...], Any]:
        """The trial's design for its decision table, with a key naming the table (the
        design's name and settings, and ``depth``) under which it may be kept: the table
        depends on nothing else. A table too large to compute (dose paths of the next
        ``depth`` cohorts of a model-based design) is refused with a :class:`ConductError`."""
        trial = self.read(lambda s: trial_named(s, trial_name))
        design = design_of(trial)
        if getattr(design, "table_by_paths", False):
            check_paths(design, depth)
        key = design_key(trial.design_name, trial.design_spec or {})
        return ("rules", *key, depth), design


def _status_view(s: Session, trial_name: str) -> dict[str, Any]:
    """The trial's whole status, kept per state of the record."""
    tid, version = trial_and_fingerprint(s, trial_name)
    if tid is None:
        trial_named(s, trial_name)  # raises for an unknown trial
    assert tid is not None

    def compute() -> dict[str, Any]:
        trial = s.get(Trial, tid)
        assert trial is not None
        return _trial_status(s, trial)

    view = STATES.get(("status", tid, version), compute)
    # follow-up grows with the calendar: a view of an earlier day is computed again
    day = today(ZoneInfo(str(view["conduct"]["time_zone"]))).isoformat()
    if view["as_of"] != day:
        view = STATES.get(("status", tid, version, day), compute)
    return view


def _trial_status(s: Session, trial: Trial) -> dict[str, Any]:
    """The trial's whole status (every site), with each subject's and deviation's site so
    that :func:`_seen_by` can keep an investigator's own."""
    design = design_of(trial)
    zone = zone_of(trial)
    out_cohorts: list[dict[str, Any]] = []
    deviations = []
    back_cohorts = backfilling.backfill_cohorts(s, trial)
    for c in cohorts_of(s, trial) + back_cohorts:
        subs = members(s, c)
        if not backfilling.is_backfill_cohort(c):
            out_cohorts.append(
                {
                    "number": c.number,
                    "dose_level": c.dose_level,
                    "dose": trial.dose_levels[c.dose_level - 1],
                    "size": c.size,
                    "enrolled": sum(counts_in_cohort(s, trial, design, x) for x in subs),
                    "members": [(x.code, x.site_id) for x in subs if not x.voided],
                }
            )
        for x in subs:
            if x.voided:
                continue
            for inf in infusions(s, x):
                if inf.deviation:
                    deviations.append(
                        {
                            "code": x.code,
                            "infusion": inf.id,
                            "number": inf.number,
                            "infused_at": instant_text(inf.infused_at, zone),
                            "cells_per_kg": inf.cells_per_kg,
                            "assigned": trial.dose_levels[c.dose_level - 1],
                            "reason": inf.deviation_reason,
                            "site_id": x.site_id,
                        }
                    )
    decisions = [
        decision_dict(d)
        for d in s.execute(
            select(Decision).where(Decision.trial_id == trial.id).order_by(Decision.id)
        ).scalars()
    ]
    as_of = today(zone)
    pending = pending_subjects(s, trial, design, as_of)
    for row in out_cohorts:
        row["pending"] = sum(1 for p in pending if p.cohort == row["number"])
    waiting = None
    cohorts = cohorts_of(s, trial)
    if cohorts and latest_decision(s, trial, cohorts[-1].number) is None:
        last = cohorts[-1]
        filled = sum(counts_in_cohort(s, trial, design, m) for m in members(s, last))
        if filled >= last.size:
            waiting = waiting_for(s, trial, design, last) or withheld_stop(s, trial, design)
    data = outcomes(s, trial, design)
    answer: Any = None
    backfill = None
    if is_backfill(design) and cohorts:
        hist, _rows = backfilling.history(s, trial, design, as_of)
        answer = design.decide(hist)
        backfill = _backfill_view(s, trial, design, answer, hist, cohorts[-1], back_cohorts)
    elif is_phase12(design):
        answer = design.decide(data.partition(BACKFILL_MARK)[0] or None)
    rule = response_rule(design, trial.design_spec) if uses_responses(design) else None
    return {
        "_rules": (design_key(trial.design_name, trial.design_spec or {}), design),
        "as_of": as_of.isoformat(),
        "decides_while_pending": decides_while_pending(design),
        "pending_rule": pending_rule(design),
        "pending": [p.to_dict() for p in pending],
        "waiting": waiting,
        "trial": trial.name,
        "design": trial.design_name,
        "dose_levels": list(trial.dose_levels),
        "dose_unit": trial.dose_unit,
        "conduct": conduct_of(trial),
        "outcomes": data,
        "cohorts": out_cohorts,
        "decisions": decisions,
        "deviations": deviations,
        # each dose's evaluated subjects and DLTs as the design counts them now (with the
        # responses, for a design counting them)
        "per_dose": per_dose(s, trial, design, answer, data),
        "efficacy": uses_responses(design),
        "response_rule": rule.text() if rule is not None else None,
        "selected_label": selected_label(design),
        "backfill": backfill,
        "next_subject": _next_subject(s, trial),
    }


def _next_subject(s: Session, trial: Trial) -> dict[str, Any]:
    """Where the next arriving subject would go, or why nobody can be enrolled now."""
    from earlyphase.conduct.enrolment import place  # enrolment builds on this module

    try:
        return {**place(s, trial).to_dict(trial), "refusal": None}
    except ConductError as exc:
        return {
            "arm": None,
            "dose_level": None,
            "dose": None,
            "dose_unit": trial.dose_unit,
            "cohort": None,
            "opens_cohort": False,
            "while_pending": None,
            "refusal": str(exc),
        }


def _backfill_view(
    s: Session,
    trial: Trial,
    design: Any,
    answer: Any,
    hist: dict[str, list[Any]],
    last: Cohort,
    back_cohorts: list[Cohort],
) -> dict[str, Any]:
    """The backfill part of the status: the settings, the doses open now, and each dose's
    counts against the cap with, for a closed dose, why (BF-BOIN, Zhao et al. 2024)."""
    est = dict(answer.estimates or {})
    rows = backfilling.per_dose(design, est, hist) if "n_treated" in est else []
    current = int(last.dose_level)
    if "n_treated" in est:
        est["responses_at"] = backfilling.responses_at(design, hist)
        closed = backfilling.closed_reasons(design, est, current)
    else:
        closed = {}
    opened = [int(v) for v in est.get("backfill_open") or []]
    for row in rows:
        row["open"] = row["dose_level"] in opened
        row["why_closed"] = closed.get(row["dose_level"])
    return {
        "window_days": conduct_of(trial)["dlt_window_days"],
        "cap_per_dose": design.cap_per_dose,
        "max_backfill": design.max_backfill,
        "require_response": design.require_response,
        "assign": design.assign,
        "current_dose": current,
        "doses_open": opened,
        "dose_for_next": est.get("backfill_dose"),
        "n_backfill": int(sum(hist["backfill"])),
        "per_dose": rows,
        "cohorts": [
            {
                "number": c.number,
                "dose_level": c.dose_level,
                "members": [(x.code, x.site_id) for x in members(s, c) if not x.voided],
            }
            for c in back_cohorts
        ],
    }


def _seen_by(actor: User, view: dict[str, Any]) -> dict[str, Any]:
    """The status as ``actor`` sees it: an investigator sees the own site's subjects and
    deviations only. A fresh copy, so that the caller cannot change the kept view."""

    def sees(site_id: int | None) -> bool:
        return actor.role != "investigator" or site_id == actor.site_id

    hidden = ("_rules", "cohorts", "deviations", "pending", "backfill")
    out = fresh({k: v for k, v in view.items() if k not in hidden})
    out["pending"] = [
        {k: v for k, v in p.items() if k != "site_id"}
        for p in view["pending"]
        if sees(p["site_id"])
    ]
    out["cohorts"] = [
        {
            **{k: v for k, v in c.items() if k != "members"},
            "subjects": [code for code, site in c["members"] if sees(site)],
        }
        for c in view["cohorts"]
    ]
    out["deviations"] = [
        {k: v for k, v in d.items() if k != "site_id"}
        for d in view["deviations"]
        if sees(d["site_id"])
    ]
    back = view.get("backfill")
    if back is not None:
        out["backfill"] = {
            **fresh({k: v for k, v in back.items() if k != "cohorts"}),
            "cohorts": [
                {
                    **{k: v for k, v in c.items() if k != "members"},
                    "subjects": [code for code, site in c["members"] if sees(site)],
                }
                for c in back["cohorts"]
            ],
        }
    else:
        out["backfill"] = None
    return out
