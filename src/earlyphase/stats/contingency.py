"""Fisher's exact test for a 2 x 2 table with R's conditional maximum-likelihood odds ratio.

References
----------
Fisher RA (1935). The logic of inductive inference. J R Stat Soc 98:39-82.
Agresti A (2002). Categorical Data Analysis, 2nd ed., section 3.6 (conditional ML estimate of
    the odds ratio from the noncentral hypergeometric distribution, and its exact interval).
Cornfield J (1956). A statistical problem arising from retrospective studies. Proc Third
    Berkeley Symp 4:135-148 (the exact conditional confidence interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import hypergeom

from earlyphase.stats._rootfinding import EPSILON, R_UNIROOT_TOL, r_uniroot
from earlyphase.stats.checks import Alternative, check_alternative, check_level


@dataclass(frozen=True)
class FisherResult:
    """Fisher's exact test: p-value, conditional-MLE odds ratio and its exact interval."""

    p_value: float
    odds_ratio: float
    lower: float
    upper: float
    alternative: str
    level: float

    def __iter__(self) -> Any:
        return iter((self.p_value, self.odds_ratio, self.lower, self.upper))


def _as_2x2(table: ArrayLike) -> tuple[int, int, int, int]:
    try:
        arr = np.asarray(table, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("table: must be a 2 x 2 table of counts") from None
    if arr.shape != (2, 2):
        raise ValueError(f"table: must be 2 x 2, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("table: cells must be non-negative whole numbers")
    a, b, c, d = (int(v) for v in arr.ravel())
    return a, b, c, d


def fisher_exact(
    table: ArrayLike,
    alternative: Alternative | str = "two-sided",
    level: float = 0.95,
    tol: float = R_UNIROOT_TOL,
) -> FisherResult:
    """Fisher's exact test of independence in a 2 x 2 table, as R ``fisher.test``.

    ``table = [[a, b], [c, d]]`` (rows: e.g. treatment, columns: response yes/no). The odds
    ratio is the *conditional* maximum-likelihood estimate (R), not the sample odds ratio
    ``ad/bc`` that ``scipy.stats.fisher_exact`` reports. The two-sided p-value sums the
    probabilities of all tables no more likely than the observed one (relative tolerance 1e-7).

    ``tol`` is the root-finding tolerance. Its default is R ``uniroot``'s
    (``.Machine$double.eps^0.25``), and the same Brent steps are taken, so the estimate and
    limits equal R's printed values. R's results are accurate to about four significant
    digits only (for ``[[7, 2], [3, 8]]`` R prints 8.153063 where the exact root is 8.153835);
    pass e.g. ``tol=1e-12`` for the exact conditional MLE and limits.

    Examples
    --------
    >>> r = fisher_exact([[7, 2], [3, 8]])
    >>> round(r.p_value, 8), round(r.odds_ratio, 6)
    (0.06977852, 8.153063)
    """
    a, b, c, d = _as_2x2(table)
    level = check_level(level)
    check_alternative(alternative)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol: must be a positive number, got {tol!r}")
    x = a
    m = a + c  # first column total
    n = b + d  # second column total
    k = a + b  # first row total
    lo, hi = max(0, k - n), min(k, m)
    support = np.arange(lo, hi + 1)
    logdc = hypergeom.logpmf(support, m + n, m, k)

    def dnhyper(ncp: float) -> np.ndarray[Any, np.dtype[np.float64]]:
        w = logdc + math.log(ncp) * support
        w = np.exp(w - w.max())
        return np.asarray(w / w.sum(), dtype=np.float64)

    def mnhyper(ncp: float) -> float:
        if ncp == 0:
            return float(lo)
        if math.isinf(ncp):
            return float(hi)
        return float(np.sum(support * dnhyper(ncp)))

    def pnhyper(q: int, ncp: float, upper_tail: bool = False) -> float:
        if ncp == 1:
            if upper_tail:
                return float(hypergeom.sf(x - 1, m + n, m, k))
            return float(hypergeom.cdf(x, m + n, m, k))
        if ncp == 0:
            return float(q <= lo) if upper_tail else float(q >= lo)
        if math.isinf(ncp):
            return float(q <= hi) if upper_tail else float(q >= hi)
        dens = dnhyper(ncp)
        return float(dens[support >= q].sum() if upper_tail else dens[support <= q].sum())

    if alternative == "less":
        p_value = pnhyper(x, 1.0)
    elif alternative == "greater":
        p_value = pnhyper(x, 1.0, upper_tail=True)
    else:
        dens = dnhyper(1.0)
        p_value = float(dens[dens <= dens[x - lo] * (1 + 1e-7)].sum())
    p_value = min(1.0, p_value)

    def mle() -> float:
        if x == lo:
            return 0.0
        if x == hi:
            return math.inf
        mu = mnhyper(1.0)
        if mu > x:
            return r_uniroot(lambda t: mnhyper(t) - x, 0.0, 1.0, tol=tol)
        if mu < x:
            return 1.0 / r_uniroot(lambda t: mnhyper(1.0 / t) - x, EPSILON, 1.0, tol=tol)
        return 1.0

    def ncp_upper(alpha: float) -> float:
        if x == hi:
            return math.inf
        p = pnhyper(x, 1.0)
        if p < alpha:
            return r_uniroot(lambda t: pnhyper(x, t) - alpha, 0.0, 1.0, tol=tol)
        if p > alpha:
            return 1.0 / r_uniroot(lambda t: pnhyper(x, 1.0 / t) - alpha, EPSILON, 1.0, tol=tol)
        return 1.0

    def ncp_lower(alpha: float) -> float:
        if x == lo:
            return 0.0
        p = pnhyper(x, 1.0, upper_tail=True)
        if p > alpha:
            return r_uniroot(lambda t: pnhyper(x, t, upper_tail=True) - alpha, 0.0, 1.0, tol=tol)
        if p < alpha:
            return 1.0 / r_uniroot(
                lambda t: pnhyper(x, 1.0 / t, upper_tail=True) - alpha, EPSILON, 1.0, tol=tol
            )
        return 1.0

    if alternative == "less":
        lower, upper = 0.0, ncp_upper(1 - level)
    elif alternative == "greater":
        lower, upper = ncp_lower(1 - level), math.inf
    else:
        alpha = (1 - level) / 2
        lower, upper = ncp_lower(alpha), ncp_upper(alpha)
    return FisherResult(
        p_value=p_value,
        odds_ratio=mle(),
        lower=lower,
        upper=upper,
        alternative=str(alternative),
        level=level,
    )
