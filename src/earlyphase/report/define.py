"""The CONSORT-DEFINE section of a dose-finding report and its checklist appendix.

CONSORT-DEFINE (Yap C, Solovyeva O, de Bono J, et al. Enhancing reporting quality and impact
of early phase dose-finding clinical trials: CONSORT Dose-finding Extension (CONSORT-DEFINE)
guidance. BMJ 2023;383:e076387) extends the CONSORT 2010 checklist with 21 new and 19
modified items for early-phase dose-finding trials. The section reports what a report
generator can take from the data: the design (decision table, stopping rules, dose levels and
schedule), the participant flow per dose level, the dose-transition record (each cohort's data,
the design's recommendation, the decision taken, who signed, any deviation) and the
recommended dose with its rationale. The appendix lists the items and where the report covers
them, or that the trial team has to.

The design comes in as a :class:`DesignInfo`, built by the caller from the design's settings
(``earlyphase report`` builds it from ``trial.json`` ``design`` or from the trial database):
this package does not build designs itself.

Checklist numbering: 1a, 2b, 3a.1 and 3a.2 are CONSORT-DEFINE's own item numbers (checked
against Table 1 of the paper); every other row names the CONSORT 2010 item that CONSORT-DEFINE
extends or keeps, whose DEFINE sub-item numbers should be checked against Table 1 of the paper
before quoting them. Item texts are short paraphrases, not the checklist's wording.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from earlyphase.data.adam import collected
from earlyphase.data.trial import TrialData
from earlyphase.tables import define as tables
from earlyphase.tables.result import ArdBuilder, TableResult

CONSORT_DEFINE = (
    "Yap C, Solovyeva O, de Bono J, et al. Enhancing reporting quality and impact of early "
    "phase dose-finding clinical trials: CONSORT Dose-finding Extension (CONSORT-DEFINE) "
    "guidance. BMJ 2023;383:e076387."
)

#: Heading of the report's CONSORT-DEFINE section and of its appendix.
SECTION = "Dose finding (CONSORT-DEFINE)"
APPENDIX = "Appendix: CONSORT-DEFINE checklist"

ADDRESSED = "addressed"
PARTLY = "partly addressed"
TO_COMPLETE = "to complete"
OUTSIDE = "outside this report"


@dataclass
class DesignInfo:
    """The design as the report prints it. ``decision_table`` and ``stopping_rules`` are the
    protocol's (see :mod:`earlyphase.protocol.section`); ``design`` is the design object, for
    its schema (:func:`earlyphase.figures.flowchart.flowchart_figure`), or None."""

    name: str
    summary: str
    text: list[str]
    decision_table: pd.DataFrame
    decision_caption: str
    decision_notes: list[str]
    stopping_rules: list[str]
    dose_levels: list[float] = field(default_factory=list)
    dose_unit: str = ""
    schedule: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    dlt_window_days: float | None = None
    dlt_definition: str = ""
    #: conduct settings of a trial database (DLT window, evaluability, replacement ...)
    conduct: dict[str, Any] = field(default_factory=dict)
    design: Any = None
    source: str = "trial.json design"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return ", ".join(_value(x) for x in v)
    return str(v)


def design_table(info: DesignInfo) -> TableResult:
    """Design, settings, dose levels, schedule and the DLT rules as one two-column table."""
    unit = f" {info.dose_unit}" if info.dose_unit else ""
    rows: list[list[str]] = [["Design", f"{info.name}: {info.summary}"]]
    settings = "; ".join(f"{k} = {_value(v)}" for k, v in info.settings.items())
    rows.append(["Design settings", settings or "the design's defaults"])
    if info.dose_levels:
        rows.append(["Dose levels", ""])
        for i, d in enumerate(info.dose_levels, 1):
            rows.append([f"    Level {i}", f"{d:g}{unit}"])
    else:
        rows.append(["Dose levels", "not stated"])
    rows.append(["Schedule", info.schedule or "not stated"])
    c = info.conduct
    window = info.dlt_window_days if info.dlt_window_days is not None else c.get("dlt_window_days")
    if window is not None:
        start = {"first": "the first dose", "last": "the last dose"}.get(
            str(c.get("dlt_window_from", "")), ""
        )
        rows.append(
            [
                "DLT assessment window",
                f"{float(window):g} days" + (f" from {start}" if start else ""),
            ]
        )
    else:
        rows.append(["DLT assessment window", "not stated"])
    rows.append(["DLT definition", info.dlt_definition or "not stated (see the protocol)"])
    if c:
        evaluable = {
            "all-infusions": "received all planned doses and completed the window, or had a DLT",
            "any-infusion": "received at least one dose and completed the window, or had a DLT",
        }.get(str(c.get("evaluable_if", "")))
        if evaluable:
            rows.append(["DLT-evaluable if", evaluable])
        if "n_infusions" in c:
            n = int(c["n_infusions"])
            every = f", every {int(c['infusion_interval_days'])} days" if n > 1 else ""
            rows.append(["Planned doses per subject", f"{n}{every}"])
        if "replace_non_evaluable" in c:
            rows.append(
                ["Non-evaluable subjects replaced", "yes" if c["replace_non_evaluable"] else "no"]
            )
        if "dose_tolerance" in c:
            rows.append(
                ["Dose deviation beyond", f"{100 * float(c['dose_tolerance']):g}% of the dose"]
            )
    return TableResult(
        "Design, dose levels and schedule",
        pd.DataFrame(rows, columns=["Item", "Value"]),
        ArdBuilder("design").frame(),
        [f"Source: {info.source}."],
    )


def decision_table(info: DesignInfo) -> TableResult:
    return TableResult(
        f"Decision table: {info.decision_caption[:1].lower()}{info.decision_caption[1:]}",
        info.decision_table.astype(str),
        ArdBuilder("decision_table").frame(),
        list(info.decision_notes),
    )


# --- the dose-transition record from a trial database ----------------------------------------


def _local_date(instant: str | None, zone: str) -> pd.Timestamp | None:
    if not instant:
        return None
    at = dt.datetime.fromisoformat(instant)
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
    return pd.Timestamp(at.astimezone(ZoneInfo(zone)).date())


def decisions_frame(record: dict[str, Any]) -> pd.DataFrame:
    """The conduct store's decisions (``TrialService.export_decisions``) as ADDEC rows: one
    per decision, with the cohort's evaluable subjects and DLTs, the recommendation in words,
    the verdict and its signature, and the deviation when the statistician approved another
    dose than the design's or stopped against it."""
    levels = list(record["dose_levels"])
    unit = str(record.get("dose_unit", ""))
    zone = str(record.get("conduct", {}).get("time_zone", "UTC"))
    cohorts = {c["number"]: c for c in record["cohorts"]}

    def dose(level: int | None) -> str:
        if level is None:
            return "none"
        return f"dose level {level} ({levels[level - 1]:g} {unit})".replace(" )", ")")

    rows = []
    for d in record["decisions"]:
        c = cohorts.get(d["after_cohort"], {})
        letters = [v for v in c.get("outcomes", {}).values() if v not in (None, "X")]
        if d["stop"]:
            recomm = "stop" + (f", select {dose(d['selected'])}" if d["selected"] else "")
        else:
            recomm = f"next cohort at {dose(d['next_dose'])}"
        if d.get("reason"):
            recomm += f" ({d['reason']})"
        verdict = d.get("verdict")
        deviation = None
        why = d.get("verdict_reason")
        if verdict is None:
            decision = "not yet signed"
        elif verdict == "APPROVED":
            decision = "approved as recommended"
            deviation = "N"
        elif verdict == "APPROVED_OTHER_DOSE":
            decision = f"approved: next cohort at {dose(d.get('approved_dose'))}"
            deviation = "Y"
        elif verdict == "STOPPED":
            decision = "trial stopped"
            deviation = "N" if d["stop"] else "Y"
        else:
            decision = "rejected: enrolment paused until a new decision"
            deviation = "N"
        if verdict == "REJECTED" and why:
            decision += f" ({why})"
        note = d.get("data_changed_label")
        if note and d.get("data_changed_note"):
            # the note starts with the label, once per change: "data changed after ...: why"
            note = "; ".join(" ".join(line.split()) for line in d["data_changed_note"].splitlines())
        level = c.get("dose_level")
        rows.append(
            {
                "COHORT": d["after_cohort"],
                "DOSELVL": levels[level - 1] if level else None,
                "NEVAL": len(letters),
                "NDLT": sum(v == "T" for v in letters),
                "OUTCOMES": d.get("outcomes") or "",
                "RECOMM": recomm,
                "DECISION": decision,
                "DECIDER": d.get("signer"),
                "DECDT": _local_date(d.get("confirmed_at"), zone),
                "DEVFL": deviation,
                "DEVREAS": why if deviation == "Y" else None,
                "NOTE": note,
            }
        )
    columns = ["COHORT", "DOSELVL", "NEVAL", "NDLT", "OUTCOMES", "RECOMM", "DECISION"]
    columns += ["DECIDER", "DECDT", "DEVFL", "DEVREAS", "NOTE"]
    return pd.DataFrame(rows, columns=columns)


def recommended_from_decisions(record: dict[str, Any]) -> dict[str, str] | None:
    """The recommended dose from a trial database: the last decision, when it stops the
    trial with a dose selected and is signed; None while the trial is ongoing."""
    if not record["decisions"]:
        return None
    last = record["decisions"][-1]
    if not (last["stop"] and last["selected"] and last.get("verdict") in ("APPROVED", "STOPPED")):
        return None
    levels, unit = record["dose_levels"], str(record.get("dose_unit", ""))
    label = f"{levels[last['selected'] - 1]:g} {unit}".strip()
    rationale = (
        f"Selected by the design when the trial stopped after cohort {last['after_cohort']} "
        f"({last.get('reason') or 'stop'}; data {last.get('outcomes')}); signed by "
        f"{last.get('signer')}: {last.get('meaning')}."
    )
    return {"dose": label, "rationale": rationale}


def transitions_from_store(trial: TrialData, record: dict[str, Any]) -> TrialData:
    """``trial`` (exported from the same database) with the dose-transition record, each
    subject's DLT evaluability (ADSL DLTEVLFL: evaluated and evaluable; pending subjects are
    left blank) and, once the trial stopped with a dose selected, the recommended dose."""
    evaluable: dict[str, str | None] = {}
    why: dict[str, str | None] = {}
    for c in record["cohorts"]:
        for code, letter in c["outcomes"].items():
            evaluable[code] = None if letter is None else ("N" if letter == "X" else "Y")
            why[code] = {
                None: "DLT assessment pending",
                "X": "not evaluable (DLT assessment in the trial database)",
            }.get(letter)
    adsl = trial.adsl.copy()
    adsl["DLTEVLFL"] = adsl["USUBJID"].map(evaluable).astype("string")
    adsl["DLTEVLRS"] = adsl["USUBJID"].map(why).astype("string")
    meta = dict(trial.meta)
    rec = recommended_from_decisions(record)
    if rec is not None:
        meta["recommended_dose"] = rec
    return TrialData(
        adsl=adsl,
        adex=trial.adex,
        adae=trial.adae,
        adtte=trial.adtte,
        adrs=trial.adrs,
        adlb=trial.adlb,
        advent=trial.advent,
        addec=decisions_frame(record),
        meta=meta,
        unused=list(trial.unused),
    )


# --- the section ---------------------------------------------------------------------------


def recommended_dose(trial: TrialData) -> TableResult:
    rec = trial.meta.get("recommended_dose")
    if isinstance(rec, dict) and rec.get("dose"):
        source = "trial.json recommended_dose"
        if trial.addec is not None and "DECISION" in trial.addec.columns:
            source += " (with the dose-transition record)"
        return tables.recommended_dose_table(
            trial, str(rec["dose"]), str(rec.get("rationale", "")), source
        )
    return tables.recommended_dose_table(
        trial,
        None,
        "not stated: the trial is ongoing, or the recommended dose was not given (trial.json "
        "recommended_dose, or the final signed decision of the trial database)",
        "none",
    )


def is_dose_finding(trial: TrialData, design: DesignInfo | None, randomised: bool) -> bool:
    """A dose-finding trial: a design or a dose-transition record was given, or the trial is
    not randomised and has more than one dose level (ADSL DOSELVL)."""
    if design is not None or trial.addec is not None:
        return True
    adsl = trial.adsl
    return not randomised and collected(adsl, "DOSELVL") and adsl["DOSELVL"].nunique() > 1


@dataclass(frozen=True)
class ChecklistRow:
    item: str
    topic: str
    where: str
    status: str


def checklist(trial: TrialData, design: DesignInfo | None, titles: dict[str, str]) -> TableResult:
    """Which CONSORT-DEFINE items the report covers, where and how. ``titles`` maps the
    content present in the report (keys below) to the heading a reader finds it under."""

    def at(*keys: str) -> str:
        found = [titles[k] for k in keys if k in titles]
        return "; ".join(found) if found else "-"

    adsl = trial.adsl
    title = trial.title.lower()
    named = bool(re.search(r"phase|dose|first[- ]in[- ]human|escalat|titrat", title))
    dec = trial.addec
    stopped = (
        dec is not None
        and not dec.empty
        and "RECOMM" in dec.columns
        and str(dec.iloc[-1]["RECOMM"]).startswith("stop")
    )
    rec = trial.meta.get("recommended_dose")
    window = design is not None and (
        design.dlt_window_days is not None or "dlt_window_days" in design.conduct
    )
    rows = [
        ChecklistRow(
            "1a (DEFINE)",
            "Title says the trial is an early-phase dose-finding trial (and randomised, if so)",
            "Title",
            ADDRESSED if named else f"{TO_COMPLETE}: name the phase or dose finding in the title",
        ),
        ChecklistRow(
            "2b (DEFINE)",
            "Objectives stated, including the recommended dose(s) to find",
            at("recommended"),
            f"{PARTLY}: the recommended dose is reported; state the objectives in the text",
        ),
        ChecklistRow(
            "3a.1 (DEFINE)",
            "Design elements: escalation or de-escalation strategy, groups, any prespecified "
            "adaptations",
            at("design", "decision"),
            ADDRESSED if design is not None else f"{TO_COMPLETE}: give trial.json design",
        ),
        ChecklistRow(
            "3a.2 (DEFINE)",
            "A schema of the design's flow and its transition points",
            at("schema"),
            ADDRESSED if "schema" in titles else f"{TO_COMPLETE}: give trial.json design",
        ),
        ChecklistRow(
            "5 (CONSORT)",
            "Interventions per dose level: dose, schedule, how they were actually given",
            at("design", "exposure", "dose_deviations"),
            ADDRESSED
            if design is not None and design.schedule and trial.adex is not None
            else PARTLY,
        ),
        ChecklistRow(
            "6a (CONSORT)",
            "Outcomes defined, with the DLT definition and its assessment window",
            at("design"),
            ADDRESSED
            if design is not None and design.dlt_definition and window
            else f"{PARTLY}: DLT definition or window not stated"
            if design is not None
            else TO_COMPLETE,
        ),
        ChecklistRow(
            "7a (CONSORT)",
            "Sample size and its justification (operating characteristics)",
            "the protocol's statistical section (earlyphase design ... --protocol)",
            OUTSIDE,
        ),
        ChecklistRow(
            "7b (CONSORT)",
            "Rules for dose decisions and for stopping",
            at("decision", "stopping"),
            ADDRESSED if design is not None else f"{TO_COMPLETE}: give trial.json design",
        ),
        ChecklistRow(
            "12a (CONSORT)",
            "Statistical methods, including how the dose was estimated",
            at("methods"),
            ADDRESSED,
        ),
        ChecklistRow(
            "13a (CONSORT)",
            "Participant flow per dose level: enrolled, treated, evaluable for DLT, analysed",
            at("flow", "flow_figure"),
            ADDRESSED
            if collected(adsl, "DLTEVLFL")
            else f"{PARTLY}: DLT evaluability not collected (ADSL DLTEVLFL)",
        ),
        ChecklistRow(
            "13b (CONSORT)",
            "Exclusions per dose level, with reasons",
            at("flow"),
            ADDRESSED
            if collected(adsl, "DLTEVLRS") or not collected(adsl, "DLTEVLFL")
            else f"{PARTLY}: reasons not collected (ADSL DLTEVLRS)",
        ),
        ChecklistRow(
            "14a (CONSORT)",
            "Dose-escalation path: cohorts, doses, DLTs, each decision and any departure from "
            "the design's recommendation",
            at("transitions", "escalation"),
            ADDRESSED
            if dec is not None and not dec.empty
            else f"{TO_COMPLETE}: give addec.csv or report from the trial database",
        ),
        ChecklistRow(
            "14b (CONSORT)",
            "Why the trial ended or was stopped",
            at("transitions"),
            ADDRESSED if stopped else TO_COMPLETE,
        ),
        ChecklistRow(
            "15 (CONSORT)",
            "Baseline characteristics per dose level",
            at("baseline"),
            ADDRESSED if "baseline" in titles else TO_COMPLETE,
        ),
        ChecklistRow(
            "16 (CONSORT)",
            "Numbers analysed per dose level, for each analysis",
            at("flow", "dlt"),
            ADDRESSED,
        ),
        ChecklistRow(
            "17a (CONSORT)",
            "Outcomes per dose level with their precision: DLT rate with its interval",
            at("dlt", "response"),
            ADDRESSED
            if collected(trial.adae, "AEDLT")
            else f"{PARTLY}: DLTs not collected (ADAE AEDLT)",
        ),
        ChecklistRow(
            "19 (CONSORT)",
            "Harms per dose level: all adverse events by grade, DLTs, serious events, deaths",
            at("safety", "listings"),
            ADDRESSED if trial.adae is not None else f"{TO_COMPLETE}: no ADAE",
        ),
        ChecklistRow(
            "22 (CONSORT)",
            "Recommended dose(s) and the evidence for them",
            at("recommended"),
            f"{PARTLY}: the recommended dose and its rationale are reported; discuss them"
            if isinstance(rec, dict)
            else f"{TO_COMPLETE}: state the recommended dose",
        ),
        ChecklistRow(
            "23-25 (CONSORT)",
            "Registration, protocol access, funding",
            "-",
            OUTSIDE,
        ),
    ]
    frame = pd.DataFrame(
        [(r.item, r.topic, r.where, r.status) for r in rows],
        columns=["Item", "Topic (paraphrased)", "Where in this report", "Status"],
    )
    ard = ArdBuilder("consort_define")
    for r in rows:
        ard.add("All", "consort_define", r.item, addressed=float(r.status == ADDRESSED))
    return TableResult(
        "CONSORT-DEFINE items and where this report covers them",
        frame,
        ard.frame(),
        [
            f"Checklist: {CONSORT_DEFINE} (DEFINE): CONSORT-DEFINE's item number; "
            "(CONSORT): the CONSORT 2010 item that CONSORT-DEFINE extends or keeps (check the "
            "DEFINE sub-item numbers against Table 1 of the paper). Topics are paraphrased.",
            f'"{TO_COMPLETE}": the data given do not cover the item; "{OUTSIDE}": the item '
            "belongs to the protocol or the manuscript, not to a results report.",
        ],
    )
