"""Continuous toxicity monitoring: Bayesian posterior rules and Ivanova-Qaqish-Schell boundaries.

Two families of stopping boundaries on the number of toxicities ``x`` among ``n`` patients:

- Bayesian (Thall, Simon & Estey 1995 style): stop when Pr(p_tox > limit | x, n) > cutoff under
  a Beta prior. This is also the expansion-cohort rule of the dose-finding designs
  (:meth:`earlyphase.designs.DoseFindingDesign.with_expansion`).
- Ivanova, Qaqish & Schell (2005): repeated-significance boundaries chosen so that the
  probability of stopping is ``cP0`` at the acceptable rate, exactly as R ``clinfun::toxbdry``.

Both give exact crossing probabilities, P(stop) and E[N] (``clinfun::bdrycross.prob``).

References
----------
Ivanova A, Qaqish BF, Schell MJ (2005). Continuous toxicity monitoring in phase II trials in
    oncology. Biometrics 61:540-545.
Thall PF, Simon RM, Estey EH (1995). Bayesian sequential monitoring designs for single-arm
    clinical trials with multiple outcomes. Stat Med 14:357-379.
Seshan VE. clinfun: Clinical Trial Design and Data Analysis Functions (R package 1.1.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import beta as beta_dist
from scipy.stats import binom, norm

from earlyphase.designs.settings import validate
from earlyphase.designs.single_arm import SingleArmDesign, boundary_crossing
from earlyphase.designs.thall_simon import check_prior
from earlyphase.stats.checks import check_count, check_level, check_probability

IntArray = NDArray[np.int64]
_EPS = float(np.finfo(float).eps)


def _looks(n: ArrayLike) -> IntArray:
    arr = np.asarray(n, dtype=np.int64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError("looks: need at least two looks to be able to stop early")
    if np.any(np.diff(arr) < 1) or arr[0] < 1:
        raise ValueError("looks: must be increasing sample sizes >= 1")
    return arr


def bdrycross_prob(n: ArrayLike, r: ArrayLike, p: ArrayLike) -> pd.DataFrame:
    """Exact probabilities for the boundary "stop if toxicities > r_k at look n_k", as
    ``clinfun::bdrycross.prob``: columns ``p``, ``pcross`` (stop at any look, including the
    last), ``pstop`` (stop before the last look) and ``ess`` (expected sample size).

    Examples
    --------
    >>> bdrycross_prob([10, 20, 30], [3, 5, 7], [0.2])["pcross"].round(7).tolist()
    [0.3123307]
    """
    looks = _looks(n)
    rr = np.asarray(r, dtype=np.int64)
    if rr.shape != looks.shape:
        raise ValueError("r: need one boundary value per look")
    res = boundary_crossing(looks, np.full(len(looks), -1), rr + 1, p)
    return pd.DataFrame(
        {
            "p": res["p"],
            "pcross": res["prob_upper"],
            "pstop": res["prob_upper_before_final"],
            "ess": res["expected_n"],
        }
    )


def _qbinom(prob: NDArray[np.float64], n: IntArray, p: float) -> IntArray:
    """R ``qbinom`` (smallest x with P(X <= x) >= prob, with R's 64-epsilon fuzz)."""
    return np.asarray(binom.ppf(prob * (1 - 64 * _EPS), n, p), dtype=np.int64)


@dataclass(frozen=True)
class ToxBoundary:
    """``clinfun::toxbdry`` output: looks, the low and high boundaries (stop if toxicities >
    boundary) and their operating characteristics on a grid of toxicity rates."""

    looks: IntArray
    lo_bdry: IntArray
    hi_bdry: IntArray
    oc: pd.DataFrame
    delta: float


def toxbdry(
    p_lo: float,
    p_hi: float,
    n: Sequence[int],
    cp0: float = 0.1,
    cp1: float = 0.9,
    ngrid: int = 6,
    niter: int = 10,
    delta: float = 0.0,
    priority: str = "null",
) -> ToxBoundary:
    """Ivanova-Qaqish-Schell toxicity boundary, the algorithm of R ``clinfun::toxbdry``.

    Boundaries of the power family (delta = 0 Pocock, 0.5 O'Brien-Fleming) are searched so
    that P(stop | p_lo) brackets ``cp0`` (priority "null") or P(stop | p_hi) brackets ``cp1``
    (priority "alt"); the low boundary has the stopping probability just above it, the high
    boundary just below.
    """
    p_lo = check_probability(p_lo, "p_lo")
    p_hi = check_probability(p_hi, "p_hi")
    if not p_lo < p_hi:
        raise ValueError(f"p_hi: must exceed p_lo ({p_lo}), got {p_hi}")
    looks = _looks(n)
    cp0 = check_level(cp0, "cp0")
    cp1 = check_level(cp1, "cp1")
    if not 0 <= delta <= 0.5:
        raise ValueError(f"delta: must lie between 0 and 0.5, got {delta!r}")
    if priority not in ("null", "alt"):
        raise ValueError(f"priority: must be 'null' or 'alt', got {priority!r}")
    priority_null = priority == "null"
    ngrid = check_count(ngrid, "ngrid", minimum=2)
    nlook = len(looks)
    ptox = np.linspace(p_lo, p_hi, ngrid)
    bdryden = (looks / looks[-1]) ** delta
    ethresh = cp0 if priority_null else cp1
    ii = 0 if priority_null else ngrid - 1

    def bdry(alpha: float) -> IntArray:
        return _qbinom(np.asarray(1 - norm.cdf(norm.ppf(alpha) / bdryden)), looks, p_lo)

    def stop_prob(r: IntArray) -> NDArray[np.float64]:
        return np.asarray(bdrycross_prob(looks, r, ptox)["pcross"], dtype=np.float64)

    alpha0 = cp0 / nlook
    r0 = bdry(alpha0)
    pstop0 = stop_prob(r0)
    alpha1 = cp0
    r1 = bdry(alpha1)
    pstop1 = stop_prob(r1)
    if not priority_null:
        while pstop0[ii] > ethresh:
            alpha1, pstop1, r1 = alpha0, pstop0, r0
            alpha0 = 0.5 * alpha0
            r0 = bdry(alpha0)
            pstop0 = stop_prob(r0)
    while pstop1[ii] < ethresh:
        alpha0, pstop0, r0 = alpha1, pstop1, r1
        alpha1 = 1.4 * alpha1
        r1 = bdry(alpha1)
        pstop1 = stop_prob(r1)
    it = 0
    while int(np.sum(r0 - r1)) > 1 and it <= niter:
        it += 1
        if alpha1 - alpha0 > 0.01:
            alpha = (alpha1 + alpha0) / 2
        else:
            alpha = alpha0 + (alpha1 - alpha0) * (ethresh - pstop0[ii]) / (pstop1[ii] - pstop0[ii])
        r = bdry(alpha)
        ps = stop_prob(r)
        if ps[ii] < ethresh:
            alpha0, r0, pstop0 = alpha, r, ps
        else:
            alpha1, r1, pstop1 = alpha, r, ps
    lo = bdrycross_prob(looks, r1, ptox)
    hi = bdrycross_prob(looks, r0, ptox)
    oc = pd.DataFrame(
        {
            "ptox": ptox,
            "pcross_lo": lo["pcross"],
            "pstop_lo": lo["pstop"],
            "ess_lo": lo["ess"],
            "pcross_hi": hi["pcross"],
            "pstop_hi": hi["pstop"],
            "ess_hi": hi["ess"],
        }
    )
    return ToxBoundary(looks=looks, lo_bdry=r1, hi_bdry=r0, oc=oc, delta=float(delta))


class ToxicityMonitor(SingleArmDesign):
    """Continuous toxicity monitoring: stop when toxicities reach the boundary at a look.

    Build with :meth:`bayesian` or :meth:`ivanova`; ``decide(x, n)``, ``boundary_table()``
    and exact ``operating_characteristics(p)`` (P(stop), E[N]) come from
    :class:`SingleArmDesign`.
    """

    event_name = "toxicities"
    upper_meaning = "stop the trial for toxicity"

    def __init__(self, looks: ArrayLike, stop_if_ge: ArrayLike, description: str) -> None:
        self.looks = _looks(looks)
        self.upper = np.asarray(stop_if_ge, dtype=np.int64)
        self.lower = np.full(len(self.looks), -1, dtype=np.int64)
        self.description = description

    @classmethod
    def bayesian(
        cls,
        limit: float,
        cutoff: float = 0.9,
        prior: tuple[float, float] = (1.0, 1.0),
        n_max: int = 30,
        n_min: int = 1,
        looks: Sequence[int] | None = None,
    ) -> ToxicityMonitor:
        """Stop when Pr(p_tox > ``limit`` | x, n) > ``cutoff`` under a Beta ``prior``, at each
        of ``looks`` or, without them, after every patient from ``n_min`` to ``n_max``."""
        v = validate(
            "tox-monitor",
            limit=limit,
            cutoff=cutoff,
            prior=prior,
            n_min=n_min,
            n_max=n_max,
            looks=None if looks is None else list(looks),
        )
        if v["limit"] is None:
            raise ValueError("limit: required by the Bayesian toxicity monitor")
        limit, cutoff = float(v["limit"]), float(v["cutoff"])
        a, b = check_prior(v["prior"], "prior")
        if looks is None:
            n_min, n_max = int(v["n_min"]), int(v["n_max"])
            if n_max <= n_min:
                raise ValueError(f"n_max: must exceed n_min ({n_min}), got {n_max}")
            looks = list(range(n_min, n_max + 1))
        lk = _looks(looks)
        stop = []
        for n in lk.tolist():
            x = np.arange(n + 1)
            hit = np.flatnonzero(beta_dist.sf(limit, a + x, b + n - x) > cutoff)
            stop.append(int(hit[0]) if hit.size else n + 1)
        desc = f"stop if Pr(p > {limit:g}) > {cutoff:g}, Beta({a:g}, {b:g}) prior"
        return cls(lk, stop, desc)

    @classmethod
    def ivanova(
        cls, p_lo: float, p_hi: float, looks: Sequence[int], boundary: str = "low", **kwargs: float
    ) -> ToxicityMonitor:
        """The ``clinfun::toxbdry`` boundary (``boundary="low"`` or ``"high"``)."""
        tb = toxbdry(p_lo, p_hi, looks, **kwargs)  # type: ignore[arg-type]
        if boundary not in ("low", "high"):
            raise ValueError(f"boundary: must be 'low' or 'high', got {boundary!r}")
        r = tb.lo_bdry if boundary == "low" else tb.hi_bdry
        return cls(tb.looks, r + 1, f"Ivanova-Qaqish-Schell {boundary} boundary, p0 = {p_lo:g}")

    def boundary_text(self) -> str:
        """The boundary as clinfun prints it: "stop if toxicities > r / n" at each change."""
        r = self.upper - 1
        keep = np.concatenate((np.flatnonzero(np.diff(r) > 0), [len(r) - 1]))
        return ", ".join(f"{int(r[i])}/{int(self.looks[i])}" for i in keep)
