"""The IPS (HLC-001) trial's published survival results, recomputed from its patient listing."""

from __future__ import annotations

from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.datasets import load_ips_hlc001
from earlyphase.demo import ips_survival_summary
from earlyphase.stats import kaplan_meier
from helpers import assert_agree


def test_dataset_matches_table_3() -> None:
    df = load_ips_hlc001()
    assert len(df) == 7
    assert df["os_days"].tolist() == [50, 35, 204, 246, 155, 485, 729]
    assert df["died"].tolist() == [1, 1, 1, 1, 1, 0, 0]
    assert df["age"].tolist() == [64, 21, 43, 49, 56, 36, 34]
    # "mean age: 43.3 years" (abstract)
    assert round(df["age"].mean(), 1) == 43.3


def test_published_survival() -> None:
    s = ips_survival_summary()
    lm = s.landmarks.set_index("day")
    # "The survival rate at day 56 ... was 71.4% (5/7) (95% CI: 29.0%-96.3%)"; same at day 100
    for day in (56, 100):
        assert (lm.loc[day, "n_alive"], lm.loc[day, "n_known"]) == (5, 7)
        assert round(100 * lm.loc[day, "proportion"], 1) == 71.4
        assert round(100 * lm.loc[day, "ci_lower"], 1) == 29.0
        assert round(100 * lm.loc[day, "ci_upper"], 1) == 96.3
    # HPD of Beta(6, 3) (uniform prior), R 4.2.2 optimize(): 0.3790221, 0.9350371
    assert_agree([lm.loc[56, "hpd_lower"], lm.loc[56, "hpd_upper"]], [0.3790221, 0.9350371])
    # 1 - pbeta(0.245, 6, 3) = 0.9962151595 (R 4.2.2)
    assert round(s.prob_day56_above_historical, 10) == 0.9962151595


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


def test_cli_demo_prints_the_summary() -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "29.0% - 96.3%" in result.output
    assert "5/7" in result.output
    assert "Median overall survival" in result.output


def test_cli_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and "earlyphase" in result.output
