"""The public CDISC pilot study CDISCPILOT01 (ADSL, ADAE, ADTTE as published) through the
loader, the tables and the HTML report.

Two kinds of check:

- consistency checks recompute a number from the raw XPT files with plain pandas and compare
  (they catch wiring errors, not shared misconceptions);
- validation compares with R (survival 3.5-3; values in ``fixtures/cdiscpilot01_ttde_r.json``,
  made by ``fixtures/r/make_cdiscpilot01_ttde_fixture.R``).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest

from earlyphase.data import TrialData, load_trial
from earlyphase.report import render_report
from earlyphase.tables.adverse_events import ae_table, ae_worst_grade_table
from earlyphase.tables.efficacy import time_to_event_table
from earlyphase.tables.trial_tables import disposition_table

PILOT = Path(__file__).parent / "fixtures" / "cdiscpilot01"
R_TTDE = Path(__file__).parent / "fixtures" / "cdiscpilot01_ttde_r.json"
ARMS = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]  # TRT01AN 0, 54, 81


def _raw(name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(PILOT / f"{name}.xpt"))
    return frame


@pytest.fixture(scope="module")
def pilot() -> TrialData:
    return load_trial(PILOT)


@pytest.fixture(scope="module")
def page(pilot: TrialData, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = render_report(pilot, tmp_path_factory.mktemp("pilot") / "pilot.html")
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "IMG", out.read_text())


def test_loads_as_published(pilot: TrialData) -> None:
    assert pilot.adae is not None and pilot.adtte is not None
    assert (pilot.n, len(pilot.adae), len(pilot.adtte)) == (254, 1191, 254)
    assert pilot.unused == []


def test_fatal_teaes_consistency(pilot: TrialData) -> None:
    """Consistency check: 3 fatal TEAEs. In the raw ADAE, AEOUT == "FATAL" on 3 records (subjects
    01-701-1211 SUDDEN DEATH, 01-704-1445 COMPLETED SUICIDE, 01-710-1083 MYOCARDIAL INFARCTION),
    the same 3 records have AESDTH == "Y" and TRTEMFL == "Y"; ADSL has DTHFL == "Y" and DCDECOD
    == "DEATH" for the same 3 subjects."""
    adae, adsl = _raw("adae"), _raw("adsl")
    fatal = adae[(adae["AEOUT"] == "FATAL") | (adae["AESDTH"] == "Y")]
    assert len(fatal) == 3 and (fatal["TRTEMFL"] == "Y").all()
    assert set(fatal["USUBJID"]) == set(adsl.loc[adsl["DTHFL"] == "Y", "USUBJID"])
    assert set(fatal["USUBJID"]) == set(adsl.loc[adsl["DCDECOD"] == "DEATH", "USUBJID"])
    t = ae_table(pilot)
    assert t.value("Fatal", "n_events", "Total") == 3
    by_arm = fatal.groupby("TRTA").size()
    for arm in ARMS:
        assert t.value("Fatal", "n_subjects", arm) == by_arm.get(arm, 0)
    assert any("AEOUT = FATAL or AESDTH = Y" in n for n in t.footnotes)


def test_teae_counts_consistency(pilot: TrialData) -> None:
    """Consistency check against the raw ADAE: TEAE subjects and events per arm, one PT."""
    adae = _raw("adae")
    teae = adae[adae["TRTEMFL"] == "Y"]
    t = ae_table(pilot)
    for arm in ARMS:
        sub = teae[teae["TRTA"] == arm]
        assert t.value("Any TEAE", "n_subjects", arm) == sub["USUBJID"].nunique()
        assert t.value("Any TEAE", "n_events", arm) == len(sub)
        pruritus = sub[sub["AEDECOD"] == "APPLICATION SITE PRURITUS"]
        assert (
            t.value(
                "APPLICATION SITE PRURITUS",
                "n_subjects",
                arm,
                "PT|GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS",
            )
            == pruritus["USUBJID"].nunique()
        )
        severe = sub[sub["AESEV"] == "SEVERE"]
        assert t.value("Any severe AE (severity)", "n_subjects", arm) == severe["USUBJID"].nunique()
        related = sub[sub["AEREL"].isin(["POSSIBLE", "PROBABLE"])]
        assert t.value("Any related AE (ADR)", "n_events", arm) == len(related)


def test_severity_labelled_as_severity(pilot: TrialData) -> None:
    assert "AETOXGR" not in (pilot.adae if pilot.adae is not None else pd.DataFrame()).columns
    w = ae_worst_grade_table(pilot)
    text = " ".join([w.title, *w.footnotes, *w.display.iloc[:, 0].tolist()])
    assert "severity (AESEV)" in w.title and "CTCAE grade" not in w.title
    assert "Worst: Severe" in text and "Grade 3" not in text
    # consistency: worst severity SEVERE among TEAE subjects of each arm
    teae = _raw("adae").query("TRTEMFL == 'Y'")
    for arm in ARMS:
        sub = teae[teae["TRTA"] == arm]
        assert w.value("any severe", "n_subjects", arm, "Any event") == (
            sub.loc[sub["AESEV"] == "SEVERE", "USUBJID"].nunique()
        )


def test_arms_in_numeric_order(pilot: TrialData) -> None:
    assert (
        ae_table(pilot).display.columns[1:4].str.replace(r" \(N = \d+\)", "", regex=True).tolist()
        == ARMS
    )
    d = disposition_table(pilot, by="TRT01A")
    assert d.display.columns[1:4].tolist() == ARMS
    # consistency: completers from DCDECOD per arm in the raw ADSL
    adsl = _raw("adsl")
    for arm in ARMS:
        n = int(((adsl["TRT01A"] == arm) & (adsl["DCDECOD"] == "COMPLETED")).sum())
        assert d.value("Completed", "n", arm) == n


def _r(value: Any) -> float:
    return float("nan") if value == "NA" else float(value)


def test_time_to_event_by_arm_matches_r(pilot: TrialData) -> None:
    """Validation against R survival 3.5-3 (survfit / survdiff on the same XPT file)."""
    ref = json.loads(R_TTDE.read_text())
    times = ref["arms"][0]["times"]
    t = time_to_event_table(pilot, "TTDE", by="TRT01A", times=times)
    assert t.title == "Time to First Dermatologic Event (TTDE)" == f"{ref['param']} (TTDE)"
    assert t.display["Group"].tolist() == [a["trta"] for a in ref["arms"]] == ARMS
    name = t.title
    for arm in ref["arms"]:
        g = arm["trta"]
        assert t.value("subjects", "n", g, name) == arm["n"]
        assert t.value("subjects", "events", g, name) == arm["events"]
        for stat, key in (
            ("estimate", "median"),
            ("ci_lower", "median_lower"),
            ("ci_upper", "median_upper"),
        ):
            mine, theirs = t.value("median", stat, g, name), _r(arm[key])
            assert (math.isnan(mine) and math.isnan(theirs)) or mine == pytest.approx(theirs)
        for i, day in enumerate(times):
            label = f"day {day:g}"
            assert t.value(label, "n_risk", g, name) == arm["n_risk"][i]
            for stat, key in (
                ("estimate", "survival"),
                ("ci_lower", "lower"),
                ("ci_upper", "upper"),
            ):
                assert t.value(label, stat, g, name) == pytest.approx(arm[key][i], rel=1e-9)
    lr = ref["logrank"]
    assert t.value("log-rank", "statistic", "All", name) == pytest.approx(lr["chisq"], rel=1e-9)
    assert t.value("log-rank", "df", "All", name) == lr["df"]
    assert t.value("log-rank", "p_value", "All", name) == pytest.approx(lr["p_value"], rel=1e-6)


def test_report_renders(page: str) -> None:
    # arms in TRT01AN order in the participants' line and in every table header
    assert "arms: Placebo, Xanomeline Low Dose, Xanomeline High Dose." in page
    headers = re.findall(r"<thead><tr>(.*?)</tr></thead>", page)
    for h in headers:
        pos = [h.find(f"<th>{a}") for a in ARMS]
        if all(p >= 0 for p in pos):
            assert pos == sorted(pos)
    # the time-to-event parameter under its PARAM name, with a log-rank p-value; not "Survival"
    assert "<h3>Time to First Dermatologic Event (TTDE)</h3>" in page
    assert "Log-rank test across 3 groups: chi-square 60.27 on 2 df, p &lt; 0.0001." in page
    assert "Survival (" not in page
    # severity, not grade
    assert "Adverse events by worst severity (AESEV)" in page
    assert "Any severe AE (severity)" in page and "CTCAE" not in page
    # 3 fatal TEAEs in the Total column
    assert re.search(r"<td>Fatal</td>(<td>[^<]*</td>){3}<td>3 \(1\.2%\) \[3\]</td>", page)
    # AEACN is in ADAE but blank throughout: not collected, never 0
    assert re.search(
        r"<td>Any AE leading to withdrawal of treatment</td>"
        r"(<td class=\"nc\">not collected</td>){4}",
        page,
    )
    # SOC rows head their PTs; PTs are indented
    assert '<tr class="group"><td>GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS</td>' in page
    assert '<td class="lvl1">APPLICATION SITE PRURITUS</td>' in page
