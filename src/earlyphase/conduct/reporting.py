"""What a report needs from the trial's design and record: the design as the protocol states
it (for the CONSORT-DEFINE section) and, from a trial database, the data with the
dose-transition record. One place, so that ``earlyphase report trial.db`` and the service's
report page print the same report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from earlyphase.conduct.service import TrialService
    from earlyphase.data import TrialData
    from earlyphase.report.define import DesignInfo


def report_design(
    name: str,
    settings: dict[str, Any],
    dose_levels: list[float],
    dose_unit: str,
    schedule: str,
    *,
    source: str,
    conduct: dict[str, Any] | None = None,
    dlt_window_days: float | None = None,
    dlt_definition: str = "",
) -> DesignInfo:
    """The design for the report's CONSORT-DEFINE section, built from its settings as the
    service builds it, with the protocol's decision table, stopping rules and design text
    (:func:`earlyphase.protocol.design_rules`), so that the report and the protocol print the
    same rules. A bad setting raises ``ValueError`` naming it."""
    from earlyphase.conduct.protocol import build_protocol
    from earlyphase.protocol import design_rules
    from earlyphase.report.define import DesignInfo

    spec = dict(settings)
    if dose_levels and "n_doses" not in spec:
        spec["n_doses"] = len(dose_levels)
    design = build_protocol(name, spec)
    rules = design_rules(design)
    return DesignInfo(
        name=rules.design_name,
        summary=str(design.describe()),
        text=list(rules.design_text),
        decision_table=rules.decision_table,
        decision_caption=rules.decision_caption,
        decision_notes=list(rules.decision_notes),
        stopping_rules=list(rules.stopping_rules),
        dose_levels=[float(d) for d in dose_levels],
        dose_unit=dose_unit,
        schedule=schedule,
        settings=settings,
        dlt_window_days=dlt_window_days,
        dlt_definition=dlt_definition,
        conduct=dict(conduct or {}),
        design=design,
        source=source,
    )


def stored_trial_report(service: TrialService, trial_name: str) -> tuple[TrialData, DesignInfo]:
    """A stored trial's data (with each subject's DLT evaluability, the dose-transition record
    and, once stopped with a dose selected, the recommended dose) and its design."""
    from earlyphase.report.define import transitions_from_store

    record = service.export_decisions(trial_name)
    trial = transitions_from_store(service.export(trial_name), record)
    design = report_design(
        record["design"],
        record["settings"],
        record["dose_levels"],
        record["dose_unit"],
        record["schedule"],
        source="the trial database",
        conduct=record["conduct"],
    )
    return trial, design
