"""Build the reference trials' ADaM-style datasets from what their reports publish.

Run ``python examples/build_datasets.py`` to (re)write ``examples/trials/<trial>/`` (the
user-facing copies) and the identical copies shipped in the package,
``src/earlyphase/datasets/trials/<trial>/`` (read by ``earlyphase demo`` and
``earlyphase.datasets.load_reference_trial``); ``tests/test_examples.py`` checks that the two
are identical. Every choice that the papers leave open is listed in
``examples/trials/<trial>/README.md``; ``tests/test_reference_trials.py`` recomputes the
published numbers and says which of them the data were built to reproduce.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent / "trials"
#: The copy shipped as package data (``earlyphase.datasets.load_reference_trial``).
PACKAGED = Path(__file__).parents[1] / "src" / "earlyphase" / "datasets" / "trials"


def _write(
    trial: str, tables: dict[str, pd.DataFrame], meta: dict[str, object], notes: str
) -> None:
    """Write one trial's tables, ``trial.json`` and README to both copies, byte for byte."""
    for root in (HERE, PACKAGED):
        folder = root / trial
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            frame.to_csv(folder / f"{name.lower()}.csv", index=False)
        (folder / "trial.json").write_text(json.dumps(meta, indent=2) + "\n")
        (folder / "README.md").write_text(notes)


# --- IPS (HLC-001; Doki et al. 2025, seeds 000/001) -----------------------------------------
def ips() -> None:
    ids = [f"IPS-{i}" for i in range(1, 8)]
    age = [64, 21, 43, 49, 56, 36, 34]
    # Table 2: mean 53.40, SD 6.82, median 51.5 (46.1-66.9); not published per patient. The one
    # pairing of weights with patients, used by ADSL (baseline) and ADEX (weight at dosing):
    # with the doses per patient below, total cells span 368.8-1070.4 x 10^6 (published range
    # 368-1064 x 10^6).
    weight = [66.9, 57.0, 52.4, 51.5, 46.1, 49.0, 50.9]
    death = [50, 35, 204, 246, 155, None, None]
    last = [50, 35, 204, 246, 155, 485, 729]
    eos = [50, 35, 71, 246, 55, 485, 729]  # end of study participation (death / discontinuation)
    status = [
        "DISCONTINUED",
        "DISCONTINUED",
        "DISCONTINUED",
        "COMPLETED",
        "DISCONTINUED",
        "COMPLETED",
        "COMPLETED",
    ]
    reason = ["DEATH", "DEATH", "OTHER", None, "OTHER", None, None]
    adsl = pd.DataFrame(
        {
            "USUBJID": ids,
            "TRT01A": "2.0 x 10^6 cells/kg",
            "DOSELVL": 2.0,
            "AGE": age,
            "SEX": "M",
            "WEIGHT": weight,
            "MALIG": ["AML", "ALL", "AML", "AML", "ALL", "AML", "NHL"],
            "STEROID": [25.1, 27.3, 1.3, 1.0, 1.1, 1.3, 1.0],
            "PFRATIO": [154, 413, 566.7, 382.1, 258.3, 404.8, 444.8],
            "SAFFL": "Y",
            "EFFFL": "Y",
            "EOSSTT": status,
            "DCSREAS": reason,
            "DTHFL": ["Y" if d is not None else "N" for d in death],
            "DTHDY": death,
            "LSTALVDY": last,
            "EOSDY": eos,
        }
    )
    n_doses = [8, 8, 7, 6, 4, 4, 4]
    adex = pd.DataFrame(
        [
            {
                "USUBJID": s,
                "EXSEQ": k + 1,
                "EXDY": 1 + 3.5 * k,
                "EXDOSE": 2.0,
                "WEIGHT": w,
                "LOT": "L1",
            }
            for s, w, d in zip(ids, weight, n_doses, strict=True)
            for k in range(d)
        ]
    )
    adtte = pd.DataFrame(
        {
            "USUBJID": ids,
            "PARAMCD": "OS",
            "AVAL": last,
            "CNSR": [0 if d is not None else 1 for d in death],
            "EVNTDESC": ["DEATH" if d is not None else "ALIVE" for d in death],
        }
    )
    rs = []

    def add(param: str, visit: str, values: dict[str, str]) -> None:
        rs.extend(
            {"USUBJID": s, "PARAMCD": param, "AVISIT": visit, "AVALC": v} for s, v in values.items()
        )

    for day in ("DAY 28", "DAY 56", "DAY 100"):
        add("NOMV", day, {s: ("N" if s == "IPS-1" else "Y") for s in ids})
        add(
            "NOO2",
            day,
            {s: ("Y" if s in ("IPS-3", "IPS-4", "IPS-6", "IPS-7") else "N") for s in ids},
        )
        add(
            "NOO2INC",
            day,
            {
                s: ("N" if s in (("IPS-1",) if day == "DAY 28" else ("IPS-1", "IPS-2")) else "Y")
                for s in ids
            },
        )
        red = {"IPS-1": "Y" if day == "DAY 28" else "N", "IPS-2": "Y", "IPS-5": "Y"}
        add("O2RED50", day, red)
        add(
            "ALIVE",
            day,
            {
                s: ("Y" if (death[i] is None or death[i] > int(day.split()[1])) else "N")
                for i, s in enumerate(ids)
            },
        )
    add("STERRED", "DAY 100", {s: ("N" if s == "IPS-2" else "Y") for s in ids if s != "IPS-7"})
    adrs = pd.DataFrame(rs)
    advent = pd.DataFrame({"USUBJID": ["IPS-1"], "PARAMCD": ["MV"], "ASTDY": [0], "AENDY": [50]})
    # Table 5: (SOC, PT, events per subject, grade, serious, related)
    S = {i: f"IPS-{i}" for i in range(1, 8)}
    ae_spec = [
        ("Metabolism and nutrition disorders", "Hypokalemia", {1: 1, 2: 1}, 1, "N", "N"),
        ("Metabolism and nutrition disorders", "Hyperglycemia", {3: 1}, 3, "N", "N"),
        ("Metabolism and nutrition disorders", "Hyperuricemia", {4: 1}, 1, "N", "N"),
        (
            "Respiratory, thoracic and mediastinal disorders",
            "Pneumothorax",
            {1: 2, 2: 2},
            3,
            "Y",
            "N",
        ),
        (
            "Respiratory, thoracic and mediastinal disorders",
            "Pneumomediastinum",
            {3: 1},
            2,
            "N",
            "N",
        ),
        ("Vascular disorders", "Hypotension", {5: 4}, 1, "N", "Y"),
        ("Vascular disorders", "Hypertension", {6: 1}, 3, "N", "Y"),
        ("Vascular disorders", "Phlebitis", {7: 1}, 1, "N", "Y"),
        (
            "General disorders and administration site conditions",
            "Pyrexia",
            {5: 1, 6: 1},
            1,
            "N",
            "Y",
        ),
        (
            "General disorders and administration site conditions",
            "Catheter site pain",
            {3: 1},
            1,
            "N",
            "N",
        ),
        ("General disorders and administration site conditions", "Edema", {3: 1}, 1, "N", "N"),
        ("Infections and infestations", "Pneumonia", {2: 1, 4: 1}, 2, "N", "N"),
        ("Infections and infestations", "COVID-19", {3: 1}, 3, "Y", "N"),
        (
            "Injury, poisoning and procedural complications",
            "Infusion-related reaction",
            {5: 8},
            3,
            "N",
            "Y",
        ),
        ("Injury, poisoning and procedural complications", "Procedural pain", {1: 3}, 1, "N", "N"),
        ("Nervous system disorders", "Headache", {2: 4}, 1, "N", "Y"),
        ("Nervous system disorders", "Head discomfort", {7: 4}, 1, "N", "Y"),
        ("Cardiac disorders", "Palpitations", {6: 1}, 1, "N", "Y"),
        ("Cardiac disorders", "Sinus tachycardia", {2: 1}, 1, "N", "N"),
        ("Psychiatric disorders", "Insomnia", {3: 1, 4: 1}, 1, "N", "N"),
        ("Skin and subcutaneous tissue disorders", "Rash", {7: 1}, 1, "N", "Y"),
        ("Skin and subcutaneous tissue disorders", "Skin exfoliation", {3: 1}, 1, "N", "N"),
        ("Investigations", "Oxygen saturation decreased", {1: 4}, 2, "N", "Y"),
        ("Investigations", "Platelet count decreased", {1: 1}, 3, "N", "N"),
        ("Blood and lymphatic system disorders", "Thrombotic microangiopathy", {1: 1}, 2, "N", "N"),
        ("Ear and labyrinth disorders", "Ear discomfort", {3: 1}, 1, "N", "N"),
        ("Gastrointestinal disorders", "Hematochezia", {2: 1}, 2, "N", "N"),
        ("Immune system disorders", "Seasonal allergy", {4: 1}, 1, "N", "N"),
        (
            "Neoplasms benign, malignant and unspecified (including cysts and polyps)",
            "Recurrent acute myeloid leukemia",
            {4: 1},
            2,
            "Y",
            "N",
        ),
    ]
    # one of the two pneumonias was grade 3 (text)
    ae_rows = []
    for soc, pt, per_subj, grade, ser, rel in ae_spec:
        for subj, n in per_subj.items():
            for _ in range(n):
                g = grade
                if pt == "Pneumonia" and subj == 2:
                    g = 3
                ae_rows.append(
                    {
                        "USUBJID": S[subj],
                        "AESOC": soc,
                        "AEDECOD": pt,
                        "AETOXGR": g,
                        "AESER": ser,
                        "AEREL": rel,
                        "ASTDY": 5,
                        "TRTEMFL": "Y",
                    }
                )
    adae = pd.DataFrame(ae_rows)
    adlb = pd.DataFrame(
        [
            {
                "USUBJID": s,
                "PARAMCD": "PFRATIO",
                "ADY": d,
                "AVAL": v,
                "ABLFL": "Y" if d == 0 else "N",
            }
            for s, base in zip(ids, [154, 413, 566.7, 382.1, 258.3, 404.8, 444.8], strict=True)
            for d, v in ((0, base),)
        ]
    )
    visits = ["DAY 28", "DAY 56", "DAY 100"]
    meta = {
        "title": "HLC-001 in steroid-refractory idiopathic pneumonia syndrome",
        "dose_unit": "x 10^6 cells/kg",
        "landmarks": [56, 100, 365],
        "survival_param": "OS",
        "risk_times": [0, 100, 200, 300, 400, 500, 600, 700],
        "endpoints": [
            {"paramcd": "ALIVE", "visits": visits, "label": "Alive"},
            {"paramcd": "NOMV", "visits": visits, "label": "Without mechanical ventilation"},
            {"paramcd": "NOO2", "visits": visits, "label": "Without oxygen"},
            {"paramcd": "NOO2INC", "visits": visits, "label": "No increase in oxygen dose"},
            {
                "paramcd": "O2RED50",
                "visits": visits,
                "label": "Oxygen reduced by >= 50% (patients on oxygen)",
            },
            {
                "paramcd": "STERRED",
                "visits": ["DAY 100"],
                "label": "Corticosteroid reduced to < 1 mg/kg/day",
            },
        ],
        "free_days": {
            "paramcd": "MV",
            "horizons": [28, 56, 100],
            "label": "Days without mechanical ventilation",
        },
        "baseline": [
            ["AGE", "Age, years", "mean_sd_median_range"],
            ["WEIGHT", "Weight, kg", "mean_sd_median_range"],
            ["MALIG", "Malignancy", "n_pct"],
            ["STEROID", "Corticosteroid dose, mg/kg/day", "median_range"],
            ["PFRATIO", "P/F ratio", "mean_sd_median_range"],
        ],
    }
    notes = """# IPS (HLC-001) dataset

Built by `examples/build_datasets.py` from the trial report (Doki et al., Int J Hematol 2025):
Table 3 (every patient's age, disease, outcome day), Table 2 (weight: mean 53.40, SD 6.82,
median 51.5, range 46.1-66.9), Table 4 (days without mechanical ventilation), Table 5 (AEs by
SOC/PT) and the text (doses per patient, oxygen, steroid reduction, grade 3 and serious AEs).

Not published, chosen to agree with every published number:
- individual weights (7 values with the published mean, SD, median and range) and which
  patient has which weight: one pairing, used both as the baseline weight (ADSL) and the weight
  at dosing (ADEX), chosen so that total cells per patient span 368.8-1070.4 x 10^6, near the
  published range 368-1064 x 10^6;
- which two of the four non-completers discontinued (days 55 and 71, the only days consistent
  with Table 4's day-56 and day-100 summaries) - assigned to patients 5 and 3;
- which patients had each AE (SOC/PT patient counts as Table 5; serious events in four distinct
  patients; 30 ADRs in 5 patients) and AE grades other than those listed as grade 3;
- which patients received how many infusions (4 to 8, as published), and infusion days;
  per-infusion doses are 2.0 x 10^6 cells/kg. The published total-cell median (640 x 10^6)
  cannot be produced by a constant cells/kg dose and whole infusions, so exposure totals here
  differ from the paper's (median 618 x 10^6).

Fully determined by the paper (validation in `tests/test_reference_trials.py`): survival
(Table 3 gives every outcome day), the counts behind each published proportion, age,
malignancy and P/F ratio. Built to reproduce published summaries (so only consistency checks):
Table 2's weight, Table 4 and the patient counts of Table 5.
"""
    _write(
        "ips",
        {
            "ADSL": adsl,
            "ADEX": adex,
            "ADTTE": adtte,
            "ADRS": adrs,
            "ADAE": adae,
            "ADVENT": advent,
            "ADLB": adlb,
        },
        meta,
        notes,
    )


# --- GVHD (hUC-MSC, Zhao et al. 2025, seed 002) -----------------------------------------------
def gvhd() -> None:
    ids = [f"GVHD-{i:02d}" for i in range(1, 26)]
    dose = [0.5] * 3 + [1.0] * 3 + [2.0] * 3 + [1.0] * 16
    phase = ["ESCALATION"] * 9 + ["EXPANSION"] * 16
    adsl = pd.DataFrame(
        {
            "USUBJID": ids,
            "TRT01A": [f"{d:.1f} x 10^6 cells/kg" for d in dose],
            "DOSELVL": dose,
            "PHASE": phase,
            "SAFFL": "Y",
            "EFFFL": "Y",
        }
    )
    # competing risks and survival: the only event sequence (times 20..160 days) found that
    # reproduces all three published 1-year figures (OS 74.3%, NRM 17.0%, relapse 8.4%)
    seq = ["R", "N", "C", "N", "C", "N", "R", "N"]
    os_rows, cr_rows = [], []
    relapse_death = {0: 138, 6: 174}
    for i, sid in enumerate(ids):
        if i < len(seq):
            t, kind = 20 * (i + 1), seq[i]
        else:
            t, kind = 400 + 5 * i, "A"
        cause = {"N": 2, "R": 1}.get(kind, 0)
        cr_rows.append(
            {
                "USUBJID": sid,
                "PARAMCD": "RELNRM",
                "AVAL": t,
                "CNSR": 0 if cause else 1,
                "CAUSE": cause,
                "EVNTDESC": {1: "RELAPSE", 2: "NON-RELAPSE DEATH"}.get(cause, "CENSORED"),
            }
        )
        if kind == "N":
            os_rows.append((sid, t, 0))
        elif kind == "R" and i in relapse_death:
            os_rows.append((sid, relapse_death[i], 0))
        elif kind == "R":
            os_rows.append((sid, 400, 1))
        else:
            os_rows.append((sid, t, 1))
    adtte = pd.concat(
        [
            pd.DataFrame(
                [{"USUBJID": s, "PARAMCD": "OS", "AVAL": t, "CNSR": c} for s, t, c in os_rows]
            ),
            pd.DataFrame(cr_rows),
        ],
        ignore_index=True,
    )
    resp = ["CR"] * 10 + ["PR"] * 10 + ["NR"] * 5
    adrs = pd.DataFrame({"USUBJID": ids, "PARAMCD": "OVRLRESP", "AVISIT": "DAY 28", "AVALC": resp})
    adex = pd.DataFrame(
        [
            {"USUBJID": s, "EXSEQ": k + 1, "EXDY": 1 + 3.5 * k, "EXDOSE": d}
            for s, d in zip(ids, dose, strict=True)
            for k in range(6)
        ]
    )
    meta = {
        "title": "hUC-MSC in steroid-refractory acute GVHD (phase Ib/IIa)",
        "dose_unit": "x 10^6 cells/kg",
        "landmarks": [365],
        "survival_param": "OS",
        "response": {"paramcd": "OVRLRESP", "visit": "DAY 28"},
        "competing": {
            "paramcd": "RELNRM",
            "times": [365],
            "causes": {"1": "Relapse", "2": "Non-relapse mortality"},
        },
    }
    notes = """# GVHD (hUC-MSC) dataset

Built from the abstract and text of Zhao et al., Stem Cell Res Ther 2025: 25 patients; phase Ib
3+3 over 0.5 / 1.0 / 2.0 x 10^6 cells/kg with no DLT (3 per level), then 16 at the RP2D
1.0 x 10^6 cells/kg; day-28 response CR 10, PR 10 (ORR 80%); 1-year OS 74.3% (Kaplan-Meier);
1-year cumulative incidence of relapse 8.4% and of non-relapse mortality 17.0%.

Not published, chosen to agree with every published number: event and censoring times (the
sequence relapse, NRM, censored, NRM, censored, NRM, relapse, NRM at days 20..160, with the two
relapsed patients dying on days 138 and 174, reproduces all three 1-year figures), response by
dose level, and the infusion schedule (twice weekly for 3 weeks). Adverse-event counts and
biomarker values are not published, so the dataset has none.

The event sequence was searched for to reproduce the three 1-year figures, so recomputing them
is a consistency check, not validation; the response counts (10 CR, 10 PR of 25) are fully
determined by the paper.
"""
    _write("gvhd", {"ADSL": adsl, "ADEX": adex, "ADTTE": adtte, "ADRS": adrs}, meta, notes)


# --- ITP (UC-MSC, seed 003) ---------------------------------------------------------------------
def itp() -> None:
    ids = [f"ITP-{i:02d}" for i in range(1, 19)]
    dose = [0.5] * 3 + [1.0] * 3 + [2.0] * 6 + [2.0] * 6
    phase = ["ESCALATION"] * 12 + ["EXPANSION"] * 6
    adsl = pd.DataFrame(
        {
            "USUBJID": ids,
            "TRT01A": [f"{d:.1f} x 10^6 cells/kg" for d in dose],
            "DOSELVL": dose,
            "PHASE": phase,
            "SAFFL": "Y",
            "EFFFL": "Y",
        }
    )
    # responders: escalation 5/12 (2 at 1.0, 3 at 2.0), expansion 3/6
    responders = {"ITP-04", "ITP-05", "ITP-07", "ITP-08", "ITP-09", "ITP-13", "ITP-14", "ITP-15"}
    adrs = pd.DataFrame(
        {
            "USUBJID": ids,
            "PARAMCD": "OVRLRESP",
            "AVISIT": "END OF STUDY",
            "AVALC": ["R" if s in responders else "NR" for s in ids],
        }
    )
    # 13 of 18 with a TEAE; SAEs in 4: GI haemorrhage x2, menorrhagia, acute myocardial infarction;
    # one DLT at 2.0 x 10^6 cells/kg (the cohort was expanded by 3)
    ae = []
    sae = {
        "ITP-10": ("Gastrointestinal disorders", "Gastrointestinal haemorrhage", "Y"),
        "ITP-16": ("Gastrointestinal disorders", "Gastrointestinal haemorrhage", "N"),
        "ITP-06": ("Reproductive system and breast disorders", "Heavy menstrual bleeding", "N"),
        "ITP-18": ("Cardiac disorders", "Acute myocardial infarction", "N"),
    }
    for s, (soc, pt, dlt) in sae.items():
        ae.append(
            {
                "USUBJID": s,
                "AESOC": soc,
                "AEDECOD": pt,
                "AETOXGR": 3,
                "AESER": "Y",
                "AEREL": "N",
                "ASTDY": 20,
                "AEDLT": dlt,
            }
        )
    for s in [
        "ITP-01",
        "ITP-02",
        "ITP-03",
        "ITP-04",
        "ITP-07",
        "ITP-08",
        "ITP-11",
        "ITP-12",
        "ITP-13",
    ]:
        ae.append(
            {
                "USUBJID": s,
                "AESOC": "General disorders and administration site conditions",
                "AEDECOD": "Pyrexia",
                "AETOXGR": 1,
                "AESER": "N",
                "AEREL": "Y",
                "ASTDY": 2,
                "AEDLT": "N",
            }
        )
    meta = {
        "title": "UC-MSC in refractory immune thrombocytopenia (phase I)",
        "dose_unit": "x 10^6 cells/kg",
        "endpoints": [
            {
                "paramcd": "OVRLRESP",
                "visits": ["END OF STUDY"],
                "positive": ["R"],
                "label": "Response",
            }
        ],
    }
    notes = """# ITP (UC-MSC) dataset

Built from the abstract of the phase I report: 18 patients; escalation 3 at 0.5, 3 at 1.0 and
6 at 2.0 x 10^6 cells/kg (the 2.0 cohort expanded by 3 after a DLT), then 6 at 2.0 in the
expansion; responses 5/12 in escalation (2 at 1.0, 3 at 2.0) and 3/6 in expansion (8/18); 13/18
with a TEAE; SAEs in 4 (gastrointestinal haemorrhage x2, heavy menstrual bleeding, acute
myocardial infarction).

Not published, chosen to agree: which patients responded within each group, which SAE was the
DLT, and the non-serious TEAEs (recorded as grade 1 pyrexia in 9 patients so that 13 have a
TEAE). The response counts by phase and by dose, and the TEAE and SAE patient counts, are
fully determined by the paper.
"""
    _write("itp", {"ADSL": adsl, "ADRS": adrs, "ADAE": pd.DataFrame(ae)}, meta, notes)


# --- SLE (MSC(UC), NCT03562065, seed 004) ---------------------------------------------------
def sle() -> None:
    ids = [f"SLE-{i}" for i in range(1, 9)]
    dose = [2.0] * 5 + [4.0] * 3
    adsl = pd.DataFrame(
        {
            "USUBJID": ids,
            "TRT01A": [f"{d:.0f} x 10^6 cells/kg" for d in dose],
            "DOSELVL": dose,
            "SEX": ["F"] * 7 + ["M"],
            "SAFFL": "Y",
        }
    )
    adex = pd.DataFrame({"USUBJID": ids, "EXSEQ": 1, "EXDY": 1, "EXDOSE": dose})
    ae = [
        {
            "USUBJID": "SLE-2",
            "AESOC": "Injury, poisoning and procedural complications",
            "AEDECOD": "Infusion related reaction",
            "AETOXGR": 1,
            "AESER": "N",
            "AEREL": "Y",
            "ASTDY": 1,
        },
        {
            "USUBJID": "SLE-2",
            "AESOC": "Injury, poisoning and procedural complications",
            "AEDECOD": "Infusion related reaction",
            "AETOXGR": 2,
            "AESER": "N",
            "AEREL": "Y",
            "ASTDY": 1,
        },
        {
            "USUBJID": "SLE-6",
            "AESOC": "Injury, poisoning and procedural complications",
            "AEDECOD": "Infusion related reaction",
            "AETOXGR": 1,
            "AESER": "N",
            "AEREL": "Y",
            "ASTDY": 1,
        },
    ] + [
        {
            "USUBJID": "SLE-4",
            "AESOC": "Musculoskeletal and connective tissue disorders",
            "AEDECOD": "Systemic lupus erythematosus",
            "AETOXGR": 3,
            "AESER": "Y",
            "AEREL": "N",
            "ASTDY": day,
        }
        for day in (200, 230, 260)
    ]
    meta = {
        "title": "MSC(UC) in severe systemic lupus erythematosus (Bayesian phase I/II)",
        "dose_unit": "x 10^6 cells/kg",
        "ae_window": 10,
    }
    notes = """# SLE (MSC(UC)) dataset

Built from the congress abstract of NCT03562065: 8 patients (7 female), one infusion, 5 at 2 and
3 at 4 x 10^6 cells/kg; in the first 10 days no SAE and 3 infusion-related AEs (2 grade 1, 1
grade 2) in 2 patients; no treatment-related SAE; 3 non-treatment-related SAEs after relapse in
1 patient.

Not published, chosen to agree: which patients had the infusion-related AEs and the SAEs, and
the SAE days and term (recorded as lupus flare, grade 3). The abstract gives no estimate with
a confidence interval, so the tests on this trial are consistency checks only.
"""
    _write("sle", {"ADSL": adsl, "ADEX": adex, "ADAE": pd.DataFrame(ae)}, meta, notes)


if __name__ == "__main__":
    ips()
    gvhd()
    itp()
    sle()
