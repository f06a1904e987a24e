"""Predictive-probability monitoring of a single-arm phase II trial (Lee & Liu 2008).

With a Beta(a, b) prior on the response rate and ``x`` responses in ``n`` patients, the
predictive probability is the chance, over the beta-binomial distribution of the responses
among the remaining ``n_max - n`` patients, that the trial ends with
Pr(p > p0 | all data) >= theta_t. Stop for futility when it is <= theta_lower, for efficacy
when >= theta_upper.

References
----------
Lee JJ, Liu DD (2008). A predictive probability design for phase II cancer clinical trials.
    Clin Trials 5:93-106 (eq. 1-2; p. 97 example: PP = 0.5656).
Nagashima K (2018). ph2bayes (R package 0.0.2): ``predprob``, ``stopbound_pred``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from earlyphase.designs.settings import validate
from earlyphase.designs.single_arm import SingleArmDesign
from earlyphase.designs.thall_simon import check_prior
from earlyphase.stats.checks import check_count, check_level, check_probability

_EPS = float(np.finfo(float).eps)


def predictive_probability(
    x: int, n: int, n_max: int, prior: tuple[float, float], p0: float, theta_t: float
) -> float:
    """Lee & Liu's predictive probability of success at the end of the trial (ph2bayes
    ``predprob``; the end-of-trial criterion is Pr(p > p0) >= theta_t, with ph2bayes's
    machine-epsilon tolerance on the equality).

    Examples
    --------
    >>> round(predictive_probability(16, 23, 40, (0.6, 0.4), 0.6, 0.9), 12)
    0.565558897525
    """
    from scipy.special import betaln, gammaln
    from scipy.stats import beta as beta_dist

    n = check_count(n, "n")
    x = check_count(x, "x")
    n_max = check_count(n_max, "n_max", minimum=1)
    if x > n:
        raise ValueError(f"x: {x} responses cannot exceed n = {n}")
    if n > n_max:
        raise ValueError(f"n: {n} exceeds n_max = {n_max}")
    a, b = check_prior(prior, "prior")
    p0 = check_probability(p0, "p0")
    theta_t = check_level(theta_t, "theta_t")
    m = n_max - n
    i = np.arange(m + 1)
    post = beta_dist.sf(p0, a + x + i, b + n_max - x - i)
    success = (post > theta_t) | (np.abs(post - theta_t) < _EPS)
    log_w = (
        gammaln(m + 1)
        - gammaln(i + 1)
        - gammaln(m - i + 1)
        + betaln(a + x + i, b + n_max - x - i)
        - betaln(a + x, b + n - x)
    )
    return float(np.exp(log_w)[success].sum())


class PredictiveProbability(SingleArmDesign):
    """Predictive-probability design with looks at ``n_min..n_max`` (every patient).

    Examples
    --------
    >>> pp = PredictiveProbability((0.6, 1.4), p0=0.3, theta_t=0.85, theta_lower=0.05,
    ...                            n_max=40)
    >>> pp.lower[:5].tolist()
    [-1, -1, -1, 0, 0]
    """

    name = "predictive"

    def __init__(
        self,
        prior: tuple[float, float],
        p0: float,
        theta_t: float,
        theta_lower: float | None = 0.05,
        theta_upper: float | None = None,
        n_min: int = 1,
        n_max: int = 40,
    ) -> None:
        # types and bounds from the settings registry
        v = validate(
            "predictive",
            prior=prior,
            p0=p0,
            theta_t=theta_t,
            theta_lower=theta_lower,
            theta_upper=theta_upper,
            n_min=n_min,
            n_max=n_max,
        )
        self.prior = check_prior(v["prior"], "prior")
        self.p0 = float(v["p0"])
        self.theta_t = float(v["theta_t"])
        self.theta_lower = None if v["theta_lower"] is None else float(v["theta_lower"])
        self.theta_upper = None if v["theta_upper"] is None else float(v["theta_upper"])
        if self.theta_lower is None and self.theta_upper is None:
            raise ValueError("theta_lower, theta_upper: at least one stopping rule is needed")
        self.n_min = int(v["n_min"])
        self.n_max = int(v["n_max"])
        if self.n_max < self.n_min:
            raise ValueError(f"n_max: must be >= n_min ({self.n_min}), got {n_max}")
        self.looks = np.arange(self.n_min, self.n_max + 1, dtype=np.int64)
        lower = np.full(len(self.looks), -1, dtype=np.int64)
        upper = self.looks + 1
        for k, n in enumerate(self.looks.tolist()):
            pp = self.probabilities(n)
            if self.theta_lower is not None:
                hit = np.flatnonzero(pp <= self.theta_lower)
                lower[k] = hit[-1] if hit.size else -1
            if self.theta_upper is not None:
                hit = np.flatnonzero(pp >= self.theta_upper)
                upper[k] = hit[0] if hit.size else n + 1
        self.lower, self.upper = lower, upper.astype(np.int64)

    def probabilities(self, n: int) -> NDArray[np.float64]:
        """Predictive probability for x = 0..n responses after n patients."""
        return np.array(
            [
                predictive_probability(x, n, self.n_max, self.prior, self.p0, self.theta_t)
                for x in range(n + 1)
            ]
        )
