"""Result tables (AE counting rules, baseline, biomarkers), figures and the HTML report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.data import build_trial, load_trial
from earlyphase.figures.trial import (
    cif_figure,
    consort_figure,
    escalation_figure,
    km_figure,
    spaghetti_figure,
    swimmer_figure,
)
from earlyphase.report import render_report
from earlyphase.tables.adverse_events import ae_table, ae_worst_grade_table
from earlyphase.tables.trial_tables import biomarker_change_table

TRIALS = Path(__file__).parents[1] / "examples" / "trials"


@pytest.fixture(scope="module")
def ae_case():  # type: ignore[no-untyped-def]
    """Analysis notes section 7.7: the hand-checkable AE counting case."""
    adsl = pd.DataFrame(
        {
            "USUBJID": [f"0{i}" for i in range(1, 8)],
            "TRT01A": ["UC-MSC"] * 4 + ["Control"] * 3,
            "SAFFL": ["Y"] * 7,
        }
    )
    rows = [
        ["01", "Infections", "Pneumonia", 3, "Y", "N", "Y"],
        ["01", "Infections", "Pneumonia", 2, "N", "N", "Y"],
        ["01", "General disorders", "Pyrexia", 1, "N", "Y", "Y"],
        ["02", "General disorders", "Pyrexia", 1, "N", "Y", "Y"],
        ["02", "General disorders", "Pyrexia", 2, "N", "Y", "Y"],
        ["03", "Infections", "CMV infection reactivation", 2, "N", "N", "Y"],
        ["03", "Infections", "Pneumonia", 4, "Y", "N", "N"],
        ["05", "Infections", "Pneumonia", 5, "Y", "N", "Y"],
        ["06", "General disorders", "Pyrexia", 1, "N", "N", "Y"],
    ]
    adae = pd.DataFrame(
        rows, columns=["USUBJID", "AESOC", "AEDECOD", "AETOXGR", "AESER", "AEREL", "TRTEMFL"]
    )
    return build_trial({"ADSL": adsl.astype(str), "ADAE": adae.astype(str)})


def test_ae_counting_rules_section_7_7(ae_case) -> None:  # type: ignore[no-untyped-def]
    t = ae_table(ae_case)
    expected = {  # label: (UC-MSC subjects, events, Control subjects, events)
        "Any TEAE": (3, 6, 2, 2),
        "Any serious AE": (1, 1, 1, 1),
        "Any related AE (ADR)": (2, 3, 0, 0),
        "Any grade >= 3 AE": (1, 1, 1, 1),
        "Fatal": (0, 0, 1, 1),
    }
    for label, (s1, e1, s2, e2) in expected.items():
        assert (
            t.value(label, "n_subjects", "UC-MSC") == s1
            and t.value(label, "n_events", "UC-MSC") == e1
        )
        assert (
            t.value(label, "n_subjects", "Control") == s2
            and t.value(label, "n_events", "Control") == e2
        )
    assert t.value("General disorders", "n_subjects", "UC-MSC", "SOC") == 2
    assert t.value("General disorders", "n_events", "UC-MSC", "SOC") == 3
    assert t.value("Infections", "n_subjects", "UC-MSC", "SOC") == 2
    assert t.value("Pneumonia", "n_events", "UC-MSC", "PT|Infections") == 2  # non-TEAE row excluded
    assert t.value("Pneumonia", "n_subjects", "Control", "PT|Infections") == 1
    # denominators from ADSL: subjects 04 and 07 have no AE but count
    assert t.value("Any TEAE", "N", "UC-MSC") == 4 and t.value("Any TEAE", "N", "Control") == 3
    assert t.display.iloc[0].tolist()[1:3] == ["2 (66.7%) [2]", "3 (75.0%) [6]"]
    w = ae_worst_grade_table(ae_case)
    # worst grade: Pneumonia grade 3 once in UC-MSC (two records of subject 01), grade 5 in Control
    assert w.value("grade 3", "n_subjects", "UC-MSC", "Pneumonia") == 1
    assert w.value("grade 2", "n_subjects", "UC-MSC", "Pneumonia") == 0
    assert w.value("grade 5", "n_subjects", "Control", "Pneumonia") == 1
    assert w.value("grade 1", "n_subjects", "UC-MSC", "Pyrexia") == 1
    assert w.value("grade 2", "n_subjects", "UC-MSC", "Pyrexia") == 1


def test_ae_threshold_and_window(ae_case) -> None:  # type: ignore[no-untyped-def]
    t = ae_table(ae_case, min_pct=30)
    labels = t.display.iloc[:, 0].str.strip().tolist()
    assert "CMV infection reactivation" not in labels and "Pyrexia" in labels
    with pytest.raises(ValueError, match=r"^window:"):
        ae_table(ae_case, window=10)
    with pytest.raises(ValueError, match=r"^by:"):
        ae_table(ae_case, by="ARM")


def test_biomarker_paired_tests_match_r() -> None:
    # R ?wilcox.test example (Hollander & Wolfe 1973, p. 29: depression scale x, y) as
    # biomarker data; paired wilcox.test and t.test values in R 4.2.2
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    ids = [f"S{i}" for i in range(9)]
    adsl = pd.DataFrame({"USUBJID": ids, "TRT01A": "A"})
    adlb = pd.DataFrame(
        [
            {"USUBJID": s, "PARAMCD": "SPD", "ADY": d, "AVAL": v, "ABLFL": "Y" if d == 0 else "N"}
            for s, a, b in zip(ids, y, x, strict=True)
            for d, v in ((0, a), (28, b))
        ]
    )
    t = build_trial({"ADSL": adsl, "ADLB": adlb.astype(str)})
    tab = biomarker_change_table(t, ["SPD"], 28)
    assert tab.value("day 28", "wilcoxon_p", variable="SPD") == pytest.approx(0.0390625, abs=1e-12)
    assert tab.value("day 28", "t_p", variable="SPD") == pytest.approx(0.01617662743, abs=1e-10)


def test_figures_render() -> None:
    ips = load_trial(TRIALS / "ips")
    gvhd = load_trial(TRIALS / "gvhd")
    figs = [
        km_figure(ips, "OS", risk_times=[0, 100, 200]),
        cif_figure(gvhd, "RELNRM"),
        swimmer_figure(ips),
        consort_figure(ips),
        escalation_figure(gvhd),
        km_figure(gvhd, "OS", by="PHASE"),
    ]
    assert all(len(f.axes) >= 1 for f in figs)
    with pytest.raises(ValueError, match=r"^paramcd:"):
        spaghetti_figure(ips, "KL6")


def test_report_is_self_contained(tmp_path: Path) -> None:
    out = render_report(load_trial(TRIALS / "ips"), tmp_path / "sub" / "ips.html")
    page = out.read_text()
    assert "http://" not in page and "https://" not in page  # readable without network
    assert page.count("data:image/png;base64,") >= 3  # flow, Kaplan-Meier, swimmer
    for heading in ("Participants", "Baseline characteristics", "Efficacy", "Safety", "Methods"):
        assert f"<h2>{heading}</h2>" in page
    assert "24.0 ± 10.6; 28.0 (0.0–28.0)" in page  # Table 4
    assert "5/7 (71.4%)" in page and "29.0% - 96.3%" in page
    assert not list(tmp_path.glob("**/*.part"))


def test_report_cli_pdf_and_bad_data(tmp_path: Path) -> None:
    runner = CliRunner()
    html = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(TRIALS / "gvhd"), "-o", str(html), "--pdf"])
    if shutil.which("chromium"):
        assert r.exit_code == 0, r.output
        assert (tmp_path / "r.pdf").read_bytes()[:4] == b"%PDF"
    else:
        assert r.exit_code == 2 and "pdf: needs Chromium" in r.output
    assert html.exists()
    bad = tmp_path / "bad"
    shutil.copytree(TRIALS / "itp", bad)
    frame = pd.read_csv(bad / "adae.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "AETOXGR"] = "7"
    frame.to_csv(bad / "adae.csv", index=False)
    r = runner.invoke(app, ["report", str(bad), "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 2 and "adae.csv, row 1, field AETOXGR" in r.output
    assert not (tmp_path / "x.html").exists()


def test_ard_export_and_baseline_rows(tmp_path: Path) -> None:
    from earlyphase.tables.trial_tables import baseline_table

    ips = load_trial(TRIALS / "ips")
    render_report(ips, tmp_path / "r.html", ard_path=tmp_path / "ard.csv")
    ard = pd.read_csv(tmp_path / "ard.csv")
    assert list(ard.columns) == ["table", "group", "variable", "label", "stat", "value"]
    row = ard[
        (ard["table"] == "proportion:NOMV") & (ard["variable"] == "DAY 28") & (ard["stat"] == "x")
    ]
    assert row["value"].tolist() == [6.0]
    b = baseline_table(ips, [("AGE", "Age", "rows")], by=None)
    assert b.display.iloc[1].tolist() == ["    Mean ± SD", "43.3 ± 14.5"]
    assert b.display.iloc[2].tolist() == ["    Median (range)", "43.0 (21.0–64.0)"]
