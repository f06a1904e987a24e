"""Paired (pre/post) comparisons with R semantics: Wilcoxon signed-rank and paired t.

R and SciPy differ by default on small data with zeros and ties: R reports V = W+ (SciPy the
smaller of W+ and W-), drops zero differences, and with ties or zeros uses the normal
approximation with continuity correction, where SciPy may use the exact distribution. These
functions follow R.

References
----------
Wilcoxon F (1945). Individual comparisons by ranking methods. Biometrics Bull 1:80-83.
Hollander M, Wolfe DA (1999). Nonparametric Statistical Methods, 2nd ed., section 3.1
    (exact null distribution, tie-corrected normal approximation).
R Core Team. ``wilcox.test`` and ``t.test`` in package stats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm, rankdata
from scipy.stats import t as t_dist

from earlyphase.stats.checks import (
    Alternative,
    FloatArray,
    as_float_vector,
    check_alternative,
    check_level,
    check_same_length,
)


def _differences(x: ArrayLike, y: ArrayLike | None, mu: float) -> FloatArray:
    xv = as_float_vector(x, "x")
    if y is None:
        return xv - mu
    yv = as_float_vector(y, "y")
    check_same_length(x=xv, y=yv)
    return xv - yv - mu


@dataclass(frozen=True)
class WilcoxonResult:
    """Signed-rank test: ``statistic`` is R's V (sum of ranks of positive differences)."""

    statistic: float
    p_value: float
    method: str  # "exact" or "normal"
    n: int  # non-zero differences used
    n_zero: int
    ties: bool
    alternative: str

    def __iter__(self) -> Any:
        return iter((self.statistic, self.p_value))


@lru_cache(maxsize=64)
def _signrank_counts(n: int) -> tuple[int, ...]:
    """Number of sign assignments of ranks 1..n giving each value of V (0..n(n+1)/2)."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1, dtype=object)
    counts[0] = 1
    for r in range(1, n + 1):
        counts[r:] = counts[r:] + counts[: top + 1 - r].copy()
    return tuple(int(c) for c in counts)


def _psignrank(q: float, n: int, lower_tail: bool = True) -> float:
    """P(V <= q) (or P(V > q)) under the null, as R ``psignrank``."""
    counts = _signrank_counts(n)
    total = 1 << n
    k = math.floor(q + 1e-7)
    if lower_tail:
        if k < 0:
            return 0.0
        return min(1.0, sum(counts[: k + 1]) / total)
    if k < 0:
        return 1.0
    return min(1.0, sum(counts[k + 1 :]) / total)


def wilcoxon_signed_rank(
    x: ArrayLike,
    y: ArrayLike | None = None,
    exact: bool | None = None,
    correct: bool = True,
    alternative: Alternative | str = "two-sided",
    mu: float = 0.0,
) -> WilcoxonResult:
    """Wilcoxon signed-rank test of ``x - y`` (paired) or ``x`` (one sample) about ``mu``.

    Equal to R ``wilcox.test(x, y, paired = TRUE, exact, correct)``: zero differences are
    dropped; by default (``exact=None``) the exact null distribution is used when fewer than
    50 non-zero differences remain *and* there are no ties or zeros, otherwise the normal
    approximation with tie-corrected variance and (``correct=True``) a continuity correction
    of 1/2. Asking for ``exact=True`` with ties or zeros falls back to the normal
    approximation, as R does (R also warns).

    Examples
    --------
    >>> pre = [3, 2, 3, 4, 2, 3, 1, 2]; post = [2, 2, 1, 3, 1, 3, 1, 1]
    >>> r = wilcoxon_signed_rank(pre, post)
    >>> r.statistic, round(r.p_value, 8), r.method
    (15.0, 0.04771488, 'normal')
    """
    check_alternative(alternative)
    diff = _differences(x, y, mu)
    zero = diff == 0
    n_zero = int(zero.sum())
    d = diff[~zero]
    n = len(d)
    if n == 0:
        raise ValueError("x: all differences are zero; the signed-rank test is undefined")
    if exact is None:
        exact = n < 50
    ranks = rankdata(np.abs(d))
    statistic = float(ranks[d > 0].sum())
    ties = len(np.unique(ranks)) != n
    if exact and not ties and n_zero == 0:
        if alternative == "two-sided":
            if statistic > n * (n + 1) / 4:
                p = _psignrank(statistic - 1, n, lower_tail=False)
            else:
                p = _psignrank(statistic, n)
            p_value = min(1.0, 2 * p)
        elif alternative == "greater":
            p_value = _psignrank(statistic - 1, n, lower_tail=False)
        else:
            p_value = _psignrank(statistic, n)
        method = "exact"
    else:
        _, tie_counts = np.unique(ranks, return_counts=True)
        z = statistic - n * (n + 1) / 4
        sigma = math.sqrt(
            n * (n + 1) * (2 * n + 1) / 24 - float(np.sum(tie_counts**3 - tie_counts)) / 48
        )
        correction = 0.0
        if correct:
            if alternative == "two-sided":
                correction = math.copysign(0.5, z) if z != 0 else 0.0
            elif alternative == "greater":
                correction = 0.5
            else:
                correction = -0.5
        zz = (z - correction) / sigma
        if alternative == "two-sided":
            p_value = float(2 * min(norm.cdf(zz), norm.sf(zz)))
        elif alternative == "greater":
            p_value = float(norm.sf(zz))
        else:
            p_value = float(norm.cdf(zz))
        method = "normal"
    return WilcoxonResult(
        statistic=statistic,
        p_value=p_value,
        method=method,
        n=n,
        n_zero=n_zero,
        ties=bool(ties),
        alternative=str(alternative),
    )


@dataclass(frozen=True)
class PairedTResult:
    """Paired t-test as R ``t.test(x, y, paired = TRUE)``."""

    statistic: float
    df: int
    p_value: float
    mean_difference: float
    lower: float
    upper: float
    level: float
    alternative: str

    def __iter__(self) -> Any:
        return iter((self.statistic, self.df, self.p_value))


def paired_t(
    x: ArrayLike,
    y: ArrayLike,
    alternative: Alternative | str = "two-sided",
    level: float = 0.95,
    mu: float = 0.0,
) -> PairedTResult:
    """Paired t-test of the mean of ``x - y`` against ``mu``, with its confidence interval.

    Examples
    --------
    >>> r = paired_t([1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30],
    ...              [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29])
    >>> round(r.statistic, 6), r.df, round(r.p_value, 8)
    (3.035375, 8, 0.01617663)
    """
    check_alternative(alternative)
    level = check_level(level)
    d = _differences(x, y, 0.0)
    n = len(d)
    if n < 2:
        raise ValueError(f"x: a paired t-test needs at least 2 pairs, got {n}")
    mean = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0:
        raise ValueError("x: the differences are all equal; the t statistic is undefined")
    df = n - 1
    stat = (mean - mu) / se
    if alternative == "two-sided":
        p_value = float(2 * t_dist.sf(abs(stat), df))
        q = float(t_dist.ppf(1 - (1 - level) / 2, df))
        lower, upper = mean - q * se, mean + q * se
    elif alternative == "greater":
        p_value = float(t_dist.sf(stat, df))
        lower, upper = mean - float(t_dist.ppf(level, df)) * se, math.inf
    else:
        p_value = float(t_dist.cdf(stat, df))
        lower, upper = -math.inf, mean + float(t_dist.ppf(level, df)) * se
    return PairedTResult(
        statistic=float(stat),
        df=df,
        p_value=p_value,
        mean_difference=mean,
        lower=lower,
        upper=upper,
        level=level,
        alternative=str(alternative),
    )
