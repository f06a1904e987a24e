"""beta_hpd and BetaPosterior against R (optimize, binom::binom.bayes, qbeta, pbeta) and closed
forms."""

from __future__ import annotations

import pytest
from scipy.stats import beta as beta_dist

from earlyphase.stats import BetaPosterior, beta_hpd
from helpers import agrees, all_agree

# HPD of Beta(1 + x, 1 + n - x): R 4.2.2, optimize() over the lower limit of the length of
# intervals with 95% mass (qbeta), cross-checked by equal-density root finding. R binom 1.1-1.1
# binom.bayes(x, n, type = "highest", prior.shape1 = 1, prior.shape2 = 1) agrees to ~1e-8 (its
# optimizer is coarser: 0.006301508 at 1/10, where the equal-density solution is 0.0063015088).
UNIFORM_PRIOR_HPD = [
    (0, 10, (0, 0.2384042)),
    (1, 10, (0.006301509, 0.3675132)),
    (5, 10, (0.233793598, 0.7662064)),
    (7, 10, (0.412047442, 0.9066277)),
    (10, 10, (0.761595810, 1)),
    (3, 15, (0.057002299, 0.4314843)),
    (12, 16, (0.520294904, 0.9104824)),
    (15, 20, (0.544275972, 0.8988036)),
    (8, 25, (0.164619310, 0.5087863)),
]
# Equal-tailed interval of the same posteriors: R qbeta(c(0.025, 0.975), 1 + x, 1 + n - x).
UNIFORM_PRIOR_EQUAL_TAILED = [
    (0, 10, (0.002298972, 0.2849142)),
    (1, 10, (0.022831198, 0.4127799)),
    (7, 10, (0.390257440, 0.8907366)),
    (10, 10, (0.715085847, 0.9977010)),
    (8, 25, (0.172144138, 0.5178964)),
]
# HPD under the Jeffreys prior Beta(0.5 + x, 0.5 + n - x), as above; R binom 1.1-1.1
# binom.bayes(x, n, type = "highest") (default prior 0.5, 0.5) gives the same digits.
# (x, n, (lower, significant digits printed), (upper, digits))
JEFFREYS_PRIOR_HPD = [
    (1, 10, (0.0003603, 4), (0.330803, 6)),
    (3, 15, (0.0431306, 6), (0.4151086, 7)),
    (7, 10, (0.4205484, 7), (0.9254558, 7)),
    (12, 16, (0.5311433, 7), (0.9239657, 7)),
    (15, 20, (0.5534553, 7), (0.9100745, 7)),
    (8, 25, (0.1563812, 7), (0.5047349, 7)),
]


@pytest.mark.parametrize("x, n, want", UNIFORM_PRIOR_HPD)
def test_hpd_uniform_prior(x: int, n: int, want: tuple[float, float]) -> None:
    assert all_agree(BetaPosterior.from_data(x, n).hpd(), want)
    assert all_agree(beta_hpd(1 + x, 1 + n - x), want)


@pytest.mark.parametrize("x, n, want", UNIFORM_PRIOR_EQUAL_TAILED)
def test_equal_tailed(x: int, n: int, want: tuple[float, float]) -> None:
    assert all_agree(BetaPosterior.from_data(x, n).equal_tailed(), want)


@pytest.mark.parametrize("x, n, lower, upper", JEFFREYS_PRIOR_HPD)
def test_hpd_jeffreys_prior(
    x: int, n: int, lower: tuple[float, int], upper: tuple[float, int]
) -> None:
    lo, hi = BetaPosterior.from_data(x, n, prior=(0.5, 0.5)).hpd()
    assert agrees(lo, *lower)
    assert agrees(hi, *upper)


def test_hpd_other_levels_and_shapes() -> None:
    # R 4.2.2: optimize() over the lower limit of intervals with mass `level` (tol 1e-12),
    # printed with 10 decimals; optimize() only locates a minimum to about 1e-9, so the
    # comparison is at R's default 7 printed digits, and the defining equations are checked.
    cases = [
        ((6, 3, 0.95), (0.3790220708, 0.9350371178)),
        ((6, 3, 0.90), (0.4323365265, 0.9122196715)),
        ((3, 6, 0.95), (0.0649628814, 0.6209779284)),
        ((2.5, 40, 0.95), (0.0039734539, 0.1286715361)),
    ]
    for (a, b, level), want in cases:
        lo, hi = beta_hpd(a, b, level)
        assert all_agree((lo, hi), want, 7)
        assert beta_dist.cdf(hi, a, b) - beta_dist.cdf(lo, a, b) == pytest.approx(level, abs=1e-12)
        assert beta_dist.pdf(lo, a, b) == pytest.approx(beta_dist.pdf(hi, a, b), rel=1e-9)


def test_boundary_rule_closed_form() -> None:
    # a <= 1 < b: HPD = [0, qbeta(level)]; for Beta(1, 11), 1 - 0.05^(1/11) = 0.2384042 (the 0/10
    # row of UNIFORM_PRIOR_HPD).
    lo, hi = beta_hpd(1, 11)
    assert lo == 0.0
    assert hi == pytest.approx(1 - 0.05 ** (1 / 11), rel=1e-13)
    lo, hi = beta_hpd(11, 1)
    assert hi == 1.0 and lo == pytest.approx(0.05 ** (1 / 11), rel=1e-13)
    lo, hi = beta_hpd(0.5, 3)
    assert lo == 0.0 and hi == pytest.approx(beta_dist.ppf(0.95, 0.5, 3), rel=1e-13)


def test_uniform_is_central() -> None:
    assert beta_hpd(1, 1, 0.9) == pytest.approx((0.05, 0.95))


def test_u_shaped_region_has_equal_density_and_mass() -> None:
    post = BetaPosterior(0.5, 0.5)
    (a0, a1), (b0, b1) = post.hpd_region(0.95)
    assert a0 == 0.0 and b1 == 1.0
    mass = beta_dist.cdf(a1, 0.5, 0.5) + beta_dist.sf(b0, 0.5, 0.5)
    assert mass == pytest.approx(0.95, abs=1e-10)
    assert beta_dist.pdf(a1, 0.5, 0.5) == pytest.approx(beta_dist.pdf(b0, 0.5, 0.5), rel=1e-8)
    # symmetric case worked by hand: arcsine law, F(p) = 2/pi asin(sqrt(p)); the two pieces
    # hold 0.475 each, so a1 = sin(0.475 pi / 2)^2.
    import math

    assert a1 == pytest.approx(math.sin(0.475 * math.pi / 2) ** 2, rel=1e-9)
    # the single shortest interval sits at the heavier end
    lo, hi = beta_hpd(0.3, 0.6)
    assert lo == 0.0 and hi == pytest.approx(beta_dist.ppf(0.95, 0.3, 0.6))
    region = BetaPosterior(0.3, 0.6).hpd_region()
    assert len(region) == 2


def test_posterior_summaries() -> None:
    # R: pbeta(0.245, 6, 3, lower.tail = FALSE) = 0.9962151595; qbeta(0.5, 6, 3) = 0.6794810327
    post = BetaPosterior.from_data(5, 7)
    assert (post.a, post.b) == (6.0, 3.0)
    assert all_agree([post.prob_greater(0.245)], [0.9962151595], 10)
    assert all_agree([post.median], [0.6794810327], 10)
    assert post.mean == pytest.approx(6 / 9)
    assert post.mode == pytest.approx(5 / 7)
    assert post.prob_less(0.245) == pytest.approx(1 - 0.9962151595, abs=1e-10)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: beta_hpd(0, 2), "a"),
        (lambda: beta_hpd(2, -1), "b"),
        (lambda: beta_hpd(2, 2, 1.5), "level"),
        (lambda: BetaPosterior.from_data(8, 7), "x"),
        (lambda: BetaPosterior.from_data(1, 7, prior=(0, 1)), r"prior\[0\]"),
        (lambda: BetaPosterior(1, 1).prob_greater(2), "p0"),
    ],
)
def test_bad_input(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=rf"^{field}"):
        call()
