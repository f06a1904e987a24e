"""wilcoxon_signed_rank, paired_t and fisher_exact against R (wilcox.test, t.test, fisher.test)."""

from __future__ import annotations

import math

import pytest

from earlyphase.stats import fisher_exact, paired_t, wilcoxon_signed_rank
from helpers import agrees, assert_agree

# Hollander & Wolfe (1973) depression scores, the example in R's ?wilcox.test; R 4.2.2:
# wilcox.test(x, y, paired = TRUE, alternative = "greater") and t.test(x, y, paired = TRUE)
X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
# ECOG-like ordinal scores with zero differences and ties (made up for these tests)
PRE = [3, 2, 3, 4, 2, 3, 1, 2]
POST = [2, 2, 1, 3, 1, 3, 1, 1]


def test_wilcoxon_documentation_example() -> None:
    r = wilcoxon_signed_rank(X, Y, alternative="greater")
    assert r.statistic == 40 and agrees(r.p_value, 0.01953125) and r.method == "exact"
    r = wilcoxon_signed_rank(X, Y)
    assert r.statistic == 40 and agrees(r.p_value, 0.0390625)


def test_wilcoxon_zeros_and_ties_follow_r_not_scipy() -> None:
    # R 4.2.2: wilcox.test(PRE, POST, paired = TRUE) gives V = 15, p = 0.04771488 (normal,
    # continuity-corrected); with correct = FALSE, p = 0.03389485.
    # scipy's default gives 0.0625 (exact on the non-zero differences).
    r = wilcoxon_signed_rank(PRE, POST)
    assert r.statistic == 15 and agrees(r.p_value, 0.04771488) and r.method == "normal"
    assert (r.n, r.n_zero, r.ties) == (5, 3, True)
    assert agrees(wilcoxon_signed_rank(PRE, POST, correct=False).p_value, 0.03389485)
    # asking for the exact test with ties falls back to the normal approximation, as in R
    assert wilcoxon_signed_rank(PRE, POST, exact=True).method == "normal"


def test_paired_t_documentation_example() -> None:
    r = paired_t(X, Y)
    assert agrees(r.statistic, 3.035375416, 10) and r.df == 8
    assert agrees(r.p_value, 0.01617662743, 10)
    assert agrees(r.mean_difference, 0.4318888889, 10)
    assert_agree([r.lower, r.upper], [0.1037787123, 0.7599990655], 10)


def test_paired_against_r_fixture(r_reference: dict) -> None:
    for case in r_reference["paired"]:
        alt = case["alternative"].replace(".", "-")
        w = wilcoxon_signed_rank(case["x"], case["y"], correct=case["correct"], alternative=alt)
        what = f"{alt} correct={case['correct']}"
        assert agrees(w.statistic, case["V"][0], 12), what
        assert agrees(w.p_value, case["p"][0], 12), what
        t = paired_t(case["x"], case["y"], alternative=alt)
        assert agrees(t.statistic, case["t"][0], 12)
        assert t.df == case["t_df"][0]
        assert agrees(t.p_value, case["t_p"][0], 12)
        assert_agree([t.lower, t.upper], case["t_ci"], 12, what)


def test_fisher_conditional_mle() -> None:
    # R 4.2.2: fisher.test(matrix(c(7, 3, 2, 8), 2)); scipy gives the sample OR 9.33
    r = fisher_exact([[7, 2], [3, 8]])
    assert agrees(r.p_value, 0.06977851869, 10)
    assert agrees(r.odds_ratio, 8.153062604, 10)
    assert_agree([r.lower, r.upper], [0.8821174893, 127.0558418], 10)
    # with a tight tolerance the exact conditional MLE (R's uniroot stops near 1e-4)
    exact = fisher_exact([[7, 2], [3, 8]], tol=1e-13)
    assert exact.odds_ratio == pytest.approx(8.153835414504, rel=1e-10)


def test_fisher_against_r_fixture(r_reference: dict) -> None:
    """Two-sided and one-sided, zero cells (estimate 0 or Inf), R 4.2.2."""
    for case in r_reference["fisher"]:
        a, c, b, d = (int(v) for v in case["table"])  # R fills matrix(c(a, c, b, d), 2) by column
        alt = case["alternative"].replace(".", "-")
        r = fisher_exact([[a, b], [c, d]], alternative=alt)
        what = f"{case['table']} {alt}"
        assert agrees(r.p_value, case["p"][0], 10), what
        assert agrees(r.odds_ratio, case["or"][0], 10), what
        assert_agree([r.lower, r.upper], case["ci"], 10, what)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: wilcoxon_signed_rank([1, 2], [1, 2]), "x"),
        (lambda: wilcoxon_signed_rank([1, 2], [1, 2, 3]), "x, y"),
        (lambda: wilcoxon_signed_rank([1, 2], alternative="bigger"), "alternative"),
        (lambda: paired_t([1], [2]), "x"),
        (lambda: paired_t([1, 2], [1, math.nan]), "y"),
        (lambda: fisher_exact([[1, 2, 3], [1, 2, 3]]), "table"),
        (lambda: fisher_exact([[1, -2], [3, 4]]), "table"),
        (lambda: fisher_exact([[1, 2], [3, 4]], level=0), "level"),
    ],
)
def test_bad_input(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=rf"^{field}:"):
        call()
