"""Tables of the CONSORT-DEFINE section of a dose-finding report (Yap et al., BMJ
2023;383:e076387): participant flow per dose level, the dose-transition record and the
recommended dose with the data behind it.

The flow counts follow the ADaM flags, each rule stated under the table:

- enrolled: every subject of ADSL;
- treated: ADSL SAFFL = Y (the safety population: at least one dose); without SAFFL, the
  subjects with an ADEX record; "not collected" when neither was given;
- DLT-evaluable: ADSL DLTEVLFL = Y; the treated subjects who are not, with the reason of
  DLTEVLRS ("reason not recorded" when blank or absent);
- analysed: the DLT rate's denominator (:func:`earlyphase.tables.trial_tables.dlt_population`),
  the safety population (SAFFL = Y, everyone without the flag, as the adverse-event tables
  count) and the efficacy population (EFFFL = Y).

The dose-transition record is ADDEC (one row per decision: the cohort's data, the design's
recommendation, the decision taken, who signed it, any deviation), read from ``addec.csv`` or
exported from the trial database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from earlyphase.data.adam import NOT_COLLECTED, arm_order, collected, end_of_study
from earlyphase.data.trial import TrialData
from earlyphase.stats import binomial_ci
from earlyphase.tables.result import ArdBuilder, TableResult, fmt_rate_ci
from earlyphase.tables.trial_tables import dlt_population

#: Reason shown when a subject is excluded and no reason was recorded
NO_REASON = "reason not recorded"


def _treated(trial: TrialData) -> tuple[pd.Series | None, str]:
    """Treated or not per ADSL row (``None``: not collected) and the rule used."""
    adsl = trial.adsl
    if collected(adsl, "SAFFL"):
        return (adsl["SAFFL"] == "Y").fillna(False), "ADSL SAFFL = Y"
    if trial.adex is not None:
        dosed = set(trial.adex["USUBJID"])
        return adsl["USUBJID"].isin(dosed), "an ADEX record (no SAFFL in ADSL)"
    return None, ""


def flow_table(trial: TrialData, by: str = "TRT01A") -> TableResult:
    """Participant flow per dose level (or arm), in dose order, with a Total column:
    enrolled, treated, DLT-evaluable and analysed, with the exclusions and their reasons
    indented under the step they leave."""
    adsl = trial.adsl
    groups = [*arm_order(adsl, by), "Total"]
    member = {
        g: pd.Series(True, index=adsl.index) if g == "Total" else adsl[by].astype(str) == g
        for g in groups
    }
    ard = ArdBuilder("flow")
    rows: list[list[str]] = []
    notes: list[str] = []

    def add(label: str, mask: pd.Series | None) -> None:
        if mask is None:
            rows.append([label, *[NOT_COLLECTED] * len(groups)])
            return
        cells = []
        for g in groups:
            n = int((mask & member[g]).sum())
            ard.add(g, "flow", label.strip(), n=n)
            cells.append(str(n))
        rows.append([label, *cells])

    def reasons(excluded: pd.Series, why: pd.Series, indent: str) -> None:
        text = why.astype("string").str.strip()
        text = text.mask(text == "").fillna(NO_REASON)
        for r in sorted(text[excluded].unique()):
            add(f"{indent}{r}", excluded & (text == r))

    add("Enrolled", pd.Series(True, index=adsl.index))
    treated, rule = _treated(trial)
    add("Treated", treated)
    if treated is not None:
        notes.append(f"Treated: {rule}.")
        eos = end_of_study(adsl)
        why = eos[1] if eos is not None else pd.Series(pd.NA, index=adsl.index, dtype="string")
        if (~treated).any():
            add("    Not treated", ~treated)
            reasons(~treated, why, "        ")
    if collected(adsl, "DLTEVLFL"):
        evaluable = (adsl["DLTEVLFL"] == "Y").fillna(False)
        add("DLT-evaluable", evaluable)
        base = treated if treated is not None else pd.Series(True, index=adsl.index)
        out = base & ~evaluable
        if out.any():
            add("    Treated, not DLT-evaluable", out)
            why = (
                adsl["DLTEVLRS"]
                if "DLTEVLRS" in adsl.columns
                else pd.Series(pd.NA, index=adsl.index, dtype="string")
            )
            reasons(out, why, "        ")
        notes.append("DLT-evaluable: ADSL DLTEVLFL = Y; reasons for exclusion from DLTEVLRS.")
    else:
        add("DLT-evaluable", None)
        notes.append("DLT-evaluable: not collected (ADSL has no DLTEVLFL).")
    population, dlt_rule = dlt_population(trial)
    add("Analysed for DLT", adsl["USUBJID"].isin(set(population["USUBJID"])))
    notes.append(f"Analysed for DLT: the denominator of the DLT rates, {dlt_rule}.")
    if "SAFFL" in adsl.columns:
        add("Analysed for safety", (adsl["SAFFL"].fillna("Y") == "Y"))
        notes.append("Analysed for safety: SAFFL = Y (blank counted in, as the AE tables do).")
    else:
        add("Analysed for safety", pd.Series(True, index=adsl.index))
        notes.append("Analysed for safety: every subject (ADSL has no SAFFL).")
    add(
        "Analysed for activity",
        (adsl["EFFFL"] == "Y").fillna(False) if collected(adsl, "EFFFL") else None,
    )
    notes.append(
        "Analysed for activity: the efficacy population, EFFFL = Y"
        + ("." if collected(adsl, "EFFFL") else " (not collected).")
    )
    label = "Dose level" if "DOSELVL" in adsl.columns else "Group"
    sizes = {g: int(member[g].sum()) for g in groups}
    header = ["Participants", *[f"{g} (N = {sizes[g]})" for g in groups]]
    return TableResult(
        f"Participant flow by {label.lower()}",
        pd.DataFrame(rows, columns=header),
        ard.frame(),
        notes,
    )


TRANSITION_COLUMNS = [
    "Cohort",
    "Dose level",
    "Evaluable",
    "With DLT",
    "Data (cumulative)",
    "Design's recommendation",
    "Decision taken",
    "Signed by",
    "Date",
    "Deviation",
]


def _dose_label(trial: TrialData, row: pd.Series) -> str:
    if "TRT01A" in row.index and pd.notna(row["TRT01A"]):
        return str(row["TRT01A"])
    if "DOSELVL" in row.index and pd.notna(row["DOSELVL"]):
        adsl = trial.adsl
        if "DOSELVL" in adsl.columns:
            hit = adsl.loc[adsl["DOSELVL"].astype(float) == float(row["DOSELVL"]), "TRT01A"]
            if len(hit):
                return str(hit.iloc[0])
        return f"{float(row['DOSELVL']):g}"
    return NOT_COLLECTED


def transition_table(trial: TrialData) -> TableResult:
    """The dose-transition record: one row per decision (ADDEC), in cohort order: the
    cohort's dose and data, the design's recommendation, the decision taken, who signed it
    and when, and whether (and why) the decision departs from the recommendation."""
    title = "Dose-transition record"
    ard = ArdBuilder("transitions")
    dec = trial.addec
    if dec is None or dec.empty:
        display = pd.DataFrame(
            [[NOT_COLLECTED] * len(TRANSITION_COLUMNS)], columns=TRANSITION_COLUMNS
        )
        return TableResult(
            title,
            display,
            ard.frame(),
            [
                "Not collected: no dose-transition record (no decision taken yet, or none "
                "given: addec.csv in the trial folder, or a report made from the trial "
                "database with --trial)."
            ],
        )
    dec = dec.reset_index(drop=True)
    order = dec.assign(_ROW=np.arange(len(dec))).sort_values(["COHORT", "_ROW"], kind="stable")

    def text(row: pd.Series, col: str, number: bool = False) -> str:
        if col not in row.index:
            return NOT_COLLECTED
        v = row[col]
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            return "not recorded"
        if isinstance(v, pd.Timestamp):
            return v.date().isoformat()
        return f"{float(v):g}" if number else str(v)

    rows = []
    deviations = 0
    for _, r in order.iterrows():
        dev = r.get("DEVFL") if "DEVFL" in r.index else None
        if "DEVFL" not in r.index:
            deviation = NOT_COLLECTED
        elif dev == "Y":
            deviations += 1
            reason = text(r, "DEVREAS")
            deviation = "yes" if reason in (NOT_COLLECTED, "not recorded") else f"yes: {reason}"
        elif dev == "N":
            deviation = "no"
        else:
            deviation = "not recorded"
        dose = _dose_label(trial, r)
        rows.append(
            [
                str(int(r["COHORT"])),
                dose,
                text(r, "NEVAL", number=True),
                text(r, "NDLT", number=True),
                text(r, "OUTCOMES"),
                text(r, "RECOMM"),
                text(r, "DECISION"),
                text(r, "DECIDER"),
                text(r, "DECDT"),
                deviation,
            ]
        )
        ard.add(
            str(int(r["COHORT"])),
            "transitions",
            dose,
            n_evaluable=float(r["NEVAL"]) if "NEVAL" in r.index and pd.notna(r["NEVAL"]) else None,
            n_dlt=float(r["NDLT"]) if "NDLT" in r.index and pd.notna(r["NDLT"]) else None,
            deviation=None if dev not in ("Y", "N") else float(dev == "Y"),
        )
    notes = [
        "One row per decision, in cohort order; a decision that was rejected or superseded "
        "stays on record above the one that replaced it. Data: each cohort's dose level "
        "followed by one letter per evaluable subject (N no DLT, T DLT), as the design saw "
        "them; Evaluable and With DLT: the cohort's subjects as the data stand now (they differ "
        "when data changed after the decision, as noted).",
        f"Decisions departing from the design's recommendation: {deviations}.",
    ]
    if "NOTE" in dec.columns:
        for _, r in order.iterrows():
            if pd.notna(r["NOTE"]) and str(r["NOTE"]).strip():
                notes.append(f"Cohort {int(r['COHORT'])}: {str(r['NOTE']).strip()}")
    return TableResult(title, pd.DataFrame(rows, columns=TRANSITION_COLUMNS), ard.frame(), notes)


def recommended_dose_table(
    trial: TrialData,
    dose: str | None,
    rationale: str,
    source: str,
    by: str = "TRT01A",
    level: float = 0.95,
) -> TableResult:
    """The recommended dose, why, and the DLT data at that dose (subjects treated,
    DLT-evaluable, with a DLT, rate with its exact Clopper-Pearson interval). ``dose`` None:
    no dose was recommended (the table says so and why, from ``rationale``)."""
    ard = ArdBuilder("recommended_dose")
    rows: list[list[str]] = [["Recommended dose", dose or "none recommended"]]
    rows.append(["Rationale", rationale])
    if dose is not None:
        adsl = trial.adsl
        ids = set(adsl.loc[adsl[by].astype(str) == dose, "USUBJID"])
        evaluable, _ = dlt_population(trial)
        ev = set(evaluable.loc[evaluable[by].astype(str) == dose, "USUBJID"])
        rows.append(["Subjects treated at this dose", str(len(ids))])
        rows.append(["DLT-evaluable", str(len(ev))])
        if collected(trial.adae, "AEDLT") and trial.adae is not None:
            dlt = trial.adae[(trial.adae["AEDLT"] == "Y") & trial.adae["USUBJID"].isin(ev)]
            k = int(dlt["USUBJID"].nunique())
            lo, hi = binomial_ci(k, len(ev), "clopper-pearson", level) if ev else (np.nan, np.nan)
            rows.append(["With DLT", str(k)])
            rows.append([f"DLT rate ({100 * level:g}% CI)", fmt_rate_ci(k, len(ev), lo, hi)])
            ard.add(dose, "recommended_dose", dose, n=len(ids), n_evaluable=len(ev), n_dlt=k)
        else:
            rows.append(["With DLT", NOT_COLLECTED])
            ard.add(dose, "recommended_dose", dose, n=len(ids), n_evaluable=len(ev), n_dlt=None)
    rows.append(["Source", source])
    return TableResult(
        "Recommended dose",
        pd.DataFrame(rows, columns=["Item", "Value"]),
        ard.frame(),
        ["DLT data at the recommended dose as in the DLT table (same denominator)."],
    )
