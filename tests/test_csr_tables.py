"""Tables of a clinical study report: DLT rates by dose with exact intervals, listings, the
worst-grade table in publication layout, response by dose, events of special interest, and
every table as CSV/XLSX.

Every number is checked against an independent computation:

- exact intervals against R ``binom.test`` (``fixtures/csr_tables_r.json``, made by
  ``fixtures/r/make_csr_tables_fixture.R``) and the closed form 1 of 3 by hand;
- counts against plain pandas written here from the ADaM rules, on the raw files (never
  through earlyphase);
- the CDISC pilot's worst severity by arm and its events of special interest (subjects, worst
  severity, time to onset from ASTDT - TRTSDT, durations from AENDT - ASTDT + 1) against R on
  the published XPT files (same fixture).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.data import TrialData, build_trial, load_trial
from earlyphase.report import build_report, render_report
from earlyphase.tables.adverse_events import ae_grade_table, aesi_table
from earlyphase.tables.efficacy import best_response_table
from earlyphase.tables.listings import (
    death_listing,
    dlt_listing,
    dose_deviation_listing,
    sae_listing,
)
from earlyphase.tables.trial_tables import dlt_table

ROOT = Path(__file__).parents[1]
TRIALS = ROOT / "examples" / "trials"
PILOT = Path(__file__).parent / "fixtures" / "cdiscpilot01"
R_REF: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "csr_tables_r.json").read_text()
)
ARMS = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]


def _r_ci(x: int, n: int) -> tuple[float, float]:
    row = next(r for r in R_REF["binom"] if r["x"] == x and r["n"] == n)
    return row["lower"], row["upper"]


def _raw_pilot(name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(PILOT / f"{name}.xpt"))
    return frame


@pytest.fixture(scope="module")
def pilot() -> TrialData:
    return load_trial(PILOT)


@pytest.fixture(scope="module")
def itp() -> TrialData:
    return load_trial(TRIALS / "itp")


def _escalation(dltevl: bool = True) -> TrialData:
    """Three dose levels whose labels sort wrongly as text ("10 mg" < "2 mg" < "5 mg"); at
    5 mg one subject is not DLT-evaluable (left before the end of the window)."""
    rows = [
        ("S01", "2 mg", 2, "Y"),
        ("S02", "2 mg", 2, "Y"),
        ("S03", "2 mg", 2, "Y"),
        ("S04", "5 mg", 5, "Y"),
        ("S05", "5 mg", 5, "Y"),
        ("S06", "5 mg", 5, "Y"),
        ("S07", "5 mg", 5, "N"),
        ("S08", "10 mg", 10, "Y"),
        ("S09", "10 mg", 10, "Y"),
        ("S10", "10 mg", 10, "Y"),
    ]
    adsl = pd.DataFrame(rows, columns=["USUBJID", "TRT01A", "DOSELVL", "DLTEVLFL"]).assign(
        SAFFL="Y"
    )
    if not dltevl:
        adsl = adsl.drop(columns="DLTEVLFL")
    adae = pd.DataFrame(
        [
            # USUBJID, AESOC, AEDECOD, AETOXGR, AEDLT, ASTDY, AENDY, AESER
            ("S02", "Blood", "Neutropenia", 4, "Y", 8, 15, "Y"),
            ("S02", "Blood", "Neutropenia", 3, "Y", 20, "", "N"),  # second DLT, same subject
            ("S05", "Hepatobiliary", "ALT increased", 3, "Y", 10, 30, "N"),
            ("S07", "Hepatobiliary", "ALT increased", 3, "Y", 5, 9, "N"),  # not evaluable
            ("S08", "General", "Fatigue", 3, "Y", 3, 6, "N"),
            ("S09", "General", "Fatigue", 1, "N", 2, 4, "N"),
            ("S10", "Blood", "Neutropenia", 4, "Y", 12, "", "Y"),
        ],
        columns=["USUBJID", "AESOC", "AEDECOD", "AETOXGR", "AEDLT", "ASTDY", "AENDY", "AESER"],
    )
    adex = pd.DataFrame(
        {
            "USUBJID": adsl["USUBJID"],
            "EXSEQ": 1,
            "EXDY": 1,
            "EXDOSE": [2, 2, 1.5, 5, 5, 5, 5, 10, 10, 9.5],
        }
    )
    return build_trial(
        {"ADSL": adsl.astype(str), "ADAE": adae.astype(str), "ADEX": adex.astype(str)}
    )


# --- DLTs by dose level --------------------------------------------------------------------


def test_dlt_rate_closed_form_one_of_three() -> None:
    """By hand: 1 DLT of 3. Clopper-Pearson's lower limit solves P(X >= 1) = 0.025, i.e.
    1 - (1 - p)^3 = 0.025, p = 1 - 0.975^(1/3); the upper solves P(X <= 1) = 0.025, i.e.
    (1 - p)^3 + 3p(1 - p)^2 = 0.025 (solved by bisection here): (0.0084, 0.9057), as R's
    binom.test(1, 3)."""
    t = dlt_table(_escalation())
    lo, hi = t.value("2 mg", "ci_lower"), t.value("2 mg", "ci_upper")
    assert lo == pytest.approx(1 - 0.975 ** (1 / 3), abs=1e-12)
    a, b = 0.5, 1.0  # P(X <= 1) falls with p
    for _ in range(100):
        mid = (a + b) / 2
        a, b = (mid, b) if (1 - mid) ** 3 + 3 * mid * (1 - mid) ** 2 > 0.025 else (a, mid)
    assert hi == pytest.approx(a, abs=1e-12)
    assert (round(lo, 4), round(hi, 4)) == (0.0084, 0.9057)
    assert (lo, hi) == pytest.approx(_r_ci(1, 3), abs=1e-9)


def test_dlt_table_dose_order_denominators_and_r(tmp_path: Path) -> None:
    t = dlt_table(_escalation())
    # dose order by DOSELVL, not text
    assert t.display["Dose level"].tolist() == ["2 mg", "5 mg", "10 mg"]
    # pandas from the rows above: DLT-evaluable subjects with AEDLT = Y, once per subject
    expected = {"2 mg": (3, 3, 1), "5 mg": (4, 3, 1), "10 mg": (3, 3, 2)}
    for dose, (treated, evaluable, with_dlt) in expected.items():
        assert t.value(dose, "n") == treated
        assert t.value(dose, "n_evaluable") == evaluable
        assert t.value(dose, "n_dlt") == with_dlt
        assert t.value(dose, "rate") == pytest.approx(with_dlt / evaluable)
        lo, hi = _r_ci(with_dlt, evaluable)
        assert t.value(dose, "ci_lower") == pytest.approx(lo, abs=1e-9)
        assert t.value(dose, "ci_upper") == pytest.approx(hi, abs=1e-9)
    assert t.display.iloc[0]["DLT rate (95% CI)"] == "33.3% (0.8%, 90.6%)"
    assert any("DLTEVLFL = Y" in n for n in t.footnotes)
    assert any("1 subject(s) with a DLT outside" in n for n in t.footnotes)
    # without the flag the safety population is the denominator, and the table says so
    s = dlt_table(_escalation(dltevl=False))
    assert s.value("5 mg", "n_evaluable") == 4 and s.value("5 mg", "n_dlt") == 2
    assert any("no DLT-evaluable flag" in n for n in s.footnotes)


def test_dlt_table_itp_matches_pandas(itp: TrialData) -> None:
    adsl = pd.read_csv(TRIALS / "itp" / "adsl.csv")
    adae = pd.read_csv(TRIALS / "itp" / "adae.csv")
    safety = adsl[adsl["SAFFL"] == "Y"]
    dlt_ids = set(adae.loc[adae["AEDLT"] == "Y", "USUBJID"])
    t = dlt_table(itp)
    for _, grp in safety.groupby("DOSELVL"):
        label = grp["TRT01A"].iloc[0]
        k = len(set(grp["USUBJID"]) & dlt_ids)
        assert t.value(label, "n_evaluable") == len(grp) and t.value(label, "n_dlt") == k
        assert (t.value(label, "ci_lower"), t.value(label, "ci_upper")) == pytest.approx(
            _r_ci(k, len(grp)), abs=1e-9
        )
    assert t.display["Dose level"].tolist() == sorted(
        set(adsl["TRT01A"]), key=lambda s: float(s.split()[0])
    )


def test_dlt_not_collected_is_not_zero(pilot: TrialData) -> None:
    t = dlt_table(pilot)
    assert (t.display["With DLT"] == "not collected").all()
    assert any("AEDLT" in n for n in t.footnotes)


# --- listings ------------------------------------------------------------------------------


def test_dlt_and_sae_listings_sorted_and_not_collected(itp: TrialData) -> None:
    raw = pd.read_csv(TRIALS / "itp" / "adae.csv")
    adsl = pd.read_csv(TRIALS / "itp" / "adsl.csv")
    for listing, flag in ((dlt_listing(itp), "AEDLT"), (sae_listing(itp), "AESER")):
        want = raw[raw[flag] == "Y"].merge(adsl[["USUBJID", "DOSELVL"]], on="USUBJID")
        want = want.sort_values(["DOSELVL", "USUBJID"])
        assert listing.display["Subject"].tolist() == want["USUBJID"].tolist()
        assert listing.display["Preferred term"].tolist() == want["AEDECOD"].tolist()
        # ITP's ADAE has no AENDY nor AEOUT: "not collected", never blank or 0
        assert (listing.display["Resolution day"] == "not collected").all()
        assert (listing.display["Outcome"] == "not collected").all()
        assert listing.display["Toxicity grade (AETOXGR)"].tolist() == [
            f"{g:g}" for g in want["AETOXGR"]
        ]


def test_listings_escalation_case() -> None:
    t = _escalation()
    d = dlt_listing(t).display
    # dose order (2, 5, 10 mg) then subject then onset day; every DLT record listed
    assert d["Subject"].tolist() == ["S02", "S02", "S05", "S07", "S08", "S10"]
    assert d["Onset day"].tolist()[:2] == ["8", "20"]
    assert d["Resolution day"].tolist()[1] == "not recorded"  # blank in a collected column
    assert (d["Relationship"] == "not collected").all()
    sae = sae_listing(t).display
    assert sae["Subject"].tolist() == ["S02", "S10"]
    dev = dose_deviation_listing(t).display
    # planned = DOSELVL: 1.5 of 2 mg (-25%) and 9.5 of 10 mg (-5%)
    assert dev["Subject"].tolist() == ["S03", "S10"]
    assert dev["Difference (%)"].tolist() == ["-25.0", "-5.0"]
    t.meta["dose_deviation_tolerance"] = 0.1
    assert dose_deviation_listing(t).display["Subject"].tolist() == ["S03"]


def test_pilot_listings_match_raw(pilot: TrialData) -> None:
    adae, adsl = _raw_pilot("adae"), _raw_pilot("adsl")
    order = adsl.set_index("USUBJID")["TRT01AN"]
    sae = adae[adae["AESER"] == "Y"].assign(_ORD=lambda f: f["USUBJID"].map(order))
    sae = sae.sort_values(["_ORD", "USUBJID", "ASTDY"])
    listing = sae_listing(pilot).display
    assert listing["Subject"].tolist() == sae["USUBJID"].tolist()
    assert listing["Severity (AESEV)"].tolist() == sae["AESEV"].tolist()  # severity, not grade
    assert listing["Relationship"].tolist() == sae["AEREL"].tolist()  # as collected
    assert listing["Resolution day"].tolist() == [f"{v:g}" for v in sae["AENDY"]]
    deaths = death_listing(pilot).display
    fatal = adae[(adae["AEOUT"] == "FATAL") | (adae["AESDTH"] == "Y")]
    assert sorted(deaths["Subject"]) == sorted(fatal["USUBJID"])
    assert set(deaths["Subject"]) == set(adsl.loc[adsl["DTHFL"] == "Y", "USUBJID"])
    assert (deaths["Death day (ADSL DTHDY)"] == "not collected").all()
    assert (dlt_listing(pilot).display.iloc[0] == "not collected").all()
    dev = dose_deviation_listing(pilot)
    assert dev.display.iloc[0, 0] == "no source" and "no exposure data (ADEX)" in dev.footnotes[0]


def test_death_listing_subjects_without_fatal_event() -> None:
    ips = load_trial(TRIALS / "ips")
    raw = pd.read_csv(TRIALS / "ips" / "adsl.csv")
    dead = raw[raw["DTHFL"] == "Y"]
    d = death_listing(ips).display
    assert sorted(d["Subject"]) == sorted(dead["USUBJID"])
    assert sorted(d["Death day (ADSL DTHDY)"].astype(float)) == sorted(dead["DTHDY"])
    assert (d["Preferred term"] == "no fatal adverse event recorded").all()


# --- worst grade, publication layout ---------------------------------------------------------


def test_worst_grade_publication_layout_pilot_matches_r(pilot: TrialData) -> None:
    t = ae_grade_table(pilot, detail=True)
    assert isinstance(t.display.columns, pd.MultiIndex)
    groups = list(dict.fromkeys(g for g, _ in t.display.columns[1:]))
    assert groups == [
        "Placebo (N = 86)",
        "Xanomeline Low Dose (N = 84)",
        "Xanomeline High Dose (N = 84)",
        "Total (N = 254)",
    ]
    assert [c for g, c in t.display.columns if g == groups[0]] == [
        "Any severity",
        "Mild",
        "Moderate",
        "Severe",
    ]
    assert "severity (AESEV)" in t.title and "grade" not in t.title.replace("worst", "")
    for arm in R_REF["pilot_worst_severity"]:
        g = arm["arm"]
        for stat in ("mild", "moderate", "severe"):
            assert t.value("Any TEAE", stat, g, "any") == arm[stat]
        assert t.value("Any TEAE", "any_severity", g, "any") == arm["any"]
        assert t.value("Any TEAE", "N", g, "any") == arm["N"]


def test_worst_grade_pt_rows_match_pandas(pilot: TrialData, itp: TrialData) -> None:
    adae, adsl = _raw_pilot("adae"), _raw_pilot("adsl")
    safety = adsl[adsl["SAFFL"] == "Y"]
    teae = adae[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(safety["USUBJID"])].copy()
    teae["SEV"] = teae["AESEV"].map({"MILD": 1, "MODERATE": 2, "SEVERE": 3})
    teae["ARM"] = teae["USUBJID"].map(safety.set_index("USUBJID")["TRT01A"])
    t = ae_grade_table(pilot)
    for soc, pt in (
        ("GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS", "APPLICATION SITE PRURITUS"),
        ("SKIN AND SUBCUTANEOUS TISSUE DISORDERS", "ERYTHEMA"),
        ("NERVOUS SYSTEM DISORDERS", "SYNCOPE"),
    ):
        sub = teae[(teae["AESOC"] == soc) & (teae["AEDECOD"] == pt)]
        worst = sub.groupby(["ARM", "USUBJID"])["SEV"].max()
        for arm in ARMS:
            w = worst.loc[arm] if arm in worst.index.get_level_values(0) else pd.Series([])
            assert t.value(pt, "any_severity", arm, f"PT|{soc}") == len(w)
            assert t.value(pt, "severe", arm, f"PT|{soc}") == int((w == 3).sum())
    # toxicity grades (ITP): grade >= 3 and the 1-2 / 3 / 4 / 5 split against pandas
    raw = pd.read_csv(TRIALS / "itp" / "adae.csv")
    ids = pd.read_csv(TRIALS / "itp" / "adsl.csv").set_index("USUBJID")["TRT01A"]
    raw["ARM"] = raw["USUBJID"].map(ids)
    worst = raw.groupby(["ARM", "USUBJID"])["AETOXGR"].max()
    s, d = ae_grade_table(itp), ae_grade_table(itp, detail=True)
    for arm in ids.unique():
        w = worst.loc[arm]
        assert s.value("Any TEAE", "any_grade", arm, "any") == len(w)
        assert s.value("Any TEAE", "grade_ge3", arm, "any") == int((w >= 3).sum())
        assert d.value("Any TEAE", "grade_1_2", arm, "any") == int(w.isin([1, 2]).sum())
        for g in (3, 4, 5):
            assert d.value("Any TEAE", f"grade_{g}", arm, "any") == int((w == g).sum())


# --- response by dose ------------------------------------------------------------------------


def test_response_by_dose_matches_pandas_and_r() -> None:
    gvhd = load_trial(TRIALS / "gvhd")
    adsl = pd.read_csv(TRIALS / "gvhd" / "adsl.csv")
    adrs = pd.read_csv(TRIALS / "gvhd" / "adrs.csv")
    pop = adsl[adsl["EFFFL"] == "Y"]
    day28 = adrs[(adrs["PARAMCD"] == "OVRLRESP") & (adrs["AVISIT"] == "DAY 28")]
    resp = pop.merge(day28[["USUBJID", "AVALC"]], on="USUBJID", how="left")
    t = best_response_table(gvhd, "OVRLRESP", "DAY 28")
    assert t.display.columns.tolist()[2:5] == ["CR", "PR", "NR"]  # standard order, then found
    assert t.display["Dose level"].tolist()[-1] == "Total"
    for label, grp in [*resp.groupby("TRT01A"), ("Total", resp)]:
        n = len(grp)
        for cat in ("CR", "PR", "NR"):
            assert t.value(cat, "n", str(label)) == int((grp["AVALC"] == cat).sum())
        x = int(grp["AVALC"].isin(["CR", "PR"]).sum())
        assert t.value("response rate", "x", str(label)) == x
        assert t.value("response rate", "n", str(label)) == n
        lo, hi = _r_ci(x, n)
        assert t.value("response rate", "ci_lower", str(label)) == pytest.approx(lo, abs=1e-9)
        assert t.value("response rate", "ci_upper", str(label)) == pytest.approx(hi, abs=1e-9)


def test_response_not_assessed_counts_as_non_responder(itp: TrialData) -> None:
    adrs = itp.adrs
    assert adrs is not None
    itp2 = TrialData(itp.adsl, adrs=adrs.iloc[1:], meta={})  # subject ITP-01 not assessed
    t = best_response_table(itp2, "OVRLRESP", "END OF STUDY", positive=("R",))
    first = itp.adsl["TRT01A"].iloc[0]
    assert t.value("not assessed", "n", first) == 1 and t.value("response rate", "n", first) == 3
    with pytest.raises(ValueError, match=r"^visit:"):
        best_response_table(TrialData(itp.adsl, adrs=pd.concat([adrs, adrs]), meta={}), "OVRLRESP")


# --- adverse events of special interest -------------------------------------------------------


def test_aesi_pilot_matches_r(pilot: TrialData) -> None:
    terms = R_REF["pilot_aesi_terms"]
    t = aesi_table(pilot, [{"label": "Application site", "terms": [x.lower() for x in terms]}])
    for ref in R_REF["pilot_aesi"]:
        g = ref["arm"]
        assert t.value("any", "n_subjects", g, "Application site") == ref["n"]
        for sev in ("mild", "moderate", "severe"):
            assert t.value(sev, "n_subjects", g, "Application site") == ref[sev]
        for stat, key in (("median", "onset_median"), ("min", "onset_min"), ("max", "onset_max")):
            assert t.value("time to onset", stat, g, "Application site") == ref[key]
        # durations here come from AENDY - ASTDY + 1; R's from the dates AENDT - ASTDT + 1
        for stat in ("median", "min", "max"):
            assert t.value("duration", stat, g, "Application site") == ref[f"duration_{stat}"]
        assert t.value("duration", "unresolved", g, "Application site") == ref["unresolved"]


def test_aesi_days_from_first_dose_by_study_day() -> None:
    t = _escalation()
    a = aesi_table(t, [{"label": "Neutropenia", "terms": ["NEUTROPENIA"]}])
    # S02 first onset day 8, S10 day 12: days from first dose 7 and 11 (day 1 = first dose)
    assert a.value("time to onset", "median", "Total", "Neutropenia") == 9
    assert a.value("time to onset", "min", "Total", "Neutropenia") == 7
    # durations: S02 8..15 = 8 days; the other two unresolved
    assert a.value("duration", "median", "Total", "Neutropenia") == 8
    assert a.value("duration", "unresolved", "Total", "Neutropenia") == 2
    assert a.value("grade 4", "n_subjects", "Total", "Neutropenia") == 2
    assert any("ASTDY - 1" in n for n in a.footnotes)
    b = aesi_table(t, [{"label": "CRS", "terms": ["Cytokine release syndrom", "Fatigue"]}])
    assert b.value("any", "n_subjects", "Total", "CRS") == 2  # Fatigue: S08, S09
    assert any("no ADAE record" in n and "Cytokine release syndrom" in n for n in b.footnotes)
    assert not any("no ADAE record" in n for n in a.footnotes)


# --- report and CSV / XLSX -----------------------------------------------------------------


def test_report_has_csr_tables_and_exports(tmp_path: Path) -> None:
    folder = tmp_path / "itp"
    shutil.copytree(TRIALS / "itp", folder)
    meta = json.loads((folder / "trial.json").read_text())
    meta["response"] = {"paramcd": "OVRLRESP", "visit": "END OF STUDY", "positive": ["R"]}
    meta["aesi"] = [{"label": "Bleeding", "terms": ["Gastrointestinal haemorrhage"]}]
    meta["ae_grades"] = "detail"
    (folder / "trial.json").write_text(json.dumps(meta))
    html, tables, xlsx = tmp_path / "r.html", tmp_path / "tables", tmp_path / "t.xlsx"
    r = CliRunner().invoke(
        app,
        ["report", str(folder), "-o", str(html), "--tables-dir", str(tables), "--xlsx", str(xlsx)],
    )
    assert r.exit_code == 0, r.output
    page = html.read_text()
    for title in (
        "Dose-limiting toxicities by dose level",
        "Listing of dose-limiting toxicities",
        "Listing of serious adverse events",
        "Listing of deaths",
        "Listing of dose deviations",
        "Adverse events of special interest",
        "Response by dose level (OVRLRESP at END OF STUDY)",
        "Adverse events by worst toxicity grade (AETOXGR): system organ class and preferred term",
    ):
        assert f"<h3>{title}</h3>" in page
    # publication layout: dose levels span their grade columns, N in the header
    # the power of ten printed as a superscript (kept as 10^6 in the CSV / XLSX data)
    assert '<th colspan="5">2.0 x 10<sup>6</sup> cells/kg (N = 12)</th>' in page
    content = build_report(load_trial(folder))
    items = [i for s in content["sections"] for i in s["items"] if i["kind"] == "table"]
    csvs = sorted(p for p in tables.glob("*.csv") if p.name != "index.csv")
    assert len(csvs) == len(items)
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames[0] == "index" and len(book.sheetnames) == len(items) + 1
    index = pd.read_csv(tables / "index.csv")
    assert index["title"].tolist() == [i["title"] for i in items]
    for path, item in zip(csvs, items, strict=True):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert len(frame) == len(item["display"])
    # the DLT table as CSV and as a sheet: same cells as printed
    k = next(i for i, it in enumerate(items) if it["title"].startswith("Dose-limiting"))
    dlt = pd.read_csv(csvs[k], dtype=str, keep_default_na=False)
    assert dlt["DLT rate (95% CI)"].tolist()[-1] == "8.3% (0.2%, 38.5%)"
    sheet = book[book.sheetnames[k + 1]]
    assert [c.value for c in sheet[1]] == dlt.columns.tolist()
    grade = next(i for i, it in enumerate(items) if "worst toxicity grade" in it["title"])
    head = pd.read_csv(csvs[grade], nrows=0).columns.tolist()
    assert head[:3] == [
        "System organ class / preferred term",
        "0.5 x 10^6 cells/kg (N = 3): Any grade",
        "0.5 x 10^6 cells/kg (N = 3): Grade 1-2",
    ]


def test_pilot_report_keeps_severity_and_lists(tmp_path: Path, pilot: TrialData) -> None:
    out = render_report(pilot, tmp_path / "p.html")
    page = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "IMG", out.read_text())
    assert "Adverse events by worst severity (AESEV)" in page and "CTCAE" not in page
    assert '<th colspan="2">Placebo (N = 86)</th>' in page
    assert "<th>Severity (AESEV)</th>" in page  # listings label severity as severity
