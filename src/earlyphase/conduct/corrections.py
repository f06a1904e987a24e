"""Corrections and voiding, for every record type. Nothing is deleted (ICH E6(R3) 4.2.1,
21 CFR 11.10(e)): a correction changes fields with a required reason, each old value kept in
the audit trail; a wrong record is voided with a reason, kept in the database and the audit
export, and left out of analyses and decisions. The entry checks run again on the corrected
values. A correction behind a decision already computed or signed marks that decision
("data changed after signature"); it is never recomputed silently."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from earlyphase.conduct import audit
from earlyphase.conduct.common import (
    ConductError,
    Problems,
    ServiceBase,
    as_utc,
    may_write,
    subject_coded,
    trial_named,
    zone_of,
)
from earlyphase.conduct.decisions import flag_changes, maybe_decide
from earlyphase.conduct.entry import CHECKS, FIELDS, parse
from earlyphase.conduct.models import (
    AdverseEvent,
    BiomarkerValue,
    Cohort,
    DltAssessment,
    FollowUp,
    Infusion,
    Response,
    Subject,
    Trial,
    User,
)

#: Record types by the name the API uses, with their model.
MODELS: dict[str, type[Any]] = {
    "subject": Subject,
    "infusion": Infusion,
    "adverse_event": AdverseEvent,
    "dlt_assessment": DltAssessment,
    "response": Response,
    "follow_up": FollowUp,
    "biomarker": BiomarkerValue,
}


def _current(kind: str, row: Any) -> dict[str, Any]:
    out = {k: getattr(row, k) for k in FIELDS[kind]}
    if kind == "infusion" and row.infused_at is not None:
        out["infused_at"] = as_utc(row.infused_at)
    return out


class CorrectionsMixin(ServiceBase):
    def _locate(
        self, s: Session, actor: User, trial_name: str, kind: str, record: int | str
    ) -> tuple[Any, Subject]:
        if kind not in MODELS:
            raise ConductError(f"kind: one of {', '.join(MODELS)}, got {kind!r}")
        trial = trial_named(s, trial_name)
        if kind == "subject" and isinstance(record, str):
            subj = subject_coded(s, trial, record)
            may_write(actor, subj)
            return subj, subj
        row = s.get(MODELS[kind], int(record))
        owner: Subject | None = (
            row if kind == "subject" else (s.get(Subject, row.subject_id) if row else None)
        )
        missing = f"{kind}: no {kind.replace('_', ' ')} {record} in {trial_name!r}"
        if row is None or owner is None or owner.trial_id != trial.id:
            raise ConductError(missing)
        # another site's record reads as a missing one: its existence is not disclosed
        may_write(actor, owner, missing)
        return row, owner

    def correct(
        self,
        actor: User,
        trial_name: str,
        kind: str,
        record: int | str,
        changes: dict[str, Any],
        reason: str,
    ) -> Any:
        """Change fields of one record (``kind``: subject, infusion, adverse_event,
        dlt_assessment, response, follow_up or biomarker; a subject also by its code). The
        reason is required; every changed field is an audit entry with its old and new value;
        the entry checks run on the corrected record."""
        p = Problems()
        why = p.text(reason, "reason", 2000)
        if not changes:
            p.add("changes", "nothing to correct")
        with self._tx() as s:
            row, subj = self._locate(s, actor, trial_name, kind, record)
            trial = trial_named(s, trial_name)
            if row.voided:
                p.add(kind, f"{kind.replace('_', ' ')} {row.id} is voided ({row.void_reason})")
            unknown = [k for k in changes if k not in FIELDS[kind]]
            for k in unknown:
                p.add(k, f"not a field of {kind} (fields: {', '.join(FIELDS[kind])})")
            known = {k: v for k, v in changes.items() if k in FIELDS[kind]}
            new = parse(kind, p, known, zone_of(trial))
            merged = {**_current(kind, row), **new}
            derived = CHECKS[kind](s, trial, subj, merged, p, row.id)
            p.raise_any()
            assert why is not None
            if kind == "infusion":
                merged["total_cells"] = merged["cells_per_kg"] * row.weight_kg
                merged["deviation"] = derived["deviation"]
                if not derived["deviation"]:
                    merged["deviation_reason"] = None
            changed = [k for k, v in merged.items() if _differs(kind, row, k, v)]
            if not changed:
                raise ConductError(f"changes: the {kind.replace('_', ' ')} already reads so")
            for k in changed:
                audit.record(
                    s,
                    actor.username,
                    "change",
                    MODELS[kind].__tablename__,
                    row.id,
                    k,
                    getattr(row, k),
                    merged[k],
                    why,
                )
                setattr(row, k, merged[k])
            s.flush()
            what = f"{kind.replace('_', ' ')} {row.id} of {subj.code} corrected ({why})"
            self._after_correction(s, actor, trial_name, subj, what)
            return row

    def void(self, actor: User, trial_name: str, kind: str, record: int | str, reason: str) -> Any:
        """Void one record with a required reason: it stays in the database and the audit
        trail, and drops out of analyses, exports and decisions."""
        p = Problems()
        why = p.text(reason, "reason", 2000)
        p.raise_any()
        assert why is not None
        with self._tx() as s:
            row, subj = self._locate(s, actor, trial_name, kind, record)
            if row.voided:
                raise ConductError(f"{kind}: {row.id} is already voided ({row.void_reason})")
            audit.record(
                s,
                actor.username,
                "void",
                MODELS[kind].__tablename__,
                row.id,
                "voided",
                False,
                True,
                why,
            )
            row.voided, row.void_reason = True, why
            s.flush()
            what = f"{kind.replace('_', ' ')} {row.id} of {subj.code} voided ({why})"
            self._after_correction(s, actor, trial_name, subj, what)
            return row

    def _after_correction(
        self, s: Session, actor: User, trial_name: str, subj: Subject, what: str
    ) -> None:
        trial = trial_named(s, trial_name)
        flag_changes(s, actor.username, trial, subj, what, correction=True)
        cohort = s.get(Cohort, subj.cohort_id)
        assert cohort is not None
        maybe_decide(s, actor.username, trial, cohort)  # a freed or completed cohort

    def change_ae_grade(self, actor: User, ae_id: int, grade: int, reason: str) -> AdverseEvent:
        """Correct an adverse event's grade (a :meth:`correct` of one field)."""

        def trial_of(s: Session) -> str:
            ae = s.get(AdverseEvent, ae_id)
            if ae is None:
                raise ConductError(f"ae: no adverse event {ae_id}")
            subj = s.get(Subject, ae.subject_id)
            assert subj is not None
            t = s.get(Trial, subj.trial_id)
            assert t is not None
            return t.name

        row: AdverseEvent = self.correct(
            actor, self.read(trial_of), "adverse_event", ae_id, {"grade": grade}, reason
        )
        return row


def _differs(kind: str, row: Any, field: str, value: Any) -> bool:
    old = getattr(row, field)
    if field == "infused_at" and old is not None and value is not None:
        return bool(as_utc(old) != as_utc(value))
    return bool(old != value)
