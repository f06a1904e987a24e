"""Behaviours composed onto designs, checked against closed forms and equivalent designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta as beta_dist
from scipy.stats import binom

from earlyphase.designs import BOIN, CRM, DoseLevels, ThreePlusThree


def test_single_dose_expansion_closed_form() -> None:
    """One dose, 3+3 then 6 more patients, safety rule Pr(p > 0.3 | all at the dose) > 0.9
    under Beta(1, 1), checked after each cohort of 3. Hand enumeration with binomial sums."""
    p = 0.2
    design = ThreePlusThree(1).with_expansion(6, tox_limit=0.3, cutoff=0.9)
    oc = design.operating_characteristics([p])

    def unsafe(n: int, y: int) -> bool:
        return bool(beta_dist.sf(0.3, 1 + y, 1 + n - y) > 0.9)

    # escalation: clear with 0/3 (n=3) or 1/3 then 0/3 (n=6, y=1)
    starts = [(3, 0, binom.pmf(0, 3, p)), (6, 1, binom.pmf(1, 3, p) * binom.pmf(0, 3, p))]
    sel = 0.0
    mean_n = 0.0
    # escalation failures: 1/3 then >= 1/3 (n = 6), or >= 2/3 (n = 3)
    mean_n += 3 * binom.sf(1, 3, p) + 6 * binom.pmf(1, 3, p) * binom.sf(0, 3, p)
    for n0, y0, w0 in starts:
        for a in range(4):  # first expansion cohort
            w1 = w0 * binom.pmf(a, 3, p)
            if unsafe(n0 + 3, y0 + a):
                mean_n += w1 * (n0 + 3)
                continue
            for b in range(4):  # second expansion cohort
                w2 = w1 * binom.pmf(b, 3, p)
                mean_n += w2 * (n0 + 6)
                if not unsafe(n0 + 6, y0 + a + b):
                    sel += w2
    assert oc.selection[0] == pytest.approx(sel, rel=1e-12)
    assert oc.mean_total_n == pytest.approx(mean_n, rel=1e-12)


def test_expansion_decisions_replay_the_history() -> None:
    d = ThreePlusThree(3, doses=DoseLevels([0.5, 1, 2], "x 10^6 cells/kg")).with_expansion(6)
    assert d.decide("1NNN 2NNN 3NNN").reason == "expand at the selected dose"
    assert d.decide("1NNN 2NNN 3NNN 3NNN").dose == 3
    done = d.decide("1NNN 2NNN 3NNN 3NNN 3NNN")
    assert done.stop and done.selected == 3 and done.reason == "stop: expansion complete"
    with pytest.raises(ValueError, match=r"^history:"):
        d.decide({"n": [3, 3, 3], "y": [0, 0, 0]})
    toxic = ThreePlusThree(1).with_expansion(6, tox_limit=0.2, cutoff=0.8).decide("1NNN 1TTN")
    assert toxic.stop and toxic.selected is None


def test_dont_skip_doses_equals_crm_restriction() -> None:
    """Two implementations of "no skipping when escalating" give identical exact OCs."""
    skel = [0.05, 0.12, 0.25, 0.40, 0.55]
    p = [0.05, 0.10, 0.20, 0.35, 0.50]
    composed = CRM(skel, 0.25, n_patients=12, cohort_size=3, no_skipping=False, coherence=False)
    built_in = CRM(skel, 0.25, n_patients=12, cohort_size=3, no_skipping=True, coherence=False)
    a = composed.dont_skip_doses().operating_characteristics(p)
    b = built_in.operating_characteristics(p)
    np.testing.assert_allclose(a.selection, b.selection, atol=1e-14)
    np.testing.assert_allclose(a.mean_n, b.mean_n, atol=1e-12)


def test_stop_at_n_truncates() -> None:
    design = ThreePlusThree(5).stop_at_n(9)
    oc = design.operating_characteristics([0.05, 0.1, 0.2, 0.3, 0.5])
    assert max(oc.n_distribution) == 9
    dec = design.decide("1NNN 2NNN 3NNN")
    assert dec.stop and dec.selected == 3 and dec.reason == "stop: maximum sample size reached"


def test_stop_when_n_at_dose() -> None:
    design = BOIN(0.3, 5, n_cohorts=10).stop_when_n_at_dose(6)
    dec = design.decide("1NNN 2NTN 2NTN")  # 2/6 at dose 2: stay, and dose 2 has 6 already
    assert dec.stop and dec.selected == 2
    assert not BOIN(0.3, 5, n_cohorts=10).decide("1NNN 2NTN 2NTN").stop


def test_stop_when_too_toxic() -> None:
    design = BOIN(0.3, 5, n_cohorts=10).stop_when_too_toxic(0.3, confidence=0.8)
    # Pr(p > 0.3 | 2/3, Beta(1, 1)) = 1 - pbeta(0.3, 3, 2) = 1 - (4 0.3^3 - 3 0.3^4) = 0.9163
    # exactly (R: pbeta(0.3, 3, 2, lower.tail = FALSE) = 0.9163); after 1/3 it is
    # 1 - pbeta(0.3, 2, 3) = 0.6517.
    dec = design.decide("1NTT")
    assert dec.stop and dec.selected is None
    assert not design.decide("1NTN").stop
    # the rule fires exactly when the posterior probability exceeds the confidence: confidences
    # either side of 0.9163 after 2/3, and of 0.6517 after 1/3
    boin = BOIN(0.3, 5, n_cohorts=10)
    assert boin.stop_when_too_toxic(0.3, confidence=0.9162).decide("1NTT").stop
    assert not boin.stop_when_too_toxic(0.3, confidence=0.9164).decide("1NTT").stop
    assert boin.stop_when_too_toxic(0.3, confidence=0.6516).decide("1NTN").stop
    assert not boin.stop_when_too_toxic(0.3, confidence=0.6518).decide("1NTN").stop


def test_behaviours_stack_and_describe() -> None:
    d = BOIN(0.3, 5, n_cohorts=10).dont_skip_doses().stop_when_n_at_dose(9).with_expansion(6)
    assert "no dose skipping" in d.describe() and "expand with 6" in d.describe()
    with pytest.raises(ValueError, match=r"^n:"):
        BOIN(0.3, 5).stop_at_n(0)
    with pytest.raises(ValueError, match=r"^dose:"):
        BOIN(0.3, 5).stop_when_n_at_dose(6, dose="highest")


def test_stacked_behaviours_oc_consistency() -> None:
    """Consistency check, not validation: simulated selection probabilities of a stacked design
    (including 'no dose') sum to 1."""
    d = BOIN(0.3, 5, n_cohorts=10).dont_skip_doses().stop_when_n_at_dose(9).with_expansion(6)
    oc = d.operating_characteristics(
        [0.05, 0.15, 0.30, 0.45, 0.60], method="simulate", n_sims=2000, seed=1
    )
    assert oc.selection.sum() == pytest.approx(1.0)


def test_dose_paths_probabilities() -> None:
    paths = ThreePlusThree(3).dose_paths(2, truth=[0.1, 0.2, 0.3])
    first = paths[paths.cohort == 1]
    assert first["path"].tolist() == ["1NNN", "1NNT", "1NTT", "1TTT"]
    # binomial(3, 0.1) at dose 1: 0.9^3, 3 0.1 0.9^2, 3 0.1^2 0.9, 0.1^3
    np.testing.assert_allclose(first["probability"], [0.729, 0.243, 0.027, 0.001], rtol=1e-12)
    # children of "1NNN" carry P(0/3 at dose 1) x binomial at dose 2
    child = paths[paths.path == "1NNN 2NNN"].iloc[0]
    assert child["probability"] == pytest.approx(0.9**3 * 0.8**3)
    stopped = paths[paths.path == "1NNN 2NTT"].iloc[0]
    assert pd.isna(stopped["next"]) and stopped["selected"] == 1
    assert stopped["probability"] == pytest.approx(0.9**3 * 3 * 0.2**2 * 0.8)


def test_dose_paths_probabilities_consistency() -> None:
    """Consistency check, not validation: path probabilities of each cohort, with the paths
    that stopped earlier, sum to 1."""
    paths = ThreePlusThree(3).dose_paths(2, truth=[0.1, 0.2, 0.3])
    first = paths[paths.cohort == 1]
    assert first["probability"].sum() == pytest.approx(1.0)
    stop1 = first[first["next"].isna()]["probability"].sum()  # >= 2/3 at dose 1: stop, no dose
    assert paths[paths.cohort == 2]["probability"].sum() + stop1 == pytest.approx(1.0)


def test_compare_designs_uses_common_random_numbers() -> None:
    from earlyphase.simulate import compare_designs

    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    boin = BOIN(0.3, 5, n_cohorts=10)
    table, ocs = compare_designs(
        {"a": boin, "b": BOIN(0.3, 5, n_cohorts=10)}, p, n_sims=3000, seed=4
    )
    assert table["same_choice_as_first"].tolist() == [1.0, 1.0]
    np.testing.assert_array_equal(ocs["a"].selection, ocs["b"].selection)
    # the same seed in operating_characteristics gives the same trials
    single = boin.operating_characteristics(p, method="simulate", n_sims=3000, seed=4)
    np.testing.assert_array_equal(single.selection, ocs["a"].selection)
    table, _ = compare_designs({"boin": boin, "3+3": ThreePlusThree(5)}, p, n_sims=2000, seed=4)
    assert 0 < table["same_choice_as_first"].iloc[1] < 1
    with pytest.raises(ValueError, match=r"^designs:"):
        compare_designs({"x": boin, "y": ThreePlusThree(3)}, p)
