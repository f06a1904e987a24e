"""Data entry: infusions, adverse events (a DLT is an adverse event that meets the protocol's
DLT criteria), the end-of-window DLT assessment, responses, follow-up and biomarkers.

Every check a coordinator could need is made when the value is entered, and every problem of
the entry is reported at once, each naming its field (ICH E6(R3) 4.2: data are accurate and
complete at the source). A value outside the protocol (a dose beyond the tolerance) is not
refused but recorded as a deviation, which needs its reason. The same checks run again on a
correction (:mod:`earlyphase.conduct.corrections`), on the corrected values."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct import audit
from earlyphase.conduct.common import (
    ConductError,
    Problems,
    ServiceBase,
    assigned_dose,
    conduct_of,
    subject_for_write,
    trial_named,
    zone_of,
)
from earlyphase.conduct.decisions import flag_changes, maybe_decide
from earlyphase.conduct.models import (
    AdverseEvent,
    BiomarkerValue,
    Cohort,
    Decision,
    DltAssessment,
    FollowUp,
    Infusion,
    Response,
    Subject,
    Trial,
    User,
)
from earlyphase.conduct.protocol import uses_responses
from earlyphase.conduct.timeline import (
    assessment,
    dated_records,
    death_date,
    dlt_aes,
    first_dose_date,
    follow_up,
    infusion_date,
    infusions,
    window,
)
from earlyphase.designs.settings import RESPONSES

Parser = Callable[[Problems, Any, ZoneInfo], Any]

#: No record of a subject is dated before this: an earlier date is a typing error (a year
#: 0026 for 2026), not a trial's data.
EARLIEST_DATE = dt.date(1980, 1, 1)
#: A subject's records lie at most this many days after enrolment (twenty years: the
#: long-term follow-up of gene and cell therapies is fifteen).
MAX_DAYS_AFTER_ENROLMENT = 20 * 366
#: Screening values may precede enrolment by at most this many days.
MAX_DAYS_BEFORE_ENROLMENT = 366


def _optional_date(p: Problems, v: Any, zone: ZoneInfo, field: str) -> dt.date | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    return p.date(v, field, zone)


def _optional_text(p: Problems, v: Any, field: str, limit: int = 2000) -> str | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    return p.text(v, field, limit)


def _response_value(p: Problems, v: Any) -> str | None:
    if v not in RESPONSES:
        p.add("value", f"response must be {', '.join(RESPONSES[:-1])} or {RESPONSES[-1]}")
        return None
    return str(v)


#: Each record type's fields as entered and corrected, with the parser of each.
FIELDS: dict[str, dict[str, Parser]] = {
    "subject": {
        "weight_kg": lambda p, v, z: p.number(v, "weight_kg", 1.0, 400.0),
        "enrolled_on": lambda p, v, z: p.date(v, "enrolled_on", z),
    },
    "infusion": {
        "number": lambda p, v, z: None if v is None else p.whole(v, "number", 1, 52),
        "infused_at": lambda p, v, z: p.instant(v, "infused_at", z),
        "cells_per_kg": lambda p, v, z: p.number(v, "cells_per_kg", 0.0, 1000.0),
        "lot": lambda p, v, z: p.text(v, "lot", 80),
        "lot_released": lambda p, v, z: p.flag(v, "lot_released"),
        "deviation_reason": lambda p, v, z: _optional_text(p, v, "deviation_reason"),
    },
    "adverse_event": {
        "soc": lambda p, v, z: p.text(v, "soc"),
        "pt": lambda p, v, z: p.text(v, "pt"),
        "grade": lambda p, v, z: p.whole(v, "grade", 1, 5),
        "serious": lambda p, v, z: p.flag(v, "serious"),
        "related": lambda p, v, z: p.flag(v, "related"),
        "dlt": lambda p, v, z: p.flag(v, "dlt"),
        "onset_on": lambda p, v, z: p.date(v, "onset_on", z),
        "resolved_on": lambda p, v, z: _optional_date(p, v, z, "resolved_on"),
    },
    "dlt_assessment": {
        "assessed_on": lambda p, v, z: p.date(v, "assessed_on", z),
        "evaluable": lambda p, v, z: p.flag(v, "evaluable"),
        "description": lambda p, v, z: _optional_text(p, v, "description") or "",
    },
    "response": {
        "visit": lambda p, v, z: p.text(v, "visit", 40),
        "value": lambda p, v, z: _response_value(p, v),
        "assessed_on": lambda p, v, z: p.date(v, "assessed_on", z),
    },
    "follow_up": {
        "last_on": lambda p, v, z: p.date(v, "last_on", z),
        "died": lambda p, v, z: p.flag(v, "died"),
    },
    "biomarker": {
        "parameter": lambda p, v, z: p.text(v, "parameter", 40),
        "measured_on": lambda p, v, z: p.date(v, "measured_on", z),
        "value": lambda p, v, z: p.number(v, "value", -1e12, 1e12),
        "baseline": lambda p, v, z: p.flag(v, "baseline"),
    },
}


#: Bidirectional overrides and isolates: they make a text read otherwise than it is.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unprintable(text: str, multiline: bool = False) -> bool:
    """Whether ``text`` holds a character no record should: NUL and the other controls (tabs
    and line breaks aside in ``multiline`` text), unpaired surrogates, private-use or
    unassigned code points, bidirectional overrides, and line separators in one-line text.
    NUL is what PostgreSQL refuses outright; the rest no page shows as it was meant."""
    for c in text:
        if multiline and c in "\t\n\r":
            continue
        cat = unicodedata.category(c)
        if cat in ("Cc", "Cs", "Co", "Cn") or c in _BIDI:
            return True
        if not multiline and cat in ("Zl", "Zp"):
            return True
    return False


def _printable(p: Problems, field: str, value: Any) -> Any:
    """Text as a record holds it (:func:`unprintable`), which every database column stores
    the same way and every page shows as typed."""
    if isinstance(value, str) and unprintable(value, multiline=True):
        p.add(field, "control or unprintable characters are not allowed")
        return None
    return value


def parse(kind: str, p: Problems, raw: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The fields of ``raw`` parsed for a ``kind`` record (problems go to ``p``)."""
    return {k: _printable(p, k, FIELDS[kind][k](p, v, zone)) for k, v in raw.items()}


def _dates(
    s: Session,
    subj: Subject,
    p: Problems,
    field: str,
    d: dt.date | None,
    before_enrolment: bool = False,
    exclude_death: bool = False,
) -> None:
    """A date of the subject's record: not before enrolment, not after death, and within the
    span a trial's record can cover (study days bounded both ways)."""
    if d is None:
        return
    if d < EARLIEST_DATE:
        p.add(field, f"{d} is before {EARLIEST_DATE}; check the year")
        return
    on = subj.enrolled_on
    if on is not None and field != "enrolled_on":
        if (d - on).days > MAX_DAYS_AFTER_ENROLMENT:
            p.add(
                field,
                f"{d} is more than {MAX_DAYS_AFTER_ENROLMENT} days after {subj.code}'s "
                f"enrolment on {on}; check the year",
            )
            return
        if before_enrolment and (on - d).days > MAX_DAYS_BEFORE_ENROLMENT:
            p.add(
                field,
                f"{d} is more than {MAX_DAYS_BEFORE_ENROLMENT} days before {subj.code}'s "
                f"enrolment on {on}; check the year",
            )
            return
    if not before_enrolment and on is not None and d < on:
        p.add(field, f"{d} is before {subj.code}'s enrolment on {on}")
    died = None if exclude_death else death_date(s, subj)
    if died is not None and d > died:
        p.add(field, f"{d} is after {subj.code}'s death on {died}")


def check_subject(
    s: Session, trial: Trial, subj: Subject, v: dict[str, Any], p: Problems, exclude: int | None
) -> dict[str, Any]:
    on = v.get("enrolled_on")
    if on is not None:
        for label, d in dated_records(s, trial, subj):
            if d < on and not label.endswith(" value"):  # screening labs may come first
                p.add("enrolled_on", f"{on} is after the {label} on {d}")
                break
        _dates(s, subj, p, "enrolled_on", on, before_enrolment=True)
    return {}


def check_infusion(
    s: Session, trial: Trial, subj: Subject, v: dict[str, Any], p: Problems, exclude: int | None
) -> dict[str, Any]:
    """Number within the schedule, no duplicate (same number, or same date), in order, dated
    between enrolment and death; a dose beyond the tolerance is a deviation with a reason."""
    c = conduct_of(trial)
    zone = zone_of(trial)
    others = [i for i in infusions(s, subj) if i.id != exclude]
    n, when = v.get("number"), v.get("infused_at")
    if n is not None:
        if n > int(c["n_infusions"]):
            p.add("number", f"the protocol plans {c['n_infusions']} infusion(s), got number {n}")
        for i in others:
            if i.number == n:
                p.add(
                    "number",
                    f"infusion {n} of {subj.code} is already recorded "
                    f"(on {infusion_date(i, zone)}); correct or void it",
                )
    if when is not None:
        d = when.astimezone(zone).date()
        for i in others:
            other = infusion_date(i, zone)
            if other is None:
                continue
            if other == d and i.number != n:
                p.add("infused_at", f"{subj.code} already has infusion {i.number} on {d}")
            elif n is not None and ((i.number < n and other > d) or (i.number > n and other < d)):
                p.add(
                    "infused_at",
                    f"infusion {n} on {d} is out of order with infusion {i.number} on {other}",
                )
        _dates(s, subj, p, "infused_at", d)
    dose = v.get("cells_per_kg")
    cohort, assigned = assigned_dose(s, trial, subj)
    deviation = False
    if dose is not None and assigned > 0:
        rel = (dose - assigned) / assigned
        tol = float(c["dose_tolerance"])
        if abs(rel) > tol + 1e-12:
            deviation = True
            if not v.get("deviation_reason"):
                side = "above" if rel > 0 else "below"
                p.add(
                    "cells_per_kg",
                    f"{dose:g} is {abs(rel):.0%} {side} {_whose(cohort)} dose "
                    f"{assigned:g} {trial.dose_unit} (tolerance {tol:.0%}): a dose deviation; "
                    "give deviation_reason",
                )
    return {"deviation": deviation}


def _whose(cohort: Cohort) -> str:
    """The cohort as a coordinator names it in a refusal."""
    if cohort.number < 1:  # a backfill cohort (conduct.backfilling)
        return f"the backfill dose level {cohort.dose_level}'s"
    return f"cohort {cohort.number}'s"


def check_adverse_event(
    s: Session, trial: Trial, subj: Subject, v: dict[str, Any], p: Problems, exclude: int | None
) -> dict[str, Any]:
    """Onset not before enrolment, resolution not before onset, neither after death; a DLT
    starts within the DLT window, after an infusion, and contradicts no 'no DLT' assessment."""
    onset, resolved = v.get("onset_on"), v.get("resolved_on")
    _dates(s, subj, p, "onset_on", onset)
    _dates(s, subj, p, "resolved_on", resolved, before_enrolment=True)
    if onset is not None and resolved is not None and resolved < onset:
        p.add("resolved_on", f"{resolved} is before the onset on {onset}")
    if v.get("dlt"):
        first = first_dose_date(s, trial, subj)
        if first is None:
            p.add("dlt", f"{subj.code} has no infusion recorded; a DLT follows an infusion")
        elif onset is not None and onset < first:
            p.add("onset_on", f"{onset} is before the first infusion on {first}: not a DLT")
        else:
            w = window(s, trial, subj)
            if onset is not None and w.end is not None and onset > w.end:
                p.add("onset_on", f"{onset} is after the DLT window ({w.start} to {w.end})")
        a = assessment(s, subj)
        if a is not None and a.evaluable and not a.dlt:
            p.add(
                "dlt",
                f"{subj.code} is assessed 'no DLT' on {a.assessed_on}; correct or void that "
                "assessment first",
            )
    return {}


def check_dlt_assessment(
    s: Session, trial: Trial, subj: Subject, v: dict[str, Any], p: Problems, exclude: int | None
) -> dict[str, Any]:
    """One assessment per subject, after the first infusion. 'No DLT' (evaluable) needs the
    planned infusions (under the all-infusions rule), no DLT on record, and the window over;
    'not evaluable' needs its reason."""
    on = v.get("assessed_on")
    a = assessment(s, subj)
    if a is not None and a.id != exclude:
        p.add(
            "dlt", f"{subj.code} is already assessed on {a.assessed_on}; correct it with a reason"
        )
    _dates(s, subj, p, "assessed_on", on)
    first = first_dose_date(s, trial, subj)
    if on is not None and first is not None and on < first:
        p.add("assessed_on", f"{on} is before the first infusion on {first}")
    if v.get("evaluable"):
        c = conduct_of(trial)
        for ae in dlt_aes(s, subj):
            p.add("dlt", f"{subj.code} has a DLT ({ae.pt}, onset {ae.onset_on}); not 'no DLT'")
        w = window(s, trial, subj)
        if first is None:
            p.add(
                "assessed_on",
                f"no infusion of {subj.code} is recorded; the DLT assessment follows it",
            )
        elif c["evaluable_if"] == "all-infusions" and w.received < w.planned:
            p.add(
                "evaluable",
                f"{subj.code} received {w.received} of {w.planned} planned infusions: not "
                "evaluable under the protocol (record it as not evaluable, with the reason)",
            )
        elif w.end is None:
            p.add("assessed_on", "the DLT window counts from the last infusion, not yet given")
        elif on is not None and on < w.end:
            p.add(
                "assessed_on",
                f"'no DLT' on {on} is before the DLT window ends on {w.end} "
                f"(window {w.start} to {w.end})",
            )
    elif v.get("evaluable") is False and not v.get("description"):
        p.add("description", f"say why {subj.code} is not evaluable")
    return {}


def check_response(
    s: Session, trial: Trial, subj: Subject, v: dict[str, Any], p: Problems, exclude: int | None
) -> dict[str, Any]:
    _dates(s, subj, p, "assessed_on", v.get("assessed_on"))
    return {}


def check_follow_up(
    s: Session, trial: Trial, subj: Subject, v: dict[str, Any], p: Problems, exclude: int | None
) -> dict[str, Any]:
    """Last contact not before enrolment; a death date after none of the subject's records."""
    on = v.get("last_on")
    _dates(s, subj, p, "last_on", on, exclude_death=True)
    if on is not None and v.get("died"):
        later = [f"{label} on {d}" for label, d in dated_records(s, trial, subj) if d > on]
        if later:
            p.add("last_on", f"death on {on} precedes {subj.code}'s " + ", ".join(later))
    return {}


def check_biomarker(
    s: Session, trial: Trial, subj: Subject, v: dict[str, Any], p: Problems, exclude: int | None
) -> dict[str, Any]:
    _dates(s, subj, p, "measured_on", v.get("measured_on"), before_enrolment=True)
    return {}


Check = Callable[[Session, Trial, Subject, dict[str, Any], Problems, "int | None"], dict[str, Any]]
CHECKS: dict[str, Check] = {
    "subject": check_subject,
    "infusion": check_infusion,
    "adverse_event": check_adverse_event,
    "dlt_assessment": check_dlt_assessment,
    "response": check_response,
    "follow_up": check_follow_up,
    "biomarker": check_biomarker,
}


def after_entry(s: Session, who: str, trial: Trial, subj: Subject, what: str) -> Decision | None:
    """A new entry may complete the cohort (freeze its decision) or, arriving late, change the
    data behind a decision already taken (mark it)."""
    flag_changes(s, who, trial, subj, what, correction=False)
    cohort = s.get(Cohort, subj.cohort_id)
    assert cohort is not None
    return maybe_decide(s, who, trial, cohort)


class EntryMixin(ServiceBase):
    def _entry(
        self,
        s: Session,
        actor: User,
        trial_name: str,
        code: str,
        kind: str,
        raw: dict[str, Any],
    ) -> tuple[Trial, Subject, dict[str, Any], dict[str, Any]]:
        trial = trial_named(s, trial_name)
        subj = subject_for_write(s, actor, trial, code)
        p = Problems()
        v = parse(kind, p, raw, zone_of(trial))
        derived = CHECKS[kind](s, trial, subj, v, p, None)
        p.raise_any()
        return trial, subj, v, derived

    def record_infusion(
        self,
        actor: User,
        trial_name: str,
        code: str,
        infused_at: dt.datetime | str,
        cells_per_kg: float,
        lot: str,
        lot_released: bool = True,
        number: int | None = None,
        deviation_reason: str | None = None,
    ) -> Infusion:
        """An infusion, dated and timed (local time of the trial unless an offset is given);
        ``number`` is its place in the schedule (default: the next)."""
        with self._tx() as s:
            if number is None:
                trial = trial_named(s, trial_name)
                subj = subject_for_write(s, actor, trial, code)
                number = max((i.number for i in infusions(s, subj)), default=0) + 1
            raw = {
                "number": number,
                "infused_at": infused_at,
                "cells_per_kg": cells_per_kg,
                "lot": lot,
                "lot_released": lot_released,
                "deviation_reason": deviation_reason,
            }
            trial, subj, v, derived = self._entry(s, actor, trial_name, code, "infusion", raw)
            inf = Infusion(
                subject_id=subj.id,
                number=v["number"],
                infused_at=v["infused_at"],
                cells_per_kg=v["cells_per_kg"],
                weight_kg=subj.weight_kg,
                total_cells=v["cells_per_kg"] * subj.weight_kg,
                lot=v["lot"],
                lot_released=v["lot_released"],
                deviation=derived["deviation"],
                deviation_reason=v["deviation_reason"] if derived["deviation"] else None,
            )
            when = v["infused_at"].astimezone(zone_of(trial)).isoformat(timespec="minutes")
            note = f"; DOSE DEVIATION: {inf.deviation_reason}" if inf.deviation else ""
            audit.created(
                s,
                actor.username,
                inf,
                new=(
                    f"{code} infusion {inf.number} at {when}: {inf.cells_per_kg:g} x 10^6/kg x "
                    f"{subj.weight_kg:g} kg = {inf.total_cells:g} x 10^6, lot {inf.lot}{note}"
                ),
            )
            after_entry(s, actor.username, trial, subj, f"infusion {inf.number} of {code}")
            return inf

    def record_ae(
        self,
        actor: User,
        trial_name: str,
        code: str,
        soc: str,
        pt: str,
        grade: int,
        serious: bool = False,
        related: bool = False,
        onset_on: dt.date | str | None = None,
        resolved_on: dt.date | str | None = None,
        dlt: bool = False,
    ) -> AdverseEvent:
        """An adverse event with its CTCAE grade, onset and resolution dates and attribution
        (``related``); ``dlt`` when it meets the protocol's DLT criteria, which makes the
        subject's DLT outcome (and may complete the cohort: see :meth:`decision_for`)."""
        raw = {
            "soc": soc,
            "pt": pt,
            "grade": grade,
            "serious": serious,
            "related": related,
            "onset_on": onset_on,
            "resolved_on": resolved_on,
            "dlt": dlt,
        }
        with self._tx() as s:
            trial, subj, v, _ = self._entry(s, actor, trial_name, code, "adverse_event", raw)
            ae = AdverseEvent(subject_id=subj.id, **v)
            tag = " (DLT)" if ae.dlt else ""
            audit.created(
                s,
                actor.username,
                ae,
                new=f"{code}: {ae.pt} grade {ae.grade}{tag}, onset {ae.onset_on}",
            )
            after_entry(s, actor.username, trial, subj, f"adverse event {ae.pt} of {code}")
            return ae

    def decision_for(self, trial_name: str, code: str) -> Decision | None:
        """The decision in force after the subject's cohort, if any (e.g. the one the last
        DLT completed)."""

        def get(s: Session) -> Decision | None:
            trial = trial_named(s, trial_name)
            subj = s.execute(
                select(Subject).where(Subject.trial_id == trial.id, Subject.code == code)
            ).scalar()
            if subj is None:
                raise ConductError(f"code: no subject {code!r} in {trial_name!r}")
            cohort = s.get(Cohort, subj.cohort_id)
            assert cohort is not None
            return s.execute(
                select(Decision)
                .where(Decision.trial_id == trial.id, Decision.after_cohort == cohort.number)
                .order_by(Decision.id.desc())
                .limit(1)
            ).scalar()

        return self.read(get)

    def record_dlt(
        self,
        actor: User,
        trial_name: str,
        code: str,
        dlt: bool = False,
        description: str = "",
        assessed_on: dt.date | str | None = None,
        evaluable: bool = True,
    ) -> Decision | None:
        """The end-of-window DLT assessment: completed the window without a DLT
        (``evaluable``), or not evaluable (with the reason in ``description``). A DLT itself
        is recorded as the adverse event that meets the DLT criteria (``record_ae(...,
        dlt=True)``). When the assessment completes the cohort, the design's decision is
        computed and frozen (returned), awaiting the statistician's signature."""
        if dlt:
            raise ConductError(
                "dlt: a DLT is recorded as the adverse event that meets the protocol's DLT "
                "criteria (an adverse event with dlt = true), with its grade and dates"
            )
        raw = {"assessed_on": assessed_on, "evaluable": evaluable, "description": description}
        with self._tx() as s:
            trial, subj, v, _ = self._entry(s, actor, trial_name, code, "dlt_assessment", raw)
            a = DltAssessment(subject_id=subj.id, dlt=False, **v)
            what = "no DLT" if a.evaluable else f"not evaluable ({a.description})"
            audit.created(s, actor.username, a, new=f"{code} on {a.assessed_on}: {what}")
            return after_entry(s, actor.username, trial, subj, f"DLT assessment of {code}")

    def record_response(
        self,
        actor: User,
        trial_name: str,
        code: str,
        visit: str,
        value: str,
        assessed_on: dt.date | str | None = None,
    ) -> Response:
        raw = {"visit": visit, "value": value, "assessed_on": assessed_on}
        with self._tx() as s:
            trial, subj, v, _ = self._entry(s, actor, trial_name, code, "response", raw)
            r = Response(subject_id=subj.id, **v)
            audit.created(
                s, actor.username, r, new=f"{code} {r.visit} ({r.assessed_on}): {r.value}"
            )
            design = self.design(trial)
            # a response is an endpoint (single-arm, BOP2, BOIN12) or opens a dose to backfill
            if uses_responses(design):
                after_entry(s, actor.username, trial, subj, f"response of {code}")
            return r

    def record_follow_up(
        self,
        actor: User,
        trial_name: str,
        code: str,
        last_on: dt.date | str | None,
        died: bool = False,
    ) -> FollowUp:
        """Vital status: the last date known alive, or the date of death. A later contact
        updates the subject's follow-up (an audited change); an earlier date or a change of
        vital status is a correction, which needs its reason."""
        raw = {"last_on": last_on, "died": died}
        with self._tx() as s:
            trial, subj, v, _ = self._entry(s, actor, trial_name, code, "follow_up", raw)
            f = follow_up(s, subj)
            if f is None:
                f = FollowUp(subject_id=subj.id, **v)
                audit.created(s, actor.username, f, new=f"{code}: {f.last_on}, died={f.died}")
                after_entry(s, actor.username, trial, subj, f"follow-up of {code}")
                return f
            p = Problems()
            if f.died:
                p.add("died", f"{code} is recorded as dead on {f.last_on}; correct that record")
            elif f.last_on is not None and v["last_on"] < f.last_on:
                p.add(
                    "last_on",
                    f"{v['last_on']} is before the last contact on {f.last_on}; correct that "
                    "record with a reason",
                )
            p.raise_any()
            for name in ("last_on", "died"):
                if getattr(f, name) != v[name]:
                    audit.record(
                        s,
                        actor.username,
                        "change",
                        "follow_up",
                        f.id,
                        name,
                        getattr(f, name),
                        v[name],
                        "follow-up update",
                    )
                    setattr(f, name, v[name])
            return f

    def record_biomarker(
        self,
        actor: User,
        trial_name: str,
        code: str,
        parameter: str,
        measured_on: dt.date | str | None,
        value: float,
        baseline: bool = False,
    ) -> BiomarkerValue:
        raw = {
            "parameter": parameter,
            "measured_on": measured_on,
            "value": value,
            "baseline": baseline,
        }
        with self._tx() as s:
            _, subj, v, _ = self._entry(s, actor, trial_name, code, "biomarker", raw)
            b = BiomarkerValue(subject_id=subj.id, **v)
            audit.created(
                s,
                actor.username,
                b,
                new=f"{code} {b.parameter} on {b.measured_on}: {b.value:g}",
            )
            return b
