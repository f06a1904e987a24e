"""BOIN12 (earlyphase.designs.boin12) against escalation 0.2.3's ``get_boin12``.

Reference: ``fixtures/escalation_boin12.json``, made by ``fixtures/r/make_boin12_fixtures.R``:
``get_boin12(num_doses = 5, phi_t = 0.35, phi_e = 0.25, u = (100, 40, 60, 0), n_star = 6,
c_t = 0.95, c_e = 0.9) %>% fit(outcomes)`` -> ``recommended_dose``, ``continue`` and
``utility`` (100 x Pr(utility > benchmark)) on 400 random and 15 hand-made outcome strings
(these reach the rarer branches: no admissible dose, dose exploration, moderate toxicity),
``select_boin12_obd(when = "always")`` on the same strings, and ``simulate_trials`` of the
design with ``stop_at_n(36)`` and ``select_boin12_obd()`` (1000 trials per scenario; the
comparison allows for both simulations' error).

Where they differ, and why the comparison leaves those cases out:

- escalation's ``get_boin12`` has no stop for an overly toxic lowest dose, which Lin et al.
  (2020) and the BOIN family have (Pr(p_T > phi_T) > c_t with n >= 3 at dose 1); histories
  where it fires here are compared with ``stop_if_lowest_toxic=False``, which reproduces
  escalation, and the rule itself is checked on its own.
- escalation's BOIN12 keeps no record of eliminated doses and its simulated selection
  probabilities differ by several points from trialdesign.org's BOIN12 software (GitHub
  report brockk/escalation #8: 49.6% vs 57.3% for dose 2 in scenario 2 below, with
  ``stop_when_n_at_dose(12)``).
  The decisions here follow escalation, the only reference at hand that can be run; that
  disagreement is not resolved by these tests. Lin et al. (2020)'s own utility values and
  benchmark (u_b = 70.5 for phi_T = 0.35, phi_E = 0.25 with utilities 100/40/60/0) are
  checked by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from earlyphase.designs.boin12 import BOIN12, parse_outcomes
from earlyphase.designs.conformance import check_design

REF = json.loads((Path(__file__).parent / "fixtures" / "escalation_boin12.json").read_text())
S = REF["settings"]


def _design(**kwargs: Any) -> BOIN12:
    return BOIN12(
        S["num_doses"],
        S["phi_t"],
        S["phi_e"],
        utility=S["u"],
        n_star=S["n_star"],
        c_t=S["c_t"],
        c_e=S["c_e"],
        **kwargs,
    )


def test_keeps_the_design_contract() -> None:
    truth = ([0.1, 0.3, 0.5, 0.55, 0.6], [0.05, 0.1, 0.2, 0.35, 0.5])
    # four cohorts: the exact computation is refused for the default twelve (tested below)
    check_design(_design(n_cohorts=4), truth, n_cohorts=1, n_sims=60)


def test_benchmark_and_boundaries_by_hand() -> None:
    # Lin et al. (2020): u_bar = 100 phi_E (1 - phi_T) + u2 (1 - phi_T)(1 - phi_E)
    # + u3 phi_T phi_E + u4 phi_T (1 - phi_E) = 16.25 + 19.5 + 5.25 + 0 = 41, u_b = 41 + 59/2
    b = _design()
    assert b.benchmark == pytest.approx(70.5)
    # BOIN boundaries for phi_T = 0.35 (R BOIN 2.7.2 get.boundary(0.35, ...)$lambda_e, _d)
    assert round(b.lambda_e, 6) == 0.276334
    assert round(b.lambda_d, 6) == 0.418908


def test_decisions_match_escalation() -> None:
    plain = _design(stop_if_lowest_toxic=False)
    guarded = _design()
    mismatches = []
    for h in REF["histories"]:
        want = h["next_dose"] if h["continue"] else None
        got = plain.decide(h["outcomes"])
        if got.dose != want:
            mismatches.append((h["outcomes"], want, got.dose))
        # the default design differs only where dose 1 is too toxic
        g = guarded.decide(h["outcomes"])
        if g.dose != got.dose:
            assert g.reason == "stop: lowest dose too toxic", h["outcomes"]
    assert mismatches == []


def test_desirability_matches_escalation_utility() -> None:
    b = _design()
    for h in REF["histories"]:
        counts, _ = parse_outcomes(h["outcomes"], S["num_doses"])
        assert 100 * b.desirability(counts) == pytest.approx(h["utility"], abs=1e-9)


def test_obd_selection_matches_select_boin12_obd() -> None:
    b = _design()
    for h in REF["histories"]:
        counts, _ = parse_outcomes(h["outcomes"], S["num_doses"])
        sel = b.select_obd(counts)
        assert (None if sel is None else sel + 1) == h["obd"], h["outcomes"]


@pytest.mark.parametrize("ref", REF["oc"], ids=["scenario1", "scenario2"])
def test_simulated_oc_agree_with_escalation(ref: dict[str, Any]) -> None:
    b = _design(stop_if_lowest_toxic=False)
    n_sims = 2000
    oc = b.operating_characteristics(
        (ref["true_prob_eff"], ref["true_prob_tox"]), n_sims=n_sims, seed=11
    )
    theirs = ref["prob_recommend"]
    want = np.array([*(theirs[str(d)] for d in range(1, 6)), theirs["NoDose"]])
    # both are simulations: the difference has variance p(1-p)(1/2000 + 1/1000)
    se = np.sqrt(np.maximum(want * (1 - want), 1e-4) * (1 / n_sims + 1 / ref["num_sims"]))
    assert np.all(np.abs(oc.selection - want) < 4.5 * se), (oc.selection, want)
    assert oc.mean_n == pytest.approx(ref["n_at_dose"], abs=1.2)
    assert oc.mean_total_n == pytest.approx(ref["num_patients"], abs=0.5)


def test_lowest_dose_safety_stop() -> None:
    b = _design()
    d = b.decide("1TTT")
    assert d.stop and d.selected is None and d.reason == "stop: lowest dose too toxic"
    assert not _design(stop_if_lowest_toxic=False).decide("1TTT").stop


def test_stops_at_the_maximum_sample_size_with_the_obd() -> None:
    b = _design(n_cohorts=3)
    d = b.decide("1NEN 2EEN 3EBT")
    assert d.stop and d.reason == "stop: maximum sample size reached"
    assert d.selected is not None and 1 <= d.selected <= 3
    e = _design(n_earlystop=6).decide("1NNN 2EEE 2EEE")
    assert e.stop and e.selected == 2


def test_tables_and_description() -> None:
    b = _design()
    table = b.decision_table()
    assert len(table) == 20  # the multisets of N/E/T/B in a cohort of 3
    assert set(table["action"]) <= {"escalate", "stay", "de-escalate", "stop"}
    proto = b.protocol_table()
    assert proto["n"].tolist() == list(range(3, 37, 3))
    assert proto.loc[0, "deescalate_if_tox_ge"] == 2  # 2/3 >= lambda_d = 0.419
    assert b.utility_table()["utility"].tolist() == [100, 40, 60, 0, 70.5]
    assert "BOIN12" in b.describe() and "OBD" in b.describe()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tox_target": 1.5}, "tox_target:"),
        ({"eff_lower": 0}, "eff_lower:"),
        ({"utility": (100, 40, 60)}, "utility:"),
        ({"utility": (90, 40, 60, 0)}, "utility:"),
        ({"utility": (100, 140, 60, 0)}, "utility:"),
        ({"n_star": 0}, "n_star:"),
        ({"c_e": 1}, "c_e:"),
        ({"start_dose": 6}, "start_dose:"),
    ],
)
def test_settings_are_checked(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"n_doses": 5, "tox_target": 0.35, "eff_lower": 0.25, **kwargs}
    with pytest.raises(ValueError, match=f"^{message}"):
        BOIN12(**args)


def test_bad_histories_and_truths_are_refused() -> None:
    b = _design()
    with pytest.raises(ValueError, match=r"^history:"):
        b.decide("1NXN")
    with pytest.raises(ValueError, match=r"^history:"):
        b.decide("7NNN")
    with pytest.raises(ValueError, match=r"^true_tox:"):
        b.operating_characteristics(([0.1] * 5, [0.1] * 4))
    with pytest.raises(ValueError, match=r"^method:"):
        b.operating_characteristics(([0.1] * 5, [0.1] * 5), method="exact")


EXACT = json.loads(
    (Path(__file__).parent / "fixtures" / "escalation_boin12_exact.json").read_text(
        encoding="utf-8"
    )
)


@pytest.mark.parametrize("ref", EXACT["scenarios"], ids=["scenario1", "scenario2"])
def test_exact_oc_match_escalation_calculate_probabilities(ref: dict[str, Any]) -> None:
    """Every dose path of a 3-dose, 3-cohort BOIN12 trial weighed by R escalation's
    calculate_probabilities (tests/fixtures/escalation_boin12_exact.json)."""
    s = EXACT["settings"]
    b = BOIN12(
        s["num_doses"], s["phi_t"], s["phi_e"], utility=s["u"], n_star=s["n_star"],
        c_t=s["c_t"], c_e=s["c_e"], cohort_size=s["cohort_size"], n_cohorts=s["n_cohorts"],
        stop_if_lowest_toxic=False,
    )  # fmt: skip
    oc = b.operating_characteristics((ref["true_prob_eff"], ref["true_prob_tox"]), method="exact")
    theirs = ref["prob_recommend"]
    want = [*(theirs[str(d)] for d in range(1, 4)), theirs["NoDose"]]
    np.testing.assert_allclose(oc.selection, want, atol=1e-12)
    n = ref["num_patients"]
    np.testing.assert_allclose(oc.mean_n, np.array(ref["prob_administer"]) * n, atol=1e-9)
    assert oc.mean_total_dlt == pytest.approx(ref["num_tox"], abs=1e-12)
    assert float(oc.extra["mean_eff"].sum()) == pytest.approx(ref["num_eff"], abs=1e-12)
    assert oc.method == "exact" and oc.mc_se is None
    assert sum(oc.n_distribution.values()) == pytest.approx(1.0, abs=1e-12)


def test_exact_oc_agree_with_the_simulation_and_refuse_a_large_trial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A consistency check of the exact computation against the simulation (5 cohorts of 3 on
    5 doses, 40,000 trials, within 4.5 Monte Carlo standard errors), and of the merge of
    states on (patients, toxicities, responses): the rule reads nothing else."""
    truth = ([0.1, 0.3, 0.5, 0.55, 0.6], [0.05, 0.1, 0.2, 0.35, 0.5])
    b = _design(n_cohorts=5, stop_if_lowest_toxic=False)
    exact = b.operating_characteristics(truth, method="exact")
    sim = b.operating_characteristics(truth, n_sims=40_000, seed=3)
    se = np.sqrt(np.maximum(exact.selection * (1 - exact.selection), 1e-4) / 40_000)
    assert np.all(np.abs(sim.selection - exact.selection) < 4.5 * se)
    np.testing.assert_allclose(sim.mean_n, exact.mean_n, atol=0.05)
    # the merge: with the paper's utilities the rule reads each dose's patients, toxicities
    # and responses only, so rewriting how many had both changes no decision or selection
    from earlyphase.designs.boin12 import _canonical

    rng = np.random.default_rng(5)
    for _ in range(3000):
        rows = rng.integers(0, 4, size=(5, 4)).tolist()
        flat = [v for r in rows for v in r]
        for j in range(5):
            _canonical(flat, j)
        merged = [flat[4 * j : 4 * j + 4] for j in range(5)]
        assert [sum(r) for r in merged] == [sum(r) for r in rows]
        cur = int(rng.integers(0, 5))
        assert b._decide_rows(merged, cur) == b._decide_rows(rows, cur), rows
    from earlyphase.designs import boin12

    monkeypatch.setattr(boin12, "EXACT_MAX_STATES", 100)  # the refusal, without the wait
    with pytest.raises(ValueError, match="method: the exact computation would follow more"):
        _design(n_cohorts=12).operating_characteristics(truth, method="exact")
