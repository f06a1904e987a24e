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
    assert abs(out["mean_total_n"] - 14.674960) < 5e-7  # bcrm::threep3, design anchors 8.3


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
        (["design", "simon", "--doses", "3"], "design"),
        (["simulate", "3+3", "--truth", "0.1,x"], "truth"),
    ]
    for args, field in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
        assert f"{field}:" in r.output, (args, r.output)
