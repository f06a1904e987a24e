"""Beta posteriors for a response or survival probability: HPD and equal-tailed intervals.

The highest-posterior-density (HPD) interval of a Beta(a, b) density is found exactly, by
solving for the pair of limits with equal density and the required mass, not from samples.

References
----------
Chen M-H, Shao Q-M (1999). Monte Carlo estimation of Bayesian credible and HPD intervals.
    J Comput Graph Stat 8:69-92 (definition of the HPD interval).
Box GEP, Tiao GC (1973). Bayesian Inference in Statistical Analysis, section 2.8
    (equal-density characterisation of the HPD region of a unimodal density).
R ``binom::binom.bayes(type = "highest")`` and ``HDInterval::hdi(qbeta, ...)`` compute the
same interval numerically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize
from scipy.stats import beta as beta_dist

from earlyphase.stats.checks import (
    RTOL,
    check_count,
    check_level,
    check_positive,
    check_probability,
)


def beta_hpd(a: float, b: float, level: float = 0.95) -> tuple[float, float]:
    """Exact highest-posterior-density interval of a Beta(a, b) distribution.

    Cases
    -----
    - ``a > 1`` and ``b > 1`` (interior mode): the unique ``(l, u)`` with
      ``F(u) - F(l) = level`` and ``f(l) = f(u)``, solved by root finding on ``l``.
    - ``a <= 1 < b`` or ``a < 1 = b`` (density non-increasing, mode at 0): ``(0, F^-1(level))``.
    - ``b <= 1 < a`` or ``b < 1 = a`` (mode at 1): ``(F^-1(1 - level), 1)``.
    - ``a = b = 1`` (uniform): every interval of length ``level`` is an HPD interval; the
      central one, ``((1 - level)/2, (1 + level)/2)``, is returned.
    - ``a < 1`` and ``b < 1`` (U-shaped): the HPD *region* is two intervals
      ``[0, l] U [u, 1]`` (see :meth:`BetaPosterior.hpd_region`). As ``HDInterval::hdi`` does,
      this function returns the shortest single interval holding ``level`` of the mass,
      which is the one anchored at the end of the heavier tail.

    Examples
    --------
    >>> [round(v, 7) for v in beta_hpd(6, 3)]   # 5/7 survivors, uniform prior
    [0.3790221, 0.9350371]
    """
    a = check_positive(a, "a")
    b = check_positive(b, "b")
    level = check_level(level)
    if a > 1 and b > 1:
        return _interior_hpd(a, b, level)
    if a == 1 and b == 1:
        return (1 - level) / 2, (1 + level) / 2
    if a <= 1 and b >= 1:
        return 0.0, float(beta_dist.ppf(level, a, b))
    if b <= 1 and a >= 1:
        return float(beta_dist.ppf(1 - level, a, b)), 1.0
    # U-shaped: shortest single interval is anchored at 0 or at 1.
    left = float(beta_dist.ppf(level, a, b))
    right = float(beta_dist.ppf(1 - level, a, b))
    return (0.0, left) if left <= 1 - right else (right, 1.0)


def _interior_hpd(a: float, b: float, level: float) -> tuple[float, float]:
    def upper_for(lower: float) -> float:
        return float(beta_dist.ppf(min(1.0, float(beta_dist.cdf(lower, a, b)) + level), a, b))

    def gap(lower: float) -> float:
        upper = upper_for(lower)
        return float(beta_dist.logpdf(lower, a, b) - beta_dist.logpdf(upper, a, b))

    hi = float(beta_dist.ppf(1 - level, a, b))
    lower = float(optimize.brentq(gap, 0.0, hi, xtol=1e-15, rtol=RTOL, maxiter=500))
    return lower, upper_for(lower)


@dataclass(frozen=True)
class BetaPosterior:
    """A Beta(a, b) distribution for a probability, usually a posterior after binomial data.

    Use :meth:`from_data` to update a Beta prior with ``x`` responders out of ``n``.

    Examples
    --------
    >>> post = BetaPosterior.from_data(5, 7, prior=(1, 1))
    >>> round(post.mean, 4), round(post.prob_greater(0.245), 4)
    (0.6667, 0.9962)
    """

    a: float
    b: float

    def __post_init__(self) -> None:
        check_positive(self.a, "a")
        check_positive(self.b, "b")

    @classmethod
    def from_data(cls, x: int, n: int, prior: tuple[float, float] = (1.0, 1.0)) -> BetaPosterior:
        """Posterior Beta(a + x, b + n - x) after ``x`` successes in ``n`` trials.

        The default prior is the uniform Beta(1, 1). R ``binom::binom.bayes`` defaults to the
        Jeffreys prior Beta(0.5, 0.5): pass ``prior=(0.5, 0.5)`` to reproduce it.
        """
        n = check_count(n, "n", minimum=0)
        x = check_count(x, "x", minimum=0)
        if x > n:
            raise ValueError(f"x: number of successes ({x}) cannot exceed n ({n})")
        if len(prior) != 2:
            raise ValueError(f"prior: must be a pair (a, b), got {prior!r}")
        a0 = check_positive(prior[0], "prior[0] (a)")
        b0 = check_positive(prior[1], "prior[1] (b)")
        return cls(a0 + x, b0 + n - x)

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def median(self) -> float:
        return float(beta_dist.median(self.a, self.b))

    @property
    def mode(self) -> float | None:
        """Posterior mode, or None when the density is unbounded at both ends or uniform."""
        if self.a > 1 and self.b > 1:
            return (self.a - 1) / (self.a + self.b - 2)
        if self.a <= 1 < self.b or (self.a < 1 and self.b == 1):
            return 0.0
        if self.b <= 1 < self.a or (self.b < 1 and self.a == 1):
            return 1.0
        return None

    @property
    def sd(self) -> float:
        s = self.a + self.b
        return math.sqrt(self.a * self.b / (s * s * (s + 1)))

    def equal_tailed(self, level: float = 0.95) -> tuple[float, float]:
        """Central credible interval (``qbeta(alpha/2)``, ``qbeta(1 - alpha/2)``)."""
        level = check_level(level)
        alpha = 1 - level
        return (
            float(beta_dist.ppf(alpha / 2, self.a, self.b)),
            float(beta_dist.ppf(1 - alpha / 2, self.a, self.b)),
        )

    def hpd(self, level: float = 0.95) -> tuple[float, float]:
        """Highest-posterior-density interval; see :func:`beta_hpd` for the boundary cases."""
        return beta_hpd(self.a, self.b, level)

    def hpd_region(self, level: float = 0.95) -> list[tuple[float, float]]:
        """The HPD region as a list of intervals: two pieces when the density is U-shaped."""
        level = check_level(level)
        if not (self.a < 1 and self.b < 1):
            return [self.hpd(level)]
        a, b = self.a, self.b
        mode_low = _u_shape_minimum(a, b)

        # Density level k: region {p: f(p) >= k} = [0, l] U [u, 1] with l < mode_low < u.
        def mass_gap(log_k: float) -> float:
            lo = _density_crossing(a, b, log_k, 0.0, mode_low)
            hi = _density_crossing(a, b, log_k, mode_low, 1.0)
            return float(beta_dist.cdf(lo, a, b) + beta_dist.sf(hi, a, b)) - level

        k_min = float(beta_dist.logpdf(mode_low, a, b))
        k_hi = k_min + 1.0
        while mass_gap(k_hi) > 0:
            k_hi += 2 * (k_hi - k_min)
        log_k = float(optimize.brentq(mass_gap, k_min, k_hi, xtol=1e-14))
        return [
            (0.0, _density_crossing(a, b, log_k, 0.0, mode_low)),
            (_density_crossing(a, b, log_k, mode_low, 1.0), 1.0),
        ]

    def prob_greater(self, p0: float) -> float:
        """Posterior probability that the proportion exceeds ``p0``: ``1 - pbeta(p0, a, b)``."""
        p0 = check_probability(p0, "p0")
        return float(beta_dist.sf(p0, self.a, self.b))

    def prob_less(self, p0: float) -> float:
        """Posterior probability that the proportion is below ``p0``: ``pbeta(p0, a, b)``."""
        p0 = check_probability(p0, "p0")
        return float(beta_dist.cdf(p0, self.a, self.b))


def _u_shaped_logpdf(a: float, b: float, p: float) -> float:
    return float(beta_dist.logpdf(p, a, b))


def _u_shape_minimum(a: float, b: float) -> float:
    """Antimode of a U-shaped Beta density, (1 - a) / (2 - a - b)."""
    return (1 - a) / (2 - a - b)


def _density_crossing(a: float, b: float, log_k: float, lo: float, hi: float) -> float:
    """Point in (lo, hi) where the monotone U-shaped log density equals ``log_k``."""

    def f(p: float) -> float:
        return _u_shaped_logpdf(a, b, p) - log_k

    eps = 1e-300
    lo_e = max(lo, eps)
    hi_e = min(hi, 1 - 1e-16)
    if f(lo_e) * f(hi_e) > 0:
        return lo if abs(f(lo_e)) < abs(f(hi_e)) else hi
    return float(optimize.brentq(f, lo_e, hi_e, xtol=1e-15, rtol=RTOL, maxiter=500))
