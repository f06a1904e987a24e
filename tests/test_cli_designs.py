"""The design and simulate commands: tables, machine output, figures and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from earlyphase.cli import app

runner = CliRunner()


def test_design_boin_prints_the_protocol_table() -> None:
    r = runner.invoke(
        app,
        [
            "design",
            "boin",
            "--target",
            "0.3",
            "--doses",
            "5",
            "--cohort-size",
            "3",
            "--cohorts",
            "10",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["escalate_if_dlt_le"] for row in rows] == [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]


def test_simulate_exact_json_matches_library() -> None:
    r = runner.invoke(
        app, ["simulate", "3+3", "--truth", "0.05,0.1,0.2,0.3,0.5", "--exact", "--json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["method"] == "exact"
    # E[N] from bcrm 0.5.4: threep3(c(.05, .1, .2, .3, .5), threep3.esc.only = TRUE)
    assert abs(out["mean_total_n"] - 14.674960) < 5e-7


def test_simulate_csv_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "oc.png"
    r = runner.invoke(
        app,
        [
            "simulate",
            "boin",
            "--truth",
            "0.05,0.1,0.2,0.3,0.5",
            "--target",
            "0.3",
            "--cohorts",
            "6",
            "--sims",
            "500",
            "--seed",
            "1",
            "--csv",
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].startswith("dose,true_tox,prob_selected")
    r = runner.invoke(
        app,
        [
            "simulate",
            "3+3",
            "--truth",
            "0.05,0.1,0.3",
            "--exact",
            "--plot",
            str(png),
            "--dose-values",
            "0.5,1,2",
            "--unit",
            "x 10^6 cells/kg",
        ],
    )
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "0.5 x 10^6 cells/kg" in r.output


def test_decide_command() -> None:
    r = runner.invoke(app, ["decide", "3+3", "--doses", "3", "--outcomes", "1NNN 2NTT"])
    assert r.exit_code == 0 and "recommend dose 1" in r.output


def test_bad_input_exits_2_without_traceback() -> None:
    cases = [
        (["design", "boin", "--target", "1.3", "--doses", "5"], "target"),
        (["simulate", "boin", "--target", "0.3", "--doses", "5", "--truth", "0.1,0.2"], "true_tox"),
        (["design", "crm", "--skeleton", "0.3,0.2,0.4", "--target", "0.25"], "skeleton"),
        (["decide", "3+3", "--doses", "3", "--outcomes", "1NNN 5NNN"], "outcomes"),
        (["design", "fibonacci", "--doses", "3"], "design"),
        (["simulate", "3+3", "--truth", "0.1,x"], "truth"),
    ]
    for args, field in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
        assert f"{field}:" in r.output, (args, r.output)


def test_phase2_design_tables() -> None:
    r = runner.invoke(
        app,
        [
            "design",
            "thall-simon",
            "--standard-rate",
            "0.245",
            "--standard-n",
            "126",
            "--experimental-ess",
            "5",
            "--p-upper",
            "0.95",
            "--n-min",
            "6",
            "--n-max",
            "20",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert [row["upper_stop_if_ge"] for row in json.loads(r.output)] == [
        5,
        5,
        5,
        6,
        6,
        6,
        7,
        7,
        8,
        8,
        8,
        9,
        9,
        9,
        10,
    ]  # IPS trial Table 1
    r = runner.invoke(
        app,
        [
            "design",
            "simon",
            "--p0",
            "0.1",
            "--p1",
            "0.3",
            "--alpha",
            "0.05",
            "--beta",
            "0.2",
            "--json",
        ],
    )
    rows = json.loads(r.output)
    assert [(row["n"], row["lower_stop_if_le"]) for row in rows] == [(10, 1), (29, 5)]  # Simon 1989
    r = runner.invoke(
        app,
        [
            "design",
            "tox-monitor",
            "--method",
            "ivanova",
            "--p0",
            "0.2",
            "--p1",
            "0.35",
            "--looks",
            "20,40,60,75",
            "--json",
        ],
    )
    assert [row["upper_stop_if_ge"] - 1 for row in json.loads(r.output)] == [7, 12, 17, 20]


def test_phase2_simulate_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "b.png"
    r = runner.invoke(
        app,
        [
            "simulate",
            "simon",
            "--p0",
            "0.1",
            "--p1",
            "0.3",
            "--alpha",
            "0.05",
            "--beta",
            "0.2",
            "--truth",
            "0.1,0.3",
            "--json",
            "--plot",
            str(png),
        ],
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert abs(rows[0]["prob_upper"] - 0.04708631) < 5e-9  # oc.twostage.bdry
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_phase2_bad_input() -> None:
    cases = [
        (
            ["design", "simon", "--p0", "0.3", "--p1", "0.2", "--alpha", "0.05", "--beta", "0.2"],
            "p1",
        ),
        (
            ["design", "simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "1", "--beta", "0.2"],
            "alpha",
        ),
        (["design", "thall-simon", "--standard-prior", "0,1"], "standard_prior"),
        (
            [
                "design",
                "thall-simon",
                "--standard-rate",
                "0.2",
                "--standard-n",
                "50",
                "--n-min",
                "10",
                "--n-max",
                "5",
            ],
            "n_max",
        ),
        (["design", "predictive", "--p0", "0.3"], "theta_t"),
    ]
    for args, field in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert f"{field}:" in r.output and "Traceback" not in r.output
