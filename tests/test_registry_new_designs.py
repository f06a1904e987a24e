"""mTPI-2, Keyboard, i3+3, the rolling six, TITE-CRM, TITE-BOIN, BOP2 and BOIN12 from the settings
registry: built from a plain specification they decide and tabulate as the directly constructed
objects do, every command works with --json and --csv, the command line enforces every bound
with the setting named, and the trial service refuses the designs it cannot run yet."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from earlyphase.cli import app
from earlyphase.designs.boin12 import BOIN12
from earlyphase.designs.bop2 import BOP2
from earlyphase.designs.interval import MTPI2, I3Plus3, Keyboard
from earlyphase.designs.rolling_six import RollingSix
from earlyphase.designs.settings import (
    BEHAVIOURS,
    NOT_IN_TRIAL_SERVICE,
    WITH_BEHAVIOURS,
    Setting,
    settings_for,
)
from earlyphase.designs.spec import build
from earlyphase.designs.tite_boin import TITEBOIN
from earlyphase.designs.tite_crm import TITECRM

runner = CliRunner()

NEW = ("mtpi2", "keyboard", "i3+3", "rolling6", "tite-crm", "tite-boin", "bop2", "boin12")

#: Command-line settings of each new design for the command tests.
ARGS: dict[str, list[str]] = {
    "mtpi2": ["--target", "0.3", "--n-cohorts", "4"],
    "keyboard": ["--target", "0.3", "--n-cohorts", "4"],
    "i3+3": ["--target", "0.3", "--n-cohorts", "4"],
    "rolling6": [],
    "tite-crm": ["--skeleton", "0.05,0.12,0.25,0.4", "--target", "0.25", "--window", "28"],
    "tite-boin": ["--target", "0.25", "--window", "28", "--n-cohorts", "6"],
    "bop2": ["--null", "0.2", "--alternative", "0.4", "--looks", "10,20", "--n-max", "30"],
    "boin12": ["--tox-target", "0.35", "--eff-lower", "0.25", "--n-cohorts", "6"],
}
TRUTH: dict[str, list[str]] = {
    "bop2": ["--truth", "0.2,0.4"],
    "boin12": ["--truth", "0.05,0.1,0.2,0.4", "--truth-eff", "0.1,0.3,0.5,0.5"],
}
#: Designs whose operating characteristics are simulated only: few trials keep the tests fast.
SIMULATED = {"rolling6", "tite-crm", "tite-boin", "boin12"}
OUTCOMES: dict[str, str] = {
    "mtpi2": "1NNN 2NTN",
    "keyboard": "1NNN 2NTN",
    "i3+3": "1NNN 2NTN",
    "rolling6": "1NNN 2TNP",
    "tite-crm": "1NNN 2NT(12)N(5)",
    "tite-boin": "1NNN 2NN(20)N(10)",
    "bop2": "RNNRNNNNNN",
    "boin12": "1NEN 2EBT",
}


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


# --- every command, with --json and --csv --------------------------------------------------


@pytest.mark.parametrize("design", NEW)
def test_design_simulate_and_decide_with_json_and_csv(design: str) -> None:
    args = ARGS[design]
    needs_doses = design not in ("tite-crm", "bop2")
    doses = ["--n-doses", "4"] if needs_doses else []
    r = _run("design", design, *args, *doses)
    assert r.exit_code == 0 and "Design:" in r.output, r.output
    r = _run("design", design, *args, *doses, "--json")
    assert r.exit_code == 0, r.output
    assert isinstance(json.loads(r.output), list) and json.loads(r.output)
    r = _run("design", design, *args, *doses, "--csv")
    assert r.exit_code == 0 and "," in r.output.splitlines()[0], r.output

    truth = TRUTH.get(design, ["--truth", "0.05,0.1,0.25,0.45"])
    sims = ["--sims", "40", "--seed", "3"] if design in SIMULATED else []
    r = _run("simulate", design, *args, *truth, *sims, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)
    r = _run("simulate", design, *args, *truth, *sims, "--csv")
    assert r.exit_code == 0 and "," in r.output.splitlines()[0], r.output
    r = _run("simulate", design, *args, *truth, *sims)
    assert r.exit_code == 0 and "Design:" in r.output, r.output

    out = OUTCOMES[design]
    r = _run("decide", design, *args, *doses, "--outcomes", out, "--json")
    assert r.exit_code == 0, r.output
    decision = json.loads(r.output)
    assert {"dose", "stop", "action", "reason", "message"} <= set(decision)
    r = _run("decide", design, *args, *doses, "--outcomes", out, "--csv")
    assert r.exit_code == 0 and r.output.startswith("dose,dose_label,stop,action"), r.output
    r = _run("decide", design, *args, *doses, "--outcomes", out)
    assert r.exit_code == 0 and r.output.strip(), r.output


def test_simulated_designs_repeat_with_the_same_seed() -> None:
    args = ["simulate", "tite-boin", *ARGS["tite-boin"], "--truth", "0.05,0.1,0.25,0.45"]
    a = _run(*args, "--sims", "30", "--seed", "7", "--json")
    b = _run(*args, "--sims", "30", "--seed", "7", "--json")
    assert a.exit_code == 0 and json.loads(a.output) == json.loads(b.output)


def test_bop2_simulate_is_exact_and_takes_joint_scenarios() -> None:
    joint = [
        "--null",
        "0.05,0.15,0.15,0.65",
        "--alternative",
        "0.1,0.3,0.05,0.55",
        "--looks",
        "10,20",
        "--n-max",
        "30",
    ]
    truth = "0.05,0.15,0.15,0.65;0.1,0.3,0.05,0.55"
    r = _run("simulate", "bop2", *joint, "--truth", truth, "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    d = BOP2([0.05, 0.15, 0.15, 0.65], [0.1, 0.3, 0.05, 0.55], looks=[10, 20], N=30)
    want = d.operating_characteristics([[0.05, 0.15, 0.15, 0.65], [0.1, 0.3, 0.05, 0.55]])
    assert [r["prob_go"] for r in rows] == pytest.approx(want.table()["prob_go"].tolist())
    r = _run("simulate", "bop2", *joint, "--truth", "0.1,0.2,0.3")
    assert r.exit_code == 2 and "truth:" in r.output


def test_boin12_simulate_needs_the_efficacy_rates() -> None:
    r = _run("simulate", "boin12", *ARGS["boin12"], "--truth", "0.05,0.1,0.2")
    assert r.exit_code == 2 and "truth-eff:" in r.output


def test_tite_history_file_and_notation_agree(tmp_path: Path) -> None:
    """A CSV history (dose, dlt, follow_up) and the command-line notation give one decision."""
    csv = tmp_path / "h.csv"
    csv.write_text("dose,dlt,follow_up\n1,0,28\n1,0,28\n1,0,28\n2,0,28\n2,1,12\n2,0,5\n")
    for design in ("tite-crm", "tite-boin"):
        # TITE-CRM's number of doses comes from its skeleton
        extra = [] if design == "tite-crm" else ["--n-doses", "4"]
        a = _run("decide", design, *ARGS[design], *extra, "--history", str(csv), "--json")
        b = _run(
            "decide", design, *ARGS[design], *extra, "--outcomes", "1NNN 2NT(12)N(5)", "--json"
        )
        assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
        assert json.loads(a.output) == json.loads(b.output)
    r = _run("decide", "tite-boin", *ARGS["tite-boin"], "--n-doses", "4", "--outcomes", "1NX")
    assert r.exit_code == 2 and "outcomes:" in r.output
    r = _run("decide", "tite-boin", *ARGS["tite-boin"], "--n-doses", "4", "--history", "no.csv")
    assert r.exit_code == 2 and "history:" in r.output


# --- consistency: the registry builds what the constructors build ----------------------------


def _same_decisions(a: Any, b: Any, histories: list[Any]) -> None:
    for h in histories:
        assert a.decide(h).to_dict() == b.decide(h).to_dict(), h


def test_consistency_interval_designs_match_their_constructors() -> None:
    pairs = [
        (
            build("mtpi2", {"target": 0.25, "n_doses": 5, "epsilon1": 0.04, "n_cohorts": 8}),
            MTPI2(0.25, 5, epsilon1=0.04, n_cohorts=8),
        ),
        (
            build("keyboard", {"target": 0.3, "n_doses": 4, "margin_right": 0.07}),
            Keyboard(0.3, 4, margin_right=0.07),
        ),
        (
            build("i3+3", {"target": 0.2, "n_doses": 4, "cohort_size": 2, "eps2": 0.1}),
            I3Plus3(0.2, 4, cohort_size=2, eps2=0.1),
        ),
    ]
    for got, want in pairs:
        assert got.describe() == want.describe()
        assert got.protocol_table().equals(want.protocol_table())
        assert got.boundary_table(full=True).equals(want.boundary_table(full=True))
        _same_decisions(got, want, [None, "1NNN", "1NNN 2NTN", "1NNN 2TTN", "1TTT"])


def test_consistency_rolling_six_and_boin12_match_their_constructors() -> None:
    got = build("rolling6", {"n_doses": 4, "start_dose": 2})
    want = RollingSix(4, start_dose=2)
    assert got.protocol_table().equals(want.protocol_table())
    _same_decisions(got, want, [None, "2NNN", "2NNPPP", "2TNP", "2NNN 3TTN"])
    got12 = build(
        "boin12",
        {"n_doses": 4, "tox_target": 0.3, "eff_lower": 0.2, "utility": [100, 30, 50, 0]},
    )
    want12 = BOIN12(4, tox_target=0.3, eff_lower=0.2, utility=(100, 30, 50, 0))
    assert got12.protocol_table().equals(want12.protocol_table())
    _same_decisions(got12, want12, [None, "1NEN", "1NEN 2EBT", "1TTB"])
    off = build("boin12", {"n_doses": 4, "tox_target": 0.3, "eff_lower": 0.2, "explore_n": 0})
    assert off.explore_n is None  # 0 switches the exploration rule off


def test_consistency_tite_designs_match_their_constructors() -> None:
    h = {"level": [1, 1, 1, 2, 2, 2], "dlt": [0, 0, 0, 0, 1, 0], "follow_up": [28] * 4 + [9, 4]}
    got = build("tite-boin", {"target": 0.25, "n_doses": 4, "window": 28, "estimator": "ess"})
    want = TITEBOIN(0.25, 4, window=28, estimator="ess")
    assert got.protocol_table().equals(want.protocol_table())
    _same_decisions(got, want, [None, "1NNN", h])
    skel = [0.05, 0.12, 0.25, 0.4]
    got_crm = build(
        "tite-crm", {"skeleton": skel, "target": 0.25, "window": 28, "scheme": "adaptive"}
    )
    want_crm = TITECRM(skel, 0.25, 28, scheme="adaptive")
    assert got_crm.protocol_table().equals(want_crm.protocol_table())
    _same_decisions(got_crm, want_crm, [None, "1NNN", h])


def test_consistency_bop2_matches_its_constructor() -> None:
    got = build("bop2", {"null": [0.2], "alternative": [0.4], "looks": [10, 20], "n_max": 30})
    want = BOP2(0.2, 0.4, looks=[10, 20], N=30)
    assert got.boundary_table().equals(want.boundary_table())
    _same_decisions(got, want, [None, {"responses": 0, "n": 10}, {"responses": 5, "n": 20}])
    fixed = build(
        "bop2",
        {"null": [0.2], "alternative": [0.4], "looks": [10], "n_max": 30, "lam": 0.8, "gamma": 1},
    )
    assert (fixed.lam, fixed.gamma) == (0.8, 1.0)
    with pytest.raises(ValueError, match=r"^lam: applies only together with gamma"):
        build("bop2", {"null": [0.2], "alternative": [0.4], "looks": [10], "n_max": 30, "lam": 0.8})
    with pytest.raises(ValueError, match=r"^null: give a response rate or the four"):
        build("bop2", {"null": [0.2, 0.3], "alternative": [0.4], "looks": [10], "n_max": 30})


def test_cli_decision_equals_the_library_decision() -> None:
    """The command line's decision is the constructed design's, field for field."""
    args = ["--target", "0.3", "--n-doses", "4", "--outcomes", "1NNN 2TNN", "--json"]
    r = _run("decide", "keyboard", *args)
    assert r.exit_code == 0, r.output
    want = Keyboard(0.3, 4).decide("1NNN 2TNN").to_dict()
    assert json.loads(r.output) == json.loads(json.dumps(want, default=str))


# --- behaviours: only where the design honours them ------------------------------------------


def test_behaviours_are_offered_only_to_designs_that_take_them() -> None:
    behaviour_names = {s.name for group in BEHAVIOURS.values() for s in group}
    for design in NEW:
        names = {s.name for s in settings_for(design)}
        if design in WITH_BEHAVIOURS:
            assert behaviour_names <= names, design
        else:
            assert not behaviour_names & names, design
    d = build("i3+3", {"target": 0.3, "n_doses": 4, "stop_at_n": 9})
    assert hasattr(d, "parent") and d.decide("1NNN 2NNN 3NNN").stop
    with pytest.raises(ValueError, match=r"^stop_at_n: not a setting of the tite-boin design"):
        build("tite-boin", {"target": 0.3, "n_doses": 4, "window": 28, "stop_at_n": 9})


# --- help and bounds through the command line -------------------------------------------------


@pytest.mark.parametrize("design", NEW)
def test_help_lists_every_setting_with_bounds_default_and_reference(design: str) -> None:
    r = runner.invoke(app, ["design", design, "--help"], env={"COLUMNS": "2000"})
    assert r.exit_code == 0, r.output
    text = re.sub(r"\s+", " ", r.output)
    for s in settings_for(design):
        assert s.option in text, s.name
        assert s.reference in text, s.name
        if s.bounds_text() and not s.choices:
            assert f"Allowed: {s.bounds_text()}." in text, s.name
        if s.default_text:
            assert s.default_text in text, s.name


def _bad_values(s: Setting) -> list[str]:
    """Values just outside the setting's bounds, as typed on the command line."""
    out: list[float] = []
    if s.low is not None:
        out.append(s.low if s.low_open else s.low - 1)
    if s.high is not None:
        out.append(s.high if s.high_open else s.high + 1)
    text = [str(int(v)) if v == int(v) else repr(v) for v in out]
    return [",".join([t] * (s.length or 1)) for t in text]


def _cases() -> list[tuple[str, Setting]]:
    return [
        (d, s)
        for d in NEW
        for s in settings_for(d, behaviours=False)
        if s.type in ("float", "int", "floats", "ints")
    ]


@pytest.mark.parametrize(("design", "setting"), _cases(), ids=lambda v: getattr(v, "name", v))
def test_cli_enforces_every_bound_with_the_field_named(design: str, setting: Setting) -> None:
    base = {
        "mtpi2": ["--target", "0.3", "--n-doses", "3"],
        "keyboard": ["--target", "0.3", "--n-doses", "3"],
        "i3+3": ["--target", "0.3", "--n-doses", "3"],
        "rolling6": ["--n-doses", "3"],
        "tite-crm": ["--skeleton", "0.05,0.15,0.3", "--target", "0.25", "--window", "28"],
        "tite-boin": ["--target", "0.3", "--n-doses", "3", "--window", "28"],
        "bop2": ["--null", "0.2", "--alternative", "0.4", "--looks", "10,20", "--n-max", "30"],
        "boin12": ["--n-doses", "3", "--tox-target", "0.35", "--eff-lower", "0.25"],
    }[design]
    # drop the setting's own base value, so that the bad one is the only one given
    args: list[str] = []
    skip = False
    for word in base:
        if skip:
            skip = False
            continue
        if word == setting.option:
            skip = True
            continue
        args.append(word)
    if setting.only_with is not None:
        other = next(t for t in settings_for(design) if t.name == setting.only_with[0])
        if other.type == "bool":  # a switch: its flag alone
            args.append(other.option)
        else:
            args += [other.option, str(setting.only_with[1])]
    if setting.requires == "gamma":
        args += ["--gamma", "1"]
    if setting.requires == "lam":
        args += ["--lam", "0.5"]
    values = _bad_values(setting)
    assert values, f"{setting.name} is unbounded"
    for value in values:
        r = _run("design", design, *args, f"{setting.option}={value}")
        assert r.exit_code == 2, (setting.name, value, r.output)
        assert f"error: {setting.name}:" in r.output or setting.option in r.output, (
            setting.name,
            value,
            r.output,
        )


# --- the trial service ------------------------------------------------------------------------


@pytest.mark.parametrize("design", ["rolling6", "tite-crm", "tite-boin"])
def test_the_trial_service_runs_the_designs_that_decide_while_pending(
    tmp_path: Path, design: str
) -> None:
    from earlyphase.conduct import TrialService, open_store

    assert design not in NOT_IN_TRIAL_SERVICE
    svc = TrialService(open_store(f"sqlite:///{tmp_path / 't.db'}"))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    spec: dict[str, Any] = {"tite-crm": {"skeleton": [0.05, 0.15], "target": 0.25, "window": 28}}
    spec = spec.get(design, {"target": 0.25, "window": 28} if design == "tite-boin" else {})
    trial = svc.create_trial(admin, "T", design, spec, [1.0, 2.0])
    assert trial.design_name == design


def test_the_trial_service_runs_an_interval_design(tmp_path: Path) -> None:
    from earlyphase.conduct import TrialService, open_store

    svc = TrialService(open_store(f"sqlite:///{tmp_path / 't.db'}"))
    svc.bootstrap_admin("admin", "Ada Admin", "admin-pass-1")
    admin = svc.authenticate("admin", "admin-pass-1")
    trial = svc.create_trial(admin, "K", "keyboard", {"target": 0.3}, [1.0, 2.0, 3.0])
    assert trial.cohort_size == 3
    assert trial.design_spec["n_doses"] == 3 and trial.design_spec["margin"] == 0.05
