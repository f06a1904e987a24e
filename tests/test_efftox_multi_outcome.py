"""EffTox against the Thall et al. (2014) example (MD Anderson EffTox software values as quoted in
brockk/clintrials tests/test_efftox.py) and the Thall-Simon-Estey monitor against hand
enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from earlyphase.designs.efftox import THALL_2014, EffTox, parse_outcomes, solve_p
from earlyphase.designs.multi_outcome import MultiOutcomeMonitor


@pytest.fixture(scope="module")
def efftox() -> EffTox:
    return EffTox(**THALL_2014)


def test_solve_p() -> None:
    # trialr tests/testthat/test_efftox.R: efftox_solve_p(0.5, 0.65, 0.7, 0.25) = 0.977
    assert round(solve_p(0.5, 0.65, 0.7, 0.25), 3) == 0.977


def test_after_first_cohort(efftox: EffTox) -> None:
    # brockk/clintrials tests/test_efftox.py::test_thall2014_efftox, cohort 1: posterior means
    # after '1NNN' matched there to the official MD Anderson EffTox software (tolerance 0.05);
    # next dose 2
    f = efftox.fit("1NNN")
    np.testing.assert_allclose(f.prob_eff, [0.04, 0.19, 0.57, 0.78, 0.87], atol=0.02)
    np.testing.assert_allclose(f.prob_tox, [0.01, 0.01, 0.02, 0.07, 0.13], atol=0.02)
    np.testing.assert_allclose(f.utility, [-0.93, -0.62, 0.11, 0.46, 0.53], atol=0.03)
    np.testing.assert_allclose(f.prob_acc_eff, [0.01, 0.12, 0.59, 0.82, 0.89], atol=0.02)
    np.testing.assert_allclose(f.prob_acc_tox, [1.00, 0.99, 0.98, 0.93, 0.85], atol=0.02)
    assert f.recommended == 2


def test_later_steps(efftox: EffTox) -> None:
    f = efftox.fit("1NNN 2ENN")
    np.testing.assert_allclose(f.utility, [-0.91, -0.47, 0.42, 0.64, 0.64], atol=0.03)
    assert f.recommended == 3
    g = efftox.fit("1NNN 2ENN 3ETB")
    np.testing.assert_allclose(g.prob_tox, [0.02, 0.06, 0.41, 0.77, 0.87], atol=0.02)
    np.testing.assert_allclose(g.prob_acc_tox, [1.00, 0.98, 0.36, 0.08, 0.05], atol=0.02)
    assert g.recommended == 3
    # trialr vignette: '1NNE 2EEB' -> dose 3 (doses 4 and 5 not yet admissible)
    assert efftox.fit("1NNE 2EEB").recommended == 3


def test_integration_is_deterministic_and_converged(efftox: EffTox) -> None:
    a = efftox.fit("1NNN 2ENN 3ETB")
    b = efftox.fit("1NNN 2ENN 3ETB")
    np.testing.assert_array_equal(a.prob_tox, b.prob_tox)
    fine = EffTox(**{**THALL_2014, "n_points": 16384}).fit("1NNN 2ENN 3ETB")
    np.testing.assert_allclose(a.prob_tox, fine.prob_tox, atol=3e-3)
    np.testing.assert_allclose(a.prob_eff, fine.prob_eff, atol=3e-3)


def test_simulation_consistency_and_bad_input() -> None:
    """Consistency check (selection probabilities sum to 1) and input errors."""
    et = EffTox(**{**THALL_2014, "n_points": 512}, n_patients=12)
    oc = et.operating_characteristics(
        ([0.1, 0.2, 0.4, 0.6, 0.7], [0.05, 0.1, 0.15, 0.3, 0.5]), n_sims=40, seed=1
    ).table()
    assert oc["prob_selected"].sum() == pytest.approx(1.0)
    assert oc["mean_patients"].iloc[:5].sum() <= 12 + 1e-9
    with pytest.raises(ValueError, match=r"^outcomes:"):
        parse_outcomes("1NNX", 5)
    with pytest.raises(ValueError, match=r"^priors:"):
        EffTox(**{**THALL_2014, "priors": {"alpha": (0, 1)}})
    with pytest.raises(ValueError, match=r"^doses:"):
        EffTox(**{**THALL_2014, "doses": [2, 1, 3, 4, 5]})
    with pytest.raises(ValueError, match=r"^true_eff:"):
        et.operating_characteristics(([0.1], [0.1] * 5))
    with pytest.raises(ValueError, match=r"^method:"):
        et.operating_characteristics(([0.1] * 5, [0.1] * 5), method="exact")


def test_multi_outcome_boundaries_and_exact_oc() -> None:
    m = MultiOutcomeMonitor((15, 35), (10, 40), (0.6, 1.4), (0.4, 1.6), n_min=1, n_max=4)
    # brute force over all 4^4 joint outcome sequences with independent outcomes
    pe, pt = 0.3, 0.25
    probs = {
        (1, 1): pe * pt,
        (1, 0): pe * (1 - pt),
        (0, 1): (1 - pe) * pt,
        (0, 0): (1 - pe) * (1 - pt),
    }
    tox_stop = eff_stop = e_n = 0.0
    for seq in itertools.product(list(probs), repeat=4):
        w = float(np.prod([probs[s] for s in seq]))
        ce = ct = 0
        for n, (e, t) in enumerate(seq, start=1):
            ce += e
            ct += t
            d = m.decide(ce, ct, n).reason
            if d.startswith("stop: probably"):  # a boundary, not the end of the trial
                if "toxic" in d:
                    tox_stop += w
                else:
                    eff_stop += w
                e_n += n * w
                break
        else:
            e_n += 4 * w
    oc = m.operating_characteristics((pe, pt)).table().iloc[0]
    assert oc["prob_stop_toxicity"] == pytest.approx(tox_stop, abs=1e-14)
    assert oc["prob_stop_efficacy"] == pytest.approx(eff_stop, abs=1e-14)
    assert oc["expected_n"] == pytest.approx(e_n, abs=1e-12)
    with pytest.raises(ValueError, match=r"^x_eff, x_tox:"):
        m.decide(5, 0, 4)
