"""Confidence intervals for a binomial proportion, with R and SAS semantics.

Each method is named as R and SAS name it; none is a silent default elsewhere in the package:
the report layer always says which method produced an interval.

References
----------
Clopper CJ, Pearson ES (1934). Biometrika 26:404-413.
Wilson EB (1927). J Am Stat Assoc 22:209-212.
Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of
    seven methods. Stat Med 17:857-872 (continuity-corrected score interval, his method 4).
Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial proportion.
    Stat Sci 16:101-133 (Jeffreys interval and its boundary modification; Agresti-Coull).
Agresti A, Coull BA (1998). Am Stat 52:119-126.
Berry G, Armitage P (1995). Mid-P confidence intervals: a brief review. The Statistician 44:417-423.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import optimize
from scipy.stats import beta as beta_dist
from scipy.stats import binom

from earlyphase.stats.checks import RTOL, check_count, check_level, z_quantile

BinomialMethod = Literal[
    "clopper-pearson",
    "wilson",
    "wilson-cc",
    "jeffreys",
    "jeffreys-binom",
    "agresti-coull",
    "wald",
    "mid-p",
]

BINOMIAL_METHODS: tuple[str, ...] = (
    "clopper-pearson",
    "wilson",
    "wilson-cc",
    "jeffreys",
    "jeffreys-binom",
    "agresti-coull",
    "wald",
    "mid-p",
)


def binomial_ci(
    x: int, n: int, method: BinomialMethod | str = "clopper-pearson", level: float = 0.95
) -> tuple[float, float]:
    """Two-sided confidence interval for a binomial proportion ``x / n``.

    Parameters
    ----------
    x, n : int
        Number of successes and number of trials, ``0 <= x <= n``, ``n >= 1``.
    method : str
        - ``"clopper-pearson"`` (default): the exact interval from Beta quantiles, as R
          ``binom.test`` and SAS PROC FREQ ``BINOMIAL(EXACT)``.
        - ``"wilson"``: score interval without continuity correction, R
          ``prop.test(x, n, correct = FALSE)``, SAS ``BINOMIAL(WILSON)``.
        - ``"wilson-cc"``: score interval with continuity correction exactly as R
          ``prop.test(x, n, correct = TRUE)``. R shrinks the correction to
          ``min(0.5, |x - n/2|)`` (its null value is p = 0.5), so at ``x = n/2`` the interval
          equals ``"wilson"``; SAS ``BINOMIAL(WILSON CORRECT)`` and Newcombe's method 4 always
          apply 0.5 and differ from R there.
        - ``"jeffreys"``: equal-tailed Beta(x + 1/2, n - x + 1/2) interval with the
          Brown-Cai-DasGupta (2001, section 4.1.2) boundary rule: the lower limit is 0 at
          ``x = 0`` and the upper 1 at ``x = n``, the other limit keeping its alpha/2 quantile,
          as SAS ``BINOMIAL(JEFFREYS)`` does; statsmodels
          ``proportion_confint(method="jeffreys")`` applies no boundary rule.
        - ``"jeffreys-binom"``: the same interval as R ``binom::binom.bayes(x, n, type =
          "central")`` (and ``binom.confint(methods = "bayes")``) gives it. It differs from
          ``"jeffreys"`` only at ``x = 0`` and ``x = n``, where R puts the whole of alpha in
          the one open tail: the upper limit at ``x = 0`` is the 1 - alpha quantile of
          Beta(1/2, n + 1/2) (0.1708 for 0/10 at 95%, against 0.2172 by ``"jeffreys"``).
        - ``"agresti-coull"``: add z^2/2 successes and failures, then Wald; truncated to [0, 1]
          as SAS does (R ``binom`` leaves it untruncated).
        - ``"wald"``: the asymptotic interval, truncated to [0, 1] (SAS). Shown only for
          completeness: it has poor coverage in small samples.
        - ``"mid-p"``: the Lancaster mid-P exact interval (SAS ``BINOMIAL(MIDP)``).
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    (lower, upper) : tuple of float

    Examples
    --------
    >>> lo, hi = binomial_ci(5, 7)   # IPS trial, day-56 survival
    >>> round(lo, 3), round(hi, 3)
    (0.29, 0.963)
    """
    n = check_count(n, "n", minimum=1)
    x = check_count(x, "x", minimum=0)
    if x > n:
        raise ValueError(f"x: number of successes ({x}) cannot exceed n ({n})")
    level = check_level(level)
    alpha = 1.0 - level
    if method not in BINOMIAL_METHODS:
        raise ValueError(
            f"method: unknown method {method!r}; choose one of {list(BINOMIAL_METHODS)}"
        )

    if method == "clopper-pearson":
        lower = 0.0 if x == 0 else float(beta_dist.ppf(alpha / 2, x, n - x + 1))
        upper = 1.0 if x == n else float(beta_dist.ppf(1 - alpha / 2, x + 1, n - x))
        return lower, upper
    if method in ("jeffreys", "jeffreys-binom"):
        # R binom moves the tail that the boundary rule closes onto the open one
        tail = alpha if method == "jeffreys-binom" and x in (0, n) else alpha / 2
        lower = 0.0 if x == 0 else float(beta_dist.ppf(tail, x + 0.5, n - x + 0.5))
        upper = 1.0 if x == n else float(beta_dist.ppf(1 - tail, x + 0.5, n - x + 0.5))
        return lower, upper
    if method == "mid-p":
        return _mid_p(x, n, alpha)

    z = z_quantile(level)
    p_hat = x / n
    if method == "wilson":
        return _score_interval(p_hat, n, z, correction=0.0)
    if method == "wilson-cc":
        correction = min(0.5, abs(x - n * 0.5))
        return _score_interval(p_hat, n, z, correction=correction)
    if method == "agresti-coull":
        n_tilde = n + z * z
        p_tilde = (x + z * z / 2) / n_tilde
        half = z * math.sqrt(p_tilde * (1 - p_tilde) / n_tilde)
        return max(0.0, p_tilde - half), min(1.0, p_tilde + half)
    # wald
    half = z * math.sqrt(p_hat * (1 - p_hat) / n)
    return max(0.0, p_hat - half), min(1.0, p_hat + half)


def _score_interval(p_hat: float, n: int, z: float, correction: float) -> tuple[float, float]:
    """Wilson score limits with a continuity ``correction`` (in counts), as R ``prop.test``."""
    z22n = z * z / (2 * n)
    p_c = p_hat + correction / n
    if p_c >= 1:
        upper = 1.0
    else:
        upper = (p_c + z22n + z * math.sqrt(p_c * (1 - p_c) / n + z22n / (2 * n))) / (1 + 2 * z22n)
    p_c = p_hat - correction / n
    if p_c <= 0:
        lower = 0.0
    else:
        lower = (p_c + z22n - z * math.sqrt(p_c * (1 - p_c) / n + z22n / (2 * n))) / (1 + 2 * z22n)
    return max(lower, 0.0), min(upper, 1.0)


def _mid_p(x: int, n: int, alpha: float) -> tuple[float, float]:
    """Mid-P limits: P(X > x) + P(X = x)/2 = alpha/2 (lower), P(X < x) + P(X = x)/2 = alpha/2."""
    eps = 1e-15

    def upper_tail(p: float) -> float:
        return float(binom.sf(x, n, p) + 0.5 * binom.pmf(x, n, p)) - alpha / 2

    def lower_tail(p: float) -> float:
        return float(binom.cdf(x - 1, n, p) + 0.5 * binom.pmf(x, n, p)) - alpha / 2

    lower = (
        0.0 if x == 0 else float(optimize.brentq(upper_tail, eps, 1 - eps, xtol=1e-15, rtol=RTOL))
    )
    upper = (
        1.0 if x == n else float(optimize.brentq(lower_tail, eps, 1 - eps, xtol=1e-15, rtol=RTOL))
    )
    return lower, upper
