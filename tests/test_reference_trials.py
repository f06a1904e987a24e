"""The four reference trials: published numbers recomputed from the examples' datasets through
the public API (sources: the trial reports in the project's seeds; see
examples/trials/*/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from earlyphase.data import load_trial
from earlyphase.tables.adverse_events import ae_table
from earlyphase.tables.efficacy import (
    cumulative_incidence_table,
    proportion_table,
    response_table,
    survival_tables,
)
from earlyphase.tables.trial_tables import baseline_table, free_days_table

TRIALS = Path(__file__).parents[1] / "examples" / "trials"


def pct(v: float) -> float:
    return round(100 * v, 1)


@pytest.fixture(scope="module")
def ips():  # type: ignore[no-untyped-def]
    return load_trial(TRIALS / "ips")


def test_ips_survival(ips) -> None:  # type: ignore[no-untyped-def]
    # "71.4% (5/7; 95% CI 29.0%-96.3%)" at day 56 and day 100; 1-year survival 28.6% (2/7)
    s = survival_tables(ips, "OS", [56, 100, 365])
    for day in (56, 100):
        assert s.value("crude", "x", variable=f"day {day}") == 5
        assert pct(s.value("crude", "estimate", variable=f"day {day}")) == 71.4
        assert pct(s.value("crude", "ci_lower", variable=f"day {day}")) == 29.0
        assert pct(s.value("crude", "ci_upper", variable=f"day {day}")) == 96.3
    assert pct(s.value("crude", "estimate", variable="day 365")) == 28.6


@pytest.mark.parametrize(
    "paramcd, visit, x, n, est, lo, hi",
    [
        ("NOMV", "DAY 28", 6, 7, 85.7, 42.1, 99.6),  # without mechanical ventilation, all periods
        ("NOMV", "DAY 100", 6, 7, 85.7, 42.1, 99.6),
        ("NOO2", "DAY 56", 4, 7, 57.1, 18.4, 90.1),  # without oxygen
        ("NOO2INC", "DAY 28", 6, 7, 85.7, 42.1, 99.6),  # no increase in oxygen dose
        ("NOO2INC", "DAY 56", 5, 7, 71.4, 29.0, 96.3),
        ("O2RED50", "DAY 28", 3, 3, 100.0, 29.2, 100.0),  # oxygen reduced >= 50%
        ("O2RED50", "DAY 56", 2, 3, 66.7, 9.4, 99.2),
        ("STERRED", "DAY 100", 5, 6, 83.3, 35.9, 99.6),  # corticosteroid < 1 mg/kg/day
    ],
)
def test_ips_proportions(
    ips,
    paramcd: str,
    visit: str,
    x: int,
    n: int,
    est: float,  # type: ignore[no-untyped-def]
    lo: float,
    hi: float,
) -> None:
    t = proportion_table(ips, paramcd, [visit])
    assert (t.value(paramcd, "x"), t.value(paramcd, "n")) == (x, n)
    assert (
        pct(t.value(paramcd, "estimate")),
        pct(t.value(paramcd, "ci_lower")),
        pct(t.value(paramcd, "ci_upper")),
    ) == (est, lo, hi)


def test_ips_table_4_days_without_ventilation(ips) -> None:  # type: ignore[no-untyped-def]
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


def test_ips_table_2_and_table_5(ips) -> None:  # type: ignore[no-untyped-def]
    b = baseline_table(
        ips, [("AGE", "Age", "mean_sd_median_range"), ("WEIGHT", "Weight", "mean_sd")], by=None
    )
    # Table 2: age 43.3 +- 14.5, 43.0 (21-64); weight 53.40 +- 6.82
    assert round(b.value("Age", "mean"), 1) == 43.3 and round(b.value("Age", "sd"), 1) == 14.5
    assert (
        round(b.value("Weight", "mean"), 2) == 53.40 and round(b.value("Weight", "sd"), 2) == 6.82
    )
    ae = ae_table(ips, by=None)
    # Table 5 and text: 57 AEs in 7 patients; 30 ADRs in 5; 6 serious AEs in 4; no grade 4-5
    assert (ae.value("Any TEAE", "n_events"), ae.value("Any TEAE", "n_subjects")) == (57, 7)
    assert (
        ae.value("Any related AE (ADR)", "n_events"),
        ae.value("Any related AE (ADR)", "n_subjects"),
    ) == (30, 5)
    assert (ae.value("Any serious AE", "n_events"), ae.value("Any serious AE", "n_subjects")) == (
        6,
        4,
    )
    assert ae.value("Fatal (grade 5)", "n_subjects") == 0
    table5 = {  # SOC: (events, patients); PT: (events, patients)
        "Metabolism and nutrition disorders": (4, 4),
        "Respiratory, thoracic and mediastinal disorders": (5, 3),
        "Vascular disorders": (6, 3),
        "General disorders and administration site conditions": (4, 3),
        "Infections and infestations": (3, 3),
        "Injury, poisoning and procedural complications": (11, 2),
        "Nervous system disorders": (8, 2),
        "Cardiac disorders": (2, 2),
        "Psychiatric disorders": (2, 2),
        "Skin and subcutaneous tissue disorders": (2, 2),
        "Investigations": (5, 1),
        "Blood and lymphatic system disorders": (1, 1),
        "Ear and labyrinth disorders": (1, 1),
        "Gastrointestinal disorders": (1, 1),
        "Immune system disorders": (1, 1),
    }
    for soc, (ev, pts) in table5.items():
        assert (
            ae.value(soc, "n_events", variable="SOC"),
            ae.value(soc, "n_subjects", variable="SOC"),
        ) == (ev, pts), soc
    pts5 = {
        "Pneumothorax": (4, 2),
        "Hypotension": (4, 1),
        "Infusion-related reaction": (8, 1),
        "Pyrexia": (2, 2),
        "Hypokalemia": (2, 2),
        "Insomnia": (2, 2),
        "Headache": (4, 1),
    }
    for pt, (ev, n) in pts5.items():
        rows = ae.ard[(ae.ard["label"] == pt) & ae.ard["variable"].str.startswith("PT|")]
        got = (
            rows.loc[rows["stat"] == "n_events", "value"].iloc[0],
            rows.loc[rows["stat"] == "n_subjects", "value"].iloc[0],
        )
        assert got == (ev, n), pt


def test_gvhd() -> None:
    g = load_trial(TRIALS / "gvhd")
    assert g.n == 25
    r = response_table(g, "DAY 28")
    assert pct(r.value("Overall response (CR + PR)", "estimate")) == 80.0
    assert pct(r.value("Complete response", "estimate")) == 40.0
    assert pct(r.value("Partial response", "estimate")) == 40.0
    s = survival_tables(g, "OS", [365])
    assert pct(s.value("kaplan-meier", "estimate", variable="day 365")) == 74.3
    c = cumulative_incidence_table(g, "RELNRM", [365], {1: "Relapse", 2: "NRM"})
    assert pct(c.value("NRM", "estimate")) == 17.0
    assert pct(c.value("Relapse", "estimate")) == 8.4


def test_itp() -> None:
    i = load_trial(TRIALS / "itp")
    assert i.n == 18
    r = proportion_table(i, "OVRLRESP", ["END OF STUDY"], ("R",), by="PHASE")
    assert (r.value("OVRLRESP", "x", group="All"), r.value("OVRLRESP", "n", group="All")) == (8, 18)
    assert pct(r.value("OVRLRESP", "estimate", group="All")) == 44.4
    assert (
        r.value("OVRLRESP", "x", group="ESCALATION"),
        r.value("OVRLRESP", "n", group="ESCALATION"),
    ) == (5, 12)
    assert (
        r.value("OVRLRESP", "x", group="EXPANSION"),
        r.value("OVRLRESP", "n", group="EXPANSION"),
    ) == (3, 6)
    ae = ae_table(i, by=None)
    assert ae.value("Any TEAE", "n_subjects") == 13 and pct(13 / 18) == 72.2
    assert ae.value("Any serious AE", "n_subjects") == 4 and pct(4 / 18) == 22.2
    by_dose = r.ard  # responders at 1.0 and 2.0 in escalation: 2 and 3
    del by_dose
    adsl = i.adsl.merge(i.adrs, on="USUBJID")
    esc = adsl[adsl["PHASE"] == "ESCALATION"]
    assert esc.groupby("DOSELVL")["AVALC"].apply(lambda v: int((v == "R").sum())).to_dict() == {
        0.5: 0,
        1.0: 2,
        2.0: 3,
    }


def test_sle() -> None:
    s = load_trial(TRIALS / "sle")
    assert s.n == 8
    assert s.adsl["DOSELVL"].value_counts().to_dict() == {2.0: 5, 4.0: 3}
    early = ae_table(s, by=None, window=10)
    # "3 infusion-related AE (2 grade 1, 1 grade 2) in 2 pts" in the first 10 days, no SAE
    assert (early.value("Any TEAE", "n_events"), early.value("Any TEAE", "n_subjects")) == (3, 2)
    assert early.value("Any serious AE", "n_subjects") == 0
    grades = sorted(s.adae.loc[s.adae["ASTDY"] <= 10, "AETOXGR"].tolist())
    assert grades == [1, 1, 2]
    allae = ae_table(s, by=None)
    # no treatment-related SAE; 3 non-treatment-related SAEs in 1 patient
    sae = s.adae[s.adae["AESER"] == "Y"]
    assert len(sae) == 3 and sae["USUBJID"].nunique() == 1 and (sae["AEREL"] == "N").all()
    assert allae.value("Any serious AE", "n_events") == 3
