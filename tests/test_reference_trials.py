"""The four reference trials: published numbers recomputed through the public API from the
examples' datasets (``examples/trials/<trial>/``, written by ``examples/build_datasets.py``;
sources: the trial reports in the project's seeds; every choice the papers leave open is listed
in ``examples/trials/<trial>/README.md``).

Three kinds of test, named by their suffix:

- ``*_validation``: the numbers rest on data the paper determines completely (IPS Table 3 prints
  every patient's outcome day; each published proportion prints its count x/n, and the ITP and
  GVHD abstracts give the counts by phase, dose and response category). The library computes the
  estimate and its exact Clopper-Pearson interval (or the percentage with the safety-population
  denominator), and these are compared with what the paper printed and, for the intervals, with
  R ``binom.test(x, n)$conf.int`` (quoted beside each). The published interval is the
  independent check.
- ``*_consistency``: the example data were built or searched to reproduce the published figures
  (GVHD event times for the Kaplan-Meier and competing-risk estimates; IPS weights, the
  discontinuation days behind Table 4 and the patients given each AE of Table 5; the SLE events).
  Recovering those numbers shows that the datasets and the tables agree with each other and
  with the paper; it is not a validation of the library.
- ``*_dataset_consistency``: properties of the example datasets alone (sizes, dose levels,
  agreement between tables); they guard the data, not the code.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from earlyphase.data import TrialData, load_trial
from earlyphase.tables.adverse_events import ae_table
from earlyphase.tables.efficacy import (
    cumulative_incidence_table,
    proportion_table,
    response_table,
    survival_tables,
)
from earlyphase.tables.trial_tables import baseline_table, exposure_table, free_days_table
from helpers import assert_agree

TRIALS = Path(__file__).parents[1] / "examples" / "trials"


def pct(v: float) -> float:
    return round(100 * v, 1)


def check_ci(
    got: tuple[float, float], r_ci: tuple[float, float], published: tuple[float, float] | None
) -> None:
    """An exact interval against R ``binom.test`` (7 significant digits) and, when the paper
    prints it, against the published percentages (1 decimal)."""
    assert_agree(got, r_ci, what="Clopper-Pearson vs R binom.test")
    if published is not None:
        assert (pct(got[0]), pct(got[1])) == published


@pytest.fixture(scope="module")
def ips() -> TrialData:
    return load_trial(TRIALS / "ips")


@pytest.fixture(scope="module")
def gvhd() -> TrialData:
    return load_trial(TRIALS / "gvhd")


@pytest.fixture(scope="module")
def itp() -> TrialData:
    return load_trial(TRIALS / "itp")


@pytest.fixture(scope="module")
def sle() -> TrialData:
    return load_trial(TRIALS / "sle")


# --- IPS (HLC-001; seeds 000/001) ---------------------------------------------------------------


def test_ips_survival_validation(ips: TrialData) -> None:
    # "71.4% (5/7; 95% CI 29.0%-96.3%)" at day 56 and day 100; 1-year survival 28.6% (2/7)
    s = survival_tables(ips, "OS", [56, 100, 365])
    for day in (56, 100):
        v = f"day {day}"
        assert (s.value("crude", "x", variable=v), s.value("crude", "n", variable=v)) == (5, 7)
        assert pct(s.value("crude", "estimate", variable=v)) == 71.4
        # R: binom.test(5, 7)$conf.int = 0.2904209 0.9633074
        got = (s.value("crude", "ci_lower", variable=v), s.value("crude", "ci_upper", variable=v))
        check_ci(got, (0.2904209, 0.9633074), (29.0, 96.3))
    v = "day 365"
    assert (s.value("crude", "x", variable=v), s.value("crude", "n", variable=v)) == (2, 7)
    assert pct(s.value("crude", "estimate", variable=v)) == 28.6
    assert pct(s.value("kaplan-meier", "estimate", variable=v)) == 28.6  # nobody censored before
    # R: binom.test(2, 7)$conf.int = 0.03669257 0.70957914 (not printed in the report)
    got = (s.value("crude", "ci_lower", variable=v), s.value("crude", "ci_upper", variable=v))
    check_ci(got, (0.03669257, 0.70957914), None)


@pytest.mark.parametrize(
    "paramcd, visit, x, n, est, r_ci, published",
    [
        # without mechanical ventilation, all periods; R: binom.test(6, 7)$conf.int
        ("NOMV", "DAY 28", 6, 7, 85.7, (0.4212768, 0.9963897), (42.1, 99.6)),
        ("NOMV", "DAY 100", 6, 7, 85.7, (0.4212768, 0.9963897), (42.1, 99.6)),
        # without oxygen; R: binom.test(4, 7)$conf.int
        ("NOO2", "DAY 56", 4, 7, 57.1, (0.1840516, 0.9010117), (18.4, 90.1)),
        # no increase in oxygen dose; R: binom.test(6, 7) and binom.test(5, 7)
        ("NOO2INC", "DAY 28", 6, 7, 85.7, (0.4212768, 0.9963897), (42.1, 99.6)),
        ("NOO2INC", "DAY 56", 5, 7, 71.4, (0.2904209, 0.9633074), (29.0, 96.3)),
        # oxygen reduced >= 50% (patients on oxygen); R: binom.test(3, 3) and binom.test(2, 3)
        ("O2RED50", "DAY 28", 3, 3, 100.0, (0.2924018, 1.0), (29.2, 100.0)),
        ("O2RED50", "DAY 56", 2, 3, 66.7, (0.09429932, 0.99159624), (9.4, 99.2)),
        # corticosteroid < 1 mg/kg/day; R: binom.test(5, 6)$conf.int
        ("STERRED", "DAY 100", 5, 6, 83.3, (0.3587654, 0.9957893), (35.9, 99.6)),
    ],
)
def test_ips_proportions_validation(
    ips: TrialData,
    paramcd: str,
    visit: str,
    x: int,
    n: int,
    est: float,
    r_ci: tuple[float, float],
    published: tuple[float, float],
) -> None:
    t = proportion_table(ips, paramcd, [visit])
    assert (t.value(paramcd, "x"), t.value(paramcd, "n")) == (x, n)
    assert pct(t.value(paramcd, "estimate")) == est
    check_ci((t.value(paramcd, "ci_lower"), t.value(paramcd, "ci_upper")), r_ci, published)


def test_ips_table_2_validation(ips: TrialData) -> None:
    """Table 2 rows that Table 3 determines patient by patient (age, P/F ratio, malignancy)."""
    b = baseline_table(
        ips,
        [
            ("AGE", "Age", "mean_sd_median_range"),
            ("PFRATIO", "P/F ratio", "mean_sd_median_range"),
            ("MALIG", "Malignancy", "n_pct"),
        ],
        by=None,
    )
    # age 43.3 +- 14.5, 43.0 (21-64)
    assert (round(b.value("Age", "mean"), 1), round(b.value("Age", "sd"), 1)) == (43.3, 14.5)
    assert (b.value("Age", "median"), b.value("Age", "min"), b.value("Age", "max")) == (43, 21, 64)
    # P/F ratio 374.81 +- 133.21, 404.80 (154.0-566.7)
    assert round(b.value("P/F ratio", "mean"), 2) == 374.81
    assert round(b.value("P/F ratio", "sd"), 2) == 133.21
    assert b.value("P/F ratio", "median") == pytest.approx(404.8)
    # AML 4 (57.1), ALL 2 (28.6), NHL 1 (14.3)
    for level, (k, p) in {"AML": (4, 57.1), "ALL": (2, 28.6), "NHL": (1, 14.3)}.items():
        assert b.value(level, "n", variable="MALIG") == k
        assert (
            pct(b.value(level, "n", variable="MALIG") / b.value(level, "N", variable="MALIG")) == p
        )


def test_ips_table_2_weight_consistency(ips: TrialData) -> None:
    """The seven weights are not published; they were chosen to give Table 2's summary."""
    b = baseline_table(ips, [("WEIGHT", "Weight", "mean_sd_median_range")], by=None)
    # weight 53.40 +- 6.82, 51.50 (46.1-66.9)
    assert (round(b.value("Weight", "mean"), 2), round(b.value("Weight", "sd"), 2)) == (53.40, 6.82)
    assert (b.value("Weight", "median"), b.value("Weight", "min"), b.value("Weight", "max")) == (
        pytest.approx(51.5),
        pytest.approx(46.1),
        pytest.approx(66.9),
    )


def test_ips_table_4_days_without_ventilation_consistency(ips: TrialData) -> None:
    """The discontinuation days (55 and 71) were searched for to reproduce Table 4."""
    # Table 4: 24.0 +- 10.6, 28.0 (0-28); 44.9 +- 21.2, 56.0 (0-56); 65.9 +- 38.6, 71.0 (0-100)
    t = free_days_table(ips, "MV", [28, 56, 100], "Days without MV")
    label = "Days without MV"
    expected = {
        28: (24.0, 10.6, 28.0, 0, 28),
        56: (44.9, 21.2, 56.0, 0, 56),
        100: (65.9, 38.6, 71.0, 0, 100),
    }
    for h, (mean, sd, med, lo, hi) in expected.items():
        v = f"day {h}"
        assert round(t.value(label, "mean", variable=v), 1) == mean
        assert round(t.value(label, "sd", variable=v), 1) == sd
        assert (
            t.value(label, "median", variable=v),
            t.value(label, "min", variable=v),
            t.value(label, "max", variable=v),
        ) == (med, lo, hi)


def test_ips_table_5_adverse_events_consistency(ips: TrialData) -> None:
    """Which patient had which AE is not published: ADAE was built from Table 5's counts (the
    counting rules themselves are checked on a hand-computed case in test_tables_and_report)."""
    ae = ae_table(ips, by=None)
    # Table 5 and text: 57 AEs in 7 (100.0%); 30 ADRs in 5 (71.4%); 6 serious AEs in 4 (57.1%);
    # no grade 4-5
    for label, (events, subjects, percent) in {
        "Any TEAE": (57, 7, 100.0),
        "Any related AE (ADR)": (30, 5, 71.4),
        "Any serious AE": (6, 4, 57.1),
    }.items():
        assert (ae.value(label, "n_events"), ae.value(label, "n_subjects")) == (events, subjects)
        assert round(ae.value(label, "pct"), 1) == percent, label
    assert ae.value("Fatal", "n_subjects") == 0
    table5 = {  # SOC: (events, patients, % of patients)
        "Metabolism and nutrition disorders": (4, 4, 57.1),
        "Respiratory, thoracic and mediastinal disorders": (5, 3, 42.9),
        "Vascular disorders": (6, 3, 42.9),
        "General disorders and administration site conditions": (4, 3, 42.9),
        "Infections and infestations": (3, 3, 42.9),
        "Injury, poisoning and procedural complications": (11, 2, 28.6),
        "Nervous system disorders": (8, 2, 28.6),
        "Cardiac disorders": (2, 2, 28.6),
        "Psychiatric disorders": (2, 2, 28.6),
        "Skin and subcutaneous tissue disorders": (2, 2, 28.6),
        "Investigations": (5, 1, 14.3),
        "Blood and lymphatic system disorders": (1, 1, 14.3),
        "Ear and labyrinth disorders": (1, 1, 14.3),
        "Gastrointestinal disorders": (1, 1, 14.3),
        "Immune system disorders": (1, 1, 14.3),
    }
    for soc, (ev, pts, p) in table5.items():
        got = (
            ae.value(soc, "n_events", variable="SOC"),
            ae.value(soc, "n_subjects", variable="SOC"),
            round(ae.value(soc, "pct", variable="SOC"), 1),
        )
        assert got == (ev, pts, p), soc
    pts5 = {  # PT: (SOC, events, patients, % of patients)
        "Pneumothorax": ("Respiratory, thoracic and mediastinal disorders", 4, 2, 28.6),
        "Hypotension": ("Vascular disorders", 4, 1, 14.3),
        "Infusion-related reaction": ("Injury, poisoning and procedural complications", 8, 1, 14.3),
        "Pyrexia": ("General disorders and administration site conditions", 2, 2, 28.6),
        "Hypokalemia": ("Metabolism and nutrition disorders", 2, 2, 28.6),
        "Insomnia": ("Psychiatric disorders", 2, 2, 28.6),
        "Headache": ("Nervous system disorders", 4, 1, 14.3),
    }
    for pt, (soc, ev, n, p) in pts5.items():
        v = f"PT|{soc}"
        got = (
            ae.value(pt, "n_events", variable=v),
            ae.value(pt, "n_subjects", variable=v),
            round(ae.value(pt, "pct", variable=v), 1),
        )
        assert got == (ev, n, p), pt


def test_ips_dataset_consistency(ips: TrialData) -> None:
    """ADSL and ADEX pair the same weight with each patient (one source in build_datasets.py),
    and the exposure agrees with the text: 4 to 8 doses, median 6, at 2.0 x 10^6 cells/kg."""
    assert ips.adex is not None
    weights = ips.adsl.set_index("USUBJID")["WEIGHT"]
    dosed = ips.adex.groupby("USUBJID")["WEIGHT"].agg(["min", "max"])
    assert (dosed["min"] == dosed["max"]).all()
    assert dosed["min"].to_dict() == weights.to_dict()
    ex = exposure_table(ips, by=None)
    label = "Infusions per subject"
    assert (ex.value(label, "median"), ex.value(label, "min"), ex.value(label, "max")) == (6, 4, 8)
    # not a published figure: total cells here span 368.8-1070.4 (paper: 368-1064 x 10^6)
    label = "Total cells per subject (10^6)"
    assert (ex.value(label, "min"), ex.value(label, "max")) == (
        pytest.approx(368.8),
        pytest.approx(1070.4),
    )


# --- GVHD (hUC-MSC; seed 002) -------------------------------------------------------------------


def test_gvhd_response_validation(gvhd: TrialData) -> None:
    # "ORR of 80.0% ... complete response rate of 40.0% and partial response rate of 40.0%" (n=25)
    r = response_table(gvhd, "DAY 28")
    cases = {  # label: (x, estimate %, R binom.test(x, 25)$conf.int)
        "Overall response (CR + PR)": (20, 80.0, (0.5929626, 0.9316885)),
        "Complete response": (10, 40.0, (0.2112548, 0.6133465)),
        "Partial response": (10, 40.0, (0.2112548, 0.6133465)),
    }
    for label, (x, est, r_ci) in cases.items():
        assert (r.value(label, "x"), r.value(label, "n")) == (x, 25)
        assert pct(r.value(label, "estimate")) == est
        check_ci((r.value(label, "ci_lower"), r.value(label, "ci_upper")), r_ci, None)


def test_gvhd_survival_and_competing_risks_consistency(gvhd: TrialData) -> None:
    """The event and censoring times are not published: the sequence in build_datasets.py was
    searched for to reproduce these three 1-year figures, so this is not validation (the
    estimators are validated against R survival and cmprsk in their own tests)."""
    s = survival_tables(gvhd, "OS", [365])
    assert pct(s.value("kaplan-meier", "estimate", variable="day 365")) == 74.3
    c = cumulative_incidence_table(gvhd, "RELNRM", [365], {1: "Relapse", 2: "NRM"})
    assert pct(c.value("NRM", "estimate")) == 17.0
    assert pct(c.value("Relapse", "estimate")) == 8.4


def test_gvhd_dataset_consistency(gvhd: TrialData) -> None:
    """25 patients: 3 per dose level in the 3+3 (no DLT), 16 at the RP2D in the expansion."""
    assert gvhd.n == 25
    b = baseline_table(gvhd, [("DOSELVL", "Dose", "n_pct")], by="PHASE")
    counts = {
        (g, lev): b.value(lev, "n", group=g, variable="DOSELVL")
        for g in ("ESCALATION", "EXPANSION")
        for lev in ("0.5", "1.0", "2.0")
    }
    assert counts == {
        ("ESCALATION", "0.5"): 3,
        ("ESCALATION", "1.0"): 3,
        ("ESCALATION", "2.0"): 3,
        ("EXPANSION", "0.5"): 0,
        ("EXPANSION", "1.0"): 16,
        ("EXPANSION", "2.0"): 0,
    }


# --- ITP (UC-MSC; seed 003) ---------------------------------------------------------------------


def _escalation_only(trial: TrialData) -> TrialData:
    ids = trial.adsl.loc[trial.adsl["PHASE"] == "ESCALATION", "USUBJID"]
    assert trial.adrs is not None
    return replace(
        trial,
        adsl=trial.adsl[trial.adsl["USUBJID"].isin(ids)],
        adrs=trial.adrs[trial.adrs["USUBJID"].isin(ids)],
    )


def test_itp_response_validation(itp: TrialData) -> None:
    # "41.7% in the dose-escalation phase (5/12 ...) and 50.0% (3/6) in the dose-expansion
    # phase. The overall response rate was 44.4% (8/18)"
    r = proportion_table(itp, "OVRLRESP", ["END OF STUDY"], ("R",), by="PHASE")
    cases = {  # group: (x, n, estimate %, R binom.test(x, n)$conf.int)
        "ESCALATION": (5, 12, 41.7, (0.1516522, 0.7233303)),
        "EXPANSION": (3, 6, 50.0, (0.1181172, 0.8818828)),
        "All": (8, 18, 44.4, (0.2153015, 0.6924283)),
    }
    for g, (x, n, est, r_ci) in cases.items():
        assert (r.value("OVRLRESP", "x", group=g), r.value("OVRLRESP", "n", group=g)) == (x, n)
        assert pct(r.value("OVRLRESP", "estimate", group=g)) == est
        got = (r.value("OVRLRESP", "ci_lower", group=g), r.value("OVRLRESP", "ci_upper", group=g))
        check_ci(got, r_ci, None)


def test_itp_response_by_dose_in_escalation_validation(itp: TrialData) -> None:
    # "5/12, two received 1.0 x 10^6 cells/kg per week, and three received 2.0 x 10^6" - so
    # none at 0.5; the cohorts were 3, 3 and 6 (expanded by 3 after a DLT)
    r = proportion_table(_escalation_only(itp), "OVRLRESP", ["END OF STUDY"], ("R",), by="DOSELVL")
    cases = {  # dose: (x, n, R binom.test(x, n)$conf.int)
        "0.5": (0, 3, (0.0, 0.7075982)),
        "1.0": (2, 3, (0.09429932, 0.99159624)),
        "2.0": (3, 6, (0.1181172, 0.8818828)),
        "All": (5, 12, (0.1516522, 0.7233303)),
    }
    for g, (x, n, r_ci) in cases.items():
        assert (r.value("OVRLRESP", "x", group=g), r.value("OVRLRESP", "n", group=g)) == (x, n)
        got = (r.value("OVRLRESP", "ci_lower", group=g), r.value("OVRLRESP", "ci_upper", group=g))
        check_ci(got, r_ci, None)


def test_itp_adverse_events_validation(itp: TrialData) -> None:
    # "Thirteen patients (13/18, 72.2%) experienced one or more treatment emergent adverse
    # events. Serious adverse events occurred in four patients (4/18, 22.2%)": the library's
    # percentage uses the safety population of ADSL (18) as the denominator
    ae = ae_table(itp, by=None)
    assert (ae.value("Any TEAE", "n_subjects"), ae.value("Any TEAE", "N")) == (13, 18)
    assert round(ae.value("Any TEAE", "pct"), 1) == 72.2
    assert (ae.value("Any serious AE", "n_subjects"), ae.value("Any serious AE", "N")) == (4, 18)
    assert round(ae.value("Any serious AE", "pct"), 1) == 22.2
    # gastrointestinal haemorrhage (2/4), profuse menstruation (1/4), acute MI (1/4)
    soc = "PT|Gastrointestinal disorders"
    assert ae.value("Gastrointestinal haemorrhage", "n_subjects", variable=soc) == 2


def test_itp_dataset_consistency(itp: TrialData) -> None:
    """18 patients: escalation 3 at 0.5, 3 at 1.0, 6 at 2.0; expansion 6 at 2.0."""
    assert itp.n == 18
    b = baseline_table(itp, [("DOSELVL", "Dose", "n_pct")], by="PHASE")
    got = {
        (g, lev): b.value(lev, "n", group=g, variable="DOSELVL")
        for g in ("ESCALATION", "EXPANSION")
        for lev in ("0.5", "1.0", "2.0")
    }
    assert got == {
        ("ESCALATION", "0.5"): 3,
        ("ESCALATION", "1.0"): 3,
        ("ESCALATION", "2.0"): 6,
        ("EXPANSION", "0.5"): 0,
        ("EXPANSION", "1.0"): 0,
        ("EXPANSION", "2.0"): 6,
    }


# --- SLE (MSC(UC); seed 004) --------------------------------------------------------------------


def test_sle_adverse_events_consistency(sle: TrialData) -> None:
    """Which patients had the AEs, and when, is not published: ADAE was built from the
    abstract's counts."""
    early = ae_table(sle, by=None, window=10)
    # "No SAE and 3 infusion-related AE (2 grade 1, 1 grade 2) in 2 pts ... in the first 10 days"
    assert (early.value("Any TEAE", "n_events"), early.value("Any TEAE", "n_subjects")) == (3, 2)
    assert round(early.value("Any TEAE", "pct"), 1) == 25.0  # 2 of 8
    assert early.value("Any serious AE", "n_subjects") == 0
    assert early.value("Any grade >= 3 AE", "n_subjects") == 0
    # "no TR SAE and 3 non-TR SAE after relapse in 1 pt"
    allae = ae_table(sle, by=None)
    assert (
        allae.value("Any serious AE", "n_events"),
        allae.value("Any serious AE", "n_subjects"),
    ) == (
        3,
        1,
    )


def test_sle_dataset_consistency(sle: TrialData) -> None:
    """8 patients (7 female), 5 at 2 and 3 at 4 x 10^6 cells/kg; the early AEs' grades are
    2 x grade 1 and 1 x grade 2; the serious AEs are all unrelated to treatment."""
    assert sle.n == 8
    b = baseline_table(sle, [("DOSELVL", "Dose", "n_pct"), ("SEX", "Sex", "n_pct")], by=None)
    assert (b.value("2.0", "n", variable="DOSELVL"), b.value("4.0", "n", variable="DOSELVL")) == (
        5,
        3,
    )
    assert b.value("F", "n", variable="SEX") == 7
    assert sle.adae is not None
    early = sle.adae[sle.adae["ASTDY"] <= 10]
    assert sorted(early["AETOXGR"].tolist()) == [1, 1, 2]
    serious = sle.adae[sle.adae["AESER"] == "Y"]
    assert (serious["AEREL"] == "N").all()
