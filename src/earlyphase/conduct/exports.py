"""The trial as ADaM-style tables for the report (``earlyphase.report.render_report``).

Voided records are left out (they stay in the database and in the audit export); each
adverse event is written once, with its DLT flag (ADAE ``AEDLT``); study days are derived from
the dates (day 1 = the first infusion, CDISC SDTM IG 4.4.4) in the trial's time zone."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.conduct.common import ServiceBase, iso, study_day, trial_named, zone_of
from earlyphase.conduct.models import (
    AdverseEvent,
    BiomarkerValue,
    Cohort,
    Response,
    Subject,
)
from earlyphase.conduct.timeline import (
    assessment,
    first_dose_date,
    follow_up,
    infusion_date,
    infusions,
)
from earlyphase.data.trial import TrialData, build_trial


class ExportsMixin(ServiceBase):
    def export(self, trial_name: str) -> TrialData:
        """The trial as ADaM-style tables for :func:`earlyphase.report.render_report`."""

        def get(s: Session) -> TrialData:
            trial = trial_named(s, trial_name)
            zone = zone_of(trial)
            subs = list(
                s.execute(
                    select(Subject)
                    .where(Subject.trial_id == trial.id, Subject.voided.is_(False))
                    .order_by(Subject.id)
                ).scalars()
            )
            rows: dict[str, list[dict[str, Any]]] = {
                k: [] for k in ("ADSL", "ADEX", "ADAE", "ADTTE", "ADRS", "ADLB")
            }
            for x in subs:
                c = s.get(Cohort, x.cohort_id)
                assert c is not None
                dose = trial.dose_levels[c.dose_level - 1]
                ref = first_dose_date(s, trial, x)
                fu = follow_up(s, x)
                died = fu is not None and fu.died
                last_day = (
                    study_day(fu.last_on, ref or x.enrolled_on)
                    if fu is not None and fu.last_on is not None
                    else (fu.last_day if fu is not None else None)
                )
                rows["ADSL"].append(
                    {
                        "USUBJID": x.code,
                        "TRT01A": f"{dose:g} {trial.dose_unit}",
                        "DOSELVL": dose,
                        "WEIGHT": x.weight_kg,
                        "SAFFL": "Y" if ref is not None or x.enrolled_on is None else "N",
                        "DTHFL": "Y" if died else "N",
                        "DTHDY": last_day if died else None,
                        "TRTSDT": iso(ref),
                    }
                )
                for inf in infusions(s, x):
                    d = infusion_date(inf, zone)
                    rows["ADEX"].append(
                        {
                            "USUBJID": x.code,
                            "EXSEQ": inf.number,
                            "EXDY": study_day(d, ref) if d is not None else inf.study_day,
                            "EXDOSE": inf.cells_per_kg,
                            "WEIGHT": inf.weight_kg,
                            "TOTCELLS": inf.total_cells,
                            "LOT": inf.lot,
                        }
                    )
                for ae in s.execute(
                    select(AdverseEvent)
                    .where(AdverseEvent.subject_id == x.id, AdverseEvent.voided.is_(False))
                    .order_by(AdverseEvent.id)
                ).scalars():
                    rows["ADAE"].append(
                        {
                            "USUBJID": x.code,
                            "AESOC": ae.soc,
                            "AEDECOD": ae.pt,
                            "AETOXGR": ae.grade,
                            "AESER": "Y" if ae.serious else "N",
                            "AEREL": "Y" if ae.related else "N",
                            "ASTDY": study_day(ae.onset_on, ref) if ae.onset_on else ae.onset_day,
                            "ASTDT": iso(ae.onset_on),
                            "AEDLT": "Y" if ae.dlt else "N",
                        }
                    )
                a = assessment(s, x)
                if a is not None and a.dlt:  # entered before DLTs were adverse events
                    rows["ADAE"].append(
                        {
                            "USUBJID": x.code,
                            "AESOC": "Dose-limiting toxicity",
                            "AEDECOD": a.description or "DLT",
                            "AETOXGR": 3,
                            "AESER": "N",
                            "AEREL": "Y",
                            "ASTDY": None,
                            "ASTDT": None,
                            "AEDLT": "Y",
                        }
                    )
                if fu is not None and last_day is not None:
                    rows["ADTTE"].append(
                        {
                            "USUBJID": x.code,
                            "PARAMCD": "OS",
                            "AVAL": max(last_day, 0),
                            "CNSR": 0 if died else 1,
                            "ADT": iso(fu.last_on),
                        }
                    )
                for b in s.execute(
                    select(BiomarkerValue)
                    .where(BiomarkerValue.subject_id == x.id, BiomarkerValue.voided.is_(False))
                    .order_by(BiomarkerValue.id)
                ).scalars():
                    rows["ADLB"].append(
                        {
                            "USUBJID": x.code,
                            "PARAMCD": b.parameter,
                            "ADY": study_day(b.measured_on, ref or x.enrolled_on)
                            if b.measured_on
                            else b.study_day,
                            "AVAL": b.value,
                            "ABLFL": "Y" if b.baseline else "N",
                        }
                    )
                for r in s.execute(
                    select(Response)
                    .where(Response.subject_id == x.id, Response.voided.is_(False))
                    .order_by(Response.id)
                ).scalars():
                    rows["ADRS"].append(
                        {
                            "USUBJID": x.code,
                            "PARAMCD": "OVRLRESP",
                            "AVISIT": r.visit,
                            "AVALC": r.value,
                        }
                    )
            frames = {"ADSL": pd.DataFrame(rows["ADSL"])}
            for name in ("ADEX", "ADAE", "ADTTE", "ADRS", "ADLB"):
                if rows[name]:
                    frames[name] = pd.DataFrame(rows[name])
            text_frames = {
                k: v.astype(object).where(v.notna(), "").astype(str) for k, v in frames.items()
            }
            return build_trial(
                text_frames, meta={"title": trial.name, "dose_unit": trial.dose_unit}
            )

        return self.read(get)

    def export_decisions(self, trial_name: str) -> dict[str, Any]:
        """The design and the dose-transition record, for the report's CONSORT-DEFINE
        section: the design's settings, each cohort with its subjects' outcome letters (T
        DLT, N none, X not evaluable, None pending; voided subjects left out) and every
        decision as the status shows it (recommendation, verdict, signature, data changes)."""
        from earlyphase.conduct.backfilling import backfill_cohorts
        from earlyphase.conduct.common import conduct_of, design_of
        from earlyphase.conduct.decisions import cohorts_of, decision_dict, members
        from earlyphase.conduct.models import Decision
        from earlyphase.conduct.timeline import evaluation

        def get(s: Session) -> dict[str, Any]:
            trial = trial_named(s, trial_name)
            design = design_of(trial)
            cohorts = [
                {
                    "number": c.number,
                    "dose_level": c.dose_level,
                    "size": c.size,
                    "outcomes": {
                        x.code: evaluation(s, trial, design, x)
                        for x in members(s, c)
                        if not x.voided
                    },
                    "arm": arm,
                }
                # backfill subjects (BF-BOIN) are reported with their evaluability too; their
                # cohorts are numbered below the escalation cohorts', one per dose
                for arm, group in (
                    ("escalation", cohorts_of(s, trial)),
                    ("backfill", backfill_cohorts(s, trial)),
                )
                for c in group
            ]
            decisions = s.execute(
                select(Decision).where(Decision.trial_id == trial.id).order_by(Decision.id)
            ).scalars()
            return {
                "design": trial.design_name,
                "settings": dict(trial.design_spec or {}),
                "dose_levels": list(trial.dose_levels),
                "dose_unit": trial.dose_unit,
                "schedule": trial.schedule,
                "conduct": conduct_of(trial),
                "cohorts": cohorts,
                "decisions": [decision_dict(d) for d in decisions],
            }

        return self.read(get)
