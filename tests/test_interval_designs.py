"""mTPI-2, Keyboard and i3+3 (earlyphase.designs.interval).

References (fixtures made by ``fixtures/r/make_interval_fixtures.R``):

- mTPI-2 against escalation 0.2.3 (``fixtures/escalation_mtpi2.json``): ``get_mtpi2`` ->
  ``fit`` -> ``recommended_dose`` / ``continue`` for every (n, y) at dose 2 (n = 1..21) and at
  dose 1, four settings; ``get_dose_paths`` (3 cohorts of 3, 4 doses) -> next dose per node,
  and ``calculate_probabilities`` -> terminal path probabilities and ``prob_recommend``.
  escalation's ``get_mtpi2`` stops at dose 1 when Pr(p > target) > 0.95 whatever n; here, as
  in the papers and BOIN, the safety rule needs n >= 3, so only cohorts of 3 are compared at
  dose 1.
- Keyboard against the CRAN source of Keyboard 0.1.3 (``fixtures/keyboard_reference.json``;
  the package is not installed, its functions were sourced): ``get.boundary.kb`` full
  boundaries for four settings (two with unequal margins, one with cohorts of 2),
  ``select.mtd.kb`` on 60 data sets, and ``get.oc.kb`` with 20000 simulated trials against the
  exact operating characteristics here (within 4.5 Monte Carlo standard errors).
  ``get.boundary.kb`` prints an elimination boundary at n = 1, 2; its trials (``get.oc.kb``)
  and this module apply elimination from n = 3 only, so those two columns are not compared.
- i3+3: no R implementation is available here; its table is checked for consistency against
  an enumeration written below from the rule text of Liu, Wang & Ji (2020, Sec. 2) and the
  Beta(1, 1) safety rule, and its trial logic through the shared machinery (exact vs
  simulated operating characteristics, the design contract).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from earlyphase.designs.conformance import check_design
from earlyphase.designs.interval import MTPI2, I3Plus3, Keyboard, interval_keys

FIXTURES = Path(__file__).parent / "fixtures"
MTPI2_R = json.loads((FIXTURES / "escalation_mtpi2.json").read_text())
KEYBOARD_R = json.loads((FIXTURES / "keyboard_reference.json").read_text())
TRUTH5 = [0.05, 0.15, 0.30, 0.45, 0.60]


@pytest.mark.parametrize("design", [MTPI2, Keyboard, I3Plus3])
def test_keeps_the_design_contract(design: Any) -> None:
    check_design(design(0.3, 5, n_cohorts=6), TRUTH5, n_cohorts=2, n_sims=100)


# --- mTPI-2 against escalation --------------------------------------------------------------
@pytest.mark.parametrize("setting", MTPI2_R["decisions"], ids=lambda s: f"target{s['target']}")
def test_mtpi2_decisions_match_escalation(setting: dict[str, Any]) -> None:
    m = MTPI2(
        setting["target"],
        5,
        epsilon1=setting["epsilon1"],
        epsilon2=setting["epsilon2"],
        n_cohorts=10,
    )
    mismatches = []
    for row in setting["rows"]:
        d = m.decide(row["outcomes"])
        want = row["next_dose"] if row["continue"] else None
        if d.dose != want:
            mismatches.append((row["outcomes"], want, d.dose))
    assert mismatches == []


def test_mtpi2_dose_paths_and_probabilities_match_escalation() -> None:
    ref = MTPI2_R["paths"]
    m = MTPI2(ref["target"], ref["num_doses"], ref["epsilon1"], ref["epsilon2"], n_cohorts=10)
    paths = m.dose_paths(3, truth=ref["true_prob_tox"])
    ours = {
        str(r["path"]): None if pd.isna(r["next"]) else int(r["next"]) for _, r in paths.iterrows()
    }
    prob = {str(r["path"]): float(r["probability"]) for _, r in paths.iterrows()}
    theirs = {node["path"]: node["next_dose"] for node in ref["nodes"]}
    assert ours == theirs
    for node in ref["nodes"]:
        if node["terminal_probability"] is not None:
            assert prob[node["path"]] == pytest.approx(node["terminal_probability"], abs=1e-12)
    # escalation's prob_recommend: the next dose after the third cohort (NoDose = stopped)
    last = paths[paths["cohort"] == 3]
    stopped = paths["next"].isna()
    rec = {"NoDose": float(paths.loc[stopped, "probability"].sum())}
    for dose in range(1, ref["num_doses"] + 1):
        rec[str(dose)] = float(last.loc[last["next"] == dose, "probability"].sum())
    for key, value in ref["prob_recommend"].items():
        assert rec[key] == pytest.approx(value, abs=1e-12), key


def test_mtpi2_paper_example_target_030() -> None:
    # Guo et al. (2017), Fig. 2 / Table: target 0.3, epsilon1 = epsilon2 = 0.05; at n = 3 the
    # decisions are E, S, D, DU; the equivalence interval is (0.25, 0.35) and the keys below
    # are 0, 0.05, 0.15 (the lowest truncated)
    m = MTPI2(0.3, 5)
    assert [m.letter(3, y) for y in range(4)] == ["E", "S", "D", "DU"]
    keys = interval_keys(0.3, 0.05, 0.05)
    assert keys[:4] == pytest.approx([0.0, 0.05, 0.15, 0.25])
    assert keys[-1] == 1.0 and keys[4] == pytest.approx(0.35)


# --- Keyboard against Keyboard 0.1.3 ---------------------------------------------------------
@pytest.mark.parametrize("ref", KEYBOARD_R["boundaries"], ids=lambda s: f"target{s['target']}")
def test_keyboard_boundaries_match_get_boundary_kb(ref: dict[str, Any]) -> None:
    kb = Keyboard(
        ref["target"],
        4,
        cohort_size=ref["cohortsize"],
        n_cohorts=ref["ncohort"],
        margin_left=ref["marginL"],
        margin_right=ref["marginR"],
    )
    ours = kb.boundaries(full=True)
    assert ours["n"].tolist() == ref["n"]
    assert ours["escalate_if_dlt_le"].tolist() == ref["escalate_if_dlt_le"]
    down = [None if v != v else v for v in ours["deescalate_if_dlt_ge"].tolist()]
    # where get.boundary.kb eliminates at n = 1, 2 it also names that count as de-escalation
    want_down = ref["deescalate_if_dlt_ge"]
    assert down[2:] == want_down[2:]
    assert all(
        a == b or (a is not None and b is not None) for a, b in zip(down, want_down, strict=True)
    )
    elim = [None if v != v else int(v) for v in ours["eliminate_if_dlt_ge"].tolist()]
    assert elim[2:] == ref["eliminate_if_dlt_ge"][2:]
    assert elim[:2] == [None, None]


def test_keyboard_select_mtd_matches_select_mtd_kb() -> None:
    kb = Keyboard(0.3, 5)
    for case in KEYBOARD_R["select_mtd"]:
        got = kb.select_mtd({"n": case["n"], "y": case["y"], "current_dose": 1})
        assert got == case["mtd"], case


def test_keyboard_exact_oc_agree_with_get_oc_kb_simulation() -> None:
    ref = KEYBOARD_R["get_oc"]
    kb = Keyboard(ref["target"], 5, cohort_size=ref["cohortsize"], n_cohorts=ref["ncohort"])
    oc = kb.operating_characteristics(ref["p_true"], method="exact")
    trials = ref["ntrial"]
    sel_r = np.array([*ref["selpercent"], ref["percentstop"]]) / 100
    se = np.sqrt(np.maximum(oc.selection * (1 - oc.selection), 1e-6) / trials)
    assert np.all(np.abs(oc.selection - sel_r) < 4.5 * se + 1e-4), (oc.selection, sel_r)
    assert oc.mean_n == pytest.approx(ref["npatients"], abs=0.1)
    assert oc.mean_dlt == pytest.approx(ref["ntox"], abs=0.05)
    assert oc.mean_total_n == pytest.approx(ref["totaln"], abs=0.02)


@pytest.mark.parametrize("target", [0.2, 0.25, 0.3, 0.33])
def test_keyboard_and_mtpi2_tables_coincide(target: float) -> None:
    # Keyboard's key strengths, compensated at the ends, are mTPI-2's unit probability masses
    # times the key width, so the two rules differ only on exact ties between the strongest
    # intervals, which they break apart (Keyboard: the highest key, get.boundary.kb;
    # escalation's mTPI-2: escalate, then stay); no such tie arises up to 30 patients here
    kb, m = Keyboard(target, 5, n_cohorts=10), MTPI2(target, 5, n_cohorts=10)
    assert kb.boundary_table(full=True).equals(m.boundary_table(full=True))


# --- i3+3 ------------------------------------------------------------------------------------
def _i3plus3_letter(n: int, y: int, target: float, eps1: float, eps2: float) -> str:
    """Consistency check: Liu, Wang & Ji (2020), Sec. 2, and the safety rule, from the text."""
    if n >= 3 and beta.sf(target, y + 1, n - y + 1) > 0.95:
        return "DU"
    low, high = target - eps1, target + eps2
    if y / n < low:
        return "E"
    if y / n <= high:
        return "S"
    return "S" if (y - 1) / n < low else "D"


@pytest.mark.parametrize(
    "target, eps1, eps2", [(0.3, 0.05, 0.05), (0.2, 0.05, 0.05), (0.25, 0.05, 0.1)]
)
def test_i3plus3_table_consistency(target: float, eps1: float, eps2: float) -> None:
    i3 = I3Plus3(target, 4, eps1=eps1, eps2=eps2, n_cohorts=10)
    for n in range(1, 31):
        for y in range(n + 1):
            assert i3.letter(n, y) == _i3plus3_letter(n, y, target, eps1, eps2), (n, y)


def test_i3plus3_differs_from_mtpi2_where_the_paper_says() -> None:
    # the case the i3+3 rule was made for: with 1 DLT in 2 patients (target 0.3) the observed
    # rate 0.5 is above the EI but one DLT fewer would be below it, so i3+3 stays, where the
    # posterior-based mTPI-2 de-escalates
    assert I3Plus3(0.3, 5).letter(2, 1) == "S"
    assert MTPI2(0.3, 5).letter(2, 1) == "D"
    grid = I3Plus3(0.3, 5, n_cohorts=4).boundary_table()
    assert grid["3"].tolist() == ["E", "S", "D", "DU", "", "", "", "", "", "", "", "", ""]


@pytest.mark.parametrize("design", [MTPI2, Keyboard, I3Plus3])
def test_exact_and_simulated_oc_agree(design: Any) -> None:
    d = design(0.3, 5, n_cohorts=8)
    exact = d.operating_characteristics(TRUTH5, method="exact")
    sim = d.operating_characteristics(TRUTH5, method="simulate", n_sims=4000, seed=3)
    se = np.sqrt(np.maximum(exact.selection * (1 - exact.selection), 1e-6) / 4000)
    assert np.all(np.abs(exact.selection - sim.selection) < 4.5 * se + 1e-3)
    assert math.isclose(exact.mean_total_n, sim.mean_total_n, abs_tol=0.3)


def test_trial_moves() -> None:
    m = MTPI2(0.3, 3, n_cohorts=10)
    assert m.decide("1NNN").dose == 2
    assert m.decide("1NNN 2TTT").action == "de-escalate"
    assert m.decide("1NNN 2TTT").reason.startswith("de-escalate: the dose")
    # dose 2 eliminated: no escalation back into it
    assert m.decide("1NNN 2TTT 1NNN").dose == 1
    assert m.decide("1TTT").stop and m.decide("1TTT").selected is None
    assert m.decide("1NNN 2NNN 3NNN").dose == 3  # the top dose: stay
    full = " ".join(["1NNN", "2NNN", "3NTN", *["3NNT"] * 7])
    d = m.decide(full)
    assert d.stop and d.selected == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target": 1.2}, "target:"),
        ({"n_doses": 0}, "n_doses:"),
        ({"cohort_size": 0}, "cohort_size:"),
        ({"n_cohorts": 1.5}, "n_cohorts:"),
        ({"epsilon1": 0.3}, "epsilon1:"),
        ({"epsilon2": 0.0}, "epsilon2:"),
        ({"cutoff_eli": 1.0}, "cutoff_eli:"),
        ({"start_dose": 9}, "start_dose:"),
    ],
)
def test_mtpi2_settings_are_checked(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"target": 0.3, "n_doses": 5, **kwargs}
    with pytest.raises(ValueError, match=f"^{message}"):
        MTPI2(**args)


def test_keyboard_and_i3plus3_settings_name_their_parameters() -> None:
    with pytest.raises(ValueError, match=r"^margin_left:"):
        Keyboard(0.3, 5, margin=0.4)
    with pytest.raises(ValueError, match=r"^eps2:"):
        I3Plus3(0.3, 5, eps2=0.8)
    with pytest.raises(ValueError, match=r"^y:"):
        I3Plus3(0.3, 5).letter(3, 4)


def test_describe_and_protocol_table() -> None:
    for d in (MTPI2(0.3, 5), Keyboard(0.3, 5), I3Plus3(0.3, 5)):
        text = d.describe()
        assert "target 0.3" in text and "isotonic" in text
        proto = d.protocol_table()
        assert proto["n"].tolist() == list(range(3, 31, 3))
        assert proto["eliminate_if_dlt_ge"].tolist()[:3] == [3, 4, 5]
