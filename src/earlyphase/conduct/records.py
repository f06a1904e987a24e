"""A subject's whole record as the pages show it: every record (voided ones marked), each
with the values its correction form starts from, and what the record derives (study days, the
DLT window and the day of it, evaluability). Values read as a coordinator reads them: dose
levels by number, amount and unit; every instant with the trial's time zone and its offset.

:class:`RecordsMixin` gives them through :class:`~earlyphase.conduct.service.TrialService`,
so the pages read the record through the service, never the models."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct.common import (
    ConductError,
    ServiceBase,
    local,
    subject_coded,
    trial_named,
    zone_of,
)
from earlyphase.conduct.decisions import subject_review
from earlyphase.conduct.models import (
    AdverseEvent,
    BiomarkerValue,
    Cohort,
    DltAssessment,
    FollowUp,
    Infusion,
    Site,
    Subject,
    User,
)
from earlyphase.conduct.models import Response as ResponseRecord

#: Record types that have a correction and a void form, in the order a subject's page
#: lists them, with the model that holds them.
KINDS: dict[str, type[Any]] = {
    "subject": Subject,
    "infusion": Infusion,
    "adverse_event": AdverseEvent,
    "dlt_assessment": DltAssessment,
    "response": ResponseRecord,
    "follow_up": FollowUp,
    "biomarker": BiomarkerValue,
}
KIND_LABELS = {
    "subject": "Enrolment",
    "infusion": "Infusion",
    "adverse_event": "Adverse event",
    "dlt_assessment": "DLT assessment",
    "response": "Response",
    "follow_up": "Follow-up",
    "biomarker": "Biomarker",
}
RESPONSES = (
    ("CR", "CR: complete response"),
    ("PR", "PR: partial response"),
    ("SD", "SD: stable disease"),
    ("PD", "PD: progressive disease"),
    ("NR", "NR: no response"),
    ("NE", "NE: not evaluable"),
)
GRADES = (
    ("1", "Grade 1: mild"),
    ("2", "Grade 2: moderate"),
    ("3", "Grade 3: severe"),
    ("4", "Grade 4: life-threatening"),
    ("5", "Grade 5: death"),
)

#: The fields a correction form offers per record type: (field, label, widget). The widget
#: decides the input: a date picker for calendar dates, a date-and-time picker for instants,
#: a select for the grade and the response, yes/no radio buttons for every flag.
FIELD_SPECS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "subject": (
        ("weight_kg", "Weight (kg)", "number"),
        ("enrolled_on", "Enrolment date", "date"),
    ),
    "infusion": (
        ("number", "Infusion number in the schedule", "integer"),
        ("infused_at", "Date and time of the infusion", "instant"),
        ("cells_per_kg", "Dose given", "number"),
        ("lot", "Lot", "text"),
        ("lot_released", "Lot released", "yesno"),
        ("deviation_reason", "Reason for a dose outside the tolerance", "note"),
    ),
    "adverse_event": (
        ("soc", "System organ class", "text"),
        ("pt", "Preferred term", "text"),
        ("grade", "Grade (CTCAE)", "grade"),
        ("serious", "Serious", "yesno"),
        ("related", "Related to the treatment", "yesno"),
        ("dlt", "Meets the protocol's DLT criteria", "yesno"),
        ("onset_on", "Onset date", "date"),
        ("resolved_on", "Resolution date (blank: ongoing)", "date"),
    ),
    "dlt_assessment": (
        ("assessed_on", "Assessment date", "date"),
        ("evaluable", "Evaluable: completed the DLT window without a DLT", "yesno"),
        ("description", "Why not evaluable", "note"),
    ),
    "response": (
        ("visit", "Visit", "text"),
        ("value", "Response", "response"),
        ("assessed_on", "Assessment date", "date"),
    ),
    "follow_up": (
        ("last_on", "Last date known alive, or date of death", "date"),
        ("died", "Died", "yesno"),
    ),
    "biomarker": (
        ("parameter", "Parameter", "text"),
        ("measured_on", "Measurement date", "date"),
        ("value", "Value", "number"),
        ("baseline", "Baseline value", "yesno"),
    ),
}  #: Fields a correction may clear (an empty input is "none", not "unchanged").
OPTIONAL = {"resolved_on", "deviation_reason", "description"}


# --- how values read ------------------------------------------------------------------------
def dose_label(level: int, amount: float, unit: str) -> str:
    """ "Level 2: 1.0 x 10^6 cells/kg": the level, its amount and its unit together."""
    return f"Level {level}: {float(amount)} {unit}"


def zone_text(zone: ZoneInfo, at: dt.datetime | None = None) -> str:
    """The zone's name with its UTC offset at ``at`` (now by default): "Asia/Tokyo, UTC+09:00"."""
    t = (at or dt.datetime.now(dt.UTC)).astimezone(zone)
    offset = t.strftime("%z")
    return f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"


def when(t: dt.datetime | None, zone: ZoneInfo) -> str:
    """An instant as the site reads it: local date and time with the zone and its offset."""
    if t is None:
        return "not recorded"
    lt = local(t, zone)
    return f"{lt:%Y-%m-%d %H:%M} ({zone_text(zone, lt)})"


def iso_instant(text: str | None, zone: ZoneInfo) -> dt.datetime | None:
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def form_value(row: Any, field: str, zone: ZoneInfo) -> str:
    """The value as its input holds it, so that an untouched input reads as unchanged."""
    v = getattr(row, field)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dt.datetime):
        return f"{local(v, zone):%Y-%m-%dT%H:%M}"
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


# --- reading a subject's record ---------------------------------------------------------
def _rows(s: Session, model: type[Any], subj: Subject) -> list[Any]:
    return list(
        s.execute(select(model).where(model.subject_id == subj.id).order_by(model.id)).scalars()
    )


def _fields(kind: str, row: Any, zone: ZoneInfo) -> list[dict[str, str]]:
    return [
        {"name": f, "label": label, "widget": w, "value": form_value(row, f, zone)}
        for f, label, w in FIELD_SPECS[kind]
    ]


def _record(kind: str, row: Any, zone: ZoneInfo, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "id": row.id,
        "voided": bool(row.voided),
        "void_reason": row.void_reason,
        "fields": _fields(kind, row, zone),
        **extra,
    }


def subject_record(s: Session, actor: User, trial_name: str, code: str) -> dict[str, Any]:
    """Everything recorded for one subject, voided records included (marked), with what the
    record derives (study days, the DLT window, evaluability). An investigator sees the own
    site's subjects only; another site's subject reads as unknown, as it does everywhere."""
    trial = trial_named(s, trial_name)
    subj = subject_coded(s, trial, code)
    if actor.role == "investigator" and subj.site_id != actor.site_id:
        raise ConductError(f"code: no subject {code!r} in {trial.name!r}")
    zone = zone_of(trial)
    cohort = s.get(Cohort, subj.cohort_id)
    assert cohort is not None
    assigned = float(trial.dose_levels[cohort.dose_level - 1])
    unit = trial.dose_unit
    derived = subject_review(s, trial, subj)
    day_of = {i["id"]: i["study_day"] for i in derived["infusions"]}
    ae_day = {a["id"]: a["onset_day"] for a in derived["adverse_events"]}
    site = s.get(Site, subj.site_id)
    infusions = [
        _record(
            "infusion",
            i,
            zone,
            number=i.number,
            at=when(i.infused_at, zone),
            study_day=day_of.get(i.id),
            given=f"{float(i.cells_per_kg)} {unit}",
            assigned=f"{assigned} {unit}",
            total=f"{i.total_cells:g}",
            lot=i.lot,
            lot_released=i.lot_released,
            deviation=i.deviation,
            deviation_reason=i.deviation_reason,
        )
        for i in _rows(s, Infusion, subj)
    ]
    aes = [
        _record(
            "adverse_event",
            a,
            zone,
            term=f"{a.pt} ({a.soc})",
            grade=a.grade,
            grade_label=dict(GRADES).get(str(a.grade), str(a.grade)),
            onset=a.onset_on.isoformat() if a.onset_on else "not recorded",
            onset_day=ae_day.get(a.id),
            resolved=a.resolved_on.isoformat() if a.resolved_on else "ongoing",
            serious=a.serious,
            related=a.related,
            dlt=a.dlt,
        )
        for a in _rows(s, AdverseEvent, subj)
    ]
    assessments = [
        _record(
            "dlt_assessment",
            a,
            zone,
            on=a.assessed_on.isoformat() if a.assessed_on else "not recorded",
            verdict=(
                "DLT (entered before DLTs were adverse events)"
                if a.dlt
                else "completed the DLT window without a DLT"
                if a.evaluable
                else "not evaluable"
            ),
            description=a.description,
        )
        for a in _rows(s, DltAssessment, subj)
    ]
    responses = [
        _record(
            "response",
            r,
            zone,
            visit=r.visit,
            value=dict(RESPONSES).get(r.value, r.value),
            on=r.assessed_on.isoformat() if r.assessed_on else "not recorded",
        )
        for r in _rows(s, ResponseRecord, subj)
    ]
    follow_ups = [
        _record(
            "follow_up",
            f,
            zone,
            on=f.last_on.isoformat() if f.last_on else "not recorded",
            status="died" if f.died else "alive",
        )
        for f in _rows(s, FollowUp, subj)
    ]
    biomarkers = [
        _record(
            "biomarker",
            b,
            zone,
            parameter=b.parameter,
            on=b.measured_on.isoformat() if b.measured_on else "not recorded",
            value=f"{b.value:g}",
            baseline=b.baseline,
        )
        for b in _rows(s, BiomarkerValue, subj)
    ]
    window = derived["window"]
    return {
        "trial": trial.name,
        "trial_url": quote(trial.name, safe=""),
        "code_url": quote(subj.code, safe=""),
        "zone": zone_text(zone),
        "today": dt.datetime.now(zone).date().isoformat(),
        "now": f"{dt.datetime.now(zone):%Y-%m-%dT%H:%M}",
        "subject": _record(
            "subject",
            subj,
            zone,
            code=subj.code,
            site=site.name if site else "",
            weight=f"{subj.weight_kg:g}",
            enrolled_on=subj.enrolled_on.isoformat() if subj.enrolled_on else "not recorded",
            enrolled_at=when(subj.enrolled_at, zone),
            cohort=cohort.number,
            dose=dose_label(cohort.dose_level, assigned, unit),
        ),
        "first_dose_on": derived["first_dose_on"],
        "window": window,
        "evaluable": derived["evaluable"],
        "dose_unit": unit,
        "records": {
            "infusion": infusions,
            "adverse_event": aes,
            "dlt_assessment": assessments,
            "response": responses,
            "follow_up": follow_ups,
            "biomarker": biomarkers,
        },
    }


def record_fields(
    s: Session, actor: User, trial_name: str, kind: str, record_id: int
) -> dict[str, Any]:
    """One record's current form values and its subject's code (for the correction preview);
    another site's record, or another trial's, reads as missing."""
    trial = trial_named(s, trial_name)
    row = s.get(KINDS[kind], record_id)
    owner = row if kind == "subject" else (s.get(Subject, row.subject_id) if row else None)
    missing = f"{kind}: no {kind.replace('_', ' ')} {record_id} in {trial_name!r}"
    if row is None or owner is None or owner.trial_id != trial.id:
        raise ConductError(missing)
    if actor.role == "investigator" and owner.site_id != actor.site_id:
        raise ConductError(missing)
    return {
        "code": owner.code,
        "zone": zone_text(zone_of(trial)),
        "fields": _fields(kind, row, zone_of(trial)),
    }


class RecordsMixin(ServiceBase):
    def subject_record(self, actor: User, trial_name: str, code: str) -> dict[str, Any]:
        """A subject's whole record (:func:`subject_record`), in a read transaction."""
        return self.read(lambda s: subject_record(s, actor, trial_name, code))

    def record_fields(
        self, actor: User, trial_name: str, kind: str, record_id: int
    ) -> dict[str, Any]:
        """One record's correction-form values (:func:`record_fields`)."""
        return self.read(lambda s: record_fields(s, actor, trial_name, kind, record_id))
