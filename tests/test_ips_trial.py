"""The IPS (HLC-001) trial's published survival results, recomputed by the library.

Source: Doki et al., Int J Hematol 2025 (seeds 000/001). Table 3 prints every patient's outcome
day and vital status, so the survival data are fully determined by the paper; the library
computes the proportions, the Clopper-Pearson intervals, the HPD intervals and Kaplan-Meier,
and these are compared with the paper's printed values and with R.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import earlyphase.demo
from earlyphase.cli import app
from earlyphase.datasets import load_ips_hlc001, load_reference_trial
from earlyphase.demo import ips_survival_summary
from earlyphase.stats import binomial_ci, kaplan_meier
from earlyphase.tables import landmark_survival_table
from helpers import assert_agree


def test_loader_returns_table_3() -> None:
    """The packaged listing (read through importlib.resources) has Table 3's seven patients."""
    df = load_ips_hlc001()
    assert df["subject"].tolist() == list(range(1, 8))
    assert df["os_days"].tolist() == [50, 35, 204, 246, 155, 485, 729]  # Table 3, "Outcome"
    assert df["died"].tolist() == [1, 1, 1, 1, 1, 0, 0]


def test_listing_agrees_with_the_reference_trial_tables() -> None:
    """Dataset consistency: the two packaged copies of Table 3 (the patient listing and the
    reference trial's ADSL/ADTTE) give every patient the same age and survival."""
    listing = load_ips_hlc001()
    trial = load_reference_trial("ips")
    assert trial.adtte is not None
    os_ = trial.adtte[trial.adtte["PARAMCD"] == "OS"].set_index("USUBJID")
    ids = [f"IPS-{s}" for s in listing["subject"]]
    assert os_.loc[ids, "AVAL"].tolist() == listing["os_days"].tolist()
    assert (1 - os_.loc[ids, "CNSR"]).tolist() == listing["died"].tolist()
    assert trial.adsl.set_index("USUBJID").loc[ids, "AGE"].tolist() == listing["age"].tolist()


def test_landmark_survival_against_the_paper_and_r() -> None:
    df = load_ips_hlc001()
    lm = landmark_survival_table(
        df["os_days"], df["died"], days=[56, 100, 365], ci_method="clopper-pearson"
    ).set_index("day")
    # "The survival rate at day 56 ... was 71.4% (5/7) (95% CI: 29.0%-96.3%)"; same at day 100.
    # R: binom.test(5, 7)$conf.int = 0.2904209 0.9633074
    for day in (56, 100):
        assert (lm.loc[day, "n_alive"], lm.loc[day, "n_known"]) == (5, 7)
        assert round(100 * lm.loc[day, "proportion"], 1) == 71.4
        assert (
            round(100 * lm.loc[day, "ci_lower"], 1),
            round(100 * lm.loc[day, "ci_upper"], 1),
        ) == (
            29.0,
            96.3,
        )
        assert_agree([lm.loc[day, "ci_lower"], lm.loc[day, "ci_upper"]], [0.2904209, 0.9633074])
    # "The 1-year survival rate ... was 28.6% (2 out of 7 cases)"
    # R: binom.test(2, 7)$conf.int = 0.03669257 0.70957914
    assert (lm.loc[365, "n_alive"], lm.loc[365, "n_known"]) == (2, 7)
    assert round(100 * lm.loc[365, "proportion"], 1) == 28.6
    assert_agree([lm.loc[365, "ci_lower"], lm.loc[365, "ci_upper"]], [0.03669257, 0.70957914])
    # nobody is censored before day 365, so Kaplan-Meier equals the crude proportion
    assert lm.loc[365, "km_survival"] == pytest.approx(2 / 7, abs=1e-12)


def test_published_survival_summary() -> None:
    s = ips_survival_summary()
    lm = s.landmarks.set_index("day")
    assert (s.day56_alive, s.day56_known) == (5, 7)
    # R: binom.test(5, 7)$conf.int = 0.2904209 0.9633074
    assert_agree([lm.loc[56, "ci_lower"], lm.loc[56, "ci_upper"]], [0.2904209, 0.9633074])
    # HPD of Beta(6, 3) (uniform prior), R 4.2.2 optimize(): 0.3790221, 0.9350371
    assert_agree([lm.loc[56, "hpd_lower"], lm.loc[56, "hpd_upper"]], [0.3790221, 0.9350371])
    # R: 1 - pbeta(0.245, 6, 3) = 0.9962151595
    assert round(s.prob_day56_above_historical, 10) == 0.9962151595


def test_clopper_pearson_for_the_published_proportions() -> None:
    """The exact intervals the report prints (Clopper-Pearson, as R binom.test)."""
    published = {  # (x, n): R binom.test(x, n)$conf.int; report's 95% CI in %
        (5, 7): ((0.2904209, 0.9633074), (29.0, 96.3)),
        (6, 7): ((0.4212768, 0.9963897), (42.1, 99.6)),
        (4, 7): ((0.1840516, 0.9010117), (18.4, 90.1)),
        (2, 3): ((0.09429932, 0.99159624), (9.4, 99.2)),
        (3, 3): ((0.2924018, 1.0), (29.2, 100.0)),
        (5, 6): ((0.3587654, 0.9957893), (35.9, 99.6)),
    }
    for (x, n), (r_ci, paper) in published.items():
        lo, hi = binomial_ci(x, n, "clopper-pearson")
        assert_agree([lo, hi], r_ci, what=f"{x}/{n}")
        assert (round(100 * lo, 1), round(100 * hi, 1)) == paper, (x, n)


def test_km_against_r(r_reference: dict) -> None:
    case = next(
        c for c in r_reference["kaplan_meier"] if c["name"] == "ips" and c["conf_type"] == "log"
    )
    df = load_ips_hlc001()
    fit = kaplan_meier(df["os_days"], df["died"])
    tab = fit.table(times=case["times"])
    assert_agree(tab["survival"], case["surv"], 12)
    assert_agree(tab["lower"], case["lower"], 12)
    assert_agree(fit.median(), [case["q_est"][1], case["q_lower"][1], case["q_upper"][1]], 12)


def test_cli_demo_prints_the_computed_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo writes reports/ into the working directory
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "5/7 alive, uniform prior) = 0.9962." in out  # R: 1 - pbeta(0.245, 6, 3)
    assert "29.0% - 96.3%" in out  # the computed Clopper-Pearson interval of 5/7
    assert "Median overall survival" in out


def test_cli_demo_numbers_follow_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With patient 6 dying on day 40 instead of surviving, the demo must print 4/7 and its
    statistics, while the line quoting the publication stays as published."""
    changed = load_ips_hlc001()
    changed.loc[changed["subject"] == 6, ["os_days", "died", "outcome"]] = [40, 1, "IPS"]

    def fake() -> pd.DataFrame:
        return changed.copy()

    monkeypatch.setattr(earlyphase.demo, "load_ips_hlc001", fake)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    # R: 1 - pbeta(0.245, 5, 4) = 0.9749406623; binom.test(4, 7)$conf.int = 0.1840516 0.9010117
    assert "4/7 alive, uniform prior) = 0.9749." in out
    assert "18.4% - 90.1%" in out
    assert "5/7 alive" not in out
    assert "Published: day-56 survival 71.4% (5/7; 95% CI 29.0%-96.3%)" in out


def test_cli_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and "earlyphase" in result.output
