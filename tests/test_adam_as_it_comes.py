"""ADaM data as it comes: severity without grade, causality terms, fatal outcome, disposition
from DCDECOD, numeric arm order, unused datasets, every problem in one pass, cross-dataset
checks, and absent columns shown as not collected. Small hand-made tables; the expected numbers
are counted by hand from them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from earlyphase.data import CausalityRule, DataError, TrialData, build_trial, load_trial
from earlyphase.report import render_report
from earlyphase.tables.adverse_events import ae_table, ae_worst_grade_table
from earlyphase.tables.trial_tables import baseline_table, disposition_table

ADSL = pd.DataFrame(
    {
        "USUBJID": ["S1", "S2", "S3", "S4"],
        "TRT01A": ["10 mg", "2 mg", "Placebo", "10 mg"],
        "TRT01AN": ["10", "2", "0", "10"],
        "SAFFL": ["Y"] * 4,
        "ITTFL": ["Y"] * 4,
        "DCDECOD": ["COMPLETED", "ADVERSE EVENT", "DEATH", "COMPLETED"],
        "DTHFL": ["", "", "Y", ""],
        "DTHDT": ["", "", "2020-03-01", ""],
    }
)
ADAE = pd.DataFrame(
    {
        "USUBJID": ["S1", "S1", "S2", "S3", "S4"],
        "AESOC": ["Skin", "Skin", "Nervous", "Cardiac", "Skin"],
        "AEDECOD": ["Rash", "Rash", "Headache", "Myocardial infarction", "Pruritus"],
        "AESEV": ["mild", "SEVERE", "MODERATE", "SEVERE", "MILD"],
        "AEREL": ["PROBABLE", "remote", "Possible", "NONE", ""],
        "AEOUT": ["RECOVERED/RESOLVED", "", "", "FATAL", ""],
        "ASTDT": ["2020-01-02", "2020-01-05", "2020-01-03", "2020-02-28", "2020-01-09"],
        "TRTEMFL": ["Y"] * 5,
    }
)


def _trial(adsl: pd.DataFrame = ADSL, adae: pd.DataFrame = ADAE, **kw: object) -> TrialData:
    return build_trial({"ADSL": adsl, "ADAE": adae}, {"ADSL": "adsl.csv", "ADAE": "adae.csv"}, **kw)  # type: ignore[arg-type]


def test_causality_default_rule_and_blank() -> None:
    t = _trial()
    assert t.adae is not None
    assert t.adae["AEREL"].tolist()[:4] == ["Y", "N", "Y", "N"] and pd.isna(t.adae["AEREL"].iloc[4])
    assert t.adae["AEREL_COLLECTED"].iloc[1] == "remote"  # the term as collected is kept
    table = ae_table(t, by=None)
    assert table.value("Any related AE (ADR)", "n_events") == 2
    assert any("not recorded for 1 event" in n for n in table.footnotes)


def test_unknown_causality_term_is_an_error_naming_row_and_value() -> None:
    adae = ADAE.assign(AEREL=["PROBABLE", "DOUBTFUL", "POSSIBLE", "NONE", "UNASSESSABLE"])
    with pytest.raises(DataError) as err:
        _trial(adae=adae)
    text = str(err.value)
    assert "adae.csv, row 2, field AEREL: causality 'DOUBTFUL'" in text
    assert "adae.csv, row 5, field AEREL: causality 'UNASSESSABLE'" in text
    # configurable: in code or in trial.json's "causality"
    rule = CausalityRule.from_terms(["probable", "possible"], ["none", "doubtful", "unassessable"])
    assert _trial(adae=adae, causality=rule).adae["AEREL"].tolist() == ["Y", "N", "Y", "N", "N"]  # type: ignore[index]
    meta = {
        "causality": {
            "related": ["PROBABLE", "POSSIBLE"],
            "not_related": ["NONE", "DOUBTFUL", "UNASSESSABLE"],
        }
    }
    assert _trial(adae=adae, meta=meta).adae["AEREL"].tolist()[1] == "N"  # type: ignore[index]
    with pytest.raises(ValueError, match="both related and not related"):
        CausalityRule.from_terms(["Y"], ["y"])


def test_severity_used_without_grade_and_labelled_as_severity() -> None:
    t = _trial()
    table = ae_table(t)
    assert table.value("Any severe AE (severity)", "n_subjects", "Total") == 2  # S1, S3
    assert "Any grade >= 3 AE" not in table.display.iloc[:, 0].tolist()
    w = ae_worst_grade_table(t)
    assert w.title == "Adverse events by worst severity (AESEV)"
    # worst per subject: S1 severe (mild + severe), S2 moderate, S3 severe, S4 mild
    assert w.value("severe", "n_subjects", "Total", "Any event") == 2
    assert w.value("moderate", "n_subjects", "Total", "Any event") == 1
    assert w.value("mild", "n_subjects", "Total", "Any event") == 1
    assert w.value("mild", "n_subjects", "Total", "Rash") == 0  # S1's worst Rash is severe
    with pytest.raises(DataError, match="ADAE needs one of the columns AETOXGR, AESEV"):
        _trial(adae=ADAE.drop(columns="AESEV"))
    with pytest.raises(DataError, match=r"row 1, field AESEV: 'very' is not one of"):
        _trial(adae=ADAE.assign(AESEV=["very", "MILD", "MILD", "MILD", "MILD"]))


def test_fatal_from_outcome_death_flag_or_grade_5() -> None:
    t = ae_table(_trial(), by=None)
    assert t.value("Fatal", "n_events") == 1  # AEOUT = FATAL
    by_flag = ADAE.drop(columns="AEOUT").assign(AESDTH=["N", "N", "N", "Y", "N"])
    assert ae_table(_trial(adae=by_flag), by=None).value("Fatal", "n_subjects") == 1
    graded = ADAE.drop(columns=["AEOUT", "AESEV"]).assign(AETOXGR=["1", "2", "3", "5", "1"])
    assert ae_table(_trial(adae=graded), by=None).value("Fatal", "n_subjects") == 1
    none = ADAE.drop(columns="AEOUT")
    row = (
        ae_table(_trial(adae=none), by=None)
        .display.set_index("System organ class / preferred term")
        .loc["Fatal"]
    )
    assert row.tolist() == ["not collected"]


def test_absent_columns_are_not_collected_never_zero() -> None:
    t = _trial()
    table = ae_table(t, by=None).display.set_index("System organ class / preferred term")
    assert table.loc["Any serious AE"].tolist() == ["not collected"]  # no AESER
    assert table.loc["Any AE leading to withdrawal of treatment"].tolist() == ["not collected"]
    b = baseline_table(t, [("AGE", "Age", "mean_sd"), ("WEIGHTBL", "Weight", "mean_sd")], by=None)
    assert b.display.iloc[:, 1].tolist() == ["not collected", "not collected"]


def test_arms_by_numeric_code_and_disposition_from_dcdecod() -> None:
    t = _trial()
    cols = ae_table(t).display.columns[1:].tolist()
    assert cols == ["Placebo (N = 1)", "2 mg (N = 1)", "10 mg (N = 2)", "Total (N = 4)"]
    d = disposition_table(t, by="TRT01A")
    assert d.display.columns[1:].tolist() == ["Placebo", "2 mg", "10 mg", "Total"]
    assert d.value("Completed", "n", "10 mg") == 2 and d.value("Discontinued", "n", "Total") == 2
    assert d.value("ADVERSE EVENT", "n", "2 mg", "discontinued") == 1
    assert d.value("Died", "n", "Placebo") == 1


def test_cross_dataset_checks_all_in_one_pass() -> None:
    adsl = ADSL.assign(TRT01AN=["10", "2", "0", "11"])  # 10 mg coded twice
    adae = ADAE.assign(
        ASTDT=["2020-01-02", "2020-01-05", "2020-01-03", "2020-03-05", "2020-01-09"],
        TRTA=["10 mg", "10 mg", "10 mg", "Placebo", "10 mg"],  # S2 is on 2 mg in ADSL
        AEOUT=["FATAL", "", "", "FATAL", ""],  # S1 is not flagged as dead
    )
    adtte = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S9"],
            "PARAMCD": ["TTE", "TTE", "TTE"],
            "AVAL": ["3", "4", "-1"],
            "CNSR": ["0", "1", "0"],
        }
    )
    with pytest.raises(DataError) as err:
        build_trial(
            {"ADSL": adsl, "ADAE": adae, "ADTTE": adtte},
            {"ADSL": "adsl.csv", "ADAE": "adae.csv", "ADTTE": "adtte.csv"},
        )
    found = {(p.source, p.row, p.field) for p in err.value.problems}
    assert ("adsl.csv", None, "TRT01AN") in found  # one label, two codes
    assert ("adae.csv", 3, "TRTA") in found  # arm vs ADSL
    assert ("adae.csv", 4, "ASTDT") in found  # after death
    assert ("adae.csv", 1, "AEOUT") in found  # fatal, not dead in ADSL
    assert ("adtte.csv", 2, "PARAMCD") in found  # one record per subject and PARAMCD
    assert ("adtte.csv", 3, "AVAL") in found and ("adtte.csv", 3, "USUBJID") in found
    assert "one record per USUBJID and PARAMCD" in str(err.value)


def test_folder_every_file_every_problem_and_unused_listed(tmp_path: Path) -> None:
    folder = tmp_path / "trial"
    folder.mkdir()
    ADSL.assign(AGE=["40", "old", "50", "60"]).to_csv(folder / "adsl.csv", index=False)
    ADAE.assign(AEREL=["PROBABLE", "?", "", "", ""]).to_csv(folder / "adae.csv", index=False)
    (folder / "adtte.csv").write_text("USUBJID,PARAMCD,AVAL\nS1,TTE,x\n")
    (folder / "trial.json").write_text("{not json")
    with pytest.raises(DataError) as err:
        load_trial(folder)
    found = {(p.source, p.row, p.field) for p in err.value.problems}
    assert {
        ("adsl.csv", 2, "AGE"),
        ("adae.csv", 2, "AEREL"),
        ("adtte.csv", None, "CNSR"),
        ("adtte.csv", 1, "AVAL"),
    } <= found
    assert any("trial.json" in p.source for p in err.value.problems)
    # a clean folder with datasets the report does not use: listed, not silently ignored
    ADSL.to_csv(folder / "adsl.csv", index=False)
    ADAE.to_csv(folder / "adae.csv", index=False)
    (folder / "adtte.csv").unlink()
    (folder / "trial.json").write_text(json.dumps({"title": "T"}))
    (folder / "adlbc.xpt").write_bytes(b"")
    (folder / "adqsadas.csv").write_text("USUBJID\nS1\n")
    (folder / "define.xml").write_text("<x/>")
    t = load_trial(folder)
    assert t.unused == ["adlbc.xpt", "adqsadas.csv"]
    page = render_report(t, tmp_path / "r.html").read_text()
    assert "not used by this report: adlbc.xpt, adqsadas.csv." in page
