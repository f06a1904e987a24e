"""Simon's two-stage phase II design: optimal, minimax and admissible designs, OCs, inference.

Notation as R ``clinfun``: treat ``n1`` patients; stop for futility if responses <= ``r1``;
otherwise treat ``n - n1`` more and declare the treatment promising if total responses > ``r``.

The search is that of ``clinfun::ph2simon`` (Fortran ``f2bdry``): for every maximum sample
size n, the design with the smallest expected size under p0 among those with attained
alpha < ``alpha`` and beta < ``beta``; the minimax design is the smallest n, the optimal the
smallest E[N | p0]; admissible designs (Jung et al. 2001) lie on the lower convex hull.

References
----------
Simon R (1989). Optimal two-stage designs for phase II clinical trials. Control Clin Trials
    10:1-10.
Jung SH, Lee T, Kim K, George SL (2004). Admissible two-stage designs for phase II cancer
    clinical trials. Stat Med 23:561-569.
Jung SH, Kim KM (2004). On the estimation of the binomial probability in multistage clinical
    trials. Stat Med 23:881-896 (UMVUE).
Koyama T, Chen H (2008). Proper inference from Simon's two-stage designs. Stat Med
    27:3145-3154 (p-value and confidence interval).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.settings import validate
from earlyphase.designs.single_arm import SingleArmDesign
from earlyphase.stats.checks import check_count, check_level

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]


def _check_rates(
    p0: float, p1: float, alpha: float, beta: float
) -> tuple[float, float, float, float]:
    v = validate("simon", p0=p0, p1=p1, alpha=alpha, beta=beta)
    if not v["p1"] > v["p0"]:
        raise ValueError(f"p1: the desirable rate must exceed p0 ({p0}), got {p1}")
    return float(v["p0"]), float(v["p1"]), float(v["alpha"]), float(v["beta"])


def simon_search(p0: float, p1: float, alpha: float, beta: float, n_max: int = 100) -> pd.DataFrame:
    """For each maximum sample size n, the design minimising E[N | p0] (``ph2simon()$out``).

    Columns ``r1, n1, r, n, EN0, PET0``; only sample sizes with a feasible design appear.
    """
    p0, p1, alpha, beta = _check_rates(p0, p1, alpha, beta)
    n_max = int(validate("simon", n_max=n_max)["n_max"])
    return _search(p0, p1, alpha, beta, n_max).copy()


@lru_cache(maxsize=32)
def _search(p0: float, p1: float, alpha: float, beta: float, n_max: int) -> pd.DataFrame:
    import pandas as pd
    from scipy.stats import binom

    from earlyphase.designs._simon_kernel import search_kernel

    m_all = np.arange(n_max + 1)[:, None]
    ks = np.arange(n_max + 2)[None, :]
    pmf0 = np.asarray(binom.pmf(ks, m_all, p0), dtype=np.float64)
    pmf1 = np.asarray(binom.pmf(ks, m_all, p1), dtype=np.float64)
    tail0 = np.asarray(binom.sf(ks - 1, m_all, p0), dtype=np.float64)
    tail1 = np.asarray(binom.sf(ks - 1, m_all, p1), dtype=np.float64)
    res = search_kernel(pmf0, pmf1, tail0, tail1, alpha, beta, n_max)
    res = res[res[:, 3] > 0]
    rows = [(int(r[0]), int(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5])) for r in res]
    frame = pd.DataFrame(rows, columns=["r1", "n1", "r", "n", "EN0", "PET0"])
    if frame.empty:
        raise ValueError(f"n_max: no feasible design with n <= {n_max}; increase n_max")
    return frame


def _admissible(out: pd.DataFrame) -> pd.DataFrame:
    """Admissible designs between minimax and optimal, as ``clinfun::twostage.admissible``."""
    en = out["EN0"].to_numpy()
    nopt = int(np.flatnonzero(en == en.min())[0])
    if nopt == 0:
        res = out.iloc[[0, 0]].copy()
        res["qLo"] = [0.0, 0.0]
        res["qHi"] = [1.0, 1.0]
        res.index = ["Minimax", "Optimal"]
        return res
    mss = out["n"].to_numpy()[: nopt + 1].astype(float)
    ess = en[: nopt + 1]
    adm = np.zeros(nopt + 1, dtype=bool)
    adm[0] = adm[nopt] = True
    start = 0
    while nopt > start:
        slopes = (ess[start + 1 :] - ess[start]) / (mss[start + 1 :] - mss[start])
        imin = int(np.argmin(slopes))
        adm[start + 1 + imin] = True
        start = start + 1 + imin
    res = out.iloc[: nopt + 1][adm].copy()
    dmss = np.diff(res["n"].to_numpy().astype(float))
    dess = np.diff(res["EN0"].to_numpy())
    qwt = np.round(dess / (dess - dmss), 3)
    res["qLo"] = np.concatenate((qwt, [0.0]))
    res["qHi"] = np.concatenate(([1.0], qwt))
    res.index = ["Minimax", *["Admissible"] * (len(res) - 2), "Optimal"]
    return res


class SimonTwoStage(SingleArmDesign):
    """A Simon two-stage design ``r1/n1, r/n`` for response rates ``p0`` (uninteresting) and
    ``p1`` (desirable).

    Examples
    --------
    >>> d = SimonTwoStage.optimal(0.1, 0.3, alpha=0.05, beta=0.2)
    >>> (d.r1, d.n1, d.r, d.n)
    (1, 10, 5, 29)
    """

    name = "simon"

    event_name = "responses"
    upper_meaning = "reject H0: the treatment is promising"
    lower_meaning = "stop for futility (accept H0)"

    def __init__(self, p0: float, p1: float, r1: int, n1: int, r: int, n: int) -> None:
        v = validate("simon", p0=p0, p1=p1, r1=r1, n1=n1, r=r, n=n)
        self.p0 = float(v["p0"])
        self.p1 = float(v["p1"])
        self.n1 = int(v["n1"])
        self.n = int(v["n"])
        if self.n <= self.n1:
            raise ValueError(f"n: must exceed n1 ({self.n1}), got {n}")
        self.r1 = int(v["r1"])
        if self.r1 >= self.n1:
            raise ValueError(f"r1: must be below n1 ({self.n1}), got {r1}")
        self.r = int(v["r"])
        if not self.r1 <= self.r < self.n:
            raise ValueError(f"r: must lie between r1 ({self.r1}) and n - 1, got {r}")
        self.looks = np.array([self.n1, self.n], dtype=np.int64)
        self.lower = np.array([self.r1, self.r], dtype=np.int64)
        self.upper = np.array([self.n1 + 1, self.r + 1], dtype=np.int64)

    @classmethod
    def optimal(
        cls, p0: float, p1: float, alpha: float, beta: float, n_max: int = 100
    ) -> SimonTwoStage:
        """Simon's optimal design (smallest E[N | p0])."""
        out = simon_search(p0, p1, alpha, beta, n_max)
        row = out.iloc[int(np.flatnonzero(out["EN0"] == out["EN0"].min())[0])]
        return cls(p0, p1, int(row.r1), int(row.n1), int(row.r), int(row.n))

    @classmethod
    def minimax(
        cls, p0: float, p1: float, alpha: float, beta: float, n_max: int = 100
    ) -> SimonTwoStage:
        """Simon's minimax design (smallest maximum sample size)."""
        row = simon_search(p0, p1, alpha, beta, n_max).iloc[0]
        return cls(p0, p1, int(row.r1), int(row.n1), int(row.r), int(row.n))

    @staticmethod
    def admissible(
        p0: float, p1: float, alpha: float, beta: float, n_max: int = 100
    ) -> pd.DataFrame:
        """Minimax, admissible and optimal designs with the prior-weight ranges (qLo, qHi) over
        which each minimises q n + (1 - q) E[N | p0] (``clinfun::twostage.admissible``)."""
        return _admissible(simon_search(p0, p1, alpha, beta, n_max))

    def __repr__(self) -> str:
        return (
            f"SimonTwoStage(p0={self.p0}, p1={self.p1}, r1={self.r1}, n1={self.n1}, "
            f"r={self.r}, n={self.n})"
        )

    def error_rates(self) -> dict[str, float]:
        """``clinfun::oc.twostage.bdry``: P(reject H0 | p0), P(reject H0 | p1), PET(p0), EN(p0)."""
        from scipy.stats import binom

        oc = self.operating_characteristics([self.p0, self.p1])
        pet = float(binom.cdf(self.r1, self.n1, self.p0))
        return {
            "alpha": float(oc["prob_upper"].iloc[0]),
            "power": float(oc["prob_upper"].iloc[1]),
            "pet0": pet,
            "en0": self.n1 + (self.n - self.n1) * (1 - pet),
        }

    def stagewise_tail(self, x: int, p: FloatArray) -> FloatArray:
        """P_p(T >= t) in Koyama and Chen's (2008, section 2) stage-wise ordering, where ``t`` is
        the outcome with ``x`` total responses: stopped after stage 1 when ``x <= r1``, else
        completed.

        Every stage-1 stop ranks below every completed trial; within a stage, more responses
        rank higher. ``x = n + 1`` gives 0, so ``1 - stagewise_tail(x + 1, p)`` is P_p(T <= t).
        """
        from scipy.stats import binom

        p = np.asarray(p, dtype=np.float64)
        n1, n2, r1 = self.n1, self.n - self.n1, self.r1
        if x <= r1:
            return np.asarray(binom.sf(x - 1, n1, p), dtype=np.float64)
        x1 = np.arange(r1 + 1, n1 + 1)
        return np.asarray(
            (binom.pmf(x1[None, :], n1, p[..., None]) * binom.sf(x - x1 - 1, n2, p[..., None])).sum(
                axis=-1
            ),
            dtype=np.float64,
        )

    def inference(self, x: int, alpha: float = 0.05, method: str = "exact") -> dict[str, float]:
        """UMVUE, p-value and the 100(1 - 2 alpha)% confidence interval after ``x`` total
        responses (``x <= r1`` means the trial stopped after stage 1).

        The UMVUE is Jung and Kim's (2004, eq. 3); the p-value is P_p0(T >= t) in the stage-wise
        ordering of Koyama and Chen (2008). ``method`` chooses the interval:

        ``"exact"`` (default)
            Koyama and Chen's interval, each limit found by root finding: the lower limit solves
            P_p(T >= t) = alpha (0 when x = 0), the upper P_p(T <= t) = alpha (1 when x = n).
            Each one-sided limit has coverage at least 1 - alpha for every p. For a stage-1
            stop it is the Clopper-Pearson interval of x / n1.
        ``"clinfun"``
            R ``clinfun::twostage.inference`` (1.1.5) to its printed digits: a grid search in
            steps of 1e-4, with the upper limit taken where P_p(T >= t) reaches 1 - alpha.
            That omits P_p(T = t), so clinfun's upper limit for x is the exact limit for the
            next lower outcome (at x = 1 after stage 1, 1 - alpha^(1 / n1), the Clopper-Pearson
            limit of 0 / n1); it falls short of nominal coverage and is below 1 at x = n. At
            x = 0 R returns NA for both limits; here the lower limit is 0 and the upper limit is
            NaN, with a warning, since clinfun's rule defines none.
        """
        from scipy.special import comb

        x = check_count(x, "x")
        if x > self.n:
            raise ValueError(f"x: {x} responses cannot exceed n = {self.n}")
        alpha = check_level(alpha, "alpha")
        if method not in ("exact", "clinfun"):
            raise ValueError(f"method: must be 'exact' or 'clinfun', got {method!r}")
        r1, n1, n2 = self.r1, self.n1, self.n - self.n1
        if x <= r1:
            umvue = x / n1
        else:
            x1 = np.arange(max(r1 + 1, x - n2), min(x, n1) + 1)
            umvue = float(
                np.sum(comb(n1 - 1, x1 - 1) * comb(n2, x - x1))
                / np.sum(comb(n1, x1) * comb(n2, x - x1))
            )
        p_value = float(self.stagewise_tail(x, np.array([self.p0]))[0])
        if method == "exact":
            lower, upper = self._exact_limits(x, alpha)
        else:
            lower, upper = self._clinfun_limits(x, alpha)
        return {"umvue": umvue, "p_value": p_value, "lower": lower, "upper": upper}

    def _exact_limits(self, x: int, alpha: float) -> tuple[float, float]:
        from scipy.optimize import brentq

        def root(t: int, level: float) -> float:
            return float(
                brentq(
                    lambda p: float(self.stagewise_tail(t, np.array([p]))[0]) - level,
                    0.0,
                    1.0,
                    xtol=1e-13,
                    rtol=4 * np.finfo(float).eps,
                )
            )

        lower = 0.0 if x == 0 else root(x, alpha)
        upper = 1.0 if x == self.n else root(x + 1, 1 - alpha)
        return lower, upper

    def _clinfun_limits(self, x: int, alpha: float) -> tuple[float, float]:
        def pval(p: FloatArray) -> FloatArray:
            return self.stagewise_tail(x, p)

        pp = np.round(np.arange(101) * 0.01, 10)
        pv = pval(pp)
        if x == 0:
            warnings.warn(
                "upper: clinfun's rule defines no upper limit at x = 0 (R returns NA); "
                "method='exact' gives 1 - alpha^(1/n1)",
                RuntimeWarning,
                stacklevel=3,
            )
            return 0.0, float("nan")
        ii = int(np.flatnonzero(pv > alpha)[0]) - 1
        jj = int(np.flatnonzero(pv >= 1 - alpha)[0]) - 1
        pp0 = pp[ii] + pp / 100
        lcl = float(pp0[np.flatnonzero(pval(pp0) > alpha)[0]])
        pp0 = pp[jj] + pp / 100
        ucl = float(pp0[np.flatnonzero(pval(pp0) >= 1 - alpha)[0] - 1])
        return lcl, ucl
