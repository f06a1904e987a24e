"""BOP2 (Zhou, Lee & Yuan 2017, Stat Med 36:3302-3314).

Validation:

- ``tests/fixtures/bop2_reference.json``: an implementation of the paper's definitions in R
  (pbeta posteriors, boundaries per look, operating characteristics by convolving the counts
  between looks, the grid search of (lambda, gamma)), written independently of this package and
  run by ``tests/fixtures/r/make_bop2_fixture.R`` (R 4.2.2). The CRAN package BOP2 could not be
  obtained here, so its own output is not among the references.
- closed forms worked by hand (named in each test);
- brute-force enumeration of every outcome sequence of a small trial.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from earlyphase.designs.bop2 import BOP2, cutoff
from earlyphase.designs.conformance import check_design
from earlyphase.designs.single_arm import boundary_crossing
from helpers import assert_agree

FIXTURE = Path(__file__).parent / "fixtures" / "bop2_reference.json"
NULL_J = (0.15, 0.15, 0.15, 0.55)
ALT_J = (0.18, 0.42, 0.02, 0.38)


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    with open(FIXTURE, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="module")
def efficacy() -> BOP2:
    return BOP2(0.2, 0.4, looks=[10, 20, 30], N=40, alpha=0.1)


@pytest.fixture(scope="module")
def joint() -> BOP2:
    return BOP2(NULL_J, ALT_J, looks=[10, 20, 30], N=40, alpha=0.05)


# -- against the independent R implementation --------------------------------------------------


def test_efficacy_design_matches_r_reference(efficacy: BOP2, reference: dict[str, Any]) -> None:
    ref = reference["efficacy"]
    assert (efficacy.lam, efficacy.gamma) == pytest.approx((ref["lambda"], ref["gamma"]))
    assert efficacy.lower.tolist() == ref["lower"]
    assert_agree([efficacy.type_i_error, efficacy.power], [ref["type_i_error"], ref["power"]], 10)
    rates = [row["theta"][1] for row in ref["oc"]]
    got = efficacy.operating_characteristics(rates).table()
    for col, key in [
        ("prob_go", "go"),
        ("prob_stop_futility", "futility"),
        ("prob_stop_early", "early"),
        ("expected_n", "expected_n"),
    ]:
        assert_agree(got[col], [row[key] for row in ref["oc"]], 10, col)


def test_joint_design_matches_r_reference(joint: BOP2, reference: dict[str, Any]) -> None:
    ref = reference["joint"]
    assert (joint.lam, joint.gamma) == pytest.approx((ref["lambda"], ref["gamma"]))
    assert joint.lower.tolist() == ref["lower"]
    assert joint.upper.tolist() == ref["upper"]
    assert_agree([joint.type_i_error, joint.power], [ref["type_i_error"], ref["power"]], 10)
    got = joint.operating_characteristics([row["theta"] for row in ref["oc"]]).table()
    for col, key in [
        ("prob_go", "go"),
        ("prob_stop_futility", "futility"),
        ("prob_stop_toxicity", "toxicity"),
        ("prob_stop_early", "early"),
        ("expected_n", "expected_n"),
    ]:
        assert_agree(got[col], [row[key] for row in ref["oc"]], 10, col)


def test_boundary_table_prints_the_app_layout(joint: BOP2) -> None:
    tab = joint.boundary_table()
    assert list(tab.columns) == ["n", "cutoff", "stop_if_responses_le", "stop_if_toxicities_ge"]
    assert tab["n"].tolist() == [10, 20, 30, 40]
    assert tab["stop_if_responses_le"].tolist() == [0, 3, 7, 14]
    assert tab["stop_if_toxicities_ge"].tolist() == [7, 9, 11, 11]
    # C(n) = 1 - lambda (n/N)^gamma
    want = [1 - joint.lam * (n / 40) ** joint.gamma for n in (10, 20, 30, 40)]
    assert tab["cutoff"].tolist() == pytest.approx(want)


# -- closed forms ------------------------------------------------------------------------------


def test_single_look_uniform_prior_closed_form() -> None:
    """Worked by hand: Beta(1, 1) prior, one look at N = 10, lambda = 0.5, gamma = 1, so
    C(10) = 0.5. With integer parameters Pr(p <= 0.2 | x of 10) = P(Bin(11, 0.2) >= x + 1):
    1 - 0.8^11 = 0.914 (x = 0), 0.678 (x = 1), 0.383 (x = 2), so the trial stops if x <= 1, and
    the type I error is P(Bin(10, 0.2) >= 2) = 1 - 0.8^10 - 10 (0.2) 0.8^9 = 0.6242."""
    d = BOP2(0.2, 0.4, looks=[], N=10, prior=(1, 1), lam=0.5, gamma=1.0)
    assert cutoff(10, 10, 0.5, 1.0) == 0.5
    assert d.lower.tolist() == [1]
    for x in range(11):
        tail = sum(math.comb(11, j) * 0.2**j * 0.8 ** (11 - j) for j in range(x + 1, 12))
        assert d.decide({"responses": x, "n": 10}).estimates["prob_response_le_null"] == (
            pytest.approx(tail, abs=1e-12)
        )
    assert d.type_i_error == pytest.approx(1 - 0.8**10 - 10 * 0.2 * 0.8**9, abs=1e-12)
    p1 = 0.4
    assert d.power == pytest.approx(1 - 0.6**10 - 10 * p1 * 0.6**9, abs=1e-12)


def test_single_look_independent_endpoints_factorise() -> None:
    """Worked by hand: with one look, and response independent of toxicity in the true joint
    distribution, P(go) = P(X > a) P(Y < b) with X ~ Bin(N, p_E), Y ~ Bin(N, p_T)."""
    d = BOP2(NULL_J, ALT_J, looks=[], N=12, lam=0.7, gamma=1.0)
    pe, pt = 0.5, 0.2
    truth = (pe * pt, pe * (1 - pt), (1 - pe) * pt, (1 - pe) * (1 - pt))
    a, b = int(d.lower[0]), int(d.upper[0])

    def binom_cdf(k: int, n: int, p: float) -> float:
        return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1))

    want = (1 - binom_cdf(a, 12, pe)) * binom_cdf(b - 1, 12, pt)
    got = d.operating_characteristics(truth)["prob_go"].iloc[0]
    assert got == pytest.approx(want, abs=1e-12)


def test_dirichlet_marginal_is_beta() -> None:
    """The Dirichlet(0.15, 0.15, 0.15, 0.55) prior gives p_E ~ Beta(0.30, 0.70) and p_T ~
    Beta(0.30, 0.70) (aggregation property of the Dirichlet); posterior after 3 responses (one with
    toxicity) and 2 toxicities among 10 is Beta(3.30, 7.70) for p_E and Beta(2.30, 8.70) for
    p_T. Reference values: R ``pbeta(0.3, 3.3, 7.7)`` and ``1 - pbeta(0.3, 2.3, 8.7)``."""
    from scipy.stats import beta

    d = BOP2(NULL_J, ALT_J, looks=[10], N=20, lam=0.5, gamma=1.0)
    est = d.decide("BRRTNNNNNN").estimates
    assert (est["responses"], est["toxicities"]) == (3, 2)
    assert est["prob_response_le_null"] == pytest.approx(beta.cdf(0.3, 3.3, 7.7), abs=1e-12)
    assert est["prob_toxicity_gt_null"] == pytest.approx(beta.sf(0.3, 2.3, 8.7), abs=1e-12)


# -- independent recursions --------------------------------------------------------------------


def test_efficacy_oc_agrees_with_single_arm_boundary_crossing(efficacy: BOP2) -> None:
    """The efficacy-only rule is a lower boundary per look: the single-arm recursion
    (R clinfun::bdrycross.prob's) must give the same probabilities."""
    rates = [0.1, 0.2, 0.35, 0.5]
    ours = efficacy.operating_characteristics(rates).table()
    upper = efficacy.looks + 1
    theirs = boundary_crossing(efficacy.looks, efficacy.lower, upper, rates)
    assert ours["prob_stop_futility"].to_numpy() == pytest.approx(theirs["prob_lower"], abs=1e-13)
    assert ours["expected_n"].to_numpy() == pytest.approx(theirs["expected_n"], abs=1e-12)
    assert ours["prob_go"].to_numpy() == pytest.approx(theirs["prob_no_crossing"], abs=1e-13)


def test_joint_oc_agrees_with_brute_force_enumeration() -> None:
    """Every one of the 4^6 outcome sequences of a trial with looks at 3 and 6, run through
    ``decide``, with its multinomial probability."""
    d = BOP2(NULL_J, ALT_J, looks=[3], N=6, lam=0.8, gamma=1.0)
    theta = dict(zip("BRTN", (0.1, 0.3, 0.2, 0.4), strict=True))
    go = fut = tox = en = 0.0
    for seq in itertools.product("BRTN", repeat=6):
        prob = math.prod(theta[ch] for ch in seq)
        first = d.decide("".join(seq[:3]))
        dec = first if first.stop else d.decide("".join(seq))
        n = 3 if first.stop else 6
        en += prob * n
        if dec.crossed == "lower":
            fut += prob
        elif dec.crossed == "upper":
            tox += prob
        else:
            go += prob
    row = d.operating_characteristics((0.1, 0.3, 0.2, 0.4)).table().iloc[0]
    assert row["prob_go"] == pytest.approx(go, abs=1e-13)
    assert row["prob_stop_futility"] == pytest.approx(fut, abs=1e-13)
    assert row["prob_stop_toxicity"] == pytest.approx(tox, abs=1e-13)
    assert row["expected_n"] == pytest.approx(en, abs=1e-12)


def test_grid_search_picks_the_most_powerful_admissible_pair() -> None:
    """Every pair of a coarse grid, built with lam/gamma fixed, checked against the search."""
    lambdas, gammas = [0.3, 0.5, 0.7, 0.9], [0.0, 0.5, 1.0, 2.0]
    best = BOP2(0.3, 0.5, looks=[10, 20], N=30, alpha=0.1, lambdas=lambdas, gammas=gammas)
    admissible = []
    for lam, gam in itertools.product(lambdas, gammas):
        d = BOP2(0.3, 0.5, looks=[10, 20], N=30, alpha=0.1, lam=lam, gamma=gam)
        if d.type_i_error <= 0.1:
            admissible.append(d.power)
    assert best.type_i_error <= 0.1
    assert best.power == pytest.approx(max(admissible), abs=1e-14)


# -- the rule ----------------------------------------------------------------------------------


def test_decide_between_looks_and_at_the_end(efficacy: BOP2) -> None:
    assert efficacy.decide(None).action == "start"
    assert efficacy.decide({"responses": 0, "n": 7}).action == "continue"
    stop = efficacy.decide({"responses": 0, "n": 10})
    assert stop.stop and stop.crossed == "lower"
    assert efficacy.decide({"responses": 1, "n": 10}).action == "continue"
    assert efficacy.decide({"responses": 11, "n": 40}).crossed == "lower"
    go = efficacy.decide({"responses": 12, "n": 40})
    assert go.stop and go.crossed is None and "promising" in str(go)
    assert efficacy.decide("RNNNNNNNNN").action == "continue"
    with pytest.raises(ValueError, match=r"^n:"):
        efficacy.decide({"responses": 1, "n": 41})
    with pytest.raises(ValueError, match=r"^toxicities:"):
        efficacy.decide({"responses": 1, "toxicities": 1, "n": 10})


def test_joint_toxicity_stop(joint: BOP2) -> None:
    d = joint.decide({"responses": 5, "toxicities": 7, "n": 10})
    assert d.stop and d.crossed == "upper"
    assert joint.decide({"responses": 5, "toxicities": 6, "n": 10}).action == "continue"


def test_decision_table_agrees_with_boundaries(joint: BOP2) -> None:
    tab = joint.decision_table()
    resp = tab[(tab["endpoint"] == "response") & (tab["n"] == 20)]
    assert resp.loc[resp["action"] == "stop", "events"].max() == 3
    tox = tab[(tab["endpoint"] == "toxicity") & (tab["n"] == 20)]
    assert tox.loc[tox["action"] == "stop", "events"].min() == 9


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^null:"):
        BOP2(1.2, 0.4, looks=[10], N=20)
    with pytest.raises(ValueError, match=r"^alternative:"):
        BOP2(NULL_J, 0.4, looks=[10], N=20)
    with pytest.raises(ValueError, match=r"^looks:"):
        BOP2(0.2, 0.4, looks=[30], N=20)
    with pytest.raises(ValueError, match=r"^alpha:"):
        BOP2(0.2, 0.4, looks=[10], N=20, alpha=1e-9, lambdas=[0.5], gammas=[1.0])


@pytest.mark.parametrize(
    "make, truth",
    [
        (lambda: BOP2(0.2, 0.4, looks=[5, 10], N=15), 0.3),
        (lambda: BOP2(NULL_J, ALT_J, looks=[4], N=8), ALT_J),
    ],
    ids=["efficacy", "efficacy-toxicity"],
)
def test_contract(make: Any, truth: Any) -> None:
    design = make()
    check_design(design, truth)
    assert "BOP2" in design.describe()
    oc = design.operating_characteristics(truth)
    assert np.isclose(
        oc["prob_go"].iloc[0]
        + oc["prob_stop_futility"].iloc[0]
        + (oc["prob_stop_toxicity"].iloc[0] if design.joint else 0.0),
        1.0,
    )
