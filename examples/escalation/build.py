"""Build the synthetic dose-escalation trial of this folder: ``python build.py`` (re)writes
the CSV files and ``trial.json`` beside it.

A 3+3 trial of a CAR-T cell product at 0.5, 1.0 and 2.0 x 10^6 cells/kg (one infusion, a
28-day DLT window). The data are invented to exercise what a dose-finding report must show:

- cohort 1 (0.5): 0/3 DLT, escalate;
- cohort 2 (1.0): 1/3 DLT (grade 3 CRS), three more at the same dose;
- cohort 3 (1.0): one subject withdraws consent on day 10 (not DLT-evaluable) and is replaced;
  0/3 DLT, 1/6 at 1.0: escalate, approved with a stagger the design does not have (recorded
  as a deviation);
- cohort 4 (2.0): one subject withdraws before the infusion (not treated) and is replaced;
  2/3 DLT (grade 3 ICANS, grade 4 CRS): stop, the MTD is 1.0 x 10^6 cells/kg;
- one infusion 10% below the assigned dose (a dose deviation at 5% tolerance);
- causality collected on a five-point scale, mapped by ``trial.json`` ``causality``;
- CRS and ICANS as adverse events of special interest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
UNIT = "x 10^6 cells/kg"


def label(dose: float) -> str:
    return f"{dose:.1f} {UNIT}"


# subject, dose, treated, DLT-evaluable, reason not evaluable, age, sex, weight
SUBJECTS = [
    ("E01", 0.5, True, True, "", 54, "M", 71.2),
    ("E02", 0.5, True, True, "", 61, "F", 58.4),
    ("E03", 0.5, True, True, "", 47, "M", 80.1),
    ("E04", 1.0, True, True, "", 66, "F", 62.0),
    ("E05", 1.0, True, True, "", 58, "M", 77.5),
    ("E06", 1.0, True, True, "", 39, "F", 55.3),
    ("E07", 1.0, True, True, "", 70, "M", 68.9),
    (
        "E08",
        1.0,
        True,
        False,
        "withdrew consent on day 10, before the end of the DLT window",
        52,
        "F",
        60.2,
    ),
    ("E09", 1.0, True, True, "", 63, "M", 84.0),
    ("E10", 1.0, True, True, "", 45, "F", 57.7),
    ("E11", 2.0, True, True, "", 59, "M", 73.3),
    ("E12", 2.0, True, True, "", 68, "F", 64.6),
    ("E13", 2.0, False, False, "not treated", 50, "M", 79.0),
    ("E14", 2.0, True, True, "", 56, "F", 61.8),
]


def build() -> None:
    code = {0.5: 1, 1.0: 2, 2.0: 3}
    adsl = pd.DataFrame(
        [
            {
                "USUBJID": s,
                "TRT01P": label(d),
                "TRT01PN": code[d],
                "TRT01A": label(d),
                "TRT01AN": code[d],
                "DOSELVL": d,
                "AGE": age,
                "SEX": sex,
                "WEIGHTBL": w,
                "SAFFL": "Y" if treated else "N",
                "DLTEVLFL": "Y" if ev else "N",
                "DLTEVLRS": why,
                "EFFFL": "Y" if treated else "N",
                "EOSSTT": "COMPLETED" if ev else "DISCONTINUED",
                "DCSREAS": "" if ev else "WITHDRAWAL BY SUBJECT",
            }
            for s, d, treated, ev, why, age, sex, w in SUBJECTS
        ]
    )
    adex = pd.DataFrame(
        [
            {
                "USUBJID": s,
                "EXSEQ": 1,
                "EXDY": 1,
                "EXDOSE": 0.9 if s == "E09" else d,
                "LOT": f"LOT-{code[d]}{s[-1]}",
            }
            for s, d, treated, *_ in SUBJECTS
            if treated
        ]
    )
    # subject, SOC, PT, grade, serious, causality, onset day, end day, DLT
    ae = [
        (
            "E01",
            "General disorders and administration site conditions",
            "Pyrexia",
            1,
            "N",
            "POSSIBLE",
            2,
            3,
            "N",
        ),
        (
            "E02",
            "Immune system disorders",
            "Cytokine release syndrome",
            1,
            "N",
            "PROBABLE",
            3,
            5,
            "N",
        ),
        (
            "E03",
            "Blood and lymphatic system disorders",
            "Neutropenia",
            3,
            "N",
            "PROBABLE",
            7,
            20,
            "N",
        ),
        (
            "E04",
            "Immune system disorders",
            "Cytokine release syndrome",
            2,
            "N",
            "DEFINITE",
            2,
            6,
            "N",
        ),
        (
            "E05",
            "Immune system disorders",
            "Cytokine release syndrome",
            3,
            "Y",
            "DEFINITE",
            3,
            9,
            "Y",
        ),
        ("E05", "Nervous system disorders", "Headache", 1, "N", "UNLIKELY", 4, 5, "N"),
        (
            "E06",
            "Infections and infestations",
            "Upper respiratory tract infection",
            2,
            "N",
            "UNRELATED",
            15,
            22,
            "N",
        ),
        (
            "E07",
            "Immune system disorders",
            "Cytokine release syndrome",
            2,
            "N",
            "PROBABLE",
            2,
            4,
            "N",
        ),
        (
            "E08",
            "General disorders and administration site conditions",
            "Fatigue",
            1,
            "N",
            "POSSIBLE",
            5,
            9,
            "N",
        ),
        (
            "E09",
            "Blood and lymphatic system disorders",
            "Neutropenia",
            3,
            "N",
            "PROBABLE",
            8,
            25,
            "N",
        ),
        (
            "E10",
            "Nervous system disorders",
            "Immune effector cell-associated neurotoxicity syndrome",
            1,
            "N",
            "PROBABLE",
            6,
            8,
            "N",
        ),
        (
            "E11",
            "Nervous system disorders",
            "Immune effector cell-associated neurotoxicity syndrome",
            3,
            "Y",
            "DEFINITE",
            5,
            12,
            "Y",
        ),
        (
            "E11",
            "Immune system disorders",
            "Cytokine release syndrome",
            2,
            "N",
            "DEFINITE",
            2,
            6,
            "N",
        ),
        (
            "E12",
            "Immune system disorders",
            "Cytokine release syndrome",
            2,
            "N",
            "PROBABLE",
            3,
            7,
            "N",
        ),
        (
            "E14",
            "Immune system disorders",
            "Cytokine release syndrome",
            4,
            "Y",
            "DEFINITE",
            1,
            10,
            "Y",
        ),
        (
            "E14",
            "Blood and lymphatic system disorders",
            "Febrile neutropenia",
            3,
            "Y",
            "PROBABLE",
            9,
            None,
            "N",
        ),
    ]
    adae = pd.DataFrame(
        ae,
        columns=[
            "USUBJID",
            "AESOC",
            "AEDECOD",
            "AETOXGR",
            "AESER",
            "AEREL",
            "ASTDY",
            "AENDY",
            "AEDLT",
        ],
    )
    adae["AENDY"] = adae["AENDY"].astype("Int64")
    adrs = pd.DataFrame(
        [
            {"USUBJID": s, "PARAMCD": "BESTRESP", "AVISIT": "DAY 28", "AVALC": r}
            for s, r in [
                ("E01", "SD"),
                ("E02", "PD"),
                ("E03", "PR"),
                ("E04", "CR"),
                ("E05", "PR"),
                ("E06", "SD"),
                ("E07", "CR"),
                ("E09", "PR"),
                ("E10", "CR"),
                ("E11", "CR"),
                ("E12", "PR"),
                ("E14", "CR"),
            ]
        ]
    )
    addec = pd.DataFrame(
        [
            {
                "COHORT": 1,
                "DOSELVL": 0.5,
                "NEVAL": 3,
                "NDLT": 0,
                "OUTCOMES": "1NNN",
                "RECOMM": "escalate to dose level 2 (0/3 with a DLT)",
                "DECISION": "approved as recommended",
                "DECIDER": "Dr A. Statistician",
                "DECDT": "2025-03-04",
                "DEVFL": "N",
                "DEVREAS": "",
            },
            {
                "COHORT": 2,
                "DOSELVL": 1.0,
                "NEVAL": 3,
                "NDLT": 1,
                "OUTCOMES": "1NNN 2NTN",
                "RECOMM": "treat 3 more at dose level 2 (1/3 with a DLT)",
                "DECISION": "approved as recommended",
                "DECIDER": "Dr A. Statistician",
                "DECDT": "2025-04-15",
                "DEVFL": "N",
                "DEVREAS": "",
            },
            {
                "COHORT": 3,
                "DOSELVL": 1.0,
                "NEVAL": 3,
                "NDLT": 0,
                "OUTCOMES": "1NNN 2NTN 2NNN",
                "RECOMM": "escalate to dose level 3 (1/6 with a DLT)",
                "DECISION": "escalate to dose level 3, 7 days between the first and the next "
                "subjects",
                "DECIDER": "Dr A. Statistician",
                "DECDT": "2025-06-02",
                "DEVFL": "Y",
                "DEVREAS": "safety review committee: stagger the first subjects at the top "
                "dose after the grade 3 CRS at dose level 2",
            },
            {
                "COHORT": 4,
                "DOSELVL": 2.0,
                "NEVAL": 3,
                "NDLT": 2,
                "OUTCOMES": "1NNN 2NTN 2NNN 3TNT",
                "RECOMM": "stop: 2/3 with a DLT at dose level 3; MTD = dose level 2",
                "DECISION": "trial stopped; dose level 2 recommended",
                "DECIDER": "Dr A. Statistician",
                "DECDT": "2025-07-21",
                "DEVFL": "N",
                "DEVREAS": "",
            },
        ]
    )
    meta = {
        "title": "XYZ-19 CAR-T cells in relapsed B-cell lymphoma: phase I dose escalation "
        "(synthetic example)",
        "version": "1.0",
        "dose_unit": UNIT,
        "design": {
            "name": "3+3",
            "settings": {"n_doses": 3},
            "dose_levels": [0.5, 1.0, 2.0],
            "schedule": "one intravenous infusion on day 1 after lymphodepletion",
            "dlt_window_days": 28,
            "dlt_definition": "grade >= 3 cytokine release syndrome or ICANS (ASTCT), or any "
            "grade >= 3 non-haematological toxicity related to the product, within 28 days",
        },
        "recommended_dose": {
            "dose": label(1.0),
            "rationale": "the MTD by the 3+3 rule (1 of 6 with a DLT at 1.0, 2 of 3 at 2.0); "
            "responses seen at every dose from 1.0",
        },
        "response": {"paramcd": "BESTRESP", "positive": ["CR", "PR"]},
        "ae_grades": "detail",
        "aesi": [
            {"label": "Cytokine release syndrome", "terms": ["Cytokine release syndrome"]},
            {
                "label": "ICANS",
                "terms": ["Immune effector cell-associated neurotoxicity syndrome"],
            },
        ],
        "causality": {
            "related": ["POSSIBLE", "PROBABLE", "DEFINITE"],
            "not_related": ["UNRELATED", "UNLIKELY"],
        },
        "dose_deviation_tolerance": 0.05,
    }
    for name, frame in (
        ("adsl", adsl),
        ("adex", adex),
        ("adae", adae),
        ("adrs", adrs),
        ("addec", addec),
    ):
        frame.to_csv(HERE / f"{name}.csv", index=False)
    (HERE / "trial.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    build()
