"""The design, simulate and decide commands: every design, tables, machine output, figures,
scenario comparisons, clear errors, and the README's commands."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
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
        (["simulate", "3+3", "--truth", "0.1,0.2", "--seed", "1"], "seed"),
        (["design", "boin", "--target", "0.3", "--doses", "5", "--offset", "0.1"], "offset"),
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


# --- every design through every command ----------------------------------------------------

SETTINGS_OF = {
    "3+3": ["--doses", "3"],
    "boin": ["--target", "0.3", "--doses", "3", "--cohorts", "4"],
    "crm": ["--skeleton", "0.05,0.15,0.3", "--target", "0.25", "--n-patients", "9"],
    "thall-simon": ["--standard-rate", "0.245", "--standard-n", "126", "--n-max", "10"],
    "simon": ["--p0", "0.1", "--p1", "0.3", "--alpha", "0.05", "--beta", "0.2"],
    "predictive": ["--p0", "0.3", "--theta-t", "0.85", "--n-max", "10"],
    "tox-monitor": ["--limit", "0.3", "--n-max", "10"],
    "efftox": ["--n-patients", "6", "--n-points", "256"],
    "multi-outcome": [
        "--eff-standard-prior",
        "15,35",
        "--tox-standard-prior",
        "10,40",
        "--eff-experimental-prior",
        "0.6,1.4",
        "--tox-experimental-prior",
        "0.4,1.6",
        "--n-max",
        "10",
    ],
}
TRUTH_OF = {
    "3+3": ["--truth", "0.05,0.1,0.3"],
    "boin": ["--truth", "0.05,0.1,0.3"],
    "crm": ["--truth", "0.05,0.1,0.3"],
    "efftox": ["--truth", "0.05,0.1,0.15,0.3,0.5", "--truth-eff", "0.1,0.2,0.4,0.6,0.7"],
    "multi-outcome": ["--truth", "0.1,0.4", "--truth-eff", "0.4,0.3"],
}
OUTCOMES_OF = {
    "3+3": "1NNN 2NTN",
    "boin": "1NNN 2NTN",
    "crm": "1NNN 2NTN",
    "thall-simon": "1NRNN",
    "simon": "3/10",
    "predictive": "1RRN",
    "tox-monitor": "1NTN",
    "efftox": "1NNE 2EBN",
    "multi-outcome": "1NETN",
}


@pytest.mark.parametrize("design", list(SETTINGS_OF))
def test_every_design_has_design_simulate_and_decide(design: str) -> None:
    """Each command works for each design, with --json (and --csv where tables are printed)."""
    args = SETTINGS_OF[design]
    r = runner.invoke(app, ["design", design, *args, "--json"])
    assert r.exit_code == 0, r.output
    assert isinstance(json.loads(r.output), list)
    r = runner.invoke(app, ["design", design, *args, "--csv"])
    assert r.exit_code == 0 and "," in r.output.splitlines()[0], r.output
    truth = TRUTH_OF.get(design, ["--truth", "0.1,0.3"])
    sims = ["--sims", "20", "--seed", "1"] if design == "efftox" else []
    r = runner.invoke(app, ["simulate", design, *args, *truth, *sims, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)
    r = runner.invoke(app, ["simulate", design, *args, *truth, *sims, "--csv"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["simulate", design, *args, *truth, *sims])
    assert r.exit_code == 0 and "Design:" in r.output, r.output
    r = runner.invoke(app, ["decide", design, *args, "--outcomes", OUTCOMES_OF[design], "--json"])
    assert r.exit_code == 0, r.output
    decision = json.loads(r.output)
    assert {"dose", "stop", "action", "reason", "message"} <= set(decision)
    r = runner.invoke(app, ["decide", design, *args, "--outcomes", OUTCOMES_OF[design], "--csv"])
    assert r.exit_code == 0 and r.output.startswith("dose,dose_label,stop,action"), r.output
    r = runner.invoke(app, ["decide", design, *args, "--outcomes", OUTCOMES_OF[design]])
    assert r.exit_code == 0 and decision["message"] in " ".join(r.output.split()), r.output


def test_simulate_help_lists_every_design() -> None:
    """efftox (and every other design) is a simulate command."""
    r = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for design in SETTINGS_OF:
        assert re.search(rf"\b{re.escape(design)}\b", r.output), design


def test_simon_admissible_designs() -> None:
    """--kind admissible lists the minimax, admissible and optimal designs (clinfun
    twostage.admissible for 0.1 / 0.3 / 0.05 / 0.2), --q picks the one it favours."""
    base = ["--p0", "0.1", "--p1", "0.3", "--alpha", "0.05", "--beta", "0.2"]
    r = runner.invoke(app, ["design", "simon", *base, "--kind", "admissible", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["design"] for row in rows][0::3] == ["Minimax", "Optimal"][: len(rows[0::3])]
    assert (rows[0]["n"], rows[-1]["n"]) == (25, 29)  # minimax n = 25, optimal n = 29
    r = runner.invoke(app, ["design", "simon", *base, "--kind", "admissible", "--q", "1", "--json"])
    assert [row["n"] for row in json.loads(r.output)] == [15, 25]  # the minimax design
    r = runner.invoke(app, ["simulate", "simon", *base, "--kind", "admissible", "--truth", "0.1"])
    assert r.exit_code == 0 and "Minimax" in r.output and "Optimal" in r.output
    r = runner.invoke(app, ["decide", "simon", *base, "--kind", "admissible", "--outcomes", "1/10"])
    assert r.exit_code == 2 and "q:" in r.output
    r = runner.invoke(app, ["design", "simon", *base, "--q", "0.5"])
    assert r.exit_code == 2 and "q: applies only with kind = admissible" in r.output


def test_bayesian_toxicity_monitor_uses_the_looks() -> None:
    base = ["design", "tox-monitor", "--limit", "0.3", "--cutoff", "0.9"]
    r = runner.invoke(app, [*base, "--looks", "10,20,30", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["n"] for row in rows] == [10, 20, 30]
    # stop at the first x with Pr(p > 0.3 | x of n) > 0.9 under Beta(1, 1): 1 - pbeta(.3, x+1,
    # n-x+1) > .9 first at x = 5 of 10 (0.9527), 9 of 20, 13 of 30
    assert [row["upper_stop_if_ge"] for row in rows] == [5, 9, 13]
    r = runner.invoke(app, [*base, "--looks", "10,20,30", "--n-max", "30"])
    assert r.exit_code == 2 and "n_max: give the looks or n_min and n_max" in r.output
    r = runner.invoke(app, [*base, "--p0", "0.2"])
    assert r.exit_code == 2 and "p0: applies only with method = ivanova" in r.output


def test_thall_simon_futility_rule_is_explicit() -> None:
    """The futility rule is on by default (p_lower 0.05), --delta moves it, --p-lower 0
    turns it off, and --delta without a futility rule is refused."""
    base = ["design", "thall-simon", "--standard-rate", "0.245", "--standard-n", "126"]
    base += ["--experimental-ess", "5", "--n-min", "6", "--n-max", "20", "--json"]

    def lower(*extra: str) -> list[int | None]:
        r = runner.invoke(app, [*base, *extra])
        assert r.exit_code == 0, r.output
        return [row["lower_stop_if_le"] for row in json.loads(r.output)]

    default = lower()
    assert any(v is not None for v in default)
    assert lower("--p-lower", "0") == [None] * 15
    moved = lower("--delta", "0.2")
    assert moved != default and all(
        (a or -1) >= (b or -1) for a, b in zip(moved, default, strict=True)
    )
    r = runner.invoke(app, [*base, "--delta", "0.2", "--p-lower", "0"])
    assert r.exit_code == 2 and "delta:" in r.output and "futility rule is off" in r.output
    r = runner.invoke(app, [*base[:-1]])
    assert "futility: Pr(theta_E > theta_S + 0) <= 0.05" in " ".join(r.output.split())


def test_crm_stops_when_too_toxic_from_the_cli() -> None:
    crm = ["decide", "crm", "--skeleton", "0.05,0.15,0.3", "--target", "0.25", "--json"]
    r = runner.invoke(app, [*crm, "--outcomes", "1TTT"])
    assert json.loads(r.output)["action"] != "stop"  # plain CRM stays at dose 1
    r = runner.invoke(
        app, [*crm, "--outcomes", "1TTT", "--stop-when-too-toxic", "0.35", "--confidence", "0.9"]
    )
    out = json.loads(r.output)
    # Pr(p1 > 0.35 | 3/3, Beta(1, 1)) = 1 - 0.35^4 = 0.985 > 0.9: stop, no dose
    assert out["stop"] and out["selected"] is None
    r = runner.invoke(app, [*crm, "--outcomes", "1TTT", "--confidence", "0.9"])
    assert r.exit_code == 2 and "confidence: applies only together with" in r.output


def test_design_describes_every_behaviour_option() -> None:
    r = runner.invoke(
        app,
        [
            "design",
            "boin",
            "--target",
            "0.3",
            "--doses",
            "5",
            "--dont-skip-doses",
            "--dont-skip-when-deescalating",
            "--stop-when-n-at-dose",
            "9",
            "--at-dose",
            "any",
            "--stop-at-n",
            "27",
            "--stop-when-too-toxic",
            "0.45",
            "--confidence",
            "0.85",
            "--too-toxic-prior",
            "0.5,0.5",
            "--expansion",
            "7",
            "--expansion-cohort-size",
            "2",
            "--expansion-tox-limit",
            "0.35",
            "--expansion-cutoff",
            "0.8",
            "--expansion-prior",
            "0.4,1.6",
        ],
    )
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    for shown in (
        "no dose skipping when escalating or de-escalating",
        "stop when 9 patients are at any dose",
        "stop at n = 27",
        "Pr(p1 > 0.45) > 0.85 under a Beta(0.5, 0.5) prior",
        "expand with 7 at the RP2D in cohorts of 2",
        "Pr(p > 0.35) > 0.8 under a Beta(0.4, 1.6) prior",
    ):
        assert shown in text, shown


def test_scenarios_compare_designs(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios.csv"
    scenarios.write_text("scenario,dose1,dose2,dose3\nsafe,0.05,0.1,0.15\nMTD at 2,0.1,0.3,0.5\n")
    designs = ["--design", "boin target=0.3 n_cohorts=4 label=BOIN-12", "--design", "3+3"]
    png = tmp_path / "cmp.png"
    r = runner.invoke(
        app, ["simulate", "--scenarios", str(scenarios), *designs, "--plot", str(png)]
    )
    assert r.exit_code == 0, r.output
    assert "MTD at 2" in r.output and "BOIN-12" in r.output and "true DLT rate" in r.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    r = runner.invoke(app, ["simulate", "--scenarios", str(scenarios), *designs, "--json"])
    out = json.loads(r.output)
    assert out["method"] == "exact" and len(out["rows"]) == 4
    # the same as one design under one scenario (exact): consistency of the two commands
    one = runner.invoke(app, ["simulate", "3+3", "--truth", "0.1,0.3,0.5", "--exact", "--json"])
    row = next(r for r in out["rows"] if r["design"] == "3+3" and r["scenario"] == "MTD at 2")
    assert row["mean_n"] == pytest.approx(json.loads(one.output)["mean_total_n"], abs=1e-12)
    r = runner.invoke(
        app, ["simulate", "--scenarios", str(scenarios), *designs, "--sims", "200", "--csv"]
    )
    assert r.output.splitlines()[0] == "scenario,design,dose1,dose2,dose3,none,mean_n,mean_dlt"
    bad = tmp_path / "bad.csv"
    bad.write_text("scenario,dose1,dose2\nx,0.1,1.4\n")
    r = runner.invoke(app, ["simulate", "--scenarios", str(bad), "--design", "3+3"])
    assert r.exit_code == 2 and "scenarios: row 1 (x), dose2" in r.output
    r = runner.invoke(app, ["simulate", "--scenarios", str(scenarios), "--design", "simon"])
    assert r.exit_code == 2 and "design:" in r.output
    r = runner.invoke(
        app, ["simulate", "--scenarios", str(scenarios), "--design", "boin targt=0.3"]
    )
    assert r.exit_code == 2 and "targt: not a setting of the boin design" in r.output


def test_importing_the_cli_loads_no_heavy_library() -> None:
    """``earlyphase decide`` starts fast because the CLI module imports neither pandas, SciPy
    nor Matplotlib (timings: benchmarks/bench_cli_start.py, never a unit test)."""
    code = (
        "import sys, earlyphase.cli; "
        "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_decide_dose_finding_needs_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from earlyphase.cli import app\n"
        "args = ['decide', 'boin', '--target', '0.3', '--n-doses', '5',\n"
        "        '--outcomes', '1NNN 2NTN']\n"
        "r = CliRunner().invoke(app, args)\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _readme_commands() -> list[list[str]]:
    """The ``earlyphase design|simulate|decide`` commands of README.md's shell blocks."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            words = shlex.split(line)
            if words[:1] == ["earlyphase"] and words[1:2] in (["design"], ["simulate"], ["decide"]):
                commands.append(words[1:])
    return commands


def test_readme_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commands = _readme_commands()
    assert len(commands) >= 12
    assert {c[0] for c in commands} == {"design", "simulate", "decide"}
    monkeypatch.chdir(tmp_path)  # figures the commands write land here
    (tmp_path / "examples").mkdir()
    src = Path(__file__).resolve().parents[1] / "examples" / "scenarios.csv"
    (tmp_path / "examples" / "scenarios.csv").write_text(src.read_text())
    for args in commands:
        r = runner.invoke(app, args)
        assert r.exit_code == 0, (args, r.output)
        assert "Traceback" not in r.output


# --- backfill (BF-BOIN) through the generated options ----------------------------------------

_BF_TRUTH = "0.05,0.1,0.25,0.45,0.6"
_BF_RESPONSE = "0.1,0.2,0.3,0.4,0.5"


def test_simulate_backfill_is_the_library_simulation() -> None:
    """``--backfill-window`` and ``--backfill-cap`` build ``BOIN(...).with_backfill(...)``; the
    TITE designs' calendar-time options and ``--truth-eff`` (response) reach its simulation."""
    from earlyphase.designs.boin import BOIN

    args = ["simulate", "boin", "--target", "0.25", "--truth", _BF_TRUTH, "--cohorts", "10"]
    args += ["--backfill-window", "28", "--backfill-cap", "9", "--truth-eff", _BF_RESPONSE]
    args += ["--accrual-rate", "2", "--time-to-dlt", "uniform", "--sims", "300", "--seed", "4"]
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    d = BOIN(0.25, 5, n_cohorts=10).with_backfill(window=28, cap_per_dose=9)
    oc = d.operating_characteristics(  # type: ignore[call-arg]
        [0.05, 0.1, 0.25, 0.45, 0.6],
        n_sims=300,
        seed=4,
        response=[0.1, 0.2, 0.3, 0.4, 0.5],
        accrual_rate=2.0,
        time_to_dlt="uniform",
    )
    assert [row["prob_selected"] for row in out["doses"]] == pytest.approx(oc.selection.tolist())
    assert out["mean_n_backfill"] == pytest.approx(oc.summary()["mean_n_backfill"])
    assert out["mean_duration"] == pytest.approx(oc.mean_duration)
    assert out["accrual_rate"] == 2.0 and out["n_sims"] == 300
    # the table says how many were backfilled
    r = runner.invoke(app, [*args[:-6], "--sims", "200", "--seed", "4"])
    assert r.exit_code == 0, r.output
    assert "backfill" in r.output and "mean duration" in r.output


def test_decide_backfill_from_a_history_file(tmp_path: Path) -> None:
    """Dose 3's cohort is pending; doses 1 and 2 were cleared and have a response each, so a
    patient arriving now is backfilled at the highest open dose, 2 (Zhao et al. 2024)."""
    csv = tmp_path / "history.csv"
    rows = ["dose,dlt,follow_up,backfill,response"]
    rows += ["1,0,28,0,1", "1,0,28,0,0", "1,0,28,0,0", "2,0,28,0,1", "2,0,28,0,0", "2,0,28,0,0"]
    rows += ["3,0,5,0,0", "3,0,3,0,0", "3,0,1,0,0"]
    csv.write_text("\n".join(rows) + "\n")
    base = ["decide", "boin", "--target", "0.25", "--doses", "5", "--backfill-window", "28"]
    r = runner.invoke(app, [*base, "--history", str(csv), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["action"] == "stay" and out["dose"] == 3
    assert out["estimates"]["backfill_open"] == [1, 2]
    assert out["estimates"]["backfill_dose"] == 2
    r = runner.invoke(app, [*base, "--history", str(csv), "--backfill-assign", "lowest"])
    assert r.exit_code == 0, r.output
    assert "backfill: a patient arriving now goes to dose 1" in r.output
    # the outcome string carries no responses: with the response rule no dose opens
    r = runner.invoke(app, [*base, "--outcomes", "1NNN 2NNN 3N(5)N(3)N(1)"])
    assert r.exit_code == 0, r.output
    assert "backfill: no dose is open" in r.output
    r = runner.invoke(
        app,
        [*base, "--outcomes", "1NNN 2NNN 3N(5)N(3)N(1)", "--no-backfill-require-response"],
    )
    assert "goes to dose 2" in r.output, r.output


def test_design_three_plus_three_with_backfill() -> None:
    r = runner.invoke(app, ["design", "3+3", "--doses", "4", "--backfill-window", "21"])
    assert r.exit_code == 0, r.output
    text = re.sub(r"\s+", " ", r.output)
    assert "backfill doses below the current dose" in text and "DLT window 21" in text


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--backfill-window", "28", "--backfill-cap", "0"], "backfill_cap"),
        (["--backfill-window", "-3"], "backfill_window"),
        (["--backfill-window", "28", "--backfill-assign", "middle"], "backfill_assign"),
        (["--backfill-window", "28", "--stop-at-n", "12"], "stop_at_n"),
        (["--backfill-cap", "6"], "backfill_cap: applies only together with backfill_window"),
        (["--accrual-rate", "2"], "accrual-rate: applies only with --backfill-window"),
        (["--truth-eff", _BF_RESPONSE], "truth-eff: applies only with --backfill-window"),
        (["--backfill-window", "28", "--exact"], "exact"),
    ],
)
def test_bad_backfill_settings_are_named(extra: list[str], named: str) -> None:
    r = runner.invoke(app, ["simulate", "boin", "--target", "0.25", "--truth", _BF_TRUTH, *extra])
    assert r.exit_code != 0
    assert named in re.sub(r"\s+", " ", r.output), r.output


def test_backfill_options_are_in_the_generated_help() -> None:
    """The options come from the settings registry (help, bounds, default) for BOIN and 3+3
    only; the protocol writer does not take backfill."""
    from earlyphase.designs.settings import BACKFILL

    for design in ("boin", "3+3"):
        r = runner.invoke(app, ["simulate", design, "--help"], env={"COLUMNS": "250"})
        assert r.exit_code == 0, r.output
        text = re.sub(r"[\s│]+", " ", r.output)
        for s in BACKFILL:
            assert s.option in text, (design, s.name)
        assert "Allowed: (0, 10000]" in text and "no backfill" in text
    r = runner.invoke(app, ["simulate", "crm", "--help"], env={"COLUMNS": "250"})
    assert "--backfill-window" not in r.output
    r = runner.invoke(app, ["protocol", "boin", "--help"], env={"COLUMNS": "250"})
    assert "--backfill-window" not in r.output


def test_design_prints_dose_paths_with_pending_patients() -> None:
    """``--paths N --pending-follow-up g`` prints the design's own tree (a consistency check of
    the command against the library; the tree itself is validated in test_pending_paths.py)."""
    from earlyphase.designs import TITEBOIN

    args = ["design", "tite-boin", "--target", "0.3", "--doses", "3", "--window", "28"]
    r = runner.invoke(app, [*args, "--paths", "1", "--pending-follow-up", "0.5", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    want = TITEBOIN(0.3, 3, window=28).dose_paths(1, pending_follow_up=0.5)
    assert [row["path"] for row in rows] == list(want["path"])
    assert rows[0]["path"] == "1PPP" and rows[0]["decision"].startswith("suspend accrual")
    r = runner.invoke(app, [*args, "--pending-follow-up", "0.5"])
    assert r.exit_code == 2 and "pending-follow-up: applies only with --paths N" in r.output
    r = runner.invoke(app, [*args, "--paths", "1", "--pending-follow-up", "1"])
    assert r.exit_code == 2 and "pending-follow-up: a fraction of the DLT window" in r.output


def test_simulate_boin12_exact_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--exact`` gives BOIN12's exact operating characteristics (the numbers are validated
    against R escalation in test_boin12.py; here the command against the library)."""
    from earlyphase.designs.boin12 import BOIN12

    args = ["simulate", "boin12", "--tox-target", "0.35", "--eff-lower", "0.25"]
    args += ["--truth", "0.05,0.2,0.4", "--truth-eff", "0.2,0.4,0.5"]
    r = runner.invoke(app, [*args, "--cohorts", "3", "--exact", "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    want = BOIN12(3, 0.35, 0.25, n_cohorts=3, stop_if_lowest_toxic=True).operating_characteristics(
        ([0.2, 0.4, 0.5], [0.05, 0.2, 0.4]), method="exact"
    )
    assert got["method"] == "exact"
    got_sel = [row["prob_selected"] for row in got["doses"]]
    assert got_sel == pytest.approx(want.selection.tolist(), abs=1e-12)
    from earlyphase.designs import boin12

    monkeypatch.setattr(boin12, "EXACT_MAX_STATES", 100)  # the refusal, without the wait
    r = runner.invoke(app, [*args, "--exact"])
    assert r.exit_code == 2 and "use method='simulate'" in r.output
    r = runner.invoke(app, [*args, "--seed", "1", "--json"])  # simulated by default
    assert r.exit_code == 0 and json.loads(r.output)["n_sims"] == 1000
